// RUN: gdn-opt %s --gdn-tiles-to-linalg | FileCheck %s --implicit-check-not=gdn.tile
// Every example, chunked and expanded, keeps no gdn op (gdn.chunk_* loop marks may stay).
// RUN: for f in %gdn_src_root/examples/*.mlir; do gdn-opt $f --gdn-chunkwise=chunk-size=16 --gdn-tiles-to-linalg | FileCheck %s --check-prefix=NOTILE --implicit-check-not='= gdn.' || exit 1; done

// NOTILE-LABEL: func.func
// NOTILE: scf.for
// NOTILE: linalg.generic
// NOTILE: return

// The CPU expansion of each gdn.tile op: linalg.generic on tensors (reductions for the
// products and the cumulative sum, math.exp of masked gate differences) and forward
// substitution in scf.for loops for the triangular solve.

// Indexing maps, by the iteration dims they read: (i, j) for 2-d generics, (i, j, c) for 3-d.
// CHECK-DAG: #[[J2:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[I2:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[IJ2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[IC:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[JC:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[IJ:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[I3:.*]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-DAG: #[[J3:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-DAG: #[[CJ:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[CI:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>

//===----------------------------------------------------------------------===//
// cumsum: G[i] = sum_{j <= i} g[j], a masked reduction over j.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @cumsum_scalar
// CHECK-SAME: (%[[G:.*]]: tensor<?xf32>)
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?xf32>) -> tensor<?xf32>
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[J2]], #[[I2]]], iterator_types = ["parallel", "reduction"]} ins(%[[G]] : tensor<?xf32>) outs(%[[ZERO]] : tensor<?xf32>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[OUT:.*]]: f32):
// CHECK: %[[I:.*]] = linalg.index 0 : index
// CHECK: %[[J:.*]] = linalg.index 1 : index
// CHECK: %[[UPTO:.*]] = arith.cmpi ule, %[[J]], %[[I]] : index
// CHECK: %[[TERM:.*]] = arith.select %[[UPTO]], %[[IN]], %{{.*}} : f32
// CHECK: %[[SUM:.*]] = arith.addf %[[OUT]], %[[TERM]] : f32
// CHECK: linalg.yield %[[SUM]] : f32
// CHECK: return %[[R]]
func.func @cumsum_scalar(%g: tensor<?xf32>) -> tensor<?xf32> {
  %0 = gdn.tile.cumsum %g : tensor<?xf32>
  return %0 : tensor<?xf32>
}

