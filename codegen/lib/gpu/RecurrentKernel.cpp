//===- RecurrentKernel.cpp - token-recurrent GPU kernel per layer ---------===//
//
// One thread block per (sequence n, value head hv, V tile). Where the block is whole warps, a
// thread owns 4 adjacent value columns over one of `k-slices` (4 or 8) slices of K (16-byte
// state loads and stores; the dot products meet across the slices by shuffles), else one
// column over all K. Either way its K registers of the f32 state live there for the whole
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
  int64_t blockSize, kSlices;
};

class RecurrentKernelBuilder : KernelBuilderBase {
public:
  RecurrentKernelBuilder(OpBuilder &b, Location loc, const KernelSpec &s)
      : KernelBuilderBase(b, loc), s(s), P(s.blockSize % 32 == 0 ? 4 : 1),
        slices(P == 4 ? s.kSlices : 1), rows(s.K / slices), vTile(columnsPerBlock(s)) {}

  /// Value columns per block.
  static int64_t columnsPerBlock(const KernelSpec &s) {
    if (s.blockSize % 32 != 0)
      return s.blockSize;
    return s.blockSize / 32 * (32 / s.kSlices) * 4;
  }

  gpu::GPUFuncOp build() {
    SmallVector<Type> args;
    SmallVector<std::string> names;
    kernelArguments(b, kernelOperands(s), args, names);

    auto fn = gpu::GPUFuncOp::create(b, loc, s.name, b.getFunctionType(args, {}));
    // The block covers vTile value columns (P columns x K / slices rows per thread).
    setLaunchAttributes(b, fn, names, s.blockSize, vTile, s.V);

    Block &entry = fn.getBody().front();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&entry);
    KernelArguments a = unpackArguments(entry, kernelOperands(s));
    Value h0 = a.initialState, cu = a.cuSeqlens, fs = a.finalState, T = a.T;

    Value n = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value hv = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value tile = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    // Lane l of warp w: K slice l / (32 / slices), columns (32 / slices) P w +
    // P (l % (32 / slices)) + 0..P-1. (P = 1: one column per thread, all K.)
    const int64_t lanesPerSlice = 32 / slices;
    Value lane = arith::RemUIOp::create(b, loc, tid, idx(32));
    Value warpBase =
        mul(arith::DivUIOp::create(b, loc, tid, idx(32)), idx(P == 1 ? 32 : lanesPerSlice * P));
    Value slice = arith::DivUIOp::create(b, loc, lane, idx(lanesPerSlice));
    Value col =
        add(mul(tile, idx(vTile)),
            add(warpBase, mul(arith::RemUIOp::create(b, loc, lane, idx(lanesPerSlice)), idx(P))));
    firstRow = mul(slice, idx(rows));
    isFirstSlice = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, slice, idx(0));
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

    // The thread's K / P x P block of the state lives in K registers (the loops are unrolled
    // here, so no array goes to local memory): read once (P = 4: 16-byte loads; a warp's
    // load covers P rows of 32 columns), written once at the end.
    Value stateBase = mul(add(mul(n, idx(s.HV)), hv), idx(s.K)); // (n*HV + hv)*K
    SmallVector<Value> state;
    for (int64_t r = 0; r < rows; ++r) {
      Value at = stateIndex(stateBase, add(firstRow, idx(r)), col);
      SmallVector<Value> row =
          h0 ? loadVector(h0, at, P, 4 * P) : SmallVector<Value>(P, f32c(0.0f));
      state.append(row.begin(), row.end());
    }

    auto tokens = scf::ForOp::create(b, loc, bos, eos, idx(1), state,
                                     [&](OpBuilder &, Location, Value t, ValueRange carried) {
                                       SmallVector<Value> next(carried.begin(), carried.end());
                                       tokenStep(t, h, hv, col, a, next);
                                       scf::YieldOp::create(b, loc, next);
                                     });

    if (fs)
      for (int64_t r = 0; r < rows; ++r) {
        Value at = stateIndex(stateBase, add(firstRow, idx(r)), col);
        SmallVector<Value> row;
        for (int64_t j = 0; j < P; ++j)
          row.push_back(tokens.getResult(r * P + j));
        storeVector(fs, at, row, 4 * P);
      }
    gpu::ReturnOp::create(b, loc);
    return fn;
  }

