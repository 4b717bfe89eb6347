//===- GdnLayouts.cpp - tile layouts: verifiers and the ops' rules --------===//
//
// The layouts are written by gdn-assign-layouts and, to try another distribution, by hand:
// every rule has a message naming the operand and the layout it needs.
//
//===----------------------------------------------------------------------===//
#include "gdn/Dialect/GdnLayouts.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mlir::gdn;

LogicalResult MmaLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError, unsigned version,
                                    ArrayRef<int64_t> instr, ArrayRef<int64_t> warps, bool) {
  if (version != 2 && version != 3)
    return emitError() << "#gdn.mma version must be 2 (mma.sync) or 3 (wgmma), got " << version;
  if (instr.size() != 3)
    return emitError() << "#gdn.mma instr must be [M, N, K], got " << instr.size() << " entries";
  if (warps.size() != 2 || warps[0] < 1 || warps[1] < 1 || warps[0] * warps[1] > 32)
    return emitError() << "#gdn.mma warps must be [rows, columns], each at least 1, at most 32 "
                          "warps in all";
  if (version == 2 && (instr[0] != 16 || instr[1] != 8 || instr[2] != 16))
    return emitError() << "#gdn.mma version 2 (mma.sync) has instr [16, 8, 16], got [" << instr[0]
                       << ", " << instr[1] << ", " << instr[2] << "]";
  if (version == 3) {
    if (instr[0] != 64 || instr[2] != 16 || instr[1] < 8 || instr[1] > 256 || instr[1] % 8 != 0)
      return emitError() << "#gdn.mma version 3 (wgmma) has instr [64, N, 16] with N a multiple "
                            "of 8 up to 256, got ["
                         << instr[0] << ", " << instr[1] << ", " << instr[2] << "]";
    if (warps[0] % 4 != 0)
      return emitError() << "#gdn.mma version 3 (wgmma) spreads over whole warpgroups: warps[0] "
                            "must be a multiple of 4, got "
                         << warps[0];
  }
  return success();
}

LogicalResult DotOperandLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                           unsigned index, Attribute parentAttr, bool) {
  auto parent = dyn_cast<MmaLayoutAttr>(parentAttr);
  if (!parent)
    return emitError() << "#gdn.dot_operand parent must be a #gdn.mma layout, got " << parentAttr;
  if (index > 1)
    return emitError() << "#gdn.dot_operand index must be 0 (A) or 1 (B), got " << index;
  if (index == 1 && parent.getVersion() == 3)
    return emitError() << "wgmma reads its B operand from shared memory (#gdn.shared), not "
                          "from registers";
  return success();
}

LogicalResult SharedLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                       int64_t swizzle, bool) {
  if (swizzle != 0 && swizzle != 32 && swizzle != 64 && swizzle != 128)
    return emitError() << "#gdn.shared swizzle must be 0, 32, 64 or 128 bytes, got " << swizzle;
  return success();
}

LogicalResult BlockedLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                        ArrayRef<int64_t> perThread, ArrayRef<int64_t> lanes,
                                        ArrayRef<int64_t> warps) {
  size_t rank = perThread.size();
  if (rank < 1 || rank > 2 || lanes.size() != rank || warps.size() != rank)
    return emitError() << "#gdn.blocked needs one entry per dimension (1 or 2) in per_thread, "
                          "lanes and warps";
  int64_t laneCount = 1, warpCount = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (perThread[d] < 1 || lanes[d] < 1 || warps[d] < 1)
      return emitError() << "#gdn.blocked entries must be at least 1";
    laneCount *= lanes[d];
    warpCount *= warps[d];
  }
  if (laneCount != 32)
    return emitError() << "#gdn.blocked lanes must cover a warp's 32 lanes, got " << laneCount;
  if (warpCount > 32)
    return emitError() << "#gdn.blocked warps must be at most 32 in all, got " << warpCount;
  return success();
}

