//===- LayerDescription.h - a layer described in C++ ------------*- C++ -*-===//
//
// The variant and shapes of a layer as a C++ value, and its .mlir text. Used by the JIT's
// C++ entry point and by tests that sweep variants.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_LAYERDESCRIPTION_H
#define GDN_CODEGEN_LAYERDESCRIPTION_H

#include "gdn/Reference.h"

#include <cstdint>
#include <string>

namespace gdn {

/// A layer described in C++ rather than .mlir text.
struct LayerDescription {
  GateKind gate = GateKind::Scalar;
  UpdateRule rule = UpdateRule::Delta;
  std::string inputType = "bf16"; ///< q, k, v, o: bf16 | f16 | f32 (g, beta are f32)
  int64_t H = 16, HV = 32, K = 128, V = 128;
  bool initialState = true, finalState = true, qkL2norm = false, allowNegEigval = false;
  bool varlen = false; ///< packed batch with i32 cu_seqlens
  float scale = 0.0f;  ///< 0: 1/sqrt(K)
  bool decode = false; ///< gdn.decode with `decodeTokens` tokens per sequence
  int64_t decodeTokens = 1;
  std::string
      extraAttributes; ///< appended to the attribute dictionary, e.g. "chunk_size = 32 : i64"

  /// The layer as .mlir text (one function holding one layer op).
  std::string toMlir() const;
};

} // namespace gdn

#endif // GDN_CODEGEN_LAYERDESCRIPTION_H
