"""Reference attributions for the methods beside GIM: lxt's AttnLRP and CP-LRP, and Integrated Gradients.

    bash scripts/reference/setup-lxt.sh                  # once: lxt 2.1 + transformers 4.52.4 in .pydeps-lxt/
    .venv/bin/python scripts/reference/make_method_fixtures.py [--only smollm2,llama2,...] [--out DIR]

Writes Tests/GIMEngineTests/Fixtures/methods/<model>.json (format: scripts/reference/README.md,
"Methods beside GIM").

How each number is made:
- attnlrp / cplrp: lxt 2.1's own efficient path, as its quickstart does it, in a child process
  whose PYTHONPATH starts with .pydeps-lxt (transformers 4.52.4; lxt does not run on 5.x):
  `monkey_patch(modeling_xxx, patch_map)` before loading the model, eager attention, float32,
  `inputs_embeds = embed_tokens(ids)` with requires_grad, forward, `logits[0, pos, tok].backward()`
  (seed 1), relevance = (inputs_embeds * inputs_embeds.grad).sum(-1). One process per
  (model, method): lxt patches module globals (and, for CP-LRP, the attention registry shared by
  every transformers model), so two patchings must never meet in one process.
  For the families lxt 2.1 has no patch map for (mistral, gemma, gemma2, phi3) the map is built
  here from lxt's own patch functions (see FAMILY_LXT below); the fixture says so.
- integrated-gradients and the plain gradient x input: this process (the venv's transformers 5.x,
  no patching), float32 like the engine; float64 differences are printed.
  e(a) = e_b + a (e - e_b), a_k = (k - 0.5)/m, IG_t = sum_d (e - e_b)[t,d] * mean_k dL/de[t,d](e(a_k)),
  L = the raw target logit, e_b = the baseline token's embedding at every position; e and e_b are what
  the embedding module returns (transformers 5.x's Gemma modules scale there), not the weight rows.
- targets: argmax / 6th-ranked, among the logits <= 0.99 x the final soft-cap if the model has one
  (make_cases: at the cap float32's tanh derivative is rounding noise).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "methods")
FAMILIES_DIR = os.path.join("Tests", "GIMEngineTests", "Fixtures", "families")
SMOLLM2_PATH = os.path.join("models", "SmolLM2-135M-Instruct.Q4_1.gguf")
LXT_DEPS = os.environ.get("LXT_DEPS", os.path.join(ROOT, ".pydeps-lxt"))

IG_STEPS = [8, 16, 32, 64]
IG_CONVERGED = 1024
SMOLLM2_IG_STEPS = IG_STEPS + [256]  # --smollm2-ig-steps
IG_BATCH = 32

SMOLLM2_PROMPTS = [
    "In geography class we learned that the capital of France is",
    "When Mary and John went to the store, John gave a drink to",
    "The quick brown fox jumps over the lazy",
]
# Tiny models: prefixes of the token sequences the families fixtures use (reference.json "hf").
TINY_PREFIXES = [(0, 12), (1, 8)]
FAMILIES = ["llama2", "llama3", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3"]

# Which lxt 2.1 patch map each family gets. "lxt" = lxt.efficient.models.<module>.{attnLRP,cp_LRP};
# "built" = a map assembled here from lxt's own patch functions (lxt 2.1 has none for the family).
FAMILY_LXT = {
    "smollm2": ("llama", "lxt"), "gpt2": ("gpt2", "lxt"), "llama2": ("llama", "lxt"), "llama3": ("llama", "lxt"),
    "qwen2": ("qwen2", "lxt"), "qwen3": ("qwen3", "lxt"), "gemma3": ("gemma3", "lxt"),
    "mistral": ("mistral", "built"), "gemma": ("gemma", "built"), "gemma2": ("gemma2", "built"),
    "phi3": ("phi3", "built"),
}
BUILT_NOTE = {
    "mistral": "lxt 2.1 has no Mistral map; built as lxt's Llama map on the Mistral classes "
               "(MistralMLP: gated_mlp_forward / cp_gated_mlp_forward, MistralRMSNorm: rms_norm_forward, "
               "modeling_mistral: patch_attention / patch_cp_attention, Dropout: dropout_forward)",
    "gemma": "lxt 2.1 has no Gemma map; built as lxt's Gemma3 map on the Gemma classes (GemmaRMSNorm._norm "
             "replaced by x * stop_gradient(rsqrt(mean(x^2) + eps)), so (1 + w) stays in the forward)",
    "gemma2": "lxt 2.1 has no Gemma2 map; built as lxt's Gemma3 map on the Gemma2 classes (all four norms "
              "per layer and the final norm frozen through _norm); attention and final soft-caps keep "
              "their plain tanh gradient",
    "phi3": "lxt 2.1 has no Phi-3 map and its gated_mlp_forward needs separate gate_proj/up_proj; built "
            "from lxt's rules: Phi3RMSNorm rms_norm_forward, patch_attention / patch_cp_attention, and for "
            "the fused gate_up_proj the same two rules as gated_mlp_forward (identity_rule_implicit on "
            "act(gate), divide_gradient(act(gate) * up, 2)) or cp_gated_mlp_forward (gate half detached)",
}


def log(msg):
    print(msg, flush=True)


def f32list(values):
    """Shortest decimal that reads back to the same float32."""
    return [float(np.format_float_positional(np.float32(v), unique=True, trim="-")) for v in values]


def rel_l2(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


# ----------------------------------------------------------------------------------------------
# Loading (works on transformers 4.52.4 in the lxt child and on 5.x here)

def tiny_config_dict(folder, for_v4):
    """config.json of a families folder; for transformers 4.x, 5.x's keys are rewritten in memory.

    5.x writes `dtype` and `rope_parameters` (per layer type for Gemma 3) and `layer_types`; 4.52.4
    reads `torch_dtype`, `rope_theta` + `rope_scaling`, Gemma 3's `rope_local_base_freq` +
    `sliding_window_pattern`, and Phi-3's top-level `partial_rotary_factor`. The sliding layers
    4.52.4 derives (Gemma 2: even layers; Gemma 3: every layer but each pattern-th; Mistral: all;
    Qwen2: none unless use_sliding_window) are asserted to be the ones layer_types names.
    """
    with open(os.path.join(folder, "config.json")) as f:
        d = json.load(f)
    if not for_v4:
        return d
    if "dtype" in d:
        d["torch_dtype"] = d.pop("dtype")
    rp = d.pop("rope_parameters", None)
    layer_types = d.pop("layer_types", None)
    mt = d["model_type"]
    if rp is not None and "full_attention" in rp:  # Gemma 3: one set per layer type
        full, slide = rp["full_attention"], rp["sliding_attention"]
        d["rope_theta"] = full["rope_theta"]
        d["rope_scaling"] = None if full.get("rope_type", "default") == "default" else \
            {k: v for k, v in full.items() if k != "rope_theta"}
        d["rope_local_base_freq"] = slide["rope_theta"]
        assert slide.get("rope_type", "default") == "default", slide
    elif rp is not None:
        d["rope_theta"] = rp["rope_theta"]
        if "partial_rotary_factor" in rp:
            d["partial_rotary_factor"] = rp["partial_rotary_factor"]
        rest = {k: v for k, v in rp.items() if k not in ("rope_theta", "partial_rotary_factor")}
        d["rope_scaling"] = None if rest.get("rope_type", "default") == "default" else rest
    if layer_types is not None:
        n = d["num_hidden_layers"]
        sliding = [t == "sliding_attention" for t in layer_types]
        if mt == "gemma2":
            assert sliding == [i % 2 == 0 for i in range(n)], layer_types
        elif mt == "gemma3_text":
            p = layer_types.index("full_attention") + 1
            d["sliding_window_pattern"] = p
            assert sliding == [bool((i + 1) % p) for i in range(n)], layer_types
        elif mt in ("qwen2", "qwen3"):
            assert not any(sliding) and not d.get("use_sliding_window", False), layer_types
        else:
            raise SystemExit(f"{folder}: layer_types on {mt} not mapped for transformers 4.x")
    return d


def load_model(spec, for_v4, dtype=torch.float32):
    from transformers import AutoConfig, AutoModelForCausalLM
    key = "torch_dtype" if for_v4 else "dtype"
    if spec["kind"] == "gguf":
        path = os.path.join(ROOT, spec["model_path"])
        model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                     attn_implementation="eager", **{key: dtype})
    else:
        folder = os.path.join(ROOT, spec["model_path"])
        d = tiny_config_dict(folder, for_v4)
        mt = d.pop("model_type")
        cfg = AutoConfig.for_model(mt, **d)
        model = AutoModelForCausalLM.from_pretrained(folder, config=cfg, attn_implementation="eager",
                                                     **{key: dtype})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def model_specs():
    specs = {"smollm2": {"name": "SmolLM2-135M-Instruct", "kind": "gguf", "model_path": SMOLLM2_PATH}}
    for fam in FAMILIES:
        specs[fam] = {"name": f"tiny-{fam}", "kind": "hf", "model_path": os.path.join(FAMILIES_DIR, fam, "hf"),
                      "reference": os.path.join(FAMILIES_DIR, fam, "reference.json"), "prefixes": TINY_PREFIXES}
    fx = os.path.join("Tests", "GIMEngineTests", "Fixtures")
    specs["gpt2"] = {"name": "tiny-gpt2", "kind": "hf", "model_path": os.path.join(fx, "hf", "tiny-gpt2"),
                     "reference": os.path.join(fx, "hf_tiny_gpt2.json"), "prefixes": [(0, 8), (1, 12)]}
    return specs


# ----------------------------------------------------------------------------------------------
# lxt child: one (model, method) per process

def lxt_patch_map(fam, method):
    """lxt's map for the family, or one built from lxt's patch functions (FAMILY_LXT "built")."""
    from functools import partial
    from torch.nn import Dropout
    from lxt.efficient import patches as P
    from lxt.efficient.rules import divide_gradient, identity_rule_implicit, stop_gradient
    modname, how = FAMILY_LXT[fam]
    attn = method == "attnlrp"
    if how == "lxt":
        import importlib
        m = importlib.import_module(f"lxt.efficient.models.{modname}")
        return getattr(m, "attnLRP" if attn else "cp_LRP"), getattr(m, f"modeling_{modname}")
    import importlib
    mod = importlib.import_module(f"transformers.models.{modname}.modeling_{modname}")
    attn_patch = P.patch_attention if attn else P.patch_cp_attention
    drop = partial(P.patch_method, P.dropout_forward)
    if modname == "mistral":
        mlp = P.gated_mlp_forward if attn else P.cp_gated_mlp_forward
        return {mod.MistralMLP: partial(P.patch_method, mlp), mod.MistralRMSNorm: partial(P.patch_method, P.rms_norm_forward),
                Dropout: drop, mod: attn_patch}, mod
    if modname in ("gemma", "gemma2"):
        from lxt.efficient.models.gemma3 import gemma3_norm
        mlp = P.gated_mlp_forward if attn else P.cp_gated_mlp_forward
        cls = "Gemma" if modname == "gemma" else "Gemma2"
        return {getattr(mod, cls + "MLP"): partial(P.patch_method, mlp),
                getattr(mod, cls + "RMSNorm"): partial(P.patch_method, gemma3_norm, method_name="_norm"),
                Dropout: drop, mod: attn_patch}, mod
    if modname == "phi3":
        def phi3_mlp_attnlrp(self, x):
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
            weighted = divide_gradient(up * identity_rule_implicit(self.activation_fn, gate), 2)
            return self.down_proj(weighted)

        def phi3_mlp_cplrp(self, x):
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
            return self.down_proj(up * self.activation_fn(stop_gradient(gate)))
        mlp = phi3_mlp_attnlrp if attn else phi3_mlp_cplrp
        return {mod.Phi3MLP: partial(P.patch_method, mlp), mod.Phi3RMSNorm: partial(P.patch_method, P.rms_norm_forward),
                Dropout: drop, mod: attn_patch}, mod
    raise SystemExit(f"no lxt map for {fam}")


def lxt_child(args):
    import transformers
    from importlib.metadata import version
    from lxt.efficient import monkey_patch
    assert transformers.__version__.startswith("4."), transformers.__version__
    with open(args.child_in) as f:
        job = json.load(f)
    fam, method = job["fam"], job["method"]
    patch_map, module = lxt_patch_map(fam, method)
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monkey_patch(module, patch_map)  # before the model is built, as lxt's quickstart does
    failed = [str(w.message) for w in caught if "patch" in str(w.message)]
    assert not failed, failed  # lxt warns (and skips) when a patch does not apply
    model = load_model(job["spec"], for_v4=True)
    emb = model.get_input_embeddings()
    out = []
    for case in job["cases"]:
        ids = torch.tensor([case["token_ids"]])
        inputs_embeds = emb(ids).detach().requires_grad_(True)
        logits = model(inputs_embeds=inputs_embeds, use_cache=False).logits
        target = logits[0, case["target_position"], case["target_token_id"]]
        target.backward()
        relevance = (inputs_embeds * inputs_embeds.grad).sum(-1)[0]
        out.append({"relevance": relevance.tolist(), "target_logit": float(target)})
    res = {"cases": out, "versions": {"lxt": version("lxt"), "transformers": transformers.__version__,
                                      "torch": torch.__version__}}
    with open(args.child_out, "w") as f:
        json.dump(res, f)


def start_lxt(fam, spec, method, cases):
    """Start the lxt child for (model, method); finish_lxt collects it. Children run beside the
    IG computation: the machine's 2 cores are shared, and each niced process gets its own slice."""
    tmp = tempfile.mkdtemp(prefix="lxt-")
    cin, cout = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
    with open(cin, "w") as f:
        json.dump({"fam": fam, "method": method, "spec": spec, "cases": cases}, f)
    env = dict(os.environ)
    env["PYTHONPATH"] = LXT_DEPS + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    errf = open(os.path.join(tmp, "log.txt"), "w")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child-in", cin, "--child-out", cout],
                            env=env, stdout=errf, stderr=subprocess.STDOUT)
    return {"proc": proc, "tmp": tmp, "out": cout, "log": errf, "t0": time.time(), "method": method, "fam": fam}


