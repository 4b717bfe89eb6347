//===- CpuLayer.cpp - compile a layer for the CPU and run it --------------===//
#include "gdn/Codegen/CpuLayer.h"
#include "CpuTransition.h"
#include "gdn/Codegen/LayerTypes.h"
#include "gdn/Codegen/Pipelines.h"
#include "gdn/Codegen/SourceLimits.h"
#include "gdn/DeviceLayer.h"
#include "gdn/Dialect/GdnDialect.h"
#include "gdn/Dialect/GdnOps.h"
#include "gdn/Numeric.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <locale>
#include <mutex>
#include <sstream>

using namespace mlir;

namespace gdn {

//===----------------------------------------------------------------------===//
// LayerInfo
//===----------------------------------------------------------------------===//

const TensorSpec *LayerInfo::operand(const std::string &name) const {
  for (const TensorSpec &t : operands)
    if (t.name == name)
      return &t;
  return nullptr;
}

std::string LayerInfo::stateOperandName() const {
  return op == "gdn.decode" ? "state" : "initial_state";
}

std::string LayerInfo::stateResultName() const {
  return op == "gdn.decode" ? "new_state" : "final_state";
}

static void specsToJson(std::ostringstream &os, const std::vector<TensorSpec> &specs) {
  os << "[";
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec &t = specs[i];
    os << (i ? ", " : "") << "{\"name\": \"" << t.name << "\", \"shape\": [";
    for (size_t d = 0; d < t.shape.size(); ++d)
      os << (d ? ", " : "") << t.shape[d];
    os << "], \"element_type\": \"" << t.elementType << "\"}";
  }
  os << "]";
}

std::string LayerInfo::toJson() const {
  std::ostringstream os;
  os.imbue(std::locale::classic()); // not the host's global locale
  os.precision(9);
  os << "{\n  \"op\": \"" << op << "\",\n  \"gate\": \"" << toString(gate) << "\",\n  \"rule\": \""
     << toString(rule) << "\",\n  \"scale\": " << scale
     << ",\n  \"qk_l2norm\": " << (qkL2norm ? "true" : "false")
     << ",\n  \"allow_neg_eigval\": " << (allowNegEigval ? "true" : "false")
     << ",\n  \"chunk_size\": " << chunkSize << ",\n  \"steps\": " << steps
     << ",\n  \"delta_rule\": " << (deltaRule ? "true" : "false")
     << ",\n  \"varlen\": " << (isVarlen() ? "true" : "false") << ",\n  \"heads\": {\"H\": " << H
     << ", \"HV\": " << HV << ", \"K\": " << K << ", \"V\": " << V << "},\n  \"operands\": ";
  specsToJson(os, operands);
  os << ",\n  \"results\": ";
  specsToJson(os, results);
  os << "\n}\n";
  return os.str();
}

size_t HostTensor::numel() const {
  size_t n = 1;
  for (int64_t d : shape)
    n *= static_cast<size_t>(d);
  return n;
}

//===----------------------------------------------------------------------===//
// Input validation
//===----------------------------------------------------------------------===//

namespace {

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}

bool isIntegerType(const std::string &t) { return t == "i32" || t == "i64"; }

/// Symbolic dims of each operand, in the layout of docs/design.md §1 (§1.1 for
/// gdn.transition, whose k, v, a, b and beta have `rows` = T * steps rows).
std::vector<std::string> dimNames(const std::string &operand, bool channelGate,
                                  const std::string &rows = "T") {
  if (operand == "q")
    return {"B", "T", "H", "K"};
  if (operand == "k")
    return {"B", rows, "H", "K"};
  if (operand == "v")
    return {"B", rows, "HV", "V"};
  if (operand == "a" || operand == "b")
    return {"B", rows, "HV", "K"};
  if (operand == "g")
    return channelGate ? std::vector<std::string>{"B", "T", "HV", "K"}
                       : std::vector<std::string>{"B", "T", "HV"};
  if (operand == "beta")
    return {"B", rows, "HV"};
  if (operand == "cu_seqlens")
    return {"N+1"};
  return {"N", "HV", "K", "V"}; // states
}

} // namespace

