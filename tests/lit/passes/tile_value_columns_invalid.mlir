// RUN: gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=16 --gdn-split-chunk-loop --gdn-tile-value-columns=v-tile=48 --verify-diagnostics

// A v-tile that does not divide V.
func.func @not_dividing(%q: tensor<1x40x2x64xf32>, %k: tensor<1x40x2x64xf32>,
                        %v: tensor<1x40x2x64xf32>) -> tensor<1x40x2x64xf32> {
  // expected-error @below {{gdn-tile-value-columns: v-tile 48 does not divide V = 64}}
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x40x2x64xf32>) k(%k : tensor<1x40x2x64xf32>)
      v(%v : tensor<1x40x2x64xf32>) -> tensor<1x40x2x64xf32>
  return %o : tensor<1x40x2x64xf32>
}

// -----

// A step edited by hand to contract over the value columns (v times a V x 16 matrix): its
// columns cannot be split across tiles.
func.func @contracts_over_v(%v: tensor<1x8x2x96xf32>, %w: tensor<96x96xf32>) -> tensor<1x8x2x96xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %o0 = tensor.empty() : tensor<1x8x2x96xf32>
  %r = scf.for %n = %c0 to %c1 step %c1 iter_args(%o = %o0) -> (tensor<1x8x2x96xf32>) {
    %rh = scf.for %h = %c0 to %c2 step %c1 iter_args(%oh = %o) -> (tensor<1x8x2x96xf32>) {
      %rs = scf.for %c = %c0 to %c1 step %c1 iter_args(%oc = %oh) -> (tensor<1x8x2x96xf32>) {
        %x = tensor.extract_slice %v[%n, 0, %h, 0] [1, 8, 1, 96] [1, 1, 1, 1] : tensor<1x8x2x96xf32> to tensor<8x96xf32>
        // expected-error @below {{gdn-tile-value-columns: gdn.tile.matmul contracts over the value columns: the value columns cannot be tiled through it}}
        %y = gdn.tile.matmul %x, %w : tensor<8x96xf32>, tensor<96x96xf32> -> tensor<8x96xf32>
        %i = tensor.insert_slice %y into %oc[%n, 0, %h, 0] [1, 8, 1, 96] [1, 1, 1, 1] : tensor<8x96xf32> into tensor<1x8x2x96xf32>
        scf.yield %i : tensor<1x8x2x96xf32>
      } {gdn.chunk_step = 16 : i64, gdn.operands = {v = 0 : i64}}
      scf.yield %rs : tensor<1x8x2x96xf32>
    }
    scf.yield %rh : tensor<1x8x2x96xf32>
  }
  return %r : tensor<1x8x2x96xf32>
}

// -----

// A step edited by hand to multiply v's chunk by its own transpose: value columns on both sides
// of the product.
func.func @both_operands(%v: tensor<1x8x2x96xf32>) -> tensor<1x8x2x96xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %o0 = tensor.empty() : tensor<1x8x2x96xf32>
  %r = scf.for %n = %c0 to %c1 step %c1 iter_args(%o = %o0) -> (tensor<1x8x2x96xf32>) {
    %rh = scf.for %h = %c0 to %c2 step %c1 iter_args(%oh = %o) -> (tensor<1x8x2x96xf32>) {
      %rs = scf.for %c = %c0 to %c1 step %c1 iter_args(%oc = %oh) -> (tensor<1x8x2x96xf32>) {
        %x = tensor.extract_slice %v[%n, 0, %h, 0] [1, 8, 1, 96] [1, 1, 1, 1] : tensor<1x8x2x96xf32> to tensor<8x96xf32>
        // expected-error @below {{gdn-tile-value-columns: gdn.tile.matmul takes value columns from both operands: the value columns cannot be tiled through it}}
        %y = gdn.tile.matmul %x, %x {transpose_a} : tensor<8x96xf32>, tensor<8x96xf32> -> tensor<96x96xf32>
        scf.yield %oc : tensor<1x8x2x96xf32>
      } {gdn.chunk_step = 16 : i64, gdn.operands = {v = 0 : i64}}
      scf.yield %rs : tensor<1x8x2x96xf32>
    }
    scf.yield %rh : tensor<1x8x2x96xf32>
  }
  return %r : tensor<1x8x2x96xf32>
}

// -----

// A step without a v operand named in gdn.operands: nothing says where value columns are.
func.func @no_v(%x: tensor<1x8x2x96xf32>) -> tensor<1x8x2x96xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %n = %c0 to %c1 step %c1 iter_args(%o = %x) -> (tensor<1x8x2x96xf32>) {
    %rh = scf.for %h = %c0 to %c1 step %c1 iter_args(%oh = %o) -> (tensor<1x8x2x96xf32>) {
      // expected-error @below {{gdn-tile-value-columns: the chunk step names no v operand (gdn.operands)}}
      %rs = scf.for %c = %c0 to %c1 step %c1 iter_args(%oc = %oh) -> (tensor<1x8x2x96xf32>) {
        scf.yield %oc : tensor<1x8x2x96xf32>
      } {gdn.chunk_step = 16 : i64, gdn.operands = {}}
      scf.yield %rs : tensor<1x8x2x96xf32>
    }
    scf.yield %rh : tensor<1x8x2x96xf32>
  }
  return %r : tensor<1x8x2x96xf32>
}
