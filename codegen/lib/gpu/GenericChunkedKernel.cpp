//===- GenericChunkedKernel.cpp - any chunk program as one fused GPU kernel -===//
//
// The chunked kernels of ChunkedKernel.cpp are fragments for the six families' tile programs.
// This lowers any tile program of the chunked form op by op instead, as the single fused
// kernel of docs/design.md §3: one block per (sequence, value head) walks the chunks in order
// with the K x V state in shared memory; within a chunk, the prep's ops (the gdn.chunk_prep
// forall, if the form is split: its values never leave shared memory) and then the step's
// run one after another, each tile op as a loop of the block's threads over the elements of
// its result (f32, CUDA cores), with a barrier between ops. Index arithmetic is cloned; the
// sequence and head loops become the block's coordinates; input tiles are read from global
// memory and the output and final state written there.
//
// Shared memory: each tile value gets a slot from a plan made before emitting (values
// bounded by the chunk size C in their dynamic extents); a slot is reused once every value
// in it is dead, and an element-wise op writes over its first operand where that operand dies
// there (so S, decayed and updated in place, stays in one slot). It is the path for tile
// programs no fragment implements, not a fast one (docs/gpu-kernels.md).
//
//===----------------------------------------------------------------------===//
#include "GenericChunkedKernel.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <map>

using namespace mlir;
using namespace mlir::gdn;

namespace {

constexpr int64_t kThreads = 256;
constexpr int64_t kMaxShared = 227 * 1024;

/// Where a tensor value of the chunk program lives.
struct Place {
  int64_t slot = -1;        ///< shared-memory slot (tile values)
  SmallVector<int64_t> cap; ///< static capacity of each dimension
};

class GenericKernelBuilder : KernelBuilderBase {
public:
  GenericKernelBuilder(OpBuilder &b, func::FuncOp fn, const LayerFacts &facts,
                       const std::map<std::string, unsigned> &roles)
      : KernelBuilderBase(b, fn.getLoc()), fn(fn), f(facts), roles(roles) {}

  FailureOr<gpu::GPUFuncOp> build(const std::string &name);

private:
  // --- the chunk program ------------------------------------------------------
  LogicalResult findLoops();
  LogicalResult plan();
  LogicalResult capacityOf(Value v, SmallVector<int64_t> &cap);
  bool isElementwise(Operation *op) const {
    return isa<TileRowScaleOp, TileGateRowsOp, TileDecayStateOp, arith::AddFOp, arith::SubFOp,
               arith::MulFOp>(op);
  }
  /// The value whose slot `v` shares (itself for a fresh value).
  Value rootOf(Value v) {
    auto it = alias.find(v);
    return it == alias.end() ? v : rootOf(it->second);
  }

  // --- emission ---------------------------------------------------------------
  LogicalResult emitRegion(Block &block);
  LogicalResult emitChunkLoop();
  LogicalResult emitChunkOp(Operation *op);
  LogicalResult cloneScalar(Operation *op);
  Value scalar(Value v) { return mapping.lookupOrNull(v); }
  /// The runtime extent of dimension d of a function argument or accumulator.
  Value globalDim(Value tensor, int64_t d);
  Value globalBuffer(Value tensor);
  /// Linear element index into a global tensor at `offsets` + the tile's (i, j).
  Value globalIndex(Value tensor, ArrayRef<OpFoldResult> offsets, const llvm::SmallBitVector &kept,
                    Value i, Value j);
  SmallVector<Value> dimsOf(Value v);
  Value at(Value v, Value i, Value j); ///< element index into the slot view
  Value load(Value v, Value i, Value j) {
    return memref::LoadOp::create(b, loc, smem, ValueRange{at(v, i, j)});
  }
  void store(Value v, Value i, Value j, Value x) {
    memref::StoreOp::create(b, loc, x, smem, ValueRange{at(v, i, j)});
  }
  /// for (e = tid; e < d0 * d1; e += threads) body(i = e / d1, j = e % d1), then a barrier.
  void forEach(Value d0, Value d1, function_ref<void(Value, Value)> body, bool sync = true);
  Value gateAt(Value G, Value i, Value c); ///< G[i] (scalar gates) or G[i, c]
  void barrier() { gpu::BarrierOp::create(b, loc); }
  Value constIdx(OpFoldResult r) {
    if (auto a = dyn_cast<Attribute>(r))
      return idx(cast<IntegerAttr>(a).getInt());
    return scalar(cast<Value>(r));
  }

  func::FuncOp fn;
  int64_t C = 0; ///< the chunk size, from the chunk loop's mark
  const LayerFacts &f;
  const std::map<std::string, unsigned> &roles;
  scf::ForOp seqLoop, headLoop, chunkLoop;
  scf::ForallOp prep;
  SmallVector<Operation *> chunkOps; ///< the prep's ops, then the step's, in order
  DenseMap<Value, Value> alias;      ///< value -> value whose slot it shares
  /// Products written straight into the slot of the add / sub that consumes them: the sign of
  /// the product there (+1: x + a b, -1: x - a b). That add / sub then emits nothing.
  DenseMap<Operation *, int> accumulate;
  DenseSet<Operation *> absorbed;
  DenseMap<Value, Place> places; ///< root values -> slot
  SmallVector<int64_t> slotOffsets, slotBytes;
  int64_t sharedBytes = 0;
  Value stateRoot; ///< the chunk loop's state argument (its slot holds S between chunks)

