//===- gdn-compile.cpp - compile a layer to a GPU kernel artifact ---------===//
//
//   gdn-compile LAYER.mlir -o OUT/prefix [--chip sm_90a] [--no-cubin]   writes prefix.ptx,
//                                                     prefix.cubin (with ptxas), prefix.meta
//   gdn-compile LAYER.mlir --print-ptx                                   PTX on stdout
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/GpuCompiler.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

int main(int argc, char **argv) {
  CLI::App app{"Compile a gdn layer to a GPU kernel: PTX, cubin (when ptxas is found) and the "
               "runtime's metadata record"};
  std::string layerPath, outPrefix;
  gdn::GpuCompileOptions options;
  bool printPtx = false, noCubin = false;
  app.add_option("layer", layerPath, "A .mlir file with one gdn.recurrence or gdn.decode op")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("-o,--output", outPrefix, "Output prefix: writes PREFIX.ptx, .cubin and .meta");
  app.add_option("--chip", options.chip, "GPU architecture (sm_80, sm_90a, ...)");
  app.add_option("--features", options.features, "PTX ISA version feature, e.g. +ptx80");
  app.add_option("--block-size", options.blockSize,
                 "Threads per block of the recurrent kernel (divides V)");
  app.add_option("--k-slices", options.kSlices,
                 "K slices per warp of the recurrent kernel: 4, or 8 (half the state registers)")
      ->check(CLI::IsMember({4, 8}));
  app.add_option("--kernel", options.kernel,
                 "auto (chunked where supported), recurrent, chunked, generic (the fused kernel "
                 "lowered op by op) or generated (tile ops lowered under layouts onto tensor "
                 "cores; --chunk-size 32 or 64)")
      ->check(CLI::IsMember({"auto", "recurrent", "chunked", "generic", "generated"}));
  // The chunked kernels' tiling (ChunkedOptions.def): --NAME VALUE, or --NAME / --no-NAME.
#define GDN_CHUNKED_INT(field, name, init, allowed, help)                                          \
  app.add_option("--" name, options.field, help)                                                   \
      ->check(CLI::IsMember(std::vector<int64_t> allowed))                                         \
      ->capture_default_str();
#define GDN_CHUNKED_RANGE(field, name, init, low, high, help)                                      \
  app.add_option("--" name, options.field, help)                                                   \
      ->check(CLI::Range(low, high))                                                               \
      ->capture_default_str();
#define GDN_CHUNKED_BOOL(field, name, init, help)                                                  \
  app.add_flag("--" name ",!--no-" name, options.field, help)->capture_default_str();
#include "gdn/Codegen/ChunkedOptions.def"
  app.add_option("--ptxas", options.ptxasPath, "ptxas to assemble the cubin with");
  app.add_flag("--no-cubin", noCubin, "Write PTX only (the driver JIT-compiles it at load)");
  app.add_flag("--print-ptx", printPtx, "Print the PTX to stdout");
  CLI11_PARSE(app, argc, argv);
  options.cubin = !noCubin && !outPrefix.empty();
  if (outPrefix.empty() && !printPtx) {
    std::cerr << "gdn-compile: error: give -o PREFIX or --print-ptx\n";
    return 1;
  }

  std::ifstream in(layerPath);
  std::stringstream source;
  source << in.rdbuf();
  gdn::GpuArtifact artifact;
  std::string error;
  if (!gdn::compileLayerForGpu(source.str(), layerPath, options, artifact, error)) {
    std::cerr << "gdn-compile: error: " << error << "\n";
    return 1;
  }
  if (!artifact.recurrentBecause.empty())
    std::cerr << "gdn-compile: note: the recurrent kernel, since the chunked one cannot take "
                 "this layer with these options: "
              << artifact.recurrentBecause << "\n";
  if (!artifact.genericBecause.empty())
    std::cerr << "gdn-compile: note: " << artifact.genericBecause << "\n";
  if (printPtx)
    std::cout << artifact.ptx;
  if (outPrefix.empty())
    return 0;
  std::filesystem::path prefix(outPrefix);
  if (prefix.has_parent_path())
    std::filesystem::create_directories(prefix.parent_path());
  auto write = [&](const std::string &suffix, const char *data, size_t size) {
    std::ofstream out(outPrefix + suffix, std::ios::binary);
    out.write(data, static_cast<std::streamsize>(size));
    if (!out) {
      std::cerr << "gdn-compile: error: cannot write " << outPrefix + suffix << "\n";
      return false;
    }
    std::cerr << "gdn-compile: wrote " << outPrefix + suffix << " (" << size << " bytes)\n";
    return true;
  };
  std::string meta = artifact.metadata.serialize();
  if (!write(".ptx", artifact.ptx.data(), artifact.ptx.size()) ||
      !write(".meta", meta.data(), meta.size()))
    return 1;
  if (!artifact.cubin.empty()) {
    std::cerr << "gdn-compile: " << artifact.ptxasCommand << "\n";
    for (const std::string &r : artifact.ptxasResources)
      std::cerr << "gdn-compile: ptxas: " << r << "\n";
    for (const std::string &k : artifact.spillingKernels)
      std::cerr << "gdn-compile: warning: " << k << " spills registers to local memory\n";
    if (!write(".cubin", artifact.cubin.data(), artifact.cubin.size()))
      return 1;
  } else if (options.cubin) {
    std::cerr << "gdn-compile: no ptxas found: PTX only (set GDN_PTXAS or --ptxas)\n";
  }
  return 0;
}
