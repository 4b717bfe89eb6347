//===- ConvertLayoutPatterns.cpp - moving tiles between layouts -----------===//
//
// gdn.tile.convert_layout (docs/design.md §3.7), by the pair of layouts:
//   memory -> registers   each thread loads its elements from the memref the tile was read
//                         from (bufferization.to_tensor, optionally through a unit-stride
//                         tensor.extract_slice);
//   registers -> memory   each thread stores its elements into the memref the tile is
//                         materialised in (bufferization.materialize_in_destination); of a
//                         replicated operand fragment, one warp stores;
//   accumulator -> its A  in place, where a warp holds whole rows: the m16n8k16 accumulator of
//                         two adjacent 16 x 8 tiles is the A fragment of one 16 x 16 step;
//   registers -> registers otherwise through the function's shared exchange buffer: a barrier,
//                         every element stored (in f32) by one holder, a barrier, every thread
//                         loads what its new layout gives it.
//
//===----------------------------------------------------------------------===//
#include "TileDistribution.h"

#include "gdn/Dialect/GdnLayouts.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::tiles;

namespace {

Value cIdx(OpBuilder &b, Location loc, int64_t x) { return indexConstant(b, loc, x); }

/// The extents of a memref's dimensions (memref.dim where dynamic).
SmallVector<Value> memrefExtents(OpBuilder &b, Location loc, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  SmallVector<Value> extents;
  for (int64_t d = 0; d < type.getRank(); ++d)
    extents.push_back(type.isDynamicDim(d) ? memref::DimOp::create(b, loc, memref, d).getResult()
                                           : cIdx(b, loc, type.getDimSize(d)));
  return extents;
}

/// Whether tile coordinates `at` lie within `extents` along the tile's dynamic dimensions (the
/// registers hold those at their bound); null where the tile has none.
Value within(OpBuilder &b, Location loc, RankedTensorType tile, ArrayRef<Value> at,
             ArrayRef<Value> extents) {
  Value inside;
  if (extents.empty())
    return inside; // none to check (memory padded to the bound)
  for (int64_t d = 0; d < tile.getRank(); ++d) {
    if (!tile.isDynamicDim(d))
      continue;
    Value c = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, at[d], extents[d]);
    inside = inside ? arith::AndIOp::create(b, loc, inside, c).getResult() : c;
  }
  return inside;
}

/// The memref a tile in memory is read from, and the slice it is read through (if any).
FailureOr<std::pair<Value, tensor::ExtractSliceOp>> sourceMemref(Value tensor) {
  int64_t rank = cast<RankedTensorType>(tensor.getType()).getRank();
  auto slice = tensor.getDefiningOp<tensor::ExtractSliceOp>();
  if (slice) {
    if (slice.getSourceType().getRank() != rank ||
        !llvm::all_of(slice.getStaticStrides(), [](int64_t s) { return s == 1; }))
      return failure();
    tensor = slice.getSource();
  }
  auto toTensor = tensor.getDefiningOp<bufferization::ToTensorOp>();
  if (!toTensor)
    return failure();
  return std::pair<Value, tensor::ExtractSliceOp>(toTensor.getBuffer(), slice);
}

/// Where a tile in memory is read: its memref, the tile's origin in it and the runtime extents.
struct MemorySource {
  Value memref;
  SmallVector<Value> origin, extents;
};
MemorySource memorySource(OpBuilder &b, Location loc, Value tensor) {
  auto [memref, slice] = *sourceMemref(tensor);
  MemorySource source{memref, {}, {}};
  if (slice) {
    source.origin = getValueOrCreateConstantIndexOp(b, loc, slice.getMixedOffsets());
    source.extents = getValueOrCreateConstantIndexOp(b, loc, slice.getMixedSizes());
  } else {
    source.origin.assign(cast<RankedTensorType>(tensor.getType()).getRank(), cIdx(b, loc, 0));
    source.extents = memrefExtents(b, loc, memref);
  }
  return source;
}

/// The dimension of `tile` along which its memory is contiguous, for vector accesses: the
/// innermost where its stride is 1, else the first of a 2-D tile whose memory holds its
/// transpose (stride 1 there); only where that extent is static or the memory is `padded` to
/// the bound. -1: none.
int64_t unitDimension(Value memref, RankedTensorType tile, bool padded) {
  auto type = cast<MemRefType>(memref.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides.empty())
    return -1;
  int64_t last = static_cast<int64_t>(strides.size()) - 1;
  if (strides[last] == 1 && (padded || !tile.isDynamicDim(last)))
    return last;
  if (last == 1 && strides[0] == 1 && (padded || !tile.isDynamicDim(0)))
    return 0;
  return -1;
}

