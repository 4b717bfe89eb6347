//===- Passes.td - gdn code generation passes --------------*- tablegen -*-===//
#ifndef GDN_CODEGEN_PASSES_TD
#define GDN_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def GdnRecurrentGpuKernels : Pass<"gdn-recurrent-gpu-kernels", "ModuleOp"> {
  let summary = "Build one token-recurrent GPU kernel per layer op (gpu.module + gpu.func)";
  let description = [{
    For every `gdn.recurrence` / `gdn.decode` op, builds a `gpu.func` in `gpu.module @gdn`:
    one thread block per (sequence, value head, V tile). Where the block is whole warps each
    thread owns 4 adjacent value columns over one of `k-slices` slices of K (state and q/k
    slices moved 16 bytes at a time, the dot products summed across the slices by shuffles;
    V tile = block-size x 4 / k-slices columns), else one column over all K (V tile =
    block-size). Each thread keeps its part of the f32 state on chip
    and walks the sequence token by token (decay, delta or additive update, output), reading
    the state once and writing it once. This is the decode kernel, and the correctness
    baseline for prefill.

    The kernel's launch contract is attached as `gdn.*` attributes on the `gpu.func`: grid
    (`N x HV x V/block`), block size, and the argument order. Every argument is a flat 1-D
    memref (`memref<?xT>`, passed as the 5 fields of its descriptor) followed by `T` (index).
    The host functions that held the layer ops are removed: the runtime launches the kernel.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"64",
           "Threads per block (its value columns divide V; 64 by default)">,
    Option<"kSlices", "k-slices", "int64_t", /*default=*/"4",
           "K slices per warp where the block is whole warps: 4 (K / 4 state rows per thread) "
           "or 8 (K / 8: half the registers, twice the blocks)">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"
  ];
}

def GdnAssignLayouts : Pass<"gdn-assign-layouts", "ModuleOp"> {
  let summary = "Give every tile value of the chunked form a layout (#gdn.mma, #gdn.dot_operand, #gdn.shared, #gdn.blocked, #gdn.slice)";
  let description = [{
    The first step of the generated GPU lowering (docs/design.md §3.6). Over the chunked form
    (split or not), every tile value gets a distribution over the thread block as the encoding
    of its tensor type, and `gdn.tile.convert_layout` ops appear wherever a producer's layout
    and a consumer's differ. Products accumulate into `#gdn.mma` (mma.sync fragments, or with
    `products=wgmma` wgmma's [64, N, 16] where the result's N allows) or, with
    `products=cuda-cores`, `#gdn.blocked`; their left operands are `#gdn.dot_operand<index = 0>`
    fragments (wgmma: a swizzled `#gdn.shared` tile unless computed in registers), their right
    operands `#gdn.dot_operand<index = 1>` (mma.sync) or `#gdn.shared` (wgmma). Element-wise ops
    keep their tile's layout; row factors take its `#gdn.slice<dim = 1>`, cumulative gates a
    `#gdn.shared` tile. The chunk step's state is carried across chunks in its update's
    accumulator layout, by default transposed (S^T: products with S, and with values computed
    transposed from it, are computed transposed, their right operand as the instruction's A
    from registers). Values written to the workspace or outputs convert back to no layout.
    The tile ops' verifiers check the result (gdn/Dialect/GdnLayouts.h). The kernel builders do
    not read these layouts yet.
  }];
  let options = [
    Option<"products", "products", "std::string", /*default=*/"\"mma.sync\"",
           "Instruction family of the tile products: mma.sync, wgmma (sm_90a) or cuda-cores">,
    Option<"warps", "warps", "int64_t", /*default=*/"4",
           "Warps of the block the layouts spread over (a multiple of 4 for wgmma)">,
    Option<"transposedState", "transposed-state", "bool", /*default=*/"true",
           "Carry the chunk step's state as S^T in a transposed accumulator, so that the "
           "products with S (and with what they yield) take it as the instruction's A from "
           "registers; off: S as the right operand, converted per product">
  ];
  let dependentDialects = ["::mlir::gdn::GdnDialect"];
}

