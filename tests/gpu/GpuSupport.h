//===- GpuSupport.h - what the GPU test files share --------------*- C++ -*-===//
#ifndef GDN_TESTS_GPUSUPPORT_H
#define GDN_TESTS_GPUSUPPORT_H

#include "gdn/Runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#ifndef GDN_GPU_ARTIFACTS_DEFAULT
#define GDN_GPU_ARTIFACTS_DEFAULT "gpu-artifacts"
#endif

namespace gdn_test {

/// GDN_GPU_ARTIFACTS, else the build's folder of kernels (make_artifacts.py).
inline std::string artifactsDir() {
  const char *env = std::getenv("GDN_GPU_ARTIFACTS");
  return env ? env : GDN_GPU_ARTIFACTS_DEFAULT;
}

/// Why GPU tests cannot run here, or "" when they can.
inline const std::string &skipReason() {
  static std::string reason = [] {
    gdn::Driver *driver = nullptr;
    if (gdn::Status s = gdn::Driver::get(driver); !s)
      return s.message;
    if (gdn::Status s = driver->makeContextCurrent(); !s)
      return s.message;
    return std::string();
  }();
  return reason;
}

inline gdn::Driver &driver() {
  gdn::Driver *d = nullptr;
  gdn::Driver::get(d);
  return *d;
}

} // namespace gdn_test

#define SKIP_WITHOUT_GPU()                                                                         \
  if (!gdn_test::skipReason().empty())                                                             \
  GTEST_SKIP() << gdn_test::skipReason()

#endif // GDN_TESTS_GPUSUPPORT_H
