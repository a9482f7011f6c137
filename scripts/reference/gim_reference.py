"""From-scratch Llama forward in PyTorch with GIM's backward-only modifications.

This is the parity reference for the Swift engine (GIMEngine). It implements the method as
written in shared/DESIGN.md ("The method, exactly"), not the Python package (whose hooks miss
Hugging Face Llama's softmax and RMSNorm; see DESIGN.md "Known faults").

    a_t = sum_d dL/de[t,d] * (e[t,d] - e_base[d])

L is the raw logit of target_token_id at target_position; e is the token-embedding lookup.
Every GIM knob changes only the backward pass, through the autograd.Functions below; with a knob
off the plain PyTorch op is used, so "plain" is the unmodified gradient.

Weights are kept in a dict under GGUF tensor names (without the ".weight" suffix), matrices as
[out, in] (y = W x), e.g. "blk.0.attn_q" is [n_heads*head_dim, dim]. Two RoPE layouts:
  "normal": adjacent pairs (2i, 2i+1) rotated together: llama.cpp / GGUF q,k row order.
  "neox":   rotate-half, pairs (i, i + head_dim/2): Hugging Face safetensors row order (and what
            transformers gives after loading a GGUF, because it un-permutes attn_q/attn_k).
theta_i = pos * base^(-2i/head_dim), i = 0 .. head_dim/2 - 1, in both layouts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

# ----------------------------------------------------------------------------------------------
# Settings

SETTING_KEYS = (
    "freeze_norm",
    "softmax_temperature",
    "q_scale",
    "k_scale",
    "v_scale",
    "gate_scale",
    "up_scale",
)

PLAIN = {
    "freeze_norm": False,
    "softmax_temperature": 1.0,
    "q_scale": 1.0,
    "k_scale": 1.0,
    "v_scale": 1.0,
    "gate_scale": 1.0,
    "up_scale": 1.0,
}


def make_settings(**overrides) -> dict:
    unknown = set(overrides) - set(SETTING_KEYS)
    if unknown:
        raise KeyError(f"unknown GIM setting(s): {sorted(unknown)}")
    s = dict(PLAIN)
    s.update(overrides)
    s["freeze_norm"] = bool(s["freeze_norm"])
    for k in SETTING_KEYS[1:]:
        s[k] = float(s[k])
    return s


# The named settings every fixture uses (same names in the SmolLM2 and the tiny fixtures).
NAMED_SETTINGS = {
    "plain": make_settings(),
    # Full method as released up to gim-explain 0.1.4: no gate/up scaling.
    "gim_014": make_settings(
        freeze_norm=True, softmax_temperature=2.0, q_scale=0.25, k_scale=0.25, v_scale=0.5
    ),
    # Full method with the newer gated-MLP scaling (the default in our tool).
    "gim": make_settings(
        freeze_norm=True,
        softmax_temperature=2.0,
        q_scale=0.25,
        k_scale=0.25,
        v_scale=0.5,
        gate_scale=0.5,
        up_scale=0.5,
    ),
    "freeze_only": make_settings(freeze_norm=True),
    "temperature_only": make_settings(softmax_temperature=2.0),
    "qkv_only": make_settings(q_scale=0.25, k_scale=0.25, v_scale=0.5),
    "gateup_only": make_settings(gate_scale=0.5, up_scale=0.5),
}

# One knob at a time, each turned on from "plain" (used by check_knobs).
SINGLE_KNOBS = {
    "freeze_norm": make_settings(freeze_norm=True),
    "softmax_temperature": make_settings(softmax_temperature=2.0),
    "q_scale": make_settings(q_scale=0.25),
    "k_scale": make_settings(k_scale=0.25),
    "v_scale": make_settings(v_scale=0.5),
    "gate_scale": make_settings(gate_scale=0.5),
    "up_scale": make_settings(up_scale=0.5),
}


# ----------------------------------------------------------------------------------------------
# Model description


@dataclass
class LlamaConfig:
    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_dim: int
    rope_base: float
    rms_eps: float
    tied: bool
    rope_layout: str  # "normal" (GGUF, adjacent pairs) or "neox" (HF, rotate-half)

    def to_json(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------------------------
# Backward modifications (forward unchanged in every one of them)


class FrozenRMSNorm(torch.autograd.Function):
    """y = w * x / rms(x), rms = sqrt(mean(x^2) + eps). Backward treats rms as a constant:
    dx = w * dy / rms. (Weight gradient is not needed and not computed.)"""

    @staticmethod
    def forward(ctx, x, w, eps):
        r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)  # 1 / rms
        ctx.save_for_backward(w, r)
        return w * (x * r)

    @staticmethod
    def backward(ctx, dy):
        w, r = ctx.saved_tensors
        return w * dy * r, None, None


class TemperatureSoftmax(torch.autograd.Function):
    """Forward: s = softmax(x) along the last axis. Backward uses s_T = softmax(x / T):
    dx = s_T * (dy - sum(dy * s_T)). No extra 1/T. Masked entries (-inf) give s_T = 0."""

    @staticmethod
    def forward(ctx, x, T):
        ctx.save_for_backward(x)
        ctx.T = T
        return torch.softmax(x, dim=-1)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        s_t = torch.softmax(x / ctx.T, dim=-1)
        return s_t * (dy - (dy * s_t).sum(-1, keepdim=True)), None


class GradScale(torch.autograd.Function):
    """Identity forward; backward multiplies the arriving gradient by `scale`."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, dy):
        return dy * ctx.scale, None


