//===- ChunkedKernel.cpp - chunkwise GPU kernels on tensor cores ----------===//
//
// The chunked form of docs/design.md §2 as two kernels per layer, in one gpu.module:
//
// 1. `<layer>_chunked_prep`, chunk-parallel (grid: chunk slots x HV; `prep-warps` warps,
//    4 by default: small blocks keep more chunks in flight per SM). Every product that does
//    not depend on the state, for one chunk of one value head:
//      A    = strictly_lower(diag(beta) (K K^T) .* Gam)       (tensor cores)
//      QKg  = scale lower(Q K^T .* Gam)                       (tensor cores) -> workspace
//      W    = (I + A)^-1 (beta exp(G) K),  U = (I + A)^-1 (beta V)  -> workspace
//    The triangular solve runs column by column: each thread owns one column of [W | U]
//    in registers and substitutes down the rows (no barriers; A rows are broadcast loads).
//    Per row it also writes (scale qf exp(G_i), kf exp(G_n - G_i), exp(G_n)), where qf, kf
//    are the L2-norm factors (1 without qk_l2norm). With `state-wy` (the default for the
//    delta rule) the prep stops at Tm diag(beta), Tm = (I + A)^-1, and the state pass forms
//    Vnew = Tm diag(beta) (V - diag(exp(G) kf) K S) itself; the W/U form below is state-wy=0.
// 2. `<layer>_chunked`, sequential over chunks (grid: N x HV x V/v_tile): the K x v_tile f32
//    state lives in the warps' mma accumulators for the whole sequence. Per chunk, with the
//    next chunk's q, k, W, U, QKg and row factors already on their way into shared memory
//    (cp.async, double buffered):
//      Vnew = U - W S                           (additive rule: Vnew = U = beta V)
//      o    = diag(scale qf exp(G)) Q S + QKg Vnew
//      S    = exp(G_n) S + K^T diag(kf exp(G_n - G)) Vnew
//    Operands are 16-bit tiles in shared memory read as 32-bit pairs (rows padded by 8
//    elements so a fragment load touches 32 distinct banks), or with ldmatrix when the
//    `ldmatrix` option is on.
//
// With `sliced-state` (the default where it applies) the state pass instead keeps S^T in
// registers, 16 value columns per warp over all K, and takes the left operand of every product
// from registers (StateKernelBuilder::slicedStep): one barrier per chunk, no shared-memory
// traffic but the chunk's input tiles (and, with `stmatrix-stores` on sm_90, each warp's
// output tile on its way to 16-byte row stores: StateKernelBuilder::storeOutputRows). With
// `wgmma` (sm_90a) its products with the chunk tiles run as warpgroup wgmma.mma_async, B read
// by descriptor from swizzled / core-matrix tiles.
//
// With `segments` (described above ChunkedBuilderBase) two more kernels run between them,
// `<layer>_chunked_segments` and `<layer>_chunked_combine`, and the state pass runs every segment
// of a sequence at once; with `stages` the sliced pass keeps 2 to 4 chunks' tiles in flight.
//
// The workspace holds Tm diag(beta) (with `state-wy`, the default) or W and U, QKg and the row
// factors for every token and value head; the runtime sizes it from `gdn.workspace_token_bytes` and
// launches prep, then the state pass, on the same stream.
//
// Channel gates (ChunkedSpec::channel): the prep also writes gated Q1, K1, K2 tiles and each
// chunk's decay vector, which the state pass reads instead of q and k (PrepKernelBuilder::
// channelTiles, channelProducts).
//
// Supported: every gate, either rule (channel gates with the delta rule need state-wy), bf16
// or f16 inputs, K and V multiples of 16 up to what the shared-memory plans fit. Other layers
// use the recurrent kernel.
//
//===----------------------------------------------------------------------===//
#include "ChunkedForm.h"
#include "GenericChunkedKernel.h"
#include "KernelSignature.h"
#include "gdn/Codegen/Passes.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

namespace mlir::gdn {
#define GEN_PASS_DEF_GDNCHUNKEDGPUKERNELS
#include "gdn/Codegen/Passes.h.inc"
} // namespace mlir::gdn

using namespace mlir;
using namespace mlir::gdn;

namespace {

/// `segments` = 0: kernels for up to this many segments, the launch choosing per shape.
constexpr int64_t kAutoMaxSegments = 8;

struct ChunkedSpec : LayerFacts {
  ChunkedSpec() = default;
  explicit ChunkedSpec(const GdnChunkedGpuKernelsOptions &o)
      : C(o.chunkSize), vTile(o.vTile), warps(o.warps), prepWarps(o.prepWarps),
        segments(o.segments == 0 ? kAutoMaxSegments : o.segments), segmentsAuto(o.segments == 0),
        stages(o.stages), kSplit(o.kSplit), wholeChunkCopies(o.wholeChunkCopies),
        stmatrixStores(o.stmatrixStores), wgmma(o.wgmma), ldmatrix(o.ldmatrix),
        prepInverse(o.prepInverse), stateWy(o.stateWy), qsEarly(o.qsEarly),
        slicedState(o.slicedState) {}
  int64_t C = 32, vTile = 32, warps = 8;
  int64_t prepWarps = 4; ///< warps of the prep kernel's block
  /// The most segments per sequence whose state passes run at once (described above
  /// ChunkedBuilderBase); the launch passes how many it uses (the `segments` argument, 1 .. this).
  int64_t segments = 1;
  /// The launch picks the segments from its shape (gdn::segmentsFor); else it uses `segments`.
  bool segmentsAuto = false;
  int64_t stages = 2; ///< sliced state pass: chunks whose tiles are in shared memory at once
  /// Sliced state pass: warps per 16 value columns, each with K / kSplit rows of S (see
  /// StateKernelBuilder::slicedStep).
  int64_t kSplit = 1;
  /// State pass: whole chunks' tiles copied without per-row predicates (StateKernelBuilder::
  /// issue).
  bool wholeChunkCopies = false;
  /// Sliced state pass: O^T leaves through stmatrix.trans and a per-warp shared tile as 16-byte
  /// row pieces (sm_90 and later; StateKernelBuilder::storeOutputRows).
  bool stmatrixStores = false;
  /// Sliced state pass: products with the chunk tiles as wgmma (sm_90a; see useWgmma).
  bool wgmma = false;
  bool ldmatrix = false; ///< operands by ldmatrix instead of 32-bit shared loads
  /// Prep solves for Tm = (I + A)^-1 (C columns) and forms W, U on tensor cores, instead of
  /// substituting all K + V columns of [W | U].
  bool prepInverse = false;
  /// The state pass applies (I + A)^-1 itself: the workspace holds Tm diag(beta) and the
  /// state pass forms Vnew = Tm diag(beta) (V - diag(exp(G) kf) K S); no W, no U.
  bool stateWy = false;
  bool wyInState() const { return stateWy && delta(); }
  /// With state-wy: Q S in the same phase as K S (every warp busy at small V tiles; the
  /// output phase keeps only QKg Vnew), at the cost of registers.
  bool qsEarly = false;
  bool earlyQs() const { return qsEarly && wyInState() && !sliced() && !channel(); }
  /// Channel gates (GLA, KDA): the prep kernel writes the gated tiles the state pass reads
  /// instead of q and k (Q1 = scale qf exp(G) Q, K1 = kf exp(G) K, K2 = kf exp(G_n - G) K)
  /// and the chunk's decay vector exp(G_n); the row factors are 1.
  bool channel() const { return gate == GateKind::Channel; }
  /// The state pass keeps S^T in registers, 16 value columns per warp (see
  /// StateKernelBuilder::slicedStep), where it can: ldmatrix, state-wy for the delta rule,
  /// and registers: K / 2 for the state and about 2 C for the chunk's 16 x C products per
  /// thread, so K C <= 128 x 32 (K = 128 at C = 64 spills; K = 256 at C = 16 takes 228-253
  /// registers without spills, C = 32 would not fit; k-split 2 halves the state per warp and
  /// doubles the limit). Elsewhere the
  /// option is a no-op and the tiled state pass is built.
  bool slicedState = false;
  bool sliced() const {
    return slicedState && K <= 256 && K * C <= 128 * 32 * kSplit && ldmatrix &&
           (kSplit == 1 || vTile <= 64) && (wyInState() || !delta());
  }
  /// Segmented state pass (`segments`; described above ChunkedBuilderBase): the sliced pass, with V
  /// tiles that also tile K (the transition blocks own K columns). Packed batches split each
  /// sequence. With segments chosen per launch (segments = 0), V tiles of 16 (8 blocks per head at
  /// K = 128 already) are left unsegmented: their segment-state kernel spills (168 registers,
  /// 32 bytes at chunk 32, K = 128; ptxas 13.0).
  bool segmented() const {
    return segments > 1 && sliced() && K % vTile == 0 && !(segmentsAuto && vTile < 32);
  }
  /// Shared-memory stages of the state pass's chunk tiles (the tiled pass keeps 2).
  int64_t pipelineStages() const { return sliced() ? stages : 2; }
  /// Warps of the state pass.
  int64_t stateWarps() const { return sliced() ? vTile / 16 * kSplit : warps; }
  /// The sliced pass's products run as wgmma, one warpgroup (4 warps, 64 value columns) per
  /// m64 tile: needs whole warpgroups (V tile 64 or 128), each warp holding all of K, and
  /// q / k rows of whole 128-byte swizzle atoms (K a multiple of 64, as the verifier ensures).
  bool useWgmma() const {
    return wgmma && sliced() && kSplit == 1 && vTile % 64 == 0 && K % 64 == 0;
  }
  /// Warps sharing 16 value columns of the sliced pass (1 elsewhere).
  int64_t kParts() const { return sliced() ? kSplit : 1; }
  bool inverse() const { return prepInverse && delta() && !wyInState(); }
  bool delta() const { return rule == UpdateRule::Delta; }
};

/// Dynamic shared memory a Hopper block may opt into.
constexpr int64_t kMaxSharedBytes = 227 * 1024;
/// 16-bit tile rows are padded by this many elements (16 bytes): conflict-free fragments.
constexpr int64_t kPad = 8;
/// f32 row factors per token and value head: scale qf exp(G), kf exp(G_n - G), exp(G_n), and
/// exp(G) kf with state-wy (else 0).
constexpr int64_t kRowFactors = 4;
/// Channel gates: KKg and QKg sum 8 x 8 diagonal blocks per element; the rest is on tensor
/// cores with the rows gated relative to their 8-row block's first row.
constexpr int64_t kDiag = 8;

int64_t alignUp(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

/// Byte offsets of shared-memory buffers, laid out in order, 16-byte aligned.
struct Arena {
  int64_t at = 0;
  int64_t take(int64_t bytes) {
    int64_t o = at;
    at = alignUp(at + bytes, 16);
    return o;
  }
  int64_t takeAligned(int64_t bytes, int64_t align) {
    at = alignUp(at, align);
    return take(bytes);
  }
};

/// The prep kernel's shared memory: K and Q rows (16-bit), A (f32), per-row scalars (f32).
struct PrepLayout {
  int64_t ks, qs, a, gates, beta, kf, qf, expG, total;
  /// Channel gates: gates holds C x K cumulative gates; ka, qa are the rows gated relative to
  /// their 8-row block's first row, kb the earlier rows gated up to a block's first row
  /// (the off-diagonal blocks of KKg and QKg on tensor cores, every factor <= 1).
  int64_t ka = 0, qa = 0, kb = 0;
  /// Row stride of the channel gates in f32: 4 past K, so the rows a warp's diagonal-block
  /// sums read at one column fall in different banks (at K they all hit one).
  int64_t ldG = 1;
  /// Row stride of A in f32: 8 past C puts the 8 row groups of an mma accumulator's 64-bit
  /// pair stores in distinct banks (with stride C they all hit one: 8-way conflicts), and
  /// keeps rows 16-byte aligned for the substitution's vector loads.
  int64_t ldA;
  int64_t vs = 0, tmW = 0,
          tmU = 0; ///< with the explicit inverse: V rows, Tm diag(w), Tm diag(beta)
  PrepLayout(int64_t C, int64_t K, int64_t V, bool inverse, bool channel) {
    Arena m;
    ks = m.take(C * (K + kPad) * 2);
    qs = m.take(C * (K + kPad) * 2);
    if (channel) {
      ka = m.take(C * (K + kPad) * 2);
      qa = m.take(C * (K + kPad) * 2);
      kb = m.take(C * (K + kPad) * 2);
    }
    if (inverse) {
      vs = m.take(C * (V + kPad) * 2);
      tmW = m.take(C * (C + kPad) * 2);
      tmU = m.take(C * (C + kPad) * 2);
    }
    ldA = C + 8;
    a = m.take(C * ldA * 4);
    ldG = channel ? K + 4 : 1;
    gates = m.take(C * ldG * 4);
    beta = m.take(C * 4);
    kf = m.take(C * 4);
    qf = m.take(C * 4);
    expG = m.take(C * 4);
    total = m.at;
  }
};

/// The state kernel's shared memory: stages of the chunk's tiles (2, or `stages` sliced; all
/// the same size, `stageBytes` apart), two of S^T, Vnew^T.
struct StateLayout {
  struct Stage {
    int64_t qs, ks, ws, us, qk, rf, tm = 0; ///< us: U, or V's slice with state-wy
    int64_t ku = 0, dk = 0; ///< channel gates: K2 (the update's k rows), exp(G_n) (K f32)
  } stage[4];
  int64_t stageCount, stageBytes;
  int64_t st[2], vn, vs, total; // S^T is double buffered: one barrier per chunk fewer
  int64_t rs = 0;               ///< state-wy: R^T = (V - diag(exp(G) kf) K S)^T, 16-bit
  int64_t qsAcc = 0;            ///< qs-early: diag(qrow) Q S, f32, C x Vt
  /// k-split: each warp's partial (K S)^T and (Q S)^T, f32 [warp][value][lane]
  int64_t xs = 0, xsFloats = 0;
  /// stmatrix-stores: each warp's C x 16 output tile (token rows of kOutLd 16-bit elements)
  int64_t out = 0;
  static constexpr int64_t kOutLd = 24; ///< 48-byte rows: stmatrix's 8 rows hit distinct banks
  explicit StateLayout(const ChunkedSpec &spec) {
    const int64_t C = spec.C, K = spec.K, Vt = spec.vTile;
    Arena m;
    stageCount = spec.pipelineStages();
    for (int64_t j = 0; j < stageCount; ++j) {
      Stage &s = stage[j];
      // wgmma: the q and k tiles (and the gated ones) are 128-byte swizzled, whose atoms of
      // 8 rows x 128 bytes must sit at 1024-byte boundaries (swizzleAlign).
      const int64_t qkAlign = spec.useWgmma() ? 1024 : 16;
      s.qs = m.takeAligned(C * (K + kPad) * 2, qkAlign);
      s.ks = m.takeAligned(C * (K + kPad) * 2, qkAlign);
      s.ws = spec.delta() && !spec.wyInState() ? m.take(C * (K + kPad) * 2) : 0;
      s.us = m.take(C * (Vt + kPad) * 2);
      s.qk = m.take(C * (C + kPad) * 2);
      s.rf = m.take(C * kRowFactors * 4);
      if (spec.wyInState())
        s.tm = m.take(C * (C + kPad) * 2);
      if (spec.channel()) {
        s.ku = m.takeAligned(C * (K + kPad) * 2, qkAlign);
        s.dk = m.take(K * 4);
      }
      if (spec.useWgmma())
        m.at = alignUp(m.at, 1024);
      if (j == 0)
        stageBytes = m.at;
    }
    // wgmma: the stages start at the first 1024-byte boundary of the shared window at or
    // after the dynamic shared memory (a run-time offset below 1024: swizzleAlign).
    if (spec.useWgmma())
      m.take(1024);
    if (spec.sliced()) {
      // Nothing else: S, R and Vnew stay in the warps' registers; with k-split, each warp's
      // partial products (per lane: 4 C / 8 floats of (K S)^T and of (Q S)^T).
      st[0] = st[1] = vn = vs = 0;
      if (spec.kParts() > 1) {
        xsFloats = (spec.delta() ? 2 : 1) * 4 * (C / 8);
        xs = m.take(spec.stateWarps() * 32 * xsFloats * 4);
      }
      if (spec.stmatrixStores)
        out = m.take(spec.stateWarps() * C * kOutLd * 2);
      total = m.at;
      return;
    }
    st[0] = m.take(Vt * (K + kPad) * 2);
    st[1] = m.take(Vt * (K + kPad) * 2);
    vn = m.take(Vt * (C + kPad) * 2);
    vs = m.take(Vt * (C + kPad) * 2);
    if (spec.wyInState())
      rs = m.take(Vt * (C + kPad) * 2);
    if (spec.earlyQs())
      qsAcc = m.take(C * Vt * 4);
    total = m.at;
  }
};

/// 16-bit workspace elements per token and value head: W (delta rule), U, QKg; with
/// state-wy, QKg and Tm diag(beta) instead.
int64_t workspaceHeadElems(const ChunkedSpec &s) {
  int64_t gated = s.channel() ? (s.delta() ? 3 : 2) * s.K : 0; // Q1, K2 (and K1)
  if (s.wyInState())
    return 2 * s.C + gated;
  return (s.delta() ? s.K : 0) + s.V + s.C + gated;
}

/// f32 workspace elements per token and value head: the row factors, and with channel gates
/// a K-vector row (the chunk's decay exp(G_n), written at the chunk's first token).
int64_t workspaceHeadFloats(const ChunkedSpec &s) { return kRowFactors + (s.channel() ? s.K : 0); }

/// Workspace bytes per token (all value heads): the 16-bit regions in the input type, then
/// the f32 row factors. Regions follow one another, each `tokens` rows long.
int64_t workspaceTokenBytes(const ChunkedSpec &s) {
  return s.HV * (2 * workspaceHeadElems(s) + 4 * workspaceHeadFloats(s));
}

/// The segmented state pass (`segments` = P > 1). A sequence's chunks are split into P
/// segments of ceil(chunks / P) chunks. The chunk step is affine in the state,
/// S' = M_c S + H_c, so over segment p: S_{p+1} = M_p S_p + E_p, where E_p is the segment's
/// end state from S = 0 and M_p (K x K) the product of its chunks' M_c:
///   1. `<layer>_chunked_segments`: E_p for p = 0 .. P-2 (p = 0 from the initial state, so
///      E_0 = S_1) and M_p for p = 1 .. P-2 (the same sliced step run on the identity's
///      columns with V = 0), all at once, without outputs;
///   2. `<layer>_chunked_combine`: S_p = M_{p-1} S_{p-1} + E_{p-1} for p = 2 .. P-1 in f32,
///      each written over E_{p-1};
///   3. `<layer>_chunked`: every segment from its true state S_p (slot p - 1), with outputs;
///      the last writes the final state.
/// Empty segments (short sequences) have E = 0 and M = I, which the chain passes through.
/// Workspace per sequence after the per-token regions, for the P segments a launch runs (its
/// `segments` argument, 1 .. ChunkedSpec::segments; 1 skips the first two kernels): E slots
/// [HV][P-1][K][V], then M slots [HV][P-2] stored transposed (M^T[k][r]: the combine's reads
/// are coalesced), f32 (gdn::KernelMetadata::segmentWorkspaceBytes, which the runtime
/// allocates). The launch runs V/vTile P state-pass blocks and V/vTile (P-1) + K/vTile (P-2)
/// segment-state blocks per head (gdn::KernelMetadata::segmentStateBlocks).

/// What both kernels share: indices, shared-memory views, tensor-core fragments, cp.async.
class ChunkedBuilderBase : protected KernelBuilderBase {
protected:
  ChunkedBuilderBase(OpBuilder &b, Location loc, const ChunkedSpec &s, int64_t threads)
      : KernelBuilderBase(b, loc), s(s), kThreads(threads), kWarps(threads / 32),
        half(s.inputType.isF16() ? Type(b.getF16Type()) : Type(b.getBF16Type())),
        i32(b.getI32Type()) {}

  /// Creates the gpu.func with the shared argument list; sets up ids and views.
  gpu::GPUFuncOp begin(const std::string &name, int64_t sharedBytes) {
    KernelOperands ops = kernelOperands(s);
    ops.workspace = true;
    ops.segments = s.segmented();
    SmallVector<Type> types;
    kernelArguments(b, ops, types, argNames);
    auto fn = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(types, {}));
    Block &entry = fn.getBody().front();
    b.setInsertionPointToStart(&entry);
    args = unpackArguments(entry, ops);

    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
    Value raw = gpu::DynamicSharedMemoryOp::create(
        b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(), workgroup));
    auto view = [&](Type elt, int64_t bytesPerElt) {
      return memref::ViewOp::create(
          b, loc, MemRefType::get({sharedBytes / bytesPerElt}, elt, AffineMap(), workgroup), raw,
          idx(0), ValueRange{});
    };
    smemF32 = view(f32, 4);
    smemHalf = view(half, 2);
    smemWord = view(i32, 4);

    tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    lane = arith::RemUIOp::create(b, loc, tid, idx(32));
    warp = arith::DivUIOp::create(b, loc, tid, idx(32));
    group = arith::DivUIOp::create(b, loc, lane, idx(4));
    quad = arith::RemUIOp::create(b, loc, lane, idx(4));
    if (s.ldmatrix) {
      // An LLVM pointer to the dynamic shared memory, and each lane's row and column in an
      // ldmatrix block.
      sharedPtrType = LLVM::LLVMPointerType::get(b.getContext(), 3);
      Value address = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, raw);
      sharedAddress = address;
      sharedBase = LLVM::IntToPtrOp::create(
          b, loc, sharedPtrType,
          Value(arith::IndexCastOp::create(b, loc, b.getI64Type(), address)));
      Value lane8 = remu(lane, 8), sel = remu(divu(lane, 8), 2), half16 = divu(lane, 16);
      laneRowA = add(lane8, mul(sel, idx(8)));
      laneColA = mul(half16, idx(8));
      laneColAT = add(lane8, mul(half16, idx(8)));
      laneRowAT = mul(sel, idx(8));
      laneRowB = lane8;
      laneColB = mul(sel, idx(8));
    }
    hv = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    h = arith::DivUIOp::create(b, loc, hv, idx(s.HV / s.H));
    tokens = s.varlen ? args.T : mul(args.T, args.N);

