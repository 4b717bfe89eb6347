// The chunked kernels: a chunk-parallel prep kernel (A and QKg on tensor cores, then the
// triangular solve) and the sequential state pass (cp.async double buffering, the products
// with the state on tensor cores, the state in mma accumulators); bf16 or f16 operands by
// input type, f32 accumulators; no libdevice calls; dynamic shared memory. By default
// (state-wy) the prep solves for Tm = (I + A)^-1 and the state pass forms
// Vnew = Tm diag(beta) (V - diag(exp(G) kf) K S) itself; state-wy=0 puts W and U in the
// workspace instead. Operands come by ldmatrix unless ldmatrix=0.
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels | FileCheck %s --check-prefix=KERNEL
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=chunked chunk-size=32" | FileCheck %s --check-prefix=PTX
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels=v-tile=48 2>&1 | FileCheck %s --check-prefix=VTILE
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=chunked chunk-size=32 ldmatrix=0" | FileCheck %s --check-prefix=SHARED
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 state-wy=0" | FileCheck %s --check-prefix=WU
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 state-wy=0 prep-inverse=1" | FileCheck %s --check-prefix=INVERSE
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=SLICED
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=128 sliced-state=0" 2>&1 | FileCheck %s --check-prefix=TILED128
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 prep-warps=2" | FileCheck %s --check-prefix=PREPW2
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="prep-warps=3" 2>&1 | FileCheck %s --check-prefix=PREPW3
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=16 prep-warps=1" | FileCheck %s --check-prefix=PREPW1
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=64 prep-warps=1" 2>&1 | FileCheck %s --check-prefix=PREPW1C64

// Gated DeltaNet. Prep: K K^T and Q K^T (mma chains unrolled over K = 128: 8 steps each),
// then the substitution of Tm's 64 unit columns with A rows read 4 at a time, and no more
// products. State pass: each chunk waits for its copies (issued during the previous chunk),
// then K S, Tm R, Q S, QKg Vnew and K^T Vnew. Workspace per token: 32 heads x (QKg and Tm
// rows, 2 x 64 x 2 bytes, + 4 f32 row factors).
// KERNEL-LABEL: gpu.func @gated_deltanet_chunked_prep
// KERNEL-SAME: gdn.block = 128
// KERNEL-SAME: gdn.chunk_size = 64
// KERNEL-SAME: gdn.grid = "N*ceil(T/C),HV,1"
// KERNEL-SAME: gdn.prep
// KERNEL: gpu.dynamic_shared_memory
// KERNEL: nvgpu.device_async_copy
// KERNEL-COUNT-16: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>
// KERNEL-NOT: nvvm.mma.sync
// KERNEL: vector.load {{.*}} vector<4xf32>
// KERNEL-NOT: nvvm.mma.sync
// KERNEL: gpu.return
// KERNEL-LABEL: gpu.func @gated_deltanet_chunked(
// KERNEL-SAME: gdn.block = 256
// KERNEL-SAME: gdn.chunk_size = 64
// KERNEL-SAME: gdn.grid = "N,HV,4"
// KERNEL-SAME: gdn.prep_block = 128
// KERNEL-SAME: gdn.prep_kernel = "gated_deltanet_chunked_prep"
// KERNEL-SAME: gdn.v_tile = 32
// KERNEL-SAME: gdn.workspace_token_bytes = 8704
// KERNEL: nvgpu.device_async_copy
// KERNEL: nvvm.cp.async.commit.group
// KERNEL: nvvm.cp.async.wait.group 0
// KERNEL: nvvm.ldmatrix
// KERNEL: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>
// KERNEL: gpu.return
// PTX: .entry gated_deltanet_chunked_prep
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// The pipeline's defaults (V tile 64) at C = 32 build the sliced state pass: B operands two
// n-blocks per ldmatrix.x4, V^T and K by ldmatrix.x4.trans.
// PTX: .entry gated_deltanet_chunked
// PTX: cp.async.cg.shared.global
// PTX: wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16
// PTX: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX-NOT: __nv_
// VTILE: v-tile must be 16, 32 or 64
// With ldmatrix=0 the operands are 32-bit shared loads.
// SHARED: .entry gated_deltanet_chunked_prep
// SHARED-NOT: ldmatrix
// SHARED: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// With state-wy=0 the prep substitutes every column of [W | U] (K + V = 256 columns, one per
// thread) and writes both to the workspace: 32 x (2 x (128 + 128 + 32) + 16) bytes per token.
// WU-LABEL: gpu.func @gated_deltanet_chunked_prep
// WU-COUNT-16: nvvm.mma.sync
// WU-NOT: nvvm.mma.sync
// WU: vector.load {{.*}} vector<4xf32>
// WU-LABEL: gpu.func @gated_deltanet_chunked(
// WU-SAME: gdn.workspace_token_bytes = 18944
// With prep-inverse=1 (and state-wy=0) the prep copies V rows too, and after K K^T (8 steps
// over K = 128) and Q K^T (8) forms W = (Tm diag(w)) K and U = (Tm diag(beta)) V on tensor
// cores (2 steps over C = 32 per tile); the column-per-thread substitution of [W | U] is gone
// (32 unit columns).
// INVERSE-LABEL: gpu.func @gated_deltanet_chunked_prep
// INVERSE-COUNT-3: nvgpu.device_async_copy
// INVERSE-COUNT-16: nvvm.mma.sync
// INVERSE: vector.load {{.*}} vector<4xf32>
// INVERSE-COUNT-4: nvvm.mma.sync
// INVERSE: gpu.return
// Sliced state (C = 32, V tile 64: 4 warps of 16 value columns): one barrier per chunk, and
// per chunk and warp 8 k-steps x 4 token tiles for K S and Q S (64 mma), Tm R and QKg Vnew
// (8 each), and the update over K = 128 (2 token steps x 16 tiles, 32): 112 mma, unrolled.
// The tiled state pass has no V tile of 128. By default (segments=0) the state pass is
// segmented, up to 8 segments, the launch passing how many it runs (the last argument).
// SLICED-LABEL: gpu.func @gated_deltanet_chunked(
// SLICED-SAME: %arg11: index
// SLICED-SAME: gdn.args = [{{.*}}"T", "N", "segments"]
// SLICED-SAME: gdn.block = 128
// SLICED-SAME: gdn.grid = "N,HV,2*segments"
// SLICED-SAME: gdn.segments = 8
// SLICED-SAME: gdn.segments_auto
// SLICED-SAME: gdn.v_tile = 64
// SLICED: scf.for
// SLICED: nvvm.cp.async.wait.group 0
// SLICED-NEXT: gpu.barrier
// SLICED-NOT: gpu.barrier
// SLICED-COUNT-112: nvvm.mma.sync
// SLICED-NOT: nvvm.mma.sync
// SLICED-NOT: gpu.barrier
// SLICED: gpu.return
// TILED128: v-tile must be 16, 32 or 64 (or 128 with sliced-state
// prep-warps sets the prep block (2 x 32 threads here; 4 warps by default) and its
// contract in the state kernel's attributes; other counts are rejected with the reason.
// PREPW2-LABEL: gpu.func @gated_deltanet_chunked_prep
// PREPW2-SAME: gdn.block = 64
// PREPW2-LABEL: gpu.func @gated_deltanet_chunked(
// PREPW2-SAME: gdn.prep_block = 64
// PREPW3: prep-warps must be 0 (chosen from the layer), 1, 2, 4 or 8
// One warp per prep block (a chunk per warp: no idle warps while one solves), up to chunk 32.
// PREPW1-LABEL: gpu.func @gated_deltanet_chunked_prep
// PREPW1-SAME: gdn.block = 32
// PREPW1-LABEL: gpu.func @gated_deltanet_chunked(
// PREPW1-SAME: gdn.prep_block = 32
// PREPW1C64: prep-warps 1 needs chunk-size 16 or 32
func.func @gated_deltanet(%q: tensor<?x?x16x128xbf16>, %v: tensor<?x?x32x128xbf16>,
                          %g: tensor<?x?x32xf32>, %h0: tensor<?x32x128x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x16x128xbf16>) k(%q : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x32x128xbf16>) g(%g : tensor<?x?x32xf32>) beta(%g : tensor<?x?x32xf32>)
      initial_state(%h0 : tensor<?x32x128x128xf32>) {qk_l2norm}
      -> tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
  return
}

