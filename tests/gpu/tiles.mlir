// Tile programs with hand-written layouts, lowered by gdn-tiles-to-gpu (docs/design.md §3.7).
// tests/lit/codegen/tiles_to_gpu.mlir checks the code each becomes; the GPU test
// (tests/gpu/TileLoweringTest.cpp) runs them from the PTX make_artifacts.py compiles, one block
// each, against a float64 product on the host. Each kernel's layouts are the hand edit of
// another's: warps [4, 1] vs [2, 1] for one product; [4, 1] vs [2, 2] for a chain whose
// intermediate becomes an A fragment in registers or through shared memory.
#mma4 = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#A4 = #gdn.dot_operand<index = 0, parent = #mma4>
#B4 = #gdn.dot_operand<index = 1, parent = #mma4>
#mma2 = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 1]>
#A2 = #gdn.dot_operand<index = 0, parent = #mma2>
#B2 = #gdn.dot_operand<index = 1, parent = #mma2>
#mma22 = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 2]>
#A22 = #gdn.dot_operand<index = 0, parent = #mma22>
#B22 = #gdn.dot_operand<index = 1, parent = #mma22>
#blk = #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>
#T4 = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>
#TA = #gdn.dot_operand<index = 0, parent = #T4, transposed = true>
#TB = #gdn.dot_operand<index = 1, parent = #T4, transposed = true>
#TBK = #gdn.dot_operand<index = 1, parent = #T4>
#At4 = #gdn.dot_operand<index = 0, parent = #mma4, transposed = true>
#g1 = #gdn.blocked<per_thread = [1], lanes = [32], warps = [4]>
#sh = #gdn.shared<swizzle = 0, transposed = false>
#rows4 = #gdn.slice<dim = 1, parent = #mma4>
#Bt4 = #gdn.dot_operand<index = 1, parent = #mma4, transposed = true>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    // C = A B (64 x 32 x 64, bf16 operands, f32 accumulators), 4 warps of 16 rows each.
    gpu.func @product(%A: memref<64x32xbf16>, %B: memref<32x64xbf16>, %C: memref<64x64xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<64x32xbf16> to tensor<64x32xbf16>
      %b = bufferization.to_tensor %B restrict : memref<32x64xbf16> to tensor<32x64xbf16>
      %af = gdn.tile.convert_layout %a : tensor<64x32xbf16> -> tensor<64x32xbf16, #A4>
      %bf = gdn.tile.convert_layout %b : tensor<32x64xbf16> -> tensor<32x64xbf16, #B4>
      %c = gdn.tile.matmul %af, %bf : tensor<64x32xbf16, #A4>, tensor<32x64xbf16, #B4> -> tensor<64x64xf32, #mma4>
      %co = gdn.tile.convert_layout %c : tensor<64x64xf32, #mma4> -> tensor<64x64xf32>
      bufferization.materialize_in_destination %co in writable %C : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
      gpu.return
    }

    // The same product, the layout edited to warps = [2, 1].
    gpu.func @product_two_warps(%A: memref<64x32xbf16>, %B: memref<32x64xbf16>, %C: memref<64x64xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<64x32xbf16> to tensor<64x32xbf16>
      %b = bufferization.to_tensor %B restrict : memref<32x64xbf16> to tensor<32x64xbf16>
      %af = gdn.tile.convert_layout %a : tensor<64x32xbf16> -> tensor<64x32xbf16, #A2>
      %bf = gdn.tile.convert_layout %b : tensor<32x64xbf16> -> tensor<32x64xbf16, #B2>
      %c = gdn.tile.matmul %af, %bf : tensor<64x32xbf16, #A2>, tensor<32x64xbf16, #B2> -> tensor<64x64xf32, #mma2>
      %co = gdn.tile.convert_layout %c : tensor<64x64xf32, #mma2> -> tensor<64x64xf32>
      bufferization.materialize_in_destination %co in writable %C : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
      gpu.return
    }

    // C = round(A B) D, f16: with warps = [4, 1] the first product's accumulator is the second's
    // A fragment in place.
    gpu.func @chain(%A: memref<64x32xf16>, %B: memref<32x64xf16>, %D: memref<64x64xf16>, %C: memref<64x64xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<64x32xf16> to tensor<64x32xf16>
      %b = bufferization.to_tensor %B restrict : memref<32x64xf16> to tensor<32x64xf16>
      %d = bufferization.to_tensor %D restrict : memref<64x64xf16> to tensor<64x64xf16>
      %af = gdn.tile.convert_layout %a : tensor<64x32xf16> -> tensor<64x32xf16, #A4>
      %bf = gdn.tile.convert_layout %b : tensor<32x64xf16> -> tensor<32x64xf16, #B4>
      %df = gdn.tile.convert_layout %d : tensor<64x64xf16> -> tensor<64x64xf16, #B4>
      %x = gdn.tile.matmul %af, %bf : tensor<64x32xf16, #A4>, tensor<32x64xf16, #B4> -> tensor<64x64xf32, #mma4>
      %xh = arith.truncf %x : tensor<64x64xf32, #mma4> to tensor<64x64xf16, #mma4>
      %xa = gdn.tile.convert_layout %xh : tensor<64x64xf16, #mma4> -> tensor<64x64xf16, #A4>
      %y = gdn.tile.matmul %xa, %df : tensor<64x64xf16, #A4>, tensor<64x64xf16, #B4> -> tensor<64x64xf32, #mma4>
      %yo = gdn.tile.convert_layout %y : tensor<64x64xf32, #mma4> -> tensor<64x64xf32>
      bufferization.materialize_in_destination %yo in writable %C : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
      gpu.return
    }

    // The chain in bf16 with warps = [2, 2]: a warp holds half of the intermediate's columns,
    // so it reaches the A fragments through shared memory; the operand fragments are
    // replicated over two warps.
    gpu.func @chain_through_shared(%A: memref<64x32xbf16>, %B: memref<32x64xbf16>, %D: memref<64x64xbf16>, %C: memref<64x64xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<64x32xbf16> to tensor<64x32xbf16>
      %b = bufferization.to_tensor %B restrict : memref<32x64xbf16> to tensor<32x64xbf16>
      %d = bufferization.to_tensor %D restrict : memref<64x64xbf16> to tensor<64x64xbf16>
      %af = gdn.tile.convert_layout %a : tensor<64x32xbf16> -> tensor<64x32xbf16, #A22>
      %bf = gdn.tile.convert_layout %b : tensor<32x64xbf16> -> tensor<32x64xbf16, #B22>
      %df = gdn.tile.convert_layout %d : tensor<64x64xbf16> -> tensor<64x64xbf16, #B22>
      %x = gdn.tile.matmul %af, %bf : tensor<64x32xbf16, #A22>, tensor<32x64xbf16, #B22> -> tensor<64x64xf32, #mma22>
      %xh = arith.truncf %x : tensor<64x64xf32, #mma22> to tensor<64x64xbf16, #mma22>
      %xa = gdn.tile.convert_layout %xh : tensor<64x64xbf16, #mma22> -> tensor<64x64xbf16, #A22>
      %y = gdn.tile.matmul %xa, %df : tensor<64x64xbf16, #A22>, tensor<64x64xbf16, #B22> -> tensor<64x64xf32, #mma22>
      %yo = gdn.tile.convert_layout %y : tensor<64x64xf32, #mma22> -> tensor<64x64xf32>
      bufferization.materialize_in_destination %yo in writable %C : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
      gpu.return
    }

    // C = (sum over 4 column blocks of A times row blocks of B) .* E: a sequential loop
    // carrying the accumulator (as the chunk step carries its state), slices read at the
    // loop's offsets, then an element-wise product on blocked tiles.
    gpu.func @accumulate(%A: memref<64x128xbf16>, %B: memref<128x64xbf16>, %E: memref<64x64xf32>, %C: memref<64x64xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<64x128xbf16> to tensor<64x128xbf16>
      %b = bufferization.to_tensor %B restrict : memref<128x64xbf16> to tensor<128x64xbf16>
      %e = bufferization.to_tensor %E restrict : memref<64x64xf32> to tensor<64x64xf32>
      %zero = arith.constant dense<0.0> : tensor<64x64xf32, #mma4>
      %c0 = arith.constant 0 : index
      %c32 = arith.constant 32 : index
      %c128 = arith.constant 128 : index
      %s = scf.for %i = %c0 to %c128 step %c32 iter_args(%acc = %zero) -> (tensor<64x64xf32, #mma4>) {
        %as = tensor.extract_slice %a[0, %i] [64, 32] [1, 1] : tensor<64x128xbf16> to tensor<64x32xbf16>
        %bs = tensor.extract_slice %b[%i, 0] [32, 64] [1, 1] : tensor<128x64xbf16> to tensor<32x64xbf16>
        %af = gdn.tile.convert_layout %as : tensor<64x32xbf16> -> tensor<64x32xbf16, #A4>
        %bf = gdn.tile.convert_layout %bs : tensor<32x64xbf16> -> tensor<32x64xbf16, #B4>
        %p = gdn.tile.matmul %af, %bf : tensor<64x32xbf16, #A4>, tensor<32x64xbf16, #B4> -> tensor<64x64xf32, #mma4>
        %n = arith.addf %acc, %p : tensor<64x64xf32, #mma4>
        scf.yield %n : tensor<64x64xf32, #mma4>
      }
      %sb = gdn.tile.convert_layout %s : tensor<64x64xf32, #mma4> -> tensor<64x64xf32, #blk>
      %eb = gdn.tile.convert_layout %e : tensor<64x64xf32> -> tensor<64x64xf32, #blk>
      %r = arith.mulf %sb, %eb : tensor<64x64xf32, #blk>
      %ro = gdn.tile.convert_layout %r : tensor<64x64xf32, #blk> -> tensor<64x64xf32>
      bufferization.materialize_in_destination %ro in writable %C : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
      gpu.return
    }
    // C = A B into a transposed accumulator: the instruction computes C^T = B^T A^T, B's
    // fragments (transposed) as its A, A's (transposed) as its B; stored back as C.
    gpu.func @transposed_product(%A: memref<64x32xbf16>, %B: memref<32x64xbf16>, %C: memref<64x64xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<64x32xbf16> to tensor<64x32xbf16>
      %b = bufferization.to_tensor %B restrict : memref<32x64xbf16> to tensor<32x64xbf16>
      %af = gdn.tile.convert_layout %a : tensor<64x32xbf16> -> tensor<64x32xbf16, #TB>
      %bf = gdn.tile.convert_layout %b : tensor<32x64xbf16> -> tensor<32x64xbf16, #TA>
      %c = gdn.tile.matmul %af, %bf : tensor<64x32xbf16, #TB>, tensor<32x64xbf16, #TA> -> tensor<64x64xf32, #T4>
      %co = gdn.tile.convert_layout %c : tensor<64x64xf32, #T4> -> tensor<64x64xf32>
      bufferization.materialize_in_destination %co in writable %C : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
      gpu.return
    }

    // C = A^T B (transpose_a, A stored 32 x 64): A's fragments are its transpose's.
    gpu.func @transpose_a(%A: memref<32x64xbf16>, %B: memref<32x64xbf16>, %C: memref<64x64xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<32x64xbf16> to tensor<32x64xbf16>
      %b = bufferization.to_tensor %B restrict : memref<32x64xbf16> to tensor<32x64xbf16>
      %af = gdn.tile.convert_layout %a : tensor<32x64xbf16> -> tensor<32x64xbf16, #At4>
      %bf = gdn.tile.convert_layout %b : tensor<32x64xbf16> -> tensor<32x64xbf16, #B4>
      %c = gdn.tile.matmul %af, %bf {transpose_a} : tensor<32x64xbf16, #At4>, tensor<32x64xbf16, #B4> -> tensor<64x64xf32, #mma4>
      %co = gdn.tile.convert_layout %c : tensor<64x64xf32, #mma4> -> tensor<64x64xf32>
      bufferization.materialize_in_destination %co in writable %C : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
      gpu.return
    }

    // The chunk step's pattern with the state held transposed: P = W S with S^T (rounded) as
    // the instruction's A in place, then S + K^T P with P^T (rounded) as the instruction's A
    // in place and K as its B: nothing goes through shared memory.
    gpu.func @state_update(%S: memref<64x64xf32>, %W: memref<64x64xbf16>, %K: memref<64x64xbf16>, %C: memref<64x64xf32>) kernel {
      %s0 = bufferization.to_tensor %S restrict : memref<64x64xf32> to tensor<64x64xf32>
      %w = bufferization.to_tensor %W restrict : memref<64x64xbf16> to tensor<64x64xbf16>
      %k = bufferization.to_tensor %K restrict : memref<64x64xbf16> to tensor<64x64xbf16>
      %s = gdn.tile.convert_layout %s0 : tensor<64x64xf32> -> tensor<64x64xf32, #T4>
      %wf = gdn.tile.convert_layout %w : tensor<64x64xbf16> -> tensor<64x64xbf16, #TB>
      %kf = gdn.tile.convert_layout %k : tensor<64x64xbf16> -> tensor<64x64xbf16, #TBK>
      %sh = arith.truncf %s : tensor<64x64xf32, #T4> to tensor<64x64xbf16, #T4>
      %sa = gdn.tile.convert_layout %sh : tensor<64x64xbf16, #T4> -> tensor<64x64xbf16, #TA>
      %p = gdn.tile.matmul %wf, %sa : tensor<64x64xbf16, #TB>, tensor<64x64xbf16, #TA> -> tensor<64x64xf32, #T4>
      %ph = arith.truncf %p : tensor<64x64xf32, #T4> to tensor<64x64xbf16, #T4>
      %pa = gdn.tile.convert_layout %ph : tensor<64x64xbf16, #T4> -> tensor<64x64xbf16, #TA>
      %u = gdn.tile.matmul %kf, %pa {transpose_a} : tensor<64x64xbf16, #TBK>, tensor<64x64xbf16, #TA> -> tensor<64x64xf32, #T4>
      %n = arith.addf %s, %u : tensor<64x64xf32, #T4>
      %no = gdn.tile.convert_layout %n : tensor<64x64xf32, #T4> -> tensor<64x64xf32>
      bufferization.materialize_in_destination %no in writable %C : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
      gpu.return
    }
    // A chunk of n <= 32 rows (n at run time; gdn.chunk_size bounds the dynamic extents): the
    // registers hold 32 rows, the loads past n give zeros and the stores past n are skipped.
    gpu.func @short_chunk(%A: memref<32x32xbf16>, %B: memref<32x64xbf16>, %C: memref<32x64xf32>, %n: index) kernel attributes {gdn.chunk_size = 32 : i64} {
      %a = bufferization.to_tensor %A restrict : memref<32x32xbf16> to tensor<32x32xbf16>
      %b = bufferization.to_tensor %B restrict : memref<32x64xbf16> to tensor<32x64xbf16>
      %as = tensor.extract_slice %a[0, 0] [%n, 32] [1, 1] : tensor<32x32xbf16> to tensor<?x32xbf16>
      %af = gdn.tile.convert_layout %as : tensor<?x32xbf16> -> tensor<?x32xbf16, #A2>
      %bf = gdn.tile.convert_layout %b : tensor<32x64xbf16> -> tensor<32x64xbf16, #B2>
      %c = gdn.tile.matmul %af, %bf : tensor<?x32xbf16, #A2>, tensor<32x64xbf16, #B2> -> tensor<?x64xf32, #mma2>
      %co = gdn.tile.convert_layout %c : tensor<?x64xf32, #mma2> -> tensor<?x64xf32>
      %cs = memref.subview %C[0, 0] [%n, 64] [1, 1] : memref<32x64xf32> to memref<?x64xf32, strided<[64, 1]>>
      bufferization.materialize_in_destination %co in writable %cs : (tensor<?x64xf32>, memref<?x64xf32, strided<[64, 1]>>) -> ()
      gpu.return
    }
    // The gate family on a chunk of n <= 64 rows: G = cumsum(g) (blocked, wrapped over the 128
    // threads), G in shared memory; O1 = 0.5 beta .* exp(G) .* X (row factors a slice of X's
    // accumulator layout), O2 = exp(G[n-1] - G) .* X, O3 = exp(G[n-1]) S with S held transposed.
    gpu.func @gates(%g: memref<64xf32>, %beta: memref<64xf32>, %X: memref<64x64xf32>, %S: memref<64x64xf32>, %O1: memref<64x64xf32>, %O2: memref<64x64xf32>, %O3: memref<64x64xf32>, %n: index) kernel attributes {gdn.chunk_size = 64 : i64} {
      %gt = bufferization.to_tensor %g restrict : memref<64xf32> to tensor<64xf32>
      %gs = tensor.extract_slice %gt[0] [%n] [1] : tensor<64xf32> to tensor<?xf32>
      %gb = gdn.tile.convert_layout %gs : tensor<?xf32> -> tensor<?xf32, #g1>
      %G = gdn.tile.cumsum %gb : tensor<?xf32, #g1>
      %Gs = gdn.tile.convert_layout %G : tensor<?xf32, #g1> -> tensor<?xf32, #sh>
      %xt = bufferization.to_tensor %X restrict : memref<64x64xf32> to tensor<64x64xf32>
      %xs = tensor.extract_slice %xt[0, 0] [%n, 64] [1, 1] : tensor<64x64xf32> to tensor<?x64xf32>
      %xa = gdn.tile.convert_layout %xs : tensor<?x64xf32> -> tensor<?x64xf32, #mma4>
      %bt = bufferization.to_tensor %beta restrict : memref<64xf32> to tensor<64xf32>
      %bs = tensor.extract_slice %bt[0] [%n] [1] : tensor<64xf32> to tensor<?xf32>
      %br = gdn.tile.convert_layout %bs : tensor<?xf32> -> tensor<?xf32, #rows4>
      %y1 = gdn.tile.gate_rows %xa, %Gs : tensor<?x64xf32, #mma4>, tensor<?xf32, #sh>
      %y1b = gdn.tile.row_scale %y1 by %br : tensor<?xf32, #rows4> {factor = 5.000000e-01 : f32} : tensor<?x64xf32, #mma4>
      %y2 = gdn.tile.gate_rows %xa, %Gs {to_end} : tensor<?x64xf32, #mma4>, tensor<?xf32, #sh>
      %st = bufferization.to_tensor %S restrict : memref<64x64xf32> to tensor<64x64xf32>
      %sa = gdn.tile.convert_layout %st : tensor<64x64xf32> -> tensor<64x64xf32, #T4>
      %s2 = gdn.tile.decay_state %sa, %Gs : tensor<64x64xf32, #T4>, tensor<?xf32, #sh>
      %o1 = gdn.tile.convert_layout %y1b : tensor<?x64xf32, #mma4> -> tensor<?x64xf32>
      %o1m = memref.subview %O1[0, 0] [%n, 64] [1, 1] : memref<64x64xf32> to memref<?x64xf32, strided<[64, 1]>>
      bufferization.materialize_in_destination %o1 in writable %o1m : (tensor<?x64xf32>, memref<?x64xf32, strided<[64, 1]>>) -> ()
      %o2 = gdn.tile.convert_layout %y2 : tensor<?x64xf32, #mma4> -> tensor<?x64xf32>
      %o2m = memref.subview %O2[0, 0] [%n, 64] [1, 1] : memref<64x64xf32> to memref<?x64xf32, strided<[64, 1]>>
      bufferization.materialize_in_destination %o2 in writable %o2m : (tensor<?x64xf32>, memref<?x64xf32, strided<[64, 1]>>) -> ()
      %o3 = gdn.tile.convert_layout %s2 : tensor<64x64xf32, #T4> -> tensor<64x64xf32>
      bufferization.materialize_in_destination %o3 in writable %O3 : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
      gpu.return
    }
    // The delta rule's prep on a chunk of n <= 64 rows: KKg = strictly_lower(K K^T .* exp(G_i -
    // G_j)) on tensor cores (K's fragments as A and, transposed, as B), A = diag(beta) KKg,
    // Tm = (I + A)^-1 by the column-parallel solve.
    gpu.func @prep(%K: memref<64x64xbf16>, %g: memref<64xf32>, %beta: memref<64xf32>, %T: memref<64x64xf32>, %n: index) kernel attributes {gdn.chunk_size = 64 : i64} {
      %kt = bufferization.to_tensor %K restrict : memref<64x64xbf16> to tensor<64x64xbf16>
      %ks = tensor.extract_slice %kt[0, 0] [%n, 64] [1, 1] : tensor<64x64xbf16> to tensor<?x64xbf16>
      %ka = gdn.tile.convert_layout %ks : tensor<?x64xbf16> -> tensor<?x64xbf16, #A4>
      %kb = gdn.tile.convert_layout %ks : tensor<?x64xbf16> -> tensor<?x64xbf16, #Bt4>
      %gt = bufferization.to_tensor %g restrict : memref<64xf32> to tensor<64xf32>
      %gs = tensor.extract_slice %gt[0] [%n] [1] : tensor<64xf32> to tensor<?xf32>
      %gb = gdn.tile.convert_layout %gs : tensor<?xf32> -> tensor<?xf32, #g1>
      %G = gdn.tile.cumsum %gb : tensor<?xf32, #g1>
      %Gs = gdn.tile.convert_layout %G : tensor<?xf32, #g1> -> tensor<?xf32, #sh>
      %bt = bufferization.to_tensor %beta restrict : memref<64xf32> to tensor<64xf32>
      %bs = tensor.extract_slice %bt[0] [%n] [1] : tensor<64xf32> to tensor<?xf32>
      %br = gdn.tile.convert_layout %bs : tensor<?xf32> -> tensor<?xf32, #rows4>
      %kk = gdn.tile.gated_gram %ka, %kb gates %Gs : tensor<?xf32, #sh> : tensor<?x64xbf16, #A4>, tensor<?x64xbf16, #Bt4> -> tensor<?x?xf32, #mma4>
      %a = gdn.tile.row_scale %kk by %br : tensor<?xf32, #rows4> : tensor<?x?xf32, #mma4>
      %tm = gdn.tile.unit_lower_inverse %a : tensor<?x?xf32, #mma4>
      %to = gdn.tile.convert_layout %tm : tensor<?x?xf32, #mma4> -> tensor<?x?xf32>
      %tv = memref.subview %T[0, 0] [%n, %n] [1, 1] : memref<64x64xf32> to memref<?x?xf32, strided<[64, 1]>>
      bufferization.materialize_in_destination %to in writable %tv : (tensor<?x?xf32>, memref<?x?xf32, strided<[64, 1]>>) -> ()
      gpu.return
    }
    // Rows L2-normalised on a chunk of n <= 64 rows (blocked tile, rows summed through the
    // exchange buffer).
    gpu.func @l2norm(%X: memref<64x64xf32>, %O: memref<64x64xf32>, %n: index) kernel attributes {gdn.chunk_size = 64 : i64} {
      %xt = bufferization.to_tensor %X restrict : memref<64x64xf32> to tensor<64x64xf32>
      %xs = tensor.extract_slice %xt[0, 0] [%n, 64] [1, 1] : tensor<64x64xf32> to tensor<?x64xf32>
      %xb = gdn.tile.convert_layout %xs : tensor<?x64xf32> -> tensor<?x64xf32, #blk>
      %y = gdn.tile.l2norm_rows %xb : tensor<?x64xf32, #blk>
      %yo = gdn.tile.convert_layout %y : tensor<?x64xf32, #blk> -> tensor<?x64xf32>
      %om = memref.subview %O[0, 0] [%n, 64] [1, 1] : memref<64x64xf32> to memref<?x64xf32, strided<[64, 1]>>
      bufferization.materialize_in_destination %yo in writable %om : (tensor<?x64xf32>, memref<?x64xf32, strided<[64, 1]>>) -> ()
      gpu.return
    }
  }
}
