//===- KernelSerialization.h - kernels to one PTX module, in parallel -----===//
#ifndef GDN_CODEGEN_GPU_KERNELSERIALIZATION_H
#define GDN_CODEGEN_GPU_KERNELSERIALIZATION_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::gdn {

/// Lowers the GPU kernels of `module` (gpu.funcs, as the kernel passes build them) to NVVM and
/// serialises them to one PTX module for `chip`: each kernel in a gpu.module of its own, lowered
/// and serialised in parallel on the context's threads, the texts merged. Consumes the
/// module's gpu.modules. On failure `why` says which step failed (the diagnostics went to the
/// context's handler).
FailureOr<std::string> lowerKernelsToPtx(ModuleOp module, const std::string &chip,
                                         const std::string &features, std::string &why);

/// One PTX module from several that the same target wrote for one kernel each: the first
/// whole, then from each other its module-scope declarations not already made (identical lines)
/// and its entries. Fails, saying why, where a part defines anything but entries after its
/// declarations (a merge could not tell that from a clash).
FailureOr<std::string> mergePtx(ArrayRef<std::string> parts, std::string &why);

} // namespace mlir::gdn

#endif // GDN_CODEGEN_GPU_KERNELSERIALIZATION_H