def finish_lxt(job):
    rc = job["proc"].wait()
    job["log"].close()
    if rc != 0:
        with open(job["log"].name) as f:
            sys.stderr.write(f.read())
        raise SystemExit(f"lxt child failed for {job['fam']} {job['method']}")
    with open(job["out"]) as f:
        res = json.load(f)
    log(f"    lxt {job['method']}: {time.time() - job['t0']:.1f} s")
    return res


# ----------------------------------------------------------------------------------------------
# Plain gradient and Integrated Gradients (unpatched model, this process)

def target_logit_and_grad(model, embeds, pos, tok):
    """embeds [B, T, D] -> (target logits [B], dL/de [B, T, D]); L summed over the batch."""
    x = embeds.detach().requires_grad_(True)
    logits = model(inputs_embeds=x, use_cache=False).logits
    z = logits[:, pos, tok]
    z.sum().backward()
    return z.detach(), x.grad.detach()


def integrated_gradients(model, e, eb, pos, tok, m):
    """e, eb: [T, D]. Midpoint rule, m points, batched (model.ig_batch points at a time)."""
    alphas = (torch.arange(1, m + 1, dtype=e.dtype) - 0.5) / m
    total = torch.zeros_like(e)
    batch = getattr(model, "ig_batch", IG_BATCH)
    for s in range(0, m, batch):
        a = alphas[s:s + batch].view(-1, 1, 1)
        _, g = target_logit_and_grad(model, eb + a * (e - eb), pos, tok)
        total += g.sum(0)
    return ((e - eb) * (total / m)).sum(-1)


