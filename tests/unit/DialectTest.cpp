// Builds layer ops with the C++ builder API and checks what verification accepts and rejects.
#include "gdn/Dialect/GdnDialect.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir;
using namespace mlir::gdn;

namespace {

class DialectTest : public ::testing::Test {
protected:
  DialectTest() : builder(&ctx) {
    ctx.loadDialect<GdnDialect, func::FuncDialect>();
    // Capture diagnostics so that tests can assert on the message.
    handler = std::make_unique<ScopedDiagnosticHandler>(&ctx, [this](Diagnostic &d) {
      messages += d.str() + "\n";
      return success();
    });
    module = ModuleOp::create(UnknownLoc::get(&ctx));
    builder.setInsertionPointToEnd(module->getBody());
  }

  RankedTensorType tensor(ArrayRef<int64_t> shape, Type elt) {
    return RankedTensorType::get(shape, elt);
  }

  /// Block arguments of a fresh function standing in for layer inputs.
  SmallVector<Value> args(ArrayRef<Type> types) {
    auto fn = func::FuncOp::create(builder, UnknownLoc::get(&ctx), "f" + std::to_string(fnCount++),
                                   builder.getFunctionType(types, {}));
    Block *body = fn.addEntryBlock();
    builder.setInsertionPointToStart(body);
    return SmallVector<Value>(body->getArguments().begin(), body->getArguments().end());
  }

