"""Writes Tests/GIMEngineTests/Fixtures/dequant_blocks.json: blocks of every GGUF encoding the
engine decodes, with their Float32 values as dequantized by the `gguf` Python package
(`gguf.quants.dequantize`, llama.cpp's own reference implementation in Python), and gguf-py's
table of block sizes (`GGML_QUANT_SIZES`) for every type it knows.

Per type there are three cases:
- "random-1" and "random-3": random bytes with random finite scales of either sign;
- "edges": one block per scale in EDGE_SCALES (zero, minus zero, negative, the smallest and
  largest f16 subnormals of both signs, the smallest normal, the largest f16), each given a
  scale of that value wherever the type has one (also mins/offsets: Q4_1, Q5_1, Q2_K, Q4_K,
  Q5_K). Block 0's quant bytes are 0x00, 0x11, ..., 0xFF repeated, so every nibble value
  meets every position; k-quants' packed scale bytes are 0xFF in block 1 (every 6-bit scale
  and min at 63), 0x00 in block 2, 0x3F/0xC0/0x0F/0xF0 patterns in blocks 3..6 (each packing
  half alone), and random elsewhere.
Values are stored as little-endian Float32 hex ("values_hex"), so the test can compare bits.

Run: .venv/bin/python scripts/reference/make_dequant_fixtures.py
"""
import importlib.metadata, json, pathlib
import numpy as np
from gguf import GGMLQuantizationType as Q, GGML_QUANT_SIZES
from gguf.quants import dequantize

rng = np.random.default_rng(2025)

TYPES = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1,
         Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.IQ4_NL, Q.IQ4_XS]

# f16 bit patterns: 0, -0, -1.5, +min subnormal, -min subnormal, max subnormal, min normal,
# 65504 (largest f16), -0.03125, 1.0
EDGE_SCALES = [0x0000, 0x8000, 0xBE00, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xA800, 0x3C00]

# Byte offsets of each type's f16 scales: "d" fields (multipliers) and "m" fields (offsets/mins).
SCALES = {
    Q.Q8_0: ([0], []), Q.Q4_0: ([0], []), Q.Q4_1: ([0], [2]), Q.Q5_0: ([0], []), Q.Q5_1: ([0], [2]),
    Q.Q2_K: ([80], [82]), Q.Q3_K: ([108], []), Q.Q4_K: ([0], [2]), Q.Q5_K: ([0], [2]),
    Q.Q6_K: ([208], []), Q.IQ4_NL: ([0], []), Q.IQ4_XS: ([0], []),
}
# Byte ranges of packed sub-block scales (k-quants and IQ4_XS).
PACKED = {Q.Q2_K: (0, 16), Q.Q3_K: (96, 108), Q.Q4_K: (4, 16), Q.Q5_K: (4, 16), Q.Q6_K: (192, 208),
          Q.IQ4_XS: (2, 8)}
# Byte ranges of quant values (bits that index levels).
QUANTS = {Q.Q8_0: [(2, 34)], Q.Q4_0: [(2, 18)], Q.Q4_1: [(4, 20)], Q.Q5_0: [(2, 22)], Q.Q5_1: [(4, 24)],
          Q.Q2_K: [(16, 80)], Q.Q3_K: [(0, 96)], Q.Q4_K: [(16, 144)], Q.Q5_K: [(16, 176)],
          Q.Q6_K: [(0, 192)], Q.IQ4_NL: [(2, 18)], Q.IQ4_XS: [(8, 136)]}


def f16_bytes(x):
    return np.array([x], dtype=np.float16).tobytes()


def f16_bits(bits):
    return np.array([bits], dtype=np.uint16).tobytes()


