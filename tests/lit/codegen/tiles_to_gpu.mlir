// gdn-tiles-to-gpu (docs/design.md §3.7) on the tile programs of tests/gpu/tiles.mlir (which
// the GPU test runs): per-thread registers and instructions chosen by the layouts alone, so a
// layout edited by hand changes the code. warps = [4, 1]: 128 threads, each with one row of
// 16 x 8 accumulator tiles (16 mma.sync for the 64 x 32 x 64 product); the same product with
// warps = [2, 1]: 64 threads, two rows each (32 mma.sync). A chain whose intermediate becomes
// an A fragment: in registers with [4, 1] (no barrier, no shared memory), through the shared
// exchange buffer between two barriers with [2, 2]. Products into transposed accumulators and
// with transposed operands, and the chunk step's state update with the state held transposed.
// RUN: gdn-opt %gdn_src_root/tests/gpu/tiles.mlir --gdn-tiles-to-gpu | FileCheck %s
// RUN: gdn-opt %gdn_src_root/tests/gpu/tiles.mlir --pass-pipeline="builtin.module(gdn-tiles-to-gpu,nvvm-attach-target{chip=sm_90a features=+ptx80 O=3},gpu.module(convert-scf-to-cf,expand-strided-metadata,lower-affine,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" | FileCheck %s --check-prefix=PTX
// RUN: gdn-opt %gdn_src_root/tests/gpu/tiles.mlir --gdn-tiles-to-gpu=report-products=1 -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT

// gdn-opt reports the instruction each tile product became.
// REPORT: remark: in @product: mma.sync.m16n8k16 bf16 x 16 per warp (4 warps)
// REPORT: remark: in @product_two_warps: mma.sync.m16n8k16 bf16 x 32 per warp (2 warps)
// REPORT: remark: in @chain: mma.sync.m16n8k16 f16 x 16 per warp (4 warps)
// REPORT: remark: in @chain: mma.sync.m16n8k16 f16 x 32 per warp (4 warps)
// REPORT: remark: in @transposed_product: mma.sync.m16n8k16 bf16 x 16 per warp (4 warps, computed transposed)
// REPORT: remark: in @state_update: mma.sync.m16n8k16 bf16 x 32 per warp (4 warps, computed transposed)
// REPORT: remark: in @prep: mma.sync.m16n8k16 bf16 x 32 per warp (4 warps)

// CHECK-LABEL: gpu.func @product
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @product_two_warps
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @chain(
// CHECK-NOT: workgroup
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK: arith.truncf {{.*}} : vector<32xf32> to vector<32xf16>
// CHECK-NOT: gpu.barrier
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @chain_through_shared
// CHECK-SAME: workgroup(%{{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: memref.load {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @accumulate
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<32xf32>)
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK: arith.addf {{.*}} : vector<32xf32>
// CHECK: scf.yield {{.*}} : vector<32xf32>
// CHECK: arith.mulf {{.*}} : vector<32xf32>
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @transposed_product
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @transpose_a
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return

// The state held transposed: both products take their A from registers in place (no barrier,
// no exchange buffer), 32 mma.sync each over a reduction of 64.
// CHECK-LABEL: gpu.func @state_update
// CHECK-NOT: workgroup
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK: arith.truncf {{.*}} : vector<32xf32> to vector<32xbf16>
// CHECK-NOT: gpu.barrier
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: arith.addf {{.*}} : vector<32xf32>
// CHECK: gpu.return

// A chunk of n rows (dynamic) held at gdn.chunk_size = 32: loads past n read the first row and
// select zeros (no branch), stores past n are skipped.
// CHECK-LABEL: gpu.func @short_chunk
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK: %[[IN:.*]] = arith.cmpi ult
// CHECK: %[[X:.*]] = memref.load
// CHECK: arith.select %[[IN]], %[[X]], %{{.*}} : bf16
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK: memref.dim
// CHECK: scf.if
// CHECK: memref.store
// CHECK: gpu.return

// The gate family: the cumsum through the exchange buffer (a loop over the rows up to each
// element's), G in its own shared buffer, exp by ex2.approx, row factors multiplied in place.
// CHECK-LABEL: gpu.func @gates
// CHECK-SAME: workgroup(%{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return

// The delta rule's prep: the gram on tensor cores with its mask and gates per element, the
// row factors, and the solve through the exchange buffer (A and Tm: 2 x 64 x 64 f32), one
// column per thread.
// CHECK-LABEL: gpu.func @prep
// CHECK-SAME: workgroup(%{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<8192xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK: arith.cmpi ugt
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: arith.negf
// CHECK: gpu.barrier
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @l2norm
// CHECK: scf.for
// CHECK: llvm.call_intrinsic "llvm.nvvm.rsqrt.approx.ftz.f"
// CHECK: gpu.return

// In the PTX, bf16 and f16 instructions by the operands' element type, the block size from the
// layouts, barriers only where the [2, 2] chain goes through shared memory.
// PTX: .entry product(
// PTX: .maxntid 128, 1, 1
// PTX-COUNT-16: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-NOT: bar.sync
// PTX: .entry product_two_warps(
// PTX: .maxntid 64, 1, 1
// PTX-COUNT-32: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-NOT: bar.sync
// PTX: .entry chain(
// PTX-COUNT-48: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-NOT: bar.sync
// PTX: .entry chain_through_shared(
// PTX: bar.sync
// PTX: st.shared
// PTX: bar.sync
// PTX: ld.shared
// PTX: .entry accumulate(
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: .entry state_update(
// PTX-NOT: bar.sync
// PTX-COUNT-64: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-NOT: bar.sync
// PTX: ret;
