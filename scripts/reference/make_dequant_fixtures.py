"""Writes Tests/GIMEngineTests/Fixtures/dequant_blocks.json: random blocks of each quantized
GGUF type and their Float32 values as dequantized by the `gguf` Python package (llama.cpp's own
reference implementation in Python). Scales are set to sane finite f16 values.

Run: /work/venv/bin/python scripts/reference/make_dequant_fixtures.py
"""
import json, pathlib
import numpy as np
from gguf import GGMLQuantizationType as Q, GGML_QUANT_SIZES
from gguf.quants import dequantize

rng = np.random.default_rng(2025)
out = {"source": "gguf-py " + __import__("gguf").__version__ if hasattr(__import__("gguf"), "__version__") else "gguf-py", "cases": []}

def f16_bytes(x):
    return np.array([x], dtype=np.float16).tobytes()

for qt in [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q4_K, Q.Q6_K]:
    block, size = GGML_QUANT_SIZES[qt]
    for n_blocks in (1, 3):
        raw = bytearray(rng.integers(0, 256, size * n_blocks, dtype=np.uint8).tobytes())
        for b in range(n_blocks):
            o = b * size
            if qt == Q.F32:
                raw[o:o + 4] = np.array([rng.normal()], dtype=np.float32).tobytes()
            elif qt == Q.F16:
                raw[o:o + 2] = f16_bytes(rng.normal())
            elif qt == Q.BF16:
                raw[o:o + 2] = (np.array([rng.normal()], dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
            elif qt in (Q.Q8_0, Q.Q4_0):
                raw[o:o + 2] = f16_bytes(rng.uniform(0.001, 0.1))
            elif qt == Q.Q4_1:
                raw[o:o + 2] = f16_bytes(rng.uniform(0.001, 0.1))
                raw[o + 2:o + 4] = f16_bytes(rng.uniform(-1, 1))
            elif qt == Q.Q4_K:
                raw[o:o + 2] = f16_bytes(rng.uniform(0.001, 0.05))
                raw[o + 2:o + 4] = f16_bytes(rng.uniform(0.001, 0.05))
            elif qt == Q.Q6_K:
                raw[o + size - 2:o + size] = f16_bytes(rng.uniform(0.001, 0.05))
        data = np.frombuffer(bytes(raw), dtype=np.uint8)
        values = dequantize(data, qt).astype(np.float32).reshape(-1)
        assert values.size == block * n_blocks and np.all(np.isfinite(values))
        out["cases"].append({"type": qt.name, "blocks": n_blocks, "hex": bytes(raw).hex(),
                             "values": [float(v) for v in values]})

path = pathlib.Path(__file__).resolve().parents[2] / "Tests/GIMEngineTests/Fixtures/dequant_blocks.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(out))
print("wrote", path, path.stat().st_size, "bytes")
