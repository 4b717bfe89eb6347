// The chunked kernels' defaults that follow from the layer. gdn-default-chunk-size gives each
// gdn.recurrence without a chunk_size the chunked kernels' default for it: 16 at K = 256 (K x 32
// would leave the sliced state pass's K x chunk <= 4096), for a packed batch and for channel gates,
// 32 elsewhere; a layer's own chunk_size stays. The GPU pipelines run it at chunk-size=0 (their default), and
// prep-warps=0 (the default) then gives one-warp prep blocks at chunk 16 with K <= 128 and a
// scalar or no gate, four warps elsewhere.
// RUN: gdn-opt %s -split-input-file --gdn-default-chunk-size | FileCheck %s
// RUN: gdn-opt %s -split-input-file --gdn-to-nvvm="kernel=chunked chunk-size=0 prep-warps=0" | FileCheck %s --check-prefix=PIPE

// CHECK-LABEL: func.func @k128
// CHECK: gdn.recurrence <scalar, delta>
// CHECK-SAME: chunk_size = 32
// PIPE-LABEL: llvm.func @k128_chunked_prep
// PIPE-SAME: gdn.block = 128
// PIPE-SAME: gdn.chunk_size = 32
func.func @k128(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                %v: tensor<?x?x4x128xbf16>, %g: tensor<?x?x4xf32>, %beta: tensor<?x?x4xf32>)
    -> tensor<?x?x4x128xbf16> {
  %o = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x4x128xbf16>) k(%k : tensor<?x?x4x128xbf16>)
      v(%v : tensor<?x?x4x128xbf16>) g(%g : tensor<?x?x4xf32>) beta(%beta : tensor<?x?x4xf32>)
      -> tensor<?x?x4x128xbf16>
  return %o : tensor<?x?x4x128xbf16>
}

// -----

// CHECK-LABEL: func.func @k256
// CHECK: gdn.recurrence <scalar, delta>
// CHECK-SAME: chunk_size = 16
// K = 256 keeps four prep warps.
// PIPE-LABEL: llvm.func @k256_chunked_prep
// PIPE-SAME: gdn.block = 128
// PIPE-SAME: gdn.chunk_size = 16
func.func @k256(%q: tensor<?x?x2x256xbf16>, %k: tensor<?x?x2x256xbf16>,
                %v: tensor<?x?x2x256xbf16>, %g: tensor<?x?x2xf32>, %beta: tensor<?x?x2xf32>)
    -> tensor<?x?x2x256xbf16> {
  %o = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x2x256xbf16>) k(%k : tensor<?x?x2x256xbf16>)
      v(%v : tensor<?x?x2x256xbf16>) g(%g : tensor<?x?x2xf32>) beta(%beta : tensor<?x?x2xf32>)
      -> tensor<?x?x2x256xbf16>
  return %o : tensor<?x?x2x256xbf16>
}

// -----

// A packed batch: chunk 16 and one-warp prep blocks.
// CHECK-LABEL: func.func @packed
// CHECK: gdn.recurrence <scalar, delta>
// CHECK-SAME: chunk_size = 16
// PIPE-LABEL: llvm.func @packed_chunked_prep
// PIPE-SAME: gdn.block = 32
// PIPE-SAME: gdn.chunk_size = 16
func.func @packed(%q: tensor<1x?x4x128xbf16>, %k: tensor<1x?x4x128xbf16>,
                  %v: tensor<1x?x4x128xbf16>, %g: tensor<1x?x4xf32>, %beta: tensor<1x?x4xf32>,
                  %cu: tensor<?xi32>) -> tensor<1x?x4x128xbf16> {
  %o = gdn.recurrence <scalar, delta> q(%q : tensor<1x?x4x128xbf16>) k(%k : tensor<1x?x4x128xbf16>)
      v(%v : tensor<1x?x4x128xbf16>) g(%g : tensor<1x?x4xf32>) beta(%beta : tensor<1x?x4xf32>)
      cu_seqlens(%cu : tensor<?xi32>) -> tensor<1x?x4x128xbf16>
  return %o : tensor<1x?x4x128xbf16>
}

// -----

// The layer's own chunk size stays.
// CHECK-LABEL: func.func @own
// CHECK: gdn.recurrence <scalar, delta>
// CHECK-SAME: chunk_size = 64
// PIPE-LABEL: llvm.func @own_chunked_prep
// PIPE-SAME: gdn.block = 128
// PIPE-SAME: gdn.chunk_size = 64
func.func @own(%q: tensor<1x?x4x128xbf16>, %k: tensor<1x?x4x128xbf16>,
               %v: tensor<1x?x4x128xbf16>, %g: tensor<1x?x4xf32>, %beta: tensor<1x?x4xf32>,
               %cu: tensor<?xi32>) -> tensor<1x?x4x128xbf16> {
  %o = gdn.recurrence <scalar, delta> q(%q : tensor<1x?x4x128xbf16>) k(%k : tensor<1x?x4x128xbf16>)
      v(%v : tensor<1x?x4x128xbf16>) g(%g : tensor<1x?x4xf32>) beta(%beta : tensor<1x?x4xf32>)
      cu_seqlens(%cu : tensor<?xi32>) {chunk_size = 64} -> tensor<1x?x4x128xbf16>
  return %o : tensor<1x?x4x128xbf16>
}

// -----

// Channel gates (KDA): chunk 16, four prep warps.
// CHECK-LABEL: func.func @channel
// CHECK: gdn.recurrence <channel, delta>
// CHECK-SAME: chunk_size = 16
// PIPE-LABEL: llvm.func @channel_chunked_prep
// PIPE-SAME: gdn.block = 128
// PIPE-SAME: gdn.chunk_size = 16
func.func @channel(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                   %v: tensor<?x?x4x128xbf16>, %g: tensor<?x?x4x128xf32>, %beta: tensor<?x?x4xf32>)
    -> tensor<?x?x4x128xbf16> {
  %o = gdn.recurrence <channel, delta> q(%q : tensor<?x?x4x128xbf16>) k(%k : tensor<?x?x4x128xbf16>)
      v(%v : tensor<?x?x4x128xbf16>) g(%g : tensor<?x?x4x128xf32>) beta(%beta : tensor<?x?x4xf32>)
      -> tensor<?x?x4x128xbf16>
  return %o : tensor<?x?x4x128xbf16>
}
