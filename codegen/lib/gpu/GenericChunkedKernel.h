//===- GenericChunkedKernel.h - any chunk program as one fused kernel -*- C++ -*-===//
//
// Internal to codegen/: the op-by-op lowering of a chunked-form function (split or not) to one
// fused kernel per (sequence, value head), for tile programs no kernel fragment implements.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_GENERICCHUNKEDKERNEL_H
#define GDN_CODEGEN_GENERICCHUNKEDKERNEL_H

#include "ChunkedFormFacts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <map>
#include <string>

namespace mlir::gdn {

/// Builds `<fn>_generic` into the current gpu.module of `b` from `fn`'s chunk program (its
/// chunk size from the chunk loop's mark); `facts` receives the layer's interface (from the
/// gdn.operands annotation of the chunk loop and the argument types). Failure after a diagnostic at
/// the op it cannot lower.
FailureOr<gpu::GPUFuncOp> buildGenericChunkedKernel(OpBuilder &b, func::FuncOp fn,
                                                    LayerFacts &facts);

} // namespace mlir::gdn

#endif // GDN_CODEGEN_GENERICCHUNKEDKERNEL_H
