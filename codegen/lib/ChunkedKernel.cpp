//===- ChunkedKernel.cpp - chunkwise GPU kernel on tensor cores ----------===//
//
// The chunked form of DESIGN.md §2 as one fused kernel per (sequence n, value head hv,
// V tile): 4 warps walk the sequence chunk by chunk and keep the K x Vt f32 state in shared
// memory for the whole sequence. Every product of the chunk algebra runs on tensor cores
// (mma.sync m16n8k16, bf16 operands, f32 accumulators); operands are read from shared memory
// with their scalings (beta, decays, masks) applied while the fragments are built, so no
// scaled copy is ever stored. Per chunk (C rows, the last one zero-padded):
//
//   load K, Q, V, g, beta            (l2norm and the scale applied to the rows in place)
//   A   = strictly_lower(diag(beta) (K K^T) .* Gam)     QKg = lower(Q K^T .* Gam)
//   Tm  = (I + A)^-1                  forward substitution, one row per step
//   U   = Tm (beta V)                 W = Tm (beta exp(G) K)
//   U  <- U - W S                     (= Vnew)
//   o   = (exp(G) Q) S + QKg Vnew     written to global memory from the accumulators
//   S  <- exp(G_n) S + (exp(G_n - G) K)^T Vnew
//
// Supported: gate none or scalar, either rule, bf16 inputs, K in {64, 128}, V % 64 == 0.
// Other layers use the recurrent kernel.
//
//===----------------------------------------------------------------------===//
#include "KernelSignature.h"
#include "gdn/Codegen/Passes.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNCHUNKEDGPUKERNELS
#include "gdn/Codegen/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;
using namespace mlir::gdn;

namespace {

struct ChunkedSpec : LayerFacts {
  int64_t C, vTile, warps;
};

/// Where each f32 buffer lives in dynamic shared memory (offsets in floats).
struct SharedLayout {
  int64_t ks, qs, vs, state, a, tm, qk, w, u, gates, beta, expG, expTail, betaExpG, total;
  SharedLayout(int64_t C, int64_t K, int64_t Vt) {
    int64_t at = 0;
    auto take = [&](int64_t n) {
      int64_t o = at;
      at += n;
      return o;
    };
    ks = take(C * K);
    qs = take(C * K);
    vs = take(C * Vt);
    state = take(K * Vt);
    a = take(C * C);
    tm = take(C * C);
    qk = take(C * C);
    w = take(C * K);
    u = take(C * Vt);
    gates = take(C);
    beta = take(C);
    expG = take(C);     // exp(G_i)
    expTail = take(C);  // exp(G_n - G_i)
    betaExpG = take(C); // beta_i exp(G_i)
    total = at;
  }
};

/// Dynamic shared memory a Hopper block may opt into.
constexpr int64_t kMaxSharedBytes = 227 * 1024;

class ChunkedKernelBuilder : KernelBuilderBase {
public:
  ChunkedKernelBuilder(OpBuilder &b, Location loc, const ChunkedSpec &s)
      : KernelBuilderBase(b, loc), s(s), layout(s.C, s.K, s.vTile), kThreads(32 * s.warps), kWarps(s.warps) {}

  int64_t sharedBytes() const { return layout.total * 4; }

  gpu::GPUFuncOp build() {
    SmallVector<Type> args;
    SmallVector<std::string> names;
    kernelArguments(b, kernelOperands(s), args, names);

    auto fn = gpu::GPUFuncOp::create(b, loc, s.name, b.getFunctionType(args, {}));
    setLaunchAttributes(b, fn, names, kThreads, s.vTile, s.V);
    fn->setAttr("gdn.chunk_size", b.getI64IntegerAttr(s.C));
    fn->setAttr("gdn.shared_memory_bytes", b.getI64IntegerAttr(sharedBytes()));

    Block &entry = fn.getBody().front();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&entry);
    KernelArguments a = unpackArguments(entry, kernelOperands(s));
    q = a.q, k = a.k, v = a.v, g = a.g, beta = a.beta, o = a.o;
    Value h0 = a.initialState, cu = a.cuSeqlens, fs = a.finalState, T = a.T;

