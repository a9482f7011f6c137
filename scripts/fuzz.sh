#!/usr/bin/env bash
# Fuzzes the GGUF reader and the tokenizer with libFuzzer (+ AddressSanitizer) for a fixed time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET=600] [TARGET...]   targets: gguf tokenizer
# Seeds: Tests/Fuzz/corpus/<target>/ (regenerate with scripts/fuzz/make_seed_corpus.py).
# Inputs that crash are saved to Tests/Fuzz/crashes/<target>/: fix the bug, keep the file; the
# test suite replays every seed and saved crash through the same code (scripts/test.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-600}"; shift || true
targets=("${@:-gguf tokenizer}")
read -r -a targets <<< "${targets[*]}"

scratch=.build-fuzz
swift build --scratch-path "$scratch" -c debug --product fuzz-gguf \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
swift build --scratch-path "$scratch" -c debug --product fuzz-tokenizer \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
bin="$(swift build --scratch-path "$scratch" -c debug --show-bin-path)"

for t in "${targets[@]}"; do
  work="$scratch/corpus-$t"
  mkdir -p "$work" "Tests/Fuzz/crashes/$t"
  echo "fuzzing $t for ${seconds}s (working corpus $work)"
  "$bin/fuzz-$t" "$work" "Tests/Fuzz/corpus/$t" -max_total_time="$seconds" -max_len=200000 \
    -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 -artifact_prefix="Tests/Fuzz/crashes/$t/" 2>&1 \
    | grep -E "^#[0-9]+.*(pulse|DONE)|stat::|ERROR|SUMMARY|Done|Fatal|deadly|Test unit written" || true
done
