// Each layer becomes a kernel named after its function, so a function holding two layers is
// refused at the second, for every kernel kind (regression: --gdn-to-ptx freed the function
// twice, once per layer, and aborted with a double free).
// RUN: not gdn-opt %s --gdn-to-ptx=kernel=recurrent 2>&1 | FileCheck %s --check-prefix=RECURRENT
// RUN: not gdn-opt %s --gdn-to-ptx=kernel=chunked 2>&1 | FileCheck %s --check-prefix=CHUNKED
// RUN: not gdn-opt %s --gdn-to-ptx=kernel=generic 2>&1 | FileCheck %s --check-prefix=GENERIC
// RUN: not gdn-compile %s -o %t 2>&1 | FileCheck %s --check-prefix=COMPILE

// RECURRENT: one_layer_per_function.mlir:21:9: error: gdn-recurrent-gpu-kernels: a second layer op in function 'two': each layer is compiled to its own kernel, named after its function; put each layer in a function of its own
// RECURRENT: one_layer_per_function.mlir:18:9: note: the first layer op is here
// CHUNKED: one_layer_per_function.mlir:21:9: error: gdn-chunked-gpu-kernels: a second gdn.chunk_step loop in function 'two'
// CHUNKED: one_layer_per_function.mlir:18:9: note: the first gdn.chunk_step loop is here
// GENERIC: one_layer_per_function.mlir:21:9: error: generic chunked kernel: a second chunk loop in function 'two'
// GENERIC: one_layer_per_function.mlir:18:9: note: the first chunk loop is here
// COMPILE: error: {{.*}}expected exactly one gdn.recurrence or gdn.decode op (or one function in the chunked form), found 2 layer ops
func.func @two(%q: tensor<?x?x2x64xbf16>, %g: tensor<?x?x2xf32>, %beta: tensor<?x?x2xf32>)
    -> (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>) {
  %o1 = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x2x64xbf16>) k(%q : tensor<?x?x2x64xbf16>)
      v(%q : tensor<?x?x2x64xbf16>) g(%g : tensor<?x?x2xf32>) beta(%beta : tensor<?x?x2xf32>)
      {chunk_size = 32} -> tensor<?x?x2x64xbf16>
  %o2 = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x2x64xbf16>) k(%q : tensor<?x?x2x64xbf16>)
      v(%q : tensor<?x?x2x64xbf16>) g(%g : tensor<?x?x2xf32>) beta(%beta : tensor<?x?x2xf32>)
      {chunk_size = 64} -> tensor<?x?x2x64xbf16>
  return %o1, %o2 : tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>
}