  IRMapping mapping; ///< index values of the function -> kernel values
  KernelArguments args;
  Value smem, tid, gridN;
};

LogicalResult GenericKernelBuilder::findLoops() {
  if (failed(refuseTransitions(fn, "generic chunked kernel")))
    return failure();
  SmallVector<Operation *> loops, preps;
  fn.walk([&](Operation *op) {
    for (const char *mark : {"gdn.chunk_step", "gdn.chunk_loop"})
      if (auto c = op->getAttrOfType<IntegerAttr>(mark)) {
        chunkLoop = dyn_cast<scf::ForOp>(op);
        C = c.getInt();
        loops.push_back(op);
      }
    if (auto p = dyn_cast<scf::ForallOp>(op); p && p->hasAttr("gdn.chunk_prep")) {
      prep = p;
      preps.push_back(op);
    }
  });
  if (failed(checkOneLayerPerFunction(loops, "generic chunked kernel", "chunk loop")) ||
      failed(checkOneLayerPerFunction(preps, "generic chunked kernel", "gdn.chunk_prep forall")))
    return failure();
  if (!chunkLoop || C < 1)
    return fn.emitError("generic chunked kernel: no chunk loop marked with its chunk size in ")
           << fn.getName();
  headLoop = chunkLoop->getParentOfType<scf::ForOp>();
  seqLoop = headLoop ? headLoop->getParentOfType<scf::ForOp>() : scf::ForOp();
  if (!seqLoop || seqLoop->getParentOp() != fn.getOperation() ||
      (prep && prep->getParentOp() != headLoop.getOperation()))
    return chunkLoop.emitError("generic chunked kernel: the chunk loop must sit in a value-head "
                               "loop in a sequence loop, as gdn-chunkwise writes it");
  if (chunkLoop.getNumRegionIterArgs() != 2)
    return chunkLoop.emitError("generic chunked kernel: the chunk loop must carry the output and "
                               "the state");
  return success();
}

LogicalResult GenericKernelBuilder::capacityOf(Value v, SmallVector<int64_t> &cap) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() < 1 || type.getRank() > 2)
    return v.getDefiningOp()->emitError("generic chunked kernel: chunk values must be 1-D or 2-D "
                                        "tensors");
  cap.clear();
  for (int64_t d : type.getShape())
    cap.push_back(ShapedType::isDynamic(d) ? C : d); // dynamic extents are rows <= C
  return success();
}

