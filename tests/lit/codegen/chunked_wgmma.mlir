// wgmma: the sliced state pass issues its products with the chunk tiles as warpgroup
// wgmma.mma_async (A from registers, B by shared-memory descriptor), per chunk: K S and Q S
// (fresh accumulators on the first k-step), a wait; Vnew, a wait; O^T then the state update
// (B N-major: the last immediate is 1), O^T's group waited for (1 left in flight) before its
// stores, the update's in the next chunk once its copies have landed (after the proxy fence
// for the cp.async tiles, before the barrier that lets the next copies overwrite the k tile
// the update reads). Off
// in the pass by default (it needs sm_90a); gdn-to-ptx turns it on for sm_90a only, and only
// V tiles of whole warpgroups (64, 128) take it.
// RUN: gdn-opt %s --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 wgmma=1" | FileCheck %s
// RUN: gdn-opt %s --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=OFF
// RUN: gdn-opt %s --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=32 wgmma=1" | FileCheck %s --check-prefix=OFF
// RUN: gdn-opt %s --gdn-to-ptx="kernel=chunked chip=sm_90a chunk-size=16 v-tile=128" | FileCheck %s --check-prefix=PTX
// RUN: gdn-opt %s --gdn-to-ptx="kernel=chunked chip=sm_90a chunk-size=32 v-tile=64 wgmma=0" | FileCheck %s --check-prefix=NOWG
// RUN: gdn-opt %s --gdn-to-ptx="kernel=chunked chip=sm_90 chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=NOWG
// RUN: gdn-opt %s --gdn-to-ptx="kernel=chunked chip=sm_80 chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=NOWG

// CHECK-LABEL: gpu.func @gated_deltanet_chunked(
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group
// CHECK-NEXT: llvm.inline_asm has_side_effects "fence.proxy.async.shared::cta;"
// CHECK-NEXT: llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 0;"
// CHECK: gpu.barrier
// CHECK: llvm.inline_asm has_side_effects "wgmma.fence.sync.aligned;"
// CHECK: llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Asetp.ne.b32 p, 0, 0;\0Awgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 {$0, {{.*}}, $15}, {$16, $17, $18, $19}, $20, p, 1, 1, 0;\0A}"
// CHECK: "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 {$0, {{.*}}, $15}, {$32, $33, $34, $35}, $36, 1, 1, 1, 0;"
// CHECK: "wgmma.commit_group.sync.aligned;"
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: "wgmma.fence.sync.aligned;"
// CHECK: "wgmma.commit_group.sync.aligned;"
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: "wgmma.fence.sync.aligned;"
// CHECK: "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 {{.*}}, 1, 1, 1, 0;"
// CHECK: "wgmma.commit_group.sync.aligned;"
// CHECK: "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {$0, {{.*}}, $63}, {$128, $129, $130, $131}, $132, 1, 1, 1, 1;"
// CHECK: "wgmma.commit_group.sync.aligned;"
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// CHECK: scf.yield
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: gpu.return

// OFF-LABEL: gpu.func @gated_deltanet_chunked(
// OFF-NOT: wgmma
// OFF: gpu.return

// PTX: .entry gated_deltanet_chunked(
// PTX: fence.proxy.async.shared::cta;
// PTX: wgmma.mma_async.sync.aligned.m64n16k16.f32.bf16.bf16
// PTX: wgmma.wait_group.sync.aligned 0;
// PTX: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16

// NOWG-NOT: wgmma
// NOWG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// NOWG-NOT: wgmma

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
