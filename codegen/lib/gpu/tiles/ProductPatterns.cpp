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

#include "../KernelSignature.h"

#include "gdn/Dialect/GdnLayouts.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::tiles;

namespace {

/// The accumulator registers of the product of two fragments (`aRegs` the instruction's A,
/// `bRegs` its B): mma.sync m16n8k16 per instruction tile, the reduction's 16-column steps
/// chained into the f32 accumulator. Element type from the operands (bf16 or f16).
SmallVector<Value> mmaSyncProduct(OpBuilder &b, Location loc, const Distribution &acc,
                                  const Distribution &a, Type element, Value aRegs, Value bRegs) {
  bool f16 = element.isF16();
  int64_t tilesM = acc.perWarp[0] / 16, tilesN = acc.perWarp[1] / 8;
  int64_t steps = a.instrShape[1] / 16;
  auto scalar = [&](Value v, int64_t i) -> Value {
    return vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{i});
  };
  // Two adjacent 16-bit elements as one operand register: i32 for bf16, vector<2xf16>.
  auto word = [&](Value v, int64_t i) -> Value {
    Value pair = vector::FromElementsOp::create(b, loc, VectorType::get({2}, element),
                                                ValueRange{scalar(v, i), scalar(v, i + 1)});
    if (f16)
      return pair;
    return LLVM::BitcastOp::create(b, loc, b.getI32Type(), pair);
  };
  Type f32 = b.getF32Type();
  auto structType = LLVM::LLVMStructType::getLiteral(b.getContext(), SmallVector<Type>(4, f32));
  NVVM::MMATypes kind = f16 ? NVVM::MMATypes::f16 : NVVM::MMATypes::bf16;
  std::array<NVVM::MMATypes, 2> types = {kind, kind};
  std::array<NVVM::MMALayout, 2> layouts = {NVVM::MMALayout::row, NVVM::MMALayout::col};
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));

  SmallVector<Value> out(acc.count());
  for (int64_t i = 0; i < tilesM; ++i)
    for (int64_t j = 0; j < tilesN; ++j) {
      SmallVector<Value> c(4, zero);
      for (int64_t k = 0; k < steps; ++k) {
        int64_t aAt = (i * steps + k) * 8, bAt = (k * tilesN + j) * 4;
        SmallVector<Value> aWords = {word(aRegs, aAt), word(aRegs, aAt + 2), word(aRegs, aAt + 4),
                                     word(aRegs, aAt + 6)};
        SmallVector<Value> bWords = {word(bRegs, bAt), word(bRegs, bAt + 2)};
        Value d =
            NVVM::MmaOp::create(b, loc, structType, aWords, bWords, c, ArrayRef<int64_t>{16, 8, 16},
                                std::nullopt, std::nullopt, types, layouts);
        for (int64_t e = 0; e < 4; ++e)
          c[e] = LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{e});
      }
      for (int64_t e = 0; e < 4; ++e)
        out[(i * tilesN + j) * 4 + e] = c[e];
    }
  return out;
}

/// The product's accumulator and instruction-A distributions and registers (into a transposed
/// accumulator the instruction computes (a b)^T = b^T a^T: b's fragments are its A; fragments
/// are in the instruction's view, so transposed operands need nothing more here).
template <typename OpTy, typename Adaptor>
FailureOr<SmallVector<Value>> lowerProduct(OpTy op, Adaptor adaptor, OpBuilder &b,
                                           Distribution &accOut) {
  auto resultType = cast<RankedTensorType>(op.getType());
  bool transposed = cast<MmaLayoutAttr>(tileLayout(resultType)).getTransposed();
  Value instrA = transposed ? op.getB() : op.getA();
  std::string why;
  auto acc = distribute(resultType, why, tileBound(op));
  auto a = distribute(cast<RankedTensorType>(instrA.getType()), why, tileBound(op));
  if (failed(acc) || failed(a))
    return failure(); // checkTileProduct reported it
  accOut = *acc;
  return mmaSyncProduct(
      b, op.getLoc(), *acc, *a, cast<RankedTensorType>(instrA.getType()).getElementType(),
      transposed ? adaptor.getB() : adaptor.getA(), transposed ? adaptor.getA() : adaptor.getB());
}

struct MatmulOnMmaSync : OpConversionPattern<TileMatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(TileMatmulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    if (!isa_and_nonnull<MmaLayoutAttr>(tileLayout(op.getType())))
      return failure(); // another family's pattern (wgmma, CUDA cores) takes it
    Distribution acc;
    auto out = lowerProduct(op, adaptor, rewriter, acc);
    if (failed(out))
      return failure();
    rewriter.replaceOp(
        op, vector::FromElementsOp::create(rewriter, op.getLoc(), acc.registers(), *out));
    return success();
  }
};

