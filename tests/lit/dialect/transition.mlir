// RUN: gdn-opt %s -split-input-file | gdn-opt -split-input-file | FileCheck %s

// gdn.transition (docs/design.md §1.1) round-trips: RWKV-7's DPLR rule (a, b operands),
// Gated DeltaProduct (delta_rule, steps = 3: k, v and beta have T * 3 rows), and a packed
// batch with the defaults.

// CHECK-LABEL: func.func @dplr
// CHECK: gdn.transition <channel> q(%{{.*}} : tensor<2x8x4x64xbf16>) k(%{{.*}} : tensor<2x8x4x64xbf16>) v(%{{.*}} : tensor<2x8x4x64xbf16>) a(%{{.*}} : tensor<2x8x4x64xbf16>) b(%{{.*}} : tensor<2x8x4x64xbf16>) g(%{{.*}} : tensor<2x8x4x64xf32>) initial_state(%{{.*}} : tensor<2x4x64x64xf32>) {scale = 5.000000e-01 : f32} -> tensor<2x8x4x64xbf16>, tensor<2x4x64x64xf32>
func.func @dplr(%q: tensor<2x8x4x64xbf16>, %a: tensor<2x8x4x64xbf16>, %g: tensor<2x8x4x64xf32>, %h0: tensor<2x4x64x64xf32>) {
  %o, %ht = gdn.transition <channel> q(%q : tensor<2x8x4x64xbf16>) k(%q : tensor<2x8x4x64xbf16>) v(%q : tensor<2x8x4x64xbf16>) a(%a : tensor<2x8x4x64xbf16>) b(%a : tensor<2x8x4x64xbf16>) g(%g : tensor<2x8x4x64xf32>) initial_state(%h0 : tensor<2x4x64x64xf32>) {scale = 0.5 : f32} -> tensor<2x8x4x64xbf16>, tensor<2x4x64x64xf32>
  return
}

// -----

// CHECK-LABEL: func.func @deltaproduct
// CHECK: gdn.transition <scalar> q(%{{.*}} : tensor<?x5x2x64xf32>) k(%{{.*}} : tensor<?x15x2x64xf32>) v(%{{.*}} : tensor<?x15x4x64xf32>) g(%{{.*}} : tensor<?x5x4xf32>) beta(%{{.*}} : tensor<?x15x4xf32>) {delta_rule, qk_l2norm, steps = 3 : i64} -> tensor<?x5x4x64xf32>
func.func @deltaproduct(%q: tensor<?x5x2x64xf32>, %k: tensor<?x15x2x64xf32>, %v: tensor<?x15x4x64xf32>, %g: tensor<?x5x4xf32>, %beta: tensor<?x15x4xf32>) {
  %o = gdn.transition <scalar> q(%q : tensor<?x5x2x64xf32>) k(%k : tensor<?x15x2x64xf32>) v(%v : tensor<?x15x4x64xf32>) g(%g : tensor<?x5x4xf32>) beta(%beta : tensor<?x15x4xf32>) {delta_rule, steps = 3, qk_l2norm} -> tensor<?x5x4x64xf32>
  return
}

// -----

// CHECK-LABEL: func.func @packed_additive
// CHECK: gdn.transition <none> q({{.*}}) k({{.*}}) v({{.*}}) cu_seqlens(%{{.*}} : tensor<?xi64>) -> tensor<1x?x2x64xf16>
func.func @packed_additive(%q: tensor<1x?x2x64xf16>, %cu: tensor<?xi64>) {
  %o = gdn.transition <none> q(%q : tensor<1x?x2x64xf16>) k(%q : tensor<1x?x2x64xf16>) v(%q : tensor<1x?x2x64xf16>) cu_seqlens(%cu : tensor<?xi64>) -> tensor<1x?x2x64xf16>
  return
}