LogicalResult GenericKernelBuilder::plan() {
  if (prep)
    for (Operation &op : prep.getBody()->without_terminator())
      chunkOps.push_back(&op);
  for (Operation &op : chunkLoop.getBody()->without_terminator())
    chunkOps.push_back(&op);
  DenseMap<Operation *, int64_t> position;
  for (auto [p, op] : llvm::enumerate(chunkOps))
    position[op] = p;
  const int64_t never = static_cast<int64_t>(chunkOps.size()) + 1;

  // The prep's results cross to the step through these inserts.
  DenseMap<Value, Value> inserted; // forall result -> value inserted into it
  if (prep)
    for (Operation &op : prep.getTerminator().getBody()->getOperations())
      if (auto ins = dyn_cast<tensor::ParallelInsertSliceOp>(op))
        inserted[prep.getResult(cast<BlockArgument>(ins.getDest()).getArgNumber() -
                                prep.getRank())] = ins.getSource();

  // Last use of each value within the chunk; the step's reads of a prep value count for it.
  DenseMap<Value, int64_t> lastUse;
  auto use = [&](Value v, int64_t p) { lastUse[v] = std::max(lastUse.lookup(v), p); };
  for (auto [p, op] : llvm::enumerate(chunkOps)) {
    for (Value operand : op->getOperands())
      use(operand, p);
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
      if (Value src = inserted.lookup(slice.getSource()))
        use(src, p);
  }
  for (Value v : chunkLoop.getBody()->getTerminator()->getOperands())
    use(v, never);
  DenseMap<Value, SmallVector<int64_t>> uses; // every position that reads a value
  for (auto [p, op] : llvm::enumerate(chunkOps))
    for (Value operand : op->getOperands())
      uses[operand].push_back(p);
  for (Value v : chunkLoop.getBody()->getTerminator()->getOperands())
    uses[v].push_back(never);

  stateRoot = chunkLoop.getRegionIterArgs()[1];
  SmallVector<int64_t> stateCap;
  if (failed(capacityOf(stateRoot, stateCap)))
    return failure();
  std::multimap<int64_t, int64_t> freeSlots; // bytes -> slot
  auto newSlot = [&](int64_t bytes) {
    auto it = freeSlots.lower_bound(bytes);
    if (it != freeSlots.end()) {
      int64_t slot = it->second;
      freeSlots.erase(it);
      return slot;
    }
    slotOffsets.push_back(sharedBytes);
    slotBytes.push_back(bytes);
    sharedBytes += (bytes + 15) / 16 * 16;
    return static_cast<int64_t>(slotBytes.size() - 1);
  };
  auto bytesOf = [](ArrayRef<int64_t> cap) {
    int64_t n = 4;
    for (int64_t c : cap)
      n *= c;
    return n;
  };
  places[stateRoot] = {newSlot(bytesOf(stateCap)), stateCap};
  DenseMap<Value, int64_t> rootLastUse; // root -> last use of any value in its slot
  rootLastUse[stateRoot] = lastUse.lookup(stateRoot);

  DenseMap<Value, SmallVector<Value>> members; // root -> the values in its slot
  members[stateRoot].push_back(stateRoot);
  // x + a b or x - a b where x dies there and nothing reads x's slot between the product and
  // the add: the product accumulates into x's slot (no slot of its own: for S_next = decayed
  // S + K^T Vnew that is the K x V slot).
  auto accumulateTarget = [&](TileMatmulOp mm, int64_t pos, int &sign) -> Value {
    if (!mm->hasOneUse())
      return Value();
    Operation *user = *mm->getUsers().begin();
    if (!position.count(user) || !isa<arith::AddFOp, arith::SubFOp>(user))
      return Value();
    int64_t at = position[user];
    Value x = user->getOperand(0) == mm.getResult() ? user->getOperand(1) : user->getOperand(0);
    if (isa<arith::SubFOp>(user) && user->getOperand(1) != mm.getResult())
      return Value(); // a b - x: not an accumulation into x
    if (x == mm.getResult() || !members.count(rootOf(x)) || !places.count(rootOf(x)))
      return Value(); // x not placed yet (made after the product)
    Value root = rootOf(x);
    if (rootOf(mm.getA()) == root || rootOf(mm.getB()) == root)
      return Value();
    for (Value member : members[root])
      for (int64_t u : uses.lookup(member))
        if (u > pos && !(member == x && u == at))
          return Value();
    sign = isa<arith::SubFOp>(user) ? -1 : 1;
    return x;
  };
  for (auto [p, op] : llvm::enumerate(chunkOps)) {
    int64_t pos = static_cast<int64_t>(p);
    for (Value r : op->getResults()) {
      if (!isa<RankedTensorType>(r.getType()) || isa<tensor::InsertSliceOp>(op))
        continue; // scalars; the output accumulator (global memory)
      Value share;
      int sign = 0;
      if (absorbed.contains(op))
        share =
            op->getOperand(0).getDefiningOp<TileMatmulOp>() ? op->getOperand(0) : op->getOperand(1);
      else if (auto mm = dyn_cast<TileMatmulOp>(op);
               mm && (share = accumulateTarget(mm, pos, sign))) {
        accumulate[op] = sign;
        absorbed.insert(*mm->getUsers().begin());
      } else if (isa<arith::ExtFOp, arith::TruncFOp>(op))
        share = op->getOperand(0);
      else if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
        share = inserted.lookup(slice.getSource()); // a prep value read back: no copy
      else if (isElementwise(op) && rootLastUse.lookup(rootOf(op->getOperand(0))) <= pos)
        share = op->getOperand(0); // written over its first operand, which dies here
      if (share) {
        alias[r] = share;
        Value root = rootOf(share);
        members[root].push_back(r);
        rootLastUse[root] = std::max(rootLastUse.lookup(root), lastUse.lookup(r));
        continue;
      }
      SmallVector<int64_t> cap;
      if (failed(capacityOf(r, cap)))
        return failure();
      members[r].push_back(r);
      places[r] = {newSlot(bytesOf(cap)), cap};
      rootLastUse[r] = std::max(lastUse.lookup(r), pos);
    }
    // Free the slots whose values all died at this op (the state's is kept).
    for (auto &[root, last] : rootLastUse)
      if (last == pos && root != stateRoot && places.count(root) && last < never) {
        freeSlots.insert({slotBytes[places[root].slot], places[root].slot});
        last = -1; // freed once
      }
  }
  if (sharedBytes > kMaxShared)
    return chunkLoop.emitError("generic chunked kernel: the chunk program needs ")
           << sharedBytes << " bytes of shared memory (at most " << kMaxShared
           << "); use a smaller chunk size";
  return success();
}

Value GenericKernelBuilder::globalBuffer(Value tensor) {
  // Function arguments by their role; accumulators (o, final state) by what they hold.
  if (auto arg = dyn_cast<BlockArgument>(tensor); arg && arg.getOwner()->getParentOp() == fn) {
    for (auto &[role, index] : roles)
      if (index == arg.getArgNumber())
        return args.byRole(role);
    return Value();
  }
  return mapping.lookupOrNull(tensor);
}

