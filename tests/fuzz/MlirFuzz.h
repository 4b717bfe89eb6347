//===- MlirFuzz.h - a context for the MLIR fuzz targets ----------*- C++ -*-===//
//
// What gdn-opt registers (gdn/Codegen/Registration.h), diagnostics swallowed (a refused input
// is not a finding), and a fresh context every few thousand inputs: a context keeps every
// type and attribute it ever saw, which would otherwise grow without bound over a long run.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_TESTS_MLIRFUZZ_H
#define GDN_TESTS_MLIRFUZZ_H

#include "gdn/Codegen/Registration.h"
#include "gdn/Codegen/SourceLimits.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <memory>
#include <string>

namespace gdn_fuzz {

class MlirFuzzContext {
public:
  /// The context for the next input (a fresh one every 2000 inputs). Call once per input,
  /// before anything of the input is made: the previous context may be destroyed here.
  mlir::MLIRContext &beginInput() {
    if (!context || ++uses > 2000) {
      static bool registered = [] {
        mlir::gdn::registerGdnOptPasses();
        return true;
      }();
      (void)registered;
      mlir::DialectRegistry registry;
      mlir::gdn::registerGdnOptDialects(registry);
      context =
          std::make_unique<mlir::MLIRContext>(registry, mlir::MLIRContext::Threading::DISABLED);
      context->loadAllAvailableDialects();
      context->getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
      uses = 0;
    }
    return *context;
  }
  /// The current input's context.
  mlir::MLIRContext &get() { return *context; }

  /// The module of `text` if it parses and verifies, else null. The text is copied into a
  /// NUL-terminated string, as gdn-opt's files are (MLIR's lexer reads the terminator).
  mlir::OwningOpRef<mlir::ModuleOp> parse(const char *data, size_t size) {
    mlir::ParserConfig config(&get());
    std::string text(data, size);
    if (!mlir::gdn::checkSourceNesting(text, "input").empty())
      return nullptr; // what gdn-opt, the JIT and gdn-run refuse before parsing
    return mlir::parseSourceString<mlir::ModuleOp>(llvm::StringRef(text.data(), text.size()),
                                                   config);
  }

private:
  std::unique_ptr<mlir::MLIRContext> context;
  int uses = 0;
};

} // namespace gdn_fuzz

#endif // GDN_TESTS_MLIRFUZZ_H
