// gdn::jit without a GPU: compiling to artifacts, the memory and disk caches (hits, corrupt
// entries, concurrent compiles), cache keys, layer descriptions, errors, the C API.
#include "gdn/Codegen/Jit.h"
#include "gdn/Codegen/GpuCompiler.h"
#include "gdn/Codegen/Pipelines.h"
#include "gdn/Codegen/Tune.h"
#include "gdn/Codegen/gdn_jit.h"

#include "GroupingLocale.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <tuple>

using namespace gdn;
namespace fs = std::filesystem;

namespace {

class JitTest : public testing::Test {
protected:
  void SetUp() override {
    dir =
        fs::temp_directory_path() / ("gdn-jit-test-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    options.cacheDir = dir.string();
    jit::clearMemoryCache();
  }
  void TearDown() override { fs::remove_all(dir); }

  jit::CacheOutcome compileOnce(const std::string &source) {
    KernelMetadata meta;
    std::string ptx;
    std::vector<char> cubin;
    jit::CacheOutcome outcome;
    Status s = jit::compileArtifact(source, options, meta, ptx, cubin, &outcome);
    EXPECT_TRUE(s.isOk()) << s.message;
    EXPECT_NE(ptx.find(".entry " + meta.kernelName), std::string::npos);
    return outcome;
  }

  fs::path dir;
  jit::Options options;
};

// A host that sets a global C++ locale with digit grouping and a decimal comma (as a Python
// process with torch loaded effectively did) must not change the layer text, the cache key or
// the compiled kernel's metadata.
TEST_F(JitTest, LayerTextKeysAndMetadataIgnoreTheGlobalLocale) {
  jit::LayerDescription layer;
  layer.H = 2;
  layer.HV = 4;
  layer.scale = 0.0625f;
  std::string classic = layer.toMlir();
  std::string key = jit::cacheKey(classic, options);
  ASSERT_NE(classic.find("scale = 0.0625 : f32"), std::string::npos) << classic;
  gdn::test_support::GroupingLocaleGuard hostile;
  EXPECT_EQ(layer.toMlir(), classic);
  EXPECT_EQ(jit::cacheKey(classic, options), key);
  GpuArtifact artifact;
  std::string error;
  GpuCompileOptions compile;
  ASSERT_TRUE(compileLayerForGpu(classic, "layer.mlir", compile, artifact, error)) << error;
  std::string meta = artifact.metadata.serialize();
  EXPECT_NE(meta.find("\nscale: 0.0625\n"), std::string::npos) << meta;
  EXPECT_NE(meta.find("\nshared_memory_bytes: " +
                      std::to_string(artifact.metadata.sharedMemoryBytes) + "\n"),
            std::string::npos)
      << meta;
}

TEST_F(JitTest, CompilesThenHitsMemoryThenDisk) {
  jit::LayerDescription layer;
  layer.H = 2;
  layer.HV = 4;
  std::string source = layer.toMlir();
  EXPECT_EQ(compileOnce(source), jit::CacheOutcome::Compiled);
  EXPECT_EQ(compileOnce(source), jit::CacheOutcome::MemoryHit);
  jit::clearMemoryCache();
  EXPECT_EQ(compileOnce(source), jit::CacheOutcome::DiskHit);
  std::string key = jit::cacheKey(source, options);
  EXPECT_TRUE(fs::exists(dir / (key + ".gdnk")));
  // No temporary files are left behind.
  for (auto &entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos);
}

TEST_F(JitTest, CorruptDiskEntryIsRebuilt) {
  jit::LayerDescription layer;
  layer.H = 2;
  layer.HV = 2;
  std::string source = layer.toMlir();
  EXPECT_EQ(compileOnce(source), jit::CacheOutcome::Compiled);
  std::string key = jit::cacheKey(source, options);
  std::ofstream(dir / (key + ".gdnk"), std::ios::trunc) << "garbage";
  jit::clearMemoryCache();
  testing::internal::CaptureStderr();
  EXPECT_EQ(compileOnce(source), jit::CacheOutcome::Compiled);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("ignoring a corrupt cache entry"),
            std::string::npos);
  jit::clearMemoryCache();
  EXPECT_EQ(compileOnce(source), jit::CacheOutcome::DiskHit);
}

TEST_F(JitTest, ConcurrentCompilesOfOneLayerAgree) {
  jit::LayerDescription layer;
  layer.gate = GateKind::Channel;
  layer.H = 1;
  layer.HV = 1;
  std::string source = layer.toMlir();
  std::vector<std::thread> threads;
  std::vector<std::string> ptx(4);
  std::vector<jit::CacheOutcome> outcomes(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      KernelMetadata meta;
      std::vector<char> cubin;
      Status s = jit::compileArtifact(source, options, meta, ptx[i], cubin, &outcomes[i]);
      EXPECT_TRUE(s.isOk()) << s.message;
    });
  for (auto &t : threads)
    t.join();
  for (int i = 1; i < 4; ++i)
    EXPECT_EQ(ptx[i], ptx[0]);
  // One thread compiled; the others waited for it and hit the memory cache.
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), jit::CacheOutcome::Compiled), 1);
}