Value GenericKernelBuilder::globalDim(Value tensor, int64_t d) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(d))
    return idx(type.getDimSize(d));
  Value buffer = globalBuffer(tensor);
  if (buffer == args.cuSeqlens)
    return add(gridN, idx(1));
  if (buffer == args.initialState || buffer == args.finalState)
    return gridN;                 // [N, HV, K, V]
  return d == 0 ? gridN : args.T; // [B, T, heads, ...]: B = N without cu_seqlens
}

Value GenericKernelBuilder::globalIndex(Value tensor, ArrayRef<OpFoldResult> offsets,
                                        const llvm::SmallBitVector &kept, Value i, Value j) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Value linear = idx(0);
  int local = 0;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    Value at = constIdx(offsets[d]);
    if (kept.test(d))
      at = add(at, local++ == 0 ? i : j);
    linear = add(mul(linear, globalDim(tensor, d)), at);
  }
  return linear;
}

SmallVector<Value> GenericKernelBuilder::dimsOf(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  Operation *def = v.getDefiningOp();
  SmallVector<Value> dims;
  auto fromOperand = [&](Value x, int64_t d) { return dimsOf(x)[d]; };
  if (type.hasStaticShape() || !def) {
    for (int64_t d : type.getShape())
      dims.push_back(idx(ShapedType::isDynamic(d) ? C : d));
    return dims;
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    for (auto [d, size] : llvm::enumerate(slice.getMixedSizes()))
      if (!dropped.test(d))
        dims.push_back(constIdx(size));
    return dims;
  }
  if (auto gram = dyn_cast<TileGatedGramOp>(def))
    return {fromOperand(gram.getA(), 0), fromOperand(gram.getB(), 0)};
  if (auto mm = dyn_cast<TileMatmulOp>(def))
    return {fromOperand(mm.getA(), mm.getTransposeA() ? 1 : 0), fromOperand(mm.getB(), 1)};
  return dimsOf(def->getOperand(0)); // shape-preserving ops
}

Value GenericKernelBuilder::at(Value v, Value i, Value j) {
  Value root = rootOf(v);
  const Place &p = places[root];
  Value base = idx(slotOffsets[p.slot] / 4);
  if (p.cap.size() == 1)
    return add(base, i);
  return add(base, add(mul(i, idx(p.cap[1])), j));
}

void GenericKernelBuilder::forEach(Value d0, Value d1, function_ref<void(Value, Value)> body,
                                   bool sync) {
  Value total = mul(d0, d1);
  scf::ForOp::create(b, loc, tid, total, idx(kThreads), ValueRange{},
                     [&](OpBuilder &, Location, Value e, ValueRange) {
                       body(arith::DivUIOp::create(b, loc, e, d1),
                            arith::RemUIOp::create(b, loc, e, d1));
                       scf::YieldOp::create(b, loc);
                     });
  if (sync)
    barrier();
}

Value GenericKernelBuilder::gateAt(Value G, Value i, Value c) {
  return cast<RankedTensorType>(G.getType()).getRank() == 1 ? load(G, i, idx(0)) : load(G, i, c);
}

LogicalResult GenericKernelBuilder::cloneScalar(Operation *op) {
  for (Value operand : op->getOperands())
    if (!mapping.contains(operand))
      return op->emitError("generic chunked kernel: no kernel value for an operand of ")
             << op->getName();
  b.clone(*op, mapping);
  return success();
}

