//===- GdnBase.td - the gdn dialect and its enums ----------*- tablegen -*-===//

#ifndef GDN_DIALECT_GDNBASE_TD
#define GDN_DIALECT_GDNBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Gdn_Dialect : Dialect {
  let name = "gdn";
  let cppNamespace = "::mlir::gdn";
  let summary = "Gated linear-recurrence layers (Gated DeltaNet, DeltaNet, Mamba2, GLA, ...)";
  let description = [{
    The `gdn` dialect expresses a gated linear-recurrence layer as one op. Per sequence and
    value head the layer carries a K x V float32 state `S`; for each token t:

    ```
    decay:   S <- D_t S    D_t = 1 (gate none) | exp(g_t) (gate scalar) | diag(exp(g_t)) (gate channel)
    update:  additive: S <- S + k_t (beta_t v_t)^T
             delta:    S <- S + k_t (beta_t (v_t - S^T k_t))^T     (uses the decayed S)
    output:  o_t = scale * S^T q_t                                 (state after token t)
    ```

    `g` is a log-space gate (g <= 0); `beta` is in [0, 1] ([0, 2] with `allow_neg_eigval`);
    an absent `beta` means 1. Tensors use flash-linear-attention's layout: q, k `[B, T, H, K]`,
    v, o `[B, T, HV, V]`, g `[B, T, HV]` (scalar) or `[B, T, HV, K]` (channel),
    beta `[B, T, HV]`, states `[N, HV, K, V]` f32. Value head j reads query/key head
    j / (HV / H) (grouped value attention, GVA). A variable-length batch packs N sequences
    into B = 1 and names their boundaries with `cu_seqlens` (N + 1 offsets).
  }];
  let useDefaultAttributePrinterParser = 1;
}

def Gdn_GateKind : I32EnumAttr<"GateKind", "decay applied to the state before each token", [
    I32EnumAttrCase<"None", 0, "none">,
    I32EnumAttrCase<"Scalar", 1, "scalar">,
    I32EnumAttrCase<"Channel", 2, "channel">]> {
  let cppNamespace = "::mlir::gdn";
  let genSpecializedAttr = 0;
}

def Gdn_UpdateRule : I32EnumAttr<"UpdateRule", "how a token writes into the state", [
    I32EnumAttrCase<"Additive", 0, "additive">,
    I32EnumAttrCase<"Delta", 1, "delta">]> {
  let cppNamespace = "::mlir::gdn";
  let genSpecializedAttr = 0;
}

def Gdn_GateKindAttr : EnumAttr<Gdn_Dialect, Gdn_GateKind, "gate"> {
  let assemblyFormat = "$value";
}

def Gdn_UpdateRuleAttr : EnumAttr<Gdn_Dialect, Gdn_UpdateRule, "rule"> {
  let assemblyFormat = "$value";
}

include "gdn/Dialect/GdnLayouts.td"

#endif // GDN_DIALECT_GDNBASE_TD