TEST_F(JitTest, KeysSeparateLayersAndOptions) {
  jit::LayerDescription a, b;
  b.qkL2norm = true;
  std::set<std::string> keys = {jit::cacheKey(a.toMlir(), options),
                                jit::cacheKey(b.toMlir(), options)};
  jit::Options sm80 = options;
  sm80.compile.chip = "sm_80";
  keys.insert(jit::cacheKey(a.toMlir(), sm80));
  jit::Options block = options;
  block.compile.blockSize = 32;
  keys.insert(jit::cacheKey(a.toMlir(), block));
  jit::Options recurrent = options;
  recurrent.compile.kernel = "recurrent";
  keys.insert(jit::cacheKey(a.toMlir(), recurrent));
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(jit::cacheKey(a.toMlir(), options), jit::cacheKey(a.toMlir(), options));
}

TEST_F(JitTest, RecurrentFallbackIsNoted) {
  options.diskCache = false;
  jit::LayerDescription f32Layer;
  f32Layer.inputType = "f32";
  testing::internal::CaptureStderr();
  compileOnce(f32Layer.toMlir());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("gdn-jit: note: the recurrent kernel"), std::string::npos) << err;
  EXPECT_NE(err.find("only bf16 and f16 inputs"), std::string::npos) << err;
  // A layer the chunked kernel takes compiles without a note; a memory hit repeats none.
  jit::LayerDescription gated;
  testing::internal::CaptureStderr();
  compileOnce(gated.toMlir());
  compileOnce(f32Layer.toMlir());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST_F(JitTest, DescriptionsNameTheStatePassTheLayerGets) {
  GpuCompileOptions o;
  o.kernel = "chunked";
  o.chunkSize = 32;
  o.vTile = 64;
  o.warps = 8;
  o.slicedState = true;
  jit::LayerDescription k128, k256;
  k256.K = k256.V = 256;
  // By default each launch chooses its segments.
  EXPECT_EQ(jit::describeConfiguration(o),
            "chunked, chunk 32, v-tile 64, sliced state, 3 stages, segments per launch");
  EXPECT_EQ(jit::describeConfiguration(o, k128.toMlir()),
            "chunked, chunk 32, v-tile 64, sliced state, 3 stages, segments per launch");
  o.segments = 1;
  o.stages = 2;
  EXPECT_EQ(jit::describeConfiguration(o, k128.toMlir()),
            "chunked, chunk 32, v-tile 64, sliced state");
  // K = 256 has no sliced pass: the tiled one is built, with `warps` warps.
  EXPECT_EQ(jit::describeConfiguration(o, k256.toMlir()), "chunked, chunk 32, v-tile 64, 8 warps");
}

