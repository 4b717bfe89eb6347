#!/usr/bin/env python3
"""Side-by-side benchmark: gdn's kernels against flash-linear-attention, FlashQLA and FlashInfer
on the same tensors.

    python3 bench/gdn_vs_fla.py --lib build/lib/libgdn.so --kernels build/bench-kernels \
        --out bench/results/perf-<device>-<date>.json [--commit C] [--cases a,b] [--warm-fla N]
        [--peers flashqla,flashinfer,flashinfer_bf16_state | none] [--fla-backend triton|auto]
        [--no-train] [--no-reference] [--warm-only]

One process: torch builds the inputs; gdn's kernels run through the C API of gdn/gdn.h
(ctypes, torch data pointers, the current stream); fla's chunk_gated_delta_rule (prefill)
and fused_recurrent_gated_delta_rule (decode), chunk_kda for the KDA cases, run on the same
tensors, and so do the peers (bench/peers.py says how each is called; their packages come
from scripts/peer-wheels). fla runs its own Triton kernels unless --fla-backend auto: with
flash_qla installed, fla would dispatch to it silently (FLA_FLASH_QLA=0 turns that off); each
case records the backend fla's dispatcher used. Outputs and final states are compared with
fla's on every case, and every system with a float64 recurrence on small shapes. Every system
is timed the same two ways: replayed from a CUDA graph (the primary figure; a peer whose call
cannot be captured is timed eagerly and compared with the others' eager figures) and eagerly
with triton.testing.do_bench after >= 100 ms of warm-up; medians. The device copy bandwidth is
measured in the same run and gives the IO roofline (bytes that must move / copy bandwidth).
Before the timed run, up to --warm-fla processes call fla and the peers once per case in
parallel, so that Triton's, TileLang's and CuTe DSL's compiles come from their disk caches;
the timed process still autotunes fla on an idle GPU. Forward + backward (training) is timed
for fla and FlashQLA on TRAIN_CASES (gdn has no backward kernels yet).
"""
import argparse
import ctypes
import datetime
import json
import logging
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
import triton.testing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

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
                 ("workspace", ctypes.c_void_p), ("workspace_bytes", ctypes.c_size_t),
                 ("segments", ctypes.c_int64)]  # 0: the kernel's choice


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
    # Long context, few heads: Qwen3-Next at tensor-parallel 8 (H2/HV8) and at 1 (H16/HV32).
    ("1x8192_2/8", 1, 8192, 2, 8, 128, "gdn_h2_hv8_k128"),
    ("1x32768_2/8", 1, 32768, 2, 8, 128, "gdn_h2_hv8_k128_long"),
    ("1x65536_2/8", 1, 65536, 2, 8, 128, "gdn_h2_hv8_k128_long"),
    ("1x65536_16/32", 1, 65536, 16, 32, 128, "gdn_h16_hv32_k128_few"),
]
# KDA (channel gates, delta rule) against fla's chunk_kda: (name, B, T, H, HV, K, kernel).
KDA = [
    ("kda_4x4096_32/32", 4, 4096, 32, 32, 128, "kda_h32_hv32_k128"),
    ("kda_1x8192_16/16", 1, 8192, 16, 16, 128, "kda_h16_hv16_k128"),
]
VARLEN_LENGTHS = [4096, 512, 3000, 1, 2048, 4315, 1024, 1388]  # 8 sequences, sum 16384
# A packed batch of many short sequences (a serving prefill batch): 256 lengths in [64, 512].
MANY_SHORT = [random.Random(256).randint(64, 512) for _ in range(256)]
# (B, T): one-token decode, and multi-token decode (a speculative-decoding verify step).
DECODE_SHAPES = [(1, 1), (64, 1), (256, 1), (512, 1), (1, 4), (64, 2), (64, 4), (64, 8), (256, 4)]
# Cases whose forward and backward (training) are also timed, for fla and FlashQLA (gdn has no
# backward yet).
TRAIN_CASES = ["4x4096_32/32", "8x2048_16/32", "1x8192_16/32", "1x32768_2/8"]


