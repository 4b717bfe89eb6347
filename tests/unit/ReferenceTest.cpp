//===- ReferenceTest.cpp - float64 reference and rounding helpers ---------===//

#include "gdn/Reference.h"
#include "gdn/Numeric.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace gdn;

namespace {

constexpr double kTol = 1e-10;

/// Owns inputs plus the problem that points into them.
struct Case {
  RandomLayerInputs in;
  LayerProblem p;
};

Case makeCase(GateKind gate, UpdateRule rule, int64_t B, int64_t T, int64_t H, int64_t HV,
              int64_t K, int64_t V, bool qkL2Norm, bool initState, uint64_t seed,
              bool negEig = false, double gateScale = 1.0) {
  Case c;
  c.in = makeRandomInputs(gate, rule, B, T, H, HV, K, V, qkL2Norm, negEig, initState,
                          ElementType::F32, seed);
  for (float &g : c.in.g)
    g = static_cast<float>(g * gateScale);
  c.p = makeProblem(c.in, gate, rule, B, T, H, HV, K, V, 1.0 / std::sqrt(K), qkL2Norm);
  return c;
}

void expectClose(const LayerResult &got, const LayerResult &want, double tol = kTol) {
  ASSERT_EQ(got.o.size(), want.o.size());
  ASSERT_EQ(got.finalState.size(), want.finalState.size());
  ErrorStats eo = compare(got.o.data(), want.o.data(), want.o.size());
  ErrorStats es = compare(got.finalState.data(), want.finalState.data(), want.finalState.size());
  EXPECT_LE(eo.maxRel, tol) << "o maxAbs " << eo.maxAbs;
  EXPECT_LE(es.maxRel, tol) << "finalState maxAbs " << es.maxAbs;
}

bool allFinite(const std::vector<double> &x) {
  for (double v : x)
    if (!std::isfinite(v))
      return false;
  return true;
}

// ---------------------------------------------------------------------------
// Chunkwise vs recurrence, swept over families and shapes.
// ---------------------------------------------------------------------------

struct SweepParam {
  GateKind gate;
  UpdateRule rule;
  int64_t C, T;
  bool initState, qkL2Norm;
  double gateScale; // 1/16 keeps decay mild so cross-chunk state carry matters
};

std::string sweepName(const testing::TestParamInfo<SweepParam> &info) {
  const SweepParam &s = info.param;
  std::string name = std::string(toString(s.gate)) + "_" + toString(s.rule) + "_C" +
                     std::to_string(s.C) + "_T" + std::to_string(s.T) +
                     (s.initState ? "_init" : "") + (s.qkL2Norm ? "_l2" : "") +
                     (s.gateScale != 1.0 ? "_mild" : "");
  return name;
}

std::vector<SweepParam> sweepParams() {
  std::vector<SweepParam> out;
  for (GateKind gate : {GateKind::None, GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta})
      for (int64_t C : {16, 32, 64})
        for (int64_t T : {2 * C, 2 * C + 5, int64_t(1)})
          for (bool initState : {false, true})
            for (bool l2 : {false, true})
              for (double gs : {1.0, 1.0 / 16}) {
                if (gate == GateKind::None && gs != 1.0)
                  continue; // no gate to scale
                out.push_back({gate, rule, C, T, initState, l2, gs});
              }
  return out;
}

class ChunkwiseSweep : public testing::TestWithParam<SweepParam> {};

TEST_P(ChunkwiseSweep, MatchesRecurrence) {
  const SweepParam &s = GetParam();
  // GVA (H=2, HV=4) and K != V; which of K, V is larger alternates.
  int64_t K = s.qkL2Norm ? 16 : 32, V = s.qkL2Norm ? 32 : 16;
  uint64_t seed = 1000 + 17 * s.C + s.T + (s.initState ? 7 : 0);
  Case c = makeCase(s.gate, s.rule, 2, s.T, 2, 4, K, V, s.qkL2Norm, s.initState, seed,
                    /*negEig=*/s.initState, s.gateScale);
  expectClose(referenceChunkwise(c.p, s.C), referenceRecurrence(c.p));
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, ChunkwiseSweep, testing::ValuesIn(sweepParams()), sweepName);

// ---------------------------------------------------------------------------
// Hand-computed cases (arithmetic spelled out in comments).
// ---------------------------------------------------------------------------

TEST(ReferenceHand, DeltaNoGateK2V2) {
  // t1: k=(1,0) v=(2,3) beta=.5 q=(1,1). S0=0, so S1 = k (.5 v)^T
  //     = [[1, 1.5], [0, 0]]; o1 = .5 * S1^T q = .5 * (1, 1.5).
  // t2: k=(.6,.8) v=(1,-1) beta=1 q=(0,2). S1^T k = (.6, .9),
  //     v - S1^T k = (.4, -1.9), S2 = S1 + k (.4, -1.9)^T
  //     = [[1.24, .36], [.32, -1.52]]; o2 = .5 * S2^T q = .5 * (.64, -3.04).
  std::vector<float> q = {1, 1, 0, 2}, k = {1, 0, 0.6f, 0.8f}, v = {2, 3, 1, -1},
                     beta = {0.5f, 1.0f};
  LayerProblem p;
  p.gate = GateKind::None;
  p.rule = UpdateRule::Delta;
  p.B = 1, p.T = 2, p.H = 1, p.HV = 1, p.K = 2, p.V = 2;
  p.scale = 0.5;
  p.q = q.data(), p.k = k.data(), p.v = v.data(), p.beta = beta.data();
  LayerResult r = referenceRecurrence(p);
  std::vector<double> o = {0.5, 0.75, 0.32, -1.52};
  std::vector<double> S = {1.24, 0.36, 0.32, -1.52};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(r.o[i], o[i], 1e-6) << i;
    EXPECT_NEAR(r.finalState[i], S[i], 1e-6) << i;
  }
  expectClose(referenceChunkwise(p, 16), r);
}

