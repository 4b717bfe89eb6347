//===- GridDependency.cpp - programmatic dependent launch for gdn kernels -===//
//
// Every gdn kernel waits (griddepcontrol.wait) before its first memory access and signals
// (griddepcontrol.launch_dependents) just before each return, so that the runtime may launch
// it with programmatic stream serialisation (see Passes.td). The wait keeps reads of the
// previous kernel's outputs, and writes over buffers it still reads (the previous launch's
// workspace), ordered. The signal sits at the end because blocks of the next kernel that
// become resident early stay where they were placed: signalled at the start, the next
// kernel's blocks filled the SMs beside a running few-block state pass and doubled up there
// (B = 1 cases up to 1.6x slower on the H100).
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
      NVVM::GriddepcontrolOp::create(b, fn.getLoc(), NVVM::GridDepActionKind::wait);
      fn.walk([&](gpu::ReturnOp ret) {
        b.setInsertionPoint(ret);
        NVVM::GriddepcontrolOp::create(b, ret.getLoc(), NVVM::GridDepActionKind::launch_dependents);
      });
      fn->setAttr("gdn.programmatic_launch", b.getUnitAttr());
    });
  }
};

} // namespace
