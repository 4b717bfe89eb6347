// stmatrix-stores: the sliced state pass writes each warp's O^T through stmatrix.x4.trans into
// its own shared tile (token rows), waits at a warp barrier, and stores 16-byte row pieces
// (one per lane and 16 tokens), predicated on the token being in the chunk. Off in the pass
// by default (it needs sm_90); the gdn-to-ptx pipeline turns it on for sm_90 and later only.
// RUN: gdn-opt %s --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 stmatrix-stores=1" | FileCheck %s
// RUN: gdn-opt %s --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=OFF
// RUN: gdn-opt %s --gdn-to-ptx="kernel=chunked chip=sm_90a chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=SM90
// RUN: gdn-opt %s --gdn-to-ptx="kernel=chunked chip=sm_90a chunk-size=32 v-tile=64 stmatrix-stores=0" | FileCheck %s --check-prefix=NOSTM
// RUN: gdn-opt %s --gdn-to-ptx="kernel=chunked chip=sm_80 chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=NOSTM

// CHECK-LABEL: gpu.func @gated_deltanet_chunked(
// CHECK: nvvm.stmatrix %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<col>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>}
// CHECK: nvvm.stmatrix
// CHECK: nvvm.bar.warp.sync
// CHECK: vector.load %{{.*}}[%{{.*}}] {alignment = 16 : i64} : memref<{{[0-9]+}}xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: scf.if
// CHECK: vector.store %{{.*}}, %{{.*}}[%{{.*}}] {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
// CHECK: gpu.return

// OFF-LABEL: gpu.func @gated_deltanet_chunked(
// OFF-NOT: nvvm.stmatrix
// OFF: gpu.return

// SM90: .entry gated_deltanet_chunked(
// SM90-SAME: stmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// SM90-SAME: bar.warp.sync
// SM90-SAME: st.global.v4.b32

// NOSTM-NOT: stmatrix

func.func @gated_deltanet(%q: tensor<1x300x2x128xbf16>, %k: tensor<1x300x2x128xbf16>,
                          %v: tensor<1x300x4x128xbf16>, %g: tensor<1x300x4xf32>,
                          %beta: tensor<1x300x4xf32>, %s0: tensor<1x4x128x128xf32>)
    -> (tensor<1x300x4x128xbf16>, tensor<1x4x128x128xf32>) {
  %o, %s1 = gdn.recurrence <scalar, delta>
      q(%q : tensor<1x300x2x128xbf16>) k(%k : tensor<1x300x2x128xbf16>)
      v(%v : tensor<1x300x4x128xbf16>) g(%g : tensor<1x300x4xf32>)
      beta(%beta : tensor<1x300x4xf32>) initial_state(%s0 : tensor<1x4x128x128xf32>)
      -> tensor<1x300x4x128xbf16>, tensor<1x4x128x128xf32>
  return %o, %s1 : tensor<1x300x4x128xbf16>, tensor<1x4x128x128xf32>
}
