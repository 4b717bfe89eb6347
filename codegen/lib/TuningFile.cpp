//===- TuningFile.cpp - reading the tuner's file --------------------------===//
//
// The reader of <cache dir>/tuning.txt (Tune.h gives the format). No MLIR here: a fuzz target
// links it with the runtime alone. Every field is checked against the values the compiler
// takes (the chunked kernel's chunk sizes are 16, 32 and 64: ChunkedKernel.cpp); a line that
// fails any check, or has more fields, is counted as malformed and dropped.
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/Tune.h"

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <locale>
#include <sstream>

namespace gdn::jit {

namespace {
bool oneOf(int64_t x, std::initializer_list<int64_t> values) {
  for (int64_t v : values)
    if (x == v)
      return true;
  return false;
}
} // namespace

std::map<std::string, TuningEntry> parseTuningText(const std::string &text, size_t *malformed) {
  std::map<std::string, TuningEntry> entries;
  size_t bad = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream fields(line);
    fields.imbue(std::locale::classic()); // not the host's global locale
    std::string key, bucket;
    TuningEntry e;
    std::string state;
    if (!(fields >> key >> bucket >> e.options.kernel >> e.options.chunkSize >> e.options.vTile >>
          e.options.warps >> state >> e.options.stages >> e.options.segments >>
          e.options.blockSize >> e.ms) ||
        (e.options.kernel != "recurrent" && e.options.kernel != "chunked") ||
        (state != "sliced" && state != "tiles") || e.options.stages < 2 || e.options.stages > 4 ||
        e.options.segments < 0 || e.options.segments > 64 || !(e.ms > 0) || !std::isfinite(e.ms) ||
        !oneOf(e.options.chunkSize, {16, 32, 64}) || !oneOf(e.options.vTile, {16, 32, 64, 128}) ||
        !oneOf(e.options.warps, {4, 8}) || e.options.blockSize < 32 || e.options.blockSize > 1024 ||
        e.options.blockSize % 32 != 0) {
      ++bad;
      continue;
    }
    e.options.slicedState = state == "sliced";
    // Optional last fields (older lines end before them): how the state pass copies whole
    // chunks, how the sliced pass stores its outputs, whether its products are wgmma, and the
    // prep kernel's warps.
    std::string copies, stores, products;
    if (fields >> copies) {
      if (copies != "whole" && copies != "rows") {
        ++bad;
        continue;
      }
      e.options.wholeChunkCopies = copies == "whole";
    }
    if (fields >> stores) {
      if (stores != "stmatrix" && stores != "elements") {
        ++bad;
        continue;
      }
      e.options.stmatrixStores = stores == "stmatrix";
    }
    if (fields >> products) {
      if (products != "wgmma" && products != "mma") {
        ++bad;
        continue;
      }
      e.options.wgmma = products == "wgmma";
    }
    if (std::string prep; fields >> prep) {
      if (prep != "1" && prep != "2" && prep != "4" && prep != "8") {
        ++bad;
        continue;
      }
      e.options.prepWarps = std::stoi(prep);
    }
    if (std::string extra; fields >> extra) { // nothing may follow the last field
      ++bad;
      continue;
    }
    entries[key + " " + bucket] = e;
  }
  if (malformed)
    *malformed = bad;
  return entries;
}

std::map<std::string, TuningEntry> readTuningFile(const std::string &path, size_t *malformed) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return parseTuningText(text.str(), malformed);
}

} // namespace gdn::jit
