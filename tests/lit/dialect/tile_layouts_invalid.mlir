// RUN: gdn-opt %s -split-input-file -verify-diagnostics

// Every verifier message of the tile layouts and of the tile ops' layout rules, one case each.

// expected-error @+1 {{#gdn.mma version must be 2 (mma.sync) or 3 (wgmma), got 1}}
func.func private @v1(tensor<16x8xf32, #gdn.mma<version = 1, instr = [16, 8, 16], warps = [4, 1]>>)

// -----

// expected-error @+1 {{#gdn.mma instr must be [M, N, K], got 2 entries}}
func.func private @instr2(tensor<16x8xf32, #gdn.mma<version = 2, instr = [16, 8], warps = [4, 1]>>)

// -----

// expected-error @+1 {{#gdn.mma warps must be [rows, columns], each at least 1, at most 32 warps in all}}
func.func private @warps(tensor<16x8xf32, #gdn.mma<version = 2, instr = [16, 8, 16], warps = [64, 1]>>)

// -----

// expected-error @+1 {{#gdn.mma version 2 (mma.sync) has instr [16, 8, 16], got [16, 8, 8]}}
func.func private @v2instr(tensor<16x8xf32, #gdn.mma<version = 2, instr = [16, 8, 8], warps = [4, 1]>>)

// -----

// expected-error @+1 {{#gdn.mma version 3 (wgmma) has instr [64, N, 16] with N a multiple of 8 up to 256, got [64, 12, 16]}}
func.func private @v3instr(tensor<64x12xf32, #gdn.mma<version = 3, instr = [64, 12, 16], warps = [4, 1]>>)

// -----

// expected-error @+1 {{#gdn.mma version 3 (wgmma) spreads over whole warpgroups: warps[0] must be a multiple of 4, got 2}}
func.func private @v3warps(tensor<64x64xf32, #gdn.mma<version = 3, instr = [64, 64, 16], warps = [2, 1]>>)

// -----

// expected-error @+1 {{#gdn.dot_operand index must be 0 (A) or 1 (B), got 2}}
func.func private @index(tensor<16x8xf32, #gdn.dot_operand<index = 2, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>>>)

// -----

// expected-error @+1 {{wgmma reads its B operand from shared memory (#gdn.shared), not from registers}}
func.func private @wgmmaB(tensor<16x64xf32, #gdn.dot_operand<index = 1, parent = #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1]>>>)

// -----

// expected-error @+1 {{#gdn.shared swizzle must be 0, 32, 64 or 128 bytes, got 16}}
func.func private @swizzle(tensor<16x8xf32, #gdn.shared<swizzle = 16, transposed = false>>)

// -----

// expected-error @+1 {{#gdn.blocked needs one entry per dimension (1 or 2) in per_thread, lanes and warps}}
func.func private @blockedRank(tensor<16x8xf32, #gdn.blocked<per_thread = [1, 4], lanes = [32], warps = [4, 1]>>)

// -----

// expected-error @+1 {{#gdn.blocked entries must be at least 1}}
func.func private @blockedZero(tensor<16x8xf32, #gdn.blocked<per_thread = [0, 4], lanes = [8, 4], warps = [4, 1]>>)

// -----

// expected-error @+1 {{#gdn.blocked lanes must cover a warp's 32 lanes, got 16}}
func.func private @lanes(tensor<16x8xf32, #gdn.blocked<per_thread = [1, 4], lanes = [4, 4], warps = [4, 1]>>)

// -----

// expected-error @+1 {{#gdn.blocked warps must be at most 32 in all, got 64}}
func.func private @blockedWarps(tensor<16x8xf32, #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [64, 1]>>)

// -----

// expected-error @+1 {{#gdn.slice dim must be 0 or 1, got 2}}
func.func private @sliceDim(tensor<16xf32, #gdn.slice<dim = 2, parent = #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>>>)

// -----

// expected-error @+1 {{#gdn.slice parent must be a distributed tile layout (#gdn.mma, #gdn.dot_operand or #gdn.blocked), got #gdn.shared<swizzle = 0, transposed = false>}}
func.func private @sliceShared(tensor<16xf32, #gdn.slice<dim = 1, parent = #gdn.shared<swizzle = 0, transposed = false>>>)

// -----

// expected-error @+1 {{#gdn.slice parent must be the layout of a 2-D tile}}
func.func private @sliceOf1d(tensor<16xf32, #gdn.slice<dim = 1, parent = #gdn.blocked<per_thread = [1], lanes = [32], warps = [4]>>>)

// -----

#acc = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
func.func @operandA(%a: tensor<16x16xf32>, %b: tensor<16x8xf32, #gdn.dot_operand<index = 1, parent = #acc>>) {
  // expected-error @+1 {{'gdn.tile.matmul' op operand 'a' of a product into #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]> must be #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>>, got none}}
  %p = gdn.tile.matmul %a, %b : tensor<16x16xf32>, tensor<16x8xf32, #gdn.dot_operand<index = 1, parent = #acc>> -> tensor<16x8xf32, #acc>
  return
}

// -----

#acc = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#other = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>
func.func @operandB(%a: tensor<16x16xf32, #gdn.dot_operand<index = 0, parent = #acc>>, %b: tensor<16x8xf32, #gdn.dot_operand<index = 1, parent = #other>>) {
  // expected-error @+1 {{'gdn.tile.matmul' op operand 'b' of a product into #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]> must be #gdn.dot_operand<index = 1, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>>, got #gdn.dot_operand<index = 1, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>>}}
  %p = gdn.tile.matmul %a, %b : tensor<16x16xf32, #gdn.dot_operand<index = 0, parent = #acc>>, tensor<16x8xf32, #gdn.dot_operand<index = 1, parent = #other>> -> tensor<16x8xf32, #acc>
  return
}

// -----

#wg = #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1]>
func.func @wgmmaOperandB(%a: tensor<64x16xf32, #gdn.shared<swizzle = 128, transposed = false>>, %b: tensor<16x64xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op operand 'b' of a product into #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1]> must be a #gdn.shared tile (wgmma reads B there), got none}}
  %p = gdn.tile.matmul %a, %b : tensor<64x16xf32, #gdn.shared<swizzle = 128, transposed = false>>, tensor<16x64xf32> -> tensor<64x64xf32, #wg>
  return
}

// -----

func.func @noResultLayout(%a: tensor<16x16xf32, #gdn.shared<swizzle = 0, transposed = false>>, %b: tensor<16x8xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op a product whose operands have layouts needs one on its result (#gdn.mma, or #gdn.blocked on CUDA cores)}}
  %p = gdn.tile.matmul %a, %b : tensor<16x16xf32, #gdn.shared<swizzle = 0, transposed = false>>, tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

#rows = #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>
func.func @cudaCores(%a: tensor<16x16xf32, #rows>, %b: tensor<16x8xf32>) {
  // expected-error @+1 {{'gdn.tile.matmul' op operand 'b' of a CUDA-core product (#gdn.blocked result) must be #gdn.blocked or #gdn.shared, got none}}
  %p = gdn.tile.matmul %a, %b : tensor<16x16xf32, #rows>, tensor<16x8xf32> -> tensor<16x8xf32, #rows>
  return
}

// -----

#sh = #gdn.shared<swizzle = 0, transposed = false>
func.func @sharedResult(%a: tensor<16x16xf32, #sh>, %b: tensor<16x8xf32, #sh>) {
  // expected-error @+1 {{'gdn.tile.matmul' op a product's result is an accumulator: #gdn.mma or #gdn.blocked, got #gdn.shared<swizzle = 0, transposed = false>}}
  %p = gdn.tile.matmul %a, %b : tensor<16x16xf32, #sh>, tensor<16x8xf32, #sh> -> tensor<16x8xf32, #sh>
  return
}

// -----

#sh = #gdn.shared<swizzle = 0, transposed = false>
func.func @elementwiseShared(%x: tensor<16x8xf32, #sh>) {
  // expected-error @+1 {{'gdn.tile.l2norm_rows' op element-wise work runs on a distributed tile (#gdn.mma, #gdn.blocked or #gdn.slice), got #gdn.shared<swizzle = 0, transposed = false>}}
  %n = gdn.tile.l2norm_rows %x : tensor<16x8xf32, #sh>
  return
}

// -----

// expected-error @+1 {{#gdn.dot_operand parent must be a #gdn.mma layout, got #gdn.shared<swizzle = 0, transposed = false>}}
func.func private @operandParent(tensor<16x8xf32, #gdn.dot_operand<index = 0, parent = #gdn.shared<swizzle = 0, transposed = false>>>)

// -----

#rows = #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>
func.func @sliceOnTile(%x: tensor<16x8xf32, #gdn.slice<dim = 1, parent = #rows>>) {
  // expected-error @+1 {{'gdn.tile.l2norm_rows' op operand 0: #gdn.slice is the layout of a vector, not of a rank 2 tile}}
  %n = gdn.tile.l2norm_rows %x : tensor<16x8xf32, #gdn.slice<dim = 1, parent = #rows>>
  return
}

// -----

#acc = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
func.func @mmaVector(%g: tensor<16xf32, #acc>) {
  // expected-error @+1 {{'gdn.tile.cumsum' op operand 0: #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]> is the layout of a 2-D tile}}
  %c = gdn.tile.cumsum %g : tensor<16xf32, #acc>
  return
}

// -----

#rows = #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>
func.func @blockedRankMismatch(%g: tensor<16xf32, #rows>) {
  // expected-error @+1 {{'gdn.tile.cumsum' op operand 0: #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]> has 2 dimensions, the value 1}}
  %c = gdn.tile.cumsum %g : tensor<16xf32, #rows>
  return
}

// -----

func.func @foreignEncoding(%g: tensor<16xf32, "other">) {
  // expected-error @+1 {{'gdn.tile.cumsum' op operand 0: tile values take gdn layouts (#gdn.mma, #gdn.dot_operand, #gdn.shared, #gdn.blocked, #gdn.slice), got "other"}}
  %c = gdn.tile.cumsum %g : tensor<16xf32, "other">
  return
}

// -----

func.func @convertShape(%x: tensor<16x8xf32>) {
  // expected-error @+1 {{'gdn.tile.convert_layout' op converts layouts only: shape and element type must stay ('tensor<16x8xf32>' -> 'tensor<8x8xf32, #gdn.shared<swizzle = 0, transposed = false>>')}}
  %c = gdn.tile.convert_layout %x : tensor<16x8xf32> -> tensor<8x8xf32, #gdn.shared<swizzle = 0, transposed = false>>
  return
}

// -----

#acct = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>
func.func @transposedOperands(%a: tensor<16x16xf32, #gdn.dot_operand<index = 0, parent = #acct>>, %b: tensor<16x8xf32, #gdn.dot_operand<index = 1, parent = #acct>>) {
  // expected-error @+1 {{'gdn.tile.matmul' op operand 'b' of a product into #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true> (transposed: 'b' is the instruction's A) must be #gdn.dot_operand<index = 0, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>, transposed = true>, got #gdn.dot_operand<index = 1, parent = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>>}}
  %p = gdn.tile.matmul %a, %b : tensor<16x16xf32, #gdn.dot_operand<index = 0, parent = #acct>>, tensor<16x8xf32, #gdn.dot_operand<index = 1, parent = #acct>> -> tensor<16x8xf32, #acct>
  return
}