    // Workspace regions (element offsets into typed views of the byte buffer).
    Value ws = args.workspace;
    int64_t headElems = workspaceHeadElems(s);
    Value halfCount = mul(tokens, idx(s.HV * headElems));
    wsHalf = memref::ViewOp::create(b, loc, MemRefType::get({ShapedType::kDynamic}, half), ws,
                                    idx(0), ValueRange{halfCount});
    Value rfByte = mul(halfCount, idx(2));
    wsF32 = memref::ViewOp::create(b, loc, MemRefType::get({ShapedType::kDynamic}, f32), ws, rfByte,
                                   ValueRange{mul(tokens, idx(s.HV * workspaceHeadFloats(s)))});
    if (s.channel()) {
      // After the regions below: Q1, K2, K1 (16-bit); after the row factors: the decays (f32).
      int64_t before = workspaceHeadElems(s) - (s.delta() ? 3 : 2) * s.K;
      wsQ1 = mul(tokens, idx(s.HV * before));
      wsK2 = add(wsQ1, mul(tokens, idx(s.HV * s.K)));
      wsK1 = add(wsK2, mul(tokens, idx(s.HV * s.K)));
      wsDecay = mul(tokens, idx(s.HV * kRowFactors));
    }
    if (s.segmented()) {
      // The segment states after the per-token regions, f32: per sequence, HV ((P - 1) K V +
      // (P - 2) K K) for the launch's P (0 for P = 1, when only the state pass runs).
      Value seqByte = mul(tokens, idx(workspaceTokenBytes(s)));
      Value P = args.segments;
      Value slotsE = sub(P, idx(1)), slotsM = sub(maxu(P, idx(2)), idx(2));
      Value perSequence =
          mul(idx(s.HV), add(mul(slotsE, idx(s.K * s.V)), mul(slotsM, idx(s.K * s.K))));
      wsSeq = memref::ViewOp::create(b, loc, MemRefType::get({ShapedType::kDynamic}, f32), ws,
                                     seqByte, ValueRange{mul(args.N, perSequence)});
    }
    wsW = idx(0);
    if (s.wyInState()) {
      wsU = idx(0); // unused: the state pass reads V itself
      wsQK = idx(0);
      wsTM = mul(tokens, idx(s.HV * s.C));
    } else {
      wsU = s.delta() ? mul(tokens, idx(s.HV * s.K)) : idx(0);
      wsQK = add(wsU, mul(tokens, idx(s.HV * s.V)));
    }
    return fn;
  }

  void setCommonAttributes(gpu::GPUFuncOp fn, int64_t sharedBytes) {
    fn->setAttr("gdn.chunk_size", b.getI64IntegerAttr(s.C));
    fn->setAttr("gdn.shared_memory_bytes", b.getI64IntegerAttr(sharedBytes));
  }

  /// First f32 element (of wsSeq) of segment slot j of (sequence n, value head hv): E slots
  /// hold K x V states, M slots K x K transitions, transposed (P - 1 and P - 2 per head for the
  /// launch's P segments; M slots exist for P > 2).
  Value eSlot(Value n, Value hv, Value j) {
    Value slotsE = sub(args.segments, idx(1));
    return mul(add(mul(add(mul(n, idx(s.HV)), hv), slotsE), j), idx(s.K * s.V));
  }
  Value mSlot(Value n, Value hv, Value j) {
    Value slotsE = sub(args.segments, idx(1)), slotsM = sub(args.segments, idx(2));
    Value eRegion = mul(mul(args.N, idx(s.HV * s.K * s.V)), slotsE);
    return add(eRegion, mul(add(mul(add(mul(n, idx(s.HV)), hv), slotsM), j), idx(s.K * s.K)));
  }

  // --- scalar helpers -------------------------------------------------------
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value lt(Value x, Value y) { return cmp(arith::CmpIPredicate::ult, x, y); }
  Value select(Value c, Value x, Value y) { return arith::SelectOp::create(b, loc, c, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value divu(Value x, int64_t y) { return arith::DivUIOp::create(b, loc, x, idx(y)); }
  Value remu(Value x, int64_t y) { return arith::RemUIOp::create(b, loc, x, idx(y)); }
  Value minu(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value maxu(Value x, Value y) { return arith::MaxUIOp::create(b, loc, x, y); }
  Value fma(Value x, Value y, Value z) { return LLVM::FMAOp::create(b, loc, x, y, z); }
  Value toHalf(Value x) { return arith::TruncFOp::create(b, loc, half, x); }
  Value toF32(Value x) { return arith::ExtFOp::create(b, loc, f32, x); }
  void barrier() { gpu::BarrierOp::create(b, loc); }

  void ifThen(Value cond, function_ref<void()> body) {
    auto op = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(op.thenBlock());
    body();
  }
  /// for (e = tid; e < count; e += threads) body(e)
  void forStrided(Value count, function_ref<void(Value)> body) {
    scf::ForOp::create(b, loc, tid, count, idx(kThreads), ValueRange{},
                       [&](OpBuilder &, Location, Value e, ValueRange) {
                         body(e);
                         scf::YieldOp::create(b, loc);
                       });
  }
  void forStrided(int64_t count, function_ref<void(Value)> body) { forStrided(idx(count), body); }

  // --- shared memory (byte offsets become element indices of the typed views) ----------
  Value f32At(int64_t byteBase, Value i) {
    return memref::LoadOp::create(b, loc, smemF32, ValueRange{add(idx(byteBase / 4), i)});
  }
  void storeF32(int64_t byteBase, Value i, Value x) {
    memref::StoreOp::create(b, loc, x, smemF32, ValueRange{add(idx(byteBase / 4), i)});
  }
  Value halfIndex(Value byteBase, Value row, int64_t ld, Value col) {
    return add(divu(byteBase, 2), add(mul(row, idx(ld)), col));
  }
  Value halfAt(Value byteBase, Value row, int64_t ld, Value col) {
    return memref::LoadOp::create(b, loc, smemHalf, ValueRange{halfIndex(byteBase, row, ld, col)});
  }
  void storeHalf(Value byteBase, Value row, int64_t ld, Value col, Value x) {
    memref::StoreOp::create(b, loc, toHalf(x), smemHalf,
                            ValueRange{halfIndex(byteBase, row, ld, col)});
  }
  /// Elements (row, col) and (row, col + 1) of a 16-bit tile as one 32-bit operand register
  /// (col even; the lower column in the low half).
  Value pairAt(Value byteBase, Value row, int64_t ld, Value col) {
    Value word = divu(halfIndex(byteBase, row, ld, col), 2);
    return memref::LoadOp::create(b, loc, smemWord, ValueRange{word});
  }
  /// Elements (row, col) and (row + 1, col) as one operand register (a column pair).
  Value columnPairAt(Value byteBase, Value row, int64_t ld, Value col) {
    // Loads in row order (call arguments would be evaluated in no fixed order).
    Value x = halfAt(byteBase, row, ld, col);
    Value y = halfAt(byteBase, add(row, idx(1)), ld, col);
    return packPair(x, y);
  }
  /// Two 16-bit values as one operand register (x in the low half).
  Value packPair(Value x, Value y) {
    Value pair =
        vector::FromElementsOp::create(b, loc, VectorType::get({2}, half), ValueRange{x, y});
    Value word = vector::BitCastOp::create(b, loc, VectorType::get({1}, i32), pair);
    return vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0});
  }
  /// Two f32 values rounded into one operand register.
  Value pack(Value x, Value y) {
    Value hx = toHalf(x);
    return packPair(hx, toHalf(y));
  }
  /// The two 16-bit halves of an operand register, as f32 (low half first).
  std::pair<Value, Value> unpack(Value word) {
    Value vec = vector::FromElementsOp::create(b, loc, VectorType::get({1}, i32), ValueRange{word});
    Value pair = vector::BitCastOp::create(b, loc, VectorType::get({2}, half), vec);
    return {toF32(vector::ExtractOp::create(b, loc, pair, ArrayRef<int64_t>{0})),
            toF32(vector::ExtractOp::create(b, loc, pair, ArrayRef<int64_t>{1}))};
  }
  /// Flips the sign of both halves of an operand register.
  Value negatePair(Value word) {
    return arith::XOrIOp::create(
        b, loc, word, arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(0x80008000u))));
  }

  // --- tensor cores ---------------------------------------------------------------
  /// The operands of one k16 step: 4 A registers, 2 B registers.
  using StepOperands = std::function<std::pair<SmallVector<Value>, SmallVector<Value>>(int64_t)>;

  /// acc (4 f32) += sum over the depth/16 steps of A_step B_step (mma.sync m16n8k16),
  /// unrolled: the operand loads are independent of the mma chain and issue ahead of it.
  /// Long chains alternate between two accumulators (summed at the end), halving the
  /// dependent mma chain.
  SmallVector<Value> mmaChain(ArrayRef<Value> acc, int64_t depth, const StepOperands &operands) {
    int64_t steps = depth / 16, chains = steps >= 4 ? 2 : 1;
    SmallVector<SmallVector<Value>> c = {SmallVector<Value>(acc.begin(), acc.end())};
    if (chains == 2)
      c.push_back(SmallVector<Value>(4, f32c(0.0f)));
    for (int64_t step = 0; step < steps; ++step) {
      auto [aRegs, bRegs] = operands(step);
      SmallVector<Value> &chain = c[step % chains];
      chain = mma(chain, aRegs, bRegs);
    }
    if (chains == 2)
      for (int64_t e = 0; e < 4; ++e)
        c[0][e] = fadd(c[0][e], c[1][e]);
    return c[0];
  }

  /// A 16-bit tile in shared memory: byte offset of element (0, 0), row stride in elements
  /// (rows 16-byte aligned).
  struct Tile {
    Value byteBase;
    int64_t ld;
  };

  /// acc += A B over `depth` for the 16 x 8 output tile at (m0, n0). A is stored row-major
  /// (A[m, k] at row m, column k) or, with `aTransposed`, as A^T (row k, column m); B is
  /// stored by columns (B[k, n] at row n, column k); `negateA` flips A's sign. Operands come
  /// from 32-bit shared loads (pairs along a row; an A^T pair is two 16-bit loads), or from
  /// ldmatrix (.x4 for A, .trans for A^T, .x2 for B) when the spec asks for it.
  SmallVector<Value> tileProduct(ArrayRef<Value> acc, int64_t depth, Value m0, Value n0, Tile a,
                                 bool aTransposed, Tile bt, bool negateA = false,
                                 bool bByRows = false) {
    auto sign = [&](Value x) { return negateA ? negatePair(x) : x; };
    if (!s.ldmatrix) {
      // Lane (group, quad) holds rows group and group + 8, columns 2 quad (+1) and + 8.
      Value r0 = add(m0, group), r1 = add(r0, idx(8)), bn = add(n0, group);
      Value lane2 = mul(quad, idx(2));
      auto aFrag = [&](Value r, Value k) {
        return sign(aTransposed ? columnPairAt(a.byteBase, k, a.ld, r)
                                : pairAt(a.byteBase, r, a.ld, k));
      };
      auto bFrag = [&](Value k, Value c) {
        return bByRows ? columnPairAt(bt.byteBase, k, bt.ld, c) : pairAt(bt.byteBase, c, bt.ld, k);
      };
      return mmaChain(acc, depth, [&](int64_t step) {
        Value ka = add(idx(16 * step), lane2), ka8 = add(ka, idx(8));
        SmallVector<Value> aRegs = {aFrag(r0, ka), aFrag(r1, ka), aFrag(r0, ka8), aFrag(r1, ka8)};
        SmallVector<Value> bRegs = {bFrag(ka, bn), bFrag(ka8, bn)};
        return std::make_pair(aRegs, bRegs);
      });
    }
    return mmaChain(acc, depth, [&](int64_t step) {
      Value k0 = idx(16 * step);
      // A: lane l addresses row (l % 8) + 8 ((l / 8) % 2), column 8 (l / 16) of the 16 x 16
      // block; transposed, the memory row is k0 + (l % 8) + 8 (l / 16), column m0 + 8 ((l / 8) %
      // 2).
      Value aPtr = aTransposed ? tileAddress(a, add(k0, laneColAT), add(m0, laneRowAT))
                               : tileAddress(a, add(m0, laneRowA), add(k0, laneColA));
      SmallVector<Value> aRegs = ldmatrix(aPtr, 4, aTransposed);
      for (Value &x : aRegs)
        x = sign(x);
      // B: lane l addresses row n0 + (l % 8), column k0 + 8 ((l / 8) % 2); stored by rows
      // (B[k, n] at row k), row k0 + (l % 8) + 8 ((l / 8) % 2), column n0, transposed.
      SmallVector<Value> bRegs =
          bByRows ? ldmatrix(tileAddress(bt, add(k0, laneRowA), n0), 2, true)
                  : ldmatrix(tileAddress(bt, add(n0, laneRowB), add(k0, laneColB)), 2, false);
      return std::make_pair(aRegs, bRegs);
    });
  }

  /// Shared-memory pointer to element (row, col) of `t`.
  Value tileAddress(Tile t, Value row, Value col) {
    Value bytes = add(t.byteBase, mul(add(mul(row, idx(t.ld)), col), idx(2)));
    Value offset = arith::IndexCastOp::create(b, loc, b.getI64Type(), bytes);
    return LLVM::GEPOp::create(b, loc, sharedPtrType, b.getI8Type(), sharedBase,
                               ValueRange{offset});
  }

  /// `num` 8 x 8 16-bit matrices, one register each per lane.
  SmallVector<Value> ldmatrix(Value ptr, int32_t num, bool transpose) {
    Type result = LLVM::LLVMStructType::getLiteral(b.getContext(), SmallVector<Type>(num, i32));
    Value x = NVVM::LdMatrixOp::create(
        b, loc, result, ptr, b.getI32IntegerAttr(num),
        NVVM::MMALayoutAttr::get(b.getContext(),
                                 transpose ? NVVM::MMALayout::col : NVVM::MMALayout::row),
        NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
        NVVM::LdStMatrixEltTypeAttr::get(b.getContext(), NVVM::LdStMatrixEltType::B16));
    SmallVector<Value> regs;
    for (int64_t i = 0; i < num; ++i)
      regs.push_back(LLVM::ExtractValueOp::create(b, loc, x, ArrayRef<int64_t>{i}));
    return regs;
  }

  // --- wgmma (sm_90a) ----------------------------------------------------------------
  // NVVM's wgmma op takes A only from shared memory, so these are inline PTX. The waits
  // pass the accumulators through as tied operands: nothing that reads a result can be
  // scheduled before the wait that completes it.
  /// Inline PTX with side effects; a struct of `results` f32 values comes back (none: null).
  Value inlinePtx(StringRef text, StringRef constraints, ValueRange operands, int64_t results) {
    SmallVector<Type> type;
    if (results)
      type.push_back(
          LLVM::LLVMStructType::getLiteral(b.getContext(), SmallVector<Type>(results, f32)));
    auto op = LLVM::InlineAsmOp::create(b, loc, type, operands, text, constraints,
                                        /*has_side_effects=*/true, /*is_align_stack=*/false,
                                        LLVM::tailcallkind::TailCallKind::None,
                                        LLVM::AsmDialectAttr(), ArrayAttr());
    return results ? op.getResult(0) : Value();
  }
  /// Inline-asm constraints of `n` f32 results, each (`tied`) also read from the operand of
  /// the same position.
  static std::string f32Results(int64_t n, bool tied) {
    std::string c;
    for (int64_t i = 0; i < n; ++i)
      c += i ? ",=f" : "=f";
    for (int64_t i = 0; tied && i < n; ++i)
      c += "," + std::to_string(i);
    return c;
  }
  SmallVector<Value> unpackStruct(Value x, int64_t n) {
    SmallVector<Value> out;
    for (int64_t i = 0; i < n; ++i)
      out.push_back(LLVM::ExtractValueOp::create(b, loc, x, ArrayRef<int64_t>{i}));
    return out;
  }
  void ptxStatement(StringRef text) { inlinePtx(text, "", ValueRange{}, 0); }
  /// Descriptor of a wgmma B operand at byte `byteOffset` of the dynamic shared memory: bits
  /// 0-13 its address / 16, 16-29 the leading and 32-45 the stride byte offset / 16, 62-63
  /// the swizzle. No swizzle: core matrices (8 rows of 16 bytes) `lbo` bytes apart along K
  /// and `sbo` along N (either major). 128-byte swizzle: K-major, `sbo` between 8-row groups
  /// (`lbo` unused); N-major, `lbo` between 64-element atoms along N, `sbo` between 8-row
  /// groups along K.
  /// Shared-memory addresses stay below 2^18 (228 KB), so the address field never carries
  /// into the next one and a descriptor plus (bytes / 16) addresses `bytes` further on
  /// (descriptorPlus): each tile's descriptor is made once per chunk.
  Value wgmmaDescriptor(Value byteOffset, int64_t lbo, int64_t sbo, bool swizzle128 = false) {
    Value address = divu(add(sharedAddress, byteOffset), 16);
    Value low = arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
    int64_t strides = ((lbo / 16) << 16) | ((sbo / 16) << 32) | (int64_t(swizzle128) << 62);
    return arith::AddIOp::create(b, loc, low,
                                 arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(strides)));
  }
  /// This warp's 16 x n slice (n / 8 accumulator tiles of 4 f32) of the warpgroup's
  /// m64nNk16 product D = A B + acc (acc empty: D = A B). A: this warp's 16 x 16 fragment in
  /// the mma.sync layout (4 words); B: descriptor, K-major or, with `bByRows`, N-major.
  SmallVector<Value> wgmma(ArrayRef<Value> acc, int64_t n, ArrayRef<Value> a, Value desc,
                           bool bByRows) {
    const int64_t m = n / 2;
    const bool fresh = acc.empty();
    std::string type = s.inputType.isF16() ? "f16" : "bf16", text;
    llvm::raw_string_ostream os(text);
    auto list = [&](int64_t first, int64_t count) {
      os << "{";
      for (int64_t i = 0; i < count; ++i)
        os << (i ? ", $" : "$") << first + i;
      os << "}";
    };
    int64_t aFirst = fresh ? m : 2 * m;
    if (fresh)
      os << "{\n.reg .pred p;\nsetp.ne.b32 p, 0, 0;\n";
    os << "wgmma.mma_async.sync.aligned.m64n" << n << "k16.f32." << type << "." << type << " ";
    list(0, m);
    os << ", ";
    list(aFirst, 4);
    os << ", $" << aFirst + 4 << (fresh ? ", p" : ", 1") << ", 1, 1, " << (bByRows ? 1 : 0) << ";";
    if (fresh)
      os << "\n}";
    SmallVector<Value> operands(acc.begin(), acc.end());
    std::string constraints = f32Results(m, /*tied=*/!fresh) + ",r,r,r,r,l";
    operands.append(a.begin(), a.end());
    operands.push_back(desc);
    return unpackStruct(inlinePtx(text, constraints, operands, m), m);
  }
  Value descriptorPlus(Value desc, int64_t bytes) {
    if (!bytes)
      return desc;
    return arith::AddIOp::create(
        b, loc, desc, arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(bytes / 16)));
  }
  void wgmmaFence() { ptxStatement("wgmma.fence.sync.aligned;"); }
  void wgmmaCommit() { ptxStatement("wgmma.commit_group.sync.aligned;"); }
  /// Waits until at most `pending` committed groups are in flight; `results` (accumulators
  /// of the completed groups) come back through the wait.
  void wgmmaWait(int64_t pending, ArrayRef<SmallVector<Value> *> results) {
    SmallVector<Value> all;
    for (auto *r : results)
      all.append(r->begin(), r->end());
    std::string constraints = f32Results(all.size(), /*tied=*/true);
    std::string text = "wgmma.wait_group.sync.aligned " + std::to_string(pending) + ";";
    if (all.empty()) {
      ptxStatement(text);
      return;
    }
    SmallVector<Value> out =
        unpackStruct(inlinePtx(text, constraints, all, all.size()), all.size());
    size_t at = 0;
    for (auto *r : results)
      for (Value &x : *r)
        x = out[at++];
  }
  SmallVector<Value> mma(ValueRange c, ArrayRef<Value> aRegs, ArrayRef<Value> bRegs) {
    bool f16 = s.inputType.isF16();
    auto operand = [&](Value word) -> Value {
      if (!f16)
        return word;
      return LLVM::BitcastOp::create(b, loc, VectorType::get({2}, b.getF16Type()), word);
    };
    SmallVector<Value> a, bb;
    for (Value x : aRegs)
      a.push_back(operand(x));
    for (Value x : bRegs)
      bb.push_back(operand(x));
    auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(), SmallVector<Type>(4, f32));
    NVVM::MMATypes type = f16 ? NVVM::MMATypes::f16 : NVVM::MMATypes::bf16;
    std::array<NVVM::MMATypes, 2> types = {type, type};
    std::array<NVVM::MMALayout, 2> layouts = {NVVM::MMALayout::row, NVVM::MMALayout::col};
    Value d = NVVM::MmaOp::create(b, loc, resultType, a, bb, c, ArrayRef<int64_t>{16, 8, 16},
                                  std::nullopt, std::nullopt, types, layouts);
    SmallVector<Value> out;
    for (int64_t i = 0; i < 4; ++i)
      out.push_back(LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{i}));
    return out;
  }

  /// The (row, col) of accumulator element e (0..3) of the 16 x 8 tile at (m0, n0).
  std::pair<Value, Value> accPosition(Value m0, Value n0, int64_t e) {
    Value r = add(m0, add(group, idx(e >= 2 ? 8 : 0)));
    Value c = add(n0, add(mul(quad, idx(2)), idx(e % 2)));
    return {r, c};
  }

  /// Each warp takes 16 x 8 tiles of an M x N output in turn: body(m0, n0).
  void forTiles(int64_t M, int64_t N, function_ref<void(Value, Value)> body) {
    int64_t tilesN = N / 8;
    scf::ForOp::create(b, loc, warp, idx((M / 16) * tilesN), idx(kWarps), ValueRange{},
                       [&](OpBuilder &, Location, Value t, ValueRange) {
                         body(mul(divu(t, tilesN), idx(16)), mul(remu(t, tilesN), idx(8)));
                         scf::YieldOp::create(b, loc);
                       });
  }

  // --- cp.async --------------------------------------------------------------------
  /// Copies `rows` rows of `rowElems` elements from `src` (row r starts at srcRow(r)) into
  /// shared memory at `dstByte` with row stride `ld` elements, 16 bytes per copy; rows at or
  /// past `valid` are zero-filled (their source clamped to row 0, nothing read).
  /// Other orders for 16-bit tiles of `rows` rows (a multiple of 8) that wgmma reads (`ld`
  /// unused):
  /// - CoreMatrices: no-swizzle core matrices, column block by column block: element (r, c)
  ///   at (c / 8) rows 8 + 8 r + c % 8; consecutive threads take consecutive rows of one
  ///   16-byte column block, so each 8-lane phase of the copies writes 128 contiguous bytes;
  /// - Swizzled128: rows of 64 elements (128 bytes) per atom of 8 rows, the 16-byte pieces of
  ///   row r XOR-permuted by r % 8: (c / 64) rows 64 + 64 r + 8 ((c / 8) % 8 ^ r % 8) + c % 8.
  ///   Threads still take whole rows (global reads stay row-contiguous) and an 8-lane phase
  ///   writes 8 distinct pieces of one 128-byte row: no bank conflicts either side.
  enum class TileOrder { RowMajor, CoreMatrices, Swizzled128 };
  void asyncRows(Value src, function_ref<Value(Value)> srcRow, int64_t rows, int64_t rowElems,
                 Value dstByte, int64_t ld, Value valid, bool isF32,
                 TileOrder order = TileOrder::RowMajor) {
    const bool coreMatrices = order == TileOrder::CoreMatrices;
    int64_t perCopy = isF32 ? 4 : 8, pieces = rowElems / perCopy;
    Value dst = isF32 ? smemF32 : smemHalf;
    Value dstBase = isF32 ? divu(dstByte, 4) : divu(dstByte, 2);
    // `valid` null: every row is there (a whole chunk), so each source is its row's, and the
    // unrolled copies below differ by constants in both addresses.
    auto copy = [&](Value r, Value c) {
      Value ok = valid ? lt(r, valid) : Value();
      Value from = add(srcRow(ok ? select(ok, r, idx(0)) : r), c);
      Value to;
      if (coreMatrices) {
        to = add(dstBase, add(mul(c, idx(rows)), mul(r, idx(8))));
      } else if (order == TileOrder::Swizzled128) {
        Value piece = arith::XOrIOp::create(b, loc, remu(divu(c, 8), 8), remu(r, 8));
        to = add(dstBase,
                 add(add(mul(divu(c, 64), idx(rows * 64)), mul(r, idx(64))), mul(piece, idx(8))));
      } else {
        to = add(dstBase, add(mul(r, idx(ld)), c));
      }
      nvgpu::DeviceAsyncCopyOp::create(
          b, loc, dst, ValueRange{to}, src, ValueRange{from}, b.getIndexAttr(perCopy),
          ok ? select(ok, idx(perCopy), idx(0)) : Value(), b.getUnitAttr());
    };
    // Piece p of the tile: whole rows at a time (row p / pieces, pieces fastest), or, for core
    // matrices, 8 rows of one 16-byte column block at a time (row p % 8 + 8 (p / (8 pieces)),
    // column block (p / 8) % pieces).
    const int64_t group = coreMatrices ? 8 * pieces : pieces;
    auto rowOf = [&](Value p) {
      return coreMatrices ? add(remu(p, 8), mul(divu(p, 8 * pieces), idx(8))) : divu(p, pieces);
    };
    auto colOf = [&](Value p) {
      return mul(coreMatrices ? remu(divu(p, 8), pieces) : remu(p, pieces), idx(perCopy));
    };
    if (kThreads % group == 0) {
      // Each thread copies one fixed piece of every (threads / pieces)-th row: its row and
      // column are computed once and the unrolled copies differ by constants (a strided loop
      // spent more instructions on index arithmetic than on copies in narrow blocks).
      int64_t step = kThreads / pieces;
      Value r0 = rowOf(tid), c = colOf(tid);
      for (int64_t i = 0; i * step < rows; ++i) {
        Value r = add(r0, idx(i * step));
        if ((i + 1) * step > rows)
          ifThen(lt(r, idx(rows)), [&] { copy(r, c); });
        else
          copy(r, c);
      }
      return;
    }
    forStrided(rows * pieces, [&](Value p) { copy(rowOf(p), colOf(p)); });
  }

  /// Stores `x` (one element type) as one vector at `at` of `buffer`.
  void storeVector(Value buffer, Value at, ArrayRef<Value> x, int64_t align) {
    Value v = vector::FromElementsOp::create(
        b, loc, VectorType::get({int64_t(x.size())}, x.front().getType()), x);
    vector::StoreOp::create(b, loc, v, buffer, ValueRange{at}, /*nontemporal=*/false,
                            llvm::MaybeAlign(align));
  }
  void commitAsync() { NVVM::CpAsyncCommitGroupOp::create(b, loc); }
  void waitAsync(int32_t pending) {
    NVVM::CpAsyncWaitGroupOp::create(b, loc, b.getI32IntegerAttr(pending));
  }

  /// Row index (in elements) of token t's q/k row and of its v/o row.
  Value qkRow(Value t) { return mul(add(mul(t, idx(s.H)), h), idx(s.K)); }
  Value headRow(Value t) { return add(mul(t, idx(s.HV)), hv); }

  const ChunkedSpec &s;
  const int64_t kThreads, kWarps;
  Type half, i32;
  SmallVector<std::string> argNames;
  KernelArguments args;
  Value smemF32, smemHalf, smemWord, wsHalf, wsF32, wsW, wsU, wsQK, wsTM, wsSeq;
  Value wsQ1, wsK1, wsK2, wsDecay; ///< channel gates (ChunkedSpec::channel)
  Value tid, lane, warp, group, quad, hv, h, tokens;
  Type sharedPtrType;
  Value sharedBase, laneRowA, laneColA, laneRowAT, laneColAT, laneRowB, laneColB;
  Value sharedAddress; ///< the dynamic shared memory's address in the shared window (index)
};

