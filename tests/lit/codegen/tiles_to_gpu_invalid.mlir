// gdn-tiles-to-gpu refuses, at the op and before rewriting anything, what it cannot lower:
// layouts, conversions and products it does not lower yet (wgmma, CUDA-core products, reading
// shared tiles back, converting slices, channel-gated or transposed grams), gates or row factors
// in the wrong layout, rows it cannot trace, a block size the layouts contradict,
// shapes that do not divide into the instruction tiles, f32 operand fragments, layouts over
// different warp counts in one kernel, tiles read from no memref.
// RUN: gdn-opt %s -split-input-file --gdn-tiles-to-gpu --verify-diagnostics

#w = #gdn.mma<version = 3, instr = [64, 64, 16], warps = [4, 1]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @wgmma(%C: memref<64x64xf32>) kernel {
      // expected-error @+1 {{'arith.constant' op gdn-tiles-to-gpu: wgmma fragments (#gdn.mma version 3) are not lowered yet: only mma.sync (version 2)}}
      %z = arith.constant dense<0.0> : tensor<64x64xf32, #w>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @rows(%C: memref<48x64xf32>) kernel {
      // expected-error @+1 {{'arith.constant' op gdn-tiles-to-gpu: rows of 48 do not divide into 64 (#gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]> on [48x64])}}
      %z = arith.constant dense<0.0> : tensor<48x64xf32, #mma>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#A = #gdn.dot_operand<index = 0, parent = #mma>
#B = #gdn.dot_operand<index = 1, parent = #mma>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @f32_operand(%A: memref<64x32xf32>, %B: memref<32x8xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<64x32xf32> to tensor<64x32xf32>
      %af = gdn.tile.convert_layout %a : tensor<64x32xf32> -> tensor<64x32xf32, #A>
      %b = bufferization.to_tensor %B restrict : memref<32x8xf32> to tensor<32x8xf32>
      %bf = gdn.tile.convert_layout %b : tensor<32x8xf32> -> tensor<32x8xf32, #B>
      // expected-error @+1 {{'gdn.tile.matmul' op gdn-tiles-to-gpu: mma.sync multiplies bf16 or f16 operands, got f32 (round the fragments with arith.truncf first)}}
      %p = gdn.tile.matmul %af, %bf : tensor<64x32xf32, #A>, tensor<32x8xf32, #B> -> tensor<64x8xf32, #mma>
      gpu.return
    }
  }
}

// -----

#mma4 = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#mma2 = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 1]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @warps(%C: memref<64x64xf32>) kernel {
      %z = arith.constant dense<0.0> : tensor<64x64xf32, #mma4>
      // expected-error @+1 {{gdn-tiles-to-gpu: its layouts spread over 2 warps but arith.constant at}}
      %y = arith.constant dense<0.0> : tensor<64x64xf32, #mma2>
      gpu.return
    }
  }
}

// -----

#blk = #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @cuda_cores(%A: memref<32x64xf32>, %B: memref<64x64xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<32x64xf32> to tensor<32x64xf32>
      %b = bufferization.to_tensor %B restrict : memref<64x64xf32> to tensor<64x64xf32>
      %af = gdn.tile.convert_layout %a : tensor<32x64xf32> -> tensor<32x64xf32, #blk>
      %bf = gdn.tile.convert_layout %b : tensor<64x64xf32> -> tensor<64x64xf32, #blk>
      // expected-error @+1 {{'gdn.tile.matmul' op gdn-tiles-to-gpu: only products into mma.sync accumulators (#gdn.mma) are lowered yet}}
      %c = gdn.tile.matmul %af, %bf : tensor<32x64xf32, #blk>, tensor<64x64xf32, #blk> -> tensor<32x64xf32, #blk>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#A = #gdn.dot_operand<index = 0, parent = #mma>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @not_from_memory() kernel {
      %a = tensor.empty() : tensor<64x32xbf16>
      // expected-error @+1 {{'gdn.tile.convert_layout' op gdn-tiles-to-gpu: a tile loaded into registers must be read from a memref (bufferization.to_tensor, or a unit-stride slice of one)}}
      %af = gdn.tile.convert_layout %a : tensor<64x32xbf16> -> tensor<64x32xbf16, #A>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 1]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @unbounded(%n: index) kernel {
      // expected-error @+1 {{'tensor.empty' op gdn-tiles-to-gpu: the tile [?x64] has a dynamic extent: registers need a static shape, or the function's gdn.chunk_size bounding it}}
      %z = tensor.empty(%n) : tensor<?x64xf32, #mma>
      gpu.return
    }
  }
}