std::string validateOperand(const TensorSpec &spec, const HostTensor &t) {
  if (t.shape.size() != spec.shape.size())
    return "'" + spec.name + "' has shape " + shapeText(t.shape) + " but the layer expects " +
           shapeText(spec.shape);
  for (size_t d = 0; d < spec.shape.size(); ++d)
    if (t.shape[d] < 0 || (spec.shape[d] >= 0 && t.shape[d] != spec.shape[d]))
      return "'" + spec.name + "' has shape " + shapeText(t.shape) + " but the layer expects " +
             shapeText(spec.shape);
  bool integer = isIntegerType(spec.elementType);
  size_t held = integer ? t.indices.size() : t.values.size();
  if (held != t.numel())
    return "'" + spec.name + "' holds " + std::to_string(held) + " values but its shape " +
           shapeText(t.shape) + " needs " + std::to_string(t.numel());
  if (!integer)
    for (size_t i = 0; i < t.values.size(); ++i)
      if (!std::isfinite(t.values[i]))
        return "'" + spec.name + "' holds a non-finite value (" + std::to_string(t.values[i]) +
               ") at flat index " + std::to_string(i);
  return "";
}

std::string validateInputs(const LayerInfo &info, const HostTensors &inputs) {
  for (const auto &[name, tensor] : inputs)
    if (!info.operand(name))
      return "unexpected input '" + name + "': the layer has no such operand";
  std::map<std::string, std::pair<int64_t, std::string>> dims; // name -> (value, who set it)
  for (const TensorSpec &spec : info.operands) {
    auto it = inputs.find(spec.name);
    if (it == inputs.end())
      return "missing input '" + spec.name + "' (" + spec.elementType + " " +
             shapeText(spec.shape) + ")";
    const HostTensor &t = it->second;
    if (std::string e = validateOperand(spec, t); !e.empty())
      return e;
    std::vector<std::string> names =
        dimNames(spec.name, info.gate == GateKind::Channel, info.steps > 1 ? "T * steps" : "T");
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      int64_t got = t.shape[d];
      std::string dimName = names[d];
      if (dimName == "N+1") {
        dimName = "N";
        got -= 1;
      }
      auto [pos, inserted] = dims.try_emplace(dimName, got, spec.name);
      if (!inserted && pos->second.first != got)
        return "'" + spec.name + "' has " + dimName + " = " + std::to_string(got) + " but '" +
               pos->second.second + "' has " + dimName + " = " + std::to_string(pos->second.first);
    }
  }
  int64_t B = dims.at("B").first, T = dims.at("T").first;
  if (auto it = dims.find("T * steps"); it != dims.end() && it->second.first != T * info.steps)
    return "'" + it->second.second + "' has " + std::to_string(it->second.first) +
           " rows but T * steps = " + std::to_string(T) + " * " + std::to_string(info.steps) +
           " = " + std::to_string(T * info.steps);
  if (B == 0 || T == 0)
    return "the batch is empty (B = " + std::to_string(B) + ", T = " + std::to_string(T) + ")";
  if (auto it = dims.find("N"); it != dims.end() && !info.isVarlen() && it->second.first != B)
    return "'" + it->second.second + "' has N = " + std::to_string(it->second.first) +
           " sequences but B = " + std::to_string(B);
  // g is a log-space gate: a positive g would grow the state by exp(g) per token (the
  // recurrence of docs/design.md §1 assumes decay), and the chunkwise form's exp(G_i - G_j)
  // would overflow. Refused, like beta outside its range.
  if (auto it = inputs.find("g"); it != inputs.end())
    for (size_t i = 0; i < it->second.values.size(); ++i)
      if (it->second.values[i] > 0.0f)
        return "'g' value " + std::to_string(it->second.values[i]) + " at flat index " +
               std::to_string(i) + " is positive: g is a log-space gate (g <= 0)";
  if (info.rule == UpdateRule::Delta) {
    float hi = info.allowNegEigval ? 2.0f : 1.0f;
    const HostTensor &beta = inputs.at("beta");
    for (size_t i = 0; i < beta.values.size(); ++i)
      if (beta.values[i] < 0.0f || beta.values[i] > hi)
        return "'beta' value " + std::to_string(beta.values[i]) + " at flat index " +
               std::to_string(i) + " is outside [0, " + (info.allowNegEigval ? "2" : "1") +
               "] (the delta rule" + (info.allowNegEigval ? "" : "; allow_neg_eigval widens it") +
               ")";
  }
  if (info.isVarlen()) {
    const std::vector<int64_t> &cu = inputs.at("cu_seqlens").indices;
    if (cu.size() < 2)
      return "'cu_seqlens' must hold N + 1 >= 2 offsets, got " + std::to_string(cu.size());
    if (cu.front() != 0)
      return "'cu_seqlens' must start at 0, got " + std::to_string(cu.front());
    for (size_t i = 1; i < cu.size(); ++i)
      if (cu[i] < cu[i - 1])
        return "'cu_seqlens' must not decrease, but offset " + std::to_string(i) + " (" +
               std::to_string(cu[i]) + ") < offset " + std::to_string(i - 1) + " (" +
               std::to_string(cu[i - 1]) + ")";
    if (cu.back() != T)
      return "'cu_seqlens' must end at T = " + std::to_string(T) + ", got " +
             std::to_string(cu.back());
  }
  return "";
}

