//===- GridDependency.cpp - programmatic dependent launch for gdn kernels -===//
//
// Every gdn kernel waits (griddepcontrol.wait) before its first memory access, so that the
// runtime may launch it with programmatic stream serialisation (see Passes.td). The wait keeps
// reads of the previous kernel's outputs, and writes over buffers it still reads (the previous
// launch's workspace), ordered. No kernel signals griddepcontrol.launch_dependents: the next
// kernel then launches once every block of this one has exited, i.e. onto free SMs. Blocks
// placed earlier stay where they were put: signalled at a kernel's start, the next kernel's
// blocks filled the SMs beside a running few-block state pass and doubled up there (B = 1
// cases 1.3-1.6x slower on the H100); signalled before each return, the state pass's 128
// blocks doubled up on the first SMs the combine kernel's large blocks freed (B1 T8192 H16
// 0.262 vs 0.210 ms). Without a signal nothing is lost and short kernels back to back still
// gain (decode at B = 1: 3.4 instead of 4.0 us).
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
      fn->setAttr("gdn.programmatic_launch", b.getUnitAttr());
    });
  }
};

} // namespace
