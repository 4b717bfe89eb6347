// RWKV-7's diagonal-plus-low-rank transition (flash-linear-attention's
// chunk_dplr_delta_rule(q, k, v, a, b, gk)): per token and head
//   S <- diag(exp(gk_t)) S + b_t (a_t^T S) + k_t v_t^T,   o_t = scale * S^T q_t
// with a, b and gk inputs of their own (RWKV-7 passes a = -kk, b = kk * iclr). One op of the
// dialect; gdn-chunkwise derives its chunkwise form (docs/design.md §2.5). docs/new-variant.md
// walks through it.
func.func @rwkv7_dplr(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>,
                      %v: tensor<?x?x4x64xbf16>, %a: tensor<?x?x4x64xbf16>,
                      %b: tensor<?x?x4x64xbf16>, %gk: tensor<?x?x4x64xf32>,
                      %h0: tensor<?x4x64x64xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %o, %ht = gdn.transition <channel>
      q(%q : tensor<?x?x4x64xbf16>) k(%k : tensor<?x?x4x64xbf16>)
      v(%v : tensor<?x?x4x64xbf16>) a(%a : tensor<?x?x4x64xbf16>)
      b(%b : tensor<?x?x4x64xbf16>) g(%gk : tensor<?x?x4x64xf32>)
      initial_state(%h0 : tensor<?x4x64x64xf32>)
      -> tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
  return %o, %ht : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}