def make_inputs(B, T, H, HV, K, N, seed, channel=False, decode=False):
    """q, k, v, g, beta, h0 and, for decode cases, the raw gate inputs (a, b) that FlashInfer's
    decode kernels take (g = -softplus(a), beta = sigmoid(b), bfloat16 a and b)."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    dev = "cuda"
    q = torch.randn(B, T, H, K, device=dev, dtype=torch.bfloat16, generator=g)
    k = torch.randn(B, T, H, K, device=dev, dtype=torch.bfloat16, generator=g)
    v = torch.randn(B, T, HV, K, device=dev, dtype=torch.bfloat16, generator=g)
    raw = None
    if decode:
        a = torch.randn(B, T, HV, device=dev, generator=g).to(torch.bfloat16)
        b = torch.randn(B, T, HV, device=dev, generator=g).to(torch.bfloat16)
        gate, beta = peers.decode_gates(a, b)
        raw = (a, b)
    else:
        gate_shape = (B, T, HV, K) if channel else (B, T, HV)
        gate = F.logsigmoid(torch.randn(*gate_shape, device=dev, dtype=torch.float32,
                                        generator=g))
        beta = torch.sigmoid(torch.randn(B, T, HV, device=dev, dtype=torch.float32, generator=g))
    h0 = 0.1 * torch.randn(N, HV, K, K, device=dev, dtype=torch.float32, generator=g)
    return q, k, v, gate, beta, h0, raw


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


class FlaDispatch(logging.Handler):
    """Which backend fla's dispatcher sent a call to: fla logs "[FLA Backend] op.fn -> name"
    once per process for each (op, function, backend); the log memo is cleared before each
    observed call. No message means fla's own Triton kernels ran."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.seen = []
        logger = logging.getLogger("fla.backends")
        logger.setLevel(logging.INFO)
        logger.addHandler(self)

    def emit(self, record):
        self.seen.append(record.getMessage())

    def observe(self, fn):
        try:
            import fla.backends as registry
            for r in list(registry._operation_registries.values()) + list(
                    registry._function_registries.values()):
                r._logged.clear()
        except (ImportError, AttributeError):
            pass
        self.seen = []
        result = fn()
        used = [m.split("-> ", 1)[1] for m in self.seen if "-> " in m and "rejected" not in m]
        rejected = [m.split("-> ", 1)[1] for m in self.seen if "rejected" in m]
        return result, {"backend": used[0] if used else "triton (fla's own kernels)",
                        "rejected": rejected}


def peer_callers(names, q, k, v, gate, beta, h0, K, cu, decode, channel, raw):
    """name -> (call, outputs, reset) or the reason it cannot run this case."""
    found = {}
    for name in names:
        try:
            if name == "flashqla":
                if decode:
                    raise peers.Unsupported("FlashQLA has no decode kernel")
                call, out = peers.flashqla_prefill_caller(q, k, v, gate, beta, h0, K, cu, channel)
                found[name] = (call, out, None)
            elif name == "flashinfer" and not decode:
                call, out = peers.flashinfer_prefill_caller(q, k, v, gate, beta, h0, K, cu,
                                                            channel)
                found[name] = (call, out, None)
            elif name in ("flashinfer", "flashinfer_bf16_state"):
                if not decode:
                    raise peers.Unsupported("decode only (the prefill row is flashinfer's)")
                dtype = torch.bfloat16 if name.endswith("bf16_state") else torch.float32
                found[name] = peers.flashinfer_decode_caller(q, k, v, *raw, h0, K, dtype)
            else:
                raise peers.Unsupported(f"no peer {name}")
        except peers.Unsupported as e:
            found[name] = f"unsupported: {e}"
        except Exception as e:  # an install or API problem: the row says so
            found[name] = f"error: {type(e).__name__}: {e}"
    return found


def timed(fn):
    """(ms, method): a CUDA-graph replay where the call can be captured, else eager."""
    try:
        return graph_ms(fn), "graph"
    except Exception as e:
        torch.cuda.synchronize()
        return eager_ms(fn), f"eager (graph capture failed: {type(e).__name__}: {str(e)[:200]})"