def rms_norm(x, w, eps, freeze: bool):
    if freeze:
        return FrozenRMSNorm.apply(x, w, eps)
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def softmax_t(x, T: float):
    if T == 1.0:
        return torch.softmax(x, dim=-1)
    return TemperatureSoftmax.apply(x, T)


def grad_scale(x, scale: float):
    if scale == 1.0:
        return x
    return GradScale.apply(x, scale)


# ----------------------------------------------------------------------------------------------
# RoPE


def rope_cos_sin(n_pos: int, head_dim: int, base: float, dtype):
    """cos, sin of theta[pos, i] = pos * base^(-2i/head_dim), shape [n_pos, head_dim/2].
    In float32 this follows transformers' LlamaRotaryEmbedding arithmetic exactly."""
    exps = torch.arange(0, head_dim, 2, dtype=torch.int64).to(dtype) / head_dim
    inv_freq = 1.0 / (torch.tensor(base, dtype=dtype) ** exps)
    pos = torch.arange(n_pos, dtype=dtype)
    ang = pos[:, None] * inv_freq[None, :]
    return ang.cos(), ang.sin()


def apply_rope(x, cos, sin, layout: str):
    """x: [heads, T, head_dim]; cos/sin: [T, head_dim/2]."""
    if layout == "neox":
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)
    if layout == "normal":
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1)
        return out.flatten(-2)
    raise ValueError(f"unknown rope layout {layout!r}")


# ----------------------------------------------------------------------------------------------
# Forward


def forward(cfg: LlamaConfig, W: dict, e: torch.Tensor, settings: dict) -> torch.Tensor:
    """e: [T, dim] token embeddings (the attribution leaf). Returns logits [T, vocab]."""
    s = settings
    T = e.shape[0]
    H, KV, hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    rep = H // KV
    cos, sin = rope_cos_sin(T, hd, cfg.rope_base, e.dtype)
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = masked
    scaling = hd**-0.5

    x = e
    for i in range(cfg.n_layers):
        p = f"blk.{i}."
        # --- attention
        h = rms_norm(x, W[p + "attn_norm"], cfg.rms_eps, s["freeze_norm"])
        q = (h @ W[p + "attn_q"].T).view(T, H, hd).transpose(0, 1)  # [H, T, hd]
        k = (h @ W[p + "attn_k"].T).view(T, KV, hd).transpose(0, 1)  # [KV, T, hd]
        v = (h @ W[p + "attn_v"].T).view(T, KV, hd).transpose(0, 1)  # [KV, T, hd]
        q = apply_rope(q, cos, sin, cfg.rope_layout)
        k = apply_rope(k, cos, sin, cfg.rope_layout)
        q = grad_scale(q, s["q_scale"])
        k = grad_scale(k, s["k_scale"])
        v = grad_scale(v, s["v_scale"])
        k = k.repeat_interleave(rep, dim=0)  # q head h uses kv head h // rep
        v = v.repeat_interleave(rep, dim=0)
        scores = (q @ k.transpose(-1, -2)) * scaling  # [H, T, T]
        scores = scores.masked_fill(causal, float("-inf"))
        probs = softmax_t(scores, s["softmax_temperature"])
        o = (probs @ v).transpose(0, 1).reshape(T, H * hd)
        x = x + o @ W[p + "attn_output"].T
        # --- SwiGLU MLP: down(silu(gate(h)) * up(h))
        h = rms_norm(x, W[p + "ffn_norm"], cfg.rms_eps, s["freeze_norm"])
        g = torch.nn.functional.silu(h @ W[p + "ffn_gate"].T)
        u = h @ W[p + "ffn_up"].T
        g = grad_scale(g, s["gate_scale"])
        u = grad_scale(u, s["up_scale"])
        x = x + (g * u) @ W[p + "ffn_down"].T
    x = rms_norm(x, W["output_norm"], cfg.rms_eps, s["freeze_norm"])
    head = W["token_embd"] if cfg.tied else W["output"]
    return x @ head.T


