//===- TileValueColumns.cpp - the chunk step over tiles of value columns ===//
//
// gdn-tile-value-columns{v-tile=Vt} (docs/design.md §3.9): the columns of the state, of the
// new values and of the output are independent in the chunk step (every product with the
// state contracts over K, never over V), so the step of a (sequence, value head) splits into
// V / Vt steps over Vt columns each. The pass wraps the step, and what the head loop does with
// its results, in an `scf.for` over the tiles (`gdn.value_tiles = Vt`) whose body is the step
// on Vt-column tiles: the state entering it, the prep results it reads and the slices of o and
// final_state it writes are taken at the tile's columns. The GPU lowering runs one block per
// tile; on the CPU it is the same arithmetic in another order.
//
// Which dimension of a value runs over the value columns is found by provenance, not by
// extent (K = V is common): v, the states and o seed it, slices, products, element-wise ops
// and loops carry it; an op that would mix columns (a product contracting over them, a row
// norm over them, a gate per column) is an error at that op.
//
//===----------------------------------------------------------------------===//
#include "gdn/Dialect/GdnOps.h"
#include "gdn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNTILEVALUECOLUMNS
#include "gdn/Passes/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;
using namespace mlir::gdn;

namespace {

constexpr const char *kPass = "gdn-tile-value-columns";
constexpr int64_t kNone = -1;

/// The dimension of a slice's result that source dimension `d` becomes (its dropped
/// dimensions left out), or kNone where it is dropped.
int64_t keptDimension(const llvm::SmallBitVector &dropped, int64_t d) {
  if (dropped.test(d))
    return kNone;
  int64_t r = 0;
  for (int64_t i = 0; i < d; ++i)
    r += !dropped.test(i);
  return r;
}

/// The source dimension that result dimension `r` of a slice is.
int64_t sourceDimension(const llvm::SmallBitVector &dropped, int64_t r) {
  for (int64_t d = 0, kept = 0; d < static_cast<int64_t>(dropped.size()); ++d)
    if (!dropped.test(d) && kept++ == r)
      return d;
  return kNone;
}

/// The dimensions of an insert_slice's (or parallel_insert_slice's) destination its source
/// leaves out.
template <typename InsertOp> llvm::SmallBitVector insertDropped(InsertOp op) {
  llvm::SmallBitVector dropped(op.getDestType().getRank());
  if (auto mask = computeRankReductionMask(op.getStaticSizes(), op.getSourceType().getShape()))
    for (unsigned d : *mask)
      dropped.set(d);
  return dropped;
}

/// Which dimension of each tensor value of a layer function runs over the value columns.
class ValueColumns {
public:
  /// Errors only for ops inside `scope` (the loop whose ops are tiled).
  LogicalResult run(func::FuncOp fn, scf::ForOp seqLoop, Operation *scope, ArrayRef<Value> seeds);
  int64_t of(Value v) const {
    auto it = dims.find(v);
    return it == dims.end() ? kNone : it->second;
  }

private:
  LogicalResult set(Value v, int64_t d, Operation *at);
  LogicalResult visitBlock(Block &block);
  LogicalResult visit(Operation *op);
  LogicalResult mixes(Operation *op, StringRef how) {
    return op->emitError() << kPass << ": " << op->getName() << " " << how
                           << ": the value columns cannot be tiled through it";
  }

