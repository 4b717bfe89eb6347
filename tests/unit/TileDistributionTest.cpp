//===- TileDistributionTest.cpp - the registers each layout names ---------===//
//
// The layouts of gdn-tiles-to-gpu (codegen/lib/gpu/tiles/TileDistribution.h), evaluated for
// every thread of the block with the same index arithmetic the kernels emit: each element of a
// tile held exactly once (or, by replicated layouts, by copies of which exactly one is primary),
// the flat register order the mma.sync pattern assumes, an accumulator that becomes its own A
// fragment in place, slices holding the rows of their parent's elements.
//
//===----------------------------------------------------------------------===//
#include "tiles/TileDistribution.h"

#include "gdn/Dialect/GdnDialect.h"
#include "gdn/Dialect/GdnLayouts.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <map>

using namespace mlir;
using namespace mlir::gdn;
using namespace mlir::gdn::tiles;

namespace {

class TileDistribution : public ::testing::Test {
protected:
  TileDistribution() { ctx.loadDialect<GdnDialect>(); }

  Attribute mma(int64_t wm, int64_t wn, bool transposed = false) {
    return MmaLayoutAttr::get(&ctx, 2, {16, 8, 16}, {wm, wn}, transposed);
  }
  Attribute dot(unsigned index, Attribute parent, bool transposed = false) {
    return DotOperandLayoutAttr::get(&ctx, index, parent, transposed);
  }
  Distribution of(ArrayRef<int64_t> shape, Attribute layout, Type element = {}, int64_t bound = 0) {
    if (!element)
      element = Float32Type::get(&ctx);
    std::string why;
    auto d = distribute(RankedTensorType::get(shape, element, layout), why, bound);
    EXPECT_TRUE(succeeded(d)) << why;
    return *d;
  }
  /// Every (thread, element) -> tile coordinates, with whether the thread is primary.
  struct Held {
    int64_t thread, element;
    SmallVector<int64_t> at;
    bool primary;
  };
  std::vector<Held> holdings(const Distribution &d) {
    std::vector<Held> all;
    for (int64_t t = 0; t < 32 * d.warps; ++t) {
      SmallVector<int64_t> base = d.baseAt(t % 32, t / 32);
      for (int64_t e = 0; e < d.count(); ++e) {
        SmallVector<int64_t> at;
        for (size_t i = 0; i < base.size(); ++i)
          at.push_back(base[i] + d.offsets[e][i]);
        all.push_back({t, e, at, d.primaryAt(t % 32, t / 32)});
      }
    }
    return all;
  }
  /// Each coordinate of the held tile held `copies` times, once by a primary thread.
  void expectCovers(const Distribution &d, int64_t copies) {
    std::map<SmallVector<int64_t>, std::pair<int64_t, int64_t>> seen; // held, primary
    for (const Held &h : holdings(d)) {
      for (size_t i = 0; i < h.at.size(); ++i) {
        ASSERT_GE(h.at[i], 0);
        ASSERT_LT(h.at[i], d.type.getDimSize(i));
      }
      auto &[held, primary] = seen[h.at];
      ++held;
      primary += h.primary;
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), d.type.getNumElements());
    for (const auto &[at, counts] : seen) {
      EXPECT_EQ(counts.first, copies);
      EXPECT_EQ(counts.second, 1);
    }
  }
  MLIRContext ctx;
};

TEST_F(TileDistribution, AccumulatorsHoldEveryElementOnce) {
  expectCovers(of({64, 64}, mma(4, 1)), 1);
  expectCovers(of({64, 64}, mma(2, 2)), 1);
  expectCovers(of({64, 32}, mma(2, 1)), 1);
  expectCovers(of({32, 64}, mma(4, 1, /*transposed=*/true)), 1); // held as the 64 x 32 transpose
  // A chunk's rows at the bound.
  Distribution d = of({ShapedType::kDynamic, 64}, mma(4, 1), {}, 64);
  EXPECT_EQ(d.type.getDimSize(0), 64);
  expectCovers(d, 1);
}