// -----

#sh = #gdn.shared<swizzle = 0, transposed = false>
#blk = #gdn.blocked<per_thread = [1], lanes = [32], warps = [2]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @from_shared(%G: memref<64xf32>) kernel {
      %g = bufferization.to_tensor %G restrict : memref<64xf32> to tensor<64xf32>
      %s = gdn.tile.convert_layout %g : tensor<64xf32> -> tensor<64xf32, #sh>
      // expected-error @+1 {{'gdn.tile.convert_layout' op gdn-tiles-to-gpu: reading a shared tile into another layout is not lowered yet (tile ops read shared tiles directly)}}
      %b = gdn.tile.convert_layout %s : tensor<64xf32, #sh> -> tensor<64xf32, #blk>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 1]>
#rows = #gdn.slice<dim = 1, parent = #mma>
#blk = #gdn.blocked<per_thread = [1], lanes = [32], warps = [2]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @from_slice(%R: memref<64xf32>) kernel {
      %r = bufferization.to_tensor %R restrict : memref<64xf32> to tensor<64xf32>
      %s = gdn.tile.convert_layout %r : tensor<64xf32> -> tensor<64xf32, #rows>
      // expected-error @+1 {{'gdn.tile.convert_layout' op gdn-tiles-to-gpu: a slice is replicated over threads: it is read, never stored or converted from}}
      %b = gdn.tile.convert_layout %s : tensor<64xf32, #rows> -> tensor<64xf32, #blk>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [2, 1]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @stored_nowhere(%X: memref<32x64xf32>) kernel {
      %c0 = arith.constant 0 : index
      %x = bufferization.to_tensor %X restrict : memref<32x64xf32> to tensor<32x64xf32>
      %r = gdn.tile.convert_layout %x : tensor<32x64xf32> -> tensor<32x64xf32, #mma>
      // expected-error @+1 {{'gdn.tile.convert_layout' op gdn-tiles-to-gpu: a tile stored from registers must be materialised in a memref (bufferization.materialize_in_destination)}}
      %o = gdn.tile.convert_layout %r : tensor<32x64xf32, #mma> -> tensor<32x64xf32>
      %e = tensor.extract %o[%c0, %c0] : tensor<32x64xf32>
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @memory_to_memory(%X: memref<32x64xf32>) kernel {
      %x = bufferization.to_tensor %X restrict : memref<32x64xf32> to tensor<32x64xf32>
      // expected-error @+1 {{'gdn.tile.convert_layout' op gdn-tiles-to-gpu: a conversion between two tiles in memory}}
      %o = gdn.tile.convert_layout %x : tensor<32x64xf32> -> tensor<32x64xf32>
      gpu.return
    }
  }
}

// -----

