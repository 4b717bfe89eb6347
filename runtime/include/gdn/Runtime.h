//===- Runtime.h - load and launch generated gdn kernels --------*- C++ -*-===//
//
// The runtime loads kernels compiled by gdn (PTX or cubin plus a metadata record) through
// the CUDA driver API, validates every launch argument, and launches on a caller's stream.
// It does not link MLIR or libcuda: the driver is opened with dlopen on first use, so a
// binary starts on a machine without a GPU and reports "no CUDA driver" instead.
//
// Launches never allocate, synchronise or read device memory back, so they can be
// captured into CUDA graphs.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_RUNTIME_H
#define GDN_RUNTIME_H

#include "gdn/Numeric.h"
#include "gdn/Variant.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gdn {

/// Outcome of a runtime call: ok, or a kind and a message.
struct Status {
  enum class Code { Ok = 0, NoDriver, InvalidArgument, DriverError, IoError };
  Code code = Code::Ok;
  std::string message;

  static Status ok() { return {}; }
  static Status error(Code c, std::string m) { return {c, std::move(m)}; }
  bool isOk() const { return code == Code::Ok; }
  explicit operator bool() const { return isOk(); }
};

/// What a compiled kernel expects: written by gdn-compile next to the PTX/cubin.
struct KernelMetadata {
  std::string kernelName;         ///< entry point in the module
  std::string layer;              ///< "gdn.recurrence" or "gdn.decode"
  std::string kind = "recurrent"; ///< kernel design: recurrent | chunked
  GateKind gate = GateKind::None;
  UpdateRule rule = UpdateRule::Additive;
  int64_t H = 0, HV = 0, K = 0, V = 0;
  int64_t blockSize = 0; ///< threads per block
  int64_t vTile = 0;     ///< value columns per block; grid = N x HV x V / vTile
  int64_t sharedMemoryBytes = 0;
  int64_t chunkSize = 0; ///< 0 for kernels that do not chunk
  float scale = 1.0f;
  bool qkL2norm = false;
  std::string chip;              ///< e.g. sm_90a
  std::string inputType;         ///< bf16 | f16 | f32 (q, k, v, o)
  std::string gType, betaType;   ///< f32 or the input type; empty when absent
  std::string cuSeqlensType;     ///< i32 | i64; empty when not a packed batch
  std::vector<std::string> args; ///< kernel argument order (tensor names, "workspace", "T", "N")
  /// Chunked layers run a chunk-parallel prep kernel first (grid: chunk slots x HV), which
  /// fills a workspace the main kernel reads; empty for single-kernel layers.
  std::string prepKernelName;
  int64_t prepBlockSize = 0, prepSharedMemoryBytes = 0;
  int64_t workspaceTokenBytes = 0; ///< workspace bytes per token (B x T tokens in all)
  /// Workspace bytes per sequence, after the per-token bytes (the generated kernels: a chunk's
  /// padding past the last token of each sequence).
  int64_t workspaceSequenceBytes = 0;
  /// Segmented state pass (segments > 1; fixed-length or packed batches). A launch runs P
  /// segments, 1 <= P <= segments (segmentsFor), passed as the kernels' `segments` argument.
  /// For P > 1, after the prep, `segmentKernelName` (block and shared memory as the main
  /// kernel; grid N x HV x segmentStateBlocks(P)) finds each segment's end state from zero and
  /// its transition, `combineKernelName` (grid N x HV x combineBlocks; only for P > 2) chains
  /// them; the main kernel (grid N x HV x (V / vTile) P) runs every segment from its true
  /// state. P = 1 is the plain state pass.
  int64_t segments = 1;
  /// The launch chooses P from its shape (segmentsFor); else every launch runs `segments`.
  bool segmentsAuto = false;
  std::string segmentKernelName, combineKernelName;
  int64_t combineBlocks = 0, combineBlockSize = 0, combineSharedMemoryBytes = 0;
  /// Blocks per (sequence, value head) of the segment-state kernel for P segments: V tiles
  /// for segments 0 .. P-2, K tiles (transitions) for segments 1 .. P-2. The kernel decodes
  /// its block index with the same count (codegen/lib/gpu/ChunkedKernel.cpp, the segmented state
  /// pass).
  int64_t segmentStateBlocks(int64_t P) const { return V / vTile * (P - 1) + K / vTile * (P - 2); }
  /// Workspace bytes per sequence of a launch running P segments, after the per-token
  /// regions: HV (P - 1) K x V segment states and HV (P - 2) K x K transitions, f32 (0 for
  /// P = 1). The kernels address the same slots (codegen/lib/gpu/ChunkedKernel.cpp).
  /// INT64_MAX when that overflows.
  int64_t segmentWorkspaceBytes(int64_t P) const {
    if (P <= 1)
      return 0;
    int64_t kv, kk, states, transitions, sum, perHead, total;
    if (__builtin_mul_overflow(K, V, &kv) || __builtin_mul_overflow(K, K, &kk) ||
        __builtin_mul_overflow(P - 1, kv, &states) ||
        __builtin_mul_overflow(P - 2, kk, &transitions) ||
        __builtin_add_overflow(states, transitions, &sum) ||
        __builtin_mul_overflow(sum, int64_t(4), &perHead) ||
        __builtin_mul_overflow(perHead, HV, &total))
      return INT64_MAX;
    return total;
  }
  /// Every kernel starts with griddepcontrol.wait (gdn-grid-dependency, sm_90+), so it may
  /// be launched with programmatic stream serialisation.
  bool programmaticLaunch = false;

