//===- GpuCompiler.h - compile a layer to a GPU kernel artifact -*- C++ -*-===//
//
// Layer .mlir text -> gdn-to-ptx -> PTX (+ cubin through ptxas when it is found) and the
// runtime's metadata record. Needs MLIR; the runtime that loads the result does not.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_GPUCOMPILER_H
#define GDN_CODEGEN_GPUCOMPILER_H

#include "gdn/Runtime.h"

#include <string>
#include <vector>

namespace gdn {

struct GpuCompileOptions {
  std::string chip = "sm_90a";
  std::string features = "+ptx80";
  int64_t blockSize = 64; ///< threads per block of the recurrent kernel
  int64_t kSlices = 4;    ///< K slices per warp of the recurrent kernel (4 or 8)
  /// auto: the chunked tensor-core kernel where it supports the layer, else recurrent.
  std::string kernel = "auto"; ///< auto | recurrent | chunked | generic
  /// Chunked-kernel tiling; defaults from the sweep in bench/results/chunked-sweep-*.txt.
  int64_t chunkSize = 32;   ///< chunk size of the chunked kernel (16, 32, 64)
  int64_t vTile = 64;       ///< value columns per block of the chunked kernel
  int64_t warps = 8;        ///< warps per block of the chunked kernel
  bool ldmatrix = true;     ///< chunked kernel: operands by ldmatrix (see docs/gpu-kernels.md)
  bool prepInverse = false; ///< chunked kernel: explicit (I + A)^-1 and tensor-core W, U
  bool stateWy = true;      ///< chunked kernel: (I + A)^-1 applied in the state pass
  bool qsEarly = false;     ///< chunked kernel: Q S beside K S (small B x HV)
  /// chunked kernel: S^T in registers, 16 value columns per warp, v-tile / 16 warps
  bool slicedState = true;
  int64_t prepWarps = 4; ///< warps per block of the chunked prep kernel (1, 2, 4, 8)
  /// chunked kernel: segments per sequence whose state passes run at once (1: none; 0: up
  /// to 8, each launch choosing from its shape: gdn::segmentsFor)
  int64_t segments = 0;
  int64_t stages = 2; ///< chunked kernel (sliced): shared-memory stages of the chunk tiles
  int64_t kSplit = 1; ///< chunked kernel (sliced): warps sharing 16 value columns (split K)
  bool wholeChunkCopies = false; ///< chunked kernel: whole chunks' tiles copied unpredicated
  /// chunked kernel (sliced): outputs through stmatrix, where the chip has it (sm_90+)
  bool stmatrixStores = true;
  /// chunked kernel (sliced, V tile 64 or 128): products as wgmma, where the chip has it
  /// (sm_90a)
  bool wgmma = true;
  bool cubin = true;     ///< also assemble a cubin when ptxas is found
  std::string ptxasPath; ///< empty: $GDN_PTXAS, ptxas on PATH, /usr/local/cuda/bin/ptxas
};

struct GpuArtifact {
  KernelMetadata metadata;
  std::string ptx;
  std::vector<char> cubin;  ///< empty when no ptxas (the driver JIT-compiles the PTX)
  std::string ptxasCommand; ///< what was run, for the record
  /// ptxas's resource report per entry point ("name: N registers, S bytes spill stores"),
  /// and the entry points that spill registers to local memory (a performance bug).
  std::vector<std::string> ptxasResources, spillingKernels;
  /// With kernel = auto: why the chunked kernel did not take the layer with these options
  /// (the recurrent one was built instead); "" when it did, or when a kernel was named.
  std::string recurrentBecause;
  /// Why the generic fused kernel was built (a tile program no kernel fragment implements,
  /// as the chunked pass's remark says); "" when it was not, or when it was asked for.
  std::string genericBecause;
};

/// Compiles the one layer op in `source` (or its one function in the chunked form: the output of
/// gdn-chunkwise, perhaps gdn-split-chunk-loop, perhaps edited at the tile level). On failure
/// returns false with diagnostics (with source locations) in `error`.
bool compileLayerForGpu(const std::string &source, const std::string &bufferName,
                        const GpuCompileOptions &options, GpuArtifact &artifact,
                        std::string &error);

/// Why the chunked kernel cannot take the one layer op in `source` with `options`' tiling,
/// or "" when it can (parse errors are reported as the reason).
std::string chunkedKernelUnsupportedReason(const std::string &source,
                                           const GpuCompileOptions &options);

/// Whether `options` build the sliced-state pass for the layer in `source` (false when it
/// does not parse).
bool slicedStateApplies(const std::string &source, const GpuCompileOptions &options);
/// The value heads HV and value dim V of the layer in `source` (false if it does not parse).
bool layerValueShape(const std::string &source, int64_t &HV, int64_t &V);
/// Whether options.segments > 1 builds the segmented state pass for the layer in `source`.
bool segmentedStateApplies(const std::string &source, const GpuCompileOptions &options);

/// Locates ptxas as described in GpuCompileOptions::ptxasPath; "" when there is none.
std::string findPtxas(const std::string &explicitPath);

} // namespace gdn

#endif // GDN_CODEGEN_GPUCOMPILER_H
