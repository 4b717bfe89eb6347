//===- Runtime.cpp - driver loading, kernel loading, validated launches ---===//
#include "gdn/Runtime.h"

#include <dlfcn.h>

#include <cstring>
#include <fstream>
#include <locale>
#include <mutex>
#include <sstream>

namespace gdn {

//===----------------------------------------------------------------------===//
// The driver API, resolved with dlopen
//===----------------------------------------------------------------------===//

namespace {
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;

// cuLaunchKernelEx's configuration, as cuda.h lays it out (CUDA 12.0 and later).
constexpr int kLaunchAttributeProgrammaticStreamSerialization = 6;
struct CUlaunchAttribute {
  int id;
  char pad[4];
  union {
    char bytes[64];
    int programmaticStreamSerializationAllowed;
    void *alignment;
  } value;
};
static_assert(sizeof(CUlaunchAttribute) == 72, "CUlaunchAttribute layout");
struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};
} // namespace

struct Driver::Api {
  void *handle = nullptr;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, CUstream, void **, void **);
  /// Optional (CUDA 12.0+): launches with attributes (programmatic dependent launch).
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig *, CUfunction, void **, void **) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuStreamIsCapturing)(CUstream, int *);
  CUcontext context = nullptr;
  int64_t multiprocessors = 0; ///< device 0's SM count, read with the context

  /// "CUDA_ERROR_X (description) in what", or ok.
  Status check(CUresult r, const std::string &what) const {
    if (r == 0)
      return Status::ok();
    const char *name = nullptr, *text = nullptr;
    if (cuGetErrorName(r, &name) != 0 || !name)
      name = "CUDA_ERROR_UNKNOWN";
    if (cuGetErrorString(r, &text) != 0 || !text)
      text = "no description";
    return Status::error(Status::Code::DriverError,
                         std::string(name) + " (" + text + ") in " + what);
  }
};

Status Driver::get(Driver *&driver) {
  static Driver instance;
  static Status loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    const char *path = std::getenv("GDN_LIBCUDA");
    void *h = dlopen(path ? path : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char *why = dlerror();
      loaded = Status::error(Status::Code::NoDriver, std::string("no CUDA driver: cannot open ") +
                                                         (path ? path : "libcuda.so.1") + " (" +
                                                         (why ? why : "") + ")");
      return;
    }
    auto *api = new Driver::Api();
    api->handle = h;
    std::string missing;
    auto bind = [&](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
      if (!fn)
        missing += std::string(missing.empty() ? "" : ", ") + name;
    };
    bind(api->cuInit, "cuInit");
    bind(api->cuDeviceGet, "cuDeviceGet");
    bind(api->cuDeviceGetName, "cuDeviceGetName");
    bind(api->cuDeviceGetAttribute, "cuDeviceGetAttribute");
    bind(api->cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    bind(api->cuCtxSetCurrent, "cuCtxSetCurrent");
    bind(api->cuCtxSynchronize, "cuCtxSynchronize");
    bind(api->cuModuleLoadData, "cuModuleLoadData");
    bind(api->cuModuleUnload, "cuModuleUnload");
    bind(api->cuModuleGetFunction, "cuModuleGetFunction");
    bind(api->cuLaunchKernel, "cuLaunchKernel");
    bind(api->cuGetErrorName, "cuGetErrorName");
    bind(api->cuGetErrorString, "cuGetErrorString");
    bind(api->cuMemAlloc, "cuMemAlloc_v2");
    bind(api->cuMemFree, "cuMemFree_v2");
    bind(api->cuMemcpyHtoD, "cuMemcpyHtoD_v2");
    bind(api->cuMemcpyDtoH, "cuMemcpyDtoH_v2");
    bind(api->cuMemsetD8, "cuMemsetD8_v2");
    bind(api->cuFuncSetAttribute, "cuFuncSetAttribute");
    bind(api->cuStreamIsCapturing, "cuStreamIsCapturing");
    // Optional: without it, launches are plainly serialised.
    api->cuLaunchKernelEx =
        reinterpret_cast<decltype(api->cuLaunchKernelEx)>(dlsym(h, "cuLaunchKernelEx"));
    if (!missing.empty()) {
      loaded =
          Status::error(Status::Code::NoDriver, "no usable CUDA driver: libcuda lacks " + missing);
      dlclose(h);
      delete api;
      return;
    }
    instance.api = api;
  });
  driver = loaded.isOk() ? &instance : nullptr;
  return loaded;
}