def run_peer(name, entry, o_ref, ht_ref, o_gdn, ht_gdn, times):
    if isinstance(entry, str):
        return {"ran": False, "why": entry}
    call, outputs, reset = entry
    row = {"ran": True}
    try:
        if reset:
            reset()
        o, ht = outputs(call())
        torch.cuda.synchronize()
        row["o_max_rel_err_vs_fla"] = errors(o, o_ref)[1]
        row["state_max_rel_err_vs_fla"] = errors(ht, ht_ref)[1]
        row["o_max_rel_err_vs_gdn"] = errors(o, o_gdn)[1]
        row["state_max_rel_err_vs_gdn"] = errors(ht, ht_gdn)[1]
        ms, method = timed(call)
        row.update(ms=ms, timing=method)
        # Ratios from the same timing method for every system.
        same = "graph" if method == "graph" else "eager"
        row["fla_over_peer"] = times["fla", same] / ms
        row["peer_over_gdn"] = ms / times["gdn", same]
    except Exception as e:
        torch.cuda.synchronize()
        row.update(ran=False, why=f"error: {type(e).__name__}: {str(e)[:500]}")
    return row


def warm_case(name, B, T, H, HV, K, kernel_name, cu=None, decode=False, seed=0, channel=False,
              peer_names=(), train=True):
    """One call of fla's function (and each peer's) for a case: Triton, TileLang and CuTe DSL
    compile (and autotune) their kernels into their on-disk caches, which the timed process
    then reads instead of compiling."""
    N = len(cu) - 1 if cu is not None else B
    q, k, v, gate, beta, h0, raw = make_inputs(B, T, H, HV, K, N, seed, channel, decode)
    theirs, _ = fla_caller(q, k, v, gate, beta, h0, HV, K, cu, decode, channel)
    theirs()
    for entry in peer_callers(peer_names, q, k, v, gate, beta, h0, K, cu, decode, channel,
                              raw).values():
        if not isinstance(entry, str):
            entry[0]()
    torch.cuda.synchronize()
    # The backward kernels too (fla's Triton autotunes many; uncompiled, 2 of the 4 training
    # cases did not fit the timed run's 10 minutes on 2026-12-07).
    if train and name in TRAIN_CASES and "flashqla" in peer_names:
        train_case(name, B, T, H, HV, K, kernel_name, seed, compile_only=True)


def run_case(gdn, kernels, name, B, T, H, HV, K, kernel_name, cu=None, decode=False, seed=0,
             channel=False, peer_names=(), dispatch=None):
    N = len(cu) - 1 if cu is not None else B
    q, k, v, gate, beta, h0, raw = make_inputs(B, T, H, HV, K, N, seed, channel, decode)
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
    (o_ref, ht_ref), fla_dispatch = dispatch.observe(theirs)
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
    times = {("gdn", "graph"): gdn_ms, ("gdn", "eager"): gdn_eager,
             ("fla", "graph"): fla_ms, ("fla", "eager"): fla_eager}
    entries = peer_callers(peer_names, q, k, v, gate, beta, h0, K, cu, decode, channel, raw)
    peer_rows = {p: run_peer(p, entries[p], o_ref, ht_ref, o, ht, times) for p in peer_names}
    return {
        "case": name, "shape": {"B": B, "T": T, "H": H, "HV": HV, "K": K, "V": K, "N": N},
        "kernel": meta.get("kind", "?"),
        # The launch contract of the kernel timed (its tiling as far as the metadata says).
        "kernel_metadata": {key: meta[key] for key in (
            "chunk_size", "v_tile", "block_size", "shared_memory_bytes", "segments",
            "prep_block_size", "prep_shared_memory_bytes", "chip") if key in meta},
        "gdn_kernel": kernel_name,
        "gdn_ms": gdn_ms, "fla_ms": fla_ms,
        "gdn_serialized_ms": gdn_serialized_ms, "programmatic_launch": programmatic,
        "speedup_serialized": fla_ms / gdn_serialized_ms,
        "gdn_eager_ms": gdn_eager, "fla_eager_ms": fla_eager, "speedup": fla_ms / gdn_ms,
        "io_bytes": io_bytes(B, T, H, HV, K, N, channel),
        "max_abs_err": max(abs_o, abs_s), "max_rel_err": max(rel_o, rel_s),
        "o_max_rel_err": rel_o, "state_max_rel_err": rel_s,
        "fla_gva_native": fla_state["gva_native"], "fla_dispatch": fla_dispatch,
        "peers": peer_rows,
    }


