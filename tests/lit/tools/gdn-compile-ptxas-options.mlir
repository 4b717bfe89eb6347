// gdn-compile runs ptxas with --split-compile=0 (every CPU optimises the kernels); a ptxas that
// does not know the option is run again without it, and the command printed is the one that ran.
// RUN: rm -rf %t && mkdir -p %t
// RUN: gdn-compile %gdn_src_root/examples/gated_deltanet.mlir -o %t/k --ptxas %S/Inputs/ptxas-without-split-compile.sh 2>&1 | FileCheck %s
// CHECK: gdn-compile: {{.*}}ptxas-without-split-compile.sh -arch=sm_90a -O3 -v {{.*}}.ptx -o {{.*}}.cubin
// CHECK-NOT: split-compile
// CHECK: gdn-compile: wrote {{.*}}k.cubin
