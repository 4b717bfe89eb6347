//===- TileDistribution.cpp - register layouts as per-thread elements -----===//
//
// The registers of each layout (docs/design.md §3.7), for mma.sync m16n8k16 (g = lane / 4,
// t = lane % 4 within a warp's 16 x 8 or 16 x 16 instruction tile):
//   accumulator  [M, N]: elements (g + 8r, 2t + c), r, c in {0, 1}, per 16 x 8 tile;
//   A operand    [M, K]: registers q = 0..3 of two halves h: (g + 8 (q % 2), 2t + h + 8 (q / 2))
//                        per 16 x 16 tile;
//   B operand    [K, N]: registers q = 0..1 of two halves h: (2t + h + 8q, g) per 16 x 8 tile.
// The warps split the tile into warps = [wm, wn] contiguous blocks of rows and columns; each
// warp repeats its instruction tiles over its block. All of this is in the instruction's view:
// a transposed accumulator or a `transposed` operand fragment holds the view of the tile's
// transpose, so its elements' tile coordinates are the view's swapped. An operand fragment holds
// all of K, so the A operand is the same in warps of one row (replicated over wn), B in warps of
// one column. #gdn.blocked: per_thread adjacent elements, lanes and warps row-major per dimension,
// repeated over the tile.
//
//===----------------------------------------------------------------------===//
#include "TileDistribution.h"

#include "gdn/Dialect/GdnLayouts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::tiles;

namespace {

std::string text(Attribute a) {
  std::string s;
  llvm::raw_string_ostream os(s);
  a.print(os);
  return s;
}

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string s;
  for (int64_t d : shape)
    s += (s.empty() ? "" : "x") + (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d));
  return "[" + s + "]";
}

/// The mma.sync parent of an accumulator or operand layout, or failure with `why`.
FailureOr<MmaLayoutAttr> mmaSyncParent(Attribute layout, std::string &why) {
  auto mma = dyn_cast<MmaLayoutAttr>(layout);
  if (!mma) {
    why = "the parent of an operand fragment must be #gdn.mma, got " + text(layout);
    return failure();
  }
  if (mma.getVersion() != 2) {
    why = "wgmma fragments (#gdn.mma version 3) are not lowered yet: only mma.sync (version 2)";
    return failure();
  }
  if (mma.getWarps().size() != 2) {
    why = "an mma layout needs warps = [rows, columns]";
    return failure();
  }
  return mma;
}

} // namespace

