//===- KernelSignature.h - what the GPU kernel builders share ---*- C++ -*-===//
//
// Internal to codegen/: the argument list every layer kernel takes (the runtime's launch
// contract), its gdn.* attributes, and NVVM math that needs no libdevice.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_KERNELSIGNATURE_H
#define GDN_CODEGEN_KERNELSIGNATURE_H

#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringSwitch.h"

#include <string>

namespace mlir::gdn {

/// What a kernel builder needs to know about a layer op (gdn.recurrence or gdn.decode).
struct LayerFacts {
  std::string name; ///< the kernel's name
  GateKind gate;
  UpdateRule rule;
  bool hasBeta, hasInitialState, hasFinalState, varlen, qkL2norm;
  float scale;
  int64_t H, HV, K, V;
  Type inputType, gType, betaType, cuType; // null where the operand is absent
};

/// Element type of an optional tensor operand (null when absent).
inline Type elementTypeOf(Value v) {
  return v ? cast<RankedTensorType>(v.getType()).getElementType() : Type();
}

/// The facts of `op`; the kernel is named after its function, with `suffix`.
inline LayerFacts layerFacts(Operation *op, StringRef suffix) {
  LayerFacts f;
  auto fn = op->getParentOfType<FunctionOpInterface>();
  f.name = (fn ? fn.getName().str() : std::string("layer")) + suffix.str();
  auto qType = cast<RankedTensorType>(op->getOperand(0).getType());
  auto vType = cast<RankedTensorType>(op->getOperand(2).getType());
  f.H = qType.getDimSize(2);
  f.K = qType.getDimSize(3);
  f.HV = vType.getDimSize(2);
  f.V = vType.getDimSize(3);
  f.inputType = qType.getElementType();
  if (auto r = dyn_cast<RecurrenceOp>(op)) {
    f.gate = r.getGate();
    f.rule = r.getRule();
    f.hasInitialState = static_cast<bool>(r.getInitialState());
    f.hasFinalState = static_cast<bool>(r.getFinalState());
    f.qkL2norm = r.getQkL2norm();
    f.scale = r.getScaleOrDefault();
    f.gType = elementTypeOf(r.getG());
    f.betaType = elementTypeOf(r.getBeta());
    f.cuType = elementTypeOf(r.getCuSeqlens());
  } else {
    auto d = cast<DecodeOp>(op);
    f.gate = d.getGate();
    f.rule = d.getRule();
    f.hasInitialState = f.hasFinalState = true; // the state in, the new state out
    f.qkL2norm = d.getQkL2norm();
    f.scale = d.getScaleOrDefault();
    f.gType = elementTypeOf(d.getG());
    f.betaType = elementTypeOf(d.getBeta());
    f.cuType = elementTypeOf(d.getCuSeqlens());
  }
  f.hasBeta = static_cast<bool>(f.betaType);
  f.varlen = static_cast<bool>(f.cuType);
  return f;
}

/// gdn.transition (docs/design.md §1.1) runs on the CPU path only: no GPU kernel kind
/// implements it yet (the generated tile lowering will). Refuses a transition op, or a
/// function holding a transition's chunked form (gdn-chunkwise marks it `gdn.transition`),
/// under `root`, at its location.
inline LogicalResult refuseTransitions(Operation *root, StringRef pass) {
  Operation *found = nullptr;
  root->walk([&](Operation *op) {
    if (!found && (isa<TransitionOp>(op) || op->hasAttr("gdn.transition")))
      found = op;
  });
  if (!found)
    return success();
  return found->emitError()
         << pass
         << ": gdn.transition has no GPU kernel yet; its chunked form runs on the CPU path "
            "(gdn-to-cpu, gdn-run), and its GPU kernels are to come from the generated "
            "tile-op lowering";
}

/// The layer ops of a module, in order.
inline SmallVector<Operation *> layerOps(ModuleOp module) {
  SmallVector<Operation *> layers;
  module.walk([&](Operation *op) {
    if (isa<RecurrenceOp, DecodeOp>(op))
      layers.push_back(op);
  });
  return layers;
}

/// A GPU kernel is named after the function that holds its layer, and the runtime launches
/// one layer per kernel: a second layer op (or chunk loop) in one function is refused at that
/// op, with a note at the first, instead of building two kernels of one name.
inline LogicalResult checkOneLayerPerFunction(ArrayRef<Operation *> layers, StringRef pass,
                                              StringRef what = "layer op") {
  llvm::DenseMap<Operation *, Operation *> first;
  for (Operation *op : layers) {
    Operation *fn = op->getParentOfType<FunctionOpInterface>();
    auto [it, inserted] = first.try_emplace(fn, op);
    if (inserted)
      continue;
    InFlightDiagnostic d = op->emitError() << pass << ": a second " << what;
    if (auto function = dyn_cast_or_null<FunctionOpInterface>(fn))
      d << " in function '" << function.getName() << "'";
    else
      d << " outside any function";
    d << ": each layer is compiled to its own kernel, named after its function; put each "
         "layer in a function of its own";
    d.attachNote(it->second->getLoc()) << "the first " << what << " is here";
    return failure();
  }
  return success();
}

/// `gpu.module @gdn` at the end of `module` (made a GPU container); `b` inserts into it.
inline gpu::GPUModuleOp createKernelModule(OpBuilder &b, ModuleOp module) {
  b.setInsertionPointToEnd(module.getBody());
  auto gpuModule = gpu::GPUModuleOp::create(b, module.getLoc(), "gdn");
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), b.getUnitAttr());
  b.setInsertionPointToStart(gpuModule.getBody());
  return gpuModule;
}

