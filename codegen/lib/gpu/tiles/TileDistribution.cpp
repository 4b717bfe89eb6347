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

#include <numeric>

#include "gdn/Dialect/GdnLayouts.h"

#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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

RankedTensorType mlir::gdn::tiles::heldType(RankedTensorType type, int64_t bound) {
  SmallVector<int64_t> held(type.getShape());
  for (int64_t &e : held)
    if (ShapedType::isDynamic(e) && bound > 0)
      e = bound;
  return RankedTensorType::get(held, type.getElementType(), type.getEncoding());
}

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
  type = heldType(type, bound); // registers for the bound of each dynamic extent
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
      // A tile smaller than the threads' period wraps: threads past it hold copies.
      bool wraps = shape[i] < period.back() && period.back() % shape[i] == 0 &&
                   shape[i] % blocked.getPerThread()[i] == 0;
      d.wrap.push_back(wraps ? shape[i] : 0);
      if (!wraps && !fits(shape[i], period.back(), i == 0 ? "rows" : "columns"))
        return failure();
      reps.push_back(wraps ? 1 : shape[i] / period.back());
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

  if (auto slice = dyn_cast<SliceLayoutAttr>(layout)) {
    if (type.getRank() != 1) {
      why = "a slice is a rank-1 tile, got " + shapeText(shape);
      return failure();
    }
    // The parent on a tile of this extent along the kept dimension and the fewest columns (or
    // rows) its layout takes: the rows a thread holds do not depend on the column count.
    unsigned kept = slice.getDim() == 1 ? 0 : 1;
    int64_t across = 8;
    if (auto blocked = dyn_cast<BlockedLayoutAttr>(slice.getParent()))
      across = blocked.getPerThread()[1 - kept] * blocked.getLanes()[1 - kept] *
               blocked.getWarps()[1 - kept];
    else if (auto mma = dyn_cast<MmaLayoutAttr>(slice.getParent()))
      across = (kept == 0) != mma.getTransposed() ? 8 * mma.getWarps()[1] : 16 * mma.getWarps()[0];
    SmallVector<int64_t> parentShape = {shape[0], across};
    if (kept == 1)
      std::swap(parentShape[0], parentShape[1]);
    auto parent = distribute(
        RankedTensorType::get(parentShape, type.getElementType(), slice.getParent()), why);
    if (failed(parent))
      return failure();
    d.kind = Distribution::Kind::Slice;
    d.kept = kept;
    d.warps = parent->warps;
    d.parent = std::make_shared<Distribution>(*parent);
    for (const auto &o : parent->offsets)
      if (llvm::none_of(d.offsets, [&](const auto &x) { return x[0] == o[kept]; }))
        d.offsets.push_back({o[kept]});
    return d;
  }

  why = "layout " + text(layout) + " is not held in registers";
  if (isa<SharedLayoutAttr>(layout))
    why = "a shared tile (" + text(layout) + ") is not held in registers";
  return failure();
}

int64_t Distribution::sliceSlot(ArrayRef<int64_t> parentOffset) const {
  for (auto [i, o] : llvm::enumerate(offsets))
    if (o[0] == parentOffset[kept])
      return static_cast<int64_t>(i);
  return -1;
}

bool mlir::gdn::tiles::inShared(Type t) { return isa_and_nonnull<SharedLayoutAttr>(tileLayout(t)); }

