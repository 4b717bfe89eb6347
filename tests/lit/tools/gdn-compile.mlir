// gdn-compile: PTX, the metadata record, the kernel choice, and its errors.
// RUN: gdn-compile %s --print-ptx | FileCheck %s --check-prefix=PTX
// RUN: gdn-compile %s --print-ptx | FileCheck %s --check-prefix=ROWS
// RUN: gdn-compile %s --print-ptx --whole-chunk-copies | FileCheck %s --check-prefix=WHOLE
// RUN: gdn-compile %s --print-ptx | FileCheck %s --check-prefix=STM
// RUN: gdn-compile %s --print-ptx --no-stmatrix-stores | FileCheck %s --check-prefix=NOSTM
// RUN: gdn-compile %s --print-ptx --chip sm_80 | FileCheck %s --check-prefix=NOSTM
// RUN: gdn-compile %s --print-ptx --no-wgmma | FileCheck %s --check-prefix=NOWG
// RUN: rm -rf %t && gdn-compile %s -o %t/k --no-cubin && FileCheck %s --check-prefix=META < %t/k.meta
// RUN: gdn-compile %s -o %t/r --no-cubin --kernel recurrent && FileCheck %s --check-prefix=RMETA < %t/r.meta
// RUN: not gdn-compile %s 2>&1 | FileCheck %s --check-prefix=USAGE
// RUN: sed 's/<scalar, delta>/<channel, delta>/; s/g(%%g : tensor<?x?x2xf32>)/g(%%gc : tensor<?x?x2x64xf32>)/' %s > %t/channel.mlir
// RUN: gdn-compile %t/channel.mlir -o %t/cc --no-cubin 2>&1 | FileCheck %s --check-prefix=CCOUT
// RUN: FileCheck %s --check-prefix=CCMETA < %t/cc.meta
// RUN: not gdn-compile %t/channel.mlir -o %t/c --kernel chunked --no-state-wy 2>&1 | FileCheck %s --check-prefix=CHANNEL
// RUN: gdn-compile %t/channel.mlir -o %t/c --no-cubin --no-state-wy 2>&1 | FileCheck %s --check-prefix=CNOTE
// RUN: FileCheck %s --check-prefix=CMETA < %t/c.meta
// A tiling no chunked design takes (V tile 128 without the sliced pass) falls back with a note.
// RUN: gdn-compile %s -o %t/t --no-cubin --v-tile 128 --no-sliced-state 2>&1 | FileCheck %s --check-prefix=TNOTE
// RUN: sed 's/1x64xbf16/1x96xbf16/g' %s > %t/bad.mlir
// RUN: not gdn-compile %t/bad.mlir -o %t/b 2>&1 | FileCheck %s --check-prefix=BAD

// PTX: .target sm_90a
// PTX: .entry layer_chunked_prep
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: .entry layer_chunked
// PTX: cp.async.cg.shared.global
// PTX: wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16
// Without --whole-chunk-copies every copy carries its source size; with it, whole chunks'
// copies in the state pass do not (the prep's keep theirs).
// ROWS: .target sm_90a
// ROWS-NOT: cp.async.cg.shared.global [{{[^]]*}}], [{{[^]]*}}], 16;
// WHOLE: .entry layer_chunked_prep
// WHOLE-NOT: cp.async.cg.shared.global [{{[^]]*}}], [{{[^]]*}}], 16;
// WHOLE: .entry layer_chunked(
// WHOLE: cp.async.cg.shared.global [{{[^]]*}}], [{{[^]]*}}], 16;
// The sliced state pass stores outputs through stmatrix on sm_90 (not with
// --no-stmatrix-stores, nor for sm_80, which has no stmatrix).
// STM: .entry layer_chunked(
// STM: stmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// NOSTM-NOT: stmatrix

// The sliced state pass's products are wgmma on sm_90a (PTX above), mma.sync with --no-wgmma.
// NOWG: .entry layer_chunked(
// NOWG-NOT: wgmma
// NOWG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// NOWG-NOT: wgmma
// META: kernel: layer_chunked
// META: kind: chunked
// META: block_size: 128
// META: v_tile: 64
// META: shared_memory_bytes: {{[1-9][0-9]*}}
// META: chunk_size: 32
// META: prep_kernel: layer_chunked_prep
// META: prep_block_size: 128
// META: prep_shared_memory_bytes: {{[1-9][0-9]*}}
// META: workspace_token_bytes: 288
// META: args: q k v g beta initial_state o final_state workspace T N
// RMETA: kernel: layer_recurrent
// RMETA: kind: recurrent
// RMETA: block_size: 64
// USAGE: gdn-compile: error: give -o PREFIX or --print-ptx
// Channel gates take the chunked kernel (gated tiles and a decay vector in the workspace:
// 2 x (2 C + 3 K) + 4 x (4 + K) bytes per token and value head, chunk 16 by default for channel
// gates); the delta rule needs state-wy.
// CCOUT-NOT: note:
// CCOUT: wrote {{.*}}cc.meta
// CCMETA: kind: chunked
// CCMETA: gate: channel
// CCMETA: chunk_size: 16
// CCMETA: workspace_token_bytes: 1440
// CHANNEL: error: gdn-chunked-gpu-kernels: channel gates with the delta rule need state-wy
// CNOTE: gdn-compile: note: the recurrent kernel, since the chunked one cannot take this layer with these options: channel gates with the delta rule need state-wy
// TNOTE: gdn-compile: note: the recurrent kernel, since the chunked one cannot take this layer with these options: v-tile must be 16, 32 or 64
// CMETA: kind: recurrent
// CMETA: gate: channel
// BAD: bad.mlir:{{[0-9]+}}:{{[0-9]+}}: error: 'gdn.recurrence' op head dim K = 96 is not supported (expected 64, 128 or 256)
func.func @layer(%q: tensor<?x?x1x64xbf16>, %v: tensor<?x?x2x64xbf16>, %g: tensor<?x?x2xf32>,
                 %gc: tensor<?x?x2x64xf32>, %h0: tensor<?x2x64x64xf32>) {
  %o, %s = gdn.recurrence <scalar, delta> q(%q : tensor<?x?x1x64xbf16>) k(%q : tensor<?x?x1x64xbf16>)
      v(%v : tensor<?x?x2x64xbf16>) g(%g : tensor<?x?x2xf32>) beta(%g : tensor<?x?x2xf32>)
      initial_state(%h0 : tensor<?x2x64x64xf32>) -> tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>
  return
}