/// Marks what the kernel implements and removes the host function that held the layer:
/// the runtime launches the kernel; the host side has no GPU lowering.
inline void finishKernel(Builder &b, gpu::GPUFuncOp kernel, Operation *layer, const LayerFacts &f,
                         SmallVectorImpl<Operation *> &hostsToErase) {
  kernel->setAttr("gdn.layer", b.getStringAttr(layer->getName().getStringRef()));
  kernel->setAttr(
      "gdn.variant",
      b.getStringAttr((stringifyGateKind(f.gate) + "," + stringifyUpdateRule(f.rule)).str()));
  auto fn = layer->getParentOfType<FunctionOpInterface>();
  hostsToErase.push_back(fn ? fn.getOperation() : layer);
}

/// What both kernel passes do: check every layer op first (`unsupported` gives "" or why,
/// reported on the op as "<pass>: <why>"), then let `build` add each layer's kernels to
/// `gpu.module @gdn` and return the main one, and remove the host functions.
inline LogicalResult
buildLayerKernels(ModuleOp module, StringRef pass, StringRef suffix,
                  function_ref<std::string(Operation *)> unsupported,
                  function_ref<gpu::GPUFuncOp(OpBuilder &, Operation *)> build) {
  if (failed(refuseTransitions(module, pass)))
    return failure();
  SmallVector<Operation *> layers = layerOps(module);
  if (layers.empty())
    return success();
  if (failed(checkOneLayerPerFunction(layers, pass)))
    return failure();
  for (Operation *op : layers)
    if (std::string why = unsupported(op); !why.empty())
      return op->emitError() << pass << ": " << why;
  OpBuilder b(module.getBodyRegion());
  createKernelModule(b, module);
  SmallVector<Operation *> hosts;
  for (Operation *op : layers)
    finishKernel(b, build(b, op), op, layerFacts(op, suffix), hosts);
  for (Operation *host : hosts)
    host->erase();
  return success();
}

/// The layer facts a kernel's signature depends on.
struct KernelOperands {
  Type input, gate, beta, cuSeqlens; // null when absent
  bool initialState, finalState;
  /// Multi-kernel layers (chunked): a byte workspace before T, and N (sequences) after it.
  bool workspace = false;
  /// Segmented state pass: the segments the launch runs, after N (index).
  bool segments = false;
};

inline KernelOperands kernelOperands(const LayerFacts &f) {
  return {f.inputType,
          f.gate != GateKind::None ? f.gType : Type(),
          f.hasBeta ? f.betaType : Type(),
          f.varlen ? f.cuType : Type(),
          f.hasInitialState,
          f.hasFinalState,
          false,
          false};
}

