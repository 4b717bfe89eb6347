//===- GdnOps.td - layer ops of the gdn dialect ------------*- tablegen -*-===//

#ifndef GDN_DIALECT_GDNOPS_TD
#define GDN_DIALECT_GDNOPS_TD

include "gdn/Dialect/GdnBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "gdn/Dialect/GdnTileOps.td"

// Operand and result checks live in C++ (GdnOps.cpp) so that every message names the
// layer concept (H, HV, K, V, the gate kind, ...) rather than a generic type constraint.
class Gdn_LayerOp<string mnemonic, list<Trait> traits = []>
    : Op<Gdn_Dialect, mnemonic, !listconcat(traits, [Pure, AttrSizedOperandSegments])> {
  code commonDescription = [{
    Operands: `q`, `k` (`[B, T, H, K]`), `v` (`[B, T, HV, V]`), all bf16, f16 or f32 and of one
    element type; `g` for gate `scalar` (`[B, T, HV]`) and `channel` (`[B, T, HV, K]`); `beta`
    (`[B, T, HV]`, required by the delta rule); `cu_seqlens` (`[N + 1]`, i32 or i64) for a
    packed variable-length batch with B = 1. `g` and `beta` are f32 or the input element type.
    H, HV, K and V are static; B and T may be dynamic. K and V are 64, 128 or 256; HV is a
    multiple of H.

    Attributes: `scale` (f32, default 1/sqrt(K)), `qk_l2norm` (L2-normalise q and k per token
    and head inside the kernel), `allow_neg_eigval` (delta rule only: beta in [0, 2]).
  }];
}

def Gdn_RecurrenceOp : Gdn_LayerOp<"recurrence"> {
  let summary = "a whole gated linear-recurrence layer over one or more sequences";
  let description = [{
    Runs the recurrence over every token of every sequence and returns the outputs `o`
    (`[B, T, HV, V]`, the input element type) and, when a second result is present, the final
    state of each sequence (`[N, HV, K, V]`, f32). The state starts at `initial_state` when
    given, else at zero. `chunk_size` (16, 32, 64 or 128) pins the chunk size of the chunkwise
    lowering; without it the compiler chooses.

  }] # commonDescription # [{

    Example (Gated DeltaNet with GVA, a carried-in state and the final state out):

    ```mlir
    %o, %s = gdn.recurrence <scalar, delta>
        q(%q : tensor<?x?x16x128xbf16>) k(%k : tensor<?x?x16x128xbf16>)
        v(%v : tensor<?x?x32x128xbf16>) g(%g : tensor<?x?x32xf32>)
        beta(%beta : tensor<?x?x32xf32>) initial_state(%h0 : tensor<?x32x128x128xf32>)
        {qk_l2norm} -> tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
    ```
  }];

  let arguments = (ins
    Gdn_GateKindAttr:$gate,
    Gdn_UpdateRuleAttr:$rule,
    AnyRankedTensor:$q,
    AnyRankedTensor:$k,
    AnyRankedTensor:$v,
    Optional<AnyRankedTensor>:$g,
    Optional<AnyRankedTensor>:$beta,
    Optional<AnyRankedTensor>:$initial_state,
    Optional<AnyRankedTensor>:$cu_seqlens,
    OptionalAttr<F32Attr>:$scale,
    UnitAttr:$qk_l2norm,
    UnitAttr:$allow_neg_eigval,
    OptionalAttr<I64Attr>:$chunk_size
  );
  let results = (outs AnyRankedTensor:$o, Optional<AnyRankedTensor>:$final_state);

  let assemblyFormat = [{
    custom<Variant>($gate, $rule)
    `q` `(` $q `:` type($q) `)`
    `k` `(` $k `:` type($k) `)`
    `v` `(` $v `:` type($v) `)`
    (`g` `(` $g^ `:` type($g) `)`)?
    (`beta` `(` $beta^ `:` type($beta) `)`)?
    (`initial_state` `(` $initial_state^ `:` type($initial_state) `)`)?
    (`cu_seqlens` `(` $cu_seqlens^ `:` type($cu_seqlens) `)`)?
    attr-dict `->` type($o) (`,` type($final_state)^)?
  }];

  let builders = [
    // Infers the result types from the operands: o is [B, T, HV, V] of v's element type and
    // the final state (when `withFinalState`) is [N, HV, K, V] f32.
    OpBuilder<(ins "GateKind":$gate, "UpdateRule":$rule, "Value":$q, "Value":$k, "Value":$v,
                   "Value":$g, "Value":$beta, "Value":$initialState, "Value":$cuSeqlens,
                   "bool":$withFinalState, CArg<"std::optional<float>", "std::nullopt">:$scale,
                   CArg<"bool", "false">:$qkL2norm, CArg<"bool", "false">:$allowNegEigval)>
  ];

  let extraClassDeclaration = [{
    /// The output scale: the `scale` attribute, else 1/sqrt(K).
    float getScaleOrDefault();
    /// True for a packed variable-length batch.
    bool isVarlen() { return static_cast<bool>(getCuSeqlens()); }
  }];

  let hasVerifier = 1;
}

