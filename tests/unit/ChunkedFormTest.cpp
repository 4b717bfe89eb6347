// The chunked GPU kernels are built from the chunked form (gdn-chunkwise, then
// gdn-split-chunk-loop). These tests check, without a GPU, that what that route builds is
// exactly what the kernel builders make for the layer op, for every family, dtype, head shape
// and option; that a form canonicalized in between still compiles to the same kernels; and that
// a form no kernel fragment implements is reported at the op that differs.
#include "gdn/Codegen/GpuCompiler.h"
#include "gdn/Codegen/LayerDescription.h"
#include "gdn/Codegen/Passes.h"
#include "gdn/Codegen/Pipelines.h"
#include "gdn/Dialect/GdnDialect.h"
#include "gdn/Passes/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir;

namespace {

class ChunkedFormTest : public testing::Test {
protected:
  ChunkedFormTest() {
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

  /// The module after `passes` (empty on failure; `messages` says why).
  std::string run(const std::string &text, function_ref<void(PassManager &)> passes) {
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
    if (!module)
      return "";
    PassManager pm(&ctx);
    passes(pm);
    if (failed(pm.run(*module)))
      return "";
    std::string out;
    llvm::raw_string_ostream os(out);
    module->print(os);
    return out;
  }

  std::string fromLayerOp(const std::string &text,
                          const mlir::gdn::GdnChunkedGpuKernelsOptions &o) {
    return run(text,
               [&](PassManager &pm) { pm.addPass(mlir::gdn::createGdnChunkedGpuKernels(o)); });
  }

  std::string fromChunkedForm(const std::string &text,
                              const mlir::gdn::GdnChunkedGpuKernelsOptions &o) {
    return run(text, [&](PassManager &pm) { mlir::gdn::addChunkedKernelPasses(pm, o); });
  }

  /// The split chunked form of `text` at chunk size C, as text.
  std::string splitForm(const std::string &text, int64_t C) {
    return run(text, [&](PassManager &pm) {
      mlir::gdn::GdnChunkwiseOptions chunkwise;
      chunkwise.chunkSize = C;
      pm.addPass(mlir::gdn::createGdnChunkwise(chunkwise));
      pm.addPass(mlir::gdn::createGdnSplitChunkLoop());
    });
  }

  MLIRContext ctx;
  std::unique_ptr<ScopedDiagnosticHandler> handler;
  std::string messages;
};

mlir::gdn::GdnChunkedGpuKernelsOptions options(int64_t C, int64_t vTile, bool sliced, bool wgmma) {
  mlir::gdn::GdnChunkedGpuKernelsOptions o;
  o.chunkSize = C;
  o.vTile = vTile;
  o.warps = sliced ? vTile / 16 : 8;
  o.slicedState = sliced;
  o.ldmatrix = true;
  o.stateWy = true;
  o.wgmma = wgmma;
  o.stmatrixStores = wgmma;
  o.stages = sliced ? 3 : 2;
  return o;
}

TEST_F(ChunkedFormTest, SameKernelsAsFromTheLayerOpForEveryFamilyAndOption) {
  struct Shape {
    int64_t H, HV, K, V;
  };
  const Shape shapes[] = {{16, 32, 128, 128}, {2, 4, 64, 128}, {4, 4, 128, 64}};
  int built = 0, refused = 0, index = 0;
  for (::gdn::GateKind gate :
       {::gdn::GateKind::None, ::gdn::GateKind::Scalar, ::gdn::GateKind::Channel})
    for (::gdn::UpdateRule rule : {::gdn::UpdateRule::Additive, ::gdn::UpdateRule::Delta})
      for (const char *dtype : {"bf16", "f16", "f32"})
        for (const Shape &shape : shapes)
          for (int flags = 0; flags < 3; ++flags, ++index) {
            ::gdn::LayerDescription d;
            d.gate = gate;
            d.rule = rule;
            d.inputType = dtype;
            d.H = shape.H;
            d.HV = shape.HV;
            d.K = shape.K;
            d.V = shape.V;
            d.initialState = flags != 1;
            d.finalState = flags == 0;
            d.qkL2norm = flags == 0;
            d.varlen = flags == 2;
            d.scale = flags == 1 ? 0.5f : 0.0f;
            const std::string text = d.toMlir();
            const int64_t C = int64_t{16} << (index % 3);
            const bool sliced = index % 4 != 3;
            auto o = options(C, sliced ? 64 : 32, sliced, index % 2 == 0);
            SCOPED_TRACE(text + " chunk " + std::to_string(C) + (sliced ? " sliced" : " tiled"));
            messages.clear();
            std::string expected = fromLayerOp(text, o);
            std::string whyNot = messages;
            messages.clear();
            std::string got = fromChunkedForm(text, o);
            if (expected.empty()) {
              // Both routes refuse, for the same reason.
              ++refused;
              EXPECT_TRUE(got.empty());
              std::string reason = whyNot.substr(whyNot.find(": ") + 2);
              EXPECT_NE(messages.find(reason), std::string::npos) << messages << " vs " << whyNot;
              continue;
            }
            ++built;
            ASSERT_FALSE(got.empty()) << messages;
            EXPECT_EQ(got, expected);
          }
  EXPECT_GT(built, 100);
  EXPECT_GT(refused, 50); // f32 inputs have no chunked kernel: both routes must say so
}

// Gated DeltaNet with GVA and both states, returning its results (so that canonicalize keeps
// the layer).
const char *kGatedDeltaNet = R"(
func.func @gdn(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>,
               %v: tensor<?x?x32x128xbf16>, %g: tensor<?x?x32xf32>, %beta: tensor<?x?x32xf32>,
               %h0: tensor<?x32x128x128xf32>)
    -> (tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x16x128xbf16>)
      k(%k : tensor<?x?x16x128xbf16>) v(%v : tensor<?x?x32x128xbf16>) g(%g : tensor<?x?x32xf32>)
      beta(%beta : tensor<?x?x32xf32>) initial_state(%h0 : tensor<?x32x128x128xf32>) {qk_l2norm}
      -> tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
  return %o, %hT : tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
}
)";