/// gdn.tile.gated_gram with scalar gates (or none): a b^T on tensor cores, then per element
/// (i, j) the causal mask (i > j, or i >= j with `diagonal`) and exp(G[i] - G[j]) (R[i] with
/// row_gates) from the shared gates, mask first.
struct GatedGramOnMmaSync : OpConversionPattern<TileGatedGramOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(TileGatedGramOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    if (!isa_and_nonnull<MmaLayoutAttr>(tileLayout(op.getType())))
      return failure();
    Location loc = op.getLoc();
    Distribution acc;
    auto products = lowerProduct(op, adaptor, rewriter, acc);
    if (failed(products))
      return failure();
    Value lane, warp;
    std::tie(lane, warp) = laneAndWarp(rewriter, loc);
    SmallVector<Value> base = acc.base(rewriter, loc, lane, warp);
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    Value gates = adaptor.getGates(), rowGates = adaptor.getRowGates();
    SmallVector<Value> out;
    for (int64_t e = 0; e < acc.count(); ++e) {
      Value i = base[0], j = base[1];
      if (acc.offsets[e][0])
        i = arith::AddIOp::create(rewriter, loc, i,
                                  arith::ConstantIndexOp::create(rewriter, loc, acc.offsets[e][0]));
      if (acc.offsets[e][1])
        j = arith::AddIOp::create(rewriter, loc, j,
                                  arith::ConstantIndexOp::create(rewriter, loc, acc.offsets[e][1]));
      Value keep = arith::CmpIOp::create(
          rewriter, loc, op.getDiagonal() ? arith::CmpIPredicate::uge : arith::CmpIPredicate::ugt,
          i, j);
      Value x = (*products)[e];
      if (gates) {
        // Masked first: the exponent is only formed where i >= j (G non-increasing).
        Value gi =
            memref::LoadOp::create(rewriter, loc, rowGates ? rowGates : gates, ValueRange{i});
        Value gj = memref::LoadOp::create(rewriter, loc, gates, ValueRange{j});
        Value diff = arith::SelectOp::create(rewriter, loc, keep,
                                             arith::SubFOp::create(rewriter, loc, gi, gj), zero);
        x = arith::MulFOp::create(rewriter, loc, x, nvvmExp(rewriter, loc, diff));
      }
      out.push_back(arith::SelectOp::create(rewriter, loc, keep, x, zero));
    }
    rewriter.replaceOp(op, vector::FromElementsOp::create(rewriter, loc, acc.registers(), out));
    return success();
  }
};

} // namespace

LogicalResult mlir::gdn::tiles::checkTileProduct(Operation *op) {
  if (!isa<TileMatmulOp, TileGatedGramOp>(op))
    return op->emitOpError("gdn-tiles-to-gpu: no pattern lowers this tile op yet");
  auto fail = [&](const Twine &why) { return op->emitOpError("gdn-tiles-to-gpu: ") << why; };
  Value a = op->getOperand(0), b = op->getOperand(1), result = op->getResult(0);
  auto resultType = cast<RankedTensorType>(result.getType());
  auto mma = dyn_cast_or_null<MmaLayoutAttr>(tileLayout(resultType));
  if (!mma)
    return fail("only products into mma.sync accumulators (#gdn.mma) are lowered yet");
  // The op's verifier checked which fragments (and which transposition) each side must be.
  if (!isa_and_nonnull<DotOperandLayoutAttr>(tileLayout(a.getType())) ||
      !isa_and_nonnull<DotOperandLayoutAttr>(tileLayout(b.getType())))
    return fail("an mma.sync product takes its accumulator's operand fragments "
                "(#gdn.dot_operand of the result's layout)");
  if (auto gram = dyn_cast<TileGatedGramOp>(op)) {
    if (mma.getTransposed())
      return fail("a gram into a transposed accumulator is not lowered yet");
    for (Value g : {gram.getGates(), gram.getRowGates()}) {
      if (!g)
        continue;
      if (cast<RankedTensorType>(g.getType()).getRank() != 1)
        return fail("channel-gated grams (gates [n, K]: the decay inside the sum) are not "
                    "lowered yet");
      if (!inShared(g.getType()))
        return fail("a gram's cumulative gates must be a shared tile (#gdn.shared)");
    }
  }
  for (Value v : {a, b}) {
    Type element = cast<RankedTensorType>(v.getType()).getElementType();
    if (!element.isBF16() && !element.isF16()) {
      std::string name;
      llvm::raw_string_ostream os(name);
      element.print(os);
      return fail("mma.sync multiplies bf16 or f16 operands, got " + name +
                  " (round the fragments with arith.truncf first)");
    }
  }
  for (Value v : {a, b, result}) {
    std::string why;
    if (failed(distribute(cast<RankedTensorType>(v.getType()), why, tileBound(op))))
      return fail(why);
  }
  return success();
}

std::string mlir::gdn::tiles::describeTileProduct(Operation *op) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  bool transposed = cast<MmaLayoutAttr>(tileLayout(resultType)).getTransposed();
  auto instrA = cast<RankedTensorType>(op->getOperand(transposed ? 1 : 0).getType());
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
  patterns.add<MatmulOnMmaSync, GatedGramOnMmaSync>(converter, patterns.getContext());
}
