//===- CpuTransition.cpp - gdn.transition on the CPU path: inputs, reference ---===//
#include "CpuTransition.h"

#include "gdn/GeneralReference.h"
#include "gdn/Numeric.h"

#include <cmath>

namespace gdn {

ElementType elementTypeOf(const std::string &name) {
  return name == "bf16" ? ElementType::BF16 : name == "f16" ? ElementType::F16 : ElementType::F32;
}

void putRoundedInput(const LayerInfo &info, HostTensors &inputs, const std::string &name,
                     std::vector<int64_t> shape, std::vector<float> values) {
  if (const TensorSpec *spec = info.operand(name)) {
    ElementType t = elementTypeOf(spec->elementType);
    for (float &x : values)
      x = roundTo(t, x);
    inputs[name] = HostTensor{std::move(shape), std::move(values), {}};
  }
}

bool makeRandomTransitionInputs(const LayerInfo &info, int64_t B, int64_t T, int64_t N,
                                const std::vector<int64_t> &cu, uint64_t seed,
                                bool withInitialState, HostTensors &inputs) {
  const int64_t n = info.steps, rows = T * n;
  const ElementType inputType = elementTypeOf(info.operand("q")->elementType);
  // Per token: q and the gates. Per sub-step: k, v, beta. Per value head and sub-step: the
  // unit vectors u of the rank-one term and their weights c (a draw with H = HV).
  RandomLayerInputs tokens =
      makeRandomInputs(info.gate, UpdateRule::Delta, B, T, info.H, info.HV, info.K, info.V,
                       info.qkL2norm, false, false, inputType, seed);
  RandomLayerInputs steps =
      makeRandomInputs(GateKind::None, UpdateRule::Delta, B, rows, info.H, info.HV, info.K, info.V,
                       info.qkL2norm, false, false, inputType, seed + 1);
  RandomLayerInputs lowRank =
      makeRandomInputs(GateKind::None, UpdateRule::Delta, B, rows, info.HV, info.HV, info.K, 1,
                       false, false, false, ElementType::F32, seed + 2);
  inputs.clear();
  auto put = [&](const std::string &name, std::vector<int64_t> shape, std::vector<float> values) {
    putRoundedInput(info, inputs, name, std::move(shape), std::move(values));
  };
  put("q", {B, T, info.H, info.K}, tokens.q);
  put("k", {B, rows, info.H, info.K}, steps.k);
  put("v", {B, rows, info.HV, info.V}, steps.v);
  if (info.gate == GateKind::Scalar)
    put("g", {B, T, info.HV}, tokens.g);
  else if (info.gate == GateKind::Channel)
    put("g", {B, T, info.HV, info.K}, tokens.g);
  put("beta", {B, rows, info.HV}, steps.beta);
  if (info.operand("a")) {
    std::vector<float> a(lowRank.k.size()), b(lowRank.k.size());
    for (size_t row = 0; row < lowRank.beta.size(); ++row)
      for (int64_t c = 0; c < info.K; ++c) {
        a[row * info.K + c] = -lowRank.k[row * info.K + c];
        b[row * info.K + c] = lowRank.k[row * info.K + c] * lowRank.beta[row];
      }
    put("a", {B, rows, info.HV, info.K}, a);
    put("b", {B, rows, info.HV, info.K}, b);
  }
  if (info.operand("initial_state")) {
    std::vector<float> state(static_cast<size_t>(N * info.HV * info.K * info.V), 0.0f);
    if (withInitialState)
      state = makeRandomInputs(GateKind::None, UpdateRule::Delta, N, 1, info.H, info.HV, info.K,
                               info.V, false, false, true, ElementType::F32, seed + 3)
                  .initialState;
    put("initial_state", {N, info.HV, info.K, info.V}, state);
  }
  if (info.isVarlen())
    inputs["cu_seqlens"] = HostTensor{{N + 1}, {}, cu};
  return true;
}

std::map<std::string, std::vector<double>> transitionReference(const LayerInfo &info,
                                                               const HostTensors &inputs) {
  auto data = [&](const char *name) -> const float * {
    auto it = inputs.find(name);
    return it == inputs.end() ? nullptr : it->second.values.data();
  };
  const HostTensor &q = inputs.at("q");
  TransitionInputs in;
  in.gate = info.gate;
  in.B = q.shape[0], in.T = q.shape[1], in.H = info.H, in.HV = info.HV, in.K = info.K;
  in.V = info.V, in.steps = info.steps;
  in.deltaRule = info.deltaRule;
  in.qkL2Norm = info.qkL2norm;
  in.scale = info.scale;
  if (auto it = inputs.find("cu_seqlens"); it != inputs.end())
    in.cuSeqlens = it->second.indices;
  in.q = data("q"), in.k = data("k"), in.v = data("v"), in.a = data("a"), in.b = data("b");
  in.g = data("g"), in.beta = data("beta"), in.initialState = data("initial_state");
  GeneralBuffers general = generalFromTransition(in);
  LayerResult r = referenceGeneral(general.problem);
  std::map<std::string, std::vector<double>> out;
  out["o"] = std::move(r.o);
  for (const TensorSpec &spec : info.results)
    if (spec.name != "o")
      out[spec.name] = std::move(r.finalState);
  return out;
}

} // namespace gdn