TEST(ReferenceHand, AdditiveScalarGateWithState) {
  // S0=4. t1: g=ln .5 -> S=2; + k v beta = 2*3*1 -> S=8; o1 = 8*q1 = 8.
  //       t2: g=ln .25 -> S=2; + 1*2*.5 -> S=3; o2 = 3*q2 = 9.
  std::vector<float> q = {1, 3}, k = {2, 1}, v = {3, 2}, beta = {1, 0.5f},
                     g = {std::log(0.5f), std::log(0.25f)}, s0 = {4};
  LayerProblem p;
  p.gate = GateKind::Scalar;
  p.rule = UpdateRule::Additive;
  p.B = 1, p.T = 2, p.H = 1, p.HV = 1, p.K = 1, p.V = 1;
  p.q = q.data(), p.k = k.data(), p.v = v.data(), p.g = g.data();
  p.beta = beta.data(), p.initialState = s0.data();
  LayerResult r = referenceRecurrence(p);
  EXPECT_NEAR(r.o[0], 8.0, 1e-6);
  EXPECT_NEAR(r.o[1], 9.0, 1e-6);
  EXPECT_NEAR(r.finalState[0], 3.0, 1e-6);
  expectClose(referenceChunkwise(p, 16), r);
  expectClose(referenceChunkwise(p, 1), r);
}

TEST(ReferenceHand, DeltaChannelGateWithState) {
  // K=2, V=1, S0=(1,2).
  // t1: g=(ln .5, 0) -> S=(.5, 2); k=(1,1): S^T k = 2.5, v - 2.5 = 2.5,
  //     beta=1 -> S=(3, 4.5); q=(1,0) -> o1 = 3.
  // t2: g=(0, ln .5) -> S=(3, 2.25); k=(0,2): S^T k = 4.5, v=1 -> -3.5,
  //     beta=.25 -> -.875; S += k * -.875 -> (3, .5); q=(1,1) -> o2 = 3.5.
  std::vector<float> q = {1, 0, 1, 1}, k = {1, 1, 0, 2}, v = {5, 1}, beta = {1, 0.25f},
                     g = {std::log(0.5f), 0, 0, std::log(0.5f)}, s0 = {1, 2};
  LayerProblem p;
  p.gate = GateKind::Channel;
  p.rule = UpdateRule::Delta;
  p.B = 1, p.T = 2, p.H = 1, p.HV = 1, p.K = 2, p.V = 1;
  p.q = q.data(), p.k = k.data(), p.v = v.data(), p.g = g.data();
  p.beta = beta.data(), p.initialState = s0.data();
  LayerResult r = referenceRecurrence(p);
  EXPECT_NEAR(r.o[0], 3.0, 1e-6);
  EXPECT_NEAR(r.o[1], 3.5, 1e-6);
  EXPECT_NEAR(r.finalState[0], 3.0, 1e-6);
  EXPECT_NEAR(r.finalState[1], 0.5, 1e-6);
  expectClose(referenceChunkwise(p, 2), r);
  expectClose(referenceChunkwise(p, 1), r);
}

TEST(ReferenceHand, L2NormAndNullBetaMeanOne) {
  // k=(3,4) normalises to (.6,.8) (up to the 1e-6 epsilon); q=(0,5) to (0,1).
  // S = k v^T with v=2 -> (1.2, 1.6); o = S^T q = 1.6.
  std::vector<float> q = {0, 5}, k = {3, 4}, v = {2};
  LayerProblem p;
  p.gate = GateKind::None;
  p.rule = UpdateRule::Delta;
  p.B = 1, p.T = 1, p.H = 1, p.HV = 1, p.K = 2, p.V = 1;
  p.qkL2Norm = true;
  p.q = q.data(), p.k = k.data(), p.v = v.data();
  LayerResult r = referenceRecurrence(p);
  EXPECT_NEAR(r.o[0], 1.6, 1e-6);
  EXPECT_NEAR(r.finalState[0], 1.2, 1e-6);
  EXPECT_NEAR(r.finalState[1], 1.6, 1e-6);
}

// ---------------------------------------------------------------------------
// Structural properties checked against independent constructions.
// ---------------------------------------------------------------------------

