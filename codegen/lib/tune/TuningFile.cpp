//===- TuningFile.cpp - reading the tuner's file --------------------------===//
//
// The reader of <cache dir>/tuning.txt (Tune.h gives the format). No MLIR here: a fuzz target
// links it with the runtime alone. Every field is checked against the values the compiler
// takes (the options' values: ChunkedOptions.def); a line that fails any check is counted as
// malformed and dropped.
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/Tune.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <locale>
#include <set>
#include <sstream>

namespace gdn::jit {

namespace {

/// Sets the chunked option `name` (ChunkedOptions.def) of `o` from `value`; false for an
/// unknown name or a value the option does not take.
bool setChunkedOption(GpuCompileOptions &o, const std::string &name, const std::string &value) {
  char *end = nullptr;
  const long long v = std::strtoll(value.c_str(), &end, 10);
  const bool number = !value.empty() && *end == '\0';
  auto oneOf = [&](std::initializer_list<int64_t> values) {
    for (int64_t x : values)
      if (v == x)
        return true;
    return false;
  };
#define GDN_CHUNKED_INT(field, key, init, allowed, help)                                           \
  if (name == key) {                                                                               \
    if (!number || !oneOf(allowed))                                                                \
      return false;                                                                                \
    o.field = v;                                                                                   \
    return true;                                                                                   \
  }
#define GDN_CHUNKED_RANGE(field, key, init, low, high, help)                                       \
  if (name == key) {                                                                               \
    if (!number || v < (low) || v > (high))                                                        \
      return false;                                                                                \
    o.field = v;                                                                                   \
    return true;                                                                                   \
  }
#define GDN_CHUNKED_BOOL(field, key, init, help)                                                   \
  if (name == key) {                                                                               \
    if (value != "0" && value != "1")                                                              \
      return false;                                                                                \
    o.field = value == "1";                                                                        \
    return true;                                                                                   \
  }
#include "gdn/Codegen/ChunkedOptions.def"
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
    bool ok = (fields >> key >> bucket >> e.options.kernel >> e.options.blockSize >> e.ms) &&
              (e.options.kernel == "recurrent" || e.options.kernel == "chunked" ||
               e.options.kernel == "generated") &&
              e.ms > 0 && std::isfinite(e.ms) && e.options.blockSize >= 32 &&
              e.options.blockSize <= 1024 && e.options.blockSize % 32 == 0;
    std::set<std::string> seen;
    for (std::string field; ok && fields >> field;) {
      size_t eq = field.find('=');
      std::string name = field.substr(0, eq);
      ok = eq != std::string::npos && seen.insert(name).second &&
           setChunkedOption(e.options, name, field.substr(eq + 1));
    }
    if (!ok) {
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
