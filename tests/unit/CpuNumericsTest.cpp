// Numerics of the CPU path (gdn-chunkwise -> gdn-to-cpu -> ExecutionEngine) against the
// float64 token-by-token reference, for every family, chunk size, sequence-length class,
// state option, dtype and option set; decode; packed batches; extreme inputs; bad inputs.
#include "gdn/Codegen/CpuLayer.h"
#include "gdn/Codegen/LayerDescription.h"
#include "gdn/Numeric.h"
#include "gdn/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

using namespace gdn;

namespace {

/// Tests describe layers with the JIT's LayerDescription; small heads keep the CPU fast.
LayerDescription smallLayer() {
  LayerDescription d;
  d.inputType = "f32";
  d.H = 2;
  d.HV = 4;
  d.K = 64;
  d.V = 64;
  return d;
}

std::unique_ptr<CpuLayer> compileLayer(const LayerDescription &text, int64_t chunkSize) {
  std::string error;
  auto layer = CpuLayer::loadSource(text.toMlir(), "layer.mlir", chunkSize, error);
  EXPECT_TRUE(layer) << error << "\n" << text.toMlir();
  if (layer && !layer->compile(error)) {
    ADD_FAILURE() << error;
    return nullptr;
  }
  return layer;
}

/// Runs the layer and checks every result against the reference within `bound`.
void expectMatchesReference(CpuLayer &layer, const HostTensors &inputs, double bound,
                            const std::string &what) {
  HostTensors outputs;
  std::string error;
  ASSERT_TRUE(layer.run(inputs, outputs, error)) << what << ": " << error;
  auto reference = referenceOutputs(layer.info(), inputs);
  ASSERT_EQ(outputs.size(), layer.info().results.size());
  for (const auto &[name, tensor] : outputs) {
    const std::vector<double> &want = reference.at(name);
    ASSERT_EQ(tensor.values.size(), want.size()) << what << " " << name;
    for (float x : tensor.values)
      ASSERT_TRUE(std::isfinite(x)) << what << " " << name << " is not finite";
    ErrorStats e = compare(tensor.values.data(), want.data(), want.size());
    EXPECT_LE(e.maxRel, bound) << what << ": " << name << " max_abs " << e.maxAbs;
  }
}

/// f32 inputs: rel <= 1e-5. bf16/f16 inputs: the reference runs on the same rounded inputs,
/// and the output itself is rounded to the input type, so rel <= 2e-2.
double boundFor(const std::string &dtype) { return dtype == "f32" ? 1e-5 : 2e-2; }

HostTensors randomInputs(const CpuLayer &layer, int64_t B, int64_t T, uint64_t seed,
                         bool mildGates) {
  HostTensors inputs;
  std::string error;
  EXPECT_TRUE(makeRandomHostInputs(layer.info(), B, T, seed, true, inputs, error)) << error;
  // The generator's gates (~ -0.8 per token) forget an initial state within a few dozen
  // tokens; milder gates keep the state's contribution visible at the end of a sequence.
  if (mildGates)
    if (auto it = inputs.find("g"); it != inputs.end())
      for (float &x : it->second.values)
        x /= 16.0f;
  return inputs;
}

struct Config {
  GateKind gate;
  UpdateRule rule;
  int64_t chunkSize;
  std::string dtype;
  bool initialState;
  bool options; // qk_l2norm, an explicit scale and mild gates
};

std::vector<Config> allConfigs() {
  std::vector<Config> configs;
  for (GateKind gate : {GateKind::None, GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta})
      for (int64_t c : {16, 32, 64, 128})
        for (const char *dtype : {"f32", "bf16", "f16"})
          for (bool init : {false, true})
            for (bool options : {false, true}) {
              // f16 shares bf16's code path apart from the conversions: one chunk size.
              if (std::string(dtype) == "f16" && c != 32)
                continue;
              configs.push_back({gate, rule, c, dtype, init, options});
            }
  return configs;
}

std::string configName(const testing::TestParamInfo<Config> &info) {
  const Config &c = info.param;
  return std::string(toString(c.gate)) + "_" + toString(c.rule) + "_C" +
         std::to_string(c.chunkSize) + "_" + c.dtype + (c.initialState ? "_init" : "") +
         (c.options ? "_l2norm_scale" : "");
}

class CpuNumerics : public testing::TestWithParam<Config> {};

TEST_P(CpuNumerics, MatchesFloat64Reference) {
  const Config &c = GetParam();
  LayerDescription text = smallLayer();
  text.gate = c.gate;
  text.rule = c.rule;
  text.inputType = c.dtype;
  text.initialState = c.initialState;
  text.qkL2norm = c.options;
  text.scale = c.options ? 0.3f : 0.0f;
  auto layer = compileLayer(text, c.chunkSize);
  ASSERT_TRUE(layer);
  EXPECT_EQ(layer->info().chunkSize, c.chunkSize);
  // T a multiple of C, T not a multiple (a short last chunk), and T = 1; GVA H=2, HV=4.
  for (int64_t T : {2 * c.chunkSize, c.chunkSize + 7, int64_t{1}}) {
    HostTensors inputs = randomInputs(*layer, 2, T, 1000 + T, c.options);
    expectMatchesReference(*layer, inputs, boundFor(c.dtype), "T=" + std::to_string(T));
  }
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, CpuNumerics, testing::ValuesIn(allConfigs()), configName);

TEST(CpuNumericsDecode, EveryFamilyStepsLikeTheReference) {
  for (GateKind gate : {GateKind::None, GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta})
      for (int64_t T : {1, 3}) {
        LayerDescription text = smallLayer();
        text.gate = gate;
        text.rule = rule;
        text.decode = true;
        text.decodeTokens = T;
        text.inputType = "bf16";
        text.qkL2norm = true;
        auto layer = compileLayer(text, 0);
        ASSERT_TRUE(layer);
        EXPECT_EQ(layer->info().chunkSize, 1);
        HostTensors inputs = randomInputs(*layer, 3, 0, 7, false);
        expectMatchesReference(*layer, inputs, boundFor("bf16"),
                               std::string(toString(gate)) + "/" + toString(rule));
      }
}

TEST(CpuNumericsVarlen, PackedBatchWithEmptyAndOneTokenSequences) {
  for (GateKind gate : {GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta}) {
      LayerDescription text = smallLayer();
      text.gate = gate;
      text.rule = rule;
      text.varlen = true;
      auto layer = compileLayer(text, 16);
      ASSERT_TRUE(layer);
      HostTensors inputs = randomInputs(*layer, 5, 60, 3, true);
      // Lengths 0, 1, 20, 0, 39: an empty first sequence, a one-token one, a short tail.
      inputs["cu_seqlens"].indices = {0, 0, 1, 21, 21, 60};
      expectMatchesReference(*layer, inputs, 1e-5, "varlen");

      // The empty sequence keeps its initial state exactly.
      HostTensors outputs;
      std::string error;
      ASSERT_TRUE(layer->run(inputs, outputs, error)) << error;
      size_t stateSize = static_cast<size_t>(text.HV * text.K * text.V);
      const std::vector<float> &initial = inputs.at("initial_state").values;
      const std::vector<float> &final = outputs.at("final_state").values;
      for (size_t i = 0; i < stateSize; ++i)
        ASSERT_EQ(final[i], initial[i]);
    }
}

/// The chunk step over tiles of value columns (gdn-tile-value-columns: what the generated GPU
/// kernels run, one block per tile) computes the same layer, for every family, with and
/// without a state, for fixed-length and packed batches.
TEST(CpuNumericsValueTiles, EveryFamilyOverTilesOfValueColumns) {
  for (GateKind gate : {GateKind::None, GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta})
      for (auto [chunk, dtype, V, varlen] :
           {std::tuple{16, "f32", 64, false}, std::tuple{64, "bf16", 128, false},
            std::tuple{16, "f32", 128, true}}) {
        LayerDescription text = smallLayer();
        text.gate = gate;
        text.rule = rule;
        text.inputType = dtype;
        text.V = V;
        text.varlen = varlen;
        text.initialState = V == 128;
        text.qkL2norm = chunk == 64;
        std::string what = std::string(toString(gate)) + "_" + toString(rule) + "_C" +
                           std::to_string(chunk) + "_V" + std::to_string(V) +
                           (varlen ? "_varlen" : "");
        std::string error;
        auto layer = CpuLayer::loadSource(text.toMlir(), "layer.mlir", chunk, error);
        ASSERT_TRUE(layer) << error;
        ASSERT_TRUE(layer->setValueTile(32, error)) << error;
        // The fixed-length bf16 cases also recompute in the step, as the generated kernels do.
        ASSERT_TRUE(layer->setRecomputeInStep(!varlen && chunk == 64, error)) << error;
        std::string lowered = layer->loweredIR(error);
        ASSERT_FALSE(lowered.empty()) << what << ": " << error;
        HostTensors inputs = randomInputs(*layer, varlen ? 3 : 2, chunk + 7, 77, true);
        if (varlen)
          inputs["cu_seqlens"].indices = {0, 5, 5, chunk + 7};
        expectMatchesReference(*layer, inputs, boundFor(dtype), what);
      }
}

/// The step recomputing W, U, Q', K' (and the additive rule's products) from inputs and what
/// crosses (gdn-split-chunk-loop{recompute}) computes the same layer, for every family, chunk
/// size and packed batches.
TEST(CpuNumericsRecompute, EveryFamilyWithTheStepRecomputing) {
  for (GateKind gate : {GateKind::None, GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta})
      for (auto [chunk, dtype, varlen] :
           {std::tuple{16, "f32", false}, std::tuple{64, "bf16", false},
            std::tuple{32, "f32", true}}) {
        LayerDescription text = smallLayer();
        text.gate = gate;
        text.rule = rule;
        text.inputType = dtype;
        text.varlen = varlen;
        text.initialState = true;
        text.qkL2norm = true;
        text.scale = 0.3f;
        std::string what = std::string(toString(gate)) + "_" + toString(rule) + "_C" +
                           std::to_string(chunk) + (varlen ? "_varlen" : "");
        std::string error;
        auto layer = CpuLayer::loadSource(text.toMlir(), "layer.mlir", chunk, error);
        ASSERT_TRUE(layer) << error;
        ASSERT_TRUE(layer->setRecomputeInStep(true, error)) << error;
        ASSERT_FALSE(layer->loweredIR(error).empty()) << what << ": " << error;
        HostTensors inputs = randomInputs(*layer, varlen ? 3 : 2, 2 * chunk + 5, 91, true);
        if (varlen)
          inputs["cu_seqlens"].indices = {0, 1, chunk + 2, 2 * chunk + 5};
        expectMatchesReference(*layer, inputs, boundFor(dtype), what);
      }
}

TEST(CpuNumericsValueTiles, ATileThatDoesNotDivideVIsRefused) {
  std::string error;
  auto layer = CpuLayer::loadSource(smallLayer().toMlir(), "layer.mlir", 16, error);
  ASSERT_TRUE(layer) << error;
  EXPECT_FALSE(layer->setValueTile(48, error));
  EXPECT_NE(error.find("do not divide V = 64"), std::string::npos) << error;
  EXPECT_FALSE(layer->setValueTile(-1, error));
  // Both choices shape the lowering: refused once the layer is compiled.
  ASSERT_TRUE(layer->compile(error)) << error;
  EXPECT_FALSE(layer->setValueTile(32, error));
  EXPECT_NE(error.find("compiled already"), std::string::npos) << error;
  EXPECT_FALSE(layer->setRecomputeInStep(true, error));
  EXPECT_NE(error.find("compiled already"), std::string::npos) << error;
}

TEST(CpuNumericsVarlen, SameAsRunningEachSequenceAlone) {
  LayerDescription packed = smallLayer();
  packed.varlen = true;
  auto layer = compileLayer(packed, 32);
  ASSERT_TRUE(layer);
  HostTensors inputs = randomInputs(*layer, 3, 50, 11, true);
  inputs["cu_seqlens"].indices = {0, 17, 18, 50};
  HostTensors outputs;
  std::string error;
  ASSERT_TRUE(layer->run(inputs, outputs, error)) << error;

  LayerDescription single = smallLayer(); // the same layer, one sequence per batch entry
  auto alone = compileLayer(single, 32);
  ASSERT_TRUE(alone);
  const auto &cu = inputs.at("cu_seqlens").indices;
  for (size_t n = 0; n + 1 < cu.size(); ++n) {
    int64_t bos = cu[n], len = cu[n + 1] - cu[n];
    HostTensors one;
    for (const char *name : {"q", "k", "v", "g", "beta"}) {
      const HostTensor &t = inputs.at(name);
      size_t row = t.numel() / static_cast<size_t>(t.shape[1]);
      HostTensor slice;
      slice.shape = t.shape;
      slice.shape[1] = len;
      slice.values.assign(t.values.begin() + bos * row, t.values.begin() + (bos + len) * row);
      one[name] = slice;
    }
    const HostTensor &s = inputs.at("initial_state");
    size_t per = s.numel() / static_cast<size_t>(s.shape[0]);
    one["initial_state"] =
        HostTensor{{1, s.shape[1], s.shape[2], s.shape[3]},
                   {s.values.begin() + n * per, s.values.begin() + (n + 1) * per},
                   {}};
    HostTensors got;
    ASSERT_TRUE(alone->run(one, got, error)) << error;
    const std::vector<float> &fs = outputs.at("final_state").values;
    for (size_t i = 0; i < per; ++i)
      ASSERT_NEAR(got.at("final_state").values[i], fs[n * per + i], 1e-5) << "sequence " << n;
  }
}

// Extreme inputs stay finite and accurate.
class CpuExtremes : public testing::TestWithParam<std::pair<GateKind, UpdateRule>> {};

TEST_P(CpuExtremes, GatesBetasAndLongSequences) {
  auto [gate, rule] = GetParam();
  LayerDescription text = smallLayer();
  text.gate = gate;
  text.rule = rule;
  auto layer = compileLayer(text, 64);
  ASSERT_TRUE(layer);
  const int64_t T = 150;
  auto set = [](HostTensors &in, const char *name, float value) {
    if (auto it = in.find(name); it != in.end())
      for (float &x : it->second.values)
        x = value;
  };
  {
    HostTensors in = randomInputs(*layer, 2, T, 21, false);
    set(in, "g", 0.0f); // no decay at all
    expectMatchesReference(*layer, in, 1e-5, "g = 0");
  }
  {
    HostTensors in = randomInputs(*layer, 2, T, 22, false);
    set(in, "g", -20.0f); // exp(-20) per token: the state is forgotten at once
    expectMatchesReference(*layer, in, 1e-5, "g = -20");
  }
  {
    HostTensors in = randomInputs(*layer, 2, T, 23, true);
    set(in, "beta", 0.0f);
    expectMatchesReference(*layer, in, 1e-5, "beta = 0");
  }
  {
    HostTensors in = randomInputs(*layer, 2, T, 24, true);
    set(in, "beta", 1.0f);
    expectMatchesReference(*layer, in, 1e-5, "beta = 1");
  }
}

TEST_P(CpuExtremes, UnnormalisedKeysWithInKernelL2Norm) {
  auto [gate, rule] = GetParam();
  LayerDescription text = smallLayer();
  text.gate = gate;
  text.rule = rule;
  text.qkL2norm = true;
  auto layer = compileLayer(text, 32);
  ASSERT_TRUE(layer);
  HostTensors in = randomInputs(*layer, 1, 70, 31, true);
  for (const char *name : {"q", "k"})
    for (float &x : in.at(name).values)
      x *= 25.0f;
  expectMatchesReference(*layer, in, 1e-5, "|k| ~ 25 sqrt(K)");
}

TEST_P(CpuExtremes, FourThousandTokens) {
  auto [gate, rule] = GetParam();
  LayerDescription text = smallLayer();
  text.gate = gate;
  text.rule = rule;
  text.H = 1;
  text.HV = 1;
  auto layer = compileLayer(text, 64);
  ASSERT_TRUE(layer);
  HostTensors in = randomInputs(*layer, 1, 4096, 41, true);
  expectMatchesReference(*layer, in, 1e-5, "T = 4096");
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, CpuExtremes,
                         testing::Values(std::pair{GateKind::None, UpdateRule::Additive},
                                         std::pair{GateKind::None, UpdateRule::Delta},
                                         std::pair{GateKind::Scalar, UpdateRule::Additive},
                                         std::pair{GateKind::Scalar, UpdateRule::Delta},
                                         std::pair{GateKind::Channel, UpdateRule::Additive},
                                         std::pair{GateKind::Channel, UpdateRule::Delta}),
                         [](const auto &info) {
                           return std::string(toString(info.param.first)) + "_" +
                                  toString(info.param.second);
                         });

// Bad inputs get a precise error and nothing runs.
class CpuBadInputs : public testing::Test {
protected:
  void SetUp() override {
    text.varlen = true;
    layer = compileLayer(text, 16);
    ASSERT_TRUE(layer);
    inputs = randomInputs(*layer, 2, 20, 5, false);
    inputs["cu_seqlens"].indices = {0, 8, 20};
  }
  std::string runError() {
    HostTensors outputs;
    std::string error;
    EXPECT_FALSE(layer->run(inputs, outputs, error));
    return error;
  }
  LayerDescription text = smallLayer();
  std::unique_ptr<CpuLayer> layer;
  HostTensors inputs;
};

TEST_F(CpuBadInputs, MissingOperand) {
  inputs.erase("g");
  EXPECT_EQ(runError(), "missing input 'g' (f32 [1, ?, 4])");
}

TEST_F(CpuBadInputs, UnknownOperand) {
  inputs["gamma"] = inputs.at("g");
  EXPECT_EQ(runError(), "unexpected input 'gamma': the layer has no such operand");
}

TEST_F(CpuBadInputs, WrongRank) {
  inputs["beta"].shape = {1, 20, 4, 1};
  EXPECT_EQ(runError(), "'beta' has shape [1, 20, 4, 1] but the layer expects [1, ?, 4]");
}

TEST_F(CpuBadInputs, DisagreeingSequenceLength) {
  HostTensor &v = inputs["v"];
  v.shape[1] = 19;
  v.values.resize(v.numel());
  EXPECT_EQ(runError(), "'v' has T = 19 but 'q' has T = 20");
}

TEST_F(CpuBadInputs, NanInGate) {
  inputs["g"].values[7] = std::nanf("");
  EXPECT_EQ(runError(), "'g' holds a non-finite value (nan) at flat index 7");
}

TEST_F(CpuBadInputs, BetaOutOfRange) {
  inputs["beta"].values[3] = 1.5f;
  EXPECT_NE(runError().find("'beta' value 1.500000 at flat index 3 is outside [0, 1]"),
            std::string::npos);
}

TEST_F(CpuBadInputs, CuSeqlensMustCoverTheTokens) {
  inputs["cu_seqlens"].indices = {0, 8, 19};
  EXPECT_EQ(runError(), "'cu_seqlens' must end at T = 20, got 19");
  inputs["cu_seqlens"].indices = {1, 8, 20};
  EXPECT_EQ(runError(), "'cu_seqlens' must start at 0, got 1");
  inputs["cu_seqlens"].indices = {0, 12, 8};
  inputs["cu_seqlens"].indices.back() = 20;
  inputs["cu_seqlens"].indices[1] = 21;
  EXPECT_EQ(runError(), "'cu_seqlens' must not decrease, but offset 2 (20) < offset 1 (21)");
}

TEST_F(CpuBadInputs, StateCountMustMatchSequences) {
  inputs["cu_seqlens"] = HostTensor{{4}, {}, {0, 5, 8, 20}};
  EXPECT_EQ(runError(), "'cu_seqlens' has N = 3 but 'initial_state' has N = 2");
}

TEST(CpuLayerLoad, RejectsFilesWithoutExactlyOneLayer) {
  std::string error;
  EXPECT_FALSE(CpuLayer::loadSource("func.func @f() { return }", "empty.mlir", 0, error));
  EXPECT_EQ(error, "expected exactly one gdn.recurrence, gdn.decode or gdn.transition op, found 0");
  LayerDescription text = smallLayer();
  std::string twice = text.toMlir();
  std::string second = twice;
  second.replace(second.find("@layer"), 6, "@layer2");
  EXPECT_FALSE(CpuLayer::loadSource(twice + second, "two.mlir", 0, error));
  EXPECT_EQ(error, "expected exactly one gdn.recurrence, gdn.decode or gdn.transition op, found 2");
}

TEST(CpuLayerLoad, ParseErrorsCarryTheirLocation) {
  std::string error;
  EXPECT_FALSE(
      CpuLayer::loadSource("func.func @f(%q: tensor<1x2x3x64xf32>, %v: tensor<1x2x4x64xf32>) {\n"
                           "  %o = gdn.recurrence <none, additive> q(%q : tensor<1x2x3x64xf32>)"
                           " k(%q : tensor<1x2x3x64xf32>) v(%v : tensor<1x2x4x64xf32>)"
                           " -> tensor<1x2x4x64xf32>\n  return\n}\n",
                           "bad.mlir", 0, error));
  EXPECT_NE(error.find("bad.mlir:2:8"), std::string::npos) << error;
  EXPECT_NE(error.find("value heads HV = 4 must be a multiple of query/key heads H = 3"),
            std::string::npos)
      << error;
}

TEST(CpuLayerLoad, RejectsUnsupportedChunkSize) {
  std::string error;
  LayerDescription text = smallLayer();
  EXPECT_FALSE(CpuLayer::loadSource(text.toMlir(), "layer.mlir", 48, error));
  EXPECT_EQ(error, "chunk size must be 16, 32, 64 or 128, got 48");
}

TEST(CpuLayerLoad, ChunkSizeAttributeWins) {
  LayerDescription text = smallLayer();
  text.extraAttributes = "chunk_size = 32 : i64";
  std::string error;
  auto layer = CpuLayer::loadSource(text.toMlir(), "layer.mlir", 128, error);
  ASSERT_TRUE(layer) << error;
  EXPECT_EQ(layer->info().chunkSize, 32);
}

} // namespace
