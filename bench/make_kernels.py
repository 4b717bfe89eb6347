#!/usr/bin/env python3
"""Compiles the kernels of the side-by-side benchmark (bench/gdn_vs_fla.py) with gdn-compile.

    bench/make_kernels.py BUILD_DIR OUTDIR [--chunk-size C --v-tile VT --warps W --prefill-only]
                                           [--no-ldmatrix] [--no-state-wy] [--prep-inverse]
                                           [--qs-early] [--sliced-state] [--prep-warps W]
                                           [--segments P] [--stages S] [--k-split 2]
                                           [--whole-chunk-copies]
                                           [--stmatrix-stores | --no-stmatrix-stores]
                                           [--only NAME,...] [--defaults]

One kernel per layer variant (B and T stay dynamic): Gated DeltaNet, bf16, qk_l2norm,
initial and final state, for each (H, HV, K, V) of the benchmark, a packed-batch variant,
and the decode step. The benchmark needs no MLIR: these files travel to the GPU machine.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "gpu"))
from make_artifacts import layer_source  # noqa: E402

# name: (H, HV, K, V, varlen, decode, tiling); `_few` kernels serve the cases with few
# (sequence, head) streams (B = 1). The chunked kernels' tiling per shape bucket is the fastest
# of the gdn-bench sweeps on the H100 (bench/results/sweep-chunked-h100-*.txt, runs F to K):
# the sliced state pass (the default) with V tile 128 where many (sequence, head) streams fill
# the SMs and 64 where fewer must; chunk 16 where there are 256 streams or a packed batch
# (its smaller solve wins there), 32 elsewhere; three shared-memory stages (copies two chunks
# ahead) for the fixed-length buckets; the segmented state pass for B = 1 (4 segments for 8
# and 16 streams, 2 for 32); K = 256 the sliced pass at chunk 16 (K x C <= 4096), V tile 64, 4
# stages (0.288 vs 0.637 ms tiled at chunk 32, sweep run Q). Whole chunks' copies unpredicated
# (--whole-chunk-copies) where that was faster (sweep run AE: +1.5-5%; the 3-stage wide and
# the KDA buckets lost 3-7%, the 4-segment bucket was even). Outputs leave through stmatrix
# and 16-byte row pieces (the default on sm_90) except in the chunk-32 and K = 256 buckets,
# where the per-element stores were 1-1.5% faster (sweep run AH; chunk 16 gained up to 4%).
# Four stages for the 2-segment and the KDA 4-segment buckets (run AI: 1.6-2% faster; even or
# slower elsewhere). The sliced pass's products are wgmma on sm_90a (the default) except in
# the 3-stage chunk-16 Gated DeltaNet buckets, K = 256 and KDA's 4-segment bucket, where
# mma.sync was 4-11% faster (sweep run AJ; wgmma gained 2-10% everywhere else). With wgmma,
# 4 stages for the packed and the wide KDA buckets and stmatrix stores for the 2-segment
# ones gained 1-2.6% (run AJ). On the H200 (run BA) B4 T4096 H32 moved to chunk 32, V tile
# 128, 3 stages, whole-chunk copies, wgmma: 0.318 vs 0.336 ms for the chunk-16 bucket (every
# other wide bucket 2-35% slower at chunk 32).
WHOLE = ["--whole-chunk-copies"]
ELEMENT_STORES = ["--no-stmatrix-stores"]
MMA_SYNC = ["--no-wgmma"]
SLICED_WIDE_C16 = ["--chunk-size", "16", "--v-tile", "128", "--stages", "3"]
SLICED_WIDE_C16_S4 = ["--chunk-size", "16", "--v-tile", "128", "--stages", "4"] + WHOLE
SLICED_WIDE_C32 = ["--chunk-size", "32", "--v-tile", "128", "--stages", "3"] + WHOLE
SLICED_C16_SEG4 = ["--chunk-size", "16", "--v-tile", "64", "--stages", "4", "--segments", "4"]
SLICED_SEG4 = (["--chunk-size", "32", "--v-tile", "64", "--stages", "3", "--segments", "4"]
               + ELEMENT_STORES)
# Few streams over very long sequences (H2/HV8, T >= 32768: Qwen3-Next at tensor-parallel 8):
# 8 segments. Issue 23 measured gdn-compile's default kernel (no segments) at 2.22 ms and
# --segments 8 at 0.68 ms for B1 T65536 on the H100.
SLICED_SEG8 = (["--chunk-size", "32", "--v-tile", "64", "--stages", "3", "--segments", "8"]
               + ELEMENT_STORES)
SLICED_SEG2 = ["--chunk-size", "32", "--v-tile", "64", "--stages", "4", "--segments", "2"] + WHOLE
SLICED_C16_S4 = ["--chunk-size", "16", "--v-tile", "64", "--stages", "4"] + WHOLE
# One-warp prep blocks (a chunk per warp: no warps idle while one solves) in the chunk-16
# Gated DeltaNet buckets: the packed batch 27% faster, 8x2048 3.7%, 16x1024 1% (H200,
# sweep-chunked-h200-2026-12-02.txt, run BA; 4x4096 gained 1.3% before it moved to chunk 32);
# the chunk-32, K = 256 and KDA buckets keep 4 warps (even, or 2-18% slower there).
PREP_W1 = ["--prep-warps", "1"]
SLICED_K256 = (["--chunk-size", "16", "--v-tile", "64", "--stages", "4"] + WHOLE + ELEMENT_STORES
               + MMA_SYNC)
# name: (H, HV, K, V, varlen, decode, bucket[, gate]); the gate is scalar (Gated DeltaNet)
# unless named: "channel" is KDA (channel gates, delta rule).
VARIANTS = {
    "gdn_h16_hv16_k128": (16, 16, 128, 128, False, False, SLICED_WIDE_C16 + MMA_SYNC + PREP_W1),
    "gdn_h16_hv16_k128_few": (16, 16, 128, 128, False, False, SLICED_SEG4),
    "gdn_h32_hv32_k128": (32, 32, 128, 128, False, False, SLICED_WIDE_C32),
    "gdn_h32_hv32_k128_few": (32, 32, 128, 128, False, False, SLICED_SEG2),
    "gdn_h16_hv32_k128": (16, 32, 128, 128, False, False, SLICED_WIDE_C16 + MMA_SYNC + PREP_W1),
    "gdn_h16_hv32_k128_few": (16, 32, 128, 128, False, False, SLICED_SEG2),
    "gdn_h16_hv16_k256": (16, 16, 256, 256, False, False, SLICED_K256),
    "gdn_h2_hv8_k128": (2, 8, 128, 128, False, False, SLICED_SEG4),
    "gdn_h2_hv8_k128_long": (2, 8, 128, 128, False, False, SLICED_SEG8),
    "gdn_h16_hv32_k128_varlen": (16, 32, 128, 128, True, False, SLICED_C16_S4 + PREP_W1),
    "gdn_h16_hv32_k128_decode": (16, 32, 128, 128, False, True, None),
    "kda_h32_hv32_k128": (32, 32, 128, 128, False, False, SLICED_WIDE_C16_S4, "channel"),
    "kda_h16_hv16_k128": (16, 16, 128, 128, False, False, SLICED_C16_SEG4 + MMA_SYNC, "channel"),
}

# (B, T) of the decode kernels: one token at B = 1, 64, 256, 512; multi-token decode (a
# speculative-decoding verify step) of 2-8 tokens per sequence.
DECODE_SHAPES = [(1, 1), (64, 1), (256, 1), (512, 1), (1, 4), (64, 2), (64, 4), (64, 8), (256, 4)]

# gdn-compile's on/off options a bucket may switch off: (name, help of --no-NAME, of --NAME).
SWITCHES = [
    ("stmatrix-stores", "one 16-bit store per output element (the sliced pass stores rows "
     "through stmatrix by default on sm_90)", "stmatrix output stores in every bucket (on sm_90)"),
    ("wgmma", "mma.sync for every product (the sliced pass uses wgmma by default on sm_90a at "
     "V tile 64 and 128)", "wgmma in every bucket (where it applies)"),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("out")
    p.add_argument("--chunk-size", type=int)
    p.add_argument("--v-tile", type=int)
    p.add_argument("--warps", type=int)
    p.add_argument("--prefill-only", action="store_true", help="skip the decode kernels")
    p.add_argument("--only", help="comma-separated variant names to compile (default: all)")
    p.add_argument("--defaults", action="store_true",
                   help="start every kernel from gdn-compile's defaults (what a user gets "
                        "untuned) instead of its bucket's tiling; other options still apply")
    # gdn-compile's chunked-kernel options, for A/B runs (scripts/bench-variants).
    p.add_argument("--no-ldmatrix", action="store_true",
                   help="chunked kernels: 32-bit shared loads instead of ldmatrix")
    p.add_argument("--no-state-wy", action="store_true",
                   help="chunked kernels: W and U in the workspace (the prep applies (I + A)^-1)")
    p.add_argument("--prep-inverse", action="store_true",
                   help="with --no-state-wy: explicit (I + A)^-1 and tensor-core W, U in the prep")
    p.add_argument("--qs-early", action="store_true",
                   help="chunked kernels: Q S beside K S in every bucket")
    p.add_argument("--sliced-state", action="store_true",
                   help="chunked kernels: the sliced state pass in every bucket where it applies "
                        "(K x chunk <= 4096; V tile / 16 warps); others keep their bucket's tiling")
    p.add_argument("--prep-warps", type=int, choices=(1, 2, 4, 8),
                   help="chunked kernels: warps per block of the prep kernel")
    p.add_argument("--segments", type=int,
                   help="chunked kernels: segments per sequence for the segmented state pass "
                        "(where it applies: sliced, fixed-length)")
    p.add_argument("--stages", type=int, choices=(2, 3, 4),
                   help="chunked kernels (sliced): shared-memory stages of the chunk tiles")
    p.add_argument("--k-split", type=int, choices=(1, 2),
                   help="chunked kernels (sliced): warps sharing each 16 value columns")
    p.add_argument("--whole-chunk-copies", action="store_true",
                   help="chunked kernels: whole chunks' tiles copied unpredicated in every bucket")
    # On/off pairs whose "off" flag a bucket may carry; either replaces the bucket's choice.
    for switch, off_help, on_help in SWITCHES:
        pair = p.add_mutually_exclusive_group()
        pair.add_argument(f"--no-{switch}", action="store_true",
                          help="chunked kernels: " + off_help)
        pair.add_argument(f"--{switch}", action="store_true", help="chunked kernels: " + on_help)
    p.add_argument("--generated", action="store_true",
                   help="prefill kernels from the generated lowering (--kernel generated, "
                        "--chunk-size 64, --v-tile 64 unless given, 8 warps) instead of the kernel fragments; "
                        "variants it does not lower yet (channel gates) are skipped, and one "
                        "it refuses is reported and left out")
    p.add_argument("--recompute", action="store_true",
                   help="with --generated: the step recomputes W, U, Q' and K' (gdn-compile "
                        "--recompute)")
    p.add_argument("--no-sliced-state", action="store_true",
                   help="chunked kernels: the tiled state pass in every bucket")
    args = p.parse_args()
    only = set(args.only.split(",")) if args.only else None
    if only and not only <= set(VARIANTS):
        sys.stderr.write(f"make_kernels: no variant {', '.join(sorted(only - set(VARIANTS)))}\n")
        return 1
    os.makedirs(args.out, exist_ok=True)
    for name, (H, HV, K, V, varlen, decode, bucket, *gate) in VARIANTS.items():
        if only and name not in only:
            continue
        # The bucket's tiling, with --chunk-size / --v-tile / --warps / --stages / --segments /
        # --k-split from the command line taking the place of the bucket's (and --v-tile 16's
        # qs-early choice staying the bucket's only when the V tile is the bucket's), and
        # --prep-warps in every bucket.
        options, flags, it = ({} if args.defaults else {"--warps": "8"}), [], \
            iter([] if args.defaults else bucket or [])
        for token in it:
            if token in ("--chunk-size", "--v-tile", "--warps", "--stages", "--segments",
                         "--k-split", "--prep-warps"):
                options[token] = next(it)
            else:
                flags.append(token)
        chunk = int(args.chunk_size or options.get("--chunk-size", 32))
        split = int(args.k_split or options.get("--k-split", 1))
        sliced = args.sliced_state and K * chunk <= 4096 * split
        # With --sliced-state, buckets it does not apply to keep their own tiling.
        overrides = [] if args.sliced_state and not sliced else [
            ("--chunk-size", args.chunk_size), ("--v-tile", args.v_tile), ("--warps", args.warps),
            ("--stages", args.stages), ("--segments", args.segments), ("--k-split", args.k_split)]
        overrides.append(("--prep-warps", args.prep_warps))  # the prep, whatever the state pass
        for flag, value in overrides:
            if value is not None:
                if flag == "--v-tile" and str(value) != options.get(flag):
                    flags = [f for f in flags if f != "--qs-early"]
                options[flag] = str(value)
        if options.get("--prep-warps") == "1" and int(options.get("--chunk-size", 32)) > 32:
            del options["--prep-warps"]  # one-warp prep blocks need chunk 16 or 32
        tiling = [x for kv in options.items() for x in kv] + flags
        tiling += ["--no-ldmatrix"] if args.no_ldmatrix else []
        tiling += ["--no-state-wy"] if args.no_state_wy else []
        tiling += ["--prep-inverse"] if args.prep_inverse else []
        tiling += ["--qs-early"] if args.qs_early and "--qs-early" not in tiling else []
        tiling += (["--whole-chunk-copies"]
                   if args.whole_chunk_copies and "--whole-chunk-copies" not in tiling else [])
        for switch, _, _ in SWITCHES:
            on, off = (getattr(args, prefix + switch.replace("-", "_")) for prefix in ("", "no_"))
            if on or off:  # the bucket's choice replaced
                tiling = [f for f in tiling if f != f"--no-{switch}"]
                tiling += [f"--no-{switch}"] if off else []
        if sliced:
            tiling = [f for f in tiling if f != "--no-sliced-state"]
        if args.no_sliced_state and "--no-sliced-state" not in tiling:
            tiling += ["--no-sliced-state"]
        if decode and args.prefill_only:
            continue
        if args.generated:
            if decode or gate:
                print(f"make_kernels: {name}: skipped (not lowered by the generated kernels yet)")
                continue
            tiling = ["--kernel", "generated", "--chunk-size", str(args.chunk_size or 64),
                      "--warps", str(args.warps or 8), "--v-tile", str(args.v_tile or 64)] + \
                     (["--recompute"] if args.recompute else [])
        # Decode layers fix B and T in the type: one kernel per (batch, tokens) of the
        # benchmark's decode and multi-token decode cases.
        for B, T in DECODE_SHAPES if decode else [(None, None)]:
            kernel = name if B is None else f"{name}_b{B}" + (f"_t{T}" if T > 1 else "")
            case = (kernel, gate[0] if gate else "scalar", "delta", "bf16", H, HV, K, V, True, True, True, None,
                    varlen, decode, B or 1, T or 1)
            path = os.path.join(args.out, kernel + ".mlir")
            with open(path, "w") as f:
                f.write(layer_source(case))
            r = subprocess.run([os.path.join(args.build, "bin", "gdn-compile"), path, "-o",
                                os.path.join(args.out, kernel)]
                               + (tiling if not decode else []),
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.stderr.write(f"make_kernels: {kernel}: {r.stderr}")
                if args.generated:
                    continue  # reported: the lowering's limits are measured, not hidden
                return 1
    print(f"make_kernels: kernels in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
