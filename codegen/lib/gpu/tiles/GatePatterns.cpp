//===- GatePatterns.cpp - cumulative gates, decays and row factors --------===//
//
// The gate family of tile ops on registers (docs/design.md §3.7):
//   gdn.tile.row_scale    x .* r[row] .* factor, r a slice of x's layout: each thread has the
//                         row factors of its elements' rows, no exchange;
//   gdn.tile.gate_rows    x .* exp(G[i]) (to_start) or exp(G[n-1] - G[i]) (to_end), G a shared
//                         tile (any thread reads any row), n the tile's runtime rows;
//   gdn.tile.decay_state  S .* exp(G[n-1]) per state row (scalar gates broadcast);
//   gdn.tile.cumsum       through the exchange buffer: the gates stored once, then each
//                         thread sums the rows up to each of its elements' (inclusive, or
//                         exclusive);
//   gdn.tile.l2norm_rows  through the exchange buffer: each element's row summed there.
// Exponentials are ex2.approx on log2(e)-scaled arguments (no libdevice).
//
//===----------------------------------------------------------------------===//
#include "TileDistribution.h"

#include "../KernelSignature.h"

#include "gdn/Dialect/GdnLayouts.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::tiles;

namespace {

Value cIdx(OpBuilder &b, Location loc, int64_t x) { return indexConstant(b, loc, x); }

/// G at (row, channel) of a shared gate buffer ([n] scalar: the channel ignored).
Value gateAt(OpBuilder &b, Location loc, Value gates, Value row, Value channel) {
  if (cast<MemRefType>(gates.getType()).getRank() == 1)
    return memref::LoadOp::create(b, loc, gates, ValueRange{row});
  return memref::LoadOp::create(b, loc, gates, ValueRange{row, channel});
}

/// The thread's elements of a rank-1 or rank-2 tile into the exchange buffer, row-major over
/// `columns` (one holder each), between barriers; returns the element index of (row, col).
std::function<Value(OpBuilder &, Value, Value)> stageInExchange(OpBuilder &rewriter, Location loc,
                                                                const Distribution &d, Value regs,
                                                                Value buffer, int64_t columns) {
  auto linear = [loc, columns](OpBuilder &b, Value row, Value col) -> Value {
    Value r = arith::MulIOp::create(b, loc, row, cIdx(b, loc, columns));
    return col ? arith::AddIOp::create(b, loc, r, col).getResult() : r;
  };
  gpu::BarrierOp::create(rewriter, loc);
  storeHeld(rewriter, loc, d, regs, [&](OpBuilder &b, Value x, ArrayRef<Value> c) {
    memref::StoreOp::create(b, loc, x, buffer,
                            ValueRange{linear(b, c[0], c.size() > 1 ? c[1] : Value())});
  });
  gpu::BarrierOp::create(rewriter, loc);
  return linear;
}

/// sum over k in [from, to) of f(buffer[index(k)]), as an scf.for.
Value sumFrom(OpBuilder &rewriter, Location loc, Value buffer, Value from, Value to,
              function_ref<Value(OpBuilder &, Value)> index,
              function_ref<Value(OpBuilder &, Value)> f) {
  Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
  auto loop = scf::ForOp::create(rewriter, loc, from, to, cIdx(rewriter, loc, 1), ValueRange{zero});
  OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
  Value x = memref::LoadOp::create(b, loc, buffer, ValueRange{index(b, loop.getInductionVar())});
  scf::YieldOp::create(
      b, loc, ValueRange{arith::AddFOp::create(b, loc, loop.getRegionIterArg(0), f(b, x))});
  return loop.getResult(0);
}

/// Builds the result vector from one value per element.
Value fromElements(OpBuilder &b, Location loc, const Distribution &d, ArrayRef<Value> xs) {
  return vector::FromElementsOp::create(b, loc, d.registers(), xs);
}

Value element(OpBuilder &b, Location loc, Value regs, int64_t e) {
  return registerAt(b, loc, regs, e);
}

struct RowScaleLowering : OpConversionPattern<TileRowScaleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TileRowScaleOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    std::string why;
    auto x = distribute(cast<RankedTensorType>(op.getX().getType()), why, tileBound(op));
    if (failed(x))
      return failure();
    FailureOr<Distribution> r = failure();
    if (op.getR())
      r = distribute(cast<RankedTensorType>(op.getR().getType()), why, tileBound(op));
    Value factor = arith::ConstantOp::create(rewriter, loc, op.getFactorAttr());
    SmallVector<Value> out;
    for (int64_t e = 0; e < x->count(); ++e) {
      Value v = element(rewriter, loc, adaptor.getX(), e);
      if (succeeded(r))
        v = arith::MulFOp::create(
            rewriter, loc, v, element(rewriter, loc, adaptor.getR(), r->sliceSlot(x->offsets[e])));
      if (op.getFactor().convertToFloat() != 1.0f)
        v = arith::MulFOp::create(rewriter, loc, v, factor);
      out.push_back(v);
    }
    rewriter.replaceOp(op, fromElements(rewriter, loc, *x, out));
    return success();
  }
};

