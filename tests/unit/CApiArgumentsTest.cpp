// Every kind of bad launch argument through the C API (gdn_metadata_validate checks what
// gdn_kernel_launch checks, without a GPU): each refused with GDN_ERROR_INVALID_ARGUMENT and
// its own message. The GPU tests repeat the matrix through gdn_kernel_launch on a loaded kernel.
#include "BadLaunchArguments.h"
#include "gdn/Runtime.h"
#include "gdn/gdn.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

using namespace gdn_test;

// A chunked Gated DeltaNet kernel's record (H 2, HV 4, K = V = 128, bf16, states, workspace).
std::string chunkedMetadata(bool varlen) {
  gdn::KernelMetadata m;
  m.kernelName = "layer_chunked";
  m.layer = "gdn.recurrence";
  m.kind = "chunked";
  m.gate = gdn::GateKind::Scalar;
  m.rule = gdn::UpdateRule::Delta;
  m.H = 2;
  m.HV = 4;
  m.K = 128;
  m.V = 128;
  m.blockSize = 128;
  m.vTile = 64;
  m.chunkSize = 16;
  m.scale = 0.0883883461f;
  m.chip = "sm_90a";
  m.inputType = "bf16";
  m.gType = "f32";
  m.betaType = "f32";
  m.prepKernelName = "layer_chunked_prep";
  m.prepBlockSize = 128;
  m.workspaceTokenBytes = 320;
  m.args = {"q", "k", "v", "g", "beta", "initial_state"};
  if (varlen) {
    m.cuSeqlensType = "i64";
    m.args.push_back("cu_seqlens");
  }
  m.args.insert(m.args.end(), {"o", "final_state", "workspace", "T", "N"});
  return m.serialize();
}

void expectRefused(const std::string &metadata, const std::vector<BadCase> &cases,
                   std::function<gdn_layer_args()> good) {
  gdn_layer_args ok = good();
  ASSERT_EQ(gdn_metadata_validate(metadata.c_str(), &ok), GDN_OK) << gdn_last_error();
  for (const BadCase &c : cases) {
    gdn_layer_args a = good();
    c.mutate(a);
    EXPECT_EQ(gdn_metadata_validate(metadata.c_str(), &a), GDN_ERROR_INVALID_ARGUMENT) << c.kind;
    EXPECT_EQ(std::string(gdn_last_error()), c.message) << c.kind;
  }
}

TEST(CApiArguments, EveryBadArgumentIsRefusedWithItsMessage) {
  std::vector<BadCase> cases = badLaunchCases("layer_chunked");
  EXPECT_GE(cases.size(), 30u);
  expectRefused(chunkedMetadata(false), cases, [] { return goodArgs(); });
}

