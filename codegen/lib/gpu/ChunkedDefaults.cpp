//===- ChunkedDefaults.cpp - the chunked kernels' defaults from the layer -===//
//
// Two tiling choices follow from facts of the layer rather than from one fixed default: the
// chunk size (K and whether the batch is packed) and the prep kernel's warps (chunk size, K,
// gate). The options' value 0 asks for them; gdn-default-chunk-size writes the chunk size onto
// the layer op (so `gdn-opt` shows it and gdn-chunkwise uses it), the chunked pass resolves the
// prep warps once it knows the chunk. Measurements behind the rules: docs/gpu-kernels.md.
//
//===----------------------------------------------------------------------===//
#include "gdn/Codegen/Passes.h"

using namespace mlir;
using namespace mlir::gdn;

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNDEFAULTCHUNKSIZE
#include "gdn/Codegen/Passes.h.inc"
} // namespace mlir::gdn

int64_t mlir::gdn::defaultChunkSize(int64_t K, bool packed, GateKind gate) {
  // 16 where K x 32 would leave the sliced state pass (K x chunk <= 4096: K = 256 ran 0.313
  // against 0.634 ms at chunk 32, H100), the batch is packed (its smaller solve: 0.343 against
  // 0.428 ms for 8 packed sequences) or the gates are per channel (KDA: the gated grams take a
  // decay per channel and row pair; chunk 32 ran 0.896 against the chunk-16 bucket's 0.704 ms at
  // B4 T4096 H32); 32 elsewhere (docs/gpu-kernels.md, Defaults).
  return K * 32 > 4096 || packed || gate == GateKind::Channel ? 16 : 32;
}

int64_t mlir::gdn::defaultPrepWarps(int64_t chunkSize, int64_t K, GateKind gate) {
  // One-warp prep blocks at chunk 16 with K <= 128 and scalar or no gates (a chunk per warp:
  // the packed batch 27%, 8x2048 3.7% faster, H200); 4 elsewhere (even, or 2-18% faster).
  return chunkSize == 16 && K <= 128 && gate != GateKind::Channel ? 1 : 4;
}

int64_t mlir::gdn::chunkedChunkSize(Operation *op, int64_t option) {
  auto r = dyn_cast<RecurrenceOp>(op);
  if (r && r.getChunkSize())
    return *r.getChunkSize();
  if (option != 0 || !r)
    return option;
  return defaultChunkSize(cast<RankedTensorType>(r.getQ().getType()).getDimSize(3),
                          static_cast<bool>(r.getCuSeqlens()), r.getGate());
}

namespace {
struct GdnDefaultChunkSizePass
    : public gdn::impl::GdnDefaultChunkSizeBase<GdnDefaultChunkSizePass> {
  void runOnOperation() override {
    getOperation()->walk([&](RecurrenceOp r) {
      if (!r.getChunkSize())
        r.setChunkSize(chunkedChunkSize(r, 0));
    });
  }
};
} // namespace
