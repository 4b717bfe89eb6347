//===- gdn-opt.cpp - the gdn compiler driver (mlir-opt conventions) -------===//
//
// Registers the gdn dialect, every upstream dialect and pass the pipelines use, the gdn
// passes and the named pipelines (gdn/Codegen/Registration.h), so any stage can be run and
// printed on its own. Input nested too deep for MLIR's recursive parser is refused first, and
// the tool runs on a thread whose stack grows with the input (gdn/Codegen/SourceLimits.h).
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/Registration.h"
#include "gdn/Codegen/SourceLimits.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <unistd.h>

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::gdn::registerGdnOptDialects(registry);
  mlir::gdn::registerGdnOptPasses();
  auto [input, output] =
      mlir::registerAndParseCLIOptions(argc, argv, "gdn compiler driver\n", registry);
  auto run = [&, input = input, output = output] {
    return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, input, output, registry));
  };
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects() || config.shouldListPasses())
    return run(); // reads no input

  // Read the input once to check it; standard input is put back (as an anonymous file on
  // descriptor 0) for MlirOptMain to read as usual.
  size_t inputBytes = 0;
  auto buffer = input == "-" ? llvm::MemoryBuffer::getSTDIN() : llvm::MemoryBuffer::getFile(input);
  if (buffer) {
    inputBytes = (*buffer)->getBufferSize();
    std::string name = input == "-" ? "<stdin>" : input;
    std::string deep = mlir::gdn::checkSourceNesting((*buffer)->getBuffer().str(), name);
    if (!deep.empty()) {
      llvm::errs() << deep << "\n";
      return 1;
    }
    if (input == "-") {
      FILE *copy = std::tmpfile();
      if (!copy || std::fwrite((*buffer)->getBufferStart(), 1, inputBytes, copy) != inputBytes ||
          std::fflush(copy) != 0 || std::fseek(copy, 0, SEEK_SET) != 0 ||
          dup2(fileno(copy), STDIN_FILENO) < 0) {
        llvm::errs() << "gdn-opt: cannot keep standard input for the parser\n";
        return 1;
      }
    }
  } // else MlirOptMain reports the file that cannot be read
  int rc = 1;
  mlir::gdn::runWithStackForInput(inputBytes, [&] { rc = run(); });
  return rc;
}
