#!/usr/bin/env python3
"""Side-by-side benchmark: gdn's kernels against flash-linear-attention on the same tensors.

    python3 bench/gdn_vs_fla.py --lib build/lib/libgdn.so --kernels build/bench-kernels \
        --out bench/results/perf-<device>-<date>.json [--commit C] [--cases a,b] [--warm-fla N]

One process: torch builds the inputs; gdn's kernels run through the C API of gdn/gdn.h
(ctypes, torch data pointers, the current stream); fla's chunk_gated_delta_rule (prefill)
and fused_recurrent_gated_delta_rule (decode), chunk_kda for the KDA cases, run on the same
tensors. Outputs and final states are compared with fla's. Both are timed the same two ways:
replayed from a CUDA graph (the primary figure) and eagerly with triton.testing.do_bench after >= 100 ms of warm-up;
medians. The device copy bandwidth is measured in the same run and gives the IO roofline
(bytes that must move / copy bandwidth). Before the timed run, up to --warm-fla processes call
fla once per case in parallel, so that Triton's compiles (most of the wall time) come from its
disk cache; the timed process still autotunes fla on an idle GPU.
"""
import argparse
import ctypes
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
import triton.testing

# ---------------------------------------------------------------------------------------------
# The C API (gdn/gdn.h)

DTYPES = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2, torch.int32: 3, torch.int64: 4}


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int64 * 4), ("has_strides", ctypes.c_int32),
                ("strides", ctypes.c_int64 * 4)]


class LayerArgs(ctypes.Structure):
    _fields_ = [(name, Tensor) for name in
                ("q", "k", "v", "g", "beta", "initial_state", "cu_seqlens", "o", "final_state")]
    _fields_ += [("cu_seqlens_host", ctypes.POINTER(ctypes.c_int64)),
                 ("workspace", ctypes.c_void_p), ("workspace_bytes", ctypes.c_size_t)]


def tensor_arg(t):
    arg = Tensor()
    if t is None:
        return arg
    arg.data = t.data_ptr()
    arg.dtype = DTYPES[t.dtype]
    arg.rank = t.dim()
    for i, (size, stride) in enumerate(zip(t.shape, t.stride())):
        arg.shape[i] = size
        arg.strides[i] = stride
    arg.has_strides = 1
    return arg


class Gdn:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.gdn_kernel_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        self.lib.gdn_kernel_launch.argtypes = [ctypes.c_void_p, ctypes.POINTER(LayerArgs),
                                               ctypes.c_void_p]
        self.lib.gdn_last_error.restype = ctypes.c_char_p
        self.lib.gdn_kernel_metadata.restype = ctypes.c_char_p
        self.lib.gdn_kernel_metadata.argtypes = [ctypes.c_void_p]
        self.lib.gdn_kernel_set_programmatic_launch.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.lib.gdn_kernel_workspace_size.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(LayerArgs), ctypes.POINTER(ctypes.c_size_t)]

    def load(self, prefix):
        handle = ctypes.c_void_p()
        if self.lib.gdn_kernel_load(prefix.encode(), ctypes.byref(handle)) != 0:
            raise RuntimeError(self.lib.gdn_last_error().decode())
        meta = dict(line.split(": ", 1) for line in
                    self.lib.gdn_kernel_metadata(handle).decode().splitlines() if ": " in line)
        return handle, meta

    def launcher(self, kernel, **tensors):
        """A zero-argument callable that launches on torch's current stream."""
        args = LayerArgs()
        for name, t in tensors.items():
            if name != "cu_seqlens_host":
                setattr(args, name, tensor_arg(t))
        host = tensors.get("cu_seqlens_host")
        if host is not None:
            args.cu_seqlens_host = host.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))
        # The workspace (chunked kernels) is a torch allocation made here, outside any
        # graph capture, as a serving stack would preallocate it.
        size = ctypes.c_size_t(0)
        if self.lib.gdn_kernel_workspace_size(kernel, ctypes.byref(args), ctypes.byref(size)) != 0:
            raise RuntimeError(self.lib.gdn_last_error().decode())
        workspace = None
        if size.value:
            workspace = torch.empty(size.value, device="cuda", dtype=torch.uint8)
            args.workspace = workspace.data_ptr()
            args.workspace_bytes = size.value
        keep = (args, host, workspace)

        def launch():
            stream = torch.cuda.current_stream().cuda_stream
            if self.lib.gdn_kernel_launch(kernel, ctypes.byref(keep[0]), stream) != 0:
                raise RuntimeError(self.lib.gdn_last_error().decode())
        return launch


