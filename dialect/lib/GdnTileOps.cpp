//===- GdnTileOps.cpp - verifiers of the chunk-level tile ops -------------===//
//
// Tile ops are mostly produced by gdn-chunkwise, but they are also written by hand in tests
// and by users trying a new variant, so every shape rule has a message.
//
//===----------------------------------------------------------------------===//
#include "gdn/Dialect/GdnOps.h"

using namespace mlir;
using namespace mlir::gdn;

namespace {

std::string dimText(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

bool sameDim(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// A rank-`rank` f32 tensor, or an error naming `what`.
FailureOr<RankedTensorType> f32Tile(Operation *op, Value v, StringRef what,
                                    ArrayRef<int64_t> ranks) {
  auto type = cast<RankedTensorType>(v.getType());
  if (!type.getElementType().isF32())
    return op->emitOpError() << what << " must be an f32 tile, got " << type.getElementType();
  if (!llvm::is_contained(ranks, type.getRank()))
    return op->emitOpError() << what << " must have rank "
                             << (ranks.size() == 1
                                     ? std::to_string(ranks[0])
                                     : std::to_string(ranks[0]) + " or " + std::to_string(ranks[1]))
                             << ", got rank " << type.getRank();
  return type;
}

/// Gates of a chunk: [n] (scalar) or [n, K] (channel), matching `rows` and `channels`.
LogicalResult verifyGates(Operation *op, Value gates, int64_t rows, int64_t channels) {
  auto type = f32Tile(op, gates, "gates", {1, 2});
  if (failed(type))
    return failure();
  if (!sameDim(type->getDimSize(0), rows))
    return op->emitOpError() << "gates have " << dimText(type->getDimSize(0))
                             << " rows but the tile has " << dimText(rows);
  if (type->getRank() == 2 && !sameDim(type->getDimSize(1), channels))
    return op->emitOpError() << "channel gates have " << dimText(type->getDimSize(1))
                             << " channels but the tile has " << dimText(channels);
  return success();
}

/// A product's operands: f32 tiles, or both rounded to a tensor core's 16-bit inputs (bf16 or
/// f16, `arith.truncf` before the product); rank 2.
LogicalResult productOperands(Operation *op, Value a, Value b, FailureOr<RankedTensorType> &ta,
                              FailureOr<RankedTensorType> &tb) {
  auto operand = [&](Value v, StringRef what) -> FailureOr<RankedTensorType> {
    auto type = cast<RankedTensorType>(v.getType());
    Type e = type.getElementType();
    if (!e.isF32() && !e.isBF16() && !e.isF16())
      return op->emitOpError() << what << " must be an f32, bf16 or f16 tile, got " << e;
    if (type.getRank() != 2)
      return op->emitOpError() << what << " must have rank 2, got rank " << type.getRank();
    return type;
  };
  ta = operand(a, "'a'");
  if (failed(ta))
    return failure();
  tb = operand(b, "'b'");
  if (failed(tb))
    return failure();
  if (ta->getElementType() != tb->getElementType())
    return op->emitOpError() << "'a' and 'b' must have one element type, got "
                             << ta->getElementType() << " and " << tb->getElementType();
  return success();
}

} // namespace

LogicalResult TileCumsumOp::verify() { return f32Tile(*this, getG(), "gates", {1, 2}); }

LogicalResult TileGatedGramOp::verify() {
  FailureOr<RankedTensorType> a = failure(), b = failure();
  if (failed(productOperands(*this, getA(), getB(), a, b)))
    return failure();
  auto r = f32Tile(*this, getResult(), "the result", {2});
  if (failed(r))
    return failure();
  if (!sameDim(a->getDimSize(0), b->getDimSize(0)) || !sameDim(a->getDimSize(1), b->getDimSize(1)))
    return emitOpError() << "'a' and 'b' must both be [n, K], got " << getA().getType() << " and "
                         << getB().getType();
  if (!sameDim(r->getDimSize(0), a->getDimSize(0)) || !sameDim(r->getDimSize(1), a->getDimSize(0)))
    return emitOpError() << "the result must be [n, n] with n = rows of 'a', got "
                         << getResult().getType();
  if (getRowGates() && !getGates())
    return emitOpError() << "'row_gates' needs 'gates' (the columns' cumulative gates)";
  if (getGates() && failed(verifyGates(*this, getGates(), a->getDimSize(0), a->getDimSize(1))))
    return failure();
  if (getRowGates()) {
    if (failed(verifyGates(*this, getRowGates(), a->getDimSize(0), a->getDimSize(1))))
      return failure();
    if (cast<RankedTensorType>(getRowGates().getType()).getRank() !=
        cast<RankedTensorType>(getGates().getType()).getRank())
      return emitOpError() << "'row_gates' and 'gates' must both be scalar ([n]) or both "
                              "channel ([n, K]) gates, got "
                           << getRowGates().getType() << " and " << getGates().getType();
  }
  return success();
}

LogicalResult TileUnitLowerInverseOp::verify() {
  auto a = f32Tile(*this, getA(), "'a'", {2});
  if (failed(a))
    return failure();
  if (!sameDim(a->getDimSize(0), a->getDimSize(1)))
    return emitOpError() << "'a' must be square, got " << getA().getType();
  return success();
}

LogicalResult TileRowScaleOp::verify() {
  auto x = f32Tile(*this, getX(), "'x'", {2});
  if (failed(x))
    return failure();
  if (getR()) {
    auto r = f32Tile(*this, getR(), "'r'", {1});
    if (failed(r))
      return failure();
    if (!sameDim(r->getDimSize(0), x->getDimSize(0)))
      return emitOpError() << "'r' has " << dimText(r->getDimSize(0)) << " rows but 'x' has "
                           << dimText(x->getDimSize(0));
  }
  return success();
}

LogicalResult TileGateRowsOp::verify() {
  auto x = f32Tile(*this, getX(), "'x'", {2});
  if (failed(x))
    return failure();
  return verifyGates(*this, getGates(), x->getDimSize(0), x->getDimSize(1));
}

LogicalResult TileDecayStateOp::verify() {
  auto s = f32Tile(*this, getState(), "the state", {2});
  if (failed(s))
    return failure();
  auto g = f32Tile(*this, getGates(), "gates", {1, 2});
  if (failed(g))
    return failure();
  if (g->getRank() == 2 && !sameDim(g->getDimSize(1), s->getDimSize(0)))
    return emitOpError() << "channel gates have " << dimText(g->getDimSize(1))
                         << " channels but the state has K = " << dimText(s->getDimSize(0));
  return success();
}

LogicalResult TileMatmulOp::verify() {
  // The operands may be rounded to a tensor core's 16-bit inputs (bf16 or f16), both alike;
  // the product accumulates in f32.
  FailureOr<RankedTensorType> a = failure(), b = failure();
  if (failed(productOperands(*this, getA(), getB(), a, b)))
    return failure();
  auto r = f32Tile(*this, getResult(), "the result", {2});
  if (failed(r))
    return failure();
  int64_t m = a->getDimSize(getTransposeA() ? 1 : 0);
  int64_t k = a->getDimSize(getTransposeA() ? 0 : 1);
  if (!sameDim(k, b->getDimSize(0)))
    return emitOpError() << "contraction dims differ: " << dimText(k) << " vs "
                         << dimText(b->getDimSize(0));
  if (!sameDim(r->getDimSize(0), m) || !sameDim(r->getDimSize(1), b->getDimSize(1)))
    return emitOpError() << "the result must be [" << dimText(m) << ", "
                         << dimText(b->getDimSize(1)) << "], got " << getResult().getType();
  return success();
}

LogicalResult TileL2NormRowsOp::verify() { return f32Tile(*this, getX(), "'x'", {2}); }
