//===- GeneralReference.cpp - float64 reference of the generalized transition ---===//
//
// docs/design.md §1.1 (the transition) and §2.5 (its chunkwise form).
//
//===----------------------------------------------------------------------===//
#include "gdn/GeneralReference.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace gdn {

namespace {

/// Tokens [bos, eos) of sequence n, in batch row b.
struct Span {
  int64_t b, bos, eos;
};

std::vector<Span> spansOf(const GeneralProblem &p) {
  std::vector<Span> spans;
  if (p.cuSeqlens.empty()) {
    for (int64_t b = 0; b < p.B; ++b)
      spans.push_back({b, 0, p.T});
  } else {
    for (size_t n = 0; n + 1 < p.cuSeqlens.size(); ++n)
      spans.push_back({0, p.cuSeqlens[n], p.cuSeqlens[n + 1]});
  }
  return spans;
}

void l2normalize(double *x, int64_t K) {
  double sum = 0.0;
  for (int64_t c = 0; c < K; ++c)
    sum += x[c] * x[c];
  const double inv = 1.0 / std::sqrt(sum + 1e-6);
  for (int64_t c = 0; c < K; ++c)
    x[c] *= inv;
}

/// Row accessors in the layouts of GeneralReference.h, for value head j.
struct View {
  const GeneralProblem &p;
  int64_t n, group;
  explicit View(const GeneralProblem &p) : p(p), n(p.steps), group(p.HV / p.H) {}

  void query(int64_t b, int64_t t, int64_t j, double *out) const {
    const double *src = p.q + ((b * p.T + t) * p.H + j / group) * p.K;
    std::copy(src, src + p.K, out);
    if (p.qkL2Norm)
      l2normalize(out, p.K);
  }
  // Row r = t * n + s of the sub-step tensors.
  void key(int64_t b, int64_t r, int64_t j, double *out) const {
    const double *src = p.k + ((b * p.T * n + r) * p.H + j / group) * p.K;
    std::copy(src, src + p.K, out);
    if (p.qkL2Norm)
      l2normalize(out, p.K);
  }
  const double *readVector(int64_t b, int64_t r, int64_t j) const {
    return p.a + ((b * p.T * n + r) * p.HV + j) * p.K;
  }
  const double *writeVector(int64_t b, int64_t r, int64_t j) const {
    return p.b + ((b * p.T * n + r) * p.HV + j) * p.K;
  }
  const double *value(int64_t b, int64_t r, int64_t j) const {
    return p.v + ((b * p.T * n + r) * p.HV + j) * p.V;
  }
  /// The log-gate of sub-step row r (the token's at its first sub-step, 0 at the others),
  /// per channel.
  void logGate(int64_t b, int64_t r, int64_t j, double *out) const {
    std::fill(out, out + p.K, 0.0);
    if (p.gate == GateKind::None || r % n != 0)
      return;
    const int64_t t = r / n;
    if (p.gate == GateKind::Scalar)
      std::fill(out, out + p.K, p.g[(b * p.T + t) * p.HV + j]);
    else
      std::copy(p.g + ((b * p.T + t) * p.HV + j) * p.K, p.g + ((b * p.T + t) * p.HV + j + 1) * p.K,
                out);
  }
};

LayerResult allocate(const GeneralProblem &p, size_t sequences) {
  LayerResult r;
  r.o.assign(static_cast<size_t>(p.B * p.T * p.HV * p.V), 0.0);
  r.finalState.assign(sequences * p.HV * p.K * p.V, 0.0);
  return r;
}

void loadState(const GeneralProblem &p, size_t seq, int64_t j, std::vector<double> &S) {
  S.assign(p.K * p.V, 0.0);
  if (p.initialState)
    std::copy(p.initialState + (seq * p.HV + j) * p.K * p.V,
              p.initialState + (seq * p.HV + j + 1) * p.K * p.V, S.begin());
}

void checkOrThrow(const GeneralProblem &p) {
  std::string error = validate(p);
  if (!error.empty())
    throw std::invalid_argument(error);
}

} // namespace

std::string validate(const GeneralProblem &p) {
  // The shapes, the gate and cu_seqlens as a family's layer has them (the float pointers
  // only stand for presence here).
  static const float present = 0.0f;
  LayerProblem shell;
  shell.gate = p.gate;
  shell.B = p.B, shell.T = p.T, shell.H = p.H, shell.HV = p.HV, shell.K = p.K, shell.V = p.V;
  shell.scale = p.scale;
  shell.cuSeqlens = p.cuSeqlens;
  shell.q = p.q ? &present : nullptr;
  shell.k = p.k ? &present : nullptr;
  shell.v = p.v ? &present : nullptr;
  shell.g = p.g ? &present : nullptr;
  std::string error = validate(shell);
  if (!error.empty())
    return error;
  if (p.steps <= 0)
    return "steps must be positive (got " + std::to_string(p.steps) + ")";
  if (p.T > 0 && !p.a)
    return "a is null";
  if (p.T > 0 && !p.b)
    return "b is null";
  return "";
}

