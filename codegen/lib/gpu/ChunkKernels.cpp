//===- ChunkKernels.cpp - the split chunked form's prep and step as GPU kernels ===//
//
// gdn-chunk-kernels (docs/design.md §3.8): the layout-assigned split chunked form of a layer
// function becomes its two kernels, still as tile programs (gdn-tiles-to-gpu lowers them):
//   <fn>_prep  the prep (the gdn.chunk_prep scf.forall) once per chunk: grid (N ceil(T / C), HV);
//   <fn>       the step (the sequential gdn.chunk_step scf.for) once per (sequence, value head)
//              and, where gdn-tile-value-columns tiled it, tile of value columns (block z),
//              the state carried across chunks in the layout gdn-assign-layouts gave it.
// The sequence and head loops around them become block coordinates; their index arithmetic is
// cloned where a kernel needs it. Tensors the program reads from the function's arguments are
// read from the kernel's flat buffers (a bufferization.to_tensor of a strided view of them),
// its writes to the function's results become bufferization.materialize_in_destination into
// views of o and final_state, and the prep's results (the chunk-parallel values the step reads)
// live in the launch's workspace: per token and value head a record of every prep result's row
// (`gdn.workspace_token_bytes`), so a chunk's rows are rows of the token-major record array.
// The kernels carry the launch contract of KernelSignature.h; the host function is removed.
//
//===----------------------------------------------------------------------===//
#include "ChunkProgram.h"
#include "ChunkedFormFacts.h"
#include "KernelSignature.h"
#include "tiles/TileDistribution.h"

#include "gdn/Codegen/Passes.h"
#include "gdn/Dialect/GdnLayouts.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

#include <numeric>

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNCHUNKKERNELS
#include "gdn/Codegen/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;
using namespace mlir::gdn;

namespace {

using mlir::gdn::chunks::ChunkProgram;
using mlir::gdn::chunks::kPass;

/// A number `v` is known to be a multiple of (0 for the constant 0): from constants, products
/// and sums (the column offset of a tile of value columns is tile x Vt).
int64_t knownMultiple(OpFoldResult v) {
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return *c < 0 ? -*c : *c;
  Operation *def = cast<Value>(v).getDefiningOp();
  if (auto mul = dyn_cast_or_null<arith::MulIOp>(def))
    return knownMultiple(mul.getLhs()) * knownMultiple(mul.getRhs());
  if (auto add = dyn_cast_or_null<arith::AddIOp>(def))
    return std::gcd(knownMultiple(add.getLhs()), knownMultiple(add.getRhs()));
  return 1;
}

/// The byte alignment of every row of a view of the layer tensor `role` of type `t` at
/// `offsets` (0: unknown): the runtime has q, k, v, o and the states 16-byte aligned for
/// chunked kernels, and a row of the innermost extent starts at a multiple of it.
int64_t layerRowAlignment(StringRef role, RankedTensorType t, ArrayRef<OpFoldResult> offsets) {
  if (!llvm::is_contained({"q", "k", "v", "o", "initial_state", "final_state"}, role))
    return 0;
  int64_t rank = t.getRank();
  if (t.isDynamicDim(rank - 1))
    return 0;
  int64_t bytes = t.getElementTypeBitWidth() / 8;
  // Rows start at multiples of the row's bytes; a slice starts `inner` elements into one.
  return std::gcd(std::gcd<int64_t>(16, t.getDimSize(rank - 1) * bytes),
                  knownMultiple(offsets.back()) * bytes);
}

/// The workspace's regions and rows start at multiples of 16 bytes (ChunkProgram::read pads them).
constexpr int64_t kWorkspaceRowAlignment = 16;

/// One kernel's body, cloned from the program: block coordinates for the loops, views of the
/// kernel's buffers for the function's tensors.
class KernelWriter : KernelBuilderBase {
public:
  KernelWriter(OpBuilder &b, ChunkProgram &p, const KernelArguments &args)
      : KernelBuilderBase(b, p.fn.getLoc()), p(p), args(args) {}

