// GPU edges (ctest label "gpu"): sequences of 2^20 tokens (B 1, H 4) and of 2^22 tokens
// (B 1, H = HV = 8, K = V = 128: q, k, v and o each hold 2^32 elements, past 32-bit indexing),
// and extreme gates and betas (g = 0 and -20, beta 0 and 1), on every kernel kind: chunked
// (default tiling), chunked with 8 segments, recurrent and the generic fused kernel.
//
// Checking 2^22 tokens against a float64 recurrence would take hours, so the long inputs are
// built so that a short one gives the same answer: k and v are zero except in windows (the
// first and last tokens, and around the tokens where element or byte offsets pass 2^31), so
// every other token only decays the state (by a small gate, about e^-4 over the sequence).
// The reference then runs on the kept tokens alone (the windows plus random samples across the
// sequence, whose outputs are read), each with the log-gates of the tokens skipped since the
// previous kept one added to its own. q is
// random everywhere (from a hash of its element index, so no two regions look alike), and
// every kept token's output and the final state are compared.
#include "GpuSupport.h"
#include "gdn/Numeric.h"
#include "gdn/Reference.h"
#include "gdn/Runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <thread>
#include <vector>

using namespace gdn;

namespace {

uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/// Uniform in [-1, 1) from a hash of (stream, index).
float uniform(uint64_t stream, uint64_t index) {
  return static_cast<float>(
      static_cast<double>(mix(stream * 0x100000001B3ull + index) >> 11) * 0x1.0p-52 - 1.0);
}

struct EdgeInputs {
  int64_t T = 0, H = 0, K = 128, V = 128;
  std::set<int64_t> active; ///< tokens with k, v (state-changing); all kept
  std::set<int64_t> kept;   ///< tokens the reference runs and whose outputs are compared
  float gInside = -0.05f;   ///< active tokens: g uniform in [gInside, 0] (or exactly it)
  float gOutside = 0.0f;    ///< other tokens' g
  bool gExact = false;      ///< every g is exactly gInside / gOutside
  float beta = -1.0f;       ///< < 0: uniform in [0, 1]; else this value everywhere

