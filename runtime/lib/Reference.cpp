//===- Reference.cpp - float64 reference for gated linear recurrences -----===//

#include "gdn/Reference.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gdn {

int64_t numSequences(const LayerProblem &p) {
  return p.cuSeqlens.empty() ? p.B : static_cast<int64_t>(p.cuSeqlens.size()) - 1;
}

std::string validate(const LayerProblem &p) {
  std::ostringstream os;
  os.imbue(std::locale::classic()); // not the host's global locale
  auto positive = [&](const char *name, int64_t value) {
    if (value > 0)
      return true;
    os << name << " must be positive (got " << value << ")";
    return false;
  };
  if (!positive("B", p.B) || !positive("H", p.H) || !positive("HV", p.HV) || !positive("K", p.K) ||
      !positive("V", p.V))
    return os.str();
  if (p.T < 0) {
    os << "T must be non-negative (got " << p.T << ")";
    return os.str();
  }
  if (p.HV % p.H != 0) {
    os << "HV (" << p.HV << ") must be a multiple of H (" << p.H << ")";
    return os.str();
  }
  // Empty tensors (T == 0) may come with null data, as torch gives them.
  const bool hasTokens = p.T > 0;
  if (hasTokens && !p.q)
    return "q is null";
  if (hasTokens && !p.k)
    return "k is null";
  if (hasTokens && !p.v)
    return "v is null";
  if (p.gate == GateKind::None && p.g)
    return "gate is none but g is given";
  if (hasTokens && p.gate != GateKind::None && !p.g) {
    os << "gate is " << toString(p.gate) << " but g is null";
    return os.str();
  }
  if (!std::isfinite(p.scale)) {
    os << "scale must be finite (got " << p.scale << ")";
    return os.str();
  }
  if (!p.cuSeqlens.empty()) {
    const std::vector<int64_t> &cu = p.cuSeqlens;
    if (p.B != 1) {
      os << "cu_seqlens requires B == 1 (got B = " << p.B << ")";
      return os.str();
    }
    if (cu.size() < 2) {
      os << "cu_seqlens must have at least 2 entries (got " << cu.size() << ")";
      return os.str();
    }
    if (cu.front() != 0) {
      os << "cu_seqlens must start at 0 (got " << cu.front() << ")";
      return os.str();
    }
    for (size_t i = 1; i < cu.size(); ++i) {
      if (cu[i] < cu[i - 1]) {
        os << "cu_seqlens must be non-decreasing (cu_seqlens[" << i << "] = " << cu[i]
           << " < cu_seqlens[" << i - 1 << "] = " << cu[i - 1] << ")";
        return os.str();
      }
    }
    if (cu.back() != p.T) {
      os << "cu_seqlens must end at T = " << p.T << " (got " << cu.back() << ")";
      return os.str();
    }
  }
  return "";
}

namespace {

/// Reads one layer's inputs in float64 with GVA, L2 norm and gate expansion
/// applied, so both evaluation orders share the exact same input semantics.
class InputView {
public:
  explicit InputView(const LayerProblem &problem) : p(problem), group(problem.HV / problem.H) {}

  /// q or k of value head j at packed token (b, t), L2-normalised if asked.
  void qk(const float *src, int64_t b, int64_t t, int64_t j, double *out) const {
    const float *row = src + ((b * p.T + t) * p.H + j / group) * p.K;
    double sumSq = 0.0;
    for (int64_t c = 0; c < p.K; ++c) {
      out[c] = row[c];
      sumSq += out[c] * out[c];
    }
    if (p.qkL2Norm) {
      double inv = 1.0 / std::sqrt(sumSq + 1e-6);
      for (int64_t c = 0; c < p.K; ++c)
        out[c] *= inv;
    }
  }

  void value(int64_t b, int64_t t, int64_t j, double *out) const {
    const float *row = p.v + ((b * p.T + t) * p.HV + j) * p.V;
    for (int64_t d = 0; d < p.V; ++d)
      out[d] = row[d];
  }

  /// Log-gate per key channel (a repeated scalar, or zeros for gate none).
  void logGate(int64_t b, int64_t t, int64_t j, double *out) const {
    int64_t token = (b * p.T + t) * p.HV + j;
    switch (p.gate) {
    case GateKind::None:
      std::fill(out, out + p.K, 0.0);
      break;
    case GateKind::Scalar:
      std::fill(out, out + p.K, static_cast<double>(p.g[token]));
      break;
    case GateKind::Channel:
      for (int64_t c = 0; c < p.K; ++c)
        out[c] = p.g[token * p.K + c];
      break;
    }
  }

