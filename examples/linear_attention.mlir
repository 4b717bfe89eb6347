// Linear attention: no gate, additive update, no beta (beta = 1).
//   S <- S + k_t v_t^T,   o_t = scale * S^T q_t
func.func @linear_attention(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>,
                            %v: tensor<?x?x16x128xbf16>) -> tensor<?x?x16x128xbf16> {
  %o = gdn.recurrence <none, additive>
      q(%q : tensor<?x?x16x128xbf16>) k(%k : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x16x128xbf16>)
      -> tensor<?x?x16x128xbf16>
  return %o : tensor<?x?x16x128xbf16>
}
