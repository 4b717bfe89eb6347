// RUN: gdn-opt %s -split-input-file -verify-diagnostics

// Every verifier and parser message of the layer ops, one case each.

func.func @q_rank(%q: tensor<4x16x128xf32>, %k: tensor<1x4x16x128xf32>, %v: tensor<1x4x16x128xf32>) {
  // expected-error @+1 {{'q' must be a rank-4 tensor [B, T, H, K], got rank 3}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<4x16x128xf32>) k(%k : tensor<1x4x16x128xf32>) v(%v : tensor<1x4x16x128xf32>) -> tensor<1x4x16x128xf32>
  return
}

// -----

func.func @v_rank(%q: tensor<1x4x16x128xf32>, %v: tensor<1x4x16x128x1xf32>) {
  // expected-error @+1 {{'v' must be a rank-4 tensor [B, T, HV, V], got rank 5}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x16x128xf32>) k(%q : tensor<1x4x16x128xf32>) v(%v : tensor<1x4x16x128x1xf32>) -> tensor<1x4x16x128xf32>
  return
}

// -----

func.func @element_type(%q: tensor<1x4x16x128xi8>, %v: tensor<1x4x16x128xf32>) {
  // expected-error @+1 {{'q' element type must be bf16, f16 or f32, got 'i8'}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x16x128xi8>) k(%q : tensor<1x4x16x128xi8>) v(%v : tensor<1x4x16x128xf32>) -> tensor<1x4x16x128xf32>
  return
}

// -----

func.func @f64_input(%q: tensor<1x4x16x128xf32>, %v: tensor<1x4x16x128xf64>) {
  // expected-error @+1 {{'v' element type must be bf16, f16 or f32, got 'f64'}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x16x128xf32>) k(%q : tensor<1x4x16x128xf32>) v(%v : tensor<1x4x16x128xf64>) -> tensor<1x4x16x128xf64>
  return
}

// -----

func.func @mixed_element_types(%q: tensor<1x4x16x128xbf16>, %v: tensor<1x4x16x128xf16>) {
  // expected-error @+1 {{'q', 'k' and 'v' must share one element type, got 'bf16', 'bf16' and 'f16'}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x16x128xbf16>) k(%q : tensor<1x4x16x128xbf16>) v(%v : tensor<1x4x16x128xf16>) -> tensor<1x4x16x128xf16>
  return
}

// -----

func.func @dynamic_heads(%q: tensor<1x4x?x128xf32>, %v: tensor<1x4x16x128xf32>) {
  // expected-error @+1 {{head counts and head dims must be static, but dimension 2 of 'q' is dynamic}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x?x128xf32>) k(%q : tensor<1x4x?x128xf32>) v(%v : tensor<1x4x16x128xf32>) -> tensor<1x4x16x128xf32>
  return
}

// -----

func.func @empty_sequence(%q: tensor<1x0x16x128xf32>, %v: tensor<1x0x16x128xf32>) {
  // expected-error @+1 {{'q' has an empty dimension T = 0}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x0x16x128xf32>) k(%q : tensor<1x0x16x128xf32>) v(%v : tensor<1x0x16x128xf32>) -> tensor<1x0x16x128xf32>
  return
}

// -----

func.func @k_shape(%q: tensor<1x4x16x128xf32>, %k: tensor<1x4x8x128xf32>, %v: tensor<1x4x16x128xf32>) {
  // expected-error @+1 {{'k' shape [1, 4, 8, 128] does not match 'q' shape [1, 4, 16, 128]}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x16x128xf32>) k(%k : tensor<1x4x8x128xf32>) v(%v : tensor<1x4x16x128xf32>) -> tensor<1x4x16x128xf32>
  return
}

// -----

func.func @v_batch(%q: tensor<2x?x16x128xf32>, %v: tensor<3x?x16x128xf32>) {
  // expected-error @+1 {{'v' batch and sequence dims [3, ?] do not match those of 'q' [2, ?]}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x?x16x128xf32>) k(%q : tensor<2x?x16x128xf32>) v(%v : tensor<3x?x16x128xf32>) -> tensor<3x?x16x128xf32>
  return
}

// -----

