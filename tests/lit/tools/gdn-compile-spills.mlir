// ptxas's resource report through gdn-compile: the chunked kernels of the layers the
// benchmark runs must not spill registers (a spill in the prep kernel once cost 1.5x),
// and a kernel that does spill is named in a warning.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: gdn-compile %gdn_src_root/examples/gated_deltanet.mlir -o %t/c32 --chunk-size 32 --v-tile 32 2>&1 | FileCheck %s --check-prefix=C32 --implicit-check-not=warning
// RUN: gdn-compile %gdn_src_root/examples/gated_deltanet.mlir -o %t/c32v16 --chunk-size 32 --v-tile 16 2>&1 | FileCheck %s --check-prefix=C32 --implicit-check-not=warning
// RUN: gdn-compile %gdn_src_root/examples/gated_deltanet.mlir -o %t/c64 --chunk-size 64 --v-tile 16 2>&1 | FileCheck %s --check-prefix=C32 --implicit-check-not=warning
// RUN: gdn-compile %gdn_src_root/examples/gated_deltanet.mlir -o %t/c32v128 --chunk-size 32 --v-tile 128 2>&1 | FileCheck %s --check-prefix=C32 --implicit-check-not=warning
// RUN: gdn-compile %gdn_src_root/examples/gated_deltanet.mlir -o %t/tiled --chunk-size 32 --v-tile 64 --no-sliced-state 2>&1 | FileCheck %s --check-prefix=C32 --implicit-check-not=warning
// RUN: sed 's/128/256/g' %gdn_src_root/examples/gated_deltanet.mlir > %t/k256.mlir
// RUN: gdn-compile %t/k256.mlir -o %t/k256 --chunk-size 32 --v-tile 16 2>&1 | FileCheck %s --check-prefix=K256 --implicit-check-not=warning
// RUN: gdn-compile %t/k256.mlir -o %t/rec --kernel recurrent 2>&1 | FileCheck %s --check-prefix=REC

// C32: ptxas: gated_deltanet_chunked: {{[0-9]+}} registers, 0 bytes spill stores
// C32: ptxas: gated_deltanet_chunked_prep: {{[0-9]+}} registers, 0 bytes spill stores
// K256: ptxas: gated_deltanet_chunked: {{[0-9]+}} registers, 0 bytes spill stores
// K256: ptxas: gated_deltanet_chunked_prep: {{[0-9]+}} registers, 0 bytes spill stores
// The recurrent kernel keeps a K = 256 state column in registers and spills (known).
// REC: warning: gated_deltanet_recurrent ({{[1-9][0-9]*}} bytes) spills registers to local memory