//===----------------------------------------------------------------------===//
// Prep: chunk-parallel, state-independent
//===----------------------------------------------------------------------===//

class PrepKernelBuilder : ChunkedBuilderBase {
public:
  PrepKernelBuilder(OpBuilder &b, Location loc, const ChunkedSpec &s)
      : ChunkedBuilderBase(b, loc, s, 32 * s.prepWarps),
        L(s.C, s.K, s.V, s.inverse(), s.channel()) {}

  int64_t sharedBytes() const { return L.total; }

  gpu::GPUFuncOp build(const std::string &name) {
    OpBuilder::InsertionGuard guard(b);
    auto fn = begin(name, L.total);
    setLaunchAttributes(b, fn, argNames, kThreads, s.V, s.V);
    setCommonAttributes(fn, L.total);
    fn->setAttr("gdn.prep", b.getUnitAttr());
    fn->setAttr("gdn.grid", b.getStringAttr(s.varlen ? "ceil(T/C)+N,HV,1" : "N*ceil(T/C),HV,1"));

    // Which chunk this block owns: (sequence start, chunk start, sequence end).
    Value slot = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value t0, eos;
    if (s.varlen) {
      // Sequence m owns slots [floor(cu[m] / C) + m, floor(cu[m + 1] / C) + m + 1): at least
      // ceil(len / C) of them, found by bisection on cu (log N loads, not a scan of N);
      // slots past a sequence's last chunk return at once.
      auto firstSlot = [&](Value m) {
        Value offset = toIndex(memref::LoadOp::create(b, loc, args.cuSeqlens, ValueRange{m}));
        return add(divu(offset, s.C), m);
      };
      auto bisect = scf::ForOp::create(
          b, loc, idx(0), idx(32), idx(1), ValueRange{idx(0), args.N},
          [&](OpBuilder &, Location, Value, ValueRange range) {
            Value lo = range[0], hi = range[1];
            Value open = cmp(arith::CmpIPredicate::ugt, sub(hi, lo), idx(1));
            Value mid = divu(add(lo, hi), 2);
            Value below = cmp(arith::CmpIPredicate::ule, firstSlot(mid), slot);
            Value raise = arith::AndIOp::create(b, loc, open, below);
            Value lower = arith::AndIOp::create(
                b, loc, open,
                arith::XOrIOp::create(b, loc, below,
                                      arith::ConstantOp::create(b, loc, b.getBoolAttr(true))));
            scf::YieldOp::create(b, loc,
                                 ValueRange{select(raise, mid, lo), select(lower, mid, hi)});
          });
      Value m = bisect.getResult(0);
      Value bos = toIndex(memref::LoadOp::create(b, loc, args.cuSeqlens, ValueRange{m}));
      Value end =
          toIndex(memref::LoadOp::create(b, loc, args.cuSeqlens, ValueRange{add(m, idx(1))}));
      Value j = sub(slot, add(divu(bos, s.C), m));
      Value mine = lt(j, arith::CeilDivUIOp::create(b, loc, sub(end, bos), idx(s.C)));
      eos = end;
      t0 = select(mine, add(bos, mul(j, idx(s.C))), end);
    } else {
      // In 32 bits (grid dimensions are): a 64-bit division is a long software sequence.
      auto i32Of = [&](Value x) {
        return arith::IndexCastUIOp::create(b, loc, i32, x).getResult();
      };
      auto indexOf = [&](Value x) {
        return arith::IndexCastUIOp::create(b, loc, idxType, x).getResult();
      };
      Value perSequence = i32Of(arith::CeilDivUIOp::create(b, loc, args.T, idx(s.C)));
      Value slot32 = i32Of(slot);
      Value n = indexOf(arith::DivUIOp::create(b, loc, slot32, perSequence));
      Value j = indexOf(arith::RemUIOp::create(b, loc, slot32, perSequence));
      t0 = add(mul(n, args.T), mul(j, idx(s.C)));
      eos = add(mul(n, args.T), args.T);
    }
    Value rows = select(lt(t0, eos), minu(sub(eos, t0), idx(s.C)), idx(0));
    ifThen(cmp(arith::CmpIPredicate::ugt, rows, idx(0)), [&] { chunk(t0, rows); });
    gpu::ReturnOp::create(b, loc);
    return fn;
  }

private:
  Value gateAt(Value i) { return f32At(L.gates, i); }
  /// Element index of channel gate (row r, channel c) in L.gates.
  Value gateIndex(Value r, Value c) { return add(mul(r, idx(L.ldG)), c); }
  /// Channel gates c .. c + 7 of row r (c a multiple of 8), as two 16-byte loads.
  SmallVector<Value> gates8(Value r, Value c) {
    Value at = add(idx(L.gates / 4), gateIndex(r, c));
    SmallVector<Value> g = loadElements(smemF32, at, 4, 16);
    g.append(loadElements(smemF32, add(at, idx(4)), 4, 16));
    return g;
  }
  Value betaAt(Value i) { return s.hasBeta ? f32At(L.beta, i) : f32c(1.0f); }

