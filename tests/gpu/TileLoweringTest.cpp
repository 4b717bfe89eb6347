//===- TileLoweringTest.cpp - tile programs lowered by gdn-tiles-to-gpu ---===//
//
// The kernels of tests/gpu/tiles.mlir (hand-written layouts, lowered by gdn-tiles-to-gpu; PTX
// from make_artifacts.py, one pointer per memref), one block each, against a float64 product
// of the same (rounded) inputs on the host. Each pair of kernels is one program under two
// layouts: both must give the product.
//
//===----------------------------------------------------------------------===//
#include "GpuSupport.h"

#include "gdn/Numeric.h"

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

namespace {

using gdn_test::driver;

using Fn = void *;
using ModuleLoadData = int (*)(void **, const void *);
using ModuleGetFunction = int (*)(Fn *, void *, const char *);
using ModuleUnload = int (*)(void *);
using LaunchKernel = int (*)(Fn, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, void *, void **, void **);

/// The PTX module of the tile programs, loaded once.
class TileModule {
public:
  static TileModule &get() {
    static TileModule m;
    return m;
  }
  std::string error;
  /// Launches `name` as one block of `threads` threads with these device pointers.
  std::string run(const char *name, unsigned threads, std::vector<void *> pointers,
                  std::vector<int64_t> scalars = {}) {
    if (!error.empty())
      return error;
    auto getFunction = reinterpret_cast<ModuleGetFunction>(driver().symbol("cuModuleGetFunction"));
    auto launch = reinterpret_cast<LaunchKernel>(driver().symbol("cuLaunchKernel"));
    if (!getFunction || !launch)
      return "no cuModuleGetFunction / cuLaunchKernel in the driver";
    Fn fn = nullptr;
    if (int rc = getFunction(&fn, module, name))
      return std::string("cuModuleGetFunction(") + name + ") failed: " + std::to_string(rc);
    std::vector<void *> params;
    for (void *&p : pointers)
      params.push_back(&p);
    for (int64_t &x : scalars) // index parameters are 64-bit
      params.push_back(&x);
    if (int rc = launch(fn, 1, 1, 1, threads, 1, 1, 0, nullptr, params.data(), nullptr))
      return std::string("cuLaunchKernel(") + name + ") failed: " + std::to_string(rc);
    if (gdn::Status s = driver().synchronize(); !s)
      return s.message;
    return "";
  }

private:
  TileModule() {
    std::ifstream in(gdn_test::artifactsDir() + "/tiles.ptx");
    if (!in) {
      error = "no " + gdn_test::artifactsDir() + "/tiles.ptx (make_artifacts.py writes it)";
      return;
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string ptx = text.str();
    auto load = reinterpret_cast<ModuleLoadData>(driver().symbol("cuModuleLoadData"));
    if (!load) {
      error = "no cuModuleLoadData in the driver";
      return;
    }
    if (int rc = load(&module, ptx.c_str()))
      error = "cuModuleLoadData(tiles.ptx) failed: " + std::to_string(rc);
  }
  void *module = nullptr;
};

/// A host matrix of 16-bit values (bf16 or f16), its float values and a device copy.
struct Operand {
  int64_t rows, cols;
  bool f16;
  std::vector<uint16_t> bits;
  std::vector<double> values;
  void *device = nullptr;
  Operand(int64_t r, int64_t c, bool half, std::mt19937 &rng) : rows(r), cols(c), f16(half) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (int64_t i = 0; i < r * c; ++i) {
      float x = u(rng);
      bits.push_back(f16 ? gdn::toF16Bits(x) : gdn::toBf16Bits(x));
      values.push_back(f16 ? gdn::fromF16Bits(bits.back()) : gdn::fromBf16Bits(bits.back()));
    }
    EXPECT_TRUE(driver().malloc(&device, bits.size() * 2).isOk());
    EXPECT_TRUE(driver().copyToDevice(device, bits.data(), bits.size() * 2).isOk());
  }
  ~Operand() { driver().free(device); }
  double at(int64_t i, int64_t j) const { return values[i * cols + j]; }
};

std::vector<double> product(const std::vector<double> &a, const std::vector<double> &b, int64_t m,
                            int64_t k, int64_t n) {
  std::vector<double> c(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t l = 0; l < k; ++l)
        c[i * n + j] += a[i * k + l] * b[l * n + j];
  return c;
}

/// Runs `name` and compares its rows x 64 f32 output (zeroed before) with `expected`: the
/// largest difference relative to the largest expected magnitude must stay within `bound`.
/// `scalars` follow the output among the kernel's parameters.
void expectKernel(const char *name, unsigned threads, std::vector<void *> inputs,
                  const std::vector<double> &expected, double bound, int64_t rows = 64,
                  std::vector<int64_t> scalars = {}) {
  void *out = nullptr;
  ASSERT_TRUE(driver().malloc(&out, rows * 64 * 4).isOk());
  ASSERT_TRUE(driver().memset(out, rows * 64 * 4).isOk());
  inputs.push_back(out);
  std::string error = TileModule::get().run(name, threads, inputs, scalars);
  std::vector<float> got(rows * 64);
  if (error.empty()) {
    EXPECT_TRUE(driver().copyToHost(got.data(), out, got.size() * 4).isOk());
  }
  driver().free(out);
  ASSERT_EQ(error, "") << name;
  double scale = 0, worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    scale = std::max(scale, std::abs(expected[i]));
    worst = std::max(worst, std::abs(got[i] - expected[i]));
  }
  EXPECT_GT(scale, 0.0);
  EXPECT_LE(worst / scale, bound) << name << ": max |error| " << worst << " of max |value| "
                                  << scale;
}

