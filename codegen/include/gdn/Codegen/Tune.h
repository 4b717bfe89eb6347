//===- Tune.h - autotuning the kernel design and tiling per shape -*- C++ -*-===//
//
// gdn::jit::tune times every kernel configuration that supports a layer (the recurrent
// kernel, and the chunked kernel at each chunk size, V tile and warp count) on the GPU for a
// shape, and keeps the fastest per (layer, chip, compiler revision, shape bucket) in a
// tuning file next to the JIT cache. compileTuned() uses the file: tuned configurations are
// used automatically once they exist.
//
// The tuning file (<cache dir>/tuning.txt) is one entry per line,
//   <layer key> <bucket> <kernel> <block> <ms> <option>=<value> ...
// with every chunked option of ChunkedOptions.def by its name (bools as 0 or 1; an option a
// line leaves out takes its default), written atomically (temporary file + rename). A line
// with any field outside what the compiler takes (an unknown or repeated option, a value the
// option does not take) is reported once and dropped when the file is next written.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_TUNE_H
#define GDN_CODEGEN_TUNE_H

#include "gdn/Codegen/Jit.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace gdn::jit {

/// The shape a tuning is for: B sequences of T tokens (for a packed batch: B sequences
/// sharing T tokens).
struct TuneShape {
  int64_t batch = 1, tokens = 1;
};

/// Shapes are tuned by bucket: tokens and batch rounded up to powers of two.
std::string shapeBucket(const TuneShape &shape);

struct TuneCandidate {
  GpuCompileOptions options;
  double ms = 0;     ///< median of the timed launches
  std::string error; ///< why it did not run, when it did not
};

struct TuneResult {
  GpuCompileOptions best;
  double bestMs = 0;
  bool fromFile = false;            ///< found in the tuning file, nothing timed
  std::vector<TuneCandidate> tried; ///< every candidate, in the order timed
};

/// The configurations worth timing for a layer: the recurrent kernel, and every chunked
/// tiling the chunked kernel supports for it; sliced ones at 2 and 3 copy stages and, where
/// `shape` leaves fewer state-pass blocks than kFewBlocks (few (sequence, head) streams), also
/// segmented into 2 and 4 (3 stages).
std::vector<GpuCompileOptions> tuneCandidates(const std::string &layerSource,
                                              const Options &options, std::string &error,
                                              const TuneShape *shape = nullptr);
/// Below this many state-pass blocks (B x HV x V / v-tile) the tuner also tries segments.
constexpr int64_t kFewBlocks = 132;

/// Times every candidate on the GPU (compiling through the JIT cache), records the fastest
/// in the tuning file, and returns them all. `force` re-times a shape already in the file.
/// `progress` is told about each candidate as it finishes (i of n; n counts the sliced winner's
/// re-timing with whole-chunk copies switched, which a tiled or recurrent winner skips).
Status tune(const std::string &layerSource, const TuneShape &shape, const Options &options,
            TuneResult &result, bool force = false,
            const std::function<void(const TuneCandidate &, size_t, size_t)> &progress = {});

/// The tuning file's key for a layer and shape, and the configuration recorded under it
/// (`options.compile` when there is none; `found` says which).
std::string tuningKey(const std::string &layerSource, const TuneShape &shape,
                      const Options &options);
GpuCompileOptions tunedOptions(const std::string &layerSource, const TuneShape &shape,
                               const Options &options, bool *found = nullptr);

/// compile() with the tuned configuration for this shape when the tuning file has one, else
/// `options` as given. `chosen` reports what was used.
Status compileTuned(const std::string &layerSource, const TuneShape &shape, const Options &options,
                    std::shared_ptr<Kernel> &kernel, GpuCompileOptions *chosen = nullptr);

/// "chunked, chunk 32, v-tile 32, 8 warps" / "chunked, chunk 32, v-tile 128, sliced state" /
/// "recurrent, block 64". With the layer's source, the state pass it names is the one these
/// options build for that layer (sliced-state falls back to the tiled pass where it does not
/// apply, e.g. K = 256); without, the one the options ask for.
std::string describeConfiguration(const GpuCompileOptions &options,
                                  const std::string &layerSource = "");

/// The tuning file's entries (for tests and tools); malformed lines are counted, not kept.
struct TuningEntry {
  GpuCompileOptions options;
  double ms = 0;
};
std::map<std::string, TuningEntry> readTuningFile(const std::string &path, size_t *malformed);
/// The same from the file's text (TuningFile.cpp).
std::map<std::string, TuningEntry> parseTuningText(const std::string &text, size_t *malformed);
bool writeTuningFile(const std::string &path, const std::map<std::string, TuningEntry> &entries);
std::string tuningFilePath(const Options &options);

} // namespace gdn::jit

#endif // GDN_CODEGEN_TUNE_H
