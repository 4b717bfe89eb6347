// The chunked kernels are built from the split chunked form: gdn-chunkwise, then
// gdn-split-chunk-loop, then gdn-chunked-gpu-kernels on that form.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop --gdn-chunked-gpu-kernels=v-tile=64 | FileCheck %s
// The same kernels as from the layer op (with that chunk size).
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop --gdn-chunked-gpu-kernels=v-tile=64 > %t.form
// RUN: gdn-opt %s --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64" > %t.layer
// RUN: diff %t.form %t.layer
// Canonicalized in between: still the same kernels.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop --canonicalize --cse --gdn-chunked-gpu-kernels=v-tile=64 | diff - %t.layer
// An edit no kernel fragment implements (K gated to the chunk's start, not its end) gets the
// generic fused kernel (the tile program lowered op by op), with a remark at the layer's
// location that names the op and the op expected there; with generic-fallback=0, that is an
// error.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=16 --gdn-split-chunk-loop -mlir-print-debuginfo | sed 's/ {to_end}//' | gdn-opt --gdn-chunked-gpu-kernels 2>&1 | FileCheck %s --check-prefix=GENERIC
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 --gdn-split-chunk-loop -mlir-print-debuginfo | sed 's/ {to_end}//' | not gdn-opt --gdn-chunked-gpu-kernels=generic-fallback=0 2>&1 | FileCheck %s --check-prefix=EDIT
// No Q K^T product to read the layer from: with the fallback off, an error naming what is missing.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=16 --gdn-split-chunk-loop | sed 's/ {diagonal}//' | not gdn-opt --gdn-chunked-gpu-kernels=generic-fallback=0 2>&1 | FileCheck %s --check-prefix=NOQK
// The generic kernel's shared-memory plan over the limit (chunk 64), and an op it cannot lower.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop | not gdn-opt --gdn-chunked-gpu-kernels=generic=1 2>&1 | FileCheck %s --check-prefix=SHARED
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=16 --gdn-split-chunk-loop | sed '0,/arith.subf %\(.*\) : tensor/s//arith.maximumf %\1 : tensor/' | not gdn-opt --gdn-chunked-gpu-kernels 2>&1 | FileCheck %s --check-prefix=NOLOWERING
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=16 --gdn-split-chunk-loop | sed '0,/tensor.extract_slice %%arg2\[\(.*\)\] \[1, 1, 1, 1\]/s//tensor.extract_slice %%arg2[\1] [1, 2, 1, 1]/' | not gdn-opt --gdn-chunked-gpu-kernels 2>&1 | FileCheck %s --check-prefix=STRIDED
// Not split: the error says which pass is missing.
// RUN: gdn-opt %s --gdn-chunkwise=chunk-size=32 | not gdn-opt --gdn-chunked-gpu-kernels 2>&1 | FileCheck %s --check-prefix=UNSPLIT
// The named pipeline runs all three (every stage printable with --mlir-print-ir-after-all).
// RUN: gdn-opt %s --gdn-to-nvvm="kernel=chunked chunk-size=32" --mlir-print-ir-after-all -o /dev/null 2>&1 | FileCheck %s --check-prefix=STAGES

// CHECK: gpu.module @gdn
// CHECK: gpu.func @gated_deltanet_chunked_prep
// CHECK-SAME: gdn.chunk_size = 32
// CHECK: gpu.func @gated_deltanet_chunked(
// CHECK-SAME: gdn.layer = "gdn.recurrence"
// CHECK-SAME: gdn.prep_kernel = "gated_deltanet_chunked_prep"
// CHECK-SAME: gdn.variant = "scalar,delta"
// CHECK-NOT: func.func

// GENERIC: chunked_form.mlir:[[@LINE+22]]:13: remark: gdn-chunked-gpu-kernels: no kernel fragment for this gdn.tile.gate_rows (other attributes)
// GENERIC-SAME: building the generic fused kernel instead
// GENERIC: gpu.func @gated_deltanet_generic(
// GENERIC-SAME: gdn.args = ["q", "k", "v", "g", "beta", "initial_state", "o", "final_state", "T"]
// GENERIC-SAME: gdn.generic
// GENERIC-SAME: gdn.grid = "N,HV,1"
// GENERIC-NOT: gpu.func
// EDIT: chunked_form.mlir:[[@LINE+15]]:13: error: gdn-chunked-gpu-kernels: no kernel fragment for this gdn.tile.gate_rows (other attributes): the chunked kernels implement the tile program of <scalar, delta> with qk_l2norm as gdn-chunkwise and gdn-split-chunk-loop write it, which has here: %{{.*}} = gdn.tile.gate_rows %{{.*}}, %{{.*}} {to_end}
// NOQK: error: gdn-chunked-gpu-kernels: the chunked form of gated_deltanet has no Q K^T product (gdn.tile.gated_gram {diagonal}) in its prep
// SHARED: error: generic chunked kernel: the chunk program needs {{[0-9]+}} bytes of shared memory (at most 232448); use a smaller chunk size
// NOLOWERING: remark: gdn-chunked-gpu-kernels: no kernel fragment for this arith.maximumf (another op)
// NOLOWERING: error: generic chunked kernel: no GPU lowering for arith.maximumf
// STRIDED: error: generic chunked kernel: strided slices are not supported
// UNSPLIT: error: gdn-chunked-gpu-kernels: this chunk loop is not split; run gdn-split-chunk-loop first
// STAGES: IR Dump After GdnChunkwise
// STAGES: IR Dump After GdnSplitChunkLoop
// STAGES: scf.forall
// STAGES: IR Dump After GdnChunkedGpuKernels
func.func @gated_deltanet(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>,
                          %v: tensor<?x?x32x128xbf16>, %g: tensor<?x?x32xf32>,
                          %beta: tensor<?x?x32xf32>, %h0: tensor<?x32x128x128xf32>)
    -> (tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta>
      q(%q : tensor<?x?x16x128xbf16>) k(%k : tensor<?x?x16x128xbf16>)
      v(%v : tensor<?x?x32x128xbf16>) g(%g : tensor<?x?x32xf32>)
      beta(%beta : tensor<?x?x32xf32>) initial_state(%h0 : tensor<?x32x128x128xf32>)
      {qk_l2norm}
      -> tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
  return %o, %hT : tensor<?x?x32x128xbf16>, tensor<?x32x128x128xf32>
}
