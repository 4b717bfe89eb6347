// RUN: gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=32 | FileCheck %s
// RUN: gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop | FileCheck %s --check-prefix=SPLIT

// gdn-chunkwise on gdn.transition: the generalized WY form of docs/design.md §2.5.

// DPLR (a, b operands, channel gates): the rank-one term's rows decay with the exclusive
// cumulative gates (row_gates), the solve is (I - A_ab)^-1, outputs read A_qb and A_qk.
// CHECK-LABEL: func.func @dplr
// CHECK-SAME: attributes {gdn.transition}
// CHECK: scf.for
// CHECK: %[[G:.*]] = gdn.tile.cumsum %{{.*}} : tensor<?x64xf32>
// CHECK: %[[GX:.*]] = gdn.tile.cumsum %{{.*}} {exclusive} : tensor<?x64xf32>
// CHECK: %[[AAB:.*]] = gdn.tile.gated_gram %[[A:.*]], %[[B:.*]] gates %[[G]] : tensor<?x64xf32> row_gates %[[GX]] : tensor<?x64xf32> : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
// CHECK: gdn.tile.gated_gram %[[A]], %{{.*}} gates %[[G]] : tensor<?x64xf32> row_gates %[[GX]]
// CHECK: %[[NEG:.*]] = gdn.tile.row_scale %[[AAB]] {factor = -1.000000e+00 : f32}
// CHECK: gdn.tile.unit_lower_inverse %[[NEG]]
// CHECK: gdn.tile.gate_rows %[[A]], %[[GX]] :
// CHECK: gdn.tile.gated_gram %{{.*}}, %[[B]] gates %[[G]] : tensor<?x64xf32> {diagonal}
// CHECK: gdn.tile.gate_rows %[[B]], %[[G]] {to_end}
// CHECK: gdn.chunk_loop = 32
// SPLIT-LABEL: func.func @dplr
// SPLIT: scf.forall
// SPLIT: gdn.chunk_prep
// SPLIT: gdn.chunk_step = 32
func.func @dplr(%q: tensor<?x?x2x64xf32>, %a: tensor<?x?x2x64xf32>, %g: tensor<?x?x2x64xf32>) -> tensor<?x?x2x64xf32> {
  %o = gdn.transition <channel> q(%q : tensor<?x?x2x64xf32>) k(%q : tensor<?x?x2x64xf32>) v(%q : tensor<?x?x2x64xf32>) a(%a : tensor<?x?x2x64xf32>) b(%a : tensor<?x?x2x64xf32>) g(%g : tensor<?x?x2x64xf32>) -> tensor<?x?x2x64xf32>
  return %o : tensor<?x?x2x64xf32>
}

// -----

// Gated DeltaProduct, 2 steps: chunks of 32 sub-step rows (16 tokens); the gates sit at each
// token's first row and q at its last (strided inserts into zero tiles); the delta rule's read
// vector is -beta k with the inclusive gates (no exclusive sum); the outputs are every second
// row.
// CHECK-LABEL: func.func @deltaproduct
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0] [%{{.*}}] [2] : tensor<?xf32> into tensor<?xf32>
// CHECK: %[[G:.*]] = gdn.tile.cumsum %{{.*}} : tensor<?xf32>
// CHECK-NOT: exclusive
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[1, 0] [%{{.*}}, 64] [2, 1]
// CHECK: gdn.tile.row_scale %{{.*}} by %{{.*}} : tensor<?xf32> {factor = -1.000000e+00 : f32}
// CHECK: gdn.tile.unit_lower_inverse
// CHECK: tensor.extract_slice %{{.*}}[1, 0] [%{{.*}}, 64] [2, 1] : tensor<?x64xf32> to tensor<?x64xf32>
// CHECK: gdn.chunk_loop = 32
// SPLIT-LABEL: func.func @deltaproduct
// SPLIT: gdn.chunk_step = 32
func.func @deltaproduct(%q: tensor<?x?x2x64xf32>, %k: tensor<?x?x2x64xf32>, %g: tensor<?x?x2xf32>, %beta: tensor<?x?x2xf32>) -> tensor<?x?x2x64xf32> {
  %o = gdn.transition <scalar> q(%q : tensor<?x?x2x64xf32>) k(%k : tensor<?x?x2x64xf32>) v(%k : tensor<?x?x2x64xf32>) g(%g : tensor<?x?x2xf32>) beta(%beta : tensor<?x?x2xf32>) {delta_rule, steps = 2} -> tensor<?x?x2x64xf32>
  return %o : tensor<?x?x2x64xf32>
}

// -----

// Three steps: the pass's chunk size rounds down to whole tokens (30 rows).
// CHECK-LABEL: func.func @three_steps
// CHECK: gdn.chunk_loop = 30
func.func @three_steps(%q: tensor<?x?x2x64xf32>, %k: tensor<?x?x2x64xf32>, %beta: tensor<?x?x2xf32>) -> tensor<?x?x2x64xf32> {
  %o = gdn.transition <none> q(%q : tensor<?x?x2x64xf32>) k(%k : tensor<?x?x2x64xf32>) v(%k : tensor<?x?x2x64xf32>) beta(%beta : tensor<?x?x2xf32>) {delta_rule, steps = 3} -> tensor<?x?x2x64xf32>
  return %o : tensor<?x?x2x64xf32>
}
