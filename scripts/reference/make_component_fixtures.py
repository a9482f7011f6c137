"""Component attribution and activation patching references (float64), for `gim components`.

    .venv/bin/python scripts/reference/make_component_fixtures.py [--model PATH] [--only a,b]

For the tiny random models of every family (Tests/GIMEngineTests/Fixtures/families/<name>/hf) and
for SmolLM2 (the GGUF loaded through transformers, dequantised, in float64) it writes
Tests/GIMEngineTests/Fixtures/components.json with, per case:

  scores    for the settings "plain" and "gim": Σ_{t ≤ p, j} dL/da[t, j] · (a_clean − a_corrupt)[t, j]
            for each layer's attention block output, MLP block output, each head's output before
            o_proj (per head), and the residual stream entering each layer at each position
            (per position). L = logit(target) at p, minus logit(foil) when a foil is given.
            Gradients come from transformers' own modules with gim_reference_families.py's GIM
            backward (the "gim_eager" attention, frozen norms, gate/up scales).
  patching  L(clean) − L(clean run with one component's activation replaced by the corrupt run's),
            for every component, each patched run being the model itself with a forward hook that
            overwrites that one activation (B patched runs per batched forward, one patch each).

Components are read with PyTorch hooks on the same places the Swift engine scores: a forward
pre-hook on each decoder layer (residual input), a forward pre-hook on self_attn.o_proj (per-head
outputs), a forward hook on the attention block's last module (self_attn, or Gemma 2/3's
post_attention_layernorm) and on the MLP block's last module (mlp, or post_feedforward_layernorm).
Counterfactuals: a corrupted token sequence of the same length, or "mean": each component's clean
activation averaged over the positions (every position gets the mean).

The run asserts, per case: head scores sum to the attention score (families without post-norms;
o_proj has no bias), patching the residual entering layer 0 at the only corrupted position gives
exactly L(corrupt), and the batched patched runs equal one-at-a-time patched runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gim_reference_families as R  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FAMILIES_DIR = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "families")
OUT = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "components.json")
DEFAULT_MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
FAMILIES = ["llama2", "llama3", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3"]
POST_NORM = ("gemma2", "gemma3")
SETTINGS = {"plain": R.NAMED_SETTINGS["plain"], "gim": R.NAMED_SETTINGS["gim"]}


# ----------------------------------------------------------------------------------------------
# Hooks


class Hooks:
    """Captures (and optionally patches) every component of a [B, T] batched forward.
    patches: one per batch row, (kind, layer, index) with kind in attention/mlp/head/residual and
    index the head or the position (None for attention/mlp); source: activations to copy in."""

    def __init__(self, model, family, patches=None, source=None, capture=False):
        self.model, self.patches, self.source, self.capture = model, patches, source, capture
        self.acts = {"attention": {}, "mlp": {}, "heads": {}, "residual": {}}
        self.handles = []
        cfg = model.config
        self.hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        for l, layer in enumerate(model.model.layers):
            attn_out = layer.post_attention_layernorm if family in POST_NORM else layer.self_attn
            mlp_out = layer.post_feedforward_layernorm if family in POST_NORM else layer.mlp
            self.handles += [
                layer.register_forward_pre_hook(self._residual(l), with_kwargs=True),
                layer.self_attn.o_proj.register_forward_pre_hook(self._heads(l)),
                attn_out.register_forward_hook(self._output("attention", l)),
                mlp_out.register_forward_hook(self._output("mlp", l)),
            ]

    def _rows(self, kind, layer):
        return [(b, p[2]) for b, p in enumerate(self.patches or []) if p[0] == kind and p[1] == layer]

    def _residual(self, l):
        def hook(mod, args, kwargs):
            x = args[0] if args else kwargs["hidden_states"]
            rows = self._rows("residual", l)
            if rows:
                x = x.clone()
                for b, t in rows:
                    x[b, t] = self.source["residual"][l][0, t]
            if self.capture:
                self.acts["residual"][l] = x
            if rows:
                if args:
                    return (x,) + tuple(args[1:]), kwargs
                return args, {**kwargs, "hidden_states": x}
            return None
        return hook

    def _heads(self, l):
        def hook(mod, args):
            x = args[0]
            rows = self._rows("head", l)
            if rows:
                x = x.clone()
                for b, h in rows:
                    sl = slice(h * self.hd, (h + 1) * self.hd)
                    x[b, :, sl] = self.source["heads"][l][0, :, sl]
            if self.capture:
                self.acts["heads"][l] = x
            return (x,) + tuple(args[1:]) if rows else None
        return hook

    def _output(self, kind, l):
        def hook(mod, args, out):
            y = out[0] if isinstance(out, tuple) else out
            rows = self._rows(kind, l)
            if rows:
                y = y.clone()
                for b, _ in rows:
                    y[b] = self.source[kind][l][0]
            if self.capture:
                self.acts[kind][l] = y
            if rows:
                return (y,) + tuple(out[1:]) if isinstance(out, tuple) else y
            return None
        return hook

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()


def embeds(model, ids, batch=1):
    W = model.get_input_embeddings().weight
    x = W[torch.tensor(ids)].detach() * R.embed_scale(model)
    return x[None].expand(batch, -1, -1).contiguous()


def metric(logits, p, target, foil):
    return logits[..., p, target] - (logits[..., p, foil] if foil is not None else 0)


def activations(model, family, ids):
    """Every component's activation of one run (no gradient), [1, T, width] each."""
    with torch.no_grad(), R.state(settings=dict(R.PLAIN), gim=False, exact=True), Hooks(model, family, capture=True) as h:
        logits = model(inputs_embeds=embeds(model, ids), use_cache=False).logits[0]
    return {k: {l: v.detach().clone() for l, v in d.items()} for k, d in h.acts.items()}, logits


