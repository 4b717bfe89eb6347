//===- TilesToLinalg.cpp - gdn.tile ops to linalg / scf on tensors --------===//
//
// The CPU expansion of the chunk algebra. Every tile op becomes one or two linalg.generic
// ops (products are reductions; gates are math.exp of masked differences inside them), and
// the unit-lower-triangular inverse becomes forward substitution in scf.for loops.
//
//===----------------------------------------------------------------------===//
#include "gdn/Dialect/GdnOps.h"
#include "gdn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNTILESTOLINALG
#include "gdn/Passes/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;
using namespace mlir::gdn;

namespace {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

Value f32Const(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// An uninitialised f32 tensor with the given sizes.
Value emptyF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
}

/// A zero-filled f32 tensor with the given sizes (the init of a reduction).
Value zerosF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return linalg::FillOp::create(b, loc, f32Const(b, loc, 0.0f), emptyF32(b, loc, sizes))
      .getResult(0);
}

OpFoldResult dim(OpBuilder &b, Location loc, Value v, int64_t d) {
  return tensor::getMixedSize(b, loc, v, d);
}

/// Replaces `op` with `value`, casting where the op's declared type is more or less static
/// than what the expansion built from the operand sizes.
void replaceWithCast(PatternRewriter &b, Operation *op, Value value) {
  Type want = op->getResult(0).getType();
  if (value.getType() != want)
    value = tensor::CastOp::create(b, op->getLoc(), want, value);
  b.replaceOp(op, value);
}

AffineMap map(MLIRContext *ctx, unsigned numDims, ArrayRef<unsigned> results) {
  SmallVector<AffineExpr> exprs;
  for (unsigned r : results)
    exprs.push_back(getAffineDimExpr(r, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

Value linalgIndex(OpBuilder &b, Location loc, int64_t d) {
  return linalg::IndexOp::create(b, loc, d);
}

/// The last row of cumulative gates: a scalar for [n], a [K] tensor for [n, K].
Value lastGateRow(OpBuilder &b, Location loc, Value gates) {
  auto type = cast<RankedTensorType>(gates.getType());
  Value n = tensor::DimOp::create(b, loc, gates, 0);
  Value last = arith::SubIOp::create(b, loc, n, arith::ConstantIndexOp::create(b, loc, 1));
  if (type.getRank() == 1)
    return tensor::ExtractOp::create(b, loc, gates, ValueRange{last});
  auto rowType = RankedTensorType::get({type.getDimSize(1)}, b.getF32Type());
  SmallVector<OpFoldResult> offsets = {last, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), dim(b, loc, gates, 1)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, rowType, gates, offsets, sizes, strides);
}

// G_i = sum_{j <= i} g_j (exclusive: j < i): a reduction over j with a triangular mask
// (C <= 128, so the quadratic form costs nothing next to the products).
struct CumsumLowering : OpRewritePattern<TileCumsumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileCumsumOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto type = cast<RankedTensorType>(op.getG().getType());
    bool channel = type.getRank() == 2;
    const bool exclusive = op.getExclusive(); // G_i sums the rows before i
    SmallVector<OpFoldResult> sizes = {dim(b, loc, op.getG(), 0)};
    if (channel)
      sizes.push_back(dim(b, loc, op.getG(), 1));
    SmallVector<AffineMap> maps = {channel ? map(ctx, 3, {1, 2}) : map(ctx, 2, {1}),
                                   channel ? map(ctx, 3, {0, 2}) : map(ctx, 2, {0})};
    SmallVector<IteratorType> iters = {kPar, kRed};
    if (channel)
      iters.push_back(kPar);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{type}, ValueRange{op.getG()}, ValueRange{zerosF32(b, loc, sizes)}, maps,
        iters, [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value i = linalgIndex(nb, nl, 0), j = linalgIndex(nb, nl, 1);
          Value upToI = arith::CmpIOp::create(
              nb, nl, exclusive ? arith::CmpIPredicate::ult : arith::CmpIPredicate::ule, j, i);
          Value term = arith::SelectOp::create(nb, nl, upToI, args[0], f32Const(nb, nl, 0.0f));
          linalg::YieldOp::create(nb, nl, ValueRange{arith::AddFOp::create(nb, nl, args[1], term)});
        });
    b.replaceOp(op, generic.getResults());
    return success();
  }
};

