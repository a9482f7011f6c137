#!/usr/bin/env python3
"""Builds small tokenizers of each family's kind, deterministically and offline, and golden ids.

Writes Tests/GIMEngineTests/Fixtures/tokenizers/<kind>/ for kind in llama2, gemma, qwen2, unigram:
  tokenizer.json, tokenizer_config.json   the pipeline as transformers (5.x) saves it for the family
  vocab.gguf (llama2, gemma)               tokenizer.ggml.* metadata only, as llama.cpp's converter
                                           writes a SentencePiece vocabulary (no tensors)
  variants/*.json (llama2, unigram)        the same vocabulary under the other pipelines that family's
                                           tokenizer.json files use (Metaspace prepend schemes, T5 style)
  golden.json                              per text: ids without/with special tokens and the decoded text
                                           from the Python `tokenizers` library; for vocab.gguf also the
                                           ids llama.cpp's SPM tokenizer gives (emulated with the
                                           `sentencepiece` library fragment by fragment, see below) and the
                                           ids transformers gives when it loads the GGUF.

Every vocabulary has at most 320 tokens so tiny test models can use them. The SentencePiece models are
trained on scripts/reference/tokenizer_corpus.txt (lower-cased ASCII letters and spaces only, so that
after the 256 byte tokens there is room for real merges); the Qwen 2 one with the `tokenizers` BPE
trainer on the whole corpus.

Run from the repository root:  .venv/bin/python scripts/reference/make_tokenizer_fixtures.py
"""
import importlib.metadata
import json
import os
import re
import sys
import tempfile
import unicodedata

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # deterministic BPE training
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import sentencepiece as spm  # noqa: E402
from sentencepiece import sentencepiece_model_pb2 as spm_pb2  # noqa: E402
from tokenizers import Tokenizer, Regex, decoders, normalizers, pre_tokenizers, processors  # noqa: E402
from tokenizers.models import BPE, Unigram  # noqa: E402
from tokenizers.trainers import BpeTrainer  # noqa: E402
import gguf  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer, GemmaTokenizer, LlamaTokenizer, Qwen2Tokenizer  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "scripts", "reference", "tokenizer_corpus.txt")
OUT = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "tokenizers")
MAX_VOCAB = 320

QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def corpus_lines():
    with open(CORPUS, encoding="utf-8") as f:
        return f.read().split("\n")


def spm_training_text(tmp):
    """Lower-cased ASCII letters and spaces of the corpus, repeated a little so merges have counts."""
    lines = []
    for line in corpus_lines():
        if not line.isascii():
            continue
        t = re.sub(r"[^a-z ]", "", line.lower())
        if t.strip():
            lines.append(t)
    path = os.path.join(tmp, "spm_train.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines * 3) + "\n")
    return path


def train_spm(tmp, name, **opts):
    common = dict(input=spm_training_text(tmp), model_prefix=os.path.join(tmp, name), vocab_size=MAX_VOCAB,
                  byte_fallback=True, character_coverage=1.0, normalization_rule_name="identity",
                  remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, split_digits=True,
                  num_threads=1, shuffle_input_sentence=False, minloglevel=2, hard_vocab_limit=True)
    common.update(opts)
    spm.SentencePieceTrainer.train(**common)
    path = os.path.join(tmp, name + ".model")
    proto = spm_pb2.ModelProto()
    with open(path, "rb") as f:
        proto.ParseFromString(f.read())
    assert len(proto.pieces) <= MAX_VOCAB, len(proto.pieces)
    return path, proto


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=False)
        f.write("\n")


def save_transformers(tok, folder, config_extra=None):
    """save_pretrained, keeping only tokenizer.json and tokenizer_config.json; `config_extra` keys are
    written into tokenizer_config.json as the family's Hub files have them (transformers 5 leaves
    add_bos_token out; the post-processor carries it)."""
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        tok.save_pretrained(t)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            with open(os.path.join(t, name), encoding="utf-8") as f:
                obj = json.load(f)
            if name == "tokenizer_config.json" and config_extra:
                obj.update(config_extra)
            write_json(os.path.join(folder, name), obj)


