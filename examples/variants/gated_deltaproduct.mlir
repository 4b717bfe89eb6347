// Gated DeltaProduct with 2 Householder steps per token (flash-linear-attention's
// chunk_gated_delta_product(q, k, v, g, beta, num_householder=2)): per token the gate once,
// then for each step s = 1, 2 the delta rule with the step's own key, value and beta:
//   S <- exp(g_t) S;  S <- S + k_s (beta_s (v_s - S^T k_s))^T;  o_t = scale * S^T q_t
// k, v and beta have T * 2 rows (row 2t + s - 1 is step s of token t), q and g have T.
// docs/new-variant.md walks through it.
func.func @gated_deltaproduct(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>,
                              %v: tensor<?x?x8x64xbf16>, %g: tensor<?x?x8xf32>,
                              %beta: tensor<?x?x8xf32>, %h0: tensor<?x8x64x64xf32>)
    -> (tensor<?x?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  %o, %ht = gdn.transition <scalar>
      q(%q : tensor<?x?x4x64xbf16>) k(%k : tensor<?x?x4x64xbf16>)
      v(%v : tensor<?x?x8x64xbf16>) g(%g : tensor<?x?x8xf32>) beta(%beta : tensor<?x?x8xf32>)
      initial_state(%h0 : tensor<?x8x64x64xf32>) {delta_rule, steps = 2, qk_l2norm}
      -> tensor<?x?x8x64xbf16>, tensor<?x8x64x64xf32>
  return %o, %ht : tensor<?x?x8x64xbf16>, tensor<?x8x64x64xf32>
}
