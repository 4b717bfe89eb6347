// RUN: gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=32 | FileCheck %s
// RUN: gdn-opt %s -split-input-file --gdn-chunkwise=chunk-size=32 | FileCheck %s --check-prefix=ABSENT
// RUN: not gdn-opt %s --gdn-chunkwise=chunk-size=48 2>&1 | FileCheck %s --check-prefix=BADC
// RUN: not gdn-opt %s --gdn-chunkwise=chunk-size=0 2>&1 | FileCheck %s --check-prefix=BADC

// The chunkwise form of every layer family (gate none / scalar / channel x rule additive /
// delta), static and dynamic shapes, and the layer options. CHECK lines follow the structure
// of each function in order; ABSENT lines check, per function, what must not appear in it.

// The option is checked before any layer is rewritten.
// (The value after "got" is not checked: it is printed as a single character today, e.g.
// "got 0" for 48 -- see the report of the test-writing session.)
// BADC: error: gdn-chunkwise: chunk-size must be 16, 32, 64 or 128, got
// BADC-NOT: scf.for

//===----------------------------------------------------------------------===//
// gate none, additive rule: linear attention. Static shapes, f32, no beta.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @none_additive
// CHECK-SAME: (%[[Q:arg[0-9]+]]: tensor<2x100x4x64xf32>, %[[V:arg[0-9]+]]: tensor<2x100x4x128xf32>)
// CHECK: %[[B:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<2x100x4x64xf32>
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<2x100x4x64xf32>
// The output starts zeroed.
// CHECK: %[[OE:.*]] = tensor.empty() : tensor<2x100x4x128xf32>
// CHECK: %[[O0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[OE]] : tensor<2x100x4x128xf32>)
// Sequence loop, then value-head loop (HV = 4), then the chunk loop.
// CHECK: %[[SEQLOOP:.*]] = scf.for %[[N:[a-z0-9_]+]] = %{{.*}} to %[[B]] step %{{.*}} iter_args(%{{.*}} = %[[O0]]) -> (tensor<2x100x4x128xf32>)
// CHECK: %[[NHV:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[HV:[a-z0-9_]+]] = %{{.*}} to %[[NHV]] step %{{.*}} iter_args
// CHECK: %[[H:.*]] = arith.divui %[[HV]], %{{.*}} : index
// CHECK: %[[C:.*]] = arith.constant 32 : index
// CHECK-NEXT: %[[NCHUNKS:.*]] = arith.ceildivui %[[T]], %[[C]] : index
// The state starts at zero: K x V = 64 x 128.
// CHECK: %[[SE:.*]] = tensor.empty() : tensor<64x128xf32>
// CHECK: %[[S0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[SE]] : tensor<64x128xf32>)
// CHECK: %{{.*}}:2 = scf.for %[[CH:[a-z0-9_]+]] = %{{.*}} to %[[NCHUNKS]] step %{{.*}} iter_args(%[[O:[a-z0-9_]+]] = %{{.*}}, %[[S:[a-z0-9_]+]] = %[[S0]]) -> (tensor<2x100x4x128xf32>, tensor<64x128xf32>)
// The last chunk may be short: rows = min(T - chunk * C, C).
// CHECK: %[[START:.*]] = arith.muli %[[CH]], %[[C]] : index
// CHECK: %[[T0:.*]] = arith.addi %{{.*}}, %[[START]] : index
// CHECK: %[[REM:.*]] = arith.subi %[[T]], %[[START]] : index
// CHECK: %[[ROWS:.*]] = arith.minui %[[REM]], %[[C]] : index
// q and k read query/key head H, v reads value head HV.
// CHECK: %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[N]], %[[T0]], %[[H]], 0] [1, %[[ROWS]], 1, 64] [1, 1, 1, 1] : tensor<2x100x4x64xf32> to tensor<?x64xf32>
// CHECK: %[[KT:.*]] = tensor.extract_slice %[[Q]][%[[N]], %[[T0]], %[[H]], 0] [1, %[[ROWS]], 1, 64] [1, 1, 1, 1] : tensor<2x100x4x64xf32> to tensor<?x64xf32>
// CHECK: %[[VT:.*]] = tensor.extract_slice %[[V]][%[[N]], %[[T0]], %[[HV]], 0] [1, %[[ROWS]], 1, 128] [1, 1, 1, 1] : tensor<2x100x4x128xf32> to tensor<?x128xf32>
// Default scale 1/sqrt(64) rides on Q.
// CHECK: %[[QS:.*]] = gdn.tile.row_scale %[[QT]] {factor = 1.250000e-01 : f32} : tensor<?x64xf32>
// No beta: Vnew = V. O = Q S + QK Vnew (diagonal included), S' = S + K^T Vnew.
// CHECK: %[[QK:.*]] = gdn.tile.gated_gram %[[QS]], %[[KT]] {diagonal} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
// CHECK: %[[INTRA:.*]] = gdn.tile.matmul %[[QK]], %[[VT]] : tensor<?x?xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
// CHECK: %[[INTER:.*]] = gdn.tile.matmul %[[QS]], %[[S]] : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
// CHECK: %[[OUT:.*]] = arith.addf %[[INTER]], %[[INTRA]] : tensor<?x128xf32>
// CHECK: %[[KV:.*]] = gdn.tile.matmul %[[KT]], %[[VT]] {transpose_a} : tensor<?x64xf32>, tensor<?x128xf32> -> tensor<64x128xf32>
// CHECK: %[[NEXT:.*]] = arith.addf %[[S]], %[[KV]] : tensor<64x128xf32>
// CHECK: %[[OW:.*]] = tensor.insert_slice %[[OUT]] into %[[O]][%[[N]], %[[T0]], %[[HV]], 0] [1, %[[ROWS]], 1, 128] [1, 1, 1, 1] : tensor<?x128xf32> into tensor<2x100x4x128xf32>
// CHECK: scf.yield %[[OW]], %[[NEXT]] : tensor<2x100x4x128xf32>, tensor<64x128xf32>
// No final state requested: the head loop yields only o.
// CHECK: scf.yield %{{.*}}#0 : tensor<2x100x4x128xf32>
// CHECK: return %[[SEQLOOP]] : tensor<2x100x4x128xf32>

