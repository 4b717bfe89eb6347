// RUN: gdn-opt %s -split-input-file --gdn-split-chunk-loop --verify-diagnostics

// Hand-written chunk loops that gdn-split-chunk-loop cannot split get a diagnostic at the op.

func.func @not_from_zero(%x: tensor<?x8xf32>, %n: index, %s0: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error @+1 {{gdn-split-chunk-loop: the chunk loop must run from 0 in steps of 1}}
  %r = scf.for %i = %c1 to %n step %c1 iter_args(%s = %s0) -> tensor<8x8xf32> {
    scf.yield %s : tensor<8x8xf32>
  } {gdn.chunk_loop = 32 : i64}
  return %r : tensor<8x8xf32>
}

// -----

func.func @bad_mark(%n: index, %s0: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{gdn-split-chunk-loop: gdn.chunk_loop must be the chunk size (an integer)}}
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%s = %s0) -> tensor<8x8xf32> {
    scf.yield %s : tensor<8x8xf32>
  } {gdn.chunk_loop}
  return %r : tensor<8x8xf32>
}

// -----

func.func @region_in_body(%x: tensor<?x8xf32>, %n: index, %s0: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%s = %s0) -> tensor<8x8xf32> {
    // expected-error @+1 {{gdn-split-chunk-loop: ops with regions in a chunk loop are not supported}}
    %t = scf.execute_region -> tensor<8x8xf32> {
      scf.yield %s : tensor<8x8xf32>
    }
    scf.yield %t : tensor<8x8xf32>
  } {gdn.chunk_loop = 32 : i64}
  return %r : tensor<8x8xf32>
}

// -----

// The row extent of a crossing tile must be the chunk's row count, min(remaining, C).
func.func @rows_not_bounded(%x: tensor<?x8xf32>, %n: index, %m: index, %s0: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%s = %s0) -> tensor<8x8xf32> {
    %t = tensor.extract_slice %x[%i, 0] [%m, 8] [1, 1] : tensor<?x8xf32> to tensor<?x8xf32>
    // expected-error @+1 {{gdn-split-chunk-loop: a dynamic extent of this chunk value is not the chunk's row count}}
    %k = gdn.tile.l2norm_rows %t : tensor<?x8xf32>
    %kv = gdn.tile.matmul %k, %k {transpose_a} : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<8x8xf32>
    %ks = gdn.tile.matmul %k, %s : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    %n2 = gdn.tile.matmul %k, %ks {transpose_a} : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<8x8xf32>
    %next = arith.addf %n2, %kv : tensor<8x8xf32>
    scf.yield %next : tensor<8x8xf32>
  } {gdn.chunk_loop = 32 : i64}
  return %r : tensor<8x8xf32>
}

// -----

// A crossing value whose shape rule the pass does not know.
func.func @unknown_shape(%x: tensor<?x8xf32>, %n: index, %s0: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%s = %s0) -> tensor<8x8xf32> {
    %rows = arith.minui %n, %c32 : index
    %t = tensor.extract_slice %x[%i, 0] [%rows, 8] [1, 1] : tensor<?x8xf32> to tensor<?x8xf32>
    %c = tensor.cast %t : tensor<?x8xf32> to tensor<?x?xf32>
    // expected-error @+1 {{gdn-split-chunk-loop: cannot tell the shape of this chunk value}}
    %k = gdn.tile.l2norm_rows %c : tensor<?x?xf32>
    %ks = gdn.tile.matmul %k, %s : tensor<?x?xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
    %n2 = gdn.tile.matmul %k, %ks {transpose_a} : tensor<?x?xf32>, tensor<?x8xf32> -> tensor<8x8xf32>
    scf.yield %n2 : tensor<8x8xf32>
  } {gdn.chunk_loop = 32 : i64}
  return %r : tensor<8x8xf32>
}
