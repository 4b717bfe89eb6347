// gdn-tiles-to-gpu refuses, at the op, what it cannot lower: layouts and products it does not
// lower yet,
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
module attributes {gpu.container_module} {
  gpu.module @tiles {
    gpu.func @f32_operand(%A: memref<64x32xf32>) kernel {
      %a = bufferization.to_tensor %A restrict : memref<64x32xf32> to tensor<64x32xf32>
      // expected-error @+1 {{'gdn.tile.convert_layout' op gdn-tiles-to-gpu: mma.sync operand fragments hold bf16 or f16 elements, got f32 (round the tile with arith.truncf before converting it)}}
      %af = gdn.tile.convert_layout %a : tensor<64x32xf32> -> tensor<64x32xf32, #A>
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
