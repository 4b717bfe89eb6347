//===- Registration.h - what gdn-opt registers ------------------*- C++ -*-===//
//
// The dialects, extensions and translations gdn-opt parses and lowers with, defined once for
// the tool and for the fuzz targets that stand in for it (tests/fuzz).
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_REGISTRATION_H
#define GDN_CODEGEN_REGISTRATION_H

namespace mlir {
class DialectRegistry;
namespace gdn {

/// The gdn dialect, every upstream dialect and extension, the LLVM IR translations and the
/// NVVM target (gdn-to-ptx serialises gpu.modules).
void registerGdnOptDialects(DialectRegistry &registry);

/// Every upstream pass, the gdn passes and the named pipelines (global registry).
void registerGdnOptPasses();

} // namespace gdn
} // namespace mlir

#endif // GDN_CODEGEN_REGISTRATION_H
