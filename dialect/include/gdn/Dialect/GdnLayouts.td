//===- GdnLayouts.td - how a tile value is distributed over a block -*- tablegen -*-===//
//
// Layouts of the chunked form's tile values on the GPU (docs/design.md §3.6): the encoding of a
// tile's tensor type says which thread of the block holds which element, or that the tile lives
// in shared memory. gdn-assign-layouts gives every tile value one; gdn.tile.convert_layout moves
// a value between two. The patterns that lower a tile op read its operands' and result's
// layouts, nothing else, to pick instructions.
//
//===----------------------------------------------------------------------===//

#ifndef GDN_DIALECT_GDNLAYOUTS_TD
#define GDN_DIALECT_GDNLAYOUTS_TD

include "mlir/IR/AttrTypeBase.td"

class Gdn_Layout<string name, string layoutMnemonic> : AttrDef<Gdn_Dialect, name> {
  let mnemonic = layoutMnemonic;
  let genVerifyDecl = 1;
}

def Gdn_MmaLayout : Gdn_Layout<"MmaLayout", "mma"> {
  let summary = "a tile held as tensor-core accumulator fragments";
  let description = [{
    The tile is covered by instruction tiles of `instr = [M, N, K]` (the product's M x N
    accumulator and its reduction step), spread over the block's warps `warps = [rows, columns]`
    and repeated over the tile. `version = 2`: `mma.sync` (instr `[16, 8, 16]`, one warp per
    instruction tile; sm_80 and later). `version = 3`: `wgmma` (instr `[64, N, 16]`, N a multiple
    of 8 up to 256, one warpgroup of four warps per instruction tile; `warps[0]` a multiple of 4;
    sm_90a). Each thread holds the accumulator elements the instruction gives its lane, in f32.
    `transposed`: the fragments hold the tile's transpose (the instruction's rows run along the
    tile's columns): a product into it is computed as (a b)^T = b^T a^T, its right operand `b`
    being the instruction's A; so a state S held as S^T in accumulators feeds the products
    X S straight from registers (the chunked kernels' sliced state pass).
  }];
  let parameters = (ins "unsigned":$version, ArrayRefParameter<"int64_t">:$instr,
                        ArrayRefParameter<"int64_t">:$warps,
                        DefaultValuedParameter<"bool", "false">:$transposed);
  let assemblyFormat = [{
    `<` `version` `=` $version `,` `instr` `=` `[` $instr `]` `,` `warps` `=` `[` $warps `]`
    (`,` `transposed` `=` $transposed^)? `>`
  }];
}

def Gdn_DotOperandLayout : Gdn_Layout<"DotOperandLayout", "dot_operand"> {
  let summary = "a tile held in registers as the left (0) or right (1) operand of a product";
  let description = [{
    The fragments that `parent`'s instruction reads as its A (`index = 0`, M x K) or B
    (`index = 1`, K x N) operand, in 16-bit elements, spread over the warps as the product's
    accumulator is. What `ldmatrix` loads from a shared tile, or what an accumulator of the same
    parent becomes in place (a left operand straight from registers). `transposed`: the
    instruction's operand is the tile's transpose (a product with `transpose_a`, the gram's
    right operand, and the operands of a product into a transposed accumulator, which computes
    (a b)^T = b^T a^T).
  }];
  // `parent` is an Attribute (checked to be #gdn.mma) so that it prints with its name.
  let parameters = (ins "unsigned":$index, "::mlir::Attribute":$parent,
                        DefaultValuedParameter<"bool", "false">:$transposed);
  let assemblyFormat = [{
    `<` `index` `=` $index `,` `parent` `=` $parent (`,` `transposed` `=` $transposed^)? `>`
  }];
}

def Gdn_SharedLayout : Gdn_Layout<"SharedLayout", "shared"> {
  let summary = "a tile in shared memory, rows swizzled";
  let description = [{
    The tile lives in shared memory, one row after another, each row's 16-byte pieces XOR
    swizzled within `swizzle` bytes (0: none; 32, 64 or 128: the patterns wgmma's descriptors and
    TMA name). `transposed`: the product that reads the tile takes it as its instruction's
    operand transposed (the other major-ness in wgmma's descriptor, ldmatrix `.trans`). Every
    thread of the block may read any element; a wgmma operand is read from here directly.
  }];
  let parameters = (ins "int64_t":$swizzle, "bool":$transposed);
  let assemblyFormat = "`<` `swizzle` `=` $swizzle `,` `transposed` `=` $transposed `>`";
}

def Gdn_BlockedLayout : Gdn_Layout<"BlockedLayout", "blocked"> {
  let summary = "a tile spread element-wise over the block's threads";
  let description = [{
    Each thread holds `per_thread` adjacent elements (per dimension); a warp's 32 lanes cover
    `lanes` such pieces (their product is 32); the warps cover `warps` of those; the pattern
    repeats over the tile. One entry per dimension of the tile. The layout of CUDA-core work:
    row gates, cumulative sums, row factors, loads from global memory.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$per_thread,
                        ArrayRefParameter<"int64_t">:$lanes,
                        ArrayRefParameter<"int64_t">:$warps);
  let assemblyFormat = [{
    `<` `per_thread` `=` `[` $per_thread `]` `,` `lanes` `=` `[` $lanes `]` `,` `warps` `=` `[`
    $warps `]` `>`
  }];
}

def Gdn_SliceLayout : Gdn_Layout<"SliceLayout", "slice"> {
  let summary = "a vector held as one dimension of a distributed tile";
  let description = [{
    A rank-1 value (row gates, row factors) held by the threads that hold `parent`'s rows
    (`dim = 1`: the tile's columns dropped, each thread has the values of its rows) or columns
    (`dim = 0`), so that an element-wise op with a tile of layout `parent` needs no exchange.
  }];
  let parameters = (ins "unsigned":$dim, "::mlir::Attribute":$parent);
  let assemblyFormat = "`<` `dim` `=` $dim `,` `parent` `=` $parent `>`";
}

#endif // GDN_DIALECT_GDNLAYOUTS_TD