def GdnChunkKernels : Pass<"gdn-chunk-kernels", "ModuleOp"> {
  let summary = "Outline the layout-assigned split chunked form of each layer function into its prep and step kernels (tile programs inside gpu.func)";
  let description = [{
    The middle step of the generated GPU lowering (docs/design.md §3.8), between
    gdn-assign-layouts and gdn-tiles-to-gpu. Each function in the split chunked form becomes
    two kernels in `gpu.module @gdn`, still tile programs with their layouts: `<fn>_prep`, the
    prep (`gdn.chunk_prep` forall) once per chunk on a grid of N ceil(T / C) x HV blocks
    (ceil(T / C) + N for a packed batch, each block finding its sequence by bisection over
    cu_seqlens), and `<fn>`, the step (`gdn.chunk_step` loop) once per (sequence, value head)
    and, where gdn-tile-value-columns tiled it (`gdn.value_tiles`), tile of value columns, its
    loop-carried state held in the layout the layouts pass gave it. The sequence, head and tile
    loops become block coordinates; reads of the function's tensors become `bufferization.to_tensor` of strided
    views of the kernel's flat buffers, writes into its results
    `bufferization.materialize_in_destination` into views of `o` and `final_state`; the prep's
    results live in the launch's workspace, one record per (token, value head) holding each
    result's row. The kernels carry the runtime's launch contract (argument list, grids, block
    size from the layouts' warps, `gdn.chunk_size`, the workspace's bytes per token) and the
    host function is removed. A form that is not split, has no layouts or reads something else
    gets an error at the op.
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

def GdnTilesToGpu : Pass<"gdn-tiles-to-gpu", "ModuleOp"> {
  let summary = "Lower layout-assigned tile programs inside gpu.func kernels to registers, tensor-core instructions and shared memory";
  let description = [{
    The second step of the generated GPU lowering (docs/design.md §3.7). Inside every
    `gpu.func`, a tile value whose layout holds it in registers (`#gdn.mma` with mma.sync
    fragments, transposed or not, its `#gdn.dot_operand` fragments, `#gdn.blocked`,
    `#gdn.slice`) becomes one vector per thread, a `#gdn.shared` tile a workgroup buffer, and
    each tile op is rewritten by the patterns of its family, chosen from the op and its layouts
    only: products and scalar-gated grams on `nvvm.mma.sync` m16n8k16 (bf16 or f16 operands, f32
    accumulators); layout conversions in registers (an accumulator into its own A fragment),
    into shared tiles, or through a shared exchange buffer; loads from the memrefs a tile is
    read from (`bufferization.to_tensor`) and stores into the memrefs it is materialised in
    (`bufferization.materialize_in_destination`), masked at the runtime extent where a dynamic
    extent is held at the function's `gdn.chunk_size`; cumulative gates, decays, row factors,
    row norms and the unit-lower solve; element-wise arith on the threads' vectors; scf loops
    carrying tiles structurally. The function's block size becomes 32 x the layouts' warps
    (`known_block_size`). A layout or op this step does not lower yet (wgmma, conversions out of
    shared tiles, channel-gated grams) or a shape that does not divide into its instruction
    tiles gets an error at the op, before anything is rewritten. `report-products` adds a remark
    at every tile product naming the instruction it became and how many each warp issues.
  }];
  let options = [
    Option<"reportProducts", "report-products", "bool", /*default=*/"false",
           "A remark at every tile product: the instruction it becomes, and how many per warp">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def GdnDefaultChunkSize : Pass<"gdn-default-chunk-size", "ModuleOp"> {
  let summary = "Give each gdn.recurrence without a chunk_size the chunked GPU kernels' default for it";
  let description = [{
    The chunk size the chunked kernels run best at follows from the layer: 16 where K x 32
    would exceed the sliced state pass's K x chunk <= 4096 (K = 256), the batch is packed
    (`cu_seqlens`: the smaller solve wins there) or the gates are per channel (KDA), 32 elsewhere (measurements in
    docs/gpu-kernels.md). This writes that choice onto every `gdn.recurrence` that has no
    `chunk_size` of its own, so that `gdn-chunkwise` uses it and `gdn-opt` shows it. The named
    GPU pipelines, gdn-compile and the JIT run it when their `chunk-size` option is 0 (their
    default).
  }];
}

def GdnChunkedGpuKernels : Pass<"gdn-chunked-gpu-kernels", "ModuleOp"> {
  let summary = "Build the chunkwise tensor-core GPU kernels (prep + state pass) of each layer in the chunked form";
  let description = [{
    Input: the split chunked form (`gdn-chunkwise`, then `gdn-split-chunk-loop`; the named
    pipelines and the JIT run both first), one layer per function. It is read as a layer (its
    operands from the chunk loop's `gdn.operands`, the gate kind from g's rank; off the tile
    ops the rule, l2norm_rows and the scale on Q), and the
    function must then be the tile program those passes write for that layer (compared op by
    op, canonicalized where it differs): the kernels below are the fragments for exactly those
    tile ops, the prep for the `gdn.chunk_prep` forall and the state pass for the
    `gdn.chunk_step` loop. Any other op is reported where it is, with the op expected there.
    The chunk size is the form's. A `gdn.recurrence` not yet in the chunked form is built
    directly (the same kernels, with this pass's `chunk-size`).

    The chunked form (docs/design.md §2) as two kernels per layer in `gpu.module @gdn`:

    - `<layer>_chunked_prep`, chunk-parallel (one block of `prep-warps` warps per chunk and value
      head): K K^T and Q K^T on tensor cores, then A, the row factors and the triangular solve
      by substitution. With `state-wy` (the default) it writes Tm diag(beta), Tm = (I + A)^-1,
      to the workspace; without, [W | U] = Tm [beta exp(G) K | beta V] (with `prep-inverse`,
      W and U formed from Tm on tensor cores). QKg and the per-row factors go there too, in
      the input type.
    - `<layer>_chunked`, one block per (sequence, value head, V tile of `v-tile` columns):
      the block walks the chunks in order with the K x v-tile f32 state in mma accumulators
      (sliced across warps, 16 value columns each, with `sliced-state`); each chunk's q, k, v
      and workspace tiles arrive by cp.async `stages` - 1 chunks ahead (2 stages on the tiled
      pass); Vnew (= Tm diag(beta) (V - diag(exp(G) k factors) K S) with `state-wy`, else
      U - W S), o = diag(q factors) Q S + QKg Vnew and S <- exp(G_n) S + K^T (k factors .*
      Vnew) run on tensor cores (mma.sync m16n8k16, or wgmma with `wgmma` on sm_90a; bf16 or
      f16 operands by input type, f32 accumulation). Operands come from 16-bit tiles by
      ldmatrix (`ldmatrix`, the default) or 32-bit shared loads; `segments` splits each
      sequence into segments whose state passes run at once (two more kernels: the segments'
      end states, then their combination).

    Channel gates (GLA, KDA): the prep also writes gated q/k tiles and each chunk's decay
    vector, forms K K^T and Q K^T with per-channel decays (8 x 8 diagonal blocks per element in
    f32, the rest on tensor cores with every gate factor <= 1), and the state pass decays S per
    channel; with the delta rule they need `state-wy`.

    Supports every gate, either rule, bf16 or f16 inputs, V a multiple of the V tile,
    K a multiple of 16 and what the shared-memory plans fit; other layers are reported as
    errors (gdn-recurrent-gpu-kernels handles every layer). The launch contract is attached
    as `gdn.*` attributes: block, grid, dynamic shared memory of both kernels, the prep
    kernel's name and the workspace bytes per token (and, with `segments`, per sequence).
  }];
  let options = [
    Option<"chunkSize", "chunk-size", "int64_t", /*default=*/"64",
           "Tokens per chunk: 16, 32 or 64; 0: chosen from the layer (gdn-default-chunk-size) "
           "for layers built directly. A layer's own chunk_size wins">,
    Option<"vTile", "v-tile", "int64_t", /*default=*/"32",
           "Value columns per block: 16, 32 or 64, or 128 with sliced-state (more blocks, more repeated chunk work)">,
    Option<"warps", "warps", "int64_t", /*default=*/"8", "Warps per block: 4 or 8">,
    Option<"ldmatrix", "ldmatrix", "bool", /*default=*/"true",
           "Load tensor-core operands with ldmatrix (.trans for K^T) instead of 32-bit "
           "shared loads">,
    Option<"prepInverse", "prep-inverse", "bool", /*default=*/"false",
           "Prep (delta rule): solve for (I + A)^-1 once per chunk and form W and U on tensor "
           "cores, instead of substituting every column of [W | U]">,
    Option<"stateWy", "state-wy", "bool", /*default=*/"true",
           "Delta rule: the state pass applies (I + A)^-1 itself (Vnew = (I + A)^-1 "
           "diag(beta) (V - diag(exp(G) kf) K S)); the workspace holds (I + A)^-1 diag(beta) "
           "instead of W and U">,
    Option<"qsEarly", "qs-early", "bool", /*default=*/"false",
           "With state-wy: Q S in the same phase as K S, so every warp has work at small V "
           "tiles (faster for few (sequence, head) streams; more registers)">,
    Option<"slicedState", "sliced-state", "bool", /*default=*/"true",
           "State pass with the state transposed in registers: each warp owns 16 value "
           "columns of S over all K, so K S, Q S and the state update take S (and R, Vnew) "
           "straight from registers, with one barrier per chunk; the block has v-tile/16 "
           "warps (`warps` is ignored) and v-tile may be 128. Applies where K x chunk-size <= 4096 "
           "(twice that with k-split 2) with ldmatrix and (delta rule) state-wy; elsewhere the "
           "tiled state pass is built">,
    Option<"prepWarps", "prep-warps", "int64_t", /*default=*/"4",
           "Warps per block of the prep kernel: 1 (chunk size 16 or 32), 2, 4 or 8 (smaller "
           "blocks keep more chunks in flight per SM); 0: 1 at chunk 16 with K <= 128 and "
           "scalar or no gates, else 4">,
    Option<"segments", "segments", "int64_t", /*default=*/"0",
           "Split each sequence into up to this many segments of whole chunks (1 to 64; 0: up "
           "to 8, each launch choosing from its shape) and run the state pass on all of them "
           "at once: `<layer>_chunked_segments` finds each segment's state from zero and its "
           "K x K transition, `<layer>_chunked_combine` chains them, then the state pass starts "
           "every segment from its true state. About three times the state-pass work, spread "
           "over segments times more blocks: for few (sequence, head) streams. With 0 a launch "
           "whose streams fill the GPU runs one segment (the two extra kernels are skipped); "
           "with P > 1 every launch runs P. Applies with the sliced state pass where the V "
           "tile divides K (packed batches split each sequence); elsewhere a no-op">,
    Option<"stages", "stages", "int64_t", /*default=*/"2",
           "Sliced state pass: chunks whose tiles are in shared memory at once, 2 to 4 (copies "
           "run stages - 1 chunks ahead, hiding more of their latency behind the chunk steps; "
           "more shared memory per block). The tiled pass keeps 2">,
    Option<"kSplit", "k-split", "int64_t", /*default=*/"1",
           "Sliced state pass: warps sharing each 16 value columns, each holding 1 / k-split "
           "of K (1 or 2; 2 needs v-tile <= 64). Halves each warp's chain of K S, Q S and "
           "state-update products and its state registers (K = 256 at chunk 32, K = 128 at "
           "chunk 64), for a partial-sum exchange through shared memory per chunk and the "
           "small C x C products done by both warps">,
    Option<"wholeChunkCopies", "whole-chunk-copies", "bool", /*default=*/"false",
           "State pass: copy the tiles of whole chunks (all but each sequence's or segment's "
           "last) without per-row predicates, so each thread's copy sources are one base plus "
           "constants (fewer instructions per chunk step, more registers; faster on some "
           "tilings, slower on others: see docs/gpu-kernels.md)">,
    Option<"stmatrixStores", "stmatrix-stores", "bool", /*default=*/"false",
           "Sliced state pass: outputs go through stmatrix.trans into a per-warp shared-memory "
           "tile and out as 16-byte row pieces, instead of one 16-bit store per element. Needs "
           "sm_90 or later (the gdn-to-nvvm/gdn-to-ptx pipelines and the compiler turn it on "
           "there)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "Sliced state pass with V tile 64 or 128 and no k-split: every product with a chunk "
           "tile runs as wgmma.mma_async (m64nNk16, A from the warps' registers, B from shared "
           "memory by descriptor; one warpgroup per 64 value columns), with the chunk tiles "
           "copied in the layouts wgmma reads (q, k 128-byte swizzled; Tm, QKg core "
           "matrices). Needs sm_90a (the gdn-to-nvvm/gdn-to-ptx pipelines and the compiler "
           "turn it on there); elsewhere a no-op">,
    Option<"recompute", "recompute", "bool", /*default=*/"false",
           "The generated kernels' choice (gdn-split-chunk-loop{recompute}), declared here with "
           "the chunked kernels' other options (one table, ChunkedOptions.def); the kernel "
           "fragments build the same kernels either way">,
    Option<"generic", "generic", "bool", /*default=*/"false",
           "Layers in the chunked form: build the generic fused kernel (every tile op lowered "
           "by itself: one block per sequence and value head, the state in shared memory, "
           "CUDA cores) instead of the kernel fragments">,
    Option<"genericFallback", "generic-fallback", "bool", /*default=*/"true",
           "Layers in the chunked form whose tile program no kernel fragment implements: build "
           "the generic fused kernel (with a remark saying why) instead of failing">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect", "::mlir::nvgpu::NVGPUDialect"
  ];
}

def GdnGridDependency : Pass<"gdn-grid-dependency", "ModuleOp"> {
  let summary = "Let gdn's GPU kernels be launched before the previous kernel has completed (sm_90+)";
  let description = [{
    Programmatic dependent launch (Hopper and later). Every kernel built by the gdn kernel
    passes (a `gpu.func` carrying `gdn.args`) starts with `nvvm.griddepcontrol wait` (block
    until the previous kernel on the stream has finished and its memory is visible), before
    any memory access. Launched with programmatic stream serialisation, a kernel may then be
    scheduled as soon as every block of its predecessor has exited, before the predecessor's
    completion has been processed, which hides part of the launch latency between kernels
    (decode at B = 1 on the H100: 3.4 instead of 4.0 us); it stays correct for any
    predecessor, since nothing is read or written before the wait. No kernel signals
    `griddepcontrol.launch_dependents` earlier: blocks of the next kernel that become
    resident while this one runs keep the SM they were placed on, and the few-block state
    and segment passes then doubled up on a few SMs (B = 1 cases 1.3-1.6x slower). Each
    kernel gets `gdn.programmatic_launch`, which the runtime's metadata carries
    (`programmatic_launch: 1`): only such kernels are launched with the
    programmatic-serialisation attribute; without it the wait is a no-op. PTX needs sm_90
    or later: the `gdn-to-nvvm` / `gdn-to-ptx` pipelines add this pass for those chips only.
  }];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect"];
}

#endif // GDN_CODEGEN_PASSES_TD
