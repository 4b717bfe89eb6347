//===- ChunkedFormFacts.h - the layer a chunked-form function implements -*- C++ -*-===//
//
// Internal to codegen/: what every kernel builder of a chunked form (gdn-chunkwise's output,
// split or not, with or without layouts) reads off it: its operands by role and the layer facts
// of the launch contract (KernelSignature.h).
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_CHUNKEDFORMFACTS_H
#define GDN_CODEGEN_CHUNKEDFORMFACTS_H

#include "KernelSignature.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <map>
#include <string>

namespace mlir::gdn {

/// Whether `fn` holds a chunk loop of the chunked form (split or not).
bool holdsChunkedForm(func::FuncOp fn);

/// The layer's operands by role (q, k, v, g, beta, initial_state, cu_seqlens: argument
/// numbers), as gdn-chunkwise annotated the chunk loop (gdn.operands).
std::map<std::string, unsigned> chunkedFormOperands(func::FuncOp fn);

/// The layer interface of a chunked-form function: q, k, v, ... from the chunk loop's
/// gdn.operands and their types; the gate kind from g's rank; the rule, the scale (constant
/// factors on Q before the Q K^T product) and qk_l2norm read off the tile ops, descriptively.
FailureOr<LayerFacts> chunkedFormFacts(func::FuncOp fn);

} // namespace mlir::gdn

#endif // GDN_CODEGEN_CHUNKEDFORMFACTS_H