  LogicalResult writePrep();
  LogicalResult writeStep();

private:
  FailureOr<Value> value(Value v);
  LogicalResult cloneOp(Operation *op);
  LogicalResult cloneBlock(Block &block, Operation *stopAt = nullptr);
  /// The extent of dimension d of the function tensor `t` (its argument or result type).
  FailureOr<Value> extent(RankedTensorType t, int64_t d, Operation *at);
  /// A view of `buffer` (flat) as the rank-reduced slice of a row-major tensor of type `t` at
  /// `offsets` / `sizes` (dims in `dropped` left out), as the tensor type `slice`.
  FailureOr<Value> view(Value buffer, RankedTensorType t, ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes, const llvm::SmallBitVector &dropped,
                        Operation *at);
  FailureOr<Value> workspaceView(unsigned field, ArrayRef<OpFoldResult> offsets,
                                 ArrayRef<OpFoldResult> sizes, const llvm::SmallBitVector &dropped);
  /// `buffer` from element `origin` on, dimension d at `strides[d]`, sliced at `offsets` /
  /// `sizes` with the `dropped` dimensions left out: a strided memref view.
  FailureOr<Value> slicedView(Value buffer, Value origin, ArrayRef<Value> strides,
                              ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
                              const llvm::SmallBitVector &dropped);
  FailureOr<Value> index(OpFoldResult r) {
    if (auto a = dyn_cast<Attribute>(r))
      return idx(cast<IntegerAttr>(a).getInt());
    return value(cast<Value>(r));
  }
  Value resultBuffer(unsigned r) { return r == 0 ? args.o : args.finalState; }
  /// The layer role of `v` where it is an argument of the function ("" otherwise).
  std::string roleOf(Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner()->getParentOp() != p.fn)
      return "";
    auto it = p.roles.find(arg.getArgNumber());
    return it == p.roles.end() ? "" : it->second;
  }
  /// The first token of sequence `n` among the launch's B T (packed batches: cu_seqlens[n]).
  Value sequenceStart(Value n) {
    if (!args.cuSeqlens)
      return mul(n, args.T);
    return toIndex(memref::LoadOp::create(b, loc, args.cuSeqlens, ValueRange{n}));
  }
  /// The launch's tokens B T (packed: T).
  Value tokens() { return args.cuSeqlens ? args.T : mul(args.N, args.T); }
  /// Stores `tile` into the view `destination`, whose rows start at multiples of
  /// `rowAlignment` bytes (0: unknown).
  /// `padded`: the destination is the workspace, whose chunks are whole up to the bound.
  LogicalResult store(Value tile, Value destination, int64_t rowAlignment, bool padded = false) {
    auto op = bufferization::MaterializeInDestinationOp::create(
        b, loc, Type(), tile, destination, /*restrict=*/false, /*writable=*/true);
    if (rowAlignment)
      op->setAttr(tiles::kRowAlignmentAttr, b.getI64IntegerAttr(rowAlignment));
    if (padded)
      op->setAttr(tiles::kPaddedToBoundAttr, b.getUnitAttr());
    return success();
  }

  ChunkProgram &p;
  const KernelArguments &args;
  IRMapping map;
};

FailureOr<Value> KernelWriter::extent(RankedTensorType t, int64_t d, Operation *at) {
  if (!t.isDynamicDim(d))
    return idx(t.getDimSize(d));
  if (t.getRank() == 1 && args.cuSeqlens)
    return add(args.N, idx(1)); // cu_seqlens: N + 1 offsets
  if (d == 0)
    return args.N; // B (fixed-length batches: one sequence per batch row) or N (states)
  if (d == 1)
    return args.T;
  return at->emitError() << kPass << ": dimension " << d << " of " << t
                         << " is dynamic: only the batch and the sequence length may be",
         failure();
}

