//===- DeviceLayer.cpp - device buffers for one layer launch --------------===//
#include "gdn/DeviceLayer.h"
#include "gdn/Numeric.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

namespace gdn {

size_t elementBytes(const std::string &t) {
  return t == "bf16" || t == "f16" ? 2 : t == "i64" ? 8 : 4;
}

namespace {
/// body(begin, end) over [0, count), split across the hardware's threads when large.
template <typename Body> void inParallel(size_t count, const Body &body) {
  size_t workers = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()),
                                    count / (size_t(1) << 20) + 1);
  if (workers <= 1)
    return body(size_t(0), count);
  std::vector<std::thread> pool;
  size_t per = (count + workers - 1) / workers;
  for (size_t w = 0; w < workers; ++w)
    pool.emplace_back([&, w] { body(std::min(count, w * per), std::min(count, (w + 1) * per)); });
  for (std::thread &t : pool)
    t.join();
}
} // namespace

std::vector<unsigned char> encodeElements(const std::vector<float> &values,
                                          const std::string &type) {
  std::vector<unsigned char> out(values.size() * elementBytes(type));
  bool bf16 = type == "bf16", half = bf16 || type == "f16";
  inParallel(values.size(), [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      if (half) {
        uint16_t h = bf16 ? toBf16Bits(values[i]) : toF16Bits(values[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
      } else {
        std::memcpy(out.data() + 4 * i, &values[i], 4);
      }
    }
  });
  return out;
}

std::vector<float> decodeElements(const std::vector<unsigned char> &bytes,
                                  const std::string &type) {
  size_t n = bytes.size() / elementBytes(type);
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (type == "bf16" || type == "f16") {
      uint16_t h;
      std::memcpy(&h, bytes.data() + 2 * i, 2);
      out[i] = type == "bf16" ? fromBf16Bits(h) : fromF16Bits(h);
    } else {
      std::memcpy(&out[i], bytes.data() + 4 * i, 4);
    }
  }
  return out;
}

std::vector<unsigned char> encodeIndices(const std::vector<int64_t> &values,
                                         const std::string &type) {
  size_t width = elementBytes(type);
  std::vector<unsigned char> out(values.size() * width);
  for (size_t i = 0; i < values.size(); ++i) {
    int32_t narrow = static_cast<int32_t>(values[i]);
    std::memcpy(out.data() + i * width,
                width == 4 ? static_cast<const void *>(&narrow) : &values[i], width);
  }
  return out;
}

namespace {
ElementType elementType(const std::string &t) {
  return t == "bf16" ? ElementType::BF16 : t == "f16" ? ElementType::F16 : ElementType::F32;
}

Status download(const TensorArg &t, std::vector<float> &out) {
  if (!t.data)
    return Status::error(Status::Code::InvalidArgument, "the kernel has no such tensor");
  Driver *driver = nullptr;
  if (Status s = Driver::get(driver); !s)
    return s;
  size_t numel = 1;
  for (int64_t d : t.shape)
    numel *= static_cast<size_t>(d);
  std::vector<unsigned char> bytes(numel * elementBytes(t.elementType));
  if (Status s = driver->copyToHost(bytes.data(), t.data, bytes.size()); !s)
    return s;
  out = decodeElements(bytes, t.elementType);
  return Status::ok();
}
} // namespace

Status DeviceLayer::allocate(size_t bytes, const std::string &type, std::vector<int64_t> shape,
                             TensorArg &arg) {
  Driver *driver = nullptr;
  if (Status s = Driver::get(driver); !s)
    return s;
  void *ptr = nullptr;
  if (Status s = driver->malloc(&ptr, bytes); !s)
    return s;
  allocations.push_back(ptr);
  arg = TensorArg{ptr, type, std::move(shape), {}};
  return driver->memset(ptr, bytes);
}

Status DeviceLayer::upload(const std::vector<unsigned char> &bytes, const std::string &type,
                           std::vector<int64_t> shape, TensorArg &arg) {
  if (Status s = allocate(bytes.size(), type, std::move(shape), arg); !s)
    return s;
  Driver *driver = nullptr;
  Driver::get(driver);
  return driver->copyToDevice(const_cast<void *>(arg.data), bytes.data(), bytes.size());
}