# ---------------------------------------------------------------------------------------------
# Timing

def graph_ms(fn, replays=20, inner=None):
    """Median time of one call, replayed from a CUDA graph (several calls per graph for short
    kernels, so that graph launch overhead does not dominate)."""
    fn()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    torch.cuda.synchronize()
    once = start.elapsed_time(end)
    inner = inner or max(1, min(50, int(1.0 / max(once, 1e-3))))
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(inner):
            fn()
    for _ in range(3):
        graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(replays):
        start.record()
        graph.replay()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / inner)
    return statistics.median(times)


def eager_ms(fn):
    # Warm up >= 100 ms, then do_bench's median.
    return triton.testing.do_bench(fn, warmup=100, rep=200, return_mode="median")


def copy_bandwidth():
    """Device copy bandwidth in bytes/s, counting bytes read plus bytes written: the median of
    single 1 GiB device-to-device copies timed with events (as gdn-bench does; a graph of
    copies measured about 20% less on the H100)."""
    n = 1 << 30
    src = torch.empty(n // 4, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    dst.copy_(src)
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(10):
        start.record()
        dst.copy_(src)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return 2 * n / (statistics.median(times) * 1e-3)


# ---------------------------------------------------------------------------------------------
# Cases

PREFILL = [
    # name, B, T, H, HV, K, kernel
    ("1x8192_16/16", 1, 8192, 16, 16, 128, "gdn_h16_hv16_k128_few"),
    ("4x4096_32/32", 4, 4096, 32, 32, 128, "gdn_h32_hv32_k128"),
    ("1x32768_32/32", 1, 32768, 32, 32, 128, "gdn_h32_hv32_k128_few"),
    ("8x2048_16/32", 8, 2048, 16, 32, 128, "gdn_h16_hv32_k128"),
    ("1x8192_16/32", 1, 8192, 16, 32, 128, "gdn_h16_hv32_k128_few"),
    ("2x4096_16/16_k256", 2, 4096, 16, 16, 256, "gdn_h16_hv16_k256"),
    ("16x1024_16/16", 16, 1024, 16, 16, 128, "gdn_h16_hv16_k128"),
    ("1x2048_2/8", 1, 2048, 2, 8, 128, "gdn_h2_hv8_k128"),
]
# KDA (channel gates, delta rule) against fla's chunk_kda: (name, B, T, H, HV, K, kernel).
KDA = [
    ("kda_4x4096_32/32", 4, 4096, 32, 32, 128, "kda_h32_hv32_k128"),
    ("kda_1x8192_16/16", 1, 8192, 16, 16, 128, "kda_h16_hv16_k128"),
]
VARLEN_LENGTHS = [4096, 512, 3000, 1, 2048, 4315, 1024, 1388]  # 8 sequences, sum 16384
DECODE_BATCHES = [1, 64, 256]


def make_inputs(B, T, H, HV, K, N, seed, channel=False):
    g = torch.Generator(device="cuda").manual_seed(seed)
    dev = "cuda"
    q = torch.randn(B, T, H, K, device=dev, dtype=torch.bfloat16, generator=g)
    k = torch.randn(B, T, H, K, device=dev, dtype=torch.bfloat16, generator=g)
    v = torch.randn(B, T, HV, K, device=dev, dtype=torch.bfloat16, generator=g)
    gate_shape = (B, T, HV, K) if channel else (B, T, HV)
    gate = F.logsigmoid(torch.randn(*gate_shape, device=dev, dtype=torch.float32, generator=g))
    beta = torch.sigmoid(torch.randn(B, T, HV, device=dev, dtype=torch.float32, generator=g))
    h0 = 0.1 * torch.randn(N, HV, K, K, device=dev, dtype=torch.float32, generator=g)
    return q, k, v, gate, beta, h0


def io_bytes(B, T, H, HV, K, N, channel=False):
    # q, k, v, o bf16; g (K per token and head with channel gates), beta f32; the state read
    # and written f32.
    gates = B * T * HV * (K if channel else 1) * 4
    return ((2 * B * T * H * K + 2 * B * T * HV * K) * 2 + gates + B * T * HV * 4
            + 2 * N * HV * K * K * 4)


def errors(got, want):
    diff = (got.float() - want.float()).abs()
    return diff.max().item(), (diff.max() / want.float().abs().max().clamp_min(1e-30)).item()


def fla_prefill():
    from fla.ops.gated_delta_rule import chunk_gated_delta_rule
    return chunk_gated_delta_rule


def fla_kda():
    from fla.ops.kda import chunk_kda
    return chunk_kda


def fla_decode():
    from fla.ops.gated_delta_rule import fused_recurrent_gated_delta_rule
    return fused_recurrent_gated_delta_rule


def expand_heads(x, HV):
    """q/k heads repeated to the value heads (GVA), for an fla that takes H == HV only."""
    H = x.shape[2]
    return x if H == HV else x.repeat_interleave(HV // H, dim=2)


def fla_caller(q, k, v, gate, beta, h0, HV, K, cu=None, decode=False, channel=False):
    """fla's function for the case on these tensors, as a no-argument call, and a probe of
    whether it took the GVA shapes natively (else q/k heads are repeated)."""
    fn = fla_decode() if decode else fla_kda() if channel else fla_prefill()
    state = {"gva_native": True}
    kwargs = dict(scale=K ** -0.5, initial_state=h0, output_final_state=True,
                  use_qk_l2norm_in_kernel=True)
    if cu is not None:  # made here: no host-to-device copy inside a graph capture
        kwargs["cu_seqlens"] = torch.tensor(cu, device="cuda", dtype=torch.long)

    def theirs():
        # Keywords: fused_recurrent_gated_delta_rule takes gk and gv between g and beta.
        if state["gva_native"]:
            try:
                return fn(q, k, v, g=gate, beta=beta, **kwargs)
            except Exception:  # an fla without GVA: repeat q/k heads
                state["gva_native"] = False
        return fn(expand_heads(q, HV), expand_heads(k, HV), v, g=gate, beta=beta, **kwargs)

    return theirs, state


def warm_fla(B, T, H, HV, K, kernel_name, cu=None, decode=False, seed=0, channel=False):
    """One call of fla's function for a case: Triton compiles (and autotunes) its kernels into
    the on-disk cache, which the timed process then reads instead of compiling."""
    N = len(cu) - 1 if cu is not None else B
    q, k, v, gate, beta, h0 = make_inputs(B, T, H, HV, K, N, seed, channel)
    theirs, _ = fla_caller(q, k, v, gate, beta, h0, HV, K, cu, decode, channel)
    theirs()
    torch.cuda.synchronize()


def run_case(gdn, kernels, name, B, T, H, HV, K, kernel_name, cu=None, decode=False, seed=0,
             channel=False):
    N = len(cu) - 1 if cu is not None else B
    q, k, v, gate, beta, h0 = make_inputs(B, T, H, HV, K, N, seed, channel)
    handle, meta = gdn.load(os.path.join(kernels, kernel_name))
    o = torch.empty(B, T, HV, K, device="cuda", dtype=torch.bfloat16)
    ht = torch.empty(N, HV, K, K, device="cuda", dtype=torch.float32)
    cu_dev = None if cu is None else torch.tensor(cu, device="cuda", dtype=torch.int32)
    cu_host = None if cu is None else np.asarray(cu, dtype=np.int64)
    ours = gdn.launcher(handle, q=q, k=k, v=v, g=gate, beta=beta, initial_state=h0,
                        cu_seqlens=cu_dev, o=o, final_state=ht, cu_seqlens_host=cu_host)
    theirs, fla_state = fla_caller(q, k, v, gate, beta, h0, HV, K, cu, decode, channel)

    ours()
    torch.cuda.synchronize()
    o_ref, ht_ref = theirs()
    torch.cuda.synchronize()
    abs_o, rel_o = errors(o, o_ref)
    abs_s, rel_s = errors(ht, ht_ref)

    gdn_ms = graph_ms(ours)
    # The same with programmatic dependent launch off (kernels from sm_90 on may be scheduled
    # once their predecessor's blocks have retired, including the next replay's first kernel):
    # what the graph costs when every kernel waits for the previous one to complete.
    programmatic = meta.get("programmatic_launch") == "1"
    gdn_serialized_ms = gdn_ms
    if programmatic:
        if gdn.lib.gdn_kernel_set_programmatic_launch(handle, 0) != 0:
            raise RuntimeError(gdn.lib.gdn_last_error().decode())
        gdn_serialized_ms = graph_ms(ours)
        gdn.lib.gdn_kernel_set_programmatic_launch(handle, 1)
    fla_ms = graph_ms(theirs)
    gdn_eager = eager_ms(ours)
    fla_eager = eager_ms(theirs)
    return {
        "case": name, "shape": {"B": B, "T": T, "H": H, "HV": HV, "K": K, "V": K, "N": N},
        "kernel": meta.get("kind", "?"),
        # The launch contract of the kernel timed (its tiling as far as the metadata says).
        "kernel_metadata": {key: meta[key] for key in (
            "chunk_size", "v_tile", "block_size", "shared_memory_bytes", "segments",
            "prep_block_size", "prep_shared_memory_bytes", "chip") if key in meta},
        "gdn_ms": gdn_ms, "fla_ms": fla_ms,
        "gdn_serialized_ms": gdn_serialized_ms, "programmatic_launch": programmatic,
        "speedup_serialized": fla_ms / gdn_serialized_ms,
        "gdn_eager_ms": gdn_eager, "fla_eager_ms": fla_eager, "speedup": fla_ms / gdn_ms,
        "io_bytes": io_bytes(B, T, H, HV, K, N, channel),
        "max_abs_err": max(abs_o, abs_s), "max_rel_err": max(rel_o, rel_s),
        "o_max_rel_err": rel_o, "state_max_rel_err": rel_s,
        "fla_gva_native": fla_state["gva_native"],
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib", required=True)
    p.add_argument("--kernels", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--commit", default="unknown")
    p.add_argument("--cases", default="")
    p.add_argument("--warm-fla", type=int, default=min(8, os.cpu_count() or 1),
                   help="processes that first call fla once per case, in parallel, so that "
                        "Triton's compiles land in its disk cache before the timed run (0: off)")
    p.add_argument("--warm-case", help=argparse.SUPPRESS)  # a warm-up worker's one case
    args = p.parse_args()
    want = set(filter(None, args.cases.split(",")))
    cases = all_cases()
    if args.warm_case:
        warm_fla(**dict(cases)[args.warm_case])
        return 0
    selected = [name for name, _ in cases if not want or name in want]
    if args.warm_fla > 0:
        warm_up(args, selected)
    gdn = Gdn(args.lib)
    bandwidth = copy_bandwidth()
    device = torch.cuda.get_device_name()
    print(f"{device}, copy bandwidth {bandwidth / 1e12:.2f} TB/s, commit {args.commit}")
    print(f"{'case':24} {'kernel':9} {'gdn ms':>9} {'fla ms':>9} {'speedup':>8} {'serial':>8} "
          f"{'roofline':>9} "
          f"{'gdn eager':>10} {'fla eager':>10} {'o rel':>8} {'h rel':>8} {'wall':>6}")
    results = []
    for name, params in cases:
        if name not in selected:
            continue
        started = time.monotonic()
        r = run_case(gdn, args.kernels, name, **params)
        r["roofline_ms"] = r["io_bytes"] / bandwidth * 1e3
        # Wall time of the case (inputs, fla's autotuning, both timings; fla's compiles too
        # without the warm-up): the whole run must fit the device's 10-minute command limit.
        r["case_wall_s"] = time.monotonic() - started
        results.append(r)
        print(f"{r['case']:24} {r['kernel']:9} {r['gdn_ms']:9.3f} {r['fla_ms']:9.3f} "
              f"{r['speedup']:8.3f} {r['gdn_serialized_ms']:8.3f} {r['roofline_ms']:9.3f} "
              f"{r['gdn_eager_ms']:10.3f} "
              f"{r['fla_eager_ms']:10.3f} {r['o_max_rel_err']:8.1e} {r['state_max_rel_err']:8.1e} "
              f"{r['case_wall_s']:5.0f}s")
        # Written after every case, so that a failure later keeps what was measured.
        report = {"commit": args.commit, "device": device,
                  "date": datetime.date.today().isoformat(),
                  "copy_bandwidth_GBps": bandwidth / 1e9, "versions": versions(),
                  "cases": results}
        with open(args.out, "w") as f:
            json.dump(finite_or_null(report), f, indent=1, allow_nan=False)
    return 0


def finite_or_null(x):
    """x with every inf or NaN float replaced by None: JSON has neither (json.dump would write
    the non-standard `Infinity` / `NaN`, which strict readers reject), and an error that
    overflowed must still leave a loadable file."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite_or_null(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite_or_null(v) for v in x]
    return x


def versions():
    """The reference's and the framework's versions: fla's times depend on them."""
    from importlib import metadata
    found = {}
    for package in ("fla-core", "torch", "triton"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    found["torch_cuda"] = torch.version.cuda
    return found


def warm_up(args, names):
    """Runs fla once per case in up to args.warm_fla processes at a time (Triton compiles
    each kernel configuration it autotunes over; serially that was ~9 of the run's 10 minutes
    on the H100; 14 cases took 185 s with 8 processes). Only compiled kernels carry over (the
    workers do not store fla's autotuning choices): the timed process autotunes again, on an
    idle GPU. A failed worker only means that case compiles in the timed process."""
    started = time.monotonic()
    pending = list(names)
    running = []
    failed = []
    # fla stores its autotuning choices in Triton's cache by default: chosen while the workers
    # share the GPU, they made fla up to 24% slower in the timed run (fce16ee, H100). The
    # workers keep only the compiled kernels.
    env = dict(os.environ, FLA_CACHE_RESULTS="0")
    while pending or running:
        while pending and len(running) < args.warm_fla:
            name = pending.pop(0)
            cmd = [sys.executable, os.path.abspath(__file__), "--lib", args.lib, "--kernels",
                   args.kernels, "--out", os.devnull, "--warm-case", name]
            # stderr to a file: a full pipe would stall a worker until it is read.
            log = tempfile.TemporaryFile()
            running.append((name, log, subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                                        stderr=log, env=env)))
        name, log, proc = running.pop(0)
        proc.wait()
        if proc.returncode != 0:
            failed.append(name)
            log.seek(0)
            sys.stderr.write(f"warm-up of {name} failed (it compiles in the timed run):\n"
                             f"{log.read().decode(errors='replace')[-2000:]}\n")
        log.close()
    print(f"fla warm-up: {len(names)} cases in {time.monotonic() - started:.0f} s "
          f"({args.warm_fla} processes{', failed: ' + ', '.join(failed) if failed else ''})")


def all_cases():
    """Every case: (name, run_case keywords)."""
    cases = [(name, dict(B=B, T=T, H=H, HV=HV, K=K, kernel_name=kernel))
             for name, B, T, H, HV, K, kernel in PREFILL]
    cu = [0]
    for n in VARLEN_LENGTHS:
        cu.append(cu[-1] + n)
    cases.append(("varlen_8x_16384_16/32", dict(B=1, T=cu[-1], H=16, HV=32, K=128, cu=cu,
                                                 kernel_name="gdn_h16_hv32_k128_varlen")))
    cases += [(name, dict(B=B, T=T, H=H, HV=HV, K=K, kernel_name=kernel, channel=True))
              for name, B, T, H, HV, K, kernel in KDA]
    for B in DECODE_BATCHES:
        cases.append((f"decode_B{B}_16/32", dict(B=B, T=1, H=16, HV=32, K=128, decode=True,
                                                 kernel_name=f"gdn_h16_hv32_k128_decode_b{B}")))
    return cases


if __name__ == "__main__":
    sys.exit(main())
