//===- GpuCompiler.cpp - compile a layer to a GPU kernel artifact ---------===//
#include "gdn/Codegen/GpuCompiler.h"
#include "ChunkedForm.h"
#include "GenericChunkedKernel.h"
#include "KernelSerialization.h"
#include "KernelSignature.h"
#include "gdn/Codegen/LayerTypes.h"
#include "gdn/Codegen/Passes.h"
#include "gdn/Codegen/Pipelines.h"
#include "gdn/Codegen/Registration.h"
#include "gdn/Codegen/SourceLimits.h"
#include "gdn/Dialect/GdnDialect.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <fstream>
#include <locale>
#include <mutex>
#include <sstream>

using namespace mlir;

namespace gdn {

namespace {

/// The layer-level fields of the metadata, read off the op before it is lowered.
void describeFacts(const mlir::gdn::LayerFacts &f, const std::string &layer, KernelMetadata &m) {
  m.layer = layer;
  m.H = f.H;
  m.K = f.K;
  m.HV = f.HV;
  m.V = f.V;
  m.inputType = elementTypeName(f.inputType);
  m.gate = toRuntime(f.gate);
  m.rule = toRuntime(f.rule);
  m.scale = f.scale;
  m.qkL2norm = f.qkL2norm;
  m.gType = elementTypeName(f.gType);
  m.betaType = elementTypeName(f.betaType);
  m.cuSeqlensType = elementTypeName(f.cuType);
}

void describe(Operation *op, KernelMetadata &m) {
  describeFacts(mlir::gdn::layerFacts(op, ""), op->getName().getStringRef().str(), m);
}

void initializeOnce() {
  static std::once_flag flag;
  std::call_once(flag, [] {
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    registerAllPasses();
    mlir::gdn::registerGdnPassesAndPipelines();
  });
}

} // namespace

std::string findPtxas(const std::string &explicitPath) {
  if (!explicitPath.empty())
    return llvm::sys::fs::can_execute(explicitPath) ? explicitPath : "";
  if (const char *env = std::getenv("GDN_PTXAS"))
    return llvm::sys::fs::can_execute(env) ? env : "";
  if (auto found = llvm::sys::findProgramByName("ptxas"))
    return *found;
  const char *fallback = "/usr/local/cuda/bin/ptxas";
  return llvm::sys::fs::can_execute(fallback) ? fallback : "";
}

namespace {

/// A layer file parsed in its own context, with diagnostics collected as text.
struct ParsedLayer {
  DialectRegistry registry;
  std::unique_ptr<MLIRContext> context;
  std::string diagnostics;
  llvm::raw_string_ostream diagStream{diagnostics};
  llvm::SourceMgr sourceMgr;
  std::unique_ptr<SourceMgrDiagnosticHandler> handler;
  OwningOpRef<ModuleOp> module;
  Operation *layer = nullptr;             ///< the layer op, or null for a chunked form
  SmallVector<func::FuncOp> chunkedForms; ///< the function of a chunked form

