// DeltaNet: no gate, delta rule, q/k L2-normalised inside the kernel.
//   S <- S + k_t (beta_t (v_t - S^T k_t))^T
func.func @deltanet(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>,
                    %v: tensor<?x?x16x128xbf16>, %beta: tensor<?x?x16xbf16>)
    -> (tensor<?x?x16x128xbf16>, tensor<?x16x128x128xf32>) {
  %o, %hT = gdn.recurrence <none, delta>
      q(%q : tensor<?x?x16x128xbf16>) k(%k : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x16x128xbf16>) beta(%beta : tensor<?x?x16xbf16>)
      {qk_l2norm}
      -> tensor<?x?x16x128xbf16>, tensor<?x16x128x128xf32>
  return %o, %hT : tensor<?x?x16x128xbf16>, tensor<?x16x128x128xf32>
}
