"""Writes the fuzzers' seed corpus (Tests/Fuzz/corpus/): a few tiny but complete Llama GGUF
files with tokenizer metadata, one per weight encoding, written with gguf-py; and text seeds
for the tokenizer taken from the tokenizer fixture.

Run: .venv/bin/python scripts/fuzz/make_seed_corpus.py
"""
import json, pathlib
import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize

root = pathlib.Path(__file__).resolve().parents[2]
out = root / "Tests/Fuzz/corpus"
rng = np.random.default_rng(7)

# A byte-level BPE vocabulary: the 256 byte symbols plus a few merges.
byte_symbols = []
n = 0
for b in range(256):
    if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255:
        byte_symbols.append(chr(b))
    else:
        byte_symbols.append(chr(256 + n)); n += 1
merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a"]
tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + byte_symbols + ["Ġt", "he", "Ġthe", "in", "Ġa"]
types = [3, 3, 3] + [1] * (len(tokens) - 3)

dim, ffn, layers, heads, kv = 32, 64, 1, 4, 2
vocab = len(tokens)


def write(name, qtype):
    w = gguf.GGUFWriter(str(out / "gguf" / name), "llama")
    w.add_block_count(layers); w.add_context_length(64); w.add_embedding_length(dim)
    w.add_feed_forward_length(ffn); w.add_head_count(heads); w.add_head_count_kv(kv)
    w.add_rope_freq_base(10000.0); w.add_layer_norm_rms_eps(1e-5); w.add_rope_dimension_count(dim // heads)
    w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("smollm"); w.add_token_list(tokens)
    w.add_token_types(types); w.add_token_merges(merges)
    w.add_bos_token_id(0); w.add_eos_token_id(0); w.add_add_bos_token(False)

    def tensor(tname, shape, q):
        data = rng.normal(size=shape).astype(np.float32) * 0.3
        if q == Q.F32:
            w.add_tensor(tname, data)
        elif q == Q.F16:
            w.add_tensor(tname, data.astype(np.float16))
        else:
            w.add_tensor(tname, quantize(data, q), raw_dtype=q)

    tensor("token_embd.weight", (vocab, dim), Q.F32 if qtype in (Q.Q4_K, Q.Q6_K) else qtype)
    tensor("output_norm.weight", (dim,), Q.F32)
    for i in range(layers):
        p = f"blk.{i}."
        tensor(p + "attn_norm.weight", (dim,), Q.F32)
        tensor(p + "ffn_norm.weight", (dim,), Q.F32)
        hd = dim // heads
        # K-quants need rows of 256 values: use them only where the row length allows.
        mq = qtype if qtype not in (Q.Q4_K, Q.Q6_K) else Q.F32
        tensor(p + "attn_q.weight", (heads * hd, dim), mq)
        tensor(p + "attn_k.weight", (kv * hd, dim), mq)
        tensor(p + "attn_v.weight", (kv * hd, dim), mq)
        tensor(p + "attn_output.weight", (dim, heads * hd), mq)
        tensor(p + "ffn_gate.weight", (ffn, dim), mq)
        tensor(p + "ffn_up.weight", (ffn, dim), mq)
        tensor(p + "ffn_down.weight", (dim, ffn), mq)
    if qtype in (Q.Q4_K, Q.Q6_K):
        # gguf-py cannot quantize K-types: random blocks with small finite f16 scales.
        size = gguf.GGML_QUANT_SIZES[qtype][1]
        raw = bytearray(rng.integers(0, 256, 2 * size, dtype=np.uint8).tobytes())
        for b in range(2):
            at = b * size + (0 if qtype == Q.Q4_K else size - 2)
            raw[at:at + 2] = np.array([0.01], dtype=np.float16).tobytes()
            if qtype == Q.Q4_K:
                raw[at + 2:at + 4] = np.array([0.01], dtype=np.float16).tobytes()
        w.add_tensor("extra.weight", np.frombuffer(bytes(raw), dtype=np.uint8).reshape(2, size), raw_dtype=qtype)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


(out / "gguf").mkdir(parents=True, exist_ok=True)
for q in (Q.F32, Q.F16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q4_K, Q.Q6_K):
    write(f"tiny-llama-{q.name.lower()}.gguf", q)

(out / "tokenizer").mkdir(parents=True, exist_ok=True)
cases = json.load(open(root / "Tests/GIMEngineTests/Fixtures/tokenizer_smollm2.json"))["cases"]
for i, c in enumerate(cases[:40]):
    (out / "tokenizer" / f"seed-{i:02d}.txt").write_bytes(c["text"].encode("utf-8"))
print("seed corpus written to", out)