LogicalResult SliceLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError, unsigned dim,
                                      Attribute parent) {
  if (dim > 1)
    return emitError() << "#gdn.slice dim must be 0 or 1, got " << dim;
  if (!isa<MmaLayoutAttr, DotOperandLayoutAttr, BlockedLayoutAttr>(parent))
    return emitError() << "#gdn.slice parent must be a distributed tile layout (#gdn.mma, "
                          "#gdn.dot_operand or #gdn.blocked), got "
                       << parent;
  if (auto b = dyn_cast<BlockedLayoutAttr>(parent); b && b.getPerThread().size() != 2)
    return emitError() << "#gdn.slice parent must be the layout of a 2-D tile";
  return success();
}

bool mlir::gdn::isTileLayout(Attribute a) {
  return isa_and_nonnull<MmaLayoutAttr, DotOperandLayoutAttr, SharedLayoutAttr, BlockedLayoutAttr,
                         SliceLayoutAttr>(a);
}

Attribute mlir::gdn::tileLayout(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  return t ? t.getEncoding() : Attribute();
}

RankedTensorType mlir::gdn::withLayout(RankedTensorType type, Attribute layout) {
  return RankedTensorType::get(type.getShape(), type.getElementType(), layout);
}

namespace {

/// "none" or the attribute's text, for messages.
std::string layoutText(Attribute a) {
  if (!a)
    return "none";
  std::string text;
  llvm::raw_string_ostream os(text);
  a.print(os);
  return text;
}

/// A layout fits a value of `rank`: slices hold vectors, the others tiles (blocked: its rank).
LogicalResult checkRank(Operation *op, StringRef what, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  Attribute l = type.getEncoding();
  if (!l)
    return success();
  int64_t rank = type.getRank();
  if (isa<SliceLayoutAttr>(l) && rank != 1)
    return op->emitOpError() << what << ": #gdn.slice is the layout of a vector, not of a rank "
                             << rank << " tile";
  if (isa<MmaLayoutAttr, DotOperandLayoutAttr>(l) && rank != 2)
    return op->emitOpError() << what << ": " << layoutText(l) << " is the layout of a 2-D tile";
  if (auto b = dyn_cast<BlockedLayoutAttr>(l);
      b && static_cast<int64_t>(b.getPerThread().size()) != rank)
    return op->emitOpError() << what << ": " << layoutText(l) << " has " << b.getPerThread().size()
                             << " dimensions, the value " << rank;
  return success();
}

/// The layouts of a product's operands: `transposeA` / `transposeB` say whether the product
/// reads a (matmul's transpose_a) or b (the gram's a b^T) transposed.
LogicalResult verifyProduct(Operation *op, Value a, Value b, Value result, bool transposeA,
                            bool transposeB) {
  Attribute la = tileLayout(a.getType()), lb = tileLayout(b.getType()),
            lr = tileLayout(result.getType());
  if (!lr) {
    if (la || lb)
      return op->emitOpError() << "a product whose operands have layouts needs one on its result "
                                  "(#gdn.mma, or #gdn.blocked on CUDA cores)";
    return success();
  }
  if (auto mma = dyn_cast<MmaLayoutAttr>(lr)) {
    bool wgmma = mma.getVersion() == 3;
    // The instruction's A and B: op(a) and op(b), or op(b)^T and op(a)^T into a transposed
    // accumulator; a fragment is `transposed` where the instruction reads the tile's transpose.
    bool transposed = mma.getTransposed();
    StringRef nameA = transposed ? "'b'" : "'a'", nameB = transposed ? "'a'" : "'b'";
    Attribute instrA = transposed ? lb : la, instrB = transposed ? la : lb;
    bool flipA = transposed ? !transposeB : transposeA;
    bool flipB = transposed ? !transposeA : transposeB;
    auto fragment = [&](unsigned index, bool flip) {
      return DotOperandLayoutAttr::get(op->getContext(), index, mma, flip);
    };
    std::string role =
        transposed ? " (transposed: " + nameA.str() + " is the instruction's A)" : "";
    if (instrA != fragment(0, flipA) && !(wgmma && isa_and_nonnull<SharedLayoutAttr>(instrA)))
      return op->emitOpError() << "operand " << nameA << " of a product into " << layoutText(lr)
                               << role << " must be " << layoutText(fragment(0, flipA))
                               << (wgmma ? " or a #gdn.shared tile" : "") << ", got "
                               << layoutText(instrA);
    if (wgmma ? !isa_and_nonnull<SharedLayoutAttr>(instrB) : instrB != fragment(1, flipB))
      return op->emitOpError() << "operand " << nameB << " of a product into " << layoutText(lr)
                               << role << " must be "
                               << (wgmma ? std::string("a #gdn.shared tile (wgmma reads B there)")
                                         : layoutText(fragment(1, flipB)))
                               << ", got " << layoutText(instrB);
    return success();
  }
  if (isa<BlockedLayoutAttr>(lr)) {
    for (auto [name, l] : {std::pair<StringRef, Attribute>{"'a'", la}, {"'b'", lb}})
      if (!isa_and_nonnull<BlockedLayoutAttr, SharedLayoutAttr>(l))
        return op->emitOpError() << "operand " << name
                                 << " of a CUDA-core product (#gdn.blocked result) must be "
                                    "#gdn.blocked or #gdn.shared, got "
                                 << layoutText(l);
    return success();
  }
  return op->emitOpError() << "a product's result is an accumulator: #gdn.mma or #gdn.blocked, "
                              "got "
                           << layoutText(lr);
}

} // namespace

