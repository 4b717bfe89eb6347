// GPU tests (ctest label "gpu"): every artifact built by make_artifacts.py, launched through
// the runtime on random inputs and checked against the float64 reference; CUDA-graph capture;
// driver errors; argument checks on a real device. Skips, with the reason, where there is no
// driver or GPU. Needs no MLIR: the artifacts are compiled elsewhere and carried here.
//
// GDN_GPU_ARTIFACTS: the artifact folder (default: the build's). GDN_GPU_RESULTS: a JSON file
// to write (device, driver, commit from GDN_COMMIT, each case's errors and verdict).
#include "gdn/DeviceLayer.h"
#include "gdn/Numeric.h"
#include "gdn/Reference.h"

#include "../unit/BadLaunchArguments.h"
#include "GpuSupport.h"
#include "gdn/Runtime.h"
#include "gdn/gdn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace gdn;
using gdn_test::artifactsDir;
using gdn_test::driver;
using gdn_test::skipReason;

namespace {

struct CaseResult {
  std::string name;
  double oAbs = 0, oRel = 0, stateAbs = 0, stateRel = 0;
  bool pass = false;
};
std::vector<CaseResult> &results() {
  static std::vector<CaseResult> r;
  return r;
}

struct CaseSpec {
  std::string name;
  int64_t B, T;
};

std::vector<CaseSpec> readCases() {
  std::vector<CaseSpec> cases;
  std::ifstream f(artifactsDir() + "/cases.txt");
  CaseSpec c;
  while (f >> c.name >> c.B >> c.T)
    cases.push_back(c);
  if (cases.empty())
    cases.push_back({"no_artifacts_found_in_" + artifactsDir(), 0, 0});
  return cases;
}

/// f32 inputs: the kernel's exp is ex2.approx (rel err ~2^-22) and its sums run in another
/// order than the reference's; bf16/f16: the output itself is rounded to the input type.
double boundFor(const std::string &type) { return type == "f32" ? 1e-4 : 2e-2; }

class GpuLayer : public testing::TestWithParam<CaseSpec> {};

TEST_P(GpuLayer, MatchesFloat64Reference) {
  SKIP_WITHOUT_GPU();
  const CaseSpec &c = GetParam();
  std::unique_ptr<Kernel> kernel;
  Status s = Kernel::loadFiles(artifactsDir() + "/" + c.name, kernel);
  ASSERT_TRUE(s.isOk()) << s.message;
  const KernelMetadata &m = kernel->metadata();
  std::unique_ptr<DeviceLayer> p;
  s = DeviceLayer::create(m, c.B, c.T, 1234, p);
  ASSERT_TRUE(s.isOk()) << s.message;
  s = kernel->launch(p->launch, nullptr);
  ASSERT_TRUE(s.isOk()) << s.message;
  s = driver().synchronize();
  ASSERT_TRUE(s.isOk()) << s.message;

  LayerResult want = p->reference();
  CaseResult r;
  r.name = c.name;
  std::vector<float> o;
  ASSERT_TRUE(p->downloadOutput(o).isOk());
  ErrorStats eo = compare(o.data(), want.o.data(), want.o.size());
  r.oAbs = eo.maxAbs;
  r.oRel = eo.maxRel;
  bool pass = eo.maxRel <= boundFor(m.inputType);
  EXPECT_LE(eo.maxRel, boundFor(m.inputType)) << "o, max abs " << eo.maxAbs;
  if (p->launch.finalState.data) {
    std::vector<float> fs;
    ASSERT_TRUE(p->downloadFinalState(fs).isOk());
    ErrorStats es = compare(fs.data(), want.finalState.data(), want.finalState.size());
    r.stateAbs = es.maxAbs;
    r.stateRel = es.maxRel;
    // The chunked kernel feeds tensor cores bf16 operands (the state, Vnew, Tm), as
    // flash-linear-attention does; the recurrent kernel keeps everything in f32.
    double stateBound = m.kind == "chunked" ? 2e-2 : 1e-4;
    pass = pass && es.maxRel <= stateBound;
    EXPECT_LE(es.maxRel, stateBound) << "final state, max abs " << es.maxAbs;
  }
  r.pass = pass;
  results().push_back(r);
}

INSTANTIATE_TEST_SUITE_P(Artifacts, GpuLayer, testing::ValuesIn(readCases()),
                         [](const auto &info) { return info.param.name; });

TEST(GpuRuntime, LaunchesCaptureIntoACudaGraph) {
  SKIP_WITHOUT_GPU();
  std::unique_ptr<Kernel> kernel;
  Status s = Kernel::loadFiles(artifactsDir() + "/gated_deltanet", kernel);
  ASSERT_TRUE(s.isOk()) << s.message;
  std::unique_ptr<DeviceLayer> p;
  ASSERT_TRUE(DeviceLayer::create(kernel->metadata(), 2, 67, 99, p).isOk());
  ASSERT_TRUE(kernel->launch(p->launch, nullptr).isOk());
  ASSERT_TRUE(driver().synchronize().isOk());
  std::vector<float> eager, replayed;
  ASSERT_TRUE(p->downloadOutput(eager).isOk());

  using Fn = int (*)(...);
  auto sym = [](const char *n) { return reinterpret_cast<Fn>(driver().symbol(n)); };
  void *stream = nullptr, *graph = nullptr, *exec = nullptr;
  ASSERT_EQ(sym("cuStreamCreate")(&stream, 1u /*non-blocking*/), 0);
  ASSERT_EQ(sym("cuStreamBeginCapture_v2")(stream, 0 /*global*/), 0);
  s = kernel->launch(p->launch, stream); // recorded, not run
  ASSERT_TRUE(s.isOk()) << s.message;
  ASSERT_EQ(sym("cuStreamEndCapture")(stream, &graph), 0);
  ASSERT_EQ(sym("cuGraphInstantiateWithFlags")(&exec, graph, 0ull), 0);
  ASSERT_TRUE(p->clearOutputs().isOk());
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(sym("cuGraphLaunch")(exec, stream), 0);
  ASSERT_EQ(sym("cuStreamSynchronize")(stream), 0);
  ASSERT_TRUE(p->downloadOutput(replayed).isOk());
  EXPECT_EQ(replayed, eager);
  sym("cuGraphExecDestroy")(exec);
  sym("cuGraphDestroy")(graph);
  sym("cuStreamDestroy_v2")(stream);
}

TEST(GpuRuntime, ChunkedLayerWithACallerWorkspaceCapturesOnFirstLaunch) {
  SKIP_WITHOUT_GPU();
  using Fn = int (*)(...);
  auto sym = [](const char *n) { return reinterpret_cast<Fn>(driver().symbol(n)); };
  std::unique_ptr<Kernel> kernel;
  Status s = Kernel::loadFiles(artifactsDir() + "/chunked_gated_deltanet", kernel);
  ASSERT_TRUE(s.isOk()) << s.message;
  ASSERT_TRUE(kernel->metadata().needsWorkspace());
  std::unique_ptr<DeviceLayer> p;
  ASSERT_TRUE(DeviceLayer::create(kernel->metadata(), 2, 77, 21, p).isOk());
  size_t bytes = kernel->workspaceBytes(p->launch);
  ASSERT_GT(bytes, 0u);

  void *stream = nullptr, *graph = nullptr, *exec = nullptr;
  ASSERT_EQ(sym("cuStreamCreate")(&stream, 1u), 0);
  // The kernel's own workspace cannot be allocated while capturing: a clear error.
  ASSERT_EQ(sym("cuStreamBeginCapture_v2")(stream, 0), 0);
  s = kernel->launch(p->launch, stream);
  EXPECT_NE(s.message.find("needs a workspace of " + std::to_string(bytes) +
                           " bytes while the stream is capturing"),
            std::string::npos)
      << s.message;
  ASSERT_EQ(sym("cuStreamEndCapture")(stream, &graph), 0);
  if (graph)
    sym("cuGraphDestroy")(graph);

  // With the caller's workspace, the first launch can be captured.
  void *workspace = nullptr;
  ASSERT_TRUE(driver().malloc(&workspace, bytes).isOk());
  LayerLaunch launch = p->launch;
  launch.workspace = workspace;
  launch.workspaceBytes = bytes;
  ASSERT_EQ(sym("cuStreamBeginCapture_v2")(stream, 0), 0);
  s = kernel->launch(launch, stream);
  ASSERT_TRUE(s.isOk()) << s.message;
  ASSERT_EQ(sym("cuStreamEndCapture")(stream, &graph), 0);
  ASSERT_EQ(sym("cuGraphInstantiateWithFlags")(&exec, graph, 0ull), 0);
  ASSERT_EQ(sym("cuGraphLaunch")(exec, stream), 0);
  ASSERT_EQ(sym("cuStreamSynchronize")(stream), 0);
  std::vector<float> replayed, eager;
  ASSERT_TRUE(p->downloadOutput(replayed).isOk());
  // The same launch with the kernel's own workspace (eager) gives the same bits.
  ASSERT_TRUE(p->clearOutputs().isOk());
  ASSERT_TRUE(kernel->launch(p->launch, nullptr).isOk());
  ASSERT_TRUE(driver().synchronize().isOk());
  ASSERT_TRUE(p->downloadOutput(eager).isOk());
  EXPECT_EQ(replayed, eager);
  LayerResult want = p->reference();
  ErrorStats es = compare(eager.data(), want.o.data(), want.o.size());
  EXPECT_LE(es.maxRel, 2e-2);
  // Too small a workspace is refused before anything is launched.
  launch.workspaceBytes = bytes - 16;
  EXPECT_EQ(kernel->launch(launch, stream).message,
            "'workspace' has " + std::to_string(bytes - 16) + " bytes, the launch needs " +
                std::to_string(bytes));
  sym("cuGraphExecDestroy")(exec);
  sym("cuGraphDestroy")(graph);
  sym("cuStreamDestroy_v2")(stream);
  ASSERT_TRUE(driver().free(workspace).isOk());
}

TEST(GpuRuntime, InPlaceStateUpdate) {
  SKIP_WITHOUT_GPU();
  std::unique_ptr<Kernel> kernel;
  ASSERT_TRUE(Kernel::loadFiles(artifactsDir() + "/gated_deltanet_decode", kernel).isOk());
  std::unique_ptr<DeviceLayer> p;
  ASSERT_TRUE(DeviceLayer::create(kernel->metadata(), 8, 1, 5, p).isOk());
  p->launch.finalState = p->launch.initialState; // decode writes the new state over the old
  ASSERT_TRUE(kernel->launch(p->launch, nullptr).isOk());
  ASSERT_TRUE(driver().synchronize().isOk());
  std::vector<float> updated;
  ASSERT_TRUE(p->downloadInitialState(updated).isOk());
  LayerResult want = p->reference();
  ErrorStats e = compare(updated.data(), want.finalState.data(), want.finalState.size());
  EXPECT_LE(e.maxRel, 1e-4);
}

/// The layer's output and final state (downloaded after a synchronised launch) within `bound`
/// (max relative error) of `want`.
void expectOutputsMatch(DeviceLayer &p, const LayerResult &want, double bound = 2e-2) {
  std::vector<float> o, state;
  ASSERT_TRUE(p.downloadOutput(o).isOk());
  ASSERT_TRUE(p.downloadFinalState(state).isOk());
  ErrorStats eo = compare(o.data(), want.o.data(), want.o.size());
  ErrorStats es = compare(state.data(), want.finalState.data(), want.finalState.size());
  EXPECT_LE(eo.maxRel, bound) << "o, max abs " << eo.maxAbs;
  EXPECT_LE(es.maxRel, bound) << "final state, max abs " << es.maxAbs;
}

// Runs artifact `name` (gate `kind`, f32 gates) on random inputs with its gates multiplied by
// `gateScale` and checks o and the final state against the float64 reference (rel 2e-2).
void expectExactWithScaledGates(const std::string &name, GateKind kind, int64_t B, int64_t T,
                                uint64_t seed, float gateScale) {
  std::unique_ptr<Kernel> kernel;
  ASSERT_TRUE(Kernel::loadFiles(artifactsDir() + "/" + name, kernel).isOk());
  ASSERT_EQ(kernel->metadata().gate, kind);
  ASSERT_EQ(kernel->metadata().gType, "f32");
  std::unique_ptr<DeviceLayer> p;
  ASSERT_TRUE(DeviceLayer::create(kernel->metadata(), B, T, seed, p).isOk());
  for (float &g : p->inputs.g)
    g *= gateScale;
  ASSERT_TRUE(driver()
                  .copyToDevice(const_cast<void *>(p->launch.g.data), p->inputs.g.data(),
                                p->inputs.g.size() * sizeof(float))
                  .isOk());
  ASSERT_TRUE(kernel->launch(p->launch, nullptr).isOk());
  ASSERT_TRUE(driver().synchronize().isOk());
  LayerResult want = p->reference();
  ASSERT_FALSE(want.finalState.empty()) << name << " must write a final state";
  expectOutputsMatch(*p, want);
}

// Channel gates 16 times steeper than the random ones (about -13 per token on average): the
// chunked kernels' gate factors are all <= 1 by construction (per-element sums on the 8 x 8
// diagonal blocks, products relative to each 8-row block's first row), so nothing overflows
// where a factorisation through one reference row per chunk would reach e^100 and more.
TEST(GpuRuntime, ChannelGatedChunkedKernelsStayExactUnderSteepGates) {
  SKIP_WITHOUT_GPU();
  for (const char *name : {"chunked_kda", "chunked_kda_c64_tiled", "chunked_gla"}) {
    SCOPED_TRACE(name);
    expectExactWithScaledGates(name, GateKind::Channel, 2, 150, 11, 16.0f);
  }
}

// Scalar gates far from the random ones: mild (x 0.01: the state barely decays over 300
// tokens), steep (x 16) and x 1000 (every chunk's decay underflows to 0 in f32); the sliced
// pass (with segments, K = 256) and the additive rule must still match the float64 recurrence.
TEST(GpuRuntime, ScalarGatedSlicedKernelsMatchUnderMildSteepAndUnderflowingGates) {
  SKIP_WITHOUT_GPU();
  for (const char *name : {"chunked_sliced_vt128", "chunked_segments4", "chunked_sliced_additive",
                           "chunked_sliced_k256_c16_vt64"})
    for (float gateScale : {0.01f, 16.0f, 1000.0f}) {
      SCOPED_TRACE(std::string(name) + " gates x " + std::to_string(gateScale));
      expectExactWithScaledGates(name, GateKind::Scalar, 2, 300, 5, gateScale);
    }
}

// The segments a launch runs are its choice (LayerLaunch::segments, else segmentsFor from the
// shape): every count from 1 (the plain state pass: the segment and combine kernels skipped)
// to the kernels' most, fixed-length and packed, must match the float64 recurrence, each with
// the workspace sized for it. A default-compiled kernel (segments chosen per launch) splits a
// long single sequence and runs many sequences unsplit.
TEST(GpuRuntime, EverySegmentCountALaunchMayRunMatchesTheReference) {
  SKIP_WITHOUT_GPU();
  for (const char *name :
       {"chunked_segments4", "chunked_ksplit2_segments4_varlen", "chunked_c32"}) {
    std::unique_ptr<Kernel> kernel;
    ASSERT_TRUE(Kernel::loadFiles(artifactsDir() + "/" + name, kernel).isOk()) << name;
    const KernelMetadata &m = kernel->metadata();
    ASSERT_GT(m.segments, 1) << name << " has a segmented state pass";
    std::unique_ptr<DeviceLayer> p;
    ASSERT_TRUE(
        DeviceLayer::create(m, m.isVarlen() ? 5 : 2, m.isVarlen() ? 700 : 300, 17, p).isOk());
    LayerResult want = p->reference();
    size_t previousBytes = 0;
    for (int64_t P = 1; P <= m.segments; ++P) {
      SCOPED_TRACE(std::string(name) + ", " + std::to_string(P) + " segments");
      LayerLaunch launch = p->launch;
      launch.segments = P;
      EXPECT_EQ(kernel->segmentsFor(launch), P);
      size_t bytes = kernel->workspaceBytes(launch);
      EXPECT_GT(bytes, previousBytes) << "more segments, more workspace";
      previousBytes = bytes;
      ASSERT_TRUE(p->clearOutputs().isOk());
      Status s = kernel->launch(launch, nullptr);
      ASSERT_TRUE(s.isOk()) << s.message;
      ASSERT_TRUE(driver().synchronize().isOk());
      expectOutputsMatch(*p, want);
    }
    LayerLaunch tooMany = p->launch;
    tooMany.segments = m.segments + 1;
    EXPECT_FALSE(kernel->launch(tooMany, nullptr).isOk());
  }

  // The default tiling (segments per launch, up to 8; H 2, HV 4, V tile 64, chunk 32): one
  // 4096-token sequence is 8 (sequence, head, V tile) streams and 128 chunks, so 8 segments of
  // 16 chunks (on a GPU of 64 SMs or more); 64 sequences of 256 tokens fill the GPU: 1.
  std::unique_ptr<Kernel> kernel;
  ASSERT_TRUE(Kernel::loadFiles(artifactsDir() + "/chunked_c32", kernel).isOk());
  ASSERT_TRUE(kernel->metadata().segmentsAuto);
  for (auto [B, T, expected] : {std::tuple<int64_t, int64_t, int64_t>{1, 4096, 8}, {64, 256, 1}}) {
    SCOPED_TRACE("B " + std::to_string(B) + " T " + std::to_string(T));
    std::unique_ptr<DeviceLayer> p;
    ASSERT_TRUE(DeviceLayer::create(kernel->metadata(), B, T, 23, p).isOk());
    EXPECT_EQ(kernel->segmentsFor(p->launch), expected);
    ASSERT_TRUE(kernel->launch(p->launch, nullptr).isOk());
    ASSERT_TRUE(driver().synchronize().isOk());
    expectOutputsMatch(*p, p->reference());
  }
}

// A caller's own workspace must hold what the segments the launch runs need: sized for one
// segment, a launch of the default kernel that chooses more (B1 T4096: 8) is refused with the
// sizes and where to get the right one; sized by Kernel::workspaceBytes it runs and matches.
TEST(GpuRuntime, ACallersWorkspaceTooSmallForTheSegmentsTheLaunchRunsIsRefused) {
  SKIP_WITHOUT_GPU();
  std::unique_ptr<Kernel> kernel;
  ASSERT_TRUE(Kernel::loadFiles(artifactsDir() + "/chunked_c32", kernel).isOk());
  std::unique_ptr<DeviceLayer> p;
  ASSERT_TRUE(DeviceLayer::create(kernel->metadata(), 1, 4096, 29, p).isOk());
  LayerLaunch launch = p->launch;
  ASSERT_GT(kernel->segmentsFor(launch), 1);
  LayerLaunch one = launch;
  one.segments = 1;
  const size_t small = kernel->workspaceBytes(one), need = kernel->workspaceBytes(launch);
  ASSERT_LT(small, need);
  void *workspace = nullptr;
  ASSERT_TRUE(driver().malloc(&workspace, need).isOk());
  launch.workspace = workspace;
  launch.workspaceBytes = small;
  Status s = kernel->launch(launch, nullptr);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message.find(std::to_string(small)), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("Kernel::workspaceBytes"), std::string::npos) << s.message;
  launch.workspaceBytes = need;
  ASSERT_TRUE(p->clearOutputs().isOk());
  s = kernel->launch(launch, nullptr);
  EXPECT_TRUE(s.isOk()) << s.message;
  ASSERT_TRUE(driver().synchronize().isOk());
  expectOutputsMatch(*p, p->reference());
  EXPECT_TRUE(driver().free(workspace).isOk());
}