// Channel gates: one sum per channel, the channel dim stays parallel.
// CHECK-LABEL: func.func @cumsum_channel
// CHECK: linalg.generic {indexing_maps = [#[[JC]], #[[IC]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}} : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK: arith.cmpi ule
// CHECK: arith.addf
func.func @cumsum_channel(%g: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = gdn.tile.cumsum %g : tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// Exclusive: G[i] = sum_{j < i} g[j] (the generalized transition's rows, docs/design.md §2.5).
// CHECK-LABEL: func.func @cumsum_exclusive
// CHECK: linalg.generic {indexing_maps = [#[[J2]], #[[I2]]], iterator_types = ["parallel", "reduction"]}
// CHECK: arith.cmpi ult
// CHECK: arith.addf
func.func @cumsum_exclusive(%g: tensor<?xf32>) -> tensor<?xf32> {
  %0 = gdn.tile.cumsum %g {exclusive} : tensor<?xf32>
  return %0 : tensor<?xf32>
}

//===----------------------------------------------------------------------===//
// gated_gram: M[i, j] = sum_c a[i, c] b[j, c] exp(G_i - G_j), masked to i > j (or i >= j).
//===----------------------------------------------------------------------===//

// No gates, strictly lower: no exp at all.
// CHECK-LABEL: func.func @gram_plain
// CHECK-SAME: (%[[A:.*]]: tensor<?x64xf32>, %[[B:.*]]: tensor<?x64xf32>)
// CHECK: %[[N:.*]] = tensor.dim %[[A]], %{{.*}} : tensor<?x64xf32>
// CHECK: %[[E:.*]] = tensor.empty(%[[N]], %[[N]]) : tensor<?x?xf32>
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<?x?xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[IC]], #[[JC]], #[[IJ]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[A]], %[[B]] : tensor<?x64xf32>, tensor<?x64xf32>) outs(%[[ZERO]] : tensor<?x?xf32>)
// CHECK: %[[I:.*]] = linalg.index 0 : index
// CHECK: %[[J:.*]] = linalg.index 1 : index
// CHECK: %[[MASK:.*]] = arith.cmpi ugt, %[[I]], %[[J]] : index
// CHECK: %[[P:.*]] = arith.mulf
// CHECK-NOT: math.exp
// CHECK: %[[T:.*]] = arith.select %[[MASK]], %[[P]], %{{.*}} : f32
// CHECK: arith.addf %{{.*}}, %[[T]] : f32
// CHECK-NOT: math.exp
// CHECK: return
func.func @gram_plain(%a: tensor<?x64xf32>, %b: tensor<?x64xf32>) -> tensor<?x?xf32> {
  %0 = gdn.tile.gated_gram %a, %b : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// Scalar gates with the diagonal: the gates are read at i and at j; the difference is
// masked before the exp.
// CHECK-LABEL: func.func @gram_scalar_diagonal
// CHECK-SAME: (%[[A:.*]]: tensor<?x64xf32>, %[[B:.*]]: tensor<?x64xf32>, %[[G:.*]]: tensor<?xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[IC]], #[[JC]], #[[I3]], #[[J3]], #[[IJ]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[A]], %[[B]], %[[G]], %[[G]] : {{.*}}) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK: ^bb0(%[[AV:.*]]: f32, %[[BV:.*]]: f32, %[[GI:.*]]: f32, %[[GJ:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK: %[[MASK:.*]] = arith.cmpi uge, %{{.*}}, %{{.*}} : index
// CHECK: %[[P:.*]] = arith.mulf %[[AV]], %[[BV]] : f32
// CHECK: %[[D:.*]] = arith.subf %[[GI]], %[[GJ]] : f32
// CHECK: %[[DM:.*]] = arith.select %[[MASK]], %[[D]], %{{.*}} : f32
// CHECK: %[[X:.*]] = math.exp %[[DM]] : f32
// CHECK: %[[PG:.*]] = arith.mulf %[[P]], %[[X]] : f32
// CHECK: %[[T:.*]] = arith.select %[[MASK]], %[[PG]], %{{.*}} : f32
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %[[T]] : f32
// CHECK: linalg.yield %[[S]] : f32
func.func @gram_scalar_diagonal(%a: tensor<?x64xf32>, %b: tensor<?x64xf32>, %g: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = gdn.tile.gated_gram %a, %b gates %g : tensor<?xf32> {diagonal} : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// Channel gates, strictly lower, static shapes: the gates are read per channel.
// CHECK-LABEL: func.func @gram_channel
// CHECK: %[[E:.*]] = tensor.empty() : tensor<16x16xf32>
// CHECK: linalg.generic {indexing_maps = [#[[IC]], #[[JC]], #[[IC]], #[[JC]], #[[IJ]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: arith.cmpi ugt
// CHECK-NOT: arith.cmpi uge
// CHECK: math.exp
// CHECK: return
func.func @gram_channel(%a: tensor<16x64xf32>, %g: tensor<16x64xf32>) -> tensor<16x16xf32> {
  %0 = gdn.tile.gated_gram %a, %a gates %g : tensor<16x64xf32> : tensor<16x64xf32>, tensor<16x64xf32> -> tensor<16x16xf32>
  return %0 : tensor<16x16xf32>
}

//===----------------------------------------------------------------------===//
// unit_lower_inverse: forward substitution, Tm[i, j] = -sum_{j <= k < i} A[i, k] Tm[k, j].
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @unit_lower_inverse
// CHECK-SAME: (%[[A:.*]]: tensor<?x?xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[FZERO:.*]] = arith.constant 0.000000e+00 : f32
// Start from the identity.
// CHECK: %[[ID:.*]] = linalg.generic {indexing_maps = [#[[IJ2]]], iterator_types = ["parallel", "parallel"]} outs(%{{.*}} : tensor<?x?xf32>)
// CHECK: %[[DIAG:.*]] = arith.cmpi eq
// CHECK: arith.select %[[DIAG]], %[[ONE]], %[[FZERO]] : f32
// CHECK: %[[N:.*]] = tensor.dim %[[A]], %[[C0]]
// Rows i = 1..n-1, columns j < i, then the sum over j <= k < i.
// CHECK: %[[R:.*]] = scf.for %[[I:.*]] = %[[C1]] to %[[N]] step %[[C1]] iter_args(%{{.*}} = %[[ID]]) -> (tensor<?x?xf32>)
// CHECK: scf.for %[[J:.*]] = %[[C0]] to %[[I]] step %[[C1]] iter_args(%[[TM:.*]] = %{{.*}}) -> (tensor<?x?xf32>)
// CHECK: %[[SUM:.*]] = scf.for %[[K:.*]] = %[[J]] to %[[I]] step %[[C1]] iter_args(%[[ACC:.*]] = %[[FZERO]]) -> (f32)
// CHECK: %[[AIK:.*]] = tensor.extract %[[A]][%[[I]], %[[K]]] : tensor<?x?xf32>
// CHECK: %[[TKJ:.*]] = tensor.extract %[[TM]][%[[K]], %[[J]]] : tensor<?x?xf32>
// CHECK: %[[P:.*]] = arith.mulf %[[AIK]], %[[TKJ]] : f32
// CHECK: %[[NEXT:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK: scf.yield %[[NEXT]] : f32
// CHECK: %[[NEG:.*]] = arith.negf %[[SUM]] : f32
// CHECK: %[[UPD:.*]] = tensor.insert %[[NEG]] into %[[TM]][%[[I]], %[[J]]] : tensor<?x?xf32>
// CHECK: scf.yield %[[UPD]] : tensor<?x?xf32>
// CHECK: return %[[R]]
func.func @unit_lower_inverse(%a: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = gdn.tile.unit_lower_inverse %a : tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// A static tile keeps its static type.
// CHECK-LABEL: func.func @unit_lower_inverse_static
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: scf.for {{.*}} -> (tensor<16x16xf32>)
// CHECK: tensor.insert {{.*}} : tensor<16x16xf32>
func.func @unit_lower_inverse_static(%a: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %0 = gdn.tile.unit_lower_inverse %a : tensor<16x16xf32>
  return %0 : tensor<16x16xf32>
}

//===----------------------------------------------------------------------===//
// row_scale: x[i, c] * r[i] * factor, all parallel.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @row_scale
// CHECK-SAME: (%[[X:.*]]: tensor<?x128xf32>, %[[R:.*]]: tensor<?xf32>)
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// By r only.
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[I2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[R]] : tensor<?x128xf32>, tensor<?xf32>)
// CHECK-NEXT: ^bb0(%[[XV:.*]]: f32, %[[RV:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[XV]], %[[RV]] : f32
// CHECK-NEXT: linalg.yield %[[P]] : f32
// By a constant only.
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]] : tensor<?x128xf32>)
// CHECK-NEXT: ^bb0(%[[XV2:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[P2:.*]] = arith.mulf %[[XV2]], %[[HALF]] : f32
// CHECK-NEXT: linalg.yield %[[P2]] : f32
// By r and a constant.
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[I2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[R]] : tensor<?x128xf32>, tensor<?xf32>)
// CHECK-NEXT: ^bb0(%[[XV3:.*]]: f32, %[[RV3:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[P3:.*]] = arith.mulf %[[XV3]], %[[RV3]] : f32
// CHECK-NEXT: %[[P4:.*]] = arith.mulf %[[P3]], %[[HALF]] : f32
// CHECK-NEXT: linalg.yield %[[P4]] : f32
// Neither: a copy, no multiplication.
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]] : tensor<?x128xf32>)
// CHECK-NEXT: ^bb0(%[[XV5:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[XV5]] : f32
func.func @row_scale(%x: tensor<?x128xf32>, %r: tensor<?xf32>)
    -> (tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>) {
  %0 = gdn.tile.row_scale %x by %r : tensor<?xf32> : tensor<?x128xf32>
  %1 = gdn.tile.row_scale %x {factor = 0.5 : f32} : tensor<?x128xf32>
  %2 = gdn.tile.row_scale %x by %r : tensor<?xf32> {factor = 0.5 : f32} : tensor<?x128xf32>
  %3 = gdn.tile.row_scale %x : tensor<?x128xf32>
  return %0, %1, %2, %3 : tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>
}

