// RUN: gdn-opt %s | gdn-opt | FileCheck %s
// RUN: gdn-opt %s --canonicalize | FileCheck %s --check-prefix=FOLD

// Tile layouts (the encodings of tile values' tensor types) print and parse back; a product
// into mma.sync fragments reads its operands as operand fragments of the same accumulator, a
// wgmma product reads B (and here A) from swizzled shared tiles; element-wise ops keep their
// tile's layout, a row factor is a slice of it.

#acc = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#opa = #gdn.dot_operand<index = 0, parent = #acc>
#opb = #gdn.dot_operand<index = 1, parent = #acc>
#wg = #gdn.mma<version = 3, instr = [64, 128, 16], warps = [4, 1]>
#sw = #gdn.shared<swizzle = 128, transposed = false>
#rows = #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>

// CHECK-LABEL: func.func @mma_sync
// CHECK: gdn.tile.convert_layout %{{.*}} : tensor<?x128xf32, #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>> -> tensor<?x128xf32, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>>>
// CHECK: gdn.tile.matmul {{.*}} -> tensor<?x128xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>>
// CHECK: gdn.tile.row_scale {{.*}} by {{.*}} : tensor<?xf32, #gdn.slice<dim = 1, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>>>
func.func @mma_sync(%a: tensor<?x?xf32, #opa>, %x: tensor<?x128xf32, #rows>,
                    %r: tensor<?xf32, #gdn.slice<dim = 1, parent = #acc>>)
    -> tensor<?x128xf32, #acc> {
  %b = gdn.tile.convert_layout %x : tensor<?x128xf32, #rows> -> tensor<?x128xf32, #opa>
  %bb = gdn.tile.convert_layout %x : tensor<?x128xf32, #rows> -> tensor<?x128xf32, #opb>
  %p = gdn.tile.matmul %a, %bb : tensor<?x?xf32, #opa>, tensor<?x128xf32, #opb> -> tensor<?x128xf32, #acc>
  %s = gdn.tile.row_scale %p by %r : tensor<?xf32, #gdn.slice<dim = 1, parent = #acc>> : tensor<?x128xf32, #acc>
  return %s : tensor<?x128xf32, #acc>
}

// CHECK-LABEL: func.func @wgmma
// CHECK: gdn.tile.matmul {{.*}} {transpose_a} : tensor<?x128xf32, #gdn.shared<swizzle = 128, transposed = true>>, tensor<?x128xf32, #gdn.shared<swizzle = 128, transposed = false>> -> tensor<128x128xf32, #gdn.mma<version = 3, instr = [64, 128, 16], warps = [4, 1]>>
func.func @wgmma(%k: tensor<?x128xf32, #gdn.shared<swizzle = 128, transposed = true>>,
                 %v: tensor<?x128xf32, #sw>) -> tensor<128x128xf32, #wg> {
  %p = gdn.tile.matmul %k, %v {transpose_a} : tensor<?x128xf32, #gdn.shared<swizzle = 128, transposed = true>>, tensor<?x128xf32, #sw> -> tensor<128x128xf32, #wg>
  return %p : tensor<128x128xf32, #wg>
}

// Into a transposed accumulator (holding the result's transpose) the roles swap: b is the
// instruction's A (from registers, as a state held as S^T is), a its B.
// CHECK-LABEL: func.func @transposed
// CHECK: gdn.tile.matmul {{.*}} : tensor<?x64xf32, #gdn.dot_operand<index = 1, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>, transposed = true>>, tensor<64x64xf32, #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>, transposed = true>> -> tensor<?x64xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>
#acct = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>
func.func @transposed(%w: tensor<?x64xf32, #gdn.dot_operand<index = 1, parent = #acct, transposed = true>>,
                      %s: tensor<64x64xf32, #acct>) -> tensor<?x64xf32, #acct> {
  %sa = gdn.tile.convert_layout %s : tensor<64x64xf32, #acct> -> tensor<64x64xf32, #gdn.dot_operand<index = 0, parent = #acct, transposed = true>>
  %p = gdn.tile.matmul %w, %sa : tensor<?x64xf32, #gdn.dot_operand<index = 1, parent = #acct, transposed = true>>, tensor<64x64xf32, #gdn.dot_operand<index = 0, parent = #acct, transposed = true>> -> tensor<?x64xf32, #acct>
  return %p : tensor<?x64xf32, #acct>
}

// A conversion to the layout a value has is no conversion; two in a row are one.
// FOLD-LABEL: func.func @folds
// FOLD-NEXT: gdn.tile.convert_layout %arg0 : tensor<8x8xf32, #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>> -> tensor<8x8xf32, #gdn.shared<swizzle = 0, transposed = false>>
// FOLD-NEXT: return
func.func @folds(%x: tensor<8x8xf32, #rows>) -> (tensor<8x8xf32, #rows>, tensor<8x8xf32, #gdn.shared<swizzle = 0, transposed = false>>) {
  %same = gdn.tile.convert_layout %x : tensor<8x8xf32, #rows> -> tensor<8x8xf32, #rows>
  %a = gdn.tile.convert_layout %same : tensor<8x8xf32, #rows> -> tensor<8x8xf32, #acc>
  %s = gdn.tile.convert_layout %a : tensor<8x8xf32, #acc> -> tensor<8x8xf32, #gdn.shared<swizzle = 0, transposed = false>>
  %back = gdn.tile.convert_layout %a : tensor<8x8xf32, #acc> -> tensor<8x8xf32, #rows>
  return %back, %s : tensor<8x8xf32, #rows>, tensor<8x8xf32, #gdn.shared<swizzle = 0, transposed = false>>
}
