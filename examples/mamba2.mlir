// Mamba2 / SSD style: one scalar log-decay per token and head, additive update.
//   S <- exp(g_t) S + k_t (beta_t v_t)^T
// k plays B, q plays C and beta carries dt; the state starts from a carried-in value.
func.func @mamba2(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x8x128xbf16>,
                  %v: tensor<?x?x32x64xbf16>, %g: tensor<?x?x32xf32>,
                  %dt: tensor<?x?x32xf32>, %h0: tensor<?x32x128x64xf32>)
    -> (tensor<?x?x32x64xbf16>, tensor<?x32x128x64xf32>) {
  %o, %hT = gdn.recurrence <scalar, additive>
      q(%q : tensor<?x?x8x128xbf16>) k(%k : tensor<?x?x8x128xbf16>)
      v(%v : tensor<?x?x32x64xbf16>) g(%g : tensor<?x?x32xf32>)
      beta(%dt : tensor<?x?x32xf32>) initial_state(%h0 : tensor<?x32x128x64xf32>)
      {scale = 1.0 : f32}
      -> tensor<?x?x32x64xbf16>, tensor<?x32x128x64xf32>
  return %o, %hT : tensor<?x?x32x64xbf16>, tensor<?x32x128x64xf32>
}
