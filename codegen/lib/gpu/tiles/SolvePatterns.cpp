//===- SolvePatterns.cpp - the unit-lower-triangular solve ----------------===//
//
// gdn.tile.unit_lower_inverse (docs/design.md §3.7): Tm = (I + A)^-1 for the strictly lower
// part of A. Through the exchange buffer: A stored once by its holders, then each column of Tm
// is independent of the others (Tm[j, j] = 1, Tm[i, j] = -sum_{k=j}^{i-1} A[i, k] Tm[k, j]),
// so the block's threads take one column each, forward-substituting down it into the buffer's
// second half; a barrier, and every thread reads its elements of Tm back in A's layout. This
// is the correct, simple form: O(C^3 / 6) multiply-adds on the longest column; the fragments'
// blockwise solve on tensor cores is a later pattern of this family.
//
//===----------------------------------------------------------------------===//
#include "TileDistribution.h"

#include "gdn/Dialect/GdnLayouts.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::tiles;

namespace {

Value cIdx(OpBuilder &b, Location loc, int64_t x) { return indexConstant(b, loc, x); }

struct UnitLowerInverseLowering : OpConversionPattern<TileUnitLowerInverseOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(TileUnitLowerInverseOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto staged = distributeWithExchange(op, op.getA());
    if (failed(staged))
      return failure(); // checkTileSolve reported it
    const Distribution *a = &staged->first;
    Value buffer = staged->second;
    int64_t n = a->type.getDimSize(0);
    auto at = [&](OpBuilder &b, Value i, Value j, int64_t half) -> Value {
      Value x = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, i, cIdx(b, loc, n)), j);
      return half ? arith::AddIOp::create(b, loc, x, cIdx(b, loc, n * n)).getResult() : x;
    };
    // A into the buffer's first half.
    gpu::BarrierOp::create(rewriter, loc);
    storeHeld(rewriter, loc, *a, adaptor.getA(), [&](OpBuilder &b, Value x, ArrayRef<Value> c) {
      memref::StoreOp::create(b, loc, x, buffer, ValueRange{at(b, c[0], c[1], 0)});
    });
    gpu::BarrierOp::create(rewriter, loc);
    // One column per thread: Tm[i, j] for i = 0 .. n-1, into the second half.
    Value tid = gpu::ThreadIdOp::create(rewriter, loc, gpu::Dimension::x);
    Value threads = gpu::BlockDimOp::create(rewriter, loc, gpu::Dimension::x);
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    Value one = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(1));
    auto columns = scf::ForOp::create(rewriter, loc, tid, cIdx(rewriter, loc, n), threads);
    {
      OpBuilder b = OpBuilder::atBlockBegin(columns.getBody());
      Value j = columns.getInductionVar();
      auto rows = scf::ForOp::create(b, loc, cIdx(b, loc, 0), cIdx(b, loc, n), cIdx(b, loc, 1));
      OpBuilder r = OpBuilder::atBlockBegin(rows.getBody());
      Value i = rows.getInductionVar();
      Value below = arith::CmpIOp::create(r, loc, arith::CmpIPredicate::ugt, i, j);
      Value diagonal = arith::CmpIOp::create(r, loc, arith::CmpIPredicate::eq, i, j);
      // -sum_{k=j}^{i-1} A[i, k] Tm[k, j] (an empty sum above and on the diagonal).
      Value from = j;
      Value to = arith::SelectOp::create(r, loc, below, i, j);
      auto sum = scf::ForOp::create(r, loc, from, to, cIdx(r, loc, 1), ValueRange{zero});
      {
        OpBuilder s = OpBuilder::atBlockBegin(sum.getBody());
        Value k = sum.getInductionVar();
        Value aik = memref::LoadOp::create(s, loc, buffer, ValueRange{at(s, i, k, 0)});
        Value tkj = memref::LoadOp::create(s, loc, buffer, ValueRange{at(s, k, j, 1)});
        Value acc = arith::AddFOp::create(s, loc, sum.getRegionIterArg(0),
                                          arith::MulFOp::create(s, loc, aik, tkj));
        scf::YieldOp::create(s, loc, ValueRange{acc});
      }
      Value t =
          arith::SelectOp::create(r, loc, below, arith::NegFOp::create(r, loc, sum.getResult(0)),
                                  arith::SelectOp::create(r, loc, diagonal, one, zero));
      memref::StoreOp::create(r, loc, t, buffer, ValueRange{at(r, i, j, 1)});
    }
    gpu::BarrierOp::create(rewriter, loc);
    SmallVector<Value> out;
    for (const SmallVector<Value> &c : elementCoordinates(rewriter, loc, *a))
      out.push_back(
          memref::LoadOp::create(rewriter, loc, buffer, ValueRange{at(rewriter, c[0], c[1], 1)}));
    rewriter.replaceOp(op, vector::FromElementsOp::create(rewriter, loc, a->registers(), out));
    return success();
  }
};

} // namespace

LogicalResult mlir::gdn::tiles::checkTileSolve(Operation *op, int64_t bound, int64_t &exchange) {
  // The op's verifier keeps the tile distributed (#gdn.mma, #gdn.blocked); its registers are
  // checked with every value's before this.
  std::string why;
  auto a = distribute(cast<RankedTensorType>(op->getOperand(0).getType()), why, bound);
  if (failed(a))
    return op->emitOpError("gdn-tiles-to-gpu: ") << why;
  exchange = std::max(exchange, 2 * a->type.getNumElements());
  return success();
}

void mlir::gdn::tiles::populateTileSolvePatterns(TileTypeConverter &converter,
                                                 RewritePatternSet &patterns) {
  patterns.add<UnitLowerInverseLowering>(converter, patterns.getContext());
}