FailureOr<Value> KernelWriter::slicedView(Value buffer, Value origin, ArrayRef<Value> strides,
                                          ArrayRef<OpFoldResult> offsets,
                                          ArrayRef<OpFoldResult> sizes,
                                          const llvm::SmallBitVector &dropped) {
  Value offset = origin;
  SmallVector<OpFoldResult> keptSizes, keptStrides;
  SmallVector<int64_t> shape, layoutStrides;
  for (int64_t d = 0; d < static_cast<int64_t>(offsets.size()); ++d) {
    FailureOr<Value> o = index(offsets[d]);
    if (failed(o))
      return failure();
    offset = add(offset, mul(*o, strides[d]));
    if (dropped.test(d))
      continue;
    std::optional<int64_t> staticSize = getConstantIntValue(sizes[d]);
    FailureOr<Value> s = index(sizes[d]);
    if (failed(s))
      return failure();
    keptSizes.push_back(staticSize ? OpFoldResult(b.getIndexAttr(*staticSize)) : OpFoldResult(*s));
    std::optional<int64_t> staticStride = getConstantIntValue(strides[d]);
    keptStrides.push_back(staticStride ? OpFoldResult(b.getIndexAttr(*staticStride))
                                       : OpFoldResult(strides[d]));
    shape.push_back(staticSize ? *staticSize : ShapedType::kDynamic);
    layoutStrides.push_back(staticStride.value_or(ShapedType::kDynamic));
  }
  Type element = cast<MemRefType>(buffer.getType()).getElementType();
  auto type = MemRefType::get(
      shape, element, StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, layoutStrides));
  return memref::ReinterpretCastOp::create(b, loc, type, buffer, OpFoldResult(offset), keptSizes,
                                           keptStrides)
      .getResult();
}

FailureOr<Value> KernelWriter::view(Value buffer, RankedTensorType t,
                                    ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
                                    const llvm::SmallBitVector &dropped, Operation *at) {
  // Row-major strides of the layer tensor; the innermost is 1.
  int64_t rank = t.getRank();
  SmallVector<Value> strides(rank);
  strides[rank - 1] = idx(1);
  Value stride = strides[rank - 1];
  for (int64_t d = rank - 2; d >= 0; --d) {
    FailureOr<Value> e = extent(t, d + 1, at);
    if (failed(e))
      return failure();
    stride = mul(stride, *e);
    strides[d] = stride;
  }
  return slicedView(buffer, idx(0), strides, offsets, sizes, dropped);
}

FailureOr<Value> KernelWriter::workspaceView(unsigned field, ArrayRef<OpFoldResult> offsets,
                                             ArrayRef<OpFoldResult> sizes,
                                             const llvm::SmallBitVector &dropped) {
  // Field f's region holds HV (B T + N C) w_f elements: per value head, every sequence's tokens
  // followed by a chunk of padding (sequence n starts at token start_n + n C), chunk c of it at
  // (start_n + n C + c C) w_f, the chunk's tile row-major from there.
  auto type = cast<RankedTensorType>(p.prep.getResult(field).getType());
  int64_t rank = type.getRank();
  Type element = p.fieldType[field];
  Value span = add(tokens(), mul(args.N, idx(p.C))); // a value head's padded tokens
  Value region = mul(mul(idx(p.facts.HV), span), idx(p.fieldWidth[field]));
  Value regionView = memref::ViewOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, element), args.workspace,
      mul(mul(idx(p.facts.HV), span), idx(p.fieldBase[field])), ValueRange{region});
  Value n = map.lookup(p.seqLoop.getInductionVar());
  Value h = map.lookup(p.headLoop.getInductionVar());
  Value first = add(mul(h, span), add(sequenceStart(n), mul(n, idx(p.C))));
  SmallVector<Value> strides(rank);
  int64_t stride = 1;
  for (int64_t d = rank - 1; d >= 1; --d) {
    strides[d] = idx(stride);
    stride *= type.getDimSize(d);
  }
  if (p.fieldTransposed[field]) // [C, X] kept as X lines of C
    strides[1] = idx(1), strides[2] = idx(p.C);
  strides[0] = idx(p.C * p.fieldWidth[field]);
  return slicedView(regionView, mul(first, idx(p.fieldWidth[field])), strides, offsets, sizes,
                    dropped);
}