def train_case(name, B, T, H, HV, K, kernel_name, seed=0, compile_only=False, **_):
    """Forward + backward through autograd (eager, do_bench with the gradients reset), fla
    against FlashQLA on the same tensors; gradients compared. gdn has no backward yet.
    compile_only: one step of each (a warm-up worker's: the backward kernels' compiles)."""
    import flash_qla
    N = B
    q, k, v, gate, beta, h0, _ = make_inputs(B, T, H, HV, K, N, seed)
    leaves = [x.detach().clone().requires_grad_(True) for x in (q, k, v, gate, beta, h0)]
    gen = torch.Generator(device="cuda").manual_seed(seed + 1)
    do = torch.randn(B, T, HV, K, device="cuda", dtype=torch.bfloat16, generator=gen)
    dht = torch.randn(N, HV, K, K, device="cuda", dtype=torch.float32, generator=gen)
    kwargs = dict(scale=K ** -0.5, output_final_state=True, use_qk_l2norm_in_kernel=True)
    fla_fn = fla_prefill()

    def step(fn):
        def run():
            q_, k_, v_, g_, b_, h_ = leaves
            o_, ht_ = fn(q_, k_, v_, g_, b_, initial_state=h_, **kwargs)
            torch.autograd.backward([o_, ht_], [do, dht])
        return run

    row = {"case": name}
    grads = {}
    for system, fn in (("fla", fla_fn), ("flashqla", flash_qla.chunk_gated_delta_rule)):
        try:
            for x in leaves:
                x.grad = None
            step(fn)()
            torch.cuda.synchronize()
            if compile_only:
                continue
            grads[system] = [x.grad.clone() for x in leaves]
            row[f"{system}_fwd_bwd_ms"] = triton.testing.do_bench(
                step(fn), warmup=100, rep=300, grad_to_none=leaves, return_mode="median")
        except Exception as e:
            torch.cuda.synchronize()
            row[f"{system}_error"] = f"{type(e).__name__}: {str(e)[:500]}"
    if len(grads) == 2 and not compile_only:
        row["grad_max_rel_err_vs_fla"] = {
            n: errors(a, b)[1] for n, a, b in zip(("dq", "dk", "dv", "dg", "dbeta", "dh0"),
                                                  grads["flashqla"], grads["fla"])}
        row["fla_over_flashqla"] = row["fla_fwd_bwd_ms"] / row["flashqla_fwd_bwd_ms"]
    return row


