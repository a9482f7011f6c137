"""GIM reference on transformers' own modules, for every model family (float64).

The method is shared/DESIGN.md "The method, exactly"; this module applies it to the Hugging Face
classes themselves instead of a from-scratch forward, by patching a few functions:

  * every RMSNorm class of the families below (Llama, Qwen2, Qwen3, Mistral, Phi3 and the Gemma
    (1 + w) norms): the statistic rsqrt(mean(x^2) + eps) is detached when freeze_norm is on, so the
    backward is dx = w * dy / rms (or (1 + w) * dy / rms). This covers input / post-attention /
    pre- and post-feedforward norms, q/k norms and the final norm, because they are all instances
    of these classes. The computation stays in the input's dtype (float64 here); transformers
    upcasts to float32, which for a float64 model would be a down-cast.
  * the attention function: registered as "gim_eager" through transformers' AttentionInterface
    (and the eager mask through AttentionMaskInterface). It is the eager computation (GQA repeat,
    scaling, optional tanh soft-cap, additive causal / sliding-window mask) with q, k, v passed
    through identity-forward / scaled-backward functions (after RoPE and q/k norms, as the model
    hands them over) and a softmax whose backward uses softmax(x / T).
  * every gated MLP's product act(gate) * up (Phi-3's fused gate_up_proj too): the gradient
    reaching the act(gate) factor is multiplied by gate_scale, the one reaching up by up_scale.
  * the rotary embedding forward: angles computed in float64 from inverse frequencies computed in
    float64 by `inv_freq_f64` (transformers computes them in float32 even in a float64 model);
    `install` checks them against transformers' own buffers.

The attribution leaf is the output of the embedding lookup before any scaling: for Gemma the
sqrt(hidden) factor lives in transformers 5's embedding module, so the leaf is weight[ids] and
the model is called with inputs_embeds = leaf * embed_scale (attributions are the same either
way: the factor cancels between the gradient and the input difference).
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------
# Settings (same names and values as gim_reference.py)

PLAIN = {"freeze_norm": False, "softmax_temperature": 1.0, "q_scale": 1.0, "k_scale": 1.0,
         "v_scale": 1.0, "gate_scale": 1.0, "up_scale": 1.0}


def make_settings(**kw) -> dict:
    s = dict(PLAIN)
    for k, v in kw.items():
        if k not in s:
            raise KeyError(k)
        s[k] = bool(v) if k == "freeze_norm" else float(v)
    return s


NAMED_SETTINGS = {
    "plain": make_settings(),
    "gim": make_settings(freeze_norm=True, softmax_temperature=2.0, q_scale=0.25, k_scale=0.25, v_scale=0.5,
                         gate_scale=0.5, up_scale=0.5),
    "gim_014": make_settings(freeze_norm=True, softmax_temperature=2.0, q_scale=0.25, k_scale=0.25, v_scale=0.5),
    "freeze_only": make_settings(freeze_norm=True),
    "temperature_only": make_settings(softmax_temperature=2.0),
    "qkv_only": make_settings(q_scale=0.25, k_scale=0.25, v_scale=0.5),
    "gateup_only": make_settings(gate_scale=0.5, up_scale=0.5),
}
SINGLE_KNOBS = {
    "freeze_norm": make_settings(freeze_norm=True),
    "softmax_temperature": make_settings(softmax_temperature=2.0),
    "q_scale": make_settings(q_scale=0.25),
    "k_scale": make_settings(k_scale=0.25),
    "v_scale": make_settings(v_scale=0.5),
    "gate_scale": make_settings(gate_scale=0.5),
    "up_scale": make_settings(up_scale=0.5),
}

# Global state read by the patched functions at forward time.
STATE = {"settings": dict(PLAIN), "gim": True, "exact": True, "record": None}


@contextlib.contextmanager
def state(**kw):
    old = dict(STATE)
    STATE.update(kw)
    try:
        yield
    finally:
        STATE.clear()
        STATE.update(old)


# ----------------------------------------------------------------------------------------------
# Backward-only modifications


class GradScale(torch.autograd.Function):
    """Identity forward; the backward multiplies the arriving gradient by `scale`."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, dy):
        return dy * ctx.scale, None


def grad_scale(x, scale: float):
    return x if scale == 1.0 else GradScale.apply(x, scale)