//===----------------------------------------------------------------------===//
// CpuLayer
//===----------------------------------------------------------------------===//

namespace {

TensorSpec specOf(const std::string &name, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  TensorSpec spec{name, {}, elementTypeName(type.getElementType())};
  for (int64_t d : type.getShape())
    spec.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  return spec;
}

struct NamedValue {
  std::string name;
  Value value;
};

/// Present operands and results of a layer op, in op order, with their ODS names.
void layerValues(Operation *op, std::vector<NamedValue> &operands,
                 std::vector<NamedValue> &results) {
  auto add = [](std::vector<NamedValue> &list, const char *name, Value v) {
    if (v)
      list.push_back({name, v});
  };
  if (auto r = dyn_cast<mlir::gdn::RecurrenceOp>(op)) {
    add(operands, "q", r.getQ());
    add(operands, "k", r.getK());
    add(operands, "v", r.getV());
    add(operands, "g", r.getG());
    add(operands, "beta", r.getBeta());
    add(operands, "initial_state", r.getInitialState());
    add(operands, "cu_seqlens", r.getCuSeqlens());
    add(results, "o", r.getO());
    add(results, "final_state", r.getFinalState());
    return;
  }
  if (auto t = dyn_cast<mlir::gdn::TransitionOp>(op)) {
    add(operands, "q", t.getQ());
    add(operands, "k", t.getK());
    add(operands, "v", t.getV());
    add(operands, "a", t.getA());
    add(operands, "b", t.getB());
    add(operands, "g", t.getG());
    add(operands, "beta", t.getBeta());
    add(operands, "initial_state", t.getInitialState());
    add(operands, "cu_seqlens", t.getCuSeqlens());
    add(results, "o", t.getO());
    add(results, "final_state", t.getFinalState());
    return;
  }
  auto d = cast<mlir::gdn::DecodeOp>(op);
  add(operands, "q", d.getQ());
  add(operands, "k", d.getK());
  add(operands, "v", d.getV());
  add(operands, "g", d.getG());
  add(operands, "beta", d.getBeta());
  add(operands, "state", d.getState());
  add(operands, "cu_seqlens", d.getCuSeqlens());
  add(results, "o", d.getO());
  add(results, "new_state", d.getNewState());
}

/// The memref descriptor of a rank-R buffer as the C interface passes it.
template <int R> struct MemRefDescriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[R];
  int64_t strides[R];
};

/// Owns one argument's host buffer (in the layer's element type) and its descriptor.
struct ArgBuffer {
  std::vector<unsigned char> bytes;
  std::vector<int64_t> shape;
  std::string elementType;
  // Big enough for any rank used here (<= 4); filled as MemRefDescriptor<rank>.
  alignas(8) unsigned char descriptor[sizeof(MemRefDescriptor<4>)];
  void *descriptorPtr = nullptr;