TEST(CApiArguments, PackedBatchesRefuseBadOffsets) {
  static int64_t offsets[4];
  auto good = [] {
    gdn_layer_args a = goodArgs(1, 100, 3);
    a.cu_seqlens = tensor(0x90000, GDN_DTYPE_I64, {4});
    int64_t cu[4] = {0, 10, 60, 100};
    std::memcpy(offsets, cu, sizeof cu);
    a.cu_seqlens_host = offsets;
    return a;
  };
  auto withOffsets = [](std::vector<int64_t> cu) {
    return [cu](gdn_layer_args &) { std::memcpy(offsets, cu.data(), sizeof offsets); };
  };
  const std::vector<BadCase> cases = {
      {"B > 1",
       [](gdn_layer_args &a) {
         for (gdn_tensor *t : {&a.q, &a.k, &a.v, &a.g, &a.beta, &a.o})
           t->shape[0] = 2;
       },
       "a packed batch (cu_seqlens) needs B = 1, got B = 2"},
      {"no sequences", [](gdn_layer_args &a) { a.cu_seqlens.shape[0] = 1; },
       "'cu_seqlens' must have shape [N + 1] with N >= 1, got [1]"},
      {"missing", [](gdn_layer_args &a) { a.cu_seqlens.data = nullptr; },
       "'cu_seqlens' must have shape [N + 1] with N >= 1, got []"},
      {"i32 offsets", [](gdn_layer_args &a) { a.cu_seqlens.dtype = GDN_DTYPE_I32; },
       "'cu_seqlens' has element type 'i32', the kernel needs 'i64'"},
      {"not starting at 0", withOffsets({5, 10, 60, 100}), "cu_seqlens must start at 0, got 5"},
      {"negative", withOffsets({0, -10, 60, 100}),
       "cu_seqlens offset 1 (-10) is outside [0, T = 100]"},
      {"past T", withOffsets({0, 10, 160, 100}),
       "cu_seqlens offset 2 (160) is outside [0, T = 100]"},
      {"not monotone", withOffsets({0, 60, 10, 100}),
       "cu_seqlens must not decrease: offset 2 (10) < offset 1 (60)"},
      {"not ending at T", withOffsets({0, 10, 60, 90}), "cu_seqlens must end at T = 100, got 90"},
      {"states per sequence", [](gdn_layer_args &a) { a.final_state.shape[0] = 1; },
       "'final_state' has shape [1, 4, 128, 128], the kernel needs [3, 4, 128, 128]"},
  };
  expectRefused(chunkedMetadata(true), cases, good);
  // Empty sequences are valid.
  gdn_layer_args a = good();
  int64_t empty[4] = {0, 0, 100, 100};
  std::memcpy(offsets, empty, sizeof empty);
  EXPECT_EQ(gdn_metadata_validate(chunkedMetadata(true).c_str(), &a), GDN_OK) << gdn_last_error();
}

TEST(CApiArguments, NullsAndBadRecords) {
  gdn_layer_args a = goodArgs();
  EXPECT_EQ(gdn_metadata_validate(nullptr, &a), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "gdn_metadata_validate: metadata is NULL");
  EXPECT_EQ(gdn_metadata_validate(chunkedMetadata(false).c_str(), nullptr),
            GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "args is NULL");
  EXPECT_EQ(gdn_metadata_validate("kernel: k\nK: 12x\n", &a), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "metadata line 2: 'K' needs an integer, got '12x'");
  EXPECT_EQ(gdn_kernel_validate(nullptr, &a), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "gdn_kernel_validate: kernel is NULL");
  EXPECT_STREQ(gdn_kernel_metadata(nullptr), "");
  gdn_kernel_destroy(nullptr); // a no-op
}

// The segments a launch asks for: within the kernel's most (here none: no segmented pass).
TEST(CApiArguments, SegmentsBeyondTheKernelsAreRefused) {
  gdn_layer_args a = goodArgs();
  for (int64_t ok : {0, 1}) {
    a.segments = ok;
    EXPECT_EQ(gdn_metadata_validate(chunkedMetadata(false).c_str(), &a), GDN_OK)
        << gdn_last_error();
  }
  a.segments = 4;
  EXPECT_EQ(gdn_metadata_validate(chunkedMetadata(false).c_str(), &a), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "segments = 4 must be in 0..1 (0: the kernel's choice; this "
                                 "kernel has no segmented state pass)");
}

// A record whose workspace size overflows for a launch is refused, not wrapped around.
TEST(CApiArguments, WorkspaceSizesThatOverflowAreRefused) {
  gdn::KernelMetadata m;
  ASSERT_TRUE(gdn::KernelMetadata::parse(chunkedMetadata(false), m).isOk());
  m.workspaceTokenBytes = int64_t(1) << 60;
  std::string record = m.serialize();
  gdn_layer_args a = goodArgs();
  EXPECT_EQ(gdn_metadata_validate(record.c_str(), &a), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "the workspace size overflows: B = 2, T = 64, N = 2 at "
                                 "1152921504606846976 bytes per token");
  EXPECT_EQ(m.workspaceBytes(2, 64, 2), SIZE_MAX);
}

TEST(CApiArguments, VersionMatchesTheHeaders) { EXPECT_STREQ(gdn_version(), GDN_VERSION_STRING); }

} // namespace
