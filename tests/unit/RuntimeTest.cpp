// The runtime without a GPU: metadata records, launch validation, the no-driver error, and
// the C API's argument checks.
#include "gdn/Runtime.h"
#include "gdn/DeviceLayer.h"
#include "gdn/gdn.h"

#include "GroupingLocale.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

using namespace gdn;

namespace {

KernelMetadata gatedDeltaNet(bool varlen = false) {
  KernelMetadata m;
  m.kernelName = "layer_recurrent";
  m.layer = "gdn.recurrence";
  m.gate = GateKind::Scalar;
  m.rule = UpdateRule::Delta;
  m.H = 2;
  m.HV = 4;
  m.K = 64;
  m.V = 128;
  m.blockSize = 64;
  m.vTile = 64;
  m.scale = 0.125f;
  m.qkL2norm = true;
  m.chip = "sm_90a";
  m.inputType = "bf16";
  m.gType = "f32";
  m.betaType = "f32";
  if (varlen)
    m.cuSeqlensType = "i64";
  m.args = {"q", "k", "v", "g", "beta", "initial_state"};
  if (varlen)
    m.args.push_back("cu_seqlens");
  m.args.insert(m.args.end(), {"o", "final_state", "T"});
  return m;
}

// Fake, suitably aligned device addresses: validation never dereferences them.
const void *at(uintptr_t a) { return reinterpret_cast<const void *>(a); }

LayerLaunch goodLaunch(int64_t B = 2, int64_t T = 10) {
  LayerLaunch l;
  l.q = {at(0x1000), "bf16", {B, T, 2, 64}, {}};
  l.k = {at(0x2000), "bf16", {B, T, 2, 64}, {}};
  l.v = {at(0x3000), "bf16", {B, T, 4, 128}, {}};
  l.g = {at(0x4000), "f32", {B, T, 4}, {}};
  l.beta = {at(0x5000), "f32", {B, T, 4}, {}};
  l.initialState = {at(0x6000), "f32", {B, 4, 64, 128}, {}};
  l.o = {at(0x7000), "bf16", {B, T, 4, 128}, {}};
  l.finalState = {at(0x8000), "f32", {B, 4, 64, 128}, {}};
  return l;
}

TEST(KernelMetadata, RoundTripsThroughItsTextForm) {
  KernelMetadata m = gatedDeltaNet(true), parsed;
  ASSERT_TRUE(KernelMetadata::parse(m.serialize(), parsed).isOk());
  EXPECT_EQ(parsed.serialize(), m.serialize());
  EXPECT_TRUE(parsed.isVarlen());
  EXPECT_TRUE(parsed.hasArg("cu_seqlens"));
}

// gdn-grid-dependency's flag: written only when set, read back, and only 0 or 1.
TEST(KernelMetadata, ProgrammaticLaunchFlagRoundTrips) {
  KernelMetadata m = gatedDeltaNet(), parsed;
  EXPECT_EQ(m.serialize().find("programmatic_launch"), std::string::npos);
  m.programmaticLaunch = true;
  std::string text = m.serialize();
  EXPECT_NE(text.find("\nprogrammatic_launch: 1\n"), std::string::npos);
  ASSERT_TRUE(KernelMetadata::parse(text, parsed).isOk());
  EXPECT_TRUE(parsed.programmaticLaunch);
  EXPECT_EQ(parsed.serialize(), text);
  text.replace(text.find("programmatic_launch: 1"), 22, "programmatic_launch: 0");
  ASSERT_TRUE(KernelMetadata::parse(text, parsed).isOk());
  EXPECT_FALSE(parsed.programmaticLaunch);
  size_t line = std::count(text.begin(), text.begin() + text.find("programmatic_launch"), '\n') + 1;
  text.replace(text.find("programmatic_launch: 0"), 22, "programmatic_launch: 2");
  EXPECT_EQ(KernelMetadata::parse(text, parsed).message,
            "metadata line " + std::to_string(line) +
                ": 'programmatic_launch' must be 0 or 1, got '2'");
}

// Under a host's global locale that groups digits and uses a decimal comma (a Python process
// with torch loaded broke the first number of the record, dropping every line after it), the
// record still reads and writes plain numbers.
TEST(KernelMetadata, TextIgnoresTheGlobalLocale) {
  KernelMetadata m = gatedDeltaNet(), parsed;
  m.sharedMemoryBytes = 44544;
  m.scale = 0.125f;
  m.programmaticLaunch = true;
  std::string classic = m.serialize();
  {
    gdn::test_support::GroupingLocaleGuard hostile;
    std::ostringstream probe; // the guard does change what a plain stream writes
    probe << int64_t(44544);
    ASSERT_EQ(probe.str(), "44,544");
    std::string text = m.serialize();
    EXPECT_EQ(text, classic);
    EXPECT_NE(text.find("\nshared_memory_bytes: 44544\n"), std::string::npos);
    EXPECT_NE(text.find("\nscale: 0.125\n"), std::string::npos);
    ASSERT_TRUE(KernelMetadata::parse(text, parsed).isOk());
    EXPECT_EQ(parsed.sharedMemoryBytes, 44544);
    EXPECT_EQ(parsed.scale, 0.125f);
    EXPECT_TRUE(parsed.programmaticLaunch);
    std::string comma = text;
    comma.replace(comma.find("scale: 0.125"), 12, "scale: 0,125");
    std::string message = KernelMetadata::parse(comma, parsed).message;
    EXPECT_NE(message.find("'scale' needs a number, got '0,125'"), std::string::npos) << message;
  }
}

// A chunked layer: a prep kernel, a workspace, and the N argument.
KernelMetadata chunkedGatedDeltaNet() {
  KernelMetadata m = gatedDeltaNet();
  m.kernelName = "layer_chunked";
  m.kind = "chunked";
  m.blockSize = 256;
  m.vTile = 32;
  m.chunkSize = 32;
  m.prepKernelName = "layer_chunked_prep";
  m.prepBlockSize = 256;
  m.prepSharedMemoryBytes = 22272;
  m.workspaceTokenBytes = 1000;
  m.args = {"q", "k", "v", "g", "beta", "initial_state", "o", "final_state", "workspace", "T", "N"};
  return m;
}

TEST(KernelMetadata, ChunkedRecordsCarryThePrepKernelAndWorkspace) {
  KernelMetadata m = chunkedGatedDeltaNet(), parsed;
  ASSERT_TRUE(KernelMetadata::parse(m.serialize(), parsed).isOk());
  EXPECT_EQ(parsed.serialize(), m.serialize());
  EXPECT_EQ(parsed.prepKernelName, "layer_chunked_prep");
  EXPECT_EQ(parsed.workspaceBytes(2, 10, 2), 20000u);
  EXPECT_EQ(gatedDeltaNet().workspaceBytes(2, 10, 2), 0u);

  std::string text = m.serialize();
  text.replace(text.find(" workspace T N"), 14, " T");
  EXPECT_EQ(KernelMetadata::parse(text, parsed).message,
            "metadata with workspace bytes needs a prep_kernel and the arguments "
            "'workspace' and 'N' (and only then)");
  text = m.serialize();
  text.replace(text.find("prep_block_size: 256"), 20, "prep_block_size: 0");
  EXPECT_EQ(KernelMetadata::parse(text, parsed).message,
            "metadata prep_block_size 0 must be in 1..1024");
  text = m.serialize();
  text.replace(text.find("workspace_token_bytes: 1000"), 27, "workspace_token_bytes: -1");
  EXPECT_EQ(KernelMetadata::parse(text, parsed).message,
            "metadata workspace_token_bytes, workspace_sequence_bytes and "
            "prep_shared_memory_bytes must not be negative");
  // Bytes per sequence come after the per-token bytes, round trip and count per sequence.
  KernelMetadata padded = m;
  padded.workspaceSequenceBytes = 300;
  ASSERT_TRUE(KernelMetadata::parse(padded.serialize(), parsed).isOk());
  EXPECT_EQ(parsed.workspaceSequenceBytes, 300);
  EXPECT_EQ(parsed.workspaceBytes(2, 10, 2), 20600u);
  text = m.serialize();
  text.replace(text.find("chunk_size: 32"), 14, "chunk_size: 0");
  EXPECT_EQ(KernelMetadata::parse(text, parsed).message,
            "metadata with a prep_kernel needs chunk_size > 0");
  text.replace(text.find("chunk_size: 0"), 13, "chunk_size: -4");
  EXPECT_EQ(KernelMetadata::parse(text, parsed).message,
            "metadata chunk_size must not be negative");
  text = m.serialize();
  text.replace(text.find(" T N"), 4, " N");
  EXPECT_EQ(KernelMetadata::parse(text, parsed).message, "metadata args must include T");
}

// The segmented state pass: two more kernels, per-sequence workspace, and a `segments`
// argument (the launch's count).
KernelMetadata segmentedGatedDeltaNet() {
  KernelMetadata m = chunkedGatedDeltaNet();
  m.segments = 8;
  m.segmentsAuto = true;
  m.segmentKernelName = "layer_chunked_segments";
  m.combineKernelName = "layer_chunked_combine";
  m.combineBlocks = 16;
  m.combineBlockSize = 128;
  m.combineSharedMemoryBytes = 4096;
  m.args.push_back("segments");
  return m;
}

TEST(KernelMetadata, SegmentedRecordsCarryTheirKernelsAndSequenceWorkspace) {
  KernelMetadata m = segmentedGatedDeltaNet(), parsed;
  ASSERT_TRUE(KernelMetadata::parse(m.serialize(), parsed).isOk());
  EXPECT_EQ(parsed.serialize(), m.serialize());
  EXPECT_EQ(parsed.segmentKernelName, "layer_chunked_segments");
  EXPECT_TRUE(parsed.segmentsAuto);
  // Per sequence for P segments: HV (P - 1) K V + HV (P - 2) K K floats.
  const size_t e = 4 * m.HV * m.K * m.V, mk = 4 * m.HV * m.K * m.K;
  EXPECT_EQ(parsed.workspaceBytes(2, 10, 2), 20000u) << "one segment: per token only";
  EXPECT_EQ(parsed.workspaceBytes(2, 10, 2, 2), 20000u + 2 * e) << "per token and per sequence";
  EXPECT_EQ(parsed.workspaceBytes(1, 20, 3, 4), 20000u + 3 * (3 * e + 2 * mk))
      << "a packed batch of 3, 4 segments";
  // K = 64, V = 128, V tile 32: 4 V tiles for segments 0 .. P-2, 2 K tiles for 1 .. P-2.
  EXPECT_EQ(parsed.segmentStateBlocks(2), 4);
  EXPECT_EQ(parsed.segmentStateBlocks(4), 4 * 3 + 2 * 2);

  // The parse error of m's record with its first `from` replaced by `to`.
  auto parseEdited = [&](const std::string &from, const std::string &to) {
    std::string text = m.serialize();
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    return KernelMetadata::parse(text, parsed).message;
  };
  EXPECT_EQ(parseEdited("segments: 8", "segments: 65"), "metadata segments 65 must be in 1..64");
  EXPECT_EQ(parseEdited("segments_auto: 1", "segments_auto: 2"),
            "metadata line 26: 'segments_auto' must be 0 or 1, got '2'");
  const std::string needs =
      "metadata with segments > 1 needs segment_kernel, combine_kernel, combine_blocks > 0, "
      "combine_block_size in 1..1024, a workspace, the argument 'segments' and a v_tile "
      "dividing K";
  EXPECT_EQ(parseEdited("combine_blocks: 16", "combine_blocks: 0"), needs);
  EXPECT_EQ(parseEdited("v_tile: 32", "v_tile: 128"), needs) << "V tiles must also tile K";
  EXPECT_EQ(parseEdited(" N segments", " N"), needs) << "the launch's count is an argument";
  std::string packed = m.serialize();
  packed.replace(packed.find("cu_seqlens_type: "), 17, "cu_seqlens_type: i32");
  EXPECT_TRUE(KernelMetadata::parse(packed, parsed).isOk()) << "packed batches segment too";
  EXPECT_TRUE(parsed.isVarlen());
  EXPECT_EQ(parseEdited("segments: 8", "segments: 1"),
            "metadata names segment kernels, segments_auto or the argument 'segments' without "
            "segments > 1");
}

// How many segments a launch runs: the largest power of two (up to the kernel's most) whose
// state-pass blocks fit one wave, with at least kMinChunksPerSegment chunks per segment.
TEST(SegmentsFor, SplitsFewStreamsIntoOneWaveAndKeepsSegmentsLong) {
  KernelMetadata m = segmentedGatedDeltaNet(); // HV 32, V 128, V tile 32: 4 blocks per head
  m.HV = 8;
  m.H = 2;
  m.vTile = 64; // 2 V tiles: 16 streams for one sequence
  const int64_t sms = 132, chunk = 32;
  EXPECT_EQ(segmentsFor(m, 1, 65536, sms), 8) << "16 streams x 8 = 128 blocks <= 132";
  EXPECT_EQ(segmentsFor(m, 1, 2048, sms), 4) << "64 chunks: 16 per segment at most 4";
  EXPECT_EQ(segmentsFor(m, 1, (2 * kMinChunksPerSegment - 1) * chunk, sms), 1)
      << "too short to split";
  EXPECT_EQ(segmentsFor(m, 2, 2 * 65536, sms), 4) << "32 streams: 8 segments lost 3% to 4";
  EXPECT_EQ(segmentsFor(m, 16, 16 * 4096, sms), 1) << "256 streams fill the GPU";
  EXPECT_EQ(segmentsFor(m, 1, 65536, 0), 1) << "no SM count: no split";
  m.HV = 16;
  m.H = 16;
  EXPECT_EQ(segmentsFor(m, 1, 8192, sms), 4) << "B1 T8192 H16, as tuned on the H100";
  m.HV = 32;
  EXPECT_EQ(segmentsFor(m, 1, 32768, sms), 2)
      << "B1 T32768 H32: 64 streams, one wave (H100, 3 stages: 1.186 ms against 1.309 at 4)";
  EXPECT_EQ(segmentsFor(m, 2, 2 * 32768, sms), 1) << "128 streams: one segment";
  m.segments = 4;
  m.HV = 2;
  EXPECT_EQ(segmentsFor(m, 1, 65536, sms), 4) << "never more than the kernel's most";
  m.segmentsAuto = false;
  EXPECT_EQ(segmentsFor(m, 64, 64 * 4096, sms), 4) << "fixed: every launch runs them";
  EXPECT_EQ(segmentsFor(chunkedGatedDeltaNet(), 1, 65536, sms), 1) << "no segmented pass";
}

TEST(ValidateLaunch, TheLaunchsSegmentsAreWithinTheKernels) {
  KernelMetadata m = segmentedGatedDeltaNet();
  LayerLaunch l = goodLaunch(2, 10);
  for (int64_t p : {0, 1, 3, 8}) {
    l.segments = p;
    EXPECT_TRUE(validateLaunch(m, l).isOk()) << p;
  }
  l.segments = 9;
  EXPECT_EQ(validateLaunch(m, l).message, "segments = 9 must be in 0..8 (0: the kernel's choice)");
  l.segments = -1;
  EXPECT_EQ(validateLaunch(m, l).message, "segments = -1 must be in 0..8 (0: the kernel's choice)");
  l.segments = 2;
  EXPECT_EQ(validateLaunch(chunkedGatedDeltaNet(), l).message,
            "segments = 2 must be in 0..1 (0: the kernel's choice; this kernel has no segmented "
            "state pass)");
}

TEST(ValidateLaunch, ChecksTheWorkspaceAndChunkedAlignment) {
  KernelMetadata m = chunkedGatedDeltaNet();
  LayerLaunch l = goodLaunch(2, 10);
  EXPECT_TRUE(validateLaunch(m, l).isOk()) << "no workspace: the kernel's own is used";
  l.workspace = const_cast<void *>(at(0x10000));
  l.workspaceBytes = 20000;
  EXPECT_TRUE(validateLaunch(m, l).isOk());
  l.workspaceBytes = 19999;
  EXPECT_EQ(validateLaunch(m, l).message, "'workspace' has 19999 bytes, the launch needs 20000");
  l.workspaceBytes = 20000;
  l.workspace = const_cast<void *>(at(0x10008));
  EXPECT_EQ(validateLaunch(m, l).message, "'workspace' must be 16-byte aligned");
  l = goodLaunch(2, 10);
  l.k.data = at(0x2002);
  EXPECT_EQ(validateLaunch(m, l).message, "'k' must be 16-byte aligned");
  l = goodLaunch(2, 10);
  l.o.data = at(0x7008);
  EXPECT_EQ(validateLaunch(m, l).message, "'o' must be 16-byte aligned for a chunked kernel");
  l = goodLaunch(2, 10);
  l.workspace = const_cast<void *>(at(0x10000));
  l.workspaceBytes = 64;
  EXPECT_EQ(validateLaunch(gatedDeltaNet(), l).message,
            "'workspace' was given, but kernel 'layer_recurrent' needs none");
  // More chunks than a grid dimension holds: B x ceil(T / 32) > 2^31 - 1.
  int64_t T = int64_t(1) << 36;
  l = goodLaunch(2, T);
  EXPECT_EQ(validateLaunch(m, l).message,
            "grid too large: " + std::to_string(2 * (T / 32)) + " chunks for the prep kernel");
}

TEST(KernelMetadata, VTileDefaultsToTheBlockSize) {
  std::string text = gatedDeltaNet().serialize();
  text.erase(text.find("v_tile: 64\n"), 11);
  KernelMetadata parsed;
  ASSERT_TRUE(KernelMetadata::parse(text, parsed).isOk());
  EXPECT_EQ(parsed.vTile, 64);
  text.replace(text.find("block_size: 64"), 14, "block_size: 48");
  EXPECT_EQ(KernelMetadata::parse(text, parsed).message, "metadata v_tile 48 must divide V = 128");
}

TEST(KernelMetadata, BadRecordsNameTheLine) {
  KernelMetadata out;
  Status s = KernelMetadata::parse("kernel: k\nH: two\n", out);
  EXPECT_EQ(s.message, "metadata line 2: 'H' needs an integer, got 'two'");
  s = KernelMetadata::parse("kernel: k\ngate: vector\n", out);
  EXPECT_EQ(s.message, "metadata line 2: unknown gate 'vector'");
  s = KernelMetadata::parse("kernel k\n", out);
  EXPECT_EQ(s.message, "metadata line 1: expected 'key: value', got 'kernel k'");
  s = KernelMetadata::parse("H: 2\n", out);
  EXPECT_EQ(s.message, "metadata has no 'kernel' name");
  std::string text = gatedDeltaNet().serialize();
  text.replace(text.find("HV: 4"), 5, "HV: 3");
  s = KernelMetadata::parse(text, out);
  EXPECT_EQ(s.message, "metadata has inconsistent head geometry H=2 HV=3 K=64 V=128");
}

TEST(ElementBytes, EncodeAndDecodeEveryType) {
  std::vector<float> values = {1.0f, -2.5f, 0.1f, 65504.0f};
  for (const char *type : {"f32", "bf16", "f16"}) {
    std::vector<unsigned char> bytes = encodeElements(values, type);
    EXPECT_EQ(bytes.size(), values.size() * elementBytes(type));
    std::vector<float> back = decodeElements(bytes, type);
    ASSERT_EQ(back.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i)
      EXPECT_EQ(back[i], roundTo(std::string(type) == "bf16"  ? ElementType::BF16
                                 : std::string(type) == "f16" ? ElementType::F16
                                                              : ElementType::F32,
                                 values[i]))
          << type << " " << i;
  }
  std::vector<int64_t> offsets = {0, 5, 70000, 1ll << 33};
  std::vector<unsigned char> i64 = encodeIndices(offsets, "i64");
  ASSERT_EQ(i64.size(), 32u);
  int64_t last;
  std::memcpy(&last, i64.data() + 24, 8);
  EXPECT_EQ(last, 1ll << 33);
  std::vector<unsigned char> i32 = encodeIndices({0, 5, 70000}, "i32");
  ASSERT_EQ(i32.size(), 12u);
  int32_t third;
  std::memcpy(&third, i32.data() + 8, 4);
  EXPECT_EQ(third, 70000);
}

TEST(ValidateLaunch, AcceptsAGoodLaunch) {
  Status s = validateLaunch(gatedDeltaNet(), goodLaunch());
  EXPECT_TRUE(s.isOk()) << s.message;
}

TEST(ValidateLaunch, FinalStateMayUpdateTheInitialStateInPlace) {
  LayerLaunch l = goodLaunch();
  l.finalState.data = l.initialState.data;
  EXPECT_TRUE(validateLaunch(gatedDeltaNet(), l).isOk());
}

TEST(ValidateLaunch, RejectsEachBadArgument) {
  KernelMetadata m = gatedDeltaNet();
  auto expectError = [&](LayerLaunch l, const std::string &message) {
    Status s = validateLaunch(m, l);
    EXPECT_EQ(s.code, Status::Code::InvalidArgument);
    EXPECT_EQ(s.message, message);
  };
  LayerLaunch l = goodLaunch();
  l.k.data = nullptr;
  expectError(l, "'k' is a null pointer");
  l = goodLaunch();
  l.v.data = at(0x3001);
  expectError(l, "'v' is misaligned: 12289 is not a multiple of 2 bytes");
  // The recurrent kernel reads q and k rows 16 bytes at a time; v needs only its element size.
  l = goodLaunch();
  l.q.data = at(0x1008);
  expectError(l, "'q' must be 16-byte aligned");
  l = goodLaunch();
  l.finalState.data = at(0x8004);
  expectError(l, "'final_state' must be 16-byte aligned");
  l = goodLaunch();
  l.v.data = at(0x3008);
  EXPECT_TRUE(validateLaunch(gatedDeltaNet(), l).isOk());
  l = goodLaunch();
  l.g.elementType = "bf16";
  expectError(l, "'g' has element type 'bf16', the kernel needs 'f32'");
  l = goodLaunch();
  l.v.shape[2] = 2;
  expectError(l, "'v' has shape [2, 10, 2, 128], the kernel needs [2, 10, 4, 128]");
  l = goodLaunch();
  l.beta.shape[1] = 9;
  expectError(l, "'beta' has shape [2, 9, 4], the kernel needs [2, 10, 4]");
  l = goodLaunch();
  l.q.strides = {1280, 128, 64, 2};
  expectError(l, "'q' is not contiguous: strides [1280, 128, 64, 2] for shape [2, 10, 2, 64]");
  l = goodLaunch();
  l.cuSeqlens = {at(0x9000), "i64", {3}, {}};
  expectError(l, "'cu_seqlens' was given, but kernel 'layer_recurrent' takes no cu_seqlens");
  l = goodLaunch();
  l.o.data = l.v.data;
  expectError(l, "'o' aliases input 'v'");
  l = goodLaunch(2, 0);
  expectError(l, "empty batch: B = 2, T = 0");
  l = goodLaunch();
  l.q.shape = {2, 10, 128};
  expectError(l, "'q' must have shape [B, T, H, K], got rank 3");
  l = goodLaunch();
  l.initialState.shape[0] = 3;
  expectError(l, "'initial_state' has shape [3, 4, 64, 128], the kernel needs [2, 4, 64, 128]");
}

TEST(ValidateLaunch, PackedBatches) {
  KernelMetadata m = gatedDeltaNet(true);
  LayerLaunch l = goodLaunch(1, 10);
  l.cuSeqlens = {at(0x9000), "i64", {4}, {}};
  l.initialState.shape[0] = 3;
  l.finalState.shape[0] = 3;
  int64_t cu[] = {0, 0, 4, 10};
  l.cuSeqlensHost = cu;
  EXPECT_TRUE(validateLaunch(m, l).isOk()) << validateLaunch(m, l).message;
  int64_t decreasing[] = {0, 5, 4, 10};
  l.cuSeqlensHost = decreasing;
  EXPECT_EQ(validateLaunch(m, l).message,
            "cu_seqlens must not decrease: offset 2 (4) < offset 1 (5)");
  int64_t short_[] = {0, 1, 4, 9};
  l.cuSeqlensHost = short_;
  EXPECT_EQ(validateLaunch(m, l).message, "cu_seqlens must end at T = 10, got 9");
  int64_t late[] = {1, 1, 4, 10};
  l.cuSeqlensHost = late;
  EXPECT_EQ(validateLaunch(m, l).message, "cu_seqlens must start at 0, got 1");
  l.cuSeqlensHost = cu;
  l.cuSeqlens.elementType = "i32";
  EXPECT_EQ(validateLaunch(m, l).message,
            "'cu_seqlens' has element type 'i32', the kernel needs 'i64'");
  LayerLaunch b2 = goodLaunch(2, 10);
  b2.cuSeqlens = {at(0x9000), "i64", {4}, {}};
  EXPECT_EQ(validateLaunch(m, b2).message, "a packed batch (cu_seqlens) needs B = 1, got B = 2");
}

TEST(Driver, MissingDriverIsAClearError) {
  // Run in a child so the process-wide driver of other tests is unaffected.
  ASSERT_EXIT(
      {
        setenv("GDN_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
        Driver *driver = nullptr;
        Status s = Driver::get(driver);
        bool ok = s.code == Status::Code::NoDriver && driver == nullptr &&
                  s.message.find("no CUDA driver: cannot open /nonexistent/libcuda.so.1") == 0;
        gdn_kernel *k = nullptr;
        gdn_status c = gdn_kernel_load_image("x", 1, gatedDeltaNet().serialize().c_str(), &k);
        ok = ok && c == GDN_ERROR_NO_DRIVER && k == nullptr &&
             std::string(gdn_last_error()).find("no CUDA driver") == 0;
        std::exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(CApi, RejectsNullsAndBadMetadata) {
  gdn_kernel *k = nullptr;
  EXPECT_EQ(gdn_kernel_load(nullptr, &k), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "gdn_kernel_load: prefix and out must not be NULL");
  EXPECT_EQ(gdn_kernel_load_image("x", 1, "kernel: k\nH: x\n", &k), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "metadata line 2: 'H' needs an integer, got 'x'");
  EXPECT_EQ(gdn_kernel_launch(nullptr, nullptr, nullptr), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "gdn_kernel_launch: kernel is NULL");
  size_t bytes = 1;
  EXPECT_EQ(gdn_kernel_workspace_size(nullptr, nullptr, &bytes), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "gdn_kernel_workspace_size: kernel and bytes must not be NULL");
  EXPECT_EQ(gdn_kernel_set_programmatic_launch(nullptr, 1), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "gdn_kernel_set_programmatic_launch: kernel is NULL");
  EXPECT_EQ(gdn_kernel_load("/nonexistent/kernel", &k), GDN_ERROR_IO);
  EXPECT_STREQ(gdn_last_error(), "cannot open /nonexistent/kernel.meta");
  EXPECT_EQ(k, nullptr);
}

} // namespace