bool mlir::gdn::tiles::inRegisters(Type t) {
  Attribute layout = tileLayout(t);
  if (auto slice = dyn_cast_or_null<SliceLayoutAttr>(layout))
    layout = slice.getParent();
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

namespace {

/// Index arithmetic emitted as IR (the kernels) ...
struct IrIndex {
  using V = Value;
  OpBuilder &b;
  Location loc;
  V c(int64_t x) { return arith::ConstantIndexOp::create(b, loc, x); }
  V mul(V x, int64_t y) { return arith::MulIOp::create(b, loc, x, c(y)); }
  V div(V x, int64_t y) { return arith::DivUIOp::create(b, loc, x, c(y)); }
  V rem(V x, int64_t y) { return arith::RemUIOp::create(b, loc, x, c(y)); }
  V add(V x, V y) { return arith::AddIOp::create(b, loc, x, y); }
  V less(V x, int64_t y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, c(y));
  }
  V both(V x, V y) { return arith::AndIOp::create(b, loc, x, y); }
};

/// ... and on integers (for the tests of the layouts, tests/unit/TileDistributionTest.cpp).
struct IntIndex {
  using V = int64_t;
  V c(int64_t x) { return x; }
  V mul(V x, int64_t y) { return x * y; }
  V div(V x, int64_t y) { return x / y; }
  V rem(V x, int64_t y) { return x % y; }
  V add(V x, V y) { return x + y; }
  V less(V x, int64_t y) { return x < y; }
  V both(V x, V y) { return x && y; }
};

/// A blocked tile's coordinates before wrapping.
template <typename A>
SmallVector<typename A::V> blockedBaseWith(const Distribution &d, A &a, typename A::V lane,
                                           typename A::V warp) {
  ArrayRef<int64_t> p = cast<BlockedLayoutAttr>(tileLayout(d.type)).getPerThread();
  if (d.type.getRank() == 1)
    return {a.mul(a.add(a.mul(warp, d.lanes[0]), lane), p[0])};
  auto lr = a.div(lane, d.lanes[1]), lc = a.rem(lane, d.lanes[1]);
  auto wr = a.div(warp, d.warpGrid[1]), wc = a.rem(warp, d.warpGrid[1]);
  return {a.mul(a.add(a.mul(wr, d.lanes[0]), lr), p[0]),
          a.mul(a.add(a.mul(wc, d.lanes[1]), lc), p[1])};
}

template <typename A>
SmallVector<typename A::V> baseWith(const Distribution &d, A &a, typename A::V lane,
                                    typename A::V warp) {
  using Kind = Distribution::Kind;
  if (d.kind == Kind::Slice) {
    auto full = baseWith(*d.parent, a, lane, warp);
    return {full[d.kept]};
  }
  if (d.kind == Kind::Blocked) {
    auto raw = blockedBaseWith(d, a, lane, warp);
    for (size_t i = 0; i < raw.size(); ++i)
      if (d.wrap[i])
        raw[i] = a.rem(raw[i], d.wrap[i]);
    return raw;
  }
  auto g = a.div(lane, 4), t2 = a.mul(a.rem(lane, 4), 2);
  auto wr = a.div(warp, d.warpGrid[1]), wc = a.rem(warp, d.warpGrid[1]);
  SmallVector<typename A::V> view; // in the instruction's view
  if (d.kind == Kind::Accumulator)
    view = {a.add(a.mul(wr, d.perWarp[0]), g), a.add(a.mul(wc, d.perWarp[1]), t2)};
  else if (d.kind == Kind::OperandA)
    view = {a.add(a.mul(wr, d.perWarp[0]), g), t2};
  else
    view = {t2, a.add(a.mul(wc, d.perWarp[1]), g)};
  if (d.swapped)
    std::swap(view[0], view[1]);
  return view;
}

/// Whether this thread is the one holder of its elements kept where copies exist (null / true
/// where the layout has none).
template <typename A>
typename A::V primaryWith(const Distribution &d, A &a, typename A::V lane, typename A::V warp) {
  using Kind = Distribution::Kind;
  if (d.kind == Kind::Blocked) { // the threads whose unwrapped coordinates lie in the tile
    auto raw = blockedBaseWith(d, a, lane, warp);
    typename A::V inside{};
    bool any = false;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (!d.wrap[i])
        continue;
      auto c = a.less(raw[i], d.wrap[i]);
      inside = any ? a.both(inside, c) : c;
      any = true;
    }
    return inside;
  }
  // A: the warps of one row share it, the first column keeps it; B: the first row.
  auto coord = d.kind == Kind::OperandA ? a.rem(warp, d.warpGrid[1]) : a.div(warp, d.warpGrid[1]);
  return a.less(coord, 1);
}

} // namespace

SmallVector<Value> Distribution::base(OpBuilder &b, Location loc, Value lane, Value warp) const {
  IrIndex a{b, loc};
  return baseWith(*this, a, lane, warp);
}

SmallVector<int64_t> Distribution::baseAt(int64_t lane, int64_t warp) const {
  IntIndex a;
  return baseWith(*this, a, lane, warp);
}

SmallVector<Value> Distribution::blockedBase(OpBuilder &b, Location loc, Value lane,
                                             Value warp) const {
  IrIndex a{b, loc};
  return blockedBaseWith(*this, a, lane, warp);
}

bool Distribution::replicated() const {
  if (kind == Kind::Slice)
    return true;
  if (kind == Kind::Blocked)
    return llvm::any_of(wrap, [](int64_t w) { return w != 0; });
  return (kind == Kind::OperandA && warpGrid[1] > 1) || (kind == Kind::OperandB && warpGrid[0] > 1);
}

Value Distribution::primary(OpBuilder &b, Location loc, Value lane, Value warp) const {
  if (!replicated() || kind == Kind::Slice)
    return {};
  IrIndex a{b, loc};
  return primaryWith(*this, a, lane, warp);
}

