//===- Jit.h - compile layers to GPU kernels at run time --------*- C++ -*-===//
//
// gdn::jit compiles a layer (its .mlir text, or a C++ description of the variant and
// shapes) in process to PTX/cubin and returns a launchable gdn::Kernel. Results are cached
// in memory and on disk; the key hashes the layer text, the options, the chip and the
// compiler version. Safe when several threads or processes compile at once: each disk entry
// is written to a private temporary file and renamed into place, so readers only ever see
// whole entries.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_JIT_H
#define GDN_CODEGEN_JIT_H

#include "gdn/Reference.h"
#include "gdn/Runtime.h"

#include <memory>
#include <string>

namespace gdn::jit {

/// A layer described in C++ rather than .mlir text.
struct LayerDescription {
  GateKind gate = GateKind::Scalar;
  UpdateRule rule = UpdateRule::Delta;
  std::string inputType = "bf16"; ///< q, k, v, o: bf16 | f16 | f32 (g, beta are f32)
  int64_t H = 16, HV = 32, K = 128, V = 128;
  bool initialState = true, finalState = true, qkL2norm = false, allowNegEigval = false;
  bool varlen = false;            ///< packed batch with i32 cu_seqlens
  float scale = 0.0f;             ///< 0: 1/sqrt(K)
  bool decode = false;            ///< gdn.decode with `decodeTokens` tokens per sequence
  int64_t decodeTokens = 1;

  /// The layer as .mlir text (one function holding one layer op).
  std::string toMlir() const;
};

struct Options {
  std::string chip = "sm_90a";
  std::string features = "+ptx80";
  int64_t blockSize = 64;
  std::string kernel = "auto";  ///< auto | recurrent | chunked (see GpuCompileOptions)
  int64_t chunkSize = 32;        ///< chunked kernel tiling (see GpuCompileOptions)
  int64_t vTile = 32, warps = 8;
  /// Disk cache folder; empty: $GDN_CACHE_DIR, else $XDG_CACHE_HOME/gdn, else ~/.cache/gdn.
  std::string cacheDir;
  bool diskCache = true;
};

/// How a compile was satisfied.
enum class CacheOutcome { Compiled, MemoryHit, DiskHit };

/// The cache key of a layer under `options` (hex).
std::string cacheKey(const std::string &layerSource, const Options &options);

/// Compiles (or finds cached) and loads the kernel. `outcome` says which.
Status compile(const std::string &layerSource, const Options &options,
               std::shared_ptr<Kernel> &kernel, CacheOutcome *outcome = nullptr);
Status compile(const LayerDescription &layer, const Options &options,
               std::shared_ptr<Kernel> &kernel, CacheOutcome *outcome = nullptr);

/// Compiles (or finds cached) without loading: for machines without a GPU, and tests.
Status compileArtifact(const std::string &layerSource, const Options &options,
                       KernelMetadata &metadata, std::string &ptx, std::vector<char> &cubin,
                       CacheOutcome *outcome = nullptr);

/// Forgets the in-memory cache (the disk cache stays).
void clearMemoryCache();

} // namespace gdn::jit

#endif // GDN_CODEGEN_JIT_H