  void allocate(const std::vector<int64_t> &s, const std::string &elt) {
    shape = s;
    elementType = elt;
    size_t n = 1;
    for (int64_t d : shape)
      n *= static_cast<size_t>(d);
    // One extra element keeps the pointer valid for empty tensors.
    bytes.assign((n + 1) * elementBytes(elementType), 0);
  }

  template <int R> void fillDescriptor() {
    auto *desc = new (descriptor) MemRefDescriptor<R>();
    desc->allocated = desc->aligned = bytes.data();
    desc->offset = 0;
    int64_t stride = 1;
    for (int d = R - 1; d >= 0; --d) {
      desc->sizes[d] = shape[d];
      desc->strides[d] = stride;
      stride *= shape[d];
    }
    descriptorPtr = desc;
  }

  void finish() {
    switch (shape.size()) {
    case 1:
      return fillDescriptor<1>();
    case 2:
      return fillDescriptor<2>();
    case 3:
      return fillDescriptor<3>();
    default:
      return fillDescriptor<4>();
    }
  }

  void store(const HostTensor &t) {
    shape = t.shape;
    bool integer = elementType == "i32" || elementType == "i64";
    bytes = integer ? encodeIndices(t.indices, elementType) : encodeElements(t.values, elementType);
    bytes.resize(bytes.size() + elementBytes(elementType)); // as in allocate()
    finish();
  }

  HostTensor load() const {
    HostTensor t;
    t.shape = shape;
    size_t used = t.numel() * elementBytes(elementType);
    t.values = decodeElements(std::vector<unsigned char>(bytes.begin(), bytes.begin() + used),
                              elementType);
    return t;
  }
};

/// An unranked memref as the lowered code passes it: rank and a pointer to the ranked
/// descriptor {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct UnrankedDescriptor {
  int64_t rank;
  void *descriptor;
};

/// memref.copy of non-contiguous memrefs lowers to a call of `memrefCopy`. MLIR ships it in
/// libmlir_c_runner_utils.so; this copy lets the JIT run where that library is absent (a
/// static binary on the GPU machine).
extern "C" void gdnMemrefCopy(int64_t elementSize, UnrankedDescriptor *src,
                              UnrankedDescriptor *dst) {
  int64_t rank = src->rank;
  auto fields = [](UnrankedDescriptor *d) { return static_cast<int64_t *>(d->descriptor); };
  // Layout: [allocated, aligned, offset, sizes..., strides...] as 64-bit words.
  int64_t *s = fields(src), *d = fields(dst);
  char *srcBase = reinterpret_cast<char *>(s[1]) + s[2] * elementSize;
  char *dstBase = reinterpret_cast<char *>(d[1]) + d[2] * elementSize;
  const int64_t *sizes = s + 3, *srcStrides = s + 3 + rank, *dstStrides = d + 3 + rank;
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= sizes[i];
  if (total == 0)
    return;
  std::vector<int64_t> index(static_cast<size_t>(rank), 0);
  for (int64_t n = 0; n < total; ++n) {
    int64_t srcOffset = 0, dstOffset = 0;
    for (int64_t i = 0; i < rank; ++i) {
      srcOffset += index[i] * srcStrides[i];
      dstOffset += index[i] * dstStrides[i];
    }
    std::memcpy(dstBase + dstOffset * elementSize, srcBase + srcOffset * elementSize,
                static_cast<size_t>(elementSize));
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
  }
}

void initializeOnce() {
  static std::once_flag flag;
  std::call_once(flag, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    registerAllPasses();
    mlir::gdn::registerGdnPassesAndPipelines();
  });
}

} // namespace

struct CpuLayer::Impl {
  MLIRContext context;
  OwningOpRef<ModuleOp> source;
  Operation *layer = nullptr;
  LayerInfo info;
  int64_t valueTile = 0;
  bool recompute = false;
  std::string lowered;
  std::unique_ptr<ExecutionEngine> engine;
  std::string diagnostics;
  llvm::SourceMgr sourceMgr;

