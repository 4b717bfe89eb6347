// gdn.transition on the CPU path (gdn-chunkwise's generalized chunkwise form, docs/design.md
// §2.5, -> gdn-to-cpu -> ExecutionEngine) against the float64 reference of the general form
// (runtime/include/gdn/GeneralReference.h): RWKV-7's DPLR rule and Gated DeltaProduct with 2
// and 3 steps, every gate, chunk sizes, dtypes, packed batches; a family written as a
// transition gives gdn.recurrence's outputs; bad inputs are refused with the operand named.
#include "gdn/Codegen/CpuLayer.h"
#include "gdn/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

using namespace gdn;

namespace {

struct TransitionCase {
  std::string name;
  std::string gate;  // none, scalar, channel
  std::string terms; // "ab" (a and b operands), "delta" (delta_rule), "" (additive)
  int64_t steps;
  std::string dtype;
  bool varlen;
};

std::string tensorType(const std::string &dims, const std::string &elt) {
  return "tensor<" + dims + "x" + elt + ">";
}

/// The layer text: H = 2, HV = 4, K = V = 64, dynamic B and T, an initial state, the final
/// state out, qk_l2norm.
std::string layerSource(const TransitionCase &c) {
  const std::string bt = c.varlen ? "1x?" : "?x?";
  const std::string qk = tensorType(bt + "x2x64", c.dtype), v = tensorType(bt + "x4x64", c.dtype),
                    ab = tensorType(bt + "x4x64", c.dtype),
                    g = c.gate == "channel" ? tensorType(bt + "x4x64", "f32")
                                            : tensorType(bt + "x4", "f32"),
                    beta = tensorType(bt + "x4", "f32"), s = tensorType("?x4x64x64", "f32");
  std::ostringstream os;
  os << "func.func @layer(%q: " << qk << ", %k: " << qk << ", %v: " << v << ", %a: " << ab
     << ", %b: " << ab << ", %g: " << g << ", %beta: " << beta << ", %h0: " << s
     << ", %cu: tensor<?xi32>) -> (" << v << ", " << s << ") {\n"
     << "  %o, %ht = gdn.transition <" << c.gate << "> q(%q : " << qk << ") k(%k : " << qk
     << ") v(%v : " << v << ")";
  if (c.terms == "ab")
    os << " a(%a : " << ab << ") b(%b : " << ab << ")";
  if (c.gate != "none")
    os << " g(%g : " << g << ")";
  os << " beta(%beta : " << beta << ") initial_state(%h0 : " << s << ")";
  if (c.varlen)
    os << " cu_seqlens(%cu : tensor<?xi32>)";
  os << " {qk_l2norm, steps = " << c.steps << (c.terms == "delta" ? ", delta_rule" : "") << "} -> "
     << v << ", " << s << "\n  return %o, %ht : " << v << ", " << s << "\n}\n";
  return os.str();
}

std::unique_ptr<CpuLayer> compile(const std::string &source, int64_t chunkSize) {
  std::string error;
  auto layer = CpuLayer::loadSource(source, "transition.mlir", chunkSize, error);
  EXPECT_TRUE(layer) << error << "\n" << source;
  if (layer && !layer->compile(error)) {
    ADD_FAILURE() << error;
    return nullptr;
  }
  return layer;
}

/// As the families' CPU numerics: f32 rel <= 1e-5 (the state) and the outputs; bf16 / f16
/// inputs are rounded before the reference sees them and the output is rounded, so 2e-2.
double boundFor(const std::string &dtype) { return dtype == "f32" ? 1e-5 : 2e-2; }

void expectMatchesReference(CpuLayer &layer, const HostTensors &inputs, double bound,
                            const std::string &what) {
  HostTensors outputs;
  std::string error;
  ASSERT_TRUE(layer.run(inputs, outputs, error)) << what << ": " << error;
  auto reference = referenceOutputs(layer.info(), inputs);
  ASSERT_EQ(outputs.size(), 2u);
  for (const auto &[name, tensor] : outputs) {
    const std::vector<double> &want = reference.at(name);
    ASSERT_EQ(tensor.values.size(), want.size()) << what << " " << name;
    ErrorStats e = compare(tensor.values.data(), want.data(), want.size());
    EXPECT_LE(e.maxRel, bound) << what << ": " << name << " max_abs " << e.maxAbs;
    double largest = 0.0;
    for (double x : want)
      largest = std::max(largest, std::fabs(x));
    EXPECT_GT(largest, 1e-3) << what << ": " << name << " is (nearly) zero";
  }
}

class CpuTransition : public testing::TestWithParam<TransitionCase> {};

TEST_P(CpuTransition, MatchesFloat64Reference) {
  const TransitionCase &c = GetParam();
  for (int64_t chunk : {16, 64}) {
    auto layer = compile(layerSource(c), chunk);
    ASSERT_TRUE(layer);
    // Lengths around the chunk (in sub-steps: T * steps rows).
    for (int64_t T : {1, 7, 40}) {
      HostTensors inputs;
      std::string error;
      ASSERT_TRUE(
          makeRandomHostInputs(layer->info(), c.varlen ? 3 : 2, T, 17 + T, true, inputs, error))
          << error;
      expectMatchesReference(*layer, inputs, boundFor(c.dtype),
                             c.name + " chunk " + std::to_string(chunk) + " T " +
                                 std::to_string(T));
    }
  }
}

// The general form's chunk step over tiles of 32 value columns (gdn-tile-value-columns, as the
// generated GPU kernels run it) computes the same layer: the value columns are found through
// the rank-r terms and sub-steps too.
TEST_P(CpuTransition, MatchesFloat64ReferenceOverValueTiles) {
  const TransitionCase &c = GetParam();
  std::string error;
  auto layer = CpuLayer::loadSource(layerSource(c), "transition.mlir", 16, error);
  ASSERT_TRUE(layer) << error;
  ASSERT_TRUE(layer->setValueTile(32, error)) << error;
  ASSERT_TRUE(layer->compile(error)) << error;
  HostTensors inputs;
  ASSERT_TRUE(makeRandomHostInputs(layer->info(), c.varlen ? 3 : 2, 40, 5, true, inputs, error))
      << error;
  expectMatchesReference(*layer, inputs, boundFor(c.dtype), c.name + " over value tiles");
}

INSTANTIATE_TEST_SUITE_P(
    Variants, CpuTransition,
    testing::Values(TransitionCase{"dplr_channel_f32", "channel", "ab", 1, "f32", false},
                    TransitionCase{"dplr_channel_bf16", "channel", "ab", 1, "bf16", false},
                    TransitionCase{"dplr_scalar_packed", "scalar", "ab", 1, "f32", true},
                    TransitionCase{"dplr_ungated", "none", "ab", 1, "f32", false},
                    TransitionCase{"deltaproduct2_scalar", "scalar", "delta", 2, "f32", false},
                    TransitionCase{"deltaproduct3_scalar_f16", "scalar", "delta", 3, "f16", false},
                    TransitionCase{"deltaproduct2_channel_packed", "channel", "delta", 2, "f32",
                                   true},
                    TransitionCase{"lowrank2_channel", "channel", "ab", 2, "f32", false},
                    TransitionCase{"additive2_scalar", "scalar", "", 2, "f32", false}),
    [](const testing::TestParamInfo<TransitionCase> &info) { return info.param.name; });

/// Each of the six families written as a transition (what gdn-generalize writes: delta_rule
/// with one step, or no rank-one term) gives gdn.recurrence's outputs on the same inputs,
/// within f32 rounding: the general path computes the families.
class CpuTransitionFamilies : public testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(CpuTransitionFamilies, EqualsTheRecurrence) {
  const auto &[gate, rule] = GetParam();
  TransitionCase c{"family", gate, rule == "delta" ? "delta" : "", 1, "f32", false};
  auto transition = compile(layerSource(c), 32);
  const std::string qk = "tensor<?x?x2x64xf32>", v = "tensor<?x?x4x64xf32>",
                    g = gate == "channel" ? "tensor<?x?x4x64xf32>" : "tensor<?x?x4xf32>",
                    beta = "tensor<?x?x4xf32>", s = "tensor<?x4x64x64xf32>";
  std::string recurrence = "func.func @layer(%q: " + qk + ", %k: " + qk + ", %v: " + v +
                           ", %g: " + g + ", %beta: " + beta + ", %h0: " + s + ") -> (" + v + ", " +
                           s + ") {\n  %o, %ht = gdn.recurrence <" + gate + ", " + rule +
                           "> q(%q : " + qk + ") k(%k : " + qk + ") v(%v : " + v + ")" +
                           (gate != "none" ? " g(%g : " + g + ")" : std::string()) +
                           " beta(%beta : " + beta + ") initial_state(%h0 : " + s +
                           ") {qk_l2norm} -> " + v + ", " + s + "\n  return %o, %ht : " + v + ", " +
                           s + "\n}\n";
  auto family = compile(recurrence, 32);
  ASSERT_TRUE(transition && family);
  HostTensors inputs, out1, out2;
  std::string error;
  ASSERT_TRUE(makeRandomHostInputs(transition->info(), 2, 45, 3, true, inputs, error)) << error;
  ASSERT_TRUE(transition->run(inputs, out1, error)) << error;
  ASSERT_TRUE(family->run(inputs, out2, error)) << error;
  for (const char *name : {"o", "final_state"}) {
    const HostTensor &x = out1.at(name), &y = out2.at(name);
    std::vector<double> want(y.values.begin(), y.values.end());
    EXPECT_LE(compare(x.values.data(), want.data(), want.size()).maxRel, 1e-5) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    SixFamilies, CpuTransitionFamilies,
    testing::Values(std::pair{"none", "additive"}, std::pair{"scalar", "additive"},
                    std::pair{"channel", "additive"}, std::pair{"none", "delta"},
                    std::pair{"scalar", "delta"}, std::pair{"channel", "delta"}),
    [](const auto &info) { return info.param.first + "_" + info.param.second; });

/// Extreme gates and betas on the generalized form: g = -20 everywhere (the chunk-local
/// cumulative gates reach -20 C: every exponent must be a masked difference <= 0), beta = 0 and
/// 1, over 300 tokens; DPLR and Gated DeltaProduct, f32.
TEST(CpuTransitionExtremes, VeryNegativeGatesAndBetaBounds) {
  for (const TransitionCase &c :
       {TransitionCase{"dplr", "channel", "ab", 1, "f32", false},
        TransitionCase{"deltaproduct", "scalar", "delta", 2, "f32", false}}) {
    auto layer = compile(layerSource(c), 64);
    ASSERT_TRUE(layer);
    for (float beta : {0.0f, 1.0f}) {
      HostTensors inputs;
      std::string error;
      ASSERT_TRUE(makeRandomHostInputs(layer->info(), 1, 300, 9, true, inputs, error)) << error;
      for (float &g : inputs.at("g").values)
        g = -20.0f;
      for (float &b : inputs.at("beta").values)
        b = beta;
      HostTensors outputs;
      ASSERT_TRUE(layer->run(inputs, outputs, error)) << error;
      auto reference = referenceOutputs(layer->info(), inputs);
      for (const auto &[name, tensor] : outputs) {
        for (float x : tensor.values)
          ASSERT_TRUE(std::isfinite(x)) << c.name << " beta " << beta << " " << name;
        const std::vector<double> &want = reference.at(name);
        ErrorStats e = compare(tensor.values.data(), want.data(), want.size());
        EXPECT_LE(e.maxRel, 1e-5) << c.name << " beta " << beta << " " << name;
      }
    }
  }
}

TEST(CpuTransitionBadInputs, NamesTheOperand) {
  TransitionCase c{"dp", "scalar", "delta", 2, "f32", false};
  auto layer = compile(layerSource(c), 16);
  ASSERT_TRUE(layer);
  HostTensors inputs, outputs;
  std::string error;
  ASSERT_TRUE(makeRandomHostInputs(layer->info(), 1, 5, 1, true, inputs, error)) << error;
  // k with T rows instead of T * steps.
  HostTensors bad = inputs;
  bad.at("k").shape[1] = 5;
  bad.at("k").values.resize(5 * 2 * 64);
  EXPECT_FALSE(layer->run(bad, outputs, error));
  EXPECT_NE(error.find("'k' has T * steps = 5"), std::string::npos) << error;
  // Every sub-step operand with 7 rows, consistent among themselves but not T * steps.
  bad = inputs;
  for (const char *name : {"k", "v", "beta"}) {
    HostTensor &t = bad.at(name);
    size_t perRow = t.values.size() / t.shape[1];
    t.shape[1] = 7;
    t.values.resize(7 * perRow);
  }
  EXPECT_FALSE(layer->run(bad, outputs, error));
  EXPECT_NE(error.find("'k' has 7 rows but T * steps = 5 * 2 = 10"), std::string::npos) << error;
  // beta outside [0, 1] for the delta rule.
  bad = inputs;
  bad.at("beta").values[3] = 1.5f;
  EXPECT_FALSE(layer->run(bad, outputs, error));
  EXPECT_NE(error.find("'beta' value 1.5"), std::string::npos) << error;
}

} // namespace
