//===- RecurrentKernel.cpp - token-recurrent GPU kernel per layer ---------===//
//
// One thread block per (sequence n, value head hv, V tile); one thread per value column.
// A thread's K-long column of the f32 state lives in registers for the whole
// sequence: read once from the initial state, written once to the final state. Per token:
//   S[c] *= decay_c;  u = sum_c S[c] k[c];  vnew = beta (v - u)  (delta) | beta v  (additive)
//   o = scale q.(S + k vnew);  S[c] += k[c] vnew
//
//===----------------------------------------------------------------------===//
#include "KernelSignature.h"
#include "gdn/Codegen/Passes.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
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
    kernelArguments(b, kernelOperands(s), args, names);

    auto fn = gpu::GPUFuncOp::create(b, loc, s.name, b.getFunctionType(args, {}));
    // One thread per value column: the V tile is the block.
    setLaunchAttributes(b, fn, names, s.blockSize, s.blockSize, s.V);

    Block &entry = fn.getBody().front();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&entry);
    KernelArguments a = unpackArguments(entry, kernelOperands(s));
    Value q = a.q, k = a.k, v = a.v, g = a.g, beta = a.beta, o = a.o;
    Value h0 = a.initialState, cu = a.cuSeqlens, fs = a.finalState, T = a.T;

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

    // The state column S[c] = state[n, hv, c, col] lives in K registers (the loops over c
    // are unrolled here, so no array goes to local memory): K independent coalesced loads,
    // K stores at the end.
    Value stateBase = mul(add(mul(n, idx(s.HV)), hv), idx(s.K)); // (n*HV + hv)*K
    SmallVector<Value> state;
    for (int64_t c = 0; c < s.K; ++c)
      state.push_back(h0 ? Value(memref::LoadOp::create(
                               b, loc, h0, ValueRange{stateIndex(stateBase, idx(c), col)}))
                         : f32c(0.0f));

    auto tokens = scf::ForOp::create(
        b, loc, bos, eos, idx(1), state, [&](OpBuilder &, Location, Value t, ValueRange carried) {
          SmallVector<Value> next(carried.begin(), carried.end());
          tokenStep(t, h, hv, col, q, k, v, g, beta, o, next);
          scf::YieldOp::create(b, loc, next);
        });

    if (fs)
      for (int64_t c = 0; c < s.K; ++c)
        memref::StoreOp::create(b, loc, tokens.getResult(c), fs,
                                ValueRange{stateIndex(stateBase, idx(c), col)});
    gpu::ReturnOp::create(b, loc);
    return fn;
  }

