// RUN: gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop | FileCheck %s

// The chunk loop of gdn-chunkwise splits by dependence on the carried output and state:
// what depends on neither runs per chunk in an scf.forall, the rest stays sequential.


// Gated DeltaNet with in-kernel norms: six tensors cross (cumulative gates, W, U, QKg, the
// gated Q and the K gated to the chunk's end); the step keeps only the products with S.
// CHECK-LABEL: func.func @gated_deltanet
// CHECK: %[[NCH:.*]] = arith.ceildivui
// CHECK-DAG: %[[WG:.*]] = tensor.empty(%[[NCH]]) : tensor<?x32xf32>
// CHECK-DAG: %[[WCC:.*]] = tensor.empty(%[[NCH]]) : tensor<?x32x32xf32>
// CHECK: %[[PREP:.*]]:6 = scf.forall (%[[PC:.*]]) in (%[[NCH]]) shared_outs(
// CHECK: %[[PROWS:.*]] = arith.minui %{{.*}}, %{{.*}} : index
// CHECK: gdn.tile.l2norm_rows
// CHECK: %[[G:.*]] = gdn.tile.cumsum
// CHECK: gdn.tile.unit_lower_inverse
// CHECK: %[[QKG:.*]] = gdn.tile.gated_gram %{{.*}}, %{{.*}} gates %[[G]] : tensor<?xf32> {diagonal}
// CHECK: scf.forall.in_parallel {
// CHECK: tensor.parallel_insert_slice %[[G]] into %{{.*}}[%[[PC]], 0] [1, %[[PROWS]]] [1, 1] : tensor<?xf32> into tensor<?x32xf32>
// CHECK: tensor.parallel_insert_slice %[[QKG]] into %{{.*}}[%[[PC]], 0, 0] [1, %[[PROWS]], %[[PROWS]]] [1, 1, 1] : tensor<?x?xf32> into tensor<?x32x32xf32>
// CHECK: } {gdn.chunk_prep = 32 : i64}
// CHECK: scf.for %[[CH:.*]] = %{{.*}} to %[[NCH]] step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %[[S:.*]] = %{{.*}})
// CHECK-NOT: gdn.tile.unit_lower_inverse
// CHECK-NOT: gdn.tile.gated_gram
// CHECK-NOT: gdn.tile.cumsum
// CHECK-NOT: gdn.tile.l2norm_rows
// CHECK: %[[ROWS:.*]] = arith.minui
// CHECK: %[[GS:.*]] = tensor.extract_slice %[[PREP]]#0[%[[CH]], 0] [1, %[[ROWS]]] [1, 1] : tensor<?x32xf32> to tensor<?xf32>
// CHECK: %[[W:.*]] = tensor.extract_slice %[[PREP]]#1[%[[CH]], 0, 0] [1, %[[ROWS]], 128] [1, 1, 1]
// CHECK: %[[U:.*]] = tensor.extract_slice %[[PREP]]#2
// CHECK: %[[WS:.*]] = gdn.tile.matmul %[[W]], %[[S]]
// CHECK: %[[VNEW:.*]] = arith.subf %[[U]], %[[WS]]
// CHECK: gdn.tile.decay_state %[[S]], %[[GS]]
// CHECK: gdn.tile.matmul %{{.*}}, %[[VNEW]] {transpose_a}
// CHECK: } {gdn.chunk_step = 32 : i64
// CHECK-NOT: gdn.chunk_loop
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

// Linear attention: everything but Q S and the state sum is parallel, so the chunk's whole
// K^T V increment crosses (K x V per chunk), with the scaled Q and the intra-chunk output.
// The step re-reads no input: it needs none.
// CHECK-LABEL: func.func @linear_attention
// CHECK: tensor.empty(%{{.*}}) : tensor<?x32x64xf32>
// CHECK: tensor.empty(%{{.*}}) : tensor<?x32x128xf32>
// CHECK: tensor.empty(%{{.*}}) : tensor<?x64x128xf32>
// CHECK: scf.forall
// CHECK: gdn.tile.matmul %{{.*}}, %{{.*}} {transpose_a} : tensor<?x64xf32>, tensor<?x128xf32> -> tensor<64x128xf32>
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, 0, 0] [1, 64, 128] [1, 1, 1] : tensor<64x128xf32> into tensor<?x64x128xf32>
// CHECK: scf.for
// CHECK-NOT: tensor.extract_slice %arg
// CHECK: gdn.tile.matmul %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
// CHECK: } {gdn.chunk_step = 32 : i64
func.func @linear_attention(%q: tensor<2x100x4x64xf32>, %k: tensor<2x100x4x64xf32>,
                            %v: tensor<2x100x4x128xf32>) -> tensor<2x100x4x128xf32> {
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x100x4x64xf32>) k(%k : tensor<2x100x4x64xf32>)
      v(%v : tensor<2x100x4x128xf32>) -> tensor<2x100x4x128xf32>
  return %o : tensor<2x100x4x128xf32>
}

// -----

// KDA (channel gates, delta rule): the cumulative gates cross as a [chunks, C, K] tile and
// the step's decay reads them.
// CHECK-LABEL: func.func @kda
// CHECK: tensor.empty(%{{.*}}) : tensor<?x32x64xf32>
// CHECK: scf.forall
// CHECK: %[[G:.*]] = gdn.tile.cumsum %{{.*}} : tensor<?x64xf32>
// CHECK: tensor.parallel_insert_slice %[[G]]
// CHECK: scf.for
// CHECK: %[[GS:.*]] = tensor.extract_slice %{{.*}} : tensor<?x32x64xf32> to tensor<?x64xf32>
// CHECK: gdn.tile.decay_state %{{.*}}, %[[GS]] : tensor<64x64xf32>, tensor<?x64xf32>
func.func @kda(%q: tensor<1x?x2x64xbf16>, %k: tensor<1x?x2x64xbf16>, %v: tensor<1x?x2x64xbf16>,
               %g: tensor<1x?x2x64xf32>, %beta: tensor<1x?x2xf32>) -> tensor<1x?x2x64xbf16> {
  %o = gdn.recurrence <channel, delta> q(%q : tensor<1x?x2x64xbf16>) k(%k : tensor<1x?x2x64xbf16>)
      v(%v : tensor<1x?x2x64xbf16>) g(%g : tensor<1x?x2x64xf32>) beta(%beta : tensor<1x?x2xf32>)
      -> tensor<1x?x2x64xbf16>
  return %o : tensor<1x?x2x64xbf16>
}

// -----

// A decode step is one token per loop iteration: the loop stays whole and keeps its mark.
// CHECK-LABEL: func.func @decode
// CHECK-NOT: scf.forall
// CHECK: } {gdn.chunk_loop = 1 : i64
// CHECK: return
func.func @decode(%q: tensor<4x1x2x64xbf16>, %k: tensor<4x1x2x64xbf16>, %v: tensor<4x1x2x64xbf16>,
                  %s: tensor<4x2x64x64xf32>) -> (tensor<4x1x2x64xbf16>, tensor<4x2x64x64xf32>) {
  %o, %ns = gdn.decode <none, additive> q(%q : tensor<4x1x2x64xbf16>) k(%k : tensor<4x1x2x64xbf16>)
      v(%v : tensor<4x1x2x64xbf16>) state(%s : tensor<4x2x64x64xf32>)
      -> tensor<4x1x2x64xbf16>, tensor<4x2x64x64xf32>
  return %o, %ns : tensor<4x1x2x64xbf16>, tensor<4x2x64x64xf32>
}
