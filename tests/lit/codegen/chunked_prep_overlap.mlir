// prep-overlap: the prep becomes a persistent grid that walks (chunk, value head) items and
// publishes each with a ready flag (fence, then a relaxed store); the kernel after it (here the
// segment-state kernel) has no griddepcontrol.wait and polls each chunk's flag before copying
// its workspace rows; the prep signals its dependents right after its own wait. The state pass
// after the combine keeps its wait and polls too. Without a grid dependency (sm_80) nothing
// signals, the flags stay.
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 segments=4 prep-overlap=4" --gdn-grid-dependency | FileCheck %s
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=chunked chip=sm_90a chunk-size=32 v-tile=64 segments=4 prep-overlap=4" | FileCheck %s --check-prefix=PTX
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=chunked chip=sm_80 chunk-size=64 prep-overlap=2" | FileCheck %s --check-prefix=SM80
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=OFF
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="prep-overlap=17" 2>&1 | FileCheck %s --check-prefix=RANGE

// CHECK-LABEL: gpu.func @gated_deltanet_chunked_prep(
// CHECK-SAME: gdn.grid = "min(slots*HV,SMs*overlap),1,1"
// CHECK-SAME: gdn.prep_overlap = 4
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK: %[[STEP:.*]] = gpu.grid_dim x
// CHECK: scf.for %{{.*}} = %block_id_x to %{{.*}} step %[[STEP]]
// CHECK: gpu.barrier
// CHECK: llvm.inline_asm has_side_effects "fence.acq_rel.gpu;{{.*}}st.relaxed.gpu.u32 [$0], 1;"
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @gated_deltanet_chunked(
// CHECK-SAME: gdn.prep_blocks_per_sm = 4
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK: scf.while
// CHECK: nvvm.nanosleep
// CHECK: llvm.inline_asm has_side_effects "ld.relaxed.gpu.u32 $0, [$1];"
// CHECK-LABEL: gpu.func @gated_deltanet_chunked_segments(
// CHECK-SAME: gdn.reads_prep_flags
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: llvm.inline_asm has_side_effects "ld.relaxed.gpu.u32 $0, [$1];"
// CHECK-LABEL: gpu.func @gated_deltanet_chunked_combine(
// CHECK-NEXT: nvvm.griddepcontrol wait

// The PTX is one escaped line: PTX-SAME steps through it.
// PTX: .entry gated_deltanet_chunked_prep(
// PTX-SAME: griddepcontrol.wait;\0A\09griddepcontrol.launch_dependents;
// PTX-SAME: fence.acq_rel.gpu;\0A\09st.relaxed.gpu.u32
// PTX-SAME: .entry gated_deltanet_chunked(
// PTX-SAME: griddepcontrol.wait;
// PTX-SAME: ld.relaxed.gpu.u32
// PTX-SAME: .entry gated_deltanet_chunked_segments(
// PTX-NOT: griddepcontrol
// PTX-SAME: ld.relaxed.gpu.u32
// PTX-SAME: nanosleep.u32
// PTX-SAME: .entry gated_deltanet_chunked_combine(

// SM80-NOT: griddepcontrol
// SM80: .target sm_80
// SM80-SAME: st.relaxed.gpu.u32
// SM80-SAME: ld.relaxed.gpu.u32
// SM80-NOT: griddepcontrol

// OFF-NOT: inline_asm
// OFF-NOT: prep_overlap

// RANGE: prep-overlap must be in 0..16 (prep blocks per SM)

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