TEST(ReferenceStructure, GvaHeadMappingMatchesSingleHeadProblems) {
  const int64_t B = 1, T = 9, H = 2, HV = 4, K = 8, V = 4, group = HV / H;
  Case c = makeCase(GateKind::Channel, UpdateRule::Delta, B, T, H, HV, K, V, false, true, 42);
  LayerResult full = referenceRecurrence(c.p);
  for (int64_t j = 0; j < HV; ++j) {
    int64_t h = j / group;
    std::vector<float> q, k, v, g, beta, s0;
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t x = 0; x < K; ++x) {
        q.push_back(c.in.q[(t * H + h) * K + x]);
        k.push_back(c.in.k[(t * H + h) * K + x]);
        g.push_back(c.in.g[(t * HV + j) * K + x]);
      }
      for (int64_t d = 0; d < V; ++d)
        v.push_back(c.in.v[(t * HV + j) * V + d]);
      beta.push_back(c.in.beta[t * HV + j]);
    }
    s0.assign(c.in.initialState.begin() + j * K * V, c.in.initialState.begin() + (j + 1) * K * V);
    LayerProblem p = c.p;
    p.H = p.HV = 1;
    p.q = q.data(), p.k = k.data(), p.v = v.data(), p.g = g.data();
    p.beta = beta.data(), p.initialState = s0.data();
    LayerResult single = referenceRecurrence(p);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t d = 0; d < V; ++d)
        EXPECT_EQ(full.o[(t * HV + j) * V + d], single.o[t * V + d]);
    for (int64_t i = 0; i < K * V; ++i)
      EXPECT_EQ(full.finalState[j * K * V + i], single.finalState[i]);
  }
}

TEST(ReferenceStructure, L2NormEqualsPrenormalisedInputs) {
  const int64_t B = 2, T = 7, H = 1, HV = 2, K = 8, V = 8;
  Case c = makeCase(GateKind::Scalar, UpdateRule::Delta, B, T, H, HV, K, V, true, false, 5);
  LayerResult withNorm = referenceRecurrence(c.p);
  std::vector<float> q = c.in.q, k = c.in.k;
  // Normalise in float64 and hand over as float: agreement to float rounding.
  for (std::vector<float> *x : {&q, &k})
    for (size_t r = 0; r < x->size(); r += K) {
      double ss = 0;
      for (int64_t c2 = 0; c2 < K; ++c2)
        ss += double((*x)[r + c2]) * (*x)[r + c2];
      for (int64_t c2 = 0; c2 < K; ++c2)
        (*x)[r + c2] = static_cast<float>((*x)[r + c2] / std::sqrt(ss + 1e-6));
    }
  LayerProblem p = c.p;
  p.qkL2Norm = false;
  p.q = q.data(), p.k = k.data();
  expectClose(referenceRecurrence(p), withNorm, 1e-6);
}

TEST(ReferenceStructure, ZeroGateEqualsNoGate) {
  for (GateKind gate : {GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta}) {
      Case c = makeCase(gate, rule, 1, 40, 2, 2, 16, 16, false, true, 3);
      for (float &g : c.in.g)
        g = 0.0f;
      LayerProblem none = c.p;
      none.gate = GateKind::None;
      none.g = nullptr;
      LayerResult want = referenceRecurrence(none);
      expectClose(referenceRecurrence(c.p), want, 0.0);
      expectClose(referenceChunkwise(c.p, 16), want);
    }
}

TEST(ReferenceStructure, BatchRowsAreIndependent) {
  const int64_t B = 3, T = 21, H = 1, HV = 2, K = 16, V = 16;
  Case c = makeCase(GateKind::Scalar, UpdateRule::Delta, B, T, H, HV, K, V, false, true, 8);
  LayerResult full = referenceRecurrence(c.p);
  for (int64_t b = 0; b < B; ++b) {
    LayerProblem p = c.p;
    p.B = 1;
    p.q += b * T * H * K, p.k += b * T * H * K, p.v += b * T * HV * V;
    p.g += b * T * HV, p.beta += b * T * HV;
    p.initialState += b * HV * K * V;
    LayerResult one = referenceRecurrence(p);
    for (size_t i = 0; i < one.o.size(); ++i)
      EXPECT_EQ(one.o[i], full.o[b * T * HV * V + i]);
    for (size_t i = 0; i < one.finalState.size(); ++i)
      EXPECT_EQ(one.finalState[i], full.finalState[b * HV * K * V + i]);
  }
}

TEST(ReferenceStructure, ZeroTokensKeepsState) {
  Case c = makeCase(GateKind::Scalar, UpdateRule::Delta, 2, 0, 1, 2, 4, 4, false, true, 1);
  // All token tensors are empty; T == 0 accepts null pointers for them.
  EXPECT_EQ(c.p.q, nullptr);
  EXPECT_EQ(validate(c.p), "");
  for (const LayerResult &r : {referenceRecurrence(c.p), referenceChunkwise(c.p, 16)}) {
    EXPECT_TRUE(r.o.empty());
    ASSERT_EQ(r.finalState.size(), c.in.initialState.size());
    for (size_t i = 0; i < r.finalState.size(); ++i)
      EXPECT_EQ(r.finalState[i], c.in.initialState[i]);
  }
}

// ---------------------------------------------------------------------------
// Variable-length batches.
// ---------------------------------------------------------------------------