  DenseMap<Value, int64_t> dims;
  Operation *scope = nullptr;
  bool changed = false;
};

LogicalResult ValueColumns::set(Value v, int64_t d, Operation *at) {
  if (d == kNone)
    return success();
  auto [it, inserted] = dims.try_emplace(v, d);
  if (inserted) {
    changed = true;
    return success();
  }
  if (it->second != d)
    return at->emitError() << kPass << ": a value whose value columns are dimension " << it->second
                           << " meets one where they are dimension " << d;
  return success();
}

LogicalResult ValueColumns::run(func::FuncOp fn, scf::ForOp seqLoop, Operation *scope,
                                ArrayRef<Value> seeds) {
  this->scope = scope;
  for (Value s : seeds)
    dims[s] = cast<RankedTensorType>(s.getType()).getRank() - 1;
  // o and the final state: what the sequence loop builds.
  for (auto [init, arg, result] :
       llvm::zip(seqLoop.getInitArgs(), seqLoop.getRegionIterArgs(), seqLoop.getResults()))
    for (Value v : {Value(init), Value(arg), Value(result)})
      dims[v] = cast<RankedTensorType>(v.getType()).getRank() - 1;
  // Loops join what enters them with what their bodies yield: repeat until nothing changes.
  for (int round = 0; round < 8; ++round) {
    changed = false;
    if (failed(visitBlock(fn.getBody().front())))
      return failure();
    if (!changed)
      return success();
  }
  return fn.emitError() << kPass << ": the value columns did not settle";
}

LogicalResult ValueColumns::visitBlock(Block &block) {
  for (Operation &op : block)
    if (failed(visit(&op)))
      return failure();
  return success();
}

LogicalResult ValueColumns::visit(Operation *op) {
  if (auto loop = dyn_cast<scf::ForOp>(op)) {
    for (auto [init, arg] : llvm::zip(loop.getInitArgs(), loop.getRegionIterArgs()))
      if (failed(set(arg, of(init), op)))
        return failure();
    if (failed(visitBlock(*loop.getBody())))
      return failure();
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    // A constant entering the loop (a zero state) takes the columns of what the body yields.
    for (auto [init, y, arg, result] : llvm::zip(loop.getInitArgs(), yield.getOperands(),
                                                 loop.getRegionIterArgs(), loop.getResults()))
      if (failed(set(arg, of(y), op)) || failed(set(result, of(arg), op)) ||
          failed(set(init, of(arg), op)))
        return failure();
    return success();
  }
  if (auto forall = dyn_cast<scf::ForallOp>(op)) {
    for (auto [init, arg] : llvm::zip(forall.getOutputs(), forall.getRegionIterArgs()))
      if (failed(set(arg, of(init), op)))
        return failure();
    if (failed(visitBlock(*forall.getBody())))
      return failure();
    for (Operation &y : forall.getTerminator().getYieldingOps()) {
      auto insert = cast<tensor::ParallelInsertSliceOp>(y);
      int64_t d = of(insert.getSource());
      if (d != kNone &&
          failed(set(insert.getDest(), sourceDimension(insertDropped(insert), d), &y)))
        return failure();
    }
    for (auto [arg, result] : llvm::zip(forall.getRegionIterArgs(), forall.getResults()))
      if (failed(set(result, of(arg), op)))
        return failure();
    return success();
  }
  if (isa<scf::YieldOp, scf::InParallelOp, func::ReturnOp>(op))
    return success();
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    int64_t d = of(slice.getSource());
    if (d == kNone)
      return success();
    std::optional<int64_t> offset = getConstantIntValue(slice.getMixedOffsets()[d]);
    std::optional<int64_t> size = getConstantIntValue(slice.getMixedSizes()[d]);
    if (!offset || *offset != 0 || !size || *size != slice.getSourceType().getDimSize(d))
      return mixes(op, "reads part of the value columns");
    return set(slice.getResult(), keptDimension(slice.getDroppedDims(), d), op);
  }
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    int64_t d = of(insert.getSource());
    if (d != kNone && failed(set(insert.getDest(), sourceDimension(insertDropped(insert), d), op)))
      return failure();
    return set(insert.getResult(), of(insert.getDest()), op);
  }
  if (auto matmul = dyn_cast<TileMatmulOp>(op)) {
    int64_t a = of(matmul.getA()), b = of(matmul.getB());
    if (a == (matmul.getTransposeA() ? 0 : 1) || b == 0)
      return mixes(op, "contracts over the value columns");
    if (a != kNone && b != kNone)
      return mixes(op, "takes value columns from both operands");
    return set(matmul.getResult(), a != kNone ? 0 : (b != kNone ? 1 : kNone), op);
  }
  if (auto decay = dyn_cast<TileDecayStateOp>(op)) {
    int64_t d = of(decay.getState());
    if (of(decay.getGates()) != kNone ||
        (d == 0 && cast<RankedTensorType>(decay.getGates().getType()).getRank() == 2))
      return mixes(op, "gates the value columns");
    return set(decay.getResult(), d, op);
  }
  if (auto scale = dyn_cast<TileRowScaleOp>(op)) {
    if (scale.getR() && of(scale.getR()) != kNone)
      return mixes(op, "scales rows by value columns");
    return set(scale.getResult(), of(scale.getX()), op);
  }
  if (auto gate = dyn_cast<TileGateRowsOp>(op)) {
    int64_t d = of(gate.getX());
    if (of(gate.getGates()) != kNone ||
        (d != kNone && cast<RankedTensorType>(gate.getGates().getType()).getRank() == 2))
      return mixes(op, "gates the value columns per channel");
    return set(gate.getResult(), d, op);
  }
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return set(fill.getResult(0), of(fill.getOutputs()[0]), op);
  if (op->hasTrait<OpTrait::Elementwise>() || isa<arith::ExtFOp, arith::TruncFOp>(op)) {
    int64_t d = kNone;
    for (Value x : op->getOperands())
      if (int64_t e = of(x); e != kNone) {
        if (d != kNone && d != e)
          return mixes(op, "meets value columns in two dimensions");
        d = e;
      }
    for (Value r : op->getResults())
      if (isa<RankedTensorType>(r.getType()) && failed(set(r, d, op)))
        return failure();
    return success();
  }
  // Any other op: an error where it takes part in the value-head loop (outside it, where the
  // function stores its results, nothing is tiled).
  for (Value x : op->getOperands())
    if (of(x) != kNone && scope->isAncestor(op))
      return mixes(op, "reads value columns and is not known to keep them apart");
  for (Region &region : op->getRegions())
    for (Block &block : region)
      if (failed(visitBlock(block)))
        return failure();
  return success();
}