/// The kernel's arguments by role (null where the layer has no such operand).
struct KernelArguments {
  Value q, k, v, g, beta, initialState, cuSeqlens, o, finalState, workspace, T, N, segments;
  /// The argument named `role` in gdn.args ("q", ..., "initial_state", "cu_seqlens", "o",
  /// "final_state"), or null.
  Value byRole(StringRef role) const {
    return llvm::StringSwitch<Value>(role)
        .Case("q", q)
        .Case("k", k)
        .Case("v", v)
        .Case("g", g)
        .Case("beta", beta)
        .Case("initial_state", initialState)
        .Case("cu_seqlens", cuSeqlens)
        .Case("o", o)
        .Case("final_state", finalState)
        .Default(Value());
  }
};

/// Argument order of every layer kernel: q k v [g] [beta] [initial_state] [cu_seqlens] o
/// [final_state] [workspace] T [N] [segments]; tensors as flat 1-D memrefs, T, N and segments
/// as index.
inline KernelArguments unpackArguments(Block &entry, const KernelOperands &k) {
  KernelArguments a;
  unsigned i = 0;
  a.q = entry.getArgument(i++);
  a.k = entry.getArgument(i++);
  a.v = entry.getArgument(i++);
  if (k.gate)
    a.g = entry.getArgument(i++);
  if (k.beta)
    a.beta = entry.getArgument(i++);
  if (k.initialState)
    a.initialState = entry.getArgument(i++);
  if (k.cuSeqlens)
    a.cuSeqlens = entry.getArgument(i++);
  a.o = entry.getArgument(i++);
  if (k.finalState)
    a.finalState = entry.getArgument(i++);
  if (k.workspace)
    a.workspace = entry.getArgument(i++);
  a.T = entry.getArgument(i++);
  if (k.workspace)
    a.N = entry.getArgument(i++);
  if (k.segments)
    a.segments = entry.getArgument(i++);
  return a;
}

inline void kernelArguments(Builder &b, const KernelOperands &k, SmallVectorImpl<Type> &types,
                            SmallVectorImpl<std::string> &names) {
  auto flat = [](Type elt) { return MemRefType::get({ShapedType::kDynamic}, elt); };
  auto add = [&](bool present, Type t, const char *name) {
    if (present) {
      types.push_back(flat(t));
      names.push_back(name);
    }
  };
  add(true, k.input, "q");
  add(true, k.input, "k");
  add(true, k.input, "v");
  add(static_cast<bool>(k.gate), k.gate, "g");
  add(static_cast<bool>(k.beta), k.beta, "beta");
  add(k.initialState, b.getF32Type(), "initial_state");
  add(static_cast<bool>(k.cuSeqlens), k.cuSeqlens, "cu_seqlens");
  add(true, k.input, "o");
  add(k.finalState, b.getF32Type(), "final_state");
  add(k.workspace, b.getI8Type(), "workspace");
  types.push_back(b.getIndexType());
  names.push_back("T");
  if (k.workspace) {
    types.push_back(b.getIndexType());
    names.push_back("N");
  }
  if (k.segments) {
    types.push_back(b.getIndexType());
    names.push_back("segments");
  }
}

/// The launch contract on the gpu.func: argument names, threads, V tile, grid.
inline void setLaunchAttributes(Builder &b, gpu::GPUFuncOp fn, ArrayRef<std::string> names,
                                int64_t threads, int64_t vTile, int64_t V) {
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  SmallVector<Attribute> nameAttrs;
  for (const std::string &n : names)
    nameAttrs.push_back(b.getStringAttr(n));
  fn->setAttr("gdn.args", b.getArrayAttr(nameAttrs));
  fn->setAttr("gdn.block", b.getI64IntegerAttr(threads));
  fn->setAttr("gdn.v_tile", b.getI64IntegerAttr(vTile));
  fn->setAttr("gdn.grid", b.getStringAttr("N,HV," + std::to_string(V / vTile)));
}

