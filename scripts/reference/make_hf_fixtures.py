"""Writes the Hugging Face model-folder fixtures the Swift tests read (Tests/GIMEngineTests).

    .venv/bin/python scripts/reference/make_hf_fixtures.py [--out DIR]

One run (a few seconds, no network) writes, under Tests/GIMEngineTests/Fixtures/:

  hf/tiny-gpt2/    config.json, model.safetensors, tokenizer.json
                   A seeded random GPT2LMHeadModel (n_embd 32, 2 layers, 4 heads, 64 positions)
                   with a byte-level BPE tokenizer trained by `tokenizers` on the corpus below
                   (GPT-2's ByteLevel pre-tokenizer). model.safetensors is F32 except
                   transformer.wpe.weight (BF16) and transformer.h.1.mlp.c_fc.weight (F16), so the
                   loader's half-precision paths are covered.
  hf/tiny-llama/   config.json, model-0000{1,2}-of-00002.safetensors, model.safetensors.index.json,
                   tokenizer.json
                   A seeded random LlamaForCausalLM (hidden 32, 2 layers, 4 heads / 2 KV heads of 8,
                   untied head, RoPE theta 1000) saved in two shards, with a byte-level BPE
                   tokenizer using the Llama 3 pre-tokenizer (Split regex + ByteLevel without
                   regex), ignore_merges, and a TemplateProcessing post-processor adding BOS.
  hf_tiny_gpt2.json, hf_tiny_llama.json
                   logits (every position) and GIM / plain attributions plus embedding gradients
                   for several sequences and settings, from the float64 from-scratch references
                   (gim_reference_gpt2.py, gim_reference.py) on the weights as stored.
  tokenizer_hf_tiny.json
                   token ids from the Python `tokenizers` library on both tokenizer.json files.

Checks (the run stops on a failed assertion): the references' logits and plain embedding gradients
match transformers' own float64 forward and autograd on the saved folders; every knob moves the
attributions while leaving the logits alone (gate/up scales do nothing on GPT-2); the layer-0
attention is far from uniform (so the temperature matters).

Values are written with 12 significant digits (float64 relative error < 1e-11, far below the
1e-4 relative tolerance of the float32 engine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gim_reference as G  # noqa: E402
import gim_reference_gpt2 as G2  # noqa: E402
from make_fixtures import TOKENIZER_TEXTS, write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures")
SEED_GPT2 = 1234
SEED_LLAMA = 4321
VOCAB = 512

# The text both tokenizers are trained on (written for this fixture; varied on purpose).
CORPUS = """\
The capital of France is Paris, and the capital of Italy is Rome. Berlin is in Germany.
Once upon a time, in a small village by the sea, there lived an old fisherman and his cat.
The quick brown fox jumps over the lazy dog; the lazy dog does not seem to mind at all.
She said: "I'm sure they'll come, won't they?" He answered that we've done it before.
It's 3 o'clock on 2024-05-17, and the train leaves at 15:45 from platform 9.
In 1969, 600 million people watched the landing; 3.14159 and 2.71828 are famous numbers.
def add(a, b):
    return a + b