TEST(ReferenceVarlen, EqualsSeparateSequences) {
  // Lengths 5, 0 (empty), 1, 34, 37.
  const std::vector<int64_t> cu = {0, 5, 5, 6, 40, 77};
  const int64_t N = 5, T = 77, H = 2, HV = 4, K = 16, V = 16;
  for (GateKind gate : {GateKind::None, GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta}) {
      SCOPED_TRACE(std::string(toString(gate)) + " " + toString(rule));
      Case c = makeCase(gate, rule, 1, T, H, HV, K, V, true, false, 77, false, 1.0 / 16);
      // Per-sequence initial states [N, HV, K, V].
      c.in.initialState =
          makeRandomInputs(gate, rule, N, 0, H, HV, K, V, false, false, true, ElementType::F32, 99)
              .initialState;
      c.p.initialState = c.in.initialState.data();
      c.p.cuSeqlens = cu;
      ASSERT_EQ(validate(c.p), "");
      LayerResult rec = referenceRecurrence(c.p);
      ASSERT_EQ(rec.finalState.size(), size_t(N * HV * K * V));
      expectClose(referenceChunkwise(c.p, 16), rec);
      const int64_t gw = gate == GateKind::Channel ? K : 1;
      for (int64_t n = 0; n < N; ++n) {
        int64_t bos = cu[n], len = cu[n + 1] - cu[n];
        LayerProblem p = c.p;
        p.cuSeqlens.clear();
        p.T = len;
        p.q += bos * H * K, p.k += bos * H * K, p.v += bos * HV * V;
        if (p.g)
          p.g += bos * HV * gw;
        p.beta += bos * HV;
        p.initialState += n * HV * K * V;
        LayerResult one = referenceRecurrence(p);
        for (size_t i = 0; i < one.o.size(); ++i)
          EXPECT_EQ(one.o[i], rec.o[bos * HV * V + i]);
        for (size_t i = 0; i < one.finalState.size(); ++i)
          EXPECT_EQ(one.finalState[i], rec.finalState[n * HV * K * V + i]);
        if (len == 0) { // empty sequence: state passes through untouched
          for (int64_t i = 0; i < HV * K * V; ++i)
            EXPECT_EQ(rec.finalState[n * HV * K * V + i],
                      double(c.p.initialState[n * HV * K * V + i]));
        }
      }
    }
}

// ---------------------------------------------------------------------------
// Extreme inputs.
// ---------------------------------------------------------------------------

TEST(ReferenceExtreme, VeryNegativeGates) {
  for (GateKind gate : {GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta}) {
      SCOPED_TRACE(std::string(toString(gate)) + " " + toString(rule));
      Case c = makeCase(gate, rule, 1, 150, 1, 2, 16, 16, false, true, 11);
      for (float &g : c.in.g)
        g = -20.0f; // 64 tokens: G = -1280, exp underflows to 0 in float64
      LayerResult rec = referenceRecurrence(c.p);
      LayerResult chk = referenceChunkwise(c.p, 64);
      EXPECT_TRUE(allFinite(rec.o) && allFinite(rec.finalState));
      EXPECT_TRUE(allFinite(chk.o) && allFinite(chk.finalState));
      expectClose(chk, rec);
    }
}

TEST(ReferenceExtreme, MixedGateMagnitudesPerChannel) {
  // Channel gates spanning 0 to -20 inside one chunk: exp(G_i - G_j) ranges
  // from 1 to underflow within the same row of the Gram product.
  Case c = makeCase(GateKind::Channel, UpdateRule::Delta, 1, 130, 1, 1, 16, 16, false, true, 12);
  for (size_t i = 0; i < c.in.g.size(); ++i)
    c.in.g[i] = (i % 16 < 8) ? -20.0f * float(i % 16) / 7.0f : 0.0f;
  expectClose(referenceChunkwise(c.p, 64), referenceRecurrence(c.p));
}

TEST(ReferenceExtreme, BetaZeroLeavesDeltaStateUnchanged) {
  for (GateKind gate : {GateKind::None, GateKind::Scalar})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta}) {
      Case c = makeCase(gate, rule, 1, 50, 1, 2, 8, 8, false, true, 13);
      for (float &b : c.in.beta)
        b = 0.0f;
      for (float &g : c.in.g)
        g = 0.0f; // no decay either: S must stay S0 exactly
      LayerResult rec = referenceRecurrence(c.p);
      for (size_t i = 0; i < rec.finalState.size(); ++i)
        EXPECT_EQ(rec.finalState[i], double(c.in.initialState[i]));
      expectClose(referenceChunkwise(c.p, 16), rec);
    }
}

TEST(ReferenceExtreme, BetaOneAndNegativeEigenvalues) {
  for (float betaValue : {1.0f, 2.0f})
    for (GateKind gate : {GateKind::None, GateKind::Channel}) {
      Case c =
          makeCase(gate, UpdateRule::Delta, 1, 100, 1, 1, 16, 16, false, true, 14, false, 1.0 / 16);
      for (float &b : c.in.beta)
        b = betaValue;
      LayerResult rec = referenceRecurrence(c.p);
      EXPECT_TRUE(allFinite(rec.o));
      expectClose(referenceChunkwise(c.p, 32), rec);
    }
}

TEST(ReferenceExtreme, BetaOneDeltaStoresExactValue) {
  // With beta = 1 and unit k, S^T k equals v right after the update.
  Case c = makeCase(GateKind::None, UpdateRule::Delta, 1, 1, 1, 1, 8, 4, false, true, 15);
  c.in.beta[0] = 1.0f;
  LayerResult r = referenceRecurrence(c.p);
  // S1^T k = S0^T k + (v - S0^T k) |k|^2, and |k|^2 = 1 up to f32 rounding.
  for (int64_t d = 0; d < 4; ++d) {
    double sk = 0;
    for (int64_t x = 0; x < 8; ++x)
      sk += r.finalState[x * 4 + d] * c.in.k[x];
    EXPECT_NEAR(sk, c.in.v[d], 1e-5);
  }
}