// Programmatic dependent launch (on by default for these sm_90a artifacts): launches that
// follow one another on a stream, each starting from the final state the previous one wrote
// (cleared beforehand, so a read that ran ahead of its writer would see zeros) and, for the
// chunked layers, refilling the kernel's own workspace the previous launch's state pass still
// reads, must match the float64 reference step by step and give the same bits as plainly
// serialised launches.
TEST(GpuRuntime, ProgrammaticLaunchesChainThroughTheStateAndTheWorkspace) {
  SKIP_WITHOUT_GPU();
  using Fn = int (*)(...);
  auto sym = [](const char *n) { return reinterpret_cast<Fn>(driver().symbol(n)); };
  void *stream = nullptr;
  ASSERT_EQ(sym("cuStreamCreate")(&stream, 1u /*non-blocking*/), 0);
  for (const char *name : {"chunked_segments4", "chunked_gated_deltanet", "chunked_sliced_vt128",
                           "gated_deltanet_decode"}) {
    SCOPED_TRACE(name);
    std::unique_ptr<Kernel> kernel;
    ASSERT_TRUE(Kernel::loadFiles(artifactsDir() + "/" + name, kernel).isOk());
    const KernelMetadata &m = kernel->metadata();
    ASSERT_TRUE(m.programmaticLaunch) << "artifacts built for sm_90a carry programmatic_launch";
    EXPECT_TRUE(kernel->programmaticLaunch());
    bool decode = m.layer == "gdn.decode";
    int64_t B = decode ? 8 : 2, T = decode ? 1 : 300;
    const int steps = decode ? 12 : 4;
    std::vector<std::unique_ptr<DeviceLayer>> layers(steps);
    for (int i = 0; i < steps; ++i) {
      ASSERT_TRUE(DeviceLayer::create(m, B, T, 700 + i, layers[i]).isOk());
      ASSERT_TRUE(layers[i]->launch.initialState.data && layers[i]->launch.finalState.data);
    }
    auto run = [&](bool programmatic, std::vector<std::vector<float>> &o,
                   std::vector<std::vector<float>> &states) {
      ASSERT_TRUE(kernel->setProgrammaticLaunch(programmatic).isOk());
      EXPECT_EQ(kernel->programmaticLaunch(), programmatic);
      for (auto &layer : layers)
        ASSERT_TRUE(layer->clearOutputs().isOk());
      ASSERT_TRUE(driver().synchronize().isOk());
      for (int i = 0; i < steps; ++i) {
        LayerLaunch l = layers[i]->launch;
        if (i > 0)
          l.initialState.data = layers[i - 1]->launch.finalState.data;
        Status s = kernel->launch(l, stream);
        ASSERT_TRUE(s.isOk()) << s.message;
      }
      ASSERT_EQ(sym("cuStreamSynchronize")(stream), 0);
      o.assign(steps, {});
      states.assign(steps, {});
      for (int i = 0; i < steps; ++i) {
        ASSERT_TRUE(layers[i]->downloadOutput(o[i]).isOk());
        ASSERT_TRUE(layers[i]->downloadFinalState(states[i]).isOk());
      }
    };
    std::vector<std::vector<float>> o, states, oSerial, statesSerial;
    run(true, o, states);
    run(false, oSerial, statesSerial);
    EXPECT_TRUE(o == oSerial) << "outputs differ from plainly serialised launches";
    EXPECT_TRUE(states == statesSerial) << "final states differ from plainly serialised launches";
    for (int i = 0; i < steps; ++i) {
      SCOPED_TRACE("step " + std::to_string(i));
      if (i > 0)
        layers[i]->inputs.initialState = states[i - 1]; // what the launch started from
      LayerResult want = layers[i]->reference();
      ErrorStats eo = compare(o[i].data(), want.o.data(), want.o.size());
      ErrorStats es = compare(states[i].data(), want.finalState.data(), want.finalState.size());
      double stateBound = m.kind == "chunked" ? 2e-2 : 1e-4;
      EXPECT_LE(eo.maxRel, boundFor(m.inputType)) << "o, max abs " << eo.maxAbs;
      EXPECT_LE(es.maxRel, stateBound) << "final state, max abs " << es.maxAbs;
    }
  }
  sym("cuStreamDestroy_v2")(stream);

  // A kernel whose metadata lacks programmatic_launch cannot be switched to it.
  std::unique_ptr<Kernel> plain;
  ASSERT_TRUE(Kernel::loadFiles(artifactsDir() + "/gated_deltanet", plain).isOk());
  KernelMetadata m = plain->metadata();
  m.programmaticLaunch = false;
  std::ifstream f(artifactsDir() + "/gated_deltanet.ptx", std::ios::binary);
  std::vector<char> image((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(Kernel::load(image, m, plain).isOk());
  EXPECT_FALSE(plain->programmaticLaunch());
  EXPECT_TRUE(plain->setProgrammaticLaunch(false).isOk());
  EXPECT_EQ(plain->setProgrammaticLaunch(true).message,
            "kernel 'gated_deltanet_recurrent' was not compiled for programmatic dependent "
            "launch (its metadata lacks 'programmatic_launch: 1'; gdn-grid-dependency applies to "
            "sm_90 and later)");
}

TEST(GpuRuntime, DriverErrorsNameTheCudaErrorAndTheKernel) {
  SKIP_WITHOUT_GPU();
  KernelMetadata m;
  std::ifstream f(artifactsDir() + "/gated_deltanet.meta");
  std::stringstream text;
  text << f.rdbuf();
  ASSERT_TRUE(KernelMetadata::parse(text.str(), m).isOk());
  std::unique_ptr<Kernel> kernel;
  std::vector<char> garbage(64, 'x');
  Status s = Kernel::load(garbage, m, kernel);
  EXPECT_EQ(s.code, Status::Code::DriverError);
  EXPECT_NE(s.message.find("CUDA_ERROR_"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find(m.kernelName), std::string::npos) << s.message;
  m.kernelName = "no_such_kernel";
  std::ifstream ptx(artifactsDir() + "/gated_deltanet.ptx");
  std::vector<char> image((std::istreambuf_iterator<char>(ptx)), std::istreambuf_iterator<char>());
  s = Kernel::load(image, m, kernel);
  EXPECT_NE(s.message.find("CUDA_ERROR_NOT_FOUND"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("no_such_kernel"), std::string::npos) << s.message;
}

TEST(GpuRuntime, BadArgumentsAreRejectedBeforeLaunching) {
  SKIP_WITHOUT_GPU();
  std::unique_ptr<Kernel> kernel;
  ASSERT_TRUE(Kernel::loadFiles(artifactsDir() + "/gated_deltanet_varlen", kernel).isOk());
  std::unique_ptr<DeviceLayer> p;
  ASSERT_TRUE(DeviceLayer::create(kernel->metadata(), 5, 97, 3, p).isOk());
  LayerLaunch bad = p->launch;
  bad.v.data = static_cast<const char *>(bad.v.data) + 1;
  EXPECT_EQ(kernel->launch(bad, nullptr).code, Status::Code::InvalidArgument);
  std::vector<int64_t> cu = p->cuSeqlens;
  cu[2] = 0;
  cu[1] = 5;
  bad = p->launch;
  bad.cuSeqlensHost = cu.data();
  Status s = kernel->launch(bad, nullptr);
  EXPECT_EQ(s.message, "cu_seqlens must not decrease: offset 2 (0) < offset 1 (5)");
  // The C API reports the same through gdn_last_error.
  gdn_kernel *handle = nullptr;
  ASSERT_EQ(gdn_kernel_load((artifactsDir() + "/gated_deltanet_varlen").c_str(), &handle), GDN_OK);
  gdn_layer_args args{};
  args.q = {p->launch.q.data, GDN_DTYPE_BF16, 4, {1, 97, 2, 128}, 0, {}};
  EXPECT_EQ(gdn_kernel_launch(handle, &args, nullptr), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "'cu_seqlens' must have shape [N + 1] with N >= 1, got []");
  gdn_kernel_destroy(handle);
}

// The bad-argument matrix of the C API (tests/unit/BadLaunchArguments.h) through
// gdn_kernel_launch on a loaded chunked kernel: each refused with its message, nothing
// launched (the fake addresses would fault a launch; the context stays clean).
TEST(GpuRuntime, TheBadArgumentMatrixIsRefusedByLaunches) {
  SKIP_WITHOUT_GPU();
  gdn_kernel *handle = nullptr;
  ASSERT_EQ(gdn_kernel_load((artifactsDir() + "/chunked_c16").c_str(), &handle), GDN_OK)
      << gdn_last_error();
  KernelMetadata m;
  ASSERT_TRUE(KernelMetadata::parse(gdn_kernel_metadata(handle), m).isOk());
  ASSERT_TRUE(m.kind == "chunked" && m.H == 2 && m.HV == 4 && m.K == 128 && m.V == 128 &&
              m.chunkSize == 16 && m.inputType == "bf16" && m.workspaceTokenBytes == 320 &&
              m.hasArg("initial_state") && m.hasArg("final_state") && !m.isVarlen())
      << "chunked_c16 is not the kernel the matrix describes:\n"
      << gdn_kernel_metadata(handle);
  std::vector<gdn_test::BadCase> cases = gdn_test::badLaunchCases(m.kernelName);
  for (const gdn_test::BadCase &c : cases) {
    gdn_layer_args a = gdn_test::goodArgs();
    c.mutate(a);
    EXPECT_EQ(gdn_kernel_launch(handle, &a, nullptr), GDN_ERROR_INVALID_ARGUMENT) << c.kind;
    EXPECT_EQ(std::string(gdn_last_error()), c.message) << c.kind;
  }
  EXPECT_TRUE(driver().synchronize().isOk());
  gdn_kernel_destroy(handle);
}

/// An error as a JSON value: JSON has no inf or NaN (a kernel that overflowed or produced
/// NaN writes them), so those are written as null, which keeps the file loadable.
std::string jsonError(double x) {
  if (!std::isfinite(x))
    return "null";
  std::ostringstream os;
  os << x;
  return os.str();
}

/// Writes GDN_GPU_RESULTS (when set) once every test has run.
class ResultsWriter : public testing::Environment {
public:
  void TearDown() override {
    const char *path = std::getenv("GDN_GPU_RESULTS");
    if (!path || !*path || !skipReason().empty())
      return;
    std::ofstream f(path);
    const char *commit = std::getenv("GDN_COMMIT");
    const char *date = std::getenv("GDN_DATE");
    int version = 0;
    using Fn = int (*)(int *);
    if (auto fn = reinterpret_cast<Fn>(driver().symbol("cuDriverGetVersion")))
      fn(&version);
    f << "{\n  \"device\": \"" << driver().deviceName()
      << "\",\n  \"driver_cuda_version\": " << version << ",\n  \"commit\": \""
      << (commit ? commit : "unknown") << "\",\n  \"date\": \"" << (date ? date : "")
      << "\",\n  \"cases\": [\n";
    for (size_t i = 0; i < results().size(); ++i) {
      const CaseResult &r = results()[i];
      f << "    {\"case\": \"" << r.name << "\", \"o_max_abs_err\": " << jsonError(r.oAbs)
        << ", \"o_max_rel_err\": " << jsonError(r.oRel)
        << ", \"state_max_abs_err\": " << jsonError(r.stateAbs)
        << ", \"state_max_rel_err\": " << jsonError(r.stateRel)
        << ", \"pass\": " << (r.pass ? "true" : "false") << "}"
        << (i + 1 < results().size() ? "," : "") << "\n";
    }
    f << "  ]\n}\n";
  }
};

const auto *resultsWriter = testing::AddGlobalTestEnvironment(new ResultsWriter);

// Needs no GPU: the results file stays valid JSON when a kernel overflows.
TEST(GpuResultsFile, NonFiniteErrorsAreWrittenAsNull) {
  EXPECT_EQ(jsonError(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(jsonError(-std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(jsonError(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(jsonError(0.00504174), "0.00504174");
  EXPECT_EQ(jsonError(0.0), "0");
}

} // namespace