# ----------------------------------------------------------------------------------------------
# Attribution


def explain(
    cfg: LlamaConfig,
    W: dict,
    token_ids,
    settings: dict,
    baseline_token_id: int,
    target_token_id: int | None = None,
    target_position: int = -1,
) -> dict:
    """GIM / plain-gradient attribution. Returns a dict with attributions [T], embedding_grad
    [T, dim], logits [T, vocab] (detached), target_token_id, target_index (absolute position),
    target_logit."""
    return explain_with(lambda e: forward(cfg, W, e, settings), W["token_embd"], token_ids,
                        baseline_token_id, target_token_id, target_position)


def explain_with(forward_fn, emb: torch.Tensor, token_ids, baseline_token_id: int,
                 target_token_id: int | None = None, target_position: int = -1) -> dict:
    """The attribution itself, for any architecture: `forward_fn(e)` maps token embeddings
    [T, dim] (the leaf) to logits [T, vocab]; `emb` is the token-embedding table.
    a_t = sum_d dL/de[t,d] * (e[t,d] - e_base[d]), L the raw target logit."""
    ids = torch.as_tensor(list(token_ids), dtype=torch.long)
    n = ids.numel()
    if not -n <= target_position < n:
        raise IndexError(f"target_position {target_position} out of range for {n} tokens")
    t_idx = target_position % n
    e = emb[ids].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = forward_fn(e)
        if target_token_id is None:
            target_token_id = int(logits[t_idx].argmax())
        L = logits[t_idx, target_token_id]
        (grad,) = torch.autograd.grad(L, e)
    e_base = emb[baseline_token_id].detach()
    attributions = (grad * (e.detach() - e_base)).sum(-1)
    return {
        "attributions": attributions,
        "embedding_grad": grad,
        "logits": logits.detach(),
        "target_token_id": int(target_token_id),
        "target_index": t_idx,
        "target_logit": float(L.detach()),
    }


def default_baseline_token_id(tokenizer) -> int:
    """DESIGN.md inference rule: first id of encode(" ") without special tokens, else pad, else
    unk, else an error. `tokenizer` is a `tokenizers.Tokenizer` or a transformers tokenizer."""
    import tokenizers

    if isinstance(tokenizer, tokenizers.Tokenizer):
        ids = tokenizer.encode(" ", add_special_tokens=False).ids
        pad = unk = None
    else:
        ids = tokenizer.encode(" ", add_special_tokens=False)
        pad, unk = tokenizer.pad_token_id, tokenizer.unk_token_id
    for cand in (ids[0] if ids else None, pad, unk):
        if cand is not None:
            return int(cand)
    raise ValueError("cannot infer a baseline token: no space token, pad or unk")


