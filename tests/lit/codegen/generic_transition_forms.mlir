// The generic fused kernel lowers the two tile forms of the generalized transition
// (docs/design.md §2.5) in a hand-edited tile program: GLA's Q K^T product given row gates from
// an exclusive cumulative sum. No kernel fragment implements that, so the chunked pass falls
// back to the generic kernel (a remark names the op), which builds and assembles to PTX. (Not
// run on a GPU: no GPU test uses these forms yet.)
// RUN: gdn-opt %gdn_src_root/examples/gla.mlir --gdn-chunkwise=chunk-size=16 --gdn-split-chunk-loop | sed -e 's/^\( *\)\(%[0-9]*\) = gdn.tile.cumsum \(%[a-z_0-9]*\) : \(tensor<?x128xf32>\)$/&\n\1%gx = gdn.tile.cumsum \3 {exclusive} : \4/' -e 's/gates \(%[0-9]*\) : tensor<?x128xf32> {diagonal}/gates \1 : tensor<?x128xf32> row_gates %gx : tensor<?x128xf32> {diagonal}/' > %t.mlir
// RUN: FileCheck %s --check-prefix=EDIT < %t.mlir
// RUN: gdn-opt %t.mlir --gdn-chunked-gpu-kernels 2>&1 | FileCheck %s
// RUN: gdn-opt %t.mlir --gdn-to-ptx=kernel=generic | FileCheck %s --check-prefix=PTX

// EDIT: %gx = gdn.tile.cumsum %{{.*}} {exclusive} : tensor<?x128xf32>
// EDIT: gdn.tile.gated_gram %{{.*}}, %{{.*}} gates %{{.*}} : tensor<?x128xf32> row_gates %gx : tensor<?x128xf32> {diagonal}
// CHECK: remark: gdn-chunked-gpu-kernels: no kernel fragment for this gdn.tile.cumsum
// CHECK: gpu.func @gla_generic
// PTX: gpu.binary @gdn
// PTX-SAME: .entry gla_generic