def random_case(qt, n_blocks):
    block, size = GGML_QUANT_SIZES[qt]
    raw = bytearray(rng.integers(0, 256, size * n_blocks, dtype=np.uint8).tobytes())
    for b in range(n_blocks):
        o = b * size
        if qt == Q.F32:
            raw[o:o + 4] = np.array([rng.normal()], dtype=np.float32).tobytes()
        elif qt == Q.F16:
            raw[o:o + 2] = f16_bytes(rng.normal())
        elif qt == Q.BF16:
            raw[o:o + 2] = (np.array([rng.normal()], dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
        else:
            ds, ms = SCALES[qt]
            for at in ds:
                raw[o + at:o + at + 2] = f16_bytes(rng.uniform(-0.1, 0.1))
            for at in ms:
                raw[o + at:o + at + 2] = f16_bytes(rng.uniform(-1, 1))
    return raw


def edge_case(qt):
    block, size = GGML_QUANT_SIZES[qt]
    if qt in (Q.F32, Q.F16, Q.BF16):
        # Every f16 / bf16 class: zeros, subnormals, normals, infinities (no NaN: JSON-free but
        # NaN payloads are not the point here); f32 the same values widened.
        bits = EDGE_SCALES + [0x7C00, 0xFC00, 0x0200, 0x8200, 0x7BFF, 0xFBFF]
        if qt == Q.F16:
            return bytearray(np.array(bits, dtype=np.uint16).tobytes())
        if qt == Q.BF16:
            return bytearray(np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0080, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x3F80, 0xBFC0],
                                      dtype=np.uint16).tobytes())
        return bytearray(np.array(bits, dtype=np.uint16).view(np.float16).astype(np.float32).tobytes()
                         + np.array([1e-45, -1e-45, 3.4e38], dtype=np.float32).tobytes())
    n_blocks = len(EDGE_SCALES)
    raw = bytearray(rng.integers(0, 256, size * n_blocks, dtype=np.uint8).tobytes())
    ds, ms = SCALES[qt]
    for b, bits in enumerate(EDGE_SCALES):
        o = b * size
        for at in ds:
            raw[o + at:o + at + 2] = f16_bits(bits)
        for at in ms:  # the mins take the next edge value, so d and m edges are mixed
            raw[o + at:o + at + 2] = f16_bits(EDGE_SCALES[(b + 3) % n_blocks])
        if b == 0:
            for lo, hi in QUANTS[qt]:
                for k in range(lo, hi):
                    raw[o + k] = (0x11 * (k - lo)) & 0xFF
        if qt in PACKED:
            lo, hi = PACKED[qt]
            fill = {1: 0xFF, 2: 0x00, 3: 0x3F, 4: 0xC0, 5: 0x0F, 6: 0xF0}.get(b)
            if fill is not None:
                raw[o + lo:o + hi] = bytes([fill]) * (hi - lo)
                if qt == Q.Q6_K:  # signed 8-bit scales: also the extremes
                    raw[o + lo:o + lo + 2] = bytes([0x80, 0x7F])
    return raw


out = {"source": "gguf-py " + importlib.metadata.version("gguf"),
       "sizes": {t.name: [int(t.value), *map(int, GGML_QUANT_SIZES[t])] for t in Q if t in GGML_QUANT_SIZES},
       "cases": []}
with np.errstate(over="ignore", invalid="ignore"):
    for qt in TYPES:
        block, size = GGML_QUANT_SIZES[qt]
        for label, raw in (("random-1", random_case(qt, 1)), ("random-3", random_case(qt, 3)), ("edges", edge_case(qt))):
            data = np.frombuffer(bytes(raw), dtype=np.uint8)
            values = dequantize(data, qt).astype(np.float32).reshape(-1)
            assert values.size * size == len(raw) * block
            if qt not in (Q.F32, Q.F16, Q.BF16):
                assert np.all(np.isfinite(values)), (qt.name, label)
            out["cases"].append({"type": qt.name, "case": label, "blocks": len(raw) // size, "hex": bytes(raw).hex(),
                                 "values_hex": values.astype("<f4").tobytes().hex()})

path = pathlib.Path(__file__).resolve().parents[2] / "Tests/GIMEngineTests/Fixtures/dequant_blocks.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(out))
print("wrote", path, path.stat().st_size, "bytes;",
      ", ".join(f"{t.name} {sum(c['blocks'] for c in out['cases'] if c['type'] == t.name)}" for t in TYPES), "blocks")

# A fuzz seed holding one tensor per decoded type (the "random-3" blocks as a [block, 3] matrix),
# so fuzzing mutates every decoder's input: Tests/Fuzz/corpus/gguf/every-type.gguf.
from gguf import GGUFWriter
seed = path.parents[2] / "Fuzz/corpus/gguf/every-type.gguf"
w = GGUFWriter(str(seed), arch="none")
for c in out["cases"]:
    if c["case"] == "random-3":
        qt = Q[c["type"]]
        block, size = GGML_QUANT_SIZES[qt]
        data = np.frombuffer(bytes.fromhex(c["hex"]), dtype=np.uint8).reshape(3, size)
        w.add_tensor("t." + qt.name, data, raw_dtype=qt)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
print("wrote", seed, seed.stat().st_size, "bytes")
