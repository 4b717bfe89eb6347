// RUN: gdn-opt %s | gdn-opt | FileCheck %s
// RUN: gdn-opt %s --mlir-print-op-generic | gdn-opt | FileCheck %s

// Every gdn.tile op parses, verifies and prints back, with and without its optional parts.

// CHECK-LABEL: func @cumsum
// CHECK: gdn.tile.cumsum %{{[a-z0-9_]+}} : tensor<?xf32>{{$}}
// CHECK: gdn.tile.cumsum %{{[a-z0-9_]+}} : tensor<32x128xf32>{{$}}
func.func @cumsum(%g: tensor<?xf32>, %gc: tensor<32x128xf32>) -> (tensor<?xf32>, tensor<32x128xf32>) {
  %0 = gdn.tile.cumsum %g : tensor<?xf32>
  %1 = gdn.tile.cumsum %gc : tensor<32x128xf32>
  return %0, %1 : tensor<?xf32>, tensor<32x128xf32>
}

// CHECK-LABEL: func @gated_gram
// No gates, strictly lower.
// CHECK: gdn.tile.gated_gram %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>{{$}}
// CHECK-NOT: diagonal
// With the diagonal.
// CHECK: gdn.tile.gated_gram %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {diagonal} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>{{$}}
// Scalar gates.
// CHECK: gdn.tile.gated_gram %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} gates %{{[a-z0-9_]+}} : tensor<?xf32> : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>{{$}}
// Channel gates with the diagonal, static shapes.
// CHECK: gdn.tile.gated_gram %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} gates %{{[a-z0-9_]+}} : tensor<16x64xf32> {diagonal} : tensor<16x64xf32>, tensor<16x64xf32> -> tensor<16x16xf32>{{$}}
func.func @gated_gram(%a: tensor<?x64xf32>, %b: tensor<?x64xf32>, %g: tensor<?xf32>,
                      %as: tensor<16x64xf32>, %gc: tensor<16x64xf32>) {
  %0 = gdn.tile.gated_gram %a, %b : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  %1 = gdn.tile.gated_gram %a, %b {diagonal} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  %2 = gdn.tile.gated_gram %a, %b gates %g : tensor<?xf32> : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  %3 = gdn.tile.gated_gram %as, %as gates %gc : tensor<16x64xf32> {diagonal} : tensor<16x64xf32>, tensor<16x64xf32> -> tensor<16x16xf32>
  return
}

// CHECK-LABEL: func @unit_lower_inverse
// CHECK: gdn.tile.unit_lower_inverse %{{[a-z0-9_]+}} : tensor<?x?xf32>{{$}}
// CHECK: gdn.tile.unit_lower_inverse %{{[a-z0-9_]+}} : tensor<16x16xf32>{{$}}
func.func @unit_lower_inverse(%a: tensor<?x?xf32>, %s: tensor<16x16xf32>) {
  %0 = gdn.tile.unit_lower_inverse %a : tensor<?x?xf32>
  %1 = gdn.tile.unit_lower_inverse %s : tensor<16x16xf32>
  return
}

// CHECK-LABEL: func @row_scale
// The default factor (1.0) is elided.
// CHECK: gdn.tile.row_scale %{{[a-z0-9_]+}} : tensor<?x128xf32>{{$}}
// CHECK: gdn.tile.row_scale %{{[a-z0-9_]+}} by %{{[a-z0-9_]+}} : tensor<?xf32> : tensor<?x128xf32>{{$}}
// CHECK-NOT: factor
// CHECK: gdn.tile.row_scale %{{[a-z0-9_]+}} {factor = 1.250000e-01 : f32} : tensor<?x128xf32>{{$}}
// CHECK: gdn.tile.row_scale %{{[a-z0-9_]+}} by %{{[a-z0-9_]+}} : tensor<?xf32> {factor = 5.000000e-01 : f32} : tensor<?x128xf32>{{$}}
func.func @row_scale(%x: tensor<?x128xf32>, %r: tensor<?xf32>) {
  %0 = gdn.tile.row_scale %x : tensor<?x128xf32>
  %1 = gdn.tile.row_scale %x by %r : tensor<?xf32> {factor = 1.0 : f32} : tensor<?x128xf32>
  %2 = gdn.tile.row_scale %x {factor = 0.125 : f32} : tensor<?x128xf32>
  %3 = gdn.tile.row_scale %x by %r : tensor<?xf32> {factor = 0.5 : f32} : tensor<?x128xf32>
  return
}

