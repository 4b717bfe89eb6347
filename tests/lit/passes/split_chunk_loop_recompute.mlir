// RUN: gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop=recompute=1 --canonicalize --cse | FileCheck %s

// gdn-split-chunk-loop{recompute}: the step recomputes a prep value where fewer elements then
// cross per chunk. For Gated DeltaNet only the cumulative gates, (I + A)^-1 and the gated Q K^T
// cross; the step recomputes the norms, W = Tm (beta exp(G) K), U = Tm (beta V), Q' and K'
// from q, k, v and those.
// CHECK-LABEL: func.func @gated_deltanet
// CHECK: %[[PREP:.*]]:3 = scf.forall {{.*}} -> (tensor<?x64xf32>, tensor<?x64x64xf32>, tensor<?x64x64xf32>)
// CHECK: %[[TM:.*]] = gdn.tile.unit_lower_inverse
// CHECK: %[[QKG:.*]] = gdn.tile.gated_gram {{.*}} {diagonal}
// CHECK: tensor.parallel_insert_slice %[[TM]]
// CHECK: tensor.parallel_insert_slice %[[QKG]]
// CHECK: } {gdn.chunk_prep = 64 : i64}
// CHECK: scf.for
// CHECK: gdn.tile.l2norm_rows
// CHECK: %[[T:.*]] = tensor.extract_slice %[[PREP]]#1
// CHECK: %[[W:.*]] = gdn.tile.matmul %[[T]], %{{.*}} : tensor<?x?xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
// CHECK: %[[U:.*]] = gdn.tile.matmul %[[T]], %{{.*}} : tensor<?x?xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
// CHECK: gdn.tile.matmul %[[W]], %{{.*}} : tensor<?x128xf32>, tensor<128x128xf32> -> tensor<?x128xf32>
// CHECK-NOT: gdn.tile.unit_lower_inverse
// CHECK-NOT: gdn.tile.gated_gram
// CHECK: } {gdn.chunk_step = 64 : i64, {{.*}}gdn.recompute}
func.func @gated_deltanet(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>,
                          %v: tensor<?x?x32x128xbf16>, %g: tensor<?x?x32xf32>,
                          %beta: tensor<?x?x32xf32>, %h0: tensor<?x32x128x128xf32>)
    -> (tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta>
      q(%q : tensor<?x?x16x128xbf16>) k(%k : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x32x128xbf16>) g(%g : tensor<?x?x32xf32>)
      beta(%beta : tensor<?x?x32xf32>) initial_state(%h0 : tensor<?x32x128x128xf32>)
      {qk_l2norm}
      -> tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
  return %o, %hT : tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
}

// -----

// Linear attention: only the gram crosses; the step computes Q S, QKg V and K^T V itself.
// CHECK-LABEL: func.func @linear_attention
// CHECK: scf.forall {{.*}} -> (tensor<?x64x64xf32>)
// CHECK: scf.for
// CHECK: gdn.tile.matmul %{{.*}}, %{{.*}} {transpose_a} : tensor<?x64xf32>, tensor<?x128xf32> -> tensor<64x128xf32>
// CHECK: } {gdn.chunk_step = 64 : i64
func.func @linear_attention(%q: tensor<1x?x2x64xf32>, %k: tensor<1x?x2x64xf32>,
                            %v: tensor<1x?x2x128xf32>) -> tensor<1x?x2x128xf32> {
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x?x2x64xf32>) k(%k : tensor<1x?x2x64xf32>)
      v(%v : tensor<1x?x2x128xf32>) -> tensor<1x?x2x128xf32>
  return %o : tensor<1x?x2x128xf32>
}
