// The segmented state pass (segments = P): `_segments` finds each segment's end state from
// zero (V tiles, segments 0 .. P-2) and its K x K transition (K tiles, segments 1 .. P-2) with
// the sliced step but no outputs; `_combine` chains them in f32; the main kernel then runs
// every segment at once. The main kernel carries the whole launch contract. Every kernel of the
// layer takes the segments a launch runs (1 .. gdn.segments) as its last argument, from which
// each decodes its blocks: a launch may run fewer than the kernels' most (runtime::segmentsFor,
// or the caller's choice), and with one skips the first two kernels.
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 segments=4" | FileCheck %s
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=chunked chunk-size=32 v-tile=64 segments=4" | FileCheck %s --check-prefix=PTX
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 segments=1" | FileCheck %s --check-prefix=ONE
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64" | FileCheck %s --check-prefix=AUTO
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="segments=65" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 stages=3" | FileCheck %s --check-prefix=STAGES
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="stages=5" 2>&1 | FileCheck %s --check-prefix=STAGES5

// Main kernel: 2 V tiles x P segments per head (P: the launch's, at most 4), 112 mma per chunk
// as unsegmented; its workspace per sequence (after the per-token regions) holds 32 heads x
// (P - 1 E slots of 128 x 128 + P - 2 M slots of 128 x 128) f32, sized by the launch's P.
// CHECK-LABEL: gpu.func @gated_deltanet_chunked(
// CHECK-SAME: %[[P:arg11]]: index
// CHECK-SAME: gdn.args = [{{.*}}"workspace", "T", "N", "segments"]
// CHECK-SAME: gdn.combine_block = 256
// CHECK-SAME: gdn.combine_blocks = 16
// CHECK-SAME: gdn.combine_kernel = "gated_deltanet_chunked_combine"
// CHECK-SAME: gdn.combine_shared_memory_bytes = 36864
// CHECK-SAME: gdn.grid = "N,HV,2*segments"
// CHECK-SAME: gdn.segment_kernel = "gated_deltanet_chunked_segments"
// CHECK-SAME: gdn.segments = 4
// CHECK-NOT: gdn.segments_auto
// The block's (tile, head) from the linear block index and 2 P tiles per head; each
// segment's chunks: ceil(ceil(rows / 32) / P).
// CHECK: %[[TILES:.*]] = arith.muli %{{.*}}, %[[P]] : index
// CHECK: arith.remui %{{.*}}, %[[TILES]] : index
// CHECK: arith.divui %{{.*}}, %[[TILES]] : index
// CHECK: arith.ceildivui %{{.*}}, %[[P]] : index
// Later segments load their chained state from the workspace under a branch (a launch of one
// segment has no E slots); the first reads the initial state.
// CHECK: %[[LATER:.*]] = arith.cmpi ugt
// CHECK: scf.if %[[LATER]] -> (f32
// CHECK: memref.load %{{.*}} : memref<?xf32>
// CHECK: } else {
// CHECK: memref.load %arg5
// CHECK-COUNT-112: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
// Segment states: 2 V tiles for segment 0, then (2 V + 2 K tiles) for segments 1 and 2; per
// chunk K S (32), Tm R (8) and the state update (32), no Q S or output products; no q copies.
// CHECK-LABEL: gpu.func @gated_deltanet_chunked_segments(
// CHECK-SAME: gdn.auxiliary
// CHECK-SAME: gdn.grid = "N,HV,2*(segments-1)+2*(segments-2)"
// CHECK-COUNT-72: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
// Combine: K / 4 row quads x 8 k-groups (256 threads), 8 value columns per block; per k a
// 16-byte load of M^T and two of S_{p-1} feed 4 x 8 f32 FMAs, 4 k per iteration; the 8
// groups' partial sums meet in shared memory, each thread adding one row half's 8 partials
// to E_{p-1}.
// CHECK-LABEL: gpu.func @gated_deltanet_chunked_combine(
// CHECK-SAME: gdn.auxiliary
// CHECK-SAME: gdn.block = 256
// CHECK-SAME: gdn.grid = "N,HV,16"
// CHECK: scf.for %{{.*}} = %{{.*}} to %arg11
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK-COUNT-4: vector.load %{{.*}} : memref<?xf32>, vector<4xf32>
// CHECK-COUNT-128: llvm.intr.fma
// CHECK-NOT: llvm.intr.fma
// CHECK: gpu.barrier
// CHECK-COUNT-32: arith.addf
// CHECK-NOT: arith.addf
// CHECK: gpu.return
// PTX: .entry gated_deltanet_chunked(
// PTX: .entry gated_deltanet_chunked_segments(
// PTX: wgmma.mma_async.sync.aligned.m64n{{[0-9]+}}k16.f32.bf16.bf16
// PTX: .entry gated_deltanet_chunked_combine(
// PTX: fma.rn.f32
// ONE-NOT: gdn.segments
// ONE-NOT: _segments
// ONE-NOT: _combine
// ONE-NOT: "segments"
// segments=0 (the default): kernels for up to 8 segments, the launch choosing how many.
// AUTO-LABEL: gpu.func @gated_deltanet_chunked(
// AUTO-SAME: gdn.args = [{{.*}}"T", "N", "segments"]
// AUTO-SAME: gdn.segments = 8
// AUTO-SAME: gdn.segments_auto
// AUTO-LABEL: gpu.func @gated_deltanet_chunked_segments(
// AUTO-LABEL: gpu.func @gated_deltanet_chunked_combine(
// RANGE: segments must be in 0..64 (0: chosen per launch)
// stages=3: three 27 KB stages of chunk tiles; chunks 0 and 1 are issued before the loop (one
// commit group each, the second possibly empty), and each chunk waits for all but the newest
// group, then issues chunk + 2.
// STAGES-LABEL: gpu.func @gated_deltanet_chunked(
// STAGES-SAME: gdn.shared_memory_bytes = 82944
// STAGES: nvvm.cp.async.commit.group
// STAGES: nvvm.cp.async.commit.group
// STAGES: scf.for
// STAGES: nvvm.cp.async.wait.group 1
// STAGES-NEXT: gpu.barrier
// STAGES: nvvm.cp.async.commit.group
// STAGES: nvvm.mma.sync
// STAGES: nvvm.cp.async.wait.group 0
// STAGES5: stages must be 2, 3 or 4
func.func @gated_deltanet(%q: tensor<?x?x16x128xbf16>, %v: tensor<?x?x32x128xbf16>,
                          %g: tensor<?x?x32xf32>, %h0: tensor<?x32x128x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x16x128xbf16>) k(%q : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x32x128xbf16>) g(%g : tensor<?x?x32xf32>) beta(%g : tensor<?x?x32xf32>)
      initial_state(%h0 : tensor<?x32x128x128xf32>) {qk_l2norm}
      -> tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
  return
}

// -----

// A packed batch (cu_seqlens) splits each sequence into segments: the segment kernel finds
// its sequence's bounds in cu_seqlens (%arg5) like the state pass.
// CHECK-LABEL: gpu.func @packed_chunked(
// CHECK-SAME: gdn.grid = "N,HV,1*segments"
// CHECK-SAME: gdn.segments = 4
// CHECK: memref.load %arg5
// CHECK: memref.load %arg5
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @packed_chunked_segments(
// CHECK: memref.load %arg5
// CHECK: memref.load %arg5
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @packed_chunked_combine(
func.func @packed(%q: tensor<1x?x2x64xbf16>, %v: tensor<1x?x4x64xbf16>, %g: tensor<1x?x4xf32>,
                  %cu: tensor<?xi32>) {
  %o = gdn.recurrence <scalar, delta> q(%q : tensor<1x?x2x64xbf16>) k(%q : tensor<1x?x2x64xbf16>)
      v(%v : tensor<1x?x4x64xbf16>) g(%g : tensor<1x?x4xf32>) beta(%g : tensor<1x?x4xf32>)
      cu_seqlens(%cu : tensor<?xi32>) -> tensor<1x?x4x64xbf16>
  return
}
