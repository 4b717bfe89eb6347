//===- ChunkedFormFacts.cpp - the layer a chunked-form function implements -===//
#include "ChunkedFormFacts.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::gdn;

bool mlir::gdn::holdsChunkedForm(func::FuncOp fn) {
  bool found = false;
  fn.walk([&](Operation *op) {
    found |= op->hasAttr("gdn.chunk_step") || op->hasAttr("gdn.chunk_loop") ||
             op->hasAttr("gdn.chunk_prep");
  });
  return found;
}

std::map<std::string, unsigned> mlir::gdn::chunkedFormOperands(func::FuncOp fn) {
  std::map<std::string, unsigned> roles;
  fn.walk([&](Operation *op) {
    if (auto d = op->getAttrOfType<DictionaryAttr>("gdn.operands"))
      for (NamedAttribute a : d)
        if (auto i = dyn_cast<IntegerAttr>(a.getValue());
            i && i.getInt() >= 0 && i.getInt() < fn.getNumArguments())
          roles[a.getName().str()] = i.getInt();
  });
  return roles;
}

FailureOr<LayerFacts> mlir::gdn::chunkedFormFacts(func::FuncOp fn) {
  std::map<std::string, unsigned> roles = chunkedFormOperands(fn);
  auto arg = [&](const char *role) -> Value {
    auto it = roles.find(role);
    return it != roles.end() ? fn.getArgument(it->second) : Value();
  };
  if (!arg("q") || !arg("k") || !arg("v"))
    return fn.emitError("the chunk loop of ")
               << fn.getName() << " does not name its q, k and v arguments (gdn.operands, written "
               << "by gdn-chunkwise)",
           failure();
  auto qType = dyn_cast<RankedTensorType>(arg("q").getType());
  auto vType = dyn_cast<RankedTensorType>(arg("v").getType());
  if (!qType || !vType || qType.getRank() != 4 || vType.getRank() != 4)
    return fn.emitError("q and v of a chunked form must be rank-4 tensors"), failure();
  LayerFacts f;
  f.qkL2norm = false;
  bool inverse = false, finalState = false;
  TileGatedGramOp qkg;
  fn.walk([&](Operation *op) {
    inverse |= isa<TileUnitLowerInverseOp>(op);
    f.qkL2norm |= isa<TileL2NormRowsOp>(op);
    if (auto gram = dyn_cast<TileGatedGramOp>(op); gram && gram.getDiagonal() && !qkg)
      qkg = gram;
    if (op->hasAttr("gdn.chunk_step") || op->hasAttr("gdn.chunk_loop"))
      for (Operation *user : op->getResult(1).getUsers())
        finalState |= isa<tensor::InsertSliceOp>(user) ||
                      (isa<TileConvertLayoutOp>(user) &&
                       llvm::any_of(user->getUsers(), llvm::IsaPred<tensor::InsertSliceOp>));
  });
  // The interface decides the gate kind (g's rank) and whether beta is there; the tile ops
  // decide the rest, which is descriptive: the kernel does what they say.
  Value g = arg("g");
  f.gate = !g ? GateKind::None
              : (cast<RankedTensorType>(g.getType()).getRank() == 4 ? GateKind::Channel
                                                                    : GateKind::Scalar);
  f.rule = inverse ? UpdateRule::Delta : UpdateRule::Additive;
  // The scale: the constant factors on Q's way into the Q K^T product.
  f.scale = 1.0f;
  for (Value x = qkg ? qkg.getA() : Value(); x && x.getDefiningOp();) {
    Operation *def = x.getDefiningOp();
    if (auto rs = dyn_cast<TileRowScaleOp>(def); rs && !rs.getR())
      f.scale *= rs.getFactor().convertToFloat();
    else if (!isa<TileRowScaleOp, TileL2NormRowsOp, TileConvertLayoutOp, arith::ExtFOp,
                  arith::TruncFOp>(def))
      break;
    x = def->getOperand(0);
  }
  f.name = fn.getName().str();
  f.H = qType.getDimSize(2);
  f.K = qType.getDimSize(3);
  f.HV = vType.getDimSize(2);
  f.V = vType.getDimSize(3);
  f.inputType = qType.getElementType();
  f.gType = elementTypeOf(arg("g"));
  f.betaType = elementTypeOf(arg("beta"));
  f.cuType = elementTypeOf(arg("cu_seqlens"));
  f.hasBeta = static_cast<bool>(f.betaType);
  f.varlen = static_cast<bool>(f.cuType);
  f.hasInitialState = static_cast<bool>(arg("initial_state"));
  f.hasFinalState = finalState;
  return f;
}
