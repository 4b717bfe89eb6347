// libFuzzer target: the tuning-file reader (codegen/lib/TuningFile.cpp). Past the parser: a
// file with at least one entry it keeps; every kept entry must hold values the compiler takes.
#include "FuzzStats.h"
#include "gdn/Codegen/Tune.h"

#include <cmath>
#include <cstddef>
#include <cstdint>

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
    bool ok = (o.kernel == "recurrent" || o.kernel == "chunked") && o.stages >= 2 &&
              o.stages <= 4 && o.segments >= 1 && o.segments <= 64 && e.ms > 0 &&
              std::isfinite(e.ms) &&
              (o.chunkSize == 16 || o.chunkSize == 32 || o.chunkSize == 64) &&
              (o.warps == 4 || o.warps == 8) && o.blockSize >= 32 && o.blockSize <= 1024;
    if (!ok)
      gdn_fuzz::fail("a kept tuning entry with a value the compiler does not take");
  }
  return 0;
}
