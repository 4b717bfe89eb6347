//===- Variant.h - the recurrence families a kernel implements --*- C++ -*-===//
//
// The gate and update rule of a layer (docs/design.md §1), shared by the runtime's kernel
// metadata, the float64 reference and the compiler's layer descriptions.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_VARIANT_H
#define GDN_VARIANT_H

namespace gdn {

enum class GateKind { None, Scalar, Channel };
enum class UpdateRule { Additive, Delta };

const char *toString(GateKind gate);
const char *toString(UpdateRule rule);

} // namespace gdn

#endif // GDN_VARIANT_H