def input_embeddings(model, ids):
    """What the model's embedding module hands the first layer for `ids` ([T] -> [T, D]).

    Not the weight rows: in transformers 5.x every Gemma family scales inside the embedding module
    (GemmaTextScaledWordEmbedding, x sqrt(hidden)), so `inputs_embeds = weight[ids]` would run the
    model on unscaled inputs (4.52.4 scaled Gemma 1/2 in the model body instead, after inputs_embeds).
    Relevances are the same either way: (s e) . dL/d(s e) = e . dL/de."""
    with torch.no_grad():
        return model.get_input_embeddings()(ids).detach()


def plain_cases(model, cases, baseline_id, ig_steps, double_model=None):
    """Per case: plain gradient x input (zero baseline) and IG at the step counts ig_steps[i]
    (none for a case whose list is empty); float64 IG on the first case."""
    res = []
    for case, steps in zip(cases, ig_steps):
        ids = torch.tensor(case["token_ids"])
        pos, tok = case["target_position"], case["target_token_id"]
        e = input_embeddings(model, ids)
        eb = input_embeddings(model, torch.tensor([baseline_id])).expand_as(e).clone()
        z, g = target_logit_and_grad(model, e[None], pos, tok)
        zb, _ = target_logit_and_grad(model, eb[None], pos, tok)
        gxi = (e * g[0]).sum(-1)
        ig = {m: integrated_gradients(model, e, eb, pos, tok, m) for m in steps}
        r = {"target_logit": float(z[0]), "baseline_logit": float(zb[0]), "gxi": gxi.tolist(),
             "ig": {m: v.tolist() for m, v in ig.items()}}
        if double_model is not None and not res:  # float64 on the first case only (time)
            e64 = input_embeddings(double_model, ids)
            eb64 = input_embeddings(double_model, torch.tensor([baseline_id])).expand_as(e64).clone()
            r["ig64"] = {m: integrated_gradients(double_model, e64, eb64, pos, tok, m).tolist()
                         for m in double_model.ig64_steps}
        res.append(r)
    return res


