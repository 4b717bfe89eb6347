// libFuzzer target: gdn's passes and named pipelines on inputs that parse and verify. The
// input's first byte picks the pipeline (and its options), the rest is the module's text:
//   gdn-chunkwise{chunk-size}, + gdn-split-chunk-loop, gdn-to-cpu{chunk-size, split-chunks},
//   gdn-to-nvvm{kernel=recurrent|chunked|generic, chunk-size} and, for one byte value in eight,
//   gdn-to-ptx{kernel=...} (which also runs LLVM's NVPTX backend: slow, so rarely).
// Past the parser: a module that parses and verifies, on which the pipeline then runs. A pass
// may refuse an input (a diagnostic); it may not crash, abort or trip a sanitizer.
#include "FuzzStats.h"
#include "MlirFuzz.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <string>

static gdn_fuzz::Stats stats("pipelines");
static gdn_fuzz::MlirFuzzContext context;

static std::string pipelineFor(uint8_t selector) {
  static const char *chunks[] = {"16", "32", "64", "128"};
  static const char *kernels[] = {"recurrent", "chunked", "generic", "auto"};
  const char *c = chunks[selector & 3];
  const char *k = kernels[(selector >> 2) & 3];
  switch (selector >> 4) {
  case 0:
  case 1:
    return std::string("gdn-chunkwise{chunk-size=") + c + "}";
  case 2:
  case 3:
    return std::string("gdn-chunkwise{chunk-size=") + c + "},gdn-split-chunk-loop";
  case 4:
  case 5:
    return std::string("gdn-to-cpu{chunk-size=") + c + "}";
  case 6:
    return std::string("gdn-to-cpu{chunk-size=") + c + " split-chunks=0}";
  case 7:
    return std::string("gdn-to-ptx{kernel=") + (k[0] == 'a' ? "chunked" : k) +
           " chunk-size=" + (c[0] == '1' && c[1] == '2' ? "64" : c) + "}";
  default:
    return std::string("gdn-to-nvvm{kernel=") + (k[0] == 'a' ? "chunked" : k) +
           " chunk-size=" + (c[0] == '1' && c[1] == '2' ? "64" : c) + "}";
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  ++stats.inputs;
  context.beginInput();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      context.parse(reinterpret_cast<const char *>(data) + 1, size - 1);
  if (!module)
    return 0;
  ++stats.past;
  mlir::PassManager pm(&context.get());
  std::string pipeline = pipelineFor(data[0]);
  if (mlir::failed(mlir::parsePassPipeline("builtin.module(" + pipeline + ")", pm)))
    gdn_fuzz::fail(("a pipeline of the target's own does not parse: " + pipeline).c_str());
  (void)pm.run(*module);
  return 0;
}
