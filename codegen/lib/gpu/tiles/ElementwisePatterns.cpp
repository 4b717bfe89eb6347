//===- ElementwisePatterns.cpp - element-wise tile work on registers ------===//
//
// An element-wise op on tiles of one register layout (docs/design.md §3.7: its operands and
// result share the layout, so every thread holds the same elements of each) is the same op on
// the threads' vectors: arith's add, sub, mul, truncf, extf, ... and splat constants (an
// accumulator's zeros). Nothing moves between threads.
//
//===----------------------------------------------------------------------===//
#include "TileDistribution.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::tiles;

namespace {

/// Any element-wise arith op whose tile operands or results are held in registers.
struct ElementwiseOnRegisters : ConversionPattern {
  ElementwiseOnRegisters(TypeConverter &converter, MLIRContext *ctx)
      : ConversionPattern(converter, MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}

  LogicalResult matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                                ConversionPatternRewriter &rewriter) const override {
    if (op->getDialect()->getNamespace() != "arith" || op->getNumRegions() != 0 ||
        !op->hasTrait<OpTrait::Elementwise>() || isa<arith::ConstantOp>(op))
      return failure();
    if (!llvm::any_of(op->getResultTypes(), inRegisters))
      return failure();
    SmallVector<Type> types;
    if (failed(getTypeConverter()->convertTypes(op->getResultTypes(), types)))
      return rewriter.notifyMatchFailure(op, "a result has no register layout");
    OperationState state(op->getLoc(), op->getName().getStringRef(), operands, types,
                         op->getAttrs());
    rewriter.replaceOp(op, rewriter.create(state)->getResults());
    return success();
  }
};

/// A splat constant tile in registers: the same splat of each thread's vector.
struct SplatConstantOnRegisters : OpConversionPattern<arith::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(arith::ConstantOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    if (!inRegisters(op.getType()))
      return failure();
    auto splat = dyn_cast<SplatElementsAttr>(op.getValue());
    if (!splat)
      return op.emitOpError("gdn-tiles-to-gpu: a constant tile in registers must be a splat");
    auto type = cast<VectorType>(getTypeConverter()->convertType(op.getType()));
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, type, SplatElementsAttr::get(type, splat.getSplatValue<Attribute>()));
    return success();
  }
};

} // namespace

void mlir::gdn::tiles::populateTileElementwisePatterns(TileTypeConverter &converter,
                                                       RewritePatternSet &patterns) {
  patterns.add<ElementwiseOnRegisters>(converter, patterns.getContext());
  patterns.add<SplatConstantOnRegisters>(converter, patterns.getContext());
}