TEST(TileLowering, AProductUnderTwoWarpArrangementsGivesTheProduct) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(7);
  Operand a(64, 32, false, rng), b(32, 64, false, rng);
  std::vector<double> c = product(a.values, b.values, 64, 32, 64);
  // f32 accumulation of exact bf16 products over 32 terms.
  expectKernel("product", 128, {a.device, b.device}, c, 1e-5);
  expectKernel("product_two_warps", 64, {a.device, b.device}, c, 1e-5);
}

/// round(A B) D, the intermediate rounded as the kernel rounds it (to the operand type).
std::vector<double> chain(const Operand &a, const Operand &b, const Operand &d) {
  std::vector<double> x = product(a.values, b.values, 64, 32, 64);
  for (double &v : x)
    v = d.f16 ? gdn::roundToF16(static_cast<float>(v)) : gdn::roundToBf16(static_cast<float>(v));
  return product(x, d.values, 64, 64, 64);
}

TEST(TileLowering, AnAccumulatorBecomesAnOperandInRegistersOrThroughSharedMemory) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(11);
  Operand a(64, 32, true, rng), b(32, 64, true, rng), d(64, 64, true, rng);
  // The intermediate's rounding may differ by one unit where f32 sums land near a tie.
  expectKernel("chain", 128, {a.device, b.device, d.device}, chain(a, b, d), 2e-3);
  Operand ab(64, 32, false, rng), bb(32, 64, false, rng), db(64, 64, false, rng);
  expectKernel("chain_through_shared", 128, {ab.device, bb.device, db.device}, chain(ab, bb, db),
               1e-2);
}

TEST(TileLowering, ALoopCarriesItsAccumulatorAndBlockedTilesMultiply) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(13);
  Operand a(64, 128, false, rng), b(128, 64, false, rng);
  std::vector<float> e(64 * 64);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  for (float &x : e)
    x = u(rng);
  void *eDevice = nullptr;
  ASSERT_TRUE(driver().malloc(&eDevice, e.size() * 4).isOk());
  ASSERT_TRUE(driver().copyToDevice(eDevice, e.data(), e.size() * 4).isOk());
  std::vector<double> c = product(a.values, b.values, 64, 128, 64);
  for (size_t i = 0; i < c.size(); ++i)
    c[i] *= e[i];
  expectKernel("accumulate", 128, {a.device, b.device, eDevice}, c, 1e-5);
  driver().free(eDevice);
}

std::vector<double> transposeOf(const std::vector<double> &x, int64_t rows, int64_t cols) {
  std::vector<double> t(x.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      t[j * rows + i] = x[i * cols + j];
  return t;
}

TEST(TileLowering, TransposedAccumulatorsAndTransposedOperandsGiveTheProduct) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(17);
  Operand a(64, 32, false, rng), b(32, 64, false, rng);
  expectKernel("transposed_product", 128, {a.device, b.device},
               product(a.values, b.values, 64, 32, 64), 1e-5);
  Operand at(32, 64, false, rng);
  expectKernel("transpose_a", 128, {at.device, b.device},
               product(transposeOf(at.values, 32, 64), b.values, 64, 32, 64), 1e-5);
}