#sh = #gdn.shared<swizzle = 0, transposed = false>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @shared_unbounded(%G: memref<64xf32>, %n: index) kernel {
      %g = bufferization.to_tensor %G restrict : memref<64xf32> to tensor<64xf32>
      %gs = tensor.extract_slice %g[0] [%n] [1] : tensor<64xf32> to tensor<?xf32>
      // expected-error @+1 {{'gdn.tile.convert_layout' op gdn-tiles-to-gpu: a shared tile with a dynamic extent needs the function's gdn.chunk_size}}
      %s = gdn.tile.convert_layout %gs : tensor<?xf32> -> tensor<?xf32, #sh>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    // expected-error @+1 {{'gpu.func' op gdn-tiles-to-gpu: the tile layouts spread over 128 threads, but known_block_size says otherwise}}
    gpu.func @block_size(%C: memref<64x64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %z = arith.constant dense<0.0> : tensor<64x64xf32, #mma>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#A = #gdn.dot_operand<index = 0, parent = #mma>
#Bt = #gdn.dot_operand<index = 1, parent = #mma, transposed = true>
#blk = #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @channel_gram(%K: memref<64x64xbf16>, %G: memref<64x64xf32>) kernel {
      %k = bufferization.to_tensor %K restrict : memref<64x64xbf16> to tensor<64x64xbf16>
      %g = bufferization.to_tensor %G restrict : memref<64x64xf32> to tensor<64x64xf32>
      %ka = gdn.tile.convert_layout %k : tensor<64x64xbf16> -> tensor<64x64xbf16, #A>
      %kb = gdn.tile.convert_layout %k : tensor<64x64xbf16> -> tensor<64x64xbf16, #Bt>
      %gs = gdn.tile.convert_layout %g : tensor<64x64xf32> -> tensor<64x64xf32, #gdn.shared<swizzle = 0, transposed = false>>
      // expected-error @+1 {{'gdn.tile.gated_gram' op gdn-tiles-to-gpu: channel-gated grams (gates [n, K]: the decay inside the sum) are not lowered yet}}
      %m = gdn.tile.gated_gram %ka, %kb gates %gs : tensor<64x64xf32, #gdn.shared<swizzle = 0, transposed = false>> : tensor<64x64xbf16, #A>, tensor<64x64xbf16, #Bt> -> tensor<64x64xf32, #mma>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#blk = #gdn.blocked<per_thread = [1], lanes = [32], warps = [4]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @gates_in_registers(%X: memref<64x64xf32>, %G: memref<64xf32>) kernel {
      %x = bufferization.to_tensor %X restrict : memref<64x64xf32> to tensor<64x64xf32>
      %g = bufferization.to_tensor %G restrict : memref<64xf32> to tensor<64xf32>
      %xa = gdn.tile.convert_layout %x : tensor<64x64xf32> -> tensor<64x64xf32, #mma>
      %gb = gdn.tile.convert_layout %g : tensor<64xf32> -> tensor<64xf32, #blk>
      // expected-error @+1 {{'gdn.tile.gate_rows' op gdn-tiles-to-gpu: its cumulative gates must be a shared tile (#gdn.shared): rows other than a thread's own are read}}
      %y = gdn.tile.gate_rows %xa, %gb : tensor<64x64xf32, #mma>, tensor<64xf32, #blk>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#g1 = #gdn.blocked<per_thread = [1], lanes = [32], warps = [4]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @row_factors_blocked(%X: memref<64x64xf32>, %R: memref<64xf32>) kernel {
      %x = bufferization.to_tensor %X restrict : memref<64x64xf32> to tensor<64x64xf32>
      %r = bufferization.to_tensor %R restrict : memref<64xf32> to tensor<64xf32>
      %xa = gdn.tile.convert_layout %x : tensor<64x64xf32> -> tensor<64x64xf32, #mma>
      %rb = gdn.tile.convert_layout %r : tensor<64xf32> -> tensor<64xf32, #g1>
      // expected-error @+1 {{'gdn.tile.row_scale' op gdn-tiles-to-gpu: its row factors must be the rows' slice of the tile's layout}}
      %y = gdn.tile.row_scale %xa by %rb : tensor<64xf32, #g1> : tensor<64x64xf32, #mma>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#A = #gdn.dot_operand<index = 0, parent = #mma>
#Bt = #gdn.dot_operand<index = 1, parent = #mma, transposed = true>
#g1 = #gdn.blocked<per_thread = [1], lanes = [32], warps = [4]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @gram_gates_blocked(%K: memref<64x64xbf16>, %G: memref<64xf32>) kernel {
      %k = bufferization.to_tensor %K restrict : memref<64x64xbf16> to tensor<64x64xbf16>
      %g = bufferization.to_tensor %G restrict : memref<64xf32> to tensor<64xf32>
      %ka = gdn.tile.convert_layout %k : tensor<64x64xbf16> -> tensor<64x64xbf16, #A>
      %kb = gdn.tile.convert_layout %k : tensor<64x64xbf16> -> tensor<64x64xbf16, #Bt>
      %gb = gdn.tile.convert_layout %g : tensor<64xf32> -> tensor<64xf32, #g1>
      // expected-error @+1 {{'gdn.tile.gated_gram' op gdn-tiles-to-gpu: a gram's cumulative gates must be a shared tile (#gdn.shared)}}
      %m = gdn.tile.gated_gram %ka, %kb gates %gb : tensor<64xf32, #g1> : tensor<64x64xbf16, #A>, tensor<64x64xbf16, #Bt> -> tensor<64x64xf32, #mma>
      gpu.return
    }
  }
}