  double beta(int64_t b, int64_t t, int64_t j) const {
    return p.beta ? static_cast<double>(p.beta[(b * p.T + t) * p.HV + j]) : 1.0;
  }

  void loadState(int64_t n, int64_t j, std::vector<double> &S) const {
    S.assign(p.K * p.V, 0.0);
    if (p.initialState) {
      const float *src = p.initialState + (n * p.HV + j) * p.K * p.V;
      std::copy(src, src + p.K * p.V, S.begin());
    }
  }

private:
  const LayerProblem &p;
  int64_t group;
};

struct Sequence {
  int64_t b, bos, eos; // batch row and token range [bos, eos) within it
};

std::vector<Sequence> sequences(const LayerProblem &p) {
  std::vector<Sequence> seqs;
  if (p.cuSeqlens.empty()) {
    for (int64_t b = 0; b < p.B; ++b)
      seqs.push_back({b, 0, p.T});
  } else {
    for (size_t n = 0; n + 1 < p.cuSeqlens.size(); ++n)
      seqs.push_back({0, p.cuSeqlens[n], p.cuSeqlens[n + 1]});
  }
  return seqs;
}

LayerResult allocateResult(const LayerProblem &p) {
  LayerResult r;
  r.o.assign(static_cast<size_t>(p.B * p.T * p.HV * p.V), 0.0);
  r.finalState.assign(static_cast<size_t>(numSequences(p) * p.HV * p.K * p.V), 0.0);
  return r;
}

void checkOrThrow(const LayerProblem &p) {
  std::string error = validate(p);
  if (!error.empty())
    throw std::invalid_argument(error);
}

} // namespace

LayerResult referenceRecurrence(const LayerProblem &p) {
  checkOrThrow(p);
  const int64_t K = p.K, V = p.V, HV = p.HV;
  InputView in(p);
  LayerResult r = allocateResult(p);
  std::vector<double> S, q(K), k(K), v(V), gate(K), w(V);
  std::vector<Sequence> seqs = sequences(p);
  for (int64_t n = 0; n < static_cast<int64_t>(seqs.size()); ++n) {
    const Sequence &seq = seqs[n];
    for (int64_t j = 0; j < HV; ++j) {
      in.loadState(n, j, S);
      for (int64_t t = seq.bos; t < seq.eos; ++t) {
        in.qk(p.q, seq.b, t, j, q.data());
        in.qk(p.k, seq.b, t, j, k.data());
        in.value(seq.b, t, j, v.data());
        in.logGate(seq.b, t, j, gate.data());
        double beta = in.beta(seq.b, t, j);
        // Decay first: the delta rule's prediction S^T k uses the decayed S.
        if (p.gate != GateKind::None)
          for (int64_t c = 0; c < K; ++c) {
            double f = std::exp(gate[c]);
            for (int64_t d = 0; d < V; ++d)
              S[c * V + d] *= f;
          }
        for (int64_t d = 0; d < V; ++d) {
          double target = v[d];
          if (p.rule == UpdateRule::Delta)
            for (int64_t c = 0; c < K; ++c)
              target -= S[c * V + d] * k[c];
          w[d] = beta * target;
        }
        for (int64_t c = 0; c < K; ++c)
          for (int64_t d = 0; d < V; ++d)
            S[c * V + d] += k[c] * w[d];
        double *o = &r.o[((seq.b * p.T + t) * HV + j) * V];
        for (int64_t d = 0; d < V; ++d) {
          double acc = 0.0;
          for (int64_t c = 0; c < K; ++c)
            acc += S[c * V + d] * q[c];
          o[d] = p.scale * acc;
        }
      }
      std::copy(S.begin(), S.end(), r.finalState.begin() + (n * HV + j) * K * V);
    }
  }
  return r;
}

