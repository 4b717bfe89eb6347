// What the chunked kernel does not cover is a located error naming the reason; the
// recurrent kernel (gdn-recurrent-gpu-kernels) covers every layer.
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels=state-wy=0 2>&1 | FileCheck %s
// RUN: not gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=64 v-tile=64" 2>&1 | FileCheck %s --check-prefix=SMEM

// Channel gates with the delta rule need state-wy (the second run, with it, builds kda).
// CHECK: chunked_unsupported.mlir:[[@LINE+2]]:8: error: gdn-chunked-gpu-kernels: channel gates with the delta rule need state-wy
func.func @kda(%q: tensor<?x?x4x64xbf16>, %g: tensor<?x?x4x64xf32>, %beta: tensor<?x?x4xf32>) {
  %o = gdn.recurrence <channel, delta> q(%q : tensor<?x?x4x64xbf16>) k(%q : tensor<?x?x4x64xbf16>)
      v(%q : tensor<?x?x4x64xbf16>) g(%g : tensor<?x?x4x64xf32>) beta(%beta : tensor<?x?x4xf32>)
      -> tensor<?x?x4x64xbf16>
  return
}

// -----

// CHECK: error: gdn-chunked-gpu-kernels: only bf16 and f16 inputs are supported
// SMEM: error: gdn-chunked-gpu-kernels: only bf16 and f16 inputs are supported
func.func @f32_inputs(%q: tensor<?x?x4x64xf32>) {
  %o = gdn.recurrence <none, additive> q(%q : tensor<?x?x4x64xf32>) k(%q : tensor<?x?x4x64xf32>)
      v(%q : tensor<?x?x4x64xf32>) -> tensor<?x?x4x64xf32>
  return
}

// -----

// K = 256 with W in the workspace (state-wy=0) fits at chunk size 32, not 64 (the default
// here is 64 in the pass, 32 in gdn-compile); with state-wy it fits at 64 too.
// CHECK: error: gdn-chunked-gpu-kernels: the shared-memory plan needs {{[0-9]+}} bytes (more than 232448); use a smaller chunk-size or v-tile
// SMEM: error: gdn-chunked-gpu-kernels: the shared-memory plan needs
func.func @k256(%q: tensor<?x?x1x256xbf16>, %v: tensor<?x?x2x256xbf16>, %g: tensor<?x?x2xf32>) {
  %o = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x1x256xbf16>) k(%q : tensor<?x?x1x256xbf16>)
      v(%v : tensor<?x?x2x256xbf16>) g(%g : tensor<?x?x2xf32>) beta(%g : tensor<?x?x2xf32>)
      -> tensor<?x?x2x256xbf16>
  return
}

// -----

// A decode step has no chunked kernel.
// CHECK: error: gdn-chunked-gpu-kernels: only gdn.recurrence has a chunked kernel
func.func @decode(%q: tensor<8x1x4x64xbf16>, %s: tensor<8x4x64x64xf32>) {
  %o, %s1 = gdn.decode <none, additive> q(%q : tensor<8x1x4x64xbf16>) k(%q : tensor<8x1x4x64xbf16>)
      v(%q : tensor<8x1x4x64xbf16>) state(%s : tensor<8x4x64x64xf32>)
      -> tensor<8x1x4x64xbf16>, tensor<8x4x64x64xf32>
  return
}
