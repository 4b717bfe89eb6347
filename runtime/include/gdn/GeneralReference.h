//===- GeneralReference.h - float64 reference of the generalized transition -*- C++ -*-===//
//
// The generalized transition that the six families are special cases of, and that RWKV-7's
// diagonal-plus-low-rank rule (flash-linear-attention's chunk_dplr_delta_rule) and Gated
// DeltaProduct (several Householder steps per token) are written in (docs/design.md §1.1). Per
// sequence and value head, each token t has n sub-steps s = 1..n, each
//
//   S <- D_{t,s} S + b_{t,s} (a_{t,s}^T S) + k_{t,s} v_{t,s}^T
//
// with D_{t,1} = 1 | exp(g_t) | diag(exp(g_t)) (gate none | scalar | channel) and D_{t,s} = I
// for s > 1; after the last sub-step o_t = scale * S^T q_t. The rank-one term reads the state
// before this sub-step's decay. Evaluated in float64 two ways: sub-step by sub-step (the
// definition) and chunkwise (the generalized WY form of docs/design.md §2.5, which gdn-chunkwise
// emits for gdn.transition): the test that they agree checks that derivation.
//
// Layouts (row-major; rows of k, a, b and v are sub-steps: row t * n + s - 1):
//   q          [B, T, H, K]            read after the last sub-step of each token
//   k          [B, T * n, H, K]        the written key (q/k head j / (HV / H), as GVA)
//   a, b       [B, T * n, HV, K]       the rank-one term's read and write vectors
//   v          [B, T * n, HV, V]       the written value
//   g          [B, T, HV] (scalar) or [B, T, HV, K] (channel); absent for gate none
//   o          [B, T, HV, V]; states [N, HV, K, V]
//
//===----------------------------------------------------------------------===//
#ifndef GDN_GENERALREFERENCE_H
#define GDN_GENERALREFERENCE_H

#include "gdn/Reference.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gdn {

/// One invocation of the generalized transition. Pointers are borrowed (float64: the
/// reference's own inputs) and must cover the layouts above.
struct GeneralProblem {
  GateKind gate = GateKind::None;
  int64_t B = 0, T = 0, H = 0, HV = 0, K = 0, V = 0;
  int64_t steps = 1;     // n: sub-steps per token (Householder steps of Gated DeltaProduct)
  double scale = 1.0;    // output scale
  bool qkL2Norm = false; // q and k (not a, b) <- x / sqrt(sum_c x_c^2 + 1e-6) per row
  // As LayerProblem: empty, or B = 1 and N + 1 token offsets (tokens, not sub-steps).
  std::vector<int64_t> cuSeqlens;
  const double *q = nullptr, *k = nullptr, *a = nullptr, *b = nullptr, *v = nullptr;
  const double *g = nullptr;            // nullptr iff gate None
  const double *initialState = nullptr; // nullptr means zeros
};

/// "" if the problem is well formed, else a message naming the first problem (as validate()
/// does for LayerProblem; steps must be positive).
std::string validate(const GeneralProblem &p);

/// Sub-step by sub-step float64 evaluation of the definition above. Throws
/// std::invalid_argument with validate()'s message on a bad problem.
LayerResult referenceGeneral(const GeneralProblem &p);

/// The chunkwise form (docs/design.md §2.5) with chunks of `chunkRows` sub-step rows per
/// sequence (a chunk may end inside a token; the last one may be short). Throws
/// std::invalid_argument on a bad problem or chunkRows <= 0.
LayerResult referenceGeneralChunkwise(const GeneralProblem &p, int64_t chunkRows);

/// A family's layer (LayerProblem) written in the general form: the buffers it needs, owned
/// here, and the problem bound to them. q and k are L2-normalised here when the layer asks
/// for it (the general problem then has qkL2Norm off). The delta rule reads the decayed
/// state, so its read vector carries the gate: a = -beta exp(g) .* k, b = k, v' = beta v;
/// the additive rule has a = b = 0, v' = beta v.
struct GeneralBuffers {
  std::vector<double> q, k, a, b, v, g, initialState;
  GeneralProblem problem;
};
GeneralBuffers generalFromFamily(const LayerProblem &p);

/// gdn.transition's operands (float, as the CPU path and gdn-run hold them) written in the
/// general form: with `deltaRule`, a = -beta exp(g) .* k and b = k (the gate at a token's first
/// sub-step only), else a and b as given (both null: no rank-one term); the written value is
/// beta v (beta null: 1). q and k are L2-normalised here when `qkL2Norm`. Layouts as above,
/// beta [B, T * steps, HV]; g and initialState may be null (gate none, zero state).
struct TransitionInputs {
  GateKind gate = GateKind::None;
  int64_t B = 0, T = 0, H = 0, HV = 0, K = 0, V = 0, steps = 1;
  bool deltaRule = false, qkL2Norm = false;
  double scale = 1.0;
  std::vector<int64_t> cuSeqlens;
  const float *q = nullptr, *k = nullptr, *v = nullptr, *a = nullptr, *b = nullptr;
  const float *g = nullptr, *beta = nullptr, *initialState = nullptr;
};
GeneralBuffers generalFromTransition(const TransitionInputs &in);

} // namespace gdn

#endif // GDN_GENERALREFERENCE_H