LayerResult referenceChunkwise(const LayerProblem &p, int64_t chunkSize) {
  checkOrThrow(p);
  if (chunkSize <= 0)
    throw std::invalid_argument("chunk size must be positive (got " + std::to_string(chunkSize) +
                                ")");
  std::vector<Sequence> seqs = sequences(p);
  // A chunk never outgrows the longest sequence; clamping keeps the C x C
  // tiles small when a caller asks for "one chunk per sequence".
  int64_t longest = 1;
  for (const Sequence &seq : seqs)
    longest = std::max(longest, seq.eos - seq.bos);
  const int64_t K = p.K, V = p.V, HV = p.HV, C = std::min(chunkSize, longest);
  const bool delta = p.rule == UpdateRule::Delta;
  InputView in(p);
  LayerResult r = allocateResult(p);
  // Row-major chunk tiles; rows beyond the chunk's length n are unused.
  std::vector<double> S, Snext(K * V), Q(C * K), Kc(C * K), Vc(C * V), beta(C), G(C * K),
      expG(C * K), KKg(C * C), QKg(C * C), Tm(C * C), W(C * K), U(C * V), Vnew(C * V), row(K);
  for (int64_t s = 0; s < static_cast<int64_t>(seqs.size()); ++s) {
    const Sequence &seq = seqs[s];
    for (int64_t j = 0; j < HV; ++j) {
      in.loadState(s, j, S);
      for (int64_t start = seq.bos; start < seq.eos; start += C) {
        const int64_t n = std::min(C, seq.eos - start);
        for (int64_t i = 0; i < n; ++i) {
          int64_t t = start + i;
          in.qk(p.q, seq.b, t, j, &Q[i * K]);
          in.qk(p.k, seq.b, t, j, &Kc[i * K]);
          in.value(seq.b, t, j, &Vc[i * V]);
          beta[i] = in.beta(seq.b, t, j);
          // Local cumulative log-gate: restarts at every chunk, so exp(G)
          // only ever spans one chunk's worth of decay.
          in.logGate(seq.b, t, j, row.data());
          for (int64_t c = 0; c < K; ++c) {
            G[i * K + c] = row[c] + (i > 0 ? G[(i - 1) * K + c] : 0.0);
            expG[i * K + c] = std::exp(G[i * K + c]);
          }
        }

        // Gated Gram matrices on the lower triangle only. Masking before
        // exponentiating keeps every exponent G_i - G_j <= 0.
        for (int64_t i = 0; i < n; ++i)
          for (int64_t jj = 0; jj <= i; ++jj) {
            double kk = 0.0, qk = 0.0;
            for (int64_t c = 0; c < K; ++c) {
              double gam = std::exp(G[i * K + c] - G[jj * K + c]);
              kk += Kc[i * K + c] * Kc[jj * K + c] * gam;
              qk += Q[i * K + c] * Kc[jj * K + c] * gam;
            }
            KKg[i * C + jj] = kk;
            QKg[i * C + jj] = qk;
          }

        if (delta) {
          // Tm = (I + A)^-1 with A = strictly_lower(diag(beta) KKg), by
          // forward substitution on (I + A) Tm = I, one row at a time.
          for (int64_t i = 0; i < n; ++i) {
            for (int64_t jj = 0; jj < i; ++jj) {
              double acc = 0.0;
              for (int64_t m = jj; m < i; ++m)
                acc += beta[i] * KKg[i * C + m] * Tm[m * C + jj];
              Tm[i * C + jj] = -acc;
            }
            Tm[i * C + i] = 1.0;
          }
          // W = Tm (beta .* exp(G) .* K), U = Tm (beta .* V).
          for (int64_t i = 0; i < n; ++i) {
            for (int64_t c = 0; c < K; ++c) {
              double acc = 0.0;
              for (int64_t m = 0; m <= i; ++m)
                acc += Tm[i * C + m] * beta[m] * expG[m * K + c] * Kc[m * K + c];
              W[i * K + c] = acc;
            }
            for (int64_t d = 0; d < V; ++d) {
              double acc = 0.0;
              for (int64_t m = 0; m <= i; ++m)
                acc += Tm[i * C + m] * beta[m] * Vc[m * V + d];
              U[i * V + d] = acc;
            }
          }
          // Vnew = U - W S: what each row writes once the entering state's
          // prediction is removed.
          for (int64_t i = 0; i < n; ++i)
            for (int64_t d = 0; d < V; ++d) {
              double acc = U[i * V + d];
              for (int64_t c = 0; c < K; ++c)
                acc -= W[i * K + c] * S[c * V + d];
              Vnew[i * V + d] = acc;
            }
        } else {
          for (int64_t i = 0; i < n; ++i)
            for (int64_t d = 0; d < V; ++d)
              Vnew[i * V + d] = beta[i] * Vc[i * V + d];
        }

        // O = scale * ((exp(G) .* Q) S + QKg Vnew).
        for (int64_t i = 0; i < n; ++i) {
          double *o = &r.o[((seq.b * p.T + start + i) * HV + j) * V];
          for (int64_t d = 0; d < V; ++d) {
            double acc = 0.0;
            for (int64_t c = 0; c < K; ++c)
              acc += expG[i * K + c] * Q[i * K + c] * S[c * V + d];
            for (int64_t m = 0; m <= i; ++m)
              acc += QKg[i * C + m] * Vnew[m * V + d];
            o[d] = p.scale * acc;
          }
        }

        // S_next = exp(G_n) .* S + (exp(G_n - G) .* K)^T Vnew.
        const double *Glast = &G[(n - 1) * K];
        for (int64_t c = 0; c < K; ++c) {
          double carry = expG[(n - 1) * K + c];
          for (int64_t d = 0; d < V; ++d)
            Snext[c * V + d] = carry * S[c * V + d];
          for (int64_t m = 0; m < n; ++m) {
            double km = std::exp(Glast[c] - G[m * K + c]) * Kc[m * K + c];
            for (int64_t d = 0; d < V; ++d)
              Snext[c * V + d] += km * Vnew[m * V + d];
          }
        }
        S.swap(Snext);
      }
      std::copy(S.begin(), S.end(), r.finalState.begin() + (s * HV + j) * K * V);
    }
  }
  return r;
}

