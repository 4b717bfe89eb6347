"""The peers of the side-by-side benchmark (bench/gdn_vs_fla.py): FlashQLA's and FlashInfer's
Gated DeltaNet kernels, called the way their integrators call them, on the benchmark's tensors.

Each `*_caller` returns (call, outputs): `call()` is what is timed (no layout conversion inside:
inputs are converted once, here, before timing, into the peer's own layout and dtypes), and
`outputs(result)` maps what `call()` returned back to the benchmark's layout (o [B, T, HV, V],
final state [N, HV, K, V] float32) for the comparisons. A peer that does not take a case raises
`Unsupported` with the reason, which the results file records.

- FlashQLA (TileLang, fla's `gated_delta_rule` backend): `flash_qla.chunk_gated_delta_rule`,
  fla's layout and arguments, `auto_cp=True` (its automatic intra-card sequence split), as fla's
  FlashQLA backend calls it.
- FlashInfer prefill: `flashinfer.gdn_prefill.chunk_gated_delta_rule`, as vLLM and SGLang call
  it on Hopper: packed tokens [T, H, K] with `cu_seqlens` (int64), the forget gate as alpha =
  exp(g) in float32, beta in float32, states [N, HV, V, K] (V-major), preallocated output and
  output state, `use_cp="auto"` (its in-GPU sequence split for few heads), `max_seqlen` given.
- FlashInfer decode / multi-token verify: `gated_delta_rule_decode_pretranspose` (one token;
  float32 or bfloat16 state [B, HV, V, K], updated in place) and `gated_delta_rule_mtp`
  (T > 1, float32 state pool with indices, final state written, no per-token state buffer), or
  the bf16-state path of `gated_delta_rule_decode_pretranspose` for T > 1. FlashInfer computes
  the gates in the kernel from the model's raw inputs: g = -exp(A_log) * softplus(a + dt_bias),
  beta = sigmoid(b). The benchmark's decode inputs are made that way (A_log = dt_bias = 0, a and
  b bfloat16), and gdn and fla get the same g and beta computed from them beforehand.
"""
import torch


class Unsupported(Exception):
    """The peer does not take this case (the message says why)."""


def flashqla_prefill_caller(q, k, v, gate, beta, h0, K, cu=None, channel=False):
    if channel:
        raise Unsupported("FlashQLA implements Gated DeltaNet only (no channel gates / KDA)")
    if K != 128 or v.shape[-1] != 128:
        raise Unsupported(f"FlashQLA requires K = V = 128 (got K = {K}, V = {v.shape[-1]})")
    import flash_qla

    kwargs = dict(scale=K ** -0.5, initial_state=h0, output_final_state=True,
                  use_qk_l2norm_in_kernel=True, auto_cp=True)
    if cu is not None:
        kwargs["cu_seqlens"] = torch.tensor(cu, device="cuda", dtype=torch.long)

    def call():
        return flash_qla.chunk_gated_delta_rule(q, k, v, gate, beta, **kwargs)

    def outputs(result):
        o, ht = result
        return o, ht.float()

    return call, outputs


def flashinfer_prefill_caller(q, k, v, gate, beta, h0, K, cu=None, channel=False):
    if channel:
        raise Unsupported("FlashInfer's GDN prefill has scalar gates only (no channel gates / "
                          "KDA in chunk_gated_delta_rule)")
    from flashinfer.gdn_prefill import chunk_gated_delta_rule

    B, T, H, _ = q.shape
    HV, V = v.shape[2], v.shape[3]
    if cu is None:
        cu = [b * T for b in range(B + 1)]
    N = len(cu) - 1
    lengths = [cu[i + 1] - cu[i] for i in range(N)]
    qf = q.reshape(B * T, H, K)
    kf = k.reshape(B * T, H, K)
    vf = v.reshape(B * T, HV, V)
    alpha = gate.exp().reshape(B * T, HV).contiguous()
    betaf = beta.reshape(B * T, HV).contiguous()
    h0t = h0.transpose(-1, -2).contiguous()
    cu_dev = torch.tensor(cu, device="cuda", dtype=torch.int64)
    out = torch.empty(B * T, HV, V, device="cuda", dtype=q.dtype)
    state = torch.empty(N, HV, V, K, device="cuda", dtype=torch.float32)

    def call():
        return chunk_gated_delta_rule(
            qf, kf, vf, alpha, betaf, K ** -0.5, initial_state=h0t, output_final_state=True,
            cu_seqlens=cu_dev, use_qk_l2norm_in_kernel=True, output=out, output_state=state,
            max_seqlen=max(lengths))

    def outputs(result):
        o, ht = result
        return o.reshape(B, T, HV, V), ht.transpose(-1, -2).float()

    return call, outputs