// -----

#T = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1], transposed = true>
#TA = #gdn.dot_operand<index = 0, parent = #T>
#TB = #gdn.dot_operand<index = 1, parent = #T, transposed = true>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @gram_transposed(%K: memref<64x64xbf16>) kernel {
      %k = bufferization.to_tensor %K restrict : memref<64x64xbf16> to tensor<64x64xbf16>
      %ka = gdn.tile.convert_layout %k : tensor<64x64xbf16> -> tensor<64x64xbf16, #TB>
      %kb = gdn.tile.convert_layout %k : tensor<64x64xbf16> -> tensor<64x64xbf16, #TA>
      // expected-error @+1 {{'gdn.tile.gated_gram' op gdn-tiles-to-gpu: a gram into a transposed accumulator is not lowered yet}}
      %m = gdn.tile.gated_gram %ka, %kb : tensor<64x64xbf16, #TB>, tensor<64x64xbf16, #TA> -> tensor<64x64xf32, #T>
      gpu.return
    }
  }
}

// -----

#mma = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#sh = #gdn.shared<swizzle = 0, transposed = false>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @rows_untraced(%X: memref<64x64xf32>, %G: memref<64xf32>, %n: index, %c: i1) kernel attributes {gdn.chunk_size = 64 : i64} {
      %x = bufferization.to_tensor %X restrict : memref<64x64xf32> to tensor<64x64xf32>
      %xs = tensor.extract_slice %x[0, 0] [%n, 64] [1, 1] : tensor<64x64xf32> to tensor<?x64xf32>
      %xa = gdn.tile.convert_layout %xs : tensor<?x64xf32> -> tensor<?x64xf32, #mma>
      %g = bufferization.to_tensor %G restrict : memref<64xf32> to tensor<64xf32>
      %gs = gdn.tile.convert_layout %g : tensor<64xf32> -> tensor<64xf32, #sh>
      %y = scf.if %c -> (tensor<?x64xf32, #mma>) {
        scf.yield %xa : tensor<?x64xf32, #mma>
      } else {
        scf.yield %xa : tensor<?x64xf32, #mma>
      }
      // expected-error @+1 {{'gdn.tile.gate_rows' op gdn-tiles-to-gpu: the runtime rows of its tile cannot be traced to a slice, memref or loop init}}
      %z = gdn.tile.gate_rows %y, %gs {to_end} : tensor<?x64xf32, #mma>, tensor<64xf32, #sh>
      gpu.return
    }
  }
}

// -----

// A plan past the 48 KiB of static shared memory: a 128 x 128 f32 exchange is 64 KiB.
#acc = #gdn.mma<version = 2, instr = [16, 8, 16], warps = [4, 1]>
#blk = #gdn.blocked<per_thread = [1, 4], lanes = [8, 4], warps = [4, 1]>
module attributes {gpu.container_module} {
  gpu.module @tiles {
    // expected-error @+1 {{'gpu.func' op gdn-tiles-to-gpu: @too_much_shared: the tile program's shared memory (65536 bytes: 65536 for the exchange buffer, the rest for shared tiles) exceeds the 49152 bytes of static shared memory per block}}
    gpu.func @too_much_shared(%X: memref<128x128xf32>) kernel {
      %x = bufferization.to_tensor %X restrict : memref<128x128xf32> to tensor<128x128xf32>
      %a = gdn.tile.convert_layout %x : tensor<128x128xf32> -> tensor<128x128xf32, #acc>
      // expected-note @+1 {{the largest exchange (65536 bytes) is for this op}}
      %b = gdn.tile.convert_layout %a : tensor<128x128xf32, #acc> -> tensor<128x128xf32, #blk>
      gpu.return
    }
  }
}
