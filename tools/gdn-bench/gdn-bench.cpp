//===- gdn-bench.cpp - the benchmark cases without Python -----------------===//
//
//   gdn-bench --kernels build/bench-kernels [--out results.json] [--cases a,b]
//             [--segments 0,1,2,4,8]
//
// Runs gdn's kernels (compiled by bench/make_kernels.py) on the cases of the side-by-side
// benchmark, with random inputs, and times them the way bench/gdn_vs_fla.py does: replayed
// from a CUDA graph (median per launch) and eagerly with CUDA events (median). It measures
// the device copy bandwidth and reports the IO roofline. `--segments` times each case once per
// listed count (LayerLaunch::segments; 0: the kernel's own choice), for kernels with a
// segmented state pass, and records the count each run used. Needs no MLIR and no Python;
// flash-linear-attention's column needs the Python harness. (The packed batch splits its
// tokens evenly after an empty and a one-token sequence, not in the harness's lengths.)
//
//===----------------------------------------------------------------------===//
#include "gdn/DeviceLayer.h"
#include "gdn/Runtime.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <locale>
#include <set>
#include <sstream>
#include <vector>

using namespace gdn;

namespace {

struct Case {
  std::string name;
  int64_t B, T, H, HV, K;
  std::string kernel;
};

// The cases of bench/gdn_vs_fla.py (Gated DeltaNet, bf16, V = K; the kda_ ones KDA: channel
// gates).
std::vector<Case> benchmarkCases() {
  return {{"1x8192_16/16", 1, 8192, 16, 16, 128, "gdn_h16_hv16_k128_few"},
          {"4x4096_32/32", 4, 4096, 32, 32, 128, "gdn_h32_hv32_k128"},
          {"1x32768_32/32", 1, 32768, 32, 32, 128, "gdn_h32_hv32_k128_few"},
          {"8x2048_16/32", 8, 2048, 16, 32, 128, "gdn_h16_hv32_k128"},
          {"1x8192_16/32", 1, 8192, 16, 32, 128, "gdn_h16_hv32_k128_few"},
          {"2x4096_16/16_k256", 2, 4096, 16, 16, 256, "gdn_h16_hv16_k256"},
          {"16x1024_16/16", 16, 1024, 16, 16, 128, "gdn_h16_hv16_k128"},
          {"1x2048_2/8", 1, 2048, 2, 8, 128, "gdn_h2_hv8_k128"},
          {"1x8192_2/8", 1, 8192, 2, 8, 128, "gdn_h2_hv8_k128"},
          {"1x32768_2/8", 1, 32768, 2, 8, 128, "gdn_h2_hv8_k128_long"},
          {"1x65536_2/8", 1, 65536, 2, 8, 128, "gdn_h2_hv8_k128_long"},
          {"1x65536_16/32", 1, 65536, 16, 32, 128, "gdn_h16_hv32_k128_few"},
          {"varlen_8x_16384_16/32", 8, 16384, 16, 32, 128, "gdn_h16_hv32_k128_varlen"},
          {"decode_B1_16/32", 1, 1, 16, 32, 128, "gdn_h16_hv32_k128_decode_b1"},
          {"decode_B64_16/32", 64, 1, 16, 32, 128, "gdn_h16_hv32_k128_decode_b64"},
          {"decode_B256_16/32", 256, 1, 16, 32, 128, "gdn_h16_hv32_k128_decode_b256"},
          {"kda_4x4096_32/32", 4, 4096, 32, 32, 128, "kda_h32_hv32_k128"},
          {"kda_1x8192_16/16", 1, 8192, 16, 16, 128, "kda_h16_hv16_k128"}};
}

/// The driver entry points timing needs, by name.
struct Timing {
  using Fn = int (*)(...);
  Driver &driver;
  Fn eventCreate, eventRecord, eventSync, eventElapsed, eventDestroy, streamCreate, streamDestroy,
      beginCapture, endCapture, instantiate, graphLaunch, graphDestroy, execDestroy, streamSync,
      copyDtoD;

  explicit Timing(Driver &d) : driver(d) {
    auto f = [&](const char *n) { return reinterpret_cast<Fn>(d.symbol(n)); };
    eventCreate = f("cuEventCreate");
    eventRecord = f("cuEventRecord");
    eventSync = f("cuEventSynchronize");
    eventElapsed = f("cuEventElapsedTime");
    eventDestroy = f("cuEventDestroy_v2");
    streamCreate = f("cuStreamCreate");
    streamDestroy = f("cuStreamDestroy_v2");
    beginCapture = f("cuStreamBeginCapture_v2");
    endCapture = f("cuStreamEndCapture");
    instantiate = f("cuGraphInstantiateWithFlags");
    graphLaunch = f("cuGraphLaunch");
    graphDestroy = f("cuGraphDestroy");
    execDestroy = f("cuGraphExecDestroy");
    streamSync = f("cuStreamSynchronize");
    copyDtoD = f("cuMemcpyDtoDAsync_v2");
  }