//===----------------------------------------------------------------------===//
// gate_rows: x * exp(G) (to_start) or x * exp(G_n - G) (to_end).
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @gate_rows
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[G:.*]]: tensor<?xf32>, %[[GC:.*]]: tensor<?x64xf32>)
// Scalar gates, to the start: the gate broadcasts over the row.
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[I2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[G]] : tensor<?x64xf32>, tensor<?xf32>)
// CHECK-NEXT: ^bb0(%[[XV:.*]]: f32, %[[GV:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[E:.*]] = math.exp %[[GV]] : f32
// CHECK-NEXT: arith.mulf %[[XV]], %[[E]] : f32
// Scalar gates, to the end: G_n is the last element of the gates.
// CHECK: %[[N:.*]] = tensor.dim %[[G]], %{{.*}} : tensor<?xf32>
// CHECK: %[[LASTI:.*]] = arith.subi %[[N]], %{{.*}} : index
// CHECK: %[[LAST:.*]] = tensor.extract %[[G]][%[[LASTI]]] : tensor<?xf32>
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[I2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[G]] : tensor<?x64xf32>, tensor<?xf32>)
// CHECK-NEXT: ^bb0(%[[XV2:.*]]: f32, %[[GV2:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[D:.*]] = arith.subf %[[LAST]], %[[GV2]] : f32
// CHECK-NEXT: %[[E2:.*]] = math.exp %[[D]] : f32
// CHECK-NEXT: arith.mulf %[[XV2]], %[[E2]] : f32
// Channel gates, to the start: read per channel.
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[IJ2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[GC]] : tensor<?x64xf32>, tensor<?x64xf32>)
// CHECK: math.exp
// Channel gates, to the end: the last row is sliced out and read per channel.
// CHECK: %[[NC:.*]] = tensor.dim %[[GC]], %{{.*}} : tensor<?x64xf32>
// CHECK: %[[LASTC:.*]] = arith.subi %[[NC]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = tensor.extract_slice %[[GC]][%[[LASTC]], 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<64xf32>
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[IJ2]], #[[J2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[GC]], %[[ROW]] : tensor<?x64xf32>, tensor<?x64xf32>, tensor<64xf32>)
// CHECK-NEXT: ^bb0(%[[XV4:.*]]: f32, %[[GV4:.*]]: f32, %[[LV4:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[D4:.*]] = arith.subf %[[LV4]], %[[GV4]] : f32
// CHECK-NEXT: %[[E4:.*]] = math.exp %[[D4]] : f32
// CHECK-NEXT: arith.mulf %[[XV4]], %[[E4]] : f32
func.func @gate_rows(%x: tensor<?x64xf32>, %g: tensor<?xf32>, %gc: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %0 = gdn.tile.gate_rows %x, %g : tensor<?x64xf32>, tensor<?xf32>
  %1 = gdn.tile.gate_rows %x, %g {to_end} : tensor<?x64xf32>, tensor<?xf32>
  %2 = gdn.tile.gate_rows %x, %gc : tensor<?x64xf32>, tensor<?x64xf32>
  %3 = gdn.tile.gate_rows %x, %gc {to_end} : tensor<?x64xf32>, tensor<?x64xf32>
  return %0, %1, %2, %3 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

//===----------------------------------------------------------------------===//
// decay_state: S[c, v] * exp(G_n[c]).
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @decay_state
// CHECK-SAME: (%[[S:.*]]: tensor<64x128xf32>, %[[G:.*]]: tensor<?xf32>, %[[GC:.*]]: tensor<?x64xf32>)
// Scalar gates: one decay for the whole state.
// CHECK: %[[LAST:.*]] = tensor.extract %[[G]][%{{.*}}] : tensor<?xf32>
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[S]] : tensor<64x128xf32>) outs(%{{.*}} : tensor<64x128xf32>)
// CHECK-NEXT: ^bb0(%[[SV:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[E:.*]] = math.exp %[[LAST]] : f32
// CHECK-NEXT: arith.mulf %[[SV]], %[[E]] : f32
// Channel gates: the decay of row c of the state is that of key channel c.
// CHECK: %[[ROW:.*]] = tensor.extract_slice %[[GC]][%{{.*}}, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<64xf32>
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[I2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[S]], %[[ROW]] : tensor<64x128xf32>, tensor<64xf32>) outs(%{{.*}} : tensor<64x128xf32>)
// CHECK-NEXT: ^bb0(%[[SV2:.*]]: f32, %[[GV2:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[E2:.*]] = math.exp %[[GV2]] : f32
// CHECK-NEXT: arith.mulf %[[SV2]], %[[E2]] : f32
func.func @decay_state(%s: tensor<64x128xf32>, %g: tensor<?xf32>, %gc: tensor<?x64xf32>)
    -> (tensor<64x128xf32>, tensor<64x128xf32>) {
  %0 = gdn.tile.decay_state %s, %g : tensor<64x128xf32>, tensor<?xf32>
  %1 = gdn.tile.decay_state %s, %gc : tensor<64x128xf32>, tensor<?x64xf32>
  return %0, %1 : tensor<64x128xf32>, tensor<64x128xf32>
}

