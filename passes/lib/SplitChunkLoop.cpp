//===- SplitChunkLoop.cpp - chunk loop -> chunk-parallel prep + state step ===//
//
// Loop fission of gdn-chunkwise's chunk loop by dependence on its loop-carried values (the
// output being written and the K x V state). Every op of the body that depends on neither
// runs in a chunk-parallel `scf.forall` (the prep); the rest stays in the sequential loop
// (the step). Tensors computed in the prep and used by the step cross through workspace
// tensors, one per value, indexed by chunk. Reading a chunk's tile of an input (extract_slice
// of a value defined outside the loop, and its element-type conversion) and index arithmetic
// are repeated where needed instead of crossing: the GPU kernels read their inputs in both
// kernels too.
//
//===----------------------------------------------------------------------===//
#include "gdn/Dialect/GdnOps.h"
#include "gdn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

#include <functional>
#include <limits>

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNSPLITCHUNKLOOP
#include "gdn/Passes/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;
using namespace mlir::gdn;

namespace {

/// Whether `op` reads part of a value defined outside `loop`, or converts such a read's
/// element type: cheap to repeat in both loops, and what the kernels do.
bool isInputRead(Operation *op, scf::ForOp loop) {
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
    return !loop.getRegion().isAncestor(slice.getSource().getParentRegion());
  if (auto extract = dyn_cast<tensor::ExtractOp>(op))
    return !loop.getRegion().isAncestor(extract.getTensor().getParentRegion());
  if (isa<arith::ExtFOp, arith::TruncFOp>(op)) {
    Operation *def = op->getOperand(0).getDefiningOp();
    return def && def->getBlock() == loop.getBody() && isInputRead(def, loop);
  }
  return false;
}

/// A zero tile made in the loop (tensor.empty, filled with a constant): gdn.transition
/// spreads per-token rows over sub-step rows into one (docs/design.md §2.5).
bool isConstantTile(Operation *op) {
  if (isa<tensor::EmptyOp>(op))
    return true;
  auto fill = dyn_cast<linalg::FillOp>(op);
  return fill && matchPattern(fill.value(), m_Constant()) &&
         fill.output().getDefiningOp<tensor::EmptyOp>();
}

/// Ops repeated in both loops instead of crossing through a workspace.
bool isRepeated(Operation *op, scf::ForOp loop) {
  if (llvm::none_of(op->getResultTypes(), [](Type t) { return isa<ShapedType>(t); }))
    return true; // index arithmetic, scalars
  return isInputRead(op, loop) || isConstantTile(op);
}

/// Elements per chunk of a tile value (a dynamic extent counts as the chunk's C rows).
int64_t chunkElements(Value v, int64_t C) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type)
    return 0;
  int64_t n = 1;
  for (int64_t d : type.getShape())
    n *= ShapedType::isDynamic(d) ? C : d;
  return n;
}

/// Ops the step may recompute instead of reading their result through a workspace: products,
/// row factors, gates, norms and element-wise arithmetic. Not the grams, the cumulative sums
/// or the solve, whose results cross (the solve is a chain of dependent substitutions).
bool isRecomputable(Operation *op) {
  if (op->getNumRegions() != 0 || op->getNumResults() != 1)
    return false;
  return isa<TileMatmulOp, TileRowScaleOp, TileGateRowsOp, TileL2NormRowsOp, arith::ExtFOp,
             arith::TruncFOp, arith::AddFOp, arith::SubFOp, arith::MulFOp>(op);
}

/// The prep ops the step recomputes: for each value the step needs, recomputing its op where
/// the elements that then cross (the op's operands not read from inputs, crossing or
/// recomputed in turn, whichever is smaller) are fewer than the value's own.
llvm::DenseSet<Operation *> recomputedOps(scf::ForOp loop, const llvm::DenseSet<Operation *> &step,
                                          int64_t C) {
  Block *body = loop.getBody();
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max() / 4;
  llvm::DenseMap<Operation *, int64_t> recomputeCost;
  // Elements that must cross for the step to have `v`: none for inputs, repeated and step
  // values, else the cheaper of crossing it and recomputing its op.
  std::function<int64_t(Value)> available = [&](Value v) -> int64_t {
    Operation *def = v.getDefiningOp();
    if (!def || def->getBlock() != body || step.contains(def) || isRepeated(def, loop))
      return 0;
    auto it = recomputeCost.find(def);
    int64_t recompute = it != recomputeCost.end() ? it->second : kNever;
    return std::min(chunkElements(v, C), recompute);
  };
  for (Operation &op : body->without_terminator()) {
    if (step.contains(&op) || isRepeated(&op, loop) || !isRecomputable(&op))
      continue;
    int64_t cost = 0;
    for (Value x : op.getOperands())
      cost = std::min(kNever, cost + available(x));
    recomputeCost[&op] = cost;
  }
  llvm::DenseSet<Operation *> chosen;
  std::function<void(Value)> provide = [&](Value v) {
    Operation *def = v.getDefiningOp();
    if (!def || def->getBlock() != body || step.contains(def) || isRepeated(def, loop) ||
        chosen.contains(def))
      return;
    auto it = recomputeCost.find(def);
    if (it == recomputeCost.end() || it->second >= chunkElements(v, C))
      return; // crosses
    chosen.insert(def);
    for (Value x : def->getOperands())
      provide(x);
  };
  for (Operation *op : step)
    for (Value x : op->getOperands())
      provide(x);
  for (Value y : body->getTerminator()->getOperands())
    provide(y);
  return chosen;
}