TEST_F(ChunkedFormTest, CanonicalizedFormStillCompilesToTheSameKernels) {
  const std::string text = kGatedDeltaNet;
  auto o = options(32, 64, true, true);
  std::string expected = fromLayerOp(text, o);
  ASSERT_FALSE(expected.empty()) << messages;
  std::string split = splitForm(text, 32);
  ASSERT_FALSE(split.empty()) << messages;
  std::string got = run(split, [&](PassManager &pm) {
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    pm.addPass(mlir::gdn::createGdnChunkedGpuKernels(o));
  });
  ASSERT_FALSE(got.empty()) << messages;
  EXPECT_EQ(got, expected);
}

TEST_F(ChunkedFormTest, FormsWithoutAFragmentAreReportedAtTheOp) {
  ::gdn::LayerDescription d;
  auto o = options(16, 64, true, false);
  // Whether or not the function returns the layer's results (LayerDescription's drops them).
  for (const std::string &text : {std::string(kGatedDeltaNet), d.toMlir()}) {
    std::string split = splitForm(text, 16);
    ASSERT_FALSE(split.empty()) << messages;
    // The K rows gated to the chunk's start instead of its end: a variant no fragment builds.
    std::string edited = split;
    size_t at = edited.find(" {to_end}");
    ASSERT_NE(at, std::string::npos);
    edited.erase(at, 9);
    messages.clear();
    auto strict = o;
    strict.genericFallback = false;
    EXPECT_TRUE(run(edited, [&](PassManager &pm) {
                  pm.addPass(mlir::gdn::createGdnChunkedGpuKernels(strict));
                }).empty());
    EXPECT_NE(messages.find("no kernel fragment for this gdn.tile.gate_rows (other attributes)"),
              std::string::npos)
        << messages;
    EXPECT_NE(messages.find("which has here: %"), std::string::npos) << messages;
    EXPECT_NE(messages.find("{to_end}"), std::string::npos) << messages;

    // By default such a program gets the generic fused kernel, with the same words as a remark.
    messages.clear();
    std::string generic =
        run(edited, [&](PassManager &pm) { pm.addPass(mlir::gdn::createGdnChunkedGpuKernels(o)); });
    EXPECT_NE(generic.find("gdn.generic"), std::string::npos) << messages;
    EXPECT_EQ(generic.find("_chunked_prep"), std::string::npos);
    EXPECT_NE(messages.find("building the generic fused kernel instead"), std::string::npos)
        << messages;
  }
  const std::string text = d.toMlir();

  // Without the split, the pass says which pass is missing.
  std::string unsplit = run(text, [&](PassManager &pm) {
    mlir::gdn::GdnChunkwiseOptions chunkwise;
    chunkwise.chunkSize = 32;
    pm.addPass(mlir::gdn::createGdnChunkwise(chunkwise));
  });
  ASSERT_FALSE(unsplit.empty());
  messages.clear();
  EXPECT_TRUE(run(unsplit, [&](PassManager &pm) {
                pm.addPass(mlir::gdn::createGdnChunkedGpuKernels(o));
              }).empty());
  EXPECT_NE(messages.find("run gdn-split-chunk-loop first"), std::string::npos) << messages;

  // A decode step has no chunked kernel, through either route.
  ::gdn::LayerDescription decode;
  decode.decode = true;
  messages.clear();
  EXPECT_TRUE(fromChunkedForm(decode.toMlir(), o).empty());
  EXPECT_NE(messages.find("decode steps use the recurrent one"), std::string::npos) << messages;
}