TEST_F(JitTest, EveryDescribedFamilyCompiles) {
  options.diskCache = false;
  for (GateKind gate : {GateKind::None, GateKind::Scalar, GateKind::Channel})
    for (UpdateRule rule : {UpdateRule::Additive, UpdateRule::Delta})
      for (bool decode : {false, true}) {
        jit::LayerDescription layer;
        layer.gate = gate;
        layer.rule = rule;
        layer.decode = decode;
        layer.varlen = !decode;
        layer.H = 1;
        layer.HV = 2;
        layer.K = 64;
        layer.V = 128;
        layer.inputType = "f16";
        layer.scale = 0.25f;
        KernelMetadata meta;
        std::string ptx;
        std::vector<char> cubin;
        Status s = jit::compileArtifact(layer.toMlir(), options, meta, ptx, cubin);
        ASSERT_TRUE(s.isOk()) << s.message << "\n" << layer.toMlir();
        EXPECT_EQ(meta.gate, gate);
        EXPECT_EQ(meta.rule, rule);
        EXPECT_EQ(meta.layer, decode ? "gdn.decode" : "gdn.recurrence");
        EXPECT_EQ(meta.isVarlen(), !decode);
        EXPECT_FLOAT_EQ(meta.scale, 0.25f);
      }
}

TEST_F(JitTest, BadLayersGetLocatedErrors) {
  KernelMetadata meta;
  std::string ptx;
  std::vector<char> cubin;
  Status s = jit::compileArtifact("func.func @f(%q: tensor<1x2x3x64xf32>) {\n  return }\n"
                                  "this is not mlir\n",
                                  options, meta, ptx, cubin);
  EXPECT_EQ(s.code, Status::Code::InvalidArgument);
  EXPECT_NE(s.message.find("<jit>:3"), std::string::npos) << s.message;
  jit::LayerDescription bad;
  bad.K = 96;
  s = jit::compileArtifact(bad.toMlir(), options, meta, ptx, cubin);
  EXPECT_NE(s.message.find("head dim K = 96 is not supported"), std::string::npos) << s.message;
}

TEST_F(JitTest, CApiChecksArguments) {
  gdn_kernel *k = nullptr;
  EXPECT_EQ(gdn_jit_compile(nullptr, nullptr, nullptr, &k), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "gdn_jit_compile: layer_mlir and out must be given");
  EXPECT_EQ(gdn_jit_compile("not mlir", nullptr, dir.c_str(), &k), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gdn_last_error()).find("gdn-jit: <jit>:1"), std::string::npos)
      << gdn_last_error();
  EXPECT_EQ(k, nullptr);
}

} // namespace

