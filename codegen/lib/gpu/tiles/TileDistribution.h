//===- TileDistribution.h - register layouts as per-thread elements -*- C++ -*-===//
//
// Internal to the tile lowering (codegen/lib/gpu/tiles, docs/design.md §3.7): how a tile value
// whose layout spreads it over the block's threads (#gdn.mma with mma.sync fragments, its
// #gdn.dot_operand fragments, #gdn.blocked) becomes registers. Each thread holds `count()`
// elements as one flat vector; element e sits at the thread's base coordinates (from its lane
// and warp) plus a constant offset. The patterns of every op family read and write tile values
// only through this, so a layout means the same registers to all of them.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_TILES_TILEDISTRIBUTION_H
#define GDN_CODEGEN_TILES_TILEDISTRIBUTION_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/DialectConversion.h"

#include <memory>
#include <string>

namespace mlir::gdn::tiles {

/// A tile layout as per-thread registers.
struct Distribution {
  enum class Kind { Accumulator, OperandA, OperandB, Blocked, Slice };
  Kind kind = Kind::Blocked;
  RankedTensorType type;         ///< the tile (static shape)
  int64_t warps = 0;             ///< warps of the block the layout spreads over
  SmallVector<int64_t> warpGrid; ///< warps per dimension (rows, columns)
  SmallVector<int64_t> lanes;    ///< blocked: lanes per dimension
  /// Fragments: the instruction's view of the tile ([rows, columns] of the accumulator or
  /// operand the instruction sees), and whether that is the tile's transpose (a transposed
  /// accumulator, a `transposed` operand fragment). The registers follow the instruction's view;
  /// offsets and base coordinates are the tile's.
  SmallVector<int64_t> instrShape;
  bool swapped = false;
  SmallVector<int64_t> perWarp; ///< fragments: elements per warp along each dimension of the view
  /// Slices: the parent's distribution (on a tile of the slice's extent and the fewest
  /// columns), the dimension kept, and per element the thread's value of the parent's row (or
  /// column). A slice holds each distinct row of the parent's elements once.
  std::shared_ptr<Distribution> parent;
  unsigned kept = 0;
  /// The slice element holding the row (or column) of `parentOffset` in the parent's
  /// distribution of any tile with that row extent (slices are replicated: never stored).
  int64_t sliceSlot(ArrayRef<int64_t> parentOffset) const;
  /// Per element of the thread's vector: its offset from the thread's base, per dimension.
  SmallVector<SmallVector<int64_t, 2>> offsets;