LogicalResult GenericKernelBuilder::emitChunkOp(Operation *op) {
  if (llvm::none_of(op->getResultTypes(), [](Type t) { return isa<ShapedType>(t); }) &&
      llvm::none_of(op->getOperandTypes(), [](Type t) { return isa<ShapedType>(t); }))
    return cloneScalar(op);
  if (auto e = dyn_cast<tensor::ExtractOp>(op)) {
    Value buffer = globalBuffer(e.getTensor());
    if (!buffer || e.getIndices().size() != 1)
      return op->emitError("generic chunked kernel: only reads of cu_seqlens are supported");
    mapping.map(e.getResult(), memref::LoadOp::create(b, loc, buffer, scalar(e.getIndices()[0])));
    return success();
  }
  if (auto d = dyn_cast<tensor::DimOp>(op)) {
    auto c = d.getConstantIndex();
    if (!c)
      return op->emitError("generic chunked kernel: tensor.dim needs a constant dimension");
    mapping.map(d.getResult(), globalDim(d.getSource(), *c));
    return success();
  }
  if (isa<arith::ExtFOp, arith::TruncFOp>(op))
    return success(); // tiles are f32 in shared memory; stores convert
  Value r = op->getNumResults() ? op->getResult(0) : Value();

  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    if (alias.count(r))
      return success(); // a prep value read back in the step
    Value buffer = globalBuffer(slice.getSource());
    if (!buffer)
      return op->emitError("generic chunked kernel: tiles can be read only from the layer's "
                           "inputs (annotated by gdn-chunkwise as gdn.operands)");
    if (!llvm::all_of(slice.getMixedStrides(), [](OpFoldResult s) {
          return getConstantIntValue(s) == std::optional<int64_t>(1);
        }))
      return op->emitError("generic chunked kernel: strided slices are not supported");
    SmallVector<Value> dims = dimsOf(r);
    Value d1 = dims.size() == 2 ? dims[1] : idx(1);
    llvm::SmallBitVector kept = slice.getDroppedDims().flip();
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
    forEach(dims[0], d1, [&](Value i, Value j) {
      store(r, i, dims.size() == 2 ? j : idx(0),
            loadF32(buffer, globalIndex(slice.getSource(), offsets, kept, i, j)));
    });
    return success();
  }
  if (auto ins = dyn_cast<tensor::InsertSliceOp>(op)) {
    Value buffer = globalBuffer(ins.getDest());
    if (!buffer)
      return op->emitError("generic chunked kernel: tiles can be written only into the layer's "
                           "outputs");
    SmallVector<Value> dims = dimsOf(ins.getSource());
    Value d1 = dims.size() == 2 ? dims[1] : idx(1);
    // Rank-reducing inserts drop the static unit sizes.
    llvm::SmallBitVector kept(ins.getMixedSizes().size(), true);
    for (auto [d, size] : llvm::enumerate(ins.getMixedSizes()))
      if (getConstantIntValue(size) == std::optional<int64_t>(1))
        kept.reset(d);
    if (static_cast<int64_t>(kept.count()) !=
        cast<RankedTensorType>(ins.getSource().getType()).getRank())
      return op->emitError("generic chunked kernel: the tile's extents must be the insert's "
                           "non-unit sizes");
    SmallVector<OpFoldResult> offsets = ins.getMixedOffsets();
    Type elt = cast<MemRefType>(buffer.getType()).getElementType();
    Value src = ins.getSource();
    forEach(dims[0], d1, [&](Value i, Value j) {
      Value x = load(src, i, dims.size() == 2 ? j : idx(0));
      if (elt != f32)
        x = arith::TruncFOp::create(b, loc, elt, x);
      memref::StoreOp::create(b, loc, x, buffer,
                              ValueRange{globalIndex(ins.getDest(), offsets, kept, i, j)});
    });
    mapping.map(ins.getResult(), buffer);
    return success();
  }
  if (auto fill = dyn_cast<linalg::FillOp>(op)) {
    if (!places.count(rootOf(fill.getResult(0))))
      return op->emitError("generic chunked kernel: fills only of the state");
    SmallVector<Value> dims = dimsOf(fill.getResult(0));
    Value x = scalar(fill.getInputs()[0]);
    forEach(dims[0], dims.size() == 2 ? dims[1] : idx(1),
            [&](Value i, Value j) { store(fill.getResult(0), i, j, x); });
    return success();
  }

  if (absorbed.contains(op))
    return success(); // the product before it accumulated into its slot
  SmallVector<Value> dims = r ? dimsOf(r) : SmallVector<Value>();
  Value d1 = dims.size() == 2 ? dims[1] : idx(1);
  if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp>(op)) {
    forEach(dims[0], d1, [&](Value i, Value j) {
      Value x = load(op->getOperand(0), i, j), y = load(op->getOperand(1), i, j);
      Value z = isa<arith::AddFOp>(op)   ? fadd(x, y)
                : isa<arith::SubFOp>(op) ? fsub(x, y)
                                         : fmul(x, y);
      store(r, i, j, z);
    });
    return success();
  }
  if (auto rs = dyn_cast<TileRowScaleOp>(op)) {
    Value factor = f32c(rs.getFactor().convertToFloat());
    forEach(dims[0], d1, [&](Value i, Value j) {
      Value x = fmul(load(rs.getX(), i, j), factor);
      if (rs.getR())
        x = fmul(x, load(rs.getR(), i, idx(0)));
      store(r, i, j, x);
    });
    return success();
  }
  if (auto gr = dyn_cast<TileGateRowsOp>(op)) {
    Value last = arith::SubIOp::create(b, loc, dimsOf(gr.getGates())[0], idx(1));
    forEach(dims[0], d1, [&](Value i, Value j) {
      Value g = gateAt(gr.getGates(), i, j);
      if (gr.getToEnd())
        g = fsub(gateAt(gr.getGates(), last, j), g);
      store(r, i, j, fmul(load(gr.getX(), i, j), exp(g)));
    });
    return success();
  }
  if (auto ds = dyn_cast<TileDecayStateOp>(op)) {
    Value last = arith::SubIOp::create(b, loc, dimsOf(ds.getGates())[0], idx(1));
    forEach(dims[0], d1, [&](Value i, Value j) {
      store(r, i, j, fmul(load(ds.getState(), i, j), exp(gateAt(ds.getGates(), last, i))));
    });
    return success();
  }
  if (auto cs = dyn_cast<TileCumsumOp>(op)) {
    // One thread per column sums down the rows (exclusive: row i stores the sum before it).
    Value rows = dims[0];
    const bool exclusive = cs.getExclusive();
    forEach(d1, idx(1), [&](Value c, Value) {
      scf::ForOp::create(b, loc, idx(0), rows, idx(1), ValueRange{f32c(0.0f)},
                         [&](OpBuilder &, Location, Value i, ValueRange acc) {
                           Value s = fadd(acc[0], load(cs.getG(), i, c));
                           store(r, i, c, exclusive ? acc[0] : s);
                           scf::YieldOp::create(b, loc, s);
                         });
    });
    return success();
  }
  if (auto nr = dyn_cast<TileL2NormRowsOp>(op)) {
    // One thread per row: its sum of squares, then the row scaled.
    forEach(dims[0], idx(1), [&](Value i, Value) {
      auto sum = scf::ForOp::create(b, loc, idx(0), d1, idx(1), ValueRange{f32c(0.0f)},
                                    [&](OpBuilder &, Location, Value c, ValueRange acc) {
                                      Value x = load(nr.getX(), i, c);
                                      scf::YieldOp::create(b, loc, fadd(acc[0], fmul(x, x)));
                                    });
      Value inv =
          arith::DivFOp::create(b, loc, f32c(1.0f), sqrt(fadd(sum.getResult(0), f32c(1e-6f))));
      scf::ForOp::create(b, loc, idx(0), d1, idx(1), ValueRange{},
                         [&](OpBuilder &, Location, Value c, ValueRange) {
                           store(r, i, c, fmul(load(nr.getX(), i, c), inv));
                           scf::YieldOp::create(b, loc);
                         });
    });
    return success();
  }
  if (auto gram = dyn_cast<TileGatedGramOp>(op)) {
    Value K = dimsOf(gram.getA())[1];
    Value G = gram.getGates();
    // Rows take their cumulative gates from row_gates where given (docs/design.md §2.5).
    Value R = gram.getRowGates() ? gram.getRowGates() : G;
    bool channel = G && cast<RankedTensorType>(G.getType()).getRank() == 2;
    forEach(dims[0], d1, [&](Value i, Value j) {
      auto pred = gram.getDiagonal() ? arith::CmpIPredicate::uge : arith::CmpIPredicate::ugt;
      Value inside = arith::CmpIOp::create(b, loc, pred, i, j);
      auto ifOp = scf::IfOp::create(b, loc, f32, inside, true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        auto sum = scf::ForOp::create(
            b, loc, idx(0), K, idx(1), ValueRange{f32c(0.0f)},
            [&](OpBuilder &, Location, Value c, ValueRange acc) {
              Value x = fmul(load(gram.getA(), i, c), load(gram.getB(), j, c));
              if (channel) // mask first (i >= j here), then exp of a difference <= 0
                x = fmul(x, exp(fsub(gateAt(R, i, c), gateAt(G, j, c))));
              scf::YieldOp::create(b, loc, fadd(acc[0], x));
            });
        Value s = sum.getResult(0);
        if (G && !channel)
          s = fmul(s, exp(fsub(gateAt(R, i, idx(0)), gateAt(G, j, idx(0)))));
        scf::YieldOp::create(b, loc, s);
        b.setInsertionPointToStart(&ifOp.getElseRegion().front());
        scf::YieldOp::create(b, loc, f32c(0.0f));
      }
      store(r, i, j, ifOp.getResult(0));
    });
    return success();
  }
  if (auto inv = dyn_cast<TileUnitLowerInverseOp>(op)) {
    // Tm = (I + A)^-1 by columns: thread j substitutes down column j (no barrier needed: it
    // reads only its own column of Tm and rows of A).
    Value n = dims[0];
    forEach(n, idx(1), [&](Value j, Value) {
      scf::ForOp::create(
          b, loc, idx(0), n, idx(1), ValueRange{}, [&](OpBuilder &, Location, Value i, ValueRange) {
            Value below = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, i, j);
            Value diag = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, i, j);
            auto sum = scf::ForOp::create(
                b, loc, j, i, idx(1), ValueRange{f32c(0.0f)},
                [&](OpBuilder &, Location, Value k, ValueRange acc) {
                  scf::YieldOp::create(b, loc,
                                       fadd(acc[0], fmul(load(inv.getA(), i, k), load(r, k, j))));
                });
            Value value = arith::SelectOp::create(
                b, loc, below, arith::NegFOp::create(b, loc, sum.getResult(0)),
                arith::SelectOp::create(b, loc, diag, f32c(1.0f), f32c(0.0f)));
            store(r, i, j, value);
            scf::YieldOp::create(b, loc);
          });
    });
    return success();
  }
  if (auto mm = dyn_cast<TileMatmulOp>(op)) {
    bool t = mm.getTransposeA();
    Value inner = dimsOf(mm.getA())[t ? 0 : 1];
    int sign = accumulate.lookup(op);
    const Place &place = places[rootOf(r)];
    int64_t cols = cast<RankedTensorType>(r.getType()).getDimSize(1);
    if (ShapedType::isDynamic(cols) || cols % 4 != 0 ||
        cast<RankedTensorType>(mm.getB().getType()).getDimSize(1) != cols) {
      forEach(dims[0], d1, [&](Value i, Value j) {
        auto sum = scf::ForOp::create(b, loc, idx(0), inner, idx(1), ValueRange{f32c(0.0f)},
                                      [&](OpBuilder &, Location, Value k, ValueRange acc) {
                                        Value a = t ? load(mm.getA(), k, i) : load(mm.getA(), i, k);
                                        scf::YieldOp::create(
                                            b, loc, fadd(acc[0], fmul(a, load(mm.getB(), k, j))));
                                      });
        Value x = sum.getResult(0);
        if (sign)
          x = sign > 0 ? fadd(load(r, i, j), x) : fsub(load(r, i, j), x);
        store(r, i, j, x);
      });
      return success();
    }
    // Each thread owns R rows x 4 columns: per k, R loads of A and one 16-byte load of B for
    // 4 R FMAs (the scalar form loads twice per FMA). Rows past the chunk's end are computed
    // from stale shared memory (inside the slot) and not stored.
    const int64_t R = place.cap[0] % 2 == 0 ? 2 : 1;
    Value rowGroups = arith::CeilDivUIOp::create(b, loc, dims[0], idx(R));
    forEach(rowGroups, idx(cols / 4), [&](Value gi, Value gj) {
      Value i0 = mul(gi, idx(R)), j0 = mul(gj, idx(4));
      SmallVector<Value> zeros(R * 4, f32c(0.0f));
      auto sum = scf::ForOp::create(
          b, loc, idx(0), inner, idx(1), zeros,
          [&](OpBuilder &, Location, Value k, ValueRange acc) {
            SmallVector<Value> bk = loadElements(smem, at(mm.getB(), k, j0), 4, 16);
            SmallVector<Value> next;
            for (int64_t q = 0; q < R; ++q) {
              Value row = add(i0, idx(q));
              Value a = t ? load(mm.getA(), k, row) : load(mm.getA(), row, k);
              for (int64_t c = 0; c < 4; ++c)
                next.push_back(fadd(acc[q * 4 + c], fmul(a, bk[c]))); // NVPTX fuses to fma
            }
            scf::YieldOp::create(b, loc, next);
          });
      for (int64_t q = 0; q < R; ++q) {
        Value row = add(i0, idx(q));
        Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, dims[0]);
        auto guard = scf::IfOp::create(b, loc, inside, false);
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(&guard.getThenRegion().front());
        for (int64_t c = 0; c < 4; ++c) {
          Value col = add(j0, idx(c));
          Value x = sum.getResult(q * 4 + c);
          if (sign)
            x = sign > 0 ? fadd(load(r, row, col), x) : fsub(load(r, row, col), x);
          store(r, row, col, x);
        }
      }
    });
    return success();
  }
  return op->emitError("generic chunked kernel: no GPU lowering for ") << op->getName();
}

