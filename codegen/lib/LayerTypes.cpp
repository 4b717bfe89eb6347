//===- LayerTypes.cpp - dialect <-> runtime names of layer types ----------===//
#include "gdn/Codegen/LayerTypes.h"

#include "llvm/Support/raw_ostream.h"

namespace gdn {

std::string elementTypeName(mlir::Type t) {
  if (!t)
    return "";
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  if (t.isF32())
    return "f32";
  if (t.isInteger(32))
    return "i32";
  if (t.isInteger(64))
    return "i64";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

GateKind toRuntime(mlir::gdn::GateKind g) {
  switch (g) {
  case mlir::gdn::GateKind::None:
    return GateKind::None;
  case mlir::gdn::GateKind::Scalar:
    return GateKind::Scalar;
  case mlir::gdn::GateKind::Channel:
    return GateKind::Channel;
  }
  return GateKind::None;
}

UpdateRule toRuntime(mlir::gdn::UpdateRule r) {
  return r == mlir::gdn::UpdateRule::Delta ? UpdateRule::Delta : UpdateRule::Additive;
}

} // namespace gdn