  Impl() : context(makeRegistry()) {
    // Diagnostics name the layer's own source line; the generic op dump adds only noise.
    context.printOpOnDiagnostic(false);
    context.loadAllAvailableDialects();
    registerBuiltinDialectTranslation(context);
    registerLLVMDialectTranslation(context);
  }

  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    registry.insert<mlir::gdn::GdnDialect>();
    registerAllDialects(registry);
    registerAllExtensions(registry);
    return registry;
  }

  /// Collects diagnostics while alive, as "file:line:col: error: ..." with the source line.
  struct Capture {
    Capture(Impl &impl) : os(impl.diagnostics), handler(impl.sourceMgr, &impl.context, os) {}
    llvm::raw_string_ostream os;
    SourceMgrDiagnosticHandler handler;
  };

  bool describe(int64_t chunkSize, std::string &error) {
    SmallVector<Operation *> layers;
    source->walk([&](Operation *op) {
      if (isa<mlir::gdn::RecurrenceOp, mlir::gdn::DecodeOp, mlir::gdn::TransitionOp>(op))
        layers.push_back(op);
    });
    if (layers.size() != 1) {
      error = "expected exactly one gdn.recurrence, gdn.decode or gdn.transition op, found " +
              std::to_string(layers.size());
      return false;
    }
    layer = layers.front();
    std::vector<NamedValue> operands, results;
    layerValues(layer, operands, results);
    for (const NamedValue &nv : operands)
      info.operands.push_back(specOf(nv.name, nv.value));
    for (const NamedValue &nv : results)
      info.results.push_back(specOf(nv.name, nv.value));
    info.op = layer->getName().getStringRef().str();
    auto q = cast<RankedTensorType>(operands[0].value.getType());
    auto v = cast<RankedTensorType>(operands[2].value.getType());
    info.H = q.getDimSize(2);
    info.K = q.getDimSize(3);
    info.HV = v.getDimSize(2);
    info.V = v.getDimSize(3);
    if (auto r = dyn_cast<mlir::gdn::RecurrenceOp>(layer)) {
      info.gate = toRuntime(r.getGate());
      info.rule = toRuntime(r.getRule());
      info.scale = r.getScaleOrDefault();
      info.qkL2norm = r.getQkL2norm();
      info.allowNegEigval = r.getAllowNegEigval();
      if (auto c = r.getChunkSize())
        info.chunkSize = static_cast<int64_t>(*c);
      else
        info.chunkSize = chunkSize ? chunkSize : 64;
    } else if (auto t = dyn_cast<mlir::gdn::TransitionOp>(layer)) {
      info.gate = toRuntime(t.getGate());
      info.deltaRule = t.getDeltaRule();
      info.rule = info.deltaRule ? UpdateRule::Delta : UpdateRule::Additive;
      info.steps = t.getSteps();
      info.allowNegEigval = t.getAllowNegEigval();
      info.scale = t.getScaleOrDefault();
      info.qkL2norm = t.getQkL2norm();
      // The pass option (gdn-chunkwise rounds it down to whole tokens, a multiple of steps,
      // when the op has no chunk_size of its own).
      if (auto c = t.getChunkSize())
        info.chunkSize = static_cast<int64_t>(*c);
      else
        info.chunkSize = chunkSize ? chunkSize : 64;
    } else {
      auto d = cast<mlir::gdn::DecodeOp>(layer);
      info.gate = toRuntime(d.getGate());
      info.rule = toRuntime(d.getRule());
      info.scale = d.getScaleOrDefault();
      info.qkL2norm = d.getQkL2norm();
      info.allowNegEigval = d.getAllowNegEigval();
      info.chunkSize = 1;
    }
    if (chunkSize && !mlir::gdn::isSupportedChunkSize(chunkSize)) {
      error = "chunk size must be 16, 32, 64 or 128, got " + std::to_string(chunkSize);
      return false;
    }
    return true;
  }

  /// A module with one function, gdn_layer(operands..., result buffers...), that runs the
  /// layer and writes its results into caller-owned buffers.
  OwningOpRef<ModuleOp> buildEntryModule() {
    Location loc = layer->getLoc();
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
    OpBuilder b(module->getBodyRegion());
    SmallVector<Type> argTypes(layer->getOperandTypes());
    for (Type t : layer->getResultTypes()) {
      auto tensor = cast<RankedTensorType>(t);
      argTypes.push_back(MemRefType::get(tensor.getShape(), tensor.getElementType()));
    }
    auto fn = func::FuncOp::create(b, loc, "gdn_layer", b.getFunctionType(argTypes, {}));
    fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    // Operands are replaced by position, not through a value mapping: a layer may use one
    // SSA value for two operands (q and k, say), which still arrive as separate inputs.
    Operation *clone = b.clone(*layer);
    for (unsigned i = 0; i < layer->getNumOperands(); ++i)
      clone->setOperand(i, entry->getArgument(i));
    for (unsigned r = 0; r < clone->getNumResults(); ++r) {
      auto store = bufferization::MaterializeInDestinationOp::create(
          b, loc, clone->getResult(r), entry->getArgument(layer->getNumOperands() + r));
      store.setRestrict(true);
      store.setWritable(true);
    }
    func::ReturnOp::create(b, loc);
    return module;
  }

  bool compile(std::string &error) {
    if (engine)
      return true;
    Capture capture(*this);
    OwningOpRef<ModuleOp> module = buildEntryModule();
    PassManager pm(&context);
    mlir::gdn::CpuPipelineOptions options;
    options.chunkSize = info.chunkSize == 1 ? 64 : info.chunkSize;
    options.valueTile = valueTile;
    options.recompute = recompute;
    if (failed(mlir::gdn::buildCpuPipeline(pm, options)) || failed(pm.run(*module))) {
      error = "lowering to the CPU failed:\n" + diagnostics;
      return false;
    }
    llvm::raw_string_ostream os(lowered);
    module->print(os);

    ExecutionEngineOptions engineOptions;
    auto transformer = makeOptimizingTransformer(/*optLevel=*/2, /*sizeLevel=*/0, nullptr);
    engineOptions.transformer = transformer;
    auto created = ExecutionEngine::create(*module, engineOptions);
    if (!created) {
      error = "JIT compilation failed: " + llvm::toString(created.takeError());
      return false;
    }
    engine = std::move(*created);
    engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
      llvm::orc::SymbolMap symbols;
      symbols[interner("memrefCopy")] = {llvm::orc::ExecutorAddr::fromPtr(&gdnMemrefCopy),
                                         llvm::JITSymbolFlags::Exported};
      return symbols;
    });
    return true;
  }
};

