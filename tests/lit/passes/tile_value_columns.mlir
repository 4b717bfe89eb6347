// RUN: gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-tile-value-columns=v-tile=32 --canonicalize --cse | FileCheck %s
// A tile of V columns or more leaves the step as it is.
// RUN: gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-tile-value-columns=v-tile=128 | FileCheck %s --check-prefix=WHOLE
// WHOLE-NOT: gdn.value_tiles

// gdn-tile-value-columns: the chunk step of a (sequence, value head) and the final state's
// write run over V / v-tile tiles of value columns. The state enters at the tile's columns, the
// prep results that hold value columns (U) are read at them, o and the final state are written
// at them; W, QKg and the gates (no value columns) are read whole.

// Gated DeltaNet, K = V = 128: four tiles of 32 columns (the columns are found from v, not
// from the extents, which K shares).
// CHECK-LABEL: func.func @gated_deltanet
// CHECK: %[[PREP:.*]]:6 = scf.forall
// CHECK: } {gdn.chunk_prep = 64 : i64}
// CHECK: %[[TILES:.*]]:2 = scf.for %[[T:.*]] = %{{.*}} to %c4 step %{{.*}} iter_args(%[[O:.*]] = %{{.*}}, %[[HT:.*]] = %{{.*}})
// CHECK: %[[V0:.*]] = arith.muli %[[T]], %c32
// CHECK: %[[S0:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}, %{{.*}}, 0, %[[V0]]] [1, 1, 128, 32] [1, 1, 1, 1] : tensor<?x32x128x128xf32> to tensor<128x32xf32>
// CHECK: scf.for %{{.*}} iter_args(%{{.*}} = %[[O]], %[[S:.*]] = %[[S0]]) -> (tensor<?x?x32x128xbf16>, tensor<128x32xf32>)
// CHECK: %[[W:.*]] = tensor.extract_slice %[[PREP]]#1[%{{.*}}, 0, 0] [1, %{{.*}}, 128] [1, 1, 1] : tensor<?x64x128xf32> to tensor<?x128xf32>
// CHECK: %[[U:.*]] = tensor.extract_slice %[[PREP]]#2[%{{.*}}, 0, %[[V0]]] [1, %{{.*}}, 32] [1, 1, 1] : tensor<?x64x128xf32> to tensor<?x32xf32>
// CHECK: gdn.tile.matmul %[[W]], %[[S]] : tensor<?x128xf32>, tensor<128x32xf32> -> tensor<?x32xf32>
// CHECK: gdn.tile.decay_state %[[S]], %{{.*}} : tensor<128x32xf32>, tensor<?xf32>
// CHECK: gdn.tile.matmul %{{.*}}, %{{.*}} {transpose_a} : tensor<?x128xf32>, tensor<?x32xf32> -> tensor<128x32xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %[[V0]]] [1, %{{.*}}, 1, 32] [1, 1, 1, 1] : tensor<?x32xbf16> into tensor<?x?x32x128xbf16>
// CHECK: } {gdn.chunk_step = 64 : i64
// CHECK: tensor.insert_slice %{{.*}} into %[[HT]][%{{.*}}, %{{.*}}, 0, %[[V0]]] [1, 1, 128, 32] [1, 1, 1, 1] : tensor<128x32xf32> into tensor<?x32x128x128xf32>
// CHECK: } {gdn.value_tiles = 32 : i64}
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

// Linear attention, K = 128, V = 64, no initial state: the zero state is made at 32 columns,
// and the chunk's K^T V increment (K x V per chunk) is read at the tile's columns.
// CHECK-LABEL: func.func @linear_attention
// CHECK: %[[PREP:.*]]:3 = scf.forall
// CHECK: scf.forall.in_parallel
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %c2 step
// CHECK: %[[V0:.*]] = arith.muli %[[T]], %c32
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<128x32xf32>)
// CHECK: tensor.extract_slice %[[PREP]]#2[%{{.*}}, 0, %[[V0]]] [1, 128, 32] [1, 1, 1] : tensor<2x128x64xf32> to tensor<128x32xf32>
// CHECK: } {gdn.value_tiles = 32 : i64}
func.func @linear_attention(%q: tensor<2x100x4x128xf32>, %k: tensor<2x100x4x128xf32>,
                            %v: tensor<2x100x4x64xf32>) -> (tensor<2x100x4x64xf32>, tensor<2x4x128x64xf32>) {
  %o, %hT = gdn.recurrence <none, additive> q(%q : tensor<2x100x4x128xf32>) k(%k : tensor<2x100x4x128xf32>)
      v(%v : tensor<2x100x4x64xf32>) -> tensor<2x100x4x64xf32>, tensor<2x4x128x64xf32>
  return %o, %hT : tensor<2x100x4x64xf32>, tensor<2x4x128x64xf32>
}
