//===- GeneralReferenceTest.cpp - the generalized transition in float64 ----===//
//
// docs/design.md §1.1 and §2.5: the six families written in the general form give the family
// reference's results; the chunkwise form of the general transition (chunks ending anywhere,
// also inside a token) gives the sub-step recurrence's; RWKV-7's diagonal-plus-low-rank rule
// and Gated DeltaProduct match their definitions in flash-linear-attention (its naive forms,
// written out here independently of the general form).
//
//===----------------------------------------------------------------------===//
#include "gdn/GeneralReference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

using namespace gdn;

namespace {

constexpr double kTol = 1e-10;

void expectClose(const LayerResult &got, const LayerResult &want, double tol = kTol) {
  ASSERT_EQ(got.o.size(), want.o.size());
  ASSERT_EQ(got.finalState.size(), want.finalState.size());
  ErrorStats eo = compare(got.o.data(), want.o.data(), want.o.size());
  ErrorStats es = compare(got.finalState.data(), want.finalState.data(), want.finalState.size());
  EXPECT_LE(eo.maxRel, tol) << "o maxAbs " << eo.maxAbs;
  EXPECT_LE(es.maxRel, tol) << "finalState maxAbs " << es.maxAbs;
  // Not a vacuous comparison: the outputs carry signal.
  double largest = 0.0;
  for (double x : want.o)
    largest = std::max(largest, std::fabs(x));
  if (!want.o.empty()) {
    EXPECT_GT(largest, 1e-3);
  }
}

struct Rng {
  std::mt19937_64 gen;
  explicit Rng(uint64_t seed) : gen(seed) {}
  double normal() { return std::normal_distribution<double>(0.0, 1.0)(gen); }
  double logSigmoid() { return -std::log1p(std::exp(-normal())); }
  double sigmoid() { return 1.0 / (1.0 + std::exp(-normal())); }
  std::vector<double> normals(size_t n, double scale = 1.0) {
    std::vector<double> x(n);
    for (double &v : x)
      v = scale * normal();
    return x;
  }
};

/// x / sqrt(sum_c x_c^2 + 1e-6) per row, the contract's L2 norm (docs/design.md §1).
void normalizeRows(std::vector<double> &x, int64_t K) {
  for (size_t row = 0; row < x.size() / K; ++row) {
    double sum = 0.0;
    for (int64_t c = 0; c < K; ++c)
      sum += x[row * K + c] * x[row * K + c];
    for (int64_t c = 0; c < K; ++c)
      x[row * K + c] /= std::sqrt(sum + 1e-6);
  }
}

// ---------------------------------------------------------------------------
// The six families are special cases.
// ---------------------------------------------------------------------------

struct FamilyParam {
  GateKind gate;
  UpdateRule rule;
  bool qkL2Norm, packed;
};

class GeneralFamilies : public ::testing::TestWithParam<FamilyParam> {};

TEST_P(GeneralFamilies, GeneralFormEqualsFamilyReference) {
  const FamilyParam fp = GetParam();
  const int64_t T = 37, H = 2, HV = 4, K = 8, V = 6;
  RandomLayerInputs in = makeRandomInputs(fp.gate, fp.rule, 1, T, H, HV, K, V, fp.qkL2Norm, false,
                                          true, ElementType::F32, 11);
  LayerProblem p =
      makeProblem(in, fp.gate, fp.rule, 1, T, H, HV, K, V, 1.0 / std::sqrt(K), fp.qkL2Norm);
  // Packed: three sequences (one empty) sharing the batch row, each with its own initial
  // state (the random one, negated, halved).
  if (fp.packed) {
    p.cuSeqlens = {0, 10, 10, T};
    const size_t one = in.initialState.size();
    for (size_t i = 0; i < 2 * one; ++i)
      in.initialState.push_back(in.initialState[i % one] * (i < one ? -1.0f : 0.5f));
    p.initialState = in.initialState.data();
  }
  const LayerResult want = referenceRecurrence(p);
  GeneralBuffers general = generalFromFamily(p);
  expectClose(referenceGeneral(general.problem), want);
  // The chunkwise general form, chunks of 16 and of 5 rows.
  expectClose(referenceGeneralChunkwise(general.problem, 16), want);
  expectClose(referenceGeneralChunkwise(general.problem, 5), want);
}

INSTANTIATE_TEST_SUITE_P(
    AllFamilies, GeneralFamilies,
    ::testing::Values(FamilyParam{GateKind::None, UpdateRule::Additive, false, false},
                      FamilyParam{GateKind::Scalar, UpdateRule::Additive, false, true},
                      FamilyParam{GateKind::Channel, UpdateRule::Additive, true, false},
                      FamilyParam{GateKind::None, UpdateRule::Delta, true, true},
                      FamilyParam{GateKind::Scalar, UpdateRule::Delta, true, false},
                      FamilyParam{GateKind::Scalar, UpdateRule::Delta, false, true},
                      FamilyParam{GateKind::Channel, UpdateRule::Delta, true, true}));

// ---------------------------------------------------------------------------
// RWKV-7 / the generalized delta rule (fla's chunk_dplr_delta_rule).
// ---------------------------------------------------------------------------

/// fla's naive DPLR recurrence, per head (H == HV), written out: for each token
///   S = S * exp(gk)[:, None] + k v^T + b (a^T S_old);  o = S^T q * scale.
LayerResult naiveDplr(int64_t B, int64_t T, int64_t H, int64_t K, int64_t V,
                      const std::vector<double> &q, const std::vector<double> &k,
                      const std::vector<double> &v, const std::vector<double> &a,
                      const std::vector<double> &b, const std::vector<double> &gk,
                      const std::vector<double> &h0, double scale) {
  LayerResult r;
  r.o.assign(B * T * H * V, 0.0);
  r.finalState.assign(B * H * K * V, 0.0);
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> S(h0.begin() + (bi * H + h) * K * V,
                            h0.begin() + (bi * H + h + 1) * K * V);
      for (int64_t t = 0; t < T; ++t) {
        const int64_t row = (bi * T + t) * H + h;
        std::vector<double> aS(V, 0.0);
        for (int64_t c = 0; c < K; ++c)
          for (int64_t d = 0; d < V; ++d)
            aS[d] += a[row * K + c] * S[c * V + d];
        for (int64_t c = 0; c < K; ++c)
          for (int64_t d = 0; d < V; ++d)
            S[c * V + d] = S[c * V + d] * std::exp(gk[row * K + c]) +
                           k[row * K + c] * v[row * V + d] + b[row * K + c] * aS[d];
        for (int64_t d = 0; d < V; ++d) {
          double acc = 0.0;
          for (int64_t c = 0; c < K; ++c)
            acc += S[c * V + d] * q[row * K + c];
          r.o[row * V + d] = scale * acc;
        }
      }
      std::copy(S.begin(), S.end(), r.finalState.begin() + (bi * H + h) * K * V);
    }
  return r;
}