/// The size of every dimension of `v` (an attribute where static), from the ops that made
/// it; failure where an op's shape rule is unknown.
FailureOr<SmallVector<OpFoldResult>> tileShape(Value v, Builder &b) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> shape;
  for (int64_t d : type.getShape())
    shape.push_back(b.getIndexAttr(d));
  if (type.hasStaticShape())
    return shape;
  Operation *def = v.getDefiningOp();
  if (!def)
    return failure();
  auto dimOf = [&](Value x, int64_t d) -> FailureOr<OpFoldResult> {
    auto s = tileShape(x, b);
    if (failed(s))
      return failure();
    return (*s)[d];
  };
  SmallVector<FailureOr<OpFoldResult>> dims;
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
    // Rank-reducing slices drop only static unit sizes: the kept sizes are the result's.
    SmallVector<OpFoldResult> kept;
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    for (auto [i, size] : llvm::enumerate(slice.getMixedSizes()))
      if (!dropped.test(i))
        kept.push_back(size);
    return kept;
  } else if (auto empty = dyn_cast<tensor::EmptyOp>(def)) {
    return SmallVector<OpFoldResult>(empty.getMixedSizes());
  } else if (auto fill = dyn_cast<linalg::FillOp>(def)) {
    return tileShape(fill.output(), b);
  } else if (auto insert = dyn_cast<tensor::InsertSliceOp>(def)) {
    return tileShape(insert.getDest(), b);
  } else if (auto gram = dyn_cast<TileGatedGramOp>(def)) {
    dims = {dimOf(gram.getA(), 0), dimOf(gram.getB(), 0)};
  } else if (auto mm = dyn_cast<TileMatmulOp>(def)) {
    dims = {dimOf(mm.getA(), mm.getTransposeA() ? 1 : 0), dimOf(mm.getB(), 1)};
  } else if (isa<TileRowScaleOp, TileGateRowsOp, TileL2NormRowsOp, TileCumsumOp,
                 TileUnitLowerInverseOp, TileDecayStateOp, arith::ExtFOp, arith::TruncFOp,
                 arith::AddFOp, arith::SubFOp, arith::MulFOp>(def)) {
    return tileShape(def->getOperand(0), b);
  } else {
    return failure();
  }
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (failed(d))
      return failure();
    if (type.isDynamicDim(i))
      shape[i] = *d;
  }
  return shape;
}