/// A 2-D strided memref whose first dimension has stride 1, viewed transposed (its lines in
/// the innermost dimension), for vector accesses along them: element (i, j) is (j, i) there.
Value transposedLines(OpBuilder &b, Location loc, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  (void)type.getStridesAndOffset(strides, offset);
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  auto lines = MemRefType::get(
      {type.getDimSize(1), type.getDimSize(0)}, type.getElementType(),
      StridedLayoutAttr::get(b.getContext(), offset, ArrayRef<int64_t>{strides[1], 1}));
  auto known = [&](int64_t n, Value v) -> OpFoldResult {
    return ShapedType::isDynamic(n) ? OpFoldResult(v) : OpFoldResult(b.getIndexAttr(n));
  };
  SmallVector<OpFoldResult> sizes = {known(type.getDimSize(1), meta.getSizes()[1]),
                                     known(type.getDimSize(0), meta.getSizes()[0])};
  SmallVector<OpFoldResult> lineStrides = {known(strides[1], meta.getStrides()[1]),
                                           b.getIndexAttr(1)};
  return memref::ReinterpretCastOp::create(b, loc, lines, meta.getBaseBuffer(),
                                           known(offset, meta.getOffset()), sizes, lineStrides)
      .getResult();
}

/// The row alignment `op` states for the memref it reads or writes (kRowAlignmentAttr), else
/// none (0).
int64_t statedRowAlignment(Operation *op) {
  auto a = op ? op->getAttrOfType<IntegerAttr>(kRowAlignmentAttr) : IntegerAttr();
  return a ? a.getInt() : 0;
}

/// Whether every user of a tile leaving registers materialises it in a memref.
bool storedToMemrefs(Operation *op) {
  return llvm::all_of(op->getUsers(), [](Operation *user) {
    auto store = dyn_cast<bufferization::MaterializeInDestinationOp>(user);
    return store && isa<BaseMemRefType>(store.getDest().getType());
  });
}

/// Why `op` cannot be lowered (in `why`), or success.
LogicalResult checkTileConversionQuietly(TileConvertLayoutOp op, std::string &why) {
  auto from = cast<RankedTensorType>(op.getX().getType());
  auto to = cast<RankedTensorType>(op.getType());
  if (!tileLayout(from) && !tileLayout(to)) {
    why = "a conversion between two tiles in memory";
    return failure();
  }
  if (inShared(from)) {
    why = "reading a shared tile into another layout is not lowered yet (tile ops read shared "
          "tiles directly)";
    return failure();
  }
  if (isa_and_nonnull<SliceLayoutAttr>(tileLayout(from))) {
    why = "a slice is replicated over threads: it is read, never stored or converted from";
    return failure();
  }
  for (RankedTensorType t : {from, to})
    if (tileLayout(t) && !inShared(t) && failed(distribute(t, why, tileBound(op))))
      return failure();
  if (inShared(to) && !to.hasStaticShape() && tileBound(op) <= 0) {
    why = "a shared tile with a dynamic extent needs the function's gdn.chunk_size";
    return failure();
  }
  if (!tileLayout(from) && failed(sourceMemref(op.getX()))) {
    why = "a tile loaded into registers must be read from a memref (bufferization.to_tensor, or "
          "a unit-stride slice of one)";
    return failure();
  }
  if (!tileLayout(to) && !storedToMemrefs(op)) {
    why = "a tile stored from registers must be materialised in a memref "
          "(bufferization.materialize_in_destination)";
    return failure();
  }
  return success();
}