LogicalResult GenericKernelBuilder::emitChunkLoop() {
  // The state enters the loop in its slot.
  Value init = chunkLoop.getInitArgs()[1];
  alias[init] = stateRoot;
  Operation *initOp = init.getDefiningOp();
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(initOp)) {
    Value x = scalar(fill.getInputs()[0]);
    SmallVector<Value> dims = dimsOf(stateRoot);
    forEach(dims[0], dims[1], [&](Value i, Value j) { store(stateRoot, i, j, x); });
  } else if (isa_and_nonnull<tensor::ExtractSliceOp>(initOp)) {
    alias.erase(init);
    places[init] = places[stateRoot];
    if (failed(emitChunkOp(initOp)))
      return failure();
  } else {
    return chunkLoop.emitError("generic chunked kernel: the state must start from a slice of "
                               "the initial state or a fill");
  }
  mapping.map(chunkLoop.getRegionIterArgs()[0], args.o);
  auto loop = scf::ForOp::create(b, loc, scalar(chunkLoop.getLowerBound()),
                                 scalar(chunkLoop.getUpperBound()), scalar(chunkLoop.getStep()));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  mapping.map(chunkLoop.getInductionVar(), loop.getInductionVar());
  if (prep)
    mapping.map(prep.getInductionVar(0), loop.getInductionVar());
  for (Operation *op : chunkOps)
    if (failed(emitChunkOp(op)))
      return failure();
  // The next state must be in the state's slot for the next chunk.
  Value next = chunkLoop.getBody()->getTerminator()->getOperand(1);
  if (rootOf(next) != stateRoot) {
    SmallVector<Value> dims = dimsOf(stateRoot);
    forEach(dims[0], dims[1], [&](Value i, Value j) { store(stateRoot, i, j, load(next, i, j)); });
  }
  return success();
}