/// `v` in the kernel: mapped already, or rebuilt from what the function computes it from.
FailureOr<Value> KernelWriter::value(Value v) {
  if (Value m = map.lookupOrNull(v))
    return m;
  Operation *def = v.getDefiningOp();
  if (!def)
    return p.fn.emitError() << kPass << ": a block argument the kernels cannot take over (of "
                            << cast<BlockArgument>(v).getOwner()->getParentOp()->getName() << ")",
           failure();
  if (auto dim = dyn_cast<tensor::DimOp>(def)) {
    std::optional<int64_t> d = dim.getConstantIndex();
    if (!isa<BlockArgument>(dim.getSource()) || !d)
      return def->emitError() << kPass << ": only sizes of the function's tensors are taken over",
             failure();
    FailureOr<Value> e = extent(cast<RankedTensorType>(dim.getSource().getType()), *d, def);
    if (succeeded(e))
      map.map(v, *e);
    return e;
  }
  if (isa<tensor::ExtractSliceOp, TileConvertLayoutOp>(def) ||
      (isa<arith::ArithDialect>(def->getDialect()) &&
       llvm::all_of(def->getResultTypes(), [](Type t) { return !isa<ShapedType>(t); }))) {
    if (failed(cloneOp(def)))
      return failure();
    return map.lookup(v);
  }
  if (auto extract = dyn_cast<tensor::ExtractOp>(def)) {
    // An element of a layer tensor (cu_seqlens[n]): a load from its buffer.
    Value buffer = args.byRole(roleOf(extract.getTensor()));
    if (!buffer || extract.getIndices().size() != 1)
      return def->emitError() << kPass << ": only elements of cu_seqlens are read by the kernels",
             failure();
    FailureOr<Value> i = value(extract.getIndices()[0]);
    if (failed(i))
      return failure();
    Value x = memref::LoadOp::create(b, loc, buffer, ValueRange{*i});
    map.map(v, x);
    return x;
  }
  if (auto fill = dyn_cast<linalg::FillOp>(def)) {
    // A tile filled with a constant (a zero initial state): the constant as a splat.
    auto type = cast<RankedTensorType>(v.getType());
    auto c = fill.getInputs()[0].getDefiningOp<arith::ConstantOp>();
    if (c) {
      Value splat =
          arith::ConstantOp::create(b, loc, type, SplatElementsAttr::get(type, c.getValue()));
      map.map(v, splat);
      return splat;
    }
  }
  return def->emitError() << kPass << ": cannot take " << def->getName()
                          << " into a kernel (the kernels read the function's tensors, index "
                             "arithmetic and tile ops only)",
         failure();
}