TEST(TileLowering, AStateHeldTransposedIsUpdatedFromRegisters) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(19);
  Operand w(64, 64, false, rng), k(64, 64, false, rng);
  std::vector<float> s(64 * 64);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float &x : s)
    x = u(rng);
  void *sDevice = nullptr;
  ASSERT_TRUE(driver().malloc(&sDevice, s.size() * 4).isOk());
  ASSERT_TRUE(driver().copyToDevice(sDevice, s.data(), s.size() * 4).isOk());
  // S + K^T round(W round(S)), rounded where the kernel rounds operands to bf16.
  std::vector<double> sr(s.size());
  for (size_t i = 0; i < s.size(); ++i)
    sr[i] = gdn::roundToBf16(s[i]);
  std::vector<double> p = product(w.values, sr, 64, 64, 64);
  for (double &x : p)
    x = gdn::roundToBf16(static_cast<float>(x));
  std::vector<double> expected = product(transposeOf(k.values, 64, 64), p, 64, 64, 64);
  for (size_t i = 0; i < expected.size(); ++i)
    expected[i] += s[i];
  expectKernel("state_update", 128, {sDevice, w.device, k.device}, expected, 1e-2);
  driver().free(sDevice);
}

TEST(TileLowering, AShortChunkIsMaskedAtItsRowsAndHeldAtItsBound) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(23);
  Operand a(32, 32, false, rng), b(32, 64, false, rng);
  for (int64_t n : {19, 32, 1}) {
    // Rows past n stay as zeroed: the kernel neither reads A there nor writes C.
    std::vector<double> expected = product(a.values, b.values, 32, 32, 64);
    for (int64_t i = n * 64; i < 32 * 64; ++i)
      expected[i] = 0.0;
    expectKernel("short_chunk", 64, {a.device, b.device}, expected, 1e-5, 32, {n});
  }
}

TEST(TileLowering, GatesDecaysAndRowFactorsOnAShortChunk) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(29);
  std::uniform_real_distribution<float> gate(-0.2f, 0.f), unit(0.f, 1.f), value(-1.f, 1.f);
  std::vector<float> g(64), beta(64), x(64 * 64), s(64 * 64);
  for (float &v : g)
    v = gate(rng);
  for (float &v : beta)
    v = unit(rng);
  for (float &v : x)
    v = value(rng);
  for (float &v : s)
    v = value(rng);
  auto upload = [](const std::vector<float> &host) {
    void *p = nullptr;
    EXPECT_TRUE(driver().malloc(&p, host.size() * 4).isOk());
    EXPECT_TRUE(driver().copyToDevice(p, host.data(), host.size() * 4).isOk());
    return p;
  };
  void *gD = upload(g), *betaD = upload(beta), *xD = upload(x), *sD = upload(s);
  for (int64_t n : {64, 37, 1}) {
    std::vector<void *> outs(3);
    for (void *&o : outs) {
      ASSERT_TRUE(driver().malloc(&o, 64 * 64 * 4).isOk());
      ASSERT_TRUE(driver().memset(o, 64 * 64 * 4).isOk());
    }
    std::string error =
        TileModule::get().run("gates", 128, {gD, betaD, xD, sD, outs[0], outs[1], outs[2]}, {n});
    ASSERT_EQ(error, "");
    std::vector<double> G(64, 0.0);
    for (int64_t i = 0; i < n; ++i)
      G[i] = (i ? G[i - 1] : 0.0) + g[i];
    std::vector<std::vector<double>> expected(3, std::vector<double>(64 * 64, 0.0));
    for (int64_t i = 0; i < 64; ++i)
      for (int64_t c = 0; c < 64; ++c) {
        if (i < n) {
          expected[0][i * 64 + c] = 0.5 * beta[i] * std::exp(G[i]) * x[i * 64 + c];
          expected[1][i * 64 + c] = std::exp(G[n - 1] - G[i]) * x[i * 64 + c];
        }
        expected[2][i * 64 + c] = std::exp(G[n - 1]) * s[i * 64 + c];
      }
    for (int o = 0; o < 3; ++o) {
      std::vector<float> got(64 * 64);
      ASSERT_TRUE(driver().copyToHost(got.data(), outs[o], got.size() * 4).isOk());
      double worst = 0;
      for (size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::abs(got[i] - expected[o][i]));
      // f32 cumulative sums (|G| < 13) and ex2.approx, on values below 1 in magnitude.
      EXPECT_LE(worst, 1e-5) << "output " << o + 1 << " at n = " << n;
      driver().free(outs[o]);
    }
  }
  for (void *p : {gD, betaD, xD, sD})
    driver().free(p);
}

