//===- Passes.td - gdn code generation passes --------------*- tablegen -*-===//
#ifndef GDN_CODEGEN_PASSES_TD
#define GDN_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def GdnRecurrentGpuKernels : Pass<"gdn-recurrent-gpu-kernels", "ModuleOp"> {
  let summary = "Build one token-recurrent GPU kernel per layer op (gpu.module + gpu.func)";
  let description = [{
    For every `gdn.recurrence` / `gdn.decode` op, builds a `gpu.func` in `gpu.module @gdn`:
    one thread block per (sequence, value head, V tile), one thread per value column. Each
    thread keeps its K-long column of the f32 state on chip and walks the sequence token by
    token (decay, delta or additive update, output), reading the state once and writing it
    once. This is the decode kernel, and the correctness baseline for prefill.

    The kernel's launch contract is attached as `gdn.*` attributes on the `gpu.func`: grid
    (`N x HV x V/block`), block size, and the argument order. Every argument is a flat 1-D
    memref (`memref<?xT>`, passed as the 5 fields of its descriptor) followed by `T` (index).
    The host functions that held the layer ops are removed: the runtime launches the kernel.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"64",
           "Threads per block = value columns per block (32, 64 or 128; divides V)">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"
  ];
}

def GdnChunkedGpuKernels : Pass<"gdn-chunked-gpu-kernels", "ModuleOp"> {
  let summary = "Build one chunkwise tensor-core GPU kernel per gdn.recurrence";
  let description = [{
    The chunked form (DESIGN.md §2) as one fused kernel per (sequence, value head, V tile of
    `v-tile` columns): `warps` warps walk the chunks in order with the K x 64 f32 state in shared memory; the
    chunk's products (K K^T, Q K^T, the UT-transform products W and U, W S, Q S, QKg Vnew and
    K^T Vnew) run on tensor cores (mma.sync m16n8k16, bf16 operands, f32 accumulation); the
    unit-lower-triangular inverse is a forward substitution in shared memory.

    Supports gate none or scalar, either rule, bf16 or f16 inputs (the operands of the
    products take that type), V a multiple of the V tile, and K up to what the shared-memory
    plan fits (K = 256 at chunk size 32 or less);
    other layers are reported as errors (gdn-recurrent-gpu-kernels handles every layer). The
    launch contract is attached as `gdn.*` attributes, with the dynamic shared memory size.
  }];
  let options = [
    Option<"chunkSize", "chunk-size", "int64_t", /*default=*/"64",
           "Tokens per chunk: 16, 32 or 64">,
    Option<"vTile", "v-tile", "int64_t", /*default=*/"32",
           "Value columns per block: 16, 32 or 64 (more blocks, more repeated chunk work)">,
    Option<"warps", "warps", "int64_t", /*default=*/"8", "Warps per block: 4 or 8">,
    Option<"ldmatrix", "ldmatrix", "bool", /*default=*/"false",
           "Load tensor-core operands with ldmatrix (.trans for K^T) instead of 32-bit "
           "shared loads">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect", "::mlir::nvgpu::NVGPUDialect"
  ];
}

#endif // GDN_CODEGEN_PASSES_TD