LogicalResult GenericKernelBuilder::emitRegion(Block &block) {
  for (Operation &op : block) {
    if (auto loop = dyn_cast<scf::ForOp>(&op)) {
      if (loop == chunkLoop) {
        if (failed(emitChunkLoop()))
          return failure();
        alias[chunkLoop.getResult(1)] = stateRoot;
        mapping.map(chunkLoop.getResult(0), args.o);
        continue;
      }
      if (loop != seqLoop && loop != headLoop)
        return loop.emitError("generic chunked kernel: unexpected loop");
      // The sequence and head loops are the block's coordinates.
      mapping.map(
          loop.getInductionVar(),
          gpu::BlockIdOp::create(b, loc, loop == seqLoop ? gpu::Dimension::x : gpu::Dimension::y));
      for (auto [arg, init] : llvm::zip(loop.getRegionIterArgs(), loop.getInitArgs()))
        mapping.map(arg, mapping.lookupOrNull(init));
      if (failed(emitRegion(*loop.getBody())))
        return failure();
      continue;
    }
    if (&op == prep.getOperation() || isa<scf::YieldOp>(op))
      continue;
    if (isa<func::ReturnOp>(op))
      continue;
    if (isa<tensor::EmptyOp>(op))
      continue; // accumulators and workspaces: nothing to allocate
    if (auto fill = dyn_cast<linalg::FillOp>(op)) {
      // The output and final-state accumulators (the kernel writes every element), or the
      // zero state (filled in its slot when the chunk loop starts).
      Value r = fill.getResult(0);
      if (llvm::is_contained(seqLoop.getInitArgs(), r)) {
        mapping.map(r, r == seqLoop.getInitArgs()[0] ? args.o : args.finalState);
        continue;
      }
      if (r == chunkLoop.getInitArgs()[1])
        continue;
      return op.emitError("generic chunked kernel: unexpected fill");
    }
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op);
        slice && slice == chunkLoop.getInitArgs()[1].getDefiningOp())
      continue; // read into the state's slot by emitChunkLoop
    if (auto ins = dyn_cast<tensor::InsertSliceOp>(op);
        ins && ins.getSource() == chunkLoop.getResult(1)) {
      // The final state leaves from the state's slot.
      SmallVector<Value> dims = dimsOf(stateRoot);
      llvm::SmallBitVector kept(4, false);
      kept.set(2);
      kept.set(3);
      SmallVector<OpFoldResult> offsets = ins.getMixedOffsets();
      if (!args.finalState)
        return op.emitError("generic chunked kernel: a final state written without the operand");
      forEach(dims[0], dims[1], [&](Value i, Value j) {
        memref::StoreOp::create(b, loc, load(stateRoot, i, j), args.finalState,
                                ValueRange{globalIndex(ins.getDest(), offsets, kept, i, j)});
      });
      mapping.map(ins.getResult(), args.finalState);
      continue;
    }
    if (failed(emitChunkOp(&op)))
      return failure();
  }
  return success();
}

