//===- GdnLayouts.h - tile layouts: queries and the ops' rules ---*- C++ -*-===//
#ifndef GDN_DIALECT_GDNLAYOUTS_H
#define GDN_DIALECT_GDNLAYOUTS_H

#include "gdn/Dialect/GdnDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/Operation.h"

namespace mlir::gdn {

/// Whether `a` is a tile layout (#gdn.mma, dot_operand, shared, blocked, slice).
bool isTileLayout(Attribute a);
/// The layout of a tile value's type (its encoding), or null.
Attribute tileLayout(Type type);
/// `type` with `layout` as its encoding (null: none).
RankedTensorType withLayout(RankedTensorType type, Attribute layout);
/// The layout rules of the tile ops (docs/design.md §3.6): element-wise ops keep their tile's
/// layout, a product's operands are the operand fragments or shared tiles of its accumulator's
/// layout, vectors take slice or blocked layouts. Reports the first violation on `op`.
LogicalResult verifyTileLayouts(Operation *op);

/// The trait that checks verifyTileLayouts on every tile op.
template <typename ConcreteType>
class TileLayoutRules : public OpTrait::TraitBase<ConcreteType, TileLayoutRules> {
public:
  static LogicalResult verifyTrait(Operation *op) { return verifyTileLayouts(op); }
};

} // namespace mlir::gdn

#endif // GDN_DIALECT_GDNLAYOUTS_H