TEST(ReferenceExtreme, LongSequence) {
  for (GateKind gate : {GateKind::None, GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta}) {
      SCOPED_TRACE(std::string(toString(gate)) + " " + toString(rule));
      Case c = makeCase(gate, rule, 1, 4096, 1, 1, 8, 8, false, true, 16, false, 1.0 / 16);
      LayerResult rec = referenceRecurrence(c.p);
      LayerResult chk = referenceChunkwise(c.p, 64);
      EXPECT_TRUE(allFinite(rec.o) && allFinite(rec.finalState));
      expectClose(chk, rec);
    }
}

// ---------------------------------------------------------------------------
// validate() and error paths.
// ---------------------------------------------------------------------------

TEST(ReferenceValidate, RejectsBadProblems) {
  std::vector<float> buf(4096, 0.5f);
  auto good = [&] {
    LayerProblem p;
    p.gate = GateKind::Scalar;
    p.rule = UpdateRule::Delta;
    p.B = 1, p.T = 8, p.H = 2, p.HV = 4, p.K = 4, p.V = 4;
    p.q = p.k = p.v = p.g = buf.data();
    return p;
  };
  EXPECT_EQ(validate(good()), "");
  struct Bad {
    void (*mutate)(LayerProblem &);
    const char *message;
  };
  const Bad bad[] = {
      {[](LayerProblem &p) { p.B = 0; }, "B must be positive (got 0)"},
      {[](LayerProblem &p) { p.H = -1; }, "H must be positive (got -1)"},
      {[](LayerProblem &p) { p.HV = 0; }, "HV must be positive (got 0)"},
      {[](LayerProblem &p) { p.K = 0; }, "K must be positive (got 0)"},
      {[](LayerProblem &p) { p.V = 0; }, "V must be positive (got 0)"},
      {[](LayerProblem &p) { p.T = -3; }, "T must be non-negative (got -3)"},
      {[](LayerProblem &p) { p.HV = 5; }, "HV (5) must be a multiple of H (2)"},
      {[](LayerProblem &p) { p.q = nullptr; }, "q is null"},
      {[](LayerProblem &p) { p.k = nullptr; }, "k is null"},
      {[](LayerProblem &p) { p.v = nullptr; }, "v is null"},
      {[](LayerProblem &p) { p.g = nullptr; }, "gate is scalar but g is null"},
      {[](LayerProblem &p) {
         p.gate = GateKind::Channel;
         p.g = nullptr;
       },
       "gate is channel but g is null"},
      {[](LayerProblem &p) { p.gate = GateKind::None; }, "gate is none but g is given"},
      {[](LayerProblem &p) { p.scale = std::numeric_limits<double>::quiet_NaN(); },
       "scale must be finite (got nan)"},
      {[](LayerProblem &p) {
         p.B = 2;
         p.cuSeqlens = {0, 8};
       },
       "cu_seqlens requires B == 1 (got B = 2)"},
      {[](LayerProblem &p) { p.cuSeqlens = {0}; },
       "cu_seqlens must have at least 2 entries (got 1)"},
      {[](LayerProblem &p) {
         p.cuSeqlens = {1, 8};
       },
       "cu_seqlens must start at 0 (got 1)"},
      {[](LayerProblem &p) {
         p.cuSeqlens = {0, 5, 3, 8};
       },
       "cu_seqlens must be non-decreasing (cu_seqlens[2] = 3 < "
       "cu_seqlens[1] = 5)"},
      {[](LayerProblem &p) {
         p.cuSeqlens = {0, 4, 7};
       },
       "cu_seqlens must end at T = 8 (got 7)"},
  };
  for (const Bad &b : bad) {
    LayerProblem p = good();
    b.mutate(p);
    EXPECT_EQ(validate(p), b.message);
    EXPECT_THROW(referenceRecurrence(p), std::invalid_argument) << b.message;
    EXPECT_THROW(referenceChunkwise(p, 16), std::invalid_argument) << b.message;
  }
  // Accepted edge cases: empty varlen sequences, T == 0 with null tensors.
  LayerProblem p = good();
  p.cuSeqlens = {0, 0, 8, 8};
  EXPECT_EQ(validate(p), "");
  p = good();
  p.T = 0;
  p.q = p.k = p.v = p.g = nullptr;
  EXPECT_EQ(validate(p), "");
}

TEST(ReferenceStructure, ChunkLargerThanSequenceIsOneChunk) {
  Case c = makeCase(GateKind::Channel, UpdateRule::Delta, 2, 37, 1, 2, 8, 8, false, true, 21);
  LayerResult rec = referenceRecurrence(c.p);
  expectClose(referenceChunkwise(c.p, int64_t(1) << 40), rec);
  expectClose(referenceChunkwise(c.p, 37), rec);
  expectClose(referenceChunkwise(c.p, 1), rec);
}