class TemperatureSoftmax(torch.autograd.Function):
    """Forward softmax(x); backward dx = s_T * (dy - <dy, s_T>) with s_T = softmax(x / T).
    Masked entries (a large negative additive mask) have s_T = 0 and get no gradient."""

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


def softmax_t(x, T: float):
    return torch.softmax(x, dim=-1) if T == 1.0 else TemperatureSoftmax.apply(x, T)


# ----------------------------------------------------------------------------------------------
# Patched transformers pieces

GEMMA_NORMS = ("GemmaRMSNorm", "Gemma2RMSNorm", "Gemma3RMSNorm")
NORM_CLASSES = [("llama", "LlamaRMSNorm"), ("qwen2", "Qwen2RMSNorm"), ("qwen3", "Qwen3RMSNorm"),
                ("mistral", "MistralRMSNorm"), ("phi3", "Phi3RMSNorm"), ("gemma", "GemmaRMSNorm"),
                ("gemma2", "Gemma2RMSNorm"), ("gemma3", "Gemma3RMSNorm")]
MLP_CLASSES = [("llama", "LlamaMLP"), ("qwen2", "Qwen2MLP"), ("qwen3", "Qwen3MLP"), ("mistral", "MistralMLP"),
               ("gemma", "GemmaMLP"), ("gemma2", "Gemma2MLP"), ("gemma3", "Gemma3MLP"), ("phi3", "Phi3MLP")]
ROPE_CLASSES = [("llama", "LlamaRotaryEmbedding"), ("qwen2", "Qwen2RotaryEmbedding"),
                ("qwen3", "Qwen3RotaryEmbedding"), ("mistral", "MistralRotaryEmbedding"),
                ("phi3", "Phi3RotaryEmbedding"), ("gemma", "GemmaRotaryEmbedding"),
                ("gemma2", "Gemma2RotaryEmbedding"), ("gemma3", "Gemma3RotaryEmbedding")]
_ORIGINAL = {}


def _module(family):
    import importlib
    return importlib.import_module(f"transformers.models.{family}.modeling_{family}")


def norm_forward(self, x):
    """RMSNorm with the statistic detached when freeze_norm (Llama: w * x/rms, Gemma: (1 + w) * x/rms)."""
    if not STATE["exact"]:
        return _ORIGINAL[type(self).__name__](self, x)
    gemma = type(self).__name__ in GEMMA_NORMS
    eps = self.eps if gemma else self.variance_epsilon
    dtype = torch.promote_types(x.dtype, torch.float32)  # Gemma/Llama compute in >= float32
    h = x.to(dtype)
    r = torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    if STATE["gim"] and STATE["settings"]["freeze_norm"]:
        r = r.detach()
    w = (1.0 + self.weight.to(dtype)) if gemma else self.weight.to(dtype)
    return (w * (h * r)).to(x.dtype)


def gated_product(a, u):
    """act(gate) * up with the gate/up gradient scales."""
    if STATE["gim"]:
        a = grad_scale(a, STATE["settings"]["gate_scale"])
        u = grad_scale(u, STATE["settings"]["up_scale"])
    return a * u


def mlp_forward(self, x):
    if not STATE["gim"]:
        return _ORIGINAL[type(self).__name__](self, x)
    return self.down_proj(gated_product(self.act_fn(self.gate_proj(x)), self.up_proj(x)))


def phi3_mlp_forward(self, x):
    if not STATE["gim"]:
        return _ORIGINAL[type(self).__name__](self, x)
    gate, up = self.gate_up_proj(x).chunk(2, dim=-1)  # first half gate, second half up
    return self.down_proj(gated_product(self.activation_fn(gate), up))


def rope_forward(self, x, position_ids, layer_type=None):
    """cos/sin from float64 angles (position * inv_freq); inv_freq from `inv_freq_f64`."""
    if not STATE["exact"] or not hasattr(self, "_gim_inv_freq"):
        if layer_type is None:
            return _ORIGINAL[type(self).__name__](self, x, position_ids)
        return _ORIGINAL[type(self).__name__](self, x, position_ids, layer_type)
    inv = self._gim_inv_freq[layer_type or "default"]
    scaling = getattr(self, f"{layer_type}_attention_scaling") if layer_type else self.attention_scaling
    freqs = position_ids[..., None].to(torch.float64) * inv.to(device=x.device, dtype=torch.float64)
    emb = torch.cat((freqs, freqs), dim=-1)
    return (emb.cos() * scaling).to(x.dtype), (emb.sin() * scaling).to(x.dtype)


