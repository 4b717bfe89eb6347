//===- Passes.h - gdn code generation passes --------------------*- C++ -*-===//
#ifndef GDN_CODEGEN_PASSES_H
#define GDN_CODEGEN_PASSES_H

#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::gdn {

#define GEN_PASS_DECL
#include "gdn/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "gdn/Codegen/Passes.h.inc"

/// The largest chunk size whose prep runs in one-warp blocks (`prep-warps 1`): the unit-column
/// solve gives each of the chunk's columns a thread.
constexpr int64_t kOnePrepWarpMaxChunk = 32;

/// The chunked kernels' defaults that follow from the layer (the options' value 0): the chunk
/// size for head dimension K, a packed (cu_seqlens) batch and the gate kind, and the prep
/// kernel's warps.
int64_t defaultChunkSize(int64_t K, bool packed, GateKind gate);
int64_t defaultPrepWarps(int64_t chunkSize, int64_t K, GateKind gate);
/// The chunk size gdn-chunked-gpu-kernels builds a layer op with: the layer's own
/// `chunk_size`, else `option`, else (option 0) defaultChunkSize of the layer.
int64_t chunkedChunkSize(Operation *op, int64_t option);

/// Why gdn-chunked-gpu-kernels cannot build a kernel for this layer op with these options
/// (tiling and code path), or "" when it can.
std::string chunkedKernelUnsupportedReason(Operation *op,
                                           const GdnChunkedGpuKernelsOptions &options);

/// The same for a layer given by its facts (the chunked form's), with its chunk size.
std::string chunkedUnsupportedReason(GateKind gate, UpdateRule rule, Type inputType, int64_t K,
                                     int64_t V, int64_t chunkSize,
                                     const GdnChunkedGpuKernelsOptions &options);

/// Whether these options build the sliced-state pass for this layer op (sliced-state is on
/// and the layer allows it), rather than the tiled one.
bool chunkedStateIsSliced(Operation *op, const GdnChunkedGpuKernelsOptions &options);
/// Whether `segments` > 1 builds the segmented state pass for this layer (sliced pass,
/// V tile dividing K; packed batches split each sequence); elsewhere the option is a no-op.
bool chunkedStateIsSegmented(Operation *op, const GdnChunkedGpuKernelsOptions &options);

} // namespace mlir::gdn

#endif // GDN_CODEGEN_PASSES_H
