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
                 "auto (chunked where supported), recurrent, chunked or generic (the fused kernel "
                 "lowered op by op)")
      ->check(CLI::IsMember({"auto", "recurrent", "chunked", "generic"}));
  app.add_option("--chunk-size", options.chunkSize, "Chunk size of the chunked kernel")
      ->check(CLI::IsMember({16, 32, 64}));
  app.add_option("--v-tile", options.vTile, "Value columns per block of the chunked kernel")
      ->check(CLI::IsMember({16, 32, 64, 128}));
  app.add_flag("--ldmatrix,!--no-ldmatrix", options.ldmatrix,
               "Chunked kernel: load tensor-core operands with ldmatrix (default on)");
  app.add_flag("--prep-inverse", options.prepInverse,
               "Chunked kernel with --no-state-wy: solve for (I + A)^-1 and form W, U on tensor "
               "cores in the prep");
  app.add_flag("--state-wy,!--no-state-wy", options.stateWy,
               "Chunked kernel (delta rule): the state pass applies (I + A)^-1; the workspace "
               "holds it instead of W and U (default on; off: W and U in the workspace)");
  app.add_flag("--qs-early", options.qsEarly,
               "Chunked kernel with state-wy: Q S beside K S (for few (sequence, head) streams)");
  app.add_flag("--sliced-state,!--no-sliced-state", options.slicedState,
               "Chunked kernel: S^T in registers, 16 value columns per warp (v-tile / 16 "
               "warps; K x chunk-size <= 4096)");
  app.add_option("--warps", options.warps, "Warps per block of the chunked kernel")
      ->check(CLI::IsMember({4, 8}));
  app.add_option("--prep-warps", options.prepWarps,
                 "Warps per block of the chunked kernel's prep (chunk-parallel) kernel (1 needs "
                 "chunk size 16 or 32)")
      ->check(CLI::IsMember({1, 2, 4, 8}));
  app.add_option("--segments", options.segments,
                 "Chunked kernel: split each sequence into this many segments whose state "
                 "passes run at once (for few (sequence, head) streams; 1: none; 0, the "
                 "default: up to 8, each launch choosing from its shape)")
      ->check(CLI::Range(0, 64));
  app.add_option("--stages", options.stages,
                 "Chunked kernel (sliced state pass): chunks whose tiles are in shared memory "
                 "at once (copies run stages - 1 chunks ahead)")
      ->check(CLI::Range(2, 4));
  app.add_option("--k-split", options.kSplit,
                 "Chunked kernel (sliced state pass): warps sharing each 16 value columns, "
                 "each holding 1 / k-split of K (2 needs v-tile <= 64)")
      ->check(CLI::IsMember({1, 2}));
  app.add_flag("--whole-chunk-copies", options.wholeChunkCopies,
               "Chunked kernel: the state pass copies whole chunks' tiles without per-row "
               "predicates (one base plus constants per thread)");
  bool noStmatrix = false;
  app.add_flag("--no-stmatrix-stores", noStmatrix,
               "Chunked kernel (sliced state pass): one 16-bit store per output element instead "
               "of stmatrix and 16-byte row pieces (which need sm_90 or later and are used "
               "there by default)");
  bool noWgmma = false;
  app.add_flag("--no-wgmma", noWgmma,
               "Chunked kernel (sliced state pass): mma.sync for every product instead of "
               "wgmma (which needs sm_90a and a V tile of 64 or 128, and is used there by "
               "default)");
  app.add_option("--ptxas", options.ptxasPath, "ptxas to assemble the cubin with");
  app.add_flag("--no-cubin", noCubin, "Write PTX only (the driver JIT-compiles it at load)");
  app.add_flag("--print-ptx", printPtx, "Print the PTX to stdout");
  CLI11_PARSE(app, argc, argv);
  options.cubin = !noCubin && !outPrefix.empty();
  options.stmatrixStores = !noStmatrix;
  options.wgmma = !noWgmma;
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