LogicalResult KernelWriter::cloneOp(Operation *op) {
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    auto source = slice.getSource();
    FailureOr<Value> memory;
    int64_t alignment = 0;
    bool padded = false;
    if (auto arg = dyn_cast<BlockArgument>(source); arg && arg.getOwner()->getParentOp() == p.fn) {
      std::string role = roleOf(arg);
      Value buffer = args.byRole(role);
      if (!buffer)
        return op->emitError() << kPass << ": argument " << arg.getArgNumber()
                               << " has no role in the layer (gdn.operands)";
      memory = view(buffer, slice.getSourceType(), slice.getMixedOffsets(), slice.getMixedSizes(),
                    slice.getDroppedDims(), op);
      alignment = layerRowAlignment(role, slice.getSourceType(), slice.getMixedOffsets());
    } else if (auto r = dyn_cast<OpResult>(source); r && r.getOwner() == p.prep) {
      memory = workspaceView(r.getResultNumber(), slice.getMixedOffsets(), slice.getMixedSizes(),
                             slice.getDroppedDims());
      alignment = kWorkspaceRowAlignment;
      padded = true;
    } else {
      // A slice of a tile: cloned.
      for (Value operand : op->getOperands())
        if (failed(value(operand)))
          return failure();
      map.map(slice.getResult(), b.clone(*op, map)->getResult(0));
      return success();
    }
    if (failed(memory))
      return failure();
    Type element = cast<MemRefType>(memory->getType()).getElementType();
    auto t = bufferization::ToTensorOp::create(b, loc, slice.getType().clone(element), *memory,
                                               /*restrict=*/true, /*writable=*/false);
    if (alignment)
      t->setAttr(tiles::kRowAlignmentAttr, b.getI64IntegerAttr(alignment));
    if (padded)
      t->setAttr(tiles::kPaddedToBoundAttr, b.getUnitAttr());
    map.map(slice.getResult(), t.getResult());
    return success();
  }
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    auto it = p.results.find(insert.getDest());
    if (it == p.results.end())
      return op->emitError() << kPass << ": only writes into the layer's results are taken over";
    auto resultType = cast<RankedTensorType>(p.seqLoop.getRegionIterArgs()[it->second].getType());
    std::optional<llvm::SmallDenseSet<unsigned>> mask =
        computeRankReductionMask(insert.getStaticSizes(), insert.getSourceType().getShape());
    if (!mask)
      return op->emitError() << kPass << ": cannot read the slice's dropped dimensions";
    llvm::SmallBitVector dropped(resultType.getRank());
    for (unsigned d : *mask)
      dropped.set(d);
    FailureOr<Value> tile = value(insert.getSource());
    if (failed(tile))
      return failure();
    FailureOr<Value> memory = view(resultBuffer(it->second), resultType, insert.getMixedOffsets(),
                                   insert.getMixedSizes(), dropped, op);
    if (failed(memory))
      return failure();
    return store(*tile, *memory,
                 layerRowAlignment(it->second == 0 ? "o" : "final_state", resultType,
                                   insert.getMixedOffsets()));
  }
  if (auto round = dyn_cast<arith::TruncFOp>(op)) {
    // The rounding of a tile the workspace keeps narrow already: the narrow tile.
    FailureOr<Value> x = value(round.getIn());
    if (failed(x))
      return failure();
    if (x->getType() == round.getType()) {
      map.map(round.getResult(), *x);
      return success();
    }
  }
  if (auto cvt = dyn_cast<TileConvertLayoutOp>(op)) {
    FailureOr<Value> x = value(cvt.getX());
    if (failed(x))
      return failure();
    // A narrow workspace tile converts into its layout narrow (its readers only round it).
    Type element = getElementTypeOrSelf(x->getType());
    if (element != getElementTypeOrSelf(cvt.getType())) {
      map.map(cvt.getResult(),
              TileConvertLayoutOp::create(
                  b, loc, cast<RankedTensorType>(cvt.getType()).clone(element), *x));
      return success();
    }
    // A constant tile converts by being made in its new layout.
    if (auto c = x->getDefiningOp<arith::ConstantOp>()) {
      if (auto splat = dyn_cast<SplatElementsAttr>(c.getValue())) {
        auto type = cast<RankedTensorType>(cvt.getType());
        map.map(cvt.getResult(),
                arith::ConstantOp::create(
                    b, loc, type, SplatElementsAttr::get(type, splat.getSplatValue<Attribute>())));
        return success();
      }
    }
  }
  for (Value operand : op->getOperands())
    if (failed(value(operand)))
      return failure();
  WalkResult nested = op->walk([&](Operation *inner) {
    if (inner == op)
      return WalkResult::advance();
    for (Value operand : inner->getOperands())
      if (!op->isAncestor(operand.getParentBlock()->getParentOp()) && failed(value(operand)))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (nested.wasInterrupted())
    return failure();
  b.clone(*op, map);
  return success();
}

LogicalResult KernelWriter::cloneBlock(Block &block, Operation *stopAt) {
  for (Operation &op : block) {
    if (&op == stopAt || op.hasTrait<OpTrait::IsTerminator>())
      break;
    if (isa<tensor::EmptyOp, linalg::FillOp>(op))
      continue; // the workspace and results are buffers now
    if (failed(cloneOp(&op)))
      return failure();
  }
  return success();
}

LogicalResult KernelWriter::writePrep() {
  // Block x: the chunk slot (sequence n, chunk c); y: the value head.
  Value slot = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  map.map(p.headLoop.getInductionVar(), gpu::BlockIdOp::create(b, loc, gpu::Dimension::y));
  if (!args.cuSeqlens) {
    // N ceil(T / C) slots, sequence after sequence.
    Value chunks = arith::CeilDivUIOp::create(b, loc, args.T, idx(p.C));
    map.map(p.seqLoop.getInductionVar(), arith::DivUIOp::create(b, loc, slot, chunks).getResult());
    map.map(p.prep.getInductionVars()[0], arith::RemUIOp::create(b, loc, slot, chunks).getResult());
  } else {
    // Packed: ceil(T / C) + N slots; sequence m owns [floor(cu[m] / C) + m, floor(cu[m+1] / C)
    // + m + 1) (at least its chunks), found by bisection; a slot past its sequence's chunks
    // returns at once.
    auto firstSlot = [&](OpBuilder &at, Value m) {
      Value start = arith::IndexCastOp::create(at, loc, at.getIndexType(),
                                               memref::LoadOp::create(at, loc, args.cuSeqlens, m));
      return arith::AddIOp::create(
                 at, loc,
                 arith::DivUIOp::create(at, loc, start, tiles::indexConstant(at, loc, p.C)), m)
          .getResult();
    };
    auto search = scf::WhileOp::create(
        b, loc, TypeRange{idxType, idxType}, ValueRange{idx(0), args.N},
        [&](OpBuilder &at, Location l, ValueRange lh) {
          Value wide = arith::CmpIOp::create(at, l, arith::CmpIPredicate::ugt,
                                             arith::SubIOp::create(at, l, lh[1], lh[0]),
                                             tiles::indexConstant(at, l, 1));
          scf::ConditionOp::create(at, l, wide, lh);
        },
        [&](OpBuilder &at, Location l, ValueRange lh) {
          Value mid = arith::DivUIOp::create(at, l, arith::AddIOp::create(at, l, lh[0], lh[1]),
                                             tiles::indexConstant(at, l, 2));
          Value below =
              arith::CmpIOp::create(at, l, arith::CmpIPredicate::ule, firstSlot(at, mid), slot);
          scf::YieldOp::create(at, l,
                               ValueRange{arith::SelectOp::create(at, l, below, mid, lh[0]),
                                          arith::SelectOp::create(at, l, below, lh[1], mid)});
        });
    Value m = search.getResult(0);
    Value c = arith::SubIOp::create(b, loc, slot, firstSlot(b, m));
    map.map(p.seqLoop.getInductionVar(), m);
    map.map(p.prep.getInductionVars()[0], c);
    Value start = sequenceStart(m);
    Value end = toIndex(memref::LoadOp::create(b, loc, args.cuSeqlens, ValueRange{add(m, idx(1))}));
    Value chunks =
        arith::CeilDivUIOp::create(b, loc, arith::SubIOp::create(b, loc, end, start), idx(p.C));
    Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, c, chunks);
    auto guard = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    b.setInsertionPoint(guard.thenBlock()->getTerminator());
  }
  // Each result is stored as soon as it is computed, so that its registers are free for what
  // follows (stores at the end would keep every result live across the whole prep).
  auto storeField = [&](tensor::ParallelInsertSliceOp insert) -> LogicalResult {
    auto field = cast<BlockArgument>(insert.getDest()).getArgNumber() - 1;
    FailureOr<Value> tile = value(insert.getSource());
    if (failed(tile))
      return failure();
    std::optional<llvm::SmallDenseSet<unsigned>> mask =
        computeRankReductionMask(insert.getStaticSizes(), insert.getSourceType().getShape());
    if (!mask)
      return insert.emitError() << kPass << ": cannot read the slice's dropped dimensions";
    llvm::SmallBitVector dropped(insert.getDestType().getRank());
    for (unsigned d : *mask)
      dropped.set(d);
    FailureOr<Value> memory =
        workspaceView(field, insert.getMixedOffsets(), insert.getMixedSizes(), dropped);
    if (failed(memory))
      return failure();
    Value stored = *tile;
    if (!p.fieldType[field].isF32()) {
      // Kept narrow: rounded in its register layout (what every reader does), stored narrow.
      auto held = tile->getDefiningOp<TileConvertLayoutOp>();
      auto inRegisters = cast<RankedTensorType>(held.getX().getType());
      Value narrow =
          arith::TruncFOp::create(b, loc, inRegisters.clone(p.fieldType[field]), held.getX());
      stored = TileConvertLayoutOp::create(
          b, loc, cast<RankedTensorType>(tile->getType()).clone(p.fieldType[field]), narrow);
    }
    return store(stored, *memory, kWorkspaceRowAlignment, /*padded=*/true);
  };
  // The results by the op that computes them (in the prep's body), and those from outside it.
  DenseMap<Operation *, SmallVector<tensor::ParallelInsertSliceOp>> storedAfter;
  SmallVector<tensor::ParallelInsertSliceOp> storedLast;
  for (Operation &op : p.prep.getTerminator().getYieldingOps()) {
    auto insert = cast<tensor::ParallelInsertSliceOp>(op);
    Operation *def = insert.getSource().getDefiningOp();
    if (def && def->getBlock() == p.prep.getBody())
      storedAfter[def].push_back(insert);
    else
      storedLast.push_back(insert);
  }
  for (Operation &op : p.prep.getBody()->without_terminator()) {
    if (isa<tensor::EmptyOp, linalg::FillOp>(op))
      continue; // the workspace and results are buffers now
    if (failed(cloneOp(&op)))
      return failure();
    for (tensor::ParallelInsertSliceOp insert : storedAfter.lookup(&op))
      if (failed(storeField(insert)))
        return failure();
  }
  for (tensor::ParallelInsertSliceOp insert : storedLast)
    if (failed(storeField(insert)))
      return failure();
  return success();
}

