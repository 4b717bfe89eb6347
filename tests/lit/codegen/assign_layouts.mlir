// gdn-assign-layouts gives every tile value of a split chunked form a layout (docs/design.md
// §3.6): products accumulate in mma.sync fragments (or wgmma's [64, N, 16], or on CUDA cores),
// their operands convert to the accumulator's operand fragments (wgmma: shared tiles for B and
// for an A loaded from memory), element-wise ops keep their tile's layout, row factors are slices
// of it, cumulative gates shared tiles; the chunk step carries the state in its update's
// accumulator layout; values written to the workspace and outputs convert back to none.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop --gdn-assign-layouts | FileCheck %s
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop --gdn-assign-layouts="transposed-state=0" | FileCheck %s --check-prefix=PLAIN
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop --gdn-assign-layouts="products=wgmma transposed-state=0" | FileCheck %s --check-prefix=WGMMA
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop --gdn-assign-layouts="products=wgmma" | FileCheck %s --check-prefix=WGMMAT
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-assign-layouts="products=wgmma" | FileCheck %s --check-prefix=WGMMA64
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop --gdn-assign-layouts="products=cuda-cores warps=8" | FileCheck %s --check-prefix=SIMT
// RUN: not gdn-opt %s --gdn-assign-layouts="products=tensor" 2>&1 | FileCheck %s --check-prefix=BADPRODUCTS
// RUN: not gdn-opt %s --gdn-assign-layouts="products=wgmma warps=2" 2>&1 | FileCheck %s --check-prefix=BADWARPS

// The prep: q, k, v loaded as bf16 into blocked tiles and widened there; the gram of K from
// operand fragments rounded to bf16 into the accumulator (a chunk of 32 rows: 2 x 2 warps), the
// row factor beta as a slice of it, the solve in place, W = Tm K' with Tm converted to an A
// fragment and rounded, written out without a layout.
// CHECK-LABEL: func.func @gated_deltanet
// CHECK: scf.forall
// CHECK: %[[QB:.*]] = gdn.tile.convert_layout %{{.*}} : tensor<?x64xbf16> -> tensor<?x64xbf16, #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>>
// CHECK: arith.extf %[[QB]] : tensor<?x64xbf16, #gdn.blocked<{{.*}}>> to tensor<?x64xf32, #gdn.blocked<{{.*}}>>
// CHECK: %[[KF:.*]] = gdn.tile.convert_layout %{{.*}} -> tensor<?x64xf32, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>>
// CHECK: %[[KH:.*]] = arith.truncf %[[KF]] : {{.*}} to tensor<?x64xbf16, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>>
// CHECK: %[[G:.*]] = gdn.tile.cumsum %{{.*}} : tensor<?xf32, #gdn.blocked<per_thread = [1], lanes = [32], warps = [4]>>
// CHECK: %[[GS:.*]] = gdn.tile.convert_layout %[[G]] : {{.*}} -> tensor<?xf32, #gdn.shared<swizzle = 0, transposed = false>>
// CHECK: %[[KKG:.*]] = gdn.tile.gated_gram %[[KH]], %{{.*}} gates %[[GS]] : {{.*}} : tensor<?x64xbf16, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>>, tensor<?x64xbf16, #gdn.dot_operand<index = 1, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>, transposed = true>> -> tensor<?x?xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>
// CHECK: %[[A:.*]] = gdn.tile.row_scale %[[KKG]] by %{{.*}} : tensor<?xf32, #gdn.slice<dim = 1, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>> : tensor<?x?xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>
// CHECK: %[[TM:.*]] = gdn.tile.unit_lower_inverse %[[A]] : tensor<?x?xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>
// CHECK: %[[TMA:.*]] = gdn.tile.convert_layout %[[TM]] : {{.*}} -> tensor<?x?xf32, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>>
// CHECK: %[[TMH:.*]] = arith.truncf %[[TMA]] : {{.*}} to tensor<?x?xbf16, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>>
// CHECK: %[[W:.*]] = gdn.tile.matmul %[[TMH]], %{{.*}} : {{.*}} -> tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>
// CHECK: %[[WOUT:.*]] = gdn.tile.convert_layout %[[W]] : tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>> -> tensor<?x64xf32>
// CHECK: tensor.parallel_insert_slice %[[WOUT]]
// The step: S enters the chunk loop as S^T in a transposed accumulator and stays there; W S
// takes it as the instruction's A straight from registers, and so do the products with
// Vnew = U - W S (computed transposed): nothing in the step goes through shared memory but the
// tiles loaded from the workspace and the inputs.
// CHECK: %[[S0:.*]] = gdn.tile.convert_layout %{{.*}} : tensor<64x64xf32> -> tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[S:.*]] = %[[S0]]) -> (tensor<?x?x1x64xbf16>, tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>)
// CHECK: %[[SA:.*]] = gdn.tile.convert_layout %[[S]] : tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>> -> tensor<64x64xf32, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>, transposed = true>>
// CHECK: %[[SAH:.*]] = arith.truncf %[[SA]] : {{.*}} to tensor<64x64xbf16, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>, transposed = true>>
// CHECK: %[[WS:.*]] = gdn.tile.matmul %{{.*}}, %[[SAH]] : tensor<?x64xbf16, #gdn.dot_operand<index = 1, parent = {{.*}}>>, {{.*}} -> tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// CHECK: %[[VNEW:.*]] = arith.subf %{{.*}}, %[[WS]] : tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// CHECK: %[[VAF:.*]] = gdn.tile.convert_layout %[[VNEW]] : {{.*}} -> tensor<?x64xf32, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>, transposed = true>>
// CHECK: %[[VA:.*]] = arith.truncf %[[VAF]]
// CHECK: gdn.tile.matmul %{{.*}}, %[[VA]] : {{.*}} -> tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// CHECK: gdn.tile.decay_state %[[S]], %{{.*}} : tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>, tensor<?xf32, #gdn.shared<swizzle = 0, transposed = false>>
// CHECK: %[[UPD:.*]] = gdn.tile.matmul %{{.*}}, %[[VA]] {transpose_a} : {{.*}} -> tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// CHECK: %[[NEXT:.*]] = arith.addf %{{.*}}, %[[UPD]] : tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// The output is narrowed in its accumulator and stored as bf16.
// CHECK: %[[ON:.*]] = arith.truncf %{{.*}} : tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>> to tensor<?x64xbf16, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// CHECK: %[[OUT:.*]] = gdn.tile.convert_layout %[[ON]] : {{.*}} -> tensor<?x64xbf16>
// CHECK: tensor.insert_slice %[[OUT]]
// CHECK: scf.yield %{{.*}}, %[[NEXT]] : tensor<?x?x1x64xbf16>, tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// CHECK: %[[SOUT:.*]] = gdn.tile.convert_layout %{{.*}}#1 : tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>> -> tensor<64x64xf32>
// CHECK: tensor.insert_slice %[[SOUT]]

