"""Tiny random models of every family, as Hugging Face folders and GGUF files, with float64 GIM references.

    .venv/bin/python scripts/reference/make_family_fixtures.py [--out DIR] [--only a,b]

Deterministic (seeded) and offline. For each family below it writes
Tests/GIMEngineTests/Fixtures/families/<name>/:

  hf/           config.json, model.safetensors (F32), tokenizer.json, tokenizer_config.json
                (+ tokenizer.model for the SentencePiece families): transformers' own XxxConfig +
                XxxForCausalLM(config), weights drawn from a seeded generator, save_pretrained.
  model.gguf    the same weights under llama.cpp's architecture name, metadata keys and tensor
                names, transformed as llama.cpp's convert_hf_to_gguf.py does (Llama q/k row
                permutation, Gemma norms + 1, llama3 rope_freqs, Phi-3 fused attn_qkv / ffn_up),
                every tensor F32 except blk.*.ffn_down.weight in Q6_K or Q4_K (own quantiser,
                read back with gguf.quants.dequantize), plus the tokenizer.ggml.* keys.
  reference.json  float64 reference (gim_reference_families.py: transformers' modules with GIM's
                backward) on the HF weights ("hf") and on the GGUF's weights dequantised by
                gguf-py and mapped back ("gguf").

The run asserts: the knob-free reference equals transformers' own forward and autograd embedding
gradient (float64), every knob moves the attributions, the sliding window and RoPE scaling matter,
the attention is far from uniform, and the k-quant blocks decode close to the originals.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gim_reference_families as R  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "families")
VOCAB = 320

# Text for the tokenizers (lower-case ASCII so that 259 byte/special pieces + the alphabet + some
# merges fit in 320 ids) and the prompts.
CORPUS = """\
the capital of france is paris, and the capital of italy is rome. berlin is in germany.
once upon a time, in a small village by the sea, there lived an old fisherman and his cat.
the quick brown fox jumps over the lazy dog, the lazy dog does not seem to mind at all.
she said that they will come soon, and he answered that we have done it before.
it is 3 oclock on 2024, and the train leaves at 15.45 from platform 9.
in 1969, 600 million people watched the landing. 3.14159 and 2.71828 are famous numbers.
attention is all you need, gradients times inputs explain which tokens matter.
numbers like 10, 200, 3000 and 45678 appear in tables, lists and invoices.
the model predicts the next token, the explanation shows what drove the prediction.
"""
PROMPTS = [
    "the capital of france is paris, and the capital of italy is rome. once upon a time, in a small village",
    "once upon a time, the quick brown fox jumps over the lazy dog. the model predicts the next token and the explanation",
]
LENGTHS = [20, 24]
EXTRA_TARGETS = [(-3, 17), (-3, 100)]  # per sequence: (target_position, target_token_id)
SETTING_NAMES = ["plain", "gim", "gim_014", "freeze_only", "temperature_only", "qkv_only", "gateup_only"]
WITH_GRAD = ("plain", "gim")

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# ----------------------------------------------------------------------------------------------
# Families

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=256, num_attention_heads=4,
              num_key_value_heads=2, head_dim=16, max_position_embeddings=128, rms_norm_eps=1e-6)

FAMILIES = {
    "llama2": dict(cls="Llama", arch="llama", tok="sp_llama", quant="Q6_K", seed=101, tie=False,
                   cfg=dict(num_hidden_layers=2, rms_norm_eps=1e-5,
                            rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}),
                   exercises="LlamaForCausalLM, linear RoPE scaling x2 (GGUF rope.scaling.type linear), "
                             "SentencePiece BPE with byte fallback, BOS added, untied head, q/k row permutation"),
    "llama3": dict(cls="Llama", arch="llama", tok="bl_llama3", quant="Q4_K", seed=102, tie=False,
                   cfg=dict(num_hidden_layers=2, rms_norm_eps=1e-5,
                            rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0,
                                             "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                             "original_max_position_embeddings": 16}),
                   exercises="LlamaForCausalLM, llama3 RoPE scaling (factor 8, low 1, high 4, original 16 "
                             "< prompt lengths; GGUF rope_freqs.weight), byte-level BPE with the Llama 3 split "
                             "regex, BOS added, untied head, q/k row permutation"),
    "qwen2": dict(cls="Qwen2", arch="qwen2", tok="bl_qwen2", quant="Q6_K", seed=103, tie=True,
                  cfg=dict(num_hidden_layers=2, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
                  exercises="Qwen2ForCausalLM: q/k/v biases, tied head, NFC + Qwen2 split regex + ByteLevel, no BOS"),
    "qwen3": dict(cls="Qwen3", arch="qwen3", tok="bl_qwen2", quant="Q4_K", seed=104, tie=True,
                  cfg=dict(num_hidden_layers=2, head_dim=32,
                           rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
                  exercises="Qwen3ForCausalLM: per-head q_norm/k_norm before RoPE, head_dim 32 != hidden/heads, "
                            "tied head"),
    "gemma": dict(cls="Gemma", arch="gemma", tok="sp_gemma", quant="Q6_K", seed=105, tie=True,
                  cfg=dict(num_hidden_layers=2, hidden_act="gelu_pytorch_tanh",
                           rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
                  exercises="GemmaForCausalLM: GeGLU (gelu tanh), (1 + w) RMSNorm, sqrt(hidden) embedding "
                            "scale, tied head"),
    "gemma2": dict(cls="Gemma2", arch="gemma2", tok="sp_gemma", quant="Q4_K", seed=106, tie=True,
                   cfg=dict(num_hidden_layers=4, hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=24,
                            attn_logit_softcapping=5.0, final_logit_softcapping=3.0, sliding_window=4,
                            rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
                   exercises="Gemma2ForCausalLM: 4 norms per layer, attention soft-cap 5, final soft-cap 3, "
                             "query_pre_attn_scalar 24 (head_dim 16), sliding window 4 on layers 0 and 2"),
    "gemma3": dict(cls="Gemma3", arch="gemma3", tok="sp_gemma", quant="Q6_K", seed=107, tie=True,
                   cfg=dict(num_hidden_layers=6, hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=16,
                            sliding_window=4,
                            rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                             "full_attention": {"rope_type": "linear", "factor": 8.0,
                                                                "rope_theta": 1000000.0}}),
                   exercises="Gemma3ForCausalLM (gemma3_text): 5 sliding (window 4) + 1 full layer, (1 + w) "
                             "q/k norms before RoPE, RoPE theta 10000 local / 1e6 global with linear x8 on the "
                             "global layer, 4 norms per layer"),
    "mistral": dict(cls="Mistral", arch="llama", tok="sp_llama", quant="Q4_K", seed=108, tie=False,
                    cfg=dict(num_hidden_layers=2, sliding_window=4,
                             rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
                    exercises="MistralForCausalLM: sliding window 4 on every layer (hf section only: its GGUF is "
                              "arch llama, which has no window), SentencePiece, q/k row permutation"),
    "phi3": dict(cls="Phi3", arch="phi3", tok="sp_llama", quant="Q6_K", seed=109, tie=False,
                 cfg=dict(num_hidden_layers=2, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
                 exercises="Phi3ForCausalLM: fused qkv_proj (GGUF attn_qkv) and gate_up_proj (GGUF ffn_up = "
                           "[gate | up]), no RoPE scaling, SentencePiece"),
}


def family_config(name):
    import transformers
    spec = FAMILIES[name]
    kw = dict(COMMON)
    kw.update(spec["cfg"])
    kw["tie_word_embeddings"] = spec["tie"]
    tok = TOKENIZERS[spec["tok"]]
    kw.update(bos_token_id=tok["bos"], eos_token_id=tok["eos"], pad_token_id=tok["pad"])
    if spec["cls"] == "Phi3":
        kw.pop("head_dim")  # Phi3Config derives head_dim = hidden / heads (16)
    cfg_cls = getattr(transformers, "Gemma3TextConfig" if spec["cls"] == "Gemma3" else spec["cls"] + "Config")
    return cfg_cls(**kw)


def head_dim_of(cfg):
    return getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads


def model_class(name):
    import transformers
    return getattr(transformers, FAMILIES[name]["cls"] + "ForCausalLM")


# ----------------------------------------------------------------------------------------------
# Tokenizers

TOKENIZERS = {
    # SentencePiece BPE with byte fallback, Llama 2 ids (<unk> 0, <s> 1, </s> 2).
    "sp_llama": dict(kind="sp", bos=1, eos=2, pad=None, unk=0, add_bos=True, dummy_prefix=True,
                     pieces=dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1),
                     cls="LlamaTokenizer", names=dict(bos="<s>", eos="</s>", unk="<unk>")),
    # Gemma ids (<pad> 0, <eos> 1, <bos> 2, <unk> 3), no dummy prefix.
    "sp_gemma": dict(kind="sp", bos=2, eos=1, pad=0, unk=3, add_bos=True, dummy_prefix=False,
                     pieces=dict(pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>",
                                 bos_piece="<bos>", unk_piece="<unk>"),
                     cls="GemmaTokenizer", names=dict(bos="<bos>", eos="<eos>", unk="<unk>", pad="<pad>")),
    "bl_llama3": dict(kind="bl", specials=["<|begin_of_text|>", "<|end_of_text|>"], bos=VOCAB - 2, eos=VOCAB - 1,
                      pad=None, add_bos=True, pattern=LLAMA3_PATTERN, nfc=False, pre="llama-bpe",
                      cls="PreTrainedTokenizerFast"),
    "bl_qwen2": dict(kind="bl", specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], bos=None, eos=VOCAB - 3,
                     pad=VOCAB - 3, add_bos=False, pattern=QWEN2_PATTERN, nfc=True, pre="qwen2",
                     cls="Qwen2Tokenizer"),
}


def corpus_lines():
    return [ln for ln in CORPUS.splitlines() if ln.strip()]


def build_sp_tokenizer(key, work):
    """Train a SentencePiece BPE model (byte fallback) and build the tokenizer.json pipeline
    transformers' converters use for it (Llama 2: Prepend + Replace normalizer; Gemma: Replace)."""
    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, normalizers, processors
    from transformers.convert_slow_tokenizer import SentencePieceExtractor

    t = TOKENIZERS[key]
    path = os.path.join(work, "corpus.txt")
    with open(path, "w") as f:
        f.write("\n".join(corpus_lines() * 3) + "\n")
    prefix = os.path.join(work, key)
    spm.SentencePieceTrainer.train(
        input=path, model_prefix=prefix, vocab_size=VOCAB, model_type="bpe", byte_fallback=True,
        character_coverage=1.0, normalization_rule_name="identity", remove_extra_whitespaces=False,
        split_digits=True, allow_whitespace_only_pieces=True, add_dummy_prefix=t["dummy_prefix"],
        minloglevel=2, num_threads=1, **t["pieces"])
    # The model records its training paths (a temporary directory): make them fixed.
    from sentencepiece import sentencepiece_model_pb2 as pb
    proto = pb.ModelProto()
    with open(prefix + ".model", "rb") as f:
        proto.ParseFromString(f.read())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.input.append("corpus.txt")
    proto.trainer_spec.model_prefix = key
    with open(prefix + ".model", "wb") as f:
        f.write(proto.SerializeToString())
    ex = SentencePieceExtractor(prefix + ".model").extract(None)  # BPE: vocab by id, merges by rank
    vocab, merges = ex["vocab"], ex["merges"]
    tok = Tokenizer(models.BPE(vocab, merges, unk_token=t["names"]["unk"], fuse_unk=True, byte_fallback=True))
    if t["dummy_prefix"]:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
    else:
        tok.normalizer = normalizers.Replace(" ", "▁")
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    from tokenizers import AddedToken
    specials = [p for p in (t["names"].get("pad"), t["names"]["eos"], t["names"]["bos"], t["names"]["unk"]) if p]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    bos = t["names"]["bos"]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                       special_tokens=[(bos, t["bos"])])
    assert tok.token_to_id(bos) == t["bos"] and tok.get_vocab_size() == VOCAB
    return tok, prefix + ".model"