def write_vocab_gguf(path, arch, proto, add_bos, add_eos, add_space_prefix, pad_id=None):
    """tokenizer.ggml.* as llama.cpp's convert_hf_to_gguf writes a SentencePiece vocabulary (no tensors)."""
    if os.path.exists(path):
        os.remove(path)
    w = gguf.GGUFWriter(path, arch)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list([p.piece.encode("utf-8") for p in proto.pieces])
    w.add_token_scores([p.score for p in proto.pieces])
    # sentencepiece's piece types are llama.cpp's token types (1 normal, 2 unknown, 3 control,
    # 4 user-defined, 5 unused, 6 byte)
    w.add_token_types([int(p.type) for p in proto.pieces])
    ts = proto.trainer_spec
    w.add_bos_token_id(ts.bos_id)
    w.add_eos_token_id(ts.eos_id)
    w.add_unk_token_id(ts.unk_id)
    if pad_id is not None:
        w.add_pad_token_id(pad_id)
    w.add_add_bos_token(add_bos)
    w.add_add_eos_token(add_eos)
    if add_space_prefix is not None:
        w.add_add_space_prefix(add_space_prefix)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# MARK: texts

BASE_TEXTS = [
    "The capital of France is",
    "The capital of France is Paris.",
    "Hello world",
    "hello world",
    "Hello, world! How are you today?",
    "the quick brown fox jumps over the lazy dog",
    "THE QUICK BROWN FOX",
    "I'm fine, you're welcome; we'll see, they've gone, I'd say it's done.",
    "Once upon a time there was a little girl.",
    "a", "A", "the", " the", "  the", "the ", "x", ".", ",", "!", "?", "'", "\"",
    "",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    " \n ",
    "hello   world",
    "hello \t world",
    "hello\tworld",
    "hello\nworld",
    "hello\n\nworld\n",
    "  leading spaces",
    "trailing spaces   ",
    "   both sides   ",
    "\tindented with a tab",
    "line one\nline two\n  line three indented\n",
    "multiple\n\n\nnewlines",
    "def add(a, b):\n    return a + b\n",
    "for i in range(10):\n\tprint(i * i)",
    "if x == 0 and y != 1:\n    result = [n for n in values if n > 0]",
    "class Tokenizer:\n    def __init__(self, vocab):\n        self.vocab = vocab",
    "let total = items.reduce(0, +) // Swift",
    "func hello() -> String { return \"Hello, world!\" }",
    "{\"name\": \"tiny\", \"layers\": 2, \"vocab\": 320}",
    "SELECT id, name FROM users WHERE age > 30;",
    "<html><body><p>Hi</p></body></html>",
    "x+=1;y-=2;z*=3",
    "1", "12", "123", "1234", "12345", "1234567890",
    "3.14159", "-42", "1,000,000", "2024-03-15", "10%", "$12.50", "0x1F", "1e-5",
    "There are 365 days in a year.",
    "Call 555-0123 before 9:30 am.",
    "Café", "naïve résumé", "über façade jalapeño", "crème brûlée",
    "Zürich, Genève, Köln, São Paulo, Kraków, Reykjavík",
    "Привет, мир!", "Москва — столица России.",
    "Γειά σου κόσμε", "Ελλάδα",
    "你好，世界！", "今天天气很好。", "中文", "日本語のテキスト", "こんにちは", "カタカナ",
    "안녕하세요", "서울은 한국의 수도입니다.",
    "مرحبا بالعالم", "القاهرة هي عاصمة مصر.",
    "नमस्ते दुनिया", "दिल्ली भारत की राजधानी है।",
    "שלום עולם",
    "ไทย", "Tiếng Việt có dấu",
    "😀", "😀😀", "🎉 party", "👍🏽", "❤️", "🍕🚀", "family 👨‍👩‍👧‍👦 here", "👩‍💻", "🏳️‍🌈", "flag 🇫🇷🇩🇪",
    "mixed 中文 and English and emoji 😀 together",
    "e\u0301",  # NFD é
    "\u00e9",   # NFC é
    "Cafe\u0301 vs Caf\u00e9",
    "A\u030a ngstro\u0308m",
    "\u1100\u1161\u11a8",  # Hangul jamo (NFC composes to 각)
    "\uac01",
    "n\u0303o",
    "\u2126 ohm \u212b angstrom",  # singletons: NFC maps to Ω Å
    "\ufb01 ligature",  # NFC keeps ﬁ (compatibility only)
    "ａｂｃ full width",
    "zero\u200bwidth",
    "non\u00a0breaking space",
    "em\u2003space and\u3000ideographic",
    "control\u0001char\u007f",
    "\u2581 lower one eighth block",
    "▁▁already▁escaped",
    "tab\tand\u000bvertical\u000cform",
    "rare letters: q z x j",
    "UPPER lower MiXeD",
    "can't won't shouldn't",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "...", "---", "***", "!!!???", "(a)[b]{c}<d>",
    "email@example.com", "https://example.com/path?q=1&r=2",
    "C:\\Users\\name\\file.txt",
    "snake_case_name and camelCaseName and kebab-case-name",
    "The end.",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "the the the the the the the the",
    "thethethethethe",
    "    four spaces",
    "        eight spaces",
    "end with newline\n",
    "\n starts with newline",
]