def repeat_kv(x, n_rep: int):
    if n_rep == 1:
        return x
    b, h, t, d = x.shape
    return x[:, :, None, :, :].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


def gim_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, softcap=None, **kwargs):
    """Eager attention (as transformers' eager_attention_forward: repeat_kv, * scaling, tanh soft-cap,
    + additive mask, softmax, @ v) with GIM's q/k/v gradient scales and temperature softmax backward.
    query/key/value: [B, heads, T, head_dim], after RoPE (and q/k norms)."""
    st = STATE["settings"]
    if scaling is None:
        scaling = module.head_dim ** -0.5
    q = grad_scale(query, st["q_scale"])
    k = grad_scale(key, st["k_scale"])
    v = grad_scale(value, st["v_scale"])
    k = repeat_kv(k, module.num_key_value_groups)
    v = repeat_kv(v, module.num_key_value_groups)
    w = torch.matmul(q, k.transpose(2, 3)) * scaling
    if softcap is not None:
        w = torch.tanh(w / softcap) * softcap
    if attention_mask is not None:
        w = w + attention_mask[:, :, :, : k.shape[-2]]
    p = softmax_t(w, st["softmax_temperature"])
    if STATE["record"] is not None:
        STATE["record"].append(p.detach())
    out = torch.matmul(p, v).transpose(1, 2).contiguous()
    return out, p


_installed = False


def install():
    """Patch the families' RMSNorm / MLP / rotary classes and register the "gim_eager" attention."""
    global _installed
    if _installed:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    for fam, cls in NORM_CLASSES:
        c = getattr(_module(fam), cls)
        _ORIGINAL[cls] = c.forward
        c.forward = norm_forward
    for fam, cls in MLP_CLASSES:
        c = getattr(_module(fam), cls)
        _ORIGINAL[cls] = c.forward
        c.forward = phi3_mlp_forward if fam == "phi3" else mlp_forward
    for fam, cls in ROPE_CLASSES:
        c = getattr(_module(fam), cls)
        _ORIGINAL[cls] = c.forward
        c.forward = rope_forward
    AttentionInterface.register("gim_eager", gim_attention)
    AttentionMaskInterface.register("gim_eager", eager_mask)
    _installed = True


# ----------------------------------------------------------------------------------------------
# RoPE inverse frequencies in float64