// ABSENT-LABEL: func.func @none_additive
// ABSENT-NOT: gdn.tile.cumsum
// ABSENT-NOT: gdn.tile.gate_rows
// ABSENT-NOT: gdn.tile.decay_state
// ABSENT-NOT: gdn.tile.unit_lower_inverse
// ABSENT-NOT: gdn.tile.l2norm_rows
// ABSENT-NOT: {{ by %}}
// ABSENT-NOT: arith.subf
// ABSENT-NOT: arith.extf
// ABSENT-NOT: arith.truncf
// ABSENT-NOT: tensor.extract %
// ABSENT-NOT: : tensor<64x128xf32> into
// ABSENT: return
func.func @none_additive(%q: tensor<2x100x4x64xf32>, %v: tensor<2x100x4x128xf32>) -> tensor<2x100x4x128xf32> {
  %o = gdn.recurrence <none, additive> q(%q : tensor<2x100x4x64xf32>) k(%q : tensor<2x100x4x64xf32>)
      v(%v : tensor<2x100x4x128xf32>) -> tensor<2x100x4x128xf32>
  return %o : tensor<2x100x4x128xf32>
}

// -----

//===----------------------------------------------------------------------===//
// gate none, delta rule: DeltaNet. Dynamic B and T, bf16, qk_l2norm, final state out.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @none_delta
// CHECK-SAME: (%[[Q:arg[0-9]+]]: tensor<?x?x2x128xbf16>, %[[K:arg[0-9]+]]: tensor<?x?x2x128xbf16>, %[[V:arg[0-9]+]]: tensor<?x?x2x64xbf16>, %[[BETA:arg[0-9]+]]: tensor<?x?x2xbf16>)
// CHECK: %[[B:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<?x?x2x128xbf16>
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<?x?x2x128xbf16>
// Dynamic outputs take their sizes from q: o is [B, T, HV, V] bf16, the final state [N, HV, K, V] f32.
// CHECK: tensor.empty(%[[B]], %[[T]]) : tensor<?x?x2x64xbf16>
// CHECK: linalg.fill ins(%{{.*}} : bf16)
// CHECK: tensor.empty(%[[B]]) : tensor<?x2x128x64xf32>
// CHECK: %[[SEQLOOP:.*]]:2 = scf.for %[[N:[a-z0-9_]+]] = %{{.*}} to %[[B]] step %{{.*}} iter_args({{.*}}) -> (tensor<?x?x2x64xbf16>, tensor<?x2x128x64xf32>)
// CHECK: scf.for %[[HV:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %[[FSACC:[a-z0-9_]+]] = %{{.*}})
// CHECK: %[[C:.*]] = arith.constant 32 : index
// CHECK-NEXT: %[[NCHUNKS:.*]] = arith.ceildivui %[[T]], %[[C]] : index
// CHECK: %[[CHLOOP:.*]]:2 = scf.for %[[CH:[a-z0-9_]+]] = %{{.*}} to %[[NCHUNKS]] step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %[[S:[a-z0-9_]+]] = %{{.*}}) -> (tensor<?x?x2x64xbf16>, tensor<128x64xf32>)
// CHECK: arith.minui %{{.*}}, %[[C]] : index
// bf16 tiles are widened to f32 as they are loaded.
// CHECK: %[[QB:.*]] = tensor.extract_slice %[[Q]]{{.*}} to tensor<?x128xbf16>
// CHECK-NEXT: %[[QT:.*]] = arith.extf %[[QB]] : tensor<?x128xbf16> to tensor<?x128xf32>
// CHECK: %[[KB:.*]] = tensor.extract_slice %[[K]]{{.*}} to tensor<?x128xbf16>
// CHECK-NEXT: %[[KT:.*]] = arith.extf %[[KB]] : tensor<?x128xbf16> to tensor<?x128xf32>
// CHECK: %[[VB:.*]] = tensor.extract_slice %[[V]]{{.*}} to tensor<?x64xbf16>
// CHECK-NEXT: %[[VT:.*]] = arith.extf %[[VB]] : tensor<?x64xbf16> to tensor<?x64xf32>
// qk_l2norm normalises q and k before the scale is applied (1/sqrt(128)).
// CHECK: %[[QN:.*]] = gdn.tile.l2norm_rows %[[QT]] : tensor<?x128xf32>
// CHECK: %[[KN:.*]] = gdn.tile.l2norm_rows %[[KT]] : tensor<?x128xf32>
// CHECK: %[[QS:.*]] = gdn.tile.row_scale %[[QN]] {factor = 0.0883883461 : f32} : tensor<?x128xf32>
// CHECK: %[[BB:.*]] = tensor.extract_slice %[[BETA]]{{.*}} to tensor<?xbf16>
// CHECK-NEXT: %[[BT:.*]] = arith.extf %[[BB]] : tensor<?xbf16> to tensor<?xf32>
// The UT transform, ungated: Tm = (I + strictly_lower(diag(beta) K K^T))^-1.
// CHECK: %[[KK:.*]] = gdn.tile.gated_gram %[[KN]], %[[KN]] : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x?xf32>
// CHECK: %[[A:.*]] = gdn.tile.row_scale %[[KK]] by %[[BT]] : tensor<?xf32> : tensor<?x?xf32>
// CHECK: %[[TM:.*]] = gdn.tile.unit_lower_inverse %[[A]] : tensor<?x?xf32>
// W = Tm (beta .* K), U = Tm (beta .* V), Vnew = U - W S.
// CHECK: %[[KB2:.*]] = gdn.tile.row_scale %[[KN]] by %[[BT]] : tensor<?xf32> : tensor<?x128xf32>
// CHECK: %[[W:.*]] = gdn.tile.matmul %[[TM]], %[[KB2]] : tensor<?x?xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
// CHECK: %[[VB2:.*]] = gdn.tile.row_scale %[[VT]] by %[[BT]] : tensor<?xf32> : tensor<?x64xf32>
// CHECK: %[[U:.*]] = gdn.tile.matmul %[[TM]], %[[VB2]] : tensor<?x?xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
// CHECK: %[[WS:.*]] = gdn.tile.matmul %[[W]], %[[S]] : tensor<?x128xf32>, tensor<128x64xf32> -> tensor<?x64xf32>
// CHECK: %[[VNEW:.*]] = arith.subf %[[U]], %[[WS]] : tensor<?x64xf32>
// CHECK: %[[QK:.*]] = gdn.tile.gated_gram %[[QS]], %[[KN]] {diagonal}
// CHECK: gdn.tile.matmul %[[QK]], %[[VNEW]]
// CHECK: gdn.tile.matmul %[[QS]], %[[S]]
// CHECK: %[[OUT:.*]] = arith.addf
// CHECK: %[[KV:.*]] = gdn.tile.matmul %[[KN]], %[[VNEW]] {transpose_a} : tensor<?x128xf32>, tensor<?x64xf32> -> tensor<128x64xf32>
// CHECK: %[[NEXT:.*]] = arith.addf %[[S]], %[[KV]] : tensor<128x64xf32>
// The output is narrowed back to bf16 before it is written.
// CHECK: %[[OUTB:.*]] = arith.truncf %[[OUT]] : tensor<?x64xf32> to tensor<?x64xbf16>
// CHECK: tensor.insert_slice %[[OUTB]] into %{{.*}} : tensor<?x64xbf16> into tensor<?x?x2x64xbf16>
// CHECK: scf.yield %{{.*}}, %[[NEXT]] : tensor<?x?x2x64xbf16>, tensor<128x64xf32>
// The final state of (sequence, value head) is written after the chunk loop.
// CHECK: %[[FS:.*]] = tensor.insert_slice %[[CHLOOP]]#1 into %[[FSACC]][%[[N]], %[[HV]], 0, 0] [1, 1, 128, 64] [1, 1, 1, 1] : tensor<128x64xf32> into tensor<?x2x128x64xf32>
// CHECK-NEXT: scf.yield %[[CHLOOP]]#0, %[[FS]] : tensor<?x?x2x64xbf16>, tensor<?x2x128x64xf32>
// CHECK: return %[[SEQLOOP]]#0, %[[SEQLOOP]]#1