/// exp and sqrt as NVVM intrinsics (ex2.approx.f32, rel err ~2^-22; sqrt.rn.f32), so the
/// PTX needs no libdevice and no CUDA toolkit. (convert-gpu-to-nvvm would turn math.exp and
/// llvm.intr.sqrt into libdevice calls.)
inline Value nvvmIntrinsic(OpBuilder &b, Location loc, const char *name, Value x) {
  return LLVM::CallIntrinsicOp::create(b, loc, b.getF32Type(), b.getStringAttr(name), ValueRange{x})
      .getResult(0);
}
inline Value nvvmExp(OpBuilder &b, Location loc, Value x) {
  Value log2e = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.4426950408889634f));
  return nvvmIntrinsic(b, loc, "llvm.nvvm.ex2.approx.f32", arith::MulFOp::create(b, loc, x, log2e));
}
/// 2^x by ex2.approx.ftz.f32: one MUFU instruction (the non-ftz form adds a range test and
/// two multiplies to produce subnormal results).
inline Value nvvmExp2Ftz(OpBuilder &b, Location loc, Value x) {
  return nvvmIntrinsic(b, loc, "llvm.nvvm.ex2.approx.ftz.f32", x);
}
inline Value nvvmSqrt(OpBuilder &b, Location loc, Value x) {
  return nvvmIntrinsic(b, loc, "llvm.nvvm.sqrt.rn.f", x);
}
/// 1 / sqrt(x) by rsqrt.approx.ftz.f32 (rel err ~2^-22.9; subnormal x flushed): one
/// instruction, against the IEEE square root and division's dozens with slow paths.
inline Value nvvmRsqrtApprox(OpBuilder &b, Location loc, Value x) {
  return nvvmIntrinsic(b, loc, "llvm.nvvm.rsqrt.approx.ftz.f", x);
}

/// Scalar IR shorthands the kernel builders share; `b` inserts at the current point.
class KernelBuilderBase {
protected:
  KernelBuilderBase(OpBuilder &b, Location loc)
      : b(b), loc(loc), f32(b.getF32Type()), idxType(b.getIndexType()) {}

  Value idx(int64_t x) { return arith::ConstantIndexOp::create(b, loc, x); }
  Value f32c(float x) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(x)); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value toIndex(Value x) { return arith::IndexCastOp::create(b, loc, idxType, x); }
  Value exp(Value x) { return nvvmExp(b, loc, x); }
  Value exp2Ftz(Value x) { return nvvmExp2Ftz(b, loc, x); }
  Value sqrt(Value x) { return nvvmSqrt(b, loc, x); }
  Value rsqrtApprox(Value x) { return nvvmRsqrtApprox(b, loc, x); }
  /// `count` consecutive elements of a flat buffer from element `at`, by one vector load
  /// (`align` bytes), as scalars of the buffer's element type.
  SmallVector<Value> loadElements(Value buffer, Value at, int64_t count, int64_t align) {
    Type element = cast<MemRefType>(buffer.getType()).getElementType();
    Value v =
        vector::LoadOp::create(b, loc, VectorType::get({count}, element), buffer, ValueRange{at},
                               /*nontemporal=*/false, llvm::MaybeAlign(align));
    SmallVector<Value> out;
    for (int64_t e = 0; e < count; ++e)
      out.push_back(vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{e}));
    return out;
  }
  /// x summed over the lanes whose ids differ in the bits from `from` up to (not including)
  /// `to`, by an xor butterfly; every lane of the warp must take part.
  Value xorLaneSum(Value x, int32_t from, int32_t to) {
    for (int32_t offset = from; offset < to; offset *= 2)
      x = arith::AddFOp::create(
          b, loc, x,
          gpu::ShuffleOp::create(b, loc, x, offset, 32, gpu::ShuffleMode::XOR).getShuffleResult());
    return x;
  }
  /// Element `i` of a flat buffer, as f32.
  Value loadF32(Value buffer, Value i) {
    Value x = memref::LoadOp::create(b, loc, buffer, ValueRange{i});
    return x.getType().isF32() ? x : Value(arith::ExtFOp::create(b, loc, f32, x));
  }

  OpBuilder &b;
  Location loc;
  Type f32, idxType;
};

} // namespace mlir::gdn

#endif // GDN_CODEGEN_KERNELSIGNATURE_H