  void chunk(Value t0, Value rows) {
    const int64_t C = s.C, K = s.K, ldK = K + kPad;
    // 1. K and Q rows (zero past the end), gates and betas.
    asyncRows(
        args.k, [&](Value r) { return qkRow(add(t0, r)); }, C, K, idx(L.ks), ldK, rows, false);
    asyncRows(
        args.q, [&](Value r) { return qkRow(add(t0, r)); }, C, K, idx(L.qs), ldK, rows, false);
    if (s.inverse())
      asyncRows(
          args.v, [&](Value r) { return mul(headRow(add(t0, r)), idx(s.V)); }, C, s.V, idx(L.vs),
          s.V + kPad, rows, false);
    bool channelCopy = s.channel() && s.gType.isF32();
    if (channelCopy)
      // C x K channel gates, zero past the end (so the cumulative gates stay at G_n there).
      asyncRows(
          args.g, [&](Value r) { return mul(headRow(add(t0, r)), idx(K)); }, C, K, idx(L.gates),
          L.ldG, rows, true);
    commitAsync();
    forStrided(C, [&](Value r) {
      Value ok = lt(r, rows);
      Value t = add(t0, select(ok, r, idx(0)));
      if (args.g && !s.channel())
        storeF32(L.gates, r, select(ok, loadF32(args.g, headRow(t)), f32c(0.0f)));
      if (args.beta)
        storeF32(L.beta, r, select(ok, loadF32(args.beta, headRow(t)), f32c(0.0f)));
    });
    if (s.channel() && !channelCopy)
      // The same for 16-bit gates, converted.
      forStrided(C * K, [&](Value e) {
        Value r = divu(e, K), c = remu(e, K), ok = lt(r, rows);
        Value t = add(t0, select(ok, r, idx(0)));
        Value at = add(mul(headRow(t), idx(K)), c);
        storeF32(L.gates, gateIndex(r, c), select(ok, loadF32(args.g, at), f32c(0.0f)));
      });
    waitAsync(0);
    barrier();

    // 2. L2-norm factors of the C K rows and C Q rows (row C + r is Q's row r); cumulative
    // gates.
    auto storeFactor = [&](Value row, Value factor) {
      Value isQ = cmp(arith::CmpIPredicate::uge, row, idx(C));
      Value at = add(select(isQ, idx(L.qf / 4), idx(L.kf / 4)), remu(row, C));
      memref::StoreOp::create(b, loc, factor, smemF32, ValueRange{at});
    };
    if (s.qkL2norm) {
      // Every row at once where the block has the threads: `lanes` consecutive lanes share a
      // row, lane p summing the squares of its 16-byte groups p, p + lanes, ... (a row's lanes
      // read contiguous bytes), then a shuffle butterfly over the lanes. With fewer threads
      // than rows (lanes = 1) a thread loops over rows. (A warp per row serialised a 5-shuffle
      // chain per row; a thread per row, element by element, had 4-way bank conflicts.)
      const int64_t groups = K / 8, lanes = std::clamp<int64_t>(kThreads / (2 * C), 1, groups);
      forStrided(2 * C * lanes, [&](Value slot) {
        Value row = divu(slot, lanes), part = remu(slot, lanes);
        Value isQ = cmp(arith::CmpIPredicate::uge, row, idx(C));
        Value base = select(isQ, idx(L.qs), idx(L.ks));
        SmallVector<Value> sums(4, f32c(0.0f));
        for (int64_t g = 0; g < groups / lanes; ++g) {
          Value col = mul(add(mul(idx(g), idx(lanes)), part), idx(8));
          Value at = halfIndex(base, remu(row, C), ldK, col);
          SmallVector<Value> x = loadElements(smemHalf, at, 8, 16);
          for (int64_t e = 0; e < 8; ++e) {
            Value xe = toF32(x[e]);
            sums[e % 4] = fma(xe, xe, sums[e % 4]);
          }
        }
        Value sum = fadd(fadd(sums[0], sums[1]), fadd(sums[2], sums[3]));
        // 2C x lanes is the block size whenever lanes > 1: every lane takes part.
        sum = xorLaneSum(sum, 1, lanes);
        ifThen(cmp(arith::CmpIPredicate::eq, part, idx(0)),
               [&] { storeFactor(row, rsqrtApprox(fadd(sum, f32c(1e-6f)))); });
      });
    } else {
      forStrided(2 * C, [&](Value row) { storeFactor(row, f32c(1.0f)); });
    }
    if (s.channel())
      // A thread per channel: C independent loads, a running sum down the rows, C stores, in
      // log2 units (G log2(e)): every channel exp below is one ex2.
      forStrided(K, [&](Value c) {
        SmallVector<Value> gates;
        for (int64_t r = 0; r < C; ++r)
          gates.push_back(f32At(L.gates, gateIndex(idx(r), c)));
        Value log2e = f32c(1.4426950408889634f);
        Value run = gates[0];
        storeF32(L.gates, gateIndex(idx(0), c), fmul(run, log2e));
        for (int64_t r = 1; r < C; ++r) {
          run = fadd(run, gates[r]);
          storeF32(L.gates, gateIndex(idx(r), c), fmul(run, log2e));
        }
      });
    else if (args.g)
      // The last thread forms the cumulative gates in registers: C independent loads, a
      // running sum, C stores.
      ifThen(cmp(arith::CmpIPredicate::eq, tid, idx(kThreads - 1)), [&] {
        SmallVector<Value> gates;
        for (int64_t r = 0; r < C; ++r)
          gates.push_back(gateAt(idx(r)));
        Value run = gates[0];
        for (int64_t r = 1; r < C; ++r) {
          run = fadd(run, gates[r]);
          storeF32(L.gates, idx(r), run);
        }
      });
    barrier();

    // 3. Row exponentials and the row factors the state pass needs. No barrier after: step 4
    // reads none of it (its factors come from the norms and betas), so (with several warps)
    // one warp's exps and stores overlap the other warps' tiles.
    Value last = idx(C - 1); // padded rows carry g = 0, so G_{C-1} = G_n
    if (s.channel()) {
      // The gates live in the tiles (channelTiles): every row factor is 1.
      forStrided(C, [&](Value r) {
        ifThen(lt(r, rows), [&] {
          Value base = mul(headRow(add(t0, r)), idx(kRowFactors));
          for (int64_t i = 0; i < kRowFactors; ++i)
            memref::StoreOp::create(b, loc, f32c(1.0f), wsF32, ValueRange{add(base, idx(i))});
        });
      });
      channelTiles(t0, rows);
      barrier();
      channelProducts(t0, rows);
    } else {
      forStrided(C, [&](Value r) {
        bool gated = s.gate != GateKind::None;
        Value eg = gated ? exp(gateAt(r)) : f32c(1.0f);
        Value tail = gated ? exp(fsub(gateAt(last), gateAt(r))) : f32c(1.0f);
        Value decay = gated ? exp(gateAt(last)) : f32c(1.0f);
        storeF32(L.expG, r, eg);
        ifThen(lt(r, rows), [&] {
          Value base = mul(headRow(add(t0, r)), idx(kRowFactors));
          Value qrow = fmul(fmul(f32c(s.scale), f32At(L.qf, r)), eg);
          Value krow = fmul(f32At(L.kf, r), tail);
          Value wyRow = s.wyInState() ? fmul(eg, f32At(L.kf, r)) : f32c(0.0f);
          Value values[kRowFactors] = {qrow, krow, decay, wyRow};
          for (int64_t i = 0; i < kRowFactors; ++i)
            memref::StoreOp::create(b, loc, values[i], wsF32, ValueRange{add(base, idx(i))});
        });
      });

      // 4. A (delta) and QKg on tensor cores; decays as differences, masked first. Tiles right
      // of the diagonal 16-row block are all zero: no product (A's are never read; QKg's are
      // stored as zeros). Accumulator elements 2h and 2h + 1 are columns j, j + 1 of one row:
      // stored as a pair (one 64-bit shared store for A, one 32-bit global store for QKg).
      Tile kTile{idx(L.ks), ldK}, qTile{idx(L.qs), ldK}; // B = K^T: B[k, j] = K[j, k]
      SmallVector<Value> zero(4, f32c(0.0f));
      if (s.delta())
        forTiles(C, C, [&](Value m0, Value n0) {
          ifThen(lt(n0, add(m0, idx(16))), [&] {
            SmallVector<Value> acc = tileProduct(zero, K, m0, n0, kTile, false, kTile);
            decayedTile(
                acc, m0, n0, [&](Value r) { return fmul(betaAt(r), f32At(L.kf, r)); },
                /*strict=*/true,
                [&](Value i, Value j, Value x, Value y) {
                  Value v = vector::FromElementsOp::create(b, loc, VectorType::get({2}, f32),
                                                           ValueRange{x, y});
                  vector::StoreOp::create(b, loc, v, smemF32,
                                          ValueRange{add(idx(L.a / 4), add(mul(i, idx(L.ldA)), j))},
                                          /*nontemporal=*/false, llvm::MaybeAlign(8));
                });
          });
        });
      auto storeQK = [&](Value i, Value j, Value x, Value y) {
        ifThen(lt(i, rows), [&] {
          Value at = add(add(wsQK, mul(headRow(add(t0, i)), idx(C))), j);
          Value pair = vector::FromElementsOp::create(b, loc, VectorType::get({2}, half),
                                                      ValueRange{toHalf(x), toHalf(y)});
          vector::StoreOp::create(b, loc, pair, wsHalf, ValueRange{at}, /*nontemporal=*/false,
                                  llvm::MaybeAlign(4));
        });
      };
      forTiles(C, C, [&](Value m0, Value n0) {
        Value live = lt(n0, add(m0, idx(16)));
        ifThen(live, [&] {
          SmallVector<Value> acc = tileProduct(zero, K, m0, n0, qTile, false, kTile);
          decayedTile(
              acc, m0, n0, [&](Value r) { return fmul(f32c(s.scale), f32At(L.qf, r)); },
              /*strict=*/false, storeQK);
        });
        ifThen(cmp(arith::CmpIPredicate::uge, n0, add(m0, idx(16))), [&] {
          Value c = add(n0, mul(quad, idx(2)));
          for (int64_t h = 0; h < 2; ++h)
            storeQK(add(m0, add(group, idx(8 * h))), c, f32c(0.0f), f32c(0.0f));
        });
      });
    }
    barrier();

    if (s.wyInState()) {
      inverseToWorkspace(t0, rows);
      return;
    }
    if (s.inverse()) {
      inverseAndProducts(t0, rows);
      return;
    }
    // 5. [W | U] = (I + A)^-1 [beta exp(G) kf K | beta V], one column per thread.
    int64_t columns = (s.delta() ? K : 0) + s.V;
    forStrided(columns, [&](Value col) {
      SmallVector<Type> rowTypes(C, f32);
      Value isW = s.delta() ? lt(col, idx(K)) : Value();
      auto loadColumn = [&](bool w) {
        SmallVector<Value> x;
        for (int64_t i = 0; i < C; ++i) {
          Value r = idx(i);
          if (w) {
            Value kv = toF32(halfAt(idx(L.ks), r, ldK, col));
            x.push_back(fmul(kv, fmul(fmul(betaAt(r), f32At(L.expG, r)), f32At(L.kf, r))));
          } else {
            Value c = s.delta() ? sub(col, idx(K)) : col;
            Value ok = lt(r, rows);
            Value t = add(t0, select(ok, r, idx(0)));
            Value vv = loadF32(args.v, add(mul(headRow(t), idx(s.V)), c));
            x.push_back(select(ok, fmul(betaAt(r), vv), f32c(0.0f)));
          }
        }
        return x;
      };
      SmallVector<Value> x;
      if (s.delta()) {
        auto branch = scf::IfOp::create(b, loc, rowTypes, isW, /*withElseRegion=*/true);
        {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPointToStart(branch.thenBlock());
          scf::YieldOp::create(b, loc, loadColumn(true));
          b.setInsertionPointToStart(branch.elseBlock());
          scf::YieldOp::create(b, loc, loadColumn(false));
        }
        x.assign(branch.getResults().begin(), branch.getResults().end());
        substitute(x);
      } else {
        x = loadColumn(false);
      }
      // Store the valid rows: W at column col, U at column col - K.
      for (int64_t i = 0; i < C; ++i) {
        Value r = idx(i);
        ifThen(lt(r, rows), [&] {
          Value row = headRow(add(t0, r));
          Value at;
          if (s.delta()) {
            Value wAt = add(add(wsW, mul(row, idx(K))), col);
            Value uAt = add(add(wsU, mul(row, idx(s.V))), sub(col, idx(K)));
            at = select(isW, wAt, uAt);
          } else {
            at = add(add(wsU, mul(row, idx(s.V))), col);
          }
          memref::StoreOp::create(b, loc, toHalf(x[i]), wsHalf, ValueRange{at});
        });
      }
    });
  }

  /// Channel gates, per element (r, c) of the chunk: the state pass's tiles to the workspace,
  /// Q1 = scale qf exp(G) q, K2 = kf exp(G_n - G) k, K1 = kf exp(G) k (delta), the decay
  /// exp(G_n) at the chunk's first token; and in shared memory the rows gated relative to the
  /// first row of their 8-row block (ka, qa: every factor <= 1, since G falls along rows).
  void channelTiles(Value t0, Value rows) {
    const int64_t C = s.C, K = s.K, ldK = K + kPad, groups = K / 8;
    // A thread per (row, 8 channels): 16-byte loads and stores. Gates are in log2 units.
    forStrided(C * groups, [&](Value e) {
      Value r = divu(e, groups), c = mul(remu(e, groups), idx(8));
      SmallVector<Value> G = gates8(r, c), Gn = gates8(idx(C - 1), c),
                         Gref = gates8(mul(divu(r, kDiag), idx(kDiag)), c);
      SmallVector<Value> k = loadElements(smemHalf, halfIndex(idx(L.ks), r, ldK, c), 8, 16);
      SmallVector<Value> q = loadElements(smemHalf, halfIndex(idx(L.qs), r, ldK, c), 8, 16);
      Value kf = f32At(L.kf, r), qf = f32At(L.qf, r);
      Value qScale = fmul(f32c(s.scale), qf);
      SmallVector<Value> ka, qa, q1, k1, k2, decay;
      for (int64_t u = 0; u < 8; ++u) {
        Value kh = fmul(kf, toF32(k[u])), qv = toF32(q[u]);
        Value rel = exp2Ftz(fsub(G[u], Gref[u]));
        Value eg = exp2Ftz(G[u]);
        ka.push_back(toHalf(fmul(kh, rel)));
        qa.push_back(toHalf(fmul(fmul(qf, qv), rel)));
        q1.push_back(toHalf(fmul(fmul(qScale, qv), eg)));
        k1.push_back(toHalf(fmul(kh, eg)));
        k2.push_back(toHalf(fmul(kh, exp2Ftz(fsub(Gn[u], G[u])))));
        decay.push_back(exp2Ftz(Gn[u]));
      }
      storeVector(smemHalf, halfIndex(idx(L.ka), r, ldK, c), ka, 16);
      storeVector(smemHalf, halfIndex(idx(L.qa), r, ldK, c), qa, 16);
      ifThen(lt(r, rows), [&] {
        Value row = add(mul(headRow(add(t0, r)), idx(K)), c);
        storeVector(wsHalf, add(wsQ1, row), q1, 16);
        storeVector(wsHalf, add(wsK2, row), k2, 16);
        if (s.delta())
          storeVector(wsHalf, add(wsK1, row), k1, 16);
        ifThen(cmp(arith::CmpIPredicate::eq, r, idx(0)), [&] {
          Value at = add(wsDecay, row);
          storeVector(wsF32, at, ArrayRef<Value>(decay).take_front(4), 16);
          storeVector(wsF32, add(at, idx(4)), ArrayRef<Value>(decay).drop_front(4), 16);
        });
      });
    });
  }

