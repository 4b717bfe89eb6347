// gdn-chunk-kernels refuses, at the op, what it does not outline: a form that is not split, a
// tile program without layouts.
// RUN: not gdn-opt %s --gdn-chunkwise=chunk-size=64 --gdn-chunk-kernels 2>&1 | FileCheck %s --check-prefix=UNSPLIT
// RUN: not gdn-opt %s --gdn-chunkwise=chunk-size=64 --gdn-split-chunk-loop --gdn-chunk-kernels 2>&1 | FileCheck %s --check-prefix=NOLAYOUTS

// UNSPLIT: chunk_kernels_invalid.mlir:[[@LINE+3]]:1: error: gdn-chunk-kernels: @unsplit is not in the split chunked form (one gdn.chunk_prep scf.forall and one gdn.chunk_step scf.for: run gdn-split-chunk-loop first)
// NOLAYOUTS: chunk_kernels_invalid.mlir:[[@LINE+5]]:8: error: gdn-chunk-kernels: the tile program has no register layouts: run gdn-assign-layouts first

func.func @unsplit(%q: tensor<?x?x1x64xbf16>, %k: tensor<?x?x1x64xbf16>,
                   %v: tensor<?x?x1x64xbf16>, %beta: tensor<?x?x1xf32>)
    -> tensor<?x?x1x64xbf16> {
  %o = gdn.recurrence <none, delta>
      q(%q : tensor<?x?x1x64xbf16>) k(%k : tensor<?x?x1x64xbf16>) v(%v : tensor<?x?x1x64xbf16>)
      beta(%beta : tensor<?x?x1xf32>) -> tensor<?x?x1x64xbf16>
  return %o : tensor<?x?x1x64xbf16>
}