  bool parse(const std::string &source, const std::string &bufferName, std::string &error) {
    initializeOnce();
    if (std::string deep = mlir::gdn::checkSourceNesting(source, bufferName); !deep.empty()) {
      error = deep;
      return false;
    }
    mlir::gdn::registerGdnOptDialects(registry);
    context = std::make_unique<MLIRContext>(registry);
    context->printOpOnDiagnostic(false);
    sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, bufferName),
                                 llvm::SMLoc());
    handler = std::make_unique<SourceMgrDiagnosticHandler>(sourceMgr, context.get(), diagStream);
    module = parseSourceFile<ModuleOp>(sourceMgr, context.get());
    if (!module) {
      error = diagnostics;
      return false;
    }
    if (failed(mlir::gdn::refuseTransitions(*module, "gdn-compile"))) {
      error = diagnostics;
      return false;
    }
    SmallVector<Operation *> layers;
    module->walk([&](Operation *op) {
      if (isa<mlir::gdn::RecurrenceOp, mlir::gdn::DecodeOp>(op))
        layers.push_back(op);
    });
    if (layers.empty()) {
      // A chunked form (gdn-chunkwise's output, perhaps split, perhaps edited at the tile
      // level): its kernels come from the chunked pass, fragments or generic.
      for (auto fn : module->getOps<func::FuncOp>())
        if (mlir::gdn::holdsChunkedForm(fn))
          chunkedForms.push_back(fn);
      if (chunkedForms.size() == 1)
        return true;
    }
    if (layers.size() != 1) {
      error = bufferName +
              ": expected exactly one gdn.recurrence or gdn.decode op (or one "
              "function in the chunked form), found " +
              std::to_string(layers.size()) + " layer ops and " +
              std::to_string(chunkedForms.size()) + " chunked forms";
      return false;
    }
    layer = layers.front();
    return true;
  }
};

} // namespace

/// The chunked-kernel pass's options from the compile options.
static mlir::gdn::GdnChunkedGpuKernelsOptions chunkedPassOptions(const GpuCompileOptions &o) {
  mlir::gdn::GdnChunkedGpuKernelsOptions c;
#define GDN_CHUNKED_INT(field, name, init, allowed, help) c.field = o.field;
#define GDN_CHUNKED_RANGE(field, name, init, low, high, help) c.field = o.field;
#define GDN_CHUNKED_BOOL(field, name, init, help) c.field = o.field;
#include "gdn/Codegen/ChunkedOptions.def"
  // Applied only where the chip has the instructions.
  c.stmatrixStores = o.stmatrixStores && mlir::gdn::chipHasStmatrix(o.chip);
  c.wgmma = o.wgmma && mlir::gdn::chipHasWgmma(o.chip);
  c.generic = o.kernel == "generic";
  return c;
}

std::string chunkedKernelUnsupportedReason(const std::string &source,
                                           const GpuCompileOptions &options) {
  ParsedLayer parsed;
  std::string error;
  if (!parsed.parse(source, "<layer>", error))
    return error;
  if (!parsed.layer)
    return "error: a chunked form's kernel is chosen by the chunked pass (fragments or generic); "
           "tuning and kernel queries take a layer op";
  return mlir::gdn::chunkedKernelUnsupportedReason(parsed.layer, chunkedPassOptions(options));
}

bool slicedStateApplies(const std::string &source, const GpuCompileOptions &options) {
  ParsedLayer parsed;
  std::string error;
  return parsed.parse(source, "<layer>", error) && parsed.layer &&
         mlir::gdn::chunkedStateIsSliced(parsed.layer, chunkedPassOptions(options));
}

bool layerValueShape(const std::string &source, int64_t &HV, int64_t &V) {
  ParsedLayer parsed;
  std::string error;
  if (!parsed.parse(source, "<layer>", error))
    return false;
  auto r = dyn_cast_or_null<mlir::gdn::RecurrenceOp>(parsed.layer);
  if (!r)
    return false;
  auto v = cast<RankedTensorType>(r.getV().getType());
  HV = v.getDimSize(2);
  V = v.getDimSize(3);
  return true;
}

bool segmentedStateApplies(const std::string &source, const GpuCompileOptions &options) {
  ParsedLayer parsed;
  std::string error;
  return parsed.parse(source, "<layer>", error) && parsed.layer &&
         mlir::gdn::chunkedStateIsSegmented(parsed.layer, chunkedPassOptions(options));
}

