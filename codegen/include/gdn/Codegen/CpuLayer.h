//===- CpuLayer.h - compile a layer for the CPU and run it ------*- C++ -*-===//
//
// Loads a .mlir file holding one gdn layer op, describes it, lowers it with gdn-to-cpu and
// runs it in process through MLIR's ExecutionEngine. Host data travels as float vectors
// (bf16/f16 values already rounded) and int64 offsets; this header needs no MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_CPULAYER_H
#define GDN_CODEGEN_CPULAYER_H

#include "gdn/Reference.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gdn {

/// One operand or result of a layer: its name ("q", "initial_state", "o", ...), its shape
/// (-1 where dynamic) and element type ("bf16", "f16", "f32", "i32", "i64").
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string elementType;
};

/// What a layer op says about itself.
struct LayerInfo {
  std::string op; ///< "gdn.recurrence", "gdn.decode" or "gdn.transition"
  GateKind gate = GateKind::None;
  UpdateRule rule = UpdateRule::Additive;
  float scale = 1.0f;
  bool qkL2norm = false;
  bool allowNegEigval = false;
  int64_t chunkSize = 64; ///< chunk size of the lowering (1 for decode: a step loop)
  int64_t H = 0, HV = 0, K = 0, V = 0;
  /// gdn.transition: sub-steps per token (k, v, a, b, beta have T * steps rows) and whether
  /// the rank-one term is the delta rule's (`rule` is then Delta, for beta's range).
  int64_t steps = 1;
  bool deltaRule = false;
  std::vector<TensorSpec> operands, results;

  const TensorSpec *operand(const std::string &name) const;
  bool isVarlen() const { return operand("cu_seqlens") != nullptr; }
  /// The name of the state operand and result: initial_state/final_state or state/new_state.
  std::string stateOperandName() const;
  std::string stateResultName() const;
  /// JSON: operands, results and the variant attributes.
  std::string toJson() const;
};

/// A host tensor: float data for floating-point tensors, int64 for integer ones.
struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::vector<int64_t> indices;
  size_t numel() const;
};
using HostTensors = std::map<std::string, HostTensor>;

class CpuLayer {
public:
  /// Parses `path` and finds its one layer op. `chunkSize` 0 means the op's own
  /// `chunk_size` attribute, else 64; any other value must be 16, 32, 64 or 128 and is
  /// overridden by the op's attribute. Returns null and sets `error` on failure.
  static std::unique_ptr<CpuLayer> loadFile(const std::string &path, int64_t chunkSize,
                                            std::string &error);
  static std::unique_ptr<CpuLayer> loadSource(const std::string &source,
                                              const std::string &bufferName, int64_t chunkSize,
                                              std::string &error);
  ~CpuLayer();

  const LayerInfo &info() const;

  /// Runs the chunk step over tiles of `columns` value columns (gdn-tile-value-columns, as the
  /// GPU kernels do; 0, the default: the whole V). Before the layer compiles; `columns` must
  /// divide V. Returns false and sets `error` otherwise.
  bool setValueTile(int64_t columns, std::string &error);
  /// Has the chunk step recompute what costs fewer crossing elements than reading it from the
  /// prep (gdn-split-chunk-loop{recompute}, as the generated GPU kernels do). Before the layer
  /// compiles; returns false and sets `error` otherwise.
  bool setRecomputeInStep(bool on, std::string &error);

  /// Lowers the layer to LLVM and JIT-compiles it (done by the first run if not before).
  bool compile(std::string &error);

  /// The LLVM-dialect module the layer lowers to, as text (compiles if needed).
  std::string loweredIR(std::string &error);

  /// Checks `inputs` against the layer (names, shapes, dims that must agree, finite values,
  /// beta range, cu_seqlens offsets) and runs it. Outputs are keyed by result name.
  bool run(const HostTensors &inputs, HostTensors &outputs, std::string &error);

private:
  CpuLayer();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Checks one input against its operand (shape, value count, finite values); "" when fine.
std::string validateOperand(const TensorSpec &spec, const HostTensor &tensor);

/// Checks `inputs` against `info` without running anything; "" when they fit.
std::string validateInputs(const LayerInfo &info, const HostTensors &inputs);

/// Random valid inputs for `info` (k rows unit-norm unless qk_l2norm, g <= 0, beta in
/// range). `batch` and `seqLen` fill dynamic B and T; for a packed batch `batch` is the
/// number of sequences N and `seqLen` the total token count, split at random.
bool makeRandomHostInputs(const LayerInfo &info, int64_t batch, int64_t seqLen, uint64_t seed,
                          bool withInitialState, HostTensors &inputs, std::string &error);

/// The float64 token-by-token reference on the same inputs, keyed by result name.
std::map<std::string, std::vector<double>> referenceOutputs(const LayerInfo &info,
                                                            const HostTensors &inputs);

} // namespace gdn

#endif // GDN_CODEGEN_CPULAYER_H