namespace {

class TuneTest : public JitTest {};

TEST_F(TuneTest, ShapesAreBucketedByPowersOfTwo) {
  EXPECT_EQ(jit::shapeBucket({1, 8192}), "b1t8192");
  EXPECT_EQ(jit::shapeBucket({3, 5000}), "b4t8192");
  EXPECT_EQ(jit::shapeBucket({0, 0}), "b1t1");
}

TEST_F(TuneTest, TuningFileRoundTripsAndDropsMalformedLines) {
  std::string path = (dir / "tuning.txt").string();
  std::map<std::string, jit::TuningEntry> entries;
  GpuCompileOptions chunked;
  chunked.kernel = "chunked";
  chunked.chunkSize = 16;
  chunked.vTile = 64;
  chunked.warps = 4;
  chunked.slicedState = false;
  entries["abc b1t8192"] = {chunked, 1.5};
  GpuCompileOptions sliced = chunked;
  sliced.slicedState = true;
  sliced.vTile = 128;
  sliced.stages = 3;
  sliced.segments = 4;
  sliced.wholeChunkCopies = true;
  sliced.stmatrixStores = false;
  sliced.wgmma = false;
  sliced.prepWarps = 1;
  entries["abc b4t4096"] = {sliced, 0.5};
  ASSERT_TRUE(jit::writeTuningFile(path, entries));
  // Written: every chunked option by name (ChunkedOptions.def).
  {
    std::ifstream in(path);
    std::string header, line;
    std::getline(in, header);
    std::getline(in, line);
    EXPECT_EQ(line, "abc b1t8192 chunked 64 1.5 chunk-size=16 v-tile=64 warps=4 ldmatrix=1 "
                    "prep-inverse=0 state-wy=1 qs-early=0 sliced-state=0 prep-warps=0 "
                    "segments=0 stages=3 k-split=1 whole-chunk-copies=0 stmatrix-stores=1 "
                    "wgmma=1 recompute=0");
  }
  // Garbage, the positional format before option names, a bad number, an unknown or repeated
  // option, a value an option does not take, a bool other than 0 / 1, a kernel or block the
  // compiler does not take: all dropped. Options a line leaves out take their defaults.
  std::ofstream(path, std::ios::app)
      << "garbage line\n"
      << "abc b2t2 chunked 32 64 4 sliced 3 2 64 0.25 rows elements mma 2\n"
      << "abc b2t4 chunked 64 x\n"
      << "abc b2t8 chunked 64 0.25 chunk-size=32 tile=64\n"
      << "abc b2t16 chunked 64 0.25 chunk-size=32 chunk-size=16\n"
      << "abc b2t32 chunked 64 0.25 stages=5\n"
      << "abc b2t64 chunked 64 0.25 v-tile=48\n"
      << "abc b2t128 chunked 64 0.25 segments=2 stages=3\n"
      << "abc b2t256 chunked 64 0.25 wgmma=yes\n"
      << "abc b2t512 chunked 64 0.25 whole-chunk-copies=1 prep-warps=2\n"
      << "abc b2t1k chunked 64 0.25 prep-warps=3\n"
      << "abc b2t2k chunked 64 0.25 segments=65\n"
      << "abc b2t4k tensor 64 0.25\n"
      << "abc b2t8k chunked 100 0.25\n"
      << "abc b2t16k chunked 64 inf\n"
      << "abc b2t32k chunked 64 0.25 chunk-size\n";
  size_t malformed = 0;
  auto read = jit::readTuningFile(path, &malformed);
  EXPECT_EQ(malformed, 14u);
  for (const char *bucket : {"b2t2", "b2t4", "b2t8", "b2t16", "b2t32", "b2t64", "b2t256", "b2t1k",
                             "b2t2k", "b2t4k", "b2t8k", "b2t16k", "b2t32k"})
    EXPECT_EQ(read.count(std::string("abc ") + bucket), 0u) << bucket;
  ASSERT_EQ(read.count("abc b2t128"), 1u);
  EXPECT_EQ(read["abc b2t128"].options.segments, 2);
  EXPECT_EQ(read["abc b2t128"].options.stages, 3);
  EXPECT_EQ(read["abc b2t128"].options.chunkSize, GpuCompileOptions().chunkSize) << "default";
  ASSERT_EQ(read.count("abc b2t512"), 1u);
  EXPECT_TRUE(read["abc b2t512"].options.wholeChunkCopies);
  EXPECT_EQ(read["abc b2t512"].options.prepWarps, 2);
  // What was written reads back field for field.
  ASSERT_EQ(read.count("abc b4t4096"), 1u);
  const GpuCompileOptions &o = read["abc b4t4096"].options;
  EXPECT_TRUE(o.slicedState);
  EXPECT_EQ(o.vTile, 128);
  EXPECT_EQ(o.stages, 3);
  EXPECT_EQ(o.segments, 4);
  EXPECT_TRUE(o.wholeChunkCopies);
  EXPECT_FALSE(o.stmatrixStores);
  EXPECT_FALSE(o.wgmma);
  EXPECT_EQ(o.prepWarps, 1);
  EXPECT_DOUBLE_EQ(read["abc b4t4096"].ms, 0.5);
  ASSERT_EQ(read.count("abc b1t8192"), 1u);
  EXPECT_FALSE(read["abc b1t8192"].options.slicedState);
  EXPECT_EQ(read["abc b1t8192"].options.chunkSize, 16);
  EXPECT_EQ(read["abc b1t8192"].options.vTile, 64);
  EXPECT_EQ(read["abc b1t8192"].options.warps, 4);
  EXPECT_DOUBLE_EQ(read["abc b1t8192"].ms, 1.5);
  // A missing file is no entries, not an error.
  EXPECT_TRUE(jit::readTuningFile((dir / "none.txt").string(), &malformed).empty());
}

// ChunkedOptions.def is the one list of the chunked kernels' options: every entry must be an
// option of the gdn-chunked-gpu-kernels pass (declared in ODS) taking the entry's default, and
// of the gdn-to-ptx pipeline (derived from the table) with the same default as
// GpuCompileOptions (also derived).
TEST(ChunkedOptionsTable, EveryEntryIsAPassAndPipelineOption) {
  std::vector<std::pair<std::string, std::string>> entries; // name, default
#define GDN_CHUNKED_INT(field, name, init, allowed, help) entries.push_back({name, #init});
#define GDN_CHUNKED_RANGE(field, name, init, low, high, help) entries.push_back({name, #init});
#define GDN_CHUNKED_BOOL(field, name, init, help) entries.push_back({name, #init});
#include "gdn/Codegen/ChunkedOptions.def"
  ASSERT_EQ(entries.size(), 16u);
  std::string all;
  for (const auto &[name, init] : entries) {
    std::string why;
    auto pass = mlir::gdn::createGdnChunkedGpuKernels();
    mlir::LogicalResult r =
        pass->initializeOptions(name + "=" + init, [&](const llvm::Twine &message) {
          why = message.str();
          return mlir::failure();
        });
    EXPECT_TRUE(mlir::succeeded(r)) << name << ": " << why;
    all += (all.empty() ? "" : " ") + name + "=" + init;
  }
  mlir::gdn::GpuPipelineOptions pipeline;
  std::string why;
  ASSERT_TRUE(mlir::succeeded(pipeline.parseFromString(all))) << all;
  GpuCompileOptions compile;
  EXPECT_EQ(pipeline.chunkSize, compile.chunkSize);
  EXPECT_EQ(pipeline.segments, compile.segments);
  EXPECT_EQ(pipeline.wgmma, compile.wgmma);
}

TEST_F(TuneTest, CandidatesFollowWhatTheChunkedKernelSupports) {
  jit::LayerDescription gated;
  std::string error;
  auto candidates = jit::tuneCandidates(gated.toMlir(), options, error);
  ASSERT_FALSE(candidates.empty()) << error;
  EXPECT_EQ(candidates.front().kernel, "recurrent");
  EXPECT_GT(candidates.size(), 10u); // chunk x v-tile x warps that fit shared memory
  size_t slicedCount = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    EXPECT_EQ(candidates[i].kernel, "chunked");
    if (candidates[i].slicedState) {
      ++slicedCount;
      EXPECT_EQ(candidates[i].warps, candidates[i].vTile / 16); // the sliced block's warps
    }
  }
  // Both state-pass designs, the sliced one at V tile 16..128 where K x C allows it.
  EXPECT_GT(slicedCount, 0u);
  EXPECT_LT(slicedCount, candidates.size() - 1);
  auto segmented = [](const std::vector<GpuCompileOptions> &cs) {
    size_t n = 0;
    for (const GpuCompileOptions &c : cs)
      n += c.segments > 1;
    return n;
  };
  EXPECT_EQ(segmented(candidates), 0u) << "no shape: no segment candidates";
  // Few streams (B 1 x HV 32: V tiles of 32 and up): segments 2, 4 and 8 at 3 and 4 stages;
  // many (B 64): none.
  jit::TuneShape few{1, 8192}, many{64, 1024};
  auto withFew = jit::tuneCandidates(gated.toMlir(), options, error, &few);
  EXPECT_GT(segmented(withFew), 0u);
  for (const GpuCompileOptions &c : withFew) {
    if (c.segments > 1) {
      EXPECT_TRUE(c.slicedState && (c.stages == 3 || c.stages == 4) &&
                  (c.segments == 2 || c.segments == 4 || c.segments == 8));
    }
  }
  EXPECT_EQ(segmented(jit::tuneCandidates(gated.toMlir(), options, error, &many)), 0u);
  GpuCompileOptions described = options.compile;
  described.kernel = "chunked";
  described.stages = 3;
  described.segments = 4;
  EXPECT_EQ(jit::describeConfiguration(described),
            "chunked, chunk from the layer, v-tile 64, sliced state, 3 stages, 4 segments");
  described.chunkSize = 32;
  EXPECT_EQ(jit::describeConfiguration(described),
            "chunked, chunk 32, v-tile 64, sliced state, 3 stages, 4 segments");
  described.wholeChunkCopies = true;
  EXPECT_EQ(jit::describeConfiguration(described),
            "chunked, chunk 32, v-tile 64, sliced state, 3 stages, 4 segments, whole-chunk copies");
  described.stmatrixStores = false;
  EXPECT_EQ(jit::describeConfiguration(described),
            "chunked, chunk 32, v-tile 64, sliced state, 3 stages, 4 segments, whole-chunk copies, "
            "per-element stores");
  described.wgmma = false; // sm_90a and a V tile of one warpgroup: mma.sync is named
  EXPECT_EQ(jit::describeConfiguration(described),
            "chunked, chunk 32, v-tile 64, sliced state, 3 stages, 4 segments, whole-chunk copies, "
            "per-element stores, mma.sync products");
  described.chip = "sm_80"; // no stmatrix or wgmma there, whatever the options say
  described.stmatrixStores = true;
  EXPECT_EQ(jit::describeConfiguration(described),
            "chunked, chunk 32, v-tile 64, sliced state, 3 stages, 4 segments, whole-chunk copies");
  described.slicedState = false; // the tiled pass takes them too
  EXPECT_EQ(jit::describeConfiguration(described),
            "chunked, chunk 32, v-tile 64, 8 warps, whole-chunk copies");
  described.prepWarps = 1; // named where it is not the default 4
  EXPECT_EQ(jit::describeConfiguration(described),
            "chunked, chunk 32, v-tile 64, 8 warps, whole-chunk copies, 1 prep warp");
  described.slicedState = true;
  described.prepWarps = 2;
  EXPECT_EQ(jit::describeConfiguration(described),
            "chunked, chunk 32, v-tile 64, sliced state, 3 stages, 4 segments, whole-chunk copies, "
            "2 prep warps");