TEST(GeneralDplr, MatchesFlaNaiveAndChunkwise) {
  const int64_t B = 2, T = 45, H = 3, K = 8, V = 5;
  Rng rng(7);
  std::vector<double> q = rng.normals(B * T * H * K), k = rng.normals(B * T * H * K, 0.3),
                      v = rng.normals(B * T * H * V), h0 = rng.normals(B * H * K * V, 0.1);
  // As RWKV-7 forms them: a = -kk, b = kk * iclr with kk unit-norm and iclr in (0, 1): the
  // transition diag(exp(gk)) - iclr kk kk^T is a contraction. a and b are inputs of their own.
  std::vector<double> kk = rng.normals(B * T * H * K), a(kk.size()), b(kk.size()),
                      gk(B * T * H * K);
  normalizeRows(kk, K);
  for (size_t row = 0; row < kk.size() / K; ++row) {
    const double iclr = rng.sigmoid();
    for (int64_t c = 0; c < K; ++c) {
      a[row * K + c] = -kk[row * K + c];
      b[row * K + c] = kk[row * K + c] * iclr;
    }
  }
  for (double &g : gk)
    g = rng.logSigmoid();
  const double scale = 1.0 / std::sqrt(K);
  const LayerResult want = naiveDplr(B, T, H, K, V, q, k, v, a, b, gk, h0, scale);

  GeneralProblem p;
  p.gate = GateKind::Channel;
  p.B = B, p.T = T, p.H = H, p.HV = H, p.K = K, p.V = V, p.scale = scale;
  p.q = q.data(), p.k = k.data(), p.a = a.data(), p.b = b.data(), p.v = v.data();
  p.g = gk.data(), p.initialState = h0.data();
  expectClose(referenceGeneral(p), want);
  for (int64_t chunk : {1, 7, 16, 64})
    expectClose(referenceGeneralChunkwise(p, chunk), want);
}