/// The step of one layer function and what it is tiled into.
class ColumnTiler {
public:
  ColumnTiler(scf::ForOp step, const ValueColumns &columns, int64_t vTile)
      : step(step), head(cast<scf::ForOp>(step->getParentOp())), columns(columns), vTile(vTile) {}
  LogicalResult run();

private:
  RankedTensorType narrow(Type t, int64_t d) {
    auto type = cast<RankedTensorType>(t);
    SmallVector<int64_t> shape(type.getShape());
    shape[d] = vTile;
    return type.clone(shape);
  }
  /// Whether `v` is (a version of) a result the head loop carries: written at the tile's
  /// columns, never narrowed.
  bool isDestination(Value v) const { return destinations.contains(v); }
  /// `v`, defined before the tiled ops, at the tile's columns.
  Value narrowOutside(OpBuilder &b, Value v);
  LogicalResult cloneNarrow(OpBuilder &b, Operation *op);
  Value columnOffset(OpBuilder &b, OpFoldResult offset) {
    Location loc = step.getLoc();
    Value base = getValueOrCreateConstantIndexOp(b, loc, offset);
    return arith::AddIOp::create(b, loc, base, v0);
  }

  scf::ForOp step, head;
  const ValueColumns &columns;
  int64_t vTile;
  DenseSet<Value> destinations;
  IRMapping map;
  Value v0;
};