/// Stores a register tile's elements into `dest` in `pieces` (accessPieces), the elements past
/// the runtime `extents` skipped; of replicated copies, the primary holder stores. `lines`:
/// where pieces run along the tile's first dimension, `dest` viewed transposed
/// (transposedLines), which the vector stores write.
void storePieces(OpBuilder &b, Location loc, const Distribution &d, Value regs, Value dest,
                 RankedTensorType tile, ArrayRef<Value> extents,
                 ArrayRef<std::pair<int64_t, int64_t>> pieces, Value lines = Value()) {
  asPrimaryHolder(b, loc, d, [&](OpBuilder &at, ArrayRef<Value> base) {
    for (const std::pair<int64_t, int64_t> &piece : pieces) {
      int64_t e = piece.first, n = piece.second; // named: the lambda below captures them
      SmallVector<Value> coordinates = elementAt(at, loc, d, base, e);
      Value x = registerAt(at, loc, regs, e);
      if (n > 1) {
        SmallVector<Value> xs;
        for (int64_t j = 0; j < n; ++j)
          xs.push_back(registerAt(at, loc, regs, e + j));
        x = vector::FromElementsOp::create(at, loc, VectorType::get({n}, x.getType()), xs);
      }
      auto write = [&](OpBuilder &w) {
        if (n == 1)
          memref::StoreOp::create(w, loc, x, dest, coordinates);
        else if (lines)
          vector::StoreOp::create(w, loc, x, lines, ValueRange{coordinates[1], coordinates[0]},
                                  /*nontemporal=*/false,
                                  llvm::MaybeAlign(n * tile.getElementTypeBitWidth() / 8));
        else
          vector::StoreOp::create(w, loc, x, dest, coordinates, /*nontemporal=*/false,
                                  llvm::MaybeAlign(n * tile.getElementTypeBitWidth() / 8));
      };
      if (Value inside = within(at, loc, tile, coordinates, extents)) {
        auto guard = scf::IfOp::create(at, loc, inside, /*withElseRegion=*/false);
        OpBuilder then = guard.getThenBodyBuilder();
        write(then);
      } else {
        write(at);
      }
    }
  });
}

struct ConvertLayoutLowering : OpConversionPattern<TileConvertLayoutOp> {
  using OpConversionPattern::OpConversionPattern;

  /// Into the shared tile's workgroup buffer (the pass gave the op its slot): from registers,
  /// each element by one holder; from memory, the block's threads stride over the held tile,
  /// past the runtime extent zeros. Barriers before (earlier readers) and after (the readers).
  LogicalResult toShared(TileConvertLayoutOp op, OpAdaptor adaptor,
                         ConversionPatternRewriter &rewriter) const {
    Location loc = op.getLoc();
    auto from = cast<RankedTensorType>(op.getX().getType());
    auto to = cast<RankedTensorType>(op.getType());
    auto func = op->getParentOfType<gpu::GPUFuncOp>();
    auto slot = op->getAttrOfType<IntegerAttr>(kSharedSlotAttr);
    if (!func || !slot)
      return failure(); // the pass gives every conversion into a shared tile a slot
    Value buffer = func.getWorkgroupAttributions()[slot.getInt()];
    auto held = cast<MemRefType>(buffer.getType());
    std::string why;
    gpu::BarrierOp::create(rewriter, loc);
    if (tileLayout(from)) {
      auto src = distribute(from, why, tileBound(op));
      storeHeld(rewriter, loc, *src, adaptor.getX(),
                [&](OpBuilder &b, Value x, ArrayRef<Value> at) {
                  memref::StoreOp::create(b, loc, x, buffer, at);
                });
    } else {
      auto [memref, origin, extents] = memorySource(rewriter, loc, op.getX());
      int64_t columns = held.getRank() == 2 ? held.getDimSize(1) : 1;
      Value tid = gpu::ThreadIdOp::create(rewriter, loc, gpu::Dimension::x);
      Value threads = gpu::BlockDimOp::create(rewriter, loc, gpu::Dimension::x);
      auto loop = scf::ForOp::create(rewriter, loc, tid, cIdx(rewriter, loc, held.getNumElements()),
                                     threads);
      OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
      Value i = loop.getInductionVar();
      SmallVector<Value> at = {i};
      if (held.getRank() == 2)
        at = {arith::DivUIOp::create(b, loc, i, cIdx(b, loc, columns)),
              arith::RemUIOp::create(b, loc, i, cIdx(b, loc, columns))};
      SmallVector<Value> address;
      for (auto [x, o] : llvm::zip(at, origin))
        address.push_back(arith::AddIOp::create(b, loc, x, o));
      Value zero = arith::ConstantOp::create(b, loc, to.getElementType(),
                                             b.getZeroAttr(to.getElementType()));
      Value x;
      if (Value inside = within(b, loc, to, at, extents)) {
        auto guard = scf::IfOp::create(b, loc, TypeRange{to.getElementType()}, inside, true);
        OpBuilder then = guard.getThenBodyBuilder();
        scf::YieldOp::create(then, loc,
                             ValueRange{memref::LoadOp::create(then, loc, memref, address)});
        OpBuilder otherwise = guard.getElseBodyBuilder();
        scf::YieldOp::create(otherwise, loc, ValueRange{zero});
        x = guard.getResult(0);
      } else {
        x = memref::LoadOp::create(b, loc, memref, address);
      }
      memref::StoreOp::create(b, loc, x, buffer, at);
    }
    gpu::BarrierOp::create(rewriter, loc);
    rewriter.replaceOp(op, buffer);
    return success();
  }