def mean_over_positions(acts):
    return {k: {l: v.mean(dim=1, keepdim=True).expand_as(v).clone() for l, v in d.items()} for k, d in acts.items()}


def scores(model, family, ids, source, setting, p, target, foil):
    """Σ grad · (clean − source) per component with `setting`'s backward."""
    with R.state(settings=dict(SETTINGS[setting]), gim=True, exact=True), Hooks(model, family, capture=True) as h:
        x = embeds(model, ids).requires_grad_(True)
        logits = model(inputs_embeds=x, use_cache=False).logits[0]
        L = metric(logits, p, target, foil)
        keys = [(k, l) for k in ("attention", "mlp", "heads", "residual") for l in sorted(h.acts[k])]
        grads = torch.autograd.grad(L, [h.acts[k][l] for k, l in keys])
    n_layers, hd = len(model.model.layers), h.hd
    out = {"attention": [0.0] * n_layers, "mlp": [0.0] * n_layers, "heads": [None] * n_layers, "residual": [None] * n_layers}
    for (k, l), g in zip(keys, grads):
        prod = (g * (h.acts[k][l].detach() - source[k][l]))[0, : p + 1]  # [p+1, width]
        if k in ("attention", "mlp"):
            out[k][l] = float(prod.sum())
        elif k == "heads":
            out[k][l] = [float(v) for v in prod.reshape(p + 1, -1, hd).sum(dim=(0, 2))]
        else:
            T = len(ids)
            out[k][l] = [float(v) for v in prod.sum(-1)] + [0.0] * (T - p - 1)
    return out, float(L.detach())


def all_patches(n_layers, n_heads, p):
    out = []
    for l in range(n_layers):
        out += [("attention", l, None), ("mlp", l, None)]
        out += [("head", l, h) for h in range(n_heads)]
        out += [("residual", l, t) for t in range(p + 1)]
    return out


def patched_metrics(model, family, ids, source, patches, p, target, foil, batch=64):
    """L of the clean run with each patch applied: the model itself, one hook-patched row per patch."""
    out = []
    with torch.no_grad(), R.state(settings=dict(R.PLAIN), gim=False, exact=True):
        for i in range(0, len(patches), batch):
            chunk = patches[i: i + batch]
            with Hooks(model, family, patches=chunk, source=source):
                logits = model(inputs_embeds=embeds(model, ids, len(chunk)), use_cache=False).logits
            out += [float(v) for v in metric(logits, p, target, foil)]
    return out


def effects_map(model, patches, values, clean, T):
    n_layers, n_heads = len(model.model.layers), model.config.num_attention_heads
    m = {"attention": [0.0] * n_layers, "mlp": [0.0] * n_layers,
         "heads": [[0.0] * n_heads for _ in range(n_layers)], "residual": [[0.0] * T for _ in range(n_layers)]}
    for (kind, l, i), v in zip(patches, values):
        e = clean - v
        if kind in ("attention", "mlp"):
            m[kind][l] = e
        elif kind == "head":
            m["heads"][l][i] = e
        else:
            m["residual"][l][i] = e
    return m


