// RUN: gdn-opt %s -split-input-file -verify-diagnostics

// Every verifier message of the gdn.tile.* ops, one case each.

//===----------------------------------------------------------------------===//
// gdn.tile.cumsum
//===----------------------------------------------------------------------===//

func.func @cumsum_f16(%g: tensor<8xf16>) {
  // expected-error @+1 {{'gdn.tile.cumsum' op gates must be an f32 tile, got 'f16'}}
  %0 = gdn.tile.cumsum %g : tensor<8xf16>
  return
}

// -----

func.func @cumsum_rank3(%g: tensor<8x4x2xf32>) {
  // expected-error @+1 {{'gdn.tile.cumsum' op gates must have rank 1 or 2, got rank 3}}
  %0 = gdn.tile.cumsum %g : tensor<8x4x2xf32>
  return
}

// -----

func.func @cumsum_rank0(%g: tensor<f32>) {
  // expected-error @+1 {{gates must have rank 1 or 2, got rank 0}}
  %0 = gdn.tile.cumsum %g : tensor<f32>
  return
}

// -----

func.func @cumsum_result_type(%g: tensor<8xf32>) {
  // expected-error @+1 {{failed to verify that all of {g, result} have same type}}
  %0 = "gdn.tile.cumsum"(%g) : (tensor<8xf32>) -> tensor<?xf32>
  return
}

//===----------------------------------------------------------------------===//
// gdn.tile.gated_gram
//===----------------------------------------------------------------------===//

// -----

func.func @gram_a_bf16(%a: tensor<8x64xbf16>, %b: tensor<8x64xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op 'a' and 'b' must have one element type, got 'bf16' and 'f32'}}
  %0 = gdn.tile.gated_gram %a, %b : tensor<8x64xbf16>, tensor<8x64xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @gram_b_rank(%a: tensor<8x64xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op 'b' must have rank 2, got rank 1}}
  %0 = gdn.tile.gated_gram %a, %b : tensor<8x64xf32>, tensor<8xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @gram_result_f16(%a: tensor<8x64xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op the result must be an f32 tile, got 'f16'}}
  %0 = gdn.tile.gated_gram %a, %a : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x8xf16>
  return
}

// -----

func.func @gram_result_rank(%a: tensor<8x64xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op the result must have rank 2, got rank 1}}
  %0 = gdn.tile.gated_gram %a, %a : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<64xf32>
  return
}

// -----

func.func @gram_ab_rows(%a: tensor<8x64xf32>, %b: tensor<16x64xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op 'a' and 'b' must both be [n, K], got 'tensor<8x64xf32>' and 'tensor<16x64xf32>'}}
  %0 = gdn.tile.gated_gram %a, %b : tensor<8x64xf32>, tensor<16x64xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @gram_ab_channels(%a: tensor<?x64xf32>, %b: tensor<?x128xf32>) {
  // expected-error @+1 {{'a' and 'b' must both be [n, K], got 'tensor<?x64xf32>' and 'tensor<?x128xf32>'}}
  %0 = gdn.tile.gated_gram %a, %b : tensor<?x64xf32>, tensor<?x128xf32> -> tensor<?x?xf32>
  return
}

// -----

func.func @gram_result_not_square(%a: tensor<8x64xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op the result must be [n, n] with n = rows of 'a', got 'tensor<8x64xf32>'}}
  %0 = gdn.tile.gated_gram %a, %a : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @gram_result_rows(%a: tensor<8x64xf32>) {
  // expected-error @+1 {{the result must be [n, n] with n = rows of 'a', got 'tensor<16x?xf32>'}}
  %0 = gdn.tile.gated_gram %a, %a : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<16x?xf32>
  return
}

// -----

func.func @gram_gates_f16(%a: tensor<8x64xf32>, %g: tensor<8xf16>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op gates must be an f32 tile, got 'f16'}}
  %0 = gdn.tile.gated_gram %a, %a gates %g : tensor<8xf16> : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @gram_gates_rank(%a: tensor<8x64xf32>, %g: tensor<8x64x1xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op gates must have rank 1 or 2, got rank 3}}
  %0 = gdn.tile.gated_gram %a, %a gates %g : tensor<8x64x1xf32> : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @gram_scalar_gates_rows(%a: tensor<8x64xf32>, %g: tensor<16xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op gates have 16 rows but the tile has 8}}
  %0 = gdn.tile.gated_gram %a, %a gates %g : tensor<16xf32> : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @gram_channel_gates_rows(%a: tensor<8x64xf32>, %g: tensor<4x64xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op gates have 4 rows but the tile has 8}}
  %0 = gdn.tile.gated_gram %a, %a gates %g : tensor<4x64xf32> : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @gram_channel_gates_channels(%a: tensor<?x64xf32>, %g: tensor<?x128xf32>) {
  // expected-error @+1 {{'gdn.tile.gated_gram' op channel gates have 128 channels but the tile has 64}}
  %0 = gdn.tile.gated_gram %a, %a gates %g : tensor<?x128xf32> {diagonal} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  return
}