Status Driver::makeContextCurrent() {
  if (!api->context) {
    static std::mutex m;
    std::lock_guard<std::mutex> lock(m);
    if (!api->context) {
      if (Status s = api->check(api->cuInit(0), "cuInit"); !s)
        return Status::error(Status::Code::NoDriver, "no usable GPU: " + s.message);
      CUdevice device;
      if (Status s = api->check(api->cuDeviceGet(&device, 0), "cuDeviceGet(0)"); !s)
        return s;
      constexpr int kMultiprocessorCount = 16; // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
      int sms = 0;
      if (Status s = api->check(api->cuDeviceGetAttribute(&sms, kMultiprocessorCount, device),
                                "cuDeviceGetAttribute(MULTIPROCESSOR_COUNT)");
          !s)
        return s;
      CUcontext ctx;
      if (Status s =
              api->check(api->cuDevicePrimaryCtxRetain(&ctx, device), "cuDevicePrimaryCtxRetain");
          !s)
        return s;
      api->multiprocessors = sms;
      api->context = ctx;
    }
  }
  return api->check(api->cuCtxSetCurrent(api->context), "cuCtxSetCurrent");
}

Status Driver::malloc(void **ptr, size_t bytes) {
  CUdeviceptr p = 0;
  Status s = api->check(api->cuMemAlloc(&p, bytes ? bytes : 1),
                        "cuMemAlloc(" + std::to_string(bytes) + " bytes)");
  *ptr = reinterpret_cast<void *>(p);
  return s;
}

Status Driver::free(void *ptr) {
  return api->check(api->cuMemFree(reinterpret_cast<CUdeviceptr>(ptr)), "cuMemFree");
}

Status Driver::copyToDevice(void *dst, const void *src, size_t bytes) {
  return api->check(api->cuMemcpyHtoD(reinterpret_cast<CUdeviceptr>(dst), src, bytes),
                    "cuMemcpyHtoD");
}

Status Driver::copyToHost(void *dst, const void *src, size_t bytes) {
  return api->check(api->cuMemcpyDtoH(dst, reinterpret_cast<CUdeviceptr>(src), bytes),
                    "cuMemcpyDtoH");
}

Status Driver::memset(void *dst, size_t bytes) {
  return api->check(api->cuMemsetD8(reinterpret_cast<CUdeviceptr>(dst), 0, bytes), "cuMemsetD8");
}

Status Driver::synchronize() { return api->check(api->cuCtxSynchronize(), "cuCtxSynchronize"); }

int64_t Driver::multiprocessors() const { return api->multiprocessors; }

std::string Driver::deviceName() {
  char name[256] = {0};
  CUdevice device;
  if (api->cuDeviceGet(&device, 0) != 0 || api->cuDeviceGetName(name, sizeof name, device) != 0)
    return "unknown";
  return name;
}

void *Driver::symbol(const char *name) { return dlsym(api->handle, name); }

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