  float q(int64_t t, int64_t h, int64_t c) const {
    return roundToBf16(uniform(1, (t * H + h) * K + c));
  }
  float k(int64_t t, int64_t h, int64_t c) const {
    return active.count(t) ? roundToBf16(uniform(2, (t * H + h) * K + c)) : 0.0f;
  }
  float v(int64_t t, int64_t h, int64_t c) const {
    return active.count(t) ? roundToBf16(uniform(3, (t * H + h) * V + c)) : 0.0f;
  }
  float g(int64_t t, int64_t h) const {
    float bound = active.count(t) ? gInside : gOutside;
    return gExact ? bound : bound * 0.5f * (1.0f + uniform(4, t * H + h));
  }
  float betaAt(int64_t t, int64_t h) const {
    return beta >= 0 ? beta : 0.5f * (1.0f + uniform(5, t * H + h));
  }
  float h0(int64_t i) const { return 0.1f * uniform(6, static_cast<uint64_t>(i)); }
};

/// Windows of `width` tokens at the start, the end and around each of `centres`, plus
/// `samples` random tokens (kept, not active).
EdgeInputs sparseInputs(int64_t T, int64_t H, std::vector<int64_t> centres, int64_t width,
                        int samples) {
  EdgeInputs in;
  in.T = T;
  in.H = H;
  centres.push_back(0);
  centres.push_back(T);
  for (int64_t c : centres)
    for (int64_t t = std::max<int64_t>(0, c - width / 2); t < std::min(T, c + width / 2 + 1); ++t)
      in.active.insert(t);
  for (int64_t t = std::max<int64_t>(0, T - width); t < T; ++t)
    in.active.insert(t);
  in.kept = in.active;
  for (int i = 0; i < samples; ++i)
    in.kept.insert(static_cast<int64_t>(mix(1000 + i) % static_cast<uint64_t>(T)));
  return in;
}

/// Device tensors of one layer (B = 1), filled from `in`.
struct DeviceEdge {
  std::vector<void *> buffers;
  LayerLaunch launch;
  ~DeviceEdge() {
    for (void *p : buffers)
      gdn_test::driver().free(p);
  }
  void *alloc(size_t bytes) {
    void *p = nullptr;
    EXPECT_TRUE(gdn_test::driver().malloc(&p, bytes).isOk());
    if (p)
      buffers.push_back(p);
    return p;
  }
};

bool upload(const EdgeInputs &in, DeviceEdge &d) {
  Driver &drv = gdn_test::driver();
  const int64_t T = in.T, H = in.H, K = in.K, V = in.V;
  size_t rowQ = static_cast<size_t>(H * K), rowV = static_cast<size_t>(H * V);
  char *q = static_cast<char *>(d.alloc(T * rowQ * 2));
  char *k = static_cast<char *>(d.alloc(T * rowQ * 2));
  char *v = static_cast<char *>(d.alloc(T * rowV * 2));
  char *o = static_cast<char *>(d.alloc(T * rowV * 2));
  float *g = static_cast<float *>(d.alloc(T * H * 4));
  float *beta = static_cast<float *>(d.alloc(T * H * 4));
  float *h0 = static_cast<float *>(d.alloc(H * K * V * 4));
  float *hT = static_cast<float *>(d.alloc(H * K * V * 4));
  if (!q || !k || !v || !o || !g || !beta || !h0 || !hT)
    return false;
  // q everywhere, in blocks of tokens filled by all cores.
  const int64_t block = 1 << 16;
  std::vector<uint16_t> bits(block * rowQ);
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (int64_t t0 = 0; t0 < T; t0 += block) {
    int64_t n = std::min(block, T - t0);
    std::vector<std::thread> pool;
    for (unsigned w = 0; w < threads; ++w)
      pool.emplace_back([&, w] {
        for (int64_t t = w; t < n; t += threads)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t c = 0; c < K; ++c)
              bits[(t * H + h) * K + c] = toBf16Bits(in.q(t0 + t, h, c));
      });
    for (auto &th : pool)
      th.join();
    if (!drv.copyToDevice(q + t0 * rowQ * 2, bits.data(), n * rowQ * 2).isOk())
      return false;
  }
  // k and v: zero, then the active rows.
  if (!drv.memset(k, T * rowQ * 2).isOk() || !drv.memset(v, T * rowV * 2).isOk() ||
      !drv.memset(o, T * rowV * 2).isOk())
    return false;
  std::vector<uint16_t> kr(rowQ), vr(rowV);
  for (int64_t t : in.active) {
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t c = 0; c < K; ++c)
        kr[h * K + c] = toBf16Bits(in.k(t, h, c));
      for (int64_t c = 0; c < V; ++c)
        vr[h * V + c] = toBf16Bits(in.v(t, h, c));
    }
    if (!drv.copyToDevice(k + t * rowQ * 2, kr.data(), rowQ * 2).isOk() ||
        !drv.copyToDevice(v + t * rowV * 2, vr.data(), rowV * 2).isOk())
      return false;
  }
  std::vector<float> gh(T * H), bh(T * H), sh(H * K * V);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      gh[t * H + h] = in.g(t, h);
      bh[t * H + h] = in.betaAt(t, h);
    }
  for (int64_t i = 0; i < H * K * V; ++i)
    sh[i] = in.h0(i);
  if (!drv.copyToDevice(g, gh.data(), gh.size() * 4).isOk() ||
      !drv.copyToDevice(beta, bh.data(), bh.size() * 4).isOk() ||
      !drv.copyToDevice(h0, sh.data(), sh.size() * 4).isOk())
    return false;
  LayerLaunch &l = d.launch;
  l.q = {q, "bf16", {1, T, H, K}, {}};
  l.k = {k, "bf16", {1, T, H, K}, {}};
  l.v = {v, "bf16", {1, T, H, V}, {}};
  l.g = {g, "f32", {1, T, H}, {}};
  l.beta = {beta, "f32", {1, T, H}, {}};
  l.initialState = {h0, "f32", {1, H, K, V}, {}};
  l.o = {o, "bf16", {1, T, H, V}, {}};
  l.finalState = {hT, "f32", {1, H, K, V}, {}};
  return true;
}