// ABSENT-LABEL: func.func @none_delta
// ABSENT-NOT: gdn.tile.cumsum
// ABSENT-NOT: gdn.tile.gate_rows
// ABSENT-NOT: gdn.tile.decay_state
// ABSENT-NOT: gates
// ABSENT: gdn.tile.unit_lower_inverse
// ABSENT-NOT: gdn.tile.unit_lower_inverse
// ABSENT: return
func.func @none_delta(%q: tensor<?x?x2x128xbf16>, %k: tensor<?x?x2x128xbf16>, %v: tensor<?x?x2x64xbf16>,
                      %beta: tensor<?x?x2xbf16>) -> (tensor<?x?x2x64xbf16>, tensor<?x2x128x64xf32>) {
  %o, %s = gdn.recurrence <none, delta> q(%q : tensor<?x?x2x128xbf16>) k(%k : tensor<?x?x2x128xbf16>)
      v(%v : tensor<?x?x2x64xbf16>) beta(%beta : tensor<?x?x2xbf16>) {qk_l2norm}
      -> tensor<?x?x2x64xbf16>, tensor<?x2x128x64xf32>
  return %o, %s : tensor<?x?x2x64xbf16>, tensor<?x2x128x64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// gate scalar, additive rule: Mamba2 / SSD. Dynamic shapes, f32, GVA (H = 1, HV = 4),
// beta, a carried-in state and the final state out, scale = 1.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @scalar_additive
// CHECK-SAME: (%[[Q:arg[0-9]+]]: tensor<?x?x1x64xf32>, %[[V:arg[0-9]+]]: tensor<?x?x4x64xf32>, %[[G:arg[0-9]+]]: tensor<?x?x4xf32>, %[[BETA:arg[0-9]+]]: tensor<?x?x4xf32>, %[[H0:arg[0-9]+]]: tensor<?x4x64x64xf32>)
// CHECK: %[[B:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<?x?x1x64xf32>
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<?x?x1x64xf32>
// CHECK: scf.for %[[N:[a-z0-9_]+]] = %{{.*}} to %[[B]] step
// CHECK: %[[NHV:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[HV:[a-z0-9_]+]] = %{{.*}} to %[[NHV]] step
// GVA: value head hv reads query/key head hv / (HV / H) = hv / 4.
// CHECK: %[[RATIO:.*]] = arith.constant 4 : index
// CHECK-NEXT: %[[H:.*]] = arith.divui %[[HV]], %[[RATIO]] : index
// CHECK: %[[C:.*]] = arith.constant 32 : index
// CHECK-NEXT: %[[NCHUNKS:.*]] = arith.ceildivui %[[T]], %[[C]] : index
// The state starts from the carried-in one.
// CHECK: %[[S0:.*]] = tensor.extract_slice %[[H0]][%[[N]], %[[HV]], 0, 0] [1, 1, 64, 64] [1, 1, 1, 1] : tensor<?x4x64x64xf32> to tensor<64x64xf32>
// CHECK: %[[CHLOOP:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %[[NCHUNKS]] step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %[[S:[a-z0-9_]+]] = %[[S0]])
// CHECK: %[[ROWS:.*]] = arith.minui %{{.*}}, %[[C]] : index
// CHECK: %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[N]], %{{.*}}, %[[H]], 0] [1, %[[ROWS]], 1, 64]
// CHECK: %[[KT:.*]] = tensor.extract_slice %[[Q]][%[[N]], %{{.*}}, %[[H]], 0] [1, %[[ROWS]], 1, 64]
// CHECK: %[[VT:.*]] = tensor.extract_slice %[[V]][%[[N]], %{{.*}}, %[[HV]], 0] [1, %[[ROWS]], 1, 64]
// scale = 1: the factor is the default and is not printed.
// CHECK: %[[QS:.*]] = gdn.tile.row_scale %[[QT]] : tensor<?x64xf32>
// CHECK: %[[BT:.*]] = tensor.extract_slice %[[BETA]][%[[N]], %{{.*}}, %[[HV]]] [1, %[[ROWS]], 1] [1, 1, 1] : tensor<?x?x4xf32> to tensor<?xf32>
// Scalar gates: one cumulative sum per row.
// CHECK: %[[GT:.*]] = tensor.extract_slice %[[G]][%[[N]], %{{.*}}, %[[HV]]] [1, %[[ROWS]], 1] [1, 1, 1] : tensor<?x?x4xf32> to tensor<?xf32>
// CHECK: %[[GC:.*]] = gdn.tile.cumsum %[[GT]] : tensor<?xf32>
// Additive: Vnew = beta .* V.
// CHECK: %[[VNEW:.*]] = gdn.tile.row_scale %[[VT]] by %[[BT]] : tensor<?xf32> : tensor<?x64xf32>
// CHECK: %[[QK:.*]] = gdn.tile.gated_gram %[[QS]], %[[KT]] gates %[[GC]] : tensor<?xf32> {diagonal} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
// CHECK: %[[QG:.*]] = gdn.tile.gate_rows %[[QS]], %[[GC]] : tensor<?x64xf32>, tensor<?xf32>
// CHECK: gdn.tile.matmul %[[QK]], %[[VNEW]]
// CHECK: gdn.tile.matmul %[[QG]], %[[S]]
// CHECK: %[[SD:.*]] = gdn.tile.decay_state %[[S]], %[[GC]] : tensor<64x64xf32>, tensor<?xf32>
// CHECK: %[[KE:.*]] = gdn.tile.gate_rows %[[KT]], %[[GC]] {to_end} : tensor<?x64xf32>, tensor<?xf32>
// CHECK: %[[KV:.*]] = gdn.tile.matmul %[[KE]], %[[VNEW]] {transpose_a} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<64x64xf32>
// CHECK: %[[NEXT:.*]] = arith.addf %[[SD]], %[[KV]] : tensor<64x64xf32>
// CHECK: scf.yield %{{.*}}, %[[NEXT]]
// CHECK: tensor.insert_slice %[[CHLOOP]]#1 into %{{.*}}[%[[N]], %[[HV]], 0, 0] [1, 1, 64, 64] [1, 1, 1, 1] : tensor<64x64xf32> into tensor<?x4x64x64xf32>

// ABSENT-LABEL: func.func @scalar_additive
// ABSENT-NOT: gdn.tile.unit_lower_inverse
// ABSENT-NOT: gdn.tile.l2norm_rows
// ABSENT-NOT: arith.extf
// ABSENT-NOT: arith.truncf
// ABSENT-NOT: factor
// ABSENT-NOT: arith.subf
// ABSENT: return
func.func @scalar_additive(%q: tensor<?x?x1x64xf32>, %v: tensor<?x?x4x64xf32>, %g: tensor<?x?x4xf32>,
                           %beta: tensor<?x?x4xf32>, %h0: tensor<?x4x64x64xf32>)
    -> (tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>) {
  %o, %s = gdn.recurrence <scalar, additive> q(%q : tensor<?x?x1x64xf32>) k(%q : tensor<?x?x1x64xf32>)
      v(%v : tensor<?x?x4x64xf32>) g(%g : tensor<?x?x4xf32>) beta(%beta : tensor<?x?x4xf32>)
      initial_state(%h0 : tensor<?x4x64x64xf32>) {scale = 1.0 : f32}
      -> tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>
  return %o, %s : tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// gate scalar, delta rule: Gated DeltaNet. Static shapes, f32, GVA (H = 2, HV = 4), no
// final state.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @scalar_delta
// CHECK-SAME: (%[[Q:arg[0-9]+]]: tensor<1x200x2x64xf32>, %[[K:arg[0-9]+]]: tensor<1x200x2x64xf32>, %[[V:arg[0-9]+]]: tensor<1x200x4x128xf32>, %[[G:arg[0-9]+]]: tensor<1x200x4xf32>, %[[BETA:arg[0-9]+]]: tensor<1x200x4xf32>)
// CHECK: %[[B:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<1x200x2x64xf32>
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<1x200x2x64xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[B]] step
// CHECK: %[[NHV:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[HV:[a-z0-9_]+]] = %{{.*}} to %[[NHV]] step
// CHECK: %[[RATIO:.*]] = arith.constant 2 : index
// CHECK-NEXT: %[[H:.*]] = arith.divui %[[HV]], %[[RATIO]] : index
// CHECK: %[[C:.*]] = arith.constant 32 : index
// CHECK-NEXT: %[[NCHUNKS:.*]] = arith.ceildivui %[[T]], %[[C]] : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[NCHUNKS]] step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %[[S:[a-z0-9_]+]] = %{{.*}}) -> (tensor<1x200x4x128xf32>, tensor<64x128xf32>)
// CHECK: arith.minui %{{.*}}, %[[C]] : index
// CHECK: %[[QT:.*]] = tensor.extract_slice %[[Q]][%{{.*}}, %{{.*}}, %[[H]], 0]
// CHECK: %[[KT:.*]] = tensor.extract_slice %[[K]][%{{.*}}, %{{.*}}, %[[H]], 0]
// CHECK: %[[VT:.*]] = tensor.extract_slice %[[V]][%{{.*}}, %{{.*}}, %[[HV]], 0]
// CHECK: %[[QS:.*]] = gdn.tile.row_scale %[[QT]] {factor = 1.250000e-01 : f32}
// CHECK: %[[BT:.*]] = tensor.extract_slice %[[BETA]]
// CHECK: %[[GT:.*]] = tensor.extract_slice %[[G]]{{.*}} to tensor<?xf32>
// CHECK: %[[GC:.*]] = gdn.tile.cumsum %[[GT]] : tensor<?xf32>
// KKg with scalar gates, strictly lower (no diagonal).
// CHECK: %[[KK:.*]] = gdn.tile.gated_gram %[[KT]], %[[KT]] gates %[[GC]] : tensor<?xf32> : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
// CHECK: %[[A:.*]] = gdn.tile.row_scale %[[KK]] by %[[BT]]
// CHECK: %[[TM:.*]] = gdn.tile.unit_lower_inverse %[[A]] : tensor<?x?xf32>
// W = Tm (beta .* exp(G) .* K).
// CHECK: %[[KB:.*]] = gdn.tile.row_scale %[[KT]] by %[[BT]]
// CHECK: %[[KBG:.*]] = gdn.tile.gate_rows %[[KB]], %[[GC]] : tensor<?x64xf32>, tensor<?xf32>
// CHECK: %[[W:.*]] = gdn.tile.matmul %[[TM]], %[[KBG]] : tensor<?x?xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
// CHECK: %[[VB:.*]] = gdn.tile.row_scale %[[VT]] by %[[BT]]
// CHECK: %[[U:.*]] = gdn.tile.matmul %[[TM]], %[[VB]] : tensor<?x?xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
// CHECK: %[[WS:.*]] = gdn.tile.matmul %[[W]], %[[S]] : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
// CHECK: %[[VNEW:.*]] = arith.subf %[[U]], %[[WS]] : tensor<?x128xf32>
// CHECK: %[[QK:.*]] = gdn.tile.gated_gram %[[QS]], %[[KT]] gates %[[GC]] : tensor<?xf32> {diagonal}
// CHECK: %[[QG:.*]] = gdn.tile.gate_rows %[[QS]], %[[GC]] : tensor<?x64xf32>, tensor<?xf32>
// CHECK: %[[INTRA:.*]] = gdn.tile.matmul %[[QK]], %[[VNEW]]
// CHECK: %[[INTER:.*]] = gdn.tile.matmul %[[QG]], %[[S]]
// CHECK: %[[OUT:.*]] = arith.addf %[[INTER]], %[[INTRA]] : tensor<?x128xf32>
// CHECK: %[[SD:.*]] = gdn.tile.decay_state %[[S]], %[[GC]] : tensor<64x128xf32>, tensor<?xf32>
// CHECK: %[[KE:.*]] = gdn.tile.gate_rows %[[KT]], %[[GC]] {to_end}
// CHECK: %[[KV:.*]] = gdn.tile.matmul %[[KE]], %[[VNEW]] {transpose_a} : tensor<?x64xf32>, tensor<?x128xf32> -> tensor<64x128xf32>
// CHECK: %[[NEXT:.*]] = arith.addf %[[SD]], %[[KV]] : tensor<64x128xf32>
// CHECK: %[[OW:.*]] = tensor.insert_slice %[[OUT]] into
// CHECK: scf.yield %[[OW]], %[[NEXT]] : tensor<1x200x4x128xf32>, tensor<64x128xf32>
// CHECK: scf.yield %{{.*}}#0 : tensor<1x200x4x128xf32>

// ABSENT-LABEL: func.func @scalar_delta
// ABSENT-NOT: arith.extf
// ABSENT-NOT: : tensor<64x128xf32> into
// ABSENT-NOT: gdn.tile.l2norm_rows
// ABSENT: return
func.func @scalar_delta(%q: tensor<1x200x2x64xf32>, %k: tensor<1x200x2x64xf32>, %v: tensor<1x200x4x128xf32>,
                        %g: tensor<1x200x4xf32>, %beta: tensor<1x200x4xf32>) -> tensor<1x200x4x128xf32> {
  %o = gdn.recurrence <scalar, delta> q(%q : tensor<1x200x2x64xf32>) k(%k : tensor<1x200x2x64xf32>)
      v(%v : tensor<1x200x4x128xf32>) g(%g : tensor<1x200x4xf32>) beta(%beta : tensor<1x200x4xf32>)
      -> tensor<1x200x4x128xf32>
  return %o : tensor<1x200x4x128xf32>
}

// -----

//===----------------------------------------------------------------------===//
// gate channel, additive rule: GLA. Dynamic shapes, f16 inputs with f32 gates.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @channel_additive
// CHECK-SAME: (%[[Q:arg[0-9]+]]: tensor<?x?x2x128xf16>, %[[V:arg[0-9]+]]: tensor<?x?x2x128xf16>, %[[G:arg[0-9]+]]: tensor<?x?x2x128xf32>)
// CHECK: %[[C:.*]] = arith.constant 32 : index
// CHECK-NEXT: arith.ceildivui %{{.*}}, %[[C]] : index
// CHECK: scf.for {{.*}} -> (tensor<?x?x2x128xf16>, tensor<128x128xf32>)
// CHECK: %[[ROWS:.*]] = arith.minui %{{.*}}, %[[C]] : index
// CHECK: arith.extf %{{.*}} : tensor<?x128xf16> to tensor<?x128xf32>
// CHECK: %[[KT:.*]] = arith.extf %{{.*}} : tensor<?x128xf16> to tensor<?x128xf32>
// CHECK: %[[VT:.*]] = arith.extf %{{.*}} : tensor<?x128xf16> to tensor<?x128xf32>
// CHECK: %[[QS:.*]] = gdn.tile.row_scale
// Channel gates: one cumulative sum per key channel, on a [rows, K] tile; f32 gates are not widened.
// CHECK: %[[GT:.*]] = tensor.extract_slice %[[G]][%{{.*}}, %{{.*}}, %{{.*}}, 0] [1, %[[ROWS]], 1, 128] [1, 1, 1, 1] : tensor<?x?x2x128xf32> to tensor<?x128xf32>
// CHECK-NEXT: %[[GC:.*]] = gdn.tile.cumsum %[[GT]] : tensor<?x128xf32>
// No beta, additive: Vnew = V.
// CHECK: %[[QK:.*]] = gdn.tile.gated_gram %[[QS]], %[[KT]] gates %[[GC]] : tensor<?x128xf32> {diagonal} : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x?xf32>
// CHECK: gdn.tile.gate_rows %[[QS]], %[[GC]] : tensor<?x128xf32>, tensor<?x128xf32>
// CHECK: gdn.tile.matmul %[[QK]], %[[VT]]
// CHECK: gdn.tile.decay_state %{{.*}}, %[[GC]] : tensor<128x128xf32>, tensor<?x128xf32>
// CHECK: %[[KE:.*]] = gdn.tile.gate_rows %[[KT]], %[[GC]] {to_end} : tensor<?x128xf32>, tensor<?x128xf32>
// CHECK: gdn.tile.matmul %[[KE]], %[[VT]] {transpose_a}
// CHECK: arith.truncf %{{.*}} : tensor<?x128xf32> to tensor<?x128xf16>
// CHECK: tensor.insert_slice %{{.*}} : tensor<128x128xf32> into tensor<?x2x128x128xf32>

// ABSENT-LABEL: func.func @channel_additive
// ABSENT-NOT: gdn.tile.unit_lower_inverse
// ABSENT-NOT: gdn.tile.cumsum %{{.*}} : tensor<?xf32>
// ABSENT-NOT: arith.subf
// ABSENT-NOT: {{ by %}}
// ABSENT: return
func.func @channel_additive(%q: tensor<?x?x2x128xf16>, %v: tensor<?x?x2x128xf16>, %g: tensor<?x?x2x128xf32>)
    -> (tensor<?x?x2x128xf16>, tensor<?x2x128x128xf32>) {
  %o, %s = gdn.recurrence <channel, additive> q(%q : tensor<?x?x2x128xf16>) k(%q : tensor<?x?x2x128xf16>)
      v(%v : tensor<?x?x2x128xf16>) g(%g : tensor<?x?x2x128xf32>)
      -> tensor<?x?x2x128xf16>, tensor<?x2x128x128xf32>
  return %o, %s : tensor<?x?x2x128xf16>, tensor<?x2x128x128xf32>
}

// -----

//===----------------------------------------------------------------------===//
// gate channel, delta rule: KDA. Static shapes, bf16 inputs and gates, K = 64 != V = 256.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @channel_delta
// CHECK-SAME: (%{{arg[0-9]+}}: tensor<2x64x4x64xbf16>, %{{arg[0-9]+}}: tensor<2x64x4x256xbf16>, %[[G:arg[0-9]+]]: tensor<2x64x4x64xbf16>, %{{arg[0-9]+}}: tensor<2x64x4xf32>)
// CHECK: %[[C:.*]] = arith.constant 32 : index
// CHECK-NEXT: arith.ceildivui %{{.*}}, %[[C]] : index
// CHECK: scf.for {{.*}} -> (tensor<2x64x4x256xbf16>, tensor<64x256xf32>)
// CHECK: %[[QT:.*]] = arith.extf %{{.*}} : tensor<?x64xbf16> to tensor<?x64xf32>
// CHECK: %[[KT:.*]] = arith.extf %{{.*}} : tensor<?x64xbf16> to tensor<?x64xf32>
// CHECK: %[[GB:.*]] = tensor.extract_slice %[[G]]{{.*}} : tensor<2x64x4x64xbf16> to tensor<?x64xbf16>
// CHECK-NEXT: %[[GT:.*]] = arith.extf %[[GB]] : tensor<?x64xbf16> to tensor<?x64xf32>
// CHECK-NEXT: %[[GC:.*]] = gdn.tile.cumsum %[[GT]] : tensor<?x64xf32>
// CHECK: %[[KK:.*]] = gdn.tile.gated_gram %[[KT]], %[[KT]] gates %[[GC]] : tensor<?x64xf32> : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
// CHECK: %[[TM:.*]] = gdn.tile.unit_lower_inverse
// CHECK: %[[KB:.*]] = gdn.tile.row_scale %[[KT]] by
// CHECK: %[[KBG:.*]] = gdn.tile.gate_rows %[[KB]], %[[GC]] : tensor<?x64xf32>, tensor<?x64xf32>
// CHECK: gdn.tile.matmul %[[TM]], %[[KBG]] : tensor<?x?xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
// CHECK: gdn.tile.matmul %[[TM]], %{{.*}} : tensor<?x?xf32>, tensor<?x256xf32> -> tensor<?x256xf32>
// CHECK: gdn.tile.gated_gram %{{.*}}, %[[KT]] gates %[[GC]] : tensor<?x64xf32> {diagonal}
// CHECK: gdn.tile.decay_state %{{.*}}, %[[GC]] : tensor<64x256xf32>, tensor<?x64xf32>
// CHECK: gdn.tile.gate_rows %[[KT]], %[[GC]] {to_end} : tensor<?x64xf32>, tensor<?x64xf32>
// CHECK: gdn.tile.matmul %{{.*}} {transpose_a} : tensor<?x64xf32>, tensor<?x256xf32> -> tensor<64x256xf32>
// CHECK: arith.truncf %{{.*}} : tensor<?x256xf32> to tensor<?x256xbf16>
// CHECK: tensor.insert_slice %{{.*}} : tensor<64x256xf32> into tensor<2x4x64x256xf32>

// ABSENT-LABEL: func.func @channel_delta
// ABSENT-NOT: gdn.tile.cumsum %{{.*}} : tensor<?xf32>
// ABSENT-NOT: gdn.tile.l2norm_rows
// ABSENT: gdn.tile.unit_lower_inverse
// ABSENT-NOT: gdn.tile.unit_lower_inverse
// ABSENT: return
func.func @channel_delta(%q: tensor<2x64x4x64xbf16>, %v: tensor<2x64x4x256xbf16>, %g: tensor<2x64x4x64xbf16>,
                         %beta: tensor<2x64x4xf32>) -> (tensor<2x64x4x256xbf16>, tensor<2x4x64x256xf32>) {
  %o, %s = gdn.recurrence <channel, delta> q(%q : tensor<2x64x4x64xbf16>) k(%q : tensor<2x64x4x64xbf16>)
      v(%v : tensor<2x64x4x256xbf16>) g(%g : tensor<2x64x4x64xbf16>) beta(%beta : tensor<2x64x4xf32>)
      {allow_neg_eigval} -> tensor<2x64x4x256xbf16>, tensor<2x4x64x256xf32>
  return %o, %s : tensor<2x64x4x256xbf16>, tensor<2x4x64x256xf32>
}

// -----

//===----------------------------------------------------------------------===//
// The layer's chunk_size attribute wins over the pass option; two layers in one function
// get their own chunk loops.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @chunk_size_attr
// CHECK: %[[C128:.*]] = arith.constant 128 : index
// CHECK-NEXT: arith.ceildivui %{{.*}}, %[[C128]] : index
// CHECK: arith.muli %{{.*}}, %[[C128]] : index
// CHECK: arith.minui %{{.*}}, %[[C128]] : index
// CHECK: %[[C16:.*]] = arith.constant 16 : index
// CHECK-NEXT: arith.ceildivui %{{.*}}, %[[C16]] : index
// CHECK: arith.minui %{{.*}}, %[[C16]] : index
// CHECK: return

// ABSENT-LABEL: func.func @chunk_size_attr
// ABSENT-NOT: gdn.recurrence
// ABSENT-NOT: arith.constant 32 : index
// ABSENT: return
func.func @chunk_size_attr(%q: tensor<1x?x1x64xf32>) -> (tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>) {
  %o1 = gdn.recurrence <none, additive> q(%q : tensor<1x?x1x64xf32>) k(%q : tensor<1x?x1x64xf32>)
      v(%q : tensor<1x?x1x64xf32>) {chunk_size = 128 : i64} -> tensor<1x?x1x64xf32>
  %o2 = gdn.recurrence <none, additive> q(%q : tensor<1x?x1x64xf32>) k(%q : tensor<1x?x1x64xf32>)
      v(%q : tensor<1x?x1x64xf32>) {chunk_size = 16 : i64} -> tensor<1x?x1x64xf32>
  return %o1, %o2 : tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// A packed variable-length batch: N = len(cu_seqlens) - 1 sequences, each reading its
// offsets from cu_seqlens, all at batch index 0.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @varlen(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<1x?x4x64xbf16>, %[[G:arg[0-9]+]]: tensor<1x?x4xf32>, %[[H0:arg[0-9]+]]: tensor<?x4x64x64xf32>, %[[CU:arg[0-9]+]]: tensor<?xi32>)
// CHECK: %[[NP1:.*]] = tensor.dim %[[CU]], %{{.*}} : tensor<?xi32>
// CHECK: %[[NSEQ:.*]] = arith.subi %[[NP1]], %{{.*}} : index
// CHECK: tensor.empty(%[[NSEQ]]) : tensor<?x4x64x64xf32>
// CHECK: %[[SEQLOOP:.*]]:2 = scf.for %[[N:[a-z0-9_]+]] = %{{.*}} to %[[NSEQ]] step
// CHECK: %[[BOS32:.*]] = tensor.extract %[[CU]][%[[N]]] : tensor<?xi32>
// CHECK-NEXT: %[[BOS:.*]] = arith.index_cast %[[BOS32]] : i32 to index
// CHECK: %[[NEXTN:.*]] = arith.addi %[[N]], %{{.*}} : index
// CHECK-NEXT: %[[EOS32:.*]] = tensor.extract %[[CU]][%[[NEXTN]]] : tensor<?xi32>
// CHECK-NEXT: %[[EOS:.*]] = arith.index_cast %[[EOS32]] : i32 to index
// CHECK: %[[BIDX:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[LEN:.*]] = arith.subi %[[EOS]], %[[BOS]] : index
// CHECK: %[[C:.*]] = arith.constant 32 : index
// CHECK-NEXT: %[[NCHUNKS:.*]] = arith.ceildivui %[[LEN]], %[[C]] : index
// CHECK: tensor.extract_slice %[[H0]][%[[N]], %{{.*}}, 0, 0] [1, 1, 64, 64]
// CHECK: scf.for %[[CH:[a-z0-9_]+]] = %{{.*}} to %[[NCHUNKS]] step
// CHECK: %[[START:.*]] = arith.muli %[[CH]], %[[C]] : index
// CHECK: %[[T0:.*]] = arith.addi %[[BOS]], %[[START]] : index
// CHECK: %[[REM:.*]] = arith.subi %[[LEN]], %[[START]] : index
// CHECK: %[[ROWS:.*]] = arith.minui %[[REM]], %[[C]] : index
// CHECK: tensor.extract_slice %[[Q]][%[[BIDX]], %[[T0]], %{{.*}}, 0] [1, %[[ROWS]], 1, 64]
// CHECK: gdn.tile.unit_lower_inverse
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[%[[BIDX]], %[[T0]], %{{.*}}, 0] [1, %[[ROWS]], 1, 64] [1, 1, 1, 1] : tensor<?x64xbf16> into tensor<1x?x4x64xbf16>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[%[[N]], %{{.*}}, 0, 0] [1, 1, 64, 64] [1, 1, 1, 1] : tensor<64x64xf32> into tensor<?x4x64x64xf32>
// CHECK: return %[[SEQLOOP]]#0, %[[SEQLOOP]]#1

// ABSENT-LABEL: func.func @varlen(
// ABSENT-NOT: tensor.empty() : tensor<64x64xf32>
// ABSENT: return
func.func @varlen(%q: tensor<1x?x4x64xbf16>, %g: tensor<1x?x4xf32>, %h0: tensor<?x4x64x64xf32>, %cu: tensor<?xi32>)
    -> (tensor<1x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %o, %s = gdn.recurrence <scalar, delta> q(%q : tensor<1x?x4x64xbf16>) k(%q : tensor<1x?x4x64xbf16>)
      v(%q : tensor<1x?x4x64xbf16>) g(%g : tensor<1x?x4xf32>) beta(%g : tensor<1x?x4xf32>)
      initial_state(%h0 : tensor<?x4x64x64xf32>) cu_seqlens(%cu : tensor<?xi32>)
      -> tensor<1x?x4x64xbf16>, tensor<?x4x64x64xf32>
  return %o, %s : tensor<1x?x4x64xbf16>, tensor<?x4x64x64xf32>
}

// -----

// i64 offsets are cast the same way.
// CHECK-LABEL: func.func @varlen_i64
// CHECK: %[[BOS64:.*]] = tensor.extract %{{.*}}[%{{.*}}] : tensor<5xi64>
// CHECK-NEXT: arith.index_cast %[[BOS64]] : i64 to index
// CHECK: tensor.extract %{{.*}}[%{{.*}}] : tensor<5xi64>
func.func @varlen_i64(%q: tensor<1x?x1x64xf32>, %cu: tensor<5xi64>) -> tensor<1x?x1x64xf32> {
  %o = gdn.recurrence <none, additive> q(%q : tensor<1x?x1x64xf32>) k(%q : tensor<1x?x1x64xf32>)
      v(%q : tensor<1x?x1x64xf32>) cu_seqlens(%cu : tensor<5xi64>) -> tensor<1x?x1x64xf32>
  return %o : tensor<1x?x1x64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// gdn.decode: the same loops with one token per step (chunk size 1, whatever the option),
// the state read from `state` and always written back. With chunks of one row the delta
// rule's solve is on a 1 x 1 tile, but it is still emitted.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<8x1x2x64xf32>, %[[G:arg[0-9]+]]: tensor<8x1x4xf32>, %[[V:arg[0-9]+]]: tensor<8x1x4x64xf32>, %[[S0:arg[0-9]+]]: tensor<8x4x64x64xf32>)
// CHECK: %[[B:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<8x1x2x64xf32>
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<8x1x2x64xf32>
// CHECK: %[[SEQLOOP:.*]]:2 = scf.for %[[N:[a-z0-9_]+]] = {{.*}} -> (tensor<8x1x4x64xf32>, tensor<8x4x64x64xf32>)
// CHECK: scf.for %[[HV:[a-z0-9_]+]] = {{.*}} -> (tensor<8x1x4x64xf32>, tensor<8x4x64x64xf32>)
// CHECK: arith.divui %[[HV]], %{{.*}} : index
// CHECK: %[[C:.*]] = arith.constant 1 : index
// CHECK-NEXT: %[[NCHUNKS:.*]] = arith.ceildivui %[[T]], %[[C]] : index
// CHECK-NEXT: %[[SIN:.*]] = tensor.extract_slice %[[S0]][%[[N]], %[[HV]], 0, 0] [1, 1, 64, 64] [1, 1, 1, 1] : tensor<8x4x64x64xf32> to tensor<64x64xf32>
// CHECK: %[[CHLOOP:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %[[NCHUNKS]] step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %[[SIN]]) -> (tensor<8x1x4x64xf32>, tensor<64x64xf32>)
// CHECK: arith.minui %{{.*}}, %[[C]] : index
// CHECK: gdn.tile.cumsum %{{.*}} : tensor<?xf32>
// CHECK: gdn.tile.unit_lower_inverse %{{.*}} : tensor<?x?xf32>
// CHECK: gdn.tile.decay_state
// CHECK: %[[FS:.*]] = tensor.insert_slice %[[CHLOOP]]#1 into %{{.*}}[%[[N]], %[[HV]], 0, 0] [1, 1, 64, 64] [1, 1, 1, 1] : tensor<64x64xf32> into tensor<8x4x64x64xf32>
// CHECK-NEXT: scf.yield %[[CHLOOP]]#0, %[[FS]]
// CHECK: return %[[SEQLOOP]]#0, %[[SEQLOOP]]#1 : tensor<8x1x4x64xf32>, tensor<8x4x64x64xf32>

// ABSENT-LABEL: func.func @decode(
// ABSENT-NOT: gdn.decode
// ABSENT-NOT: arith.constant 32 : index
// ABSENT-NOT: tensor.empty() : tensor<64x64xf32>
// ABSENT: return
func.func @decode(%q: tensor<8x1x2x64xf32>, %g: tensor<8x1x4xf32>, %v: tensor<8x1x4x64xf32>, %s: tensor<8x4x64x64xf32>)
    -> (tensor<8x1x4x64xf32>, tensor<8x4x64x64xf32>) {
  %o, %s1 = gdn.decode <scalar, delta> q(%q : tensor<8x1x2x64xf32>) k(%q : tensor<8x1x2x64xf32>)
      v(%v : tensor<8x1x4x64xf32>) g(%g : tensor<8x1x4xf32>) beta(%g : tensor<8x1x4xf32>)
      state(%s : tensor<8x4x64x64xf32>) -> tensor<8x1x4x64xf32>, tensor<8x4x64x64xf32>
  return %o, %s1 : tensor<8x1x4x64xf32>, tensor<8x4x64x64xf32>
}

// -----

// A decode step of an additive layer with a packed batch: offsets from cu_seqlens, chunk
// size 1, no solve.
// CHECK-LABEL: func.func @decode_varlen_additive
// CHECK-SAME: %[[CU:arg[0-9]+]]: tensor<4xi32>
// CHECK: tensor.extract %[[CU]]
// CHECK: arith.divui
// CHECK: %[[C:.*]] = arith.constant 1 : index
// CHECK-NEXT: arith.ceildivui %{{.*}}, %[[C]] : index
// CHECK: gdn.tile.gated_gram
// CHECK: gdn.tile.matmul %{{.*}} {transpose_a}
// CHECK: tensor.insert_slice %{{.*}} : tensor<64x64xf32> into tensor<3x2x64x64xf32>

// ABSENT-LABEL: func.func @decode_varlen_additive
// ABSENT-NOT: gdn.tile.unit_lower_inverse
// ABSENT-NOT: gdn.tile.cumsum
// ABSENT: return
func.func @decode_varlen_additive(%q: tensor<1x?x2x64xf32>, %s: tensor<3x2x64x64xf32>, %cu: tensor<4xi32>)
    -> (tensor<1x?x2x64xf32>, tensor<3x2x64x64xf32>) {
  %o, %s1 = gdn.decode <none, additive> q(%q : tensor<1x?x2x64xf32>) k(%q : tensor<1x?x2x64xf32>)
      v(%q : tensor<1x?x2x64xf32>) state(%s : tensor<3x2x64x64xf32>) cu_seqlens(%cu : tensor<4xi32>)
      -> tensor<1x?x2x64xf32>, tensor<3x2x64x64xf32>
  return %o, %s1 : tensor<1x?x2x64xf32>, tensor<3x2x64x64xf32>
}
