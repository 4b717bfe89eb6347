// gdn-grid-dependency: every gdn kernel starts with griddepcontrol.wait, before any memory
// access, never signals griddepcontrol.launch_dependents (see the pass's description), and is
// marked gdn.programmatic_launch (the runtime's metadata flag). The named pipelines add the
// pass for sm_90 and later only.
// RUN: gdn-opt %s -split-input-file --gdn-recurrent-gpu-kernels --gdn-grid-dependency | FileCheck %s
// RUN: gdn-opt %s -split-input-file --gdn-recurrent-gpu-kernels --gdn-grid-dependency --gdn-grid-dependency | FileCheck %s --check-prefix=ONCE
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 segments=4" --gdn-grid-dependency | FileCheck %s --check-prefix=CHUNKED
// RUN: gdn-opt %s -split-input-file --gdn-chunked-gpu-kernels="chunk-size=32 v-tile=64 segments=4" --gdn-grid-dependency | grep -c "nvvm.griddepcontrol" | FileCheck %s --check-prefix=FOUR
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=chunked chip=sm_90a chunk-size=32 v-tile=64 segments=4" | FileCheck %s --check-prefix=PTX
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=chunked chip=sm_90a chunk-size=32 v-tile=64 segments=4" | FileCheck %s --check-prefix=NOSIGNAL
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=recurrent chip=sm_80" | FileCheck %s --check-prefix=SM80
// RUN: gdn-opt %s -split-input-file --gdn-to-ptx="kernel=recurrent chip=sm_90a grid-dependency=false" | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: gpu.func @gated_deltanet_recurrent(
// CHECK-SAME: gdn.programmatic_launch
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return

// Applying the pass twice changes nothing.
// ONCE-COUNT-1: nvvm.griddepcontrol
// ONCE-NOT: nvvm.griddepcontrol

// All four kernels of the segmented chunked layer.
// CHUNKED-DAG: gpu.func @gated_deltanet_chunked_prep({{.*}}gdn.programmatic_launch
// CHUNKED-DAG: gpu.func @gated_deltanet_chunked_segments({{.*}}gdn.programmatic_launch
// CHUNKED-DAG: gpu.func @gated_deltanet_chunked_combine({{.*}}gdn.programmatic_launch
// CHUNKED-DAG: gpu.func @gated_deltanet_chunked({{.*}}gdn.programmatic_launch
// FOUR: {{^}}4{{$}}

// In the PTX each kernel reads its parameters, then waits before any memory access.
// PTX: gpu.binary @gdn
// PTX-SAME: .entry gated_deltanet_chunked_prep(
// PTX-NOT: {{ld.global|st.global|cp.async|ld.shared|st.shared}}
// PTX-SAME: griddepcontrol.wait;
// PTX-SAME: .entry gated_deltanet_chunked(
// PTX-NOT: {{ld.global|st.global|cp.async|ld.shared|st.shared}}
// PTX-SAME: griddepcontrol.wait;
// PTX-SAME: .entry gated_deltanet_chunked_segments(
// PTX-NOT: {{ld.global|st.global|cp.async|ld.shared|st.shared}}
// PTX-SAME: griddepcontrol.wait;
// PTX-SAME: .entry gated_deltanet_chunked_combine(
// PTX-NOT: {{ld.global|st.global|cp.async|ld.shared|st.shared}}
// PTX-SAME: griddepcontrol.wait;

// NOSIGNAL-NOT: launch_dependents
// NOSIGNAL: griddepcontrol.wait
// NOSIGNAL-NOT: launch_dependents
// SM80-NOT: griddepcontrol
// SM80: .target sm_80
// SM80-NOT: griddepcontrol
// OFF-NOT: griddepcontrol

func.func @gated_deltanet(%q: tensor<2x300x4x128xbf16>, %k: tensor<2x300x4x128xbf16>,
                          %v: tensor<2x300x4x128xbf16>, %g: tensor<2x300x4xf32>,
                          %beta: tensor<2x300x4xf32>, %s0: tensor<2x4x128x128xf32>)
    -> (tensor<2x300x4x128xbf16>, tensor<2x4x128x128xf32>) {
  %o, %s1 = gdn.recurrence <scalar, delta>
      q(%q : tensor<2x300x4x128xbf16>) k(%k : tensor<2x300x4x128xbf16>)
      v(%v : tensor<2x300x4x128xbf16>) g(%g : tensor<2x300x4xf32>)
      beta(%beta : tensor<2x300x4xf32>) initial_state(%s0 : tensor<2x4x128x128xf32>)
      -> tensor<2x300x4x128xbf16>, tensor<2x4x128x128xf32>
  return %o, %s1 : tensor<2x300x4x128xbf16>, tensor<2x4x128x128xf32>
}