// M[i, j] = sum_c a[i,c] b[j,c] exp(G_i[c] - G_j[c]) on and below (or strictly below) the
// diagonal. The exponent is masked before exp, so no exp(large positive) ever forms.
struct GatedGramLowering : OpRewritePattern<TileGatedGramOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileGatedGramOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value gates = op.getGates();
    bool channel = gates && cast<RankedTensorType>(gates.getType()).getRank() == 2;
    // Dims (i, j, c).
    SmallVector<Value> inputs = {op.getA(), op.getB()};
    SmallVector<AffineMap> maps = {map(ctx, 3, {0, 2}), map(ctx, 3, {1, 2})};
    // Rows take their gates from row_gates where given: exp(R_i - G_j) (docs/design.md §2.5).
    Value rowGates = op.getRowGates() ? op.getRowGates() : gates;
    if (gates) {
      inputs.append({rowGates, gates});
      maps.push_back(channel ? map(ctx, 3, {0, 2}) : map(ctx, 3, {0}));
      maps.push_back(channel ? map(ctx, 3, {1, 2}) : map(ctx, 3, {1}));
    }
    maps.push_back(map(ctx, 3, {0, 1}));
    OpFoldResult n = dim(b, loc, op.getA(), 0);
    bool diagonal = op.getDiagonal();
    Value init = zerosF32(b, loc, {n, n});
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, {kPar, kPar, kRed},
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value i = linalgIndex(nb, nl, 0), j = linalgIndex(nb, nl, 1);
          Value mask = arith::CmpIOp::create(
              nb, nl, diagonal ? arith::CmpIPredicate::uge : arith::CmpIPredicate::ugt, i, j);
          Value zero = f32Const(nb, nl, 0.0f);
          // 16-bit operands (rounded for a tensor core) are exact in f32.
          auto widen = [&](Value x) -> Value {
            return x.getType().isF32() ? x : arith::ExtFOp::create(nb, nl, nb.getF32Type(), x);
          };
          Value prod = arith::MulFOp::create(nb, nl, widen(args[0]), widen(args[1]));
          if (gates) {
            Value diff = arith::SubFOp::create(nb, nl, args[2], args[3]);
            Value masked = arith::SelectOp::create(nb, nl, mask, diff, zero);
            prod = arith::MulFOp::create(nb, nl, prod, math::ExpOp::create(nb, nl, masked));
          }
          Value term = arith::SelectOp::create(nb, nl, mask, prod, zero);
          Value acc = args.back();
          linalg::YieldOp::create(nb, nl, ValueRange{arith::AddFOp::create(nb, nl, acc, term)});
        });
    replaceWithCast(b, op, generic.getResult(0));
    return success();
  }
};

// Tm = (I + A)^-1 by forward substitution: Tm[i, j] = -sum_{j <= k < i} A[i, k] Tm[k, j]
// for j < i, Tm[i, i] = 1.
struct UnitLowerInverseLowering : OpRewritePattern<TileUnitLowerInverseOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileUnitLowerInverseOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value a = op.getA();
    OpFoldResult nFold = dim(b, loc, a, 0);
    Value init = emptyF32(b, loc, {nFold, nFold});
    auto identity = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, {map(ctx, 2, {0, 1})},
        {kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange) {
          Value i = linalgIndex(nb, nl, 0), j = linalgIndex(nb, nl, 1);
          Value diag = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, i, j);
          linalg::YieldOp::create(
              nb, nl,
              ValueRange{arith::SelectOp::create(nb, nl, diag, f32Const(nb, nl, 1.0f),
                                                 f32Const(nb, nl, 0.0f))});
        });
    Value n = tensor::DimOp::create(b, loc, a, 0);
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    auto rowLoop = scf::ForOp::create(
        b, loc, c1, n, c1, ValueRange{identity.getResult(0)},
        [&](OpBuilder &, Location, Value i, ValueRange tmRow) {
          auto colLoop = scf::ForOp::create(
              b, loc, c0, i, c1, tmRow, [&](OpBuilder &, Location, Value j, ValueRange tm) {
                auto sumLoop = scf::ForOp::create(
                    b, loc, j, i, c1, ValueRange{f32Const(b, loc, 0.0f)},
                    [&](OpBuilder &, Location, Value k, ValueRange sum) {
                      Value aik = tensor::ExtractOp::create(b, loc, a, ValueRange{i, k});
                      Value tkj = tensor::ExtractOp::create(b, loc, tm[0], ValueRange{k, j});
                      Value next = arith::AddFOp::create(b, loc, sum[0],
                                                         arith::MulFOp::create(b, loc, aik, tkj));
                      scf::YieldOp::create(b, loc, ValueRange{next});
                    });
                Value neg = arith::NegFOp::create(b, loc, sumLoop.getResult(0));
                Value updated = tensor::InsertOp::create(b, loc, neg, tm[0], ValueRange{i, j});
                scf::YieldOp::create(b, loc, ValueRange{updated});
              });
          scf::YieldOp::create(b, loc, colLoop.getResults());
        });
    replaceWithCast(b, op, rowLoop.getResult(0));
    return success();
  }
};