  LogicalResult matchAndRewrite(TileConvertLayoutOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto from = cast<RankedTensorType>(op.getX().getType());
    auto to = cast<RankedTensorType>(op.getType());
    Location loc = op.getLoc();
    std::string why;
    if (failed(checkTileConversionQuietly(op, why)))
      return failure(); // checkTileConversion reported it

    if (inShared(to))
      return toShared(op, adaptor, rewriter);

    // memory -> registers
    if (!tileLayout(from)) {
      auto dst = distribute(to, why, tileBound(op));
      // The runtime extents of the dynamic dimensions (the registers hold their bound).
      auto [memref, origin, extents] = memorySource(rewriter, loc, op.getX());
      Value lane, warp;
      std::tie(lane, warp) = laneAndWarp(rewriter, loc);
      SmallVector<Value> base = dst->base(rewriter, loc, lane, warp);
      Value zero = arith::ConstantOp::create(rewriter, loc, to.getElementType(),
                                             rewriter.getZeroAttr(to.getElementType()));
      Value tensor = op.getX();
      if (auto slice = tensor.getDefiningOp<tensor::ExtractSliceOp>())
        tensor = slice.getSource();
      int64_t alignment = statedRowAlignment(tensor.getDefiningOp());
      // Memory that is the tile's up to its bound (the workspace): read there, then zeros.
      bool padded = tensor == op.getX() && tensor.getDefiningOp() &&
                    tensor.getDefiningOp()->hasAttr(kPaddedToBoundAttr);
      Type element = to.getElementType();
      SmallVector<Value> elements;
      int64_t unitDim = unitDimension(memref, to, padded);
      Value lines = unitDim == 0 ? transposedLines(rewriter, loc, memref) : Value();
      // A vector access of n elements at `address` (swapped into the transposed view).
      Value source = memref; // named: the lambda below captures it (not a structured binding)
      auto loadVector = [&](int64_t n, ArrayRef<Value> address) -> Value {
        auto type = VectorType::get({n}, element);
        llvm::MaybeAlign align(n * element.getIntOrFloatBitWidth() / 8);
        if (lines)
          return vector::LoadOp::create(rewriter, loc, type, lines,
                                        ValueRange{address[1], address[0]},
                                        /*nontemporal=*/false, align);
        return vector::LoadOp::create(rewriter, loc, type, source, address,
                                      /*nontemporal=*/false, align);
      };
      for (auto [e, n] : accessPieces(*dst, unitDim, alignment)) {
        SmallVector<Value> at = elementAt(rewriter, loc, *dst, base, e);
        Value inside = within(rewriter, loc, to, at, extents);
        SmallVector<Value> address = elementAt(rewriter, loc, *dst, base, e, origin);
        if (inside && padded) {
          Value x = n == 1 ? memref::LoadOp::create(rewriter, loc, memref, address).getResult()
                           : loadVector(n, address);
          for (int64_t j = 0; j < n; ++j) {
            Value xj =
                n == 1
                    ? x
                    : vector::ExtractOp::create(rewriter, loc, x, ArrayRef<int64_t>{j}).getResult();
            Value in = j == 0 ? inside
                              : within(rewriter, loc, to,
                                       elementAt(rewriter, loc, *dst, base, e + j), extents);
            elements.push_back(arith::SelectOp::create(rewriter, loc, in, xj, zero));
          }
          continue;
        }
        if (inside) {
          // Past the runtime extent the load reads the tile's first row or column instead
          // (a tile read from memory has one) and its value is replaced by zeros, so that
          // products over the held bound add nothing: a select, not a branch per element.
          for (int64_t d = 0; d < to.getRank(); ++d)
            if (to.isDynamicDim(d)) {
              Value in = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult, at[d],
                                               extents[d]);
              address[d] =
                  arith::SelectOp::create(rewriter, loc, in, address[d],
                                          arith::SubIOp::create(rewriter, loc, address[d], at[d]));
            }
        }
        // n adjacent elements in one access (n > 1: a vector load at its alignment).
        Value x = n == 1 ? memref::LoadOp::create(rewriter, loc, memref, address).getResult()
                         : loadVector(n, address);
        if (inside) {
          Value none = zero;
          if (n > 1)
            none = arith::ConstantOp::create(rewriter, loc, VectorType::get({n}, element),
                                             SplatElementsAttr::get(VectorType::get({n}, element),
                                                                    rewriter.getZeroAttr(element)));
          x = arith::SelectOp::create(rewriter, loc, inside, x, none);
        }
        if (n == 1) {
          elements.push_back(x);
          continue;
        }
        for (int64_t j = 0; j < n; ++j)
          elements.push_back(vector::ExtractOp::create(rewriter, loc, x, ArrayRef<int64_t>{j}));
      }
      rewriter.replaceOp(op,
                         vector::FromElementsOp::create(rewriter, loc, dst->registers(), elements));
      return success();
    }

