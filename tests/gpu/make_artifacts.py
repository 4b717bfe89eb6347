#!/usr/bin/env python3
"""Writes the GPU test layers and compiles each with gdn-compile.

    make_artifacts.py GDN_COMPILE OUTDIR [--chip sm_90a]

OUTDIR gets <case>.mlir, <case>.ptx, <case>.cubin (when ptxas is found), <case>.meta, and
cases.txt: one line per case, "name B T", the batch and length the GPU test runs it with.
The GPU test binary needs no MLIR: these artifacts travel to the GPU machine with it.
"""
import argparse
import os
import re
import subprocess
import sys

# name, gate, rule, dtype, H, HV, K, V, init, final, l2norm, scale, varlen, decode, B, T
# (compiled with the recurrent kernel; CHUNKED_CASES below with the chunked one)
CASES = [
    # Every family, GVA, bf16, states in and out.
    ("linear_attention", "none", "additive", "bf16", 2, 4, 128, 128, True, True, False, None, False, False, 2, 67),
    ("mamba2", "scalar", "additive", "bf16", 2, 4, 128, 128, True, True, False, 1.0, False, False, 2, 67),
    ("gla", "channel", "additive", "bf16", 2, 4, 128, 128, True, True, False, None, False, False, 2, 67),
    ("deltanet", "none", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 67),
    ("gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 67),
    ("kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 67),
    # Element types.
    ("gated_deltanet_f16", "scalar", "delta", "f16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 67),
    ("gated_deltanet_f32", "scalar", "delta", "f32", 2, 4, 128, 128, True, True, True, None, False, False, 2, 67),
    ("kda_f32", "channel", "delta", "f32", 1, 2, 64, 64, True, True, False, 0.5, False, False, 2, 33),
    # Head dims, K != V.
    ("gated_deltanet_k64_v64", "scalar", "delta", "bf16", 4, 4, 64, 64, True, True, True, None, False, False, 3, 40),
    ("gated_deltanet_k256_v256", "scalar", "delta", "bf16", 1, 2, 256, 256, True, True, True, None, False, False, 2, 40),
    ("gated_deltanet_k64_v256", "scalar", "delta", "bf16", 2, 2, 64, 256, True, True, True, None, False, False, 2, 40),
    ("gated_deltanet_k256_v64", "scalar", "delta", "bf16", 2, 8, 256, 64, True, True, True, None, False, False, 2, 40),
    # State options.
    ("gated_deltanet_no_states", "scalar", "delta", "bf16", 2, 4, 128, 128, False, False, True, None, False, False, 2, 67),
    ("gated_deltanet_final_only", "scalar", "delta", "bf16", 2, 4, 128, 128, False, True, True, None, False, False, 2, 67),
    # Packed batches.
    ("gated_deltanet_varlen", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 97),
    ("kda_varlen", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 97),
    # Decode: one token (and four) per sequence, state read once and written once.
    ("gated_deltanet_decode", "scalar", "delta", "bf16", 16, 32, 128, 128, True, True, True, None, False, True, 8, 1),
    ("gated_deltanet_decode_t4", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, True, 3, 4),
]

# The chunked tensor-core kernel: name, gdn-compile flags, then the fields above. Lengths cover
# several chunks, a short last chunk, and a sequence shorter than one chunk.
CHUNKED_CASES = [
    ("chunked_gated_deltanet", ["--chunk-size", "64"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 200),
    ("chunked_deltanet", ["--chunk-size", "64"], "deltanet", "none", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_linear_attention", ["--chunk-size", "64"], "linear_attention", "none", "additive", "bf16", 2, 2, 128, 128, True, True, False, None, False, False, 2, 130),
    ("chunked_mamba2", ["--chunk-size", "64"], "mamba2", "scalar", "additive", "bf16", 2, 4, 128, 128, True, True, False, 1.0, False, False, 2, 100),
    ("chunked_k64_v64", ["--chunk-size", "64"], "gated_deltanet", "scalar", "delta", "bf16", 4, 4, 64, 64, True, True, True, None, False, False, 3, 70),
    ("chunked_k64_v256", ["--chunk-size", "64"], "gated_deltanet", "scalar", "delta", "bf16", 2, 2, 64, 256, True, True, True, None, False, False, 2, 90),
    ("chunked_short", ["--chunk-size", "64"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 17),
    ("chunked_no_states", ["--chunk-size", "64"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, False, False, True, None, False, False, 2, 129),
    ("chunked_varlen", ["--chunk-size", "64"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 300),
    ("chunked_c32", ["--chunk-size", "32"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_c16", ["--chunk-size", "16"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 75),
    ("chunked_vt64_w4", ["--v-tile", "64", "--warps", "4"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_vt16", ["--v-tile", "16"], "deltanet", "none", "delta", "bf16", 2, 4, 64, 128, True, True, True, None, True, False, 3, 150),
    ("chunked_f16", ["--chunk-size", "32"], "gated_deltanet", "scalar", "delta", "f16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_f16_additive", ["--chunk-size", "64", "--v-tile", "64", "--warps", "4"], "mamba2", "scalar", "additive", "f16", 2, 4, 64, 64, True, True, False, 1.0, False, False, 2, 150),
    ("chunked_k256", ["--chunk-size", "32"], "gated_deltanet", "scalar", "delta", "bf16", 1, 2, 256, 256, True, True, True, None, False, False, 2, 100),
    ("chunked_k128_v256_c16", ["--chunk-size", "16"], "gated_deltanet", "scalar", "delta", "bf16", 2, 2, 128, 256, True, True, True, None, True, False, 3, 120),
    # Channel gates (KDA, GLA): gated tiles and a decay vector from the prep kernel. Sliced
    # at C = 32 (one off-diagonal block) and V tile 128 with 3 stages; tiled at C = 64 (three
    # off-diagonal row blocks); C = 16 (diagonal blocks only) f16 varlen; K = 256 (tiled pass).
    ("chunked_kda", ["--chunk-size", "32"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_kda_vt128_stages3", ["--chunk-size", "32", "--v-tile", "128", "--stages", "3"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 100),
    ("chunked_kda_c64_tiled", ["--chunk-size", "64"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_kda_c16_f16_varlen", ["--chunk-size", "16"], "kda", "channel", "delta", "f16", 2, 4, 64, 128, True, True, True, None, True, False, 3, 120),
    ("chunked_kda_segments4", ["--chunk-size", "32", "--v-tile", "64", "--stages", "3", "--segments", "4"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 300),
    ("chunked_gla_segments3_vt32", ["--chunk-size", "32", "--v-tile", "32", "--segments", "3"], "gla", "channel", "additive", "bf16", 1, 2, 64, 128, True, True, False, None, False, False, 2, 200),
    ("chunked_gla", ["--chunk-size", "32"], "gla", "channel", "additive", "bf16", 2, 4, 128, 128, True, True, False, None, False, False, 2, 150),
    ("chunked_gla_k256_vt32", ["--chunk-size", "32", "--v-tile", "32"], "gla", "channel", "additive", "bf16", 1, 2, 256, 128, True, True, False, None, False, False, 2, 100),
    ("chunked_kda_bf16_gates", ["--chunk-size", "16"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 100),
    ("chunked_kda_shared_loads_no_states", ["--chunk-size", "32", "--no-ldmatrix"], "kda", "channel", "delta", "bf16", 2, 4, 64, 128, False, False, True, None, False, False, 2, 90),
    ("chunked_kda_k256", ["--chunk-size", "32"], "kda", "channel", "delta", "bf16", 1, 2, 256, 256, False, True, True, 0.5, False, False, 2, 70),
    # Since the defaults are ldmatrix and state-wy, the cases above run those; these keep the
    # other paths covered. 32-bit shared loads instead of ldmatrix:
    ("chunked_shared_loads", ["--chunk-size", "32", "--no-ldmatrix"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_shared_loads_f16_varlen", ["--chunk-size", "64", "--v-tile", "16", "--no-ldmatrix"], "mamba2", "scalar", "additive", "f16", 2, 4, 64, 64, True, True, False, 1.0, True, False, 3, 150),
    # W and U in the workspace (--no-state-wy): column-per-thread solve, or the explicit
    # inverse with tensor-core W, U (--prep-inverse): bf16, ungated, f16 varlen at C = 64.
    ("chunked_w_u_workspace", ["--chunk-size", "32", "--no-state-wy"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_prep_inverse", ["--chunk-size", "32", "--no-state-wy", "--prep-inverse"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_prep_inverse_shared_loads", ["--chunk-size", "16", "--no-state-wy", "--prep-inverse", "--no-ldmatrix"], "deltanet", "none", "delta", "bf16", 2, 4, 64, 128, True, True, True, None, False, False, 2, 75),
    ("chunked_prep_inverse_f16_varlen", ["--chunk-size", "64", "--v-tile", "16", "--no-state-wy", "--prep-inverse"], "gated_deltanet", "scalar", "delta", "f16", 2, 4, 128, 64, True, True, True, None, True, False, 3, 200),
    # The state pass applies (I + A)^-1 (the default): bf16 C = 32 varlen, ungated f16 varlen
    # at C = 64, K != V at C = 16, shared loads, additive layers (unaffected).
    ("chunked_state_wy_varlen", ["--chunk-size", "32"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 3, 170),
    ("chunked_state_wy_f16_varlen", ["--chunk-size", "64", "--v-tile", "16"], "deltanet", "none", "delta", "f16", 2, 4, 128, 64, True, True, True, None, True, False, 3, 200),
    ("chunked_state_wy_k64_v128_c16", ["--chunk-size", "16"], "gated_deltanet", "scalar", "delta", "bf16", 2, 2, 64, 128, False, True, True, None, False, False, 2, 75),
    ("chunked_state_wy_shared_loads", ["--chunk-size", "32", "--no-ldmatrix"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    # Q S beside K S (qs-early): bf16 V tile 16 varlen, f16 C = 64 with K != V.
    ("chunked_qs_early_varlen", ["--chunk-size", "32", "--v-tile", "16", "--qs-early"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 3, 170),
    ("chunked_qs_early_f16_c64", ["--chunk-size", "64", "--v-tile", "32", "--qs-early"], "gated_deltanet", "scalar", "delta", "f16", 2, 2, 64, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_state_wy_additive", ["--chunk-size", "32"], "mamba2", "scalar", "additive", "bf16", 2, 4, 64, 64, True, True, False, 1.0, False, False, 2, 100),
    # S^T in registers, 16 value columns per warp (sliced-state, the default where it
    # applies): each V tile (1, 2, 4 and 8 warps), each chunk size, varlen, f16, K != V,
    # ungated, additive, no states. The cases above with K = 128 at C = 64 or K = 256 run the
    # tiled state pass, which the option falls back to there.
    ("chunked_sliced_vt128", ["--sliced-state", "--chunk-size", "32", "--v-tile", "128"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_sliced_k64_vt64_c64", ["--sliced-state", "--chunk-size", "64", "--v-tile", "64"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 64, 128, True, True, True, None, False, False, 2, 200),
    ("chunked_sliced_vt16_varlen", ["--sliced-state", "--chunk-size", "32", "--v-tile", "16"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 3, 170),
    ("chunked_sliced_f16_c16", ["--sliced-state", "--chunk-size", "16", "--v-tile", "32"], "deltanet", "none", "delta", "f16", 2, 2, 64, 128, True, True, True, None, False, False, 2, 75),
    ("chunked_sliced_k128_v64_varlen", ["--sliced-state", "--chunk-size", "32", "--v-tile", "32"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 64, False, True, True, None, True, False, 3, 200),
    ("chunked_sliced_additive", ["--sliced-state", "--chunk-size", "32", "--v-tile", "64"], "mamba2", "scalar", "additive", "bf16", 2, 4, 64, 64, True, True, False, 1.0, False, False, 2, 100),
    ("chunked_sliced_linear_attention_no_states", ["--sliced-state", "--chunk-size", "16", "--v-tile", "128"], "linear_attention", "none", "additive", "f16", 2, 2, 128, 128, False, False, False, None, False, False, 2, 130),
    # K = 256 at chunk 16 (K x C = 4096: no spills, 228-253 registers): V tiles 32 and 128,
    # 4 segments, a packed batch in f16, KDA (per-column decay of the 256-wide S^T).
    ("chunked_sliced_k256_c16_vt64", ["--chunk-size", "16", "--v-tile", "64", "--stages", "3"], "gated_deltanet", "scalar", "delta", "bf16", 2, 2, 256, 256, True, True, True, None, False, False, 2, 90),
    ("chunked_sliced_k256_v128_c16_vt128", ["--chunk-size", "16", "--v-tile", "128", "--stages", "4"], "gated_deltanet", "scalar", "delta", "bf16", 1, 2, 256, 128, True, True, True, None, False, False, 2, 75),
    ("chunked_sliced_k256_c16_segments4", ["--chunk-size", "16", "--v-tile", "64", "--stages", "3", "--segments", "4"], "gated_deltanet", "scalar", "delta", "bf16", 1, 2, 256, 256, True, True, True, None, False, False, 1, 200),
    ("chunked_sliced_k256_c16_f16_varlen", ["--chunk-size", "16", "--v-tile", "32"], "deltanet", "none", "delta", "f16", 2, 2, 256, 64, True, True, True, None, True, False, 3, 100),
    ("chunked_sliced_kda_k256_c16", ["--chunk-size", "16", "--v-tile", "64"], "kda", "channel", "delta", "bf16", 1, 2, 256, 256, True, True, True, None, False, False, 2, 70),
    # k-split 2 (two warps per 16 value columns, each with half of K; partial K S and Q S
    # swapped through shared memory): K = 256 at chunk 32, a packed batch in 4 segments,
    # KDA (per-column decay of each half), additive f16 (Q S only) at chunk 64 V tile 16,
    # GLA K = 256, ungated without states.
    ("chunked_ksplit2_k256_c32", ["--chunk-size", "32", "--v-tile", "64", "--stages", "3", "--k-split", "2"], "gated_deltanet", "scalar", "delta", "bf16", 2, 2, 256, 256, True, True, True, None, False, False, 2, 150),
    ("chunked_ksplit2_segments4_varlen", ["--chunk-size", "32", "--v-tile", "64", "--stages", "3", "--segments", "4", "--k-split", "2"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 700),
    ("chunked_ksplit2_kda_c16", ["--chunk-size", "16", "--v-tile", "32", "--k-split", "2"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 100),
    ("chunked_ksplit2_additive_f16_c64", ["--chunk-size", "64", "--v-tile", "16", "--k-split", "2"], "mamba2", "scalar", "additive", "f16", 2, 4, 64, 64, True, True, False, 1.0, False, False, 2, 150),
    ("chunked_ksplit2_gla_k256", ["--chunk-size", "32", "--v-tile", "64", "--k-split", "2"], "gla", "channel", "additive", "bf16", 1, 2, 256, 128, True, True, False, None, False, False, 2, 100),
    ("chunked_ksplit2_deltanet_no_states", ["--chunk-size", "16", "--v-tile", "64", "--stages", "4", "--k-split", "2"], "deltanet", "none", "delta", "bf16", 2, 2, 128, 128, False, False, True, None, False, False, 2, 90),
    # Smaller prep blocks (the prep kernel's warps loop over more rows, tiles and columns):
    ("chunked_prep_w2", ["--chunk-size", "32", "--v-tile", "128", "--prep-warps", "2"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_prep_w4_k64_varlen", ["--chunk-size", "16", "--prep-warps", "4"], "gated_deltanet", "scalar", "delta", "f16", 2, 4, 64, 64, True, True, True, None, True, False, 3, 90),
    ("chunked_prep_w2_k256_no_norm", ["--chunk-size", "32", "--prep-warps", "2"], "deltanet", "none", "delta", "bf16", 1, 2, 256, 128, True, True, False, None, False, False, 2, 70),
    # One warp per prep block (chunk 16 or 32): the wide buckets' tiling, KDA packed, K = 256
    # in f16, additive in 4 segments, W and U in the workspace, the prep-inverse solve (packed).
    ("chunked_prep_w1_c16_vt128", ["--chunk-size", "16", "--v-tile", "128", "--stages", "4", "--whole-chunk-copies", "--prep-warps", "1"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_prep_w1_kda_c32_varlen", ["--chunk-size", "32", "--v-tile", "64", "--prep-warps", "1"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 3, 170),
    ("chunked_prep_w1_k256_f16", ["--chunk-size", "16", "--v-tile", "64", "--prep-warps", "1"], "deltanet", "none", "delta", "f16", 1, 2, 256, 128, True, True, False, None, False, False, 2, 70),
    ("chunked_prep_w1_additive_segments4", ["--chunk-size", "32", "--v-tile", "64", "--segments", "4", "--prep-warps", "1"], "mamba2", "scalar", "additive", "bf16", 1, 2, 64, 64, True, True, False, 1.0, False, False, 1, 300),
    ("chunked_prep_w1_w_u_workspace", ["--chunk-size", "32", "--v-tile", "64", "--no-sliced-state", "--no-state-wy", "--prep-warps", "1"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 64, 64, True, True, True, None, False, False, 2, 100),
    ("chunked_prep_w1_prep_inverse", ["--chunk-size", "16", "--v-tile", "64", "--no-sliced-state", "--no-state-wy", "--prep-inverse", "--prep-warps", "1"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 64, 64, True, True, True, None, True, False, 3, 90),
    # Segmented state pass (segment states and transitions, their chain, then every segment
    # at once): a short last chunk and segment, empty segments (5 chunks in 8 segments), two
    # segments (no chain), the additive rule, V tiles 16 to 128, no initial state.
    ("chunked_segments4", ["--chunk-size", "32", "--v-tile", "64", "--segments", "4"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 300),
    ("chunked_segments8_empty_k64", ["--chunk-size", "16", "--v-tile", "64", "--segments", "8"], "deltanet", "none", "delta", "f16", 2, 2, 64, 128, True, True, True, None, False, False, 2, 70),
    ("chunked_segments2_additive", ["--chunk-size", "32", "--v-tile", "128", "--segments", "2"], "mamba2", "scalar", "additive", "bf16", 2, 4, 128, 128, False, True, False, 1.0, False, False, 2, 200),
    ("chunked_segments3_vt16", ["--chunk-size", "32", "--v-tile", "16", "--segments", "3"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 1, 333),
    # Packed batches split each sequence (random lengths: segments of different spans, some
    # empty): bf16 at 3 stages; f16 K = 256 at chunk 16 without an initial state.
    ("chunked_segments4_varlen", ["--chunk-size", "32", "--v-tile", "64", "--stages", "3", "--segments", "4"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 700),
    ("chunked_segments3_varlen_f16_k256", ["--chunk-size", "16", "--v-tile", "32", "--segments", "3"], "deltanet", "none", "delta", "f16", 1, 2, 256, 64, False, True, True, None, True, False, 3, 250),
    # Deeper copy pipelines in the sliced pass (copies 2 and 3 chunks ahead): more chunks than
    # stages, fewer (3 chunks, 4 stages, one segment empty), a packed batch.
    ("chunked_stages3", ["--chunk-size", "32", "--v-tile", "128", "--stages", "3"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_stages4_segments4_short", ["--chunk-size", "16", "--v-tile", "64", "--stages", "4", "--segments", "4"], "deltanet", "none", "delta", "f16", 2, 2, 64, 128, True, True, True, None, False, False, 2, 40),
    ("chunked_stages3_varlen", ["--chunk-size", "32", "--v-tile", "32", "--stages", "3"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 3, 170),
    # Whole chunks copied without per-row predicates (whole-chunk-copies; short last chunks
    # and segments keep them): 2 segments with a short last chunk, V tile 128 at 4 stages, a
    # packed batch at chunk 16, K = 256, the tiled pass at chunk 64, KDA's gated tiles, the
    # additive rule in 4 segments with empty ones.
    ("chunked_whole_segments2", ["--chunk-size", "32", "--v-tile", "64", "--stages", "3", "--segments", "2", "--whole-chunk-copies"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 301),
    ("chunked_whole_vt128_s4", ["--chunk-size", "16", "--v-tile", "128", "--stages", "4", "--whole-chunk-copies"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_whole_varlen_c16", ["--chunk-size", "16", "--v-tile", "64", "--whole-chunk-copies"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 400),
    ("chunked_whole_k256_c16", ["--chunk-size", "16", "--v-tile", "64", "--stages", "4", "--whole-chunk-copies"], "gated_deltanet", "scalar", "delta", "bf16", 1, 2, 256, 256, True, True, True, None, False, False, 2, 90),
    ("chunked_whole_tiled_c64", ["--chunk-size", "64", "--whole-chunk-copies"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 200),
    ("chunked_whole_kda_c16", ["--chunk-size", "16", "--v-tile", "64", "--whole-chunk-copies"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_whole_additive_segments4", ["--chunk-size", "16", "--v-tile", "64", "--segments", "4", "--whole-chunk-copies"], "mamba2", "scalar", "additive", "f16", 2, 2, 64, 128, True, True, False, 1.0, False, False, 2, 70),
    # The sliced pass stores outputs through stmatrix on sm_90 (every sliced case above); the
    # per-element 16-bit stores it keeps for older chips: chunk 32 with a short last chunk, the
    # 2-segment benchmark bucket (4 stages, whole-chunk copies), and chunk 16 in a packed batch;
    # KDA in 4 segments at 4 stages (its benchmark bucket).
    ("chunked_scalar_stores_c32", ["--chunk-size", "32", "--v-tile", "64", "--no-stmatrix-stores"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_stages4_segments2_c32", ["--chunk-size", "32", "--v-tile", "64", "--stages", "4", "--segments", "2", "--whole-chunk-copies", "--no-stmatrix-stores"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 301),
    ("chunked_kda_stages4_segments4_c16", ["--chunk-size", "16", "--v-tile", "64", "--stages", "4", "--segments", "4"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_scalar_stores_varlen_c16", ["--chunk-size", "16", "--v-tile", "128", "--no-stmatrix-stores"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 300),
    # wgmma (sm_90a: the sliced pass at V tile 64 and 128, every such case above): f16 at K =
    # 64 (update m64n64), K = 256 at V tile 128 (m64n256, two warpgroups), the additive rule,
    # KDA's gated tiles at V tile 128, no gate in a packed batch; and mma.sync at the same V
    # tiles (--no-wgmma): the wide and the segmented benchmark buckets.
    ("chunked_wgmma_f16_k64", ["--chunk-size", "32", "--v-tile", "64"], "deltanet", "none", "delta", "f16", 2, 4, 64, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_wgmma_k256_vt128", ["--chunk-size", "16", "--v-tile", "128", "--stages", "3"], "gated_deltanet", "scalar", "delta", "bf16", 1, 2, 256, 256, True, True, True, None, False, False, 2, 90),
    ("chunked_wgmma_additive", ["--chunk-size", "32", "--v-tile", "128"], "mamba2", "scalar", "additive", "bf16", 2, 4, 128, 128, True, True, False, 1.0, False, False, 2, 130),
    ("chunked_wgmma_kda_vt128", ["--chunk-size", "16", "--v-tile", "128", "--stages", "3"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_wgmma_varlen_c32", ["--chunk-size", "32", "--v-tile", "64", "--stages", "3"], "deltanet", "none", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 400),
    # The wide Gated DeltaNet bucket (B4 T4096 H32): chunk 32, V tile 128, 3 stages, whole-chunk
    # copies, wgmma; T not a multiple of the chunk.
    ("chunked_wgmma_c32_vt128_s3_whole", ["--chunk-size", "32", "--v-tile", "128", "--stages", "3", "--whole-chunk-copies"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 3, 300),
    ("chunked_mma_sync_vt128_c16", ["--chunk-size", "16", "--v-tile", "128", "--stages", "3", "--no-wgmma"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("chunked_mma_sync_segments4_c32", ["--chunk-size", "32", "--v-tile", "64", "--stages", "3", "--segments", "4", "--no-wgmma"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 300),
]
# The generic fused kernel (--kernel generic: the chunk program of gdn-chunkwise and
# gdn-split-chunk-loop lowered op by op, one block per sequence and value head, f32 on CUDA
# cores; what a tile program no fragment implements gets): every family, f32 inputs (which the
# fragments do not take), a packed batch, K != V, no states, decode.
GENERIC_CASES = [
    ("generic_gated_deltanet", ["--chunk-size", "16"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 75),
    ("generic_kda", ["--chunk-size", "16"], "kda", "channel", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 50),
    ("generic_gla_c32", ["--chunk-size", "32"], "gla", "channel", "additive", "bf16", 2, 4, 128, 128, True, True, False, None, False, False, 2, 70),
    ("generic_mamba2_f16_c32", ["--chunk-size", "32"], "mamba2", "scalar", "additive", "f16", 2, 4, 64, 64, True, True, False, 1.0, False, False, 2, 100),
    ("generic_linear_attention_no_states", ["--chunk-size", "16"], "linear_attention", "none", "additive", "bf16", 2, 2, 128, 128, False, False, False, None, False, False, 2, 40),
    ("generic_deltanet_varlen", ["--chunk-size", "16"], "deltanet", "none", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 120),
    ("generic_gated_deltanet_f32_k64", ["--chunk-size", "16"], "gated_deltanet", "scalar", "delta", "f32", 2, 4, 64, 64, True, True, True, 0.5, False, False, 2, 50),
    ("generic_k64_v256_final_only", ["--chunk-size", "16"], "gated_deltanet", "scalar", "delta", "bf16", 2, 2, 64, 256, False, True, True, None, False, False, 2, 40),
    ("generic_decode", ["--chunk-size", "16"], "gated_deltanet", "scalar", "delta", "bf16", 16, 32, 128, 128, True, True, True, None, False, True, 8, 1),
]

# The generated kernels (--kernel generated: gdn-assign-layouts, gdn-chunk-kernels and
# gdn-tiles-to-gpu on the split chunked form; mma.sync products): the scalar-gate and gateless
# families, both rules, chunks of 64 and 32 rows (4 warps as 4 x 1 and 2 x 2), f16, K = V = 64, no
# states, packed batches, short last chunks and a sequence shorter than a chunk, V tiles of 32, 64
# (the default) and 128 (none).
GENERATED_CASES = [
    ("generated_gated_deltanet", ["--chunk-size", "64"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 200),
    ("generated_gated_deltanet_c32", ["--chunk-size", "32"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 3, 111),
    ("generated_deltanet", ["--chunk-size", "64"], "deltanet", "none", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    ("generated_mamba2_f16", ["--chunk-size", "64"], "mamba2", "scalar", "additive", "f16", 2, 4, 128, 128, True, True, False, 1.0, False, False, 2, 130),
    ("generated_linear_attention_no_states", ["--chunk-size", "64"], "linear_attention", "none", "additive", "bf16", 2, 2, 128, 128, False, False, False, None, False, False, 2, 40),
    ("generated_gated_deltanet_k64", ["--chunk-size", "64"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 64, 64, True, True, True, 0.5, False, False, 2, 100),
    ("generated_gated_deltanet_varlen", ["--chunk-size", "64"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, True, False, 5, 197),
    ("generated_linear_attention_varlen_c32", ["--chunk-size", "32"], "linear_attention", "none", "additive", "bf16", 2, 4, 128, 128, True, True, False, None, True, False, 4, 90),
    # Tiles of value columns (gdn-tile-value-columns, block z; 64 is the default above): 32
    # columns (4 tiles, the delta rule and the additive rule's per-chunk K^T V), and none.
    ("generated_gated_deltanet_vt32", ["--chunk-size", "64", "--v-tile", "32"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 130),
    ("generated_mamba2_varlen_vt32", ["--chunk-size", "32", "--v-tile", "32"], "mamba2", "scalar", "additive", "bf16", 2, 4, 128, 128, True, True, False, None, True, False, 3, 100),
    ("generated_gated_deltanet_vt128", ["--chunk-size", "64", "--v-tile", "128"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
    # The step recomputing W, U, Q', K' (and the additive rule's products) from q, k, v and what
    # crosses (--recompute): the delta rule tiled, the additive rule packed.
    ("generated_gated_deltanet_recompute", ["--chunk-size", "64", "--recompute"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 170),
    ("generated_mamba2_varlen_recompute", ["--chunk-size", "32", "--v-tile", "64", "--recompute"], "mamba2", "scalar", "additive", "bf16", 2, 4, 128, 128, True, True, False, None, True, False, 3, 100),
]

# Tile programs edited by hand (what a researcher writing a variant at the tile level does):
# the layer through gdn-chunkwise and gdn-split-chunk-loop (gdn-opt), then `edit` on the text,
# then gdn-compile on that chunked form. No kernel fragment implements the edited program, so
# it gets the generic fused kernel. The edit keeps the layer's meaning (the Q scale s applied as
# 2 then s / 2), so the float64 reference of the layer checks it.
# GPU edges (EdgeTest.cpp): Gated DeltaNet, B = 1, H = HV, K = V = 128, bf16, states in and
# out, qk_l2norm, on each kernel kind. Compiled here, run by name (not listed in cases.txt).
EDGE_KINDS = [("chunked", ["--kernel", "chunked"]),
              ("segments", ["--kernel", "chunked", "--segments", "8"]),
              ("recurrent", ["--kernel", "recurrent"]),
              ("generic", ["--kernel", "generic", "--chunk-size", "16"])]
EDGE_CASES = [(f"edge_{kind}_h{h}", flags, "gated_deltanet", "scalar", "delta", "bf16", h, h, 128,
               128, True, True, True, None, False, False, 1, 0)
              for h in (4, 8) for kind, flags in EDGE_KINDS]


def split_q_scale(text):
    pattern = re.compile(r"^(\s*)(%\w+) = gdn\.tile\.row_scale (%\w+) "
                         r"\{factor = ([0-9.e+-]+) : f32\} : (tensor<[^>]*>)$", re.M)
    def twice(m):
        indent, result, x, factor, t = m.groups()
        return (f"{indent}%q_doubled = gdn.tile.row_scale {x} {{factor = 2.0 : f32}} : {t}\n"
                f"{indent}{result} = gdn.tile.row_scale %q_doubled "
                f"{{factor = {float(factor) / 2!r} : f32}} : {t}")
    edited, count = pattern.subn(twice, text, count=1)
    if count != 1:
        raise RuntimeError("split_q_scale: no Q scale in the chunked form")
    return edited


# name, chunk size, edit, then the fields of CASES.
TILE_EDIT_CASES = [
    ("tile_edit_gated_deltanet", 16, split_q_scale, "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 75),
    ("tile_edit_gla_varlen", 32, split_q_scale, "gla", "channel", "additive", "bf16", 2, 4, 64, 128, True, True, False, 0.25, True, False, 3, 90),
]

# The same kind of edit, at chunk 64, for the generated kernels (gdn-compile --kernel generated).
GENERATED_TILE_EDIT_CASES = [
    ("tile_edit_gated_deltanet_c64", 64, split_q_scale, "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 150),
]

# The recurrent kernel with other block sizes (name, gdn-compile flags, then the fields of
# CASES): whole warps give each thread 4 columns over a quarter of K (the default block of
# 64 does too); other sizes one column over all K.
RECURRENT_BLOCK_CASES = [
    ("recurrent_block16_kda", ["--block-size", "16"], "kda", "channel", "delta", "bf16", 2, 4, 64, 64, True, True, True, None, False, False, 2, 20),
    ("recurrent_block32_decode_f16", ["--block-size", "32"], "gated_deltanet", "scalar", "delta", "f16", 2, 4, 256, 128, True, True, True, None, False, True, 5, 1),
    ("recurrent_block128_varlen_f32", ["--block-size", "128"], "deltanet", "none", "delta", "f32", 2, 2, 64, 128, False, True, True, None, True, False, 3, 40),
    # 8 K slices (K / 8 state rows per thread, 16 columns per warp): decode, a prefill layer,
    # f32 KDA at K = 64 (8 rows), a 128-thread block.
    ("recurrent_kslices8_decode", ["--k-slices", "8"], "gated_deltanet", "scalar", "delta", "bf16", 16, 32, 128, 128, True, True, True, None, False, True, 8, 1),
    ("recurrent_kslices8_gated_deltanet", ["--k-slices", "8"], "gated_deltanet", "scalar", "delta", "bf16", 2, 4, 128, 128, True, True, True, None, False, False, 2, 40),
    ("recurrent_kslices8_kda_f32_k64", ["--k-slices", "8"], "kda", "channel", "delta", "f32", 1, 2, 64, 64, True, True, False, 0.5, False, False, 2, 33),
    ("recurrent_kslices8_block128_varlen", ["--k-slices", "8", "--block-size", "128"], "deltanet", "none", "delta", "bf16", 2, 2, 64, 128, False, True, True, None, True, False, 3, 40),
]


# Cases whose g and beta come in the input type instead of f32.
GATES_IN_INPUT_TYPE = {"chunked_kda_bf16_gates"}


def layer_source(case):
    (name, gate, rule, dtype, H, HV, K, V, init, final, l2norm, scale, varlen, decode, B, T) = case
    name = name.replace("-", "_")
    b = str(B) if decode else ("1" if varlen else "?")
    t = str(T) if decode else "?"
    n = str(B) if decode else "?"
    qt = f"tensor<{b}x{t}x{H}x{K}x{dtype}>"
    vt = f"tensor<{b}x{t}x{HV}x{V}x{dtype}>"
    gdt = dtype if name in GATES_IN_INPUT_TYPE else "f32"
    gt = f"tensor<{b}x{t}x{HV}x{K}x{gdt}>" if gate == "channel" else f"tensor<{b}x{t}x{HV}x{gdt}>"
    bt = f"tensor<{b}x{t}x{HV}x{gdt}>"
    st = f"tensor<{n}x{HV}x{K}x{V}xf32>"
    operands = f"q(%q : {qt}) k(%k : {qt}) v(%v : {vt})"
    if gate != "none":
        operands += f" g(%g : {gt})"
    if rule == "delta":
        operands += f" beta(%beta : {bt})"
    if decode:
        operands += f" state(%s : {st})"
    elif init:
        operands += f" initial_state(%s : {st})"
    if varlen:
        operands += " cu_seqlens(%cu : tensor<?xi32>)"
    attrs = []
    if l2norm:
        attrs.append("qk_l2norm")
    if scale is not None:
        attrs.append(f"scale = {scale} : f32")
    attr_text = (" {" + ", ".join(attrs) + "}") if attrs else ""
    results = vt + (f", {st}" if (final or decode) else "")
    lhs = "%o, %s1" if (final or decode) else "%o"
    op = "gdn.decode" if decode else "gdn.recurrence"
    return (f"func.func @{name}(%q: {qt}, %k: {qt}, %v: {vt}, %g: {gt}, %beta: {bt}, "
            f"%s: {st}, %cu: tensor<?xi32>) {{\n"
            f"  {lhs} = {op} <{gate}, {rule}> {operands}{attr_text} -> {results}\n"
            f"  return\n}}\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("gdn_compile")
    parser.add_argument("outdir")
    parser.add_argument("--chip", default="sm_90a")
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    gdn_opt = os.path.join(os.path.dirname(args.gdn_compile), "gdn-opt")

    def tile_edited(case, chunk, edit):
        """The layer's split chunked form (gdn-opt), edited; None (after a message) on failure."""
        layer = os.path.join(args.outdir, case[0] + ".layer.mlir")
        with open(layer, "w") as f:
            f.write(layer_source(case))
        form = subprocess.run([gdn_opt, layer, f"--gdn-chunkwise=chunk-size={chunk}",
                               "--gdn-split-chunk-loop"], capture_output=True, text=True)
        if form.returncode != 0:
            sys.stderr.write(f"make_artifacts: {case[0]}: {form.stderr}")
            return None
        return edit(form.stdout)

    # name, case, gdn-compile flags, the source's maker, a note gdn-compile must print.
    jobs = [(case[0], case, ["--kernel", "recurrent"], layer_source, None) for case in CASES]
    jobs += [(c[0], (c[0],) + c[3:], ["--kernel", "chunked"] + c[1], layer_source, None)
             for c in CHUNKED_CASES]
    jobs += [(c[0], (c[0],) + c[3:], ["--kernel", "recurrent"] + c[1], layer_source, None)
             for c in RECURRENT_BLOCK_CASES]
    jobs += [(c[0], (c[0],) + c[3:], ["--kernel", "generic"] + c[1], layer_source, None)
             for c in GENERIC_CASES]
    jobs += [(c[0], (c[0],) + c[3:], ["--kernel", "generated"] + c[1], layer_source, None)
             for c in GENERATED_CASES]
    # The edited Gated DeltaNet program through the generated lowering: its kernels as any other.
    jobs += [(c[0] + "_generated", (c[0] + "_generated",) + c[4:], ["--kernel", "generated"],
              lambda case, chunk=c[1], edit=c[2]: tile_edited(case, chunk, edit), None)
             for c in GENERATED_TILE_EDIT_CASES]
    # Edited tile programs: no fragment implements them, so kernel auto builds the generic one.
    jobs += [(c[0], (c[0],) + c[4:], [],
              lambda case, chunk=c[1], edit=c[2]: tile_edited(case, chunk, edit),
              "generic fused kernel") for c in TILE_EDIT_CASES]
    edges = [(c[0], (c[0],) + c[3:], c[1], layer_source, None) for c in EDGE_CASES]
    lines = []
    for name, case, kernel_args, source, note in jobs + edges:
        B, T = case[14], case[15]
        text = source(case)
        if text is None:
            return 1
        path = os.path.join(args.outdir, name + ".mlir")
        with open(path, "w") as f:
            f.write(text)
        result = subprocess.run([args.gdn_compile, path, "-o", os.path.join(args.outdir, name),
                                 "--chip", args.chip] + kernel_args, capture_output=True, text=True)
        if result.returncode != 0 or (note and note not in result.stderr):
            expected = f" (expected a note on the {note})" if note else ""
            sys.stderr.write(f"make_artifacts: {name}{expected}: {result.stderr}")
            return 1
        if not name.startswith("edge_"):
            lines.append(f"{name} {B} {T}\n")
    if compile_tile_programs(gdn_opt, args.outdir, args.chip) != 0:
        return 1
    with open(os.path.join(args.outdir, "cases.txt"), "w") as f:
        f.writelines(lines)
    print(f"make_artifacts: {len(lines)} kernels in {args.outdir}")
    return 0


# The tile programs with hand-written layouts (tests/gpu/tiles.mlir), lowered by
# gdn-tiles-to-gpu to one PTX module (bare pointers: one parameter per memref).
TILE_PIPELINE = (
    "builtin.module(gdn-tiles-to-gpu,nvvm-attach-target{{chip={chip} features=+ptx80 O=3}},"
    "gpu.module(convert-scf-to-cf,expand-strided-metadata,lower-affine,convert-nvgpu-to-nvvm,"
    "convert-gpu-to-nvvm{{use-bare-ptr-memref-call-conv=1}},canonicalize,cse,"
    "reconcile-unrealized-casts),gpu-module-to-binary{{format=isa}})")


def mlir_string(text):
    """The value of an MLIR string literal's body (\\XX hex escapes, \\\\, \\")."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n in "\\\"":
                out.append(n)
                i += 2
                continue
            out.append(chr(int(text[i + 1:i + 3], 16)))
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


def compile_tile_programs(gdn_opt, outdir, chip):
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiles.mlir")
    result = subprocess.run([gdn_opt, source, "--pass-pipeline=" + TILE_PIPELINE.format(chip=chip)],
                            capture_output=True, text=True)
    # The PTX is the gpu.binary's object: the longest string literal of the output.
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"', result.stdout)
    ptx = mlir_string(max(literals, key=len)) if literals else ""
    if result.returncode != 0 or ".entry" not in ptx:
        sys.stderr.write(f"make_artifacts: tiles.mlir: {result.stderr}")
        return 1
    with open(os.path.join(outdir, "tiles.ptx"), "w") as f:
        f.write(ptx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