# ----------------------------------------------------------------------------------------------
# Independent check of the knob mapping: lxt's two methods as points in GIM's knob space, computed
# with gim_reference_families.py (transformers 5.x modules, float64) plus one extra knob written
# here, the identity rule on the gated MLP's activation. If this agrees with lxt, the mapping in
# the README is what lxt does.

KNOB_POINTS = {
    "attnlrp": (dict(freeze_norm=True, softmax_temperature=1.0, q_scale=0.25, k_scale=0.25, v_scale=0.5,
                     gate_scale=0.5, up_scale=0.5), "identity"),
    "cplrp": (dict(freeze_norm=True, softmax_temperature=1.0, q_scale=0.0, k_scale=0.0, v_scale=1.0,
                   gate_scale=0.0, up_scale=1.0), "gradient"),
}
LXT_EPSILON = 1e-10  # lxt.efficient.rules.identity_rule_implicit_fn.forward's default


class IdentityRule(torch.autograd.Function):
    """y = act(x); backward dx = dy * act(x) / (x + 1e-10) (the epsilon added with no sign)."""

    @staticmethod
    def forward(ctx, x, act):
        y = act(x)
        ctx.save_for_backward(y / (x + LXT_EPSILON))
        return y

    @staticmethod
    def backward(ctx, dy):
        (ratio,) = ctx.saved_tensors
        return dy * ratio, None