namespace {

size_t elementBytes(const std::string &t) {
  if (t == "bf16" || t == "f16")
    return 2;
  if (t == "i64")
    return 8;
  return 4;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Status invalid(const std::string &message) {
  return Status::error(Status::Code::InvalidArgument, message);
}

/// Extents that are negative, or whose byte size does not fit in 63 bits, before any shape
/// arithmetic uses them (products of user extents must not overflow).
Status checkExtents(const char *name, const TensorArg &t) {
  if (!t.data)
    return Status::ok();
  int64_t bytes = static_cast<int64_t>(elementBytes(t.elementType));
  for (int64_t extent : t.shape) {
    if (extent < 0)
      return invalid("'" + std::string(name) + "' has a negative extent: shape " +
                     shapeText(t.shape));
    if (extent && __builtin_mul_overflow(bytes, extent, &bytes))
      return invalid("'" + std::string(name) + "' is too large: shape " + shapeText(t.shape) +
                     " overflows a 64-bit byte size");
  }
  for (int64_t stride : t.strides)
    if (stride < 0)
      return invalid("'" + std::string(name) + "' has a negative stride: strides " +
                     shapeText(t.strides));
  return Status::ok();
}

/// One tensor against its expected element type and shape.
Status checkTensor(const std::string &name, const TensorArg &t, const std::string &elementType,
                   const std::vector<int64_t> &shape) {
  if (!t.data)
    return invalid("'" + name + "' is a null pointer");
  if (Status s = checkExtents(name.c_str(), t); !s)
    return s;
  if (t.elementType != elementType)
    return invalid("'" + name + "' has element type '" + t.elementType + "', the kernel needs '" +
                   elementType + "'");
  if (t.shape != shape)
    return invalid("'" + name + "' has shape " + shapeText(t.shape) + ", the kernel needs " +
                   shapeText(shape));
  if (reinterpret_cast<uintptr_t>(t.data) % elementBytes(elementType) != 0)
    return invalid("'" + name +
                   "' is misaligned: " + std::to_string(reinterpret_cast<uintptr_t>(t.data)) +
                   " is not a multiple of " + std::to_string(elementBytes(elementType)) + " bytes");
  if (!t.strides.empty()) {
    if (t.strides.size() != shape.size())
      return invalid("'" + name + "' has " + std::to_string(t.strides.size()) +
                     " strides for rank " + std::to_string(shape.size()));
    int64_t expected = 1;
    for (size_t d = shape.size(); d-- > 0;) {
      if (shape[d] > 1 && t.strides[d] != expected)
        return invalid("'" + name + "' is not contiguous: strides " + shapeText(t.strides) +
                       " for shape " + shapeText(shape));
      expected *= shape[d];
    }
  }
  return Status::ok();
}

} // namespace

/// Blocks of the prep kernel along x: every chunk of every sequence (packed batches: at most
/// floor(T / C) + N slots, see ChunkedKernel.cpp; blocks past a sequence's chunks return).
static int64_t prepSlots(const KernelMetadata &m, int64_t T, int64_t N) {
  int64_t C = m.chunkSize;
  return m.isVarlen() ? (T + C - 1) / C + N : N * ((T + C - 1) / C);
}

int64_t segmentsFor(const KernelMetadata &m, int64_t N, int64_t tokens, int64_t multiprocessors) {
  if (m.segments <= 1 || !m.segmentsAuto)
    return std::max<int64_t>(m.segments, 1);
  if (N <= 0 || tokens <= 0 || multiprocessors <= 0 || m.chunkSize <= 0)
    return 1;
  int64_t heads = 0, streams = 0;
  if (m.vTile <= 0 || __builtin_mul_overflow(N, m.HV, &heads) ||
      __builtin_mul_overflow(heads, m.V / m.vTile, &streams) || streams > multiprocessors)
    return 1; // the streams fill the GPU already
  const int64_t mean = tokens / N, chunks = mean / m.chunkSize + (mean % m.chunkSize != 0);
  // One wave of state-pass blocks. (Two waves of 4 segments won 6-11% over 2 for HV 32 at B1
  // with 2 copy stages, but lost 2-10% with the default 3: H100, bench/results/
  // defaults-h100-2026-12-07-*.)
  int64_t P = 1;
  while (2 * P <= m.segments && streams * 2 * P <= multiprocessors &&
         chunks >= 2 * P * kMinChunksPerSegment)
    P *= 2;
  return P;
}

Status validateLaunch(const KernelMetadata &m, const LayerLaunch &l) {
  const TensorArg &q = l.q;
  if (!q.data)
    return invalid("'q' is a null pointer");
  if (q.shape.size() != 4)
    return invalid("'q' must have shape [B, T, H, K], got rank " + std::to_string(q.shape.size()));
  int64_t B = q.shape[0], T = q.shape[1];
  if (B <= 0 || T <= 0)
    return invalid("empty batch: B = " + std::to_string(B) + ", T = " + std::to_string(T));
  int64_t N = B;
  if (m.isVarlen()) {
    if (B != 1)
      return invalid("a packed batch (cu_seqlens) needs B = 1, got B = " + std::to_string(B));
    if (l.cuSeqlens.shape.size() != 1 || l.cuSeqlens.shape[0] < 2)
      return invalid("'cu_seqlens' must have shape [N + 1] with N >= 1, got " +
                     shapeText(l.cuSeqlens.shape));
    N = l.cuSeqlens.shape[0] - 1;
  }
  if (l.segments < 0 || l.segments > std::max<int64_t>(m.segments, 1))
    return invalid("segments = " + std::to_string(l.segments) + " must be in 0.." +
                   std::to_string(std::max<int64_t>(m.segments, 1)) + " (0: the kernel's choice" +
                   (m.segments > 1 ? "" : "; this kernel has no segmented state pass") + ")");
  bool hasInitial = m.hasArg("initial_state"), hasFinal = m.hasArg("final_state");
  struct Expect {
    const char *name;
    const TensorArg *arg;
    bool present;
    std::string type;
    std::vector<int64_t> shape;
  };
  std::vector<Expect> expects = {
      {"q", &l.q, true, m.inputType, {B, T, m.H, m.K}},
      {"k", &l.k, true, m.inputType, {B, T, m.H, m.K}},
      {"v", &l.v, true, m.inputType, {B, T, m.HV, m.V}},
      {"g", &l.g, m.hasArg("g"), m.gType,
       m.gate == GateKind::Channel ? std::vector<int64_t>{B, T, m.HV, m.K}
                                   : std::vector<int64_t>{B, T, m.HV}},
      {"beta", &l.beta, m.hasArg("beta"), m.betaType, {B, T, m.HV}},
      {"initial_state", &l.initialState, hasInitial, "f32", {N, m.HV, m.K, m.V}},
      {"cu_seqlens", &l.cuSeqlens, m.isVarlen(), m.cuSeqlensType, {N + 1}},
      {"o", &l.o, true, m.inputType, {B, T, m.HV, m.V}},
      {"final_state", &l.finalState, hasFinal, "f32", {N, m.HV, m.K, m.V}},
  };
  for (const Expect &e : expects) {
    if (!e.present) {
      if (e.arg->data)
        return invalid("'" + std::string(e.name) + "' was given, but kernel '" + m.kernelName +
                       "' takes no " + e.name);
      continue;
    }
    if (Status s = checkTensor(e.name, *e.arg, e.type, e.shape); !s)
      return s;
  }
  // Outputs must not alias inputs. The final state may alias the initial state: each thread
  // reads its state column before it writes it (an in-place state update).
  for (const Expect &out : expects) {
    if (!out.present || (out.arg != &l.o && out.arg != &l.finalState))
      continue;
    for (const Expect &in : expects) {
      bool inPlaceState = out.arg == &l.finalState && in.arg == &l.initialState;
      if (in.present && in.arg != &l.o && in.arg != &l.finalState && !inPlaceState &&
          in.arg->data == out.arg->data)
        return invalid("'" + std::string(out.name) + "' aliases input '" + in.name + "'");
    }
  }
  if (l.cuSeqlensHost && !m.isVarlen())
    return invalid("'cu_seqlens_host' was given, but kernel '" + m.kernelName +
                   "' takes no cu_seqlens");
  if (l.cuSeqlensHost) {
    const int64_t *cu = l.cuSeqlensHost;
    if (cu[0] != 0)
      return invalid("cu_seqlens must start at 0, got " + std::to_string(cu[0]));
    for (int64_t i = 1; i <= N; ++i)
      if (cu[i] < 0 || cu[i] > T)
        return invalid("cu_seqlens offset " + std::to_string(i) + " (" + std::to_string(cu[i]) +
                       ") is outside [0, T = " + std::to_string(T) + "]");
    for (int64_t i = 1; i <= N; ++i)
      if (cu[i] < cu[i - 1])
        return invalid("cu_seqlens must not decrease: offset " + std::to_string(i) + " (" +
                       std::to_string(cu[i]) + ") < offset " + std::to_string(i - 1) + " (" +
                       std::to_string(cu[i - 1]) + ")");
    if (cu[N] != T)
      return invalid("cu_seqlens must end at T = " + std::to_string(T) + ", got " +
                     std::to_string(cu[N]));
  }
  // Every kernel reads q and k rows, and the recurrent kernel its states, 16 bytes at a time;
  // the chunked kernels also copy v and store o in 16-byte pieces.
  for (const TensorArg *t : {&l.q, &l.k, &l.initialState, &l.finalState})
    if (t->data && reinterpret_cast<uintptr_t>(t->data) % 16 != 0)
      return invalid(std::string("'") +
                     (t == &l.q              ? "q"
                      : t == &l.k            ? "k"
                      : t == &l.initialState ? "initial_state"
                                             : "final_state") +
                     "' must be 16-byte aligned");
  if (m.kind == "chunked")
    for (const TensorArg *t : {&l.v, &l.o})
      if (reinterpret_cast<uintptr_t>(t->data) % 16 != 0)
        return invalid(std::string("'") + (t == &l.v ? "v" : "o") +
                       "' must be 16-byte aligned for a chunked kernel");
  // The most segments this launch may run (the workspace's size depends on them).
  const int64_t mostSegments = l.segments > 0 ? l.segments : std::max<int64_t>(m.segments, 1);
  if (m.needsWorkspace() && m.workspaceBytes(B, T, N, mostSegments) == SIZE_MAX)
    return invalid("the workspace size overflows: B = " + std::to_string(B) +
                   ", T = " + std::to_string(T) + ", N = " + std::to_string(N) + " at " +
                   std::to_string(m.workspaceTokenBytes) + " bytes per token" +
                   (m.segments > 1
                        ? " and " + std::to_string(m.segmentWorkspaceBytes(mostSegments)) +
                              " per sequence for " + std::to_string(mostSegments) + " segments"
                        : std::string()));
  if (m.needsWorkspace() && l.workspace) {
    // With the segments left to the kernel, Kernel::launch checks the size for its choice.
    size_t need = m.workspaceBytes(B, T, N, l.segments > 0 ? l.segments : 1);
    if (l.workspaceBytes < need)
      return invalid("'workspace' has " + std::to_string(l.workspaceBytes) +
                     " bytes, the launch needs " + std::to_string(need));
    if (reinterpret_cast<uintptr_t>(l.workspace) % 16 != 0)
      return invalid("'workspace' must be 16-byte aligned");
  }
  if (!m.needsWorkspace() && l.workspace)
    return invalid("'workspace' was given, but kernel '" + m.kernelName + "' needs none");
  if (!m.prepKernelName.empty() && prepSlots(m, T, N) > 2147483647)
    return invalid("grid too large: " + std::to_string(prepSlots(m, T, N)) +
                   " chunks for the prep kernel");
  if (N > 2147483647 || m.HV > 65535)
    return invalid("grid too large: N = " + std::to_string(N) + ", HV = " + std::to_string(m.HV));
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Kernel
//===----------------------------------------------------------------------===//

static Status readFile(const std::string &path, std::vector<char> &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Status::error(Status::Code::IoError, "cannot open " + path);
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return Status::ok();
}

Status Kernel::loadFiles(const std::string &prefix, std::unique_ptr<Kernel> &out) {
  std::vector<char> metaText, image;
  if (Status s = readFile(prefix + ".meta", metaText); !s)
    return s;
  KernelMetadata meta;
  if (Status s = KernelMetadata::parse(std::string(metaText.begin(), metaText.end()), meta); !s)
    return Status::error(s.code, prefix + ".meta: " + s.message);
  if (!readFile(prefix + ".cubin", image).isOk())
    if (Status s = readFile(prefix + ".ptx", image); !s)
      return Status::error(Status::Code::IoError,
                           "neither " + prefix + ".cubin nor " + prefix + ".ptx can be read");
  return load(image, meta, out);
}

Status Kernel::load(const std::vector<char> &image, const KernelMetadata &metadata,
                    std::unique_ptr<Kernel> &out) {
  Driver *driver = nullptr;
  if (Status s = Driver::get(driver); !s)
    return s;
  if (Status s = driver->makeContextCurrent(); !s)
    return s;
  std::vector<char> data = image;
  data.push_back('\0'); // PTX is loaded as a NUL-terminated string; harmless for cubin
  std::unique_ptr<Kernel> kernel(new Kernel());
  kernel->meta = metadata;
  Driver::Api &api = *driver->api;
  CUmodule module = nullptr;
  if (Status s = api.check(api.cuModuleLoadData(&module, data.data()),
                           "cuModuleLoadData (kernel '" + metadata.kernelName + "')");
      !s)
    return s;
  kernel->module = module;
  CUfunction fn = nullptr;
  if (Status s = api.check(api.cuModuleGetFunction(&fn, module, metadata.kernelName.c_str()),
                           "cuModuleGetFunction('" + metadata.kernelName + "')");
      !s)
    return s;
  kernel->function = fn;
  if (!metadata.prepKernelName.empty()) {
    CUfunction prep = nullptr;
    if (Status s =
            api.check(api.cuModuleGetFunction(&prep, module, metadata.prepKernelName.c_str()),
                      "cuModuleGetFunction('" + metadata.prepKernelName + "')");
        !s)
      return s;
    kernel->prepFunction = prep;
  }
  for (auto [name, slot] : {std::pair{&metadata.segmentKernelName, &kernel->segmentFunction},
                            std::pair{&metadata.combineKernelName, &kernel->combineFunction}}) {
    if (name->empty())
      continue;
    CUfunction f = nullptr;
    if (Status s = api.check(api.cuModuleGetFunction(&f, module, name->c_str()),
                             "cuModuleGetFunction('" + *name + "')");
        !s)
      return s;
    *slot = f;
  }
  // Above 48 KiB of shared memory a kernel must opt in. The limit counts static shared
  // memory too (the NVVM lowering of dynamic shared memory leaves a byte or so), so a kernel
  // that asks for exactly 48 KiB dynamic already needs it: opt in for every dynamic size.
  constexpr int kMaxDynamicSharedSizeBytes = 8; // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
  auto optIn = [&](CUfunction f, int64_t bytes, const std::string &name) -> Status {
    if (bytes <= 0)
      return Status::ok();
    return api.check(api.cuFuncSetAttribute(f, kMaxDynamicSharedSizeBytes, static_cast<int>(bytes)),
                     "cuFuncSetAttribute(max dynamic shared memory " + std::to_string(bytes) +
                         " bytes, '" + name + "')");
  };
  if (Status s = optIn(fn, metadata.sharedMemoryBytes, metadata.kernelName); !s)
    return s;
  if (kernel->prepFunction)
    if (Status s =
            optIn(kernel->prepFunction, metadata.prepSharedMemoryBytes, metadata.prepKernelName);
        !s)
      return s;
  if (kernel->segmentFunction)
    if (Status s =
            optIn(kernel->segmentFunction, metadata.sharedMemoryBytes, metadata.segmentKernelName);
        !s)
      return s;
  if (kernel->combineFunction)
    if (Status s = optIn(kernel->combineFunction, metadata.combineSharedMemoryBytes,
                         metadata.combineKernelName);
        !s)
      return s;
  out = std::move(kernel);
  return Status::ok();
}

Kernel::~Kernel() {
  Driver *driver = nullptr;
  if ((module || !workspaces.empty()) && Driver::get(driver).isOk()) {
    for (auto &[stream, w] : workspaces)
      driver->api->cuMemFree(reinterpret_cast<CUdeviceptr>(w.data));
    if (module)
      driver->api->cuModuleUnload(module);
  }
}

size_t Kernel::workspaceBytes(const LayerLaunch &l) const {
  if (l.q.shape.size() != 4)
    return 0;
  int64_t B = l.q.shape[0];
  if (meta.isVarlen() && l.cuSeqlens.shape.size() != 1)
    return 0; // validateLaunch reports the shape
  int64_t sequences = meta.isVarlen() ? l.cuSeqlens.shape[0] - 1 : B;
  return meta.workspaceBytes(B, l.q.shape[1], sequences, segmentsFor(l));
}

Status Kernel::ownWorkspace(size_t bytes, void *stream, void *&out) const {
  std::lock_guard<std::mutex> lock(workspaceMutex);
  Workspace &w = workspaces[stream];
  if (w.bytes < bytes) {
    Driver *driver = nullptr;
    if (Status s = Driver::get(driver); !s)
      return s;
    int capturing = 0;
    if (Status s = driver->api->check(
            driver->api->cuStreamIsCapturing(static_cast<CUstream>(stream), &capturing),
            "cuStreamIsCapturing");
        !s)
      return s;
    if (capturing)
      return invalid("kernel '" + meta.kernelName + "' needs a workspace of " +
                     std::to_string(bytes) +
                     " bytes while the stream is capturing: pass one (LayerLaunch::workspace), "
                     "or launch once with this shape before capturing");
    if (w.data) {
      // cuMemFree waits for the kernels that still use the old buffer.
      if (Status s = driver->free(w.data); !s)
        return s;
      w = Workspace();
    }
    if (Status s = driver->malloc(&w.data, bytes); !s)
      return s;
    w.bytes = bytes;
  }
  out = w.data;
  return Status::ok();
}

Status Kernel::validate(const LayerLaunch &launch) const { return validateLaunch(meta, launch); }

int64_t Kernel::segmentsFor(const LayerLaunch &l) const {
  if (meta.segments <= 1)
    return 1;
  if (l.segments > 0)
    return l.segments;
  Driver *driver = nullptr;
  int64_t sms = Driver::get(driver).isOk() ? driver->multiprocessors() : 0;
  int64_t B = l.q.shape.size() == 4 ? l.q.shape[0] : 0,
          T = l.q.shape.size() == 4 ? l.q.shape[1] : 0;
  int64_t N = meta.isVarlen() ? (l.cuSeqlens.shape.empty() ? 0 : l.cuSeqlens.shape[0] - 1) : B;
  return gdn::segmentsFor(meta, N, B * T, sms);
}

Status Kernel::setProgrammaticLaunch(bool on) {
  if (on && !meta.programmaticLaunch)
    return Status::error(Status::Code::InvalidArgument,
                         "kernel '" + meta.kernelName +
                             "' was not compiled for programmatic dependent launch (its "
                             "metadata lacks 'programmatic_launch: 1'; gdn-grid-dependency "
                             "applies to sm_90 and later)");
  programmatic = on;
  return Status::ok();
}

/// Launches go through cuLaunchKernelEx with programmatic stream serialisation: the kernel
/// was built for it, the caller has not turned it off, and the driver has the entry point.
static bool programmaticAllowed(const KernelMetadata &meta, bool enabled, const Driver::Api &api) {
  return meta.programmaticLaunch && enabled && api.cuLaunchKernelEx;
}

bool Kernel::programmaticLaunch() const {
  Driver *driver = nullptr;
  return Driver::get(driver).isOk() && programmaticAllowed(meta, programmatic, *driver->api);
}

Status Kernel::launch(const LayerLaunch &l, void *stream) const {
  if (Status s = validateLaunch(meta, l); !s)
    return s;
  Driver *driver = nullptr;
  if (Status s = Driver::get(driver); !s)
    return s;
  if (Status s = driver->makeContextCurrent(); !s)
    return s;
  int64_t B = l.q.shape[0], T = l.q.shape[1];
  int64_t N = meta.isVarlen() ? l.cuSeqlens.shape[0] - 1 : B;
  const int64_t segments = segmentsFor(l);

  // Each tensor travels as a 1-D memref descriptor: allocated, aligned, offset, size, stride.
  struct Descriptor {
    const void *allocated, *aligned;
    int64_t offset, size, stride;
  };
  auto tensorFor = [&](const std::string &name) -> const TensorArg * {
    if (name == "q")
      return &l.q;
    if (name == "k")
      return &l.k;
    if (name == "v")
      return &l.v;
    if (name == "g")
      return &l.g;
    if (name == "beta")
      return &l.beta;
    if (name == "initial_state")
      return &l.initialState;
    if (name == "cu_seqlens")
      return &l.cuSeqlens;
    if (name == "o")
      return &l.o;
    if (name == "final_state")
      return &l.finalState;
    return nullptr;
  };
  void *workspace = l.workspace;
  size_t workspaceSize = l.workspace ? l.workspaceBytes : meta.workspaceBytes(B, T, N, segments);
  if (l.workspace && workspaceSize < meta.workspaceBytes(B, T, N, segments))
    return invalid("'workspace' has " + std::to_string(workspaceSize) + " bytes, the launch (" +
                   std::to_string(segments) + " segments) needs " +
                   std::to_string(meta.workspaceBytes(B, T, N, segments)) +
                   " (Kernel::workspaceBytes)");
  if (meta.needsWorkspace() && !workspace)
    if (Status s = ownWorkspace(workspaceSize, stream, workspace); !s)
      return s;
  Descriptor descriptors[16];
  void *params[16 * 5 + 2];
  int64_t tokens = T, sequences = N, launchSegments = segments;
  size_t p = 0, d = 0;
  for (const std::string &name : meta.args) {
    if (name == "T" || name == "N" || name == "segments") {
      params[p++] = name == "T" ? &tokens : name == "N" ? &sequences : &launchSegments;
      continue;
    }
    if (name == "workspace" && d < 16) {
      descriptors[d] = {workspace, workspace, 0, static_cast<int64_t>(workspaceSize), 1};
      Descriptor &desc = descriptors[d++];
      for (void *field : {(void *)&desc.allocated, (void *)&desc.aligned, (void *)&desc.offset,
                          (void *)&desc.size, (void *)&desc.stride})
        params[p++] = field;
      continue;
    }
    const TensorArg *t = tensorFor(name);
    if (!t || d >= 16)
      return invalid("kernel '" + meta.kernelName + "' has an unknown argument '" + name + "'");
    int64_t numel = 1;
    for (int64_t dim : t->shape)
      numel *= dim;
    descriptors[d] = {t->data, t->data, 0, numel, 1};
    Descriptor &desc = descriptors[d++];
    params[p++] = &desc.allocated;
    params[p++] = &desc.aligned;
    params[p++] = &desc.offset;
    params[p++] = &desc.size;
    params[p++] = &desc.stride;
  }
  Driver::Api &api = *driver->api;
  // Programmatic dependent launch: each kernel may be scheduled once the previous one on the
  // stream has retired its blocks, before its completion is processed (the kernels wait for it
  // before any memory access: gdn-grid-dependency).
  bool programmaticNow = programmaticAllowed(meta, programmatic, api);
  auto launchKernel = [&](void *f, int64_t gx, int64_t gy, int64_t gz, int64_t block,
                          int64_t shared, const std::string &what) {
    if (!programmaticNow)
      return api.check(api.cuLaunchKernel(f, static_cast<unsigned>(gx), static_cast<unsigned>(gy),
                                          static_cast<unsigned>(gz), static_cast<unsigned>(block),
                                          1, 1, static_cast<unsigned>(shared),
                                          static_cast<CUstream>(stream), params, nullptr),
                       "cuLaunchKernel(" + what + ")");
    CUlaunchAttribute attribute = {};
    attribute.id = kLaunchAttributeProgrammaticStreamSerialization;
    attribute.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config = {static_cast<unsigned>(gx),
                             static_cast<unsigned>(gy),
                             static_cast<unsigned>(gz),
                             static_cast<unsigned>(block),
                             1,
                             1,
                             static_cast<unsigned>(shared),
                             static_cast<CUstream>(stream),
                             &attribute,
                             1};
    return api.check(api.cuLaunchKernelEx(&config, f, params, nullptr),
                     "cuLaunchKernelEx(" + what + ", programmatic dependent launch)");
  };
  if (prepFunction) {
    int64_t slots = prepSlots(meta, T, N);
    if (Status s = launchKernel(prepFunction, slots, meta.HV, 1, meta.prepBlockSize,
                                meta.prepSharedMemoryBytes,
                                "'" + meta.prepKernelName + "', grid " + std::to_string(slots) +
                                    "x" + std::to_string(meta.HV));
        !s)
      return s;
  }
  auto launchOn = [&](void *f, const std::string &name, int64_t z, int64_t block, int64_t shared) {
    return launchKernel(f, N, meta.HV, z, block, shared,
                        "'" + name + "', grid " + std::to_string(N) + "x" +
                            std::to_string(meta.HV) + "x" + std::to_string(z));
  };
  if (segments > 1) {
    // Segment end states and transitions, then their chain (nothing to chain for 2).
    if (Status s =
            launchOn(segmentFunction, meta.segmentKernelName, meta.segmentStateBlocks(segments),
                     meta.blockSize, meta.sharedMemoryBytes);
        !s)
      return s;
    if (segments > 2)
      if (Status s = launchOn(combineFunction, meta.combineKernelName, meta.combineBlocks,
                              meta.combineBlockSize, meta.combineSharedMemoryBytes);
          !s)
        return s;
  }
  return launchOn(function, meta.kernelName, meta.V / meta.vTile * segments, meta.blockSize,
                  meta.sharedMemoryBytes);
}

} // namespace gdn