CpuLayer::CpuLayer() : impl(std::make_unique<Impl>()) {}
CpuLayer::~CpuLayer() = default;

std::unique_ptr<CpuLayer> CpuLayer::loadSource(const std::string &text,
                                               const std::string &bufferName, int64_t chunkSize,
                                               std::string &error) {
  initializeOnce();
  if (std::string deep = mlir::gdn::checkSourceNesting(text, bufferName); !deep.empty()) {
    error = deep;
    return nullptr;
  }
  std::unique_ptr<CpuLayer> layer(new CpuLayer());
  Impl &impl = *layer->impl;
  bool ok = false;
  // On a thread whose stack grows with the text: MLIR's parser recurses once per level of the
  // input's nesting (SourceLimits.h).
  mlir::gdn::runWithStackForInput(text.size(), [&] {
    {
      Impl::Capture capture(impl);
      impl.sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, bufferName),
                                        llvm::SMLoc());
      impl.source = parseSourceFile<ModuleOp>(impl.sourceMgr, &impl.context);
      if (!impl.source) {
        error = impl.diagnostics.empty() ? "could not parse " + bufferName : impl.diagnostics;
        return;
      }
    }
    ok = impl.describe(chunkSize, error);
  });
  if (!ok)
    return nullptr;
  return layer;
}

std::unique_ptr<CpuLayer> CpuLayer::loadFile(const std::string &path, int64_t chunkSize,
                                             std::string &error) {
  std::string message;
  auto file = openInputFile(path, &message);
  if (!file) {
    error = "cannot read " + path + ": " + message;
    return nullptr;
  }
  return loadSource(file->getBuffer().str(), path, chunkSize, error);
}