// gdn-compile and the JIT take a chunked form too (what a researcher edits at the tile level):
// as written it gets the fragments; edited, the generic fused kernel with a note saying why,
// and metadata read off the form (the scale as the product of the factors on Q).
TEST_F(ChunkedFormTest, GpuCompilerTakesChunkedForms) {
  std::string split = splitForm(kGatedDeltaNet, 16);
  ASSERT_FALSE(split.empty()) << messages;
  ::gdn::GpuCompileOptions options;
  options.cubin = false;
  ::gdn::GpuArtifact artifact;
  std::string error;
  ASSERT_TRUE(::gdn::compileLayerForGpu(split, "form.mlir", options, artifact, error)) << error;
  EXPECT_EQ(artifact.metadata.kernelName, "gdn_chunked");
  EXPECT_EQ(artifact.metadata.prepKernelName, "gdn_chunked_prep");
  EXPECT_TRUE(artifact.genericBecause.empty());
  EXPECT_TRUE(artifact.metadata.qkL2norm);
  EXPECT_EQ(artifact.metadata.chunkSize, 16);

  // The Q scale applied in two steps (2, then s / 2): the same layer, another tile program.
  const std::string scaleOp = "gdn.tile.row_scale %";
  size_t at = split.find(" {factor = ");
  ASSERT_NE(at, std::string::npos);
  size_t lineStart = split.rfind('\n', at) + 1, lineEnd = split.find('\n', at);
  std::string line = split.substr(lineStart, lineEnd - lineStart);
  // "%R = gdn.tile.row_scale %X {factor = F : f32} : T"
  size_t eq = line.find(" = "), x = line.find(scaleOp), brace = line.find(" {factor");
  std::string indent = line.substr(0, line.find('%'));
  std::string result = line.substr(indent.size(), eq - indent.size());
  std::string operand = line.substr(x + scaleOp.size() - 1, brace - (x + scaleOp.size() - 1));
  std::string type = line.substr(line.rfind(" : ") + 3);
  float factor = std::stof(line.substr(brace + 11));
  std::string twoSteps =
      indent + "%q_doubled = gdn.tile.row_scale " + operand + " {factor = 2.0 : f32} : " + type +
      "\n" + indent + result +
      " = gdn.tile.row_scale %q_doubled {factor = " + std::to_string(factor / 2) +
      " : f32} : " + type;
  std::string edited = split.substr(0, lineStart) + twoSteps + split.substr(lineEnd);
  ASSERT_TRUE(::gdn::compileLayerForGpu(edited, "edited.mlir", options, artifact, error)) << error;
  EXPECT_EQ(artifact.metadata.kernelName, "gdn_generic");
  EXPECT_TRUE(artifact.metadata.prepKernelName.empty());
  EXPECT_EQ(artifact.metadata.kind, "chunked");
  EXPECT_NEAR(artifact.metadata.scale, factor, 1e-6);
  EXPECT_NE(artifact.genericBecause.find("no kernel fragment for this gdn.tile.row_scale"),
            std::string::npos)
      << artifact.genericBecause;
  EXPECT_NE(artifact.ptx.find(".entry gdn_generic"), std::string::npos);

  // The recurrent kernel takes layer ops only.
  options.kernel = "recurrent";
  EXPECT_FALSE(::gdn::compileLayerForGpu(edited, "edited.mlir", options, artifact, error));
  EXPECT_NE(error.find("the recurrent kernel takes a layer op"), std::string::npos) << error;
}

} // namespace