TEST(ReferenceValidate, ChunkSizeMustBePositive) {
  Case c = makeCase(GateKind::None, UpdateRule::Delta, 1, 4, 1, 1, 4, 4, false, false, 1);
  try {
    referenceChunkwise(c.p, 0);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument &e) {
    EXPECT_STREQ(e.what(), "chunk size must be positive (got 0)");
  }
}

// ---------------------------------------------------------------------------
// compare().
// ---------------------------------------------------------------------------

TEST(ReferenceCompare, AbsoluteAndNormRelative) {
  std::vector<double> want = {0.0, 2.0, -4.0}, got = {1e-3, 2.0, -4.002};
  ErrorStats e = compare(got.data(), want.data(), 3);
  EXPECT_NEAR(e.maxAbs, 2e-3, 1e-15);
  EXPECT_NEAR(e.maxRel, 2e-3 / 4.0, 1e-15); // relative to max|want|, not per entry
  std::vector<float> gotF = {0.0f, 2.0f, -4.0f};
  EXPECT_EQ(compare(gotF.data(), want.data(), 3).maxAbs, 0.0);
  EXPECT_EQ(compare(got.data(), want.data(), 0).maxRel, 0.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> bad = {nan, 2.0, -4.0};
  EXPECT_EQ(compare(bad.data(), want.data(), 3).maxRel, inf);
  std::vector<double> infs = {inf}, infWant = {inf}, negInf = {-inf};
  EXPECT_EQ(compare(infs.data(), infWant.data(), 1).maxAbs, 0.0);
  EXPECT_EQ(compare(negInf.data(), infWant.data(), 1).maxAbs, inf);
  std::vector<double> zeros = {0.0, 0.0};
  EXPECT_EQ(compare(zeros.data(), zeros.data(), 2).maxRel, 0.0);
}

// ---------------------------------------------------------------------------
// Random input generator.
// ---------------------------------------------------------------------------

TEST(ReferenceRandom, ShapesRangesAndDeterminism) {
  const int64_t B = 2, T = 33, H = 2, HV = 4, K = 16, V = 8;
  RandomLayerInputs a = makeRandomInputs(GateKind::Channel, UpdateRule::Delta, B, T, H, HV, K, V,
                                         false, true, true, ElementType::BF16, 123);
  RandomLayerInputs b = makeRandomInputs(GateKind::Channel, UpdateRule::Delta, B, T, H, HV, K, V,
                                         false, true, true, ElementType::BF16, 123);
  EXPECT_EQ(a.q, b.q);
  EXPECT_EQ(a.k, b.k);
  EXPECT_EQ(a.g, b.g);
  EXPECT_EQ(a.beta, b.beta);
  EXPECT_EQ(a.initialState, b.initialState);
  EXPECT_EQ(a.q.size(), size_t(B * T * H * K));
  EXPECT_EQ(a.k.size(), size_t(B * T * H * K));
  EXPECT_EQ(a.v.size(), size_t(B * T * HV * V));
  EXPECT_EQ(a.g.size(), size_t(B * T * HV * K));
  EXPECT_EQ(a.beta.size(), size_t(B * T * HV));
  EXPECT_EQ(a.initialState.size(), size_t(B * HV * K * V));
  EXPECT_TRUE(a.cuSeqlens.empty());
  for (float x : a.q)
    EXPECT_EQ(x, roundToBf16(x));
  for (float x : a.v)
    EXPECT_EQ(x, roundToBf16(x));
  for (size_t r = 0; r < a.k.size(); r += K) {
    double ss = 0;
    for (int64_t c = 0; c < K; ++c) {
      EXPECT_EQ(a.k[r + c], roundToBf16(a.k[r + c]));
      ss += double(a.k[r + c]) * a.k[r + c];
    }
    EXPECT_NEAR(std::sqrt(ss), 1.0, 1e-2); // unit norm up to bf16 rounding
  }
  bool betaAboveOne = false, stateUnrounded = false;
  for (float x : a.g) {
    EXPECT_LE(x, 0.0f);
    EXPECT_GT(x, -10.0f);
  }
  for (float x : a.beta) {
    EXPECT_GT(x, 0.0f);
    EXPECT_LT(x, 2.0f);
    betaAboveOne |= x > 1.0f;
  }
  for (float x : a.initialState)
    stateUnrounded |= x != roundToBf16(x);
  EXPECT_TRUE(betaAboveOne);   // allowNegEigval widens to (0, 2)
  EXPECT_TRUE(stateUnrounded); // the state stays f32

  RandomLayerInputs c = makeRandomInputs(GateKind::Channel, UpdateRule::Delta, B, T, H, HV, K, V,
                                         false, true, false, ElementType::BF16, 124);
  EXPECT_NE(a.q, c.q);
  EXPECT_TRUE(c.initialState.empty());

  // Toggling the state leaves the other tensors unchanged (separate streams).
  RandomLayerInputs d = makeRandomInputs(GateKind::Channel, UpdateRule::Delta, B, T, H, HV, K, V,
                                         false, true, false, ElementType::BF16, 123);
  EXPECT_EQ(a.q, d.q);
  EXPECT_EQ(a.beta, d.beta);
}

TEST(ReferenceRandom, GateAndNormOptions) {
  RandomLayerInputs none = makeRandomInputs(GateKind::None, UpdateRule::Additive, 1, 10, 1, 1, 8, 8,
                                            true, false, false, ElementType::F16, 5);
  EXPECT_TRUE(none.g.empty());
  EXPECT_EQ(none.beta.size(), 10u); // additive still gets beta
  for (float x : none.beta) {
    EXPECT_GT(x, 0.0f);
    EXPECT_LT(x, 1.0f);
  }
  double maxNorm = 0;
  for (size_t r = 0; r < none.k.size(); r += 8) {
    double ss = 0;
    for (int c = 0; c < 8; ++c) {
      EXPECT_EQ(none.k[r + c], roundToF16(none.k[r + c]));
      ss += double(none.k[r + c]) * none.k[r + c];
    }
    maxNorm = std::max(maxNorm, std::sqrt(ss));
  }
  EXPECT_GT(maxNorm, 3.0); // unnormalised k when the layer normalises itself
  RandomLayerInputs scalar = makeRandomInputs(GateKind::Scalar, UpdateRule::Delta, 2, 10, 1, 3, 8,
                                              8, false, false, false, ElementType::F32, 5);
  EXPECT_EQ(scalar.g.size(), 60u);
  LayerProblem p =
      makeProblem(scalar, GateKind::Scalar, UpdateRule::Delta, 2, 10, 1, 3, 8, 8, 0.25, false);
  EXPECT_EQ(validate(p), "");
  EXPECT_EQ(p.g, scalar.g.data());
  EXPECT_EQ(p.initialState, nullptr);
  EXPECT_EQ(p.scale, 0.25);
}

// ---------------------------------------------------------------------------
// bf16 / f16 rounding.
// ---------------------------------------------------------------------------

float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(Numeric, Bf16KnownValues) {
  EXPECT_EQ(roundToBf16(1.0f), 1.0f);
  EXPECT_EQ(roundToBf16(1.0f + 0x1p-8f), 1.0f);               // tie -> even
  EXPECT_EQ(roundToBf16(1.0f + 3 * 0x1p-8f), 1.0f + 0x1p-6f); // tie -> even
  EXPECT_EQ(roundToBf16(1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f);
  EXPECT_EQ(roundToBf16(-1.0f - 0x1p-8f - 0x1p-20f), -1.0f - 0x1p-7f);
  EXPECT_EQ(roundToBf16(0.1f), 0.10009765625f);
  EXPECT_EQ(roundToBf16(std::numeric_limits<float>::max()), std::numeric_limits<float>::infinity());
  EXPECT_EQ(roundToBf16(-std::numeric_limits<float>::infinity()),
            -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(roundToBf16(std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload lives only in the dropped bits must stay NaN.
  EXPECT_TRUE(std::isnan(roundToBf16(bitsToFloat(0x7F800001u))));
  EXPECT_TRUE(std::signbit(roundToBf16(-0.0f)));
  // f32 subnormals round on bf16's subnormal grid (step 2^-133).
  EXPECT_EQ(roundToBf16(0x1p-133f), 0x1p-133f);
  EXPECT_EQ(roundToBf16(0x1p-134f), 0.0f);              // tie -> even (0)
  EXPECT_EQ(roundToBf16(3 * 0x1p-134f), 2 * 0x1p-133f); // tie -> even
}

TEST(Numeric, F16KnownValues) {
  EXPECT_EQ(roundToF16(1.0f), 1.0f);
  EXPECT_EQ(roundToF16(1.0f + 0x1p-11f), 1.0f);               // tie -> even
  EXPECT_EQ(roundToF16(1.0f + 3 * 0x1p-11f), 1.0f + 0x1p-9f); // tie -> even
  EXPECT_EQ(roundToF16(0.1f), 0.0999755859375f);
  EXPECT_EQ(roundToF16(65504.0f), 65504.0f);
  EXPECT_EQ(roundToF16(65519.0f), 65504.0f);
  EXPECT_EQ(roundToF16(65520.0f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(roundToF16(-65520.0f), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(roundToF16(1e10f), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(roundToF16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::signbit(roundToF16(-0.0f)));
  // Subnormals: grid step 2^-24 below 2^-14.
  EXPECT_EQ(roundToF16(0x1p-14f), 0x1p-14f);
  EXPECT_EQ(roundToF16(0x1p-24f), 0x1p-24f);
  EXPECT_EQ(roundToF16(0x1p-25f), 0.0f); // tie -> even
  EXPECT_EQ(roundToF16(1.5f * 0x1p-25f), 0x1p-24f);
  EXPECT_EQ(roundToF16(3 * 0x1p-25f), 2 * 0x1p-24f);   // tie -> even
  EXPECT_EQ(roundToF16(-5 * 0x1p-25f), -2 * 0x1p-24f); // tie -> even
  EXPECT_EQ(roundToF16(1023.5f * 0x1p-24f), 0x1p-14f); // into normals
  EXPECT_EQ(roundToF16(1e-30f), 0.0f);
  EXPECT_EQ(roundToF16(0x1p-140f), 0.0f); // f32 subnormal input
}

TEST(Numeric, RoundToDispatchAndNames) {
  EXPECT_EQ(roundTo(ElementType::F32, 0.1f), 0.1f);
  EXPECT_EQ(roundTo(ElementType::BF16, 0.1f), roundToBf16(0.1f));
  EXPECT_EQ(roundTo(ElementType::F16, 0.1f), roundToF16(0.1f));
  EXPECT_STREQ(toString(ElementType::F32), "f32");
  EXPECT_STREQ(toString(ElementType::BF16), "bf16");
  EXPECT_STREQ(toString(ElementType::F16), "f16");
}

/// Nearest value of a grid by brute force: both neighbours in double, ties to
/// the one with an even last kept bit. Independent of the bit tricks above.
TEST(Numeric, Bf16MatchesBruteForceOnManyValues) {
  uint64_t state = 7;
  for (int i = 0; i < 200000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t u = static_cast<uint32_t>(state >> 32);
    float x = bitsToFloat(u);
    if (std::isnan(x) || std::isinf(x))
      continue;
    float lo = bitsToFloat(u & 0xFFFF0000u);
    float hi = bitsToFloat((u & 0xFFFF0000u) + 0x10000u); // may be inf
    // Past the largest bf16 the next grid point is 2^128, which rounds to inf.
    double hiValue = std::isinf(hi) ? std::copysign(0x1p128, x) : double(hi);
    double dl = std::fabs(double(x) - lo), dh = std::fabs(hiValue - x);
    float want = dl < dh ? lo : dh < dl ? hi : (((u >> 16) & 1) ? hi : lo);
    ASSERT_EQ(roundToBf16(x), want) << std::hex << u;
  }
}

#ifdef __FLT16_MAX__
// GCC and Clang's _Float16 conversions round to nearest even in hardware or
// libgcc, which gives an independent oracle for f16.
TEST(Numeric, F16MatchesCompilerFloat16) {
  uint64_t state = 11;
  for (int i = 0; i < 200000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t u = static_cast<uint32_t>(state >> 32);
    // Bias towards f16's range so most samples exercise rounding, not overflow.
    // Exponents 2^-47 .. 2^16: flush to zero, subnormal, normal, overflow.
    u = (u & 0x80000000u) | ((u & 0x1FFFFFFFu) + 0x28000000u);
    float x = bitsToFloat(u);
    float want = static_cast<float>(static_cast<_Float16>(x));
    ASSERT_EQ(roundToF16(x), want) << std::hex << u;
  }
}
#endif

// Bit patterns round-trip every finite bf16/f16 value and match the compiler's f16 layout.
TEST(Numeric, BitPatternsRoundTrip) {
  for (uint32_t bits = 0; bits <= 0xFFFFu; ++bits) {
    uint16_t h = static_cast<uint16_t>(bits);
    float bf = fromBf16Bits(h);
    if (!std::isnan(bf)) {
      ASSERT_EQ(toBf16Bits(bf), h) << std::hex << bits;
    }
    float f16 = fromF16Bits(h);
    if (!std::isnan(f16)) {
      ASSERT_EQ(toF16Bits(f16), h) << std::hex << bits;
    }
#ifdef __FLT16_MAX__
    _Float16 native;
    std::memcpy(&native, &h, sizeof h);
    if (!std::isnan(f16)) {
      ASSERT_EQ(static_cast<float>(native), f16) << std::hex << bits;
    }
#endif
  }
  EXPECT_EQ(toBf16Bits(1.0f), 0x3F80u);
  EXPECT_EQ(toF16Bits(1.0f), 0x3C00u);
  EXPECT_EQ(toF16Bits(-2.0f), 0xC000u);
  EXPECT_EQ(toF16Bits(1e6f), 0x7C00u);
  EXPECT_EQ(toF16Bits(0x1p-24f), 0x0001u);
}

} // namespace

// Large tensors are filled in parallel blocks, each from its own stream: the values are the
// same on every call (whatever the thread count) and still standard normal.
TEST(ReferenceRandom, LargeTensorsAreDeterministicAcrossParallelBlocks) {
  auto make = [] {
    return makeRandomInputs(GateKind::Scalar, UpdateRule::Delta, 1, 9000, 2, 2, 128, 128, false,
                            false, false, ElementType::F32, 11);
  };
  RandomLayerInputs a = make(), b = make();
  ASSERT_EQ(a.q.size(), size_t(9000 * 2 * 128)); // > 2 blocks of 2^20
  EXPECT_EQ(a.q, b.q);
  EXPECT_EQ(a.k, b.k);
  EXPECT_EQ(a.v, b.v);
  EXPECT_EQ(a.g, b.g);
  double sum = 0, sumSq = 0;
  for (float x : a.q) {
    sum += x;
    sumSq += double(x) * x;
  }
  double n = double(a.q.size()), mean = sum / n;
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(sumSq / n - mean * mean, 1.0, 0.01);
  // Blocks differ from one another (no repeated stream).
  size_t block = size_t(1) << 20;
  EXPECT_NE(std::vector<float>(a.q.begin(), a.q.begin() + 64),
            std::vector<float>(a.q.begin() + block, a.q.begin() + block + 64));
  // Unit-norm key rows (no qk_l2norm) across a block boundary.
  for (size_t r : {size_t(0), block / 128, size_t(9000 * 2 - 1)}) {
    double norm = 0;
    for (size_t c = 0; c < 128; ++c)
      norm += double(a.k[r * 128 + c]) * a.k[r * 128 + c];
    EXPECT_NEAR(norm, 1.0, 1e-5) << "row " << r;
  }
}
