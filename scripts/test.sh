#!/usr/bin/env bash
# The whole test suite: unit, parity and snapshot tests (swift test), then the end-to-end
# tests of the real binary (Tests/e2e/*.sh). Needs scripts/setup.sh to have run once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

swift build -c release
gim="$(swift build -c release --show-bin-path)/gim"
swift test
# Replay the fuzzers' seeds and every saved crash input through the same code.
"$(dirname "$gim")/fuzz-gguf" Tests/Fuzz/corpus/gguf Tests/Fuzz/crashes/gguf
"$(dirname "$gim")/fuzz-tokenizer" Tests/Fuzz/corpus/tokenizer Tests/Fuzz/crashes/tokenizer
for t in safetensors config tokenizer-json theme prompts input; do
  "$(dirname "$gim")/fuzz-$t" "Tests/Fuzz/corpus/$t" "Tests/Fuzz/crashes/$t"
done
for e2e in Tests/e2e/*.sh; do
  [[ -f "$e2e" ]] || continue
  bash "$e2e" "$gim"
done
