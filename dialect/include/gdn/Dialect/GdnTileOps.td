//===- GdnTileOps.td - chunk-level tile ops ----------------*- tablegen -*-===//
//
// The chunkwise form (docs/design.md §2) is written with these ops on f32 tiles of one chunk of
// one (sequence, value head): rows are tokens of the chunk (n <= C, the last chunk may be
// short), columns are key channels (K) or value channels (V). Each op is one step of the
// chunk algebra that a backend maps onto its own code: the CPU pipeline expands them into
// linalg and loops, the GPU backend onto tensor-core fragments.
//
//===----------------------------------------------------------------------===//

#ifndef GDN_DIALECT_GDNTILEOPS_TD
#define GDN_DIALECT_GDNTILEOPS_TD

include "gdn/Dialect/GdnBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// The layout rules of the tile ops (gdn/Dialect/GdnLayouts.h), checked before each op's own.
def Gdn_TileLayoutRules : NativeOpTrait<"TileLayoutRules"> {
  let cppNamespace = "::mlir::gdn";
}

class Gdn_TileOp<string mnemonic, list<Trait> traits = []>
    : Op<Gdn_Dialect, "tile." # mnemonic, !listconcat(traits, [Pure, Gdn_TileLayoutRules])> {
  let hasVerifier = 1;
}

def Gdn_TileCumsumOp : Gdn_TileOp<"cumsum", [AllTypesMatch<["g", "result"]>]> {
  let summary = "inclusive cumulative sum of log-gates down the rows of a chunk";
  let description = [{
    `G_i = g_1 + ... + g_i` for a chunk's gates: `[n]` for scalar gates, `[n, K]` for
    channel gates (one cumulative sum per channel). Decays are then formed only from
    differences of these local sums, so no exp of a large positive number appears. With
    `exclusive`, `G_i = g_1 + ... + g_(i-1)` (0 for the first row): the decay up to the row
    before i, which the generalized transition's rank-one terms read (docs/design.md §2.5).
  }];
  let arguments = (ins AnyRankedTensor:$g, UnitAttr:$exclusive);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$g attr-dict `:` type($g)";
  let builders = [OpBuilder<(ins "Value":$g, CArg<"bool", "false">:$exclusive), [{
    build($_builder, $_state, g.getType(), g, exclusive); }]>];
}

def Gdn_TileGatedGramOp : Gdn_TileOp<"gated_gram", [AttrSizedOperandSegments]> {
  let summary = "lower-triangular gated products of two row blocks";
  let description = [{
    `M[i, j] = sum_c a[i, c] * b[j, c] * exp(G[i, c] - G[j, c])` for `i > j` (and `i == j`
    with `diagonal`), zero above. The mask is applied before the exponential. Without `gates`
    the decay factor is 1; scalar gates (`[n]`) use one decay per row pair, channel gates
    (`[n, K]`) one per channel. `a`, `b`: `[n, K]`; result `[n, n]`. With `row_gates`
    (same shape as `gates`, which it needs) the rows take their cumulative gates from it:
    `exp(R[i, c] - G[j, c])`, as the generalized transition's `A_ab` does with the exclusive
    cumulative gates (docs/design.md §2.5).
  }];
  let arguments = (ins AnyRankedTensor:$a, AnyRankedTensor:$b, Optional<AnyRankedTensor>:$gates,
                       Optional<AnyRankedTensor>:$row_gates, UnitAttr:$diagonal);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $a `,` $b (`gates` $gates^ `:` type($gates))? (`row_gates` $row_gates^ `:` type($row_gates))?
    attr-dict `:` type($a) `,` type($b) `->` type($result)
  }];
}

def Gdn_TileUnitLowerInverseOp : Gdn_TileOp<"unit_lower_inverse", [AllTypesMatch<["a", "result"]>]> {
  let summary = "(I + A)^-1 for a strictly lower-triangular A (forward substitution)";
  let description = [{
    The UT transform of the delta rule: `A = strictly_lower(diag(beta) KKg)` and the result
    `Tm = (I + A)^-1` is unit lower triangular. Entries of `A` on and above the diagonal are
    ignored. `[n, n]` -> `[n, n]`.
  }];
  let arguments = (ins AnyRankedTensor:$a);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$a attr-dict `:` type($a)";
  let builders = [OpBuilder<(ins "Value":$a), [{ build($_builder, $_state, a.getType(), a); }]>];
}