namespace {
template <typename T> ErrorStats compareImpl(const T *got, const double *want, size_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  double maxAbs = 0.0, maxWant = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double a = static_cast<double>(got[i]), b = want[i];
    double d = a == b ? 0.0 : std::fabs(a - b); // a == b lets inf match inf
    if (std::isnan(d))
      d = inf;
    maxAbs = std::max(maxAbs, d);
    if (std::isnan(b))
      maxAbs = inf;
    else
      maxWant = std::max(maxWant, std::fabs(b));
  }
  if (maxAbs == inf)
    return {inf, inf};
  return {maxAbs, maxAbs / std::max(maxWant, DBL_MIN)};
}
} // namespace

ErrorStats compare(const double *got, const double *want, size_t n) {
  return compareImpl(got, want, n);
}

ErrorStats compare(const float *got, const double *want, size_t n) {
  return compareImpl(got, want, n);
}

namespace {

/// splitmix64: tiny, fully specified, and identical on every platform.
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in (0, 1), 53 random bits.
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1p-53; }
  /// Irwin-Hall(12) - 6: mean 0, variance 1, range [-6, 6]; plain IEEE adds,
  /// so bit-identical everywhere (unlike std::normal_distribution).
  double normal() {
    double sum = 0.0;
    for (int i = 0; i < 12; ++i)
      sum += uniform();
    return sum - 6.0;
  }

private:
  uint64_t state;
};

/// One independent stream per tensor, derived from the user seed.
Rng streamFor(uint64_t seed, uint64_t tensor) {
  Rng mix(seed ^ (tensor * 0xD1B54A32D192ED03ull));
  return Rng(mix.next());
}

/// Runs body(begin, end, block) over [0, count) in blocks of `block` items, on up to the
/// hardware's threads. Each block draws from its own stream (block 0 from the tensor's
/// original one), so the values do not depend on the thread count, and inputs of one block
/// (every test's) are the same as a sequential fill's.
template <typename Body> void forBlocks(int64_t count, int64_t block, const Body &body) {
  int64_t blocks = (count + block - 1) / block;
  if (blocks <= 1) {
    body(int64_t(0), count, int64_t(0));
    return;
  }
  int64_t workers = std::min<int64_t>(blocks, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int64_t w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      for (int64_t b = w; b < blocks; b += workers)
        body(b * block, std::min(count, (b + 1) * block), b);
    });
  for (std::thread &t : pool)
    t.join();
}

/// The stream of block `block` of tensor `tensor`.
Rng blockStream(uint64_t seed, uint64_t tensor, int64_t block) {
  return streamFor(seed, tensor + (static_cast<uint64_t>(block) << 32));
}

constexpr int64_t kBlockItems = int64_t(1) << 20;

double logSigmoid(double z) {
  return z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z));
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

} // namespace