Value ColumnTiler::narrowOutside(OpBuilder &b, Value v) {
  if (Value m = map.lookupOrNull(v))
    return m;
  Location loc = v.getLoc();
  int64_t d = columns.of(v);
  Value narrowed;
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>()) {
    // A slice of a layer tensor (the initial state): the same slice at the tile's columns.
    int64_t sd = sourceDimension(slice.getDroppedDims(), d);
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets(), sizes = slice.getMixedSizes();
    offsets[sd] = columnOffset(b, offsets[sd]);
    sizes[sd] = b.getIndexAttr(vTile);
    narrowed = tensor::ExtractSliceOp::create(b, loc, narrow(v.getType(), d), slice.getSource(),
                                              offsets, sizes, slice.getMixedStrides());
  } else if (auto fill = v.getDefiningOp<linalg::FillOp>();
             fill && fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>() &&
             cast<RankedTensorType>(v.getType()).hasStaticShape()) {
    // A constant tile (a zero initial state): the same constant at Vt columns.
    RankedTensorType type = narrow(v.getType(), d);
    Value empty = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
    narrowed = linalg::FillOp::create(b, loc, fill.getInputs()[0], empty).getResult(0);
  } else {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)),
        strides(type.getRank(), b.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
    offsets[d] = v0;
    sizes[d] = b.getIndexAttr(vTile);
    narrowed = tensor::ExtractSliceOp::create(b, loc, narrow(type, d), v, offsets, sizes, strides);
  }
  map.map(v, narrowed);
  return narrowed;
}

LogicalResult ColumnTiler::cloneNarrow(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  // Operands from before the tiled ops (the tiled ones are mapped as they are cloned) at the
  // tile's columns; a slice's source is sliced by the slice itself.
  for (OpOperand &use : op->getOpOperands()) {
    Value x = use.get();
    if (map.contains(x) || isDestination(x) || columns.of(x) == kNone ||
        (isa<tensor::ExtractSliceOp>(op) && use.getOperandNumber() == 0))
      continue;
    narrowOutside(b, x);
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    int64_t d = columns.of(slice.getSource());
    if (d != kNone) {
      SmallVector<OpFoldResult> offsets, sizes = slice.getMixedSizes();
      for (OpFoldResult o : slice.getMixedOffsets()) {
        if (auto v = dyn_cast<Value>(o))
          o = map.lookupOrDefault(v);
        offsets.push_back(o);
      }
      for (OpFoldResult &s : sizes)
        if (auto v = dyn_cast<Value>(s))
          s = map.lookupOrDefault(v);
      Value source = map.lookupOrNull(slice.getSource());
      if (!source) // from before the tiled ops (a prep result): sliced at the tile's columns
        offsets[d] = columnOffset(b, offsets[d]), source = slice.getSource();
      sizes[d] = b.getIndexAttr(vTile);
      int64_t rd = keptDimension(slice.getDroppedDims(), d);
      auto made = tensor::ExtractSliceOp::create(b, loc, narrow(slice.getType(), rd), source,
                                                 offsets, sizes, slice.getMixedStrides());
      map.map(slice.getResult(), made.getResult());
      return success();
    }
  }
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    int64_t d = columns.of(insert.getSource());
    if (d != kNone) {
      if (!isDestination(insert.getDest()))
        return op->emitError() << kPass
                               << ": only the layer's results may take slices of value columns";
      int64_t dd = sourceDimension(insertDropped(insert), d);
      SmallVector<OpFoldResult> offsets, sizes;
      for (OpFoldResult o : insert.getMixedOffsets())
        offsets.push_back(isa<Value>(o) ? OpFoldResult(map.lookupOrDefault(cast<Value>(o))) : o);
      for (OpFoldResult s : insert.getMixedSizes())
        sizes.push_back(isa<Value>(s) ? OpFoldResult(map.lookupOrDefault(cast<Value>(s))) : s);
      offsets[dd] = columnOffset(b, offsets[dd]);
      sizes[dd] = b.getIndexAttr(vTile);
      auto made = tensor::InsertSliceOp::create(b, loc, map.lookup(insert.getSource()),
                                                map.lookupOrDefault(insert.getDest()), offsets,
                                                sizes, insert.getMixedStrides());
      map.map(insert.getResult(), made.getResult());
      return success();
    }
  }
  if (auto loop = dyn_cast<scf::ForOp>(op)) {
    SmallVector<Value> inits;
    for (Value init : loop.getInitArgs())
      inits.push_back(map.lookupOrDefault(init));
    auto made = scf::ForOp::create(b, loc, map.lookupOrDefault(loop.getLowerBound()),
                                   map.lookupOrDefault(loop.getUpperBound()),
                                   map.lookupOrDefault(loop.getStep()), inits);
    made->setAttrs(loop->getAttrs());
    map.map(loop.getInductionVar(), made.getInductionVar());
    for (auto [from, to] : llvm::zip(loop.getRegionIterArgs(), made.getRegionIterArgs()))
      map.map(from, to);
    OpBuilder inner = OpBuilder::atBlockBegin(made.getBody());
    for (Operation &nested : loop.getBody()->without_terminator())
      if (failed(cloneNarrow(inner, &nested)))
        return failure();
    SmallVector<Value> yielded;
    for (Value y : loop.getBody()->getTerminator()->getOperands())
      yielded.push_back(map.lookupOrDefault(y));
    scf::YieldOp::create(inner, loc, yielded);
    for (auto [from, to] : llvm::zip(loop.getResults(), made.getResults()))
      map.map(from, to);
    return success();
  }
  if (op->getNumRegions() != 0)
    return op->emitError() << kPass << ": cannot tile the value columns through an op with regions";
  Operation *made = b.clone(*op, map);
  for (auto [from, to] : llvm::zip(op->getResults(), made->getResults())) {
    int64_t d = columns.of(from);
    if (d == kNone || isDestination(from))
      continue;
    RankedTensorType type = narrow(from.getType(), d);
    if (auto c = dyn_cast<arith::ConstantOp>(made)) {
      auto splat = dyn_cast<SplatElementsAttr>(c.getValue());
      if (!splat)
        return op->emitError() << kPass << ": a constant tile of value columns that is not a splat";
      Operation *replaced = arith::ConstantOp::create(
          b, loc, type, SplatElementsAttr::get(type, splat.getSplatValue<Attribute>()));
      made->erase();
      made = replaced;
      map.map(from, replaced->getResult(0));
      break;
    }
    to.setType(type);
  }
  return success();
}