private:
  Value stateIndex(Value base, Value c, Value col) {
    return add(mul(add(base, c), idx(s.V)), col); // ((n*HV + hv)*K + c)*V + col
  }

  /// `count` consecutive elements at `at`, as f32: one load (count 1) or a vector load.
  SmallVector<Value> loadVector(Value buffer, Value at, int64_t count, int64_t align) {
    Type element = cast<MemRefType>(buffer.getType()).getElementType();
    auto asF32 = [&](Value x) {
      return element.isF32() ? x : Value(arith::ExtFOp::create(b, loc, f32, x));
    };
    if (count == 1)
      return {asF32(memref::LoadOp::create(b, loc, buffer, ValueRange{at}))};
    SmallVector<Value> out = loadElements(buffer, at, count, align);
    for (Value &x : out)
      x = asF32(x);
    return out;
  }
  void storeVector(Value buffer, Value at, ArrayRef<Value> values, int64_t align) {
    if (values.size() == 1) {
      memref::StoreOp::create(b, loc, values[0], buffer, ValueRange{at});
      return;
    }
    Value v = vector::FromElementsOp::create(
        b, loc, VectorType::get({static_cast<int64_t>(values.size())}, values[0].getType()),
        values);
    vector::StoreOp::create(b, loc, v, buffer, ValueRange{at}, /*nontemporal=*/false,
                            llvm::MaybeAlign(align));
  }

  /// The sum over the K slices of the warp (lanes 32 / slices apart), in every lane.
  Value sumSlices(Value x) { return xorLaneSum(x, 32 / slices, 32); }

  /// One token: decay, update and output for this thread's columns; `S` (row r, column j at
  /// r P + j) is updated in place. Registers hold S and a few sums, not the q and k rows: one
  /// pass reads the thread's q and k slices for every dot product (with q.(S + k vnew) =
  /// q.S + vnew q.k, the output needs the old S only), the partial sums meet across the K
  /// slices by shuffles, o is stored, then a second pass reads k again to update S. The store
  /// in between keeps the compiler from holding the first pass's k loads live across.
  void tokenStep(Value t, Value h, Value hv, Value col, const KernelArguments &a,
                 SmallVectorImpl<Value> &S) {
    Value qkBase = add(mul(add(mul(t, idx(s.H)), h), idx(s.K)), firstRow); // (t*H + h)*K + row0
    Value headRow = add(mul(t, idx(s.HV)), hv);                            // t*HV + hv
    Value vIndex = add(mul(headRow, idx(s.V)), col);                       // (t*HV + hv)*V + col

    // Decay.
    if (s.gate == GateKind::Scalar) {
      Value decay = exp(loadF32(a.g, headRow));
      for (Value &x : S)
        x = fmul(x, decay);
    } else if (s.gate == GateKind::Channel) {
      Value channelBase = add(mul(headRow, idx(s.K)), firstRow); // (t*HV + hv)*K + row0
      for (int64_t r = 0; r < rows; ++r) {
        Value decay = exp(loadF32(a.g, add(channelBase, idx(r))));
        for (int64_t j = 0; j < P; ++j)
          S[r * P + j] = fmul(S[r * P + j], decay);
      }
    }

    // Pass 1: S.k, S.q per column, k.q, and the norms k.k, q.q, over the thread's K slice;
    // q and k arrive 16 bytes at a time (scalar loads kept the load/store queue full in
    // decode, where these rows are most of the instructions).
    SmallVector<Value> sk(P, f32c(0.0f)), sq(P, f32c(0.0f));
    Value kq = f32c(0.0f), kk = f32c(0.0f), qq = f32c(0.0f);
    SmallVector<Value> kRow, qRow;
    for (int64_t r = 0; r < rows; ++r) {
      Value kc = rowElement(a.k, qkBase, r, kRow);
      Value qc = rowElement(a.q, qkBase, r, qRow);
      for (int64_t j = 0; j < P; ++j) {
        sk[j] = fadd(sk[j], fmul(S[r * P + j], kc));
        sq[j] = fadd(sq[j], fmul(S[r * P + j], qc));
      }
      kq = fadd(kq, fmul(kc, qc));
      if (s.qkL2norm) {
        kk = fadd(kk, fmul(kc, kc));
        qq = fadd(qq, fmul(qc, qc));
      }
    }
    if (slices > 1) {
      for (int64_t j = 0; j < P; ++j) {
        sk[j] = sumSlices(sk[j]);
        sq[j] = sumSlices(sq[j]);
      }
      kq = sumSlices(kq);
      if (s.qkL2norm) {
        kk = sumSlices(kk);
        qq = sumSlices(qq);
      }
    }
    auto inverseNorm = [&](Value sumSquares) -> Value {
      if (!s.qkL2norm)
        return f32c(1.0f);
      return arith::DivFOp::create(b, loc, f32c(1.0f), sqrt(fadd(sumSquares, f32c(1e-6f))));
    };
    Value kScale = inverseNorm(kk);
    Value qScale = fmul(inverseNorm(qq), f32c(s.scale));
    Value betaT = a.beta ? loadF32(a.beta, headRow) : Value();

    // vnew = beta (v - S^T k) (delta) or beta v (additive), k normalised;
    // o = scale q.(S + k vnew) = scale (q.S + vnew kScale q.k), stored by the first K slice.
    SmallVector<Value> vNew, out;
    for (int64_t j = 0; j < P; ++j) {
      Value vj = loadF32(a.v, add(vIndex, idx(j)));
      if (s.rule == UpdateRule::Delta)
        vj = fsub(vj, fmul(sk[j], kScale));
      if (betaT)
        vj = fmul(vj, betaT);
      vNew.push_back(vj);
      Value oj = fmul(fadd(sq[j], fmul(vj, fmul(kScale, kq))), qScale);
      out.push_back(s.inputType.isF32() ? oj
                                        : Value(arith::TruncFOp::create(b, loc, s.inputType, oj)));
    }
    auto store = [&] {
      for (int64_t j = 0; j < P; ++j)
        memref::StoreOp::create(b, loc, out[j], a.o, ValueRange{add(vIndex, idx(j))});
    };
    if (P == 1) {
      store();
    } else {
      auto first = scf::IfOp::create(b, loc, isFirstSlice, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(first.thenBlock());
      store();
    }

    // Pass 2: S += k vnew.
    kRow.clear();
    for (int64_t r = 0; r < rows; ++r) {
      Value kc = fmul(rowElement(a.k, qkBase, r, kRow), kScale);
      for (int64_t j = 0; j < P; ++j)
        S[r * P + j] = fadd(S[r * P + j], fmul(kc, vNew[j]));
    }
  }

  /// Element r of the thread's slice of the q/k row at `base`, as f32: at every 16-byte
  /// boundary one vector load fills `piece` (the runtime requires 16-byte aligned q and k;
  /// K / slices is a multiple of 8).
  Value rowElement(Value buffer, Value base, int64_t r, SmallVectorImpl<Value> &piece) {
    Type element = cast<MemRefType>(buffer.getType()).getElementType();
    int64_t per = 16 / (element.getIntOrFloatBitWidth() / 8);
    if (r % per == 0) {
      SmallVector<Value> x = loadVector(buffer, add(base, idx(r)), per, 16);
      piece.assign(x.begin(), x.end());
    }
    return piece[r % per];
  }

  const KernelSpec &s;
  /// Columns per thread (4 where the block is whole warps, else 1), K slices per warp (1 with
  /// one column per thread), K rows per thread, value columns per block.
  const int64_t P, slices, rows, vTile;
  Value firstRow, isFirstSlice;
};

