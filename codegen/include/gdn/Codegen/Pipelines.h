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
  Option<int64_t> valueTile{*this, "value-tile",
                            llvm::cl::desc("With split-chunks: run the chunk step over tiles of "
                                           "this many value columns (gdn-tile-value-columns; 0: "
                                           "the whole V)"),
                            llvm::cl::init(0)};
  Option<bool> recompute{*this, "recompute",
                         llvm::cl::desc("With split-chunks: the step recomputes what costs fewer "
                                        "crossing elements than reading it through a workspace "
                                        "(gdn-split-chunk-loop{recompute}), as the generated GPU "
                                        "kernels do"),
                         llvm::cl::init(false)};
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
      llvm::cl::desc("recurrent (every layer), chunked (tensor cores), generic (the chunk "
                     "program lowered op by op into one fused kernel) or generated (the chunk "
                     "program's tile ops lowered under layouts onto tensor cores)"),
      llvm::cl::init("recurrent")};
  // The chunked kernels' tiling: one option per entry of ChunkedOptions.def.
#define GDN_CHUNKED_INT(field, name, dflt, allowed, help)                                          \
  Option<int64_t> field{*this, name, llvm::cl::desc(help), llvm::cl::init(dflt)};
#define GDN_CHUNKED_RANGE(field, name, dflt, low, high, help)                                      \
  Option<int64_t> field{*this, name, llvm::cl::desc(help), llvm::cl::init(dflt)};
#define GDN_CHUNKED_BOOL(field, name, dflt, help)                                                  \
  Option<bool> field{*this, name, llvm::cl::desc(help), llvm::cl::init(dflt)};
#include "gdn/Codegen/ChunkedOptions.def"
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

/// The generated lowering (docs/design.md §3.6–3.8): gdn-chunkwise{chunk-size} (64 where 0),
/// gdn-split-chunk-loop{recompute}, gdn-tile-value-columns{v-tile} (a block per tile of value
/// columns), gdn-assign-layouts{warps}, gdn-chunk-kernels, canonicalize and cse, then
/// gdn-tiles-to-gpu.
void addGeneratedKernelPasses(OpPassManager &pm, int64_t chunkSize, int64_t warps, int64_t vTile,
                              bool recompute);

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