  /// Channel gates: A = strictly_lower(diag(beta) KKg) (delta) to shared memory and QKg to the
  /// workspace, with KKg[i, j] = sum_c k_i[c] k_j[c] exp(G_i[c] - G_j[c]) (kf folded in) and
  /// QKg likewise from q (scale qf folded in). The diagonal kDiag x kDiag blocks are summed
  /// per element in f32 (lower triangles only: G_i - G_j <= 0); the rows r .. r + 7 of an
  /// 8-row block left of it (columns j < r) are a tensor-core product of ka / qa (gated
  /// relative to row r) and kb (row j gated up to row r), whose factors are all <= 1, so no
  /// gate range overflows. Above the diagonal: QKg zeros, A zeros inside its 16-row block.
  void channelProducts(Value t0, Value rows) {
    const int64_t C = s.C, K = s.K, ldK = K + kPad;
    auto storeA = [&](Value i, Value j, Value x) { storeF32(L.a, add(mul(i, idx(L.ldA)), j), x); };
    auto storeQK = [&](Value i, Value j, Value x) {
      ifThen(lt(i, rows), [&] {
        Value at = add(add(wsQK, mul(headRow(add(t0, i)), idx(C))), j);
        memref::StoreOp::create(b, loc, toHalf(x), wsHalf, ValueRange{at});
      });
    };
    Value scale = f32c(s.scale);
    // Diagonal 8 x 8 blocks: the 36 elements on or below each block's diagonal, one per
    // thread, 8 channels per step. Item (a, t) of a block, a < 4, t < 9, is (a, t) for t <= a,
    // else (7 - a, t - a - 1): rows a and 7 - a together hold 9 of them.
    constexpr int64_t perBlock = kDiag * (kDiag + 1) / 2, perPair = kDiag + 1;
    forStrided((C / kDiag) * perBlock, [&](Value e) {
      Value block = mul(divu(e, perBlock), idx(kDiag)), w = remu(e, perBlock);
      Value a = divu(w, perPair), t = remu(w, perPair);
      Value first = cmp(arith::CmpIPredicate::ule, t, a);
      Value i = add(block, select(first, a, sub(idx(kDiag - 1), a)));
      Value j = add(block, select(first, t, sub(t, add(a, idx(1))))); // j <= i
      auto sums = scf::ForOp::create(
          b, loc, idx(0), idx(K), idx(8), ValueRange{f32c(0.0f), f32c(0.0f)},
          [&](OpBuilder &, Location, Value c, ValueRange acc) {
            SmallVector<Value> ki = loadElements(smemHalf, halfIndex(idx(L.ks), i, ldK, c), 8, 16);
            SmallVector<Value> kj = loadElements(smemHalf, halfIndex(idx(L.ks), j, ldK, c), 8, 16);
            SmallVector<Value> qi = loadElements(smemHalf, halfIndex(idx(L.qs), i, ldK, c), 8, 16);
            SmallVector<Value> gi = gates8(i, c), gj = gates8(j, c);
            Value kk = acc[0], qk = acc[1];
            for (int64_t u = 0; u < 8; ++u) {
              Value x = exp2Ftz(fsub(gi[u], gj[u])); // G_i <= G_j: x <= 1
              Value p = fmul(toF32(kj[u]), x);
              kk = fma(toF32(ki[u]), p, kk);
              qk = fma(toF32(qi[u]), p, qk);
            }
            scf::YieldOp::create(b, loc, ValueRange{kk, qk});
          });
      Value kfj = f32At(L.kf, j);
      if (s.delta()) {
        Value kk = fmul(fmul(fmul(betaAt(i), f32At(L.kf, i)), kfj), sums.getResult(0));
        storeA(i, j, select(cmp(arith::CmpIPredicate::ugt, i, j), kk, f32c(0.0f)));
      }
      Value qk = fmul(fmul(fmul(scale, f32At(L.qf, i)), kfj), sums.getResult(1));
      storeQK(i, j, qk);
    });
    // Above the diagonal: QKg is zero, and so is A inside the diagonal blocks (the
    // substitution reads A's rows 4 entries at a time, up to the block's end).
    forStrided(C * C, [&](Value e) {
      Value i = divu(e, C), j = remu(e, C);
      ifThen(cmp(arith::CmpIPredicate::ugt, j, i), [&] {
        storeQK(i, j, f32c(0.0f));
        if (s.delta())
          ifThen(lt(j, mul(add(divu(i, 16), idx(1)), idx(16))), [&] { storeA(i, j, f32c(0.0f)); });
      });
    });
    // Left of the diagonal blocks: rows r .. r + 7 against columns j < r, one 8-row block r at
    // a time (kb depends on it). The m16 tile at m0 = r rounded down to 16 holds them in its
    // upper (r % 16 = 0) or lower half; the other half is discarded.
    SmallVector<Value> zero(4, f32c(0.0f));
    for (int64_t r = kDiag; r < C; r += kDiag) {
      const int64_t m0 = r, tile0 = r / 16 * 16;
      SmallVector<int64_t> kept =
          r % 16 == 0 ? SmallVector<int64_t>{0, 1} : SmallVector<int64_t>{2, 3};
      // kb rows j < r, 8 channels per thread.
      const int64_t groups = K / 8;
      forStrided(m0 * groups, [&](Value e) {
        Value j = divu(e, groups), c = mul(remu(e, groups), idx(8));
        SmallVector<Value> ref = gates8(idx(m0), c), g = gates8(j, c);
        SmallVector<Value> k = loadElements(smemHalf, halfIndex(idx(L.ks), j, ldK, c), 8, 16);
        Value kf = f32At(L.kf, j);
        SmallVector<Value> out;
        for (int64_t u = 0; u < 8; ++u)
          out.push_back(toHalf(fmul(fmul(kf, toF32(k[u])), exp2Ftz(fsub(ref[u], g[u])))));
        storeVector(smemHalf, halfIndex(idx(L.kb), j, ldK, c), out, 16);
      });
      barrier();
      scf::ForOp::create(b, loc, warp, idx(m0 / 8), idx(kWarps), ValueRange{},
                         [&](OpBuilder &, Location, Value t, ValueRange) {
                           Value n0 = mul(t, idx(8));
                           Tile kbTile{idx(L.kb), ldK};
                           if (s.delta()) {
                             SmallVector<Value> acc = tileProduct(zero, K, idx(tile0), n0,
                                                                  {idx(L.ka), ldK}, false, kbTile);
                             for (int64_t e : kept) {
                               auto [i, j] = accPosition(idx(tile0), n0, e);
                               storeA(i, j, fmul(betaAt(i), acc[e]));
                             }
                           }
                           SmallVector<Value> acc = tileProduct(zero, K, idx(tile0), n0,
                                                                {idx(L.qa), ldK}, false, kbTile);
                           for (int64_t e : kept) {
                             auto [i, j] = accPosition(idx(tile0), n0, e);
                             storeQK(i, j, fmul(scale, acc[e]));
                           }
                           scf::YieldOp::create(b, loc);
                         });
      if (r + kDiag < C)
        barrier(); // kb is rewritten for the next row block
    }
  }

  /// The lane's elements of the 16 x 8 tile at (m0, n0) of a chunk's C x C product, decayed
  /// and scaled: acc[i, j] exp(G_i - G_j) rowFactor[i] kf[j] where i > j (strict) or i >= j,
  /// else 0 (the difference masked before the exp). Calls store(i, j, x[i, j], x[i, j + 1])
  /// for the lane's two rows. Row values load once per row, column values as pairs.
  void decayedTile(ArrayRef<Value> acc, Value m0, Value n0, function_ref<Value(Value)> rowFactor,
                   bool strict, function_ref<void(Value, Value, Value, Value)> store) {
    bool gated = s.gate != GateKind::None;
    Value c0 = add(n0, mul(quad, idx(2)));
    auto pairAtCol = [&](int64_t base) {
      return loadElements(smemF32, add(idx(base / 4), c0), 2, 8);
    };
    SmallVector<Value> colKf = pairAtCol(L.kf), colG;
    if (gated)
      colG = pairAtCol(L.gates);
    for (int64_t h = 0; h < 2; ++h) {
      Value r = add(m0, add(group, idx(8 * h)));
      Value rowG = gated ? gateAt(r) : Value();
      Value rowF = rowFactor(r);
      Value x[2];
      for (int64_t e = 0; e < 2; ++e) {
        Value c = e == 0 ? c0 : add(c0, idx(1));
        Value mask = cmp(strict ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::uge, r, c);
        Value v = fmul(acc[2 * h + e], fmul(rowF, colKf[e]));
        if (gated)
          v = fmul(v, exp(select(mask, fsub(rowG, colG[e]), f32c(0.0f))));
        x[e] = select(mask, v, f32c(0.0f));
      }
      store(r, c0, x[0], x[1]);
    }
  }

  /// Forward substitution in registers: x_i -= sum_{j<i} A[i, j] x_j. A rows are broadcast
  /// loads, 4 at a time (entries at or right of the diagonal are zero); one partial sum per
  /// vector lane keeps the dependent FMA chain of row i at i / 4.
  void substitute(SmallVectorImpl<Value> &x) {
    const int64_t C = s.C;
    for (int64_t i = 1; i < C; ++i) {
      SmallVector<Value> part(4, f32c(0.0f));
      for (int64_t j = 0; j < i; j += 4) {
        SmallVector<Value> row = loadElements(smemF32, idx(L.a / 4 + i * L.ldA + j), 4, 16);
        for (int64_t u = 0; u < 4 && j + u < C; ++u)
          part[u] = fma(row[u], x[j + u], part[u]);
      }
      x[i] = fsub(x[i], fadd(fadd(part[0], part[1]), fadd(part[2], part[3])));
    }
  }

  /// Column j of Tm = (I + A)^-1, in registers: the substitution of unit column j.
  SmallVector<Value> inverseColumn(Value j) {
    SmallVector<Value> x;
    for (int64_t i = 0; i < s.C; ++i)
      x.push_back(select(cmp(arith::CmpIPredicate::eq, idx(i), j), f32c(1.0f), f32c(0.0f)));
    substitute(x);
    return x;
  }

  /// 5''. state-wy: Tm = (I + A)^-1 by substitution of the C unit columns (threads 0..C-1,
  /// column j in thread j's registers), stored as Tm diag(beta) straight to the workspace
  /// (a row's C columns are C consecutive threads: coalesced).
  void inverseToWorkspace(Value t0, Value rows) {
    const int64_t C = s.C;
    ifThen(lt(tid, idx(C)), [&] {
      Value j = tid;
      SmallVector<Value> x = inverseColumn(j);
      Value beta = betaAt(j);
      for (int64_t i = 0; i < C; ++i) {
        Value r = idx(i);
        ifThen(lt(r, rows), [&] {
          Value at = add(add(wsTM, mul(headRow(add(t0, r)), idx(C))), j);
          memref::StoreOp::create(b, loc, toHalf(fmul(x[i], beta)), wsHalf, ValueRange{at});
        });
      }
    });
  }

  /// 5'. Tm = (I + A)^-1 by substitution of the C unit columns (threads 0..C-1), kept as two
  /// column-scaled 16-bit tiles, Tm diag(beta exp(G) kf) and Tm diag(beta); then
  /// W = (Tm diag(beta exp(G) kf)) K and U = (Tm diag(beta)) V on tensor cores.
  void inverseAndProducts(Value t0, Value rows) {
    const int64_t C = s.C, K = s.K, V = s.V, ldC = C + kPad;
    ifThen(lt(tid, idx(C)), [&] {
      Value j = tid;
      SmallVector<Value> x = inverseColumn(j);
      Value wScale = fmul(fmul(betaAt(j), f32At(L.expG, j)), f32At(L.kf, j));
      Value uScale = betaAt(j);
      for (int64_t i = 0; i < C; ++i) {
        storeHalf(idx(L.tmW), idx(i), ldC, j, fmul(x[i], wScale));
        storeHalf(idx(L.tmU), idx(i), ldC, j, fmul(x[i], uScale));
      }
    });
    barrier();
    SmallVector<Value> zero(4, f32c(0.0f));
    auto product = [&](int64_t tmTile, int64_t rhs, int64_t width, Value region) {
      forTiles(C, width, [&](Value m0, Value n0) {
        SmallVector<Value> acc = tileProduct(zero, C, m0, n0, {idx(tmTile), ldC}, false,
                                             {idx(rhs), width + kPad}, /*negateA=*/false,
                                             /*bByRows=*/true);
        for (int64_t e = 0; e < 4; ++e) {
          auto pos = accPosition(m0, n0, e);
          Value r = pos.first, c = pos.second;
          ifThen(lt(r, rows), [&] {
            Value at = add(add(region, mul(headRow(add(t0, r)), idx(width))), c);
            memref::StoreOp::create(b, loc, toHalf(acc[e]), wsHalf, ValueRange{at});
          });
        }
      });
    };
    product(L.tmW, L.ks, K, wsW);
    product(L.tmU, L.vs, V, wsU);
  }

  PrepLayout L;
};

//===----------------------------------------------------------------------===//
// State pass: sequential over chunks, state in mma accumulators
//===----------------------------------------------------------------------===//

class StateKernelBuilder : ChunkedBuilderBase {
public:
  /// `segmentStates`: the segmented pass's first kernel (described above ChunkedBuilderBase):
  /// segment end states and transitions, no outputs.
  StateKernelBuilder(OpBuilder &b, Location loc, const ChunkedSpec &s, bool segmentStates = false)
      : ChunkedBuilderBase(b, loc, s, 32 * s.stateWarps()), L(s), segmentStates(segmentStates) {}

  int64_t sharedBytes() const { return L.total; }

  /// Blocks per (sequence, value head) for P segments (the launch's `segments` argument): V
  /// tiles, times P when segmented; the segment-state kernel has V tiles for segments
  /// 0 .. P-2 and K tiles (transitions) for segments 1 .. P-2. The runtime launches as many
  /// (gdn::KernelMetadata::segmentStateBlocks).
  Value blocksPerHead(Value P) {
    int64_t tilesV = s.V / s.vTile;
    if (!s.segmented())
      return idx(tilesV);
    if (!segmentStates)
      return mul(idx(tilesV), P);
    return add(mul(idx(tilesV), sub(P, idx(1))), mul(idx(s.K / s.vTile), sub(P, idx(2))));
  }
  /// The same as the grid's description in gdn.grid.
  static std::string gridText(const ChunkedSpec &s, bool segmentStates) {
    std::string tilesV = std::to_string(s.V / s.vTile);
    if (!s.segmented())
      return "N,HV," + tilesV;
    if (!segmentStates)
      return "N,HV," + tilesV + "*segments";
    return "N,HV," + tilesV + "*(segments-1)+" + std::to_string(s.K / s.vTile) + "*(segments-2)";
  }