LayerResult referenceGeneral(const GeneralProblem &p) {
  checkOrThrow(p);
  const std::vector<Span> spans = spansOf(p);
  const int64_t K = p.K, V = p.V, n = p.steps;
  View in(p);
  LayerResult r = allocate(p, spans.size());
  std::vector<double> S, w(V), q(K), k(K), g(K);
  for (size_t seq = 0; seq < spans.size(); ++seq) {
    const Span &span = spans[seq];
    for (int64_t j = 0; j < p.HV; ++j) {
      loadState(p, seq, j, S);
      for (int64_t t = span.bos; t < span.eos; ++t) {
        for (int64_t s = 0; s < n; ++s) {
          const int64_t row = t * n + s;
          const double *a = in.readVector(span.b, row, j);
          const double *b = in.writeVector(span.b, row, j);
          const double *v = in.value(span.b, row, j);
          in.key(span.b, row, j, k.data());
          in.logGate(span.b, row, j, g.data());
          // w = S^T a, from the state before this sub-step's decay.
          std::fill(w.begin(), w.end(), 0.0);
          for (int64_t c = 0; c < K; ++c)
            for (int64_t d = 0; d < V; ++d)
              w[d] += S[c * V + d] * a[c];
          for (int64_t c = 0; c < K; ++c) {
            const double decay = std::exp(g[c]);
            for (int64_t d = 0; d < V; ++d)
              S[c * V + d] = decay * S[c * V + d] + b[c] * w[d] + k[c] * v[d];
          }
        }
        in.query(span.b, t, j, q.data());
        double *o = &r.o[((span.b * p.T + t) * p.HV + j) * V];
        for (int64_t d = 0; d < V; ++d) {
          double acc = 0.0;
          for (int64_t c = 0; c < K; ++c)
            acc += S[c * V + d] * q[c];
          o[d] = p.scale * acc;
        }
      }
      std::copy(S.begin(), S.end(), r.finalState.begin() + (seq * p.HV + j) * K * V);
    }
  }
  return r;
}

