// Channel gates (KDA: channel + delta; GLA: channel + additive) on the chunked kernels. The
// prep kernel cumulates the C x K gates per channel, writes the gated tiles the state pass
// reads instead of q and k (Q1 = scale qf exp(G) Q, K1 = kf exp(G) K, K2 = kf exp(G_n - G) K)
// and the chunk's decay vector exp(G_n), 8 channels per thread, each exp one ex2 (the gates
// are cumulated in log2 units); KKg and QKg sum the lower triangles of their diagonal
// 8 x 8 blocks per element in f32 (G_i - G_j <= 0 there) and the rest on tensor cores, one
// 8-row block at a time (every gate factor <= 1). The state pass decays
// S by the vector (per column of S^T sliced, per row of S tiled).
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=KERNEL
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=64" | FileCheck %s --check-prefix=TILED
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=chunked chunk-size=32" | FileCheck %s --check-prefix=PTX

// KDA, C = 32: three 8-row blocks left of the diagonal (K K^T and Q K^T, 8 k-steps each);
// the sliced state pass has its 112 mma per chunk. Workspace per token: 8 heads x (QKg, Tm: 2 x 32; Q1, K1,
// K2: 3 x 128; 16-bit) + (4 row factors + 128 decays, f32) = 8 x 1424 bytes.
// KERNEL-LABEL: gpu.func @kda_chunked_prep
// KERNEL: gpu.barrier
// KERNEL: vector.load {{.*}} vector<8xbf16>
// KERNEL-COUNT-32: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// KERNEL: vector.store {{.*}} vector<8xbf16>
// KERNEL: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32)
// KERNEL-COUNT-8: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// KERNEL: gpu.barrier
// KERNEL-COUNT-48: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>
// KERNEL-NOT: nvvm.mma.sync
// KERNEL: gpu.return
// KERNEL-LABEL: gpu.func @kda_chunked(
// KERNEL-SAME: gdn.workspace_token_bytes = 11392
// KERNEL: gpu.barrier
// KERNEL-COUNT-112: nvvm.mma.sync
// KERNEL-NOT: nvvm.mma.sync
// KERNEL: gpu.return
// C = 64 (the tiled state pass): seven 8-row blocks in the prep.
// TILED-LABEL: gpu.func @kda_chunked_prep
// TILED-COUNT-112: nvvm.mma.sync
// TILED-NOT: nvvm.mma.sync
// TILED: gpu.return
// TILED-LABEL: gpu.func @kda_chunked(
// TILED-SAME: gdn.workspace_token_bytes = 12416
// PTX: .entry kda_chunked_prep
// PTX: ex2.approx.ftz.f32
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: .entry kda_chunked(
// PTX: cp.async.wait_group
// PTX: wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16
func.func @kda(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>, %v: tensor<?x?x8x128xbf16>,
               %g: tensor<?x?x8x128xf32>, %beta: tensor<?x?x8xf32>, %h0: tensor<?x8x128x128xf32>) {
  %o, %s = gdn.recurrence <channel, delta> q(%q : tensor<?x?x4x128xbf16>) k(%k : tensor<?x?x4x128xbf16>)
      v(%v : tensor<?x?x8x128xbf16>) g(%g : tensor<?x?x8x128xf32>) beta(%beta : tensor<?x?x8xf32>)
      initial_state(%h0 : tensor<?x8x128x128xf32>) {qk_l2norm}
      -> tensor<?x?x8x128xbf16>, tensor<?x8x128x128xf32>
  return
}

// -----

// GLA, K = 64: no A (additive), Q K^T only (4 k-steps, 3 blocks); the state pass has Q S (16), QKg U
// (8) and the update (16). Workspace: 4 x (U 128, QKg 32, Q1 and K2 2 x 64; 16-bit) + (4 + 64)
// f32 = 4 x 848 bytes.
// KERNEL-LABEL: gpu.func @gla_chunked_prep
// KERNEL-COUNT-12: nvvm.mma.sync
// KERNEL-NOT: nvvm.mma.sync
// KERNEL: gpu.return
// KERNEL-LABEL: gpu.func @gla_chunked(
// KERNEL-SAME: gdn.workspace_token_bytes = 3392
// KERNEL-COUNT-40: nvvm.mma.sync
// KERNEL-NOT: nvvm.mma.sync
// KERNEL: gpu.return
// TILED-LABEL: gpu.func @gla_chunked_prep
// TILED-COUNT-28: nvvm.mma.sync
// TILED-NOT: nvvm.mma.sync
// TILED: gpu.return
// PTX: .entry gla_chunked_prep
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: .entry gla_chunked(
// PTX: wgmma.mma_async.sync.aligned.m64n{{[0-9]+}}k16.f32.bf16.bf16
func.func @gla(%q: tensor<?x?x4x64xbf16>, %v: tensor<?x?x4x128xbf16>, %g: tensor<?x?x4x64xf32>) {
  %o = gdn.recurrence <channel, additive> q(%q : tensor<?x?x4x64xbf16>) k(%q : tensor<?x?x4x64xbf16>)
      v(%v : tensor<?x?x4x128xbf16>) g(%g : tensor<?x?x4x64xf32>) -> tensor<?x?x4x128xbf16>
  return
}
