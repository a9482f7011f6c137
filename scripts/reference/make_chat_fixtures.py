#!/usr/bin/env python3
"""Golden chat-formatted token ids: transformers' apply_chat_template(..., add_generation_prompt=True,
tokenize=True) for each chat-template family the engine recognises (Swift: ChatTemplate).

Writes Tests/GIMEngineTests/Fixtures/chat/:
  <family>/tokenizer.json, tokenizer_config.json (or chat_template.jinja)
        a small real tokenizer of the family's kind (the tiny family tokenizers of
        Tests/GIMEngineTests/Fixtures/families/<kind>/hf/) with the template's special tokens
        added as special tokens, and the family's official chat template
  golden.json
        per family and conversation: the formatted text and the ids transformers gives, or
        "error" when transformers' template raises (e.g. Gemma 1/2 and a system message);
        "tokenizer_json_ids" when the folder's tokenizer.json (Python `tokenizers`) encodes the
        same text otherwise (see render())

SmolLM2 uses the default model's own GGUF: its tokenizer.chat_template, and its real tokenizer
pipeline rebuilt from the GGUF (make_fixtures.build_smollm2_tokenizer), so the Swift test reads the
template from the GGUF as the CLI does.

The other templates are the published ones, byte for byte: Fixtures/chat/published/*.jinja, each
the chat_template string of a model's tokenizer_config.json on the Hugging Face Hub, read from the
public copy named in published/manifest.json (with its sha256, checked here).

Run from the repository root:  .venv/bin/python scripts/reference/make_chat_fixtures.py
"""
import hashlib
import json
import os
import shutil
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tokenizers import AddedToken, Tokenizer  # noqa: E402
from transformers import AutoTokenizer, PreTrainedTokenizerFast  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FAMILIES = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "families")
OUT = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "chat")
GGUF = os.environ.get("GIM_MODEL", os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))

PUBLISHED = os.path.join(OUT, "published")


def published(name):
    """A published template, byte for byte (Fixtures/chat/published/, sources and sha256 in its
    manifest.json): checked against the manifest so a changed file cannot go unnoticed."""
    with open(os.path.join(PUBLISHED, "manifest.json")) as f:
        entry = next(e for e in json.load(f)["templates"] if e["file"] == name)
    with open(os.path.join(PUBLISHED, name), "rb") as f:
        data = f.read()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
    return data.decode("utf-8")


# family -> (tiny tokenizer kind, published template file, special tokens to add, where the template goes)
TINY = {
    "qwen2.5": ("qwen2", "Qwen-Qwen2.5-7B-Instruct.jinja", ["<|im_start|>", "<|im_end|>"], "tokenizer_config.json"),
    "qwen2": ("qwen2", "Qwen-Qwen2-7B-Instruct.jinja", ["<|im_start|>", "<|im_end|>"], "tokenizer_config.json"),
    "llama3": ("llama3", "meta-llama-Meta-Llama-3-8B-Instruct.jinja", ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
               "tokenizer_config.json"),
    "gemma": ("gemma", "google-gemma-2-2b-it.jinja", ["<start_of_turn>", "<end_of_turn>"], "chat_template.jinja"),
    "gemma3": ("gemma3", "google-gemma-3-1b-it.jinja", ["<start_of_turn>", "<end_of_turn>"], "chat_template.jinja"),
    "mistral": ("mistral", "mistralai-Mistral-7B-Instruct-v0.2-2023.jinja", [], "tokenizer_config.json"),
    "mistral-2024": ("mistral", "mistralai-Mistral-7B-Instruct-v0.2.jinja", [], "chat_template.jinja"),
    "phi3": ("phi3", "microsoft-Phi-3-mini-4k-instruct.jinja", ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"],
             "tokenizer_config.json"),
    "phi3.5": ("phi3", "microsoft-Phi-3.5-mini-instruct.jinja", ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"],
               "tokenizer_config.json"),
}

CONVERSATIONS = [
    {"name": "user", "messages": [{"role": "user", "content": "Hello, who are you?"}]},
    {"name": "system+user", "messages": [{"role": "system", "content": "You are a terse assistant."},
                                         {"role": "user", "content": "What is 2+2?"}]},
    {"name": "multi-turn", "messages": [{"role": "user", "content": "Hi there"},
                                        {"role": "assistant", "content": "Hello! How can I help?"},
                                        {"role": "user", "content": "Tell me a joke."}]},
    {"name": "system+multi-turn", "messages": [{"role": "system", "content": "Answer in one word."},
                                               {"role": "user", "content": "Capital of France?"},
                                               {"role": "assistant", "content": "Paris"},
                                               {"role": "user", "content": "And of Italy?"}]},
    {"name": "unicode", "messages": [{"role": "user", "content": "Café — naïve 日本語 🙂 ok?"}]},
    {"name": "whitespace", "messages": [{"role": "user", "content": "  padded text \n"}]},
    {"name": "empty-system", "messages": [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}]},
]


