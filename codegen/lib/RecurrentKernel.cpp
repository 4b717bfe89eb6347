//===- RecurrentKernel.cpp - token-recurrent GPU kernel per layer ---------===//
//
// One thread block per (sequence n, value head hv, V tile); one thread per value column.
// A thread's K-long column of the f32 state lives in private memory for the whole
// sequence: read once from the initial state, written once to the final state. Per token:
//   S[c] *= decay_c;  u = sum_c S[c] k[c];  vnew = beta (v - u)  (delta) | beta v  (additive)
//   S[c] += k[c] vnew;  o = scale sum_c S[c] q[c]
//
//===----------------------------------------------------------------------===//
#include "KernelSignature.h"
#include "gdn/Codegen/Passes.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNRECURRENTGPUKERNELS
#include "gdn/Codegen/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;
using namespace mlir::gdn;

namespace {

struct KernelSpec : LayerFacts {
  int64_t blockSize;
};

class RecurrentKernelBuilder : KernelBuilderBase {
public:
  RecurrentKernelBuilder(OpBuilder &b, Location loc, const KernelSpec &s)
      : KernelBuilderBase(b, loc), s(s) {}

  gpu::GPUFuncOp build() {
    SmallVector<Type> args;
    SmallVector<std::string> names;
    kernelArguments(b,
                    {s.inputType, s.gate != GateKind::None ? s.gType : Type(),
                     s.hasBeta ? s.betaType : Type(), s.varlen ? s.cuType : Type(),
                     s.hasInitialState, s.hasFinalState},
                    args, names);

    auto privateState =
        MemRefType::get({s.K}, f32, AffineMap(),
                        gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Private));
    auto fn = gpu::GPUFuncOp::create(b, loc, s.name, b.getFunctionType(args, {}), TypeRange{},
                                     TypeRange{privateState});
    // One thread per value column: the V tile is the block.
    setLaunchAttributes(b, fn, names, s.blockSize, s.blockSize, s.V);

    Block &entry = fn.getBody().front();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&entry);
    unsigned a = 0;
    Value q = entry.getArgument(a++), k = entry.getArgument(a++), v = entry.getArgument(a++);
    Value g = s.gate != GateKind::None ? entry.getArgument(a++) : Value();
    Value beta = s.hasBeta ? entry.getArgument(a++) : Value();
    Value h0 = s.hasInitialState ? entry.getArgument(a++) : Value();
    Value cu = s.varlen ? entry.getArgument(a++) : Value();
    Value o = entry.getArgument(a++);
    Value fs = s.hasFinalState ? entry.getArgument(a++) : Value();
    Value T = entry.getArgument(a++);
    Value S = fn.getPrivateAttributions().front();

    Value n = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value hv = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value tile = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
    Value col = add(mul(tile, idx(s.blockSize)), gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
    Value h = arith::DivUIOp::create(b, loc, hv, idx(s.HV / s.H));

    // Token range [bos, eos) of sequence n in the flattened [B*T] token axis.
    Value bos, eos;
    if (s.varlen) {
      bos = toIndex(memref::LoadOp::create(b, loc, cu, ValueRange{n}));
      eos = toIndex(memref::LoadOp::create(b, loc, cu, ValueRange{add(n, idx(1))}));
    } else {
      bos = mul(n, T);
      eos = add(bos, T);
    }

    // State column: S[c] = state[n, hv, c, col].
    Value stateBase = mul(add(mul(n, idx(s.HV)), hv), idx(s.K)); // (n*HV + hv)*K
    forRange(idx(0), idx(s.K), [&](Value c) {
      Value init = f32c(0.0f);
      if (h0)
        init = memref::LoadOp::create(b, loc, h0, ValueRange{stateIndex(stateBase, c, col)});
      memref::StoreOp::create(b, loc, init, S, ValueRange{c});
    });

    forRange(bos, eos, [&](Value t) { tokenStep(t, h, hv, col, q, k, v, g, beta, o, S); });

    if (fs)
      forRange(idx(0), idx(s.K), [&](Value c) {
        Value val = memref::LoadOp::create(b, loc, S, ValueRange{c});
        memref::StoreOp::create(b, loc, val, fs, ValueRange{stateIndex(stateBase, c, col)});
      });
    gpu::ReturnOp::create(b, loc);
    return fn;
  }

private:

  Value stateIndex(Value base, Value c, Value col) {
    return add(mul(add(base, c), idx(s.V)), col); // ((n*HV + hv)*K + c)*V + col
  }


  void forRange(Value lo, Value hi, function_ref<void(Value)> body) {
    scf::ForOp::create(b, loc, lo, hi, idx(1), ValueRange{},
                       [&](OpBuilder &, Location, Value i, ValueRange) {
                         body(i);
                         scf::YieldOp::create(b, loc);
                       });
  }

  /// sum_c f(c) over c in [0, K).
  Value reduceK(function_ref<Value(Value)> term) {
    auto loop = scf::ForOp::create(
        b, loc, idx(0), idx(s.K), idx(1), ValueRange{f32c(0.0f)},
        [&](OpBuilder &, Location, Value c, ValueRange acc) {
          scf::YieldOp::create(b, loc, ValueRange{arith::AddFOp::create(b, loc, acc[0], term(c))});
        });
    return loop.getResult(0);
  }

