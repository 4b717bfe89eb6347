//===- AssignLayouts.cpp - a layout for every tile value of the chunked form ===//
//
// The first step of the generated GPU lowering (docs/design.md §3.6): every tile value of the
// (split) chunked form gets a distribution over the block as the encoding of its tensor type,
// and gdn.tile.convert_layout ops appear where a producer's layout and a consumer's differ.
// The rules, from the op and the options only:
//   - a product (matmul, gated_gram) accumulates into #gdn.mma: mma.sync fragments, or wgmma's
//     [64, N, 16] where the result's column count N allows (else mma.sync), or #gdn.blocked on
//     CUDA cores; its left operand becomes #gdn.dot_operand<index = 0> of that accumulator
//     (with wgmma: from registers where it was computed in registers, else a swizzled
//     #gdn.shared tile), its right operand #gdn.dot_operand<index = 1> (mma.sync) or #gdn.shared
//     (wgmma);
//   - element-wise ops keep their tile's layout (values from global memory start #gdn.blocked);
//     row factors take #gdn.slice<dim = 1> of it, cumulative gates a #gdn.shared tile (a thread
//     reads other rows' gates: G_n, G_j);
//   - the chunk step's loop-carried state lives in the accumulator layout of the product that
//     updates it (the state in registers across chunks), converted in and out of the loop;
//     with transposed-state (the default) as S^T: a product whose right operand is held in a
//     transposed accumulator is computed transposed, that operand's fragments being the
//     instruction's A straight from registers (the sliced state pass's Q S, W S, K^T Vnew);
//   - values leaving the tiles (workspace and output writes, yields) convert back to none;
//   - a product's operands are rounded to the layer's 16-bit type (the element type of its
//     bf16 / f16 inputs) in their operand layout, as the tensor-core instructions take them;
//   - element casts between memory and registers happen in registers: a tile read as bf16 and
//     widened is loaded as bf16 and widened in its layout, a result narrowed for its output is
//     narrowed in its layout and stored narrow.
// Nothing here names a family or an op's position in the program.
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/Passes.h"
#include "gdn/Dialect/GdnLayouts.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <map>

using namespace mlir;
using namespace mlir::gdn;

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNASSIGNLAYOUTS
#include "gdn/Codegen/Passes.h.inc"
} // namespace mlir::gdn

namespace {

class LayoutAssigner {
public:
  LayoutAssigner(MLIRContext *ctx, StringRef products, int64_t warps, bool transposedState)
      : ctx(ctx), products(products.str()), warps(warps), transposedState(transposedState) {}

  void run(func::FuncOp fn) {
    roundTo = Type();
    for (Type t : fn.getArgumentTypes())
      if (auto tensor = dyn_cast<RankedTensorType>(t);
          tensor && (tensor.getElementType().isBF16() || tensor.getElementType().isF16()))
        roundTo = tensor.getElementType();
    fn.walk<WalkOrder::PreOrder>([&](Operation *op) { visit(op); });
    castInRegisters(fn);
  }

private:
  /// The tile ops: every one carries the layout rules' trait.
  static bool isTileOp(Operation *op) { return op->hasTrait<TileLayoutRules>(); }

  /// The accumulator layout of a product with this result (held transposed: the instruction's
  /// M runs along the result's columns, N along its rows). wgmma needs M to fill its 64 rows
  /// (static, or a chunk's rows when the chunk has 64) and a static N, a multiple of 8 up to 256.
  Attribute productLayout(RankedTensorType result, bool transposed, int64_t chunk) {
    if (products == "cuda-cores")
      return blocked(2);
    int64_t m = result.getDimSize(transposed ? 1 : 0), n = result.getDimSize(transposed ? 0 : 1);
    int64_t mBound = ShapedType::isDynamic(m) ? chunk : m;
    if (products == "wgmma" && mBound >= 64 && !ShapedType::isDynamic(n) && n % 8 == 0 &&
        n <= 256 && warps % 4 == 0)
      return MmaLayoutAttr::get(ctx, 3, {64, n, 16}, {warps, 1}, transposed);
    // mma.sync: the warps along the rows as far as the rows fill them (16 each), the rest
    // along the columns (8 each), so that a chunk of 32 rows still spreads over 4 warps.
    int64_t nBound = ShapedType::isDynamic(n) ? chunk : n;
    int64_t wm = warps;
    while (wm > 1 && (mBound % (16 * wm) != 0 || nBound % (8 * (warps / wm)) != 0))
      wm /= 2;
    if (warps % wm != 0 || nBound % (8 * (warps / wm)) != 0)
      wm = warps; // nothing fits: the lowering says why at the op
    return MmaLayoutAttr::get(ctx, 2, {16, 8, 16}, {wm, warps / wm}, transposed);
  }

