//===- Tune.cpp - autotuning the kernel design and tiling per shape ------===//
#include "gdn/Codegen/Tune.h"
#include "../jit/JitInternal.h"
#include "gdn/Codegen/Passes.h"
#include "gdn/Codegen/Pipelines.h"
#include "gdn/DeviceLayer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <locale>
#include <mutex>
#include <sstream>

namespace gdn::jit {

namespace {

int64_t roundUpPow2(int64_t x) {
  int64_t p = 1;
  while (p < x)
    p <<= 1;
  return p;
}

/// Tuning entries are keyed by layer text, chip, PTX features and compiler revision, not by
/// tiling (that is what is being chosen), and by shape bucket.
std::string layerKey(const std::string &source, const Options &options) {
  return detail::hashHex("gdn-tune/2|" + compilerRevision() + "|" + options.compile.chip + "|" +
                         options.compile.features + "|" + source);
}

std::string describe(const GpuCompileOptions &o, const std::string &layerSource = "") {
  if (o.kernel == "recurrent")
    return "recurrent, block " + std::to_string(o.blockSize);
  if (o.kernel == "generated") // the options the generated lowering takes (docs/design.md §3.8)
    return "generated, chunk " + std::to_string(o.chunkSize == 0 ? 64 : o.chunkSize) + ", v-tile " +
           std::to_string(o.vTile) + ", " + std::to_string(o.warps) + " warps" +
           (o.recompute ? ", recompute" : "");
  // Both state passes copy through the same code, so whole-chunk copies apply to either.
  std::string copies = o.wholeChunkCopies ? ", whole-chunk copies" : "";
  // The prep kernel's block, where it is not the default 4 warps.
  std::string prep = o.prepWarps == 4 || o.prepWarps == 0 ? ""
                     : o.prepWarps == 1                   ? ", 1 prep warp"
                                        : ", " + std::to_string(o.prepWarps) + " prep warps";
  std::string chunk =
      o.chunkSize == 0 ? ", chunk from the layer" : ", chunk " + std::to_string(o.chunkSize);
  // Only the sliced pass stores through stmatrix, and only where the chip has it.
  std::string stores =
      o.stmatrixStores || !mlir::gdn::chipHasStmatrix(o.chip) ? "" : ", per-element stores";
  if (layerSource.empty() ? o.slicedState : slicedStateApplies(layerSource, o)) {
    std::string text = o.kernel + chunk + ", v-tile " + std::to_string(o.vTile) + ", sliced state";
    if (o.stages != 2)
      text += ", " + std::to_string(o.stages) + " stages";
    if (o.segments != 1 && (layerSource.empty() || segmentedStateApplies(layerSource, o)))
      text += o.segments == 0 ? ", segments per launch"
                              : ", " + std::to_string(o.segments) + " segments";
    // wgmma applies to whole warpgroups of the sliced pass, on sm_90a.
    std::string products =
        o.wgmma || !mlir::gdn::chipHasWgmma(o.chip) || o.vTile % 64 != 0 || o.kSplit != 1
            ? ""
            : ", mma.sync products";
    return text + copies + stores + products + prep;
  }
  return o.kernel + chunk + ", v-tile " + std::to_string(o.vTile) + ", " + std::to_string(o.warps) +
         " warps" + copies + prep;
}

/// Median launch time of `kernel` on `layer`, with CUDA events around each launch.
Status timeKernel(const Kernel &kernel, DeviceLayer &layer, double &ms) {
  Driver *driver = nullptr;
  if (Status s = Driver::get(driver); !s)
    return s;
  using EventCreate = int (*)(void **, unsigned);
  using EventRecord = int (*)(void *, void *);
  using EventSync = int (*)(void *);
  using EventElapsed = int (*)(float *, void *, void *);
  using EventDestroy = int (*)(void *);
  auto create = reinterpret_cast<EventCreate>(driver->symbol("cuEventCreate"));
  auto record = reinterpret_cast<EventRecord>(driver->symbol("cuEventRecord"));
  auto sync = reinterpret_cast<EventSync>(driver->symbol("cuEventSynchronize"));
  auto elapsed = reinterpret_cast<EventElapsed>(driver->symbol("cuEventElapsedTime"));
  auto destroy = reinterpret_cast<EventDestroy>(driver->symbol("cuEventDestroy_v2"));
  if (!create || !record || !sync || !elapsed || !destroy)
    return Status::error(Status::Code::NoDriver, "the CUDA driver lacks the event API");
  void *start = nullptr, *end = nullptr;
  create(&start, 0);
  create(&end, 0);
  for (int i = 0; i < 2; ++i) // warm-up
    if (Status s = kernel.launch(layer.launch, nullptr); !s)
      return s;
  std::vector<double> times;
  for (int i = 0; i < 5; ++i) {
    record(start, nullptr);
    if (Status s = kernel.launch(layer.launch, nullptr); !s)
      return s;
    record(end, nullptr);
    sync(end);
    float t = 0;
    elapsed(&t, start, end);
    times.push_back(t);
  }
  destroy(start);
  destroy(end);
  if (Status s = driver->synchronize(); !s)
    return s;
  std::sort(times.begin(), times.end());
  ms = times[times.size() / 2];
  return Status::ok();
}

std::mutex &tuningFileMutex() {
  static std::mutex m;
  return m;
}

} // namespace

std::string shapeBucket(const TuneShape &shape) {
  return "b" + std::to_string(roundUpPow2(std::max<int64_t>(1, shape.batch))) + "t" +
         std::to_string(roundUpPow2(std::max<int64_t>(1, shape.tokens)));
}

std::string tuningFilePath(const Options &options) {
  return cacheDirectory(options) + "/tuning.txt";
}

bool writeTuningFile(const std::string &path, const std::map<std::string, TuningEntry> &entries) {
  std::ostringstream os;
  os.imbue(std::locale::classic()); // not the host's global locale
  os << "# gdn tuning: <layer key> <bucket> <kernel> <block> <ms> <option>=<value> ... "
        "(ChunkedOptions.def)\n";
  for (const auto &[key, e] : entries) {
    const GpuCompileOptions &o = e.options;
    os << key << " " << o.kernel << " " << o.blockSize << " " << e.ms;
#define GDN_CHUNKED_INT(field, name, init, allowed, help) os << " " name "=" << o.field;
#define GDN_CHUNKED_RANGE(field, name, init, low, high, help) os << " " name "=" << o.field;
#define GDN_CHUNKED_BOOL(field, name, init, help) os << " " name "=" << (o.field ? 1 : 0);
#include "gdn/Codegen/ChunkedOptions.def"
    os << "\n";
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  return detail::writeAtomically(path, os.str());
}

std::vector<GpuCompileOptions> tuneCandidates(const std::string &layerSource,
                                              const Options &options, std::string &error,
                                              const TuneShape *shape) {
  std::vector<GpuCompileOptions> candidates;
  if (options.compile.kernel == "generated") {
    // The generated lowering's own options (docs/design.md §3.8): chunk 32 or 64, V tiles from
    // 32 columns to the whole V, 4 or 8 warps, the step recomputing or reading W, U, Q', K'; a
    // layer it does not lower fails to compile and is reported by tune() as a failed candidate.
    int64_t HV = 0, V = 0;
    std::string reason = chunkedKernelUnsupportedReason(layerSource, options.compile);
    if (reason.find("error:") != std::string::npos) {
      error = reason; // the layer does not parse or verify
      return {};
    }
    if (!layerValueShape(layerSource, HV, V)) {
      error = "the generated kernels take a gdn.recurrence layer";
      return {};
    }
    for (int64_t chunk : {32, 64})
      for (int64_t vTile : {32, 64, 128})
        for (int64_t warps : {4, 8})
          for (bool recompute : {false, true}) {
            if (vTile > V || V % vTile != 0)
              continue;
            GpuCompileOptions c = options.compile;
            c.chunkSize = chunk;
            c.vTile = vTile;
            c.warps = warps;
            c.recompute = recompute;
            candidates.push_back(c);
          }
    return candidates;
  }
  GpuCompileOptions recurrent = options.compile;
  recurrent.kernel = "recurrent";
  candidates.push_back(recurrent);
  // Both state-pass designs: sliced (v-tile / 16 warps; a no-op where the layer does not
  // allow it, so those candidates repeat the tiled ones and are left out) and tiled.
  auto consider = [&](GpuCompileOptions c) {
    std::string reason = chunkedKernelUnsupportedReason(layerSource, c);
    if (reason.find("error:") != std::string::npos) {
      error = reason; // the layer does not parse or verify
      return false;
    }
    if (reason.empty())
      candidates.push_back(c);
    return true;
  };
  int64_t HV = 0, V = 0;
  if (shape && !layerValueShape(layerSource, HV, V))
    shape = nullptr; // no segment candidates (the layer's error is reported below)
  for (int64_t chunk : {16, 32, 64}) {
    GpuCompileOptions c = options.compile;
    c.kernel = "chunked";
    c.chunkSize = chunk;
    if (c.prepWarps == 0)
      c.prepWarps = 4; // explicit: one-warp blocks are tried on the winner below
    if (c.prepWarps == 1 && chunk > mlir::gdn::kOnePrepWarpMaxChunk)
      c.prepWarps = 4; // one-warp blocks stop at chunk 32; chunk 64 keeps the default 4
    if (slicedStateApplies(layerSource, c)) {
      c.slicedState = true;
      for (int64_t vTile : {16, 32, 64, 128}) {
        c.vTile = vTile;
        c.warps = vTile / 16;
        c.segments = 1;
        // 4 stages only where the chunk tiles are small (C = 16: best at B4 T4096 H32).
        for (int64_t stages : {2, 3, 4}) {
          if (stages == 4 && chunk != 16)
            continue;
          c.stages = stages;
          if (!consider(c))
            return {};
        }
        // Few streams: the segmented pass (sweep runs J-L: 2 or 4 segments at 3 stages; 4
        // stages won at 2 segments in run AH; 8 won at B1 T65536 H2/HV8, issue 23).
        if (shape && shape->batch * HV * (V / vTile) < kFewBlocks)
          for (int64_t segments : {2, 4, 8})
            for (int64_t stages : {3, 4}) {
              c.segments = segments;
              c.stages = stages;
              if (segmentedStateApplies(layerSource, c) && !consider(c))
                return {};
            }
      }
      c.segments = 1;
      c.stages = 2;
    }
    c.slicedState = false;
    for (int64_t vTile : {16, 32, 64})
      for (int64_t warps : {4, 8}) {
        c.vTile = vTile;
        c.warps = warps;
        if (!consider(c))
          return {};
      }
  }
  return candidates;
}

Status tune(const std::string &layerSource, const TuneShape &shape, const Options &options,
            TuneResult &result, bool force,
            const std::function<void(const TuneCandidate &, size_t, size_t)> &progress) {
  result = TuneResult();
  std::string path = tuningFilePath(options);
  std::string entryKey = tuningKey(layerSource, shape, options);
  if (!force) {
    bool found = false;
    result.best = tunedOptions(layerSource, shape, options, &found);
    if (found) {
      std::lock_guard<std::mutex> lock(tuningFileMutex());
      result.bestMs = readTuningFile(path, nullptr)[entryKey].ms;
      result.fromFile = true;
      return Status::ok();
    }
  }
  std::string error;
  std::vector<GpuCompileOptions> candidates = tuneCandidates(layerSource, options, error, &shape);
  if (candidates.empty())
    return Status::error(Status::Code::InvalidArgument, "gdn-tune: " + error);

  std::unique_ptr<DeviceLayer> layer;
  // The sliced winner is tried once more with its whole-chunk copies switched, and the better
  // of the two once more with its output stores switched where the chip has stmatrix, and
  // the best so far once more with its products switched between wgmma and mma.sync where
  // the chip has wgmma and the V tile is whole warpgroups (each faster on some tilings,
  // slower on others: docs/gpu-kernels.md), and the chunked winner once more with one-warp
  // prep blocks where its chunk is 16 or 32 (the candidates keep the caller's prep warps,
  // 4 by default), so those choices cost one candidate each.
  const bool storesChoice = mlir::gdn::chipHasStmatrix(options.compile.chip);
  const bool productsChoice = mlir::gdn::chipHasWgmma(options.compile.chip);
  size_t total = candidates.size() + 1 + (storesChoice ? 1 : 0) + (productsChoice ? 1 : 0) + 1;
  auto tryCandidate = [&](const GpuCompileOptions &candidate) -> Status {
    TuneCandidate c{candidate, 0, ""};
    Options o = options;
    o.compile = candidate;
    std::shared_ptr<Kernel> kernel;
    Status s = compile(layerSource, o, kernel);
    if (s.code == Status::Code::NoDriver)
      return s;
    // Every candidate reads the same inputs: made once, for the first kernel's contract
    // (the argument list is the layer's, whatever the kernel).
    if (s && !layer)
      s = DeviceLayer::create(kernel->metadata(), shape.batch, shape.tokens, 7, layer);
    if (s)
      s = timeKernel(*kernel, *layer, c.ms);
    if (!s)
      c.error = s.message;
    result.tried.push_back(c);
    if (progress)
      progress(c, result.tried.size(), total);
    return Status::ok();
  };
  auto fastest = [&]() -> const TuneCandidate * {
    const TuneCandidate *best = nullptr;
    for (const TuneCandidate &c : result.tried)
      if (c.error.empty() && (!best || c.ms < best->ms))
        best = &c;
    return best;
  };
  for (const GpuCompileOptions &candidate : candidates)
    if (Status s = tryCandidate(candidate); !s)
      return s;
  const TuneCandidate *winner = fastest();
  const bool sliced = winner && winner->options.kernel == "chunked" &&
                      slicedStateApplies(layerSource, winner->options);
  // wgmma needs whole warpgroups; the toggles below keep the V tile and k-split.
  const bool productsApply =
      productsChoice && sliced && winner->options.vTile % 64 == 0 && winner->options.kSplit == 1;
  const bool prepApplies = winner && winner->options.kernel == "chunked" &&
                           winner->options.chunkSize <= mlir::gdn::kOnePrepWarpMaxChunk &&
                           winner->options.prepWarps != 1;
  // Progress counted the extra candidates that may follow; now it is known which do.
  total = candidates.size() + (sliced ? 1 + (storesChoice ? 1 : 0) + (productsApply ? 1 : 0) : 0) +
          (prepApplies ? 1 : 0);
  if (sliced) {
    GpuCompileOptions other = winner->options;
    other.wholeChunkCopies = !other.wholeChunkCopies;
    if (Status s = tryCandidate(other); !s)
      return s;
    if (storesChoice) {
      other = fastest()->options;
      other.stmatrixStores = !other.stmatrixStores;
      if (Status s = tryCandidate(other); !s)
        return s;
    }
    if (productsApply) {
      other = fastest()->options;
      other.wgmma = !other.wgmma;
      if (Status s = tryCandidate(other); !s)
        return s;
    }
  }
  if (prepApplies) {
    GpuCompileOptions other = fastest()->options;
    other.prepWarps = 1;
    if (Status s = tryCandidate(other); !s)
      return s;
  }
  const TuneCandidate *best = fastest();
  if (!best)
    return Status::error(Status::Code::DriverError,
                         "gdn-tune: no configuration ran: " + result.tried.front().error);
  result.best = best->options;
  result.bestMs = best->ms;

  std::lock_guard<std::mutex> lock(tuningFileMutex());
  size_t malformed = 0;
  auto entries = readTuningFile(path, &malformed);
  if (malformed)
    std::fprintf(stderr, "gdn-tune: warning: dropping %zu malformed line(s) of %s\n", malformed,
                 path.c_str());
  entries[entryKey] = TuningEntry{result.best, result.bestMs};
  if (!writeTuningFile(path, entries))
    std::fprintf(stderr, "gdn-tune: warning: cannot write %s\n", path.c_str());
  return Status::ok();
}

std::string tuningKey(const std::string &layerSource, const TuneShape &shape,
                      const Options &options) {
  return layerKey(layerSource, options) + " " + shapeBucket(shape);
}

GpuCompileOptions tunedOptions(const std::string &layerSource, const TuneShape &shape,
                               const Options &options, bool *found) {
  GpuCompileOptions o = options.compile;
  std::lock_guard<std::mutex> lock(tuningFileMutex());
  size_t malformed = 0;
  auto entries = readTuningFile(tuningFilePath(options), &malformed);
  if (malformed)
    std::fprintf(stderr, "gdn-jit: warning: %zu malformed line(s) in %s are ignored\n", malformed,
                 tuningFilePath(options).c_str());
  auto it = entries.find(tuningKey(layerSource, shape, options));
  if (found)
    *found = it != entries.end();
  if (it != entries.end()) {
    // The record's kernel, block and every chunked option (ChunkedOptions.def).
    const GpuCompileOptions &r = it->second.options;
    o.kernel = r.kernel;
    o.blockSize = r.blockSize;
#define GDN_CHUNKED_INT(field, name, dflt, allowed, help) o.field = r.field;
#define GDN_CHUNKED_RANGE(field, name, dflt, low, high, help) o.field = r.field;
#define GDN_CHUNKED_BOOL(field, name, dflt, help) o.field = r.field;
#include "gdn/Codegen/ChunkedOptions.def"
  }
  return o;
}

Status compileTuned(const std::string &layerSource, const TuneShape &shape, const Options &options,
                    std::shared_ptr<Kernel> &kernel, GpuCompileOptions *chosen) {
  Options o = options;
  o.compile = tunedOptions(layerSource, shape, options, nullptr);
  if (chosen)
    *chosen = o.compile;
  return compile(layerSource, o, kernel);
}

std::string describeConfiguration(const GpuCompileOptions &options,
                                  const std::string &layerSource) {
  return describe(options, layerSource);
}

} // namespace gdn::jit
