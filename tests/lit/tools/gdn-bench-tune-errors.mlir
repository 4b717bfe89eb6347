// gdn-bench and gdn-tune fail with a message, never a crash. gdn-bench: without a GPU for
// want of a driver, on a GPU machine for want of the kernel folder. gdn-tune: a layer that
// does not verify is reported before anything needs the GPU.
// RUN: not gdn-bench --kernels %t/no-such-folder 2>&1 | FileCheck %s --check-prefix=BENCH
// RUN: sed 's/x64xbf16/x96xbf16/g' %s > %t.bad.mlir
// RUN: not gdn-tune %t.bad.mlir --batch 1 --seq-len 16 --cache-dir %t/cache 2>&1 | FileCheck %s --check-prefix=BAD

// BENCH: gdn-bench: {{(no CUDA driver|no usable GPU|.*no-such-folder)}}
// BAD: gdn-tune: error: gdn-tune: {{.*}}head dim K = 96 is not supported
func.func @layer(%q: tensor<?x?x1x64xbf16>, %g: tensor<?x?x1xf32>) {
  %o = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x1x64xbf16>) k(%q : tensor<?x?x1x64xbf16>)
      v(%q : tensor<?x?x1x64xbf16>) g(%g : tensor<?x?x1xf32>) beta(%g : tensor<?x?x1xf32>)
      -> tensor<?x?x1x64xbf16>
  return
}