FailureOr<Distribution> mlir::gdn::tiles::distribute(RankedTensorType type, std::string &why,
                                                     int64_t bound) {
  Attribute layout = tileLayout(type);
  if (!layout) {
    why = "the tile has no layout (it is in memory)";
    return failure();
  }
  if (!type.hasStaticShape() && bound <= 0) {
    why = "the tile " + shapeText(type.getShape()) +
          " has a dynamic extent: registers need a static shape, or the function's " +
          kTileBoundAttr + " bounding it";
    return failure();
  }
  // Registers for the bound of each dynamic extent (RankedTensorType keeps the layout).
  SmallVector<int64_t> held(type.getShape());
  for (int64_t &e : held)
    if (ShapedType::isDynamic(e))
      e = bound;
  type = RankedTensorType::get(held, type.getElementType(), type.getEncoding());
  Distribution d;
  d.type = type;
  ArrayRef<int64_t> shape = type.getShape();
  auto fits = [&](int64_t extent, int64_t unit, const char *what) {
    if (extent % unit == 0)
      return true;
    why = std::string(what) + " of " + std::to_string(extent) + " do not divide into " +
          std::to_string(unit) + " (" + text(layout) + " on " + shapeText(shape) + ")";
    return false;
  };

  if (isa<MmaLayoutAttr, DotOperandLayoutAttr>(layout)) {
    if (type.getRank() != 2) {
      why = "fragments hold rank-2 tiles, got " + shapeText(shape);
      return failure();
    }
    unsigned index = 2; // accumulator
    Attribute parentAttr = layout;
    bool swap = false;
    if (auto dot = dyn_cast<DotOperandLayoutAttr>(layout)) {
      index = dot.getIndex();
      parentAttr = dot.getParent();
      swap = dot.getTransposed();
    }
    auto parent = mmaSyncParent(parentAttr, why);
    if (failed(parent))
      return failure();
    if (index == 2)
      swap = parent->getTransposed();
    int64_t wm = parent->getWarps()[0], wn = parent->getWarps()[1];
    d.warps = wm * wn;
    d.warpGrid = {wm, wn};
    d.swapped = swap;
    // The instruction's view of the tile: its transpose where the fragments hold that.
    int64_t M = shape[swap ? 1 : 0], N = shape[swap ? 0 : 1];
    d.instrShape = {M, N};
    if (index == 2) {
      d.kind = Distribution::Kind::Accumulator;
      if (!fits(M, 16 * wm, "rows") || !fits(N, 8 * wn, "columns"))
        return failure();
      d.perWarp = {M / wm, N / wn};
      for (int64_t i = 0; i < d.perWarp[0] / 16; ++i)
        for (int64_t j = 0; j < d.perWarp[1] / 8; ++j)
          for (int64_t r = 0; r < 2; ++r)
            for (int64_t c = 0; c < 2; ++c)
              d.offsets.push_back({16 * i + 8 * r, 8 * j + c});
    } else if (index == 0) {
      d.kind = Distribution::Kind::OperandA;
      if (!fits(M, 16 * wm, "rows") || !fits(N, 16, "columns (the reduction)"))
        return failure();
      d.perWarp = {M / wm, N};
      for (int64_t i = 0; i < d.perWarp[0] / 16; ++i)
        for (int64_t k = 0; k < N / 16; ++k)
          for (int64_t q = 0; q < 4; ++q)
            for (int64_t h = 0; h < 2; ++h)
              d.offsets.push_back({16 * i + 8 * (q % 2), 16 * k + 8 * (q / 2) + h});
    } else {
      d.kind = Distribution::Kind::OperandB;
      if (!fits(M, 16, "rows (the reduction)") || !fits(N, 8 * wn, "columns"))
        return failure();
      d.perWarp = {M, N / wn};
      for (int64_t k = 0; k < M / 16; ++k)
        for (int64_t j = 0; j < d.perWarp[1] / 8; ++j)
          for (int64_t q = 0; q < 2; ++q)
            for (int64_t h = 0; h < 2; ++h)
              d.offsets.push_back({16 * k + 8 * q + h, 8 * j});
    }
    if (swap)
      for (auto &o : d.offsets)
        std::swap(o[0], o[1]);
    if (index != 2 && !type.getElementType().isBF16() && !type.getElementType().isF16()) {
      why = "mma.sync operand fragments hold bf16 or f16 elements, got " + [&] {
        std::string s;
        llvm::raw_string_ostream os(s);
        type.getElementType().print(os);
        return s;
      }() + " (round the tile with arith.truncf before converting it)";
      return failure();
    }
    return d;
  }

  if (auto blocked = dyn_cast<BlockedLayoutAttr>(layout)) {
    d.kind = Distribution::Kind::Blocked;
    int64_t rank = type.getRank();
    if (rank != 1 && rank != 2) {
      why = "blocked tiles in registers have rank 1 or 2, got " + shapeText(shape);
      return failure();
    }
    d.warpGrid.assign(blocked.getWarps().begin(), blocked.getWarps().end());
    d.lanes.assign(blocked.getLanes().begin(), blocked.getLanes().end());
    d.warps = 1;
    SmallVector<int64_t> period, reps;
    for (int64_t i = 0; i < rank; ++i) {
      d.warps *= d.warpGrid[i];
      period.push_back(blocked.getPerThread()[i] * d.lanes[i] * d.warpGrid[i]);
      if (!fits(shape[i], period.back(), i == 0 ? "rows" : "columns"))
        return failure();
      reps.push_back(shape[i] / period.back());
      d.perWarp.push_back(shape[i] / d.warpGrid[i]);
    }
    ArrayRef<int64_t> per = blocked.getPerThread();
    if (rank == 1) {
      for (int64_t r = 0; r < reps[0]; ++r)
        for (int64_t e = 0; e < per[0]; ++e)
          d.offsets.push_back({r * period[0] + e});
    } else {
      for (int64_t r0 = 0; r0 < reps[0]; ++r0)
        for (int64_t r1 = 0; r1 < reps[1]; ++r1)
          for (int64_t e0 = 0; e0 < per[0]; ++e0)
            for (int64_t e1 = 0; e1 < per[1]; ++e1)
              d.offsets.push_back({r0 * period[0] + e0, r1 * period[1] + e1});
    }
    return d;
  }

  why = "layout " + text(layout) + " is not held in registers";
  if (isa<SharedLayoutAttr>(layout))
    why = "shared tiles (" + text(layout) + ") are not lowered yet: mma.sync accumulators, " +
          "their operand fragments and blocked tiles are";
  else if (isa<SliceLayoutAttr>(layout))
    why = "slices (" + text(layout) + ") are not lowered yet: mma.sync accumulators, " +
          "their operand fragments and blocked tiles are";
  return failure();
}

bool mlir::gdn::tiles::inRegisters(Type t) {
  Attribute layout = tileLayout(t);
  if (auto dot = dyn_cast_or_null<DotOperandLayoutAttr>(layout))
    layout = dot.getParent();
  if (auto mma = dyn_cast_or_null<MmaLayoutAttr>(layout))
    return mma.getVersion() == 2;
  return isa_and_nonnull<BlockedLayoutAttr>(layout);
}