RandomLayerInputs makeRandomInputs(GateKind gate, UpdateRule rule, int64_t B, int64_t T, int64_t H,
                                   int64_t HV, int64_t K, int64_t V, bool qkL2Norm,
                                   bool allowNegEigval, bool withInitialState,
                                   ElementType inputType, uint64_t seed) {
  (void)rule; // beta is generated for both rules (additive may take it too)
  if (B < 0 || T < 0 || H < 0 || HV < 0 || K < 0 || V < 0)
    throw std::invalid_argument("makeRandomInputs: negative dimension");
  RandomLayerInputs in;
  auto fill = [&](std::vector<float> &out, int64_t count, uint64_t tensor, double scale,
                  bool round) {
    out.resize(static_cast<size_t>(count));
    forBlocks(count, kBlockItems, [&](int64_t begin, int64_t end, int64_t block) {
      Rng rng = blockStream(seed, tensor, block);
      for (int64_t i = begin; i < end; ++i) {
        float x = static_cast<float>(scale * rng.normal());
        out[i] = round ? roundTo(inputType, x) : x;
      }
    });
  };

  fill(in.q, B * T * H * K, 1, 1.0, true);
  fill(in.v, B * T * HV * V, 3, 1.0, true);
  if (qkL2Norm) {
    fill(in.k, B * T * H * K, 2, 3.0, true);
  } else {
    // Normalise in double, then round: the stored row is unit-norm up to the
    // input type's rounding, which is what a real caller would hand over.
    in.k.resize(static_cast<size_t>(B * T * H * K));
    forBlocks(B * T * H, std::max<int64_t>(1, kBlockItems / std::max<int64_t>(K, 1)),
              [&](int64_t begin, int64_t end, int64_t block) {
                Rng rng = blockStream(seed, 2, block);
                std::vector<double> row(static_cast<size_t>(K));
                for (int64_t r = begin; r < end; ++r) {
                  double sumSq = 0.0;
                  for (double &x : row) {
                    x = rng.normal();
                    sumSq += x * x;
                  }
                  double inv = sumSq > 0 ? 1.0 / std::sqrt(sumSq) : 0.0;
                  for (int64_t c = 0; c < K; ++c)
                    in.k[r * K + c] = roundTo(inputType, static_cast<float>(row[c] * inv));
                }
              });
  }

  if (gate != GateKind::None) {
    int64_t count = B * T * HV * (gate == GateKind::Channel ? K : 1);
    in.g.resize(static_cast<size_t>(count));
    forBlocks(count, kBlockItems, [&](int64_t begin, int64_t end, int64_t block) {
      Rng rng = blockStream(seed, 4, block);
      for (int64_t i = begin; i < end; ++i)
        in.g[i] = static_cast<float>(logSigmoid(rng.normal()));
    });
  }

  {
    in.beta.resize(static_cast<size_t>(B * T * HV));
    double betaScale = allowNegEigval ? 2.0 : 1.0;
    forBlocks(B * T * HV, kBlockItems, [&](int64_t begin, int64_t end, int64_t block) {
      Rng rng = blockStream(seed, 5, block);
      for (int64_t i = begin; i < end; ++i)
        in.beta[i] = static_cast<float>(betaScale * sigmoid(rng.normal()));
    });
  }

  if (withInitialState)
    fill(in.initialState, B * HV * K * V, 6, 0.1, false);
  return in;
}

LayerProblem makeProblem(const RandomLayerInputs &in, GateKind gate, UpdateRule rule, int64_t B,
                         int64_t T, int64_t H, int64_t HV, int64_t K, int64_t V, double scale,
                         bool qkL2Norm) {
  auto ptr = [](const std::vector<float> &x) { return x.empty() ? nullptr : x.data(); };
  LayerProblem p;
  p.gate = gate;
  p.rule = rule;
  p.B = B;
  p.T = T;
  p.H = H;
  p.HV = HV;
  p.K = K;
  p.V = V;
  p.scale = scale;
  p.qkL2Norm = qkL2Norm;
  p.cuSeqlens = in.cuSeqlens;
  p.q = ptr(in.q);
  p.k = ptr(in.k);
  p.v = ptr(in.v);
  p.g = gate == GateKind::None ? nullptr : ptr(in.g);
  p.beta = ptr(in.beta);
  p.initialState = ptr(in.initialState);
  return p;
}

} // namespace gdn