  int64_t count() const { return static_cast<int64_t>(offsets.size()); }
  VectorType registers() const { return VectorType::get({count()}, type.getElementType()); }
  /// The thread's base coordinates (one per dimension) from its lane and warp: as IR, and
  /// evaluated (the same arithmetic) for a given thread.
  SmallVector<Value> base(OpBuilder &b, Location loc, Value lane, Value warp) const;
  SmallVector<int64_t> baseAt(int64_t lane, int64_t warp) const;
  /// Whether other warps hold copies of this thread's elements (operand fragments are
  /// replicated over the warps that share their rows or columns).
  bool replicated() const;
  /// An i1 that is true in exactly one of the threads holding each element (null where the
  /// layout has no copies, and for slices, which are never stored).
  Value primary(OpBuilder &b, Location loc, Value lane, Value warp) const;
  bool primaryAt(int64_t lane, int64_t warp) const;
  /// Blocked: per dimension, the extent a tile smaller than the threads' period wraps at (its
  /// threads past it hold copies), or 0.
  SmallVector<int64_t> wrap;
  SmallVector<Value> blockedBase(OpBuilder &b, Location loc, Value lane, Value warp) const;
};

/// The distribution of `type`, or failure with the reason in `why` (a layout that is not a
/// register layout this lowering knows, a shape that does not divide). A dynamic extent is
/// held at its bound `bound` (a chunk's rows: tileBound), its elements past the runtime
/// extent masked where the tile meets memory; without a bound a dynamic shape is an error.
FailureOr<Distribution> distribute(RankedTensorType type, std::string &why, int64_t bound = 0);
/// `type` with each dynamic extent at `bound` (where bound > 0): what registers or a shared
/// buffer hold.
RankedTensorType heldType(RankedTensorType type, int64_t bound);

/// The bound of the dynamic tile extents inside the gpu.func around `op`: its `gdn.chunk_size`
/// (a chunk's tiles have at most that many rows), or 0.
int64_t tileBound(Operation *op);
inline constexpr const char *kTileBoundAttr = "gdn.chunk_size";
/// On a bufferization.to_tensor (or materialize_in_destination) whose memref is a strided
/// view: every row of the view starts at a multiple of this many bytes. Whoever builds the view
/// states it (gdn-chunk-kernels, from the runtime's 16-byte alignment of the buffers); the
/// tile lowering then moves rows in vector accesses that alignment allows.
inline constexpr const char *kRowAlignmentAttr = "gdn.row_alignment";
/// On a bufferization.to_tensor (or materialize_in_destination) of a tile with runtime extents:
/// the view's memory up to the kernel's bound (gdn.chunk_size) in every dimension belongs to the
/// tile, so a load may read past the runtime extent (the values there are replaced by zeros)
/// and a store may write there. gdn-chunk-kernels states it for the workspace, whose every
/// chunk is padded to whole chunks; the tile lowering then moves rows in vector accesses with no
/// address clamping or guard per element.
inline constexpr const char *kPaddedToBoundAttr = "gdn.padded_to_bound";

/// How a thread's elements of `d` move to or from memory in vector accesses: (first element,
/// elements) pieces, each adjacent in memory along the tile's dimension `unitDim` (the one of
/// stride 1 whose extent is static or padded: 1 for rows, 0 for memory holding the tile's
/// transpose; -1: none) and aligned for its size (at most 16 bytes), where the memory's lines
/// start at multiples of `lineAlignment` bytes; else one piece per element.
SmallVector<std::pair<int64_t, int64_t>> accessPieces(const Distribution &d, int64_t unitDim,
                                                      int64_t lineAlignment);

/// Whether `t` is a tile value with a layout held in registers (mma.sync accumulators, their
/// operand fragments, blocked tiles, slices of those).
bool inRegisters(Type t);
/// Whether `t` is a tile value in shared memory (#gdn.shared): a workgroup buffer of its
/// bound's size.
bool inShared(Type t);

/// The runtime extent of dimension `dim` of a tile value (traced back to the slice, memref or
/// loop init it was made from), or failure.
FailureOr<Value> tileExtent(OpBuilder &b, Location loc, Value tile, int64_t dim);
/// Whether tileExtent can trace it (builds nothing).
bool hasTileExtent(Value tile, int64_t dim);

/// The gpu.func attribute on a conversion into a shared tile: which workgroup buffer holds it
/// (the pass adds one per such conversion).
inline constexpr const char *kSharedSlotAttr = "gdn.shared_slot";

/// The thread's lane (0..31) and warp in the block, from gpu.thread_id x.
std::pair<Value, Value> laneAndWarp(OpBuilder &b, Location loc);

/// Helpers the pattern files share.
Value indexConstant(OpBuilder &b, Location loc, int64_t x);
/// The tile coordinates of element `e` of the thread (`base` from Distribution::base), plus
/// `origin` where given.
SmallVector<Value> elementAt(OpBuilder &b, Location loc, const Distribution &d,
                             ArrayRef<Value> base, int64_t e, ArrayRef<Value> origin = {});
/// The same for every element of the thread.
SmallVector<SmallVector<Value>> elementCoordinates(OpBuilder &b, Location loc,
                                                   const Distribution &d);
/// Element `e` of a thread's registers.
Value registerAt(OpBuilder &b, Location loc, Value regs, int64_t e);
/// The exchange buffer of the gpu.func around `op` (f32, the pass sized it), or null.
Value exchangeBuffer(Operation *op);
/// What a pattern staging `tile` through the exchange buffer needs: its distribution and the
/// buffer of the function around `op` (failure where either is missing: the pass's checks
/// reported why before rewriting).
FailureOr<std::pair<Distribution, Value>> distributeWithExchange(Operation *op, Value tile);
/// Runs `emit` with the thread's base coordinates in `d`, only in the primary holder of each
/// element where `d` has copies (one store per element).
void asPrimaryHolder(OpBuilder &b, Location loc, const Distribution &d,
                     function_ref<void(OpBuilder &, ArrayRef<Value> base)> emit);
/// Calls `store(b, value, coordinates)` for each of the thread's elements of `regs`, once per
/// element across the block: where the layout has copies, only the primary one stores.
void storeHeld(OpBuilder &b, Location loc, const Distribution &d, Value regs,
               function_ref<void(OpBuilder &, Value, ArrayRef<Value>)> store);

/// Tile values with register layouts -> vector<count x element> (dynamic extents at `bound`);
/// everything else unchanged.
class TileTypeConverter : public TypeConverter {
public:
  explicit TileTypeConverter(int64_t bound);
};

/// Whether the patterns can lower `op` (a tile product, a layout conversion) as it stands;
/// otherwise an error at `op` naming the reason. The pass checks every op before rewriting, so
/// a program is refused whole, with every reason, rather than half lowered.
LogicalResult checkTileProduct(Operation *op);
LogicalResult checkTileConversion(Operation *op);

/// The instruction a tile product becomes and how many each thread issues (for
/// gdn-tiles-to-gpu{report-products}); call after checkTileProduct succeeded.
std::string describeTileProduct(Operation *op);

/// Registered by the pass (codegen/lib/gpu/tiles/TilesToGpu.cpp).
void populateTileElementwisePatterns(TileTypeConverter &converter, RewritePatternSet &patterns);
void populateTileProductPatterns(TileTypeConverter &converter, RewritePatternSet &patterns);
void populateTileConvertLayoutPatterns(TileTypeConverter &converter, RewritePatternSet &patterns);
void populateTileGatePatterns(TileTypeConverter &converter, RewritePatternSet &patterns);
void populateTileSolvePatterns(TileTypeConverter &converter, RewritePatternSet &patterns);
/// Whether the solve pattern lowers `op` (unit_lower_inverse), else an error at `op`; the
/// exchange elements it needs in `exchange`.
LogicalResult checkTileSolve(Operation *op, int64_t bound, int64_t &exchange);
/// Whether the gate patterns lower `op` (cumsum, row_scale, gate_rows, decay_state,
/// l2norm_rows), else an error at `op`; the exchange elements it needs in `exchange`.
LogicalResult checkTileGateOp(Operation *op, int64_t bound, int64_t &exchange);

/// The name of the gpu.func attribute giving the index of the workgroup buffer (f32) that
/// layout conversions through shared memory use; the pass adds the buffer, sized for the
/// largest such conversion.
inline constexpr const char *kExchangeBufferAttr = "gdn.exchange_buffer";

/// For an accumulator that becomes its own A fragment in place (exchangeElements 0): per element
/// of the A fragment, the accumulator element it is.
SmallVector<int64_t> inPlaceOperandA(const Distribution &acc);

/// Elements of the exchange buffer a conversion from `from` to `to` needs (0: none, it stays in
/// registers), dynamic extents at `bound`.
int64_t exchangeElements(RankedTensorType from, RankedTensorType to, int64_t bound);

} // namespace mlir::gdn::tiles

#endif // GDN_CODEGEN_TILES_TILEDISTRIBUTION_H