ACTIVATION_RULE = {"rule": "gradient"}


def knob_mlp_forward(self, x):
    import gim_reference_families as R
    if hasattr(self, "gate_up_proj"):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        act = self.activation_fn
    else:
        gate, up = self.gate_proj(x), self.up_proj(x)
        act = self.act_fn
    a = IdentityRule.apply(gate, act) if ACTIVATION_RULE["rule"] == "identity" else act(gate)
    return self.down_proj(R.gated_product(a, up))


def knob_check(fam, spec, cases, lxt):
    """Max relative difference (max |a - b| / max |b|) per method between the knob point and lxt."""
    sys.path.insert(0, HERE)
    import gim_reference_families as R
    from transformers import AutoConfig, AutoModelForCausalLM
    R.install()
    for f, cls in R.MLP_CLASSES:
        setattr(getattr(R._module(f), cls), "forward", knob_mlp_forward)
    if spec["kind"] == "gguf":
        path = os.path.join(ROOT, spec["model_path"])
        model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                     dtype=torch.float64, attn_implementation="gim_eager")
    else:
        folder = os.path.join(ROOT, spec["model_path"])
        model = AutoModelForCausalLM.from_pretrained(folder, config=AutoConfig.from_pretrained(folder),
                                                     dtype=torch.float64, attn_implementation="gim_eager")
    model.eval()
    R.set_exact_rope(model)
    W = model.get_input_embeddings().weight.detach()
    out = {}
    for method, (knobs, rule) in KNOB_POINTS.items():
        ACTIVATION_RULE["rule"] = rule
        worst = 0.0
        for c, r in zip(cases, lxt[method]["cases"]):
            res = R.explain(model, c["token_ids"], R.make_settings(**knobs), c["token_ids"][0],
                            c["target_token_id"], c["target_position"])
            rel = (W[torch.tensor(c["token_ids"])] * res["embedding_grad"]).sum(-1).numpy()
            want = np.array(r["relevance"])
            worst = max(worst, float(np.abs(rel - want).max() / np.abs(want).max()))
        out[method] = worst
    ACTIVATION_RULE["rule"] = "gradient"
    return out


