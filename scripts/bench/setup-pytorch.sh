#!/usr/bin/env bash
# Creates the Python environment of the PyTorch comparisons: a virtual environment `.venv` at the
# repository root with torch, transformers and gguf from PyPI (what scripts/bench/bench_pytorch.py
# and the reference scripts in scripts/reference/ import). `gim bench --compare-pytorch` finds it
# there when neither --python nor $GIM_PYTHON names another Python.
#   bash scripts/bench/setup-pytorch.sh [EXTRA_PIP_PACKAGE...]
# PYTHON picks the interpreter that creates it (default python3); PIP_INDEX_URL / PIP_EXTRA_INDEX_URL
# are honoured by pip as usual (e.g. PyTorch's CPU-only wheel index, to avoid the CUDA downloads).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
python="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv || { echo "error: '$python -m venv' failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
.venv/bin/python -m pip install --upgrade pip
.venv/bin/python -m pip install torch transformers gguf numpy "$@"
.venv/bin/python -c "import torch, transformers, gguf; print('torch', torch.__version__, '· transformers', transformers.__version__, '· gguf ok')"
echo "ready: gim bench --compare-pytorch uses $(pwd)/.venv/bin/python"
