//===- gdn-tune.cpp - autotune a layer's kernel for a shape ---------------===//
//
//   gdn-tune LAYER.mlir --batch B --seq-len T [--force] [--cache-dir DIR] [--chip sm_90a]
//            [--kernel auto|generated]
//
// Times every kernel configuration that supports the layer on the GPU (progress on
// stderr), prints them, and records the fastest in the tuning file, which the JIT's
// compileTuned() then uses for this layer and shape bucket.
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/Tune.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace gdn;

int main(int argc, char **argv) {
  CLI::App app{"Autotune a gdn layer's GPU kernel (design, chunk size, V tile, warps) for a shape"};
  std::string layerPath;
  jit::TuneShape shape;
  jit::Options options;
  bool force = false;
  app.add_option("layer", layerPath, "A .mlir file with one gdn.recurrence or gdn.decode op")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--batch", shape.batch, "B (sequences for a packed batch)")
      ->check(CLI::PositiveNumber);
  app.add_option("--seq-len", shape.tokens, "T (total tokens for a packed batch)")
      ->check(CLI::PositiveNumber);
  app.add_option("--cache-dir", options.cacheDir, "JIT cache and tuning file folder");
  app.add_option("--chip", options.compile.chip, "GPU architecture");
  app.add_flag("--force", force, "Time again even if the tuning file has this shape");
  app.add_option("--kernel", options.compile.kernel,
                 "auto: the recurrent kernel and the chunked kernels' tilings; generated: the "
                 "generated lowering's options (chunk size, V tile, warps). Either records its "
                 "fastest for the shape, replacing the shape's record")
      ->check(CLI::IsMember({"auto", "generated"}));
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(layerPath);
  std::stringstream source;
  source << in.rdbuf();
  jit::TuneResult result;
  const std::string layer = source.str();
  Status s = jit::tune(
      layer, shape, options, result, force, [&](const jit::TuneCandidate &c, size_t i, size_t n) {
        if (c.error.empty())
          std::fprintf(stderr, "gdn-tune: [%zu/%zu] %-40s %10.3f ms\n", i, n,
                       jit::describeConfiguration(c.options, layer).c_str(), c.ms);
        else
          std::fprintf(stderr, "gdn-tune: [%zu/%zu] %-40s failed: %s\n", i, n,
                       jit::describeConfiguration(c.options, layer).c_str(), c.error.c_str());
      });
  if (!s) {
    std::fprintf(stderr, "gdn-tune: error: %s\n", s.message.c_str());
    return 1;
  }
  std::printf("%s, %s: %s, %.3f ms%s\n", layerPath.c_str(), jit::shapeBucket(shape).c_str(),
              jit::describeConfiguration(result.best, layer).c_str(), result.bestMs,
              result.fromFile ? " (from the tuning file; --force re-times)" : "");
  std::printf("tuning file: %s\n", jit::tuningFilePath(options).c_str());
  return 0;
}