  /// Median over `reps` of (time of `work` on `stream`) / `per`.
  double median(void *stream, int reps, int per, const std::function<void()> &work) {
    void *start = nullptr, *end = nullptr;
    eventCreate(&start, 0u);
    eventCreate(&end, 0u);
    std::vector<double> times;
    for (int i = 0; i < reps; ++i) {
      eventRecord(start, stream);
      work();
      eventRecord(end, stream);
      eventSync(end);
      float ms = 0;
      eventElapsed(&ms, start, end);
      times.push_back(ms / per);
    }
    eventDestroy(start);
    eventDestroy(end);
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  }

  /// Launch time replayed from a CUDA graph of `inner` launches, and eager.
  Status time(const Kernel &kernel, const LayerLaunch &launch, double &graphMs, double &eagerMs) {
    void *stream = nullptr, *graph = nullptr, *exec = nullptr;
    streamCreate(&stream, 1u);
    for (int i = 0; i < 3; ++i) // warm-up
      if (Status s = kernel.launch(launch, stream); !s)
        return s;
    streamSync(stream);
    eagerMs = median(stream, 10, 1, [&] { kernel.launch(launch, stream); });
    int inner = std::clamp(static_cast<int>(1.0 / std::max(eagerMs, 1e-3)), 1, 50);
    beginCapture(stream, 0);
    for (int i = 0; i < inner; ++i)
      kernel.launch(launch, stream);
    endCapture(stream, &graph);
    instantiate(&exec, graph, 0ull);
    graphLaunch(exec, stream);
    streamSync(stream);
    graphMs = median(stream, 20, inner, [&] { graphLaunch(exec, stream); });
    execDestroy(exec);
    graphDestroy(graph);
    streamDestroy(stream);
    return driver.synchronize();
  }

  /// Device copy bandwidth (bytes read + written per second) over 1 GiB.
  double copyBandwidth() {
    size_t n = size_t(1) << 30;
    void *a = nullptr, *b = nullptr;
    if (!driver.malloc(&a, n) || !driver.malloc(&b, n))
      return 0;
    void *stream = nullptr;
    streamCreate(&stream, 1u);
    auto copy = [&] {
      copyDtoD(reinterpret_cast<unsigned long long>(b), reinterpret_cast<unsigned long long>(a), n,
               stream);
    };
    copy();
    double ms = median(stream, 10, 1, copy);
    streamDestroy(stream);
    driver.free(a);
    driver.free(b);
    return 2.0 * double(n) / (ms * 1e-3);
  }
};

/// Bytes that must move: q, k, v, o (bf16), g, beta (f32), the state read and written.
double ioBytes(const Case &c, const DeviceLayer &layer, bool channelGates) {
  double bt = double(layer.B) * double(layer.T);
  double gates = bt * c.HV * (channelGates ? c.K : 1) * 4;
  return (2 * bt * c.H * c.K + 2 * bt * c.HV * c.K) * 2 + gates + bt * c.HV * 4 +
         2.0 * double(layer.N) * c.HV * c.K * c.K * 4;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"gdn's kernels on the benchmark cases, timed from CUDA graphs and eagerly"};
  std::string kernels = "build/bench-kernels", out, only, segmentList = "0";
  app.add_option("--kernels", kernels, "Folder of the benchmark kernels (bench/make_kernels.py)");
  app.add_option("--out", out, "JSON results file");
  app.add_option("--cases", only, "Comma-separated case names (default: all)");
  bool prefillOnly = false;
  app.add_flag("--prefill-only", prefillOnly,
               "Only the prefill cases (for folders from bench/make_kernels.py --prefill-only)");
  app.add_option("--segments", segmentList,
                 "Comma-separated segment counts to time each segmented kernel with (0: the "
                 "kernel's own choice, the default)");
  const char *commitEnv = std::getenv("GDN_COMMIT");
  std::string commit = commitEnv && *commitEnv ? commitEnv : "unknown";
  app.add_option("--commit", commit,
                 "Commit recorded in the JSON results (default: $GDN_COMMIT, else unknown)");
  CLI11_PARSE(app, argc, argv);
  std::set<std::string> wanted;
  std::stringstream list(only);
  for (std::string c; std::getline(list, c, ',');)
    if (!c.empty())
      wanted.insert(c);
  std::vector<int64_t> segmentCounts;
  std::stringstream counts(segmentList);
  for (std::string c; std::getline(counts, c, ',');) {
    char *end = nullptr;
    long v = std::strtol(c.c_str(), &end, 10);
    if (c.empty() || *end || v < 0 || v > 64) {
      std::fprintf(stderr, "gdn-bench: --segments: '%s' is not a count in 0..64\n", c.c_str());
      return 1;
    }
    segmentCounts.push_back(v);
  }
  if (segmentCounts.empty())
    segmentCounts.push_back(0);