func.func @gva_ratio(%q: tensor<1x4x4x128xf32>, %v: tensor<1x4x6x128xf32>) {
  // expected-error @+1 {{value heads HV = 6 must be a multiple of query/key heads H = 4}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x4x128xf32>) k(%q : tensor<1x4x4x128xf32>) v(%v : tensor<1x4x6x128xf32>) -> tensor<1x4x6x128xf32>
  return
}

// -----

func.func @head_dim_k(%q: tensor<1x4x4x96xf32>, %v: tensor<1x4x4x128xf32>) {
  // expected-error @+1 {{head dim K = 96 is not supported (expected 64, 128 or 256)}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x4x96xf32>) k(%q : tensor<1x4x4x96xf32>) v(%v : tensor<1x4x4x128xf32>) -> tensor<1x4x4x128xf32>
  return
}

// -----

func.func @head_dim_v(%q: tensor<1x4x4x128xf32>, %v: tensor<1x4x4x512xf32>) {
  // expected-error @+1 {{head dim V = 512 is not supported (expected 64, 128 or 256)}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x4x128xf32>) k(%q : tensor<1x4x4x128xf32>) v(%v : tensor<1x4x4x512xf32>) -> tensor<1x4x4x512xf32>
  return
}

// -----

func.func @gate_none_with_g(%q: tensor<1x4x4x64xf32>, %g: tensor<1x4x4xf32>) {
  // expected-error @+1 {{gate 'none' takes no 'g' operand}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x4x64xf32>) k(%q : tensor<1x4x4x64xf32>) v(%q : tensor<1x4x4x64xf32>) g(%g : tensor<1x4x4xf32>) -> tensor<1x4x4x64xf32>
  return
}

// -----

func.func @gate_scalar_without_g(%q: tensor<1x4x4x64xf32>) {
  // expected-error @+1 {{gate 'scalar' requires a 'g' operand}}
  %o = gdn.recurrence <scalar, additive> q(%q : tensor<1x4x4x64xf32>) k(%q : tensor<1x4x4x64xf32>) v(%q : tensor<1x4x4x64xf32>) -> tensor<1x4x4x64xf32>
  return
}

// -----

func.func @gate_scalar_shape(%q: tensor<1x4x4x64xf32>, %g: tensor<1x4x4x64xf32>) {
  // expected-error @+1 {{'g' must have shape [B, T, HV] for gate 'scalar' = [1, 4, 4], got [1, 4, 4, 64]}}
  %o = gdn.recurrence <scalar, additive> q(%q : tensor<1x4x4x64xf32>) k(%q : tensor<1x4x4x64xf32>) v(%q : tensor<1x4x4x64xf32>) g(%g : tensor<1x4x4x64xf32>) -> tensor<1x4x4x64xf32>
  return
}

// -----

func.func @gate_channel_shape(%q: tensor<1x4x2x64xf32>, %v: tensor<1x4x4x128xf32>, %g: tensor<1x4x4xf32>) {
  // expected-error @+1 {{'g' must have shape [B, T, HV, K] for gate 'channel' = [1, 4, 4, 64], got [1, 4, 4]}}
  %o = gdn.recurrence <channel, additive> q(%q : tensor<1x4x2x64xf32>) k(%q : tensor<1x4x2x64xf32>) v(%v : tensor<1x4x4x128xf32>) g(%g : tensor<1x4x4xf32>) -> tensor<1x4x4x128xf32>
  return
}

// -----

func.func @gate_element_type(%q: tensor<1x4x4x64xbf16>, %g: tensor<1x4x4xf16>) {
  // expected-error @+1 {{'g' element type must be f32 or the input element type 'bf16', got 'f16'}}
  %o = gdn.recurrence <scalar, additive> q(%q : tensor<1x4x4x64xbf16>) k(%q : tensor<1x4x4x64xbf16>) v(%q : tensor<1x4x4x64xbf16>) g(%g : tensor<1x4x4xf16>) -> tensor<1x4x4x64xbf16>
  return
}

// -----

