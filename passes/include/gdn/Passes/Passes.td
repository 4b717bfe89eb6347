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
    new values, the output and the next state (docs/design.md §2). The last chunk of a sequence
    may be short. `gdn.decode` becomes the same loop with one token per step. `gdn.transition`
    becomes its generalized WY form (docs/design.md §2.5) over chunks of sub-step rows that
    hold whole tokens (the chunk size rounded down to a multiple of `steps`).

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

def GdnGeneralize : Pass<"gdn-generalize"> {
  let summary = "Write each gdn.recurrence as a gdn.transition (the generalized transition)";
  let description = [{
    The six families are special cases of the generalized transition (docs/design.md §1.1):
    `<gate, delta>` becomes `gdn.transition <gate>` with `delta_rule` (one step per token),
    `<gate, additive>` a transition without a rank-one term (`beta`, when given, scales the
    written value as before). Every operand, `scale`, `qk_l2norm`, `allow_neg_eigval` and
    `chunk_size` carries over, and so do the results. `gdn.decode` stays as it is. The
    transition runs on the CPU path only (its GPU kernels do not exist yet): this pass is for
    reading a family in the general form and checking that the general path computes it.
  }];
}

def GdnSplitChunkLoop : Pass<"gdn-split-chunk-loop"> {
  let summary = "Split each chunk loop into a chunk-parallel prep and the sequential state step";
  let description = [{
    Loop fission of `gdn-chunkwise`'s chunk loop (marked `gdn.chunk_loop = C`) by dependence
    on its loop-carried values, the output and the K x V state. Every op that depends on
    neither moves into an `scf.forall` over chunks (`gdn.chunk_prep`): the cumulative gates,
    norms, gated products, the triangular solve and the products among them. Ops that depend
    on the carried values stay in the sequential loop (`gdn.chunk_step`). Each prep tensor the
    step uses crosses through a workspace tensor `[chunks, ...]` whose row extent is C (a
    chunk's tiles have at most C rows). Reads of an input's chunk tile, their element-type
    conversions and index arithmetic are repeated in both loops instead of crossing.

    This is the split the GPU kernels are built from (the prep kernel and the state pass);
    on the CPU it is the same arithmetic in another order. Decode loops (C = 1) stay whole
    and keep their mark.

    With `recompute`, the step also recomputes a prep value it needs where that makes fewer
    elements cross per chunk: products, row factors, gates, norms and element-wise arithmetic
    are recomputed from inputs and from what crosses anyway (the solve's result, the grams, the
    cumulative gates), so that for the delta rule only G, (I + A)^-1 and the gated Q K^T cross
    instead of W, U, Q' and K' (the generated kernels' workspace traffic; docs/design.md §3.8).
    The step is then marked `gdn.recompute`.
  }];
  let options = [
    Option<"recompute", "recompute", "bool", /*default=*/"false",
           "Recompute in the step what costs fewer crossing elements to recompute than to read "
           "through a workspace">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

def GdnTileValueColumns : Pass<"gdn-tile-value-columns"> {
  let summary = "Run the chunk step over tiles of the value columns (one block per tile on the GPU)";
  let description = [{
    Over the split chunked form: the chunk step of a (sequence, value head) and what follows it
    in the value-head loop (the final state written) move into an `scf.for` over V / v-tile
    tiles (`gdn.value_tiles = v-tile`), whose body is the step on v-tile columns: the state
    entering it, the prep results it reads and the slices of o and final_state it writes are
    taken at the tile's columns. The columns are independent there (products with the state
    contract over K), so this is the same arithmetic in another order; on the GPU each tile is a
    block (grid z), which multiplies the blocks of a launch with few (sequence, head) streams.
    Which dimension of a value holds value columns is found by provenance from v, the states
    and o (K = V is common); an op that would mix columns is an error at that op. A layer with
    V <= v-tile is left as it is; a v-tile that does not divide V is an error.
  }];
  let options = [
    Option<"vTile", "v-tile", "int64_t", /*default=*/"64",
           "Value columns per tile (0: no tiling)">
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
