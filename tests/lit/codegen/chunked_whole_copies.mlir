// whole-chunk-copies: the state pass copies a whole chunk's tiles (rows == chunk size) without
// per-row predicates (no source-size operand: each thread's sources are one base plus
// constants) and keeps the predicated copies for a sequence's or segment's last, short chunk.
// The prep's copies are unchanged. Off by default.
// RUN: gdn-opt %s --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 whole-chunk-copies=1" | FileCheck %s
// RUN: gdn-opt %s --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=OFF
// RUN: gdn-opt %s --gdn-to-ptx="kernel=chunked chip=sm_90a chunk-size=32 v-tile=64 whole-chunk-copies=1" | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: gpu.func @gated_deltanet_chunked_prep(
// CHECK-NOT: nvgpu.device_async_copy {{.*}}, 8 {bypassL1}
// CHECK-LABEL: gpu.func @gated_deltanet_chunked(
// CHECK: %[[WHOLE:.*]] = arith.cmpi eq, %{{.*}}, %c32{{.*}} : index
// CHECK-NEXT: scf.if %[[WHOLE]] {
// CHECK: nvgpu.device_async_copy %arg0[%{{.*}}], %{{.*}}[%{{.*}}], 8 {bypassL1}
// CHECK: } else {
// CHECK: nvgpu.device_async_copy %arg0[%{{.*}}], %{{.*}}[%{{.*}}], 8, %{{.*}} {bypassL1}

// OFF-LABEL: gpu.func @gated_deltanet_chunked(
// OFF-NOT: nvgpu.device_async_copy {{.*}}, 8 {bypassL1}
// OFF: gpu.return

// Unpredicated copies reach the PTX as the two-operand cp.async.
// PTX: .entry gated_deltanet_chunked(
// PTX-SAME: cp.async.cg.shared.global [%{{[a-z0-9]+}}{{(\+[0-9]+)?}}], [%{{[a-z0-9]+}}{{(\+[0-9]+)?}}], 16;

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