/// The float64 reference on the kept tokens (skipped tokens' log-gates folded in).
LayerResult compactReference(const EdgeInputs &in, double scale) {
  const int64_t H = in.H, K = in.K, V = in.V, n = static_cast<int64_t>(in.kept.size());
  std::vector<float> q(n * H * K), k(n * H * K), v(n * H * V), g(n * H), beta(n * H), h0(H * K * V);
  std::vector<double> skipped(H, 0.0);
  int64_t j = 0, previous = -1;
  for (int64_t t : in.kept) {
    for (int64_t h = 0; h < H; ++h) {
      double sum = 0;
      for (int64_t u = previous + 1; u < t; ++u)
        sum += in.g(u, h);
      g[j * H + h] = static_cast<float>(sum + in.g(t, h));
      beta[j * H + h] = in.betaAt(t, h);
      for (int64_t c = 0; c < K; ++c) {
        q[(j * H + h) * K + c] = in.q(t, h, c);
        k[(j * H + h) * K + c] = in.k(t, h, c);
      }
      for (int64_t c = 0; c < V; ++c)
        v[(j * H + h) * V + c] = in.v(t, h, c);
    }
    previous = t;
    ++j;
  }
  for (int64_t i = 0; i < H * K * V; ++i)
    h0[i] = in.h0(i);
  LayerProblem p;
  p.gate = GateKind::Scalar;
  p.rule = UpdateRule::Delta;
  p.B = 1;
  p.T = n;
  p.H = p.HV = H;
  p.K = K;
  p.V = V;
  p.scale = scale;
  p.qkL2Norm = true;
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.g = g.data();
  p.beta = beta.data();
  p.initialState = h0.data();
  return referenceRecurrence(p);
}

/// Runs `kernel` on the device inputs and compares the kept tokens' outputs and the final
/// state with `want`.
void runAndCompare(const std::string &name, const EdgeInputs &in, DeviceEdge &d,
                   const LayerResult &want) {
  std::unique_ptr<Kernel> kernel;
  Status s = Kernel::loadFiles(gdn_test::artifactsDir() + "/" + name, kernel);
  ASSERT_TRUE(s.isOk()) << s.message;
  Driver &drv = gdn_test::driver();
  ASSERT_TRUE(drv.memset(const_cast<void *>(d.launch.o.data), in.T * in.H * in.V * 2).isOk());
  auto start = std::chrono::steady_clock::now();
  s = kernel->launch(d.launch, nullptr);
  ASSERT_TRUE(s.isOk()) << s.message;
  s = drv.synchronize();
  ASSERT_TRUE(s.isOk()) << name << ": " << s.message;
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const int64_t rowV = in.H * in.V;
  std::vector<float> o;
  std::vector<uint16_t> row(rowV);
  for (int64_t t : in.kept) {
    const char *src = static_cast<const char *>(d.launch.o.data) + t * rowV * 2;
    ASSERT_TRUE(drv.copyToHost(row.data(), src, rowV * 2).isOk());
    for (uint16_t b : row)
      o.push_back(fromBf16Bits(b));
  }
  std::vector<float> state(in.H * in.K * in.V);
  ASSERT_TRUE(drv.copyToHost(state.data(), d.launch.finalState.data, state.size() * 4).isOk());
  ErrorStats eo = compare(o.data(), want.o.data(), want.o.size());
  ErrorStats es = compare(state.data(), want.finalState.data(), want.finalState.size());
  const KernelMetadata &m = kernel->metadata();
  double stateBound = m.kind == "chunked" ? 2e-2 : 1e-4;
  std::printf("gdn-edge %s T %lld H %lld g [%g, %g] beta %g: %zu tokens compared, o max rel %.3e, "
              "final state max rel %.3e, %.1f ms (launch to sync)\n",
              name.c_str(), static_cast<long long>(in.T), static_cast<long long>(in.H), in.gInside,
              in.gOutside, in.beta, in.kept.size(), eo.maxRel, es.maxRel, ms);
  EXPECT_LE(eo.maxRel, 2e-2) << name << ": o, max abs " << eo.maxAbs;
  EXPECT_LE(es.maxRel, stateBound) << name << ": final state, max abs " << es.maxAbs;
}

// Needs no GPU: the compact reference (kept tokens, skipped log-gates folded in) gives the
// full float64 recurrence's outputs at the kept tokens and its final state.
TEST(GpuEdges, CompactReferenceMatchesTheFullRecurrence) {
  EdgeInputs in = sparseInputs(3000, 2, {1500}, 64, 40);
  in.gOutside = -0.01f; // skipped tokens decay the state: their gates must be folded in
  LayerResult compact = compactReference(in, 0.125);
  EdgeInputs all = in;
  for (int64_t t = 0; t < in.T; ++t)
    all.kept.insert(t);
  LayerResult full = compactReference(all, 0.125); // every token kept: the plain recurrence
  std::vector<double> atKept;
  const int64_t row = in.H * in.V;
  for (int64_t t : in.kept)
    atKept.insert(atKept.end(), full.o.begin() + t * row, full.o.begin() + (t + 1) * row);
  ASSERT_EQ(atKept.size(), compact.o.size());
  // The folded gate is a float (the reference takes float gates): its rounding, not the
  // method, is what differs, by about 1e-8.
  EXPECT_LE(compare(compact.o.data(), atKept.data(), atKept.size()).maxRel, 1e-7);
  EXPECT_LE(
      compare(compact.finalState.data(), full.finalState.data(), full.finalState.size()).maxRel,
      1e-7);
  // The folding matters: with the skipped tokens' gates left out, the answer differs.
  EdgeInputs unfolded = in;
  unfolded.gOutside = 0.0f; // same gates at the kept tokens, none folded in between
  LayerResult wrong = compactReference(unfolded, 0.125);
  EXPECT_GT(compare(wrong.finalState.data(), full.finalState.data(), full.finalState.size()).maxRel,
            1e-3);
}

