// k-split 2: two warps per 16 value columns of the sliced state pass, each holding half of K.
// Each warp's K S and Q S run over its half (16 + 16 mma at C = 32, K = 128), the partial
// sums are swapped through shared memory behind a 64-thread named barrier (id = column group
// + 1), both warps form Vnew (8 mma), the first writes O (8 mma, under an scf.if), and each
// updates its half of the state (16 mma): 64 mma per warp and chunk instead of 112.
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 k-split=2" | FileCheck %s
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 k-split=1" | FileCheck %s --check-prefix=ONE
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=chunked chunk-size=32 v-tile=64 k-split=2" | FileCheck %s --check-prefix=PTX
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=64 v-tile=64 stages=2 k-split=2" | FileCheck %s --check-prefix=C64
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=128 k-split=2" 2>&1 | FileCheck %s --check-prefix=WIDE
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="k-split=3" 2>&1 | FileCheck %s --check-prefix=RANGE

// 8 warps for 4 column groups; shared memory: 2 stages of chunk tiles (2 x 27 KB) and the
// exchange area (8 warps x 32 lanes x 32 floats x 4 bytes = 32 KB).
// CHECK-LABEL: gpu.func @gated_deltanet_chunked(
// CHECK-SAME: gdn.block = 256
// CHECK-SAME: gdn.shared_memory_bytes = 88064
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK: arith.xori
// CHECK-COUNT-8: nvvm.mma.sync
// CHECK: scf.if
// CHECK-COUNT-8: nvvm.mma.sync
// CHECK: }
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
// ONE-LABEL: gpu.func @gated_deltanet_chunked(
// ONE-SAME: gdn.block = 128
// ONE-NOT: nvvm.barrier id
// ONE-COUNT-112: nvvm.mma.sync
// ONE-NOT: nvvm.mma.sync
// ONE: gpu.return
// PTX: .entry gated_deltanet_chunked(
// PTX: bar.sync {{.*}}%r{{[0-9]+}}, 64;
// K = 128 at chunk 64 fits in registers with the K halves (the state pass stays sliced):
// 32 + 32 (K S, Q S over half of K), 32 (Vnew), 32 (O), 32 (update) mma.
// C64-LABEL: gpu.func @gated_deltanet_chunked(
// C64-SAME: gdn.block = 256
// C64-COUNT-160: nvvm.mma.sync
// C64-NOT: nvvm.mma.sync
// C64: gpu.return
// WIDE: k-split 2 needs v-tile <= 64
// RANGE: k-split must be 1 or 2
func.func @gated_deltanet(%q: tensor<?x?x16x128xbf16>, %v: tensor<?x?x32x128xbf16>,
                          %g: tensor<?x?x32xf32>, %h0: tensor<?x32x128x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x16x128xbf16>) k(%q : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x32x128xbf16>) g(%g : tensor<?x?x32xf32>) beta(%g : tensor<?x?x32xf32>)
      initial_state(%h0 : tensor<?x32x128x128xf32>) {qk_l2norm}
      -> tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
  return
}
