//===- CpuTransition.h - gdn.transition on the CPU path: inputs, reference -*- C++ -*-===//
//
// What CpuLayer (and so gdn-run) needs to run a gdn.transition layer (docs/design.md §1.1):
// random inputs in its operands' layouts, and its float64 reference
// (runtime/include/gdn/GeneralReference.h); and the input rounding both kinds of layer share.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_CPUTRANSITION_H
#define GDN_CODEGEN_CPUTRANSITION_H

#include "gdn/Codegen/CpuLayer.h"
#include "gdn/Numeric.h"

namespace gdn {

/// The element type a TensorSpec names ("bf16", "f16"; anything else is f32).
ElementType elementTypeOf(const std::string &name);

/// Stores `values` as input `name` when the layer has that operand, rounded to its element
/// type (random inputs: the reference then sees exactly what the layer reads).
void putRoundedInput(const LayerInfo &info, HostTensors &inputs, const std::string &name,
                     std::vector<int64_t> shape, std::vector<float> values);

/// Random inputs of a transition layer with B rows of T tokens (N sequences split by `cu`
/// when packed): q, k, v ~ N(0, 1) as for the families; k, v and beta with T * steps rows;
/// a = -u and b = c u with u unit-norm per row and c in (0, 1), as RWKV-7 forms them (the
/// transition stays a contraction); g log-sigmoid; rounded to each operand's element type.
bool makeRandomTransitionInputs(const LayerInfo &info, int64_t B, int64_t T, int64_t N,
                                const std::vector<int64_t> &cu, uint64_t seed,
                                bool withInitialState, HostTensors &inputs);

/// The float64 reference of a transition layer on `inputs` (validated): "o" and, where the
/// layer returns it, "final_state".
std::map<std::string, std::vector<double>> transitionReference(const LayerInfo &info,
                                                               const HostTensors &inputs);

} // namespace gdn

#endif // GDN_CODEGEN_CPUTRANSITION_H
