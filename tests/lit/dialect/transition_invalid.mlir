// RUN: gdn-opt %s -split-input-file -verify-diagnostics

// Every message of gdn.transition's verifier beyond what it shares with gdn.recurrence
// (tests/lit/dialect/invalid.mlir), one case each.

func.func @steps_zero(%q: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{'steps' must be between 1 and 64, got 0}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%q : tensor<1x4x2x64xf32>) v(%q : tensor<1x4x2x64xf32>) {steps = 0} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @steps_huge(%q: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{'steps' must be between 1 and 64, got 4611686018427387904}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%q : tensor<1x4x2x64xf32>) v(%q : tensor<1x4x2x64xf32>) {steps = 4611686018427387904} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @k_rows(%q: tensor<1x4x2x64xf32>, %k: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{'k' shape [1, 4, 2, 64] does not match 'q' shape [1, 4, 2, 64] with T * steps rows [1, 8, 2, 64]}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%k : tensor<1x4x2x64xf32>) v(%k : tensor<1x4x2x64xf32>) {steps = 2} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @v_rows(%q: tensor<1x4x2x64xf32>, %k: tensor<1x8x2x64xf32>, %v: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{'v' batch and sequence dims [1, 4] do not match those of 'q' [1, 4] (v has T * steps rows)}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%k : tensor<1x8x2x64xf32>) v(%v : tensor<1x4x2x64xf32>) {steps = 2} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @a_without_b(%q: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{'a' and 'b' (the rank-one term's read and write vectors) come together, got only 'a'}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%q : tensor<1x4x2x64xf32>) v(%q : tensor<1x4x2x64xf32>) a(%q : tensor<1x4x2x64xf32>) -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @delta_and_ab(%q: tensor<1x4x2x64xf32>, %beta: tensor<1x4x2xf32>) {
  // expected-error @+1 {{'delta_rule' derives 'a' and 'b' from 'k' and 'beta'; give either 'delta_rule' or 'a' and 'b'}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%q : tensor<1x4x2x64xf32>) v(%q : tensor<1x4x2x64xf32>) a(%q : tensor<1x4x2x64xf32>) b(%q : tensor<1x4x2x64xf32>) beta(%beta : tensor<1x4x2xf32>) {delta_rule} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @delta_without_beta(%q: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{'delta_rule' requires a 'beta' operand}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%q : tensor<1x4x2x64xf32>) v(%q : tensor<1x4x2x64xf32>) {delta_rule} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @a_type(%q: tensor<1x4x2x64xbf16>, %a: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{'a' must have the input element type 'bf16', got 'f32'}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xbf16>) k(%q : tensor<1x4x2x64xbf16>) v(%q : tensor<1x4x2x64xbf16>) a(%a : tensor<1x4x2x64xf32>) b(%a : tensor<1x4x2x64xf32>) -> tensor<1x4x2x64xbf16>
  return
}

// -----

func.func @b_shape(%q: tensor<1x4x1x64xf32>, %k: tensor<1x8x1x64xf32>, %v: tensor<1x8x2x64xf32>, %b: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{'a' must have shape [B, T * steps, HV, K] = [1, 8, 2, 64], got [1, 4, 2, 64]}}
  %o = gdn.transition <none> q(%q : tensor<1x4x1x64xf32>) k(%k : tensor<1x8x1x64xf32>) v(%v : tensor<1x8x2x64xf32>) a(%b : tensor<1x4x2x64xf32>) b(%b : tensor<1x4x2x64xf32>) {steps = 2} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @beta_rows(%q: tensor<1x4x2x64xf32>, %k: tensor<1x8x2x64xf32>, %beta: tensor<1x4x2xf32>) {
  // expected-error @+1 {{'beta' must have shape [B, T * steps, HV] = [1, 8, 2], got [1, 4, 2]}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%k : tensor<1x8x2x64xf32>) v(%k : tensor<1x8x2x64xf32>) beta(%beta : tensor<1x4x2xf32>) {steps = 2} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @gate_rows(%q: tensor<1x4x2x64xf32>, %k: tensor<1x8x2x64xf32>, %g: tensor<1x8x2xf32>) {
  // expected-error @+1 {{'g' must have shape [B, T, HV] for gate 'scalar' = [1, 4, 2], got [1, 8, 2]}}
  %o = gdn.transition <scalar> q(%q : tensor<1x4x2x64xf32>) k(%k : tensor<1x8x2x64xf32>) v(%k : tensor<1x8x2x64xf32>) g(%g : tensor<1x8x2xf32>) {steps = 2} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @chunk_not_whole_tokens(%q: tensor<1x4x2x64xf32>, %k: tensor<1x12x2x64xf32>) {
  // expected-error @+1 {{'chunk_size' (16) must be a multiple of 'steps' (3): a chunk holds whole tokens}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%k : tensor<1x12x2x64xf32>) v(%k : tensor<1x12x2x64xf32>) {steps = 3, chunk_size = 16} -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @unknown_gate(%q: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{unknown gate 'vector' (expected none, scalar or channel)}}
  %o = gdn.transition <vector> q(%q : tensor<1x4x2x64xf32>) k(%q : tensor<1x4x2x64xf32>) v(%q : tensor<1x4x2x64xf32>) -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @neg_eigval_without_delta(%q: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{'allow_neg_eigval' applies to 'delta_rule' only}}
  %o = gdn.transition <none> q(%q : tensor<1x4x2x64xf32>) k(%q : tensor<1x4x2x64xf32>) v(%q : tensor<1x4x2x64xf32>) {allow_neg_eigval} -> tensor<1x4x2x64xf32>
  return
}