def relative_change(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def check_knobs(cfg, W, token_ids, baseline_token_id, target_token_id=None, target_position=-1,
                min_rel=1e-4, log=print) -> dict:
    """Turn each knob on alone from plain; assert the attribution vector moves by > min_rel
    (relative L2). Returns {knob: relative change}."""
    base = explain(cfg, W, token_ids, NAMED_SETTINGS["plain"], baseline_token_id,
                   target_token_id, target_position)
    tgt = base["target_token_id"]
    out = {}
    for name, st in SINGLE_KNOBS.items():
        r = explain(cfg, W, token_ids, st, baseline_token_id, tgt, target_position)
        rel = relative_change(r["attributions"], base["attributions"])
        dlogit = abs(r["target_logit"] - base["target_logit"])
        out[name] = rel
        log(f"  knob {name:20s} rel change {rel:.3e}  (target logit unchanged: {dlogit:.1e})")
        assert dlogit == 0.0, f"knob {name} changed the forward pass"
        assert rel > min_rel, f"knob {name} changed attributions by only {rel:.3e}"
    return out


# ----------------------------------------------------------------------------------------------
# Self-tests of the backward modifications (float64, tiny random tensors)


def self_test(log=print):
    g = torch.Generator().manual_seed(0)
    dt = torch.float64
    # FrozenRMSNorm == forward with the rms detached; forward identical to the plain norm.
    x = torch.randn(5, 7, generator=g, dtype=dt, requires_grad=True)
    w = 1 + 0.1 * torch.randn(7, generator=g, dtype=dt)
    dy = torch.randn(5, 7, generator=g, dtype=dt)
    y1 = FrozenRMSNorm.apply(x, w, 1e-5)
    (g1,) = torch.autograd.grad(y1, x, dy)
    r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5).detach()
    (g2,) = torch.autograd.grad(w * x * r, x, dy)
    assert torch.allclose(g1, g2, atol=1e-14) and torch.allclose(y1, rms_norm(x, w, 1e-5, False))
    # TemperatureSoftmax with T = 1 == torch softmax backward; T = 2 == the formula by hand,
    # with causal -inf entries.
    s = torch.randn(4, 6, 6, generator=g, dtype=dt)
    s = s.masked_fill(torch.triu(torch.ones(6, 6, dtype=torch.bool), 1), float("-inf"))
    s.requires_grad_(True)
    dy = torch.randn(4, 6, 6, generator=g, dtype=dt)
    (a,) = torch.autograd.grad(TemperatureSoftmax.apply(s, 1.0), s, dy)
    (b,) = torch.autograd.grad(torch.softmax(s, -1), s, dy)
    assert torch.allclose(a, b, atol=1e-14)
    (c,) = torch.autograd.grad(TemperatureSoftmax.apply(s, 2.0), s, dy)
    st = torch.softmax(s.detach() / 2.0, -1)
    assert torch.allclose(c, st * (dy - (dy * st).sum(-1, keepdim=True)), atol=1e-14)
    assert torch.all(c[torch.triu(torch.ones(4, 6, 6, dtype=torch.bool), 1)] == 0)
    # GradScale
    z = torch.randn(3, generator=g, dtype=dt, requires_grad=True)
    (gz,) = torch.autograd.grad(GradScale.apply(z, 0.25), z, torch.ones(3, dtype=dt))
    assert torch.equal(gz, torch.full((3,), 0.25, dtype=dt))
    # RoPE layouts agree after the llama.cpp row permutation.
    hd = 8
    q = torch.randn(3, 5, hd, generator=g, dtype=dt)  # neox (HF) row order
    cos, sin = rope_cos_sin(5, hd, 10000.0, dt)
    perm = neox_to_normal_perm(hd)
    a = apply_rope(q, cos, sin, "neox")[..., perm]
    b = apply_rope(q[..., perm], cos, sin, "normal")
    assert torch.allclose(a, b, atol=1e-14)
    log("  self-test of FrozenRMSNorm / TemperatureSoftmax / GradScale / RoPE layouts: ok")


# ----------------------------------------------------------------------------------------------
# Weight sources and layout conversion


def neox_to_normal_perm(head_dim: int) -> torch.Tensor:
    """Index list p such that normal_rows = neox_rows[p] within one head (llama.cpp's permute):
    normal row 2i+j is neox row j*head_dim/2 + i."""
    half = head_dim // 2
    return torch.tensor([j * half + i for i in range(half) for j in range(2)])


