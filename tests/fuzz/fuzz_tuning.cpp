// libFuzzer target: the tuning-file reader (codegen/lib/tune/TuningFile.cpp). Past the parser: a
// file with at least one entry it keeps; every kept entry must hold values the compiler takes.
#include "FuzzStats.h"
#include "gdn/Codegen/Tune.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

static gdn_fuzz::Stats stats("tuning");

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ++stats.inputs;
  std::string text(reinterpret_cast<const char *>(data), size);
  size_t malformed = 0;
  auto entries = gdn::jit::parseTuningText(text, &malformed);
  if (entries.empty())
    return 0;
  ++stats.past;
  for (const auto &[key, e] : entries) {
    const gdn::GpuCompileOptions &o = e.options;
    bool ok = (o.kernel == "recurrent" || o.kernel == "chunked" || o.kernel == "generated") &&
              e.ms > 0 && std::isfinite(e.ms) && o.blockSize >= 32 && o.blockSize <= 1024;
    // Every chunked option within what ChunkedOptions.def says it takes.
    auto oneOf = [](int64_t v, std::initializer_list<int64_t> values) {
      for (int64_t x : values)
        if (v == x)
          return true;
      return false;
    };
#define GDN_CHUNKED_INT(field, name, dflt, allowed, help) ok = ok && oneOf(o.field, allowed);
#define GDN_CHUNKED_RANGE(field, name, dflt, low, high, help)                                      \
  ok = ok && o.field >= (low) && o.field <= (high);
#include "gdn/Codegen/ChunkedOptions.def"
    if (!ok)
      gdn_fuzz::fail("a kept tuning entry with a value the compiler does not take");
  }
  return 0;
}