def Gdn_DecodeOp : Gdn_LayerOp<"decode"> {
  let summary = "one decoding step (one token, or a few) per sequence with a carried state";
  let description = [{
    The decode form of a layer: each sequence brings its state `state` (`[N, HV, K, V]`, f32)
    and a few new tokens (T <= 64, static, when the batch is not packed), and the op returns
    the outputs `o` and the updated state. Semantics are those of `gdn.recurrence` with an
    initial state and the final state out; lowerings read the state once and write it once.

  }] # commonDescription # [{

    Example (Gated DeltaNet, one token for each of 64 sequences):

    ```mlir
    %o, %s1 = gdn.decode <scalar, delta>
        q(%q : tensor<64x1x16x128xbf16>) k(%k : tensor<64x1x16x128xbf16>)
        v(%v : tensor<64x1x32x128xbf16>) g(%g : tensor<64x1x32xf32>)
        beta(%beta : tensor<64x1x32xf32>) state(%s0 : tensor<64x32x128x128xf32>)
        -> tensor<64x1x32x128xbf16>, tensor<64x32x128x128xf32>
    ```
  }];

  let arguments = (ins
    Gdn_GateKindAttr:$gate,
    Gdn_UpdateRuleAttr:$rule,
    AnyRankedTensor:$q,
    AnyRankedTensor:$k,
    AnyRankedTensor:$v,
    Optional<AnyRankedTensor>:$g,
    Optional<AnyRankedTensor>:$beta,
    AnyRankedTensor:$state,
    Optional<AnyRankedTensor>:$cu_seqlens,
    OptionalAttr<F32Attr>:$scale,
    UnitAttr:$qk_l2norm,
    UnitAttr:$allow_neg_eigval
  );
  let results = (outs AnyRankedTensor:$o, AnyRankedTensor:$new_state);

  let assemblyFormat = [{
    custom<Variant>($gate, $rule)
    `q` `(` $q `:` type($q) `)`
    `k` `(` $k `:` type($k) `)`
    `v` `(` $v `:` type($v) `)`
    (`g` `(` $g^ `:` type($g) `)`)?
    (`beta` `(` $beta^ `:` type($beta) `)`)?
    `state` `(` $state `:` type($state) `)`
    (`cu_seqlens` `(` $cu_seqlens^ `:` type($cu_seqlens) `)`)?
    attr-dict `->` type($o) `,` type($new_state)
  }];

  let builders = [
    OpBuilder<(ins "GateKind":$gate, "UpdateRule":$rule, "Value":$q, "Value":$k, "Value":$v,
                   "Value":$g, "Value":$beta, "Value":$state, "Value":$cuSeqlens,
                   CArg<"std::optional<float>", "std::nullopt">:$scale,
                   CArg<"bool", "false">:$qkL2norm, CArg<"bool", "false">:$allowNegEigval)>
  ];

  let extraClassDeclaration = [{
    float getScaleOrDefault();
    bool isVarlen() { return static_cast<bool>(getCuSeqlens()); }
    /// The most tokens per sequence a non-packed decode step takes.
    static constexpr int64_t kMaxTokens = 64;
  }];

  let hasVerifier = 1;
}