  gpu::GPUFuncOp build(const std::string &name) {
    OpBuilder::InsertionGuard guard(b);
    const int64_t C = s.C, K = s.K, Vt = s.vTile;
    auto fn = begin(name, L.total);
    swizzleAlign = s.useWgmma() ? remu(sub(idx(1024), remu(sharedAddress, 1024)), 1024) : Value();
    setLaunchAttributes(b, fn, argNames, kThreads, Vt, s.V);
    setCommonAttributes(fn, L.total);
    const bool segmented = s.segmented();
    Value P = segmented ? args.segments : idx(1); // this launch's segments
    if (segmented)
      fn->setAttr("gdn.grid", b.getStringAttr(gridText(s, segmentStates)));
    if (segmentStates)
      fn->setAttr("gdn.auxiliary", b.getUnitAttr());

    // The grid is N x HV x (blocks per head), but blocks are renumbered so that the V tiles
    // of one (sequence, head, segment) are consecutive: they start together and walk the
    // chunks at the same pace, so each chunk's q, k, QKg and Tm rows come from DRAM once and
    // from L2 for the other tiles (in grid order they would start a wave apart and each
    // read DRAM).
    Value tiles = blocksPerHead(P);
    int64_t tilesV = s.V / Vt;
    auto blockId = [&](gpu::Dimension d) { return gpu::BlockIdOp::create(b, loc, d); };
    Value linear =
        add(blockId(gpu::Dimension::x),
            mul(gpu::GridDimOp::create(b, loc, gpu::Dimension::x),
                add(blockId(gpu::Dimension::y), mul(idx(s.HV), blockId(gpu::Dimension::z)))));
    Value tile = arith::RemUIOp::create(b, loc, linear, tiles);
    Value head = arith::DivUIOp::create(b, loc, linear, tiles);
    Value segment = idx(0);
    transition = Value();
    if (segmentStates) {
      // Segment 0: V tiles; segments 1 .. P-2: V tiles, then K tiles (transitions).
      Value first = lt(tile, idx(tilesV));
      Value rest = select(first, idx(0), sub(tile, idx(tilesV)));
      segment = select(first, idx(0), add(idx(1), divu(rest, tilesV + K / Vt)));
      tile = select(first, tile, remu(rest, tilesV + K / Vt));
      transition = cmp(arith::CmpIPredicate::uge, tile, idx(tilesV));
    } else if (segmented) {
      segment = divu(tile, tilesV);
      tile = remu(tile, tilesV);
    }
    hv = remu(head, s.HV);
    h = divu(hv, s.HV / s.H);
    Value n = divu(head, s.HV);
    // A transition block owns columns kCol0 .. kCol0 + Vt - 1 of M (its V copies are zeros).
    Value kCol0 = transition ? mul(sub(tile, idx(tilesV)), idx(Vt)) : Value();
    col0 = mul(transition ? select(transition, idx(0), tile) : tile, idx(Vt));
    Value bos, eos;
    if (s.varlen) {
      bos = toIndex(memref::LoadOp::create(b, loc, args.cuSeqlens, ValueRange{n}));
      eos = toIndex(memref::LoadOp::create(b, loc, args.cuSeqlens, ValueRange{add(n, idx(1))}));
    } else {
      bos = mul(n, args.T);
      eos = add(bos, args.T);
    }
    if (segmented) {
      // This segment's whole chunks (possibly none).
      Value perSegment = arith::CeilDivUIOp::create(
          b, loc, arith::CeilDivUIOp::create(b, loc, sub(eos, bos), idx(C)), P);
      Value span = mul(perSegment, idx(C));
      Value from = minu(add(bos, mul(segment, span)), eos);
      eos = minu(add(from, span), eos);
      bos = from;
    }
    Value numChunks = arith::CeilDivUIOp::create(b, loc, sub(eos, bos), idx(C));
    Value stateBase = mul(add(mul(n, idx(s.HV)), hv), idx(K)); // (n*HV + hv)*K
    auto stateIndex = [&](Value r, Value c) {
      return add(mul(add(stateBase, r), idx(s.V)), add(col0, c));
    };

    // The state: this warp's 16 x 8 tiles of the K x Vt block, as mma accumulators; sliced,
    // the K / 8 tiles of S^T's rows 16 warp .. 16 warp + 15 (this warp's value columns).
    const bool sliced = s.sliced();
    SmallVector<std::pair<Value, Value>> stateTiles;
    if (sliced) {
      // With k-split, warp w holds rows K / kSplit (w % kSplit) .. of the value columns of
      // warp group w / kSplit.
      const int64_t parts = s.kParts();
      columnGroup = parts > 1 ? divu(warp, parts) : warp;
      kPart = parts > 1 ? remu(warp, parts) : Value();
      kOffset = parts > 1 ? mul(kPart, idx(K / parts)) : Value();
      for (int64_t j = 0; j < K / 8 / parts; ++j)
        stateTiles.push_back({mul(columnGroup, idx(16)), kAt(8 * j)});
    } else {
      int64_t tilesN = Vt / 8, perWarp = (K / 16) * tilesN / kWarps;
      for (int64_t i = 0; i < perWarp; ++i) {
        Value t = add(warp, idx(i * kWarps));
        stateTiles.push_back({mul(divu(t, tilesN), idx(16)), mul(remu(t, tilesN), idx(8))});
      }
    }
    // (row of S, column of the V tile) of accumulator element e of a state tile.
    auto statePosition = [&](std::pair<Value, Value> tileAt, int64_t e) {
      auto [r, c] = accPosition(tileAt.first, tileAt.second, e);
      return sliced ? std::make_pair(c, r) : std::make_pair(r, c);
    };
    // Where a segment starts: segment 0 from the initial state; with segmentStates, later
    // segments from 0 and transition blocks from the identity's columns; the state pass's
    // later segments from their chained state (E slot p - 1, after the combine).
    Value laterSegment = segmented ? cmp(arith::CmpIPredicate::ugt, segment, idx(0)) : Value();
    // This thread's elements of the initial state (zeros without one).
    auto initialState = [&] {
      SmallVector<Value> x;
      for (auto tileAt : stateTiles)
        for (int64_t e = 0; e < 4; ++e) {
          auto [r, c] = statePosition(tileAt, e);
          x.push_back(args.initialState
                          ? Value(memref::LoadOp::create(b, loc, args.initialState,
                                                         ValueRange{stateIndex(r, c)}))
                          : f32c(0.0f));
        }
      return x;
    };
    SmallVector<Value> state;
    if (segmentStates) {
      state = initialState();
      for (auto [ti, tileAt] : llvm::enumerate(stateTiles))
        for (int64_t e = 0; e < 4; ++e) {
          auto [r, c] = statePosition(tileAt, e);
          Value diagonal = cmp(arith::CmpIPredicate::eq, r, add(kCol0, c));
          Value &x = state[ti * 4 + e];
          x = select(transition, select(diagonal, f32c(1.0f), f32c(0.0f)),
                     select(laterSegment, f32c(0.0f), x));
        }
    } else if (segmented) {
      // Later segments read their chained state (E slot segment - 1) only under the branch:
      // with one segment the launch's workspace has no E slots at all.
      auto start = scf::IfOp::create(b, loc, SmallVector<Type>(4 * stateTiles.size(), f32),
                                     laterSegment, /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(start.thenBlock());
        SmallVector<Value> chained;
        Value slot = eSlot(n, hv, sub(segment, idx(1)));
        for (auto tileAt : stateTiles)
          for (int64_t e = 0; e < 4; ++e) {
            auto [r, c] = statePosition(tileAt, e);
            Value at = add(slot, add(mul(r, idx(s.V)), add(col0, c)));
            chained.push_back(memref::LoadOp::create(b, loc, wsSeq, ValueRange{at}));
          }
        scf::YieldOp::create(b, loc, chained);
        b.setInsertionPointToStart(start.elseBlock());
        scf::YieldOp::create(b, loc, initialState());
      }
      state.assign(start.getResults().begin(), start.getResults().end());
    } else {
      state = initialState();
    }

    // Copies run `stages` - 1 chunks ahead, one commit group per chunk (empty past the last
    // chunk, so waiting for all but the newest `stages` - 2 groups always means this chunk's).
    const int64_t stages = L.stageCount;
    issue(bos, eos, idx(0), idx(0));
    commitAsync();
    for (int64_t j = 1; j + 1 < stages; ++j) {
      ifThen(lt(idx(j), numChunks), [&] { issue(bos, eos, idx(j), idx(j)); });
      commitAsync();
    }
    auto loop = scf::ForOp::create(
        b, loc, idx(0), numChunks, idx(1), state,
        [&](OpBuilder &, Location, Value chunk, ValueRange carried) {
          // Each chunk waits for its own copies (all but the newest stages - 2 groups), then
          // one barrier: the copies are visible to every warp, and every warp is done with the
          // stage (the previous chunk's) that chunk + stages - 1 overwrites. The tiled pass
          // (2 stages) first stores S^T, which alternates between two buffers because nothing
          // separates its reads in the previous chunk from its writes here, and has one or two
          // more barriers inside its step.
          SmallVector<Value> S(carried.begin(), carried.end());
          Value t0 = add(bos, mul(chunk, idx(C)));
          Value rows = minu(sub(eos, t0), idx(C));
          Value ahead = add(chunk, idx(stages - 1));
          Value stage = remu(chunk, stages);
          waitAsync(stages - 2);
          if (s.useWgmma()) {
            // wgmma reads the tiles through the async proxy; cp.async wrote them through the
            // generic one.
            ptxStatement("fence.proxy.async.shared::cta;");
            // The previous chunk's state update (left in flight) reads its k tile by
            // descriptor; the copies issued after the barrier overwrite that stage, so every
            // warpgroup's update must be complete before the barrier.
            wgmmaWait(0, {&S});
          }
          Value st;
          if (!sliced) {
            st = select(cmp(arith::CmpIPredicate::eq, stage, idx(0)), idx(L.st[0]), idx(L.st[1]));
            for (auto [ti, tileAt] : llvm::enumerate(stateTiles))
              for (int64_t e = 0; e < 4; ++e) {
                auto [r, c] = accPosition(tileAt.first, tileAt.second, e);
                storeHalf(st, c, K + kPad, r, S[ti * 4 + e]);
              }
          }
          barrier();
          ifThen(lt(ahead, numChunks), [&] { issue(bos, eos, ahead, remu(ahead, stages)); });
          commitAsync();
          scf::YieldOp::create(b, loc,
                               sliced ? slicedStep(stage, t0, rows, S)
                                      : step(stage, st, t0, rows, stateTiles, S));
        });

    waitAsync(0); // nothing in flight at exit (an empty sequence still issued chunk 0)
    SmallVector<Value> finalS(loop.getResults().begin(), loop.getResults().end());
    if (s.useWgmma())
      wgmmaWait(0, {&finalS});
    auto storeState = [&](Value buffer, function_ref<Value(Value, Value)> at) {
      for (auto [ti, tileAt] : llvm::enumerate(stateTiles))
        for (int64_t e = 0; e < 4; ++e) {
          auto [r, c] = statePosition(tileAt, e);
          memref::StoreOp::create(b, loc, finalS[ti * 4 + e], buffer, ValueRange{at(r, c)});
        }
    };
    if (segmentStates) {
      // E_p to slot p, M_p to M slot p - 1 (transposed).
      Value mAt = mSlot(n, hv, sub(segment, idx(1))), eAt = eSlot(n, hv, segment);
      storeState(wsSeq, [&](Value r, Value c) {
        return select(transition, add(mAt, add(mul(add(kCol0, c), idx(K)), r)),
                      add(eAt, add(mul(r, idx(s.V)), add(col0, c))));
      });
    } else if (args.finalState) {
      if (segmented)
        ifThen(cmp(arith::CmpIPredicate::eq, segment, sub(P, idx(1))),
               [&] { storeState(args.finalState, stateIndex); });
      else
        storeState(args.finalState, stateIndex);
    }
    gpu::ReturnOp::create(b, loc);
    return fn;
  }

private:
  /// Byte offset of stage `which` (0 .. stages - 1) of buffer `field` (after swizzleAlign).
  Value stageOffset(Value which, int64_t StateLayout::Stage::*field) {
    Value at = add(idx(L.stage[0].*field), mul(which, idx(L.stageBytes)));
    return swizzleAlign ? add(at, swizzleAlign) : at;
  }