// CHECK-LABEL: func @gate_rows
// CHECK: gdn.tile.gate_rows %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<?x64xf32>, tensor<?xf32>{{$}}
// CHECK-NOT: to_end
// CHECK: gdn.tile.gate_rows %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {to_end} : tensor<?x64xf32>, tensor<?xf32>{{$}}
// CHECK: gdn.tile.gate_rows %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<?x64xf32>, tensor<?x64xf32>{{$}}
// CHECK: gdn.tile.gate_rows %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {to_end} : tensor<?x64xf32>, tensor<?x64xf32>{{$}}
func.func @gate_rows(%x: tensor<?x64xf32>, %g: tensor<?xf32>, %gc: tensor<?x64xf32>) {
  %0 = gdn.tile.gate_rows %x, %g : tensor<?x64xf32>, tensor<?xf32>
  %1 = gdn.tile.gate_rows %x, %g {to_end} : tensor<?x64xf32>, tensor<?xf32>
  %2 = gdn.tile.gate_rows %x, %gc : tensor<?x64xf32>, tensor<?x64xf32>
  %3 = gdn.tile.gate_rows %x, %gc {to_end} : tensor<?x64xf32>, tensor<?x64xf32>
  return
}

// CHECK-LABEL: func @decay_state
// CHECK: gdn.tile.decay_state %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<64x128xf32>, tensor<?xf32>{{$}}
// CHECK: gdn.tile.decay_state %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<64x128xf32>, tensor<?x64xf32>{{$}}
func.func @decay_state(%s: tensor<64x128xf32>, %g: tensor<?xf32>, %gc: tensor<?x64xf32>) {
  %0 = gdn.tile.decay_state %s, %g : tensor<64x128xf32>, tensor<?xf32>
  %1 = gdn.tile.decay_state %s, %gc : tensor<64x128xf32>, tensor<?x64xf32>
  return
}

// CHECK-LABEL: func @matmul
// CHECK: gdn.tile.matmul %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<?x?xf32>, tensor<?x128xf32> -> tensor<?x128xf32>{{$}}
// CHECK-NOT: transpose_a
// CHECK: gdn.tile.matmul %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} {transpose_a} : tensor<?x64xf32>, tensor<?x128xf32> -> tensor<64x128xf32>{{$}}
// CHECK: gdn.tile.matmul %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : tensor<16x64xf32>, tensor<64x128xf32> -> tensor<16x128xf32>{{$}}
func.func @matmul(%t: tensor<?x?xf32>, %v: tensor<?x128xf32>, %k: tensor<?x64xf32>,
                  %q: tensor<16x64xf32>, %s: tensor<64x128xf32>) {
  %0 = gdn.tile.matmul %t, %v : tensor<?x?xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  %1 = gdn.tile.matmul %k, %v {transpose_a} : tensor<?x64xf32>, tensor<?x128xf32> -> tensor<64x128xf32>
  %2 = gdn.tile.matmul %q, %s : tensor<16x64xf32>, tensor<64x128xf32> -> tensor<16x128xf32>
  return
}

// CHECK-LABEL: func @l2norm_rows
// CHECK: gdn.tile.l2norm_rows %{{[a-z0-9_]+}} : tensor<?x128xf32>{{$}}
// CHECK: gdn.tile.l2norm_rows %{{[a-z0-9_]+}} : tensor<4x64xf32>{{$}}
func.func @l2norm_rows(%x: tensor<?x128xf32>, %y: tensor<4x64xf32>) {
  %0 = gdn.tile.l2norm_rows %x : tensor<?x128xf32>
  %1 = gdn.tile.l2norm_rows %y : tensor<4x64xf32>
  return
}

// The generalized transition's forms (docs/design.md §2.5): an exclusive cumulative sum, and a
// gated product whose rows take their own cumulative gates.
// CHECK-LABEL: func @transition_forms
// CHECK: gdn.tile.cumsum %{{[a-z0-9_]+}} {exclusive} : tensor<?x64xf32>{{$}}
// CHECK: gdn.tile.gated_gram %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} gates %{{[a-z0-9_]+}} : tensor<?x64xf32> row_gates %{{[a-z0-9_]+}} : tensor<?x64xf32> : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>{{$}}
func.func @transition_forms(%g: tensor<?x64xf32>, %a: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x?xf32>) {
  %gx = gdn.tile.cumsum %g {exclusive} : tensor<?x64xf32>
  %m = gdn.tile.gated_gram %a, %a gates %g : tensor<?x64xf32> row_gates %gx : tensor<?x64xf32> : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  return %gx, %m : tensor<?x64xf32>, tensor<?x?xf32>
}