def permute_qk(W: dict, cfg: LlamaConfig, to_layout: str) -> dict:
    """Reorder attn_q / attn_k rows between the "neox" and "normal" layouts (per head)."""
    if to_layout == cfg.rope_layout:
        return dict(W)
    p = neox_to_normal_perm(cfg.head_dim)
    if to_layout == "neox":
        p = torch.argsort(p)
    out = dict(W)
    for i in range(cfg.n_layers):
        for name, nh in (("attn_q", cfg.n_heads), ("attn_k", cfg.n_kv_heads)):
            w = W[f"blk.{i}.{name}"]
            w = w.view(nh, cfg.head_dim, -1)[:, p, :].reshape(nh * cfg.head_dim, -1)
            out[f"blk.{i}.{name}"] = w.contiguous()
    return out


def from_hf_llama(model) -> tuple[LlamaConfig, dict]:
    """Config and weights (GGUF names, neox layout) from a transformers LlamaForCausalLM."""
    c = model.config
    hd = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    rope = getattr(c, "rope_parameters", None) or {}
    base = rope.get("rope_theta", getattr(c, "rope_theta", None))
    cfg = LlamaConfig(
        vocab_size=c.vocab_size, dim=c.hidden_size, n_layers=c.num_hidden_layers,
        n_heads=c.num_attention_heads, n_kv_heads=c.num_key_value_heads, head_dim=hd,
        ffn_dim=c.intermediate_size, rope_base=float(base), rms_eps=float(c.rms_norm_eps),
        tied=bool(c.tie_word_embeddings), rope_layout="neox",
    )
    m = model.model
    W = {"token_embd": m.embed_tokens.weight, "output_norm": m.norm.weight}
    if not cfg.tied:
        W["output"] = model.lm_head.weight
    for i, L in enumerate(m.layers):
        p = f"blk.{i}."
        W[p + "attn_norm"] = L.input_layernorm.weight
        W[p + "attn_q"] = L.self_attn.q_proj.weight
        W[p + "attn_k"] = L.self_attn.k_proj.weight
        W[p + "attn_v"] = L.self_attn.v_proj.weight
        W[p + "attn_output"] = L.self_attn.o_proj.weight
        W[p + "ffn_norm"] = L.post_attention_layernorm.weight
        W[p + "ffn_gate"] = L.mlp.gate_proj.weight
        W[p + "ffn_up"] = L.mlp.up_proj.weight
        W[p + "ffn_down"] = L.mlp.down_proj.weight
    return cfg, {k: v.detach() for k, v in W.items()}


def from_gguf(path: str) -> tuple[LlamaConfig, dict]:
    """Config and dequantised float32 weights (normal layout) read with the `gguf` package."""
    import gguf
    from gguf import quants

    r = gguf.GGUFReader(path)

    def field(key):
        return r.fields[key].contents()

    arch = field("general.architecture")
    assert arch == "llama", arch
    n_heads = int(field("llama.attention.head_count"))
    dim = int(field("llama.embedding_length"))
    W = {}
    for t in r.tensors:
        name = t.name[: -len(".weight")] if t.name.endswith(".weight") else t.name
        W[name] = torch.from_numpy(quants.dequantize(t.data, t.tensor_type).astype("float32").copy())
    cfg = LlamaConfig(
        vocab_size=W["token_embd"].shape[0], dim=dim, n_layers=int(field("llama.block_count")),
        n_heads=n_heads, n_kv_heads=int(field("llama.attention.head_count_kv")),
        head_dim=int(field("llama.rope.dimension_count")) if "llama.rope.dimension_count" in r.fields else dim // n_heads,
        ffn_dim=int(field("llama.feed_forward_length")), rope_base=float(field("llama.rope.freq_base")),
        rms_eps=float(field("llama.attention.layer_norm_rms_epsilon")), tied="output" not in W,
        rope_layout="normal",
    )
    return cfg, W


def cast_weights(W: dict, dtype) -> dict:
    return {k: v.to(dtype) for k, v in W.items()}


if __name__ == "__main__":
    self_test()
