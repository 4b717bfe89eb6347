// gdn-run --value-tile runs the chunk step over tiles of value columns on the CPU (what the
// generated GPU kernels do, one block per tile) and matches the float64 reference; a tile that
// does not divide V, and the option with --device gpu, are refused.
// RUN: rm -rf %t && gdn-run %s --random --seed 3 --batch 2 --seq-len 100 --chunk-size 32 --value-tile 32 --inputs %t/in --outputs %t/out --check --tolerance 1e-5 | FileCheck %s
// RUN: not gdn-run %s --inputs %t/in --outputs %t/x --value-tile 48 2>&1 | FileCheck %s --check-prefix=DIVIDE
// RUN: not gdn-run %s --inputs %t/in --outputs %t/x --value-tile 32 --device gpu 2>&1 | FileCheck %s --check-prefix=GPU

// CHECK: "o": {"max_abs_err": {{[0-9.e+-]+}}, "max_rel_err": {{[0-9.e+-]+}}, "non_finite": 0
// DIVIDE: gdn-run: error: setValueTile: 48 value columns per tile do not divide V = 128
// GPU: gdn-run: error: --value-tile is an option of the CPU lowering
func.func @layer(%q: tensor<?x?x1x64xf32>, %k: tensor<?x?x1x64xf32>, %v: tensor<?x?x2x128xf32>,
                 %g: tensor<?x?x2xf32>, %beta: tensor<?x?x2xf32>, %h0: tensor<?x2x64x128xf32>)
    -> (tensor<?x?x2x128xf32>, tensor<?x2x64x128xf32>) {
  %o, %hT = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x1x64xf32>) k(%k : tensor<?x?x1x64xf32>)
      v(%v : tensor<?x?x2x128xf32>) g(%g : tensor<?x?x2xf32>) beta(%beta : tensor<?x?x2xf32>)
      initial_state(%h0 : tensor<?x2x64x128xf32>) {qk_l2norm}
      -> tensor<?x?x2x128xf32>, tensor<?x2x64x128xf32>
  return %o, %hT : tensor<?x?x2x128xf32>, tensor<?x2x64x128xf32>
}