Status DeviceLayer::create(const KernelMetadata &m, int64_t batch, int64_t tokens, uint64_t seed,
                           std::unique_ptr<DeviceLayer> &out) {
  std::unique_ptr<DeviceLayer> d(new DeviceLayer());
  d->meta = m;
  d->T = tokens;
  if (m.isVarlen()) {
    d->B = 1;
    d->N = batch;
    d->cuSeqlens = {0};
    for (int64_t n = 1; n <= batch; ++n) {
      // An empty first sequence and a one-token second one, then an even split.
      int64_t end = n == 1   ? 0
                    : n == 2 ? std::min<int64_t>(1, tokens)
                             : 1 + (tokens - 1) * (n - 2) / std::max<int64_t>(1, batch - 2);
      d->cuSeqlens.push_back(n == batch ? tokens : std::min(end, tokens));
    }
  } else {
    d->B = d->N = batch;
  }
  int64_t B = d->B, T = d->T, N = d->N;
  bool withState = m.hasArg("initial_state");
  d->inputs = makeRandomInputs(m.gate, m.rule, B, T, m.H, m.HV, m.K, m.V, m.qkL2norm, false, false,
                               elementType(m.inputType), seed);
  if (withState)
    d->inputs.initialState = makeRandomInputs(m.gate, m.rule, N, 1, m.H, m.HV, m.K, m.V, false,
                                              false, true, ElementType::F32, seed + 1)
                                 .initialState;
  for (float &x : d->inputs.g)
    x = roundTo(elementType(m.gType.empty() ? "f32" : m.gType), x);
  for (float &x : d->inputs.beta)
    x = roundTo(elementType(m.betaType.empty() ? "f32" : m.betaType), x);

  LayerLaunch &l = d->launch;
  const RandomLayerInputs &in = d->inputs;
  Status s = d->upload(encodeElements(in.q, m.inputType), m.inputType, {B, T, m.H, m.K}, l.q);
  if (s)
    s = d->upload(encodeElements(in.k, m.inputType), m.inputType, {B, T, m.H, m.K}, l.k);
  if (s)
    s = d->upload(encodeElements(in.v, m.inputType), m.inputType, {B, T, m.HV, m.V}, l.v);
  if (s && m.hasArg("g"))
    s = d->upload(encodeElements(in.g, m.gType), m.gType,
                  m.gate == GateKind::Channel ? std::vector<int64_t>{B, T, m.HV, m.K}
                                              : std::vector<int64_t>{B, T, m.HV},
                  l.g);
  if (s && m.hasArg("beta"))
    s = d->upload(encodeElements(in.beta, m.betaType), m.betaType, {B, T, m.HV}, l.beta);
  if (s && withState)
    s = d->upload(encodeElements(in.initialState, "f32"), "f32", {N, m.HV, m.K, m.V},
                  l.initialState);
  if (s && m.isVarlen()) {
    s = d->upload(encodeIndices(d->cuSeqlens, m.cuSeqlensType), m.cuSeqlensType, {N + 1},
                  l.cuSeqlens);
    l.cuSeqlensHost = d->cuSeqlens.data();
  }
  if (s)
    s = d->allocate(static_cast<size_t>(B * T * m.HV * m.V) * elementBytes(m.inputType),
                    m.inputType, {B, T, m.HV, m.V}, l.o);
  if (s && m.hasArg("final_state"))
    s = d->allocate(static_cast<size_t>(N * m.HV * m.K * m.V) * 4, "f32", {N, m.HV, m.K, m.V},
                    l.finalState);
  if (!s)
    return s;
  out = std::move(d);
  return Status::ok();
}

DeviceLayer::~DeviceLayer() {
  Driver *driver = nullptr;
  if (Driver::get(driver).isOk())
    for (void *p : allocations)
      driver->free(p);
}

Status DeviceLayer::downloadOutput(std::vector<float> &o) const { return download(launch.o, o); }

Status DeviceLayer::downloadFinalState(std::vector<float> &state) const {
  return download(launch.finalState, state);
}

Status DeviceLayer::downloadInitialState(std::vector<float> &state) const {
  return download(launch.initialState, state);
}

Status DeviceLayer::clearOutputs() {
  Driver *driver = nullptr;
  if (Status s = Driver::get(driver); !s)
    return s;
  for (const TensorArg *t : {&launch.o, &launch.finalState})
    if (t->data) {
      size_t numel = 1;
      for (int64_t dim : t->shape)
        numel *= static_cast<size_t>(dim);
      if (Status s =
              driver->memset(const_cast<void *>(t->data), numel * elementBytes(t->elementType));
          !s)
        return s;
    }
  return Status::ok();
}

LayerResult DeviceLayer::reference() const {
  LayerProblem p;
  p.gate = meta.gate;
  p.rule = meta.rule;
  p.B = B;
  p.T = T;
  p.H = meta.H;
  p.HV = meta.HV;
  p.K = meta.K;
  p.V = meta.V;
  p.scale = meta.scale;
  p.qkL2Norm = meta.qkL2norm;
  p.cuSeqlens = cuSeqlens;
  p.q = inputs.q.data();
  p.k = inputs.k.data();
  p.v = inputs.v.data();
  p.g = meta.hasArg("g") ? inputs.g.data() : nullptr;
  p.beta = meta.hasArg("beta") ? inputs.beta.data() : nullptr;
  p.initialState = meta.hasArg("initial_state") ? inputs.initialState.data() : nullptr;
  return referenceRecurrence(p);
}

} // namespace gdn