  /// The chunk size of the chunk loop or prep around `op` (what bounds a tile's dynamic rows).
  static int64_t chunkAround(Operation *op) {
    for (Operation *p = op->getParentOp(); p; p = p->getParentOp())
      for (StringRef mark : {"gdn.chunk_step", "gdn.chunk_prep", "gdn.chunk_loop"})
        if (auto c = p->getAttrOfType<IntegerAttr>(mark))
          return c.getInt();
    return 0;
  }

  Attribute blocked(int64_t rank) {
    if (rank == 1)
      return BlockedLayoutAttr::get(ctx, {1}, {32}, {warps});
    return BlockedLayoutAttr::get(ctx, {1, 4}, {8, 4}, {warps, 1});
  }

  Attribute shared(int64_t swizzle = 0, bool transposed = false) {
    return SharedLayoutAttr::get(ctx, swizzle, transposed);
  }

  /// `v` in `layout`: itself, or a conversion placed right after its definition (so that it
  /// serves every use), made once per (value, layout).
  Value convert(Value v, Attribute layout) {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getEncoding() == layout)
      return v;
    auto key = std::make_pair(v.getAsOpaquePointer(), layout.getAsOpaquePointer());
    if (auto it = converted.find(key); it != converted.end())
      return it->second;
    OpBuilder b(ctx);
    if (Operation *def = v.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
    Value c = TileConvertLayoutOp::create(b, v.getLoc(), withLayout(type, layout), v);
    converted[key] = c;
    return c;
  }

  void setOperand(Operation *op, unsigned i, Attribute layout) {
    op->setOperand(i, convert(op->getOperand(i), layout));
  }

  /// A product's operand `i` in `layout`, rounded to the layer's 16-bit type where it is f32
  /// (once per value and layout, right after the conversion).
  void setProductOperand(Operation *op, unsigned i, Attribute layout) {
    Value c = convert(op->getOperand(i), layout);
    auto type = cast<RankedTensorType>(c.getType());
    if (!roundTo || !type.getElementType().isF32() || !layout)
      return op->setOperand(i, c);
    auto key = std::make_pair(c.getAsOpaquePointer(), roundTo.getAsOpaquePointer());
    auto it = converted.find(key);
    if (it == converted.end()) {
      OpBuilder b(ctx);
      if (Operation *def = c.getDefiningOp())
        b.setInsertionPointAfter(def);
      else
        b.setInsertionPointToStart(cast<BlockArgument>(c).getOwner());
      Value rounded = arith::TruncFOp::create(b, c.getLoc(), type.clone(roundTo), c);
      it = converted.emplace(key, rounded).first;
    }
    op->setOperand(i, it->second);
  }

  static bool isCast(Operation *op) { return isa_and_nonnull<arith::ExtFOp, arith::TruncFOp>(op); }

  /// A cast of `x` like `cast`, to `type` (x's layout).
  static Value recast(OpBuilder &b, Operation *cast, Value x, Type type) {
    if (isa<arith::ExtFOp>(cast))
      return arith::ExtFOp::create(b, cast->getLoc(), type, x);
    return arith::TruncFOp::create(b, cast->getLoc(), type, x);
  }