//===----------------------------------------------------------------------===//
// gdn.tile.unit_lower_inverse
//===----------------------------------------------------------------------===//

// -----

func.func @inverse_f64(%a: tensor<8x8xf64>) {
  // expected-error @+1 {{'gdn.tile.unit_lower_inverse' op 'a' must be an f32 tile, got 'f64'}}
  %0 = gdn.tile.unit_lower_inverse %a : tensor<8x8xf64>
  return
}

// -----

func.func @inverse_rank(%a: tensor<8xf32>) {
  // expected-error @+1 {{'gdn.tile.unit_lower_inverse' op 'a' must have rank 2, got rank 1}}
  %0 = gdn.tile.unit_lower_inverse %a : tensor<8xf32>
  return
}

// -----

func.func @inverse_not_square(%a: tensor<8x16xf32>) {
  // expected-error @+1 {{'gdn.tile.unit_lower_inverse' op 'a' must be square, got 'tensor<8x16xf32>'}}
  %0 = gdn.tile.unit_lower_inverse %a : tensor<8x16xf32>
  return
}

// -----

func.func @inverse_result_type(%a: tensor<8x8xf32>) {
  // expected-error @+1 {{failed to verify that all of {a, result} have same type}}
  %0 = "gdn.tile.unit_lower_inverse"(%a) : (tensor<8x8xf32>) -> tensor<?x?xf32>
  return
}

//===----------------------------------------------------------------------===//
// gdn.tile.row_scale
//===----------------------------------------------------------------------===//

// -----

func.func @row_scale_x_bf16(%x: tensor<8x64xbf16>) {
  // expected-error @+1 {{'gdn.tile.row_scale' op 'x' must be an f32 tile, got 'bf16'}}
  %0 = gdn.tile.row_scale %x : tensor<8x64xbf16>
  return
}

// -----

func.func @row_scale_x_rank(%x: tensor<8xf32>) {
  // expected-error @+1 {{'gdn.tile.row_scale' op 'x' must have rank 2, got rank 1}}
  %0 = gdn.tile.row_scale %x {factor = 2.0 : f32} : tensor<8xf32>
  return
}

// -----

func.func @row_scale_r_f16(%x: tensor<8x64xf32>, %r: tensor<8xf16>) {
  // expected-error @+1 {{'gdn.tile.row_scale' op 'r' must be an f32 tile, got 'f16'}}
  %0 = gdn.tile.row_scale %x by %r : tensor<8xf16> : tensor<8x64xf32>
  return
}

// -----

func.func @row_scale_r_rank(%x: tensor<8x64xf32>, %r: tensor<8x1xf32>) {
  // expected-error @+1 {{'gdn.tile.row_scale' op 'r' must have rank 1, got rank 2}}
  %0 = gdn.tile.row_scale %x by %r : tensor<8x1xf32> : tensor<8x64xf32>
  return
}

// -----

func.func @row_scale_r_rows(%x: tensor<8x64xf32>, %r: tensor<16xf32>) {
  // expected-error @+1 {{'gdn.tile.row_scale' op 'r' has 16 rows but 'x' has 8}}
  %0 = gdn.tile.row_scale %x by %r : tensor<16xf32> : tensor<8x64xf32>
  return
}

// -----

