//===- ChunkProgram.h - the split chunked form as gdn-chunk-kernels reads it -*- C++ -*-===//
//
// Internal to gdn-chunk-kernels (docs/design.md §3.8): one layer function in the
// layout-assigned split chunked form, read once for both of its kernels: its loops, the roles of
// its arguments, the results as they are built, the block's warps, and the workspace plan (per
// prep result its width per token, element type, region and orientation).
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_GPU_CHUNKPROGRAM_H
#define GDN_CODEGEN_GPU_CHUNKPROGRAM_H

#include "ChunkedFormFacts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <string>

namespace mlir::gdn::chunks {

inline constexpr const char *kPass = "gdn-chunk-kernels";

/// The split chunked form of one layer function, read once for both kernels.
struct ChunkProgram {
  func::FuncOp fn;
  LayerFacts facts;
  int64_t C = 0;
  scf::ForallOp prep;
  scf::ForOp step, headLoop, seqLoop;
  /// The loop over tiles of value columns around the step (gdn-tile-value-columns), if any,
  /// and the columns of a tile (V without one).
  scf::ForOp tiles;
  int64_t vTile = 0;
  /// The layer role of each function argument (gdn.operands), by argument number.
  DenseMap<unsigned, std::string> roles;
  /// Values holding a function result as it is built (the loops' iter args): result number.
  DenseMap<Value, unsigned> results;
  /// Per prep result: its elements per token (w: a chunk of it takes C w), its element type in
  /// the workspace (the layer's 16-bit type where every reader rounds it to that for a
  /// product, else f32) and its region's first byte as a multiple of N HV (T + C) bytes (f32
  /// regions first, so every region is aligned for its type); the bytes per token of all.
  SmallVector<int64_t> fieldWidth, fieldBase;
  SmallVector<Type> fieldType;
  /// Per prep result: whether a chunk's [C, X] tile is kept transposed (X lines of C), because
  /// the step reads it in fragments that run down its rows (a product's right operand over the
  /// chunk's rows, K'^T Vnew): their pairs are then adjacent in memory.
  SmallVector<bool> fieldTransposed;
  int64_t tokenBytes = 0;
  int64_t warps = 0;

  LogicalResult read(func::FuncOp f);

private:
  /// The type prep result `r` is kept in: the 16-bit type its every reader rounds it to (each
  /// slice of it converted into layouts only rounded by arith.truncf, as a product operand),
  /// where the prep computes it in registers; else f32.
  Type narrowType(Value r);
  /// Whether every reader of prep result `r` moves fewer pieces from memory holding each
  /// chunk's tile transposed than row-major.
  bool readDownRows(Value r);
};

} // namespace mlir::gdn::chunks

#endif // GDN_CODEGEN_GPU_CHUNKPROGRAM_H
