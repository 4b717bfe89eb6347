//===- GdnOps.cpp - builders and verifiers of the layer ops ---------------===//
#include "gdn/Dialect/GdnOps.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <string>

using namespace mlir;
using namespace mlir::gdn;

bool mlir::gdn::isSupportedHeadDim(int64_t dim) { return dim == 64 || dim == 128 || dim == 256; }

bool mlir::gdn::isSupportedChunkSize(int64_t chunkSize) {
  return chunkSize == 16 || chunkSize == 32 || chunkSize == 64 || chunkSize == 128;
}

namespace {

std::string formatDim(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ", ";
    s += formatDim(d);
  }
  return s + "]";
}

std::string formatType(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

/// Two dims agree unless both are static and differ.
bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

bool compatibleShape(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  return a.size() == b.size() && llvm::all_of(llvm::zip(a, b), [](auto p) {
           return compatible(std::get<0>(p), std::get<1>(p));
         });
}

bool isInputElementType(Type t) { return t.isBF16() || t.isF16() || t.isF32(); }

/// The operands and attributes both layer ops share, viewed uniformly.
struct LayerView {
  GateKind gate;
  UpdateRule rule;
  Value q, k, v, g, beta, cuSeqlens;
  std::optional<float> scale;
  bool allowNegEigval;
  // Sub-steps per token (gdn.transition): k, v and beta have T * steps rows.
  int64_t steps = 1;
};

/// The layer's dims as far as the types tell: B, T and N may be dynamic.
struct LayerDims {
  int64_t B, T, H, HV, K, V, N;
  Type inputType;
};

/// Checks what both layer ops share; on success fills `d`.
LogicalResult verifyLayer(Operation *op, const LayerView &l, LayerDims &d) {
  auto rankedOf = [](Value v) { return cast<RankedTensorType>(v.getType()); };

  // A layer is compiled to kernels named after its function, whose arguments the runtime
  // binds; outside a function there is neither.
  if (!op->getParentOfType<FunctionOpInterface>())
    return op->emitOpError() << "must be inside a function (its kernels are named after the "
                                "function, and its operands come from the function's arguments)";

  // q, k, v: rank, element type, static head geometry.
  for (auto [name, value, last] :
       {std::tuple{"q", l.q, "K"}, std::tuple{"k", l.k, "K"}, std::tuple{"v", l.v, "V"}}) {
    auto type = rankedOf(value);
    if (type.getRank() != 4)
      return op->emitOpError() << "'" << name << "' must be a rank-4 tensor [B, T, "
                               << (std::string(last) == "K" ? "H, K" : "HV, V") << "], got rank "
                               << type.getRank();
    if (!isInputElementType(type.getElementType()))
      return op->emitOpError() << "'" << name << "' element type must be bf16, f16 or f32, got "
                               << type.getElementType();
    for (int i = 2; i < 4; ++i)
      if (type.isDynamicDim(i))
        return op->emitOpError() << "head counts and head dims must be static, but dimension " << i
                                 << " of '" << name << "' is dynamic";
    for (int i = 0; i < 2; ++i)
      if (type.getDimSize(i) == 0)
        return op->emitOpError() << "'" << name << "' has an empty dimension "
                                 << (i == 0 ? "B" : "T") << " = 0";
  }
  auto qType = rankedOf(l.q), kType = rankedOf(l.k), vType = rankedOf(l.v);
  if (qType.getElementType() != kType.getElementType() ||
      qType.getElementType() != vType.getElementType())
    return op->emitOpError() << "'q', 'k' and 'v' must share one element type, got "
                             << qType.getElementType() << ", " << kType.getElementType() << " and "
                             << vType.getElementType();
  // Rows of the per-sub-step operands: T * steps (T with one step per token).
  auto stepRows = [&](int64_t T) { return ShapedType::isDynamic(T) ? T : T * l.steps; };
  SmallVector<int64_t> kWant = {qType.getDimSize(0), stepRows(qType.getDimSize(1)),
                                qType.getDimSize(2), qType.getDimSize(3)};
  if (!compatibleShape(kType.getShape(), kWant))
    return op->emitOpError() << "'k' shape " << formatShape(kType.getShape())
                             << " does not match 'q' shape " << formatShape(qType.getShape())
                             << (l.steps > 1 ? " with T * steps rows " + formatShape(kWant) : "");
  if (!compatible(qType.getDimSize(0), vType.getDimSize(0)) ||
      !compatible(stepRows(qType.getDimSize(1)), vType.getDimSize(1)))
    return op->emitOpError() << "'v' batch and sequence dims "
                             << formatShape(vType.getShape().take_front(2))
                             << " do not match those of 'q' "
                             << formatShape(qType.getShape().take_front(2))
                             << (l.steps > 1 ? " (v has T * steps rows)" : "");

  d.inputType = qType.getElementType();
  d.B = ShapedType::isDynamic(qType.getDimSize(0)) ? vType.getDimSize(0) : qType.getDimSize(0);
  d.T = qType.getDimSize(1);
  if (ShapedType::isDynamic(d.T) && !vType.isDynamicDim(1)) {
    if (vType.getDimSize(1) % l.steps != 0)
      return op->emitOpError() << "'v' has " << vType.getDimSize(1)
                               << " rows, not a multiple of steps = " << l.steps;
    d.T = vType.getDimSize(1) / l.steps;
  }
  d.H = qType.getDimSize(2);
  d.K = qType.getDimSize(3);
  d.HV = vType.getDimSize(2);
  d.V = vType.getDimSize(3);

  if (d.HV % d.H != 0)
    return op->emitOpError() << "value heads HV = " << d.HV
                             << " must be a multiple of query/key heads H = " << d.H;
  if (!isSupportedHeadDim(d.K))
    return op->emitOpError() << "head dim K = " << d.K
                             << " is not supported (expected 64, 128 or 256)";
  if (!isSupportedHeadDim(d.V))
    return op->emitOpError() << "head dim V = " << d.V
                             << " is not supported (expected 64, 128 or 256)";

  // g and beta: f32 or the input element type.
  auto checkSideInput = [&](Value value, const char *name, SmallVector<int64_t> want,
                            const char *wantText) -> LogicalResult {
    auto type = rankedOf(value);
    if (!type.getElementType().isF32() && type.getElementType() != d.inputType)
      return op->emitOpError() << "'" << name << "' element type must be f32 or the input "
                               << "element type " << d.inputType << ", got "
                               << type.getElementType();
    if (!compatibleShape(type.getShape(), want))
      return op->emitOpError() << "'" << name << "' must have shape " << wantText << " = "
                               << formatShape(want) << ", got " << formatShape(type.getShape());
    return success();
  };

  StringRef gateName = stringifyGateKind(l.gate);
  if (l.gate == GateKind::None && l.g)
    return op->emitOpError() << "gate 'none' takes no 'g' operand";
  if (l.gate != GateKind::None && !l.g)
    return op->emitOpError() << "gate '" << gateName << "' requires a 'g' operand";
  if (l.gate == GateKind::Scalar &&
      failed(checkSideInput(l.g, "g", {d.B, d.T, d.HV}, "[B, T, HV] for gate 'scalar'")))
    return failure();
  if (l.gate == GateKind::Channel &&
      failed(checkSideInput(l.g, "g", {d.B, d.T, d.HV, d.K}, "[B, T, HV, K] for gate 'channel'")))
    return failure();

  if (l.rule == UpdateRule::Delta && !l.beta)
    return op->emitOpError() << "the delta rule requires a 'beta' operand";
  if (l.beta && failed(checkSideInput(l.beta, "beta", {d.B, stepRows(d.T), d.HV},
                                      l.steps > 1 ? "[B, T * steps, HV]" : "[B, T, HV]")))
    return failure();
  if (l.allowNegEigval && l.rule != UpdateRule::Delta)
    return op->emitOpError() << "'allow_neg_eigval' applies to the delta rule only";

  if (l.scale && !(std::isfinite(*l.scale) && *l.scale > 0.0f))
    return op->emitOpError() << "'scale' must be positive and finite, got " << *l.scale;

  // Variable-length batches: B = 1 and N + 1 offsets.
  d.N = d.B;
  if (l.cuSeqlens) {
    auto type = rankedOf(l.cuSeqlens);
    if (type.getRank() != 1 ||
        !(type.getElementType().isInteger(32) || type.getElementType().isInteger(64)))
      return op->emitOpError() << "'cu_seqlens' must be a rank-1 tensor of i32 or i64, got "
                               << formatType(type);
    if (d.B != 1)
      return op->emitOpError() << "a variable-length batch ('cu_seqlens') needs B = 1, got B = "
                               << formatDim(d.B);
    if (!type.isDynamicDim(0) && type.getDimSize(0) < 2)
      return op->emitOpError() << "'cu_seqlens' must hold N + 1 >= 2 offsets, got "
                               << type.getDimSize(0);
    d.N = type.isDynamicDim(0) ? ShapedType::kDynamic : type.getDimSize(0) - 1;
  }
  return success();
}

/// Checks a state tensor (operand or result) against [N, HV, K, V] f32.
LogicalResult verifyState(Operation *op, Value state, StringRef what, const LayerDims &d,
                          bool varlen) {
  auto type = cast<RankedTensorType>(state.getType());
  if (!type.getElementType().isF32())
    return op->emitOpError() << "'" << what << "' must be f32, got " << type.getElementType();
  SmallVector<int64_t> want = {d.N, d.HV, d.K, d.V};
  if (type.getRank() != 4 || !compatibleShape(type.getShape(), want)) {
    auto diag = op->emitOpError() << "'" << what
                                  << "' must have shape [N, HV, K, V] = " << formatShape(want)
                                  << ", got " << formatShape(type.getShape());
    if (type.getRank() == 4 && !compatible(type.getDimSize(0), d.N))
      diag << " (N is " << (varlen ? "the number of sequences in 'cu_seqlens'" : "B") << ")";
    return diag;
  }
  return success();
}

LogicalResult verifyOutput(Operation *op, Value o, const LayerDims &d) {
  auto type = cast<RankedTensorType>(o.getType());
  SmallVector<int64_t> want = {d.B, d.T, d.HV, d.V};
  if (type.getElementType() != d.inputType)
    return op->emitOpError() << "result 'o' must have the input element type " << d.inputType
                             << ", got " << type.getElementType();
  if (!compatibleShape(type.getShape(), want))
    return op->emitOpError() << "result 'o' must have shape [B, T, HV, V] = " << formatShape(want)
                             << ", got " << formatShape(type.getShape());
  return success();
}

/// What a whole-sequence layer op (gdn.recurrence, gdn.transition) checks after its operands:
/// the initial state, the output, the final state and the chunk size.
LogicalResult verifyLayerResults(Operation *op, Value initialState, Value o, Value finalState,
                                 std::optional<uint64_t> chunkSize, const LayerDims &d,
                                 bool varlen) {
  if (initialState && failed(verifyState(op, initialState, "initial_state", d, varlen)))
    return failure();
  if (failed(verifyOutput(op, o, d)))
    return failure();
  if (finalState && failed(verifyState(op, finalState, "final_state", d, varlen)))
    return failure();
  if (chunkSize && !isSupportedChunkSize(*chunkSize))
    return op->emitOpError() << "'chunk_size' must be 16, 32, 64 or 128, got " << *chunkSize;
  return success();
}

/// Result types inferred from the operands, for the convenience builders.
Type inferOutputType(Value v) {
  return cast<RankedTensorType>(v.getType()); // o has v's shape and element type
}

Type inferStateType(Builder &b, Value q, Value v, Value cuSeqlens) {
  auto qType = cast<RankedTensorType>(q.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  int64_t n = qType.getDimSize(0);
  if (cuSeqlens) {
    auto cuType = cast<RankedTensorType>(cuSeqlens.getType());
    n = cuType.isDynamicDim(0) ? ShapedType::kDynamic : cuType.getDimSize(0) - 1;
  }
  return RankedTensorType::get({n, vType.getDimSize(2), qType.getDimSize(3), vType.getDimSize(3)},
                               b.getF32Type());
}

float defaultScale(Value q) {
  int64_t k = cast<RankedTensorType>(q.getType()).getDimSize(3);
  return 1.0f / std::sqrt(static_cast<float>(k));
}

} // namespace

//===----------------------------------------------------------------------===//
// The variant: `<gate, rule>`
//===----------------------------------------------------------------------===//

static ParseResult parseVariant(OpAsmParser &parser, GateKindAttr &gate, UpdateRuleAttr &rule) {
  StringRef gateWord, ruleWord;
  SMLoc gateLoc, ruleLoc;
  if (parser.parseLess() || (gateLoc = parser.getCurrentLocation(), false) ||
      parser.parseKeyword(&gateWord) || parser.parseComma() ||
      (ruleLoc = parser.getCurrentLocation(), false) || parser.parseKeyword(&ruleWord) ||
      parser.parseGreater())
    return failure();
  std::optional<GateKind> g = symbolizeGateKind(gateWord);
  if (!g)
    return parser.emitError(gateLoc)
           << "unknown gate '" << gateWord << "' (expected none, scalar or channel)";
  std::optional<UpdateRule> r = symbolizeUpdateRule(ruleWord);
  if (!r)
    return parser.emitError(ruleLoc)
           << "unknown update rule '" << ruleWord << "' (expected additive or delta)";
  gate = GateKindAttr::get(parser.getContext(), *g);
  rule = UpdateRuleAttr::get(parser.getContext(), *r);
  return success();
}

static void printVariant(OpAsmPrinter &printer, Operation *, GateKindAttr gate,
                         UpdateRuleAttr rule) {
  printer << "<" << stringifyGateKind(gate.getValue()) << ", "
          << stringifyUpdateRule(rule.getValue()) << ">";
}

static ParseResult parseGate(OpAsmParser &parser, GateKindAttr &gate) {
  StringRef gateWord;
  SMLoc gateLoc;
  if (parser.parseLess() || (gateLoc = parser.getCurrentLocation(), false) ||
      parser.parseKeyword(&gateWord) || parser.parseGreater())
    return failure();
  std::optional<GateKind> g = symbolizeGateKind(gateWord);
  if (!g)
    return parser.emitError(gateLoc)
           << "unknown gate '" << gateWord << "' (expected none, scalar or channel)";
  gate = GateKindAttr::get(parser.getContext(), *g);
  return success();
}

static void printGate(OpAsmPrinter &printer, Operation *, GateKindAttr gate) {
  printer << "<" << stringifyGateKind(gate.getValue()) << ">";
}

//===----------------------------------------------------------------------===//
// RecurrenceOp
//===----------------------------------------------------------------------===//

void RecurrenceOp::build(OpBuilder &b, OperationState &state, GateKind gate, UpdateRule rule,
                         Value q, Value k, Value v, Value g, Value beta, Value initialState,
                         Value cuSeqlens, bool withFinalState, std::optional<float> scale,
                         bool qkL2norm, bool allowNegEigval) {
  Type finalStateType = withFinalState ? inferStateType(b, q, v, cuSeqlens) : Type();
  build(b, state, inferOutputType(v), finalStateType, gate, rule, q, k, v, g, beta, initialState,
        cuSeqlens, scale ? b.getF32FloatAttr(*scale) : FloatAttr(), qkL2norm, allowNegEigval,
        IntegerAttr());
}

float RecurrenceOp::getScaleOrDefault() {
  if (auto s = getScale())
    return s->convertToFloat();
  return defaultScale(getQ());
}

LogicalResult RecurrenceOp::verify() {
  std::optional<float> scale;
  if (auto s = getScale())
    scale = s->convertToFloat();
  LayerView view{getGate(), getRule(), getQ(),         getK(), getV(),
                 getG(),    getBeta(), getCuSeqlens(), scale,  getAllowNegEigval()};
  LayerDims d;
  if (failed(verifyLayer(*this, view, d)))
    return failure();
  return verifyLayerResults(*this, getInitialState(), getO(), getFinalState(), getChunkSize(), d,
                            isVarlen());
}

//===----------------------------------------------------------------------===//
// DecodeOp
//===----------------------------------------------------------------------===//

void DecodeOp::build(OpBuilder &b, OperationState &state, GateKind gate, UpdateRule rule, Value q,
                     Value k, Value v, Value g, Value beta, Value carried, Value cuSeqlens,
                     std::optional<float> scale, bool qkL2norm, bool allowNegEigval) {
  build(b, state, inferOutputType(v), carried.getType(), gate, rule, q, k, v, g, beta, carried,
        cuSeqlens, scale ? b.getF32FloatAttr(*scale) : FloatAttr(), qkL2norm, allowNegEigval);
}

float DecodeOp::getScaleOrDefault() {
  if (auto s = getScale())
    return s->convertToFloat();
  return defaultScale(getQ());
}

LogicalResult DecodeOp::verify() {
  std::optional<float> scale;
  if (auto s = getScale())
    scale = s->convertToFloat();
  LayerView view{getGate(), getRule(), getQ(),         getK(), getV(),
                 getG(),    getBeta(), getCuSeqlens(), scale,  getAllowNegEigval()};
  LayerDims d;
  if (failed(verifyLayer(*this, view, d)))
    return failure();
  if (!isVarlen()) {
    if (ShapedType::isDynamic(d.T))
      return emitOpError() << "a decode step needs a static token count T (or 'cu_seqlens')";
    if (d.T > kMaxTokens)
      return emitOpError() << "a decode step takes at most " << kMaxTokens
                           << " tokens per sequence, got T = " << d.T
                           << "; use gdn.recurrence for prefill";
  }
  if (failed(verifyState(*this, getState(), "state", d, isVarlen())) ||
      failed(verifyOutput(*this, getO(), d)) ||
      failed(verifyState(*this, getNewState(), "new_state", d, isVarlen())))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// TransitionOp
//===----------------------------------------------------------------------===//

float TransitionOp::getScaleOrDefault() {
  if (auto s = getScale())
    return s->convertToFloat();
  return defaultScale(getQ());
}

LogicalResult TransitionOp::verify() {
  const int64_t steps = getSteps();
  // Gated DeltaProduct uses 2 or 3; the bound keeps T * steps far from overflow.
  if (steps < 1 || steps > kMaxSteps)
    return emitOpError() << "'steps' must be between 1 and " << kMaxSteps << ", got " << steps;
  std::optional<float> scale;
  if (auto s = getScale())
    scale = s->convertToFloat();
  LayerView view{getGate(), UpdateRule::Additive, getQ(), getK(), getV(), getG(),
                 getBeta(), getCuSeqlens(),       scale,  false,  steps};
  LayerDims d;
  if (failed(verifyLayer(*this, view, d)))
    return failure();
  // The rank-one term: a and b together, or the delta rule's, or none.
  if (static_cast<bool>(getA()) != static_cast<bool>(getB()))
    return emitOpError() << "'a' and 'b' (the rank-one term's read and write vectors) come "
                            "together, got only '"
                         << (getA() ? "a" : "b") << "'";
  if (getA() && getDeltaRule())
    return emitOpError() << "'delta_rule' derives 'a' and 'b' from 'k' and 'beta'; give "
                            "either 'delta_rule' or 'a' and 'b'";
  if (getDeltaRule() && !getBeta())
    return emitOpError() << "'delta_rule' requires a 'beta' operand";
  if (getAllowNegEigval() && !getDeltaRule())
    return emitOpError() << "'allow_neg_eigval' applies to 'delta_rule' only";
  SmallVector<int64_t> want = {d.B, ShapedType::isDynamic(d.T) ? d.T : d.T * steps, d.HV, d.K};
  for (auto [name, value] : {std::pair{"a", getA()}, std::pair{"b", getB()}}) {
    if (!value)
      continue;
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getElementType() != d.inputType)
      return emitOpError() << "'" << name << "' must have the input element type " << d.inputType
                           << ", got " << type.getElementType();
    if (!compatibleShape(type.getShape(), want))
      return emitOpError() << "'" << name << "' must have shape "
                           << (steps > 1 ? "[B, T * steps, HV, K]" : "[B, T, HV, K]") << " = "
                           << formatShape(want) << ", got " << formatShape(type.getShape());
  }
  if (failed(verifyLayerResults(*this, getInitialState(), getO(), getFinalState(), getChunkSize(),
                                d, isVarlen())))
    return failure();
  if (auto c = getChunkSize(); c && *c % steps != 0)
    return emitOpError() << "'chunk_size' (" << *c << ") must be a multiple of 'steps' (" << steps
                         << "): a chunk holds whole tokens";
  return success();
}

#define GET_OP_CLASSES
#include "gdn/Dialect/GdnOps.cpp.inc"
