"""Writes the seed corpus of the parser fuzzers (Tests/Fuzz/corpus/<target>/) from the repository's
own fixtures, themes and prompt set plus a few hand-made variants: safetensors, config,
tokenizer-json, theme, prompts, input. Standard library only; deterministic.

Run from anywhere: python3 scripts/fuzz/make_parser_seeds.py
"""
import json, pathlib, shutil, struct

root = pathlib.Path(__file__).resolve().parents[2]
out = root / "Tests/Fuzz/corpus"
fx = root / "Tests/GIMEngineTests/Fixtures"


def target(name):
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    return d


# safetensors: small files with every dtype, metadata, empty tensors, 0-d and 4-d shapes; and
# the header of a real fixture (the tiny Llama's second shard, whole).
def safetensors(tensors, metadata=None, pad=0):
    header, data = {}, b""
    for name, dtype, shape, size in tensors:
        n = 1
        for d in shape:
            n *= d
        blob = bytes((i * 37 + 11) % 251 for i in range(n * size))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode() + b" " * pad
    return struct.pack("<Q", len(h)) + h + data


d = target("safetensors")
sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1}
(d / "every-dtype.safetensors").write_bytes(
    safetensors([(f"t.{k.lower()}", k, [2, 3], s) for k, s in sizes.items()], {"format": "pt"}))
(d / "shapes.safetensors").write_bytes(safetensors(
    [("scalar", "F32", [], 4), ("empty", "F16", [0, 4], 2), ("four", "BF16", [1, 2, 2, 2], 2),
     ("model.embed_tokens.weight", "F32", [8, 4], 4)], pad=7))
(d / "metadata-only.safetensors").write_bytes(safetensors([], {"format": "pt", "note": "x"}))
(d / "empty-object.safetensors").write_bytes(struct.pack("<Q", 2) + b"{}")
shutil.copy(fx / "hf/tiny-llama/model-00002-of-00002.safetensors", d / "tiny-llama-shard2.safetensors")

# config.json: every fixture family and GPT-2, plus RoPE and sliding-window variants.
d = target("config")
for cfg in sorted(fx.glob("families/*/hf/config.json")):
    shutil.copy(cfg, d / f"{cfg.parent.parent.name}.json")