LayerResult referenceGeneralChunkwise(const GeneralProblem &p, int64_t chunkRows) {
  checkOrThrow(p);
  if (chunkRows <= 0)
    throw std::invalid_argument("chunk rows must be positive (got " + std::to_string(chunkRows) +
                                ")");
  const std::vector<Span> spans = spansOf(p);
  const int64_t K = p.K, V = p.V, n = p.steps, C = chunkRows;
  View in(p);
  LayerResult r = allocate(p, spans.size());
  // Row-major chunk tiles; rows beyond the chunk's length m are unused.
  std::vector<double> S, Snext(K * V), Kc(C * K), Ac(C * K), Bc(C * K), Vc(C * V), G(C * K),
      Gx(C * K), W(C * V), q(K), g(K);
  for (size_t seq = 0; seq < spans.size(); ++seq) {
    const Span &span = spans[seq];
    const int64_t first = span.bos * n, last = span.eos * n; // sub-step rows
    for (int64_t j = 0; j < p.HV; ++j) {
      loadState(p, seq, j, S);
      for (int64_t start = first; start < last; start += C) {
        const int64_t m = std::min(C, last - start);
        // G: the chunk-local inclusive cumulative log-gate; Gx = G - g, the exclusive one
        // (G of the previous row, 0 for the first).
        for (int64_t i = 0; i < m; ++i) {
          const int64_t row = start + i;
          in.key(span.b, row, j, &Kc[i * K]);
          std::copy(in.readVector(span.b, row, j), in.readVector(span.b, row, j) + K, &Ac[i * K]);
          std::copy(in.writeVector(span.b, row, j), in.writeVector(span.b, row, j) + K, &Bc[i * K]);
          std::copy(in.value(span.b, row, j), in.value(span.b, row, j) + V, &Vc[i * V]);
          in.logGate(span.b, row, j, g.data());
          for (int64_t c = 0; c < K; ++c) {
            Gx[i * K + c] = i > 0 ? G[(i - 1) * K + c] : 0.0;
            G[i * K + c] = Gx[i * K + c] + g[c];
          }
        }
        // W (m x V), w_i = S_(i-1)^T a_i, from the unit-lower-triangular system
        //   (I - A_ab) W = A_ak V + (exp(Gx) .* A) S
        // with A_ab[i, l] = sum_c a_i b_l exp(Gx_i - G_l), A_ak likewise with k_l (l < i):
        // forward substitution, one row at a time. Every exponent is <= 0.
        for (int64_t i = 0; i < m; ++i) {
          double *Wi = &W[i * V];
          for (int64_t d = 0; d < V; ++d)
            Wi[d] = 0.0;
          for (int64_t c = 0; c < K; ++c) {
            const double ac = Ac[i * K + c] * std::exp(Gx[i * K + c]);
            for (int64_t d = 0; d < V; ++d)
              Wi[d] += ac * S[c * V + d];
          }
          for (int64_t l = 0; l < i; ++l) {
            double ab = 0.0, ak = 0.0;
            for (int64_t c = 0; c < K; ++c) {
              const double gam = std::exp(Gx[i * K + c] - G[l * K + c]);
              ab += Ac[i * K + c] * Bc[l * K + c] * gam;
              ak += Ac[i * K + c] * Kc[l * K + c] * gam;
            }
            for (int64_t d = 0; d < V; ++d)
              Wi[d] += ab * W[l * V + d] + ak * Vc[l * V + d];
          }
        }
        // Outputs at the rows that end a token:
        //   o_i = scale ((exp(G_i) .* q_i)^T S + sum_(l <= i) A_qb[i, l] w_l + A_qk[i, l] v_l)
        for (int64_t i = 0; i < m; ++i) {
          const int64_t row = start + i;
          if (row % n != n - 1)
            continue;
          const int64_t t = row / n;
          in.query(span.b, t, j, q.data());
          double *o = &r.o[((span.b * p.T + t) * p.HV + j) * V];
          for (int64_t d = 0; d < V; ++d)
            o[d] = 0.0;
          for (int64_t c = 0; c < K; ++c) {
            const double qc = q[c] * std::exp(G[i * K + c]);
            for (int64_t d = 0; d < V; ++d)
              o[d] += qc * S[c * V + d];
          }
          for (int64_t l = 0; l <= i; ++l) {
            double qb = 0.0, qk = 0.0;
            for (int64_t c = 0; c < K; ++c) {
              const double gam = std::exp(G[i * K + c] - G[l * K + c]);
              qb += q[c] * Bc[l * K + c] * gam;
              qk += q[c] * Kc[l * K + c] * gam;
            }
            for (int64_t d = 0; d < V; ++d)
              o[d] += qb * W[l * V + d] + qk * Vc[l * V + d];
          }
          for (int64_t d = 0; d < V; ++d)
            o[d] *= p.scale;
        }
        // S_next = exp(G_m) .* S + (exp(G_m - G) .* B)^T W + (exp(G_m - G) .* K)^T V.
        const double *Gm = &G[(m - 1) * K];
        for (int64_t c = 0; c < K; ++c)
          for (int64_t d = 0; d < V; ++d)
            Snext[c * V + d] = std::exp(Gm[c]) * S[c * V + d];
        for (int64_t l = 0; l < m; ++l)
          for (int64_t c = 0; c < K; ++c) {
            const double gam = std::exp(Gm[c] - G[l * K + c]);
            const double bc = Bc[l * K + c] * gam, kc = Kc[l * K + c] * gam;
            for (int64_t d = 0; d < V; ++d)
              Snext[c * V + d] += bc * W[l * V + d] + kc * Vc[l * V + d];
          }
        S.swap(Snext);
      }
      std::copy(S.begin(), S.end(), r.finalState.begin() + (seq * p.HV + j) * K * V);
    }
  }
  return r;
}

GeneralBuffers generalFromFamily(const LayerProblem &p) {
  std::string error = validate(p);
  if (!error.empty())
    throw std::invalid_argument(error);
  GeneralBuffers out;
  const int64_t B = p.B, T = p.T, H = p.H, HV = p.HV, K = p.K, V = p.V, group = HV / H;
  const size_t qkSize = static_cast<size_t>(B * T * H * K);
  if (qkSize) { // T = 0 may come with null tensors
    out.q.assign(p.q, p.q + qkSize);
    out.k.assign(p.k, p.k + qkSize);
  }
  if (p.qkL2Norm)
    for (size_t row = 0; row < static_cast<size_t>(B * T * H); ++row) {
      l2normalize(&out.q[row * K], K);
      l2normalize(&out.k[row * K], K);
    }
  out.a.assign(static_cast<size_t>(B * T * HV * K), 0.0);
  out.b.assign(out.a.size(), 0.0);
  out.v.assign(static_cast<size_t>(B * T * HV * V), 0.0);
  const size_t gateSize = p.gate == GateKind::None     ? 0
                          : p.gate == GateKind::Scalar ? static_cast<size_t>(B * T * HV)
                                                       : static_cast<size_t>(B * T * HV * K);
  if (gateSize)
    out.g.assign(p.g, p.g + gateSize);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < HV; ++j) {
        const int64_t row = (b * T + t) * HV + j;
        const double beta = p.beta ? p.beta[row] : 1.0;
        const double *k = &out.k[((b * T + t) * H + j / group) * K];
        for (int64_t d = 0; d < V; ++d)
          out.v[row * V + d] = beta * p.v[row * V + d];
        if (p.rule != UpdateRule::Delta)
          continue;
        for (int64_t c = 0; c < K; ++c) {
          const double g = p.gate == GateKind::None     ? 0.0
                           : p.gate == GateKind::Scalar ? p.g[row]
                                                        : p.g[row * K + c];
          out.a[row * K + c] = -beta * std::exp(g) * k[c];
          out.b[row * K + c] = k[c];
        }
      }
  const int64_t N = numSequences(p);
  if (p.initialState)
    out.initialState.assign(p.initialState, p.initialState + N * HV * K * V);
  GeneralProblem &g = out.problem;
  g.gate = p.gate;
  g.B = B, g.T = T, g.H = H, g.HV = HV, g.K = K, g.V = V, g.steps = 1;
  g.scale = p.scale;
  g.cuSeqlens = p.cuSeqlens;
  g.q = out.q.data(), g.k = out.k.data(), g.a = out.a.data(), g.b = out.b.data();
  g.v = out.v.data();
  g.g = gateSize ? out.g.data() : nullptr;
  g.initialState = p.initialState ? out.initialState.data() : nullptr;
  return out;
}