for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }
import numpy as np
x = np.zeros((3, 4))
print(x.shape)
{"name": "tiny", "layers": 2, "heads": 4, "ok": true}
SELECT name, age FROM people WHERE age >= 21 ORDER BY name;
https://example.com/index.html?page=2&sort=asc
Attention is all you need; gradients times inputs explain which tokens matter.
Café, naïve, résumé and Zoë visited Ångström's lab in Øresund.
Привет, как дела? Всё хорошо, спасибо.
日本語の文章と中文的句子。
Ein kleiner Hund läuft über die Straße.
El niño comió una manzana y bebió agua.
Numbers like 10, 200, 3000 and 45678 appear in tables, lists and invoices.
The model predicts the next token; the explanation shows what drove the prediction.
Wait... what?! No -- yes. Maybe; perhaps: certainly!
tabs\tand\tnewlines\nmix with    runs of spaces.
"""

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

MODEL_PROMPTS = [
    "The capital of France is",
    "def add(a, b):\n    return a +",
    "Once upon a time, the fox",
]
MAX_TOKENS = 12
# per prompt: a non-default (target_position, target_token_id)
EXTRA_TARGETS = [(-2, 17), (3, 100), (-1, 260)]

GPT2_SETTINGS = ["plain", "gim", "gim_014", "freeze_only", "temperature_only", "qkv_only", "gateup_only"]
LLAMA_SETTINGS = ["plain", "gim", "gim_014", "freeze_only", "temperature_only", "qkv_only", "gateup_only"]


def r12(values) -> list:
    a = torch.as_tensor(values).detach().to(torch.float64).reshape(-1).tolist()
    return [float(f"{v:.12g}") for v in a]


def r12_2d(t) -> list:
    return [r12(row) for row in t]


# ----------------------------------------------------------------------------------------------
# Tokenizers


def train_gpt2_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS.splitlines(keepends=True), trainer)
    return tok


def train_llama_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"]
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS.splitlines(keepends=True), trainer)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", bos)])
    # An added (not special) token, matched whole in text like the special ones.
    tok.add_tokens(["<think>"])
    return tok


# ----------------------------------------------------------------------------------------------
# Models


def seeded_gpt2(vocab: int, eot: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=vocab, n_positions=64, n_embd=32, n_layer=2, n_head=4,
                     activation_function="gelu_new", layer_norm_epsilon=1e-5,
                     bos_token_id=eot, eos_token_id=eot, tie_word_embeddings=True)
    model = GPT2LMHeadModel(cfg)
    g = torch.Generator().manual_seed(SEED_GPT2)
    scales = {  # standard deviation of each parameter kind (around 1 for LayerNorm weights)
        "wte": 1.0, "wpe": 0.5, "c_attn.weight": 0.3, "c_attn.bias": 0.1, "attn.c_proj.weight": 0.3,
        "attn.c_proj.bias": 0.1, "c_fc.weight": 0.3, "c_fc.bias": 0.1, "mlp.c_proj.weight": 0.2,
        "mlp.c_proj.bias": 0.1, "ln_1.bias": 0.1, "ln_2.bias": 0.1, "ln_f.bias": 0.1,
    }
    with torch.no_grad():
        for name, p in model.transformer.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                continue
            key = next(k for k in scales if name.endswith(k) or name.startswith(k))
            p.copy_(scales[key] * torch.randn(p.shape, generator=g))
    return model


def seeded_llama(vocab: int, bos: int, eos: int, pad: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=64,
                      rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 1000.0},
                      tie_word_embeddings=False, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad)
    model = LlamaForCausalLM(cfg)
    g = torch.Generator().manual_seed(SEED_LLAMA)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif "q_proj" in name or "k_proj" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return model


def save_folder(model, tok, folder: str, shards: int = 1, dtypes: dict | None = None):
    """config.json + safetensors (optionally sharded / with some tensors in other dtypes) +
    tokenizer.json, nothing else."""
    from safetensors.torch import load_file, save_file

    if os.path.isdir(folder):
        shutil.rmtree(folder)
    model.save_pretrained(folder)
    os.remove(os.path.join(folder, "generation_config.json"))
    path = os.path.join(folder, "model.safetensors")
    tensors = load_file(path)
    for name, dt in (dtypes or {}).items():
        tensors[name] = tensors[name].to(dt)
    os.remove(path)
    names = sorted(tensors)
    if shards == 1:
        save_file(tensors, path, metadata={"format": "pt"})
    else:
        per = (len(names) + shards - 1) // shards
        weight_map, total = {}, 0
        for s in range(shards):
            part = names[s * per:(s + 1) * per]
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            save_file({n: tensors[n] for n in part}, os.path.join(folder, fname), metadata={"format": "pt"})
            for n in part:
                weight_map[n] = fname
                total += tensors[n].numel() * tensors[n].element_size()
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
            f.write("\n")
    tok.save(os.path.join(folder, "tokenizer.json"))
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
    print(f"wrote {folder} ({size / 1024:.0f} KiB: {', '.join(sorted(os.listdir(folder)))})")
    assert size < 500 * 1024


def reload(folder: str, attention: str = "sdpa"):
    """The saved folder through transformers, in float64. "sdpa" keeps float64 throughout
    (transformers' eager attention runs its softmax in float32); "eager" returns attentions."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64, attn_implementation=attention).eval()


def check_against_transformers(model, explain_fn, cfg, W, seqs, baseline, llama=False):
    """Reference logits and plain embedding gradients vs transformers (float64). Two places where
    transformers' Llama is not float64 even in a float64 model are aligned for this check only:
    LlamaRMSNorm upcasts to float32 (patched here to run in float64), and the RoPE angles are
    computed in float32 (the reference does the same here; the fixtures keep float64 angles)."""
    if llama:
        from transformers.models.llama import modeling_llama

        exact_rope, norm_forward = G.rope_cos_sin, modeling_llama.LlamaRMSNorm.forward
        G.rope_cos_sin = lambda n, hd, base, dt: tuple(x.to(dt) for x in exact_rope(n, hd, base, torch.float32))
        modeling_llama.LlamaRMSNorm.forward = lambda self, x: self.weight * (
            x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.variance_epsilon))
        try:
            check_against_transformers(model, explain_fn, cfg, W, seqs, baseline)
        finally:
            G.rope_cos_sin, modeling_llama.LlamaRMSNorm.forward = exact_rope, norm_forward
        return
    worst_logit = worst_grad = 0.0
    embed = model.get_input_embeddings().weight
    for ids in seqs:
        e = embed[torch.tensor(ids)].detach().clone().requires_grad_(True)
        out = model(inputs_embeds=e[None]).logits[0]
        r = explain_fn(cfg, W, ids, G.NAMED_SETTINGS["plain"], baseline)
        (grad,) = torch.autograd.grad(out[-1, r["target_token_id"]], e)
        worst_logit = max(worst_logit, float((out.detach() - r["logits"]).abs().max()))
        worst_grad = max(worst_grad, float((grad - r["embedding_grad"]).abs().max()))
    print(f"  reference vs transformers (float64): logits max abs diff {worst_logit:.2e}, "
          f"plain embedding gradient max abs diff {worst_grad:.2e}")
    assert worst_logit < 1e-10 and worst_grad < 1e-10


