// GPU tests (ctest label "gpu"): every artifact built by make_artifacts.py, launched through
// the runtime on random inputs and checked against the float64 reference; CUDA-graph capture;
// driver errors; argument checks on a real device. Skips, with the reason, where there is no
// driver or GPU. Needs no MLIR: the artifacts are compiled elsewhere and carried here.
//
// GDN_GPU_ARTIFACTS: the artifact folder (default: the build's). GDN_GPU_RESULTS: a JSON file
// to write (device, driver, commit from GDN_COMMIT, each case's errors and verdict).
#include "gdn/Numeric.h"
#include "gdn/Reference.h"
#include "gdn/Runtime.h"
#include "gdn/gdn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef GDN_GPU_ARTIFACTS_DEFAULT
#define GDN_GPU_ARTIFACTS_DEFAULT "gpu-artifacts"
#endif

using namespace gdn;

namespace {

std::string artifactsDir() {
  const char *env = std::getenv("GDN_GPU_ARTIFACTS");
  return env ? env : GDN_GPU_ARTIFACTS_DEFAULT;
}

/// Why GPU tests cannot run here, or "" when they can.
const std::string &skipReason() {
  static std::string reason = [] {
    Driver *driver = nullptr;
    if (Status s = Driver::get(driver); !s)
      return s.message;
    if (Status s = driver->makeContextCurrent(); !s)
      return s.message;
    return std::string();
  }();
  return reason;
}

Driver &driver() {
  Driver *d = nullptr;
  Driver::get(d);
  return *d;
}

#define SKIP_WITHOUT_GPU()                                                                     \
  if (!skipReason().empty())                                                                   \
  GTEST_SKIP() << skipReason()

struct CaseResult {
  std::string name;
  double oAbs = 0, oRel = 0, stateAbs = 0, stateRel = 0;
  bool pass = false;
};
std::vector<CaseResult> &results() {
  static std::vector<CaseResult> r;
  return r;
}

/// A device allocation freed on scope exit.
struct DeviceBuffer {
  void *ptr = nullptr;
  size_t bytes = 0;
  explicit DeviceBuffer(size_t n) : bytes(n) {
    Status s = driver().malloc(&ptr, n);
    EXPECT_TRUE(s.isOk()) << s.message;
  }
  ~DeviceBuffer() {
    if (ptr)
      driver().free(ptr);
  }
  DeviceBuffer(const DeviceBuffer &) = delete;
};

size_t elementBytes(const std::string &t) {
  return t == "bf16" || t == "f16" ? 2 : t == "i64" ? 8 : 4;
}

/// Host floats in a device element type.
std::vector<unsigned char> encode(const std::vector<float> &values, const std::string &type) {
  std::vector<unsigned char> out(values.size() * elementBytes(type));
  for (size_t i = 0; i < values.size(); ++i) {
    if (type == "bf16" || type == "f16") {
      uint16_t h = type == "bf16" ? toBf16Bits(values[i]) : toF16Bits(values[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(out.data() + 4 * i, &values[i], 4);
    }
  }
  return out;
}

std::vector<float> decode(const std::vector<unsigned char> &bytes, const std::string &type) {
  size_t n = bytes.size() / elementBytes(type);
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (type == "bf16" || type == "f16") {
      uint16_t h;
      std::memcpy(&h, bytes.data() + 2 * i, 2);
      out[i] = type == "bf16" ? fromBf16Bits(h) : fromF16Bits(h);
    } else {
      std::memcpy(&out[i], bytes.data() + 4 * i, 4);
    }
  }
  return out;
}

ElementType elementType(const std::string &t) {
  return t == "bf16" ? ElementType::BF16 : t == "f16" ? ElementType::F16 : ElementType::F32;
}

/// Inputs on the host and on the device for one case, and the launch that reads them.
struct Problem {
  KernelMetadata meta;
  int64_t B = 0, T = 0, N = 0;
  RandomLayerInputs in;
  std::vector<int64_t> cu;
  std::vector<std::unique_ptr<DeviceBuffer>> buffers;
  LayerLaunch launch;
  DeviceBuffer *o = nullptr, *finalState = nullptr;

  TensorArg upload(const std::vector<unsigned char> &bytes, const std::string &type,
                   std::vector<int64_t> shape) {
    buffers.push_back(std::make_unique<DeviceBuffer>(bytes.size()));
    driver().copyToDevice(buffers.back()->ptr, bytes.data(), bytes.size());
    return TensorArg{buffers.back()->ptr, type, std::move(shape), {}};
  }

  TensorArg output(size_t numel, const std::string &type, std::vector<int64_t> shape,
                   DeviceBuffer *&slot) {
    buffers.push_back(std::make_unique<DeviceBuffer>(numel * elementBytes(type)));
    slot = buffers.back().get();
    driver().memset(slot->ptr, slot->bytes);
    return TensorArg{slot->ptr, type, std::move(shape), {}};
  }

  Problem(const KernelMetadata &m, int64_t batch, int64_t tokens, uint64_t seed) : meta(m) {
    T = tokens;
    if (m.isVarlen()) {
      // `batch` sequences over T tokens: an empty one, a one-token one, the rest split.
      B = 1;
      N = batch;
      cu = {0, 0, 1};
      for (int64_t n = 3; n <= N; ++n)
        cu.push_back(1 + (T - 1) * (n - 2) / (N - 2));
    } else {
      B = N = batch;
    }
    bool withState = m.hasArg("initial_state");
    in = makeRandomInputs(m.gate, m.rule, B, T, m.H, m.HV, m.K, m.V, m.qkL2norm, false, false,
                          elementType(m.inputType), seed);
    if (withState)
      in.initialState = makeRandomInputs(m.gate, m.rule, N, 1, m.H, m.HV, m.K, m.V, false, false,
                                         true, ElementType::F32, seed + 1)
                            .initialState;
    for (float &x : in.g)
      x = roundTo(elementType(m.gType.empty() ? "f32" : m.gType), x);
    for (float &x : in.beta)
      x = roundTo(elementType(m.betaType.empty() ? "f32" : m.betaType), x);

    launch.q = upload(encode(in.q, m.inputType), m.inputType, {B, T, m.H, m.K});
    launch.k = upload(encode(in.k, m.inputType), m.inputType, {B, T, m.H, m.K});
    launch.v = upload(encode(in.v, m.inputType), m.inputType, {B, T, m.HV, m.V});
    if (m.hasArg("g"))
      launch.g = upload(encode(in.g, m.gType), m.gType,
                        m.gate == GateKind::Channel ? std::vector<int64_t>{B, T, m.HV, m.K}
                                                    : std::vector<int64_t>{B, T, m.HV});
    if (m.hasArg("beta"))
      launch.beta = upload(encode(in.beta, m.betaType), m.betaType, {B, T, m.HV});
    if (withState)
      launch.initialState = upload(encode(in.initialState, "f32"), "f32", {N, m.HV, m.K, m.V});
    if (m.isVarlen()) {
      std::vector<unsigned char> bytes(cu.size() * elementBytes(m.cuSeqlensType));
      for (size_t i = 0; i < cu.size(); ++i) {
        if (m.cuSeqlensType == "i32") {
          int32_t x = static_cast<int32_t>(cu[i]);
          std::memcpy(bytes.data() + 4 * i, &x, 4);
        } else {
          std::memcpy(bytes.data() + 8 * i, &cu[i], 8);
        }
      }
      launch.cuSeqlens = upload(bytes, m.cuSeqlensType, {N + 1});
      launch.cuSeqlensHost = cu.data();
    }
    launch.o = output(static_cast<size_t>(B * T * m.HV * m.V), m.inputType, {B, T, m.HV, m.V}, o);
    if (m.hasArg("final_state"))
      launch.finalState =
          output(static_cast<size_t>(N * m.HV * m.K * m.V), "f32", {N, m.HV, m.K, m.V}, finalState);
  }

  std::vector<float> download(DeviceBuffer *buffer, const std::string &type) {
    std::vector<unsigned char> bytes(buffer->bytes);
    Status s = driver().copyToHost(bytes.data(), buffer->ptr, bytes.size());
    EXPECT_TRUE(s.isOk()) << s.message;
    return decode(bytes, type);
  }

  LayerResult reference() const {
    LayerProblem p;
    p.gate = meta.gate;
    p.rule = meta.rule;
    p.B = B;
    p.T = T;
    p.H = meta.H;
    p.HV = meta.HV;
    p.K = meta.K;
    p.V = meta.V;
    p.scale = meta.scale;
    p.qkL2Norm = meta.qkL2norm;
    p.cuSeqlens = cu;
    p.q = in.q.data();
    p.k = in.k.data();
    p.v = in.v.data();
    p.g = meta.hasArg("g") ? in.g.data() : nullptr;
    p.beta = meta.hasArg("beta") ? in.beta.data() : nullptr;
    p.initialState = meta.hasArg("initial_state") ? in.initialState.data() : nullptr;
    return referenceRecurrence(p);
  }
};

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
  Problem p(m, c.B, c.T, 1234);
  s = kernel->launch(p.launch, nullptr);
  ASSERT_TRUE(s.isOk()) << s.message;
  s = driver().synchronize();
  ASSERT_TRUE(s.isOk()) << s.message;

  LayerResult want = p.reference();
  CaseResult r;
  r.name = c.name;
  std::vector<float> o = p.download(p.o, m.inputType);
  ErrorStats eo = compare(o.data(), want.o.data(), want.o.size());
  r.oAbs = eo.maxAbs;
  r.oRel = eo.maxRel;
  bool pass = eo.maxRel <= boundFor(m.inputType);
  EXPECT_LE(eo.maxRel, boundFor(m.inputType)) << "o, max abs " << eo.maxAbs;
  if (p.finalState) {
    std::vector<float> fs = p.download(p.finalState, "f32");
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
  Problem p(kernel->metadata(), 2, 67, 99);
  ASSERT_TRUE(kernel->launch(p.launch, nullptr).isOk());
  ASSERT_TRUE(driver().synchronize().isOk());
  std::vector<float> eager = p.download(p.o, kernel->metadata().inputType);

  using Fn = int (*)(...);
  auto sym = [](const char *n) { return reinterpret_cast<Fn>(driver().symbol(n)); };
  void *stream = nullptr, *graph = nullptr, *exec = nullptr;
  ASSERT_EQ(sym("cuStreamCreate")(&stream, 1u /*non-blocking*/), 0);
  ASSERT_EQ(sym("cuStreamBeginCapture_v2")(stream, 0 /*global*/), 0);
  s = kernel->launch(p.launch, stream); // recorded, not run
  ASSERT_TRUE(s.isOk()) << s.message;
  ASSERT_EQ(sym("cuStreamEndCapture")(stream, &graph), 0);
  ASSERT_EQ(sym("cuGraphInstantiateWithFlags")(&exec, graph, 0ull), 0);
  driver().memset(p.o->ptr, p.o->bytes);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(sym("cuGraphLaunch")(exec, stream), 0);
  ASSERT_EQ(sym("cuStreamSynchronize")(stream), 0);
  std::vector<float> replayed = p.download(p.o, kernel->metadata().inputType);
  EXPECT_EQ(replayed, eager);
  sym("cuGraphExecDestroy")(exec);
  sym("cuGraphDestroy")(graph);
  sym("cuStreamDestroy_v2")(stream);
}

TEST(GpuRuntime, InPlaceStateUpdate) {
  SKIP_WITHOUT_GPU();
  std::unique_ptr<Kernel> kernel;
  ASSERT_TRUE(Kernel::loadFiles(artifactsDir() + "/gated_deltanet_decode", kernel).isOk());
  Problem p(kernel->metadata(), 8, 1, 5);
  p.launch.finalState = p.launch.initialState; // decode writes the new state over the old
  ASSERT_TRUE(kernel->launch(p.launch, nullptr).isOk());
  ASSERT_TRUE(driver().synchronize().isOk());
  std::vector<unsigned char> bytes(p.in.initialState.size() * 4);
  driver().copyToHost(bytes.data(), p.launch.initialState.data, bytes.size());
  std::vector<float> updated = decode(bytes, "f32");
  LayerResult want = p.reference();
  ErrorStats e = compare(updated.data(), want.finalState.data(), want.finalState.size());
  EXPECT_LE(e.maxRel, 1e-4);
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
  Problem p(kernel->metadata(), 5, 97, 3);
  LayerLaunch bad = p.launch;
  bad.v.data = static_cast<const char *>(bad.v.data) + 1;
  EXPECT_EQ(kernel->launch(bad, nullptr).code, Status::Code::InvalidArgument);
  std::vector<int64_t> cu = p.cu;
  cu[2] = 0;
  cu[1] = 5;
  bad = p.launch;
  bad.cuSeqlensHost = cu.data();
  Status s = kernel->launch(bad, nullptr);
  EXPECT_EQ(s.message, "cu_seqlens must not decrease: offset 2 (0) < offset 1 (5)");
  // The C API reports the same through gdn_last_error.
  gdn_kernel *handle = nullptr;
  ASSERT_EQ(gdn_kernel_load((artifactsDir() + "/gated_deltanet_varlen").c_str(), &handle), GDN_OK);
  gdn_layer_args args{};
  args.q = {p.launch.q.data, GDN_DTYPE_BF16, 4, {1, 97, 2, 128}, 0, {}};
  EXPECT_EQ(gdn_kernel_launch(handle, &args, nullptr), GDN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(gdn_last_error(), "'cu_seqlens' must have shape [N + 1] with N >= 1, got []");
  gdn_kernel_destroy(handle);
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
    f << "{\n  \"device\": \"" << driver().deviceName() << "\",\n  \"driver_cuda_version\": "
      << version << ",\n  \"commit\": \"" << (commit ? commit : "unknown") << "\",\n  \"date\": \""
      << (date ? date : "") << "\",\n  \"cases\": [\n";
    for (size_t i = 0; i < results().size(); ++i) {
      const CaseResult &r = results()[i];
      f << "    {\"case\": \"" << r.name << "\", \"o_max_abs_err\": " << r.oAbs
        << ", \"o_max_rel_err\": " << r.oRel << ", \"state_max_abs_err\": " << r.stateAbs
        << ", \"state_max_rel_err\": " << r.stateRel << ", \"pass\": "
        << (r.pass ? "true" : "false") << "}" << (i + 1 < results().size() ? "," : "") << "\n";
    }
    f << "  ]\n}\n";
  }
};

const auto *resultsWriter = testing::AddGlobalTestEnvironment(new ResultsWriter);

} // namespace