struct GdnRecurrentGpuKernelsPass
    : public gdn::impl::GdnRecurrentGpuKernelsBase<GdnRecurrentGpuKernelsPass> {
  using GdnRecurrentGpuKernelsBase::GdnRecurrentGpuKernelsBase;

  void runOnOperation() override {
    auto unsupported = [&](Operation *op) -> std::string {
      int64_t V = cast<RankedTensorType>(op->getOperand(2).getType()).getDimSize(3);
      if (kSlices != 4 && kSlices != 8)
        return "k-slices must be 4 or 8";
      KernelSpec spec;
      spec.blockSize = blockSize;
      spec.kSlices = kSlices;
      if (blockSize <= 0 || blockSize > 1024 ||
          V % RecurrentKernelBuilder::columnsPerBlock(spec) != 0)
        return "block-size " + std::to_string(static_cast<int64_t>(blockSize)) + " (" +
               std::to_string(RecurrentKernelBuilder::columnsPerBlock(spec)) +
               " value columns) must divide V = " + std::to_string(V);
      return "";
    };
    auto build = [&](OpBuilder &b, Operation *op) {
      KernelSpec spec;
      static_cast<LayerFacts &>(spec) = layerFacts(op, "_recurrent");
      spec.blockSize = blockSize;
      spec.kSlices = kSlices;
      return RecurrentKernelBuilder(b, op->getLoc(), spec).build();
    };
    if (failed(buildLayerKernels(getOperation(), "gdn-recurrent-gpu-kernels", "_recurrent",
                                 unsupported, build)))
      signalPassFailure();
  }
};

} // namespace