def Gdn_TileRowScaleOp : Gdn_TileOp<"row_scale", [AllTypesMatch<["x", "result"]>]> {
  let summary = "scale each row by a per-row factor, and all rows by a constant";
  let description = [{
    `result[i, c] = factor * x[i, c] * r[i]` (`r` optional, `factor` defaults to 1).
    Used for `beta .* V`, `diag(beta) KKg` and the output scale.
  }];
  let arguments = (ins AnyRankedTensor:$x, Optional<AnyRankedTensor>:$r,
                       DefaultValuedAttr<F32Attr, "1.0f">:$factor);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$x (`by` $r^ `:` type($r))? attr-dict `:` type($x)";
  let builders = [OpBuilder<(ins "Value":$x, "Value":$r, "float":$factor), [{
    build($_builder, $_state, x.getType(), x, r, $_builder.getF32FloatAttr(factor)); }]>];
}

def Gdn_TileGateRowsOp : Gdn_TileOp<"gate_rows", [AllTypesMatch<["x", "result"]>]> {
  let summary = "apply cumulative decays to the rows of a [n, K] block";
  let description = [{
    `to_start` (default): `result[i, c] = x[i, c] * exp(G[i, c])`, the decay from the start of
    the chunk to token i (`exp(G) .* Q`, `exp(G) .* K`).
    `to_end`: `result[i, c] = x[i, c] * exp(G[n, c] - G[i, c])`, the decay from token i to
    the end of the chunk (`exp(G_n - G) .* K`). Scalar gates (`[n]`) broadcast over c.
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$gates, UnitAttr:$to_end);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$x `,` $gates attr-dict `:` type($x) `,` type($gates)";
  let builders = [OpBuilder<(ins "Value":$x, "Value":$gates, "bool":$toEnd), [{
    build($_builder, $_state, x.getType(), x, gates, toEnd); }]>];
}

def Gdn_TileDecayStateOp : Gdn_TileOp<"decay_state", [AllTypesMatch<["state", "result"]>]> {
  let summary = "decay the state across a whole chunk: exp(G_n) .* S";
  let description = [{
    `result[c, v] = S[c, v] * exp(G[n, c])` with `G` the chunk's cumulative gates (`[n]` or
    `[n, K]`; scalar gates broadcast). `S`: `[K, V]`.
  }];
  let arguments = (ins AnyRankedTensor:$state, AnyRankedTensor:$gates);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$state `,` $gates attr-dict `:` type($state) `,` type($gates)";
  let builders = [OpBuilder<(ins "Value":$state, "Value":$gates), [{
    build($_builder, $_state, state.getType(), state, gates); }]>];
}

def Gdn_TileMatmulOp : Gdn_TileOp<"matmul"> {
  let summary = "a tile product, optionally with the left operand transposed";
  let description = [{
    `a b` (`a`: `[m, k]`) or, with `transpose_a`, `a^T b` (`a`: `[k, m]`); `b`: `[k, n]`.
    The operands are f32 tiles, or both rounded to bf16 or f16 (a tensor core's inputs, as a
    GPU lowering states them: `arith.truncf` before the product); the result is f32.
  }];
  let arguments = (ins AnyRankedTensor:$a, AnyRankedTensor:$b, UnitAttr:$transpose_a);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$a `,` $b attr-dict `:` type($a) `,` type($b) `->` type($result)";
}

def Gdn_TileL2NormRowsOp : Gdn_TileOp<"l2norm_rows", [AllTypesMatch<["x", "result"]>]> {
  let summary = "L2-normalise every row: x / sqrt(sum_c x^2 + 1e-6)";
  let arguments = (ins AnyRankedTensor:$x);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x)";
  let builders = [OpBuilder<(ins "Value":$x), [{ build($_builder, $_state, x.getType(), x); }]>];
}

def Gdn_TileConvertLayoutOp : Gdn_TileOp<"convert_layout"> {
  let summary = "move a tile value from one layout to another";
  let description = [{
    The same tile (shape and element type) with another layout (the encoding of its tensor
    type: `#gdn.mma`, `#gdn.dot_operand`, `#gdn.shared`, `#gdn.blocked`, `#gdn.slice`, or none:
    in global memory, outside the kernel's tiles). gdn-assign-layouts inserts one wherever a
    value's producer and a consumer want different layouts; lowering it is a copy through
    registers, shuffles or shared memory, which the layouts name.
  }];
  let arguments = (ins AnyRankedTensor:$x);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasFolder = 1;
}

#endif // GDN_DIALECT_GDNTILEOPS_TD
