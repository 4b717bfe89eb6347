// A packed batch (cu_seqlens): the prep's ceil(T / C) + N chunk slots find their sequence by
// bisection over cu_seqlens (sequence m owns floor(cu[m] / C) + m on) and a slot past its
// sequence's chunks does nothing; the step reads its sequence's first token and length from
// cu_seqlens; the workspace pads each sequence by a chunk (docs/design.md §3.8).
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-assign-layouts --gdn-chunk-kernels --canonicalize --cse | FileCheck %s

// CHECK-LABEL: gpu.func @packed_prep(
// CHECK-SAME: %[[CU:[a-z0-9]+]]: memref<?xi32>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xi8>, %[[T:[a-z0-9]+]]: index, %[[N:[a-z0-9]+]]: index)
// CHECK-SAME: gdn.args = ["q", "k", "v", "beta", "cu_seqlens", "o", "workspace", "T", "N"]
// CHECK-SAME: gdn.grid = "ceil(T/C)+N,HV,1"
// CHECK: %[[SLOT:.*]] = gpu.block_id x
// CHECK: %[[SEQ:.*]]:2 = scf.while (%{{.*}} = %{{.*}}, %{{.*}} = %[[N]])
// CHECK: memref.load %[[CU]]
// CHECK: memref.load %[[CU]][%[[SEQ]]#0]
// CHECK: %[[INSIDE:.*]] = arith.cmpi ult
// CHECK: scf.if %[[INSIDE]] {
// CHECK: gdn.tile.gated_gram
// CHECK: bufferization.materialize_in_destination
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @packed(
// CHECK-SAME: gdn.grid = "N,HV,1"
// CHECK: %[[SEQ2:.*]] = gpu.block_id x
// CHECK: %[[BOS:.*]] = memref.load %{{.*}}[%[[SEQ2]]] : memref<?xi32>
// CHECK: scf.for
func.func @packed(%q: tensor<1x?x1x64xbf16>, %k: tensor<1x?x1x64xbf16>,
                  %v: tensor<1x?x1x64xbf16>, %beta: tensor<1x?x1xf32>, %cu: tensor<?xi32>)
    -> tensor<1x?x1x64xbf16> {
  %o = gdn.recurrence <none, delta>
      q(%q : tensor<1x?x1x64xbf16>) k(%k : tensor<1x?x1x64xbf16>) v(%v : tensor<1x?x1x64xbf16>)
      beta(%beta : tensor<1x?x1xf32>) cu_seqlens(%cu : tensor<?xi32>) -> tensor<1x?x1x64xbf16>
  return %o : tensor<1x?x1x64xbf16>
}