/// The kernel kinds to run: all, or those GDN_EDGE_KINDS lists ("chunked,segments": what
/// scripts/gpu-tests runs under memcheck at 2^32 elements, where the recurrent and generic
/// kernels would take hours).
std::vector<std::string> edgeKinds() {
  std::vector<std::string> all = {"chunked", "segments", "recurrent", "generic"}, chosen;
  const char *env = std::getenv("GDN_EDGE_KINDS");
  for (const std::string &k : all)
    if (!env || ("," + std::string(env) + ",").find("," + k + ",") != std::string::npos)
      chosen.push_back(k);
  return chosen;
}

/// Skips (with the reason) when the GPU has less free memory than `bytes`.
#define SKIP_WITHOUT_MEMORY(bytes)                                                                 \
  if (size_t free = freeDeviceBytes(); free < (bytes))                                             \
  GTEST_SKIP() << "needs " << ((bytes) >> 30) << " GiB of GPU memory, " << (free >> 30)            \
               << " GiB free"

size_t freeDeviceBytes() {
  using Fn = int (*)(size_t *, size_t *);
  auto fn = reinterpret_cast<Fn>(gdn_test::driver().symbol("cuMemGetInfo_v2"));
  size_t free = 0, total = 0;
  return fn && fn(&free, &total) == 0 ? free : 0;
}

TEST(GpuEdges, MillionTokenSequenceOnEveryKernelKind) {
  SKIP_WITHOUT_GPU();
  SKIP_WITHOUT_MEMORY(size_t(12) << 30);
  EdgeInputs in = sparseInputs(int64_t(1) << 20, 4, {int64_t(1) << 19}, 512, 512);
  in.gOutside = -4e-6f; // about e^-4 over the sequence: the state decays but survives
  DeviceEdge d;
  ASSERT_TRUE(upload(in, d));
  LayerResult want = compactReference(in, 1.0 / std::sqrt(128.0));
  for (const std::string &kind : edgeKinds())
    runAndCompare("edge_" + kind + "_h4", in, d, want);
}

// 2^22 tokens x 8 heads x 128 = 2^32 elements in each of q, k, v, o: windows where element
// offsets pass 2^31 (token 2^21) and byte offsets pass 2^31 (token 2^20) and 2^32 (2^21).
TEST(GpuEdges, TensorsPast2To31ElementsOnEveryKernelKind) {
  SKIP_WITHOUT_GPU();
  SKIP_WITHOUT_MEMORY(size_t(40) << 30); // q, k, v, o: 8 GiB each, and the workspace
  const int64_t T = int64_t(1) << 22;
  EdgeInputs in =
      sparseInputs(T, 8, {int64_t(1) << 20, int64_t(1) << 21, 3 * (int64_t(1) << 20)}, 256, 512);
  in.gOutside = -1e-6f; // about e^-4 over the sequence
  DeviceEdge d;
  ASSERT_TRUE(upload(in, d));
  LayerResult want = compactReference(in, 1.0 / std::sqrt(128.0));
  for (const std::string &kind : edgeKinds())
    runAndCompare("edge_" + kind + "_h8", in, d, want);
}

TEST(GpuEdges, ExtremeGatesAndBetasOnEveryKernelKind) {
  SKIP_WITHOUT_GPU();
  for (float g : {0.0f, -20.0f})
    for (float beta : {0.0f, 1.0f}) {
      EdgeInputs in;
      in.T = 777;
      in.H = 4;
      for (int64_t t = 0; t < in.T; ++t)
        in.active.insert(t);
      in.kept = in.active;
      in.gInside = in.gOutside = g;
      in.gExact = true;
      in.beta = beta;
      DeviceEdge d;
      ASSERT_TRUE(upload(in, d));
      LayerResult want = compactReference(in, 1.0 / std::sqrt(128.0));
      for (const std::string &kind : edgeKinds())
        runAndCompare("edge_" + kind + "_h4", in, d, want);
    }
}

} // namespace