  /// Element casts next to a conversion between memory and registers move to the register
  /// side: convert(cast(x)) into registers becomes cast(convert(x)), cast(convert(x)) out of
  /// registers becomes convert(cast(x)); the memory side then reads or writes the narrow type.
  void castInRegisters(func::FuncOp fn) {
    SmallVector<TileConvertLayoutOp> conversions;
    fn.walk([&](TileConvertLayoutOp c) { conversions.push_back(c); });
    for (TileConvertLayoutOp c : conversions) {
      auto to = cast<RankedTensorType>(c.getType());
      auto from = cast<RankedTensorType>(c.getX().getType());
      Operation *castOp = c.getX().getDefiningOp();
      if (!tileLayout(to) || tileLayout(from) || !isCast(castOp))
        continue;
      Value narrow = castOp->getOperand(0);
      auto narrowType = cast<RankedTensorType>(narrow.getType());
      if (tileLayout(narrowType))
        continue;
      OpBuilder b(c);
      Value in = TileConvertLayoutOp::create(b, c.getLoc(), withLayout(narrowType, tileLayout(to)),
                                             narrow);
      c.replaceAllUsesWith(recast(b, castOp, in, to));
      c.erase();
      if (castOp->use_empty())
        castOp->erase();
    }
    SmallVector<Operation *> casts;
    fn.walk([&](Operation *op) {
      if (isCast(op))
        casts.push_back(op);
    });
    for (Operation *castOp : casts) {
      auto c = castOp->getOperand(0).getDefiningOp<TileConvertLayoutOp>();
      auto type = cast<RankedTensorType>(castOp->getResult(0).getType());
      if (!c || tileLayout(type) || !tileLayout(c.getX().getType()) || tileLayout(c.getType()))
        continue;
      OpBuilder b(castOp);
      Attribute layout = tileLayout(c.getX().getType());
      Value inRegisters = recast(b, castOp, c.getX(), withLayout(type, layout));
      castOp->getResult(0).replaceAllUsesWith(
          TileConvertLayoutOp::create(b, castOp->getLoc(), type, inRegisters));
      castOp->erase();
      if (c->use_empty())
        c.erase();
    }
  }

  static void setResultLayout(Value r, Attribute layout) {
    r.setType(withLayout(cast<RankedTensorType>(r.getType()), layout));
  }

  void visit(Operation *op) {
    if (auto loop = dyn_cast<scf::ForOp>(op); loop && loop->hasAttr("gdn.chunk_step")) {
      carryStateInRegisters(loop);
      return;
    }
    if (isa<TileConvertLayoutOp>(op))
      return;
    if (isa<TileMatmulOp, TileGatedGramOp>(op))
      return product(op);
    if (isTileOp(op))
      return elementwise(op);
    if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp>(op) &&
        isa<RankedTensorType>(op->getResult(0).getType()))
      return arithmetic(op);
    leaveTiles(op);
  }

  void product(Operation *op) {
    Value result = op->getResult(0);
    // A right operand held in a transposed accumulator (S^T) makes the product transposed:
    // (a b)^T = b^T a^T, with b's fragments as the instruction's A, straight from registers.
    auto heldB = dyn_cast_or_null<MmaLayoutAttr>(tileLayout(op->getOperand(1).getType()));
    bool transposed = heldB && heldB.getTransposed();
    Attribute acc =
        productLayout(cast<RankedTensorType>(result.getType()), transposed, chunkAround(op));
    if (auto mma = dyn_cast<MmaLayoutAttr>(acc)) {
      unsigned instrA = transposed ? 1 : 0, instrB = transposed ? 0 : 1;
      bool wgmma = mma.getVersion() == 3;
      bool transposeA = op->hasAttr("transpose_a");
      // Fragments are `transposed` where the instruction reads the tile's transpose, as the
      // shared tiles are; the gram reads its right operand transposed (a b^T).
      bool transposeB = isa<TileGatedGramOp>(op);
      bool flipA = transposed ? !transposeB : transposeA;
      bool flipB = transposed ? !transposeA : transposeB;
      // wgmma reads A from registers where the value was computed there, else from a swizzled
      // shared tile; B always from shared memory. A shared tile is `transposed`, as a fragment
      // is, where the instruction takes the tile's transpose.
      Attribute left = DotOperandLayoutAttr::get(ctx, 0, mma, flipA);
      if (wgmma && !isa_and_nonnull<MmaLayoutAttr>(tileLayout(op->getOperand(instrA).getType())))
        left = shared(128, flipA);
      setProductOperand(op, instrA, left);
      setProductOperand(op, instrB,
                        wgmma ? shared(128, flipB) : DotOperandLayoutAttr::get(ctx, 1, mma, flipB));
    } else {
      setOperand(op, 0, blocked(2));
      setOperand(op, 1, blocked(2));
    }
    // Cumulative gates of a gated product: read at other rows (G_j), so from shared memory.
    for (unsigned i = 2; i < op->getNumOperands(); ++i)
      setOperand(op, i, shared());
    setResultLayout(result, acc);
  }