  bool hasArg(const std::string &name) const;
  bool isVarlen() const { return !cuSeqlensType.empty(); }
  bool needsWorkspace() const { return workspaceTokenBytes > 0 || workspaceSequenceBytes > 0; }
  /// Workspace bytes a launch over B x T tokens in `sequences` sequences (B, or the
  /// packed batch's cu_seqlens length - 1) running `segments` segments needs (0 for
  /// single-kernel layers). SIZE_MAX when the size overflows (validateLaunch refuses such a
  /// launch).
  size_t workspaceBytes(int64_t B, int64_t T, int64_t sequences, int64_t segments = 1) const {
    if (!needsWorkspace())
      return 0;
    int64_t tokens, perTokens, perSequence, perSequences, total;
    if (__builtin_mul_overflow(B, T, &tokens) ||
        __builtin_mul_overflow(tokens, workspaceTokenBytes, &perTokens) ||
        __builtin_add_overflow(segmentWorkspaceBytes(segments), workspaceSequenceBytes,
                               &perSequence) ||
        __builtin_mul_overflow(sequences, perSequence, &perSequences) ||
        __builtin_add_overflow(perTokens, perSequences, &total) || total < 0)
      return SIZE_MAX;
    return static_cast<size_t>(total);
  }
  /// "key: value" lines; parse() reports the line of the first problem.
  std::string serialize() const;
  static Status parse(const std::string &text, KernelMetadata &out);
};

/// A device tensor handed to a launch: pointer, element type, shape and strides (in
/// elements). Kernels need C-contiguous tensors.
struct TensorArg {
  const void *data = nullptr;
  std::string elementType; ///< bf16 | f16 | f32 | i32 | i64
  std::vector<int64_t> shape;
  std::vector<int64_t> strides; ///< empty means contiguous
};

/// The tensors of one layer launch. Absent optional tensors stay default (null data).
struct LayerLaunch {
  TensorArg q, k, v, g, beta, initialState, cuSeqlens, o, finalState;
  /// Optional host copy of cu_seqlens (N + 1 offsets): when given, checked for start 0,
  /// monotone, end T. Never read from the device on the launch path.
  const int64_t *cuSeqlensHost = nullptr;
  /// Device scratch for layers that need it (KernelMetadata::workspaceBytes, 16-byte
  /// aligned). Null: the kernel uses one it owns for the launch's stream (one per stream, so
  /// launches on different streams never share one), grown on an eager launch; pass your own
  /// to capture a first launch into a CUDA graph.
  void *workspace = nullptr;
  size_t workspaceBytes = 0;
  /// Segmented kernels (KernelMetadata::segments > 1): the segments to run, 1 .. segments;
  /// 0 (the default) lets the kernel choose (segmentsFor). Must be 0 or 1 for other kernels.
  int64_t segments = 0;
};

/// The segments a launch of `metadata` over N sequences of `tokens` tokens in all runs on a
/// GPU with `multiprocessors` SMs: `metadata.segments` unless it is segmentsAuto; then the
/// largest power of two P <= segments such that the state pass's N HV (V / vTile) P blocks
/// fit one wave (one block per SM) and each segment keeps kMinChunksPerSegment chunks of the
/// mean sequence. Few (sequence, head) streams split their sequences; streams that fill the GPU
/// run one segment (no extra kernels). docs/runtime.md, "Segments", has the measurements.
constexpr int64_t kMinChunksPerSegment = 16;
int64_t segmentsFor(const KernelMetadata &metadata, int64_t N, int64_t tokens,
                    int64_t multiprocessors);