TEST_F(TileDistribution, OperandFragmentsAreReplicatedOverTheWarpsThatShareThem) {
  Type bf16 = BFloat16Type::get(&ctx);
  expectCovers(of({64, 32}, dot(0, mma(4, 1)), bf16), 1);
  expectCovers(of({64, 32}, dot(0, mma(2, 2)), bf16), 2); // A: the two warps of a row
  expectCovers(of({32, 64}, dot(1, mma(2, 2)), bf16), 2); // B: the two warps of a column
  expectCovers(of({32, 64}, dot(1, mma(4, 1)), bf16), 4);
  expectCovers(of({32, 64}, dot(0, mma(4, 1), /*transposed=*/true), bf16), 1);
  expectCovers(of({64, 32}, dot(1, mma(4, 1, true), true), bf16), 4);
}

TEST_F(TileDistribution, BlockedTilesSmallerThanTheThreadsWrap) {
  auto blocked = [&](ArrayRef<int64_t> p, ArrayRef<int64_t> l, ArrayRef<int64_t> w) {
    return BlockedLayoutAttr::get(&ctx, p, l, w);
  };
  expectCovers(of({64, 64}, blocked({1, 4}, {8, 4}, {4, 1})), 1);
  expectCovers(of({256}, blocked({1}, {32}, {4})), 1);
  expectCovers(of({64}, blocked({1}, {32}, {4})), 2); // 128 threads over 64 gates
  expectCovers(of({32}, blocked({1}, {32}, {4})), 4);
}

TEST_F(TileDistribution, TheMmaPatternsRegisterOrderMatchesTheInstructionTiles) {
  // mmaSyncProduct reads A registers (i * steps + k) * 8 + 2q and B registers
  // (k * tilesN + j) * 4 + 2q for instruction tile (i, j) and step k: those must lie in the
  // tile's 16 rows and the step's 16 columns (A), the step's 16 rows and the tile's 8 columns (B).
  Type bf16 = BFloat16Type::get(&ctx);
  Attribute parent = mma(2, 2);
  Distribution acc = of({64, 64}, parent), a = of({64, 32}, dot(0, parent), bf16),
               b = of({32, 64}, dot(1, parent), bf16);
  int64_t tilesM = acc.perWarp[0] / 16, tilesN = acc.perWarp[1] / 8, steps = 2;
  for (int64_t warp = 0; warp < 4; ++warp)
    for (int64_t lane = 0; lane < 32; ++lane) {
      auto ab = a.baseAt(lane, warp), bb = b.baseAt(lane, warp), cb = acc.baseAt(lane, warp);
      for (int64_t i = 0; i < tilesM; ++i)
        for (int64_t j = 0; j < tilesN; ++j) {
          int64_t row0 = cb[0] + acc.offsets[(i * tilesN + j) * 4][0];
          int64_t col0 = cb[1] + acc.offsets[(i * tilesN + j) * 4][1];
          for (int64_t k = 0; k < steps; ++k)
            for (int64_t r = 0; r < 8; ++r) {
              int64_t e = (i * steps + k) * 8 + r;
              int64_t arow = ab[0] + a.offsets[e][0], acol = ab[1] + a.offsets[e][1];
              EXPECT_EQ(arow / 16, row0 / 16);
              EXPECT_EQ(acol / 16, k);
              if (r < 4) {
                int64_t f = (k * tilesN + j) * 4 + r;
                int64_t brow = bb[0] + b.offsets[f][0], bcol = bb[1] + b.offsets[f][1];
                EXPECT_EQ(brow / 16, k);
                EXPECT_EQ(bcol / 8, col0 / 8);
              }
            }
        }
    }
}

