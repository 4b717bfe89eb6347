// One decoding step of Gated DeltaNet for 64 sequences: the state is read once and written once.
func.func @gated_deltanet_decode(%q: tensor<64x1x16x128xbf16>, %k: tensor<64x1x16x128xbf16>,
                                 %v: tensor<64x1x32x128xbf16>, %g: tensor<64x1x32xf32>,
                                 %beta: tensor<64x1x32xf32>, %s0: tensor<64x32x128x128xf32>)
    -> (tensor<64x1x32x128xbf16>, tensor<64x32x128x128xf32>) {
  %o, %s1 = gdn.decode <scalar, delta>
      q(%q : tensor<64x1x16x128xbf16>) k(%k : tensor<64x1x16x128xbf16>)
      v(%v : tensor<64x1x32x128xbf16>) g(%g : tensor<64x1x32xf32>)
      beta(%beta : tensor<64x1x32xf32>) state(%s0 : tensor<64x32x128x128xf32>)
      {qk_l2norm}
      -> tensor<64x1x32x128xbf16>, tensor<64x32x128x128xf32>
  return %o, %s1 : tensor<64x1x32x128xbf16>, tensor<64x32x128x128xf32>
}