    // One f32 view of the dynamic shared memory; buffers are offsets into it.
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
    Value raw = gpu::DynamicSharedMemoryOp::create(
        b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(), workgroup));
    smem = memref::ViewOp::create(
        b, loc, MemRefType::get({layout.total}, f32, AffineMap(), workgroup), raw, idx(0),
        ValueRange{});

    n = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    hv = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value tile = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
    tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    lane = arith::RemUIOp::create(b, loc, tid, idx(32));
    warp = arith::DivUIOp::create(b, loc, tid, idx(32));
    group = arith::DivUIOp::create(b, loc, lane, idx(4));
    quad = arith::RemUIOp::create(b, loc, lane, idx(4));
    col0 = mul(tile, idx(s.vTile));
    h = arith::DivUIOp::create(b, loc, hv, idx(s.HV / s.H));

    Value bos, eos;
    if (s.varlen) {
      bos = toIndex(memref::LoadOp::create(b, loc, cu, ValueRange{n}));
      eos = toIndex(memref::LoadOp::create(b, loc, cu, ValueRange{add(n, idx(1))}));
    } else {
      bos = mul(n, T);
      eos = add(bos, T);
    }
    Value len = arith::SubIOp::create(b, loc, eos, bos);
    stateBase = mul(add(mul(n, idx(s.HV)), hv), idx(s.K)); // (n*HV + hv)*K

    // S tile <- initial state (or zeros).
    forStrided(s.K * s.vTile, [&](Value e) {
      Value r = arith::DivUIOp::create(b, loc, e, idx(s.vTile));
      Value c = arith::RemUIOp::create(b, loc, e, idx(s.vTile));
      Value init = f32c(0.0f);
      if (h0)
        init = memref::LoadOp::create(b, loc, h0, ValueRange{globalStateIndex(r, c)});
      store(layout.state, e, init);
    });
    barrier();

    Value numChunks = arith::CeilDivUIOp::create(b, loc, len, idx(s.C));
    scf::ForOp::create(b, loc, idx(0), numChunks, idx(1), ValueRange{},
                       [&](OpBuilder &, Location, Value chunk, ValueRange) {
                         Value t0 = add(bos, mul(chunk, idx(s.C)));
                         Value rows = arith::MinUIOp::create(
                             b, loc, arith::SubIOp::create(b, loc, eos, t0), idx(s.C));
                         chunkStep(t0, rows);
                         scf::YieldOp::create(b, loc);
                       });

    if (fs)
      forStrided(s.K * s.vTile, [&](Value e) {
        Value r = arith::DivUIOp::create(b, loc, e, idx(s.vTile));
        Value c = arith::RemUIOp::create(b, loc, e, idx(s.vTile));
        memref::StoreOp::create(b, loc, load(layout.state, e), fs,
                                ValueRange{globalStateIndex(r, c)});
      });
    gpu::ReturnOp::create(b, loc);
    return fn;
  }

