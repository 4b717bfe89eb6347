//===- TilesToGpu.cpp - layout-assigned tile programs to GPU code ---------===//
//
// The pass gdn-tiles-to-gpu (docs/design.md §3.7): inside every gpu.func, tile values whose
// layouts hold them in registers become per-thread vectors (TileDistribution.h) and each tile
// op is rewritten by its family's patterns: products (ProductPatterns.cpp), layout conversions
// and the loads and stores at the program's edges (ConvertLayoutPatterns.cpp), element-wise
// work (ElementwisePatterns.cpp). scf loops carrying tiles are converted structurally by
// upstream's patterns. Before rewriting, the pass checks every tile value's layout (a located
// error names the op and the reason when one cannot be lowered), gives the function the
// shared buffer its conversions need, and sets the block size its layouts spread over.
//
//===----------------------------------------------------------------------===//
#include "TileDistribution.h"

#include "gdn/Codegen/Passes.h"
#include "gdn/Dialect/GdnLayouts.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNTILESTOGPU
#include "gdn/Codegen/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::tiles;

namespace {

/// Static shared memory per block (workgroup buffers; more needs dynamic shared memory).
constexpr int64_t kStaticSharedLimit = 48 * 1024;

/// Checks the layouts of `fn` and prepares it: the exchange buffer and the block size; with
/// `report`, a remark at every product naming the instruction it becomes.
LogicalResult prepare(gpu::GPUFuncOp fn, const TileTypeConverter &converter, bool report) {
  int64_t warps = 0;
  Operation *warpsFrom = nullptr;
  int64_t exchange = 0;
  Operation *exchangeFrom = nullptr; // the op needing the largest exchange buffer
  SmallVector<TileConvertLayoutOp> sharedTiles;
  auto check = [&](Value v, Operation *at) -> LogicalResult {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !tileLayout(type))
      return success();
    if (inShared(type)) {
      if (!type.hasStaticShape() && tileBound(fn) <= 0)
        return at->emitOpError("gdn-tiles-to-gpu: a shared tile with a dynamic extent needs "
                               "the function's ")
               << kTileBoundAttr;
      return success();
    }
    std::string why;
    auto d = distribute(type, why, tileBound(fn));
    if (failed(d))
      return at->emitOpError("gdn-tiles-to-gpu: ") << why;
    if (warps && d->warps != warps)
      return at->emitOpError("gdn-tiles-to-gpu: its layouts spread over ")
             << d->warps << " warps but " << warpsFrom->getName() << " at " << warpsFrom->getLoc()
             << " spreads over " << warps << ": one kernel has one block size";
    warps = d->warps;
    warpsFrom = at;
    return success();
  };
  WalkResult walk = fn.walk([&](Operation *op) {
    for (Value r : op->getResults())
      if (failed(check(r, op)))
        return WalkResult::interrupt();
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          if (failed(check(arg, op)))
            return WalkResult::interrupt();
    if (auto cvt = dyn_cast<TileConvertLayoutOp>(op)) {
      if (failed(checkTileConversion(op)))
        return WalkResult::interrupt();
      if (inRegisters(cvt.getX().getType()) && inRegisters(cvt.getType())) {
        int64_t need = exchangeElements(cast<RankedTensorType>(cvt.getX().getType()),
                                        cast<RankedTensorType>(cvt.getType()), tileBound(fn));
        if (need > exchange)
          exchange = need, exchangeFrom = op;
      }
      if (inShared(cvt.getType()))
        sharedTiles.push_back(cvt);
    } else if (isa<TileCumsumOp, TileRowScaleOp, TileGateRowsOp, TileDecayStateOp,
                   TileL2NormRowsOp>(op)) {
      int64_t before = exchange;
      if (failed(checkTileGateOp(op, tileBound(fn), exchange)))
        return WalkResult::interrupt();
      if (exchange > before)
        exchangeFrom = op;
    } else if (isa<TileUnitLowerInverseOp>(op)) {
      int64_t before = exchange;
      if (failed(checkTileSolve(op, tileBound(fn), exchange)))
        return WalkResult::interrupt();
      if (exchange > before)
        exchangeFrom = op;
    } else if (isa<GdnDialect>(op->getDialect())) {
      if (failed(checkTileProduct(op)))
        return WalkResult::interrupt();
      if (report)
        op->emitRemark() << "in @" << fn.getName() << ": " << describeTileProduct(op);
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (!warps)
    return success(); // no tile program in registers here
  int32_t threads = static_cast<int32_t>(32 * warps);
  if (auto known = fn.getKnownBlockSizeAttr()) {
    ArrayRef<int32_t> size = known.asArrayRef();
    if (size.size() != 3 || size[0] != threads || size[1] != 1 || size[2] != 1)
      return fn.emitOpError("gdn-tiles-to-gpu: the tile layouts spread over ")
             << threads << " threads, but known_block_size says otherwise";
  } else {
    fn.setKnownBlockSizeAttr(DenseI32ArrayAttr::get(fn.getContext(), {threads, 1, 1}));
  }
  // The plan's shared memory is static (workgroup buffers): at most 48 KiB per block.
  int64_t sharedBytes = 4 * exchange;
  for (TileConvertLayoutOp cvt : sharedTiles)
    sharedBytes += cast<MemRefType>(converter.convertType(cvt.getType())).getNumElements() *
                   (cast<RankedTensorType>(cvt.getType()).getElementTypeBitWidth() / 8);
  if (sharedBytes > kStaticSharedLimit) {
    InFlightDiagnostic d = fn.emitOpError("gdn-tiles-to-gpu: @")
                           << fn.getName() << ": the tile program's shared memory (" << sharedBytes
                           << " bytes: " << 4 * exchange
                           << " for the exchange buffer, the rest for shared tiles) exceeds the "
                           << kStaticSharedLimit << " bytes of static shared memory per block";
    if (exchangeFrom)
      d.attachNote(exchangeFrom->getLoc())
          << "the largest exchange (" << 4 * exchange << " bytes) is for this op";
    return failure();
  }
  // One workgroup buffer per shared tile, of its bound's size.
  for (TileConvertLayoutOp cvt : sharedTiles) {
    fn.addWorkgroupAttribution(converter.convertType(cvt.getType()), cvt.getLoc());
    cvt->setAttr(kSharedSlotAttr, IntegerAttr::get(IntegerType::get(fn.getContext(), 64),
                                                   fn.getNumWorkgroupAttributions() - 1));
  }
  if (exchange > 0) {
    auto space = gpu::AddressSpaceAttr::get(fn.getContext(), gpu::AddressSpace::Workgroup);
    auto type = MemRefType::get({exchange}, Float32Type::get(fn.getContext()),
                                MemRefLayoutAttrInterface(), space);
    fn.addWorkgroupAttribution(type, fn.getLoc());
    fn->setAttr(kExchangeBufferAttr, IntegerAttr::get(IntegerType::get(fn.getContext(), 64),
                                                      fn.getNumWorkgroupAttributions() - 1));
  }
  return success();
}

bool touchesRegisters(Operation *op) {
  return llvm::any_of(op->getOperandTypes(), inRegisters) ||
         llvm::any_of(op->getResultTypes(), inRegisters);
}

struct GdnTilesToGpuPass : public gdn::impl::GdnTilesToGpuBase<GdnTilesToGpuPass> {
  using GdnTilesToGpuBase::GdnTilesToGpuBase;

  void runOnOperation() override {
    SmallVector<gpu::GPUFuncOp> fns;
    getOperation().walk([&](gpu::GPUFuncOp fn) { fns.push_back(fn); });
    MLIRContext *ctx = &getContext();
    for (gpu::GPUFuncOp fn : fns) {
      // Dynamic tile extents are held at the function's bound: one type conversion per kernel.
      TileTypeConverter converter(tileBound(fn));
      if (failed(prepare(fn, converter, reportProducts)))
        return signalPassFailure();
      RewritePatternSet patterns(ctx);
      populateTileElementwisePatterns(converter, patterns);
      populateTileProductPatterns(converter, patterns);
      populateTileConvertLayoutPatterns(converter, patterns);
      populateTileGatePatterns(converter, patterns);
      populateTileSolvePatterns(converter, patterns);
      ConversionTarget target(*ctx);
      target.addLegalDialect<arith::ArithDialect, gpu::GPUDialect, LLVM::LLVMDialect,
                             NVVM::NVVMDialect, memref::MemRefDialect, vector::VectorDialect,
                             scf::SCFDialect, bufferization::BufferizationDialect,
                             tensor::TensorDialect>();
      target.addIllegalDialect<GdnDialect>();
      target.addDynamicallyLegalDialect<arith::ArithDialect>(
          [](Operation *op) { return !touchesRegisters(op); });
      scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns, target);
      if (failed(applyPartialConversion(fn, target, std::move(patterns))))
        return signalPassFailure();
      fn->removeAttr(kExchangeBufferAttr);
      fn.walk([](Operation *op) { op->removeAttr(kSharedSlotAttr); });
      // A product and the sum it feeds may contract into one fma (the solve's substitutions,
      // row norms, scales): f32 arithmetic on registers, as the tensor cores' own accumulation.
      fn.walk([&](arith::ArithFastMathInterface op) {
        arith::FastMathFlagsAttr flags = op.getFastMathFlagsAttr();
        op->setAttr(op.getFastMathAttrName(),
                    arith::FastMathFlagsAttr::get(
                        ctx, (flags ? flags.getValue() : arith::FastMathFlags::none) |
                                 arith::FastMathFlags::contract));
      });
      // What read the program's tiles from memory is dead now (slices, then their sources).
      for (bool erased = true; erased;) {
        SmallVector<Operation *> dead;
        fn.walk([&](Operation *op) {
          if (isa<tensor::ExtractSliceOp, tensor::DimOp, bufferization::ToTensorOp>(op) &&
              op->use_empty())
            dead.push_back(op);
        });
        for (Operation *op : dead)
          op->erase();
        erased = !dead.empty();
      }
    }
  }
};

} // namespace
