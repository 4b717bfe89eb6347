//===- GdnOps.h - layer ops of the gdn dialect ------------------*- C++ -*-===//
#ifndef GDN_DIALECT_GDNOPS_H
#define GDN_DIALECT_GDNOPS_H

#include "gdn/Dialect/GdnDialect.h"
#include "gdn/Dialect/GdnLayouts.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>

#define GET_OP_CLASSES
#include "gdn/Dialect/GdnOps.h.inc"

namespace mlir::gdn {
/// Head dims the layer ops accept (K and V).
bool isSupportedHeadDim(int64_t dim);
/// Chunk sizes the chunkwise lowering accepts.
bool isSupportedChunkSize(int64_t chunkSize);
} // namespace mlir::gdn

#endif // GDN_DIALECT_GDNOPS_H
