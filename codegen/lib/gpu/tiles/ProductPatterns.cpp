//===- ProductPatterns.cpp - tile products on tensor cores ----------------===//
//
// gdn.tile.matmul whose result is an mma.sync accumulator (#gdn.mma version 2) and whose
// operands are that accumulator's A and B fragments (docs/design.md §3.7): each warp runs
// mma.sync m16n8k16 over its instruction tiles, every 16-column step of the reduction chained
// into the f32 accumulator. The instruction and its operand types come from the layouts and
// element types alone (bf16 or f16 operands).
//
// Emitted as NVVM's nvvm.mma.sync rather than nvgpu.mma.sync: MLIR 22's nvgpu op cannot
// deduce the PTX types of bf16 operands; NVVM's op takes them as i32 words.
//
//===----------------------------------------------------------------------===//
#include "TileDistribution.h"

#include "gdn/Dialect/GdnLayouts.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::tiles;

namespace {

struct MatmulOnMmaSync : OpConversionPattern<TileMatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(TileMatmulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    if (!isa_and_nonnull<MmaLayoutAttr>(tileLayout(resultType)))
      return failure(); // another family's pattern (wgmma, CUDA cores) takes it
    // Into a transposed accumulator the instruction computes (a b)^T = b^T a^T: b's fragments
    // are its A. Fragments are in the instruction's view (TileDistribution.h), so transposed
    // operands (transpose_a, or either side of a transposed product) need nothing more here.
    bool transposed = cast<MmaLayoutAttr>(tileLayout(resultType)).getTransposed();
    Value instrA = transposed ? op.getB() : op.getA();
    std::string why;
    auto acc = distribute(resultType, why, tileBound(op));
    auto a = distribute(cast<RankedTensorType>(instrA.getType()), why, tileBound(op));
    if (failed(acc) || failed(a))
      return failure(); // checkTileProduct reported it

    Location loc = op.getLoc();
    Type element = cast<RankedTensorType>(instrA.getType()).getElementType();
    bool f16 = element.isF16();
    int64_t tilesM = acc->perWarp[0] / 16, tilesN = acc->perWarp[1] / 8;
    int64_t steps = a->instrShape[1] / 16;
    Value aRegs = transposed ? adaptor.getB() : adaptor.getA();
    Value bRegs = transposed ? adaptor.getA() : adaptor.getB();
    auto scalar = [&](Value v, int64_t i) -> Value {
      return vector::ExtractOp::create(rewriter, loc, v, ArrayRef<int64_t>{i});
    };
    // Two adjacent 16-bit elements as one operand register: i32 for bf16, vector<2xf16>.
    auto word = [&](Value v, int64_t i) -> Value {
      Value pair = vector::FromElementsOp::create(rewriter, loc, VectorType::get({2}, element),
                                                  ValueRange{scalar(v, i), scalar(v, i + 1)});
      if (f16)
        return pair;
      return LLVM::BitcastOp::create(rewriter, loc, rewriter.getI32Type(), pair);
    };
    Type f32 = rewriter.getF32Type();
    auto structType = LLVM::LLVMStructType::getLiteral(getContext(), SmallVector<Type>(4, f32));
    NVVM::MMATypes kind = f16 ? NVVM::MMATypes::f16 : NVVM::MMATypes::bf16;
    std::array<NVVM::MMATypes, 2> types = {kind, kind};
    std::array<NVVM::MMALayout, 2> layouts = {NVVM::MMALayout::row, NVVM::MMALayout::col};
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));

    SmallVector<Value> out(acc->count());
    for (int64_t i = 0; i < tilesM; ++i)
      for (int64_t j = 0; j < tilesN; ++j) {
        SmallVector<Value> c(4, zero);
        for (int64_t k = 0; k < steps; ++k) {
          int64_t aAt = (i * steps + k) * 8, bAt = (k * tilesN + j) * 4;
          SmallVector<Value> aWords = {word(aRegs, aAt), word(aRegs, aAt + 2), word(aRegs, aAt + 4),
                                       word(aRegs, aAt + 6)};
          SmallVector<Value> bWords = {word(bRegs, bAt), word(bRegs, bAt + 2)};
          Value d = NVVM::MmaOp::create(rewriter, loc, structType, aWords, bWords, c,
                                        ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
                                        types, layouts);
          for (int64_t e = 0; e < 4; ++e)
            c[e] = LLVM::ExtractValueOp::create(rewriter, loc, d, ArrayRef<int64_t>{e});
        }
        for (int64_t e = 0; e < 4; ++e)
          out[(i * tilesN + j) * 4 + e] = c[e];
      }
    rewriter.replaceOp(op, vector::FromElementsOp::create(rewriter, loc, acc->registers(), out));
    return success();
  }
};

} // namespace

LogicalResult mlir::gdn::tiles::checkTileProduct(Operation *op) {
  auto mm = dyn_cast<TileMatmulOp>(op);
  if (!mm)
    return op->emitOpError("gdn-tiles-to-gpu: no pattern lowers this tile op yet");
  auto fail = [&](const Twine &why) { return op->emitOpError("gdn-tiles-to-gpu: ") << why; };
  auto resultType = cast<RankedTensorType>(mm.getType());
  auto mma = dyn_cast_or_null<MmaLayoutAttr>(tileLayout(resultType));
  if (!mma)
    return fail("only products into mma.sync accumulators (#gdn.mma) are lowered yet");
  // The op's verifier checked which fragments (and which transposition) each side must be.
  if (!isa_and_nonnull<DotOperandLayoutAttr>(tileLayout(mm.getA().getType())) ||
      !isa_and_nonnull<DotOperandLayoutAttr>(tileLayout(mm.getB().getType())))
    return fail("an mma.sync product takes its accumulator's operand fragments "
                "(#gdn.dot_operand of the result's layout)");
  for (Value v : {mm.getA(), mm.getB(), mm.getResult()}) {
    std::string why;
    if (failed(distribute(cast<RankedTensorType>(v.getType()), why, tileBound(op))))
      return fail(why);
  }
  return success();
}

std::string mlir::gdn::tiles::describeTileProduct(Operation *op) {
  auto mm = cast<TileMatmulOp>(op);
  auto resultType = cast<RankedTensorType>(mm.getType());
  bool transposed = cast<MmaLayoutAttr>(tileLayout(resultType)).getTransposed();
  auto instrA = cast<RankedTensorType>((transposed ? mm.getB() : mm.getA()).getType());
  std::string why;
  auto acc = distribute(resultType, why, tileBound(op));
  auto a = distribute(instrA, why, tileBound(op));
  if (failed(acc) || failed(a))
    return why;
  int64_t count = (acc->perWarp[0] / 16) * (acc->perWarp[1] / 8) * (a->instrShape[1] / 16);
  std::string type = instrA.getElementType().isF16() ? "f16" : "bf16";
  return "mma.sync.m16n8k16 " + type + " x " + std::to_string(count) + " per warp (" +
         std::to_string(acc->warps) + " warps" + (transposed ? ", computed transposed" : "") + ")";
}

void mlir::gdn::tiles::populateTileProductPatterns(TileTypeConverter &converter,
                                                   RewritePatternSet &patterns) {
  patterns.add<MatmulOnMmaSync>(converter, patterns.getContext());
}
