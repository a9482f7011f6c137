"""Writes the JSON fixtures the Swift tests (Tests/GIMEngineTests) compare against.

    .venv/bin/python scripts/reference/make_fixtures.py [--model PATH] [--out DIR]

One run (the GGUF is loaded once through transformers, ~20-40 s on 2 cores) writes:
  tokenizer_smollm2.json  golden token ids (real SmolLM2 pipeline: Digits + ByteLevel + BPE)
  forward_smollm2.json    last-position logits from transformers (float32)
  gim_smollm2.json        GIM / plain attributions from gim_reference.py (float32)
  tiny_llama.json         a seeded tiny random Llama (GGUF layout) with float64 references
and prints the cross-checks (forward vs transformers, RoPE layouts, plain gradient vs
transformers autograd, knob-by-knob changes, float32 vs float64 noise).

float32 values are written with the shortest decimal that reads back to the same float32
(lossless for a float32 reader); float64 values with Python's repr (lossless for a double).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gim_reference as G  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
DEFAULT_OUT = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures")


# ----------------------------------------------------------------------------------------------
# JSON helpers


def f32(values) -> list:
    """float32 tensor/array -> list of Python floats that read back to the same float32."""
    a = np.asarray(torch.as_tensor(values).detach().to(torch.float32).cpu().numpy()).reshape(-1)
    return [float(str(v)) for v in a]


def f32_2d(t) -> list:
    return [f32(row) for row in t]


def f64(values) -> list:
    a = torch.as_tensor(values).detach().to(torch.float64).cpu().numpy().reshape(-1)
    return [float(v) for v in a]


def f64_2d(t) -> list:
    return [f64(row) for row in t]


def write_json(path: str, obj: dict):
    """Top-level keys one per line; list values of dicts (cases) one element per line."""
    lines = ["{"]
    items = list(obj.items())
    for n, (k, v) in enumerate(items):
        end = "," if n < len(items) - 1 else ""
        key = json.dumps(k, ensure_ascii=False)
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            lines.append(f"{key}: [")
            for m, x in enumerate(v):
                sep = "," if m < len(v) - 1 else ""
                lines.append(" " + json.dumps(x, ensure_ascii=False, separators=(",", ":")) + sep)
            lines.append("]" + end)
        elif isinstance(v, dict) and v and all(isinstance(x, (dict, list)) for x in v.values()):
            lines.append(f"{key}: {{")
            sub = list(v.items())
            for m, (kk, x) in enumerate(sub):
                sep = "," if m < len(sub) - 1 else ""
                lines.append(" " + json.dumps(kk, ensure_ascii=False) + ":"
                             + json.dumps(x, ensure_ascii=False, separators=(",", ":")) + sep)
            lines.append("}" + end)
        else:
            lines.append(f"{key}: " + json.dumps(v, ensure_ascii=False, separators=(",", ":")) + end)
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # must parse
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path} ({len(text.encode()) / 1024:.0f} KiB)")


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------
# Tokenizer


def build_smollm2_tokenizer(gguf_path: str):
    """SmolLM2's real tokenizer.json pipeline, rebuilt from the GGUF's tokenizer.ggml.* data:
    normalizer none; pre-tokenizer Sequence[Digits(individual_digits=True),
    ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)]; BPE (vocab + merges,
    no unk, no byte fallback, ignore_merges false); ByteLevel decoder; the GGUF's control tokens
    (token_type 3) as special added tokens."""
    import gguf
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    r = gguf.GGUFReader(gguf_path)
    f = lambda k: r.fields[k].contents()  # noqa: E731
    assert f("tokenizer.ggml.model") == "gpt2", f("tokenizer.ggml.model")
    pre = f("tokenizer.ggml.pre")
    assert pre == "smollm", pre
    tokens = f("tokenizer.ggml.tokens")
    types = f("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ")) for m in f("tokenizer.ggml.merges")]
    assert all(len(m) == 2 for m in merges)
    vocab = {t: i for i, t in enumerate(tokens)}
    assert len(vocab) == len(tokens)
    bpe = models.BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None, fuse_unk=False,
                     byte_fallback=False, ignore_merges=False)
    tok = Tokenizer(bpe)
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    control = [t for t, ty in zip(tokens, types) if ty == 3]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    assert tok.get_vocab_size(with_added_tokens=True) == len(tokens)
    info = {
        "pre": pre, "n_tokens": len(tokens), "n_merges": len(merges), "control": control,
        "add_bos_token": bool(f("tokenizer.ggml.add_bos_token")),
    }
    return tok, info


TOKENIZER_TEXTS = [
    # English
    "The capital of France is",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Once upon a time, in a land far, far away, there lived a small dragon who loved books.",
    "ALLCAPS lowercase MiXeDcAsE camelCaseWord snake_case_word",
    "supercalifragilisticexpialidocious",
    "a",
    # code
    "def add(a, b):\n    return a + b\n",
    "import numpy as np\nx = np.zeros((3, 4))\nprint(x.shape)",
    '{"name": "GIM", "version": 2, "tags": ["xai", "llm"], "ok": true, "pi": 3.14}',
    '#include <stdio.h>\nint main(void) {\n\tprintf("%d\\n", 42);\n\treturn 0;\n}',
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "let x: [Int] = [1, 2, 3].map { $0 * 2 }",
    "https://example.com/path?query=1&x=y#frag",
    "user.name+tag@example.co.uk",
    # numbers
    "12345",
    "3.14159",
    "1,000,000",
    "2026-11-25",
    "Call 555-0123 or +1 (800) 123-4567.",
    "x1y22z333",
    "v2.0.1-beta",
    "0.000001 1e-9 6.022e23 -42",
    "Arabic-Indic ١٢٣, Devanagari ४५६, fullwidth １２３, superscript x² and ½ and Ⅻ",
    # digits after whitespace runs and numerals outside ASCII: where Digits + ByteLevel (the
    # real pipeline) and transformers' GGUF tokenizer (ByteLevel regex only) disagree
    "  42",
    "x =    100",
    "\t 7",
    "1 ½ cups",
    " ١٢٣",
    " ²",
    "Chapter Ⅻ",
    " ① item",
    # whitespace
    "a  b   c    d",
    "tab\tseparated\tvalues",
    "line1\nline2\r\nline3",
    "trailing spaces   ",
    "   leading spaces",
    "\n\n\n",
    "\t\t",
    "   ",
    " ",
    "",
    "end.\n\n  \n",
    "word \n word",
    # emoji
    "I love 🍕 and 🎉!",
    "👨‍👩‍👧‍👦 family",
    "🇫🇷🇯🇵 flags",
    "👍🏽 thumbs up",
    # scripts
    "你好，世界！",
    "日本語のテキストです。カタカナとひらがな。",
    "안녕하세요 세계",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "Привет, мир!",
    "Γειά σου Κόσμε",
    # accents / combining marks
    "café naïve résumé",
    "e\u0301 vs \u00e9",
    "Zoë Ångström Øresund Ünïcödé ßtraße",
    "\u200bzero\u200bwidth\u200b",
    "bell\u0007 and del\u007f",
    # contractions
    "I'm sure they'll come, won't they? We've done it.",
    "DON'T SHOUT, IT'S LOUD",
    "she'd've known",
    # special tokens inline
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more",
    "<|im_start|> spaced <|im_end|> ",
    "<not_special> <|im_start <|im_end",
    # punctuation runs
    "!!!???...,,,;;;",
    "--- *** ### === ~~~",
    "Wait... what?!",
    "«quotes» “curly” ‘single’ — em – en …",
    "\"quoted\" 'single' `backtick`",
]


def make_tokenizer_fixture(gguf_path, model_dir, model_file, out_dir):
    from transformers import AutoTokenizer

    tok, info = build_smollm2_tokenizer(gguf_path)
    hf = AutoTokenizer.from_pretrained(model_dir, gguf_file=model_file)
    print(f"transformers-from-GGUF tokenizer pre_tokenizer: {hf.backend_tokenizer.pre_tokenizer}")
    cases, diffs = [], []
    for text in TOKENIZER_TEXTS:
        ids = tok.encode(text, add_special_tokens=False).ids
        back = tok.decode(ids, skip_special_tokens=False)
        assert back == text, (text, back)
        ids_hf = hf.encode(text, add_special_tokens=False)
        if ids_hf != ids:
            diffs.append({"text": text, "ids": ids, "transformers_gguf_ids": ids_hf})
        cases.append({"text": text, "ids": ids})
    baseline = G.default_baseline_token_id(tok)
    print(f"tokenizer: {len(cases)} cases, baseline(' ') = {baseline}; "
          f"{len(diffs)} differ from the transformers-from-GGUF tokenizer")
    for d in diffs:
        print(f"  DIFF {d['text']!r}: real {d['ids']} vs transformers-gguf {d['transformers_gguf_ids']}")
    source = (
        "ids = tokenizers.Tokenizer(...).encode(text, add_special_tokens=False).ids (no BOS; "
        "tokenizer.ggml.add_bos_token is false). The tokenizer is SmolLM2's real tokenizer.json "
        "pipeline rebuilt with the `tokenizers` library (v" + __import__("tokenizers").__version__
        + ") from the GGUF's tokenizer.ggml.tokens / merges / token_type (pre = 'smollm'): "
        "normalizer none; pre_tokenizer Sequence[Digits(individual_digits=True), "
        "ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)]; BPE with the "
        f"{info['n_tokens']} tokens and {info['n_merges']} merges (no unk, no byte fallback, "
        "ignore_merges false); ByteLevel decoder; the GGUF's control tokens (token_type 3, ids "
        "0-16: " + ", ".join(info["control"]) + ") as special added tokens, matched whole in the "
        "text. decode(ids) == text for every case. 'transformers_diffs' lists the cases where "
        "transformers' own GGUF tokenizer (AutoTokenizer.from_pretrained(gguf_file=...), which "
        "has no 'smollm' entry and falls back to GPT-2's ByteLevel regex without Digits) gives "
        "other ids; the fixture ids are the real pipeline's."
    )
    write_json(os.path.join(out_dir, "tokenizer_smollm2.json"), {
        "source": source, "baseline_token_id": baseline, "cases": cases,
        "transformers_diffs": diffs,
    })
    return tok, diffs


# ----------------------------------------------------------------------------------------------
# SmolLM2 forward + GIM

FORWARD_PROMPTS = [
    "The capital of France is",
    "Once upon a time",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "The quick brown fox jumps over the lazy dog. The quick brown",
    "1, 2, 3, 4, 5,",
    "Water boils at a temperature of 100 degrees Celsius, which is equal to",
    "In 1492, Columbus sailed across the Atlantic Ocean. He was looking for a new route to "
    "Asia, but instead he reached the islands of the Caribbean, where he",
]

GIM_PROMPTS = [
    "The capital of France is",
    "The capital of Japan is",
    "Once upon a time, there was a",
    "def square(x):\n    return x *",
    "The cat sat on the mat. The dog sat on the",
    "2 + 2 =",
    "My favourite colour is blue because the sky is",
    "<|im_start|>user\nName a fruit.<|im_end|>\n<|im_start|>assistant\n",
    "Alice gave Bob a book. Then Bob thanked",
    "The Eiffel Tower is located in the city of Paris, which is the capital of France. "
    "The Colosseum is located in the city of",
]


def make_forward_fixture(model, tok, out_dir, source):
    cases = []
    for prompt in FORWARD_PROMPTS:
        ids = tok.encode(prompt, add_special_tokens=False).ids
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, -1].float()
        top = torch.topk(logits, 20)
        cases.append({
            "prompt": prompt,
            "token_ids": ids,
            "top5_ids": [int(i) for i in top.indices[:5]],
            "top20": [[int(i), v] for i, v in zip(top.indices, f32(top.values))],
            "sampled_logits": {"stride": 7, "values": f32(logits[::7])},
            "argmax": int(logits.argmax()),
        })
        print(f"  forward {len(ids):2d} tokens argmax {cases[-1]['argmax']:5d}  {prompt[:50]!r}")
    write_json(os.path.join(out_dir, "forward_smollm2.json"), {"source": source, "cases": cases})


def gim_case(cfg, W, prompt, ids, name, baseline, target=None, position=-1):
    st = G.NAMED_SETTINGS[name]
    r = G.explain(cfg, W, ids, st, baseline, target, position)
    return r, {
        "prompt": prompt,
        "token_ids": list(ids),
        "target_token_id": r["target_token_id"],
        "target_position": position,
        "target_index": r["target_index"],
        "baseline_token_id": baseline,
        "setting": name,
        "settings": st,
        "attributions": f32(r["attributions"]),
        "target_logit": f32([r["target_logit"]])[0],
    }


def make_gim_fixture(cfg, W, tok, baseline, out_dir, source):
    cases = []
    t0 = time.time()
    for prompt in GIM_PROMPTS:
        ids = tok.encode(prompt, add_special_tokens=False).ids
        for name in G.NAMED_SETTINGS:
            _, c = gim_case(cfg, W, prompt, ids, name, baseline)
            cases.append(c)
        print(f"  gim {len(ids):2d} tokens target {cases[-1]['target_token_id']:5d}  {prompt[:50]!r}")
    enc = lambda s: tok.encode(s, add_special_tokens=False).ids  # noqa: E731
    france = "The capital of France is"
    extras = [
        (france, -2, enc(" is")),        # after "The capital of France" -> " is"
        (france, 2, enc(" France")),     # after "The capital of" -> " France"
        ("The cat sat on the mat. The dog sat on the", 3, enc(" the")),
        (france, -1, enc(" London")),    # a non-argmax target at the last position
    ]
    for prompt, pos, tgt in extras:
        assert len(tgt) == 1, tgt
        _, c = gim_case(cfg, W, prompt, enc(prompt), "gim", baseline, tgt[0], pos)
        cases.append(c)
        print(f"  gim extra position {pos:2d} target {tgt[0]:5d}  {prompt[:50]!r}")
    print(f"  {len(cases)} GIM cases in {time.time() - t0:.1f} s")
    write_json(os.path.join(out_dir, "gim_smollm2.json"), {
        "source": source, "settings": G.NAMED_SETTINGS, "cases": cases,
    })


# ----------------------------------------------------------------------------------------------
# Tiny random Llama (GGUF layout, float64)

TINY_CFG = G.LlamaConfig(vocab_size=48, dim=16, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=4,
                         ffn_dim=24, rope_base=10000.0, rms_eps=1e-5, tied=True,
                         rope_layout="normal")
TINY_SEED = 20251125
TINY_BASELINE = 3
TINY_SEQS = [
    [5, 17, 42, 8, 30],
    [1, 12, 12, 33, 47, 0, 21],
    [9, 26, 3, 44, 15, 38, 7, 19, 30],
]
# per sequence: (target_position, target_token_id) for the non-default cases
TINY_EXTRA = [(2, 7), (-2, 40), (3, 11)]


def make_tiny_weights(cfg: G.LlamaConfig, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    dt = torch.float64
    randn = lambda *shape: torch.randn(*shape, generator=g, dtype=dt)  # noqa: E731
    hd = cfg.head_dim
    W = {"token_embd": randn(cfg.vocab_size, cfg.dim)}
    for i in range(cfg.n_layers):
        p = f"blk.{i}."
        W[p + "attn_norm"] = 1 + 0.1 * randn(cfg.dim)
        W[p + "attn_q"] = 0.5 * randn(cfg.n_heads * hd, cfg.dim)
        W[p + "attn_k"] = 0.5 * randn(cfg.n_kv_heads * hd, cfg.dim)
        W[p + "attn_v"] = 0.3 * randn(cfg.n_kv_heads * hd, cfg.dim)
        W[p + "attn_output"] = 0.3 * randn(cfg.dim, cfg.n_heads * hd)
        W[p + "ffn_norm"] = 1 + 0.1 * randn(cfg.dim)
        W[p + "ffn_gate"] = 0.3 * randn(cfg.ffn_dim, cfg.dim)
        W[p + "ffn_up"] = 0.3 * randn(cfg.ffn_dim, cfg.dim)
        W[p + "ffn_down"] = 0.3 * randn(cfg.dim, cfg.ffn_dim)
    W["output_norm"] = 1 + 0.1 * randn(cfg.dim)
    return W


def attention_entropy_report(cfg, W, ids):
    """Mean normalised entropy of the layer-0 attention rows (1 = uniform): shows the softmax
    is far from uniform, so the temperature knob matters."""
    e = W["token_embd"][torch.tensor(ids)]
    T = len(ids)
    h = G.rms_norm(e, W["blk.0.attn_norm"], cfg.rms_eps, False)
    q = (h @ W["blk.0.attn_q"].T).view(T, cfg.n_heads, cfg.head_dim).transpose(0, 1)
    k = (h @ W["blk.0.attn_k"].T).view(T, cfg.n_kv_heads, cfg.head_dim).transpose(0, 1)
    cos, sin = G.rope_cos_sin(T, cfg.head_dim, cfg.rope_base, e.dtype)
    q, k = G.apply_rope(q, cos, sin, "normal"), G.apply_rope(k, cos, sin, "normal")
    k = k.repeat_interleave(cfg.n_heads // cfg.n_kv_heads, 0)
    s = (q @ k.transpose(-1, -2)) / cfg.head_dim**0.5
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    p = torch.softmax(s, -1)
    ent = -(p * p.clamp_min(1e-300).log()).sum(-1)[:, 1:]
    norm = torch.log(torch.arange(2, T + 1, dtype=e.dtype))
    return float((ent / norm).mean())


def make_tiny_fixture(out_dir):
    cfg = TINY_CFG
    W = make_tiny_weights(cfg, TINY_SEED)
    cfg_neox = G.LlamaConfig(**{**cfg.to_json(), "rope_layout": "neox"})
    W_neox = G.permute_qk(W, cfg, "neox")
    assert torch.equal(G.permute_qk(W_neox, cfg_neox, "normal")["blk.1.attn_k"], W["blk.1.attn_k"])
    cases = []
    worst_layout = 0.0
    for seq, (pos, tgt) in zip(TINY_SEQS, TINY_EXTRA):
        print(f"  tiny seq {seq}: layer-0 attention normalised entropy "
              f"{attention_entropy_report(cfg, W, seq):.3f} (1 = uniform)")
        G.check_knobs(cfg, W, seq, TINY_BASELINE, log=lambda s: print("  " + s))
        runs = [(name, None, -1) for name in G.NAMED_SETTINGS]
        runs += [("gim", tgt, pos), ("plain", tgt, pos)]
        for name, target, position in runs:
            st = G.NAMED_SETTINGS[name]
            r = G.explain(cfg, W, seq, st, TINY_BASELINE, target, position)
            rn = G.explain(cfg_neox, W_neox, seq, st, TINY_BASELINE, target, position)
            worst_layout = max(worst_layout,
                               float((r["attributions"] - rn["attributions"]).abs().max()),
                               float((r["logits"] - rn["logits"]).abs().max()))
            cases.append({
                "token_ids": seq,
                "logits": f64_2d(r["logits"]),
                "target_token_id": r["target_token_id"],
                "target_position": position,
                "target_index": r["target_index"],
                "baseline_token_id": TINY_BASELINE,
                "setting": name,
                "settings": st,
                "attributions": f64(r["attributions"]),
                "embedding_grad": f64_2d(r["embedding_grad"]),
                "target_logit": r["target_logit"],
            })
    print(f"  tiny: normal layout vs neox layout on permuted q/k rows, max abs diff "
          f"{worst_layout:.2e}")
    assert worst_layout < 1e-12
    weights = {k: f64(v) for k, v in W.items()}
    source = (
        f"gim_reference.py (float64) on a random Llama, torch.Generator seed {TINY_SEED}: "
        "token_embd ~ N(0,1); attn_q, attn_k ~ 0.5 N(0,1); attn_v, attn_output, ffn_* ~ 0.3 N(0,1); "
        "norm weights 1 + 0.1 N(0,1). Matrices are flat row-major [out][in] (y = W x); token_embd "
        "is [vocab][dim] and is also the output head (tied). RoPE 'normal' (GGUF): the rows of "
        "q/k head h are h*head_dim..(h+1)*head_dim-1 and rows (2i, 2i+1) rotate together by "
        "pos * rope_base^(-2i/head_dim). target_position is as passed (negative counts from the "
        "end); target_index is the absolute position. logits are [T][vocab] for all positions, "
        "embedding_grad is dL/de [T][dim] with GIM's modified backward."
    )
    write_json(os.path.join(out_dir, "tiny_llama.json"), {
        "source": source, "config": cfg.to_json(), "weights": weights, "cases": cases,
    })


# ----------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    model_dir, model_file = os.path.split(os.path.abspath(args.model))
    import transformers

    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    print("self-test:")
    G.self_test()

    print("tiny Llama:")
    make_tiny_fixture(args.out)

    print("tokenizer:")
    tok, _ = make_tokenizer_fixture(args.model, model_dir, model_file, args.out)
    baseline = G.default_baseline_token_id(tok)

    print("loading the GGUF through transformers (float32)...")
    t0 = time.time()
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=model_file,
                                                 dtype=torch.float32)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    print(f"  loaded in {time.time() - t0:.1f} s, attention: {model.config._attn_implementation}")
    cfg_hf, W_hf = G.from_hf_llama(model)
    cfg_gg, W_gg = G.from_gguf(args.model)
    print(f"  config from GGUF: {cfg_gg}")

    # Weights: the gguf package's dequantisation vs transformers' (after the layout permute).
    W_gg_neox = G.permute_qk(W_gg, cfg_gg, "neox")
    wdiff = max(float((W_gg_neox[k] - W_hf[k]).abs().max()) for k in W_hf)
    print(f"  weights: gguf-package dequant (permuted to neox) vs transformers: max abs diff {wdiff:.3e}")

    # Forward parity: from-scratch (both layouts) vs transformers, all positions.
    worst_neox = worst_normal = 0.0
    for prompt in FORWARD_PROMPTS + GIM_PROMPTS:
        ids = tok.encode(prompt, add_special_tokens=False).ids
        with torch.no_grad():
            ref = model(torch.tensor([ids])).logits[0]
            e = W_hf["token_embd"][torch.tensor(ids)]
            a = G.forward(cfg_hf, W_hf, e, G.NAMED_SETTINGS["plain"])
            b = G.forward(cfg_gg, W_gg, W_gg["token_embd"][torch.tensor(ids)], G.NAMED_SETTINGS["plain"])
        worst_neox = max(worst_neox, float((a - ref).abs().max()))
        worst_normal = max(worst_normal, float((b - ref).abs().max()))
    print(f"  forward vs transformers, all positions of {len(FORWARD_PROMPTS + GIM_PROMPTS)} prompts: "
          f"neox layout on HF weights max abs diff {worst_neox:.3e}; "
          f"normal layout on GGUF weights {worst_normal:.3e}")
    assert worst_neox < 1e-3 and worst_normal < 1e-3

    # Wrong layout must be visibly wrong (the flag is live).
    ids = tok.encode("The capital of France is", add_special_tokens=False).ids
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0]
        wrong = G.forward(G.LlamaConfig(**{**cfg_gg.to_json(), "rope_layout": "neox"}), W_gg,
                          W_gg["token_embd"][torch.tensor(ids)], G.NAMED_SETTINGS["plain"])
    print(f"  wrong layout (neox rope on GGUF rows): max abs logit diff {float((wrong - ref).abs().max()):.2f}")

    # Plain gradient vs transformers' own autograd (inputs_embeds leaf).
    with torch.enable_grad():
        e = W_hf["token_embd"][torch.tensor(ids)].clone().requires_grad_(True)
        lg = model(inputs_embeds=e[None]).logits[0]
        tgt = int(lg[-1].argmax())
        (g_hf,) = torch.autograd.grad(lg[-1, tgt], e)
    a_hf = (g_hf * (e.detach() - W_hf["token_embd"][baseline])).sum(-1)
    r = G.explain(cfg_gg, W_gg, ids, G.NAMED_SETTINGS["plain"], baseline)
    print(f"  plain attribution vs transformers autograd: max abs diff "
          f"{float((r['attributions'] - a_hf).abs().max()):.3e} (values up to {float(a_hf.abs().max()):.2f})")

    # Knob by knob on SmolLM2.
    print("knob checks (SmolLM2, each knob alone from plain):")
    for prompt in ("The capital of France is", "The cat sat on the mat. The dog sat on the"):
        print(f"  prompt {prompt!r}")
        G.check_knobs(cfg_gg, W_gg, tok.encode(prompt, add_special_tokens=False).ids, baseline,
                      log=lambda s: print("  " + s))

    # France report + float32 vs float64 noise.
    print("France prompt:")
    print(f"  token ids {ids}, baseline {baseline}")
    W64 = G.cast_weights(W_gg, torch.float64)
    noise = 0.0
    for name in ("plain", "gim_014", "gim"):
        r32 = G.explain(cfg_gg, W_gg, ids, G.NAMED_SETTINGS[name], baseline)
        r64 = G.explain(cfg_gg, W64, ids, G.NAMED_SETTINGS[name], baseline, r32["target_token_id"])
        rh = G.explain(cfg_hf, W_hf, ids, G.NAMED_SETTINGS[name], baseline, r32["target_token_id"])
        d = float((r32["attributions"] - r64["attributions"].float()).abs().max())
        dl = float((r32["attributions"] - rh["attributions"]).abs().max())
        noise = max(noise, d)
        print(f"  {name:8s} predicted {r32['target_token_id']} logit {r32['target_logit']:.4f} "
              f"attributions {[round(float(x), 4) for x in r32['attributions']]}")
        print(f"           float32 vs float64 max abs diff {d:.2e} "
              f"(rel {d / float(r64['attributions'].abs().max()):.1e}); "
              f"normal(GGUF) vs neox(HF) layout {dl:.2e}")
    del W64

    source = (
        f"SmolLM2-135M-Instruct.Q4_1.gguf (sha256 {sha256(args.model)}), dequantised to float32. "
        "Token ids from the real SmolLM2 tokenizer pipeline (see tokenizer_smollm2.json). "
    )
    print("forward fixture:")
    make_forward_fixture(model, tok, args.out, source + (
        f"Logits of the LAST position from transformers {transformers.__version__} "
        "(AutoModelForCausalLM.from_pretrained(gguf_file=..., dtype=float32), "
        f"{model.config._attn_implementation} attention), torch {torch.__version__}, 2 threads. "
        f"top20 is [id, logit] best first; sampled_logits.values = logits[0::stride]. "
        f"From-scratch forward vs these logits: max abs diff {worst_normal:.1e}."))
    print("GIM fixture:")
    make_gim_fixture(cfg_gg, W_gg, tok, baseline, args.out, source + (
        "Attributions from scripts/reference/gim_reference.py in float32 on the GGUF weights "
        "(normal RoPE layout), a_t = sum_d dL/de[t,d] (e[t,d] - e_base[d]) with L the raw logit "
        "of target_token_id at target_position (default: last position, argmax). "
        "target_position is as passed (negative counts from the end); target_index is absolute. "
        "settings: freeze_norm = RMSNorm rms constant in backward; softmax_temperature T = "
        "attention softmax backward with softmax(x/T); q/k/v_scale = gradient scale on each "
        "head's q, k, v; gate/up_scale = gradient scale on silu(gate(x)) and up(x) at their "
        "product. Measured float32-vs-float64 max abs difference of the France prompt's "
        f"attributions (plain, gim_014, gim): {noise:.1e}."))


if __name__ == "__main__":
    main()