GeneralBuffers generalFromTransition(const TransitionInputs &in) {
  const int64_t B = in.B, T = in.T, H = in.H, HV = in.HV, K = in.K, V = in.V, n = in.steps;
  if (B <= 0 || T < 0 || H <= 0 || HV <= 0 || HV % H != 0 || K <= 0 || V <= 0 || n <= 0 ||
      (T > 0 && (!in.q || !in.k || !in.v)) ||
      (static_cast<bool>(in.a) != static_cast<bool>(in.b)) ||
      (in.deltaRule && (in.a || !in.beta)) || ((in.gate == GateKind::None) != !in.g))
    throw std::invalid_argument("generalFromTransition: inconsistent operands");
  const int64_t rows = T * n, group = HV / H;
  GeneralBuffers out;
  out.q.assign(in.q, in.q + B * T * H * K);
  out.k.assign(in.k, in.k + B * rows * H * K);
  if (in.qkL2Norm) {
    for (int64_t r = 0; r < B * T * H; ++r)
      l2normalize(&out.q[r * K], K);
    for (int64_t r = 0; r < B * rows * H; ++r)
      l2normalize(&out.k[r * K], K);
  }
  const size_t gateSize = in.gate == GateKind::None     ? 0
                          : in.gate == GateKind::Scalar ? static_cast<size_t>(B * T * HV)
                                                        : static_cast<size_t>(B * T * HV * K);
  if (gateSize)
    out.g.assign(in.g, in.g + gateSize);
  out.a.assign(static_cast<size_t>(B * rows * HV * K), 0.0);
  out.b.assign(out.a.size(), 0.0);
  out.v.assign(static_cast<size_t>(B * rows * HV * V), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < HV; ++j) {
        const int64_t row = (b * rows + r) * HV + j, t = r / n;
        const double beta = in.beta ? in.beta[row] : 1.0;
        for (int64_t d = 0; d < V; ++d)
          out.v[row * V + d] = beta * in.v[row * V + d];
        const double *k = &out.k[((b * rows + r) * H + j / group) * K];
        for (int64_t c = 0; c < K; ++c) {
          if (in.deltaRule) {
            double g = 0.0; // the token's gate, at its first sub-step only
            if (r % n == 0 && in.gate == GateKind::Scalar)
              g = in.g[(b * T + t) * HV + j];
            else if (r % n == 0 && in.gate == GateKind::Channel)
              g = in.g[((b * T + t) * HV + j) * K + c];
            out.a[row * K + c] = -beta * std::exp(g) * k[c];
            out.b[row * K + c] = k[c];
          } else if (in.a) {
            out.a[row * K + c] = in.a[row * K + c];
            out.b[row * K + c] = in.b[row * K + c];
          }
        }
      }
  if (in.initialState) {
    const int64_t N = in.cuSeqlens.empty() ? B : static_cast<int64_t>(in.cuSeqlens.size()) - 1;
    out.initialState.assign(in.initialState, in.initialState + N * HV * K * V);
  }
  GeneralProblem &p = out.problem;
  p.gate = in.gate;
  p.B = B, p.T = T, p.H = H, p.HV = HV, p.K = K, p.V = V, p.steps = n;
  p.scale = in.scale;
  p.cuSeqlens = in.cuSeqlens;
  p.q = out.q.data(), p.k = out.k.data(), p.a = out.a.data(), p.b = out.b.data();
  p.v = out.v.data();
  p.g = gateSize ? out.g.data() : nullptr;
  p.initialState = in.initialState ? out.initialState.data() : nullptr;
  return out;
}

} // namespace gdn