func.func @row_scale_factor_type(%x: tensor<8x64xf32>) {
  // expected-error @+1 {{attribute 'factor' failed to satisfy constraint: 32-bit float attribute}}
  %0 = gdn.tile.row_scale %x {factor = 2.0 : f64} : tensor<8x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// gdn.tile.gate_rows
//===----------------------------------------------------------------------===//

// -----

func.func @gate_rows_x_f16(%x: tensor<8x64xf16>, %g: tensor<8xf32>) {
  // expected-error @+1 {{'gdn.tile.gate_rows' op 'x' must be an f32 tile, got 'f16'}}
  %0 = gdn.tile.gate_rows %x, %g : tensor<8x64xf16>, tensor<8xf32>
  return
}

// -----

func.func @gate_rows_x_rank(%x: tensor<8xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{'gdn.tile.gate_rows' op 'x' must have rank 2, got rank 1}}
  %0 = gdn.tile.gate_rows %x, %g : tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @gate_rows_gates_bf16(%x: tensor<8x64xf32>, %g: tensor<8xbf16>) {
  // expected-error @+1 {{'gdn.tile.gate_rows' op gates must be an f32 tile, got 'bf16'}}
  %0 = gdn.tile.gate_rows %x, %g : tensor<8x64xf32>, tensor<8xbf16>
  return
}

// -----

func.func @gate_rows_gates_rank(%x: tensor<8x64xf32>, %g: tensor<f32>) {
  // expected-error @+1 {{'gdn.tile.gate_rows' op gates must have rank 1 or 2, got rank 0}}
  %0 = gdn.tile.gate_rows %x, %g : tensor<8x64xf32>, tensor<f32>
  return
}

// -----

func.func @gate_rows_scalar_rows(%x: tensor<8x64xf32>, %g: tensor<7xf32>) {
  // expected-error @+1 {{'gdn.tile.gate_rows' op gates have 7 rows but the tile has 8}}
  %0 = gdn.tile.gate_rows %x, %g {to_end} : tensor<8x64xf32>, tensor<7xf32>
  return
}

// -----

func.func @gate_rows_channel_channels(%x: tensor<8x64xf32>, %g: tensor<8x32xf32>) {
  // expected-error @+1 {{'gdn.tile.gate_rows' op channel gates have 32 channels but the tile has 64}}
  %0 = gdn.tile.gate_rows %x, %g : tensor<8x64xf32>, tensor<8x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// gdn.tile.decay_state
//===----------------------------------------------------------------------===//

// -----

func.func @decay_state_bf16(%s: tensor<64x128xbf16>, %g: tensor<?xf32>) {
  // expected-error @+1 {{'gdn.tile.decay_state' op the state must be an f32 tile, got 'bf16'}}
  %0 = gdn.tile.decay_state %s, %g : tensor<64x128xbf16>, tensor<?xf32>
  return
}

// -----

func.func @decay_state_rank(%s: tensor<1x64x128xf32>, %g: tensor<?xf32>) {
  // expected-error @+1 {{'gdn.tile.decay_state' op the state must have rank 2, got rank 3}}
  %0 = gdn.tile.decay_state %s, %g : tensor<1x64x128xf32>, tensor<?xf32>
  return
}

// -----

func.func @decay_state_gates_f16(%s: tensor<64x128xf32>, %g: tensor<?xf16>) {
  // expected-error @+1 {{'gdn.tile.decay_state' op gates must be an f32 tile, got 'f16'}}
  %0 = gdn.tile.decay_state %s, %g : tensor<64x128xf32>, tensor<?xf16>
  return
}

// -----

func.func @decay_state_gates_rank(%s: tensor<64x128xf32>, %g: tensor<?x64x1xf32>) {
  // expected-error @+1 {{'gdn.tile.decay_state' op gates must have rank 1 or 2, got rank 3}}
  %0 = gdn.tile.decay_state %s, %g : tensor<64x128xf32>, tensor<?x64x1xf32>
  return
}

// -----

func.func @decay_state_channels(%s: tensor<64x128xf32>, %g: tensor<?x128xf32>) {
  // expected-error @+1 {{'gdn.tile.decay_state' op channel gates have 128 channels but the state has K = 64}}
  %0 = gdn.tile.decay_state %s, %g : tensor<64x128xf32>, tensor<?x128xf32>
  return
}

// -----

func.func @decay_state_result_type(%s: tensor<64x128xf32>, %g: tensor<?xf32>) {
  // expected-error @+1 {{failed to verify that all of {state, result} have same type}}
  %0 = "gdn.tile.decay_state"(%s, %g) : (tensor<64x128xf32>, tensor<?xf32>) -> tensor<?x128xf32>
  return
}

//===----------------------------------------------------------------------===//
// gdn.tile.matmul
//===----------------------------------------------------------------------===//

// -----

func.func @matmul_a_f16(%a: tensor<8x64xf16>, %b: tensor<64x128xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op 'a' and 'b' must have one element type, got 'f16' and 'f32'}}
  %0 = gdn.tile.matmul %a, %b : tensor<8x64xf16>, tensor<64x128xf32> -> tensor<8x128xf32>
  return
}

// -----