func.func @delta_without_beta(%q: tensor<1x4x4x64xf32>) {
  // expected-error @+1 {{the delta rule requires a 'beta' operand}}
  %o = gdn.recurrence <none, delta> q(%q : tensor<1x4x4x64xf32>) k(%q : tensor<1x4x4x64xf32>) v(%q : tensor<1x4x4x64xf32>) -> tensor<1x4x4x64xf32>
  return
}

// -----

func.func @beta_shape(%q: tensor<1x4x4x64xf32>, %beta: tensor<1x4x2xf32>) {
  // expected-error @+1 {{'beta' must have shape [B, T, HV] = [1, 4, 4], got [1, 4, 2]}}
  %o = gdn.recurrence <none, delta> q(%q : tensor<1x4x4x64xf32>) k(%q : tensor<1x4x4x64xf32>) v(%q : tensor<1x4x4x64xf32>) beta(%beta : tensor<1x4x2xf32>) -> tensor<1x4x4x64xf32>
  return
}

// -----

func.func @beta_element_type(%q: tensor<1x4x4x64xf16>, %beta: tensor<1x4x4xi32>) {
  // expected-error @+1 {{'beta' element type must be f32 or the input element type 'f16', got 'i32'}}
  %o = gdn.recurrence <none, delta> q(%q : tensor<1x4x4x64xf16>) k(%q : tensor<1x4x4x64xf16>) v(%q : tensor<1x4x4x64xf16>) beta(%beta : tensor<1x4x4xi32>) -> tensor<1x4x4x64xf16>
  return
}

// -----

func.func @neg_eigval_additive(%q: tensor<1x4x4x64xf32>) {
  // expected-error @+1 {{'allow_neg_eigval' applies to the delta rule only}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x4x64xf32>) k(%q : tensor<1x4x4x64xf32>) v(%q : tensor<1x4x4x64xf32>) {allow_neg_eigval} -> tensor<1x4x4x64xf32>
  return
}

// -----

func.func @scale_negative(%q: tensor<1x4x4x64xf32>) {
  // expected-error @+1 {{'scale' must be positive and finite, got -1}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x4x64xf32>) k(%q : tensor<1x4x4x64xf32>) v(%q : tensor<1x4x4x64xf32>) {scale = -1.0 : f32} -> tensor<1x4x4x64xf32>
  return
}

// -----

func.func @scale_inf(%q: tensor<1x4x4x64xf32>) {
  // expected-error @+1 {{'scale' must be positive and finite, got INF}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x4x4x64xf32>) k(%q : tensor<1x4x4x64xf32>) v(%q : tensor<1x4x4x64xf32>) {scale = 0x7F800000 : f32} -> tensor<1x4x4x64xf32>
  return
}

// -----

func.func @cu_seqlens_type(%q: tensor<1x?x4x64xf32>, %cu: tensor<4xf32>) {
  // expected-error @+1 {{'cu_seqlens' must be a rank-1 tensor of i32 or i64, got tensor<4xf32>}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x?x4x64xf32>) k(%q : tensor<1x?x4x64xf32>) v(%q : tensor<1x?x4x64xf32>) cu_seqlens(%cu : tensor<4xf32>) -> tensor<1x?x4x64xf32>
  return
}

// -----

func.func @cu_seqlens_batch(%q: tensor<2x?x4x64xf32>, %cu: tensor<4xi32>) {
  // expected-error @+1 {{a variable-length batch ('cu_seqlens') needs B = 1, got B = 2}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x?x4x64xf32>) k(%q : tensor<2x?x4x64xf32>) v(%q : tensor<2x?x4x64xf32>) cu_seqlens(%cu : tensor<4xi32>) -> tensor<2x?x4x64xf32>
  return
}

// -----

func.func @cu_seqlens_dynamic_batch(%q: tensor<?x?x4x64xf32>, %cu: tensor<4xi32>) {
  // expected-error @+1 {{a variable-length batch ('cu_seqlens') needs B = 1, got B = ?}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<?x?x4x64xf32>) k(%q : tensor<?x?x4x64xf32>) v(%q : tensor<?x?x4x64xf32>) cu_seqlens(%cu : tensor<4xi32>) -> tensor<?x?x4x64xf32>
  return
}

// -----