# ----------------------------------------------------------------------------------------------
# Cases


def run_case(model, family, label, ids, corrupt, target, foil, position, log):
    T = len(ids)
    p = position % T
    clean_acts, logits = activations(model, family, ids)
    if target is None:
        # The 5th most likely token: away from Gemma 2's final soft-cap, where the argmax saturates.
        target = int(logits[p].argsort(descending=True)[4])
    if corrupt == "mean":
        source, corrupt_metric = mean_over_positions(clean_acts), None
    else:
        assert len(corrupt) == T
        source, clogits = activations(model, family, corrupt)
        corrupt_metric = float(metric(clogits, p, target, foil))
    case = {"model": label, "token_ids": ids, "corrupt_token_ids": None if corrupt == "mean" else corrupt,
            "counterfactual": "mean_over_positions" if corrupt == "mean" else "prompt",
            "target_token_id": target, "foil_token_id": foil, "target_position": position, "target_index": p,
            "corrupt_metric": corrupt_metric, "scores": {}}
    for name in SETTINGS:
        s, L = scores(model, family, ids, source, name, p, target, foil)
        case["scores"][name] = s
        case["clean_metric"] = L
        if family not in POST_NORM:
            worst = max(abs(sum(s["heads"][l]) - s["attention"][l]) / max(1e-12, max(map(abs, s["attention"])))
                        for l in range(len(s["attention"])))
            assert worst < 1e-9, f"{label}: head scores do not sum to the attention score ({worst:.2e})"
    n_layers, n_heads = len(model.model.layers), model.config.num_attention_heads
    patches = all_patches(n_layers, n_heads, p)
    t0 = time.time()
    values = patched_metrics(model, family, ids, source, patches, p, target, foil)
    seconds = time.time() - t0
    case["patching"] = effects_map(model, patches, values, case["clean_metric"], T)
    # Checks: batched == one at a time (a few), residual at layer 0 on the only corrupted position == corrupt run.
    for i in range(0, len(patches), max(1, len(patches) // 7)):
        one = patched_metrics(model, family, ids, source, [patches[i]], p, target, foil)[0]
        assert abs(one - values[i]) < 1e-9 * max(1, abs(one)), (label, patches[i], one, values[i])
    if corrupt != "mean":
        diff = [t for t in range(T) if ids[t] != corrupt[t]]
        if len(diff) == 1 and diff[0] <= p:
            v = values[patches.index(("residual", 0, diff[0]))]
            assert abs(v - corrupt_metric) < 1e-9 * max(1, abs(v)), (label, v, corrupt_metric)
    gim, pl, pa = case["scores"]["gim"], case["scores"]["plain"], case["patching"]
    flat = lambda m: torch.tensor(sum(m["heads"], []), dtype=torch.float64)  # noqa: E731
    r = lambda a, b: float(torch.corrcoef(torch.stack([flat(a), flat(b)]))[0, 1])  # noqa: E731
    log(f"  {label}: T={T} L(clean)={case['clean_metric']:.4f} L(corrupt)={corrupt_metric} "
        f"{len(patches)} patched runs {seconds:.1f} s; head Pearson with patching: GIM {r(gim, pa):.3f}, plain {r(pl, pa):.3f}")
    return case


def family_cases(name, log):
    import make_family_fixtures as F
    model = F.load_hf(os.path.join(FAMILIES_DIR, name, "hf"))
    R.set_exact_rope(model)
    for p in model.parameters():
        p.requires_grad_(False)
    V = model.config.vocab_size
    g = torch.Generator().manual_seed(17 + FAMILIES.index(name))
    ids = [int(v) for v in torch.randint(3, V - 4, (12,), generator=g)]
    corrupt = list(ids)
    corrupt[4] = (ids[4] + 7) % (V - 8) + 3  # one token changed: the layer-0 residual check applies
    two = list(corrupt)
    two[9] = (ids[9] + 11) % (V - 8) + 3
    return [
        run_case(model, name, name, ids, corrupt, None, None, -1, log),
        run_case(model, name, name, ids, two, None, (ids[0] + 5) % V, -2, log),
        run_case(model, name, name, ids, "mean", None, None, -1, log),
    ]


def check_dense_weights(model, path, log):
    """The reference must run on the weights the engine runs on: every parameter a dense float64
    tensor (transformers can keep GGUF weights packed and compute their matmuls in float32), equal
    to the gguf package's dequantisation (what the engine's Q4_1/Q8_0 kernels decode, bit for bit)."""
    import gguf
    from gguf import quants
    packed = [n for n, p in model.named_parameters() if p.dtype != torch.float64]
    assert not packed, f"transformers kept these weights packed: {packed[:4]}"
    r = gguf.GGUFReader(path)
    tensors = {t.name: t for t in r.tensors}
    worst = 0.0
    for l in (0, len(model.model.layers) - 1):
        for name, w in ((f"blk.{l}.ffn_down.weight", model.model.layers[l].mlp.down_proj.weight),
                        (f"blk.{l}.attn_v.weight", model.model.layers[l].self_attn.v_proj.weight)):
            t = tensors[name]
            ref = torch.from_numpy(quants.dequantize(t.data, t.tensor_type).astype("float32").copy()).double()
            worst = max(worst, float((ref.reshape(w.shape) - w).abs().max()))
    emb = tensors["token_embd.weight"]
    ref = torch.from_numpy(quants.dequantize(emb.data, emb.tensor_type).astype("float32").copy()).double()
    worst = max(worst, float((ref.reshape(model.get_input_embeddings().weight.shape) - model.get_input_embeddings().weight).abs().max()))
    assert worst == 0.0, f"transformers' weights differ from gguf's dequantisation by {worst:.3e}"
    log("  weights: dense float64, equal to gguf.quants.dequantize (ffn_down, attn_v of the first and last layer, token_embd)")


def smollm2_cases(path, log):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    d, f = os.path.split(os.path.abspath(path))
    t0 = time.time()
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float64, attn_implementation="gim_eager")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    R.set_exact_rope(model)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    log(f"  SmolLM2 loaded in {time.time() - t0:.0f} s (float64)")
    check_dense_weights(model, path, log)

    def enc(s):
        return tok.encode(s, add_special_tokens=False)
    clean = enc("When Mary and John went to the store, John gave a drink to")
    bad = enc("When Mary and John went to the store, Mary gave a drink to")
    mary, john = enc(" Mary")[0], enc(" John")[0]
    france = enc("The capital of France is")
    return [
        run_case(model, "llama", "smollm2", clean, bad, mary, john, -1, log),
        run_case(model, "llama", "smollm2", france, "mean", None, None, -1, log),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--only", default=None, help="comma-separated families (and/or smollm2)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    R.install()
    import transformers
    only = args.only.split(",") if args.only else FAMILIES + ["smollm2"]
    def log(*a):
        print(*a, flush=True)
    cases = []
    for name in FAMILIES:
        if name in only:
            log(f"{name}:")
            cases += family_cases(name, log)
    if "smollm2" in only:
        log("smollm2:")
        cases += smollm2_cases(args.model, log)
    # Cases of models not regenerated by this run are kept from the existing file (--only updates a part).
    if os.path.exists(OUT):
        with open(OUT) as fh:
            kept = [c for c in json.load(fh)["cases"] if c["model"] not in only]
        cases = kept + cases
    doc = {
        "source": (f"scripts/reference/make_component_fixtures.py: transformers {transformers.__version__} modules "
                   f"in float64 with gim_reference_families.py's backward, torch {torch.__version__}; tiny families "
                   "from Tests/GIMEngineTests/Fixtures/families/*/hf; smollm2 = SmolLM2-135M-Instruct.Q4_1.gguf "
                   "loaded by transformers (dequantised) in float64."),
        "conventions": ("score = sum over positions <= target_index of grad * (clean - corrupt); patching = "
                        "L(clean) - L(patched); L = logit(target) - logit(foil) at target_index (foil null: the "
                        "target logit); residual[l][t] = the residual stream entering layer l at position t "
                        "(positions after target_index are 0); heads = per-head outputs before o_proj."),
        "cases": cases,
    }

    def r(v):
        if isinstance(v, float):
            return float(f"{v:.10g}")
        if isinstance(v, list):
            return [r(x) for x in v]
        if isinstance(v, dict):
            return {k: r(x) for k, x in v.items()}
        return v
    text = json.dumps(r(doc), separators=(",", ":"))
    with open(OUT, "w") as fh:
        fh.write(text + "\n")
    log(f"wrote {os.path.relpath(OUT, ROOT)} ({len(text) / 1024:.0f} KiB, {len(cases)} cases)")


if __name__ == "__main__":
    main()