def inv_freq_f64(rope: dict, head_dim: int, freq_factors=None) -> torch.Tensor:
    """inv_freq_i = theta^(-2i/d), then the scaling of rope["rope_type"]: linear (/ factor),
    llama3 (modeling_rope_utils._compute_llama3_parameters); `freq_factors` (GGUF rope_freqs)
    divides instead when given."""
    theta = float(rope["rope_theta"])
    d = head_dim
    inv = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    kind = rope.get("rope_type", "default")
    if freq_factors is not None:
        return inv / torch.as_tensor(freq_factors, dtype=torch.float64)
    if kind == "default":
        return inv
    if kind == "linear":
        return inv / float(rope["factor"])
    if kind == "llama3":
        factor, lo, hi = float(rope["factor"]), float(rope["low_freq_factor"]), float(rope["high_freq_factor"])
        orig = float(rope["original_max_position_embeddings"])
        low_wavelen, high_wavelen = orig / lo, orig / hi
        wavelen = 2 * math.pi / inv
        out = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (orig / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * inv / factor + smooth * inv
        mid = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return torch.where(mid, smoothed, out)
    raise NotImplementedError(kind)


def llama3_rope_factors(rope: dict, head_dim: int) -> torch.Tensor:
    """What GGUF rope_freqs holds for rope_type llama3: inv_default / inv_scaled (float64)."""
    base = inv_freq_f64({**rope, "rope_type": "default"}, head_dim)
    return base / inv_freq_f64(rope, head_dim)


def set_exact_rope(model, freq_factors=None):
    """Give every rotary module float64 inverse frequencies (checked against transformers' own)."""
    cfg = model.config
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    worst = 0.0
    for m in model.modules():
        if type(m).__name__.endswith("RotaryEmbedding"):
            rp = cfg.rope_parameters
            per_type = "full_attention" in rp or "sliding_attention" in rp
            table = {}
            for lt in (sorted(rp) if per_type else ["default"]):
                own = getattr(m, f"{lt}_inv_freq") if per_type else m.inv_freq
                mine = inv_freq_f64(rp[lt] if per_type else rp, head_dim, freq_factors)
                worst = max(worst, float(((own.double() - mine) / mine).abs().max()))
                table[lt] = mine
            m._gim_inv_freq = table
    assert worst < 1e-6, f"float64 inverse frequencies differ from transformers' by {worst:.2e}"
    return worst


# ----------------------------------------------------------------------------------------------
# Explain


def embed_scale(model) -> float:
    emb = model.get_input_embeddings()
    return float(getattr(emb, "scalar_embed_scale", 1.0))


def explain(model, token_ids, settings, baseline_token_id, target_token_id=None, target_position=-1):
    """Gradient x (input - baseline) of the target logit at `target_position` with GIM's backward.
    Returns logits [T, V], attributions [T], embedding_grad [T, D] (dL/de, e = unscaled embedding rows),
    target_logit, target_token_id, target_index."""
    with state(settings=dict(settings), gim=True, exact=True):
        W = model.get_input_embeddings().weight
        ids = torch.tensor(token_ids)
        e = W[ids].detach().clone().requires_grad_(True)
        s = embed_scale(model)
        x = e * s if s != 1.0 else e
        logits = model(inputs_embeds=x[None], use_cache=False).logits[0]
        T = len(token_ids)
        idx = target_position % T
        tgt = int(logits[idx].argmax()) if target_token_id is None else int(target_token_id)
        L = logits[idx, tgt]
        (g,) = torch.autograd.grad(L, e)
        base = W[baseline_token_id].detach()
        attr = (g * (e.detach() - base)).sum(-1)
    return {"logits": logits.detach(), "attributions": attr.detach(), "embedding_grad": g.detach(),
            "target_logit": float(L.detach()), "target_token_id": tgt, "target_index": idx}


def transformers_plain(model, token_ids, target_token_id, target_position=-1, exact=True):
    """transformers' own forward (eager attention, unmodified MLP and autograd) from input_ids, and
    the gradient of the target logit at the embedding module's output, mapped to the unscaled leaf.
    exact=True keeps the float64 RMSNorm / RoPE (transformers computes both in float32) and runs the
    eager softmax in float64 (transformers' eager upcasts it to float32)."""
    impl = model.config._attn_implementation
    model.config._attn_implementation = "eager"
    for m in model.modules():
        if hasattr(m, "config") and m is not model:
            m.config._attn_implementation = "eager"
    captured = {}
    emb = model.get_input_embeddings()

    def hook(mod, inp, out):
        out.retain_grad()
        captured["out"] = out

    h = emb.register_forward_hook(hook)
    orig_softmax = F.softmax

    def softmax64(x, dim=None, dtype=None, **kw):
        if exact and dtype == torch.float32 and x.dtype == torch.float64:
            dtype = None
        return orig_softmax(x, dim=dim, dtype=dtype, **kw)

    try:
        F.softmax = softmax64
        with state(settings=dict(PLAIN), gim=False, exact=exact):
            logits = model(torch.tensor([token_ids]), use_cache=False).logits[0]
            idx = target_position % len(token_ids)
            logits[idx, target_token_id].backward()
    finally:
        F.softmax = orig_softmax
        h.remove()
        model.config._attn_implementation = impl
        for m in model.modules():
            if hasattr(m, "config") and m is not model:
                m.config._attn_implementation = impl
        model.zero_grad(set_to_none=True)
    grad = captured["out"].grad[0] * embed_scale(model)
    return logits.detach(), grad.detach()


def relative_change(a, b) -> float:
    return float((a - b).norm() / b.norm())


def attention_entropy(probs) -> float:
    """Mean normalised entropy over rows with >= 2 visible keys (1 = uniform). probs: [B, H, T, T]."""
    vals = []
    for p in probs:
        p = p[0]
        n = (p > 0).sum(-1).to(torch.float64)
        ent = -(p * p.clamp_min(1e-300).log()).sum(-1)
        ok = n >= 2
        vals.append((ent[ok] / n[ok].log()).mean())
    return float(torch.stack(vals).mean())