LogicalResult ColumnTiler::run() {
  // The tiled ops: the step and what follows it in the head loop (the final state written).
  SmallVector<Operation *> tiled;
  for (Operation *op = step; !op->hasTrait<OpTrait::IsTerminator>(); op = op->getNextNode())
    tiled.push_back(op);
  // The results the head loop carries, and their versions along the tiled ops.
  for (Value arg : head.getRegionIterArgs())
    destinations.insert(arg);
  for (Operation *op : tiled)
    op->walk<WalkOrder::PreOrder>([&](Operation *nested) {
      if (auto loop = dyn_cast<scf::ForOp>(nested))
        for (auto [init, arg, result] :
             llvm::zip(loop.getInitArgs(), loop.getRegionIterArgs(), loop.getResults()))
          if (destinations.contains(init))
            destinations.insert(arg), destinations.insert(result);
      if (auto insert = dyn_cast<tensor::InsertSliceOp>(nested);
          insert && destinations.contains(insert.getDest()))
        destinations.insert(insert.getResult());
    });
  // Nothing before the tiled ops reads what they compute, and the head loop yields only
  // versions of its own results.
  auto headYield = cast<scf::YieldOp>(head.getBody()->getTerminator());
  for (Operation *op : tiled)
    for (Value r : op->getResults())
      for (Operation *user : r.getUsers())
        if (user != headYield &&
            !llvm::is_contained(tiled, head.getBody()->findAncestorOpInBlock(*user)))
          return user->emitError() << kPass << ": reads a value of the chunk step from outside it";
  for (auto [y, arg] : llvm::zip(headYield.getOperands(), head.getRegionIterArgs()))
    if (y != arg && !destinations.contains(y))
      return headYield.emitError()
             << kPass << ": the value-head loop yields something other than its results";

  int64_t V = kNone;
  for (Value arg : head.getRegionIterArgs())
    V = cast<RankedTensorType>(arg.getType()).getShape().back();
  Location loc = step.getLoc();
  OpBuilder b(step);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = arith::ConstantIndexOp::create(b, loc, V / vTile);
  auto tiles = scf::ForOp::create(b, loc, zero, count, one, head.getRegionIterArgs());
  tiles->setAttr("gdn.value_tiles", b.getI64IntegerAttr(vTile));
  OpBuilder inner = OpBuilder::atBlockBegin(tiles.getBody());
  v0 = arith::MulIOp::create(inner, loc, tiles.getInductionVar(),
                             arith::ConstantIndexOp::create(inner, loc, vTile));
  for (auto [from, to] : llvm::zip(head.getRegionIterArgs(), tiles.getRegionIterArgs())) {
    map.map(from, to);
    destinations.insert(to);
  }
  for (Operation *op : tiled)
    if (failed(cloneNarrow(inner, op)))
      return failure();
  SmallVector<Value> yielded;
  for (Value y : headYield.getOperands())
    yielded.push_back(map.lookupOrDefault(y));
  scf::YieldOp::create(inner, loc, yielded);
  for (auto [i, r] : llvm::enumerate(tiles.getResults()))
    headYield->setOperand(i, r);
  for (Operation *op : llvm::reverse(tiled))
    op->erase();
  return success();
}