int64_t mlir::gdn::tiles::tileBound(Operation *op) {
  auto fn =
      isa<gpu::GPUFuncOp>(op) ? cast<gpu::GPUFuncOp>(op) : op->getParentOfType<gpu::GPUFuncOp>();
  if (!fn)
    return 0;
  auto bound = fn->getAttrOfType<IntegerAttr>(kTileBoundAttr);
  return bound ? bound.getInt() : 0;
}

SmallVector<Value> Distribution::base(OpBuilder &b, Location loc, Value lane, Value warp) const {
  auto c = [&](int64_t x) { return arith::ConstantIndexOp::create(b, loc, x).getResult(); };
  auto mul = [&](Value x, int64_t y) { return arith::MulIOp::create(b, loc, x, c(y)).getResult(); };
  auto div = [&](Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, c(y)).getResult();
  };
  auto rem = [&](Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, c(y)).getResult();
  };
  auto add = [&](Value x, Value y) { return arith::AddIOp::create(b, loc, x, y).getResult(); };
  if (kind == Kind::Blocked) {
    auto blocked = cast<BlockedLayoutAttr>(tileLayout(type));
    ArrayRef<int64_t> p = blocked.getPerThread();
    if (type.getRank() == 1)
      return {mul(add(mul(warp, lanes[0]), lane), p[0])};
    Value lr = div(lane, lanes[1]), lc = rem(lane, lanes[1]);
    Value wr = div(warp, warpGrid[1]), wc = rem(warp, warpGrid[1]);
    return {mul(add(mul(wr, lanes[0]), lr), p[0]), mul(add(mul(wc, lanes[1]), lc), p[1])};
  }
  Value g = div(lane, 4), t2 = mul(rem(lane, 4), 2);
  Value wr = div(warp, warpGrid[1]), wc = rem(warp, warpGrid[1]);
  SmallVector<Value> view; // in the instruction's view
  switch (kind) {
  case Kind::Accumulator:
    view = {add(mul(wr, perWarp[0]), g), add(mul(wc, perWarp[1]), t2)};
    break;
  case Kind::OperandA:
    view = {add(mul(wr, perWarp[0]), g), t2};
    break;
  case Kind::OperandB:
    view = {t2, add(mul(wc, perWarp[1]), g)};
    break;
  case Kind::Blocked:
    break;
  }
  if (swapped)
    std::swap(view[0], view[1]);
  return view;
}

bool Distribution::replicated() const {
  return (kind == Kind::OperandA && warpGrid[1] > 1) || (kind == Kind::OperandB && warpGrid[0] > 1);
}

Value Distribution::primary(OpBuilder &b, Location loc, Value warp) const {
  if (!replicated())
    return {};
  auto c = [&](int64_t x) { return arith::ConstantIndexOp::create(b, loc, x).getResult(); };
  // A: the warps of one row share it, the first column keeps it; B: the first row.
  Value coord = kind == Kind::OperandA
                    ? arith::RemUIOp::create(b, loc, warp, c(warpGrid[1])).getResult()
                    : arith::DivUIOp::create(b, loc, warp, c(warpGrid[1])).getResult();
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, coord, c(0));
}

std::pair<Value, Value> mlir::gdn::tiles::laneAndWarp(OpBuilder &b, Location loc) {
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value w = arith::ConstantIndexOp::create(b, loc, 32);
  return {arith::RemUIOp::create(b, loc, tid, w), arith::DivUIOp::create(b, loc, tid, w)};
}

TileTypeConverter::TileTypeConverter(int64_t bound) {
  addConversion([](Type t) { return t; });
  addConversion([bound](RankedTensorType t) -> std::optional<Type> {
    if (!tileLayout(t))
      return t;
    std::string why;
    auto d = distribute(t, why, bound);
    if (failed(d))
      return std::nullopt;
    return Type(d->registers());
  });
}

int64_t mlir::gdn::tiles::exchangeElements(RankedTensorType from, RankedTensorType to,
                                           int64_t bound) {
  std::string why;
  auto src = distribute(from, why, bound);
  auto dst = distribute(to, why, bound);
  if (failed(src) || failed(dst))
    return 0;
  // An accumulator becomes the A operand of its own instruction in place where a warp holds
  // whole rows (its columns are the reduction): no exchange.
  // (Both in the same view: a transposed accumulator holds X^T, which is the A fragment of
  // X^T, a `transposed` fragment of X.)
  if (src->kind == Distribution::Kind::Accumulator && dst->kind == Distribution::Kind::OperandA &&
      tileLayout(from) == cast<DotOperandLayoutAttr>(tileLayout(to)).getParent() &&
      src->warpGrid[1] == 1 && src->swapped == dst->swapped)
    return 0;
  return src->type.getNumElements();
}