func.func @cu_seqlens_too_short(%q: tensor<1x?x4x64xf32>, %cu: tensor<1xi64>) {
  // expected-error @+1 {{'cu_seqlens' must hold N + 1 >= 2 offsets, got 1}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x?x4x64xf32>) k(%q : tensor<1x?x4x64xf32>) v(%q : tensor<1x?x4x64xf32>) cu_seqlens(%cu : tensor<1xi64>) -> tensor<1x?x4x64xf32>
  return
}

// -----

func.func @state_element_type(%q: tensor<2x4x4x64xbf16>, %h0: tensor<2x4x64x64xbf16>) {
  // expected-error @+1 {{'initial_state' must be f32, got 'bf16'}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x4x4x64xbf16>) k(%q : tensor<2x4x4x64xbf16>) v(%q : tensor<2x4x4x64xbf16>) initial_state(%h0 : tensor<2x4x64x64xbf16>) -> tensor<2x4x4x64xbf16>
  return
}

// -----

func.func @state_shape(%q: tensor<2x4x4x64xf32>, %v: tensor<2x4x4x128xf32>, %h0: tensor<2x4x128x64xf32>) {
  // expected-error @+1 {{'initial_state' must have shape [N, HV, K, V] = [2, 4, 64, 128], got [2, 4, 128, 64]}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x4x4x64xf32>) k(%q : tensor<2x4x4x64xf32>) v(%v : tensor<2x4x4x128xf32>) initial_state(%h0 : tensor<2x4x128x64xf32>) -> tensor<2x4x4x128xf32>
  return
}

// -----

func.func @state_batch(%q: tensor<2x4x4x64xf32>, %h0: tensor<3x4x64x64xf32>) {
  // expected-error @+1 {{'initial_state' must have shape [N, HV, K, V] = [2, 4, 64, 64], got [3, 4, 64, 64] (N is B)}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x4x4x64xf32>) k(%q : tensor<2x4x4x64xf32>) v(%q : tensor<2x4x4x64xf32>) initial_state(%h0 : tensor<3x4x64x64xf32>) -> tensor<2x4x4x64xf32>
  return
}

// -----

func.func @state_varlen_count(%q: tensor<1x?x4x64xf32>, %cu: tensor<4xi32>, %h0: tensor<4x4x64x64xf32>) {
  // expected-error @+1 {{'initial_state' must have shape [N, HV, K, V] = [3, 4, 64, 64], got [4, 4, 64, 64] (N is the number of sequences in 'cu_seqlens')}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x?x4x64xf32>) k(%q : tensor<1x?x4x64xf32>) v(%q : tensor<1x?x4x64xf32>) initial_state(%h0 : tensor<4x4x64x64xf32>) cu_seqlens(%cu : tensor<4xi32>) -> tensor<1x?x4x64xf32>
  return
}

// -----

func.func @final_state_shape(%q: tensor<2x4x4x64xf32>) {
  // expected-error @+1 {{'final_state' must have shape [N, HV, K, V] = [2, 4, 64, 64], got [2, 4, 64]}}
  %o, %s = gdn.recurrence <none, additive> q(%q : tensor<2x4x4x64xf32>) k(%q : tensor<2x4x4x64xf32>) v(%q : tensor<2x4x4x64xf32>) -> tensor<2x4x4x64xf32>, tensor<2x4x64xf32>
  return
}

// -----

func.func @output_element_type(%q: tensor<2x4x4x64xbf16>) {
  // expected-error @+1 {{result 'o' must have the input element type 'bf16', got 'f32'}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x4x4x64xbf16>) k(%q : tensor<2x4x4x64xbf16>) v(%q : tensor<2x4x4x64xbf16>) -> tensor<2x4x4x64xf32>
  return
}

// -----

func.func @output_shape(%q: tensor<2x4x2x64xf32>, %v: tensor<2x4x4x64xf32>) {
  // expected-error @+1 {{result 'o' must have shape [B, T, HV, V] = [2, 4, 4, 64], got [2, 4, 2, 64]}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x4x2x64xf32>) k(%q : tensor<2x4x2x64xf32>) v(%v : tensor<2x4x4x64xf32>) -> tensor<2x4x2x64xf32>
  return
}

// -----

