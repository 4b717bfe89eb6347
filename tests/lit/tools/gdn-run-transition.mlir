// gdn.transition's variants on the CPU path, against the float64 reference of the general form
// (docs/new-variant.md): RWKV-7's DPLR rule and Gated DeltaProduct from examples/variants/,
// random inputs, chunk sizes 16 and 64; then the GPU refusals (no kernel kind implements the
// transition yet), located at the op or its function.
// RUN: rm -rf %t && gdn-run %gdn_src_root/examples/variants/rwkv7_dplr.mlir --random --seed 3 --batch 2 --seq-len 70 --chunk-size 16 --inputs %t/d16 --outputs %t/o16 --check --tolerance 0.02 2>&1 | FileCheck %s --check-prefix=DPLR
// RUN: gdn-run %gdn_src_root/examples/variants/rwkv7_dplr.mlir --inputs %t/d16 --outputs %t/o64 --chunk-size 64 --check --tolerance 0.02 2>&1 | FileCheck %s --check-prefix=DPLR
// RUN: gdn-run %gdn_src_root/examples/variants/gated_deltaproduct.mlir --random --seed 4 --batch 2 --seq-len 50 --chunk-size 32 --inputs %t/p --outputs %t/po --check --tolerance 0.02 2>&1 | FileCheck %s --check-prefix=PRODUCT
// RUN: gdn-run %gdn_src_root/examples/variants/gated_deltaproduct.mlir --describe | FileCheck %s --check-prefix=DESCRIBE
// RUN: not gdn-opt %gdn_src_root/examples/variants/rwkv7_dplr.mlir --gdn-to-ptx=kernel=recurrent 2>&1 | FileCheck %s --check-prefix=RECURRENT
// RUN: not gdn-opt %gdn_src_root/examples/variants/rwkv7_dplr.mlir --gdn-to-ptx=kernel=chunked 2>&1 | FileCheck %s --check-prefix=CHUNKED
// RUN: not gdn-opt %gdn_src_root/examples/variants/rwkv7_dplr.mlir --gdn-to-ptx=kernel=generic 2>&1 | FileCheck %s --check-prefix=GENERIC
// RUN: not gdn-compile %gdn_src_root/examples/variants/gated_deltaproduct.mlir -o %t/k 2>&1 | FileCheck %s --check-prefix=COMPILE

// DPLR: gdn.transition <channel, steps 1, rank-one a b> chunk {{16|64}}: compiled in
// DPLR: "final_state": {"max_abs_err": {{[0-9.e+-]+}}, "max_rel_err": {{[0-9.e+-]+}}, "non_finite": 0, "non_finite_reference": 0}
// DPLR: "o": {"max_abs_err": {{[0-9.e+-]+}}, "max_rel_err": {{[0-9.e+-]+}}, "non_finite": 0, "non_finite_reference": 0}
// PRODUCT: gdn.transition <scalar, steps 2, delta rule> chunk 32: compiled in
// PRODUCT: "non_finite": 0
// DESCRIBE: "op": "gdn.transition",
// DESCRIBE: "steps": 2,
// DESCRIBE-NEXT: "delta_rule": true,
// DESCRIBE: {"name": "k", "shape": [-1, -1, 4, 64], "element_type": "bf16"}
// RECURRENT: rwkv7_dplr.mlir:12:13: error: gdn-recurrent-gpu-kernels: gdn.transition has no GPU kernel yet
// CHUNKED: rwkv7_dplr.mlir:7:1: error: gdn-chunked-gpu-kernels: gdn.transition has no GPU kernel yet
// GENERIC: rwkv7_dplr.mlir:7:1: error: generic chunked kernel: gdn.transition has no GPU kernel yet
// COMPILE: gated_deltaproduct.mlir:11:13: error: gdn-compile: gdn.transition has no GPU kernel yet