def reference_checks(gdn, kernels, peer_names):
    """Every system against the float64 recurrence on small shapes (prefill with a partial
    last chunk and GVA; one-token and 4-token decode): max relative errors of o and state."""
    checks = []
    shapes = [("prefill 1x300 2/8", dict(B=1, T=300, H=2, HV=8, K=128,
                                         kernel_name="gdn_h2_hv8_k128")),
              ("packed 3 seqs (100, 37, 200) 16/32", dict(
                  B=1, T=337, H=16, HV=32, K=128, cu=[0, 100, 137, 337],
                  kernel_name="gdn_h16_hv32_k128_varlen")),
              ("decode B1 16/32", dict(B=1, T=1, H=16, HV=32, K=128, decode=True,
                                       kernel_name="gdn_h16_hv32_k128_decode_b1")),
              ("decode B1 T4 16/32", dict(B=1, T=4, H=16, HV=32, K=128, decode=True,
                                          kernel_name="gdn_h16_hv32_k128_decode_b1_t4"))]
    for label, c in shapes:
        B, T, H, HV, K = (c[x] for x in ("B", "T", "H", "HV", "K"))
        cu, decode = c.get("cu"), c.get("decode", False)
        N = len(cu) - 1 if cu else B
        q, k, v, gate, beta, h0, raw = make_inputs(B, T, H, HV, K, N, 7, decode=decode)
        o_want, s_want = peers.reference_f64(q, k, v, gate, beta, h0, K ** -0.5, cu)
        row = {"shape": label}
        handle, _ = gdn.load(os.path.join(kernels, c["kernel_name"]))
        o = torch.empty(B, T, HV, K, device="cuda", dtype=torch.bfloat16)
        ht = torch.empty(N, HV, K, K, device="cuda", dtype=torch.float32)
        cu_dev = None if cu is None else torch.tensor(cu, device="cuda", dtype=torch.int32)
        cu_host = None if cu is None else np.asarray(cu, dtype=np.int64)
        gdn.launcher(handle, q=q, k=k, v=v, g=gate, beta=beta, initial_state=h0,
                     cu_seqlens=cu_dev, o=o, final_state=ht, cu_seqlens_host=cu_host)()
        torch.cuda.synchronize()
        got = {"gdn": (o, ht)}
        theirs, _ = fla_caller(q, k, v, gate, beta, h0, HV, K, cu, decode)
        got["fla"] = theirs()
        for name, entry in peer_callers(peer_names, q, k, v, gate, beta, h0, K, cu, decode,
                                        False, raw).items():
            if isinstance(entry, str):
                row[name] = entry
                continue
            try:
                call, outputs, reset = entry
                if reset:
                    reset()
                got[name] = outputs(call())
            except Exception as e:
                row[name] = f"error: {type(e).__name__}: {str(e)[:300]}"
        torch.cuda.synchronize()
        for name, (o_got, s_got) in got.items():
            row[name] = {"o_max_rel_err": errors(o_got, o_want)[1],
                         "state_max_rel_err": errors(s_got, s_want)[1]}
        checks.append(row)
        print(f"reference {label}: " + ", ".join(
            f"{n} {r['o_max_rel_err']:.1e}/{r['state_max_rel_err']:.1e}"
            if isinstance(r, dict) else f"{n} {r[:80]}" for n, r in row.items() if n != "shape"))
    return checks


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib", required=True)
    p.add_argument("--kernels", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--commit", default="unknown")
    p.add_argument("--cases", default="")
    p.add_argument("--peers", default="flashqla,flashinfer,flashinfer_bf16_state",
                   help="peers run beside gdn and fla (comma-separated; 'none': fla only)")
    p.add_argument("--fla-backend", choices=("triton", "auto"), default="triton",
                   help="triton: fla's own kernels (FlashQLA's fla backend off, FLA_FLASH_QLA=0); "
                        "auto: whatever fla's dispatcher picks")
    p.add_argument("--no-train", action="store_true", help="skip the forward+backward timings")
    p.add_argument("--no-reference", action="store_true", help="skip the float64 checks")
    p.add_argument("--warm-fla", type=int, default=min(8, os.cpu_count() or 1),
                   help="processes that first call fla and the peers once per case, in "
                        "parallel, so that their compiles land in disk caches before the timed "
                        "run (0: off)")
    p.add_argument("--warm-only", action="store_true",
                   help="only the warm-up (a device call of its own, before the timed run)")
    p.add_argument("--warm-case", help=argparse.SUPPRESS)  # a warm-up worker's one case
    args = p.parse_args()
    if args.fla_backend == "triton":
        # Installing flash_qla makes fla's chunk_gated_delta_rule dispatch to it silently.
        os.environ["FLA_FLASH_QLA"] = "0"
    peer_names = [x for x in args.peers.split(",") if x and x != "none"]
    want = set(filter(None, args.cases.split(",")))
    cases = all_cases()
    if args.warm_case:
        warm_case(args.warm_case, **dict(cases)[args.warm_case], peer_names=peer_names,
                  train=not args.no_train)
        return 0
    selected = [name for name, _ in cases if not want or name in want]
    if args.warm_fla > 0:
        warm_up(args, selected)
    if args.warm_only:
        return 0
    dispatch = FlaDispatch()
    gdn = Gdn(args.lib)
    bandwidth = copy_bandwidth()
    device = torch.cuda.get_device_name()
    report = {"commit": args.commit, "device": device, "date": datetime.date.today().isoformat(),
              "copy_bandwidth_GBps": bandwidth / 1e9, "versions": versions(),
              "fla_backend_requested": args.fla_backend,
              "environment": {k: os.environ[k] for k in ("FLA_FLASH_QLA",) if k in os.environ},
              "peers": peer_names, "reference_checks": [], "cases": [], "training": []}

    def save():  # after every step, so that a failure later keeps what was measured
        with open(args.out, "w") as f:
            json.dump(finite_or_null(report), f, indent=1, allow_nan=False)

    print(f"{device}, copy bandwidth {bandwidth / 1e12:.2f} TB/s, commit {args.commit}")
    if not args.no_reference:
        report["reference_checks"] = reference_checks(gdn, args.kernels, peer_names)
        save()
    print(f"{'case':24} {'gdn ms':>9} {'fla ms':>9} {'fla/gdn':>8} "
          + "".join(f"{p[:14]:>15}" for p in peer_names) + f" {'o rel':>8} {'h rel':>8} {'wall':>6}")
    for name, params in cases:
        if name not in selected:
            continue
        started = time.monotonic()
        r = run_case(gdn, args.kernels, name, **params, peer_names=peer_names,
                     dispatch=dispatch)
        r["roofline_ms"] = r["io_bytes"] / bandwidth * 1e3
        # Wall time of the case (inputs, autotuning, every system's timings; compiles too
        # without the warm-up): the whole run must fit the device's 10-minute command limit.
        r["case_wall_s"] = time.monotonic() - started
        report["cases"].append(r)
        cells = "".join(f"{x['ms']:9.3f} {x['fla_over_peer']:4.2f}x" if x.get("ran")
                        else f"{'-':>15}" for x in r["peers"].values())
        print(f"{r['case']:24} {r['gdn_ms']:9.3f} {r['fla_ms']:9.3f} {r['speedup']:8.3f} "
              f"{cells} {r['o_max_rel_err']:8.1e} {r['state_max_rel_err']:8.1e} "
              f"{r['case_wall_s']:5.0f}s  fla: {r['fla_dispatch']['backend']}")
        save()
    if not args.no_train and "flashqla" in peer_names:
        for name, params in cases:
            if name in TRAIN_CASES and name in selected:
                row = train_case(name, **params)
                report["training"].append(row)
                print(f"train {name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float)
                                                     else f"{k} {v}" for k, v in row.items()
                                                     if k != "case"))
                save()
    save()
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
    for package in ("fla-core", "torch", "triton", "flash-qla", "tilelang", "flashinfer-python",
                    "nvidia-cutlass-dsl", "apache-tvm-ffi"):
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
                   args.kernels, "--out", os.devnull, "--warm-case", name, "--peers",
                   args.peers, "--fla-backend", args.fla_backend] + (
                       ["--no-train"] if args.no_train else [])
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
    print(f"warm-up: {len(names)} cases in {time.monotonic() - started:.0f} s "
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
    cu = [0]
    for n in MANY_SHORT:
        cu.append(cu[-1] + n)
    cases.append((f"varlen_256x_{cu[-1]}_16/32", dict(
        B=1, T=cu[-1], H=16, HV=32, K=128, cu=cu, kernel_name="gdn_h16_hv32_k128_varlen")))
    for B, T in DECODE_SHAPES:
        suffix = f"_t{T}" if T > 1 else ""
        label = f"decode_B{B}_16/32" if T == 1 else f"mtp_B{B}_T{T}_16/32"
        cases.append((label, dict(B=B, T=T, H=16, HV=32, K=128, decode=True,
                                  kernel_name=f"gdn_h16_hv32_k128_decode_b{B}{suffix}")))
    return cases


if __name__ == "__main__":
    sys.exit(main())
