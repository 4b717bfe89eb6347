//===- gdn-opt.cpp - the gdn compiler driver (mlir-opt conventions) -------===//
//
// Registers the gdn dialect, every upstream dialect and pass the pipelines use, the gdn
// passes and the named pipelines, so any stage can be run and printed on its own.
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/Pipelines.h"
#include "gdn/Dialect/GdnDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::gdn::GdnDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gdn-to-ptx serialises gpu.modules: LLVM IR translation and the NVVM target.
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::registerAllPasses();
  mlir::gdn::registerGdnPassesAndPipelines();
  return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, "gdn compiler driver\n", registry));
}
