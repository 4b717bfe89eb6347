//===- gdn-run.cpp - run a gdn layer on the CPU ---------------------------===//
//
//   gdn-run LAYER.mlir --describe
//   gdn-run LAYER.mlir --inputs DIR --outputs DIR [--chunk-size C] [--value-tile N] [--check]
//   gdn-run LAYER.mlir --random --seed S --batch B --seq-len T --inputs DIR --outputs DIR
//
// Inputs and outputs are NumPy .npy files named after the layer's operands and results.
// bf16/f16 tensors travel as float32 files holding the rounded values.
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/CpuLayer.h"
#include "gdn/Codegen/Jit.h"
#include "gdn/DeviceLayer.h"
#include "gdn/Npy.h"
#include "gdn/Numeric.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;
using namespace gdn;

namespace {

int fail(const std::string &message) {
  std::cerr << "gdn-run: error: " << message << "\n";
  return 1;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}

bool isInteger(const std::string &elementType) {
  return elementType == "i32" || elementType == "i64";
}

/// Reads DIR/<operand>.npy for every operand of the layer.
bool readInputs(const LayerInfo &info, const fs::path &dir, HostTensors &inputs,
                std::string &error) {
  for (const TensorSpec &spec : info.operands) {
    fs::path path = dir / (spec.name + ".npy");
    std::string expected = spec.elementType + " " + shapeText(spec.shape);
    if (!fs::exists(path)) {
      error = path.string() + ": missing; operand '" + spec.name + "' expects " + expected +
              (isInteger(spec.elementType) ? " (an int32 or int64 .npy)" : " (a float32 .npy)");
      return false;
    }
    NpyArray array;
    if (!readNpy(path.string(), array, error))
      return false;
    HostTensor t;
    t.shape = array.shape;
    if (isInteger(spec.elementType)) {
      if (array.dtype != "i4" && array.dtype != "i8") {
        error = path.string() + ": dtype '" + array.dtype + "' but operand '" + spec.name +
                "' needs int32 or int64";
        return false;
      }
      if (!toInt64Vector(array, t.indices, error))
        return false;
    } else {
      if (array.dtype != "f4" && array.dtype != "f8") {
        error = path.string() + ": dtype '" + array.dtype + "' but operand '" + spec.name +
                "' needs float32 (" + spec.elementType + " values)";
        return false;
      }
      if (!toFloatVector(array, t.values, error))
        return false;
      // Values a bf16/f16 kernel cannot hold are rounded here, so that the reference and
      // the kernel see the same numbers.
      ElementType type = spec.elementType == "bf16"  ? ElementType::BF16
                         : spec.elementType == "f16" ? ElementType::F16
                                                     : ElementType::F32;
      size_t rounded = 0;
      for (float &x : t.values) {
        float r = roundTo(type, x);
        rounded += (r != x && std::isfinite(x));
        x = std::isfinite(x) ? r : x;
      }
      if (rounded)
        std::cerr << "gdn-run: warning: " << path.string() << ": " << rounded
                  << " values are not representable in " << spec.elementType
                  << "; rounded to nearest\n";
    }
    if (std::string e = validateOperand(spec, t); !e.empty()) {
      error = path.string() + ": " + e;
      return false;
    }
    inputs[spec.name] = std::move(t);
  }
  return true;
}

/// Runs the layer on the GPU: JIT-compiles it (cached), uploads `inputs` in the kernel's
/// element types, launches, and downloads the results. `ms` is the launch-to-sync time.
bool runOnGpu(const LayerInfo &info, const std::string &source, const HostTensors &inputs,
              HostTensors &outputs, double &ms, std::string &error) {
  std::shared_ptr<Kernel> kernel;
  jit::CacheOutcome outcome;
  if (Status s = jit::compile(source, jit::Options(), kernel, &outcome); !s) {
    error = s.message;
    return false;
  }
  Driver *driver = nullptr;
  Driver::get(driver);
  const KernelMetadata &m = kernel->metadata();
  std::vector<void *> allocations;
  auto release = [&] {
    for (void *p : allocations)
      driver->free(p);
  };
  auto upload = [&](const std::string &name, const std::string &type, TensorArg &arg) -> bool {
    auto it = inputs.find(name);
    if (it == inputs.end())
      return true;
    const HostTensor &t = it->second;
    std::vector<unsigned char> bytes = type == "i32" || type == "i64"
                                           ? encodeIndices(t.indices, type)
                                           : encodeElements(t.values, type);
    void *ptr = nullptr;
    Status s = driver->malloc(&ptr, bytes.size());
    if (s)
      allocations.push_back(ptr), s = driver->copyToDevice(ptr, bytes.data(), bytes.size());
    if (!s) {
      error = s.message;
      return false;
    }
    arg = TensorArg{ptr, type, t.shape, {}};
    return true;
  };
  LayerLaunch launch;
  std::string stateIn = info.stateOperandName();
  if (!upload("q", m.inputType, launch.q) || !upload("k", m.inputType, launch.k) ||
      !upload("v", m.inputType, launch.v) || !upload("g", m.gType, launch.g) ||
      !upload("beta", m.betaType, launch.beta) || !upload(stateIn, "f32", launch.initialState) ||
      !upload("cu_seqlens", m.cuSeqlensType, launch.cuSeqlens)) {
    release();
    return false;
  }
  const HostTensor &q = inputs.at("q");
  int64_t B = q.shape[0], T = q.shape[1];
  int64_t N =
      info.isVarlen() ? static_cast<int64_t>(inputs.at("cu_seqlens").indices.size()) - 1 : B;
  if (info.isVarlen())
    launch.cuSeqlensHost = inputs.at("cu_seqlens").indices.data();
  std::vector<int64_t> oShape = {B, T, m.HV, m.V}, sShape = {N, m.HV, m.K, m.V};
  void *o = nullptr, *fs = nullptr;
  size_t oBytes = static_cast<size_t>(B * T * m.HV * m.V) * elementBytes(m.inputType);
  size_t sBytes = static_cast<size_t>(N * m.HV * m.K * m.V) * 4;
  Status s = driver->malloc(&o, oBytes);
  if (s)
    allocations.push_back(o);
  if (s && m.hasArg("final_state") && (s = driver->malloc(&fs, sBytes)))
    allocations.push_back(fs);
  if (!s) {
    error = s.message;
    release();
    return false;
  }
  launch.o = TensorArg{o, m.inputType, oShape, {}};
  if (fs)
    launch.finalState = TensorArg{fs, "f32", sShape, {}};
  auto start = std::chrono::steady_clock::now();
  s = kernel->launch(launch, nullptr);
  if (s)
    s = driver->synchronize();
  ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!s) {
    error = s.message;
    release();
    return false;
  }
  std::vector<unsigned char> bytes(oBytes);
  driver->copyToHost(bytes.data(), o, oBytes);
  HostTensor oHost{oShape, decodeElements(bytes, m.inputType), {}};
  outputs.clear();
  outputs["o"] = std::move(oHost);
  if (fs) {
    HostTensor state{sShape, std::vector<float>(sBytes / 4), {}};
    driver->copyToHost(state.values.data(), fs, sBytes);
    outputs[info.stateResultName()] = std::move(state);
  }
  release();
  return true;
}

