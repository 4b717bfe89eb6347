// Uses the installed C++ runtime: metadata parsing and launch validation, no GPU needed.
#include <gdn/Runtime.h>
#include <gdn/version.h>

#include <iostream>

int main() {
  gdn::KernelMetadata meta;
  gdn::Status s = gdn::KernelMetadata::parse("kernel: k\nH: x\n", meta);
  if (s || s.message != "metadata line 2: 'H' needs an integer, got 'x'") {
    std::cerr << "consumer_cpp: FAILED: bad metadata gave '" << s.message << "'\n";
    return 1;
  }
  gdn::Driver *driver = nullptr;
  gdn::Status d = gdn::Driver::get(driver); // a clear status with or without a GPU
  std::cout << "consumer_cpp: gdn " << GDN_VERSION_STRING
            << ", C++ runtime OK (driver: " << (d ? std::string("found") : d.message) << ")\n";
  return 0;
}