const LayerInfo &CpuLayer::info() const { return impl->info; }

bool CpuLayer::compile(std::string &error) { return impl->compile(error); }

bool CpuLayer::setRecomputeInStep(bool on, std::string &error) {
  if (impl->engine) {
    error = "setRecomputeInStep: the layer is compiled already";
    return false;
  }
  impl->recompute = on;
  return true;
}

bool CpuLayer::setValueTile(int64_t columns, std::string &error) {
  if (impl->engine) {
    error = "setValueTile: the layer is compiled already";
    return false;
  }
  if (columns < 0 || (columns > 0 && impl->info.V % columns != 0)) {
    error = "setValueTile: " + std::to_string(columns) +
            " value columns per tile do not divide V = " + std::to_string(impl->info.V);
    return false;
  }
  impl->valueTile = columns;
  return true;
}

std::string CpuLayer::loweredIR(std::string &error) {
  if (!impl->compile(error))
    return "";
  return impl->lowered;
}

bool CpuLayer::run(const HostTensors &inputs, HostTensors &outputs, std::string &error) {
  const LayerInfo &info = impl->info;
  error = validateInputs(info, inputs);
  if (!error.empty())
    return false;
  if (!impl->compile(error))
    return false;

  // Dims of the results follow from the inputs.
  const HostTensor &q = inputs.at("q");
  int64_t B = q.shape[0], T = q.shape[1];
  int64_t N =
      info.isVarlen() ? static_cast<int64_t>(inputs.at("cu_seqlens").indices.size()) - 1 : B;

  std::vector<ArgBuffer> buffers(info.operands.size() + info.results.size());
  for (size_t i = 0; i < info.operands.size(); ++i) {
    buffers[i].elementType = info.operands[i].elementType;
    buffers[i].store(inputs.at(info.operands[i].name));
  }
  for (size_t r = 0; r < info.results.size(); ++r) {
    const TensorSpec &spec = info.results[r];
    std::vector<int64_t> shape = spec.name == "o"
                                     ? std::vector<int64_t>{B, T, info.HV, info.V}
                                     : std::vector<int64_t>{N, info.HV, info.K, info.V};
    ArgBuffer &buffer = buffers[info.operands.size() + r];
    buffer.allocate(shape, spec.elementType);
    buffer.finish();
  }
  SmallVector<void *> args;
  for (ArgBuffer &buffer : buffers)
    args.push_back(&buffer.descriptorPtr);
  if (llvm::Error e = impl->engine->invokePacked("_mlir_ciface_gdn_layer", args)) {
    error = "running the layer failed: " + llvm::toString(std::move(e));
    return false;
  }
  outputs.clear();
  for (size_t r = 0; r < info.results.size(); ++r)
    outputs[info.results[r].name] = buffers[info.operands.size() + r].load();
  return true;
}

//===----------------------------------------------------------------------===//
// Random inputs and the reference
//===----------------------------------------------------------------------===//

