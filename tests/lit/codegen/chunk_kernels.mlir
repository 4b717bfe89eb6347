// gdn-chunk-kernels outlines the layout-assigned split chunked form into its two kernels
// (docs/design.md §3.8): the prep once per chunk (block x: the chunk slot, y: the value head),
// the step once per (sequence, value head) with the state carried in its accumulator layout;
// reads of the layer's tensors are views of the kernel's flat buffers, the prep's results go
// through the workspace, o and the final state are materialised in views of theirs.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-assign-layouts --gdn-chunk-kernels --canonicalize --cse | FileCheck %s
// Then gdn-tiles-to-gpu lowers both to tensor cores, and the NVVM pipeline to PTX.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-assign-layouts --gdn-chunk-kernels --canonicalize --cse --gdn-tiles-to-gpu | gdn-opt --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_90a features=+ptx80 O=3},gpu.module(convert-scf-to-cf,expand-strided-metadata,lower-affine,convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX
// The same patterns serve sm_80 (mma.sync only; nothing in the layouts assumes Hopper), through
// the named pipeline gdn-compile and the JIT run.
// RUN: gdn-opt %s --pass-pipeline='builtin.module(gdn-to-ptx{kernel=generated chip=sm_80 format=isa})' | FileCheck %s --check-prefix=SM80
// SM80: .target sm_80
// SM80: .visible .entry gdn_prep(
// SM80: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// SM80: .visible .entry gdn(
// SM80: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32

