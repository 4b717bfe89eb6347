//===- Pipelines.h - named gdn pipelines ------------------------*- C++ -*-===//
#ifndef GDN_CODEGEN_PIPELINES_H
#define GDN_CODEGEN_PIPELINES_H

#include "gdn/Codegen/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir::gdn {

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<int64_t> chunkSize{*this, "chunk-size",
                            llvm::cl::desc("Tokens per chunk: 16, 32, 64 or 128"),
                            llvm::cl::init(64)};
  Option<bool> splitChunks{*this, "split-chunks",
                           llvm::cl::desc("Run gdn-split-chunk-loop: the chunk-parallel prep "
                                          "and the sequential step, as on the GPU"),
                           llvm::cl::init(true)};
};

struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("GPU architecture: sm_80, sm_90a, ..."),
                           llvm::cl::init("sm_90a")};
  Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX ISA features (keep at or below what ptxas knows)"),
      llvm::cl::init("+ptx80")};
  Option<std::string> format{*this, "format",
                             llvm::cl::desc("isa (PTX), bin (cubin, needs ptxas) or fatbin"),
                             llvm::cl::init("isa")};
  Option<int64_t> blockSize{*this, "block-size",
                            llvm::cl::desc("Threads per block of the recurrent kernel"),
                            llvm::cl::init(64)};
  Option<int64_t> kSlices{*this, "k-slices",
                          llvm::cl::desc("K slices per warp of the recurrent kernel (4 or 8)"),
                          llvm::cl::init(4)};
  Option<std::string> kernel{
      *this, "kernel",
      llvm::cl::desc("recurrent (every layer), chunked (tensor cores) or generic (the chunk "
                     "program lowered op by op into one fused kernel)"),
      llvm::cl::init("recurrent")};
  Option<int64_t> chunkSize{*this, "chunk-size", llvm::cl::desc("Chunk size of the chunked kernel"),
                            llvm::cl::init(32)};
  Option<int64_t> vTile{*this, "v-tile",
                        llvm::cl::desc("Value columns per block of the chunked kernel"),
                        llvm::cl::init(64)};
  Option<int64_t> warps{*this, "warps", llvm::cl::desc("Warps per block of the chunked kernel"),
                        llvm::cl::init(8)};
  Option<bool> ldmatrix{*this, "ldmatrix",
                        llvm::cl::desc("Chunked kernel: tensor-core operands by ldmatrix"),
                        llvm::cl::init(true)};
  Option<bool> prepInverse{*this, "prep-inverse",
                           llvm::cl::desc("Chunked kernel: explicit (I + A)^-1 in the prep"),
                           llvm::cl::init(false)};
  Option<bool> stateWy{*this, "state-wy",
                       llvm::cl::desc("Chunked kernel: (I + A)^-1 applied in the state pass; "
                                      "no W, U in the workspace"),
                       llvm::cl::init(true)};
  Option<bool> qsEarly{*this, "qs-early",
                       llvm::cl::desc("Chunked kernel: Q S in the same phase as K S"),
                       llvm::cl::init(false)};
  Option<bool> slicedState{
      *this, "sliced-state",
      llvm::cl::desc("Chunked kernel: S^T in registers, 16 value columns per warp"),
      llvm::cl::init(true)};
  Option<int64_t> prepWarps{*this, "prep-warps",
                            llvm::cl::desc("Warps per block of the chunked prep kernel"),
                            llvm::cl::init(4)};
  Option<int64_t> segments{*this, "segments",
                           llvm::cl::desc("Chunked kernel: segments per sequence whose state "
                                          "passes run at once (1: none; 0: up to 8, chosen "
                                          "per launch from its shape)"),
                           llvm::cl::init(0)};
  Option<int64_t> stages{*this, "stages",
                         llvm::cl::desc("Chunked kernel (sliced): shared-memory stages of the "
                                        "chunk tiles (2 to 4)"),
                         llvm::cl::init(2)};
  Option<int64_t> kSplit{*this, "k-split",
                         llvm::cl::desc("Chunked kernel (sliced): warps sharing 16 value "
                                        "columns, each with 1 / k-split of K (1 or 2)"),
                         llvm::cl::init(1)};
  Option<bool> wholeChunkCopies{
      *this, "whole-chunk-copies",
      llvm::cl::desc("Chunked kernel: whole chunks' tiles copied without per-row predicates"),
      llvm::cl::init(false)};
  Option<bool> stmatrixStores{
      *this, "stmatrix-stores",
      llvm::cl::desc("Chunked kernel (sliced): outputs stored through stmatrix where the chip "
                     "has it (sm_90 and later)"),
      llvm::cl::init(true)};
  Option<bool> wgmma{
      *this, "wgmma",
      llvm::cl::desc("Chunked kernel (sliced, V tile 64 or 128): products as wgmma where the "
                     "chip has it (sm_90a)"),
      llvm::cl::init(true)};
  Option<bool> gridDependency{
      *this, "grid-dependency",
      llvm::cl::desc("Add gdn-grid-dependency (programmatic dependent launch) where the chip "
                     "has it (sm_90 and later)"),
      llvm::cl::init(true)};
};

/// Whether `chip` (sm_NN or sm_NNa) has griddepcontrol: sm_90 and later.
bool chipHasGridDependency(const std::string &chip);
/// Whether `chip` (sm_NN[a]) has stmatrix (sm_90 and later).
bool chipHasStmatrix(const std::string &chip);
/// Whether `chip` has wgmma: sm_90a only (the arch-specific Hopper target).
bool chipHasWgmma(const std::string &chip);

/// gdn-chunkwise{chunk-size}, gdn-split-chunk-loop, then gdn-chunked-gpu-kernels on that form.
void addChunkedKernelPasses(OpPassManager &pm, const GdnChunkedGpuKernelsOptions &options);

/// After the kernels are built: attach the NVVM target and lower each gpu.module to NVVM.
std::string gpuLoweringPipelineText(const std::string &chip, const std::string &features);

/// gdn dialect -> gpu.module with the recurrent or chunked kernels -> NVVM -> PTX (or cubin)
/// embedded in a gpu.binary. With `stopAtNVVM`, ends before serialisation (gdn-to-nvvm).
LogicalResult buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options,
                               bool stopAtNVVM);

/// The textual form of gdn-to-cpu after the gdn passes: bufferization and the
/// lowering of loops, memrefs, math and arith to the LLVM dialect.
std::string cpuLoweringPipelineText();

/// gdn dialect -> chunked form -> linalg/loops -> LLVM dialect, ready for the
/// ExecutionEngine. Functions keep their names; memref results become out-params.
LogicalResult buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers the gdn passes and the named pipelines (gdn-to-cpu) with the global registry.
void registerGdnPassesAndPipelines();

} // namespace mlir::gdn

#endif // GDN_CODEGEN_PIPELINES_H