TEST(GeneralDplr, GeneralLowRankVectorsAndGva) {
  // a and b unrelated to k (small, so the transition stays bounded), GVA (H = 1, HV = 2),
  // a packed batch: the chunkwise form against the sub-step recurrence.
  const int64_t T = 29, H = 1, HV = 2, K = 6, V = 4;
  Rng rng(21);
  std::vector<double> q = rng.normals(T * H * K), k = rng.normals(T * H * K, 0.4),
                      a = rng.normals(T * HV * K, 0.2), b = rng.normals(T * HV * K, 0.2),
                      v = rng.normals(T * HV * V), g(T * HV), h0 = rng.normals(3 * HV * K * V);
  for (double &x : g)
    x = rng.logSigmoid();
  GeneralProblem p;
  p.gate = GateKind::Scalar;
  p.B = 1, p.T = T, p.H = H, p.HV = HV, p.K = K, p.V = V, p.scale = 0.5, p.qkL2Norm = true;
  p.cuSeqlens = {0, 12, 12, T};
  p.q = q.data(), p.k = k.data(), p.a = a.data(), p.b = b.data(), p.v = v.data();
  p.g = g.data(), p.initialState = h0.data();
  const LayerResult want = referenceGeneral(p);
  for (int64_t chunk : {3, 8, 32})
    expectClose(referenceGeneralChunkwise(p, chunk), want);
}

// ---------------------------------------------------------------------------
// Gated DeltaProduct (fla's chunk_gated_delta_product).
// ---------------------------------------------------------------------------

/// fla's naive Gated DeltaProduct, written out: per token, S = S * exp(g); then for each of
/// the n steps S = S + k_s (beta_s (v_s - S^T k_s))^T; o = scale S^T q.
LayerResult naiveDeltaProduct(int64_t B, int64_t T, int64_t H, int64_t HV, int64_t K, int64_t V,
                              int64_t n, std::vector<double> q, std::vector<double> k,
                              const std::vector<double> &v, const std::vector<double> &beta,
                              const std::vector<double> &g, double scale) {
  normalizeRows(q, K);
  normalizeRows(k, K);
  LayerResult r;
  r.o.assign(B * T * HV * V, 0.0);
  r.finalState.assign(B * HV * K * V, 0.0);
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t j = 0; j < HV; ++j) {
      const int64_t h = j / (HV / H);
      std::vector<double> S(K * V, 0.0);
      for (int64_t t = 0; t < T; ++t) {
        const double decay = g.empty() ? 1.0 : std::exp(g[(bi * T + t) * HV + j]);
        for (double &x : S)
          x *= decay;
        for (int64_t s = 0; s < n; ++s) {
          const int64_t r_ = bi * T * n + t * n + s;
          const double *kk = &k[(r_ * H + h) * K];
          const double bt = beta[r_ * HV + j];
          for (int64_t d = 0; d < V; ++d) {
            double pred = 0.0;
            for (int64_t c = 0; c < K; ++c)
              pred += S[c * V + d] * kk[c];
            const double u = bt * (v[(r_ * HV + j) * V + d] - pred);
            for (int64_t c = 0; c < K; ++c)
              S[c * V + d] += kk[c] * u;
          }
        }
        for (int64_t d = 0; d < V; ++d) {
          double acc = 0.0;
          for (int64_t c = 0; c < K; ++c)
            acc += S[c * V + d] * q[((bi * T + t) * H + h) * K + c];
          r.o[((bi * T + t) * HV + j) * V + d] = scale * acc;
        }
      }
      std::copy(S.begin(), S.end(), r.finalState.begin() + (bi * HV + j) * K * V);
    }
  return r;
}

class GeneralDeltaProduct : public ::testing::TestWithParam<int64_t> {};

/// Gated DeltaProduct in fla's layouts as gdn.transition takes it (delta_rule, n steps,
/// float operands as the CPU path holds them).
GeneralBuffers deltaProduct(int64_t B, int64_t T, int64_t H, int64_t HV, int64_t K, int64_t V,
                            int64_t n, const std::vector<float> &q, const std::vector<float> &k,
                            const std::vector<float> &v, const std::vector<float> &beta,
                            const std::vector<float> &g, double scale) {
  TransitionInputs in;
  in.gate = GateKind::Scalar;
  in.B = B, in.T = T, in.H = H, in.HV = HV, in.K = K, in.V = V, in.steps = n;
  in.deltaRule = true, in.qkL2Norm = true, in.scale = scale;
  in.q = q.data(), in.k = k.data(), in.v = v.data(), in.beta = beta.data(), in.g = g.data();
  return generalFromTransition(in);
}

std::vector<float> narrow(const std::vector<double> &x) { return {x.begin(), x.end()}; }
std::vector<double> widen(const std::vector<float> &x) { return {x.begin(), x.end()}; }