struct GdnTileValueColumnsPass
    : public gdn::impl::GdnTileValueColumnsBase<GdnTileValueColumnsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<scf::ForOp> steps;
    getOperation()->walk([&](scf::ForOp loop) {
      if (loop->hasAttr("gdn.chunk_step"))
        steps.push_back(loop);
    });
    for (scf::ForOp step : steps) {
      auto head = dyn_cast_or_null<scf::ForOp>(step->getParentOp());
      auto seq = head ? dyn_cast_or_null<scf::ForOp>(head->getParentOp()) : nullptr;
      auto fn = seq ? dyn_cast_or_null<func::FuncOp>(seq->getParentOp()) : nullptr;
      if (!fn || head.getNumRegionIterArgs() == 0) {
        step.emitError() << kPass
                         << ": expected the chunk step inside the value-head loop inside the "
                            "sequence loop of a function, as gdn-split-chunk-loop writes";
        return signalPassFailure();
      }
      int64_t V = cast<RankedTensorType>(head.getRegionIterArgs()[0].getType()).getShape().back();
      int64_t tile = vTile;
      if (tile <= 0 || ShapedType::isDynamic(V) || tile >= V)
        continue;
      if (V % tile != 0) {
        step.emitError() << kPass << ": v-tile " << tile << " does not divide V = " << V;
        return signalPassFailure();
      }
      // The seeds: v and the initial state among the function's operands (gdn.operands).
      SmallVector<Value> seeds;
      if (auto operands = step->getAttrOfType<DictionaryAttr>("gdn.operands"))
        for (StringRef role : {"v", "initial_state"})
          if (auto n = operands.getAs<IntegerAttr>(role))
            seeds.push_back(fn.getArgument(n.getInt()));
      if (seeds.empty()) {
        step.emitError() << kPass << ": the chunk step names no v operand (gdn.operands)";
        return signalPassFailure();
      }
      ValueColumns columns;
      if (failed(columns.run(fn, seq, head, seeds)) ||
          failed(ColumnTiler(step, columns, tile).run()))
        return signalPassFailure();
    }
  }
};

} // namespace
