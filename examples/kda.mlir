// KDA style (Kimi Delta Attention): a log-decay per key channel and the delta rule,
// with beta allowed in [0, 2] (negative eigenvalues of the transition).
//   S <- diag(exp(g_t)) S;  S <- S + k_t (beta_t (v_t - S^T k_t))^T
func.func @kda(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>,
               %v: tensor<?x?x16x128xbf16>, %g: tensor<?x?x16x128xf32>,
               %beta: tensor<?x?x16xf32>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x128x128xf32>) {
  %o, %hT = gdn.recurrence <channel, delta>
      q(%q : tensor<?x?x16x128xbf16>) k(%k : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x16x128xbf16>) g(%g : tensor<?x?x16x128xf32>)
      beta(%beta : tensor<?x?x16xf32>)
      {qk_l2norm, allow_neg_eigval}
      -> tensor<?x?x16x128xbf16>, tensor<?x16x128x128xf32>
  return %o, %hT : tensor<?x?x16x128xbf16>, tensor<?x16x128x128xf32>
}