bool Distribution::primaryAt(int64_t lane, int64_t warp) const {
  if (!replicated() || kind == Kind::Slice)
    return true;
  IntIndex a;
  return primaryWith(*this, a, lane, warp) != 0;
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
    if (inShared(t)) { // a workgroup buffer of the bound's size
      RankedTensorType held = heldType(t, bound);
      if (!held.hasStaticShape() || held.getNumElements() <= 0)
        return std::nullopt;
      auto space = gpu::AddressSpaceAttr::get(t.getContext(), gpu::AddressSpace::Workgroup);
      return Type(
          MemRefType::get(held.getShape(), t.getElementType(), MemRefLayoutAttrInterface(), space));
    }
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

bool mlir::gdn::tiles::hasTileExtent(Value tile, int64_t dim) {
  // Traced as tileExtent does, into a scratch block that is dropped.
  OpBuilder b(tile.getContext());
  auto scratch = std::make_unique<Block>();
  b.setInsertionPointToStart(scratch.get());
  bool ok = succeeded(tileExtent(b, tile.getLoc(), tile, dim));
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*scratch)))
    op.erase();
  return ok;
}

FailureOr<Value> mlir::gdn::tiles::tileExtent(OpBuilder &b, Location loc, Value tile, int64_t dim) {
  auto type = cast<RankedTensorType>(tile.getType());
  if (!type.isDynamicDim(dim))
    return arith::ConstantIndexOp::create(b, loc, type.getDimSize(dim)).getResult();
  if (auto arg = dyn_cast<BlockArgument>(tile)) {
    if (auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp()))
      if (arg.getArgNumber() >= loop.getNumInductionVars())
        return tileExtent(b, loc, loop.getInitArgs()[arg.getArgNumber() - 1], dim);
    return failure();
  }
  Operation *def = tile.getDefiningOp();
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
    if (slice.getSourceType().getRank() != type.getRank())
      return failure();
    return getValueOrCreateConstantIndexOp(b, loc, slice.getMixedSizes()[dim]);
  }
  if (auto toTensor = dyn_cast<bufferization::ToTensorOp>(def))
    return memref::DimOp::create(b, loc, toTensor.getBuffer(), dim).getResult();
  if (auto mm = dyn_cast<TileMatmulOp>(def)) {
    if (dim == 0)
      return tileExtent(b, loc, mm.getA(), mm.getTransposeA() ? 1 : 0);
    return tileExtent(b, loc, mm.getB(), 1);
  }
  if (auto gram = dyn_cast<TileGatedGramOp>(def))
    return tileExtent(b, loc, dim == 0 ? gram.getA() : gram.getB(), 0);
  // Element-wise tile ops, conversions and arith keep their first operand's shape.
  if (isa<GdnDialect>(def->getDialect()) || def->hasTrait<OpTrait::Elementwise>())
    if (def->getNumOperands() > 0)
      return tileExtent(b, loc, def->getOperand(0), dim);
  return failure();
}

SmallVector<int64_t> mlir::gdn::tiles::inPlaceOperandA(const Distribution &acc) {
  // m16n8k16: the accumulators of the 16 x 8 tiles 2k and 2k + 1 are the A registers of step k
  // (register q: tile 2k + q / 2, row half q % 2; its two halves the accumulator's columns).
  SmallVector<int64_t> sources;
  int64_t tilesM = acc.perWarp[0] / 16, tilesN = acc.perWarp[1] / 8, steps = tilesN / 2;
  for (int64_t i = 0; i < tilesM; ++i)
    for (int64_t k = 0; k < steps; ++k)
      for (int64_t q = 0; q < 4; ++q)
        for (int64_t h = 0; h < 2; ++h)
          sources.push_back((i * tilesN + 2 * k + q / 2) * 4 + (q % 2) * 2 + h);
  return sources;
}

Value mlir::gdn::tiles::indexConstant(OpBuilder &b, Location loc, int64_t x) {
  return arith::ConstantIndexOp::create(b, loc, x);
}

SmallVector<Value> mlir::gdn::tiles::elementAt(OpBuilder &b, Location loc, const Distribution &d,
                                               ArrayRef<Value> base, int64_t e,
                                               ArrayRef<Value> origin) {
  SmallVector<Value> at;
  for (size_t i = 0; i < base.size(); ++i) {
    Value x = d.offsets[e][i]
                  ? arith::AddIOp::create(b, loc, base[i], indexConstant(b, loc, d.offsets[e][i]))
                  : base[i];
    if (!origin.empty())
      x = arith::AddIOp::create(b, loc, x, origin[i]);
    at.push_back(x);
  }
  return at;
}

