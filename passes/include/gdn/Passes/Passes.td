//===- Passes.td - gdn passes ------------------------------*- tablegen -*-===//
#ifndef GDN_PASSES_PASSES_TD
#define GDN_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def GdnChunkwise : Pass<"gdn-chunkwise", "ModuleOp"> {
  let summary = "Rewrite layer ops into the chunkwise tiled form (UT transform / WY)";
  let description = [{
    Replaces every `gdn.recurrence` with loops over sequences and value heads, and a
    sequential loop over chunks of C tokens that carries the K x V state. Inside a chunk the
    work is written with `gdn.tile.*` ops on f32 tiles: local cumulative gates, the gated
    K K^T and Q K^T products, the unit-lower-triangular solve (delta rule only), W, U, the
    new values, the output and the next state (DESIGN.md §2). The last chunk of a sequence
    may be short. `gdn.decode` becomes the same loop with one token per step.

    A layer's own `chunk_size` attribute wins over the `chunk-size` option.
  }];
  let options = [
    Option<"chunkSize", "chunk-size", "int64_t", /*default=*/"64",
           "Tokens per chunk: 16, 32, 64 or 128">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::mlir::linalg::LinalgDialect"
  ];
}

def GdnTilesToLinalg : Pass<"gdn-tiles-to-linalg"> {
  let summary = "Expand gdn.tile ops into linalg.generic and scf loops on tensors";
  let description = [{
    The CPU expansion of the chunk algebra: products and gated products become
    `linalg.generic` reductions, gates `math.exp` inside them, the triangular solve a
    forward substitution in `scf.for` loops. The result bufferizes with One-Shot Bufferize.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::linalg::LinalgDialect"
  ];
}

#endif // GDN_PASSES_PASSES_TD