struct GateRowsLowering : OpConversionPattern<TileGateRowsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TileGateRowsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    std::string why;
    auto x = distribute(cast<RankedTensorType>(op.getX().getType()), why, tileBound(op));
    if (failed(x))
      return failure();
    Value gates = adaptor.getGates();
    Value last;
    if (op.getToEnd()) {
      auto rows = tileExtent(rewriter, loc, op.getX(), 0);
      if (failed(rows))
        return failure();
      last = arith::SubIOp::create(rewriter, loc, *rows, cIdx(rewriter, loc, 1));
    }
    auto at = elementCoordinates(rewriter, loc, *x);
    SmallVector<Value> out;
    for (int64_t e = 0; e < x->count(); ++e) {
      Value g = gateAt(rewriter, loc, gates, at[e][0], at[e][1]);
      if (last)
        g = arith::SubFOp::create(rewriter, loc, gateAt(rewriter, loc, gates, last, at[e][1]), g);
      out.push_back(arith::MulFOp::create(rewriter, loc, element(rewriter, loc, adaptor.getX(), e),
                                          nvvmExp(rewriter, loc, g)));
    }
    rewriter.replaceOp(op, fromElements(rewriter, loc, *x, out));
    return success();
  }
};

struct DecayStateLowering : OpConversionPattern<TileDecayStateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TileDecayStateOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    std::string why;
    auto s = distribute(cast<RankedTensorType>(op.getState().getType()), why, tileBound(op));
    auto rows = tileExtent(rewriter, loc, op.getGates(), 0);
    if (failed(s) || failed(rows))
      return failure();
    Value last = arith::SubIOp::create(rewriter, loc, *rows, cIdx(rewriter, loc, 1));
    Value gates = adaptor.getGates();
    auto at = elementCoordinates(rewriter, loc, *s);
    SmallVector<Value> out;
    for (int64_t e = 0; e < s->count(); ++e) {
      // State row c decays by exp(G[n-1, c]) (scalar gates: one factor).
      Value g = gateAt(rewriter, loc, gates, last, at[e][0]);
      out.push_back(arith::MulFOp::create(
          rewriter, loc, element(rewriter, loc, adaptor.getState(), e), nvvmExp(rewriter, loc, g)));
    }
    rewriter.replaceOp(op, fromElements(rewriter, loc, *s, out));
    return success();
  }
};

struct CumsumLowering : OpConversionPattern<TileCumsumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TileCumsumOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto staged = distributeWithExchange(op, op.getG());
    if (failed(staged))
      return failure();
    const Distribution *g = &staged->first;
    Value buffer = staged->second;
    int64_t columns = g->type.getRank() == 2 ? g->type.getDimSize(1) : 1;
    auto at = elementCoordinates(rewriter, loc, *g);
    auto linear = stageInExchange(rewriter, loc, *g, adaptor.getG(), buffer, columns);
    SmallVector<Value> out;
    for (int64_t e = 0; e < g->count(); ++e) {
      // Rows 0 .. i (inclusive) or 0 .. i-1 (exclusive) of this element's channel.
      Value end = op.getExclusive()
                      ? at[e][0]
                      : arith::AddIOp::create(rewriter, loc, at[e][0], cIdx(rewriter, loc, 1));
      Value channel = columns > 1 ? at[e][1] : Value();
      out.push_back(sumFrom(
          rewriter, loc, buffer, cIdx(rewriter, loc, 0), end,
          [&](OpBuilder &b, Value k) { return linear(b, k, channel); },
          [](OpBuilder &, Value x) { return x; }));
    }
    rewriter.replaceOp(op, fromElements(rewriter, loc, *g, out));
    return success();
  }
};

