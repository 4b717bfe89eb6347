//===- Generalize.cpp - gdn.recurrence as gdn.transition -------------------===//
//
// The six families written in the generalized transition (docs/design.md §1.1): the delta
// rule is the transition's `delta_rule` (a = -beta e^g k, b = k) with one step per token, the
// additive rule a transition without a rank-one term.
//
//===----------------------------------------------------------------------===//
#include "gdn/Dialect/GdnOps.h"
#include "gdn/Passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNGENERALIZE
#include "gdn/Passes/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;
using namespace mlir::gdn;

namespace {

struct RecurrenceToTransition : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RecurrenceOp op, PatternRewriter &rewriter) const override {
    const bool delta = op.getRule() == UpdateRule::Delta;
    Type finalStateType = op.getFinalState() ? op.getFinalState().getType() : Type();
    auto transition = TransitionOp::create(
        rewriter, op.getLoc(), op.getO().getType(), finalStateType,
        GateKindAttr::get(rewriter.getContext(), op.getGate()), op.getQ(), op.getK(), op.getV(),
        /*a=*/Value(), /*b=*/Value(), op.getG(), op.getBeta(), op.getInitialState(),
        op.getCuSeqlens(), rewriter.getI64IntegerAttr(1),
        delta ? rewriter.getUnitAttr() : UnitAttr(), op.getScaleAttr(), op.getQkL2normAttr(),
        op.getAllowNegEigvalAttr(), op.getChunkSizeAttr());
    rewriter.replaceOp(op, transition->getResults());
    return success();
  }
};

struct GdnGeneralizePass : public gdn::impl::GdnGeneralizeBase<GdnGeneralizePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateGeneralizePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::gdn::populateGeneralizePatterns(RewritePatternSet &patterns) {
  patterns.add<RecurrenceToTransition>(patterns.getContext());
}