# ----------------------------------------------------------------------------------------------

def make_cases(fam, spec, model):
    """Token ids, targets (resolved positions) and the baseline token id for one model."""
    if fam == "smollm2":
        from transformers import AutoTokenizer
        path = os.path.join(ROOT, spec["model_path"])
        tok = AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
        seqs = [tok.encode(p, add_special_tokens=False) for p in SMOLLM2_PROMPTS]
        baseline = tok.encode(" ", add_special_tokens=False)[0]
        assert baseline == 216, baseline  # DESIGN.md's figure for SmolLM2
    else:
        with open(os.path.join(ROOT, spec["reference"])) as f:
            ref = json.load(f)
        ref = (ref["hf"] if "hf" in ref else ref)["sequences"]
        seqs = [ref[i]["token_ids"][:n] for i, n in spec["prefixes"]]
        baseline = ref[0]["runs"][0]["baseline_token_id"]
        # the forward here must equal the existing float64 reference's logits
        for k, (i, n) in enumerate(spec["prefixes"]):
            with torch.no_grad():
                lg = model(input_ids=torch.tensor([seqs[k]])).logits[0]
            want = np.array(ref[i]["logits"][:n])
            err = float(np.abs(lg.numpy() - want).max())
            assert err < 1e-4, (fam, err)
    cap = getattr(model.config, "final_logit_softcapping", None)

    def ranked(row):
        """Token ids by logit, highest first; under a final soft-cap only the logits <= 0.99 cap.
        At the cap the target's gradient is float32 rounding: z = cap tanh(u) and dz/du = 1 - tanh(u)^2,
        computed from a tanh rounded to ~6e-8, so at z = 2.99999 (cap 3, tiny Gemma 2, whose argmax is
        the input token itself through the tied embeddings: raw logits 20-30) that factor is ~3e-6 with
        a few % error, and at raw logits > 27 exactly 0. Below 0.99 cap the factor is >= 2e-2."""
        order = torch.argsort(row, descending=True)
        if cap:
            order = order[row[order] <= 0.99 * cap]
        return order

    cases = []
    for si, ids in enumerate(seqs):
        assert 6 <= len(ids) <= 20, len(ids)
        T = len(ids)
        with torch.no_grad():
            lg = model(input_ids=torch.tensor([ids])).logits[0]
        order = ranked(lg[T - 1])
        cases.append((ids, T - 1, int(order[0])))          # argmax at the last position
        if si == 0:
            cases.append((ids, T - 1, int(order[5])))      # another token at the last position
            cases.append((ids, T - 3, int(ranked(lg[T - 3])[0])))  # argmax at an earlier position
    return [{"token_ids": list(map(int, ids)), "target_position": p, "target_token_id": t} for ids, p, t in cases], baseline