/// Reads ptxas -v's report: "Compiling entry function 'X'", then "N bytes spill stores"
/// and "Used R registers" lines for X.
static void parsePtxasResources(const std::string &log, GpuArtifact &artifact) {
  std::istringstream in(log);
  in.imbue(std::locale::classic()); // not the host's global locale
  std::string line, kernel, spills;
  while (std::getline(in, line)) {
    size_t at = line.find("Compiling entry function '");
    if (at != std::string::npos) {
      size_t start = at + 26, end = line.find('\'', start);
      kernel = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
      spills.clear();
      continue;
    }
    at = line.find(" bytes spill stores");
    if (at != std::string::npos && !kernel.empty()) {
      size_t start = line.rfind(',', at);
      start = start == std::string::npos ? line.find_first_of("0123456789") : start + 1;
      spills = line.substr(start, at - start);
      spills.erase(0, spills.find_first_not_of(' '));
      if (spills != "0")
        artifact.spillingKernels.push_back(kernel + " (" + spills + " bytes)");
      continue;
    }
    at = line.find("Used ");
    if (at != std::string::npos && !kernel.empty() &&
        line.find(" registers") != std::string::npos) {
      size_t end = line.find(" registers", at);
      artifact.ptxasResources.push_back(kernel + ": " + line.substr(at + 5, end - at - 5) +
                                        " registers, " + (spills.empty() ? "0" : spills) +
                                        " bytes spill stores");
    }
  }
}

static bool compileOnThisThread(const std::string &source, const std::string &bufferName,
                                const GpuCompileOptions &options, GpuArtifact &artifact,
                                std::string &error);

// On a thread whose stack grows with the text: MLIR's parser and some passes recurse once per
// level of the input's nesting (SourceLimits.h).
bool compileLayerForGpu(const std::string &source, const std::string &bufferName,
                        const GpuCompileOptions &options, GpuArtifact &artifact,
                        std::string &error) {
  bool ok = false;
  mlir::gdn::runWithStackForInput(source.size(), [&] {
    ok = compileOnThisThread(source, bufferName, options, artifact, error);
  });
  return ok;
}

