// gdn-run end to end: --describe, random inputs checked against the float64 reference, a
// rerun from the saved .npy files, and a clear error naming the file for each bad input.
// The layer uses one SSA value for q and k and one for g and beta: they still arrive as
// separate inputs (q.npy, k.npy, g.npy, beta.npy).
// RUN: gdn-run %s --describe | FileCheck %s --check-prefix=DESCRIBE
// RUN: rm -rf %t && gdn-run %s --random --seed 3 --batch 3 --seq-len 40 --inputs %t/in --outputs %t/out --check --tolerance 2e-2 | FileCheck %s --check-prefix=CHECKED
// RUN: gdn-run %s --inputs %t/in --outputs %t/rerun --chunk-size 16 --check --tolerance 2e-2 | FileCheck %s --check-prefix=CHECKED
//
// RUN: mkdir -p %t/missing && cp %t/in/*.npy %t/missing/ && rm %t/missing/g.npy
// RUN: not gdn-run %s --inputs %t/missing --outputs %t/x 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: mkdir -p %t/trunc && cp %t/in/*.npy %t/trunc/ && head -c 200 %t/in/q.npy > %t/trunc/q.npy
// RUN: not gdn-run %s --inputs %t/trunc --outputs %t/x 2>&1 | FileCheck %s --check-prefix=TRUNC
// RUN: mkdir -p %t/shape && cp %t/in/*.npy %t/shape/ && cp %t/in/v.npy %t/shape/q.npy
// RUN: not gdn-run %s --inputs %t/shape --outputs %t/x 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: mkdir -p %t/dtype && cp %t/in/*.npy %t/dtype/ && cp %t/in/cu_seqlens.npy %t/dtype/beta.npy
// RUN: not gdn-run %s --inputs %t/dtype --outputs %t/x 2>&1 | FileCheck %s --check-prefix=DTYPE
// RUN: mkdir -p %t/nan && cp %t/in/*.npy %t/nan/
// RUN: %python -c "import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[-4:] = bytes([0, 0, 0xc0, 0x7f]); open(p, 'wb').write(b)" %t/nan/g.npy
// RUN: not gdn-run %s --inputs %t/nan --outputs %t/x 2>&1 | FileCheck %s --check-prefix=NAN
// RUN: mkdir -p %t/cu && cp %t/in/*.npy %t/cu/
// RUN: %python -c "import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[-8:] = bytes(8); open(p, 'wb').write(b)" %t/cu/cu_seqlens.npy
// RUN: not gdn-run %s --inputs %t/cu --outputs %t/x 2>&1 | FileCheck %s --check-prefix=CU
// RUN: not gdn-run %s --inputs %t/in 2>&1 | FileCheck %s --check-prefix=USAGE

// DESCRIBE: "op": "gdn.recurrence",
// DESCRIBE: "gate": "scalar",
// DESCRIBE: "rule": "delta",
// DESCRIBE: "qk_l2norm": true,
// DESCRIBE: "chunk_size": 64,
// DESCRIBE: "varlen": true,
// DESCRIBE: "heads": {"H": 1, "HV": 2, "K": 64, "V": 64},
// DESCRIBE: "operands": [{"name": "q", "shape": [1, -1, 1, 64], "element_type": "bf16"}, {"name": "k", {{.*}}, {"name": "cu_seqlens", "shape": [-1], "element_type": "i64"}],
// DESCRIBE: "results": [{"name": "o", "shape": [1, -1, 2, 64], "element_type": "bf16"}, {"name": "final_state", "shape": [-1, 2, 64, 64], "element_type": "f32"}]
// CHECKED: {"final_state": {"max_abs_err": {{.*}}, "max_rel_err": {{.*}}}, "o": {"max_abs_err": {{.*}}, "max_rel_err": {{.*}}}}
// MISSING: gdn-run: error: {{.*}}missing/g.npy: missing; operand 'g' expects f32 [1, ?, 2] (a float32 .npy)
// TRUNC: gdn-run: error: {{.*}}trunc/q.npy{{.*}}truncated
// SHAPE: gdn-run: error: {{.*}}shape/q.npy: 'q' has shape [1, 40, 2, 64] but the layer expects [1, ?, 1, 64]
// DTYPE: gdn-run: error: {{.*}}dtype/beta.npy: dtype 'i8' but operand 'beta' needs float32 (f32 values)
// NAN: gdn-run: error: {{.*}}nan/g.npy: 'g' holds a non-finite value (nan) at flat index 79
// CU: gdn-run: error: 'cu_seqlens' must not decrease, but offset 3 (0) < offset 2 ({{[0-9]+}})
// USAGE: gdn-run: error: give --inputs DIR and --outputs DIR (or --describe)
func.func @layer(%q: tensor<1x?x1x64xbf16>, %v: tensor<1x?x2x64xbf16>, %g: tensor<1x?x2xf32>,
                 %h0: tensor<?x2x64x64xf32>, %cu: tensor<?xi64>) {
  %o, %s = gdn.recurrence <scalar, delta> q(%q : tensor<1x?x1x64xbf16>) k(%q : tensor<1x?x1x64xbf16>)
      v(%v : tensor<1x?x2x64xbf16>) g(%g : tensor<1x?x2xf32>) beta(%g : tensor<1x?x2xf32>)
      initial_state(%h0 : tensor<?x2x64x64xf32>) cu_seqlens(%cu : tensor<?xi64>) {qk_l2norm}
      -> tensor<1x?x2x64xbf16>, tensor<?x2x64x64xf32>
  return
}