  // A caller's one-warp prep blocks where they apply (chunk 16, 32), 4 warps at chunk 64
  // (not: no chunk-64 candidates).
  jit::Options onePrepWarp = options;
  onePrepWarp.compile.prepWarps = 1;
  candidates = jit::tuneCandidates(gated.toMlir(), onePrepWarp, error);
  size_t chunk64 = 0;
  for (const GpuCompileOptions &c : candidates)
    if (c.kernel == "chunked") {
      chunk64 += c.chunkSize == 64;
      EXPECT_EQ(c.prepWarps, c.chunkSize == 64 ? 4 : 1);
    }
  EXPECT_GT(chunk64, 0u);

  jit::LayerDescription f32Layer = gated;
  f32Layer.inputType = "f32";
  candidates = jit::tuneCandidates(f32Layer.toMlir(), options, error);
  ASSERT_EQ(candidates.size(), 1u); // f32 inputs: the recurrent kernel only
  EXPECT_EQ(candidates.front().kernel, "recurrent");
  // Channel gates (KDA) take the chunked kernel, segmented too.
  jit::LayerDescription kda = gated;
  kda.gate = GateKind::Channel;
  candidates = jit::tuneCandidates(kda.toMlir(), options, error, &few);
  EXPECT_GT(candidates.size(), 1u);
  EXPECT_GT(segmented(candidates), 0u);