def texts_for(specials):
    """BASE_TEXTS plus whitespace variants and special tokens written inline (specials: token texts)."""
    out = list(BASE_TEXTS)
    for s in BASE_TEXTS[:60:3]:
        out += [" " + s, s + " ", "  " + s + "\n"]
    a, b = specials[0], specials[-1]
    out += [
        a, b, a + b, a + " " + b, a + "hello", "hello" + b, a + " hello", "hello " + b,
        a + "The capital of France is" + b, "The capital" + a + "of France",
        "x" + a + "y", "x " + a + " y", "x  " + a + "  y", a + a, a + "\n" + b,
        a + "  leading", "trailing  " + b, a + "中文" + b, "😀" + a + "😀",
        a + "Hello" + b + "\n" + a + "World" + b,
        a[:-1], a[1:], a + a[:-1],  # broken specials are plain text
    ]
    for sp in specials:
        out += [sp, "Hi " + sp + " there", sp + "Hello", "Hello" + sp]
    seen, uniq = set(), []
    for t in out:
        if t not in seen:
            seen.add(t)
            uniq.append(t)
    return uniq


# MARK: goldens

def tokenizers_golden(tok_json_path, texts):
    tok = Tokenizer.from_file(tok_json_path)
    cases = []
    for t in texts:
        ids = tok.encode(t, add_special_tokens=False).ids
        ids_special = tok.encode(t, add_special_tokens=True).ids
        cases.append({"text": t, "ids": ids, "ids_special": ids_special,
                      "decoded": tok.decode(ids, skip_special_tokens=False)})
    return cases


def transformers_ids(folder, texts, **kw):
    tok = AutoTokenizer.from_pretrained(folder, **kw)
    return [(tok.encode(t, add_special_tokens=False), tok.encode(t, add_special_tokens=True)) for t in texts]