  /// Starts the copies of chunk `chunk`'s tiles into stage `which`.
  void issue(Value bos, Value eos, Value chunk, Value which) {
    const int64_t C = s.C;
    Value t0 = add(bos, mul(chunk, idx(C)));
    Value rows = minu(sub(eos, t0), idx(C));
    // whole-chunk-copies: whole chunks (all but a sequence's or segment's last) copy every row
    // unpredicated, so each thread's sources are one base plus constants. The branch sits
    // where the copies were already conditional, outside the step.
    if (!s.wholeChunkCopies) {
      issueRows(t0, rows, which);
      return;
    }
    auto whole = scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::eq, rows, idx(C)),
                                   /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(whole.thenBlock());
      issueRows(t0, Value(), which);
      b.setInsertionPointToStart(whole.elseBlock());
      issueRows(t0, rows, which);
    }
  }

  /// The copies of issue() for the chunk at `t0` with `rows` rows (null: all C).
  void issueRows(Value t0, Value rows, Value which) {
    const int64_t C = s.C, K = s.K, Vt = s.vTile;
    auto tokenRow = [&](Value r) { return add(t0, r); };
    // Segment states need no q or QKg (no outputs); transition blocks take V = 0.
    Value vRows = transition ? select(transition, idx(0), rows ? rows : idx(C)) : rows;
    // wgmma reads q, k (or the gated tiles) swizzled, Tm and QKg as core matrices.
    const TileOrder cm = s.useWgmma() ? TileOrder::Swizzled128 : TileOrder::RowMajor,
                    cmc = s.useWgmma() ? TileOrder::CoreMatrices : TileOrder::RowMajor;
    if (s.channel()) {
      // The gated tiles from the prep kernel: Q1, K1 (for K S), K2 (for the update), and the
      // chunk's decay vector.
      auto gatedRows = [&](Value region, int64_t StateLayout::Stage::*field) {
        asyncRows(
            wsHalf, [&](Value r) { return add(region, mul(headRow(tokenRow(r)), idx(K))); }, C, K,
            stageOffset(which, field), K + kPad, rows, false, cm);
      };
      if (!segmentStates)
        gatedRows(wsQ1, &StateLayout::Stage::qs);
      if (s.delta())
        gatedRows(wsK1, &StateLayout::Stage::ks);
      gatedRows(wsK2, &StateLayout::Stage::ku);
      asyncRows(
          wsF32, [&](Value) { return add(wsDecay, mul(headRow(t0), idx(K))); }, 1, K,
          stageOffset(which, &StateLayout::Stage::dk), K, idx(1), true);
    } else {
      if (!segmentStates)
        asyncRows(
            args.q, [&](Value r) { return qkRow(tokenRow(r)); }, C, K,
            stageOffset(which, &StateLayout::Stage::qs), K + kPad, rows, false, cm);
      asyncRows(
          args.k, [&](Value r) { return qkRow(tokenRow(r)); }, C, K,
          stageOffset(which, &StateLayout::Stage::ks), K + kPad, rows, false, cm);
    }
    if (s.wyInState()) {
      asyncRows(
          args.v, [&](Value r) { return add(mul(headRow(tokenRow(r)), idx(s.V)), col0); }, C, Vt,
          stageOffset(which, &StateLayout::Stage::us), Vt + kPad, vRows, false);
      asyncRows(
          wsHalf, [&](Value r) { return add(wsTM, mul(headRow(tokenRow(r)), idx(C))); }, C, C,
          stageOffset(which, &StateLayout::Stage::tm), C + kPad, rows, false, cmc);
    } else {
      if (s.delta())
        asyncRows(
            wsHalf, [&](Value r) { return add(wsW, mul(headRow(tokenRow(r)), idx(K))); }, C, K,
            stageOffset(which, &StateLayout::Stage::ws), K + kPad, rows, false);
      asyncRows(
          wsHalf, [&](Value r) { return add(add(wsU, mul(headRow(tokenRow(r)), idx(s.V))), col0); },
          C, Vt, stageOffset(which, &StateLayout::Stage::us), Vt + kPad, vRows, false);
    }
    if (!segmentStates)
      asyncRows(
          wsHalf, [&](Value r) { return add(wsQK, mul(headRow(tokenRow(r)), idx(C))); }, C, C,
          stageOffset(which, &StateLayout::Stage::qk), C + kPad, rows, false, cmc);
    asyncRows(
        wsF32, [&](Value r) { return mul(headRow(tokenRow(r)), idx(kRowFactors)); }, C, kRowFactors,
        stageOffset(which, &StateLayout::Stage::rf), kRowFactors, rows, true);
  }

  SmallVector<Value> step(Value which, Value st, Value t0, Value rows,
                          ArrayRef<std::pair<Value, Value>> stateTiles, ArrayRef<Value> S) {
    const int64_t C = s.C, K = s.K, Vt = s.vTile, ldK = K + kPad, ldC = C + kPad;
    Value qs = stageOffset(which, &StateLayout::Stage::qs);
    Value ks = stageOffset(which, &StateLayout::Stage::ks);
    Value ws = s.delta() && !s.wyInState() ? stageOffset(which, &StateLayout::Stage::ws) : Value();
    Value us = stageOffset(which, &StateLayout::Stage::us);
    Value qk = stageOffset(which, &StateLayout::Stage::qk);
    Value rf = divu(stageOffset(which, &StateLayout::Stage::rf), 4); // f32 index
    auto rowFactor = [&](Value r, int64_t i) {
      return memref::LoadOp::create(b, loc, smemF32,
                                    ValueRange{add(rf, add(mul(r, idx(kRowFactors)), idx(i)))});
    };
    Value vn = idx(L.vn), vs = idx(L.vs);
    Tile sTile{st, ldK}; // B = S, stored as S^T
    SmallVector<Value> zero(4, f32c(0.0f));

    Value rs = s.wyInState() ? idx(L.rs) : Value();
    Value tm = s.wyInState() ? stageOffset(which, &StateLayout::Stage::tm) : Value();
    // R^T = (V - diag(exp(G) kf) K S)^T as a 16-bit operand, from the K S accumulators.
    auto storeR = [&](Value m0, Value n0, ArrayRef<Value> ksProduct) {
      for (int64_t e = 0; e < 4; ++e) {
        auto [r, c] = accPosition(m0, n0, e);
        Value v = toF32(halfAt(us, r, Vt + kPad, c));
        storeHalf(rs, c, ldC, r, fsub(v, fmul(rowFactor(r, 3), ksProduct[e])));
      }
    };
    // Vnew^T and (krow Vnew)^T are kept as 16-bit operands.
    auto storeVnew = [&](Value m0, Value n0, ArrayRef<Value> acc) {
      for (int64_t e = 0; e < 4; ++e) {
        auto [r, c] = accPosition(m0, n0, e);
        storeHalf(vn, c, ldC, r, acc[e]);
        storeHalf(vs, c, ldC, r, fmul(acc[e], rowFactor(r, 1)));
      }
    };
    if (s.earlyQs()) {
      // Both products with the state at once, K S and Q S (2 (C/16)(Vt/8) tiles, so every
      // warp has work even at small V tiles and the output phase keeps only QKg Vnew):
      // R = V - diag(exp(G) kf) K S (R^T to shared memory), diag(qrow) Q S (f32, shared);
      // then Vnew = Tm diag(beta) R.
      forTiles(2 * C, Vt, [&](Value m0, Value n0) {
        Value isK = lt(m0, idx(C));
        Value row0 = select(isK, m0, sub(m0, idx(C)));
        SmallVector<Value> product =
            tileProduct(zero, K, row0, n0, {select(isK, ks, qs), ldK}, false, sTile);
        auto branch = scf::IfOp::create(b, loc, isK, /*withElseRegion=*/true);
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(branch.thenBlock());
        storeR(row0, n0, product);
        b.setInsertionPointToStart(branch.elseBlock());
        for (int64_t e = 0; e < 4; ++e) {
          auto [r, c] = accPosition(row0, n0, e);
          storeF32(L.qsAcc, add(mul(r, idx(Vt)), c), fmul(product[e], rowFactor(r, 0)));
        }
      });
    } else if (s.wyInState()) {
      // R = V - diag(exp(G) kf) K S (R^T to shared memory), then Vnew = Tm diag(beta) R.
      forTiles(C, Vt, [&](Value m0, Value n0) {
        storeR(m0, n0, tileProduct(zero, K, m0, n0, {ks, ldK}, false, sTile));
      });
    }
    if (s.wyInState()) {
      barrier();
      forTiles(C, Vt, [&](Value m0, Value n0) {
        storeVnew(m0, n0, tileProduct(zero, C, m0, n0, {tm, ldC}, false, {rs, ldC}));
      });
    } else {
      // Vnew = U - W S.
      forTiles(C, Vt, [&](Value m0, Value n0) {
        SmallVector<Value> acc;
        for (int64_t e = 0; e < 4; ++e) {
          auto [r, c] = accPosition(m0, n0, e);
          acc.push_back(toF32(halfAt(us, r, Vt + kPad, c)));
        }
        if (s.delta())
          acc = tileProduct(acc, K, m0, n0, {ws, ldK}, false, sTile, /*negateA=*/true);
        storeVnew(m0, n0, acc);
      });
    }
    barrier();

    // o = diag(qrow) Q S + QKg Vnew, from the accumulators to global memory.
    forTiles(C, Vt, [&](Value m0, Value n0) {
      SmallVector<Value> acc;
      if (s.earlyQs()) {
        for (int64_t e = 0; e < 4; ++e) {
          auto [r, c] = accPosition(m0, n0, e);
          acc.push_back(f32At(L.qsAcc, add(mul(r, idx(Vt)), c)));
        }
      } else {
        acc = tileProduct(zero, K, m0, n0, {qs, ldK}, false, sTile);
        for (int64_t e = 0; e < 4; ++e)
          acc[e] = fmul(acc[e], rowFactor(accPosition(m0, n0, e).first, 0));
      }
      acc = tileProduct(acc, C, m0, n0, {qk, ldC}, false, {vn, ldC});
      for (int64_t e = 0; e < 4; ++e) {
        auto pos = accPosition(m0, n0, e);
        Value r = pos.first, c = pos.second;
        ifThen(lt(r, rows), [&] {
          Value at = add(mul(headRow(add(t0, r)), idx(s.V)), add(col0, c));
          memref::StoreOp::create(b, loc, toHalf(acc[e]), args.o, ValueRange{at});
        });
      }
    });

    // S = exp(G_n) S + K^T (krow Vnew), in registers (channel gates: diag(exp(G_n)) S + K2^T
    // Vnew).
    Value decay = s.channel() ? Value() : rowFactor(idx(0), 2);
    Value dk = s.channel() ? divu(stageOffset(which, &StateLayout::Stage::dk), 4) : Value();
    Value kUpdate = s.channel() ? stageOffset(which, &StateLayout::Stage::ku) : ks;
    SmallVector<Value> out;
    for (auto [ti, tileAt] : llvm::enumerate(stateTiles)) {
      SmallVector<Value> acc;
      for (int64_t e = 0; e < 4; ++e) {
        Value d = decay;
        if (s.channel())
          d = memref::LoadOp::create(
              b, loc, smemF32,
              ValueRange{add(dk, accPosition(tileAt.first, tileAt.second, e).first)});
        acc.push_back(fmul(S[ti * 4 + e], d));
      }
      acc = tileProduct(acc, C, tileAt.first, tileAt.second, {kUpdate, ldK}, /*aTransposed=*/true,
                        {vs, ldC});
      out.append(acc);
    }
    return out;
  }

  /// One chunk with the state sliced by value columns (`sliced-state`). This warp holds
  /// S^T (16 value columns x K, f32) as K / 8 accumulator tiles; with V^T, R^T, Vnew^T and O^T
  /// likewise 16 x C per warp, every product has its left operand in registers (an m16n8
  /// accumulator pair is an m16k16 A fragment) and its right operand is a chunk tile read
  /// by ldmatrix, two n-blocks per instruction:
  ///   (K S)^T = S^T K^T,  (Q S)^T = S^T Q^T                      (B: k, q rows)
  ///   R^T    = V^T - (K S)^T diag(kf exp(G))                      (V^T by ldmatrix.trans)
  ///   Vnew^T = R^T (Tm diag(beta))^T                              (B: Tm rows)
  ///   O^T    = (Q S)^T diag(scale qf exp(G)) + Vnew^T QKg^T       (B: QKg rows)
  ///   S^T    = exp(G_n) S^T + Vnew^T diag(kf exp(G_n - G)) K     (B: k rows, .trans)
  /// Additive rule: Vnew^T = U^T (beta V, from the workspace). No shared-memory writes and
  /// no barriers: the warps share only the chunk's input tiles.
  /// With `wgmma` (sm_90a, V tile 64 or 128) each warpgroup issues the products with the
  /// chunk tiles as wgmma.mma_async m64nNk16 (A: the same register fragments; B: descriptors
  /// over the tiles, which issueRows then stores 128-byte swizzled (q, k) or as core matrices
  /// (Tm, QKg)): four waits per chunk (K S and Q S; Vnew; O; the state update, which is left
  /// in flight until the next chunk's copies have landed, before its barrier).
  SmallVector<Value> slicedStep(Value which, Value t0, Value rows, ArrayRef<Value> S) {
    const int64_t C = s.C, K = s.K, Vt = s.vTile;
    const int64_t ldK = K + kPad, ldC = C + kPad, ldV = Vt + kPad;
    const int64_t tokenTiles = C / 8, tokenSteps = C / 16, kSteps = K / 16;
    Value qs = stageOffset(which, &StateLayout::Stage::qs);
    Value ks = stageOffset(which, &StateLayout::Stage::ks);
    Value us = stageOffset(which, &StateLayout::Stage::us);
    Value qk = stageOffset(which, &StateLayout::Stage::qk);
    Value tm = s.wyInState() ? stageOffset(which, &StateLayout::Stage::tm) : Value();
    Value rf = divu(stageOffset(which, &StateLayout::Stage::rf), 4); // f32 index
    Value v0 = mul(columnGroup, idx(16)); // this warp's first column of the V tile
    const int64_t parts = s.kParts();
    const bool wg = s.useWgmma();

    // Accumulator element e of token tile j covers token 8 j + 2 quad + e % 2; its row
    // factors are loaded once per chunk.
    std::map<std::tuple<int64_t, int64_t, int64_t>, Value> factors;
    auto factor = [&](int64_t j, int64_t e, int64_t field) {
      Value &f = factors[{j, e % 2, field}];
      if (!f) {
        Value token = add(idx(8 * j + e % 2), mul(quad, idx(2)));
        f = memref::LoadOp::create(
            b, loc, smemF32, ValueRange{add(rf, add(mul(token, idx(kRowFactors)), idx(field)))});
      }
      return f;
    };
    // B fragments of token tiles n0/8 and n0/8 + 1 at depth k0 .. k0 + 15, from a tile stored
    // by columns (B[k, n] at row n, column k): {b0, b1} of the first, {b0, b1} of the second.
    auto bByColumns = [&](Value base, int64_t ld, int64_t n0, Value k0) {
      return ldmatrix(tileAddress({base, ld}, add(idx(n0), laneColAT), add(k0, laneRowAT)), 4,
                      false);
    };
    // The same from a tile stored by rows (B[k, n] at row k, column n).
    auto bByRows = [&](Value base, int64_t ld, int64_t k0, Value n0) {
      return ldmatrix(tileAddress({base, ld}, add(idx(k0), laneRowA), add(n0, laneColA)), 4, true);
    };
    // acc tiles j and j + 1 += a b (b from bByColumns / bByRows).
    auto mmaPair = [&](SmallVector<Value> &acc, int64_t j, ArrayRef<Value> a,
                       ArrayRef<Value> bRegs) {
      for (int64_t h = 0; h < 2; ++h) {
        SmallVector<Value> out =
            mma(ValueRange(acc).slice(4 * (j + h), 4), a, {bRegs[2 * h], bRegs[2 * h + 1]});
        std::copy(out.begin(), out.end(), acc.begin() + 4 * (j + h));
      }
    };
    // The A fragment of k-step t from accumulator tiles 2t and 2t + 1 (scaled per token).
    auto aFromAcc = [&](ArrayRef<Value> acc, int64_t t, int64_t scaleBy = -1) {
      SmallVector<Value> a;
      for (int64_t q = 0; q < 4; ++q) {
        int64_t j = 2 * t + q / 2, e = (q % 2) * 2;
        Value x = acc[4 * j + e], y = acc[4 * j + e + 1];
        if (scaleBy >= 0) {
          x = fmul(x, factor(j, e, scaleBy));
          y = fmul(y, factor(j, e + 1, scaleBy));
        }
        a.push_back(pack(x, y));
      }
      return a;
    };
    // V^T (or U^T) columns 16 t .. 16 t + 15 as an A fragment: the tile holds V by token rows.
    auto vTransposed = [&](int64_t t) {
      return ldmatrix(tileAddress({us, ldV}, add(idx(16 * t), laneColAT), add(v0, laneRowAT)), 4,
                      true);
    };

    // (K S)^T and (Q S)^T, 16 x C each: the state is the A operand, packed per k-step.
    // Segment states produce no outputs: no Q S, no O.
    const bool outputs = !segmentStates;
    SmallVector<Value> ksT(s.delta() ? 4 * tokenTiles : 0, f32c(0.0f)),
        qsT(outputs ? 4 * tokenTiles : 0, f32c(0.0f));
    // wgmma (useWgmma): one m64nNk16 per k-step for the warpgroup's 64 value columns, B by
    // descriptor. Tm and QKg are core matrices (TileOrder::CoreMatrices): a column block of
    // 8 of a C-row tile is 16 C bytes, a group of 8 rows 128 bytes; stored by columns (B[k, n]
    // at row n, column k) they are K-major.
    // Each k-step adds its constant offset to the tile's descriptor (descriptorPlus), so
    // after CSE a tile's descriptor is made once per chunk.
    auto byColumns = [&](Value base, int64_t k0) {
      return descriptorPlus(wgmmaDescriptor(base, C * 16, 128), k0 / 8 * C * 16);
    };
    // The swizzled q / k tiles (C rows of K): by columns (K S, Q S) a k-step starts 32 bytes
    // further into the atom's rows, the next atom C 128 bytes on, 8-row groups 1024 bytes
    // apart; by rows (the update's k rows, N-major) 16 rows = 2048 bytes per k-step, N atoms
    // C 128 bytes apart.
    auto swizzledByColumns = [&](Value base, int64_t k0) {
      return descriptorPlus(wgmmaDescriptor(base, 16, 1024, true), k0 / 64 * C * 128 + k0 % 64 * 2);
    };
    auto swizzledByRows = [&](Value base, int64_t k0) {
      return descriptorPlus(wgmmaDescriptor(base, C * 128, 1024, true), k0 * 128);
    };
    if (wg && (s.delta() || outputs)) {
      // Every A fragment before the fence: registers written while earlier wgmmas are in
      // flight make ptxas wait for them (C7517) and fence again (C7519).
      SmallVector<SmallVector<Value>> stateA;
      for (int64_t t = 0; t < kSteps; ++t)
        stateA.push_back(aFromAcc(S, t));
      wgmmaFence();
      for (int64_t t = 0; t < kSteps; ++t) {
        ArrayRef<Value> a = stateA[t];
        if (s.delta())
          ksT = wgmma(t ? ksT : SmallVector<Value>(), C, a, swizzledByColumns(ks, 16 * t), false);
        if (outputs)
          qsT = wgmma(t ? qsT : SmallVector<Value>(), C, a, swizzledByColumns(qs, 16 * t), false);
      }
      wgmmaCommit();
      wgmmaWait(0, {&ksT, &qsT});
    } else {
      for (int64_t t = 0; t < kSteps / parts; ++t) {
        SmallVector<Value> a = aFromAcc(S, t);
        for (int64_t j = 0; j < tokenTiles; j += 2) {
          if (s.delta())
            mmaPair(ksT, j, a, bByColumns(ks, ldK, 8 * j, kAt(16 * t)));
          if (outputs)
            mmaPair(qsT, j, a, bByColumns(qs, ldK, 8 * j, kAt(16 * t)));
        }
      }
    }
    if (parts > 1) {
      // k-split: the two warps of a column group swap their partial products through shared
      // memory (a 64-thread named barrier per group) and both add them in the same order of
      // operands' values (a + b = b + a), so both hold the same (K S)^T and (Q S)^T. The
      // chunk's block barrier keeps the next chunk's writes after these reads.
      Value xs = divu(idx(L.xs), 4);
      auto slot = [&](Value w, int64_t f) {
        return add(xs, add(mul(add(mul(w, idx(L.xsFloats)), idx(f)), idx(32)), lane));
      };
      SmallVector<Value *> partial;
      for (Value &x : ksT)
        partial.push_back(&x);
      for (Value &x : qsT)
        partial.push_back(&x);
      for (auto [f, x] : llvm::enumerate(partial))
        memref::StoreOp::create(b, loc, *x, smemF32, ValueRange{slot(warp, f)});
      auto i32Of = [&](Value x) { return arith::IndexCastOp::create(b, loc, i32, x); };
      NVVM::BarrierOp::create(b, loc, TypeRange{}, i32Of(add(columnGroup, idx(1))),
                              i32Of(idx(32 * parts)), NVVM::BarrierReductionAttr(), Value());
      Value partner = arith::XOrIOp::create(b, loc, warp, idx(1));
      for (auto [f, x] : llvm::enumerate(partial))
        *x = fadd(*x, memref::LoadOp::create(b, loc, smemF32, ValueRange{slot(partner, f)}));
    }

    // Vnew^T, 16 x C: f32 accumulators and 16-bit A fragments.
    SmallVector<Value> vnT(4 * tokenTiles, f32c(0.0f));
    SmallVector<SmallVector<Value>> vnA;
    if (s.delta()) {
      SmallVector<SmallVector<Value>> rA;
      for (int64_t t = 0; t < tokenSteps; ++t) {
        SmallVector<Value> v = vTransposed(t), r;
        for (int64_t q = 0; q < 4; ++q) {
          int64_t j = 2 * t + q / 2, e = (q % 2) * 2;
          auto [x, y] = unpack(v[q]);
          r.push_back(pack(fsub(x, fmul(factor(j, e, 3), ksT[4 * j + e])),
                           fsub(y, fmul(factor(j, e + 1, 3), ksT[4 * j + e + 1]))));
        }
        rA.push_back(r);
      }
      if (wg) {
        wgmmaFence();
        for (int64_t t = 0; t < tokenSteps; ++t)
          vnT = wgmma(t ? vnT : SmallVector<Value>(), C, rA[t], byColumns(tm, 16 * t), false);
        wgmmaCommit();
        wgmmaWait(0, {&vnT});
      } else {
        for (int64_t t = 0; t < tokenSteps; ++t)
          for (int64_t j = 0; j < tokenTiles; j += 2)
            mmaPair(vnT, j, rA[t], bByColumns(tm, ldC, 8 * j, idx(16 * t)));
      }
      for (int64_t t = 0; t < tokenSteps; ++t)
        vnA.push_back(aFromAcc(vnT, t));
    } else {
      for (int64_t t = 0; t < tokenSteps; ++t) {
        vnA.push_back(vTransposed(t));
        for (int64_t q = 0; q < 4; ++q) {
          int64_t j = 2 * t + q / 2, e = (q % 2) * 2;
          std::tie(vnT[4 * j + e], vnT[4 * j + e + 1]) = unpack(vnA.back()[q]);
        }
      }
    }

    // O^T = (Q S)^T diag(scale qf exp(G)) + Vnew^T QKg^T, to global memory (with k-split,
    // by the group's first warp).
    auto outputStart = [&] {
      SmallVector<Value> oT;
      for (int64_t j = 0; j < tokenTiles; ++j)
        for (int64_t e = 0; e < 4; ++e)
          oT.push_back(fmul(qsT[4 * j + e], factor(j, e, 0)));
      return oT;
    };
    auto storeOutput = [&](ArrayRef<Value> oT) {
      if (s.stmatrixStores) {
        storeOutputRows(oT, t0, rows, v0);
        return;
      }
      for (int64_t j = 0; j < tokenTiles; ++j)
        for (int64_t e = 0; e < 4; ++e) {
          auto position = accPosition(v0, idx(8 * j), e); // captured below: no binding
          Value v = position.first, token = position.second;
          ifThen(lt(token, rows), [&] {
            Value at = add(mul(headRow(add(t0, token)), idx(s.V)), add(col0, v));
            memref::StoreOp::create(b, loc, toHalf(oT[4 * j + e]), args.o, ValueRange{at});
          });
        }
    };
    auto output = [&] {
      SmallVector<Value> oT = outputStart();
      for (int64_t t = 0; t < tokenSteps; ++t)
        for (int64_t j = 0; j < tokenTiles; j += 2)
          mmaPair(oT, j, vnA[t], bByColumns(qk, ldC, 8 * j, idx(16 * t)));
      storeOutput(oT);
    };
    // wgmma: O^T's products and the state update are issued together (below) and waited for
    // once, then O^T is stored.
    if (outputs && parts > 1)
      ifThen(cmp(arith::CmpIPredicate::eq, kPart, idx(0)), output);
    else if (outputs && !wg)
      output();

    // S^T = exp(G_n) S^T + Vnew^T diag(kf exp(G_n - G)) K; channel gates: S^T diag(exp(G_n))
    // + Vnew^T K2 (state tile j, element e is column 8 j + 2 quad + e % 2 of S^T).
    SmallVector<Value> out;
    if (s.channel()) {
      Value dk = divu(stageOffset(which, &StateLayout::Stage::dk), 4);
      for (int64_t j = 0; j < K / 8 / parts; ++j) {
        SmallVector<Value> d =
            loadElements(smemF32, add(dk, add(kAt(8 * j), mul(quad, idx(2)))), 2, 8);
        for (int64_t e = 0; e < 4; ++e)
          out.push_back(fmul(S[4 * j + e], d[e % 2]));
      }
    } else if (s.gate != GateKind::None) {
      Value decay = memref::LoadOp::create(b, loc, smemF32, ValueRange{add(rf, idx(2))});
      for (Value x : S)
        out.push_back(fmul(x, decay));
    } else {
      out.append(S.begin(), S.end()); // no gate: exp(G_n) = 1
    }
    Value kUpdate = s.channel() ? stageOffset(which, &StateLayout::Stage::ku) : ks;
    if (wg) {
      // O^T's group is committed first and waited for before its stores; the update's is
      // left in flight: the next chunk waits for it after issuing its copies (build()).
      SmallVector<Value> oT = outputs ? outputStart() : SmallVector<Value>();
      SmallVector<SmallVector<Value>> updateA;
      for (int64_t t = 0; t < tokenSteps; ++t)
        updateA.push_back(aFromAcc(vnT, t, /*scaleBy=*/1));
      wgmmaFence();
      if (outputs) {
        for (int64_t t = 0; t < tokenSteps; ++t)
          oT = wgmma(oT, C, vnA[t], byColumns(qk, 16 * t), false);
        wgmmaCommit();
      }
      for (int64_t t = 0; t < tokenSteps; ++t)
        out = wgmma(out, K, updateA[t], swizzledByRows(kUpdate, 16 * t), true);
      wgmmaCommit();
      if (outputs) {
        wgmmaWait(1, {&oT});
        storeOutput(oT);
      }
      return out;
    }
    for (int64_t t = 0; t < tokenSteps; ++t) {
      SmallVector<Value> a = aFromAcc(vnT, t, /*scaleBy=*/1);
      for (int64_t j = 0; j < K / 8 / parts; j += 2)
        mmaPair(out, j, a, bByRows(kUpdate, ldK, 16 * t, kAt(8 * j)));
    }
    return out;
  }

  /// Row k of this warp's part of K (k-split), as an index.
  Value kAt(int64_t k) { return kOffset ? add(kOffset, idx(k)) : idx(k); }

  /// stmatrix-stores: O^T (16 value columns x C tokens, accumulator tiles per 8 tokens) to
  /// global memory by rows. stmatrix.x4.trans writes the transposed 8 x 8 blocks into this
  /// warp's shared tile, so each token's 16 values lie in one 32-byte row; then lane l moves
  /// 16 bytes (token l / 2, values 8 (l % 2) ..) per 16 tokens. Per 16 tokens that is one
  /// stmatrix, one shared load and one global store per lane, where the accumulator layout
  /// took 8 predicated 16-bit stores. The chunk's block barrier orders the next chunk's
  /// stmatrix after these loads; a warp barrier orders the loads after the stmatrix.
  void storeOutputRows(ArrayRef<Value> oT, Value t0, Value rows, Value v0) {
    const int64_t C = s.C, ld = StateLayout::kOutLd;
    Value tileBase = add(idx(L.out), mul(warp, idx(C * ld * 2)));
    for (int64_t j = 0; j < C / 8; j += 2) {
      // Matrix i = 2 (tile j + i / 2) + value half i % 2; lanes 8 i .. 8 i + 7 address its
      // rows (tokens 8 j + (l % 8) + 8 (l / 16), values 8 ((l / 8) % 2)).
      SmallVector<Value> sources;
      for (int64_t i = 0; i < 4; ++i) {
        int64_t tile = j + i / 2, h = i % 2;
        sources.push_back(pack(oT[4 * tile + 2 * h], oT[4 * tile + 2 * h + 1]));
      }
      Value ptr = tileAddress({tileBase, ld}, add(idx(8 * j), laneColAT), laneRowAT);
      NVVM::StMatrixOp::create(b, loc, ptr, sources, NVVM::MMALayout::col,
                               NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
                               NVVM::LdStMatrixEltType::B16);
    }
    NVVM::SyncWarpOp::create(
        b, loc, arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(0xffffffffu))));
    Value half8 = mul(remu(lane, 2), idx(8));
    for (int64_t r = 0; r < C / 16; ++r) {
      Value token = add(idx(16 * r), divu(lane, 2));
      SmallVector<Value> x = loadElements(smemHalf, halfIndex(tileBase, token, ld, half8), 8, 16);
      ifThen(lt(token, rows), [&] {
        Value at = add(mul(headRow(add(t0, token)), idx(s.V)), add(col0, add(v0, half8)));
        storeVector(args.o, at, x, 16);
      });
    }
  }

  StateLayout L;
  /// wgmma: bytes from the dynamic shared memory to the first 1024-byte boundary of the
  /// shared window, where the stages start (the swizzled tiles' atoms need it); else null.
  Value swizzleAlign;
  const bool segmentStates;
  Value col0;
  /// Sliced pass: this warp's 16-column group of the V tile, and with k-split its part of K
  /// (kPart in 0 .. kSplit - 1, starting at row kOffset; null without k-split).
  Value columnGroup, kPart, kOffset;
  Value transition; ///< segmentStates: this block computes K columns of M (i1); else null
};