  jit::LayerDescription bad = gated;
  bad.K = 96;
  EXPECT_TRUE(jit::tuneCandidates(bad.toMlir(), options, error).empty());
  EXPECT_NE(error.find("head dim K = 96"), std::string::npos) << error;
}

TEST_F(TuneTest, GeneratedCandidatesAreTheGeneratedLoweringsOptions) {
  jit::LayerDescription gated; // K = V = 128
  jit::Options generated = options;
  generated.compile.kernel = "generated";
  std::string error;
  auto candidates = jit::tuneCandidates(gated.toMlir(), generated, error);
  // chunk 32, 64 x V tile 32, 64, 128 x 4, 8 warps x recompute or not, nothing else.
  ASSERT_EQ(candidates.size(), 24u) << error;
  std::set<std::tuple<int64_t, int64_t, int64_t, bool>> seen;
  for (const GpuCompileOptions &c : candidates) {
    EXPECT_EQ(c.kernel, "generated");
    seen.insert({c.chunkSize, c.vTile, c.warps, c.recompute});
  }
  EXPECT_EQ(seen.size(), 24u);
  EXPECT_EQ(jit::describeConfiguration(candidates.front()),
            "generated, chunk 32, v-tile 32, 4 warps");
  // V = 64: no 128-column tiles.
  jit::LayerDescription narrow = gated;
  narrow.K = narrow.V = 64;
  EXPECT_EQ(jit::tuneCandidates(narrow.toMlir(), generated, error).size(), 16u) << error;
  // A generated configuration round-trips through the tuning file.
  jit::TuneShape shape{1, 8192};
  GpuCompileOptions best = candidates.back(); // chunk 64, V tile 128, 8 warps, recompute
  ASSERT_TRUE(
      jit::writeTuningFile(jit::tuningFilePath(generated),
                           {{jit::tuningKey(gated.toMlir(), shape, generated), {best, 0.5}}}));
  bool found = false;
  GpuCompileOptions o = jit::tunedOptions(gated.toMlir(), shape, generated, &found);
  ASSERT_TRUE(found);
  EXPECT_EQ(o.kernel, "generated");
  EXPECT_EQ(o.chunkSize, 64);
  EXPECT_EQ(o.vTile, 128);
  EXPECT_EQ(o.warps, 8);
  EXPECT_TRUE(o.recompute);
  EXPECT_EQ(jit::describeConfiguration(o), "generated, chunk 64, v-tile 128, 8 warps, recompute");
  // A layer that does not verify is refused with its message.
  jit::LayerDescription bad = gated;
  bad.K = 96;
  EXPECT_TRUE(jit::tuneCandidates(bad.toMlir(), generated, error).empty());
  EXPECT_NE(error.find("head dim K = 96"), std::string::npos) << error;
}

