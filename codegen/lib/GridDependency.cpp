//===- GridDependency.cpp - programmatic dependent launch for gdn kernels -===//
//
// Prepends `griddepcontrol.launch_dependents; griddepcontrol.wait` to every gdn kernel, so that
// the runtime may launch it with programmatic stream serialisation (see Passes.td). Both go
// before the kernel's first memory access: the wait is what keeps reads of the previous
// kernel's outputs, and writes over buffers it still reads (the workspace of the previous
// launch), ordered.
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/Passes.h"

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNGRIDDEPENDENCY
#include "gdn/Codegen/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;

namespace {

struct GdnGridDependencyPass
    : public mlir::gdn::impl::GdnGridDependencyBase<GdnGridDependencyPass> {
  void runOnOperation() override {
    getOperation()->walk([&](gpu::GPUFuncOp fn) {
      if (!fn.isKernel() || !fn->hasAttr("gdn.args") || fn->hasAttr("gdn.programmatic_launch"))
        return;
      OpBuilder b(fn.getContext());
      b.setInsertionPointToStart(&fn.getBody().front());
      NVVM::GriddepcontrolOp::create(b, fn.getLoc(), NVVM::GridDepActionKind::launch_dependents);
      NVVM::GriddepcontrolOp::create(b, fn.getLoc(), NVVM::GridDepActionKind::wait);
      fn->setAttr("gdn.programmatic_launch", b.getUnitAttr());
    });
  }
};

} // namespace
