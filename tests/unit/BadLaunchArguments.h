//===- BadLaunchArguments.h - the bad-argument matrix of the C API -*- C++ -*-===//
//
// Launch arguments for a chunked Gated DeltaNet kernel (H 2, HV 4, K = V = 128, bf16, chunk
// 16, initial and final state, a 320-byte-per-token workspace: tests/gpu's chunked_c16) and
// every kind of bad argument with the message it must give. Shared by the CPU test
// (gdn_metadata_validate) and the GPU test (gdn_kernel_launch on the loaded kernel).
//
//===----------------------------------------------------------------------===//
#ifndef GDN_TESTS_BADLAUNCHARGUMENTS_H
#define GDN_TESTS_BADLAUNCHARGUMENTS_H

#include "gdn/gdn.h"

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace gdn_test {

inline gdn_tensor tensor(uintptr_t address, gdn_dtype dtype, std::vector<int64_t> shape) {
  gdn_tensor t;
  std::memset(&t, 0, sizeof t);
  t.data = reinterpret_cast<const void *>(address);
  t.dtype = dtype;
  t.rank = static_cast<int32_t>(shape.size());
  for (size_t i = 0; i < shape.size(); ++i)
    t.shape[i] = shape[i];
  return t;
}

// Fake, 256-byte aligned device addresses: validation never dereferences them.
inline gdn_layer_args goodArgs(int64_t B = 2, int64_t T = 64, int64_t N = -1) {
  if (N < 0)
    N = B;
  gdn_layer_args a;
  std::memset(&a, 0, sizeof a);
  a.q = tensor(0x10000, GDN_DTYPE_BF16, {B, T, 2, 128});
  a.k = tensor(0x20000, GDN_DTYPE_BF16, {B, T, 2, 128});
  a.v = tensor(0x30000, GDN_DTYPE_BF16, {B, T, 4, 128});
  a.g = tensor(0x40000, GDN_DTYPE_F32, {B, T, 4});
  a.beta = tensor(0x50000, GDN_DTYPE_F32, {B, T, 4});
  a.initial_state = tensor(0x60000, GDN_DTYPE_F32, {N, 4, 128, 128});
  a.o = tensor(0x70000, GDN_DTYPE_BF16, {B, T, 4, 128});
  a.final_state = tensor(0x80000, GDN_DTYPE_F32, {N, 4, 128, 128});
  return a;
}

struct BadCase {
  const char *kind;
  std::function<void(gdn_layer_args &)> mutate;
  std::string message;
};

inline std::vector<BadCase> badLaunchCases(const std::string &kernelName) {
  return {
      {"null q", [](gdn_layer_args &a) { a.q.data = nullptr; }, "'q' is a null pointer"},
      {"null k", [](gdn_layer_args &a) { a.k.data = nullptr; }, "'k' is a null pointer"},
      {"null v", [](gdn_layer_args &a) { a.v.data = nullptr; }, "'v' is a null pointer"},
      {"null g", [](gdn_layer_args &a) { a.g.data = nullptr; }, "'g' is a null pointer"},
      {"null beta", [](gdn_layer_args &a) { a.beta.data = nullptr; }, "'beta' is a null pointer"},
      {"null o", [](gdn_layer_args &a) { a.o.data = nullptr; }, "'o' is a null pointer"},
      {"null initial state", [](gdn_layer_args &a) { a.initial_state.data = nullptr; },
       "'initial_state' is a null pointer"},
      {"null final state", [](gdn_layer_args &a) { a.final_state.data = nullptr; },
       "'final_state' is a null pointer"},
      {"host offsets for a kernel without packed batches",
       [](gdn_layer_args &a) {
         static const int64_t offsets[3] = {0, 64, 128};
         a.cu_seqlens_host = offsets;
       },
       "'cu_seqlens_host' was given, but kernel '" + kernelName + "' takes no cu_seqlens"},
      {"unknown dtype", [](gdn_layer_args &a) { a.v.dtype = static_cast<gdn_dtype>(9); },
       "'v' has an unknown dtype 9"},
      {"rank 0", [](gdn_layer_args &a) { a.k.rank = 0; }, "'k' has rank 0 (1 to 4)"},
      {"rank 5", [](gdn_layer_args &a) { a.g.rank = 5; }, "'g' has rank 5 (1 to 4)"},
      {"q of rank 3", [](gdn_layer_args &a) { a.q.rank = 3; },
       "'q' must have shape [B, T, H, K], got rank 3"},
      {"wrong input dtype", [](gdn_layer_args &a) { a.k.dtype = GDN_DTYPE_F16; },
       "'k' has element type 'f16', the kernel needs 'bf16'"},
      {"wrong gate dtype", [](gdn_layer_args &a) { a.g.dtype = GDN_DTYPE_BF16; },
       "'g' has element type 'bf16', the kernel needs 'f32'"},
      {"bf16 state", [](gdn_layer_args &a) { a.final_state.dtype = GDN_DTYPE_BF16; },
       "'final_state' has element type 'bf16', the kernel needs 'f32'"},
      {"wrong H", [](gdn_layer_args &a) { a.k.shape[2] = 4; },
       "'k' has shape [2, 64, 4, 128], the kernel needs [2, 64, 2, 128]"},
      {"wrong K",
       [](gdn_layer_args &a) {
         a.q.shape[3] = 64;
         a.k.shape[3] = 64;
       },
       "'q' has shape [2, 64, 2, 64], the kernel needs [2, 64, 2, 128]"},
      {"HV not a multiple of H", [](gdn_layer_args &a) { a.v.shape[2] = 3; },
       "'v' has shape [2, 64, 3, 128], the kernel needs [2, 64, 4, 128]"},
      {"wrong V", [](gdn_layer_args &a) { a.o.shape[3] = 64; },
       "'o' has shape [2, 64, 4, 64], the kernel needs [2, 64, 4, 128]"},
      {"T differs between tensors", [](gdn_layer_args &a) { a.beta.shape[1] = 63; },
       "'beta' has shape [2, 63, 4], the kernel needs [2, 64, 4]"},
      {"state of another batch", [](gdn_layer_args &a) { a.initial_state.shape[0] = 3; },
       "'initial_state' has shape [3, 4, 128, 128], the kernel needs [2, 4, 128, 128]"},
      {"T = 0", [](gdn_layer_args &a) { a.q.shape[1] = 0; }, "empty batch: B = 2, T = 0"},
      {"B = 0", [](gdn_layer_args &a) { a.q.shape[0] = 0; }, "empty batch: B = 0, T = 64"},
      {"negative extent", [](gdn_layer_args &a) { a.v.shape[1] = -64; },
       "'v' has a negative extent: shape [2, -64, 4, 128]"},
      {"byte size overflows", [](gdn_layer_args &a) { a.q.shape[1] = int64_t(1) << 61; },
       "'q' is too large: shape [2, 2305843009213693952, 2, 128] overflows a 64-bit byte size"},
      {"misaligned to its element",
       [](gdn_layer_args &a) { a.g.data = reinterpret_cast<const void *>(0x40002); },
       "'g' is misaligned: 262146 is not a multiple of 4 bytes"},
      {"q not 16-byte aligned",
       [](gdn_layer_args &a) { a.q.data = reinterpret_cast<const void *>(0x10008); },
       "'q' must be 16-byte aligned"},
      {"v not 16-byte aligned",
       [](gdn_layer_args &a) { a.v.data = reinterpret_cast<const void *>(0x30008); },
       "'v' must be 16-byte aligned for a chunked kernel"},
      {"not contiguous",
       [](gdn_layer_args &a) {
         a.v.has_strides = 1;
         int64_t strides[4] = {64 * 4 * 256, 4 * 256, 256, 1}; // rows padded to 256
         std::memcpy(a.v.strides, strides, sizeof strides);
       },
       "'v' is not contiguous: strides [65536, 1024, 256, 1] for shape [2, 64, 4, 128]"},
      {"negative stride",
       [](gdn_layer_args &a) {
         a.g.has_strides = 1;
         int64_t strides[3] = {256, 4, -1};
         std::memcpy(a.g.strides, strides, sizeof strides);
       },
       "'g' has a negative stride: strides [256, 4, -1]"},
      {"output aliases an input", [](gdn_layer_args &a) { a.o.data = a.v.data; },
       "'o' aliases input 'v'"},
      {"final state aliases k", [](gdn_layer_args &a) { a.final_state.data = a.k.data; },
       "'final_state' aliases input 'k'"},
      {"cu_seqlens for a kernel without",
       [](gdn_layer_args &a) { a.cu_seqlens = tensor(0x90000, GDN_DTYPE_I64, {3}); },
       "'cu_seqlens' was given, but kernel '" + kernelName + "' takes no cu_seqlens"},
      {"workspace too small",
       [](gdn_layer_args &a) {
         a.workspace = reinterpret_cast<void *>(0xA0000);
         a.workspace_bytes = 1000;
       },
       "'workspace' has 1000 bytes, the launch needs 40960"},
      {"workspace misaligned",
       [](gdn_layer_args &a) {
         a.workspace = reinterpret_cast<void *>(0xA0008);
         a.workspace_bytes = 1 << 20;
       },
       "'workspace' must be 16-byte aligned"},
  };
}

} // namespace gdn_test

#endif // GDN_TESTS_BADLAUNCHARGUMENTS_H
