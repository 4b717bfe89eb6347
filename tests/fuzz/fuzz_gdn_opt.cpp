// libFuzzer target: what gdn-opt does first with a file: parse it (the gdn dialect's custom
// syntax and every dialect gdn-opt registers) and verify it (the gdn ops' verifiers). Past the
// parser: a module that parses; the verifier then runs on it. Input that gdn-opt refuses
// before parsing (gdn/Codegen/SourceLimits.h) is refused here too.
#include "FuzzStats.h"
#include "MlirFuzz.h"
#include "gdn/Codegen/SourceLimits.h"

#include <string>

static gdn_fuzz::Stats stats("gdn_opt");
static gdn_fuzz::MlirFuzzContext context;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ++stats.inputs;
  context.beginInput();
  // NUL-terminated, as gdn-opt's files are (MLIR's lexer reads the terminator at the end).
  std::string text(reinterpret_cast<const char *>(data), size);
  // What gdn-opt refuses before parsing (too deep for MLIR's recursive parser).
  if (!mlir::gdn::checkSourceNesting(text, "input").empty())
    return 0;
  // On a stack that grows with the input, as gdn-opt runs (SourceLimits.h).
  mlir::gdn::runWithStackForInput(size, [&] {
    mlir::ParserConfig config(&context.get(), /*verifyAfterParse=*/false);
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(llvm::StringRef(text.data(), text.size()), config);
    if (!module)
      return;
    ++stats.past;
    (void)mlir::verify(*module);
  });
  return 0;
}
