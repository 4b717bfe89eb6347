//===- Reference.h - float64 reference for gated linear recurrences -*- C++ -*-===//
//
// The numerical contract of docs/design.md section 1, evaluated in float64 two
// ways: token by token (the definition) and chunkwise (docs/design.md section 2,
// the form the compiler lowers to). Every other path is tested against these.
//
// Layouts (row-major, fla's convention):
//   q, k          [B, T, H, K]
//   v, o          [B, T, HV, V]
//   g             [B, T, HV] (scalar gate) or [B, T, HV, K] (channel gate)
//   beta          [B, T, HV]
//   states        [N, HV, K, V]
// Value head j reads q/k head j / (HV / H) (grouped value attention, GVA).
//
//===----------------------------------------------------------------------===//
#ifndef GDN_REFERENCE_H
#define GDN_REFERENCE_H

#include "gdn/Numeric.h"
#include "gdn/Variant.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gdn {

/// One layer invocation. Pointers are borrowed and must cover the layouts above.
struct LayerProblem {
  GateKind gate = GateKind::None;
  UpdateRule rule = UpdateRule::Delta;
  int64_t B = 0, T = 0, H = 0, HV = 0, K = 0, V = 0;
  double scale = 1.0;    // output scale (callers usually pass 1/sqrt(K))
  bool qkL2Norm = false; // q,k <- x / sqrt(sum_c x_c^2 + 1e-6) per token and
                         // head, before anything else
  // Empty: N = B sequences of length T. Otherwise B must be 1, N = size - 1,
  // and sequence n is tokens [cu[n], cu[n+1]) of the packed batch.
  std::vector<int64_t> cuSeqlens;
  const float *q = nullptr, *k = nullptr, *v = nullptr; // required
  const float *g = nullptr;                             // nullptr iff gate None
  const float *beta = nullptr;                          // nullptr means beta = 1
  const float *initialState = nullptr;                  // nullptr means zeros
};

struct LayerResult {
  std::vector<double> o;          // [B, T, HV, V]
  std::vector<double> finalState; // [N, HV, K, V]
};

/// Number of sequences N of a (valid) problem.
int64_t numSequences(const LayerProblem &p);

/// "" if the problem is well formed, else a message naming the first problem.
/// T may be 0 (then q, k, v and g may be null) and varlen sequences may be
/// empty; all other dims must be > 0. g must be null iff gate is None.
std::string validate(const LayerProblem &p);

/// Token-by-token float64 evaluation of docs/design.md section 1.
/// Throws std::invalid_argument with validate()'s message on a bad problem.
LayerResult referenceRecurrence(const LayerProblem &p);

/// float64 evaluation of the chunkwise form (docs/design.md section 2) with chunks
/// of chunkSize tokens per sequence; the last chunk of a sequence may be short.
/// Throws std::invalid_argument on a bad problem or chunkSize <= 0.
LayerResult referenceChunkwise(const LayerProblem &p, int64_t chunkSize);

/// Error of `got` against `want` over a whole tensor.
///   maxAbs = max_i |got_i - want_i|
///   maxRel = maxAbs / max(max_i |want_i|, DBL_MIN)
/// maxRel is relative to the tensor's largest magnitude, not per element, so
/// entries that happen to be near zero do not blow it up. A NaN, or an inf
/// that does not match exactly, makes both fields +inf. n == 0 gives {0, 0}.
struct ErrorStats {
  double maxAbs;
  double maxRel;
};
ErrorStats compare(const double *got, const double *want, size_t n);
ErrorStats compare(const float *got, const double *want, size_t n);

/// Random inputs in the layouts above (N = B; cuSeqlens is left empty).
struct RandomLayerInputs {
  std::vector<float> q, k, v, g, beta, initialState;
  std::vector<int64_t> cuSeqlens;
};

/// Deterministic for a given seed and argument list (own PRNG; q, k, v and the
/// state use only IEEE arithmetic, g and beta also go through exp/log1p).
/// Each tensor draws from its own stream, so e.g. toggling withInitialState
/// leaves q, k, v, g and beta unchanged.
///   q, v          ~ N(0,1) (Irwin-Hall approximation), rounded to inputType
///   k             unit L2 norm per (token, head) before rounding; with
///                 qkL2Norm instead unnormalised, ~ 3 * N(0,1)
///   g             log-sigmoid(N(0,1)) <= 0, [B,T,HV] or [B,T,HV,K]; empty for
///                 gate None; kept f32
///   beta          sigmoid(N(0,1)) in (0,1), times 2 if allowNegEigval; always
///                 generated; kept f32
///   initialState  0.1 * N(0,1), [B,HV,K,V] if withInitialState else empty; f32
RandomLayerInputs makeRandomInputs(GateKind gate, UpdateRule rule, int64_t B, int64_t T, int64_t H,
                                   int64_t HV, int64_t K, int64_t V, bool qkL2Norm,
                                   bool allowNegEigval, bool withInitialState,
                                   ElementType inputType, uint64_t seed);

/// Binds `in` (which must outlive the result) to a problem. Empty tensors
/// become nullptr; g is bound only when gate != None.
LayerProblem makeProblem(const RandomLayerInputs &in, GateKind gate, UpdateRule rule, int64_t B,
                         int64_t T, int64_t H, int64_t HV, int64_t K, int64_t V, double scale,
                         bool qkL2Norm);

} // namespace gdn

#endif // GDN_REFERENCE_H