static bool compileOnThisThread(const std::string &source, const std::string &bufferName,
                                const GpuCompileOptions &options, GpuArtifact &artifact,
                                std::string &error) {
  ParsedLayer parsed;
  if (!parsed.parse(source, bufferName, error))
    return false;
  MLIRContext &context = *parsed.context;
  OwningOpRef<ModuleOp> &module = parsed.module;
  std::string &diagnostics = parsed.diagnostics;
  KernelMetadata &meta = artifact.metadata;
  meta = KernelMetadata();
  if (parsed.layer) {
    describe(parsed.layer, meta);
  } else {
    FailureOr<mlir::gdn::LayerFacts> facts = mlir::gdn::chunkedFormFacts(parsed.chunkedForms[0]);
    if (failed(facts)) {
      error = diagnostics;
      return false;
    }
    describeFacts(*facts, mlir::gdn::RecurrenceOp::getOperationName().str(), meta);
  }
  meta.chip = options.chip;

  // Build the kernel first, to read its launch contract off the gpu.func.
  if (options.kernel != "auto" && options.kernel != "recurrent" && options.kernel != "chunked" &&
      options.kernel != "generic" && options.kernel != "generated") {
    error = "unknown kernel '" + options.kernel +
            "' (expected auto, recurrent, chunked, generic or generated)";
    return false;
  }
  artifact.recurrentBecause.clear();
  if (!parsed.layer && options.kernel == "recurrent") {
    error = bufferName + ": a chunked form compiles to the chunked kernels (fragments, or the "
                         "generic fused kernel); the recurrent kernel takes a layer op";
    return false;
  }
  if (options.kernel == "auto" && parsed.layer)
    artifact.recurrentBecause =
        mlir::gdn::chunkedKernelUnsupportedReason(parsed.layer, chunkedPassOptions(options));
  bool chunked = options.kernel == "chunked" || options.kernel == "generic" ||
                 options.kernel == "generated" ||
                 (options.kernel == "auto" && artifact.recurrentBecause.empty());
  PassManager first(&context);
  if (options.kernel == "generated")
    mlir::gdn::addGeneratedKernelPasses(first, options.chunkSize, options.warps, options.vTile,
                                        options.recompute);
  else if (chunked)
    mlir::gdn::addChunkedKernelPasses(first, chunkedPassOptions(options));
  else
    first.addPass(mlir::gdn::createGdnRecurrentGpuKernels(
        mlir::gdn::GdnRecurrentGpuKernelsOptions{options.blockSize, options.kSlices}));
  if (mlir::gdn::chipHasGridDependency(options.chip))
    first.addPass(mlir::gdn::createGdnGridDependency());
  if (failed(first.run(*module))) {
    error = diagnostics;
    return false;
  }
  // The main kernel; a chunked layer's prep kernel is marked gdn.prep, the segmented pass's
  // other kernels gdn.auxiliary.
  gpu::GPUFuncOp kernel;
  module->walk([&](gpu::GPUFuncOp f) {
    if (!f->hasAttr("gdn.prep") && !f->hasAttr("gdn.auxiliary"))
      kernel = f;
  });
  meta.kernelName = kernel.getName().str();
  artifact.genericBecause.clear();
  if (kernel->hasAttr("gdn.generic") && options.kernel != "generic") {
    // The chunked pass's remark (the first op no fragment implements), without the location.
    size_t at = diagnostics.find("remark: ");
    artifact.genericBecause = at == std::string::npos ? diagnostics : diagnostics.substr(at + 8);
    while (!artifact.genericBecause.empty() && artifact.genericBecause.back() == '\n')
      artifact.genericBecause.pop_back();
    artifact.genericBecause = artifact.genericBecause.substr(0, artifact.genericBecause.find('\n'));
  }
  meta.kind = chunked ? "chunked" : "recurrent";
  for (Attribute a : kernel->getAttrOfType<ArrayAttr>("gdn.args"))
    meta.args.push_back(cast<StringAttr>(a).str());
  auto intAttr = [&](const char *name, int64_t fallback) {
    auto attr = kernel->getAttrOfType<IntegerAttr>(name);
    return attr ? attr.getInt() : fallback;
  };
  meta.blockSize = intAttr("gdn.block", options.blockSize);
  meta.vTile = intAttr("gdn.v_tile", meta.blockSize);
  meta.chunkSize = intAttr("gdn.chunk_size", 0);
  auto strAttr = [&](const char *name) {
    auto attr = kernel->getAttrOfType<StringAttr>(name);
    return attr ? attr.str() : std::string();
  };
  meta.sharedMemoryBytes = intAttr("gdn.shared_memory_bytes", 0);
  meta.prepKernelName = strAttr("gdn.prep_kernel");
  meta.prepBlockSize = intAttr("gdn.prep_block", 0);
  meta.prepSharedMemoryBytes = intAttr("gdn.prep_shared_memory_bytes", 0);
  meta.workspaceTokenBytes = intAttr("gdn.workspace_token_bytes", 0);
  meta.workspaceSequenceBytes = intAttr("gdn.workspace_sequence_bytes", 0);
  meta.segments = intAttr("gdn.segments", 1);
  meta.segmentKernelName = strAttr("gdn.segment_kernel");
  meta.segmentsAuto = kernel->hasAttr("gdn.segments_auto");
  meta.combineKernelName = strAttr("gdn.combine_kernel");
  meta.combineBlockSize = intAttr("gdn.combine_block", 0);
  meta.combineBlocks = intAttr("gdn.combine_blocks", 0);
  meta.combineSharedMemoryBytes = intAttr("gdn.combine_shared_memory_bytes", 0);
  meta.programmaticLaunch = kernel->hasAttr("gdn.programmatic_launch");

  std::string why;
  FailureOr<std::string> ptx =
      mlir::gdn::lowerKernelsToPtx(*module, options.chip, options.features, why);
  if (failed(ptx) || ptx->empty()) {
    error = "lowering to PTX failed: " + (why.empty() ? "no PTX was produced" : why) +
            (diagnostics.empty() ? "" : "\n" + diagnostics);
    return false;
  }
  artifact.ptx = std::move(*ptx);

  artifact.cubin.clear();
  artifact.ptxasCommand.clear();
  artifact.ptxasResources.clear();
  artifact.spillingKernels.clear();
  std::string ptxas = options.cubin ? findPtxas(options.ptxasPath) : "";
  if (!ptxas.empty()) {
    llvm::SmallString<128> ptxFile, cubinFile;
    std::error_code ec = llvm::sys::fs::createTemporaryFile("gdn", "ptx", ptxFile);
    if (!ec)
      ec = llvm::sys::fs::createTemporaryFile("gdn", "cubin", cubinFile);
    bool written = false;
    if (!ec) {
      std::ofstream f(ptxFile.c_str());
      f << artifact.ptx;
      f.close();
      written = static_cast<bool>(f);
    }
    // A full disk or a read-only temporary folder: say so, rather than hand ptxas a
    // truncated file (which it reports as a syntax error).
    if (!written) {
      error = "cannot write the PTX for ptxas to a temporary file" +
              (ptxFile.empty() ? std::string() : " " + std::string(ptxFile.str())) +
              (ec ? ": " + ec.message() : std::string(" (disk full?)"));
      if (!ptxFile.empty())
        llvm::sys::fs::remove(ptxFile);
      if (!cubinFile.empty())
        llvm::sys::fs::remove(cubinFile);
      return false;
    }
    std::string arch = "-arch=" + options.chip;
    // --split-compile=0: the kernels' optimisation on every CPU (0.38 -> 0.26 s for the four
    // kernels of a segmented layer on 2 cores; the same SASS, cuobjdump -sass compared on the
    // H100 machine, 2026-12-07). A ptxas that does not know the option runs again without it.
    SmallVector<StringRef> argv = {ptxas,   arch, "-O3",    "-v", "--split-compile=0",
                                   ptxFile, "-o", cubinFile};
    std::string message, log;
    int rc = 0;
    for (bool split : {true, false}) {
      if (!split)
        argv.erase(argv.begin() + 4);
      artifact.ptxasCommand.clear();
      for (StringRef a : argv)
        artifact.ptxasCommand += (artifact.ptxasCommand.empty() ? "" : " ") + a.str();
      // ptxas's output (info lines about the zero-length dynamic shared-memory symbol, for
      // one) is shown only when it fails.
      llvm::SmallString<128> logFile;
      llvm::sys::fs::createTemporaryFile("gdn", "ptxas.log", logFile);
      std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logFile), StringRef(logFile)};
      message.clear();
      rc = llvm::sys::ExecuteAndWait(ptxas, argv, std::nullopt, redirects, 0, 0, &message);
      {
        std::ifstream in(logFile.c_str());
        log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      llvm::sys::fs::remove(logFile);
      if (rc == 0 || log.find("split-compile") == std::string::npos)
        break;
    }
    parsePtxasResources(log, artifact);
    if (rc != 0) {
      error = "ptxas failed (" + std::to_string(rc) + "): " + artifact.ptxasCommand +
              (message.empty() ? "" : ": " + message) + (log.empty() ? "" : "\n" + log);
      llvm::sys::fs::remove(ptxFile);
      llvm::sys::fs::remove(cubinFile);
      return false;
    }
    std::ifstream in(cubinFile.c_str(), std::ios::binary);
    artifact.cubin.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (artifact.cubin.empty()) {
      error = "ptxas wrote no cubin: " + artifact.ptxasCommand;
      llvm::sys::fs::remove(ptxFile);
      llvm::sys::fs::remove(cubinFile);
      return false;
    }
    llvm::sys::fs::remove(ptxFile);
    llvm::sys::fs::remove(cubinFile);
  }
  return true;
}

} // namespace gdn