  void elementwise(Operation *op) {
    Value tile = op->getOperand(0);
    auto tileType = cast<RankedTensorType>(tile.getType());
    Attribute layout = tileType.getEncoding();
    if (!isa_and_nonnull<MmaLayoutAttr, BlockedLayoutAttr>(layout))
      layout = blocked(tileType.getRank());
    setOperand(op, 0, layout);
    for (unsigned i = 1; i < op->getNumOperands(); ++i) {
      auto type = cast<RankedTensorType>(op->getOperand(i).getType());
      if (isa<TileRowScaleOp>(op) && type.getRank() == 1 && tileType.getRank() == 2)
        setOperand(op, i, SliceLayoutAttr::get(ctx, 1, layout)); // a factor per row
      else
        setOperand(op, i, shared()); // cumulative gates: G_n and other rows' are read
    }
    setResultLayout(op->getResult(0), layout);
  }

  void arithmetic(Operation *op) {
    // The layout of an operand a product made (the sum accumulates into its fragments), else
    // the first operand's; untouched where no operand is a tile.
    Attribute layout;
    for (Value v : op->getOperands())
      if (isa_and_nonnull<TileMatmulOp, TileGatedGramOp>(v.getDefiningOp()))
        layout = tileLayout(v.getType());
    for (Value v : op->getOperands())
      if (!layout)
        layout = tileLayout(v.getType());
    if (!layout)
      return;
    for (unsigned i = 0; i < op->getNumOperands(); ++i)
      setOperand(op, i, layout);
    setResultLayout(op->getResult(0), layout);
  }

  /// Ops outside the tile algebra (writes to the workspace and outputs, yields) take values
  /// without layouts, except the chunk step's yield of the state it carries in registers.
  void leaveTiles(Operation *op) {
    if (isa<tensor::DimOp>(op))
      return; // reads a size only
    for (unsigned i = 0; i < op->getNumOperands(); ++i) {
      auto type = dyn_cast<RankedTensorType>(op->getOperand(i).getType());
      if (!type || !isTileLayout(type.getEncoding()))
        continue;
      Attribute want;
      if (auto yield = dyn_cast<scf::YieldOp>(op))
        if (auto loop = dyn_cast<scf::ForOp>(yield->getParentOp()))
          want = tileLayout(loop.getRegionIterArgs()[i].getType());
      setOperand(op, i, want);
    }
  }

  /// The chunk step's rank-2 f32 loop-carried values (the state) in the accumulator layout of
  /// the product that updates them: converted once before the loop and once after it.
  void carryStateInRegisters(scf::ForOp loop) {
    OpBuilder b(loop);
    for (auto [i, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type || type.getRank() != 2 || !type.getElementType().isF32() || type.getEncoding())
        continue;
      Attribute layout = productLayout(type, transposedState,
                                       loop->getAttrOfType<IntegerAttr>("gdn.chunk_step").getInt());
      RankedTensorType inRegisters = withLayout(type, layout);
      OpOperand &init = loop.getInitArgsMutable()[i];
      b.setInsertionPoint(loop);
      init.set(TileConvertLayoutOp::create(b, loop.getLoc(), inRegisters, init.get()));
      arg.setType(inRegisters);
      Value result = loop.getResult(i);
      result.setType(inRegisters);
      b.setInsertionPointAfter(loop);
      auto out = TileConvertLayoutOp::create(b, loop.getLoc(), type, result);
      result.replaceAllUsesExcept(out, out);
    }
  }

  MLIRContext *ctx;
  std::string products;
  int64_t warps;
  bool transposedState;
  Type roundTo; ///< the layer's 16-bit input type (null: f32 inputs, products unrounded)
  std::map<std::pair<void *, const void *>, Value> converted;
};

struct GdnAssignLayoutsPass : public gdn::impl::GdnAssignLayoutsBase<GdnAssignLayoutsPass> {
  using GdnAssignLayoutsBase::GdnAssignLayoutsBase;

  void runOnOperation() override {
    if (products != "mma.sync" && products != "wgmma" && products != "cuda-cores") {
      getOperation().emitError() << "gdn-assign-layouts: products must be mma.sync, wgmma or "
                                    "cuda-cores, got '"
                                 << products << "'";
      return signalPassFailure();
    }
    if (warps < 1 || warps > 32 || (products == "wgmma" && warps % 4 != 0)) {
      getOperation().emitError() << "gdn-assign-layouts: warps must be 1 to 32 (a multiple of 4 "
                                    "for wgmma), got "
                                 << static_cast<int64_t>(warps);
      return signalPassFailure();
    }
    getOperation().walk([&](func::FuncOp fn) {
      bool hasTiles = false;
      fn.walk([&](Operation *op) { hasTiles |= op->hasTrait<TileLayoutRules>(); });
      if (hasTiles)
        LayoutAssigner(&getContext(), products, warps, transposedState).run(fn);
    });
  }
};

} // namespace