    auto src = distribute(from, why, tileBound(op));

    // registers -> memory
    if (!tileLayout(to)) {
      SmallVector<Operation *> users(op->getUsers().begin(), op->getUsers().end());
      for (Operation *user : users) {
        auto store = cast<bufferization::MaterializeInDestinationOp>(user);
        rewriter.setInsertionPoint(store);
        Value dest = store.getDest();
        // Memory that is the tile's up to its bound (the workspace): written whole, unguarded.
        bool padded = store->hasAttr(kPaddedToBoundAttr);
        SmallVector<Value> extents =
            padded ? SmallVector<Value>() : memrefExtents(rewriter, loc, dest);
        int64_t unitDim = unitDimension(dest, from, padded);
        storePieces(rewriter, loc, *src, adaptor.getX(), dest, from, extents,
                    accessPieces(*src, unitDim, statedRowAlignment(store)),
                    unitDim == 0 ? transposedLines(rewriter, loc, dest) : Value());
        rewriter.eraseOp(store);
      }
      rewriter.eraseOp(op);
      return success();
    }

    auto dst = distribute(to, why, tileBound(op));
    Value regs = adaptor.getX();

    // accumulator -> its own A fragment, in place
    if (exchangeElements(from, to, tileBound(op)) == 0) {
      SmallVector<Value> elements;
      for (int64_t e : inPlaceOperandA(*src))
        elements.push_back(vector::ExtractOp::create(rewriter, loc, regs, ArrayRef<int64_t>{e}));
      rewriter.replaceOp(op,
                         vector::FromElementsOp::create(rewriter, loc, dst->registers(), elements));
      return success();
    }

    // registers -> registers through shared memory
    Value buffer = exchangeBuffer(op);
    if (!buffer)
      return failure(); // the pass gives every function that needs one an exchange buffer
    int64_t columns = from.getRank() == 2 ? src->type.getDimSize(1) : 1;
    Value lane, warp;
    std::tie(lane, warp) = laneAndWarp(rewriter, loc);
    auto linear = [&](OpBuilder &b, ArrayRef<Value> at) -> Value {
      if (at.size() == 1)
        return at[0];
      return arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, at[0], cIdx(b, loc, columns)), at[1]);
    };
    Type f32 = rewriter.getF32Type();
    Type element = from.getElementType();
    gpu::BarrierOp::create(rewriter, loc);
    storeHeld(rewriter, loc, *src, regs, [&](OpBuilder &b, Value x, ArrayRef<Value> at) {
      if (element != f32)
        x = arith::ExtFOp::create(b, loc, f32, x);
      memref::StoreOp::create(b, loc, x, buffer, ValueRange{linear(b, at)});
    });
    gpu::BarrierOp::create(rewriter, loc);
    SmallVector<Value> dstBase = dst->base(rewriter, loc, lane, warp);
    SmallVector<Value> elements;
    for (int64_t e = 0; e < dst->count(); ++e) {
      Value x = memref::LoadOp::create(
          rewriter, loc, buffer,
          ValueRange{linear(rewriter, elementAt(rewriter, loc, *dst, dstBase, e))});
      if (element != f32)
        x = arith::TruncFOp::create(rewriter, loc, element, x);
      elements.push_back(x);
    }
    rewriter.replaceOp(op,
                       vector::FromElementsOp::create(rewriter, loc, dst->registers(), elements));
    return success();
  }
};

} // namespace

LogicalResult mlir::gdn::tiles::checkTileConversion(Operation *op) {
  std::string why;
  if (failed(checkTileConversionQuietly(cast<TileConvertLayoutOp>(op), why)))
    return op->emitOpError("gdn-tiles-to-gpu: ") << why;
  return success();
}

void mlir::gdn::tiles::populateTileConvertLayoutPatterns(TileTypeConverter &converter,
                                                         RewritePatternSet &patterns) {
  patterns.add<ConvertLayoutLowering>(converter, patterns.getContext());
}