def build_bl_tokenizer(key):
    """Byte-level BPE trained on CORPUS with the family's pre-tokenizer (Llama 3 / Qwen2 split regex
    then ByteLevel without its own regex; Qwen2 adds an NFC normalizer)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    t = TOKENIZERS[key]
    tok = Tokenizer(models.BPE(ignore_merges=(key == "bl_llama3")))
    if t["nfc"]:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(t["pattern"]), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - len(t["specials"]), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus_lines(), trainer)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in t["specials"]])
    if t["add_bos"]:
        bos = t["specials"][0]
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                           special_tokens=[(bos, t["bos"])])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    if t["bos"] is not None:
        assert tok.token_to_id(t["specials"][0]) == t["bos"]
    assert tok.token_to_id(t["specials"][-1 if key == "bl_llama3" else 0]) == t["eos"]
    return tok


def tokenizer_config(key):
    t = TOKENIZERS[key]
    if t["kind"] == "sp":
        n = t["names"]
        cfg = {"add_bos_token": t["add_bos"], "add_eos_token": False, "bos_token": n["bos"], "eos_token": n["eos"],
               "unk_token": n["unk"], "pad_token": n.get("pad"), "clean_up_tokenization_spaces": False,
               "legacy": True, "model_max_length": 128, "tokenizer_class": t["cls"]}
        return cfg
    sp = t["specials"]
    return {"add_bos_token": t["add_bos"], "add_eos_token": False,
            "bos_token": sp[0] if t["bos"] is not None else None,
            "eos_token": sp[-1] if key == "bl_llama3" else sp[0], "pad_token": sp[0] if t["pad"] is not None else None,
            "clean_up_tokenization_spaces": False, "model_max_length": 128, "tokenizer_class": t["cls"]}


# ----------------------------------------------------------------------------------------------
# Models


def seeded_model(name):
    spec = FAMILIES[name]
    cfg = family_config(name)
    torch.manual_seed(0)
    model = model_class(name)(cfg)
    g = torch.Generator().manual_seed(spec["seed"])
    gemma = spec["cls"].startswith("Gemma")
    with torch.no_grad():
        for pname, p in sorted(model.named_parameters()):
            shape = p.shape
            if pname.endswith(("q_norm.weight", "k_norm.weight")):
                # Larger q/k norm gains keep the attention peaked despite the per-head normalisation.
                val = 2.5 + 0.3 * torch.randn(shape, generator=g)
                p.copy_(val - 1.0 if gemma else val)
            elif pname.endswith("norm.weight") or "layernorm" in pname:
                p.copy_((0.0 if gemma else 1.0) + 0.1 * torch.randn(shape, generator=g))
            elif "embed_tokens" in pname:
                p.copy_(0.5 * torch.randn(shape, generator=g))
            elif "lm_head" in pname:
                p.copy_(0.3 * torch.randn(shape, generator=g))
            elif pname.endswith(".bias"):
                p.copy_(0.2 * torch.randn(shape, generator=g))
            elif "qkv_proj" in pname:
                fan = shape[1]
                w = torch.randn(shape, generator=g) / fan ** 0.5
                nq = cfg.num_attention_heads * head_dim_of(cfg)
                nk = cfg.num_key_value_heads * head_dim_of(cfg)
                w[: nq + nk] *= 2.0
                p.copy_(w)
            elif "q_proj" in pname or "k_proj" in pname:
                p.copy_(2.0 * torch.randn(shape, generator=g) / shape[1] ** 0.5)
            else:  # v, o, gate, up, down, gate_up
                p.copy_(torch.randn(shape, generator=g) / shape[1] ** 0.5)
    return model


def save_hf(model, tok, tok_key, sp_model, folder):
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    model.save_pretrained(folder, safe_serialization=True)
    gen = os.path.join(folder, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)
    tok.save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(tok_key), f, indent=2)
        f.write("\n")
    if sp_model:
        shutil.copy(sp_model, os.path.join(folder, "tokenizer.model"))


def load_hf(folder, dtype=torch.float64, **overrides):
    from transformers import AutoConfig, AutoModelForCausalLM
    cfg = AutoConfig.from_pretrained(folder)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    model = AutoModelForCausalLM.from_pretrained(folder, config=cfg, dtype=dtype, attn_implementation="gim_eager")
    model.eval()
    return model


# ----------------------------------------------------------------------------------------------
# k-quants (layouts of ggml-common.h block_q4_K / block_q6_K, as gguf-py's dequantize reads them)

QK_K = 256


def quantize_q4_k(x: np.ndarray) -> np.ndarray:
    """[rows, n*256] float32 -> [rows, n*144] uint8. Block: f16 d, f16 dmin, 12 bytes of 6-bit
    (scale, min) pairs for 8 sub-blocks of 32, 128 bytes of 4-bit q; value = d*sc*q - dmin*m."""
    rows = x.shape[0]
    b = x.reshape(-1, 8, 32).astype(np.float64)
    lo = np.minimum(b.min(-1), 0.0)
    hi = b.max(-1)
    scale = (hi - lo) / 15.0
    mins = -lo
    d = (scale.max(-1) / 63.0).astype(np.float16)
    dmin = (mins.max(-1) / 63.0).astype(np.float16)
    df, dminf = d.astype(np.float64), dmin.astype(np.float64)
    sc = np.where(df[:, None] > 0, np.rint(scale / np.where(df[:, None] > 0, df[:, None], 1)), 0).clip(0, 63)
    m = np.where(dminf[:, None] > 0, np.rint(mins / np.where(dminf[:, None] > 0, dminf[:, None], 1)), 0).clip(0, 63)
    sc, m = sc.astype(np.uint8), m.astype(np.uint8)
    step = df[:, None] * sc
    off = dminf[:, None] * m
    q = np.where(step[..., None] > 0, np.rint((b + off[..., None]) / np.where(step[..., None] > 0, step[..., None], 1)), 0)
    q = q.clip(0, 15).astype(np.uint8)  # [nb, 8, 32]
    scales = np.zeros((b.shape[0], 12), np.uint8)
    scales[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] >> 4) << 6)
    scales[:, 4:8] = (m[:, 0:4] & 63) | ((m[:, 4:8] >> 4) << 6)
    scales[:, 8:12] = (sc[:, 4:8] & 15) | ((m[:, 4:8] & 15) << 4)
    qs = (q[:, 0::2, :] | (q[:, 1::2, :] << 4)).reshape(-1, 128)  # chunk c: low nibbles sub 2c, high 2c+1
    blocks = np.concatenate([d.reshape(-1, 1).view(np.uint8), dmin.reshape(-1, 1).view(np.uint8), scales, qs], -1)
    return blocks.reshape(rows, -1)


def quantize_q6_k(x: np.ndarray) -> np.ndarray:
    """[rows, n*256] float32 -> [rows, n*210] uint8. Block: 128 bytes low 4 bits, 64 bytes high 2
    bits, 16 int8 scales (sub-blocks of 16), f16 d; value = d * scale * (q - 32)."""
    rows = x.shape[0]
    b = x.reshape(-1, 16, 16).astype(np.float64)
    amax = np.abs(b).max(-1)
    scale = amax / 31.0
    d = (scale.max(-1) / 127.0).astype(np.float16)
    df = d.astype(np.float64)
    sc = np.where(df[:, None] > 0, np.rint(scale / np.where(df[:, None] > 0, df[:, None], 1)), 0).clip(-128, 127)
    step = df[:, None] * sc
    q = np.where(step[..., None] != 0, np.rint(b / np.where(step[..., None] != 0, step[..., None], 1)), 0)
    q = (q.clip(-32, 31) + 32).astype(np.uint8).reshape(-1, 2, 4, 32)  # [nb, half h, group r, e]
    low, high = q & 15, q >> 4
    ql = np.stack([low[:, :, 0] | (low[:, :, 2] << 4), low[:, :, 1] | (low[:, :, 3] << 4)], 2).reshape(-1, 128)
    qh = (high[:, :, 0] | (high[:, :, 1] << 2) | (high[:, :, 2] << 4) | (high[:, :, 3] << 6)).reshape(-1, 64)
    blocks = np.concatenate([ql, qh, sc.astype(np.int8).view(np.uint8), d.reshape(-1, 1).view(np.uint8)], -1)
    return blocks.reshape(rows, -1)


def quantize(x: np.ndarray, kind: str):
    import gguf
    qt = getattr(gguf.GGMLQuantizationType, kind)
    blocks = (quantize_q4_k if kind == "Q4_K" else quantize_q6_k)(np.ascontiguousarray(x, np.float32))
    back = gguf.quants.dequantize(blocks, qt)
    assert back.shape == x.shape
    err = float(np.abs(back - x).max() / np.abs(x).max())
    limit = 0.08 if kind == "Q4_K" else 0.02
    assert err < limit, f"{kind} round trip: max error {err:.3e} of max |x|"
    return blocks, qt, back, err


# ----------------------------------------------------------------------------------------------
# GGUF


def permute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF rotate-half row order -> GGUF adjacent-pair order, per head: row (h, half j, i) -> (h, i, j)."""
    r = w.shape[0]
    return w.reshape(n_head, 2, r // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    r = w.shape[0]
    return w.reshape(n_head, r // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


HF_TO_GGUF = {
    "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER_NAMES = {  # HF suffix -> GGUF suffix (per family differences handled in gguf_name)
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight", "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.weight": "attn_output.weight", "self_attn.qkv_proj.weight": "attn_qkv.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.gate_up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight",
    "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
}


def gguf_name(name, hf_name):
    if hf_name in HF_TO_GGUF:
        return HF_TO_GGUF[hf_name]
    m = re.match(r"model\.layers\.(\d+)\.(.+)$", hf_name)
    i, rest = m.group(1), m.group(2)
    if rest == "post_attention_layernorm.weight":
        # Llama-like: the pre-FFN norm; Gemma 2/3: a post-attention norm.
        sub = "post_attention_norm.weight" if FAMILIES[name]["cls"] in ("Gemma2", "Gemma3") else "ffn_norm.weight"
    else:
        sub = LAYER_NAMES[rest]
    return f"blk.{i}.{sub}"


def to_gguf_tensor(name, cfg, hf_name, w: np.ndarray) -> np.ndarray:
    """The converter's weight transforms."""
    spec = FAMILIES[name]
    if spec["arch"] == "llama":
        if hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            w = permute_rows(w, cfg.num_attention_heads)
        elif hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            w = permute_rows(w, cfg.num_key_value_heads)
    if spec["cls"].startswith("Gemma") and hf_name.endswith("norm.weight"):
        w = (w + np.float32(1.0)).astype(np.float32)  # float32 add, as the converter's torch F32 tensor
    return np.ascontiguousarray(w, dtype=np.float32)


def from_gguf_tensor(name, cfg, hf_name, w: np.ndarray) -> torch.Tensor:
    """Inverse of to_gguf_tensor, in float64 (the norm's - 1 is exact in float64)."""
    spec = FAMILIES[name]
    w = torch.from_numpy(np.array(w, dtype=np.float64))
    if spec["arch"] == "llama":
        if hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            w = torch.from_numpy(unpermute_rows(w.numpy(), cfg.num_attention_heads))
        elif hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            w = torch.from_numpy(unpermute_rows(w.numpy(), cfg.num_key_value_heads))
    if spec["cls"].startswith("Gemma") and hf_name.endswith("norm.weight"):
        w = w - 1.0
    return w


def write_gguf(name, folder, path, tok, tok_key, sp_model):
    import gguf
    from safetensors.numpy import load_file

    spec = FAMILIES[name]
    cfg = family_config(name)
    arch = spec["arch"]
    tensors = load_file(os.path.join(folder, "model.safetensors"))
    w = gguf.GGUFWriter(path, arch)
    w.add_type("model")
    w.add_name(f"tiny-random-{name}")
    hd = head_dim_of(cfg)
    rp = cfg.rope_parameters
    # --- hyper-parameters, as each family's converter class writes them
    if arch in ("llama", "qwen2", "qwen3"):  # TextModel.set_gguf_parameters (+ LlamaModel extras)
        w.add_block_count(cfg.num_hidden_layers)
        w.add_context_length(cfg.max_position_embeddings)
        w.add_embedding_length(cfg.hidden_size)
        w.add_feed_forward_length(cfg.intermediate_size)
        w.add_head_count(cfg.num_attention_heads)
        w.add_head_count_kv(cfg.num_key_value_heads)
        if rp.get("rope_type") == "linear":
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(rp["factor"])
        w.add_rope_freq_base(rp["rope_theta"])
        w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
        w.add_key_length(hd)
        w.add_value_length(hd)
        if arch == "llama":
            w.add_vocab_size(cfg.vocab_size)
            w.add_rope_dimension_count(hd)
    elif arch in ("gemma", "gemma2"):  # GemmaModel / Gemma2Model.set_gguf_parameters (no rope keys)
        w.add_context_length(cfg.max_position_embeddings)
        w.add_embedding_length(cfg.hidden_size)
        w.add_block_count(cfg.num_hidden_layers)
        w.add_feed_forward_length(cfg.intermediate_size)
        w.add_head_count(cfg.num_attention_heads)
        w.add_head_count_kv(cfg.num_key_value_heads)
        w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
        w.add_key_length(hd)
        w.add_value_length(hd)
        if arch == "gemma2":
            w.add_attn_logit_softcapping(cfg.attn_logit_softcapping)
            w.add_final_logit_softcapping(cfg.final_logit_softcapping)
            w.add_sliding_window(cfg.sliding_window)
    elif arch == "gemma3":  # TextModel.set_gguf_parameters, then Gemma3Model's overrides
        full, swa = rp["full_attention"], rp["sliding_attention"]
        w.add_block_count(cfg.num_hidden_layers)
        w.add_context_length(cfg.max_position_embeddings)
        w.add_embedding_length(cfg.hidden_size)
        w.add_feed_forward_length(cfg.intermediate_size)
        w.add_head_count(cfg.num_attention_heads)
        w.add_head_count_kv(cfg.num_key_value_heads)
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(full["factor"])
        w.add_rope_freq_base(full["rope_theta"])
        w.add_rope_freq_base_swa(swa["rope_theta"])
        w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
        w.add_key_length(hd)
        w.add_value_length(hd)
        w.add_sliding_window(cfg.sliding_window)
    elif arch == "phi3":  # Phi3MiniModel.set_gguf_parameters
        w.add_context_length(cfg.max_position_embeddings)
        w.add_rope_scaling_orig_ctx_len(cfg.original_max_position_embeddings)
        w.add_embedding_length(cfg.hidden_size)
        w.add_feed_forward_length(cfg.intermediate_size)
        w.add_block_count(cfg.num_hidden_layers)
        w.add_head_count(cfg.num_attention_heads)
        w.add_head_count_kv(cfg.num_key_value_heads)
        w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
        w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
        w.add_rope_freq_base(rp["rope_theta"])
        w.add_sliding_window(0)  # the converter writes 0 when config.sliding_window is null
    ftype = gguf.LlamaFileType.MOSTLY_Q6_K if spec["quant"] == "Q6_K" else gguf.LlamaFileType.MOSTLY_Q4_K_S
    w.add_file_type(ftype)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    # --- tokenizer
    t = TOKENIZERS[tok_key]
    if t["kind"] == "sp":
        tokens, scores, types = sentencepiece_vocab(sp_model, cfg.vocab_size)
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        gguf.SpecialVocab(folder, n_vocab=len(tokens)).add_to_gguf(w, quiet=True)
        if arch.startswith("gemma"):
            w.add_add_space_prefix(False)
    else:
        tokens, types = bytelevel_vocab(tok)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(t["pre"])
        w.add_token_list(tokens)
        w.add_token_types(types)
        gguf.SpecialVocab(folder, load_merges=True).add_to_gguf(w, quiet=True)
    # --- tensors
    quant_err = 0.0
    for hf_name in sorted(tensors, key=tensor_order):
        g_name = gguf_name(name, hf_name)
        arr = to_gguf_tensor(name, cfg, hf_name, tensors[hf_name])
        if g_name.endswith("ffn_down.weight"):
            blocks, qt, _, err = quantize(arr, spec["quant"])
            quant_err = max(quant_err, err)
            w.add_tensor(g_name, blocks, raw_dtype=qt)
        else:
            w.add_tensor(g_name, arr)
    if rp.get("rope_type") == "llama3":
        factors = R.llama3_rope_factors(rp, hd).to(torch.float32).numpy()
        w.add_tensor("rope_freqs.weight", factors)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return quant_err


def tensor_order(hf_name):
    m = re.match(r"model\.layers\.(\d+)\.", hf_name)
    return (0 if "embed" in hf_name else 2 if m is None else 1, int(m.group(1)) if m else 0, hf_name)


def sentencepiece_vocab(sp_model, vocab_size):
    """tokens / scores / token types as the converter's _create_vocab_sentencepiece builds them."""
    from sentencepiece import SentencePieceProcessor
    sp = SentencePieceProcessor()
    sp.LoadFromFile(sp_model)
    tokens = [f"[PAD{i}]".encode() for i in range(vocab_size)]
    scores = [-1000.0] * vocab_size
    types = [5] * vocab_size  # UNUSED
    for i in range(sp.vocab_size()):
        tokens[i] = sp.IdToPiece(i).encode("utf-8")
        scores[i] = sp.GetScore(i)
        types[i] = (2 if sp.IsUnknown(i) else 3 if sp.IsControl(i) else 5 if sp.IsUnused(i)
                    else 6 if sp.IsByte(i) else 1)
    return tokens, scores, types


def bytelevel_vocab(tok):
    """tokens / token types as the converter's get_vocab_base builds them (byte-level strings,
    special added tokens CONTROL, others NORMAL)."""
    vocab = tok.get_vocab(with_added_tokens=True)
    rev = {i: s for s, i in vocab.items()}
    added = {a.content: a for a in tok.get_added_tokens_decoder().values()}
    tokens, types = [], []
    for i in range(VOCAB):
        s = rev[i]
        tokens.append(s)
        types.append(3 if s in added and added[s].special else 4 if s in added else 1)
    return tokens, types


def load_gguf_as_hf(name, path):
    """Read the GGUF with gguf-py, dequantise every tensor, map names and transforms back to HF."""
    import gguf
    from gguf.quants import dequantize

    cfg = family_config(name)
    reader = gguf.GGUFReader(path)
    by_gguf = {}
    for t in reader.tensors:
        arr = dequantize(t.data, t.tensor_type)
        by_gguf[t.name] = np.array(arr, dtype=np.float32).reshape([int(n) for n in reversed(t.shape)])
    hf_names = [n for n, _ in seeded_model_names(name)]
    state = {}
    for hf_name in hf_names:
        state[hf_name] = from_gguf_tensor(name, cfg, hf_name, by_gguf[gguf_name(name, hf_name)])
    meta = {f.name: f for f in reader.fields.values()}
    return state, by_gguf, meta


_names_cache = {}  # family -> [(tensor name, dtype)] of its model.safetensors


def seeded_model_names(name):
    return _names_cache[name]


# ----------------------------------------------------------------------------------------------
# Reference runs and checks


def r12(t) -> list:
    return [float(f"{v:.12g}") for v in torch.as_tensor(t).to(torch.float64).reshape(-1).tolist()]


def make_sequences(model, seqs, baseline):
    out = []
    for ids, (pos, tgt) in zip(seqs, EXTRA_TARGETS):
        runs = [(n, None, -1) for n in SETTING_NAMES] + [("gim", tgt, pos), ("plain", tgt, pos)]
        items, logits = [], None
        for setting, target, position in runs:
            st = R.NAMED_SETTINGS[setting]
            r = R.explain(model, ids, st, baseline, target, position)
            logits = r["logits"]
            item = {"setting": setting, "settings": st, "target_token_id": r["target_token_id"],
                    "target_position": position, "target_index": r["target_index"], "baseline_token_id": baseline,
                    "attributions": r12(r["attributions"]), "target_logit": float(f"{r['target_logit']:.12g}")}
            if setting in WITH_GRAD:
                item["embedding_grad"] = [r12(row) for row in r["embedding_grad"]]
            items.append(item)
        out.append({"token_ids": ids, "logits": [r12(row) for row in logits], "runs": items})
    return out


def check_against_transformers(model, seqs, baseline, log):
    worst_l = worst_g = loose_l = loose_g = 0.0
    for ids in seqs:
        r = R.explain(model, ids, R.NAMED_SETTINGS["plain"], baseline)
        logits, grad = R.transformers_plain(model, ids, r["target_token_id"], exact=True)
        worst_l = max(worst_l, float((logits - r["logits"]).abs().max()))
        worst_g = max(worst_g, float((grad - r["embedding_grad"]).abs().max()))
        logits, grad = R.transformers_plain(model, ids, r["target_token_id"], exact=False)
        loose_l = max(loose_l, float((logits - r["logits"]).abs().max() / r["logits"].abs().max()))
        loose_g = max(loose_g, float((grad - r["embedding_grad"]).abs().max() / r["embedding_grad"].abs().max()))
    log(f"  plain reference vs transformers' eager forward + autograd (float64 norms/RoPE/softmax): "
        f"logits {worst_l:.1e}, embedding grad {worst_g:.1e} (max abs)")
    log(f"  vs unpatched transformers in float64 (float32 RMSNorm, RoPE angles, eager softmax): "
        f"logits {loose_l:.1e}, grad {loose_g:.1e} (relative)")
    assert worst_l < 1e-10 and worst_g < 1e-10
    assert loose_l < 1e-4 and loose_g < 1e-4
    return worst_l, worst_g


def knob_report(model, ids, baseline, log):
    base = R.explain(model, ids, R.NAMED_SETTINGS["plain"], baseline)
    out = {}
    for knob, st in R.SINGLE_KNOBS.items():
        r = R.explain(model, ids, st, baseline, base["target_token_id"])
        rel = R.relative_change(r["attributions"], base["attributions"])
        assert r["target_logit"] == base["target_logit"], knob
        assert rel > 1e-4, f"knob {knob} moved attributions by only {rel:.2e}"
        out[knob] = rel
    log("  knob effects (relative L2 change of attributions): "
        + ", ".join(f"{k} {v:.2e}" for k, v in out.items()))
    return out


def attention_check(model, ids, baseline, log):
    rec = []
    with R.state(record=rec):
        R.explain(model, ids, R.NAMED_SETTINGS["plain"], baseline)
    ent = R.attention_entropy(rec)
    log(f"  attention normalised entropy {ent:.3f} (1 = uniform)")
    assert ent < 0.8, ent
    return ent


def logits_change(a, b):
    return float((a - b).abs().max() / b.abs().max())


def variant_checks(name, folder, model, seqs, baseline, log):
    """The sliding window and RoPE scaling change the logits (one run without them)."""
    spec = FAMILIES[name]
    cfg = model.config
    ids = seqs[-1]
    ref = R.explain(model, ids, R.NAMED_SETTINGS["plain"], baseline)["logits"]
    checks = {}
    if getattr(cfg, "sliding_window", None):
        over = {"sliding_window": 4096}  # wider than any prompt: the same as no window
        v = load_hf(folder, **over)
        R.set_exact_rope(v)
        checks["sliding_window"] = logits_change(R.explain(v, ids, R.NAMED_SETTINGS["plain"], baseline)["logits"], ref)
    rp = cfg.rope_parameters
    if "full_attention" in rp:
        if rp["full_attention"].get("rope_type") != "default":
            over = {"rope_parameters": {**rp, "full_attention": {"rope_type": "default",
                                                                 "rope_theta": rp["full_attention"]["rope_theta"]}}}
            v = load_hf(folder, **over)
            R.set_exact_rope(v)
            checks["rope_scaling"] = logits_change(
                R.explain(v, ids, R.NAMED_SETTINGS["plain"], baseline)["logits"], ref)
    elif rp.get("rope_type", "default") != "default":
        v = load_hf(folder, rope_parameters={"rope_type": "default", "rope_theta": rp["rope_theta"]})
        R.set_exact_rope(v)
        checks["rope_scaling"] = logits_change(R.explain(v, ids, R.NAMED_SETTINGS["plain"], baseline)["logits"], ref)
    for k, val in checks.items():
        log(f"  without {k}: logits change {val:.2e} (relative max)")
        assert val > 1e-3, f"{name}: {k} does not matter ({val:.2e})"
    return checks


def independent_check(model, seqs, baseline, log):
    """Mistral without its window is plain Llama: compare with the from-scratch reference
    gim_reference.py (own forward, own GIM autograd functions) on every named setting."""
    import gim_reference as G
    cfg, W = G.from_hf_llama(model)
    worst = 0.0
    for ids in seqs:
        for setting, st in R.NAMED_SETTINGS.items():
            a = R.explain(model, ids, st, baseline)
            b = G.explain(cfg, W, ids, st, baseline, a["target_token_id"])
            worst = max(worst, float((a["attributions"] - b["attributions"]).abs().max()
                                     / b["attributions"].abs().max()),
                        float((a["logits"] - b["logits"]).abs().max()))
    log(f"  vs the from-scratch gim_reference.py (every setting): max difference {worst:.1e}")
    assert worst < 1e-9, worst


def gguf_overrides(name):
    """What llama.cpp computes differently from the HF config for the same weights."""
    spec = FAMILIES[name]
    cfg = family_config(name)
    over = {}
    if spec["cls"] == "Mistral":
        over["sliding_window"] = None  # arch llama has no sliding window
    if spec["cls"] == "Gemma2":
        # llama.cpp: scale 1/sqrt(head_dim) unless the model is the 46-layer 27B (then
        # 1/sqrt(n_embd/n_head)); query_pre_attn_scalar is not in the GGUF.
        over["query_pre_attn_scalar"] = head_dim_of(cfg)
    return over


def run_family(name, out_dir, work, log):
    from tokenizers import Tokenizer

    spec = FAMILIES[name]
    tok_key = spec["tok"]
    log(f"{name}: {spec['exercises']}")
    fam_dir = os.path.join(out_dir, name)
    hf_dir = os.path.join(fam_dir, "hf")
    os.makedirs(fam_dir, exist_ok=True)
    sp_model = None
    if TOKENIZERS[tok_key]["kind"] == "sp":
        tok, sp_model = build_sp_tokenizer(tok_key, work)
    else:
        tok = build_bl_tokenizer(tok_key)
    model32 = seeded_model(name)
    save_hf(model32, tok, tok_key, sp_model, hf_dir)
    from safetensors import safe_open
    with safe_open(os.path.join(hf_dir, "model.safetensors"), "pt") as f:
        _names_cache[name] = [(k, f.get_slice(k).get_dtype()) for k in f.keys()]
    assert all(dt == "F32" for _, dt in _names_cache[name])
    tok = Tokenizer.from_file(os.path.join(hf_dir, "tokenizer.json"))
    from transformers import AutoTokenizer
    AutoTokenizer.from_pretrained(hf_dir)  # must load
    gguf_path = os.path.join(fam_dir, "model.gguf")
    qerr = write_gguf(name, hf_dir, gguf_path, tok, tok_key, sp_model)
    log(f"  GGUF arch {spec['arch']}, ffn_down {spec['quant']} (max round-trip error {qerr:.2e} of max |w|)")

    baseline = tok.encode(" ", add_special_tokens=False).ids[0]
    seqs = [tok.encode(p).ids[:n] for p, n in zip(PROMPTS, LENGTHS)]
    assert [len(s) for s in seqs] == LENGTHS, [len(s) for s in seqs]
    log(f"  baseline {baseline} ({tok.id_to_token(baseline)!r}); sequences of {LENGTHS} tokens")

    # --- hf section
    model = load_hf(hf_dir)
    R.set_exact_rope(model)
    check_against_transformers(model, seqs, baseline, log)
    for ids in seqs:
        knob_report(model, ids, baseline, log)
        attention_check(model, ids, baseline, log)
    variant_checks(name, hf_dir, model, seqs, baseline, log)
    hf_section = {"sequences": make_sequences(model, seqs, baseline)}

    # --- gguf section: the GGUF's weights (dequantised by gguf-py) mapped back, in transformers
    state, by_gguf, meta = load_gguf_as_hf(name, gguf_path)
    over = gguf_overrides(name)
    gmodel = load_hf(hf_dir, **over)
    with torch.no_grad():
        sd = gmodel.state_dict()
        for k, v in state.items():
            sd[k].copy_(v)
    freq = None
    if "rope_freqs.weight" in by_gguf:
        freq = torch.from_numpy(by_gguf["rope_freqs.weight"].astype(np.float64))
    if freq is None:
        R.set_exact_rope(gmodel)
    else:
        _set_rope_factors(gmodel, freq)
    # F32 tensors must come back exactly (up to the float32 Gemma + 1).
    ref_sd = model.state_dict()
    worst_f32 = max(float((state[k] - ref_sd[k]).abs().max()) for k in state if "down_proj" not in k)
    worst_down = max(float((state[k] - ref_sd[k]).abs().max()) for k in state if "down_proj" in k)
    log(f"  GGUF read back: non-ffn_down tensors max abs diff {worst_f32:.1e}, ffn_down {worst_down:.1e}")
    assert worst_f32 < 1e-6
    for ids in seqs[:1]:
        knob_report(gmodel, ids, baseline, log)
    if spec["cls"] == "Mistral":
        independent_check(gmodel, seqs, baseline, log)
    gguf_section = {"sequences": make_sequences(gmodel, seqs, baseline)}
    a = torch.tensor(hf_section["sequences"][0]["logits"])
    b = torch.tensor(gguf_section["sequences"][0]["logits"])
    log(f"  gguf vs hf section logits: relative max change {logits_change(b, a):.2e}")

    notes = family_notes(name, over)
    doc = {"family": name, "source": source_text(name), "notes": notes,
           "gguf_arch": spec["arch"], "ffn_down_type": spec["quant"],
           "hf": hf_section, "gguf": gguf_section}
    write_reference(os.path.join(fam_dir, "reference.json"), doc, log)


def _set_rope_factors(model, freq):
    """gguf section of llama3: inverse frequencies theta^(-2i/d) / rope_freqs[i] (the GGUF's F32 factors)."""
    cfg = model.config
    R.set_exact_rope(model)
    inv = R.inv_freq_f64(cfg.rope_parameters, head_dim_of(cfg), freq)
    for m in model.modules():
        if hasattr(m, "_gim_inv_freq"):
            m._gim_inv_freq = {"default": inv}


def source_text(name):
    spec = FAMILIES[name]
    return (f"scripts/reference/make_family_fixtures.py (gim_reference_families.py: transformers "
            f"{__import__('transformers').__version__} {spec['cls']}ForCausalLM modules in float64 with GIM's "
            f"backward; eager attention registered as 'gim_eager'); weights seed {spec['seed']}")


def family_notes(name, over):
    spec = FAMILIES[name]
    n = [
        "logits: [T][vocab] at every position (after the final soft-cap where the family has one).",
        "attributions a_t = sum_d dL/de[t,d] (e[t,d] - e_base[d]); L = the target logit; e = embedding rows "
        "before any scaling (Gemma's sqrt(hidden) factor is inside the model: embedding_grad includes it).",
        "embedding_grad: dL/de [T][hidden], only for settings plain and gim.",
        "target_position as passed (negative counts from the end); target_index counted from the start.",
        "hf: the safetensors weights as stored. gguf: the GGUF's tensors dequantised by gguf-py "
        "(ffn_down from its k-quant blocks, Gemma norms minus 1, q/k rows un-permuted) in the same modules.",
    ]
    if spec["cls"] == "Gemma2":
        n.append("gemma2 final soft-cap: L is the capped logit; the gradient seed at the head is "
                 "(1 - tanh^2(z/3)) * head row.")
    if over.get("sliding_window", 1) is None:
        n.append("mistral gguf section: computed WITHOUT the sliding window (llama.cpp arch llama has none); "
                 "the hf section uses window 4 on every layer.")
    if "query_pre_attn_scalar" in over:
        n.append("gemma2 gguf section: attention scale 1/sqrt(head_dim) = 1/4, what llama.cpp uses for a model "
                 "that is not the 46-layer 27B (query_pre_attn_scalar is not stored in GGUF); the hf section "
                 "uses query_pre_attn_scalar 24.")
    if spec["cls"] == "Llama" and spec["cfg"]["rope_parameters"].get("rope_type") == "llama3":
        n.append("llama3 gguf section: inverse frequencies theta^(-2i/d) / rope_freqs[i] with the GGUF's F32 "
                 "factors.")
    return " ".join(n)


def write_reference(path, doc, log):
    lines = ["{"]
    keys = list(doc)
    for i, k in enumerate(keys):
        end = "," if i < len(keys) - 1 else ""
        v = doc[k]
        if k in ("hf", "gguf"):
            lines.append(f'"{k}": {{"sequences": [')
            seqs = v["sequences"]
            for j, s in enumerate(seqs):
                lines.append(" " + json.dumps(s, separators=(",", ":")) + ("," if j < len(seqs) - 1 else ""))
            lines.append("]}" + end)
        else:
            lines.append(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}{end}")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)
    with open(path, "w") as f:
        f.write(text)
    log(f"  wrote {os.path.relpath(path, ROOT)} ({len(text) / 1024:.0f} KiB)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    R.install()
    import tempfile
    names = [n for n in FAMILIES if not args.only or n in args.only.split(",")]
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            run_family(name, args.out, work, print)


if __name__ == "__main__":
    main()