/// Checks a launch against a kernel's metadata: every tensor present or absent as the
/// kernel needs, element types, shapes (dims that must agree), contiguity, alignment, and
/// the host copy of cu_seqlens when given. Needs no GPU.
Status validateLaunch(const KernelMetadata &metadata, const LayerLaunch &launch);

/// The CUDA driver, opened on first use (libcuda.so.1). Thread-safe.
class Driver {
public:
  /// The process-wide driver, or a NoDriver status naming what failed.
  static Status get(Driver *&driver);
  /// cuInit + device 0's primary context made current on the calling thread.
  Status makeContextCurrent();

  // Thin wrappers that return a Status naming the CUDA error and `what`.
  Status malloc(void **ptr, size_t bytes);
  Status free(void *ptr);
  Status copyToDevice(void *dst, const void *src, size_t bytes);
  Status copyToHost(void *dst, const void *src, size_t bytes);
  Status memset(void *dst, size_t bytes);
  Status synchronize();
  std::string deviceName();
  /// Device 0's streaming multiprocessors (after makeContextCurrent; 0 before).
  int64_t multiprocessors() const;
  /// Any other driver entry point by name (e.g. "cuStreamBeginCapture_v2"), or null.
  void *symbol(const char *name);

  struct Api;
  Api *api = nullptr;
};

/// A loaded kernel module.
class Kernel {
public:
  /// Loads PTX (text) or cubin (binary) with its metadata. Needs the driver.
  static Status load(const std::vector<char> &image, const KernelMetadata &metadata,
                     std::unique_ptr<Kernel> &out);
  /// Reads `<prefix>.meta` and `<prefix>.cubin` (preferred) or `<prefix>.ptx`.
  static Status loadFiles(const std::string &prefix, std::unique_ptr<Kernel> &out);
  ~Kernel();

  const KernelMetadata &metadata() const { return meta; }

  /// Checks every argument against the metadata without touching the GPU.
  Status validate(const LayerLaunch &launch) const;
  /// validate(), then an asynchronous launch on `stream` (a CUstream; null = default).
  /// Layers with a prep kernel launch it first, on the same stream.
  Status launch(const LayerLaunch &launch, void *stream) const;
  /// Workspace bytes `launch` needs (0 for single-kernel layers).
  size_t workspaceBytes(const LayerLaunch &launch) const;
  /// The segments `launch` runs (LayerLaunch::segments, else segmentsFor on this GPU); 1 for
  /// kernels without a segmented state pass. Needs the driver; the launch must validate.
  int64_t segmentsFor(const LayerLaunch &launch) const;
  /// Programmatic dependent launch (on by default where the metadata allows it and the
  /// driver has cuLaunchKernelEx): each of the layer's kernels may be scheduled once the
  /// previous kernel on the stream has retired its blocks, before its completion is processed;
  /// the kernels wait for it before touching memory, so results do not change. Turning it on
  /// for a kernel compiled without it is an error.
  Status setProgrammaticLaunch(bool on);
  /// Whether launches use programmatic dependent launch now.
  bool programmaticLaunch() const;

private:
  /// The kernel's own workspace for `stream`, at least `bytes` long (it cannot grow while
  /// `stream` is capturing).
  Status ownWorkspace(size_t bytes, void *stream, void *&out) const;

  KernelMetadata meta;
  void *module = nullptr;
  void *function = nullptr;
  void *prepFunction = nullptr;
  void *segmentFunction = nullptr, *combineFunction = nullptr;
  std::atomic<bool> programmatic{true};
  struct Workspace {
    void *data = nullptr;
    size_t bytes = 0;
  };
  mutable std::mutex workspaceMutex;
  mutable std::map<void *, Workspace> workspaces; ///< by stream
};

} // namespace gdn

/// For libraries that extend the C API (the JIT): a C handle owning `kernel`, and the
/// gdn_status for `status` (which also sets gdn_last_error).
struct gdn_kernel;
namespace gdn {
gdn_kernel *makeCKernelHandle(std::shared_ptr<Kernel> kernel);
int reportCStatus(const Status &status);
} // namespace gdn

#endif // GDN_RUNTIME_H
