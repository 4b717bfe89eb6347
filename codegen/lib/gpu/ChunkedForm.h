//===- ChunkedForm.h - the split chunked form read as kernel input -*- C++ -*-===//
//
// Internal to codegen/: gdn-chunked-gpu-kernels builds its kernels from the chunked form
// (gdn-chunkwise, then gdn-split-chunk-loop). This reads one function of that form: the
// layer facts its tile program implies, and its chunk size.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_CHUNKEDFORM_H
#define GDN_CODEGEN_CHUNKEDFORM_H

#include "ChunkedFormFacts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::gdn {

/// A function of the chunked form, read for the kernel builders.
struct ChunkedForm {
  LayerFacts facts;
  int64_t chunkSize = 0;
  Location loc; ///< the step loop's: the layer op's, as gdn-chunkwise builds it
};

/// Reads `fn`: the prep (`scf.forall` marked gdn.chunk_prep) and step (`scf.for` marked
/// gdn.chunk_step) of one layer. The facts are chunkedFormFacts' (the operands from the chunk
/// loop's gdn.operands; the rule, l2norm_rows and the Q scale off the tile ops), and are then
/// checked op by op: the
/// function must be the program gdn-chunkwise and gdn-split-chunk-loop write for them (after
/// canonicalize and cse on both), because that is the tile program whose ops the kernel
/// fragments implement. Failure after a diagnostic at the first op that differs, or at
/// the function where a part is missing.
/// `noFragment` (optional) is set when the function is a well-formed chunked form whose tile
/// program no fragment implements (the generic kernel can still lower it).
FailureOr<ChunkedForm> readChunkedForm(func::FuncOp fn, StringRef pass, bool *noFragment = nullptr);

} // namespace mlir::gdn

#endif // GDN_CODEGEN_CHUNKEDFORM_H
