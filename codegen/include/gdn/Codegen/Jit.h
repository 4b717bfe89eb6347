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

#include "gdn/Codegen/GpuCompiler.h"
#include "gdn/Codegen/LayerDescription.h"
#include "gdn/Runtime.h"

#include <memory>
#include <string>

namespace gdn::jit {

using gdn::LayerDescription;

struct Options {
  GpuCompileOptions compile; ///< chip, kernel design and tiling (all part of the key)
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
