// GLA style: a log-decay per key channel (gate channel), additive update.
//   S <- diag(exp(g_t)) S + k_t v_t^T
func.func @gla(%q: tensor<?x?x16x128xf16>, %k: tensor<?x?x16x128xf16>,
               %v: tensor<?x?x16x128xf16>, %g: tensor<?x?x16x128xf32>)
    -> (tensor<?x?x16x128xf16>, tensor<?x16x128x128xf32>) {
  %o, %hT = gdn.recurrence <channel, additive>
      q(%q : tensor<?x?x16x128xf16>) k(%k : tensor<?x?x16x128xf16>)
      v(%v : tensor<?x?x16x128xf16>) g(%g : tensor<?x?x16x128xf32>)
      -> tensor<?x?x16x128xf16>, tensor<?x16x128x128xf32>
  return %o, %hT : tensor<?x?x16x128xf16>, tensor<?x16x128x128xf32>
}