SmallVector<SmallVector<Value>> mlir::gdn::tiles::elementCoordinates(OpBuilder &b, Location loc,
                                                                     const Distribution &d) {
  Value lane, warp;
  std::tie(lane, warp) = laneAndWarp(b, loc);
  SmallVector<Value> base = d.base(b, loc, lane, warp);
  SmallVector<SmallVector<Value>> all;
  for (int64_t e = 0; e < d.count(); ++e)
    all.push_back(elementAt(b, loc, d, base, e));
  return all;
}

Value mlir::gdn::tiles::registerAt(OpBuilder &b, Location loc, Value regs, int64_t e) {
  return vector::ExtractOp::create(b, loc, regs, ArrayRef<int64_t>{e});
}

Value mlir::gdn::tiles::exchangeBuffer(Operation *op) {
  auto func = op->getParentOfType<gpu::GPUFuncOp>();
  auto index = func ? func->getAttrOfType<IntegerAttr>(kExchangeBufferAttr) : IntegerAttr();
  return index ? Value(func.getWorkgroupAttributions()[index.getInt()]) : Value();
}

FailureOr<std::pair<Distribution, Value>> mlir::gdn::tiles::distributeWithExchange(Operation *op,
                                                                                   Value tile) {
  std::string why;
  auto d = distribute(cast<RankedTensorType>(tile.getType()), why, tileBound(op));
  Value buffer = exchangeBuffer(op);
  if (failed(d) || !buffer)
    return failure();
  return std::make_pair(std::move(*d), buffer);
}

void mlir::gdn::tiles::asPrimaryHolder(OpBuilder &b, Location loc, const Distribution &d,
                                       function_ref<void(OpBuilder &, ArrayRef<Value>)> emit) {
  Value lane, warp;
  std::tie(lane, warp) = laneAndWarp(b, loc);
  if (Value primary = d.primary(b, loc, lane, warp)) {
    auto guard = scf::IfOp::create(b, loc, primary, /*withElseRegion=*/false);
    OpBuilder inner = guard.getThenBodyBuilder();
    emit(inner, d.base(inner, loc, lane, warp));
  } else {
    emit(b, d.base(b, loc, lane, warp));
  }
}

void mlir::gdn::tiles::storeHeld(OpBuilder &b, Location loc, const Distribution &d, Value regs,
                                 function_ref<void(OpBuilder &, Value, ArrayRef<Value>)> store) {
  asPrimaryHolder(b, loc, d, [&](OpBuilder &at, ArrayRef<Value> base) {
    for (int64_t e = 0; e < d.count(); ++e)
      store(at, registerAt(at, loc, regs, e), elementAt(at, loc, d, base, e));
  });
}

SmallVector<std::pair<int64_t, int64_t>>
mlir::gdn::tiles::accessPieces(const Distribution &d, int64_t unitDim, int64_t rowAlignment) {
  SmallVector<std::pair<int64_t, int64_t>> pieces;
  int64_t bytes = d.type.getElementTypeBitWidth() / 8;
  int64_t rank = d.type.getRank();
  bool vectors = (unitDim == 0 || unitDim == 1) && rank == 2 &&
                 d.kind != Distribution::Kind::Slice && rowAlignment > bytes && bytes > 0;
  // The dimension memory lines run along (`unitDim`) and the other one.
  int64_t along = unitDim, across = 1 - unitDim;
  // Every thread's base coordinate along the lines is a multiple of `granule` (0: all zero).
  int64_t granule = 0;
  if (vectors)
    for (int64_t warp = 0; warp < d.warps; ++warp)
      for (int64_t lane = 0; lane < 32; ++lane)
        granule = std::gcd(granule, d.baseAt(lane, warp)[along]);
  for (int64_t e = 0; e < d.count();) {
    int64_t n = 1;
    if (vectors) {
      // The run of elements after e, each one further along the line than the one before.
      int64_t run = 1;
      while (e + run < d.count() && d.offsets[e + run][across] == d.offsets[e][across] &&
             d.offsets[e + run][along] == d.offsets[e][along] + run)
        ++run;
      int64_t column = std::gcd(granule, d.offsets[e][along]);
      int64_t aligned = column == 0 ? rowAlignment : std::gcd(rowAlignment, column * bytes);
      while (2 * n <= run && 2 * n * bytes <= 16 && aligned % (2 * n * bytes) == 0)
        n *= 2;
    }
    pieces.push_back({e, n});
    e += n;
  }
  return pieces;
}