def build(fam, spec, out_dir, versions_seen):
    log(f"== {fam} ({spec['model_path']})")
    t0 = time.time()
    model = load_model(spec, for_v4=False)
    cases, baseline = make_cases(fam, spec, model)
    jobs = {m: start_lxt(fam, spec, m, cases) for m in ("attnlrp", "cplrp")}
    # IG at every step count on every case of the tiny models, with the 1024-step reference and float64
    # IG on the first case. SmolLM2 (135M parameters, on 2 cores shared with everyone): IG on the first
    # case only, steps 8..64 and SMOLLM2_CONVERGED as its reference, no float64 IG.
    if fam == "smollm2":
        double = None
        model.ig_batch = IG_BATCH
        ig_steps = [SMOLLM2_IG_STEPS] + [[]] * (len(cases) - 1)
    else:
        double = load_model(spec, for_v4=False, dtype=torch.float64)
        double.ig64_steps = IG_STEPS + [IG_CONVERGED]
        model.ig_batch = double.ig_batch = 256
        ig_steps = [IG_STEPS + [IG_CONVERGED]] * len(cases)
    plain = plain_cases(model, cases, baseline, ig_steps, double)
    del double
    log(f"    plain + IG: {time.time() - t0:.1f} s")
    lxt = {m: finish_lxt(j) for m, j in jobs.items()}
    versions = lxt["attnlrp"]["versions"]
    out_cases = []
    summary = []
    for i, (c, p) in enumerate(zip(cases, plain)):
        T = len(c["token_ids"])
        for method in ("attnlrp", "cplrp"):
            r = lxt[method]["cases"][i]
            # the forward is untouched by lxt: same logit as the unpatched 5.x model
            dz = abs(r["target_logit"] - p["target_logit"])
            assert dz < 1e-3 * max(1.0, abs(p["target_logit"])), (fam, method, dz)
            rel = r["relevance"]
            margin = rel_l2(rel, p["gxi"])
            assert margin > 1e-2, (fam, method, "lxt equals plain gradient x input", margin)
            summary.append((method, i, sum(rel), r["target_logit"], margin))
            out_cases.append({"method": method, **c, "baseline": "zero", "baseline_token_id": None,
                              "steps": None, "relevance": f32list(rel), "target_logit": f32list([r["target_logit"]])[0]})
        delta = p["target_logit"] - p["baseline_logit"]
        f64 = {m: rel_l2(p["ig"][m], v) for m, v in p.get("ig64", {}).items()}
        line = f"    case {i} (T {T}, pos {c['target_position']}, tok {c['target_token_id']}, logit {p['target_logit']:.4f}):"
        ref_steps = max(p["ig"]) if p["ig"] else None
        if ref_steps is not None:
            conv = p["ig"][ref_steps]
            errs = {m: rel_l2(p["ig"][m], conv) for m in p["ig"] if m != ref_steps}
            line += (f" IG rel L2 err vs {ref_steps} steps " + ", ".join(f"{m}: {e:.2e}" for m, e in errs.items())
                     + f"; sum IG{ref_steps} - (L(e) - L(e_b)) = {sum(conv) - delta:+.2e} (of {delta:.3f})")
            assert len(errs) < 2 or errs[min(errs)] > errs[max(errs)], errs
        line += "; IG sum - delta " + ", ".join(f"{m}: {sum(v) - delta:+.1e}" for m, v in p["ig"].items())
        if f64:
            line += "; IG f32 vs f64 rel L2 " + ", ".join(f"{m}: {e:.1e}" for m, e in f64.items())
        log(line)
        for m in p["ig"]:
            out_cases.append({"method": "integrated-gradients", **c, "baseline": "token", "baseline_token_id": baseline,
                              "steps": m, "relevance": f32list(p["ig"][m]), "target_logit": f32list([p["target_logit"]])[0]})
        out_cases.append({"method": "plain", **c, "baseline": "zero", "baseline_token_id": None, "steps": None,
                          "relevance": f32list(p["gxi"]), "target_logit": f32list([p["target_logit"]])[0]})
    for method, i, s, z, margin in summary:
        log(f"    {method:8s} case {i}: sum R {s:+.5f}  logit {z:+.5f}  sum - logit {s - z:+.2e} "
            f"(rel {abs(s - z) / max(abs(z), 1e-9):.1e}); rel L2 vs plain g x i {margin:.2f}")

    fam_lxt = FAMILY_LXT[fam]
    doc = {
        "model": spec["name"],
        "model_path": spec["model_path"],
        "lxt_version": versions["lxt"],
        "transformers_version": versions["transformers"],
        "torch_version": versions["torch"],
        "lxt_patch_map": (f"lxt.efficient.models.{fam_lxt[0]}.attnLRP / cp_LRP" if fam_lxt[1] == "lxt"
                          else BUILT_NOTE[fam]),
        "notes": ("attnlrp/cplrp: lxt's efficient monkey_patch path, eager attention, float32, seed 1 at the target "
                  "logit, relevance_t = sum_d e[t,d] * grad[t,d] (zero baseline). integrated-gradients: unpatched "
                  "model, float32, midpoint rule a_k = (k - 0.5)/steps, e_b = the baseline token's embedding at every "
                  "position; steps 1024 is the converged reference. plain: gradient x input with the zero baseline "
                  "(what lxt's relevance would be without its patches), for the can-fail check. "
                  "target_position is resolved (0-based). scripts/reference/make_method_fixtures.py"),
        "cases": out_cases,
    }
    versions_seen["ig_transformers"] = __import__("transformers").__version__
    doc["ig_transformers_version"] = versions_seen["ig_transformers"]
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{fam}.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    log(f"    wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path) / 1024:.0f} KiB) in {time.time() - t0:.1f} s")
    if fam in FAMILY_LXT and fam != "gpt2":  # gim_reference_families.py has no GPT-2
        kc = knob_check(fam, spec, cases, lxt)
        log("    knob points (float64, gim_reference_families + identity rule) vs lxt, max rel diff: "
            + ", ".join(f"{m} {v:.1e}" for m, v in kc.items()))
        for m, v in kc.items():
            assert v < 1e-3, (fam, m, v)



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated subset of: smollm2,gpt2," + ",".join(FAMILIES))
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--smollm2-ig-steps", default=",".join(map(str, SMOLLM2_IG_STEPS)),
                    help="IG step counts on SmolLM2's first case (the largest is its reference); default %(default)s")
    ap.add_argument("--child-in", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.manual_seed(0)
    SMOLLM2_IG_STEPS[:] = [int(x) for x in args.smollm2_ig_steps.split(",") if x]
    if args.child_in:
        return lxt_child(args)
    if not os.path.isdir(os.path.join(LXT_DEPS, "lxt")):
        raise SystemExit(f"lxt not found in {LXT_DEPS}: run scripts/reference/setup-lxt.sh first")
    specs = model_specs()
    names = args.only.split(",") if args.only else list(specs)
    for n in names:
        if n not in specs:
            raise SystemExit(f"unknown model {n}; known: {', '.join(specs)}")
    seen = {}
    for n in names:
        build(n, specs[n], args.out, seen)


if __name__ == "__main__":
    main()
