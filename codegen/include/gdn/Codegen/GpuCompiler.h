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
  /// Chunked-kernel tiling, one field per entry of ChunkedOptions.def (its defaults from the
  /// sweeps in bench/results/; what each does: docs/gpu-kernels.md, Options).
#define GDN_CHUNKED_INT(field, name, init, allowed, help) int64_t field = init;
#define GDN_CHUNKED_RANGE(field, name, init, low, high, help) int64_t field = init;
#define GDN_CHUNKED_BOOL(field, name, init, help) bool field = init;
#include "gdn/Codegen/ChunkedOptions.def"
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
