// The recurrent GPU kernel of each family, lowered to NVVM and to PTX without a GPU or a
// CUDA toolkit (NVPTX is built into LLVM). The PTX uses ex2.approx and sqrt.rn directly, so
// it needs no libdevice.
// RUN: gdn-opt %s -split-input-file --gdn-recurrent-gpu-kernels | FileCheck %s --check-prefix=KERNEL
// RUN: gdn-opt %s -split-input-file --gdn-to-nvvm | FileCheck %s --check-prefix=NVVM
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx | FileCheck %s --check-prefix=PTX
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="chip=sm_80 features=+ptx70" | FileCheck %s --check-prefix=SM80
// RUN: not gdn-opt %s -split-input-file --gdn-recurrent-gpu-kernels=block-size=48 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: gdn-opt %s -split-input-file --gdn-recurrent-gpu-kernels=block-size=16 | FileCheck %s --check-prefix=BLOCK16
// RUN: gdn-opt %s -split-input-file --gdn-recurrent-gpu-kernels=k-slices=8 | FileCheck %s --check-prefix=SLICES8
// RUN: not gdn-opt %s -split-input-file --gdn-recurrent-gpu-kernels=k-slices=5 2>&1 | FileCheck %s --check-prefix=SLICES5

// KERNEL-LABEL: gpu.module @gdn
// KERNEL: gpu.func @gated_deltanet_recurrent(%{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: index)
// KERNEL-NOT: private(
// KERNEL-SAME: kernel
// KERNEL-SAME: gdn.args = ["q", "k", "v", "g", "beta", "initial_state", "o", "final_state", "T"]
// KERNEL-SAME: gdn.block = 64
// KERNEL-SAME: gdn.grid = "N,HV,2"
// KERNEL: gpu.block_id x
// KERNEL: gpu.thread_id x
// A thread's 4 columns over a quarter of K: its K state registers arrive by 16-byte loads and
// are carried by the token loop (no private array); q and k slices come 16 bytes at a time,
// and the partial dot products meet across the quarters by shuffles.
// KERNEL: vector.load {{.*}} vector<4xf32>
// KERNEL: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32
// KERNEL: llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// KERNEL: vector.load {{.*}} vector<8xbf16>
// KERNEL: gpu.shuffle xor
// KERNEL: llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"
// KERNEL: arith.truncf %{{.*}} : f32 to bf16
// NVVM-LABEL: gpu.module @gdn
// NVVM: llvm.func @gated_deltanet_recurrent
// NVVM-SAME: nvvm.kernel
// NVVM: nvvm.read.ptx.sreg.ctaid.x
// NVVM: nvvm.read.ptx.sreg.tid.x
// NVVM-NOT: __nv_
// PTX: gpu.binary @gdn
// PTX-SAME: .target sm_90a
// PTX-SAME: .entry gated_deltanet_recurrent
// PTX-SAME: ex2.approx.f32
// PTX-SAME: sqrt.rn.f32
// PTX-SAME: cvt.rn.bf16.f32
// SM80: .target sm_80
// BLOCK: block-size 48 (48 value columns) must divide V = 128
// With 8 K slices a warp covers 16 columns (4 lanes per slice, 4 columns each): 64 threads
// hold a V tile of 32 columns, K / 8 = 16 state rows per thread, three shuffle levels.
// SLICES8-LABEL: gpu.func @gated_deltanet_recurrent
// SLICES8-SAME: gdn.block = 64
// SLICES8-SAME: gdn.grid = "N,HV,4"
// SLICES8-SAME: gdn.v_tile = 32
// SLICES8-COUNT-3: gpu.shuffle xor
// SLICES5: k-slices must be 4 or 8
// A block that is not whole warps: one column over all K per thread, no shuffles.
// BLOCK16-LABEL: gpu.func @gated_deltanet_recurrent
// BLOCK16-SAME: gdn.block = 16
// BLOCK16-SAME: gdn.v_tile = 16
// BLOCK16-NOT: gpu.shuffle
// BLOCK16: gpu.return
func.func @gated_deltanet(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>,
                          %v: tensor<?x?x32x128xbf16>, %g: tensor<?x?x32xf32>,
                          %beta: tensor<?x?x32xf32>, %h0: tensor<?x32x128x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta>
      q(%q : tensor<?x?x16x128xbf16>) k(%k : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x32x128xbf16>) g(%g : tensor<?x?x32xf32>)
      beta(%beta : tensor<?x?x32xf32>) initial_state(%h0 : tensor<?x32x128x128xf32>)
      {qk_l2norm} -> tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
  return
}

