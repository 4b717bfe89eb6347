// gdn-chunk-kernels on split chunked forms edited after gdn-assign-layouts, the way a user or a
// later pass might leave them: what it cannot outline is an error at the op that says why, never
// a crash or a kernel that reads something it was not given (docs/design.md §3.8).
#include "gdn/Codegen/LayerDescription.h"
#include "gdn/Codegen/Passes.h"
#include "gdn/Dialect/GdnDialect.h"
#include "gdn/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir;

namespace {

class ChunkKernelsTest : public testing::Test {
protected:
  ChunkKernelsTest() {
    DialectRegistry registry;
    registerAllDialects(registry);
    registry.insert<mlir::gdn::GdnDialect>();
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
    handler = std::make_unique<ScopedDiagnosticHandler>(&ctx, [this](Diagnostic &d) {
      messages += d.str() + "\n";
      return success();
    });
  }

  /// The layout-assigned split form of a small Gated DeltaNet layer (K = V = 64), with the step
  /// over tiles of `vTile` value columns (0: none), edited by `edit`; then gdn-chunk-kernels.
  /// Whether that succeeded; `messages` holds the diagnostics.
  bool outline(int64_t vTile, function_ref<void(ModuleOp)> edit) {
    ::gdn::LayerDescription d;
    d.H = 1;
    d.HV = 2;
    d.K = d.V = 64;
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(d.toMlir(), &ctx);
    if (!module)
      return false;
    PassManager form(&ctx);
    mlir::gdn::GdnChunkwiseOptions chunkwise;
    chunkwise.chunkSize = 64;
    form.addPass(mlir::gdn::createGdnChunkwise(chunkwise));
    form.addPass(mlir::gdn::createGdnSplitChunkLoop());
    mlir::gdn::GdnTileValueColumnsOptions columns;
    columns.vTile = vTile;
    form.addPass(mlir::gdn::createGdnTileValueColumns(columns));
    form.addPass(mlir::gdn::createGdnAssignLayouts());
    if (failed(form.run(*module)))
      return false;
    edit(*module);
    PassManager kernels(&ctx);
    kernels.addPass(mlir::gdn::createGdnChunkKernels());
    return succeeded(kernels.run(*module));
  }

  static scf::ForOp find(ModuleOp module, StringRef mark) {
    scf::ForOp found;
    module.walk([&](scf::ForOp loop) {
      if (loop->hasAttr(mark))
        found = loop;
    });
    return found;
  }

  MLIRContext ctx;
  std::unique_ptr<ScopedDiagnosticHandler> handler;
  std::string messages;
};

TEST_F(ChunkKernelsTest, TheUneditedFormOutlines) {
  EXPECT_TRUE(outline(0, [](ModuleOp) {})) << messages;
  EXPECT_TRUE(outline(32, [](ModuleOp) {})) << messages;
}

TEST_F(ChunkKernelsTest, ATileOfValueColumnsThatDoesNotDivideVIsRefused) {
  EXPECT_FALSE(outline(32, [&](ModuleOp module) {
    scf::ForOp tiles = find(module, "gdn.value_tiles");
    ASSERT_TRUE(tiles);
    tiles->setAttr("gdn.value_tiles", IntegerAttr::get(IntegerType::get(&ctx, 64), 48));
  }));
  EXPECT_NE(messages.find("gdn-chunk-kernels: 48 value columns per tile do not divide V = 64"),
            std::string::npos)
      << messages;
}

TEST_F(ChunkKernelsTest, AStepReadingALayerTensorItDoesNotTakeOverIsRefused) {
  // An element of g read in the step: the kernels read the layer's tensors only as tiles
  // through their views, and elements only of cu_seqlens.
  EXPECT_FALSE(outline(0, [&](ModuleOp module) {
    scf::ForOp step = find(module, "gdn.chunk_step");
    ASSERT_TRUE(step);
    auto fn = step->getParentOfType<func::FuncOp>();
    OpBuilder b = OpBuilder::atBlockBegin(step.getBody());
    Value zero = arith::ConstantIndexOp::create(b, step.getLoc(), 0);
    Value g = fn.getArgument(3);
    auto x = tensor::ExtractOp::create(b, step.getLoc(), g, ValueRange{zero, zero, zero});
    arith::AddFOp::create(b, step.getLoc(), x, x);
  }));
  EXPECT_NE(messages.find("gdn-chunk-kernels"), std::string::npos) << messages;
  EXPECT_NE(messages.find("cannot take over"), std::string::npos) << messages;
}

TEST_F(ChunkKernelsTest, AFormWithTwoChunkStepsIsRefused) {
  // The value-head loop marked as a chunk step too: not the one prep and one step
  // gdn-split-chunk-loop writes.
  EXPECT_FALSE(outline(0, [&](ModuleOp module) {
    scf::ForOp step = find(module, "gdn.chunk_step");
    ASSERT_TRUE(step);
    step->getParentOp()->setAttr("gdn.chunk_step",
                                 IntegerAttr::get(IntegerType::get(&ctx, 64), 64));
  }));
  EXPECT_NE(messages.find("is not in the split chunked form"), std::string::npos) << messages;
}

} // namespace