LogicalResult KernelWriter::writeStep() {
  map.map(p.seqLoop.getInductionVar(), gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  map.map(p.headLoop.getInductionVar(), gpu::BlockIdOp::create(b, loc, gpu::Dimension::y));
  // Block z: the tile of value columns (the tile loop's ops before the step, its column offset
  // and the state's slice, are cloned where used).
  if (p.tiles)
    map.map(p.tiles.getInductionVar(), gpu::BlockIdOp::create(b, loc, gpu::Dimension::z));
  // The chunk loop carries what it keeps on chip (the state); the results it builds are
  // written where the program inserts into them.
  SmallVector<unsigned> kept;
  SmallVector<Value> inits;
  for (auto [i, arg] : llvm::enumerate(p.step.getRegionIterArgs())) {
    if (p.results.count(arg))
      continue;
    FailureOr<Value> init = value(p.step.getInitArgs()[i]);
    if (failed(init))
      return failure();
    kept.push_back(i);
    inits.push_back(*init);
  }
  FailureOr<Value> lb = value(p.step.getLowerBound()), ub = value(p.step.getUpperBound()),
                   st = value(p.step.getStep());
  if (failed(lb) || failed(ub) || failed(st))
    return failure();
  auto loop = scf::ForOp::create(b, loc, *lb, *ub, *st, inits);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    map.map(p.step.getInductionVar(), loop.getInductionVar());
    for (auto [j, i] : llvm::enumerate(kept))
      map.map(p.step.getRegionIterArgs()[i], loop.getRegionIterArgs()[j]);
    if (failed(cloneBlock(*p.step.getBody())))
      return failure();
    auto yield = cast<scf::YieldOp>(p.step.getBody()->getTerminator());
    SmallVector<Value> yielded;
    for (unsigned i : kept) {
      FailureOr<Value> v = value(yield.getOperand(i));
      if (failed(v))
        return failure();
      yielded.push_back(*v);
    }
    scf::YieldOp::create(b, loc, yielded);
  }
  for (auto [j, i] : llvm::enumerate(kept))
    map.map(p.step.getResult(i), loop.getResult(j));
  // What the head loop does with the loop's results (the final state written out).
  for (Operation *op = p.step->getNextNode(); op && !op->hasTrait<OpTrait::IsTerminator>();
       op = op->getNextNode()) {
    if (isa<tensor::EmptyOp, linalg::FillOp>(op))
      continue;
    if (failed(cloneOp(op)))
      return failure();
  }
  return success();
}

