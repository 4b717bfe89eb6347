// The gdn-to-cpu pipeline: gdn-chunkwise, gdn-tiles-to-linalg, bufferization, loops and the
// LLVM dialect. Nothing of the higher dialects may survive.
// RUN: gdn-opt %s -split-input-file --gdn-to-cpu=chunk-size=16 | FileCheck %s \
// RUN:   --implicit-check-not=gdn. --implicit-check-not=scf. --implicit-check-not=linalg. \
// RUN:   --implicit-check-not=tensor. --implicit-check-not=memref. --implicit-check-not=bufferization. \
// RUN:   --implicit-check-not=arith. --implicit-check-not=math. --implicit-check-not=cf. \
// RUN:   --implicit-check-not=func.func --implicit-check-not=unrealized_conversion_cast
// The result translates to LLVM IR.
// RUN: gdn-opt %s -split-input-file --gdn-to-cpu=chunk-size=16 | mlir-translate --mlir-to-llvmir -split-input-file | FileCheck %s --check-prefix=LLVMIR
//
// Every example lowers at every chunk size, to the LLVM dialect only.
// RUN: for c in 16 32 64 128; do for f in %gdn_src_root/examples/*.mlir; do gdn-opt $f --gdn-to-cpu=chunk-size=$c > %t.ll.mlir || exit 1; FileCheck %s --input-file=%t.ll.mlir --check-prefix=EXAMPLE --implicit-check-not=gdn. --implicit-check-not=scf. --implicit-check-not=linalg. --implicit-check-not=tensor. --implicit-check-not=memref. --implicit-check-not=func.func || exit 1; done; done
//
// A bad chunk size is reported by the pipeline's first pass.
// RUN: not gdn-opt %s -split-input-file --gdn-to-cpu=chunk-size=48 2>&1 | FileCheck %s --check-prefix=BADC

// EXAMPLE: llvm.func @malloc
// EXAMPLE: llvm.func @{{[a-z0-9_]+}}(%arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: i64
// EXAMPLE: llvm.intr.
// EXAMPLE: llvm.return

// BADC: error: gdn-chunkwise: chunk-size must be 16, 32, 64 or 128

// Gated DeltaNet (scalar gate, delta rule) in f32 with qk_l2norm: the gates become
// llvm.intr.exp and the L2 norm llvm.intr.sqrt; buffers come from malloc and go to free.
// CHECK-LABEL: llvm.func @free(!llvm.ptr)
// CHECK: llvm.func @malloc(i64) -> !llvm.ptr
// Tensor arguments become expanded memref descriptors (allocated, aligned, offset, sizes, strides).
// CHECK-LABEL: llvm.func @small(%arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: i64,
// CHECK: llvm.call @malloc
// CHECK: llvm.intr.sqrt
// CHECK: llvm.fdiv
// CHECK: llvm.intr.exp
// CHECK: llvm.call @free
// CHECK: llvm.return
// LLVMIR: define {{.*}} @small(ptr
// LLVMIR: call float @llvm.sqrt.f32
// LLVMIR: call float @llvm.exp.f32
func.func @small(%q: tensor<1x?x2x64xf32>, %v: tensor<1x?x2x64xf32>, %g: tensor<1x?x2xf32>,
                 %beta: tensor<1x?x2xf32>) -> (tensor<1x?x2x64xf32>, tensor<1x2x64x64xf32>) {
  %o, %s = gdn.recurrence <scalar, delta> q(%q : tensor<1x?x2x64xf32>) k(%q : tensor<1x?x2x64xf32>)
      v(%v : tensor<1x?x2x64xf32>) g(%g : tensor<1x?x2xf32>) beta(%beta : tensor<1x?x2xf32>)
      {qk_l2norm} -> tensor<1x?x2x64xf32>, tensor<1x2x64x64xf32>
  return %o, %s : tensor<1x?x2x64xf32>, tensor<1x2x64x64xf32>
}

// -----

// bf16 in and out (channel gates, additive rule, GVA): bf16 conversions are expanded into
// integer operations (arith-expand{include-bf16}), so no fpext/fptrunc on bf16 remains.
// CHECK-LABEL: llvm.func @small_bf16(%arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: i64,
// CHECK-NOT: llvm.fp{{ext|trunc}}
// CHECK: llvm.mlir.constant(0.000000e+00 : bf16) : bf16
// CHECK-NOT: llvm.fp{{ext|trunc}}
// CHECK: llvm.bitcast
// CHECK-NOT: llvm.fp{{ext|trunc}}
// CHECK: llvm.intr.exp
// CHECK-NOT: llvm.fp{{ext|trunc}}
// CHECK: llvm.lshr
// CHECK-NOT: llvm.fp{{ext|trunc}}
// CHECK: llvm.return
// LLVMIR: define {{.*}} @small_bf16(ptr
// LLVMIR: call float @llvm.exp.f32
func.func @small_bf16(%q: tensor<1x?x1x64xbf16>, %v: tensor<1x?x2x64xbf16>, %g: tensor<1x?x2x64xf32>)
    -> tensor<1x?x2x64xbf16> {
  %o = gdn.recurrence <channel, additive> q(%q : tensor<1x?x1x64xbf16>) k(%q : tensor<1x?x1x64xbf16>)
      v(%v : tensor<1x?x2x64xbf16>) g(%g : tensor<1x?x2x64xf32>) -> tensor<1x?x2x64xbf16>
  return %o : tensor<1x?x2x64xbf16>
}

// -----

// A decode step with static shapes.
// CHECK-LABEL: llvm.func @small_decode(
// CHECK: llvm.intr.exp
// CHECK: llvm.return
// LLVMIR: define {{.*}} @small_decode(ptr
func.func @small_decode(%q: tensor<4x1x1x64xf32>, %g: tensor<4x1x1xf32>, %s: tensor<4x1x64x64xf32>)
    -> (tensor<4x1x1x64xf32>, tensor<4x1x64x64xf32>) {
  %o, %s1 = gdn.decode <scalar, delta> q(%q : tensor<4x1x1x64xf32>) k(%q : tensor<4x1x1x64xf32>)
      v(%q : tensor<4x1x1x64xf32>) g(%g : tensor<4x1x1xf32>) beta(%g : tensor<4x1x1xf32>)
      state(%s : tensor<4x1x64x64xf32>) -> tensor<4x1x1x64xf32>, tensor<4x1x64x64xf32>
  return %o, %s1 : tensor<4x1x1x64xf32>, tensor<4x1x64x64xf32>
}
