#!/usr/bin/env bash
# Installs lxt 2.1 and the transformers it runs on (4.52.4) into .pydeps-lxt/ (gitignored), beside
# the project's venv, without touching the venv's own packages.
#
#   bash scripts/reference/setup-lxt.sh            # uses .venv/bin/python, or $PYTHON
#
# Why a separate folder: lxt 2.1 does not run on transformers 5.x (it imports helpers 5.x removed
# and replaces the attention registry with a plain dict), and the project's venv has 5.x. The lxt
# runs put this folder first on PYTHONPATH (make_method_fixtures.py does that for its lxt stages
# only); everything else keeps the venv's transformers.
#
# --no-deps everywhere: torch, numpy, safetensors, gguf, sentencepiece, protobuf come from the venv.
# The pins are what transformers 4.52.4 accepts (tokenizers <0.22, huggingface-hub <1.0).
# torchvision: lxt.efficient.models imports its ViT patch module, which imports
# torchvision.models.vision_transformer (and torchvision's datasets import PIL); nothing of it runs.
# zennit: only lxt.efficient.zennit_patches needs it; installed so that `import lxt.efficient` works.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
TARGET="${LXT_DEPS:-.pydeps-lxt}"
mkdir -p "$TARGET"
"$PYTHON" -m pip install --no-deps --target "$TARGET" \
    "transformers==4.52.4" "tokenizers>=0.21,<0.22" "huggingface-hub>=0.30,<1.0" \
    "lxt==2.1" "zennit==0.5.1" torchvision pillow
PYTHONPATH="$TARGET" "$PYTHON" -c '
import torch, transformers, lxt.efficient, torchvision
from importlib.metadata import version
print("torch", torch.__version__, "torchvision", torchvision.__version__,
      "transformers", transformers.__version__, "lxt", version("lxt"))'