TEST_F(TuneTest, TunedOptionsAreUsedWhenRecorded) {
  jit::LayerDescription layer;
  std::string source = layer.toMlir();
  jit::TuneShape shape{2, 4000};
  bool found = true;
  GpuCompileOptions o = jit::tunedOptions(source, shape, options, &found);
  EXPECT_FALSE(found);
  EXPECT_EQ(o.kernel, options.compile.kernel);

  GpuCompileOptions best;
  best.kernel = "chunked";
  best.chunkSize = 64;
  best.vTile = 16;
  best.warps = 8;
  best.stages = 3;
  best.segments = 4;
  best.wholeChunkCopies = true;
  best.stmatrixStores = false;
  best.wgmma = false;
  best.prepWarps = 1;
  ASSERT_TRUE(jit::writeTuningFile(jit::tuningFilePath(options),
                                   {{jit::tuningKey(source, shape, options), {best, 0.5}}}));
  o = jit::tunedOptions(source, {2, 3000}, options, &found); // same bucket
  EXPECT_TRUE(found);
  EXPECT_EQ(o.chunkSize, 64);
  EXPECT_EQ(o.vTile, 16);
  // Every recorded field (stages and segments were once dropped here).
  EXPECT_EQ(o.stages, 3);
  EXPECT_EQ(o.segments, 4);
  EXPECT_TRUE(o.wholeChunkCopies);
  EXPECT_FALSE(o.stmatrixStores);
  EXPECT_FALSE(o.wgmma);
  EXPECT_EQ(o.prepWarps, 1);
  o = jit::tunedOptions(source, {2, 9000}, options, &found); // another bucket
  EXPECT_FALSE(found);
}

TEST_F(TuneTest, TuningNeedsAGpu) {
  jit::LayerDescription layer;
  jit::TuneResult result;
  Status s = jit::tune(layer.toMlir(), {1, 64}, options, result);
  EXPECT_EQ(s.code, Status::Code::NoDriver) << s.message;
}

} // namespace
