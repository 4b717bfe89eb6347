//===- ChunkProgram.cpp - reading the split chunked form for gdn-chunk-kernels ===//
//
// The split chunked form of a layer function as gdn-chunk-kernels outlines it (ChunkProgram.h,
// docs/design.md §3.8): its loops, results and warps, and the workspace plan: per prep result a
// region of HV (B T + N C) w elements, f32 regions first, narrow (bf16/f16) where every reader
// rounds it for a product, transposed where every reader moves fewer pieces that way.
//
//===----------------------------------------------------------------------===//
#include "ChunkProgram.h"
#include "tiles/TileDistribution.h"

#include "gdn/Dialect/GdnLayouts.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::chunks;

bool ChunkProgram::readDownRows(Value r) {
  auto type = cast<RankedTensorType>(r.getType());
  if (type.getRank() != 3)
    return false;
  bool any = false;
  for (Operation *user : r.getUsers()) {
    auto slice = dyn_cast<tensor::ExtractSliceOp>(user);
    if (!slice || slice.getType().getRank() != 2)
      return false;
    for (Operation *reader : slice->getUsers()) {
      auto cvt = dyn_cast<TileConvertLayoutOp>(reader);
      auto to = cvt ? cast<RankedTensorType>(cvt.getType()) : RankedTensorType();
      if (!to || !tileLayout(to) || isa<SharedLayoutAttr>(tileLayout(to)))
        return false;
      std::string why;
      // As the step reads it: the narrow type where the workspace keeps it narrow.
      FailureOr<tiles::Distribution> d = tiles::distribute(to, why, C);
      if (failed(d))
        return false;
      if (tiles::accessPieces(*d, 0, 16).size() >= tiles::accessPieces(*d, 1, 16).size())
        return false;
      any = true;
    }
  }
  return any;
}

Type ChunkProgram::narrowType(Value r) {
  Type f32 = Float32Type::get(r.getContext());
  auto yielded = llvm::find_if(prep.getTerminator().getYieldingOps(), [&](Operation &op) {
    return cast<tensor::ParallelInsertSliceOp>(op).getDest() ==
           prep.getRegionIterArgs()[cast<OpResult>(r).getResultNumber()];
  });
  auto stored = cast<tensor::ParallelInsertSliceOp>(*yielded)
                    .getSource()
                    .getDefiningOp<TileConvertLayoutOp>();
  if (!stored || !tileLayout(stored.getX().getType()))
    return f32;
  Type narrow;
  for (Operation *user : r.getUsers()) {
    auto slice = dyn_cast<tensor::ExtractSliceOp>(user);
    if (!slice)
      return f32;
    for (Operation *reader : slice->getUsers()) {
      if (!isa<TileConvertLayoutOp>(reader) || !tileLayout(reader->getResult(0).getType()))
        return f32;
      for (Operation *use : reader->getUsers()) {
        auto round = dyn_cast<arith::TruncFOp>(use);
        Type t = round ? getElementTypeOrSelf(round.getType()) : Type();
        if (!t || t.getIntOrFloatBitWidth() != 16 || (narrow && t != narrow))
          return f32;
        narrow = t;
      }
    }
  }
  return narrow ? narrow : f32;
}