private:
  // --- scalar helpers -----------------------------------------------------
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) { return arith::SelectOp::create(b, loc, c, x, y); }
  Value globalStateIndex(Value r, Value c) { // ((n*HV + hv)*K + r)*V + col0 + c
    return add(mul(add(stateBase, r), idx(s.V)), add(col0, c));
  }

  // --- shared memory ------------------------------------------------------
  Value load(int64_t base, Value i) {
    return memref::LoadOp::create(b, loc, smem, ValueRange{add(idx(base), i)});
  }
  void store(int64_t base, Value i, Value x) {
    memref::StoreOp::create(b, loc, x, smem, ValueRange{add(idx(base), i)});
  }
  Value load2(int64_t base, Value r, int64_t ld, Value c) { return load(base, add(mul(r, idx(ld)), c)); }
  void store2(int64_t base, Value r, int64_t ld, Value c, Value x) {
    store(base, add(mul(r, idx(ld)), c), x);
  }
  void barrier() { gpu::BarrierOp::create(b, loc); }

  /// for (e = tid; e < count; e += threads) body(e)
  void forStrided(int64_t count, function_ref<void(Value)> body) {
    scf::ForOp::create(b, loc, tid, idx(count), idx(kThreads), ValueRange{},
                       [&](OpBuilder &, Location, Value e, ValueRange) {
                         body(e);
                         scf::YieldOp::create(b, loc);
                       });
  }

  void ifThen(Value cond, function_ref<void()> body) {
    auto op = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(op.thenBlock());
    body();
  }

  // --- tensor cores ---------------------------------------------------------
  /// Two f32 values as one mma operand register: bf16 pairs travel as an i32 (low half
  /// first), f16 pairs as vector<2xf16>. Operands take the inputs' 16-bit type.
  Value pack(Value x, Value y) {
    bool f16 = s.inputType.isF16();
    Type half = f16 ? Type(b.getF16Type()) : Type(b.getBF16Type());
    Value xs = arith::TruncFOp::create(b, loc, half, x);
    Value ys = arith::TruncFOp::create(b, loc, half, y);
    Value pair = vector::FromElementsOp::create(b, loc, VectorType::get({2}, half),
                                                ValueRange{xs, ys});
    if (f16)
      return pair;
    Value asInt = vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getI32Type()), pair);
    return vector::ExtractOp::create(b, loc, asInt, ArrayRef<int64_t>{0});
  }

  using Access = function_ref<Value(Value, Value)>; // (row, col) -> f32
  struct Segment {
    Access a; // A[m, k]
    Access b; // B[k, n]
    int64_t depth;
  };

  /// D[M x N] = cInit + sum over segments of A B, on m16n8k16 bf16 tensor cores. Each warp
  /// takes 16 x 8 output tiles in turn; cInit/cStore see (row, col) of each accumulator.
  void gemm(int64_t M, int64_t N, ArrayRef<Segment> segments,
            function_ref<Value(Value, Value)> cInit, function_ref<void(Value, Value, Value)> cStore) {
    int64_t tilesN = N / 8, tiles = (M / 16) * tilesN;
    scf::ForOp::create(
        b, loc, warp, idx(tiles), idx(kWarps), ValueRange{},
        [&](OpBuilder &, Location, Value tileIdx, ValueRange) {
          Value m0 = mul(arith::DivUIOp::create(b, loc, tileIdx, idx(tilesN)), idx(16));
          Value n0 = mul(arith::RemUIOp::create(b, loc, tileIdx, idx(tilesN)), idx(8));
          Value r0 = add(m0, group), r1 = add(r0, idx(8));
          Value c0 = add(n0, mul(quad, idx(2))), c1 = add(c0, idx(1));
          Value bn = add(n0, group); // the B column this lane feeds
          SmallVector<Value> acc = {cInit(r0, c0), cInit(r0, c1), cInit(r1, c0), cInit(r1, c1)};
          for (const Segment &seg : segments) {
            auto loop = scf::ForOp::create(
                b, loc, idx(0), idx(seg.depth), idx(16), acc,
                [&](OpBuilder &, Location, Value k0, ValueRange c) {
                  Value ka = add(k0, mul(quad, idx(2))), kb = add(ka, idx(1));
                  Value ka8 = add(ka, idx(8)), kb8 = add(kb, idx(8));
                  SmallVector<Value> aRegs = {pack(seg.a(r0, ka), seg.a(r0, kb)),
                                              pack(seg.a(r1, ka), seg.a(r1, kb)),
                                              pack(seg.a(r0, ka8), seg.a(r0, kb8)),
                                              pack(seg.a(r1, ka8), seg.a(r1, kb8))};
                  SmallVector<Value> bRegs = {pack(seg.b(ka, bn), seg.b(kb, bn)),
                                              pack(seg.b(ka8, bn), seg.b(kb8, bn))};
                  auto resultType = LLVM::LLVMStructType::getLiteral(
                      b.getContext(), SmallVector<Type>(4, f32));
                  NVVM::MMATypes operandType =
                      s.inputType.isF16() ? NVVM::MMATypes::f16 : NVVM::MMATypes::bf16;
                  std::array<NVVM::MMATypes, 2> types = {operandType, operandType};
                  std::array<NVVM::MMALayout, 2> layouts = {NVVM::MMALayout::row,
                                                            NVVM::MMALayout::col};
                  Value d = NVVM::MmaOp::create(b, loc, resultType, aRegs, bRegs, c,
                                                ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
                                                std::nullopt, types, layouts);
                  SmallVector<Value> out;
                  for (int64_t i = 0; i < 4; ++i)
                    out.push_back(LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{i}));
                  scf::YieldOp::create(b, loc, out);
                });
            acc.assign(loop.getResults().begin(), loop.getResults().end());
          }
          cStore(r0, c0, acc[0]);
          cStore(r0, c1, acc[1]);
          cStore(r1, c0, acc[2]);
          cStore(r1, c1, acc[3]);
          scf::YieldOp::create(b, loc);
        });
  }

  // --- one chunk --------------------------------------------------------------
  Value gateAt(Value i) { return s.gate == GateKind::None ? f32c(0.0f) : load(layout.gates, i); }
  Value betaAt(Value i) { return s.hasBeta ? load(layout.beta, i) : f32c(1.0f); }

  void chunkStep(Value t0, Value rows) {
    const int64_t C = s.C, K = s.K, Vt = s.vTile;
    // 1. Tiles of this chunk, zero past the last row.
    forStrided(C * K, [&](Value e) {
      Value r = arith::DivUIOp::create(b, loc, e, idx(K));
      Value c = arith::RemUIOp::create(b, loc, e, idx(K));
      Value valid = cmp(arith::CmpIPredicate::ult, r, rows);
      Value t = select(valid, add(t0, r), t0); // clamp: never read past the sequence
      Value at = add(mul(add(mul(t, idx(s.H)), h), idx(K)), c);
      store(layout.ks, e, select(valid, loadF32(k, at), f32c(0.0f)));
      store(layout.qs, e, select(valid, loadF32(q, at), f32c(0.0f)));
    });
    forStrided(C * Vt, [&](Value e) {
      Value r = arith::DivUIOp::create(b, loc, e, idx(Vt));
      Value c = arith::RemUIOp::create(b, loc, e, idx(Vt));
      Value valid = cmp(arith::CmpIPredicate::ult, r, rows);
      Value t = select(valid, add(t0, r), t0);
      Value at = add(mul(add(mul(t, idx(s.HV)), hv), idx(s.V)), add(col0, c));
      store(layout.vs, e, select(valid, loadF32(v, at), f32c(0.0f)));
    });
    forStrided(C, [&](Value r) {
      Value valid = cmp(arith::CmpIPredicate::ult, r, rows);
      Value t = select(valid, add(t0, r), t0);
      Value headRow = add(mul(t, idx(s.HV)), hv);
      if (g)
        store(layout.gates, r, select(valid, loadF32(g, headRow), f32c(0.0f)));
      if (beta)
        store(layout.beta, r, select(valid, loadF32(beta, headRow), f32c(0.0f)));
    });
    barrier();

    // 2. Rows: L2 norm of K rows (threads 0..C-1) and Q rows (C..2C-1), the scale on Q;
    //    one thread forms the cumulative gates.
    ifThen(cmp(arith::CmpIPredicate::ult, tid, idx(2 * C)), [&] {
      Value isQ = cmp(arith::CmpIPredicate::uge, tid, idx(C));
      Value r = arith::RemUIOp::create(b, loc, tid, idx(C));
      Value base = mul(r, idx(K));
      Value buf = select(isQ, idx(layout.qs), idx(layout.ks));
      Value factor = select(isQ, f32c(s.scale), f32c(1.0f));
      if (s.qkL2norm) {
        auto sum = scf::ForOp::create(
            b, loc, idx(0), idx(K), idx(1), ValueRange{f32c(0.0f)},
            [&](OpBuilder &, Location, Value c, ValueRange acc) {
              Value x = memref::LoadOp::create(b, loc, smem, ValueRange{add(buf, add(base, c))});
              scf::YieldOp::create(b, loc, ValueRange{fadd(acc[0], fmul(x, x))});
            });
        Value inv = arith::DivFOp::create(b, loc, f32c(1.0f),
                                          sqrt(fadd(sum.getResult(0), f32c(1e-6f))));
        factor = fmul(factor, inv);
      }
      scf::ForOp::create(b, loc, idx(0), idx(K), idx(1), ValueRange{},
                         [&](OpBuilder &, Location, Value c, ValueRange) {
                           Value at = add(buf, add(base, c));
                           Value x = memref::LoadOp::create(b, loc, smem, ValueRange{at});
                           memref::StoreOp::create(b, loc, fmul(x, factor), smem, ValueRange{at});
                           scf::YieldOp::create(b, loc);
                         });
    });
    if (g)
      ifThen(cmp(arith::CmpIPredicate::eq, tid, idx(0)), [&] {
        scf::ForOp::create(b, loc, idx(1), idx(C), idx(1), ValueRange{},
                           [&](OpBuilder &, Location, Value r, ValueRange) {
                             Value prev = load(layout.gates, arith::SubIOp::create(b, loc, r, idx(1)));
                             store(layout.gates, r, fadd(prev, load(layout.gates, r)));
                             scf::YieldOp::create(b, loc);
                           });
      });
    barrier();
    // Per-row decay factors, formed once so that fragment builders only load them.
    Value lastRow = arith::SubIOp::create(b, loc, idx(C), idx(1)); // padded rows keep G_n
    forStrided(C, [&](Value r) {
      Value eg = s.gate == GateKind::None ? f32c(1.0f) : exp(gateAt(r));
      Value tail = s.gate == GateKind::None ? f32c(1.0f) : exp(fsub(gateAt(lastRow), gateAt(r)));
      store(layout.expG, r, eg);
      store(layout.expTail, r, tail);
      store(layout.betaExpG, r, fmul(betaAt(r), eg));
    });
    barrier();

    // Decay between rows i >= j (mask first, then exp): exp(G_i - G_j).
    auto gam = [&](Value i, Value j, bool strict) -> std::pair<Value, Value> {
      Value mask = cmp(strict ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::uge, i, j);
      if (s.gate == GateKind::None)
        return {mask, f32c(1.0f)};
      Value d = select(mask, fsub(gateAt(i), gateAt(j)), f32c(0.0f));
      return {mask, exp(d)};
    };
    auto zero = [&](Value, Value) { return f32c(0.0f); };

    // 3. A = strictly_lower(diag(beta) K K^T .* Gam), QKg = lower(Q K^T .* Gam), Tm = I.
    auto ksAt = [&](Value r, Value c) { return load2(layout.ks, r, K, c); };
    auto ksT = [&](Value kk, Value nn) { return load2(layout.ks, nn, K, kk); };
    auto qsAt = [&](Value r, Value c) { return load2(layout.qs, r, K, c); };
    if (s.rule == UpdateRule::Delta) {
      gemm(C, C, {{ksAt, ksT, K}}, zero, [&](Value i, Value j, Value x) {
        auto [mask, decay] = gam(i, j, /*strict=*/true);
        store2(layout.a, i, C, j, select(mask, fmul(fmul(x, decay), betaAt(i)), f32c(0.0f)));
      });
      forStrided(C * C, [&](Value e) {
        Value i = arith::DivUIOp::create(b, loc, e, idx(C));
        Value j = arith::RemUIOp::create(b, loc, e, idx(C));
        store(layout.tm, e, select(cmp(arith::CmpIPredicate::eq, i, j), f32c(1.0f), f32c(0.0f)));
      });
    }
    gemm(C, C, {{qsAt, ksT, K}}, zero, [&](Value i, Value j, Value x) {
      auto [mask, decay] = gam(i, j, /*strict=*/false);
      store2(layout.qk, i, C, j, select(mask, fmul(x, decay), f32c(0.0f)));
    });
    barrier();

    auto uAt = [&](Value r, Value c) { return load2(layout.u, r, Vt, c); };
    if (s.rule == UpdateRule::Delta) {
      // 4. Tm = (I + A)^-1: row i from rows < i, columns j < i in parallel.
      scf::ForOp::create(
          b, loc, idx(1), idx(C), idx(1), ValueRange{},
          [&](OpBuilder &, Location, Value i, ValueRange) {
            ifThen(cmp(arith::CmpIPredicate::ult, tid, i), [&] {
              Value j = tid;
              auto sum = scf::ForOp::create(
                  b, loc, j, i, idx(1), ValueRange{f32c(0.0f)},
                  [&](OpBuilder &, Location, Value kk, ValueRange acc) {
                    Value term = fmul(load2(layout.a, i, C, kk), load2(layout.tm, kk, C, j));
                    scf::YieldOp::create(b, loc, ValueRange{fadd(acc[0], term)});
                  });
              store2(layout.tm, i, C, j, arith::NegFOp::create(b, loc, sum.getResult(0)));
            });
            barrier();
            scf::YieldOp::create(b, loc);
          });

      // 5. U = Tm (beta V), W = Tm (beta exp(G) K).
      auto tmAt = [&](Value r, Value c) { return load2(layout.tm, r, C, c); };
      gemm(C, Vt, {{tmAt, [&](Value kk, Value nn) { return fmul(betaAt(kk), load2(layout.vs, kk, Vt, nn)); }, C}},
           zero, [&](Value r, Value c, Value x) { store2(layout.u, r, Vt, c, x); });
      gemm(C, K,
           {{tmAt,
             [&](Value kk, Value nn) {
               return fmul(load(layout.betaExpG, kk), load2(layout.ks, kk, K, nn));
             },
             C}},
           zero, [&](Value r, Value c, Value x) { store2(layout.w, r, K, c, x); });
      barrier();

      // 6. Vnew = U - W S (into U).
      gemm(C, Vt,
           {{[&](Value r, Value c) { return arith::NegFOp::create(b, loc, load2(layout.w, r, K, c)); },
             [&](Value kk, Value nn) { return load2(layout.state, kk, Vt, nn); }, K}},
           uAt, [&](Value r, Value c, Value x) { store2(layout.u, r, Vt, c, x); });
    } else {
      // Additive: Vnew = beta V.
      forStrided(C * Vt, [&](Value e) {
        Value r = arith::DivUIOp::create(b, loc, e, idx(Vt));
        store(layout.u, e, fmul(betaAt(r), load(layout.vs, e)));
      });
    }
    barrier();

    // 7. o = (exp(G) Q) S + QKg Vnew, straight from the accumulators to global memory.
    gemm(C, Vt,
         {{[&](Value r, Value c) {
             Value x = qsAt(r, c);
             return s.gate == GateKind::None ? x : fmul(x, load(layout.expG, r));
           },
           [&](Value kk, Value nn) { return load2(layout.state, kk, Vt, nn); }, K},
          {[&](Value r, Value c) { return load2(layout.qk, r, C, c); }, uAt, C}},
         zero, [&](Value r, Value c, Value x) {
           ifThen(cmp(arith::CmpIPredicate::ult, r, rows), [&] {
             Value at = add(mul(add(mul(add(t0, r), idx(s.HV)), hv), idx(s.V)), add(col0, c));
             Value out = s.inputType.isF32() ? x : Value(arith::TruncFOp::create(b, loc, s.inputType, x));
             memref::StoreOp::create(b, loc, out, o, ValueRange{at});
           });
         });
    barrier();

    // 8. S <- exp(G_n) S + (exp(G_n - G) K)^T Vnew.
    gemm(K, Vt,
         {{[&](Value kk, Value i) {
             Value x = load2(layout.ks, i, K, kk);
             return s.gate == GateKind::None ? x : fmul(x, load(layout.expTail, i));
           },
           uAt, C}},
         [&](Value r, Value c) {
           Value x = load2(layout.state, r, Vt, c);
           // exp(G_n) = exp(G_n - G_0) exp(G_0).
           return s.gate == GateKind::None
                      ? x
                      : fmul(x, fmul(load(layout.expTail, idx(0)), load(layout.expG, idx(0))));
         },
         [&](Value r, Value c, Value x) { store2(layout.state, r, Vt, c, x); });
    barrier();
  }

  const ChunkedSpec &s;
  SharedLayout layout;
  const int64_t kThreads, kWarps;
  Value q, k, v, g, beta, o, smem;
  Value n, hv, h, tid, lane, warp, group, quad, col0, stateBase;
};