LogicalResult mlir::gdn::verifyTileLayouts(Operation *op) {
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    Attribute l = tileLayout(v.getType());
    if (l && !isTileLayout(l))
      return op->emitOpError() << "operand " << i << ": tile values take gdn layouts (#gdn.mma, "
                               << "#gdn.dot_operand, #gdn.shared, #gdn.blocked, #gdn.slice), got "
                               << layoutText(l);
    if (failed(checkRank(op, "operand " + std::to_string(i), v)))
      return failure();
  }
  for (Value r : op->getResults()) {
    Attribute l = tileLayout(r.getType());
    if (l && !isTileLayout(l))
      return op->emitOpError() << "result: tile values take gdn layouts, got " << layoutText(l);
    if (failed(checkRank(op, "result", r)))
      return failure();
  }
  if (isa<TileConvertLayoutOp>(op))
    return success();
  if (auto mm = dyn_cast<TileMatmulOp>(op))
    return verifyProduct(op, mm.getA(), mm.getB(), mm.getResult(), mm.getTransposeA(), false);
  if (auto gram = dyn_cast<TileGatedGramOp>(op))
    return verifyProduct(op, gram.getA(), gram.getB(), gram.getResult(), false, true);
  // Element-wise ops: the result is laid out as the tile (the first operand) is (their
  // AllTypesMatch traits say so), a distributed one.
  Attribute tile = tileLayout(op->getOperand(0).getType());
  if (isa_and_nonnull<DotOperandLayoutAttr, SharedLayoutAttr>(tile))
    return op->emitOpError() << "element-wise work runs on a distributed tile (#gdn.mma, "
                                "#gdn.blocked or #gdn.slice), got "
                             << layoutText(tile);
  return success();
}

OpFoldResult TileConvertLayoutOp::fold(FoldAdaptor) {
  if (getX().getType() == getResult().getType())
    return getX();
  // A chain of conversions is one conversion from the first value (conversions keep the value).
  if (auto other = getX().getDefiningOp<TileConvertLayoutOp>()) {
    if (other.getX().getType() == getResult().getType())
      return other.getX();
    getXMutable().assign(other.getX());
    return getResult();
  }
  return {};
}

LogicalResult TileConvertLayoutOp::verify() {
  auto from = cast<RankedTensorType>(getX().getType());
  auto to = cast<RankedTensorType>(getResult().getType());
  if (from.getShape() != to.getShape() || from.getElementType() != to.getElementType())
    return emitOpError() << "converts layouts only: shape and element type must stay (" << from
                         << " -> " << to << ")";
  return success();
}
