// libFuzzer target: the .npy reader (runtime/lib/Npy.cpp). Past the parser: a file it reads;
// those must hold exactly their shape's bytes and convert without error.
#include "FuzzStats.h"
#include "gdn/Npy.h"

#include <cstddef>
#include <cstdint>

static gdn_fuzz::Stats stats("npy");

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ++stats.inputs;
  std::vector<unsigned char> bytes(data, data + size);
  gdn::NpyArray array;
  std::string error;
  if (!gdn::parseNpy(bytes, array, error)) {
    if (error.empty())
      gdn_fuzz::fail("a refused .npy file without a message");
    return 0;
  }
  ++stats.past;
  if (array.data.size() != array.numel() * gdn::npyItemSize(array.dtype))
    gdn_fuzz::fail("a read array whose data does not match its shape");
  std::vector<double> values;
  if (array.dtype == "f4" || array.dtype == "f8") {
    if (!gdn::toDoubleVector(array, values, error))
      gdn_fuzz::fail("a read float array that does not convert");
  } else {
    std::vector<int64_t> ints;
    if (!gdn::toInt64Vector(array, ints, error))
      gdn_fuzz::fail("a read integer array that does not convert");
  }
  return 0;
}