TEST(TileLowering, TheDeltaRulePrepGramScaleAndSolve) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(31);
  // Keys of norm about 1 per row (as after L2 normalisation), so (I + A) is well conditioned.
  std::uniform_real_distribution<float> key(-0.2f, 0.2f), gate(-0.1f, 0.f), unit(0.f, 1.f);
  std::vector<uint16_t> kBits(64 * 64);
  std::vector<double> k(64 * 64);
  for (size_t i = 0; i < k.size(); ++i) {
    kBits[i] = gdn::toBf16Bits(key(rng));
    k[i] = gdn::fromBf16Bits(kBits[i]);
  }
  std::vector<float> g(64), beta(64);
  for (float &v : g)
    v = gate(rng);
  for (float &v : beta)
    v = unit(rng);
  void *kD = nullptr, *gD = nullptr, *betaD = nullptr;
  ASSERT_TRUE(driver().malloc(&kD, kBits.size() * 2).isOk());
  ASSERT_TRUE(driver().copyToDevice(kD, kBits.data(), kBits.size() * 2).isOk());
  ASSERT_TRUE(driver().malloc(&gD, 64 * 4).isOk());
  ASSERT_TRUE(driver().copyToDevice(gD, g.data(), 64 * 4).isOk());
  ASSERT_TRUE(driver().malloc(&betaD, 64 * 4).isOk());
  ASSERT_TRUE(driver().copyToDevice(betaD, beta.data(), 64 * 4).isOk());
  for (int64_t n : {64, 45}) {
    std::vector<double> G(n);
    for (int64_t i = 0; i < n; ++i)
      G[i] = (i ? G[i - 1] : 0.0) + g[i];
    // A = strictly_lower(diag(beta) (K K^T .* exp(G_i - G_j))), Tm = (I + A)^-1.
    std::vector<double> a(n * n, 0.0), tm(64 * 64, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < i; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < 64; ++c)
          dot += k[i * 64 + c] * k[j * 64 + c];
        a[i * n + j] = beta[i] * dot * std::exp(G[i] - G[j]);
      }
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = j; i < n; ++i) {
        double t = i == j ? 1.0 : 0.0;
        for (int64_t l = j; l < i; ++l)
          t -= a[i * n + l] * tm[l * 64 + j];
        tm[i * 64 + j] = t;
      }
    expectKernel("prep", 128, {kD, gD, betaD}, tm, 1e-5, 64, {n});
  }
  for (void *p : {kD, gD, betaD})
    driver().free(p);
}

TEST(TileLowering, RowsAreL2Normalised) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(37);
  std::uniform_real_distribution<float> value(-1.f, 1.f);
  std::vector<float> x(64 * 64);
  for (float &v : x)
    v = value(rng);
  void *xD = nullptr;
  ASSERT_TRUE(driver().malloc(&xD, x.size() * 4).isOk());
  ASSERT_TRUE(driver().copyToDevice(xD, x.data(), x.size() * 4).isOk());
  for (int64_t n : {64, 21}) {
    std::vector<double> expected(64 * 64, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (int64_t c = 0; c < 64; ++c)
        sum += double(x[i * 64 + c]) * x[i * 64 + c];
      for (int64_t c = 0; c < 64; ++c)
        expected[i * 64 + c] = x[i * 64 + c] / std::sqrt(sum + 1e-6);
    }
    // rsqrt.approx: relative error about 2^-22.
    expectKernel("l2norm", 128, {xD}, expected, 1e-5, 64, {n});
  }
  driver().free(xD);
}

} // namespace