struct GdnChunkedGpuKernelsPass
    : public gdn::impl::GdnChunkedGpuKernelsBase<GdnChunkedGpuKernelsPass> {
  using GdnChunkedGpuKernelsBase::GdnChunkedGpuKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> layers = layerOps(module);
    if (layers.empty())
      return;
    for (Operation *op : layers) {
      std::string reason = chunkedKernelUnsupportedReason(op, chunkSize, vTile, warps);
      if (!reason.empty()) {
        op->emitError() << "gdn-chunked-gpu-kernels: " << reason
                        << " (gdn-recurrent-gpu-kernels handles every layer)";
        return signalPassFailure();
      }
    }
    OpBuilder b(module.getBodyRegion());
    createKernelModule(b, module);
    SmallVector<Operation *> hosts;
    for (Operation *op : layers) {
      ChunkedSpec spec;
      static_cast<LayerFacts &>(spec) = layerFacts(op, "_chunked");
      spec.C = chunkSize;
      spec.vTile = vTile;
      spec.warps = warps;
      auto kernel = ChunkedKernelBuilder(b, op->getLoc(), spec).build();
      finishKernel(b, kernel, op, spec, hosts);
    }
    for (Operation *host : hosts)
      host->erase();
  }
};

} // namespace

std::string mlir::gdn::chunkedKernelUnsupportedReason(Operation *op, int64_t chunkSize,
                                                     int64_t vTile, int64_t warps) {
  auto r = dyn_cast<RecurrenceOp>(op);
  if (!r)
    return "only gdn.recurrence has a chunked kernel (decode steps use the recurrent one)";
  auto qType = cast<RankedTensorType>(r.getQ().getType());
  auto vType = cast<RankedTensorType>(r.getV().getType());
  if (r.getGate() == GateKind::Channel)
    return "channel gates are not supported yet";
  if (!qType.getElementType().isBF16() && !qType.getElementType().isF16())
    return "only bf16 and f16 inputs are supported";
  if (chunkSize != 64 && chunkSize != 32 && chunkSize != 16)
    return "chunk-size must be 16, 32 or 64";
  if (vTile != 16 && vTile != 32 && vTile != 64)
    return "v-tile must be 16, 32 or 64";
  if (vType.getDimSize(3) % vTile != 0)
    return "v-tile must divide V";
  if (warps != 4 && warps != 8)
    return "warps must be 4 or 8";
  if (32 * warps < 2 * chunkSize)
    return "the row pass needs 2 x chunk-size threads";
  int64_t bytes = SharedLayout(chunkSize, qType.getDimSize(3), vTile).total * 4;
  if (bytes > kMaxSharedBytes)
    return "the shared-memory plan needs " + std::to_string(bytes) + " bytes (more than " +
           std::to_string(kMaxSharedBytes) + "); use a smaller chunk-size or v-tile";
  return "";
}