func.func @chunk_size(%q: tensor<2x4x4x64xf32>) {
  // expected-error @+1 {{'chunk_size' must be 16, 32, 64 or 128, got 48}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x4x4x64xf32>) k(%q : tensor<2x4x4x64xf32>) v(%q : tensor<2x4x4x64xf32>) {chunk_size = 48 : i64} -> tensor<2x4x4x64xf32>
  return
}

// -----

func.func @unknown_gate(%q: tensor<2x4x4x64xf32>) {
  // expected-error @+1 {{unknown gate 'vector' (expected none, scalar or channel)}}
  %o = gdn.recurrence <vector, additive> q(%q : tensor<2x4x4x64xf32>) k(%q : tensor<2x4x4x64xf32>) v(%q : tensor<2x4x4x64xf32>) -> tensor<2x4x4x64xf32>
  return
}

// -----

func.func @unknown_rule(%q: tensor<2x4x4x64xf32>) {
  // expected-error @+1 {{unknown update rule 'mult' (expected additive or delta)}}
  %o = gdn.recurrence <none, mult> q(%q : tensor<2x4x4x64xf32>) k(%q : tensor<2x4x4x64xf32>) v(%q : tensor<2x4x4x64xf32>) -> tensor<2x4x4x64xf32>
  return
}

// -----

func.func @decode_dynamic_tokens(%q: tensor<8x?x4x64xf32>, %s: tensor<8x4x64x64xf32>) {
  // expected-error @+1 {{a decode step needs a static token count T (or 'cu_seqlens')}}
  %o, %s1 = gdn.decode <none, additive> q(%q : tensor<8x?x4x64xf32>) k(%q : tensor<8x?x4x64xf32>) v(%q : tensor<8x?x4x64xf32>) state(%s : tensor<8x4x64x64xf32>) -> tensor<8x?x4x64xf32>, tensor<8x4x64x64xf32>
  return
}

// -----

func.func @decode_too_many_tokens(%q: tensor<8x65x4x64xf32>, %s: tensor<8x4x64x64xf32>) {
  // expected-error @+1 {{a decode step takes at most 64 tokens per sequence, got T = 65; use gdn.recurrence for prefill}}
  %o, %s1 = gdn.decode <none, additive> q(%q : tensor<8x65x4x64xf32>) k(%q : tensor<8x65x4x64xf32>) v(%q : tensor<8x65x4x64xf32>) state(%s : tensor<8x4x64x64xf32>) -> tensor<8x65x4x64xf32>, tensor<8x4x64x64xf32>
  return
}

// -----

func.func @decode_state_shape(%q: tensor<8x1x4x64xf32>, %s: tensor<4x4x64x64xf32>) {
  // expected-error @+1 {{'state' must have shape [N, HV, K, V] = [8, 4, 64, 64], got [4, 4, 64, 64] (N is B)}}
  %o, %s1 = gdn.decode <none, additive> q(%q : tensor<8x1x4x64xf32>) k(%q : tensor<8x1x4x64xf32>) v(%q : tensor<8x1x4x64xf32>) state(%s : tensor<4x4x64x64xf32>) -> tensor<8x1x4x64xf32>, tensor<4x4x64x64xf32>
  return
}

// -----

func.func @decode_new_state_type(%q: tensor<8x1x4x64xf32>, %s: tensor<8x4x64x64xf32>) {
  // expected-error @+1 {{'new_state' must be f32, got 'f16'}}
  %o, %s1 = gdn.decode <none, additive> q(%q : tensor<8x1x4x64xf32>) k(%q : tensor<8x1x4x64xf32>) v(%q : tensor<8x1x4x64xf32>) state(%s : tensor<8x4x64x64xf32>) -> tensor<8x1x4x64xf32>, tensor<8x4x64x64xf16>
  return
}

// -----

%q = tensor.empty() : tensor<1x4x2x64xbf16>
// expected-error @+1 {{'gdn.recurrence' op must be inside a function (its kernels are named after the function, and its operands come from the function's arguments)}}
%o = gdn.recurrence <none, additive> q(%q : tensor<1x4x2x64xbf16>) k(%q : tensor<1x4x2x64xbf16>) v(%q : tensor<1x4x2x64xbf16>) -> tensor<1x4x2x64xbf16>