shutil.copy(fx / "hf/tiny-gpt2/config.json", d / "tiny-gpt2.json")
shutil.copy(fx / "hf/tiny-llama/config.json", d / "tiny-llama.json")
base = json.loads((fx / "hf/tiny-llama/config.json").read_text())
variants = {
    "rope-llama3": {"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 64}},
    "rope-linear": {"rope_scaling": {"type": "linear", "factor": 2.0}},
    "rope-yarn": {"rope_scaling": {"rope_type": "yarn", "factor": 4.0}},
    "rope-parameters-v5": {"rope_parameters": {"rope_type": "default", "rope_theta": 50000.0}},
    "rope-parameters-split": {"rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1e6},
                                                  "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}},
    "sliding": {"sliding_window": 4, "layer_types": ["sliding_attention", "full_attention"]},
    "partial-rotary": {"partial_rotary_factor": 0.5, "head_dim": 8},
    "moe": {"num_local_experts": 4},
    "eos-list": {"eos_token_id": [2, 3], "bos_token_id": None},
}
for name, change in variants.items():
    (d / f"{name}.json").write_text(json.dumps({**base, **change}, indent=1))

# tokenizer.json: every tokenizer kind of the fixtures (the small ones).
d = target("tokenizer-json")
for p in ["tokenizers/llama2/tokenizer.json", "tokenizers/gemma/tokenizer.json", "tokenizers/qwen2/tokenizer.json",
          "tokenizers/unigram/tokenizer.json", "tokenizers/unigram/variants/t5.json",
          "tokenizers/llama2/variants/metaspace-first-split-true.json",
          "tokenizers/llama2/variants/metaspace-never-split-false.json",
          "hf/tiny-gpt2/tokenizer.json", "hf/tiny-llama/tokenizer.json"]:
    shutil.copy(fx / p, d / p.replace("/", "-").replace("tokenizers-", ""))

# theme: the shipped themes and a few small ones (one per role attribute, "#rgb", "default").
d = target("theme")
for t in sorted((root / "themes").glob("*.toml")):
    shutil.copy(t, d / t.name)
(d / "minimal.toml").write_text(
    '[roles]\ntext = { fg = "default", bg = "#000" }\n'
    '[heat]\npositive = "#f00"\nnegative = "#00f"\nneutral = "#222"\ntext_on_dark = "#fff"\ntext_on_light = "#000"\n')
(d / "attributes.toml").write_text(
    'description = "every attribute"\n[roles]\ntext = { fg = "#d0d0d0" }\n'
    'accent = { bold = true, underline = true }\ntitle = { reverse = true, dim = false }\n'
    'key = { fg = "#AbCdEf", bg = "default" }\n'
    '[heat]\npositive = "#d7301f"\nnegative = "#2c7bb6"\nneutral = "#262626"\ntext_on_dark = "#ffffff"\ntext_on_light = "#000000"\n')
(d / "broken-colour.toml").write_text('[roles]\ntext = { fg = "#12345" }\n[heat]\npositive = "red"\n')

# prompts: lines of the project's prompt set, comments and blank lines, optional fields.
d = target("prompts")
lines = (root / "data/prompts.jsonl").read_text().splitlines()
(d / "first-ten.jsonl").write_text("\n".join(lines[:10]) + "\n")
(d / "comments.jsonl").write_text("// a comment\n\n" + lines[10] + "\n   \n// another\n" + lines[11] + "\r\n")
(d / "fields.jsonl").write_text('{"prompt": "x"}\n{"prompt": "caf\\u00e9 \\ud83d\\ude42", "target": " y", "category": null}\n'
                                '{"prompt": "a\\nb", "extra": [1, 2, {"k": true}]}\n')
(d / "bad-line.jsonl").write_text(lines[0] + '\n{"prompt": ""}\n')

# input: terminal byte streams (0xFF = idle read, 0xFE k = a key ncurses decoded; see fuzz-input).
d = target("input")
ESC, IDLE = b"\x1b", b"\xff"
seeds = {
    "typing": "The capital of France is\r".encode(),
    "unicode": "naïve 日本語 🙂 e\u0301\x7f\x7f".encode(),
    "control": b"\x01\x05\x02\x06\x0b\x15\x17\x04\x0c\x09hello\x1b",
    "arrows": ESC + b"[A" + ESC + b"[B" + ESC + b"[C" + ESC + b"[D" + ESC + b"[H" + ESC + b"[F" + ESC + b"[Z",
    "ss3": ESC + b"OP" + ESC + b"OQ" + ESC + b"OR" + ESC + b"OS" + ESC + b"OM" + ESC + b"OA",
    "tilde": b"".join(ESC + b"[" + n + b"~" for n in [b"1", b"3", b"4", b"5", b"6", b"15", b"17", b"21", b"24", b"3;5"]),
    "alt": ESC + b"t" + ESC + b"Q" + ESC + b"/" + ESC + ESC + IDLE + ESC + IDLE,
    "paste": ESC + b"[200~pasted\r\nlines\twith tabs" + ESC + b"[201~",
    "paste-unterminated": ESC + b"[200~never ends" + IDLE * 30 + b"x",
    "idle-sequence": ESC + b"[12" + IDLE + ESC + b"O" + IDLE + b"abc",
    "ncurses-keys": b"\x09" + b"\xfe\x00\xfe\x01\xfe\x0e\xfe\x17" + b"t" * 5 + b"\xfe\x18" + IDLE,
    "command-mode": b"\x09fffttTTqQkKvVgGuUr01d d s p ? \x1b" + b"\xfe\x0e" + b"/ Paris\r\\ the\r[]$",
}
for name, data in seeds.items():
    (d / name).write_bytes(data)
print("parser seeds written to", out)