def llamacpp_spm_ids(model_path, proto, texts, add_space_prefix, add_bos, add_eos):
    """llama.cpp's SPM tokenizer, emulated: control, user-defined and unknown tokens written in the text
    are cut out first (longest token text first, each one splitting every remaining raw fragment at its
    leftmost occurrences), then each raw fragment gets a leading space when add_space_prefix is set (every
    fragment does: llama.cpp re-arms the prefix after each special token), spaces become U+2581, and the
    fragment is merged by best piece score with unknown pieces as byte tokens -- which is what
    sentencepiece's own BPE encoder does on a fragment, so it is used for that last step."""
    specials = sorted([(p.piece, i) for i, p in enumerate(proto.pieces) if p.type in (2, 3, 4)],
                      key=lambda x: -len(x[0].encode("utf-8")))

    # sentencepiece's encoder on the escaped fragment, with its own dummy prefix off (the prefix is
    # llama.cpp's add_space_prefix rule, applied above) and no whitespace clean-up.
    m = spm_pb2.ModelProto()
    m.CopyFrom(proto)
    m.normalizer_spec.add_dummy_prefix = False
    m.normalizer_spec.escape_whitespaces = True
    m.normalizer_spec.remove_extra_whitespaces = False
    raw = spm.SentencePieceProcessor(model_proto=m.SerializeToString())

    out = []
    for t in texts:
        frags = [("raw", t)] if t else []
        for piece, pid in specials:
            nxt = []
            for kind, v in frags:
                if kind != "raw":
                    nxt.append((kind, v))
                    continue
                start = 0
                while True:
                    k = v.find(piece, start)
                    if k < 0:
                        break
                    if k > start:
                        nxt.append(("raw", v[start:k]))
                    nxt.append(("tok", pid))
                    start = k + len(piece)
                if start < len(v):
                    nxt.append(("raw", v[start:]))
            frags = nxt
        ids = []
        prev_special = True
        for kind, v in frags:
            if kind == "tok":
                ids.append(v)
                prev_special = True
            else:
                s = (" " if add_space_prefix and prev_special else "") + v
                ids += raw.encode(s, out_type=int, add_bos=False, add_eos=False)
                prev_special = False
        with_special = ([proto.trainer_spec.bos_id] if add_bos else []) + ids + \
                       ([proto.trainer_spec.eos_id] if add_eos else [])
        out.append((ids, with_special))
    return out


def gguf_golden(folder, model_path, proto, texts, add_space_prefix, add_bos, add_eos):
    cpp = llamacpp_spm_ids(model_path, proto, texts, add_space_prefix, add_bos, add_eos)
    hf = transformers_ids(folder, texts, gguf_file="vocab.gguf")
    cases, diffs = [], 0
    for t, (ids, ids_s), (hf_ids, hf_ids_s) in zip(texts, cpp, hf):
        c = {"text": t, "ids": ids, "ids_special": ids_s}
        if (hf_ids, hf_ids_s) != (ids, ids_s):
            c["transformers_ids"] = hf_ids
            c["transformers_ids_special"] = hf_ids_s
            diffs += 1
        cases.append(c)
    return cases, diffs


def check_transformers_agrees(folder, cases, label):
    """Loads the folder with transformers' AutoTokenizer and records, in each case it disagrees on,
    `transformers_ids_special`. transformers 5 rebuilds some families' pipelines from its own class
    rather than reading tokenizer.json's (LlamaTokenizer always uses Metaspace), so a legacy Llama 2
    tokenizer.json encodes differently there; the tokenizers library reads the file as written."""
    hf = transformers_ids(folder, [c["text"] for c in cases])
    diffs = 0
    for c, (_, s) in zip(cases, hf):
        if s != c["ids_special"]:
            c["transformers_ids_special"] = s
            diffs += 1
    print(f"{label}: transformers' AutoTokenizer differs from the tokenizers library on {diffs} of {len(cases)} texts")
    return diffs


def report(kind, label, cases):
    print(f"{kind:8s} {label:28s} {len(cases)} texts")


# MARK: kinds

