//===- Pipelines.cpp - named gdn pipelines --------------------------------===//
#include "gdn/Codegen/Pipelines.h"

#include "gdn/Codegen/Passes.h"
#include "gdn/Passes/Passes.h"
#include "mlir/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

std::string gdn::cpuLoweringPipelineText() {
  // Upstream passes by their registered names, so that `gdn-opt` users can run any prefix
  // of this by hand and see each stage.
  return "func.func(convert-elementwise-to-linalg),canonicalize,cse,"
         "one-shot-bufferize{bufferize-function-boundaries=1 allow-return-allocs-from-loops=1 "
         "function-boundary-type-conversion=identity-layout-map},"
         "buffer-results-to-out-params,buffer-deallocation-pipeline,"
         "func.func(convert-linalg-to-loops),scf-forall-to-for,expand-strided-metadata,lower-"
         "affine,"
         "convert-scf-to-cf,arith-expand{include-bf16=1},convert-math-to-llvm,"
         "convert-arith-to-llvm,convert-index-to-llvm,finalize-memref-to-llvm,"
         "convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts";
}

LogicalResult gdn::buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options) {
  gdn::GdnChunkwiseOptions chunkwise;
  chunkwise.chunkSize = options.chunkSize;
  pm.addPass(gdn::createGdnChunkwise(chunkwise));
  if (options.splitChunks) {
    gdn::GdnSplitChunkLoopOptions split;
    split.recompute = options.recompute;
    pm.addPass(gdn::createGdnSplitChunkLoop(split));
    if (options.valueTile > 0) {
      gdn::GdnTileValueColumnsOptions columns;
      columns.vTile = options.valueTile;
      pm.addPass(gdn::createGdnTileValueColumns(columns));
    }
  }
  pm.addPass(gdn::createGdnTilesToLinalg());
  return parsePassPipeline(cpuLoweringPipelineText(), pm);
}

void gdn::addChunkedKernelPasses(OpPassManager &pm, const GdnChunkedGpuKernelsOptions &options) {
  // The kernels are built from the split chunked form: its prep becomes the prep kernel, its
  // step the state pass.
  // chunk-size 0: each layer gets its default as its own chunk_size, which gdn-chunkwise takes
  // over its option.
  gdn::GdnChunkwiseOptions chunkwise;
  if (options.chunkSize == 0)
    pm.addPass(gdn::createGdnDefaultChunkSize());
  else
    chunkwise.chunkSize = options.chunkSize;
  pm.addPass(gdn::createGdnChunkwise(chunkwise));
  pm.addPass(gdn::createGdnSplitChunkLoop());
  pm.addPass(gdn::createGdnChunkedGpuKernels(options));
}

void gdn::addGeneratedKernelPasses(OpPassManager &pm, int64_t chunkSize, int64_t warps,
                                   int64_t vTile, bool recompute) {
  // 64 rows: the layouts' four warps each hold 16 rows of a chunk's tiles.
  gdn::GdnChunkwiseOptions chunkwise;
  chunkwise.chunkSize = chunkSize > 0 ? chunkSize : 64;
  pm.addPass(gdn::createGdnChunkwise(chunkwise));
  // With `recompute` the step recomputes W, U, Q' and K' from inputs and (I + A)^-1.
  gdn::GdnSplitChunkLoopOptions split;
  split.recompute = recompute;
  pm.addPass(gdn::createGdnSplitChunkLoop(split));
  gdn::GdnTileValueColumnsOptions columns;
  columns.vTile = vTile;
  pm.addPass(gdn::createGdnTileValueColumns(columns));
  gdn::GdnAssignLayoutsOptions layouts;
  layouts.warps = warps;
  pm.addPass(gdn::createGdnAssignLayouts(layouts));
  pm.addPass(gdn::createGdnChunkKernels());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(gdn::createGdnTilesToGpu());
}

/// The compute capability of "sm_NN[a]" as NN, or 0.
static int chipVersion(const std::string &chip) {
  if (chip.rfind("sm_", 0) != 0)
    return 0;
  int version = 0;
  size_t i = 3;
  for (; i < chip.size() && chip[i] >= '0' && chip[i] <= '9'; ++i)
    version = version * 10 + (chip[i] - '0');
  return version;
}