/// The attributes of the contract common to both kernels.
void setContract(OpBuilder &b, gpu::GPUFuncOp kernel, ChunkProgram &p,
                 ArrayRef<std::string> names) {
  int64_t threads = 32 * p.warps;
  setLaunchAttributes(b, kernel, names, threads, p.vTile, p.facts.V);
  kernel->setAttr("gdn.chunk_size", b.getI64IntegerAttr(p.C));
  kernel->setAttr("gdn.shared_memory_bytes", b.getI64IntegerAttr(0));
}

LogicalResult buildKernels(OpBuilder &b, ChunkProgram &p) {
  KernelOperands operands = kernelOperands(p.facts);
  operands.workspace = true;
  SmallVector<Type> types;
  SmallVector<std::string> names;
  kernelArguments(b, operands, types, names);
  std::string name = p.fn.getName().str();
  auto makeKernel = [&](const std::string &kernelName) {
    auto kernel =
        gpu::GPUFuncOp::create(b, p.fn.getLoc(), kernelName, b.getFunctionType(types, {}));
    setContract(b, kernel, p, names);
    return kernel;
  };
  gpu::GPUFuncOp prep = makeKernel(name + "_prep");
  prep->setAttr("gdn.prep", b.getUnitAttr());
  prep->setAttr("gdn.grid",
                b.getStringAttr(p.facts.varlen ? "ceil(T/C)+N,HV,1" : "N*ceil(T/C),HV,1"));
  gpu::GPUFuncOp step = makeKernel(name);
  step->setAttr("gdn.prep_kernel", b.getStringAttr(name + "_prep"));
  step->setAttr("gdn.prep_block", b.getI64IntegerAttr(32 * p.warps));
  step->setAttr("gdn.prep_shared_memory_bytes", b.getI64IntegerAttr(0));
  step->setAttr("gdn.workspace_token_bytes", b.getI64IntegerAttr(p.tokenBytes));
  step->setAttr("gdn.workspace_sequence_bytes", b.getI64IntegerAttr(p.C * p.tokenBytes));
  step->setAttr("gdn.layer", b.getStringAttr(RecurrenceOp::getOperationName()));
  step->setAttr(
      "gdn.variant",
      b.getStringAttr(
          (stringifyGateKind(p.facts.gate) + "," + stringifyUpdateRule(p.facts.rule)).str()));
  for (auto [kernel, write] :
       {std::pair{prep, &KernelWriter::writePrep}, std::pair{step, &KernelWriter::writeStep}}) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&kernel.getBody().front());
    KernelArguments args = unpackArguments(kernel.getBody().front(), operands);
    KernelWriter writer(b, p, args);
    if (failed((writer.*write)()))
      return failure();
    b.setInsertionPointToEnd(&kernel.getBody().front());
    gpu::ReturnOp::create(b, p.fn.getLoc());
  }
  return success();
}

struct GdnChunkKernelsPass : public gdn::impl::GdnChunkKernelsBase<GdnChunkKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(refuseTransitions(module, kPass)))
      return signalPassFailure();
    SmallVector<func::FuncOp> forms;
    for (auto fn : module.getOps<func::FuncOp>())
      if (holdsChunkedForm(fn))
        forms.push_back(fn);
    if (forms.empty())
      return;
    std::vector<ChunkProgram> programs(forms.size());
    for (auto [program, fn] : llvm::zip(programs, forms))
      if (failed(program.read(fn)))
        return signalPassFailure();
    OpBuilder b(module.getBodyRegion());
    createKernelModule(b, module);
    for (ChunkProgram &program : programs)
      if (failed(buildKernels(b, program)))
        return signalPassFailure();
    for (ChunkProgram &program : programs)
      program.fn.erase();
  }
};

} // namespace