bool writeTensors(const fs::path &dir, const HostTensors &tensors, std::string &error) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create " + dir.string() + ": " + ec.message();
    return false;
  }
  for (const auto &[name, t] : tensors) {
    fs::path path = dir / (name + ".npy");
    NpyArray array = t.values.empty() && !t.indices.empty() ? makeNpyI64(t.shape, t.indices)
                                                            : makeNpyF32(t.shape, t.values);
    if (!writeNpy(path.string(), array, error))
      return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Run a gdn layer on the CPU (lowered with gdn-to-cpu, JIT-compiled in process)"};
  std::string layerPath, inputsDir, outputsDir;
  bool describe = false, random = false, check = false, zeroState = false;
  std::string device = "cpu";
  int64_t chunkSize = 0, batch = 0, seqLen = 0, valueTile = 0;
  uint64_t seed = 0;
  double tolerance = -1.0;
  app.add_option("layer", layerPath,
                 "A .mlir file with one gdn.recurrence, gdn.decode or gdn.transition op")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_flag("--describe", describe,
               "Print the layer's operands, results and variant attributes as JSON");
  app.add_option("--inputs", inputsDir, "Folder of <operand>.npy inputs (written with --random)");
  app.add_option("--outputs", outputsDir, "Folder for o.npy and the final state");
  app.add_option("--chunk-size", chunkSize, "Chunk size of the lowering: 16, 32, 64 or 128")
      ->check(CLI::IsMember({16, 32, 64, 128}));
  app.add_option("--value-tile", valueTile,
                 "CPU: run the chunk step over tiles of this many value columns, as the generated "
                 "GPU kernels do (gdn-tile-value-columns; 0: the whole V)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--random", random, "Generate valid random inputs and save them to --inputs");
  app.add_option("--seed", seed, "Seed of --random");
  app.add_option("--batch", batch, "B for --random (the number of sequences N for a packed batch)");
  app.add_option("--seq-len", seqLen, "T for --random (total tokens for a packed batch)");
  app.add_flag("--zero-state", zeroState,
               "With --random: start from a zero initial state instead of a random one");
  app.add_option("--device", device,
                 "cpu: lower with gdn-to-cpu and run in process; gpu: JIT-compile the GPU kernel "
                 "(cached) and launch it through the runtime")
      ->check(CLI::IsMember({"cpu", "gpu"}));
  app.add_flag("--check", check,
               "Compare the outputs with the float64 token-by-token reference (JSON on stdout)");
  app.add_option("--tolerance", tolerance,
                 "With --check: exit 1 when a max relative error exceeds this");
  CLI11_PARSE(app, argc, argv);

  std::string error;
  std::unique_ptr<CpuLayer> layer = CpuLayer::loadFile(layerPath, chunkSize, error);
  if (!layer)
    return fail(error);
  if (valueTile != 0 && device == "gpu")
    return fail("--value-tile is an option of the CPU lowering; the GPU kernels take theirs from "
                "gdn-compile --v-tile or the JIT's options");
  if (valueTile != 0 && !layer->setValueTile(valueTile, error))
    return fail(error);
  const LayerInfo &info = layer->info();
  if (describe) {
    std::cout << info.toJson();
    return 0;
  }
  if (inputsDir.empty() || outputsDir.empty())
    return fail("give --inputs DIR and --outputs DIR (or --describe)");

  HostTensors inputs;
  if (random) {
    if (!makeRandomHostInputs(info, batch, seqLen, seed, !zeroState, inputs, error))
      return fail(error);
    if (!writeTensors(inputsDir, inputs, error))
      return fail(error);
  } else if (!readInputs(info, inputsDir, inputs, error)) {
    return fail(error);
  }

  HostTensors outputs;
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  if (device == "gpu") {
    if (std::string e = validateInputs(info, inputs); !e.empty())
      return fail(e);
    std::ifstream in(layerPath);
    std::stringstream source;
    source << in.rdbuf();
    double gpuMs = 0;
    auto start = std::chrono::steady_clock::now();
    if (!runOnGpu(info, source.str(), inputs, outputs, gpuMs, error))
      return fail(error);
    std::fprintf(stderr,
                 "gdn-run: %s <%s, %s> on the GPU: compiled/loaded and ran in %.0f ms "
                 "(launch to sync %.3f ms)\n",
                 info.op.c_str(), toString(info.gate), toString(info.rule),
                 ms(start, std::chrono::steady_clock::now()), gpuMs);
  } else {
    auto start = std::chrono::steady_clock::now();
    if (!layer->compile(error))
      return fail(error);
    auto compiled = std::chrono::steady_clock::now();
    if (!layer->run(inputs, outputs, error))
      return fail(error);
    auto ran = std::chrono::steady_clock::now();
    // gdn.transition: its gate, steps and rank-one term (docs/design.md §1.1).
    std::string variant = info.op == "gdn.transition"
                              ? std::string(toString(info.gate)) + ", steps " +
                                    std::to_string(info.steps) +
                                    (info.deltaRule      ? ", delta rule"
                                     : info.operand("a") ? ", rank-one a b"
                                                         : ", additive")
                              : std::string(toString(info.gate)) + ", " + toString(info.rule);
    std::fprintf(stderr, "gdn-run: %s <%s> chunk %lld: compiled in %.0f ms, ran in %.1f ms\n",
                 info.op.c_str(), variant.c_str(), static_cast<long long>(info.chunkSize),
                 ms(start, compiled), ms(compiled, ran));
  }
  if (!writeTensors(outputsDir, outputs, error))
    return fail(error);
  for (const auto &[name, t] : outputs)
    std::fprintf(stderr, "gdn-run: wrote %s %s\n", (fs::path(outputsDir) / (name + ".npy")).c_str(),
                 shapeText(t.shape).c_str());

  if (check) {
    // Non-finite values fail the check whatever the tolerance: an inf output that matches an
    // inf reference is not a pass (the error is printed as null where it is not finite).
    auto reference = referenceOutputs(info, inputs);
    bool withinTolerance = true;
    std::string nonFinite;
    auto number = [](double x) {
      char text[32];
      std::snprintf(text, sizeof text, "%.3e", x);
      return std::isfinite(x) ? std::string(text) : std::string("null");
    };
    std::printf("{");
    bool first = true;
    for (const auto &[name, t] : outputs) {
      const std::vector<double> &want = reference.at(name);
      ErrorStats e = compare(t.values.data(), want.data(), t.values.size());
      size_t badGot = 0, badWant = 0, firstBad = t.values.size();
      for (size_t i = 0; i < t.values.size(); ++i) {
        bool bad = !std::isfinite(t.values[i]) || !std::isfinite(want[i]);
        badGot += !std::isfinite(t.values[i]);
        badWant += !std::isfinite(want[i]);
        if (bad && firstBad == t.values.size())
          firstBad = i;
      }
      std::printf("%s\"%s\": {\"max_abs_err\": %s, \"max_rel_err\": %s, \"non_finite\": %zu, "
                  "\"non_finite_reference\": %zu}",
                  first ? "" : ", ", name.c_str(), number(e.maxAbs).c_str(),
                  number(e.maxRel).c_str(), badGot, badWant);
      first = false;
      if (tolerance >= 0 && !(e.maxRel <= tolerance))
        withinTolerance = false;
      if ((badGot || badWant) && nonFinite.empty())
        nonFinite = "'" + name + "' has " + std::to_string(badGot) +
                    " non-finite values and its float64 reference " + std::to_string(badWant) +
                    " (the first at flat index " + std::to_string(firstBad) + ")";
    }
    std::printf("}\n");
    if (!nonFinite.empty())
      return fail("non-finite results: " + nonFinite);
    if (!withinTolerance)
      return fail("error against the float64 reference exceeds --tolerance " +
                  std::to_string(tolerance));
  }
  return 0;
}