  MLIRContext ctx;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<ScopedDiagnosticHandler> handler;
  std::string messages;
  int fnCount = 0;
};

TEST_F(DialectTest, GatedDeltaNetWithGvaAndStatesVerifies) {
  Type bf16 = builder.getBF16Type(), f32 = builder.getF32Type();
  int64_t dyn = ShapedType::kDynamic;
  auto a = args({tensor({dyn, dyn, 16, 128}, bf16), tensor({dyn, dyn, 32, 128}, bf16),
                 tensor({dyn, dyn, 32}, f32), tensor({dyn, 32, 128, 128}, f32)});
  auto op = RecurrenceOp::create(builder, UnknownLoc::get(&ctx), GateKind::Scalar,
                                 UpdateRule::Delta, a[0], a[0], a[1], a[2], a[2], a[3], Value(),
                                 /*withFinalState=*/true, std::nullopt, /*qkL2norm=*/true);
  ASSERT_TRUE(succeeded(verify(op))) << messages;
  EXPECT_EQ(op.getO().getType(), tensor({dyn, dyn, 32, 128}, bf16));
  ASSERT_TRUE(op.getFinalState());
  EXPECT_EQ(op.getFinalState().getType(), tensor({dyn, 32, 128, 128}, f32));
  EXPECT_FLOAT_EQ(op.getScaleOrDefault(), 1.0f / std::sqrt(128.0f));
  EXPECT_TRUE(op.getQkL2norm());
  EXPECT_FALSE(op.isVarlen());
}

TEST_F(DialectTest, EveryFamilyVerifies) {
  Type f16 = builder.getF16Type(), f32 = builder.getF32Type();
  auto a = args({tensor({2, 8, 4, 64}, f16), tensor({2, 8, 4}, f32), tensor({2, 8, 4, 64}, f32)});
  for (GateKind gate : {GateKind::None, GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta}) {
      Value g = gate == GateKind::None ? Value() : gate == GateKind::Scalar ? a[1] : a[2];
      Value beta = rule == UpdateRule::Delta ? a[1] : Value();
      auto op = RecurrenceOp::create(builder, UnknownLoc::get(&ctx), gate, rule, a[0], a[0], a[0],
                                     g, beta, Value(), Value(), false, 0.5f);
      EXPECT_TRUE(succeeded(verify(op))) << stringifyGateKind(gate).str() << "/"
                                         << stringifyUpdateRule(rule).str() << ": " << messages;
      EXPECT_FLOAT_EQ(op.getScaleOrDefault(), 0.5f);
      EXPECT_FALSE(op.getFinalState());
    }
}

TEST_F(DialectTest, VarlenStateCountComesFromCuSeqlens) {
  Type f32 = builder.getF32Type();
  auto a = args({tensor({1, ShapedType::kDynamic, 2, 64}, f32), tensor({5}, builder.getI32Type())});
  auto op = RecurrenceOp::create(builder, UnknownLoc::get(&ctx), GateKind::None,
                                 UpdateRule::Additive, a[0], a[0], a[0], Value(), Value(), Value(),
                                 a[1], /*withFinalState=*/true);
  ASSERT_TRUE(succeeded(verify(op))) << messages;
  EXPECT_TRUE(op.isVarlen());
  EXPECT_EQ(op.getFinalState().getType(), tensor({4, 2, 64, 64}, f32));
}

TEST_F(DialectTest, DeltaRuleWithoutBetaIsRejected) {
  Type f32 = builder.getF32Type();
  auto a = args({tensor({1, 8, 2, 64}, f32)});
  auto op = RecurrenceOp::create(builder, UnknownLoc::get(&ctx), GateKind::None, UpdateRule::Delta,
                                 a[0], a[0], a[0], Value(), Value(), Value(), Value(), false);
  EXPECT_TRUE(failed(verify(op)));
  EXPECT_NE(messages.find("the delta rule requires a 'beta' operand"), std::string::npos)
      << messages;
}

TEST_F(DialectTest, MismatchedGvaIsRejected) {
  Type f32 = builder.getF32Type();
  auto a = args({tensor({1, 8, 3, 64}, f32), tensor({1, 8, 4, 64}, f32)});
  auto op =
      RecurrenceOp::create(builder, UnknownLoc::get(&ctx), GateKind::None, UpdateRule::Additive,
                           a[0], a[0], a[1], Value(), Value(), Value(), Value(), false);
  EXPECT_TRUE(failed(verify(op)));
  EXPECT_NE(messages.find("value heads HV = 4 must be a multiple of query/key heads H = 3"),
            std::string::npos)
      << messages;
}

TEST_F(DialectTest, UnsupportedHeadDimIsRejected) {
  Type f32 = builder.getF32Type();
  auto a = args({tensor({1, 8, 2, 32}, f32)});
  auto op =
      RecurrenceOp::create(builder, UnknownLoc::get(&ctx), GateKind::None, UpdateRule::Additive,
                           a[0], a[0], a[0], Value(), Value(), Value(), Value(), false);
  EXPECT_TRUE(failed(verify(op)));
  EXPECT_NE(messages.find("head dim K = 32 is not supported"), std::string::npos) << messages;
}

TEST_F(DialectTest, ChannelGateNeedsPerChannelShape) {
  Type f32 = builder.getF32Type();
  auto a = args({tensor({1, 8, 2, 64}, f32), tensor({1, 8, 2}, f32)});
  auto op =
      RecurrenceOp::create(builder, UnknownLoc::get(&ctx), GateKind::Channel, UpdateRule::Additive,
                           a[0], a[0], a[0], a[1], Value(), Value(), Value(), false);
  EXPECT_TRUE(failed(verify(op)));
  EXPECT_NE(messages.find("[B, T, HV, K] for gate 'channel'"), std::string::npos) << messages;
}

TEST_F(DialectTest, DecodeBuilderCarriesStateType) {
  Type bf16 = builder.getBF16Type(), f32 = builder.getF32Type();
  auto a = args({tensor({64, 1, 16, 128}, bf16), tensor({64, 1, 32, 128}, bf16),
                 tensor({64, 1, 32}, f32), tensor({64, 32, 128, 128}, f32)});
  auto op = DecodeOp::create(builder, UnknownLoc::get(&ctx), GateKind::Scalar, UpdateRule::Delta,
                             a[0], a[0], a[1], a[2], a[2], a[3], Value());
  ASSERT_TRUE(succeeded(verify(op))) << messages;
  EXPECT_EQ(op.getNewState().getType(), a[3].getType());
  EXPECT_EQ(op.getO().getType(), a[1].getType());
}

TEST_F(DialectTest, DecodeRejectsStateOfWrongBatch) {
  Type f32 = builder.getF32Type();
  auto a = args({tensor({8, 1, 2, 64}, f32), tensor({4, 2, 64, 64}, f32)});
  auto op = DecodeOp::create(builder, UnknownLoc::get(&ctx), GateKind::None, UpdateRule::Additive,
                             a[0], a[0], a[0], Value(), Value(), a[1], Value());
  EXPECT_TRUE(failed(verify(op)));
  EXPECT_NE(messages.find("'state' must have shape [N, HV, K, V] = [8, 2, 64, 64]"),
            std::string::npos)
      << messages;
}

TEST_F(DialectTest, ParsedExampleRoundTripsThroughPrinter) {
  const char *text = R"mlir(
    func.func @f(%q: tensor<2x8x2x64xf32>, %g: tensor<2x8x2xf32>) {
      %o, %s = gdn.recurrence <scalar, delta> q(%q : tensor<2x8x2x64xf32>) k(%q : tensor<2x8x2x64xf32>)
          v(%q : tensor<2x8x2x64xf32>) g(%g : tensor<2x8x2xf32>) beta(%g : tensor<2x8x2xf32>)
          {chunk_size = 64 : i64} -> tensor<2x8x2x64xf32>, tensor<2x2x64x64xf32>
      return
    })mlir";
  OwningOpRef<ModuleOp> parsed = parseSourceString<ModuleOp>(text, &ctx);
  ASSERT_TRUE(parsed) << messages;
  RecurrenceOp op;
  parsed->walk([&](RecurrenceOp r) { op = r; });
  ASSERT_TRUE(op);
  EXPECT_EQ(op.getGate(), GateKind::Scalar);
  EXPECT_EQ(op.getRule(), UpdateRule::Delta);
  EXPECT_EQ(op.getChunkSize(), std::optional<uint64_t>(64));

  std::string printed;
  llvm::raw_string_ostream os(printed);
  parsed->print(os);
  OwningOpRef<ModuleOp> reparsed = parseSourceString<ModuleOp>(printed, &ctx);
  ASSERT_TRUE(reparsed) << messages;
  std::string printedAgain;
  llvm::raw_string_ostream os2(printedAgain);
  reparsed->print(os2);
  EXPECT_EQ(printed, printedAgain);
}

TEST_F(DialectTest, MalformedTextGetsLocatedDiagnostic) {
  const char *text = R"mlir(
    func.func @f(%q: tensor<2x8x2x64xf32>) {
      %o = gdn.recurrence <scalar, additive> q(%q : tensor<2x8x2x64xf32>) k(%q : tensor<2x8x2x64xf32>) v(%q : tensor<2x8x2x64xf32>) -> tensor<2x8x2x64xf32>
      return
    })mlir";
  OwningOpRef<ModuleOp> parsed = parseSourceString<ModuleOp>(text, &ctx);
  EXPECT_FALSE(parsed);
  EXPECT_NE(messages.find("gate 'scalar' requires a 'g' operand"), std::string::npos) << messages;
}

} // namespace