//===----------------------------------------------------------------------===//
// matmul: a reduction over the contraction dim, with or without a transposed 'a'.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[T:.*]]: tensor<?x?xf32>, %[[V:.*]]: tensor<?x128xf32>, %[[K:.*]]: tensor<?x64xf32>)
// CHECK: %[[M:.*]] = tensor.dim %[[T]], %{{.*}} : tensor<?x?xf32>
// CHECK: %[[E:.*]] = tensor.empty(%[[M]]) : tensor<?x128xf32>
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<?x128xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[IC]], #[[CJ]], #[[IJ]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[T]], %[[V]] : tensor<?x?xf32>, tensor<?x128xf32>) outs(%[[Z]] : tensor<?x128xf32>)
// CHECK-NEXT: ^bb0(%[[AV:.*]]: f32, %[[BV:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[AV]], %[[BV]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
// transpose_a: 'a' is read as a[k, i].
// CHECK: %[[Z2:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<64x128xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[CI]], #[[CJ]], #[[IJ]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[K]], %[[V]] : tensor<?x64xf32>, tensor<?x128xf32>) outs(%[[Z2]] : tensor<64x128xf32>)
func.func @matmul(%t: tensor<?x?xf32>, %v: tensor<?x128xf32>, %k: tensor<?x64xf32>)
    -> (tensor<?x128xf32>, tensor<64x128xf32>) {
  %0 = gdn.tile.matmul %t, %v : tensor<?x?xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  %1 = gdn.tile.matmul %k, %v {transpose_a} : tensor<?x64xf32>, tensor<?x128xf32> -> tensor<64x128xf32>
  return %0, %1 : tensor<?x128xf32>, tensor<64x128xf32>
}

