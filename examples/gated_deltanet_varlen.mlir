// Gated DeltaNet over a packed variable-length batch: N sequences of different lengths
// concatenated along T (B = 1), their boundaries in cu_seqlens (N + 1 offsets).
func.func @gated_deltanet_varlen(%q: tensor<1x?x16x128xbf16>, %k: tensor<1x?x16x128xbf16>,
                                 %v: tensor<1x?x32x128xbf16>, %g: tensor<1x?x32xf32>,
                                 %beta: tensor<1x?x32xf32>, %h0: tensor<?x32x128x128xf32>,
                                 %cu: tensor<?xi32>)
    -> (tensor<1x?x32x128xbf16>, tensor<?x32x128x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta>
      q(%q : tensor<1x?x16x128xbf16>) k(%k : tensor<1x?x16x128xbf16>)
      v(%v : tensor<1x?x32x128xbf16>) g(%g : tensor<1x?x32xf32>)
      beta(%beta : tensor<1x?x32xf32>) initial_state(%h0 : tensor<?x32x128x128xf32>)
      cu_seqlens(%cu : tensor<?xi32>)
      -> tensor<1x?x32x128xbf16>, tensor<?x32x128x128xf32>
  return %o, %hT : tensor<1x?x32x128xbf16>, tensor<?x32x128x128xf32>
}