/// x / sqrt(sum_c x[i, c]^2 + 1e-6) per row: the tile through the exchange buffer, each
/// element's row summed from there (every holder of a row sums it: no cross-thread reduction
/// tree yet), the reciprocal square root by rsqrt.approx.
struct L2NormRowsLowering : OpConversionPattern<TileL2NormRowsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TileL2NormRowsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto staged = distributeWithExchange(op, op.getX());
    if (failed(staged))
      return failure();
    const Distribution *x = &staged->first;
    Value buffer = staged->second;
    int64_t columns = x->type.getDimSize(1);
    auto at = elementCoordinates(rewriter, loc, *x);
    auto linear = stageInExchange(rewriter, loc, *x, adaptor.getX(), buffer, columns);
    Value epsilon = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(1e-6f));
    SmallVector<Value> out;
    for (int64_t e = 0; e < x->count(); ++e) {
      Value squares = sumFrom(
          rewriter, loc, buffer, cIdx(rewriter, loc, 0), cIdx(rewriter, loc, columns),
          [&](OpBuilder &b, Value c) { return linear(b, at[e][0], c); },
          [&](OpBuilder &b, Value v) { return arith::MulFOp::create(b, loc, v, v).getResult(); });
      Value norm =
          nvvmRsqrtApprox(rewriter, loc, arith::AddFOp::create(rewriter, loc, squares, epsilon));
      out.push_back(
          arith::MulFOp::create(rewriter, loc, element(rewriter, loc, adaptor.getX(), e), norm));
    }
    rewriter.replaceOp(op, fromElements(rewriter, loc, *x, out));
    return success();
  }
};

} // namespace

LogicalResult mlir::gdn::tiles::checkTileGateOp(Operation *op, int64_t bound, int64_t &exchange) {
  auto fail = [&](const Twine &why) { return op->emitOpError("gdn-tiles-to-gpu: ") << why; };
  auto registers = [&](Value v, StringRef what) -> LogicalResult {
    std::string why;
    if (!inRegisters(v.getType()) ||
        failed(distribute(cast<RankedTensorType>(v.getType()), why, bound)))
      return fail(what + " must be held in registers (#gdn.mma, #gdn.blocked)" +
                  (why.empty() ? "" : ": " + why));
    return success();
  };
  auto extentKnown = [&](Value v) -> LogicalResult {
    return hasTileExtent(v, 0) ? success()
                               : fail("the runtime rows of its tile cannot be traced to a slice, "
                                      "memref or loop init");
  };
  if (auto rs = dyn_cast<TileRowScaleOp>(op)) {
    if (failed(registers(rs.getX(), "the tile")))
      return failure();
    if (rs.getR()) {
      auto slice = dyn_cast_or_null<SliceLayoutAttr>(tileLayout(rs.getR().getType()));
      if (!slice || slice.getDim() != 1 || slice.getParent() != tileLayout(rs.getX().getType()))
        return fail("its row factors must be the rows' slice of the tile's layout");
    }
    return success();
  }
  if (isa<TileGateRowsOp, TileDecayStateOp>(op)) {
    Value tile = op->getOperand(0), gates = op->getOperand(1);
    if (failed(registers(tile, "the tile")))
      return failure();
    if (!inShared(gates.getType()))
      return fail("its cumulative gates must be a shared tile (#gdn.shared): rows other than "
                  "a thread's own are read");
    bool toEnd = isa<TileGateRowsOp>(op) && cast<TileGateRowsOp>(op).getToEnd();
    if (toEnd && failed(extentKnown(tile)))
      return failure();
    if (isa<TileDecayStateOp>(op) && failed(extentKnown(gates)))
      return failure();
    return success();
  }
  if (auto cs = dyn_cast<TileCumsumOp>(op)) {
    if (failed(registers(cs.getG(), "the gates")))
      return failure();
    std::string why;
    exchange = std::max(
        exchange,
        distribute(cast<RankedTensorType>(cs.getG().getType()), why, bound)->type.getNumElements());
    return success();
  }
  if (auto norm = dyn_cast<TileL2NormRowsOp>(op)) {
    if (failed(registers(norm.getX(), "the tile")))
      return failure();
    std::string why;
    exchange =
        std::max(exchange, distribute(cast<RankedTensorType>(norm.getX().getType()), why, bound)
                               ->type.getNumElements());
    return success();
  }
  return fail("no pattern lowers this tile op yet");
}

void mlir::gdn::tiles::populateTileGatePatterns(TileTypeConverter &converter,
                                                RewritePatternSet &patterns) {
  patterns.add<RowScaleLowering, GateRowsLowering, DecayStateLowering, CumsumLowering,
               L2NormRowsLowering>(converter, patterns.getContext());
}
