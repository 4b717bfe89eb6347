//===- KernelSerialization.cpp - kernels to one PTX module, in parallel ---===//
//
// A chunked layer has up to four kernels (prep, state pass, segment states, combine) in one
// gpu.module, and LLVM's NVPTX back end is most of the time from IR to cubin: serialised as
// one module it takes 0.7 s of the ~1.2 s here for a segmented layer. So each kernel gets a
// gpu.module of its own: MLIR's pass manager lowers sibling gpu.modules in parallel, each is
// serialised on the context's threads (upstream gpu-module-to-binary, one module per run), and
// the PTX texts are merged into one module (one header, module-scope declarations once, every
// entry), which ptxas assembles into the single cubin the runtime loads.
//
//===----------------------------------------------------------------------===//
#include "KernelSerialization.h"
#include "gdn/Codegen/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Threading.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace mlir::gdn {

/// Gives each kernel of a gpu.module a gpu.module of its own (`<name>`, `<name>_1`, ...). A
/// module with device functions (gpu.func without gpu.kernel) stays whole: they would be
/// defined once per copy.
static void splitKernelModules(ModuleOp module) {
  SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
  for (gpu::GPUModuleOp gm : modules) {
    SmallVector<gpu::GPUFuncOp> funcs(gm.getOps<gpu::GPUFuncOp>());
    if (funcs.size() < 2 || llvm::any_of(funcs, [](gpu::GPUFuncOp f) { return !f.isKernel(); }))
      continue;
    OpBuilder b(gm);
    b.setInsertionPointAfter(gm);
    for (size_t i = 1; i < funcs.size(); ++i) {
      auto copy = cast<gpu::GPUModuleOp>(b.clone(*gm));
      copy.setName((gm.getName() + "_" + std::to_string(i)).str());
      size_t n = 0;
      for (gpu::GPUFuncOp f : llvm::make_early_inc_range(copy.getOps<gpu::GPUFuncOp>()))
        if (n++ != i)
          f.erase();
    }
    for (size_t i = 1; i < funcs.size(); ++i)
      funcs[i].erase();
  }
}

/// The lines of `text`.
static SmallVector<StringRef> linesOf(StringRef text) {
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  return lines;
}

static bool isEntryStart(StringRef line) {
  return line.starts_with(".visible .entry") || line.starts_with(".entry") ||
         line.starts_with(".weak .entry");
}

FailureOr<std::string> mergePtx(ArrayRef<std::string> parts, std::string &why) {
  std::string merged = parts.front();
  llvm::StringSet<> declared;
  for (StringRef line : linesOf(parts.front()))
    if (!line.empty() && !line.starts_with("//") && !line.starts_with(" ") &&
        !line.starts_with("\t"))
      declared.insert(line);
  for (const std::string &part : parts.drop_front()) {
    SmallVector<StringRef> lines = linesOf(part);
    size_t first = 0;
    while (first < lines.size() && !isEntryStart(lines[first]))
      ++first;
    std::string add;
    for (size_t i = 0; i < first; ++i) {
      StringRef line = lines[i];
      if (line.empty() || line.starts_with("//") || line.starts_with(".version") ||
          line.starts_with(".target") || line.starts_with(".address_size"))
        continue;
      if (declared.insert(line).second)
        add += line.str() + "\n";
    }
    for (size_t i = first; i < lines.size(); ++i) {
      StringRef line = lines[i];
      if (line.starts_with(".func") || line.starts_with(".visible .func") ||
          line.starts_with(".global") || line.starts_with(".const") ||
          line.starts_with(".extern")) {
        why = "a kernel's PTX defines '" + line.str() + "' after its entries";
        return failure();
      }
    }
    for (size_t i = first; i < lines.size(); ++i)
      add += lines[i].str() + (i + 1 < lines.size() ? "\n" : "");
    merged += "\n" + add;
  }
  return merged;
}

FailureOr<std::string> lowerKernelsToPtx(ModuleOp module, const std::string &chip,
                                         const std::string &features, std::string &why) {
  MLIRContext *context = module.getContext();
  splitKernelModules(module);
  PassManager lower(context);
  if (failed(parsePassPipeline(gpuLoweringPipelineText(chip, features), lower)) ||
      failed(lower.run(module))) {
    why = "lowering to NVVM failed";
    return failure();
  }
  // Each gpu.module in a builtin.module of its own, so that gpu-module-to-binary runs on each
  // apart; the PTX comes back in the modules' order.
  SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
  if (modules.empty()) {
    why = "no gpu.module to serialise";
    return failure();
  }
  SmallVector<OwningOpRef<ModuleOp>> holders;
  for (gpu::GPUModuleOp gm : modules) {
    holders.push_back(ModuleOp::create(gm.getLoc()));
    gm->moveBefore(holders.back()->getBody(), holders.back()->getBody()->end());
  }
  SmallVector<std::string> ptx(holders.size());
  LogicalResult serialised = failableParallelForEach(
      context, llvm::seq<size_t>(0, holders.size()), [&](size_t i) -> LogicalResult {
        PassManager pm(context);
        if (failed(parsePassPipeline("gpu-module-to-binary{format=isa}", pm)) ||
            failed(pm.run(*holders[i])))
          return failure();
        for (gpu::BinaryOp binary : holders[i]->getOps<gpu::BinaryOp>())
          for (Attribute object : binary.getObjects())
            ptx[i] = cast<gpu::ObjectAttr>(object).getObject().str();
        return success(!ptx[i].empty());
      });
  if (failed(serialised)) {
    why = "serialising a kernel to PTX failed";
    return failure();
  }
  return mergePtx(ptx, why);
}

} // namespace mlir::gdn