//===----------------------------------------------------------------------===//
// l2norm_rows: a row reduction of squares, then x / sqrt(sum + 1e-6).
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @l2norm_rows
// CHECK-SAME: (%[[X:.*]]: tensor<?x128xf32>)
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?xf32>)
// CHECK: %[[SQ:.*]] = linalg.generic {indexing_maps = [#[[IJ2]], #[[I2]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x128xf32>) outs(%[[Z]] : tensor<?xf32>)
// CHECK-NEXT: ^bb0(%[[XV:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[X2:.*]] = arith.mulf %[[XV]], %[[XV]] : f32
// CHECK-NEXT: arith.addf %[[ACC]], %[[X2]] : f32
// CHECK: linalg.generic {indexing_maps = [#[[IJ2]], #[[I2]], #[[IJ2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SQ]] : tensor<?x128xf32>, tensor<?xf32>)
// CHECK-NEXT: ^bb0(%[[XV2:.*]]: f32, %[[SV:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[SE:.*]] = arith.addf %[[SV]], %[[EPS]] : f32
// CHECK-NEXT: %[[NORM:.*]] = math.sqrt %[[SE]] : f32
// CHECK-NEXT: %[[Y:.*]] = arith.divf %[[XV2]], %[[NORM]] : f32
// CHECK-NEXT: linalg.yield %[[Y]] : f32
func.func @l2norm_rows(%x: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %0 = gdn.tile.l2norm_rows %x : tensor<?x128xf32>
  return %0 : tensor<?x128xf32>
}


// Row gates: the rows read their own cumulative gates, the columns `gates`: exp(R_i - G_j).
// CHECK-LABEL: func.func @gated_gram_row_gates
// CHECK-SAME: (%[[A:.*]]: tensor<?x64xf32>, %[[G:.*]]: tensor<?x64xf32>, %[[R:.*]]: tensor<?x64xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[IC]], #[[JC]], #[[IC]], #[[JC]], #[[IJ]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[A]], %[[A]], %[[R]], %[[G]] : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>)
// CHECK: arith.subf
// CHECK: math.exp
func.func @gated_gram_row_gates(%a: tensor<?x64xf32>, %g: tensor<?x64xf32>, %r: tensor<?x64xf32>) -> tensor<?x?xf32> {
  %0 = gdn.tile.gated_gram %a, %a gates %g : tensor<?x64xf32> row_gates %r : tensor<?x64xf32> : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}