// -----

// No gate, additive, f32, no states, no norm: none of the corresponding code appears.
// KERNEL-LABEL: gpu.module @gdn
// KERNEL: gpu.func @linear_attention_recurrent(%{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: index)
// KERNEL-SAME: gdn.args = ["q", "k", "v", "o", "T"]
// KERNEL-NOT: llvm.call_intrinsic
// KERNEL-NOT: arith.truncf
// KERNEL: gpu.return
// NVVM-LABEL: gpu.module @gdn
// PTX: .entry linear_attention_recurrent
// PTX-NOT: ex2.approx
// SM80: .target sm_80
// BLOCK: block-size 48 (48 value columns) must divide V = 64
func.func @linear_attention(%q: tensor<?x?x2x64xf32>) {
  %o = gdn.recurrence <none, additive> q(%q : tensor<?x?x2x64xf32>) k(%q : tensor<?x?x2x64xf32>)
      v(%q : tensor<?x?x2x64xf32>) -> tensor<?x?x2x64xf32>
  return
}

// -----

// Channel gates read one gate per key channel; a packed batch reads its offsets.
// KERNEL-LABEL: gpu.module @gdn
// KERNEL: gpu.func @kda_varlen_recurrent
// KERNEL-SAME: gdn.args = ["q", "k", "v", "g", "beta", "cu_seqlens", "o", "final_state", "T"]
// KERNEL: memref.load %{{.*}} : memref<?xi32>
// KERNEL: llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// NVVM-LABEL: gpu.module @gdn
// PTX: .entry kda_varlen_recurrent
// PTX-SAME: ex2.approx.f32
// SM80: .target sm_80
// BLOCK: block-size 48 (48 value columns) must divide V = 256
func.func @kda_varlen(%q: tensor<1x?x2x64xf16>, %v: tensor<1x?x4x256xf16>, %g: tensor<1x?x4x64xf32>,
                      %beta: tensor<1x?x4xf32>, %cu: tensor<?xi32>) {
  %o, %s = gdn.recurrence <channel, delta> q(%q : tensor<1x?x2x64xf16>) k(%q : tensor<1x?x2x64xf16>)
      v(%v : tensor<1x?x4x256xf16>) g(%g : tensor<1x?x4x64xf32>) beta(%beta : tensor<1x?x4xf32>)
      cu_seqlens(%cu : tensor<?xi32>) -> tensor<1x?x4x256xf16>, tensor<?x4x64x256xf32>
  return
}

// -----

// A decode step is the same kernel with the state operand and the new state.
// KERNEL-LABEL: gpu.module @gdn
// KERNEL: gpu.func @decode_recurrent
// KERNEL-SAME: gdn.args = ["q", "k", "v", "g", "beta", "initial_state", "o", "final_state", "T"]
// KERNEL-SAME: gdn.layer = "gdn.decode"
// NVVM-LABEL: gpu.module @gdn
// PTX: .entry decode_recurrent
// SM80: .target sm_80
// BLOCK: block-size 48 (48 value columns) must divide V = 128
func.func @decode(%q: tensor<8x1x4x128xbf16>, %v: tensor<8x1x8x128xbf16>, %g: tensor<8x1x8xf32>,
                  %s: tensor<8x8x128x128xf32>) {
  %o, %s1 = gdn.decode <scalar, delta> q(%q : tensor<8x1x4x128xbf16>) k(%q : tensor<8x1x4x128xbf16>)
      v(%v : tensor<8x1x8x128xbf16>) g(%g : tensor<8x1x8xf32>) beta(%g : tensor<8x1x8xf32>)
      state(%s : tensor<8x8x128x128xf32>) -> tensor<8x1x8x128xbf16>, tensor<8x8x128x128xf32>
  return
}
