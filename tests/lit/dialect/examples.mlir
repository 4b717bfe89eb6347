// Every example parses, verifies and round-trips.
// RUN: for f in %gdn_src_root/examples/*.mlir; do gdn-opt $f > %t.1.mlir && gdn-opt %t.1.mlir > %t.2.mlir && diff %t.1.mlir %t.2.mlir || exit 1; done
// RUN: gdn-opt %gdn_src_root/examples/linear_attention.mlir | FileCheck %s --check-prefix=LINEAR
// RUN: gdn-opt %gdn_src_root/examples/mamba2.mlir | FileCheck %s --check-prefix=MAMBA2
// RUN: gdn-opt %gdn_src_root/examples/gla.mlir | FileCheck %s --check-prefix=GLA
// RUN: gdn-opt %gdn_src_root/examples/deltanet.mlir | FileCheck %s --check-prefix=DELTANET
// RUN: gdn-opt %gdn_src_root/examples/gated_deltanet.mlir | FileCheck %s --check-prefix=GDN
// RUN: gdn-opt %gdn_src_root/examples/kda.mlir | FileCheck %s --check-prefix=KDA
// RUN: gdn-opt %gdn_src_root/examples/gated_deltanet_decode.mlir | FileCheck %s --check-prefix=DECODE
// RUN: gdn-opt %gdn_src_root/examples/gated_deltanet_varlen.mlir | FileCheck %s --check-prefix=VARLEN

// LINEAR: gdn.recurrence <none, additive>
// MAMBA2: gdn.recurrence <scalar, additive> {{.*}} initial_state
// GLA: gdn.recurrence <channel, additive> {{.*}} g(%{{.*}} : tensor<?x?x16x128xf32>)
// DELTANET: gdn.recurrence <none, delta> {{.*}} {qk_l2norm}
// GDN: gdn.recurrence <scalar, delta> {{.*}} v(%{{.*}} : tensor<?x?x32x128xbf16>)
// KDA: gdn.recurrence <channel, delta> {{.*}} {allow_neg_eigval, qk_l2norm}
// DECODE: gdn.decode <scalar, delta> {{.*}} state(%{{.*}} : tensor<64x32x128x128xf32>)
// VARLEN: gdn.recurrence <scalar, delta> {{.*}} cu_seqlens(%{{.*}} : tensor<?xi32>)