def decode_gates(a, b):
    """g and beta as FlashInfer's decode kernels compute them in-kernel from the raw inputs
    with A_log = dt_bias = 0: g = -softplus(a), beta = sigmoid(b) (float32)."""
    return -torch.nn.functional.softplus(a.float()), torch.sigmoid(b.float())


def flashinfer_decode_caller(q, k, v, a, b, h0, K, state_dtype=torch.float32):
    """One token (T = 1) or several (multi-token verify) per sequence; h0 [B, HV, K, V]."""
    from flashinfer import gdn_decode

    B, T, H, _ = q.shape
    HV, V = v.shape[2], v.shape[3]
    if K != 128 or V != 128:
        raise Unsupported(f"FlashInfer's decode kernels take K = V = 128 here (got {K}, {V})")
    A_log = torch.zeros(HV, device="cuda", dtype=torch.float32)
    dt_bias = torch.zeros(HV, device="cuda", dtype=torch.float32)
    start = h0.transpose(-1, -2).contiguous().to(state_dtype)  # [B, HV, V, K]
    state = start.clone()
    out = torch.empty(B, T, HV, V, device="cuda", dtype=q.dtype)
    indices = torch.arange(B, device="cuda", dtype=torch.int32)

    if T == 1 or state_dtype == torch.bfloat16:
        def call():
            return gdn_decode.gated_delta_rule_decode_pretranspose(
                q, k, v, state, A_log, a, dt_bias, b, scale=K ** -0.5, output=out,
                use_qk_l2norm=True)
    else:
        def call():
            return gdn_decode.gated_delta_rule_mtp(
                q, k, v, state, indices, A_log, a, dt_bias, b, scale=K ** -0.5, output=out,
                disable_state_update=False, use_qk_l2norm=True)

    def reset():
        """The state is updated in place: the comparison's call starts from h0."""
        state.copy_(start)

    def outputs(result):
        return out, state.float().transpose(-1, -2)

    return call, outputs, reset


def reference_f64(q, k, v, gate, beta, h0, scale, cu=None):
    """Gated DeltaNet token by token in float64 (docs/design.md §1), q and k L2-normalised:
    o [B, T, HV, V] and the final states [N, HV, K, V]. For small shapes (a Python loop)."""
    B, T, H, K = q.shape
    HV = v.shape[2]
    group = HV // H
    qd = torch.nn.functional.normalize(q.double(), dim=-1, eps=1e-6)
    kd = torch.nn.functional.normalize(k.double(), dim=-1, eps=1e-6)
    vd, gd, bd = v.double(), gate.double(), beta.double()
    o = torch.zeros(B, T, HV, v.shape[3], dtype=torch.float64, device=q.device)
    spans = [(b, 0, T) for b in range(B)] if cu is None else [
        (0, cu[i], cu[i + 1]) for i in range(len(cu) - 1)]
    states = []
    for n, (b, t0, t1) in enumerate(spans):
        S = h0[n].double().clone()  # [HV, K, V]
        for t in range(t0, t1):
            qt = qd[b, t].repeat_interleave(group, 0)  # [HV, K]
            kt = kd[b, t].repeat_interleave(group, 0)
            S = S * gd[b, t].exp()[:, None, None]
            pred = torch.einsum("hkv,hk->hv", S, kt)
            S = S + torch.einsum("hk,hv->hkv", kt, bd[b, t][:, None] * (vd[b, t] - pred))
            o[b, t] = scale * torch.einsum("hkv,hk->hv", S, qt)
        states.append(S)
    return o, torch.stack(states)
