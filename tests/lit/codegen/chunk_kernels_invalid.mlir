// gdn-chunk-kernels refuses, at the op, what it does not outline: a form that is not split, a
// tile program without layouts, a packed batch (not lowered by the generated kernels yet).
// RUN: not gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=64 --gdn-chunk-kernels 2>&1 | FileCheck %s --check-prefix=UNSPLIT
// RUN: not gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-chunk-kernels 2>&1 | FileCheck %s --check-prefix=NOLAYOUTS
// RUN: not gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-assign-layouts --gdn-chunk-kernels 2>&1 | FileCheck %s --check-prefix=VARLEN

// UNSPLIT: chunk_kernels_invalid.mlir:[[@LINE+7]]:1: error: gdn-chunk-kernels: @unsplit is not in the split chunked form (one gdn.chunk_prep scf.forall and one gdn.chunk_step scf.for: run gdn-split-chunk-loop first)
// NOLAYOUTS: chunk_kernels_invalid.mlir:[[@LINE+9]]:8: error: gdn-chunk-kernels: the tile program has no register layouts: run gdn-assign-layouts first
// The layer without a packed batch outlines, the packed one is refused at its layer.
// VARLEN: gpu.func @unsplit_prep
// VARLEN: gpu.func @unsplit(
// VARLEN: chunk_kernels_invalid.mlir:[[@LINE+16]]:8: error: gdn-chunk-kernels: packed batches (cu_seqlens) are not lowered by the generated kernels yet

func.func @unsplit(%q: tensor<?x?x1x64xbf16>, %k: tensor<?x?x1x64xbf16>,
                   %v: tensor<?x?x1x64xbf16>, %beta: tensor<?x?x1xf32>)
    -> tensor<?x?x1x64xbf16> {
  %o = gdn.recurrence <none, delta>
      q(%q : tensor<?x?x1x64xbf16>) k(%k : tensor<?x?x1x64xbf16>) v(%v : tensor<?x?x1x64xbf16>)
      beta(%beta : tensor<?x?x1xf32>) -> tensor<?x?x1x64xbf16>
  return %o : tensor<?x?x1x64xbf16>
}

// -----

func.func @packed(%q: tensor<1x?x1x64xbf16>, %k: tensor<1x?x1x64xbf16>,
                  %v: tensor<1x?x1x64xbf16>, %beta: tensor<1x?x1xf32>, %cu: tensor<?xi32>)
    -> tensor<1x?x1x64xbf16> {
  %o = gdn.recurrence <none, delta>
      q(%q : tensor<1x?x1x64xbf16>) k(%k : tensor<1x?x1x64xbf16>) v(%v : tensor<1x?x1x64xbf16>)
      beta(%beta : tensor<1x?x1xf32>) cu_seqlens(%cu : tensor<?xi32>) -> tensor<1x?x1x64xbf16>
  return %o : tensor<1x?x1x64xbf16>
}