  Driver *driver = nullptr;
  Status s = Driver::get(driver);
  if (s)
    s = driver->makeContextCurrent();
  if (!s) {
    std::fprintf(stderr, "gdn-bench: %s\n", s.message.c_str());
    return 1;
  }
  Timing timing(*driver);
  double bandwidth = timing.copyBandwidth();
  std::printf("%s, copy bandwidth %.2f TB/s\n", driver->deviceName().c_str(), bandwidth / 1e12);
  std::printf("%-24s %-9s %4s %9s %9s %9s %9s\n", "case", "kernel", "seg", "gdn ms", "serial ms",
              "eager ms", "roofline");
  std::ostringstream json;
  json.imbue(std::locale::classic()); // not the host's global locale
  char date[16] = "";
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  json << "{\n \"device\": \"" << driver->deviceName() << "\",\n \"commit\": \"" << commit
       << "\",\n \"date\": \"" << date << "\",\n \"copy_bandwidth_GBps\": " << bandwidth / 1e9
       << ",\n \"cases\": [";
  bool first = true;
  for (const Case &c : benchmarkCases()) {
    if (!wanted.empty() && !wanted.count(c.name))
      continue;
    if (prefillOnly && c.T == 1)
      continue; // the decode cases: one token per sequence
    std::unique_ptr<Kernel> kernel;
    if (Status l = Kernel::loadFiles(kernels + "/" + c.kernel, kernel); !l) {
      std::fprintf(stderr, "gdn-bench: %s: %s\n", c.name.c_str(), l.message.c_str());
      return 1;
    }
    std::unique_ptr<DeviceLayer> layer;
    if (Status l = DeviceLayer::create(kernel->metadata(), c.B, c.T, 1, layer); !l) {
      std::fprintf(stderr, "gdn-bench: %s: %s\n", c.name.c_str(), l.message.c_str());
      return 1;
    }
    // Kernels without a segmented state pass run once; others once per count they can run.
    std::vector<int64_t> runs;
    for (int64_t requested : segmentCounts)
      if (kernel->metadata().segments > 1 && requested <= kernel->metadata().segments)
        runs.push_back(requested);
    if (runs.empty())
      runs.push_back(0);
    for (int64_t requested : runs) {
      layer->launch.segments = requested;
      const int64_t used = kernel->segmentsFor(layer->launch);
      double graphMs = 0, eagerMs = 0;
      if (Status l = timing.time(*kernel, layer->launch, graphMs, eagerMs); !l) {
        std::fprintf(stderr, "gdn-bench: %s: %s\n", c.name.c_str(), l.message.c_str());
        return 1;
      }
      // The same graph with programmatic dependent launch off: each kernel (the prep, the state
      // pass, and the next replay's first kernel) starts only after its predecessor finished.
      bool programmatic = kernel->programmaticLaunch();
      double serialMs = graphMs, unusedEagerMs = 0;
      if (programmatic) {
        kernel->setProgrammaticLaunch(false);
        if (Status l = timing.time(*kernel, layer->launch, serialMs, unusedEagerMs); !l) {
          std::fprintf(stderr, "gdn-bench: %s: %s\n", c.name.c_str(), l.message.c_str());
          return 1;
        }
        kernel->setProgrammaticLaunch(true);
      }
      double roofline =
          ioBytes(c, *layer, kernel->metadata().gate == GateKind::Channel) / bandwidth * 1e3;
      std::printf("%-24s %-9s %4lld %9.3f %9.3f %9.3f %9.3f\n", c.name.c_str(),
                  kernel->metadata().kind.c_str(), static_cast<long long>(used), graphMs, serialMs,
                  eagerMs, roofline);
      json << (first ? "" : ",") << "\n  {\"case\": \"" << c.name << "\", \"kernel\": \""
           << kernel->metadata().kind << "\", \"segments_requested\": " << requested
           << ", \"segments\": " << used << ", \"gdn_ms\": " << graphMs
           << ", \"gdn_serialized_ms\": " << serialMs
           << ", \"programmatic_launch\": " << (programmatic ? "true" : "false")
           << ", \"gdn_eager_ms\": " << eagerMs << ", \"roofline_ms\": " << roofline << "}";
      first = false;
    }
  }
  json << "\n ]\n}\n";
  if (!out.empty())
    std::ofstream(out) << json.str();
  return 0;
}