LogicalResult ChunkProgram::read(func::FuncOp f) {
  fn = f;
  SmallVector<scf::ForallOp> preps;
  SmallVector<scf::ForOp> steps;
  fn.walk([&](Operation *op) {
    if (auto forall = dyn_cast<scf::ForallOp>(op); forall && op->hasAttr("gdn.chunk_prep"))
      preps.push_back(forall);
    if (auto loop = dyn_cast<scf::ForOp>(op); loop && op->hasAttr("gdn.chunk_step"))
      steps.push_back(loop);
    if (op->hasAttr("gdn.chunk_loop"))
      steps.clear(), preps.clear(), steps.push_back(nullptr);
  });
  if (preps.size() != 1 || steps.size() != 1 || !steps.front())
    return fn.emitError() << kPass << ": @" << fn.getName()
                          << " is not in the split chunked form (one gdn.chunk_prep scf.forall and "
                             "one gdn.chunk_step scf.for: run gdn-split-chunk-loop first)";
  prep = preps.front();
  step = steps.front();
  C = step->getAttrOfType<IntegerAttr>("gdn.chunk_step").getInt();
  headLoop = dyn_cast_or_null<scf::ForOp>(step->getParentOp());
  if (headLoop && headLoop->hasAttr("gdn.value_tiles")) {
    tiles = headLoop;
    headLoop = dyn_cast_or_null<scf::ForOp>(tiles->getParentOp());
  }
  seqLoop = headLoop ? dyn_cast_or_null<scf::ForOp>(headLoop->getParentOp()) : nullptr;
  if (!seqLoop || seqLoop->getParentOp() != fn || prep->getParentOp() != headLoop)
    return step.emitError() << kPass
                            << ": expected the chunk loop and the prep inside the value-head loop "
                               "inside the sequence loop of the function, as gdn-chunkwise writes";
  FailureOr<LayerFacts> read = chunkedFormFacts(fn);
  if (failed(read))
    return failure();
  facts = *read;
  for (auto &[role, number] : chunkedFormOperands(fn))
    roles[number] = role;
  // The results as the loops build them: the sequence loop carries o, then the final state
  // (where the layer writes one); its iter args feed the head loop's, which feed the chunk loop's.
  unsigned carried = seqLoop.getNumRegionIterArgs();
  facts.hasFinalState = carried == 2;
  if (carried < 1 || carried > 2)
    return seqLoop.emitError() << kPass
                               << ": expected the sequence loop to carry o and the final state";
  for (unsigned r = 0; r < carried; ++r)
    results[seqLoop.getRegionIterArgs()[r]] = r;
  for (scf::ForOp loop : {headLoop, tiles, step})
    if (loop)
      for (auto [init, arg] : llvm::zip(loop.getInitArgs(), loop.getRegionIterArgs()))
        if (auto it = results.find(init); it != results.end())
          results[arg] = it->second;
  vTile = tiles ? tiles->getAttrOfType<IntegerAttr>("gdn.value_tiles").getInt() : facts.V;
  if (vTile <= 0 || facts.V % vTile != 0)
    return tiles.emitError() << kPass << ": " << vTile
                             << " value columns per tile do not divide V = " << facts.V;
  // The workspace: per prep result a region of N HV (T + C) w elements, (sequence, head) after
  // (sequence, head), chunk c of it at c C w (w = its elements per chunk / C, rounded up: a
  // chunk's rows, or a per-chunk tile like K^T V spread over the chunk's tokens).
  for (Value r : prep.getResults()) {
    auto type = cast<RankedTensorType>(r.getType());
    if (type.getRank() < 2 || !type.getElementType().isF32() ||
        llvm::any_of(type.getShape().drop_front(1), ShapedType::isDynamic))
      return prep.emitError() << kPass
                              << ": a prep result must be f32 chunks of static extent, got "
                              << type;
    int64_t perChunk = 1;
    for (int64_t d : type.getShape().drop_front(1))
      perChunk *= d;
    // Each token's row padded to 16 bytes: every region and row starts 16-byte aligned.
    fieldType.push_back(narrowType(r));
    fieldTransposed.push_back(readDownRows(r));
    int64_t perRow = 16 / (fieldType.back().getIntOrFloatBitWidth() / 8);
    fieldWidth.push_back(llvm::alignTo((perChunk + C - 1) / C, perRow));
  }
  int64_t bytes = 0;
  fieldBase.assign(fieldWidth.size(), 0);
  for (bool narrow : {false, true})
    for (auto [f, t] : llvm::enumerate(fieldType))
      if (t.isF32() != narrow) {
        fieldBase[f] = bytes;
        bytes += fieldWidth[f] * (t.getIntOrFloatBitWidth() / 8);
      }
  tokenBytes = bytes * facts.HV;
  // The block: the layouts' warps (gdn-assign-layouts spreads every tile over the same warps).
  std::string why;
  Operation *noLayout = nullptr;
  fn.walk([&](Operation *op) {
    if (warps)
      return;
    for (Value r : op->getResults())
      if (auto type = dyn_cast<RankedTensorType>(r.getType());
          type && tileLayout(type) && !isa<SharedLayoutAttr>(tileLayout(type)))
        if (auto d = tiles::distribute(type, why, C); succeeded(d)) {
          warps = d->warps;
          return;
        }
    if (!noLayout && op->hasTrait<TileLayoutRules>())
      noLayout = op;
  });
  if (!warps)
    return (noLayout ? noLayout->emitError() : fn.emitError())
           << kPass << ": the tile program has no register layouts: run gdn-assign-layouts first";
  return success();
}