def render(tok, messages, raw=None):
    """transformers' text and ids; with `raw` (the folder's tokenizer.json in Python `tokenizers`),
    also the ids that pipeline gives for the same text when they differ: transformers 5's
    LlamaTokenizer replaces a tokenizer.json's Prepend+Replace normalizer by a Metaspace that does
    not add a second "▁" to a section already starting with a space (" [INST]" after <s>)."""
    try:
        text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        out = {"text": text, "ids": list(ids)}
        if raw is not None:
            raw_ids = raw.encode(text, add_special_tokens=False).ids
            if raw_ids != list(ids):
                out["tokenizer_json_ids"] = raw_ids
        return out
    except Exception as e:  # the template raised (e.g. a system message where there is no system role)
        return {"error": str(e)}


def make_tiny(family, kind, template, specials, where):
    src = os.path.join(FAMILIES, kind, "hf")
    out = os.path.join(OUT, family)
    os.makedirs(out, exist_ok=True)
    tok = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
    if specials:
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(src, "tokenizer_config.json")) as f:
        config = json.load(f)
    for stale in ("chat_template.jinja",):
        if os.path.exists(os.path.join(out, stale)):
            os.remove(os.path.join(out, stale))
    if where == "tokenizer_config.json":
        config["chat_template"] = template
    else:
        config.pop("chat_template", None)
        with open(os.path.join(out, "chat_template.jinja"), "w") as f:
            f.write(template)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=1, ensure_ascii=False)
    for extra in ("tokenizer.model",):  # the fast tokenizer alone is the reference
        if os.path.exists(os.path.join(out, extra)):
            os.remove(os.path.join(out, extra))
    hf = AutoTokenizer.from_pretrained(out)
    assert hf.chat_template is not None and hf.chat_template.strip() == template.strip(), family
    return hf


def make_smollm2():
    import gguf
    from make_fixtures import build_smollm2_tokenizer

    r = gguf.GGUFReader(GGUF)
    template = r.fields["tokenizer.chat_template"].contents()
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    bos = tokens[r.fields["tokenizer.ggml.bos_token_id"].contents()]
    eos = tokens[r.fields["tokenizer.ggml.eos_token_id"].contents()]
    tok, _ = build_smollm2_tokenizer(GGUF)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, chat_template=template)


def main():
    golden = {"source": (
        "transformers " + __import__("transformers").__version__ + ": tok.apply_chat_template(messages, "
        "add_generation_prompt=True, tokenize=True) (the rendered text is encoded without adding BOS/EOS); "
        "'text' is the same with tokenize=False; 'error' is the exception transformers raised. "
        "smollm2: the default model's GGUF template and real tokenizer; the others: "
        "Fixtures/chat/<family>/ with the published template named in 'template' (Fixtures/chat/published/manifest.json says where each came from)."),
        "families": {}}
    if os.path.exists(GGUF):
        hf = make_smollm2()
        golden["families"]["smollm2"] = {"folder": None, "cases": [
            dict(name=c["name"], messages=c["messages"], **render(hf, c["messages"])) for c in CONVERSATIONS]}
    else:
        print(f"warning: {GGUF} missing, smollm2 cases skipped")
    for family, (kind, name, specials, where) in TINY.items():
        hf = make_tiny(family, kind, published(name), specials, where)
        raw = Tokenizer.from_file(os.path.join(OUT, family, "tokenizer.json"))
        golden["families"][family] = {"folder": family, "template": "published/" + name, "cases": [
            dict(name=c["name"], messages=c["messages"], **render(hf, c["messages"], raw)) for c in CONVERSATIONS]}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for family, entry in golden["families"].items():
        errors = sum("error" in c for c in entry["cases"])
        differ = sum("tokenizer_json_ids" in c for c in entry["cases"])
        print(f"{family}: {len(entry['cases'])} conversations, {errors} raise, {differ} with tokenizer.json ids other than transformers'")
        first = entry["cases"][1]
        print("   ", repr(first.get("text", first.get("error"))))


if __name__ == "__main__":
    shutil.os.makedirs(OUT, exist_ok=True)
    main()