TEST_F(TileDistribution, AnAccumulatorIsItsOwnAFragmentInPlace) {
  Type bf16 = BFloat16Type::get(&ctx);
  for (bool transposed : {false, true}) {
    Attribute parent = mma(4, 1, transposed);
    Distribution acc = of({64, 64}, parent, bf16),
                 a = of({64, 64}, dot(0, parent, transposed), bf16);
    SmallVector<int64_t> sources = inPlaceOperandA(acc);
    ASSERT_EQ(static_cast<int64_t>(sources.size()), a.count());
    for (int64_t warp = 0; warp < 4; ++warp)
      for (int64_t lane = 0; lane < 32; ++lane) {
        auto ab = a.baseAt(lane, warp), cb = acc.baseAt(lane, warp);
        for (int64_t e = 0; e < a.count(); ++e)
          for (int d = 0; d < 2; ++d)
            EXPECT_EQ(ab[d] + a.offsets[e][d], cb[d] + acc.offsets[sources[e]][d])
                << "transposed " << transposed << ", thread " << warp * 32 + lane << ", A element "
                << e;
      }
  }
}

TEST_F(TileDistribution, ASliceHoldsTheRowsOfItsParentsElements) {
  for (Attribute parent : {mma(4, 1), mma(2, 2), mma(4, 1, true),
                           Attribute(BlockedLayoutAttr::get(&ctx, {1, 4}, {8, 4}, {4, 1}))}) {
    Distribution tile = of({64, 64}, parent);
    Distribution rows = of({64}, SliceLayoutAttr::get(&ctx, 1, parent));
    for (int64_t t = 0; t < 128; ++t) {
      auto tb = tile.baseAt(t % 32, t / 32), rb = rows.baseAt(t % 32, t / 32);
      for (int64_t e = 0; e < tile.count(); ++e) {
        int64_t slot = rows.sliceSlot(tile.offsets[e]);
        ASSERT_GE(slot, 0);
        EXPECT_EQ(rb[0] + rows.offsets[slot][0], tb[0] + tile.offsets[e][0]);
      }
    }
  }
}

} // namespace

TEST_F(TileDistribution, RowsMoveInVectorAccessesTheirAlignmentAllows) {
  using Pieces = SmallVector<std::pair<int64_t, int64_t>>;
  Type bf16 = BFloat16Type::get(&ctx);
  // 4 adjacent bf16 per thread of a blocked tile: one 8-byte access with 16-byte rows, two
  // 4-byte ones with 4-byte rows, one element at a time without unit inner stride.
  Distribution blocked = of({32, 16}, BlockedLayoutAttr::get(&ctx, {1, 4}, {8, 4}, {4, 1}), bf16);
  ASSERT_EQ(blocked.count(), 4);
  EXPECT_EQ(accessPieces(blocked, 1, 16), (Pieces{{0, 4}}));
  EXPECT_EQ(accessPieces(blocked, 1, 4), (Pieces{{0, 2}, {2, 2}}));
  EXPECT_EQ(accessPieces(blocked, -1, 16), (Pieces{{0, 1}, {1, 1}, {2, 1}, {3, 1}}));
  EXPECT_EQ(accessPieces(blocked, 1, 0), (Pieces{{0, 1}, {1, 1}, {2, 1}, {3, 1}}));
  // An accumulator's pairs of adjacent columns: 8 bytes of f32 each.
  Distribution acc = of({16, 8}, mma(1, 1));
  EXPECT_EQ(accessPieces(acc, 1, 16), (Pieces{{0, 2}, {2, 2}}));
  // A B fragment's register pairs run down the reduction: adjacent in a row of the tile only
  // where it holds the transpose ([N, K], K contiguous, as a gram's right operand).
  for (auto [e, n] : accessPieces(of({16, 8}, dot(1, mma(1, 1)), bf16), 1, 16))
    EXPECT_EQ(n, 1) << "element " << e;
  EXPECT_EQ(accessPieces(of({8, 16}, dot(1, mma(1, 1), true), bf16), 1, 16),
            (Pieces{{0, 2}, {2, 2}}));
  // ... and, where memory holds the tile's transpose (lines along the tile's rows), the B
  // fragment's pairs run along a line: 4-byte accesses.
  EXPECT_EQ(accessPieces(of({16, 8}, dot(1, mma(1, 1)), bf16), 0, 16), (Pieces{{0, 2}, {2, 2}}));
  EXPECT_EQ(accessPieces(blocked, 0, 16), (Pieces{{0, 1}, {1, 1}, {2, 1}, {3, 1}}));
}
