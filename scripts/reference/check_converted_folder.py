"""Checks a folder written by `gim convert` with transformers and tokenizers.

    gim convert --model models/SmolLM2-135M-Instruct.Q4_1.gguf --out /tmp/smollm2-hf
    .venv/bin/python scripts/reference/check_converted_folder.py /tmp/smollm2-hf \
        [--gguf models/SmolLM2-135M-Instruct.Q4_1.gguf] [--gim .build/debug/gim]

1. transformers loads the folder (AutoModelForCausalLM, AutoTokenizer) in float32;
2. its logits on a few prompts are compared with transformers' own load of the GGUF (which
   dequantizes and un-permutes q/k itself): the two paths must agree;
3. the tokenizer.json is compared with the golden SmolLM2 ids of
   Tests/GIMEngineTests/Fixtures/tokenizer_smollm2.json (Python `tokenizers` and AutoTokenizer);
4. with --gim, `gim predict --json --model FOLDER` is compared with the folder's logits.
Prints the maximum differences; exits non-zero if a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "<|im_start|>user\nWhat is 12 + 30?<|im_end|>\n<|im_start|>assistant\n",
    "Zoë's café serves",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--gguf", default=os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--gim", default=None, help="path of a gim executable to compare with")
    args = ap.parse_args()
    torch.set_num_threads(2)
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ok = True
    folder_model = AutoModelForCausalLM.from_pretrained(args.folder, dtype=torch.float32).eval()
    folder_tok = AutoTokenizer.from_pretrained(args.folder)
    raw_tok = Tokenizer.from_file(os.path.join(args.folder, "tokenizer.json"))
    print(f"transformers loaded {args.folder}: {type(folder_model).__name__}, "
          f"rope {folder_model.config.rope_parameters}, tokenizer {type(folder_tok).__name__}")

    # Tokenizer vs the golden ids.
    fx = json.load(open(os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "tokenizer_smollm2.json")))
    bad_raw = [c["text"] for c in fx["cases"] if raw_tok.encode(c["text"], add_special_tokens=False).ids != c["ids"]]
    bad_auto = [c["text"] for c in fx["cases"] if folder_tok.encode(c["text"], add_special_tokens=False) != c["ids"]]
    print(f"tokenizer.json vs golden SmolLM2 ids: tokenizers {len(fx['cases']) - len(bad_raw)}/{len(fx['cases'])}, "
          f"AutoTokenizer {len(fx['cases']) - len(bad_auto)}/{len(fx['cases'])}")
    ok &= not bad_raw
    if bad_auto:
        print(f"  AutoTokenizer differs on {bad_auto[:5]}")

    # Logits: the folder vs transformers' own GGUF loading.
    gguf_model = None
    if os.path.exists(args.gguf):
        gguf_model = AutoModelForCausalLM.from_pretrained(os.path.dirname(args.gguf), gguf_file=os.path.basename(args.gguf),
                                                          dtype=torch.float32).eval()
    worst = 0.0
    folder_logits = {}
    for p in PROMPTS:
        ids = raw_tok.encode(p, add_special_tokens=False).ids
        with torch.no_grad():
            a = folder_model(torch.tensor([ids])).logits[0, -1]
        folder_logits[p] = (ids, a)
        if gguf_model is not None:
            with torch.no_grad():
                b = gguf_model(torch.tensor([ids])).logits[0, -1]
            d = float((a - b).abs().max())
            worst = max(worst, d)
            print(f"  {p[:40]!r:44} argmax {int(a.argmax())} / {int(b.argmax())}, max |folder - gguf| {d:.2e} "
                  f"(logits up to {float(b.abs().max()):.1f})")
    if gguf_model is not None:
        print(f"transformers: converted folder vs GGUF, last-position logits max abs diff {worst:.2e}")
        ok &= worst < 1e-3

    # The Swift engine on the folder.
    if args.gim:
        worst_gim = 0.0
        for p, (ids, a) in folder_logits.items():
            out = subprocess.run([args.gim, "predict", "--model", args.folder, "--token-ids", ",".join(map(str, ids)),
                                  "--top-k", "20", "--json"], check=True, capture_output=True, text=True).stdout
            for n in json.loads(out)["next"]:
                worst_gim = max(worst_gim, abs(n["logit"] - float(a[n["id"]])))
        print(f"gim predict --model FOLDER vs transformers on the folder: top-20 logits max abs diff {worst_gim:.2e}")
        ok &= worst_gim < 1e-3
    print("ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