// CHECK-LABEL: gpu.func @gdn_prep(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>, %[[WS:[a-z0-9]+]]: memref<?xi8>, %{{.*}}: index, %{{.*}}: index)
// CHECK-SAME: gdn.args = ["q", "k", "v", "g", "beta", "initial_state", "o", "final_state", "workspace", "T", "N"], gdn.block = 128 : i64, gdn.chunk_size = 64 : i64, gdn.grid = "N*ceil(T/C),HV,1", gdn.prep
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: gpu.block_id x
// CHECK: gpu.block_id y
// A chunk of q: rows of H K elements, read as bf16 and widened in registers.
// CHECK: %[[QV:.*]] = memref.reinterpret_cast %[[Q]] to offset: [%{{.*}}], sizes: [%{{.*}}, 64], strides: [64, 1]
// CHECK: %[[QC:.*]] = memref.cast %[[QV]]
// CHECK: %[[QT:.*]] = bufferization.to_tensor %[[QC]] restrict {gdn.row_alignment = 16 : i64}
// CHECK: gdn.tile.convert_layout %[[QT]] : tensor<?x64xbf16> -> tensor<?x64xbf16, #gdn.blocked
// The prep's results: six regions of the workspace (G, W, U, QKg, Q', K'; each token's row
// padded to 16 bytes, so G takes 4 f32), f32 where a result
// is read as f32 (G, U), else bf16: the step reads W, QKg, Q' and K' only as product operands,
// rounded to bf16, so the prep rounds them in registers and stores them narrow. Each is stored
// as soon as it is computed (G, the cumulative gates, before the grams), so that its registers
// are free for what follows.
// CHECK: gdn.tile.cumsum
// CHECK: %[[GW:.*]] = memref.view %[[WS]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?xf32>
// CHECK: %[[GV:.*]] = memref.reinterpret_cast %[[GW]] to offset: [%{{.*}}], sizes: [%{{.*}}], strides: [1]
// CHECK: bufferization.materialize_in_destination %{{.*}} in writable %[[GV]]
// CHECK: gdn.tile.gated_gram
// CHECK: gdn.tile.unit_lower_inverse
// The workspace's chunks are whole up to the bound (gdn.padded_to_bound): a short chunk's tiles
// are stored whole, unguarded, and loads past its rows read there and select zeros.
// CHECK: %[[WW:.*]] = memref.view %[[WS]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?xbf16>
// CHECK: %[[WV:.*]] = memref.reinterpret_cast %[[WW]]
// CHECK: %[[WR:.*]] = arith.truncf %{{.*}} : tensor<?x64xf32, #gdn.mma<{{.*}}>> to tensor<?x64xbf16, #gdn.mma<{{.*}}>>
// CHECK: %[[WN:.*]] = gdn.tile.convert_layout %[[WR]] : {{.*}} -> tensor<?x64xbf16>
// CHECK: bufferization.materialize_in_destination %[[WN]] in writable %[[WV]] {gdn.padded_to_bound, gdn.row_alignment = 16 : i64} : (tensor<?x64xbf16>
// CHECK-COUNT-4: bufferization.materialize_in_destination
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @gdn(
// CHECK-SAME: %[[H0:[a-z0-9]+]]: memref<?xf32>, %[[O:[a-z0-9]+]]: memref<?xbf16>, %[[HT:[a-z0-9]+]]: memref<?xf32>, %{{.*}}: memref<?xi8>
// CHECK-SAME: gdn.grid = "N,HV,1", gdn.layer = "gdn.recurrence", gdn.prep_block = 128 : i64, gdn.prep_kernel = "gdn_prep"
// CHECK-SAME: gdn.variant = "scalar,delta", gdn.workspace_sequence_bytes = 100352 : i64, gdn.workspace_token_bytes = 1568 : i64
// The state enters from h0 into a transposed accumulator and the loop carries only it.
// CHECK: memref.reinterpret_cast %[[H0]] to offset: [%{{.*}}], sizes: [64, 64], strides: [64, 1]
// CHECK: %[[S0:.*]] = gdn.tile.convert_layout %{{.*}} : tensor<64x64xf32> -> tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// CHECK: %[[S:.*]] = scf.for %{{.*}} iter_args(%{{.*}} = %[[S0]]) -> (tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>)
// W, read as bf16, goes into its operand layout as bf16 (its rounding is the workspace's).
// CHECK: memref.view %{{.*}} : memref<?xi8> to memref<?xbf16>
// CHECK: %[[WT:.*]] = bufferization.to_tensor %{{.*}} restrict {gdn.padded_to_bound, gdn.row_alignment = 16 : i64} : memref<?x64xbf16, strided<[64, 1], offset: ?>> to tensor<?x64xbf16>
// CHECK: %[[WA:.*]] = gdn.tile.convert_layout %[[WT]] : tensor<?x64xbf16> -> tensor<?x64xbf16, #gdn.dot_operand
// U (held in a transposed accumulator) and K' (the right operand of K'^T Vnew, over the chunk's
// rows) are read down their rows: the workspace keeps their chunks transposed, lines of C.
// CHECK: memref.reinterpret_cast %{{.*}} sizes: [%{{.*}}, 64], strides: [1, 64] : memref<?xf32>
// CHECK: gdn.tile.matmul %[[WA]]
// CHECK: memref.reinterpret_cast %{{.*}} sizes: [%{{.*}}, 64], strides: [1, 64] : memref<?xbf16>
// CHECK: %[[OV:.*]] = memref.reinterpret_cast %[[O]] to offset: [%{{.*}}], sizes: [%{{.*}}, 64], strides: [128, 1]
// CHECK: %[[OC:.*]] = memref.cast %[[OV]]
// CHECK: bufferization.materialize_in_destination %{{.*}} in writable %[[OC]] {gdn.row_alignment = 16 : i64} : (tensor<?x64xbf16>
// CHECK: scf.yield
// CHECK: %[[SOUT:.*]] = gdn.tile.convert_layout %[[S]] : {{.*}} -> tensor<64x64xf32>
// CHECK: %[[HV:.*]] = memref.reinterpret_cast %[[HT]]
// CHECK: %[[HC:.*]] = memref.cast %[[HV]]
// CHECK: bufferization.materialize_in_destination %[[SOUT]] in writable %[[HC]]

// With the step over tiles of value columns (gdn-tile-value-columns), block z is the tile: the
// grid and v_tile say so, and the state, o and the final state are viewed at its columns.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-tile-value-columns=v-tile=32 --gdn-assign-layouts --gdn-chunk-kernels --canonicalize --cse | FileCheck %s --check-prefix=TILED
// TILED-LABEL: gpu.func @gdn(
// TILED-SAME: gdn.grid = "N,HV,2"
// TILED-SAME: gdn.v_tile = 32
// TILED: %[[Z:.*]] = gpu.block_id z
// TILED: %[[COL:.*]] = arith.muli %[[Z]], %c32
// TILED: %[[AT:.*]] = arith.addi %{{.*}}, %[[COL]]
// TILED: memref.reinterpret_cast %{{.*}} to offset: [%[[AT]]], sizes: [64, 32], strides: [64, 1]
// TILED: scf.for {{.*}} -> (tensor<64x32xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2], transposed = true>>)
// TILED: memref.reinterpret_cast %{{.*}} to offset: [%{{.*}}], sizes: [%{{.*}}, 32], strides: [128, 1]
// TILED: gpu.return

// The rows of q, k, v (16-byte aligned rows, 4 adjacent bf16 per thread) load 8 bytes at a time,
// the prep's results store to the workspace 8 bytes at a time.
// PTX: .visible .entry gdn_prep(
// PTX: ld.global.v2.b32
// Products and the sums they feed contract into fma (the solve's substitutions, row norms).
// PTX: fma.rn.f32
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: st.global.v2.b32
// PTX: .visible .entry gdn(
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @gdn(%q: tensor<?x?x1x64xbf16>, %k: tensor<?x?x1x64xbf16>,
               %v: tensor<?x?x2x64xbf16>, %g: tensor<?x?x2xf32>,
               %beta: tensor<?x?x2xf32>, %h0: tensor<?x2x64x64xf32>)
    -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta>
      q(%q : tensor<?x?x1x64xbf16>) k(%k : tensor<?x?x1x64xbf16>) v(%v : tensor<?x?x2x64xbf16>)
      g(%g : tensor<?x?x2xf32>) beta(%beta : tensor<?x?x2xf32>)
      initial_state(%h0 : tensor<?x2x64x64xf32>) {qk_l2norm}
      -> tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>
  return %o, %hT : tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>
}
