//===- DeviceLayer.h - device buffers for one layer launch ------*- C++ -*-===//
//
// Random valid inputs for a kernel (by its metadata) on the device, zeroed outputs, the
// LayerLaunch that reads them, and the float64 reference of the same inputs. For tests,
// tuning and benchmarks; a serving stack passes its own tensors instead.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_DEVICELAYER_H
#define GDN_DEVICELAYER_H

#include "gdn/Reference.h"
#include "gdn/Runtime.h"

#include <memory>
#include <string>
#include <vector>

namespace gdn {

class DeviceLayer {
public:
  /// `batch` sequences of `tokens` tokens; for a packed-batch kernel, `batch` sequences
  /// sharing `tokens` tokens (an empty one, a one-token one, the rest split evenly).
  static Status create(const KernelMetadata &metadata, int64_t batch, int64_t tokens, uint64_t seed,
                       std::unique_ptr<DeviceLayer> &out);
  ~DeviceLayer();

  LayerLaunch launch;       ///< the tensors on the device (editable, e.g. in place)
  RandomLayerInputs inputs; ///< the same inputs on the host (rounded to the kernel's types)
  std::vector<int64_t> cuSeqlens;
  int64_t B = 0, T = 0, N = 0;

  /// o (as floats) and the final state, read back after the kernel ran.
  Status downloadOutput(std::vector<float> &o) const;
  Status downloadFinalState(std::vector<float> &state) const;
  Status downloadInitialState(std::vector<float> &state) const;
  /// Zeroes the outputs on the device.
  Status clearOutputs();
  /// referenceRecurrence on `inputs`.
  LayerResult reference() const;

private:
  DeviceLayer() = default;
  Status upload(const std::vector<unsigned char> &bytes, const std::string &type,
                std::vector<int64_t> shape, TensorArg &arg);
  Status allocate(size_t bytes, const std::string &type, std::vector<int64_t> shape,
                  TensorArg &arg);
  KernelMetadata meta;
  std::vector<void *> allocations;
};

/// Host floats as device element bytes (bf16/f16 rounded to nearest even), and back.
std::vector<unsigned char> encodeElements(const std::vector<float> &values,
                                          const std::string &type);
std::vector<float> decodeElements(const std::vector<unsigned char> &bytes, const std::string &type);
/// Offsets as device bytes of `type` (i32 or i64).
std::vector<unsigned char> encodeIndices(const std::vector<int64_t> &values,
                                         const std::string &type);
size_t elementBytes(const std::string &type);

} // namespace gdn

#endif // GDN_DEVICELAYER_H
