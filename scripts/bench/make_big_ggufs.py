#!/usr/bin/env python3
"""Random-weight GGUFs shaped like four real Q4_K_M checkpoints, for `gim bench` (issue 13).

    .venv/bin/python scripts/bench/make_big_ggufs.py [--out models/bench] [--only NAME ...] [--force]

Writes, into models/bench/:

    Llama-3.2-1B-Instruct.Q4_K_M.gguf     llama,  16 layers, dim 2048, tied head,   vocab 128256  (~0.8 GB)
    Qwen2.5-1.5B-Instruct.Q4_K_M.gguf     qwen2,  28 layers, dim 1536, tied head,   vocab 151936  (~1.1 GB)
    gemma-2-2b-it.Q4_K_M.gguf             gemma2, 26 layers, dim 2304, tied head,   vocab 256000  (~1.7 GB)
    Llama-3.1-8B-Instruct.Q4_K_M.gguf     llama,  32 layers, dim 4096, untied head, vocab 128256  (~4.9 GB)

What is real: every tensor's name, shape and encoding, and the metadata keys llama.cpp's
converter writes for these models (`<arch>.*` hyper-parameters, Llama 3's `rope_freqs.weight`
with the llama3 frequency factors, Gemma 2's soft-caps and sliding window, Qwen 2's q/k/v
biases). The encodings follow llama.cpp's Q4_K_M rules (src/llama-quant.cpp,
`llama_tensor_get_type`), restated here:

- default Q4_K; 1-D tensors (norms, biases, rope_freqs) stay F32;
- output.weight, or token_embd.weight when the head is tied: Q6_K;
- token_embd.weight of an untied model: the default (Q4_K);
- attn_v.weight and ffn_down.weight: Q6_K on the layers where `use_more_bits(i, n)` holds
  (i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2), Q4_K elsewhere;
- attn_q/k/output, ffn_gate/up: Q4_K.
  (Every row length here is a multiple of 256, so no fallback encoding is needed.)

What is not real: the weights are random, finite blocks (gguf-py cannot quantise k-quants, so
the blocks are written directly: random 4/6-bit codes, scales picked so the dequantised weights
are centred with a standard deviation of ~0.02, like trained projections), norms are ~1, and the
tokenizer is a small byte-level BPE (256 byte tokens, merges for a few English words, the real
special tokens at their real ids) padded with unused tokens to the real vocabulary size.

Data is generated and written in chunks, so memory stays small; the 8B is skipped when the disk
does not have room for it.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as QT
except ImportError:  # pragma: no cover
    sys.exit("needs gguf-py: bash scripts/bench/setup-pytorch.sh, then run with .venv/bin/python")

QK_K = 256
BLOCK_BYTES = {QT.Q4_K: 144, QT.Q6_K: 210}
TARGET_STD = 0.02  # standard deviation of the dequantised weights
CHUNK_BLOCKS = 1 << 16  # blocks generated per write (≤ 14 MB)
ALIGN = 32


@dataclass
class Spec:
    name: str
    arch: str
    layers: int
    dim: int
    ffn: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool
    context: int
    rms_eps: float
    rope_base: float | None
    llama3_rope: dict | None = None
    qkv_bias: bool = False
    gemma2: bool = False
    tokenizer: str = "llama3"
    extra_kv: dict = field(default_factory=dict)


MODELS = {
    "Llama-3.2-1B-Instruct": Spec(
        "Llama-3.2-1B-Instruct", "llama", layers=16, dim=2048, ffn=8192, heads=32, kv_heads=8, head_dim=64,
        vocab=128256, tied=True, context=131072, rms_eps=1e-5, rope_base=500000.0,
        llama3_rope=dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=8192),
        tokenizer="llama3"),
    "Qwen2.5-1.5B-Instruct": Spec(
        "Qwen2.5-1.5B-Instruct", "qwen2", layers=28, dim=1536, ffn=8960, heads=12, kv_heads=2, head_dim=128,
        vocab=151936, tied=True, context=32768, rms_eps=1e-6, rope_base=1000000.0, qkv_bias=True,
        tokenizer="qwen2"),
    "gemma-2-2b-it": Spec(
        "gemma-2-2b-it", "gemma2", layers=26, dim=2304, ffn=9216, heads=8, kv_heads=4, head_dim=256,
        vocab=256000, tied=True, context=8192, rms_eps=1e-6, rope_base=None, gemma2=True,
        tokenizer="gemma",
        extra_kv={"attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "attention.sliding_window": 4096}),
    "Llama-3.1-8B-Instruct": Spec(
        "Llama-3.1-8B-Instruct", "llama", layers=32, dim=4096, ffn=14336, heads=32, kv_heads=8, head_dim=128,
        vocab=128256, tied=False, context=131072, rms_eps=1e-5, rope_base=500000.0,
        llama3_rope=dict(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=8192),
        tokenizer="llama3"),
}


# ---------------------------------------------------------------------------------------------
# Encodings (llama.cpp's Q4_K_M mix)

def use_more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensor_plan(s: Spec) -> list[tuple[str, tuple[int, ...], QT]]:
    """(name, numpy shape [rows, cols] or [n], encoding) in the order llama.cpp's converter writes them."""
    head_type = QT.Q6_K
    plan: list[tuple[str, tuple[int, ...], QT]] = []
    plan.append(("token_embd.weight", (s.vocab, s.dim), head_type if s.tied else QT.Q4_K))
    if s.llama3_rope:
        plan.append(("rope_freqs.weight", (s.head_dim // 2,), QT.F32))
    q_dim, kv_dim = s.heads * s.head_dim, s.kv_heads * s.head_dim
    for i in range(s.layers):
        more = use_more_bits(i, s.layers)
        p = f"blk.{i}."
        plan.append((p + "attn_norm.weight", (s.dim,), QT.F32))
        plan.append((p + "attn_q.weight", (q_dim, s.dim), QT.Q4_K))
        plan.append((p + "attn_k.weight", (kv_dim, s.dim), QT.Q4_K))
        plan.append((p + "attn_v.weight", (kv_dim, s.dim), QT.Q6_K if more else QT.Q4_K))
        if s.qkv_bias:
            plan.append((p + "attn_q.bias", (q_dim,), QT.F32))
            plan.append((p + "attn_k.bias", (kv_dim,), QT.F32))
            plan.append((p + "attn_v.bias", (kv_dim,), QT.F32))
        plan.append((p + "attn_output.weight", (s.dim, q_dim), QT.Q4_K))
        if s.gemma2:
            plan.append((p + "post_attention_norm.weight", (s.dim,), QT.F32))
        plan.append((p + "ffn_norm.weight", (s.dim,), QT.F32))
        plan.append((p + "ffn_gate.weight", (s.ffn, s.dim), QT.Q4_K))
        plan.append((p + "ffn_up.weight", (s.ffn, s.dim), QT.Q4_K))
        plan.append((p + "ffn_down.weight", (s.dim, s.ffn), QT.Q6_K if more else QT.Q4_K))
        if s.gemma2:
            plan.append((p + "post_ffw_norm.weight", (s.dim,), QT.F32))
    plan.append(("output_norm.weight", (s.dim,), QT.F32))
    if not s.tied:
        plan.append(("output.weight", (s.vocab, s.dim), head_type))
    for name, shape, t in plan:
        if t != QT.F32:
            assert shape[-1] % QK_K == 0, (name, shape)
    return plan


def nbytes(shape: tuple[int, ...], t: QT) -> int:
    n = math.prod(shape)
    if t == QT.F32:
        return 4 * n
    return n // QK_K * BLOCK_BYTES[t]


# ---------------------------------------------------------------------------------------------
# Random blocks

def q4_k_blocks(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random Q4_K blocks (block_q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes
    of 4-bit codes). w = d·sc·q − dmin·m with q uniform in 0..15; dmin = 8d and m ≈ sc·15/16 put
    the mean of each sub-block near zero, and d is set so the standard deviation is ~TARGET_STD."""
    b = np.frombuffer(rng.bytes(n * 144), dtype=np.uint8).reshape(n, 144).copy()
    sc = rng.integers(16, 64, size=(n, 8), dtype=np.uint8)
    m = np.minimum(63, np.rint(sc.astype(np.float32) * 15 / 16)).astype(np.uint8)
    q = np.empty((n, 12), dtype=np.uint8)
    q[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] >> 4) << 6)
    q[:, 4:8] = (m[:, 0:4] & 63) | ((m[:, 4:8] >> 4) << 6)
    q[:, 8:12] = (sc[:, 4:8] & 0xF) | ((m[:, 4:8] & 0xF) << 4)
    # std of d·sc·(q − 7.5) over q uniform in 0..15 is d·sc·4.61; sc averages ~40.
    d = (TARGET_STD / (40 * 4.61)) * rng.uniform(0.6, 1.4, size=n).astype(np.float32)
    b[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(n, 2)
    b[:, 2:4] = (8 * d).astype(np.float16).view(np.uint8).reshape(n, 2)
    b[:, 4:16] = q
    return b


def q6_k_blocks(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random Q6_K blocks (block_q6_K: 128 bytes low 4 bits, 64 bytes high 2 bits, 16 int8
    scales, f16 d). w = d·scale·(q − 32) with q uniform in 0..63 (std 18.5)."""
    b = np.frombuffer(rng.bytes(n * 210), dtype=np.uint8).reshape(n, 210).copy()
    mag = rng.integers(8, 33, size=(n, 16))
    sign = np.where(rng.integers(0, 2, size=(n, 16)) == 0, -1, 1)
    b[:, 192:208] = (mag * sign).astype(np.int8).view(np.uint8)
    d = (TARGET_STD / (20.5 * 18.5)) * rng.uniform(0.6, 1.4, size=n).astype(np.float32)
    b[:, 208:210] = d.astype(np.float16).view(np.uint8).reshape(n, 2)
    return b


def f32_values(rng: np.random.Generator, name: str, n: int) -> np.ndarray:
    if name.endswith(".bias"):
        return (TARGET_STD * rng.standard_normal(n)).astype(np.float32)
    # Norm weights as the file holds them (Gemma's converter stores 1 + w): ~1.
    return (1.0 + 0.05 * rng.standard_normal(n)).astype(np.float32)


def llama3_rope_factors(s: Spec) -> np.ndarray:
    """One divisor per rotated pair, as llama.cpp's converter computes for rope_type llama3."""
    r = s.llama3_rope
    base, dim = s.rope_base, s.head_dim
    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    low_wavelen = r["original_max_position_embeddings"] / r["low_freq_factor"]
    high_wavelen = r["original_max_position_embeddings"] / r["high_freq_factor"]
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(r["factor"])
        else:
            smooth = (r["original_max_position_embeddings"] / wavelen - r["low_freq_factor"]) / (
                r["high_freq_factor"] - r["low_freq_factor"])
            out.append(1.0 / ((1 - smooth) / r["factor"] + smooth))
    return np.array(out, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Tokenizer: byte-level BPE with the real special tokens at their real ids

WORDS = ("the quick brown fox jumps over lazy dog while old farmer watches from porch counting sheep and "
         "cows before dinner The capital of France is Paris a an in on to with was for that it as at by "
         "this be are or").split()


def byte_unicode() -> list[str]:
    """GPT-2's printable stand-in for each byte value."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def tokenizer(s: Spec) -> dict:
    specials: dict[int, str] = {}
    if s.tokenizer == "llama3":
        names = {0: "<|begin_of_text|>", 1: "<|end_of_text|>", 6: "<|start_header_id|>", 7: "<|end_header_id|>",
                 8: "<|eom_id|>", 9: "<|eot_id|>", 10: "<|python_tag|>"}
        for k in range(256):
            specials[128000 + k] = names.get(k, f"<|reserved_special_token_{k}|>")
        pre, bos, eos, add_bos, pad = "llama-bpe", 128000, 128009, True, None
        first_pad = s.vocab
    elif s.tokenizer == "qwen2":
        for k, t in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                               "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
                               "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
                               "<|image_pad|>", "<|video_pad|>"]):
            specials[151643 + k] = t
        pre, bos, eos, add_bos, pad = "qwen2", 151643, 151645, False, 151643
        first_pad = 151665  # the converter pads the vocabulary with [PAD…] tokens from here
    else:  # gemma
        specials.update({0: "<pad>", 1: "<eos>", 2: "<bos>", 3: "<unk>", 106: "<start_of_turn>", 107: "<end_of_turn>"})
        pre, bos, eos, add_bos, pad = "default", 2, 1, True, 0
        first_pad = s.vocab
    chars = byte_unicode()
    ordinary = list(chars)
    merges: list[str] = []
    known = set(ordinary)
    for w in WORDS:
        for word in ("Ġ" + w, w):
            cur = word[0]
            for ch in word[1:]:
                merged = cur + ch
                if merged not in known:
                    merges.append(f"{cur} {ch}")
                    ordinary.append(merged)
                    known.add(merged)
                cur = merged
    tokens: list[str] = []
    types: list[int] = []
    it = iter(ordinary)
    for i in range(s.vocab):
        if i in specials:
            tokens.append(specials[i]); types.append(3)
        elif i >= first_pad:
            tokens.append(f"[PAD{i}]"); types.append(5)
        else:
            t = next(it, None)
            if t is None:
                tokens.append(f"<unused_{i}>"); types.append(5)
            else:
                tokens.append(t); types.append(1)
    assert next(it, None) is None, "vocabulary too small for the byte tokens and merges"
    return dict(pre=pre, tokens=tokens, types=types, merges=merges, bos=bos, eos=eos, pad=pad, add_bos=add_bos)


# ---------------------------------------------------------------------------------------------
# Writing

def write_model(s: Spec, path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    plan = tensor_plan(s)
    w = gguf.GGUFWriter(str(path), s.arch)
    # As llama.cpp's converter and llama-quantize write them (general.file_type 15 = MOSTLY_Q4_K_M).
    w.add_type("model")
    w.add_name(s.name.replace("-", " ") + " (random weights, Q4_K_M layout)")
    w.add_description("random-weight benchmark file written by scripts/bench/make_big_ggufs.py")
    w.add_quantization_version(2)
    w.add_file_type(15)
    w.add_vocab_size(s.vocab)
    w.add_context_length(s.context)
    w.add_embedding_length(s.dim)
    w.add_block_count(s.layers)
    w.add_feed_forward_length(s.ffn)
    w.add_head_count(s.heads)
    w.add_head_count_kv(s.kv_heads)
    w.add_layer_norm_rms_eps(s.rms_eps)
    w.add_key_length(s.head_dim)
    w.add_value_length(s.head_dim)
    if s.rope_base is not None:
        w.add_rope_freq_base(s.rope_base)
    if s.arch == "llama":
        w.add_rope_dimension_count(s.head_dim)
    for k, v in s.extra_kv.items():
        key = f"{s.arch}.{k}"
        if isinstance(v, float):
            w.add_float32(key, v)
        else:
            w.add_uint32(key, v)
    tok = tokenizer(s)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(tok["pre"])
    w.add_token_list(tok["tokens"])
    w.add_token_types(tok["types"])
    w.add_token_merges(tok["merges"])
    w.add_bos_token_id(tok["bos"])
    w.add_eos_token_id(tok["eos"])
    if tok["pad"] is not None:
        w.add_pad_token_id(tok["pad"])
    w.add_add_bos_token(tok["add_bos"])
    for name, shape, t in plan:
        if t == QT.F32:
            w.add_tensor_info(name, shape, np.dtype(np.float32), nbytes(shape, t))
        else:
            rows, cols = shape
            w.add_tensor_info(name, (rows, cols // QK_K * BLOCK_BYTES[t]), np.dtype(np.uint8), nbytes(shape, t), raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    f = w.fout[0]
    total = sum(nbytes(sh, t) for _, sh, t in plan)
    done, last = 0, time.time()
    for name, shape, t in plan:
        f.write(b"\0" * (-f.tell() % ALIGN))
        if t == QT.F32:
            data = llama3_rope_factors(s) if name == "rope_freqs.weight" else f32_values(rng, name, shape[0])
            f.write(data.tobytes())
        else:
            blocks = math.prod(shape) // QK_K
            make = q4_k_blocks if t == QT.Q4_K else q6_k_blocks
            for start in range(0, blocks, CHUNK_BLOCKS):
                f.write(make(rng, min(CHUNK_BLOCKS, blocks - start)).tobytes())
        done += nbytes(shape, t)
        if time.time() - last > 5:
            print(f"  {path.name}: {done / total:5.1%}", flush=True)
            last = time.time()
    f.write(b"\0" * (-f.tell() % ALIGN))
    w.tensors = [{}]  # written above, not through the writer
    w.close()


def check(path: Path, s: Spec) -> None:
    """Reads the file back: shapes and encodings as planned, a few blocks of each encoding
    dequantised by gguf-py, finite and of the intended size."""
    r = gguf.GGUFReader(str(path))
    plan = {n: (sh, t) for n, sh, t in tensor_plan(s)}
    assert len(r.tensors) == len(plan), (len(r.tensors), len(plan))
    seen = {}
    for t in r.tensors:
        shape, enc = plan[t.name]
        assert t.tensor_type == enc, (t.name, t.tensor_type, enc)
        assert tuple(int(x) for x in reversed(t.shape)) == shape, (t.name, t.shape, shape)
        if enc != QT.F32 and enc not in seen:
            raw = np.asarray(t.data).reshape(-1)[: 64 * BLOCK_BYTES[enc]]
            w = gguf.quants.dequantize(raw, enc).reshape(-1)
            assert np.all(np.isfinite(w)), t.name
            seen[enc] = (t.name, float(w.mean()), float(w.std()), float(np.abs(w).max()))
    for enc, (name, mean, std, mx) in seen.items():
        print(f"  {enc.name}: {name} first 64 blocks: mean {mean:+.4f} std {std:.4f} max |w| {mx:.3f}")
        assert abs(mean) < 0.01 and 0.01 < std < 0.04, "weights out of the intended range"
    counts: dict[str, int] = {}
    for _, (sh, t) in plan.items():
        counts[t.name] = counts.get(t.name, 0) + 1
    print("  tensors: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models/bench", help="output folder (default models/bench)")
    ap.add_argument("--only", action="append", choices=list(MODELS), help="write only this model (repeatable)")
    ap.add_argument("--force", action="store_true", help="rewrite files that exist")
    ap.add_argument("--no-check", action="store_true", help="skip reading each file back")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, (key, s) in enumerate(MODELS.items()):
        if args.only and key not in args.only:
            continue
        path = out / f"{key}.Q4_K_M.gguf"
        size = sum(nbytes(sh, t) for _, sh, t in tensor_plan(s))
        if path.exists() and not args.force and path.stat().st_size >= size:
            print(f"{path}: exists ({path.stat().st_size / 1e9:.2f} GB), kept (--force rewrites)")
            continue
        free = shutil.disk_usage(out).free
        if free < size + (2 << 30):
            print(f"{path}: skipped, needs {size / 1e9:.1f} GB and the disk has {free / 1e9:.1f} GB free "
                  "(keeping 2 GiB spare)")
            continue
        t0 = time.time()
        print(f"{path}: writing {size / 1e9:.2f} GB of tensor data ...", flush=True)
        tmp = path.with_suffix(".gguf.part")
        try:
            write_model(s, tmp, seed=1000 + i)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        print(f"  written in {time.time() - t0:.1f} s, {path.stat().st_size / 1e9:.3f} GB")
        if not args.no_check:
            check(path, s)


if __name__ == "__main__":
    main()