struct RowScaleLowering : OpRewritePattern<TileRowScaleOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileRowScaleOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    SmallVector<Value> inputs = {op.getX()};
    SmallVector<AffineMap> maps = {map(ctx, 2, {0, 1})};
    if (op.getR()) {
      inputs.push_back(op.getR());
      maps.push_back(map(ctx, 2, {0}));
    }
    maps.push_back(map(ctx, 2, {0, 1}));
    float factor = op.getFactor().convertToFloat();
    bool hasRow = static_cast<bool>(op.getR());
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{op.getX().getType()}, inputs,
        ValueRange{emptyF32(b, loc, {dim(b, loc, op.getX(), 0), dim(b, loc, op.getX(), 1)})}, maps,
        {kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value v = args[0];
          if (hasRow)
            v = arith::MulFOp::create(nb, nl, v, args[1]);
          if (factor != 1.0f)
            v = arith::MulFOp::create(nb, nl, v, f32Const(nb, nl, factor));
          linalg::YieldOp::create(nb, nl, ValueRange{v});
        });
    b.replaceOp(op, generic.getResults());
    return success();
  }
};

struct GateRowsLowering : OpRewritePattern<TileGateRowsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileGateRowsOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value gates = op.getGates();
    bool channel = cast<RankedTensorType>(gates.getType()).getRank() == 2;
    bool toEnd = op.getToEnd();
    SmallVector<Value> inputs = {op.getX(), gates};
    SmallVector<AffineMap> maps = {map(ctx, 2, {0, 1}),
                                   channel ? map(ctx, 2, {0, 1}) : map(ctx, 2, {0})};
    Value lastScalar;
    if (toEnd) {
      Value last = lastGateRow(b, loc, gates);
      if (channel) {
        inputs.push_back(last);
        maps.push_back(map(ctx, 2, {1}));
      } else {
        lastScalar = last;
      }
    }
    maps.push_back(map(ctx, 2, {0, 1}));
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{op.getX().getType()}, inputs,
        ValueRange{emptyF32(b, loc, {dim(b, loc, op.getX(), 0), dim(b, loc, op.getX(), 1)})}, maps,
        {kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value exponent = args[1];
          if (toEnd)
            exponent = arith::SubFOp::create(nb, nl, channel ? args[2] : lastScalar, args[1]);
          Value v = arith::MulFOp::create(nb, nl, args[0], math::ExpOp::create(nb, nl, exponent));
          linalg::YieldOp::create(nb, nl, ValueRange{v});
        });
    b.replaceOp(op, generic.getResults());
    return success();
  }
};