def knob_report(explain_fn, cfg, W, ids, baseline, inert=()):
    base = explain_fn(cfg, W, ids, G.NAMED_SETTINGS["plain"], baseline)
    for name, st in G.SINGLE_KNOBS.items():
        r = explain_fn(cfg, W, ids, st, baseline, base["target_token_id"])
        rel = G.relative_change(r["attributions"], base["attributions"])
        assert r["target_logit"] == base["target_logit"], name
        if name in inert:
            print(f"    knob {name:20s} rel change {rel:.3e} (does not apply)")
            assert rel == 0.0, f"{name} should not apply"
        else:
            print(f"    knob {name:20s} rel change {rel:.3e}")
            assert rel > 1e-4, f"knob {name} changed attributions by only {rel:.3e}"


def attention_entropy(probs: torch.Tensor) -> float:
    """Mean normalised entropy of causal attention rows 1.. (1 = uniform). probs: [H, T, T]."""
    T = probs.shape[-1]
    ent = -(probs * probs.clamp_min(1e-300).log()).sum(-1)[:, 1:]
    return float((ent / torch.log(torch.arange(2, T + 1, dtype=probs.dtype))).mean())


def make_cases(explain_fn, cfg, W, seqs, baseline, setting_names):
    out = []
    for ids, (pos, tgt) in zip(seqs, EXTRA_TARGETS):
        runs = [(name, None, -1) for name in setting_names] + [("gim", tgt, pos), ("plain", tgt, pos)]
        logits = None
        items = []
        for name, target, position in runs:
            st = G.NAMED_SETTINGS[name]
            r = explain_fn(cfg, W, ids, st, baseline, target, position)
            logits = r["logits"]
            items.append({
                "setting": name, "settings": st, "target_token_id": r["target_token_id"],
                "target_position": position, "target_index": r["target_index"],
                "baseline_token_id": baseline, "attributions": r12(r["attributions"]),
                "embedding_grad": r12_2d(r["embedding_grad"]), "target_logit": float(f"{r['target_logit']:.12g}"),
            })
        out.append({"token_ids": ids, "logits": r12_2d(logits), "runs": items})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(2)
    G.self_test(log=lambda s: print(s))
    G2.self_test(log=lambda s: print(s))
    from tokenizers import Tokenizer

    hf_dir = os.path.join(args.out, "hf")
    os.makedirs(hf_dir, exist_ok=True)

    # --- tiny GPT-2
    print("tiny GPT-2:")
    tok = train_gpt2_tokenizer()
    eot = tok.token_to_id("<|endoftext|>")
    folder = os.path.join(hf_dir, "tiny-gpt2")
    save_folder(seeded_gpt2(tok.get_vocab_size(), eot), tok, folder,
                dtypes={"transformer.wpe.weight": torch.bfloat16,
                        "transformer.h.1.mlp.c_fc.weight": torch.float16})
    tok_gpt2 = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    model = reload(folder)
    cfg, W = G2.from_hf_gpt2(model)
    baseline = G.default_baseline_token_id(tok_gpt2)
    seqs = [tok_gpt2.encode(p).ids[:MAX_TOKENS] for p in MODEL_PROMPTS]
    print(f"  vocab {cfg.vocab_size}, baseline {baseline} ({tok_gpt2.id_to_token(baseline)!r}), sequences {seqs}")
    check_against_transformers(model, G2.explain, cfg, W, seqs, baseline)
    for ids in seqs:
        out = reload(folder, "eager")(torch.tensor([ids]), output_attentions=True)
        print(f"  seq of {len(ids)}: layer-0 attention normalised entropy "
              f"{attention_entropy(out.attentions[0][0].detach()):.3f} (1 = uniform)")
        knob_report(G2.explain, cfg, W, ids, baseline, inert=("gate_scale", "up_scale"))
    source = ("gim_reference_gpt2.py (float64) on hf/tiny-gpt2 as stored (wpe BF16, h.1.mlp.c_fc F16, "
              f"rest F32; transformers GPT2LMHeadModel, seed {SEED_GPT2}). logits are [T][vocab] for every "
              "position; embedding_grad is dL/de [T][dim] at the wte rows (before position embeddings), "
              "with GIM's backward. gate/up scales do not apply to GPT-2 (gim == gim_014).")
    write_json(os.path.join(args.out, "hf_tiny_gpt2.json"), {
        "source": source, "folder": "hf/tiny-gpt2", "config": cfg.to_json(),
        "sequences": make_cases(G2.explain, cfg, W, seqs, baseline, GPT2_SETTINGS),
    })

    # --- tiny Llama
    print("tiny Llama:")
    tok = train_llama_tokenizer()
    bos, eos, pad = (tok.token_to_id(t) for t in ("<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"))
    folder = os.path.join(hf_dir, "tiny-llama")
    save_folder(seeded_llama(tok.get_vocab_size(), bos, eos, pad), tok, folder, shards=2)
    tok_llama = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    model = reload(folder)
    cfg, W = G.from_hf_llama(model)
    baseline = G.default_baseline_token_id(tok_llama)
    seqs = [tok_llama.encode(p).ids[:MAX_TOKENS] for p in MODEL_PROMPTS]  # with BOS
    print(f"  vocab {cfg.vocab_size}, baseline {baseline} ({tok_llama.id_to_token(baseline)!r}), sequences {seqs}")
    check_against_transformers(model, G.explain, cfg, W, seqs, baseline, llama=True)
    worst = 0.0
    for ids in seqs:
        r32 = model(torch.tensor([ids])).logits[0].detach()
        worst = max(worst, float((r32 - G.explain(cfg, W, ids, G.NAMED_SETTINGS["plain"], baseline)["logits"]).abs().max()))
    print(f"  (unpatched transformers, float32 RMSNorm and RoPE angles: logits max abs diff {worst:.2e})")
    for ids in seqs:
        out = reload(folder, "eager")(torch.tensor([ids]), output_attentions=True)
        print(f"  seq of {len(ids)}: layer-0 attention normalised entropy "
              f"{attention_entropy(out.attentions[0][0].detach()):.3f} (1 = uniform)")
        knob_report(G.explain, cfg, W, ids, baseline)
    # The GGUF ("normal") layout on permuted rows gives the same numbers.
    cfg_n = G.LlamaConfig(**{**cfg.to_json(), "rope_layout": "normal"})
    W_n = G.permute_qk(W, cfg, "normal")
    a = G.explain(cfg, W, seqs[0], G.NAMED_SETTINGS["gim"], baseline)["attributions"]
    b = G.explain(cfg_n, W_n, seqs[0], G.NAMED_SETTINGS["gim"], baseline)["attributions"]
    print(f"  neox vs normal layout on permuted q/k rows: max abs diff {float((a - b).abs().max()):.1e}")
    source = ("gim_reference.py (float64, rope_layout neox) on hf/tiny-llama as stored (two F32 shards; "
              f"transformers LlamaForCausalLM, seed {SEED_LLAMA}, untied head). token_ids start with BOS "
              "(the tokenizer's post-processor adds it). logits are [T][vocab] for every position; "
              "embedding_grad is dL/de [T][dim] with GIM's backward.")
    write_json(os.path.join(args.out, "hf_tiny_llama.json"), {
        "source": source, "folder": "hf/tiny-llama", "config": cfg.to_json(),
        "sequences": make_cases(G.explain, cfg, W, seqs, baseline, LLAMA_SETTINGS),
    })

    # --- tokenizers
    extra = ["<|endoftext|> after", "a<|begin_of_text|>b<|end_of_text|>", "x <think> y", "<|pad|><|pad|>",
             "Paris Paris Paris", "The capital of France is"]
    texts = TOKENIZER_TEXTS + extra
    fixture = {"source": "Python tokenizers " + __import__("tokenizers").__version__
               + " on hf/tiny-gpt2/tokenizer.json and hf/tiny-llama/tokenizer.json; ids without special "
               "tokens, ids_special with add_special_tokens=True (the post-processor's BOS)."}
    for name, t in (("tiny-gpt2", tok_gpt2), ("tiny-llama", tok_llama)):
        fixture[name] = [{"text": s, "ids": t.encode(s, add_special_tokens=False).ids,
                          "ids_special": t.encode(s).ids} for s in texts]
        print(f"  tokenizer {name}: {len(texts)} texts, "
              f"{sum(len(c['ids']) for c in fixture[name])} tokens")
    write_json(os.path.join(args.out, "tokenizer_hf_tiny.json"), fixture)


if __name__ == "__main__":
    main()
