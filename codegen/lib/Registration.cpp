//===- Registration.cpp - what gdn-opt registers ---------------------------===//
#include "gdn/Codegen/Registration.h"
#include "gdn/Codegen/Pipelines.h"
#include "gdn/Dialect/GdnDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::gdn::registerGdnOptDialects(DialectRegistry &registry) {
  registry.insert<GdnDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

void mlir::gdn::registerGdnOptPasses() {
  registerAllPasses();
  registerGdnPassesAndPipelines();
}