bool makeRandomHostInputs(const LayerInfo &info, int64_t batch, int64_t seqLen, uint64_t seed,
                          bool withInitialState, HostTensors &inputs, std::string &error) {
  const TensorSpec &qSpec = *info.operand("q");
  int64_t B = qSpec.shape[0] >= 0 ? qSpec.shape[0] : batch;
  int64_t T = qSpec.shape[1] >= 0 ? qSpec.shape[1] : seqLen;
  if (qSpec.shape[0] >= 0 && batch > 0 && batch != B && !info.isVarlen()) {
    error = "the layer fixes B = " + std::to_string(B) + ", but --batch " + std::to_string(batch) +
            " was given";
    return false;
  }
  if (qSpec.shape[1] >= 0 && seqLen > 0 && seqLen != T) {
    error = "the layer fixes T = " + std::to_string(T) + ", but --seq-len " +
            std::to_string(seqLen) + " was given";
    return false;
  }
  if (B <= 0 || T <= 0) {
    error = "random inputs need B >= 1 and T >= 1 (give --batch and --seq-len)";
    return false;
  }
  int64_t N = B;
  std::vector<int64_t> cu;
  if (info.isVarlen()) {
    // B = 1; `batch` sequences share the T tokens, split at random (empty ones allowed).
    N = batch > 0 ? batch : 1;
    const TensorSpec &cuSpec = *info.operand("cu_seqlens");
    if (cuSpec.shape[0] >= 0)
      N = cuSpec.shape[0] - 1;
    B = 1;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
    cu.push_back(0);
    for (int64_t i = 1; i < N; ++i) {
      s ^= s >> 31;
      s *= 0xBF58476D1CE4E5B9ull;
      s ^= s >> 29;
      cu.push_back(static_cast<int64_t>(s % static_cast<uint64_t>(T + 1)));
    }
    std::sort(cu.begin(), cu.end());
    cu.push_back(T);
  }
  if (info.op == "gdn.transition")
    return makeRandomTransitionInputs(info, B, T, N, cu, seed, withInitialState, inputs);
  ElementType inputType = elementTypeOf(qSpec.elementType);
  bool needState = info.operand(info.stateOperandName()) != nullptr;
  RandomLayerInputs r =
      makeRandomInputs(info.gate, info.rule, B, T, info.H, info.HV, info.K, info.V, info.qkL2norm,
                       info.allowNegEigval, false, inputType, seed);
  inputs.clear();
  auto put = [&](const std::string &name, std::vector<int64_t> shape, std::vector<float> values) {
    putRoundedInput(info, inputs, name, std::move(shape), std::move(values));
  };
  put("q", {B, T, info.H, info.K}, r.q);
  put("k", {B, T, info.H, info.K}, r.k);
  put("v", {B, T, info.HV, info.V}, r.v);
  if (info.gate == GateKind::Scalar)
    put("g", {B, T, info.HV}, r.g);
  else if (info.gate == GateKind::Channel)
    put("g", {B, T, info.HV, info.K}, r.g);
  put("beta", {B, T, info.HV}, r.beta);
  if (needState) {
    std::vector<float> state;
    if (withInitialState || info.op == "gdn.decode") {
      // A separate draw sized for N sequences (N != B for a packed batch).
      state = makeRandomInputs(info.gate, info.rule, N, 1, info.H, info.HV, info.K, info.V, false,
                               false, true, ElementType::F32, seed + 1)
                  .initialState;
    } else {
      state.assign(static_cast<size_t>(N * info.HV * info.K * info.V), 0.0f);
    }
    put(info.stateOperandName(), {N, info.HV, info.K, info.V}, state);
  }
  if (info.isVarlen())
    inputs["cu_seqlens"] = HostTensor{{N + 1}, {}, cu};
  return true;
}

std::map<std::string, std::vector<double>> referenceOutputs(const LayerInfo &info,
                                                            const HostTensors &inputs) {
  if (info.op == "gdn.transition")
    return transitionReference(info, inputs);
  const HostTensor &q = inputs.at("q");
  LayerProblem p;
  p.gate = info.gate;
  p.rule = info.rule;
  p.B = q.shape[0];
  p.T = q.shape[1];
  p.H = info.H;
  p.HV = info.HV;
  p.K = info.K;
  p.V = info.V;
  p.scale = info.scale;
  p.qkL2Norm = info.qkL2norm;
  p.q = q.values.data();
  p.k = inputs.at("k").values.data();
  p.v = inputs.at("v").values.data();
  if (auto it = inputs.find("g"); it != inputs.end())
    p.g = it->second.values.data();
  if (auto it = inputs.find("beta"); it != inputs.end())
    p.beta = it->second.values.data();
  if (auto it = inputs.find(info.stateOperandName()); it != inputs.end())
    p.initialState = it->second.values.data();
  if (auto it = inputs.find("cu_seqlens"); it != inputs.end())
    p.cuSeqlens = it->second.indices;
  LayerResult r = referenceRecurrence(p);
  std::map<std::string, std::vector<double>> out;
  out["o"] = std::move(r.o);
  for (const TensorSpec &spec : info.results)
    if (spec.name != "o")
      out[spec.name] = std::move(r.finalState);
  return out;
}

} // namespace gdn