struct DecayStateLowering : OpRewritePattern<TileDecayStateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileDecayStateOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value last = lastGateRow(b, loc, op.getGates());
    bool channel = isa<RankedTensorType>(last.getType());
    SmallVector<Value> inputs = {op.getState()};
    SmallVector<AffineMap> maps = {map(ctx, 2, {0, 1})};
    if (channel) {
      inputs.push_back(last);
      maps.push_back(map(ctx, 2, {0}));
    }
    maps.push_back(map(ctx, 2, {0, 1}));
    Value state = op.getState();
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{state.getType()}, inputs,
        ValueRange{emptyF32(b, loc, {dim(b, loc, state, 0), dim(b, loc, state, 1)})}, maps,
        {kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value decay = math::ExpOp::create(nb, nl, channel ? args[1] : last);
          linalg::YieldOp::create(nb, nl,
                                  ValueRange{arith::MulFOp::create(nb, nl, args[0], decay)});
        });
    b.replaceOp(op, generic.getResults());
    return success();
  }
};

struct MatmulLowering : OpRewritePattern<TileMatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileMatmulOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    bool transposeA = op.getTransposeA();
    // Dims (i, j, k): out[i, j] += a[i, k] (or a[k, i]) * b[k, j].
    SmallVector<AffineMap> maps = {transposeA ? map(ctx, 3, {2, 0}) : map(ctx, 3, {0, 2}),
                                   map(ctx, 3, {2, 1}), map(ctx, 3, {0, 1})};
    OpFoldResult m = dim(b, loc, op.getA(), transposeA ? 1 : 0);
    OpFoldResult n = dim(b, loc, op.getB(), 1);
    Value init = zerosF32(b, loc, {m, n});
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{op.getA(), op.getB()}, ValueRange{init}, maps,
        {kPar, kPar, kRed}, [&](OpBuilder &nb, Location nl, ValueRange args) {
          // 16-bit operands (rounded for a tensor core) are exact in f32.
          auto widen = [&](Value x) -> Value {
            return x.getType().isF32() ? x : arith::ExtFOp::create(nb, nl, nb.getF32Type(), x);
          };
          Value prod = arith::MulFOp::create(nb, nl, widen(args[0]), widen(args[1]));
          linalg::YieldOp::create(nb, nl, ValueRange{arith::AddFOp::create(nb, nl, args[2], prod)});
        });
    replaceWithCast(b, op, generic.getResult(0));
    return success();
  }
};

struct L2NormRowsLowering : OpRewritePattern<TileL2NormRowsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileL2NormRowsOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x = op.getX();
    OpFoldResult rows = dim(b, loc, x, 0), cols = dim(b, loc, x, 1);
    auto rowType =
        RankedTensorType::get({cast<RankedTensorType>(x.getType()).getDimSize(0)}, b.getF32Type());
    auto sumSq = linalg::GenericOp::create(
        b, loc, TypeRange{rowType}, ValueRange{x}, ValueRange{zerosF32(b, loc, {rows})},
        {map(ctx, 2, {0, 1}), map(ctx, 2, {0})}, {kPar, kRed},
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value sq = arith::MulFOp::create(nb, nl, args[0], args[0]);
          linalg::YieldOp::create(nb, nl, ValueRange{arith::AddFOp::create(nb, nl, args[1], sq)});
        });
    auto normalised = linalg::GenericOp::create(
        b, loc, TypeRange{x.getType()}, ValueRange{x, sumSq.getResult(0)},
        ValueRange{emptyF32(b, loc, {rows, cols})},
        {map(ctx, 2, {0, 1}), map(ctx, 2, {0}), map(ctx, 2, {0, 1})}, {kPar, kPar},
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value norm = math::SqrtOp::create(
              nb, nl, arith::AddFOp::create(nb, nl, args[1], f32Const(nb, nl, 1e-6f)));
          linalg::YieldOp::create(nb, nl, ValueRange{arith::DivFOp::create(nb, nl, args[0], norm)});
        });
    b.replaceOp(op, normalised.getResults());
    return success();
  }
};

struct GdnTilesToLinalgPass : public gdn::impl::GdnTilesToLinalgBase<GdnTilesToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateTilesToLinalgPatterns(patterns);
    // Tile ops only ever expand; no op is created that a pattern matches again.
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::gdn::populateTilesToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<CumsumLowering, GatedGramLowering, UnitLowerInverseLowering, RowScaleLowering,
               GateRowsLowering, DecayStateLowering, MatmulLowering, L2NormRowsLowering>(
      patterns.getContext());
}
