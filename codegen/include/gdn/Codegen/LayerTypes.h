//===- LayerTypes.h - dialect <-> runtime names of layer types --*- C++ -*-===//
#ifndef GDN_CODEGEN_LAYERTYPES_H
#define GDN_CODEGEN_LAYERTYPES_H

#include "gdn/Dialect/GdnDialect.h"
#include "gdn/Reference.h"

#include "mlir/IR/Types.h"

#include <string>

namespace gdn {

/// "bf16", "f16", "f32", "i32", "i64" (the runtime's element type names), "" for a null
/// type, else the type as MLIR prints it.
std::string elementTypeName(mlir::Type type);

/// The runtime's enums for the dialect's (they share names, not necessarily values).
GateKind toRuntime(mlir::gdn::GateKind gate);
UpdateRule toRuntime(mlir::gdn::UpdateRule rule);

} // namespace gdn

#endif // GDN_CODEGEN_LAYERTYPES_H