// transposed-state=0: S as the right operand of W S and Q S, converted to B fragments.
// PLAIN: scf.for {{.*}} -> (tensor<?x?x1x64xbf16>, tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>>)
// The chunk's products (32 rows) spread their 4 warps as 2 x 2; the state's update (64 rows) as 4 x 1.
// PLAIN: gdn.tile.convert_layout %{{.*}} : tensor<64x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>> -> tensor<64x64xf32, #gdn.dot_operand<index = 1, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>>
// PLAIN-NOT: warps = [4, 1], transposed = true

// wgmma: [64, N, 16] where the instruction's M has 64 rows (static, or a chunk of 64) and N is
// static; B from swizzled shared tiles, A from shared when loaded and from registers when
// computed. At chunk 32 the prep's products and W S (32 rows) stay on mma.sync; the state
// update K^T Vnew (64 x 64) is wgmma with K read transposed. At chunk 64 the prep's W = Tm K'
// is wgmma with Tm from registers.
// WGMMA: gdn.tile.matmul {{.*}} -> tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>
// WGMMA: scf.for {{.*}} -> (tensor<?x?x1x64xbf16>, tensor<64x64xf32, #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1]>>)
// WGMMA: gdn.tile.matmul %{{.*}}, %{{.*}} : tensor<?x64xbf16, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>>, tensor<64x64xbf16, #gdn.dot_operand<index = 1, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>> -> tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>
// WGMMA: gdn.tile.matmul %{{.*}}, %{{.*}} {transpose_a} : tensor<?x64xbf16, #gdn.shared<swizzle = 128, transposed = true>>, tensor<?x64xbf16, #gdn.shared<swizzle = 128, transposed = false>> -> tensor<64x64xf32, #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1]>>
// WGMMA64: gdn.tile.matmul %{{.*}}, %{{.*}} : tensor<?x?xbf16, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1]>>>, tensor<?x64xbf16, #gdn.shared<swizzle = 128, transposed = false>> -> tensor<?x64xf32, #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1]>>

// wgmma with S^T: the state's update K^T Vnew accumulates into wgmma's [64, 64, 16] (N: the
// state's rows) with Vnew's fragments as A from registers and K from shared memory; W S has
// no static N (the chunk's rows), so mma.sync with S^T as A.
// WGMMAT: scf.for {{.*}} -> (tensor<?x?x1x64xbf16>, tensor<64x64xf32, #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1], transposed = true>>)
// WGMMAT: gdn.tile.matmul {{.*}} -> tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
// WGMMAT: gdn.tile.matmul %{{.*}}, %{{.*}} {transpose_a} : tensor<?x64xbf16, #gdn.shared<swizzle = 128, transposed = false>>, tensor<?x64xbf16, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1], transposed = true>, transposed = true>> -> tensor<64x64xf32, #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1], transposed = true>>

// CUDA cores: every product into #gdn.blocked, over 8 warps.
// SIMT: gdn.tile.gated_gram {{.*}} : tensor<?x64xf32, #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [8, 1]>>, tensor<?x64xf32, #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [8, 1]>> -> tensor<?x?xf32, #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [8, 1]>>
// SIMT-NOT: #gdn.mma
// SIMT-NOT: #gdn.dot_operand

// BADPRODUCTS: gdn-assign-layouts: products must be mma.sync, wgmma or cuda-cores, got 'tensor'
// BADWARPS: gdn-assign-layouts: warps must be 1 to 32 (a multiple of 4 for wgmma), got 2
func.func @gated_deltanet(%q: tensor<?x?x1x64xbf16>, %k: tensor<?x?x1x64xbf16>,
                          %v: tensor<?x?x1x64xbf16>, %g: tensor<?x?x1xf32>,
                          %beta: tensor<?x?x1xf32>, %h0: tensor<?x1x64x64xf32>)
    -> (tensor<?x?x1x64xbf16>, tensor<?x1x64x64xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta>
      q(%q : tensor<?x?x1x64xbf16>) k(%k : tensor<?x?x1x64xbf16>) v(%v : tensor<?x?x1x64xbf16>)
      g(%g : tensor<?x?x1xf32>) beta(%beta : tensor<?x?x1xf32>)
      initial_state(%h0 : tensor<?x1x64x64xf32>) {qk_l2norm}
      -> tensor<?x?x1x64xbf16>, tensor<?x1x64x64xf32>
  return %o, %hT : tensor<?x?x1x64xbf16>, tensor<?x1x64x64xf32>
}