FailureOr<gpu::GPUFuncOp> GenericKernelBuilder::build(const std::string &name) {
  if (failed(findLoops()) || failed(plan()))
    return failure();
  KernelOperands ops = kernelOperands(f);
  SmallVector<Type> types;
  SmallVector<std::string> names;
  kernelArguments(b, ops, types, names);
  auto kernel = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(types, {}));
  OpBuilder::InsertionGuard guard(b);
  Block &entry = kernel.getBody().front();
  b.setInsertionPointToStart(&entry);
  args = unpackArguments(entry, ops);
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Value raw = gpu::DynamicSharedMemoryOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(), workgroup));
  smem = memref::ViewOp::create(
      b, loc, MemRefType::get({std::max<int64_t>(sharedBytes / 4, 1)}, f32, AffineMap(), workgroup),
      raw, idx(0), ValueRange{});
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  gridN = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  if (failed(emitRegion(fn.getBody().front())))
    return failure();
  gpu::ReturnOp::create(b, loc);
  setLaunchAttributes(b, kernel, names, kThreads, f.V, f.V);
  kernel->setAttr("gdn.chunk_size", b.getI64IntegerAttr(C));
  kernel->setAttr("gdn.shared_memory_bytes", b.getI64IntegerAttr(sharedBytes));
  kernel->setAttr("gdn.generic", b.getUnitAttr());
  return kernel;
}

} // namespace

FailureOr<gpu::GPUFuncOp> mlir::gdn::buildGenericChunkedKernel(OpBuilder &b, func::FuncOp fn,
                                                               LayerFacts &f) {
  FailureOr<LayerFacts> facts = chunkedFormFacts(fn);
  if (failed(facts))
    return failure();
  f = *facts;
  f.name = fn.getName().str() + "_generic";
  return GenericKernelBuilder(b, fn, f, chunkedFormOperands(fn)).build(f.name);
}