/// The segmented pass's chain (described above ChunkedBuilderBase, step 2): S_p = M_{p-1} S_{p-1} +
/// E_{p-1} for p = 2 .. P-1 in f32, each S_p written over E_{p-1}. Grid N x HV x V / 8: a block
/// owns 8 value columns of S for all K rows, so its steps need nothing from other blocks. 2 K
/// threads: thread (g, q) forms rows 4q .. 4q + 3 of the 8 columns over k-group g's eighth of K (a
/// 16-byte load of M^T[k][4q .. 4q + 3] and two broadcast 16-byte loads of S_{p-1}[k] feed 32
/// FMAs); the 8 groups' partial sums meet in shared memory, where each thread adds the 8
/// partials of one row's half and writes S_p. (With one row per thread, 8 FMAs per M load and
/// two shared loads, it ran 19 us at B1 T8192 H16, P = 4, issue-stalled on the load queues:
/// ncu, tenth session.)
class CombineKernelBuilder : ChunkedBuilderBase {
public:
  static constexpr int64_t kColumns = 8, kRows = 4, kGroups = 8, kUnroll = 4;
  CombineKernelBuilder(OpBuilder &b, Location loc, const ChunkedSpec &s)
      : ChunkedBuilderBase(b, loc, s, threads(s)) {}
  /// (K / 4 row quads) x 8 k-groups: 128, 256 or 512 threads for K = 64, 128, 256.
  static int64_t threads(const ChunkedSpec &s) { return s.K / kRows * kGroups; }
  /// S_{p-1} (K x 8), then every group's partial sums (kGroups x K x 8), f32.
  static int64_t sharedBytes(const ChunkedSpec &s) { return (1 + kGroups) * s.K * kColumns * 4; }

  gpu::GPUFuncOp build(const std::string &name) {
    OpBuilder::InsertionGuard guard(b);
    const int64_t K = s.K, V = s.V, span = K / kGroups, quads = K / kRows;
    auto fn = begin(name, sharedBytes(s));
    setLaunchAttributes(b, fn, argNames, kThreads, kColumns, V);
    setCommonAttributes(fn, sharedBytes(s));
    fn->setAttr("gdn.auxiliary", b.getUnitAttr());

    Value n = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value c0 = mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::z), idx(kColumns));
    Value r0 = mul(remu(tid, quads), idx(kRows)), group = divu(tid, quads);
    // The reduction's share: row tid / 2, columns 4 (tid % 2) .. + 3.
    Value row = divu(tid, 2), half4 = mul(remu(tid, 2), idx(4));
    const int64_t partials = K * kColumns; // f32 elements before the partial sums
    auto slotAt = [&](Value j, Value r, Value c) {
      return add(eSlot(n, hv, j), add(mul(r, idx(V)), add(c0, c)));
    };
    auto store4 = [&](Value buffer, Value at, ArrayRef<Value> x) {
      storeVector(buffer, at, x, 16);
    };
    // S_1 = E_0 into shared memory (row-major, 8 columns).
    store4(smemF32, add(mul(row, idx(kColumns)), half4),
           loadElements(wsSeq, slotAt(idx(0), row, half4), 4, 16));
    scf::ForOp::create(
        b, loc, idx(2), args.segments, idx(1), ValueRange{},
        [&](OpBuilder &, Location, Value p, ValueRange) {
          barrier();                              // S_{p-1} complete in shared memory
          Value m = mSlot(n, hv, sub(p, idx(2))); // M_{p-1}, stored transposed
          Value k0 = mul(group, idx(span));
          SmallVector<Value> zero(kRows * kColumns, f32c(0.0f));
          auto loop = scf::ForOp::create(
              b, loc, k0, add(k0, idx(span)), idx(kUnroll), zero,
              [&](OpBuilder &, Location, Value kb, ValueRange carried) {
                SmallVector<Value> acc(carried.begin(), carried.end());
                SmallVector<SmallVector<Value>> mk;
                for (int64_t u = 0; u < kUnroll; ++u)
                  mk.push_back(
                      loadElements(wsSeq, add(m, add(mul(add(kb, idx(u)), idx(K)), r0)), 4, 16));
                for (int64_t u = 0; u < kUnroll; ++u) {
                  Value at = mul(add(kb, idx(u)), idx(kColumns));
                  SmallVector<Value> sk = loadElements(smemF32, at, 4, 16);
                  sk.append(loadElements(smemF32, add(at, idx(4)), 4, 16));
                  for (int64_t i = 0; i < kRows; ++i)
                    for (int64_t j = 0; j < kColumns; ++j)
                      acc[i * kColumns + j] = fma(mk[u][i], sk[j], acc[i * kColumns + j]);
                }
                scf::YieldOp::create(b, loc, acc);
              });
          // Partials of group g at [g][r][8].
          for (int64_t i = 0; i < kRows; ++i) {
            Value at =
                add(idx(partials), mul(add(mul(group, idx(K)), add(r0, idx(i))), idx(kColumns)));
            SmallVector<Value> x(loop.getResults().begin() + i * kColumns,
                                 loop.getResults().begin() + (i + 1) * kColumns);
            store4(smemF32, at, ArrayRef<Value>(x).take_front(4));
            store4(smemF32, add(at, idx(4)), ArrayRef<Value>(x).drop_front(4));
          }
          barrier(); // every partial is in; nobody reads S_{p-1} any more
          Value at = slotAt(sub(p, idx(1)), row, half4);
          SmallVector<Value> next = loadElements(wsSeq, at, 4, 16); // E_{p-1}
          for (int64_t g = 0; g < kGroups; ++g) {
            SmallVector<Value> part = loadElements(
                smemF32, add(idx(partials), add(mul(add(row, idx(g * K)), idx(kColumns)), half4)),
                4, 16);
            for (int64_t j = 0; j < 4; ++j)
              next[j] = fadd(next[j], part[j]);
          }
          store4(smemF32, add(mul(row, idx(kColumns)), half4), next);
          store4(wsSeq, at, next);
          scf::YieldOp::create(b, loc);
        });
    gpu::ReturnOp::create(b, loc);
    return fn;
  }
};

struct GdnChunkedGpuKernelsPass
    : public gdn::impl::GdnChunkedGpuKernelsBase<GdnChunkedGpuKernelsPass> {
  using GdnChunkedGpuKernelsBase::GdnChunkedGpuKernelsBase;

  void runOnOperation() override {
    GdnChunkedGpuKernelsOptions options{
        chunkSize,        vTile,          warps,     ldmatrix, prepInverse,    stateWy,
        qsEarly,          slicedState,    prepWarps, segments, stages,         kSplit,
        wholeChunkCopies, stmatrixStores, wgmma,     generic,  genericFallback};
    auto unsupported = [&](Operation *op) {
      std::string reason = chunkedKernelUnsupportedReason(op, options);
      return reason.empty() ? reason : reason + " (gdn-recurrent-gpu-kernels handles every layer)";
    };
    auto buildFrom = [&](OpBuilder &b, Location loc, const LayerFacts &facts, int64_t C) {
      ChunkedSpec spec(options);
      static_cast<LayerFacts &>(spec) = facts;
      spec.C = C;
      if (spec.prepWarps == 0)
        spec.prepWarps = defaultPrepWarps(C, facts.K, facts.gate);
      PrepKernelBuilder(b, loc, spec).build(spec.name + "_prep");
      auto kernel = StateKernelBuilder(b, loc, spec).build(spec.name);
      kernel->setAttr("gdn.prep_kernel", b.getStringAttr(spec.name + "_prep"));
      kernel->setAttr("gdn.prep_block", b.getI64IntegerAttr(32 * spec.prepWarps));
      kernel->setAttr(
          "gdn.prep_shared_memory_bytes",
          b.getI64IntegerAttr(
              PrepLayout(spec.C, spec.K, spec.V, spec.inverse(), spec.channel()).total));
      kernel->setAttr("gdn.workspace_token_bytes", b.getI64IntegerAttr(workspaceTokenBytes(spec)));
      if (spec.segmented()) {
        StateKernelBuilder(b, loc, spec, /*segmentStates=*/true).build(spec.name + "_segments");
        CombineKernelBuilder(b, loc, spec).build(spec.name + "_combine");
        kernel->setAttr("gdn.segments", b.getI64IntegerAttr(spec.segments));
        kernel->setAttr("gdn.segment_kernel", b.getStringAttr(spec.name + "_segments"));
        if (spec.segmentsAuto)
          kernel->setAttr("gdn.segments_auto", b.getUnitAttr());
        kernel->setAttr("gdn.combine_kernel", b.getStringAttr(spec.name + "_combine"));
        kernel->setAttr("gdn.combine_block",
                        b.getI64IntegerAttr(CombineKernelBuilder::threads(spec)));
        kernel->setAttr("gdn.combine_blocks",
                        b.getI64IntegerAttr(spec.V / CombineKernelBuilder::kColumns));
        kernel->setAttr("gdn.combine_shared_memory_bytes",
                        b.getI64IntegerAttr(CombineKernelBuilder::sharedBytes(spec)));
      }
      return kernel;
    };
    auto build = [&](OpBuilder &b, Operation *op) {
      return buildFrom(b, op->getLoc(), layerFacts(op, "_chunked"),
                       chunkedChunkSize(op, chunkSize));
    };
    // Functions of the chunked form (gdn-chunkwise, gdn-split-chunk-loop): the kernels of the
    // layer their tile program describes, with its chunk size.
    // Those no fragment implements (or all, with `generic`) get the generic fused kernel.
    SmallVector<std::pair<func::FuncOp, ChunkedForm>> forms;
    SmallVector<func::FuncOp> genericForms;
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (!holdsChunkedForm(fn))
        continue;
      std::string why;
      std::optional<Location> where;
      SmallVector<std::pair<Location, std::string>> notes; // re-attached to the error
      bool noFragment = false;
      FailureOr<ChunkedForm> form = failure();
      {
        ScopedDiagnosticHandler capture(&getContext(), [&](Diagnostic &d) {
          why += (why.empty() ? "" : "; ") + d.str();
          if (!where)
            where = d.getLocation();
          for (Diagnostic &note : d.getNotes())
            notes.push_back({note.getLocation(), note.str()});
          return success();
        });
        form = readChunkedForm(fn, "gdn-chunked-gpu-kernels", &noFragment);
      }
      if (generic || (failed(form) && noFragment && genericFallback)) {
        if (!generic)
          emitRemark(where.value_or(fn.getLoc()))
              << why << "; building the generic fused kernel instead";
        genericForms.push_back(fn);
        continue;
      }
      if (failed(form)) {
        InFlightDiagnostic d = emitError(where.value_or(fn.getLoc())) << why;
        for (auto &[loc, text] : notes)
          d.attachNote(loc) << text;
        return signalPassFailure();
      }
      const LayerFacts &f = form->facts;
      std::string unsupported =
          chunkedUnsupportedReason(f.gate, f.rule, f.inputType, f.K, f.V, form->chunkSize, options);
      if (!unsupported.empty()) {
        emitError(form->loc) << "gdn-chunked-gpu-kernels: " << unsupported
                             << " (gdn-recurrent-gpu-kernels handles every layer)";
        return signalPassFailure();
      }
      forms.push_back({fn, *form});
    }
    if (!forms.empty() || !genericForms.empty()) {
      OpBuilder b(getOperation().getBodyRegion());
      auto existing = getOperation().getOps<gpu::GPUModuleOp>();
      if (existing.empty())
        createKernelModule(b, getOperation());
      else
        b.setInsertionPointToEnd((*existing.begin()).getBody());
      for (auto &[fn, form] : forms) {
        gpu::GPUFuncOp kernel = buildFrom(b, form.loc, form.facts, form.chunkSize);
        kernel->setAttr("gdn.layer", b.getStringAttr(RecurrenceOp::getOperationName()));
        kernel->setAttr("gdn.variant", b.getStringAttr((stringifyGateKind(form.facts.gate) + "," +
                                                        stringifyUpdateRule(form.facts.rule))
                                                           .str()));
        fn.erase();
      }
      for (func::FuncOp fn : genericForms) {
        LayerFacts facts;
        FailureOr<gpu::GPUFuncOp> kernel = buildGenericChunkedKernel(b, fn, facts);
        if (failed(kernel))
          return signalPassFailure();
        (*kernel)->setAttr("gdn.layer", b.getStringAttr(RecurrenceOp::getOperationName()));
        (*kernel)->setAttr(
            "gdn.variant",
            b.getStringAttr(
                (stringifyGateKind(facts.gate) + "," + stringifyUpdateRule(facts.rule)).str()));
        fn.erase();
      }
    }
    if (failed(buildLayerKernels(getOperation(), "gdn-chunked-gpu-kernels", "_chunked", unsupported,
                                 build)))
      signalPassFailure();
  }
};

} // namespace

namespace {
/// The facts of `r` that decide which code path `options` build (rule and K), without the
/// rest of layerFacts: enough for the support queries below.
ChunkedSpec pathSpec(RecurrenceOp r, const GdnChunkedGpuKernelsOptions &options) {
  ChunkedSpec spec(options);
  spec.C = chunkedChunkSize(r, options.chunkSize);
  spec.rule = r.getRule();
  spec.gate = r.getGate();
  spec.K = cast<RankedTensorType>(r.getQ().getType()).getDimSize(3);
  return spec;
}
} // namespace

bool mlir::gdn::chunkedStateIsSliced(Operation *op, const GdnChunkedGpuKernelsOptions &options) {
  auto r = dyn_cast<RecurrenceOp>(op);
  return r && pathSpec(r, options).sliced();
}

bool mlir::gdn::chunkedStateIsSegmented(Operation *op, const GdnChunkedGpuKernelsOptions &options) {
  if (!isa<RecurrenceOp>(op))
    return false;
  ChunkedSpec spec(options);
  static_cast<LayerFacts &>(spec) = layerFacts(op, "_chunked");
  spec.C = chunkedChunkSize(op, options.chunkSize);
  return spec.segmented();
}

std::string mlir::gdn::chunkedKernelUnsupportedReason(Operation *op,
                                                      const GdnChunkedGpuKernelsOptions &options) {
  auto r = dyn_cast<RecurrenceOp>(op);
  if (!r)
    return "only gdn.recurrence has a chunked kernel (decode steps use the recurrent one)";
  auto qType = cast<RankedTensorType>(r.getQ().getType());
  auto vType = cast<RankedTensorType>(r.getV().getType());
  // A layer's own chunk size wins, as in gdn-chunkwise (the GPU kernels are built from its
  // output).
  return chunkedUnsupportedReason(r.getGate(), r.getRule(), qType.getElementType(),
                                  qType.getDimSize(3), vType.getDimSize(3),
                                  chunkedChunkSize(r, options.chunkSize), options);
}

std::string mlir::gdn::chunkedUnsupportedReason(GateKind gate, UpdateRule rule, Type inputType,
                                                int64_t K, int64_t V, int64_t chunkSize,
                                                const GdnChunkedGpuKernelsOptions &options) {
  const int64_t vTile = options.vTile, warps = options.warps;
  if (gate == GateKind::Channel && rule == UpdateRule::Delta && !options.stateWy)
    return "channel gates with the delta rule need state-wy";
  if (!inputType.isBF16() && !inputType.isF16())
    return "only bf16 and f16 inputs are supported";
  if (chunkSize != 64 && chunkSize != 32 && chunkSize != 16)
    return "chunk-size must be 16, 32 or 64";
  if (K % 16 != 0)
    return "K must be a multiple of 16";
  if (options.prepWarps != 0 && options.prepWarps != 1 && options.prepWarps != 2 &&
      options.prepWarps != 4 && options.prepWarps != 8)
    return "prep-warps must be 0 (chosen from the layer), 1, 2, 4 or 8";
  // One limit for every prep path (only the unit-column solve needs it) keeps the option simple.
  if (options.prepWarps == 1 && chunkSize > kOnePrepWarpMaxChunk)
    return "prep-warps 1 needs chunk-size 16 or 32 (a thread per column of the solve)";
  if (options.segments < 0 || options.segments > 64)
    return "segments must be in 0..64 (0: chosen per launch)";
  if (options.stages < 2 || options.stages > 4)
    return "stages must be 2, 3 or 4";
  if (options.kSplit != 1 && options.kSplit != 2)
    return "k-split must be 1 or 2";
  if (options.kSplit == 2 && options.slicedState && vTile > 64)
    return "k-split 2 needs v-tile <= 64 (8 warps of about 240 registers fill an SM's "
           "register file)";
  ChunkedSpec spec(options);
  spec.rule = rule;
  spec.gate = gate;
  spec.K = K;
  spec.C = chunkSize;
  if (vTile != 16 && vTile != 32 && vTile != 64 && !(spec.sliced() && vTile == 128))
    return "v-tile must be 16, 32 or 64 (or 128 with sliced-state where it applies: "
           "K x chunk-size <= 4096)";
  if (V % vTile != 0)
    return "v-tile must divide V";
  if (!spec.sliced()) {
    if (warps != 4 && warps != 8)
      return "warps must be 4 or 8";
    int64_t stateTiles = (K / 16) * (vTile / 8);
    if (stateTiles % warps != 0)
      return "the K x v-tile state must split evenly into 16 x 8 tiles per warp";
    if (stateTiles / warps > 16)
      return "the state takes more than 64 registers per thread; use more warps or a smaller "
             "v-tile";
  }
  // The shared-memory plans of the kernels these options would build.
  int64_t prep = PrepLayout(chunkSize, K, V, spec.inverse(), spec.channel()).total;
  spec.V = V;
  int64_t state = StateLayout(spec).total;
  for (int64_t bytes : {prep, state})
    if (bytes > kMaxSharedBytes)
      return "the shared-memory plan needs " + std::to_string(bytes) + " bytes (more than " +
             std::to_string(kMaxSharedBytes) + "); use a smaller chunk-size or v-tile";
  return "";
}
