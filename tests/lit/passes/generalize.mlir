// RUN: gdn-opt %s -split-input-file --gdn-generalize | FileCheck %s
// RUN: gdn-opt %s -split-input-file --gdn-generalize | gdn-opt -split-input-file --verify-diagnostics >/dev/null

// gdn-generalize writes each family in the generalized transition (docs/design.md §1.1):
// the delta rule as delta_rule with one step, the additive rule without a rank-one term;
// operands, attributes and results carry over (steps = 1, the default, is not printed);
// gdn.decode stays.

// CHECK-LABEL: func.func @gated_deltanet
// CHECK: %[[O:.*]], %[[S:.*]] = gdn.transition <scalar> q(%{{.*}} : tensor<?x?x2x64xbf16>) k(%{{.*}} : tensor<?x?x2x64xbf16>) v(%{{.*}} : tensor<?x?x4x64xbf16>) g(%{{.*}} : tensor<?x?x4xf32>) beta(%{{.*}} : tensor<?x?x4xf32>) initial_state(%{{.*}} : tensor<?x4x64x64xf32>) {chunk_size = 32 : i64, delta_rule, qk_l2norm, scale = 2.500000e-01 : f32} -> tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
// CHECK-NOT: gdn.recurrence
func.func @gated_deltanet(%q: tensor<?x?x2x64xbf16>, %v: tensor<?x?x4x64xbf16>, %g: tensor<?x?x4xf32>, %beta: tensor<?x?x4xf32>, %h0: tensor<?x4x64x64xf32>) -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %o, %s = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x2x64xbf16>) k(%q : tensor<?x?x2x64xbf16>) v(%v : tensor<?x?x4x64xbf16>) g(%g : tensor<?x?x4xf32>) beta(%beta : tensor<?x?x4xf32>) initial_state(%h0 : tensor<?x4x64x64xf32>) {qk_l2norm, scale = 0.25 : f32, chunk_size = 32} -> tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
  return %o, %s : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}

// -----

// CHECK-LABEL: func.func @gla
// CHECK: gdn.transition <channel> q({{.*}}) k({{.*}}) v({{.*}}) g(%{{.*}} : tensor<?x?x2x64xf32>) -> tensor<?x?x2x64xf32>
func.func @gla(%q: tensor<?x?x2x64xf32>, %g: tensor<?x?x2x64xf32>) -> tensor<?x?x2x64xf32> {
  %o = gdn.recurrence <channel, additive> q(%q : tensor<?x?x2x64xf32>) k(%q : tensor<?x?x2x64xf32>) v(%q : tensor<?x?x2x64xf32>) g(%g : tensor<?x?x2x64xf32>) -> tensor<?x?x2x64xf32>
  return %o : tensor<?x?x2x64xf32>
}

// -----

// CHECK-LABEL: func.func @deltanet_packed
// CHECK: gdn.transition <none> q({{.*}}) k({{.*}}) v({{.*}}) beta(%{{.*}} : tensor<1x?x2xf32>) cu_seqlens(%{{.*}} : tensor<?xi32>) {allow_neg_eigval, delta_rule} -> tensor<1x?x2x64xf32>, tensor<?x2x64x64xf32>
func.func @deltanet_packed(%q: tensor<1x?x2x64xf32>, %beta: tensor<1x?x2xf32>, %cu: tensor<?xi32>) -> (tensor<1x?x2x64xf32>, tensor<?x2x64x64xf32>) {
  %o, %s = gdn.recurrence <none, delta> q(%q : tensor<1x?x2x64xf32>) k(%q : tensor<1x?x2x64xf32>) v(%q : tensor<1x?x2x64xf32>) beta(%beta : tensor<1x?x2xf32>) cu_seqlens(%cu : tensor<?xi32>) {allow_neg_eigval} -> tensor<1x?x2x64xf32>, tensor<?x2x64x64xf32>
  return %o, %s : tensor<1x?x2x64xf32>, tensor<?x2x64x64xf32>
}

// -----

// CHECK-LABEL: func.func @mamba2_beta
// CHECK: gdn.transition <scalar> q({{.*}}) k({{.*}}) v({{.*}}) g({{.*}}) beta(%{{.*}} : tensor<?x?x2xf32>) -> tensor<?x?x2x64xf32>
func.func @mamba2_beta(%q: tensor<?x?x2x64xf32>, %g: tensor<?x?x2xf32>, %beta: tensor<?x?x2xf32>) -> tensor<?x?x2x64xf32> {
  %o = gdn.recurrence <scalar, additive> q(%q : tensor<?x?x2x64xf32>) k(%q : tensor<?x?x2x64xf32>) v(%q : tensor<?x?x2x64xf32>) g(%g : tensor<?x?x2xf32>) beta(%beta : tensor<?x?x2xf32>) -> tensor<?x?x2x64xf32>
  return %o : tensor<?x?x2x64xf32>
}

// -----

// CHECK-LABEL: func.func @decode_stays
// CHECK: gdn.decode <scalar, delta>
func.func @decode_stays(%q: tensor<4x1x2x64xf32>, %g: tensor<4x1x2xf32>, %beta: tensor<4x1x2xf32>, %s: tensor<4x2x64x64xf32>) -> (tensor<4x1x2x64xf32>, tensor<4x2x64x64xf32>) {
  %o, %s1 = gdn.decode <scalar, delta> q(%q : tensor<4x1x2x64xf32>) k(%q : tensor<4x1x2x64xf32>) v(%q : tensor<4x1x2x64xf32>) g(%g : tensor<4x1x2xf32>) beta(%beta : tensor<4x1x2xf32>) state(%s : tensor<4x2x64x64xf32>) -> tensor<4x1x2x64xf32>, tensor<4x2x64x64xf32>
  return %o, %s1 : tensor<4x1x2x64xf32>, tensor<4x2x64x64xf32>
}