private:
  Value stateIndex(Value base, Value c, Value col) {
    return add(mul(add(base, c), idx(s.V)), col); // ((n*HV + hv)*K + c)*V + col
  }


  /// One token: decay, update and output for this thread's column; `S` is updated in place.
  /// Registers hold S and a few sums, not the q and k rows: one pass reads q and k for every
  /// dot product (with q.(S + k vnew) = q.S + vnew q.k, the output needs the old S only),
  /// o is stored, then a second pass reads k again to update S. The store in between keeps
  /// the compiler from holding the first pass's k loads live across.
  void tokenStep(Value t, Value h, Value hv, Value col, Value q, Value k, Value v, Value g,
                 Value beta, Value o, SmallVectorImpl<Value> &S) {
    Value qkBase = mul(add(mul(t, idx(s.H)), h), idx(s.K)); // (t*H + h)*K
    Value headRow = add(mul(t, idx(s.HV)), hv);             // t*HV + hv
    Value vIndex = add(mul(headRow, idx(s.V)), col);        // (t*HV + hv)*V + col

    // Decay.
    if (s.gate == GateKind::Scalar) {
      Value decay = exp(loadF32(g, headRow));
      for (Value &x : S)
        x = fmul(x, decay);
    } else if (s.gate == GateKind::Channel) {
      Value channelBase = mul(headRow, idx(s.K)); // (t*HV + hv)*K
      for (int64_t c = 0; c < s.K; ++c)
        S[c] = fmul(S[c], exp(loadF32(g, add(channelBase, idx(c)))));
    }

    // Pass 1: S.k, S.q, k.q, and the norms k.k, q.q. q and k arrive 16 bytes at a time (every
    // lane reads the same row: one load instruction per 8 elements, not 8; scalar loads kept
    // the load/store queue full in decode, where these rows are most of the instructions).
    Value sk = f32c(0.0f), sq = f32c(0.0f), kq = f32c(0.0f), kk = f32c(0.0f), qq = f32c(0.0f);
    SmallVector<Value> kRow, qRow;
    for (int64_t c = 0; c < s.K; ++c) {
      Value kc = rowElement(k, qkBase, c, kRow);
      Value qc = rowElement(q, qkBase, c, qRow);
      sk = fadd(sk, fmul(S[c], kc));
      sq = fadd(sq, fmul(S[c], qc));
      kq = fadd(kq, fmul(kc, qc));
      if (s.qkL2norm) {
        kk = fadd(kk, fmul(kc, kc));
        qq = fadd(qq, fmul(qc, qc));
      }
    }
    auto inverseNorm = [&](Value sumSquares) -> Value {
      if (!s.qkL2norm)
        return f32c(1.0f);
      return arith::DivFOp::create(b, loc, f32c(1.0f), sqrt(fadd(sumSquares, f32c(1e-6f))));
    };
    Value kScale = inverseNorm(kk);
    Value qScale = fmul(inverseNorm(qq), f32c(s.scale));

    // vnew = beta (v - S^T k) (delta) or beta v (additive), k normalised.
    Value vNew = loadF32(v, vIndex);
    if (s.rule == UpdateRule::Delta)
      vNew = fsub(vNew, fmul(sk, kScale));
    if (beta)
      vNew = fmul(vNew, loadF32(beta, headRow));

    // o = scale q.(S + k vnew) = scale (q.S + vnew kScale q.k).
    Value out = fmul(fadd(sq, fmul(vNew, fmul(kScale, kq))), qScale);
    if (!s.inputType.isF32())
      out = arith::TruncFOp::create(b, loc, s.inputType, out);
    memref::StoreOp::create(b, loc, out, o, ValueRange{vIndex});

    // Pass 2: S += k vnew.
    Value kv = fmul(vNew, kScale);
    kRow.clear();
    for (int64_t c = 0; c < s.K; ++c)
      S[c] = fadd(S[c], fmul(rowElement(k, qkBase, c, kRow), kv));
  }

  /// Element c of the row at `base` of a q/k buffer, as f32: at every 16-byte boundary one
  /// vector load fills `piece` (the runtime requires 16-byte aligned q and k; K is a multiple
  /// of 8).
  Value rowElement(Value buffer, Value base, int64_t c, SmallVectorImpl<Value> &piece) {
    Type element = cast<MemRefType>(buffer.getType()).getElementType();
    int64_t per = 16 / (element.getIntOrFloatBitWidth() / 8);
    if (c % per == 0) {
      Value x = vector::LoadOp::create(b, loc, VectorType::get({per}, element), buffer,
                                       ValueRange{add(base, idx(c))}, /*nontemporal=*/false,
                                       llvm::MaybeAlign(16));
      piece.clear();
      for (int64_t e = 0; e < per; ++e) {
        Value xe = vector::ExtractOp::create(b, loc, x, ArrayRef<int64_t>{e});
        piece.push_back(element.isF32() ? xe : Value(arith::ExtFOp::create(b, loc, f32, xe)));
      }
    }
    return piece[c % per];
  }

  const KernelSpec &s;
};

struct GdnRecurrentGpuKernelsPass
    : public gdn::impl::GdnRecurrentGpuKernelsBase<GdnRecurrentGpuKernelsPass> {
  using GdnRecurrentGpuKernelsBase::GdnRecurrentGpuKernelsBase;

  void runOnOperation() override {
    auto unsupported = [&](Operation *op) -> std::string {
      int64_t V = cast<RankedTensorType>(op->getOperand(2).getType()).getDimSize(3);
      if (blockSize <= 0 || blockSize > 1024 || V % blockSize != 0)
        return "block-size " + std::to_string(static_cast<int64_t>(blockSize)) +
               " must divide V = " + std::to_string(V);
      return "";
    };
    auto build = [&](OpBuilder &b, Operation *op) {
      KernelSpec spec;
      static_cast<LayerFacts &>(spec) = layerFacts(op, "_recurrent");
      spec.blockSize = blockSize;
      return RecurrentKernelBuilder(b, op->getLoc(), spec).build();
    };
    if (failed(buildLayerKernels(getOperation(), "gdn-recurrent-gpu-kernels", "_recurrent",
                                 unsupported, build)))
      signalPassFailure();
  }
};

} // namespace