def make_llama2(tmp):
    kind = "llama2"
    folder = os.path.join(OUT, kind)
    model, proto = train_spm(tmp, kind, model_type="bpe", add_dummy_prefix=True,
                             unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
    src = os.path.join(tmp, kind + "_src")
    os.makedirs(src, exist_ok=True)
    os.replace(model, os.path.join(src, "tokenizer.model"))
    model = os.path.join(src, "tokenizer.model")
    write_json(os.path.join(src, "tokenizer_config.json"),
               {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
                "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "legacy": True})
    tok = LlamaTokenizer.from_pretrained(src)
    save_transformers(tok, folder, {"add_bos_token": True, "add_eos_token": False, "legacy": True})
    path = os.path.join(folder, "tokenizer.json")
    metaspace_first = Tokenizer.from_file(path)
    # Llama 2 / Mistral 7B v0.1 / Phi-3 as their Hub tokenizer.json has it (the legacy converter):
    # normalizer Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer.
    legacy = Tokenizer.from_file(path)
    legacy.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    legacy.pre_tokenizer = None
    legacy.save(path)
    with open(path, encoding="utf-8") as f:
        obj = json.load(f)
    obj["model"]["unk_token"] = "<unk>"  # as Llama 2's file has it (transformers 5 leaves it null)
    write_json(path, obj)
    texts = texts_for(["<s>", "</s>", "<unk>"])
    cases = tokenizers_golden(path, texts)
    check_transformers_agrees(folder, cases, kind)
    report(kind, "tokenizer.json (legacy)", cases)
    golden = {"tokenizer.json": cases, "variants": {}}
    # Variants: the Metaspace pre-tokenizer (what transformers 5 writes, and newer Mistral files).
    vdir = os.path.join(folder, "variants")
    os.makedirs(vdir, exist_ok=True)
    for scheme in ("first", "always", "never"):
        for split in (False, True):
            v = Tokenizer.from_file(path)
            v.normalizer = None
            v.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=split)
            name = f"metaspace-{scheme}-split-{str(split).lower()}.json"
            v.save(os.path.join(vdir, name))
            with open(os.path.join(vdir, name), encoding="utf-8") as f:
                obj = json.load(f)
            obj["model"]["unk_token"] = "<unk>"
            write_json(os.path.join(vdir, name), obj)
            vc = tokenizers_golden(os.path.join(vdir, name), texts)
            golden["variants"][name] = vc
            report(kind, name, vc)
    assert metaspace_first.pre_tokenizer is not None
    # GGUF
    write_vocab_gguf(os.path.join(folder, "vocab.gguf"), "llama", proto, True, False, None)
    gcases, diffs = gguf_golden(folder, model, proto, texts, True, True, False)
    golden["vocab.gguf"] = gcases
    report(kind, f"vocab.gguf ({diffs} transformers diffs)", gcases)
    write_json(os.path.join(folder, "golden.json"), golden)


def make_gemma(tmp):
    kind = "gemma"
    folder = os.path.join(OUT, kind)
    # Gemma's SentencePiece settings: no dummy prefix, whitespace-only pieces, digits split, byte fallback;
    # ids pad 0, eos 1, bos 2, unk 3, then <mask> and the turn markers as user-defined pieces.
    model, proto = train_spm(tmp, kind, model_type="bpe", add_dummy_prefix=False,
                             pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>",
                             eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
                             user_defined_symbols=["<mask>", "<start_of_turn>", "<end_of_turn>"])
    src = os.path.join(tmp, kind + "_src")
    os.makedirs(src, exist_ok=True)
    os.replace(model, os.path.join(src, "tokenizer.model"))
    model = os.path.join(src, "tokenizer.model")
    write_json(os.path.join(src, "tokenizer_config.json"),
               {"tokenizer_class": "GemmaTokenizer", "add_bos_token": True, "add_eos_token": False,
                "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>",
                "mask_token": "<mask>", "additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"]})
    tok = GemmaTokenizer.from_pretrained(src)
    save_transformers(tok, folder, {"add_bos_token": True, "add_eos_token": False})
    path = os.path.join(folder, "tokenizer.json")
    texts = texts_for(["<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<mask>"])
    cases = tokenizers_golden(path, texts)
    check_transformers_agrees(folder, cases, kind)
    report(kind, "tokenizer.json", cases)
    golden = {"tokenizer.json": cases}
    write_vocab_gguf(os.path.join(folder, "vocab.gguf"), "gemma3", proto, True, False, False, pad_id=0)
    gcases, diffs = gguf_golden(folder, model, proto, texts, False, True, False)
    golden["vocab.gguf"] = gcases
    report(kind, f"vocab.gguf ({diffs} transformers diffs)", gcases)
    write_json(os.path.join(folder, "golden.json"), golden)


def make_qwen2(tmp):
    kind = "qwen2"
    folder = os.path.join(OUT, kind)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer_tok = Tokenizer(BPE())
    trainer_tok.normalizer = normalizers.NFC()
    trainer_tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = BpeTrainer(vocab_size=MAX_VOCAB - len(specials), show_progress=False,
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    trainer_tok.train_from_iterator(corpus_lines(), trainer)
    model = json.loads(trainer_tok.to_str())["model"]
    vocab, merges = model["vocab"], [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None,
                         eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                         additional_special_tokens=specials[1:])
    save_transformers(tok, folder, {"add_bos_token": False, "add_eos_token": False})
    path = os.path.join(folder, "tokenizer.json")
    with open(path, encoding="utf-8") as f:
        n = len(json.load(f)["model"]["vocab"])
    assert n + len(specials) <= MAX_VOCAB, n
    texts = texts_for(specials)
    cases = tokenizers_golden(path, texts)
    check_transformers_agrees(folder, cases, kind)
    report(kind, "tokenizer.json", cases)
    write_json(os.path.join(folder, "golden.json"), {"tokenizer.json": cases})


def make_unigram(tmp):
    kind = "unigram"
    folder = os.path.join(OUT, kind)
    model, proto = train_spm(tmp, kind, model_type="unigram", add_dummy_prefix=True,
                             unk_id=0, bos_id=-1, eos_id=1, pad_id=2,
                             unk_piece="<unk>", eos_piece="</s>", pad_piece="<pad>")
    vocab = [(p.piece, p.score) for p in proto.pieces]
    # SentencePiece's own pipeline as transformers converts a Unigram model (identity normalization):
    tok = transformers.convert_slow_tokenizer.SpmConverter.build_tokenizer_from_spm_proto(proto, vocab, legacy=False)
    assert isinstance(tok.model, Unigram)
    # T5-style: the EOS after the sequence.
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", 1)])
    tok.add_special_tokens(["<unk>", "</s>", "<pad>"])
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "tokenizer.json")
    tok.save(path)
    with open(path, encoding="utf-8") as f:
        obj = json.load(f)
    write_json(path, obj)
    write_json(os.path.join(folder, "tokenizer_config.json"),
               {"tokenizer_class": "TokenizersBackend", "eos_token": "</s>", "unk_token": "<unk>",
                "pad_token": "<pad>", "add_bos_token": False, "add_eos_token": True})
    texts = texts_for(["</s>", "<pad>", "<unk>"])
    cases = tokenizers_golden(path, texts)
    report(kind, "tokenizer.json", cases)
    golden = {"tokenizer.json": cases, "variants": {}}
    # T5's own pipeline over the same vocabulary: WhitespaceSplit + Metaspace(always, split), no byte fallback.
    vdir = os.path.join(folder, "variants")
    os.makedirs(vdir, exist_ok=True)
    t5 = Tokenizer(Unigram(vocab, unk_id=0, byte_fallback=False))
    t5.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                pre_tokenizers.Metaspace("\u2581", prepend_scheme="always", split=True)])
    t5.decoder = decoders.Metaspace("\u2581", prepend_scheme="always", split=True)
    t5.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                      special_tokens=[("</s>", 1)])
    t5.add_special_tokens(["<unk>", "</s>", "<pad>"])
    vpath = os.path.join(vdir, "t5.json")
    t5.save(vpath)
    with open(vpath, encoding="utf-8") as f:
        obj = json.load(f)
    write_json(vpath, obj)
    vc = tokenizers_golden(vpath, texts)
    golden["variants"]["t5.json"] = vc
    report(kind, "t5.json", vc)
    write_json(os.path.join(folder, "golden.json"), golden)


def main():
    print(f"transformers {transformers.__version__}, sentencepiece {spm.__version__}, gguf {importlib.metadata.version("gguf")}")
    import tokenizers
    print(f"tokenizers {tokenizers.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        kinds = sys.argv[1:] or ["llama2", "gemma", "qwen2", "unigram"]
        for k in kinds:
            globals()["make_" + k](tmp)


if __name__ == "__main__":
    main()