TEST_P(GeneralDeltaProduct, MatchesFlaNaiveAndChunkwise) {
  const int64_t n = GetParam(), B = 2, T = 23, H = 2, HV = 4, K = 8, V = 6;
  Rng rng(100 + n);
  std::vector<double> beta(B * T * n * HV), g(B * T * HV);
  for (double &x : beta)
    x = rng.sigmoid();
  for (double &x : g)
    x = rng.logSigmoid();
  // The operands in float, as gdn.transition takes them; the naive form reads the same values.
  std::vector<float> q = narrow(rng.normals(B * T * H * K)),
                     k = narrow(rng.normals(B * T * n * H * K)),
                     v = narrow(rng.normals(B * T * n * HV * V)), bf = narrow(beta), gf = narrow(g);
  const double scale = 1.0 / std::sqrt(K);
  const LayerResult want = naiveDeltaProduct(B, T, H, HV, K, V, n, widen(q), widen(k), widen(v),
                                             widen(bf), widen(gf), scale);
  GeneralBuffers general = deltaProduct(B, T, H, HV, K, V, n, q, k, v, bf, gf, scale);
  expectClose(referenceGeneral(general.problem), want);
  // Chunks of 16 rows (8 or 5.3 tokens: boundaries inside tokens for n = 3) and of 7.
  expectClose(referenceGeneralChunkwise(general.problem, 16), want);
  expectClose(referenceGeneralChunkwise(general.problem, 7), want);
}

INSTANTIATE_TEST_SUITE_P(Steps, GeneralDeltaProduct, ::testing::Values(1, 2, 3));

TEST(GeneralDeltaProduct, OneStepIsGatedDeltaNet) {
  const int64_t T = 19, H = 2, HV = 2, K = 4, V = 4;
  RandomLayerInputs in = makeRandomInputs(GateKind::Scalar, UpdateRule::Delta, 1, T, H, HV, K, V,
                                          true, false, false, ElementType::F32, 5);
  LayerProblem p =
      makeProblem(in, GateKind::Scalar, UpdateRule::Delta, 1, T, H, HV, K, V, 0.5, true);
  GeneralBuffers dp = deltaProduct(1, T, H, HV, K, V, 1, in.q, in.k, in.v, in.beta, in.g, 0.5);
  expectClose(referenceGeneral(dp.problem), referenceRecurrence(p));
}

TEST(GeneralValidate, InconsistentTransitionInputsThrow) {
  std::vector<float> x(64, 0.1f);
  TransitionInputs in;
  in.gate = GateKind::None;
  in.B = 1, in.T = 2, in.H = 1, in.HV = 1, in.K = 2, in.V = 2;
  in.q = in.k = in.v = x.data();
  EXPECT_NO_THROW(generalFromTransition(in));
  in.a = x.data(); // a without b
  EXPECT_THROW(generalFromTransition(in), std::invalid_argument);
  in.a = nullptr;
  in.deltaRule = true; // without beta
  EXPECT_THROW(generalFromTransition(in), std::invalid_argument);
  in.deltaRule = false;
  in.gate = GateKind::Scalar; // without g
  EXPECT_THROW(generalFromTransition(in), std::invalid_argument);
  in.gate = GateKind::None;
  in.steps = 0;
  EXPECT_THROW(generalFromTransition(in), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// Validation.
// ---------------------------------------------------------------------------

TEST(GeneralValidate, NamesTheProblem) {
  std::vector<double> x(64, 0.1);
  GeneralProblem p;
  p.gate = GateKind::None;
  p.B = 1, p.T = 2, p.H = 1, p.HV = 1, p.K = 2, p.V = 2;
  p.q = p.k = p.a = p.b = p.v = x.data();
  EXPECT_EQ(validate(p), "");
  p.steps = 0;
  EXPECT_EQ(validate(p), "steps must be positive (got 0)");
  p.steps = 2;
  p.a = nullptr;
  EXPECT_EQ(validate(p), "a is null");
  p.a = x.data();
  p.b = nullptr;
  EXPECT_EQ(validate(p), "b is null");
  p.b = x.data();
  p.gate = GateKind::Scalar;
  EXPECT_EQ(validate(p), "gate is scalar but g is null");
  p.gate = GateKind::None;
  p.H = 2, p.HV = 3;
  EXPECT_EQ(validate(p), "HV (3) must be a multiple of H (2)");
  p.H = 1, p.HV = 1;
  EXPECT_THROW(referenceGeneralChunkwise(p, 0), std::invalid_argument);
  p.K = 0;
  EXPECT_THROW(referenceGeneral(p), std::invalid_argument);
}

TEST(GeneralValidate, ZeroTokensKeepsTheState) {
  std::vector<double> h0(2 * 2 * 3, 0.5);
  GeneralProblem p;
  p.gate = GateKind::None;
  p.B = 1, p.T = 0, p.H = 1, p.HV = 2, p.K = 2, p.V = 3, p.steps = 3;
  p.initialState = h0.data();
  LayerResult r = referenceGeneralChunkwise(p, 4);
  EXPECT_TRUE(r.o.empty());
  EXPECT_EQ(r.finalState, h0);
}

} // namespace