bool gdn::chipHasGridDependency(const std::string &chip) { return chipVersion(chip) >= 90; }

bool gdn::chipHasStmatrix(const std::string &chip) { return chipVersion(chip) >= 90; }

bool gdn::chipHasWgmma(const std::string &chip) { return chip == "sm_90a"; }

std::string gdn::gpuLoweringPipelineText(const std::string &chip, const std::string &features) {
  return "nvvm-attach-target{chip=" + chip + " features=" + features +
         " O=3},gpu.module(convert-scf-to-cf,expand-strided-metadata,lower-affine,"
         "convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts)";
}

LogicalResult gdn::buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options,
                                    bool stopAtNVVM) {
  if (options.kernel == "chunked" || options.kernel == "generic") {
    gdn::GdnChunkedGpuKernelsOptions chunked;
#define GDN_CHUNKED_INT(field, name, init, allowed, help) chunked.field = options.field;
#define GDN_CHUNKED_RANGE(field, name, init, low, high, help) chunked.field = options.field;
#define GDN_CHUNKED_BOOL(field, name, init, help) chunked.field = options.field;
#include "gdn/Codegen/ChunkedOptions.def"
    // Applied only where the chip has the instructions.
    chunked.stmatrixStores = options.stmatrixStores && chipHasStmatrix(options.chip);
    chunked.wgmma = options.wgmma && chipHasWgmma(options.chip);
    chunked.generic = options.kernel == "generic";
    addChunkedKernelPasses(pm, chunked);
  } else if (options.kernel == "generated") {
    addGeneratedKernelPasses(pm, options.chunkSize, options.warps, options.vTile,
                             options.recompute);
  } else if (options.kernel == "recurrent") {
    gdn::GdnRecurrentGpuKernelsOptions kernels;
    kernels.blockSize = options.blockSize;
    kernels.kSlices = options.kSlices;
    pm.addPass(gdn::createGdnRecurrentGpuKernels(kernels));
  } else {
    return failure();
  }
  if (options.gridDependency && chipHasGridDependency(options.chip))
    pm.addPass(gdn::createGdnGridDependency());
  std::string text = gpuLoweringPipelineText(options.chip, options.features);
  if (!stopAtNVVM)
    text += ",gpu-module-to-binary{format=" + options.format + "}";
  return parsePassPipeline(text, pm);
}

void gdn::registerGdnPassesAndPipelines() {
  gdn::registerGdnPasses();
  gdn::registerGdnCodegenPasses();
  PassPipelineRegistration<GpuPipelineOptions>(
      "gdn-to-nvvm", "Build the GPU kernels of gdn layers and lower them to the NVVM dialect",
      [](OpPassManager &pm, const GpuPipelineOptions &options) {
        if (failed(buildGpuPipeline(pm, options, /*stopAtNVVM=*/true)))
          llvm::report_fatal_error("gdn-to-nvvm: kernel must be recurrent, chunked or generic");
      });
  PassPipelineRegistration<GpuPipelineOptions>(
      "gdn-to-ptx",
      "gdn-to-nvvm, then serialise each gpu.module to PTX (format=isa) or cubin (format=bin)",
      [](OpPassManager &pm, const GpuPipelineOptions &options) {
        if (failed(buildGpuPipeline(pm, options, /*stopAtNVVM=*/false)))
          llvm::report_fatal_error("gdn-to-ptx: kernel must be recurrent, chunked or generic");
      });
  PassPipelineRegistration<CpuPipelineOptions>(
      "gdn-to-cpu",
      "Lower gdn layers to the LLVM dialect for the CPU: gdn-chunkwise, gdn-split-chunk-loop, "
      "gdn-tiles-to-linalg, bufferization, loops, LLVM",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        if (failed(buildCpuPipeline(pm, options)))
          llvm::report_fatal_error("gdn-to-cpu: an upstream pass is not registered");
      });
}