def Gdn_TransitionOp : Gdn_LayerOp<"transition"> {
  let summary = "a layer with the generalized transition: decay, rank-one terms, several steps";
  let description = [{
    The generalized transition of docs/design.md §1.1, which the six families of
    `gdn.recurrence` are special cases of and new variants are written in. Per sequence and
    value head, each token t has `steps` = n sub-steps s = 1..n, each

    ```
    S <- D_{t,s} S + b_{t,s} (a_{t,s}^T S) + k_{t,s} (beta_{t,s} v_{t,s})^T
    D_{t,1} = 1 | exp(g_t) | diag(exp(g_t)) (gate none | scalar | channel), D_{t,s>1} = I
    o_t = scale * S^T q_t after the last sub-step
    ```

    The rank-one term reads the state before the sub-step's decay. Its vectors are the
    operands `a` and `b`, or, with `delta_rule`, the delta rule's on the written key
    (`a = -beta exp(g) k`, `b = k`: each sub-step is a Householder step of Gated DeltaProduct);
    without either, there is none (the additive rule). `beta` (absent: 1) scales what is
    written.

    Operands: `q` `[B, T, H, K]`; `k` `[B, T * n, H, K]`; `v` `[B, T * n, HV, V]`; `a`, `b`
    `[B, T * n, HV, K]` (both or neither); `beta` `[B, T * n, HV]`; `g` `[B, T, HV]` (gate
    scalar) or `[B, T, HV, K]` (channel); `initial_state` `[N, HV, K, V]` f32; `cu_seqlens`
    (tokens, not sub-steps). Rows of the sub-step operands are `t * n + s - 1`. Attributes as
    `gdn.recurrence` (`scale`, `qk_l2norm`: q and k, not a and b; `allow_neg_eigval` with
    `delta_rule`; `chunk_size`, a multiple of `steps`), plus `steps` (1 to 64, default 1) and
    `delta_rule`. `gdn-generalize` writes a `gdn.recurrence` in this form.

    Example (RWKV-7's diagonal-plus-low-rank rule, flash-linear-attention's
    `chunk_dplr_delta_rule(q, k, v, a, b, gk)`):

    ```mlir
    %o, %s = gdn.transition <channel>
        q(%q : tensor<?x?x16x64xbf16>) k(%k : tensor<?x?x16x64xbf16>)
        v(%v : tensor<?x?x16x64xbf16>) a(%a : tensor<?x?x16x64xbf16>)
        b(%b : tensor<?x?x16x64xbf16>) g(%gk : tensor<?x?x16x64xf32>)
        initial_state(%h0 : tensor<?x16x64x64xf32>) {scale = 1.0 : f32}
        -> tensor<?x?x16x64xbf16>, tensor<?x16x64x64xf32>
    ```
  }];

  let arguments = (ins
    Gdn_GateKindAttr:$gate,
    AnyRankedTensor:$q,
    AnyRankedTensor:$k,
    AnyRankedTensor:$v,
    Optional<AnyRankedTensor>:$a,
    Optional<AnyRankedTensor>:$b,
    Optional<AnyRankedTensor>:$g,
    Optional<AnyRankedTensor>:$beta,
    Optional<AnyRankedTensor>:$initial_state,
    Optional<AnyRankedTensor>:$cu_seqlens,
    DefaultValuedAttr<I64Attr, "1">:$steps,
    UnitAttr:$delta_rule,
    OptionalAttr<F32Attr>:$scale,
    UnitAttr:$qk_l2norm,
    UnitAttr:$allow_neg_eigval,
    OptionalAttr<I64Attr>:$chunk_size
  );
  let results = (outs AnyRankedTensor:$o, Optional<AnyRankedTensor>:$final_state);

  let assemblyFormat = [{
    custom<Gate>($gate)
    `q` `(` $q `:` type($q) `)`
    `k` `(` $k `:` type($k) `)`
    `v` `(` $v `:` type($v) `)`
    (`a` `(` $a^ `:` type($a) `)`)?
    (`b` `(` $b^ `:` type($b) `)`)?
    (`g` `(` $g^ `:` type($g) `)`)?
    (`beta` `(` $beta^ `:` type($beta) `)`)?
    (`initial_state` `(` $initial_state^ `:` type($initial_state) `)`)?
    (`cu_seqlens` `(` $cu_seqlens^ `:` type($cu_seqlens) `)`)?
    attr-dict `->` type($o) (`,` type($final_state)^)?
  }];

  let extraClassDeclaration = [{
    float getScaleOrDefault();
    bool isVarlen() { return static_cast<bool>(getCuSeqlens()); }
    /// The most sub-steps per token.
    static constexpr int64_t kMaxSteps = 64;
  }];

  let hasVerifier = 1;
}

#endif // GDN_DIALECT_GDNOPS_TD
