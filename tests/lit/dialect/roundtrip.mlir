// RUN: gdn-opt %s | gdn-opt | FileCheck %s
// RUN: gdn-opt %s --mlir-print-op-generic | gdn-opt | FileCheck %s

// CHECK-LABEL: func @minimal
// CHECK: gdn.recurrence <none, additive> q(%{{.*}} : tensor<2x8x4x64xf32>) k(%{{.*}} : tensor<2x8x4x64xf32>) v(%{{.*}} : tensor<2x8x4x64xf32>) -> tensor<2x8x4x64xf32>
func.func @minimal(%q: tensor<2x8x4x64xf32>) -> tensor<2x8x4x64xf32> {
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x8x4x64xf32>) k(%q : tensor<2x8x4x64xf32>) v(%q : tensor<2x8x4x64xf32>) -> tensor<2x8x4x64xf32>
  return %o : tensor<2x8x4x64xf32>
}

// CHECK-LABEL: func @everything
// CHECK: %{{.*}}, %{{.*}} = gdn.recurrence <channel, delta>
// CHECK-SAME: g(%{{.*}} : tensor<1x?x8x128xbf16>) beta(%{{.*}} : tensor<1x?x8xf32>)
// CHECK-SAME: initial_state(%{{.*}} : tensor<?x8x128x256xf32>) cu_seqlens(%{{.*}} : tensor<?xi64>)
// CHECK-SAME: {allow_neg_eigval, chunk_size = 32 : i64, qk_l2norm, scale = 1.250000e-01 : f32}
// CHECK-SAME: -> tensor<1x?x8x256xbf16>, tensor<?x8x128x256xf32>
func.func @everything(%q: tensor<1x?x2x128xbf16>, %v: tensor<1x?x8x256xbf16>,
                      %g: tensor<1x?x8x128xbf16>, %beta: tensor<1x?x8xf32>,
                      %h0: tensor<?x8x128x256xf32>, %cu: tensor<?xi64>) {
  %o, %s = gdn.recurrence <channel, delta> q(%q : tensor<1x?x2x128xbf16>) k(%q : tensor<1x?x2x128xbf16>)
      v(%v : tensor<1x?x8x256xbf16>) g(%g : tensor<1x?x8x128xbf16>) beta(%beta : tensor<1x?x8xf32>)
      initial_state(%h0 : tensor<?x8x128x256xf32>) cu_seqlens(%cu : tensor<?xi64>)
      {scale = 0.125 : f32, qk_l2norm, allow_neg_eigval, chunk_size = 32 : i64}
      -> tensor<1x?x8x256xbf16>, tensor<?x8x128x256xf32>
  return
}

// CHECK-LABEL: func @additive_with_beta
// CHECK: gdn.recurrence <scalar, additive> {{.*}} g(%{{.*}} : tensor<?x?x4xf16>) beta(%{{.*}} : tensor<?x?x4xf16>) -> tensor<?x?x4x64xf16>
func.func @additive_with_beta(%q: tensor<?x?x4x64xf16>, %g: tensor<?x?x4xf16>) {
  %o = gdn.recurrence <scalar, additive> q(%q : tensor<?x?x4x64xf16>) k(%q : tensor<?x?x4x64xf16>) v(%q : tensor<?x?x4x64xf16>) g(%g : tensor<?x?x4xf16>) beta(%g : tensor<?x?x4xf16>) -> tensor<?x?x4x64xf16>
  return
}

// CHECK-LABEL: func @decode_varlen
// CHECK: gdn.decode <scalar, delta> {{.*}} state(%{{.*}} : tensor<3x4x64x64xf32>) cu_seqlens(%{{.*}} : tensor<4xi32>) {scale = 5.000000e-01 : f32} -> tensor<1x?x4x64xf32>, tensor<3x4x64x64xf32>
func.func @decode_varlen(%q: tensor<1x?x4x64xf32>, %g: tensor<1x?x4xf32>, %s: tensor<3x4x64x64xf32>, %cu: tensor<4xi32>) {
  %o, %s1 = gdn.decode <scalar, delta> q(%q : tensor<1x?x4x64xf32>) k(%q : tensor<1x?x4x64xf32>) v(%q : tensor<1x?x4x64xf32>) g(%g : tensor<1x?x4xf32>) beta(%g : tensor<1x?x4xf32>) state(%s : tensor<3x4x64x64xf32>) cu_seqlens(%cu : tensor<4xi32>) {scale = 0.5 : f32} -> tensor<1x?x4x64xf32>, tensor<3x4x64x64xf32>
  return
}
