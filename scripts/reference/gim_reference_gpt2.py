"""From-scratch GPT-2 forward in PyTorch with GIM's backward-only modifications.

The GPT-2 counterpart of gim_reference.py (which holds the Llama path, the settings and the
shared autograd.Functions TemperatureSoftmax and GradScale). It follows shared/DESIGN.md
"The method, exactly":

    a_t = sum_d dL/de[t,d] * (e[t,d] - e_base[d])

with e the output of `wte` only: the learned position embeddings are added after it, so they are
part of the model, not of the attribution leaf.

GPT-2 block (pre-norm, Conv1D weights stored [in, out], y = x @ W + b):
    h    = ln_1(x)
    q|k|v = h @ c_attn.W + c_attn.b                  [T, 3D], heads of size D/H
    P    = softmax(q k^T * scale + causal mask)        scale = 1/sqrt(hd) (scale_attn_weights)
                                                       further / (layer+1) if
                                                       scale_attn_by_inverse_layer_idx
    x    = x + (P v) @ attn.c_proj.W + attn.c_proj.b
    x    = x + gelu(ln_2(x) @ c_fc.W + c_fc.b) @ mlp.c_proj.W + mlp.c_proj.b
logits = ln_f(x) @ wte^T (tied head; `lm_head` when untied).

GIM knobs on GPT-2:
  freeze_norm          LayerNorm's sigma is a constant in the backward, the mean path is kept:
                       with g = w * dy, dx = (g - mean(g)) / sigma   (FrozenLayerNorm)
  softmax_temperature  the attention softmax backward uses softmax(x / T)
  q/k/v_scale          gradients arriving at q, k, v (after the c_attn split) are scaled
  gate/up_scale        no gated MLP: they do not apply (and must change nothing)

Weights are kept in a dict under Hugging Face names without the "transformer." prefix
("wte", "wpe", "h.0.ln_1.weight", "h.0.attn.c_attn.weight" [D, 3D], ...).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from gim_reference import GradScale, TemperatureSoftmax, explain_with, grad_scale, softmax_t  # noqa: F401


@dataclass
class GPT2Config:
    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    n_positions: int
    ffn_dim: int
    ln_eps: float
    activation: str  # "gelu_new" (tanh form) or "gelu" (erf)
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    tied: bool = True

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    def to_json(self) -> dict:
        return asdict(self)


class FrozenLayerNorm(torch.autograd.Function):
    """y = w * (x - mean) / sigma + b, sigma = sqrt(var(x) + eps) (biased variance).
    Backward keeps the mean path and treats sigma as a constant:
    g = w * dy,  dx = (g - mean(g)) / sigma."""

    @staticmethod
    def forward(ctx, x, w, b, eps):
        mu = x.mean(-1, keepdim=True)
        xc = x - mu
        inv = torch.rsqrt(xc.pow(2).mean(-1, keepdim=True) + eps)
        ctx.save_for_backward(w, inv)
        return w * (xc * inv) + b

    @staticmethod
    def backward(ctx, dy):
        w, inv = ctx.saved_tensors
        g = w * dy
        return (g - g.mean(-1, keepdim=True)) * inv, None, None, None


def layer_norm(x, w, b, eps, freeze: bool):
    if freeze:
        return FrozenLayerNorm.apply(x, w, b, eps)
    mu = x.mean(-1, keepdim=True)
    xc = x - mu
    return w * (xc * torch.rsqrt(xc.pow(2).mean(-1, keepdim=True) + eps)) + b


def gelu(x, kind: str):
    if kind in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))
    if kind == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    raise ValueError(f"unsupported activation {kind!r}")


def forward(cfg: GPT2Config, W: dict, e: torch.Tensor, settings: dict) -> torch.Tensor:
    """e: [T, dim] token embeddings (wte rows, the attribution leaf). Returns logits [T, vocab]."""
    s = settings
    T = e.shape[0]
    H, hd, D = cfg.n_heads, cfg.head_dim, cfg.dim
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    x = e + W["wpe"][:T]
    for i in range(cfg.n_layers):
        p = f"h.{i}."
        h = layer_norm(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"], cfg.ln_eps, s["freeze_norm"])
        qkv = h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]  # Conv1D: [in, out]
        q, k, v = qkv.split(D, dim=-1)
        q = q.view(T, H, hd).transpose(0, 1)  # [H, T, hd]
        k = k.view(T, H, hd).transpose(0, 1)
        v = v.view(T, H, hd).transpose(0, 1)
        q = grad_scale(q, s["q_scale"])
        k = grad_scale(k, s["k_scale"])
        v = grad_scale(v, s["v_scale"])
        scale = 1.0
        if cfg.scale_attn_weights:
            scale /= math.sqrt(hd)
        if cfg.scale_attn_by_inverse_layer_idx:
            scale /= float(i + 1)
        scores = (q @ k.transpose(-1, -2)) * scale
        scores = scores.masked_fill(causal, float("-inf"))
        probs = softmax_t(scores, s["softmax_temperature"])
        o = (probs @ v).transpose(0, 1).reshape(T, D)
        x = x + o @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        h = layer_norm(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"], cfg.ln_eps, s["freeze_norm"])
        m = gelu(h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"], cfg.activation)
        x = x + m @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    x = layer_norm(x, W["ln_f.weight"], W["ln_f.bias"], cfg.ln_eps, s["freeze_norm"])
    head = W["wte"] if cfg.tied else W["lm_head"]
    return x @ head.T


def explain(cfg: GPT2Config, W: dict, token_ids, settings: dict, baseline_token_id: int,
            target_token_id: int | None = None, target_position: int = -1) -> dict:
    """Same contract as gim_reference.explain, for GPT-2 (attribution on the wte rows)."""
    return explain_with(lambda e: forward(cfg, W, e, settings), W["wte"], token_ids,
                        baseline_token_id, target_token_id, target_position)


def from_hf_gpt2(model) -> tuple[GPT2Config, dict]:
    """Config and weights (names without "transformer.") from a transformers GPT2LMHeadModel."""
    c = model.config
    cfg = GPT2Config(
        vocab_size=c.vocab_size, dim=c.n_embd, n_layers=c.n_layer, n_heads=c.n_head,
        n_positions=c.n_positions, ffn_dim=c.n_inner or 4 * c.n_embd, ln_eps=float(c.layer_norm_epsilon),
        activation=c.activation_function, scale_attn_weights=bool(c.scale_attn_weights),
        scale_attn_by_inverse_layer_idx=bool(c.scale_attn_by_inverse_layer_idx),
        tied=bool(getattr(c, "tie_word_embeddings", True)),
    )
    W = {}
    for name, t in model.transformer.state_dict().items():
        if name.endswith("attn.bias") and t.dim() == 4:  # old causal-mask buffer
            continue
        W[name[: -len(".weight")] if name in ("wte.weight", "wpe.weight") else name] = t.detach()
    if not cfg.tied:
        W["lm_head"] = model.lm_head.weight.detach()
    return cfg, W


def self_test(log=print):
    g = torch.Generator().manual_seed(0)
    dt = torch.float64
    x = torch.randn(5, 7, generator=g, dtype=dt, requires_grad=True)
    w = 1 + 0.1 * torch.randn(7, generator=g, dtype=dt)
    b = 0.1 * torch.randn(7, generator=g, dtype=dt)
    dy = torch.randn(5, 7, generator=g, dtype=dt)
    # The plain LayerNorm equals torch's.
    ref = torch.nn.functional.layer_norm(x, (7,), w, b, 1e-5)
    assert torch.allclose(layer_norm(x, w, b, 1e-5, False), ref, atol=1e-14)
    # FrozenLayerNorm == the forward with sigma detached (mean path kept); same forward values.
    y1 = FrozenLayerNorm.apply(x, w, b, 1e-5)
    (g1,) = torch.autograd.grad(y1, x, dy)
    xc = x - x.mean(-1, keepdim=True)
    inv = torch.rsqrt(xc.pow(2).mean(-1, keepdim=True) + 1e-5).detach()
    (g2,) = torch.autograd.grad(w * xc * inv + b, x, dy)
    assert torch.allclose(g1, g2, atol=1e-14) and torch.allclose(y1, ref, atol=1e-14)
    # ... and differs from the full LayerNorm gradient.
    (g3,) = torch.autograd.grad(ref, x, dy)
    assert float((g3 - g1).abs().max()) > 1e-3
    # GELU tanh form equals torch's approximate="tanh".
    z = torch.randn(50, generator=g, dtype=dt)
    assert torch.allclose(gelu(z, "gelu_new"), torch.nn.functional.gelu(z, approximate="tanh"), atol=1e-14)
    assert torch.allclose(gelu(z, "gelu"), torch.nn.functional.gelu(z), atol=1e-14)
    log("  self-test of FrozenLayerNorm / GELU: ok")


if __name__ == "__main__":
    self_test()
