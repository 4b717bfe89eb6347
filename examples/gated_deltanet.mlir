// Gated DeltaNet: scalar log-decay and the delta rule, GVA (16 query/key heads, 32 value
// heads), a carried-in state and the final state out. The layer of Qwen3-Next.
//   S <- exp(g_t) S;  S <- S + k_t (beta_t (v_t - S^T k_t))^T
func.func @gated_deltanet(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>,
                          %v: tensor<?x?x32x128xbf16>, %g: tensor<?x?x32xf32>,
                          %beta: tensor<?x?x32xf32>, %h0: tensor<?x32x128x128xf32>)
    -> (tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta>
      q(%q : tensor<?x?x16x128xbf16>) k(%k : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x32x128xbf16>) g(%g : tensor<?x?x32xf32>)
      beta(%beta : tensor<?x?x32xf32>) initial_state(%h0 : tensor<?x32x128x128xf32>)
      {qk_l2norm}
      -> tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
  return %o, %hT : tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
}