/// Splits one chunk loop (marked `gdn.chunk_loop = C`). Returns failure after a diagnostic.
LogicalResult splitChunkLoop(scf::ForOp loop, int64_t C, bool recompute) {
  Block *body = loop.getBody();
  Location loc = loop.getLoc();
  if (!matchPattern(loop.getLowerBound(), m_Zero()) || !matchPattern(loop.getStep(), m_One()))
    return loop.emitError("gdn-split-chunk-loop: the chunk loop must run from 0 in steps of 1");

  // Ops that depend on a loop-carried value stay in the step.
  llvm::DenseSet<Operation *> stepOps;
  llvm::DenseSet<Value> carried(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
  for (Operation &op : body->without_terminator()) {
    if (op.getNumRegions() != 0 && !isConstantTile(&op))
      return op.emitError("gdn-split-chunk-loop: ops with regions in a chunk loop are not "
                          "supported");
    if (llvm::any_of(op.getOperands(), [&](Value v) { return carried.contains(v); })) {
      stepOps.insert(&op);
      carried.insert(op.getResults().begin(), op.getResults().end());
    }
  }
  // With `recompute`, the step also recomputes what is cheaper to recompute than to cross.
  llvm::DenseSet<Operation *> recomputed;
  if (recompute)
    recomputed = recomputedOps(loop, stepOps, C);
  auto inStep = [&](Operation *op) { return stepOps.contains(op) || recomputed.contains(op); };
  // Prep values the step uses: each crosses through a workspace tensor.
  SmallVector<Value> crossing;
  for (Operation &op : body->without_terminator()) {
    if (inStep(&op) || isRepeated(&op, loop))
      continue;
    for (Value r : op.getResults())
      if (llvm::any_of(r.getUsers(),
                       [&](Operation *u) { return inStep(u) || isa<scf::YieldOp>(u); }))
        crossing.push_back(r);
  }
  if (crossing.empty())
    return success(); // nothing the step could take from a prep: leave the loop whole

  OpBuilder b(loop);
  SmallVector<SmallVector<OpFoldResult>> shapes;
  SmallVector<Value> workspaces;
  Value numChunks = loop.getUpperBound();
  for (Value v : crossing) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    FailureOr<SmallVector<OpFoldResult>> shape =
        type ? tileShape(v, b) : FailureOr<SmallVector<OpFoldResult>>(failure());
    if (failed(shape))
      return v.getDefiningOp()->emitError(
          "gdn-split-chunk-loop: cannot tell the shape of this chunk value");
    // Dynamic extents are the chunk's row count min(remaining, C): at most C.
    SmallVector<int64_t> wsShape = {ShapedType::kDynamic};
    for (OpFoldResult d : *shape) {
      if (auto a = dyn_cast<Attribute>(d)) {
        wsShape.push_back(cast<IntegerAttr>(a).getInt());
        continue;
      }
      auto rows = cast<Value>(d).getDefiningOp<arith::MinUIOp>();
      if (!rows || getConstantIntValue(rows.getRhs()) != std::optional<int64_t>(C))
        return v.getDefiningOp()->emitError("gdn-split-chunk-loop: a dynamic extent of this "
                                            "chunk value is not the chunk's row count");
      wsShape.push_back(C);
    }
    shapes.push_back(*shape);
    workspaces.push_back(
        tensor::EmptyOp::create(b, loc, wsShape, type.getElementType(), ValueRange{numChunks}));
  }

  // The prep: every op outside the step, once per chunk, in parallel.
  auto prep =
      scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{numChunks}, workspaces, std::nullopt);
  prep->setAttr("gdn.chunk_prep", b.getI64IntegerAttr(C));
  IRMapping toPrep;
  toPrep.map(loop.getInductionVar(), prep.getInductionVar(0));
  b.setInsertionPoint(prep.getTerminator());
  for (Operation &op : body->without_terminator())
    if (!stepOps.contains(&op))
      b.clone(op, toPrep);
  b.setInsertionPointToStart(prep.getTerminator().getBody());
  auto wsSlice = [&](const SmallVector<OpFoldResult> &shape, Value chunk,
                     SmallVectorImpl<OpFoldResult> &offsets, SmallVectorImpl<OpFoldResult> &sizes,
                     SmallVectorImpl<OpFoldResult> &strides) {
    offsets.assign(shape.size() + 1, b.getIndexAttr(0));
    offsets[0] = chunk;
    sizes.assign({b.getIndexAttr(1)});
    sizes.append(shape.begin(), shape.end());
    strides.assign(shape.size() + 1, b.getIndexAttr(1));
  };
  for (auto [i, v] : llvm::enumerate(crossing)) {
    SmallVector<OpFoldResult> offsets, sizes, strides, shape;
    for (OpFoldResult d : shapes[i])
      shape.push_back(isa<Value>(d) ? OpFoldResult(toPrep.lookup(cast<Value>(d))) : d);
    wsSlice(shape, prep.getInductionVar(0), offsets, sizes, strides);
    tensor::ParallelInsertSliceOp::create(b, loc, toPrep.lookup(v), prep.getRegionIterArgs()[i],
                                          offsets, sizes, strides);
  }

  // The step reads each crossing value back right after where it was made, then drops the
  // prep's work it no longer needs.
  for (auto [i, v] : llvm::enumerate(crossing)) {
    b.setInsertionPointAfter(v.getDefiningOp());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    wsSlice(shapes[i], loop.getInductionVar(), offsets, sizes, strides);
    Value back = tensor::ExtractSliceOp::create(b, loc, cast<RankedTensorType>(v.getType()),
                                                prep.getResult(i), offsets, sizes, strides);
    v.replaceUsesWithIf(back,
                        [&](OpOperand &use) { return use.getOwner() != back.getDefiningOp(); });
  }
  SmallVector<Operation *> ops;
  for (Operation &op : body->without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (!stepOps.contains(op) && op->use_empty())
      op->erase();
  if (recompute)
    loop->setAttr("gdn.recompute", b.getUnitAttr());
  loop->removeAttr("gdn.chunk_loop");
  loop->setAttr("gdn.chunk_step", b.getI64IntegerAttr(C));
  return success();
}

struct GdnSplitChunkLoopPass : public gdn::impl::GdnSplitChunkLoopBase<GdnSplitChunkLoopPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation()->walk([&](scf::ForOp loop) {
      if (loop->hasAttr("gdn.chunk_loop"))
        loops.push_back(loop);
    });
    for (scf::ForOp loop : loops) {
      auto C = loop->getAttrOfType<IntegerAttr>("gdn.chunk_loop");
      if (!C) {
        loop.emitError("gdn-split-chunk-loop: gdn.chunk_loop must be the chunk size (an "
                       "integer)");
        return signalPassFailure();
      }
      // Decode loops step one token at a time: nothing to take off the sequential path. They
      // keep their mark (C = 1), which tells the chunked GPU pass what they are.
      if (C.getInt() == 1)
        continue;
      if (failed(splitChunkLoop(loop, C.getInt(), recompute)))
        return signalPassFailure();
    }
  }
};

} // namespace