// -----

// The additive rule has no solve and no W S: prep has only Q K^T (K = 64: 4 mma steps per
// tile); the state pass has Q S, QKg Vnew and K^T Vnew. f16 inputs give f16 operands.
// KERNEL-LABEL: gpu.func @mamba2_chunked_prep
// KERNEL-COUNT-4: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32)
// KERNEL-NOT: nvvm.mma.sync
// KERNEL-NOT: vector.load {{.*}}vector<4xf32>
// KERNEL: gpu.return
// KERNEL-LABEL: gpu.func @mamba2_chunked(
// KERNEL: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32)
// KERNEL-NOT: bf16
// PTX: .entry mamba2_chunked
// PTX: wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16
// VTILE: v-tile must be 16, 32 or 64
func.func @mamba2(%q: tensor<?x?x2x64xf16>, %v: tensor<?x?x4x64xf16>, %g: tensor<?x?x4xf32>) {
  %o = gdn.recurrence <scalar, additive> q(%q : tensor<?x?x2x64xf16>) k(%q : tensor<?x?x2x64xf16>)
      v(%v : tensor<?x?x4x64xf16>) g(%g : tensor<?x?x4xf32>) beta(%g : tensor<?x?x4xf32>)
      {scale = 1.0 : f32} -> tensor<?x?x4x64xf16>
  return
}

// -----

// No gate: no exponentials at all.
// KERNEL-LABEL: gpu.func @deltanet_chunked
// KERNEL-NOT: llvm.nvvm.ex2
// KERNEL: gpu.return
// PTX: .entry deltanet_chunked
// PTX-NOT: ex2.approx
// VTILE: v-tile must be 16, 32 or 64
func.func @deltanet(%q: tensor<?x?x4x64xbf16>, %beta: tensor<?x?x4xbf16>) {
  %o = gdn.recurrence <none, delta> q(%q : tensor<?x?x4x64xbf16>) k(%q : tensor<?x?x4x64xbf16>)
      v(%q : tensor<?x?x4x64xbf16>) beta(%beta : tensor<?x?x4xbf16>) -> tensor<?x?x4x64xbf16>
  return
}