  /// 1 / sqrt(sum x^2 + 1e-6) for the K-vector at `base`, or 1 without qk_l2norm.
  Value inverseNorm(Value x, Value base) {
    if (!s.qkL2norm)
      return f32c(1.0f);
    Value sum = reduceK([&](Value c) {
      Value e = loadF32(x, add(base, c));
      return arith::MulFOp::create(b, loc, e, e);
    });
    Value norm = sqrt(arith::AddFOp::create(b, loc, sum, f32c(1e-6f)));
    return arith::DivFOp::create(b, loc, f32c(1.0f), norm);
  }

  void tokenStep(Value t, Value h, Value hv, Value col, Value q, Value k, Value v, Value g,
                 Value beta, Value o, Value S) {
    Value qkBase = mul(add(mul(t, idx(s.H)), h), idx(s.K)); // (t*H + h)*K
    Value headRow = add(mul(t, idx(s.HV)), hv);             // t*HV + hv
    Value vIndex = add(mul(headRow, idx(s.V)), col);        // (t*HV + hv)*V + col
    Value kScale = inverseNorm(k, qkBase);
    Value qScale = arith::MulFOp::create(b, loc, inverseNorm(q, qkBase), f32c(s.scale));
    Value scalarDecay;
    if (s.gate == GateKind::Scalar)
      scalarDecay = exp(loadF32(g, headRow));
    Value channelBase = mul(headRow, idx(s.K)); // (t*HV + hv)*K for channel gates

    auto kAt = [&](Value c) {
      return arith::MulFOp::create(b, loc, loadF32(k, add(qkBase, c)), kScale);
    };

    // Decay, and for the delta rule the prediction u = sum_c S[c] k[c], in one pass.
    Value u = reduceK([&](Value c) -> Value {
      Value sc = memref::LoadOp::create(b, loc, S, ValueRange{c});
      if (s.gate == GateKind::Scalar)
        sc = arith::MulFOp::create(b, loc, sc, scalarDecay);
      else if (s.gate == GateKind::Channel)
        sc = arith::MulFOp::create(b, loc, sc, exp(loadF32(g, add(channelBase, c))));
      if (s.gate != GateKind::None)
        memref::StoreOp::create(b, loc, sc, S, ValueRange{c});
      if (s.rule != UpdateRule::Delta)
        return f32c(0.0f);
      return arith::MulFOp::create(b, loc, sc, kAt(c));
    });

    Value vNew = loadF32(v, vIndex);
    if (s.rule == UpdateRule::Delta)
      vNew = arith::SubFOp::create(b, loc, vNew, u);
    if (beta)
      vNew = arith::MulFOp::create(b, loc, vNew, loadF32(beta, headRow));

    // Update and output: S[c] += k[c] vnew; o = scale sum_c S[c] q[c].
    Value out = reduceK([&](Value c) -> Value {
      Value sc = memref::LoadOp::create(b, loc, S, ValueRange{c});
      sc = arith::AddFOp::create(b, loc, sc, arith::MulFOp::create(b, loc, kAt(c), vNew));
      memref::StoreOp::create(b, loc, sc, S, ValueRange{c});
      return arith::MulFOp::create(b, loc, sc, loadF32(q, add(qkBase, c)));
    });
    out = arith::MulFOp::create(b, loc, out, qScale);
    if (!s.inputType.isF32())
      out = arith::TruncFOp::create(b, loc, s.inputType, out);
    memref::StoreOp::create(b, loc, out, o, ValueRange{vIndex});
  }

  const KernelSpec &s;
};

struct GdnRecurrentGpuKernelsPass
    : public gdn::impl::GdnRecurrentGpuKernelsBase<GdnRecurrentGpuKernelsPass> {
  using GdnRecurrentGpuKernelsBase::GdnRecurrentGpuKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> layers = layerOps(module);
    if (layers.empty())
      return;
    for (Operation *op : layers) {
      int64_t V = cast<RankedTensorType>(op->getOperand(2).getType()).getDimSize(3);
      if (blockSize <= 0 || blockSize > 1024 || V % blockSize != 0) {
        op->emitError() << "gdn-recurrent-gpu-kernels: block-size "
                        << static_cast<int64_t>(blockSize) << " must divide V = " << V;
        return signalPassFailure();
      }
    }
    OpBuilder b(module.getBodyRegion());
    createKernelModule(b, module);
    SmallVector<Operation *> hosts;
    for (Operation *op : layers) {
      KernelSpec spec;
      static_cast<LayerFacts &>(spec) = layerFacts(op, "_recurrent");
      spec.blockSize = blockSize;
      auto kernel = RecurrentKernelBuilder(b, op->getLoc(), spec).build();
      finishKernel(b, kernel, op, spec, hosts);
    }
    for (Operation *host : hosts)
      host->erase();
  }
};

} // namespace
