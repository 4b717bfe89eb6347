//===- Passes.h - gdn passes ------------------------------------*- C++ -*-===//
#ifndef GDN_PASSES_PASSES_H
#define GDN_PASSES_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir::gdn {

#define GEN_PASS_DECL
#include "gdn/Passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "gdn/Passes/Passes.h.inc"

/// The layer operands gdn-chunkwise names in a chunk loop's gdn.operands (role -> function
/// argument number), in the layer op's syntax order.
inline constexpr const char *kLayerOperandRoles[] = {
    "q", "k", "v", "g", "beta", "initial_state", "cu_seqlens"};

/// Patterns that expand gdn.tile ops into linalg/scf on tensors (the CPU path).
void populateTilesToLinalgPatterns(RewritePatternSet &patterns);

/// gdn.recurrence -> gdn.transition (gdn-generalize; docs/design.md §1.1).
void populateGeneralizePatterns(RewritePatternSet &patterns);

} // namespace mlir::gdn

#endif // GDN_PASSES_PASSES_H