func.func @matmul_f64_operand(%a: tensor<8x64xf64>, %b: tensor<64x128xf64>) {
  // expected-error @+1 {{'gdn.tile.matmul' op 'a' must be an f32, bf16 or f16 tile, got 'f64'}}
  %0 = gdn.tile.matmul %a, %b : tensor<8x64xf64>, tensor<64x128xf64> -> tensor<8x128xf32>
  return
}

// -----

func.func @matmul_b_rank(%a: tensor<8x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op 'b' must have rank 2, got rank 1}}
  %0 = gdn.tile.matmul %a, %b : tensor<8x64xf32>, tensor<64xf32> -> tensor<8x128xf32>
  return
}

// -----

func.func @matmul_result_bf16(%a: tensor<8x64xf32>, %b: tensor<64x128xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op the result must be an f32 tile, got 'bf16'}}
  %0 = gdn.tile.matmul %a, %b : tensor<8x64xf32>, tensor<64x128xf32> -> tensor<8x128xbf16>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<8x64xf32>, %b: tensor<128x128xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op contraction dims differ: 64 vs 128}}
  %0 = gdn.tile.matmul %a, %b : tensor<8x64xf32>, tensor<128x128xf32> -> tensor<8x128xf32>
  return
}

// -----

// With transpose_a the contraction runs over the rows of 'a'.
func.func @matmul_contraction_transposed(%a: tensor<8x64xf32>, %b: tensor<64x128xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op contraction dims differ: 8 vs 64}}
  %0 = gdn.tile.matmul %a, %b {transpose_a} : tensor<8x64xf32>, tensor<64x128xf32> -> tensor<64x128xf32>
  return
}

// -----

func.func @matmul_result_shape(%a: tensor<8x64xf32>, %b: tensor<64x128xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op the result must be [8, 128], got 'tensor<8x64xf32>'}}
  %0 = gdn.tile.matmul %a, %b : tensor<8x64xf32>, tensor<64x128xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @matmul_result_shape_transposed(%a: tensor<?x64xf32>, %b: tensor<?x128xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op the result must be [64, 128], got 'tensor<128x128xf32>'}}
  %0 = gdn.tile.matmul %a, %b {transpose_a} : tensor<?x64xf32>, tensor<?x128xf32> -> tensor<128x128xf32>
  return
}

// -----

// A dynamic dim of the expected result. (The message prints it today as
// -9223372036854775808 rather than '?'; the pattern accepts either.)
func.func @matmul_result_shape_dynamic(%a: tensor<?x64xf32>, %b: tensor<64x128xf32>) {
  // expected-error-re @+1 {{'gdn.tile.matmul' op the result must be [{{.*}}, 128], got 'tensor<?x64xf32>'}}
  %0 = gdn.tile.matmul %a, %b : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// gdn.tile.l2norm_rows
//===----------------------------------------------------------------------===//

// -----

func.func @l2norm_bf16(%x: tensor<8x64xbf16>) {
  // expected-error @+1 {{'gdn.tile.l2norm_rows' op 'x' must be an f32 tile, got 'bf16'}}
  %0 = gdn.tile.l2norm_rows %x : tensor<8x64xbf16>
  return
}

// -----

func.func @l2norm_rank(%x: tensor<8x64x2xf32>) {
  // expected-error @+1 {{'gdn.tile.l2norm_rows' op 'x' must have rank 2, got rank 3}}
  %0 = gdn.tile.l2norm_rows %x : tensor<8x64x2xf32>
  return
}

// -----

func.func @row_gates_without_gates(%a: tensor<8x64xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{'row_gates' needs 'gates' (the columns' cumulative gates)}}
  %m = gdn.tile.gated_gram %a, %a row_gates %g : tensor<8xf32> : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @row_gates_kind(%a: tensor<8x64xf32>, %g: tensor<8xf32>, %gc: tensor<8x64xf32>) {
  // expected-error @+1 {{'row_gates' and 'gates' must both be scalar ([n]) or both channel ([n, K]) gates, got 'tensor<8x64xf32>' and 'tensor<8xf32>'}}
  %m = gdn.tile.gated_gram %a, %a gates %g : tensor<8xf32> row_gates %gc : tensor<8x64xf32> : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @row_gates_rows(%a: tensor<8x64xf32>, %g: tensor<8xf32>, %g4: tensor<4xf32>) {
  // expected-error @+1 {{gates have 4 rows but the tile has 8}}
  %m = gdn.tile.gated_gram %a, %a gates %g : tensor<8xf32> row_gates %g4 : tensor<4xf32> : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x8xf32>
  return
}
