// libFuzzer target: gdn's passes and named pipelines on inputs that parse and verify. The
// input's first byte picks the pipeline (and its options, pipelineFor), the rest is the
// module's text: gdn-chunkwise{chunk-size}, + gdn-split-chunk-loop,
// gdn-to-cpu{chunk-size, split-chunks}, gdn-to-nvvm{kernel=recurrent|chunked|generic,
// chunk-size} and, for one selector in eight, gdn-to-ptx{kernel=...} (which also runs LLVM's
// NVPTX backend: slow, so less often).
// With the first byte's high bit set the rest describes a layer instead of being IR text
// (structuredLayer). Past the parser: a module that parses and verifies, on which the pipeline
// then runs. A pass may refuse an input (a diagnostic); it may not crash, abort or trip a
// sanitizer.
#include "FuzzStats.h"
#include "MlirFuzz.h"
#include "gdn/Codegen/LayerDescription.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <string>

static gdn_fuzz::Stats stats("pipelines");
static gdn_fuzz::MlirFuzzContext context;

/// Bits 4-6 of the selector pick the pipeline, bits 2-3 the kernel kind, bits 0-1 the chunk
/// size; bit 7 is the structured-input flag (LLVMFuzzerTestOneInput).
static std::string pipelineFor(uint8_t selector) {
  static const char *chunks[] = {"16", "32", "64", "128"};
  static const char *kernels[] = {"recurrent", "chunked", "generic", "chunked"};
  std::string c = chunks[selector & 3];
  std::string gpuChunk = c == "128" ? "64" : c; // the GPU kernels take 16, 32 or 64
  std::string k = kernels[(selector >> 2) & 3];
  switch ((selector >> 4) & 7) {
  case 0:
    return "gdn-chunkwise{chunk-size=" + c + "}";
  case 1:
    return "gdn-chunkwise{chunk-size=" + c + "},gdn-split-chunk-loop";
  case 2:
    return "gdn-to-cpu{chunk-size=" + c + "}";
  case 3:
    return "gdn-to-cpu{chunk-size=" + c + " split-chunks=0}";
  case 7:
    return "gdn-to-ptx{kernel=" + k + " chunk-size=" + gpuChunk + "}";
  default:
    return "gdn-to-nvvm{kernel=" + k + " chunk-size=" + gpuChunk + "}";
  }
}

/// Structured inputs (a first byte with its high bit set): the next bytes pick a layer's
/// variant, element type, head dims (valid ones and a few the verifier must refuse), states,
/// qk_l2norm, packing, decode, scale and chunk size, written as .mlir text by
/// LayerDescription: most such inputs verify, so the passes see every combination.
static std::string structuredLayer(const uint8_t *data, size_t size) {
  auto at = [&](size_t i) -> unsigned { return i < size ? data[i] : 0u; };
  static const int64_t dims[] = {64, 128, 256, 64, 128, 32, 96, 16};
  static const char *types[] = {"bf16", "f16", "f32", "bf16"};
  gdn::LayerDescription l;
  l.gate = static_cast<gdn::GateKind>(at(0) % 3);
  l.rule = at(0) & 4 ? gdn::UpdateRule::Delta : gdn::UpdateRule::Additive;
  l.inputType = types[(at(0) >> 3) & 3];
  l.H = 1 + at(1) % 4;
  l.HV = l.H * (1 + (at(1) >> 2) % 4) + ((at(1) & 0x80) ? 1 : 0); // sometimes not a multiple
  l.K = dims[at(2) & 7];
  l.V = dims[(at(2) >> 3) & 7];
  l.initialState = at(3) & 1;
  l.finalState = at(3) & 2;
  l.qkL2norm = at(3) & 4;
  l.allowNegEigval = (at(3) & 8) && l.rule == gdn::UpdateRule::Delta;
  l.varlen = at(3) & 16;
  l.decode = at(3) & 32;
  l.decodeTokens = 1 + at(4) % 4;
  l.scale = (at(3) & 64) ? 0.25f : 0.0f;
  if (at(4) & 0x80)
    l.extraAttributes = "chunk_size = " + std::to_string(int64_t(8) << (at(4) & 7)) + " : i64";
  return l.toMlir();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  ++stats.inputs;
  context.beginInput();
  std::string structured;
  if (data[0] & 0x80 && size > 1)
    structured = structuredLayer(data + 1, size - 1);
  // On a stack that grows with the input, as gdn-opt runs (SourceLimits.h).
  mlir::gdn::runWithStackForInput(size, [&] {
    mlir::OwningOpRef<mlir::ModuleOp> module =
        structured.empty() ? context.parse(reinterpret_cast<const char *>(data) + 1, size - 1)
                           : context.parse(structured.data(), structured.size());
    if (!module)
      return;
    ++stats.past;
    mlir::PassManager pm(&context.get());
    std::string pipeline = pipelineFor(data[0]);
    if (mlir::failed(mlir::parsePassPipeline("builtin.module(" + pipeline + ")", pm)))
      gdn_fuzz::fail(("a pipeline of the target's own does not parse: " + pipeline).c_str());
    (void)pm.run(*module);
  });
  return 0;
}
