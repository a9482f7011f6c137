#!/usr/bin/env bash
# Fuzzes the readers of every file and stream gim takes with libFuzzer (+ AddressSanitizer) for a
# fixed time per target.
#   scripts/fuzz.sh [SECONDS_PER_TARGET=600] [TARGET...]
# Targets (Sources/fuzz-<target>): gguf tokenizer safetensors config tokenizer-json theme prompts
# input; default: all of them, one after another. GIM_FUZZ_SCRATCH sets the build folder
# (default .build-fuzz).
# Seeds: Tests/Fuzz/corpus/<target>/ (regenerate with scripts/fuzz/make_seed_corpus.py for gguf and
# tokenizer, scripts/fuzz/make_parser_seeds.py for the others).
# Inputs that crash are saved to Tests/Fuzz/crashes/<target>/: fix the bug, keep the file; the
# test suite replays every seed and saved crash through the same code (scripts/test.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-600}"; shift || true
all=(gguf tokenizer safetensors config tokenizer-json theme prompts input)
targets=("${@:-${all[*]}}")
read -r -a targets <<< "${targets[*]}"
# Longest input per target: whole small model files for the binary formats, less for text.
declare -A max_len=([gguf]=200000 [tokenizer]=200000 [safetensors]=200000 [config]=16384
                    [tokenizer-json]=65536 [theme]=16384 [prompts]=16384 [input]=8192)
# TOMLKit (the theme reader's TOML library) leaks on every parse: TOMLTable.keys never frees the
# array tableGetKeys mallocs, and TOMLTable(string:) never frees its error buffer (about 1 KB per
# theme file; themes are read once at start). LeakSanitizer would stop the theme target on the
# first input (and report at exit), so it is off there; crashes and memory errors are still caught.
declare -A asan=([theme]="detect_leaks=0")

# LeakSanitizer's suppressions (each with its reason) are the sanitizer script's.
export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}"

scratch="${GIM_FUZZ_SCRATCH:-.build-fuzz}"
for t in "${targets[@]}"; do
  [[ -n "${max_len[$t]:-}" ]] || { echo "unknown fuzz target '$t' (targets: ${all[*]})" >&2; exit 2; }
  swift build --scratch-path "$scratch" -c debug --product "fuzz-$t" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
done
bin="$(swift build --scratch-path "$scratch" -c debug --show-bin-path)"

for t in "${targets[@]}"; do
  work="$scratch/corpus-$t"
  mkdir -p "$work" "Tests/Fuzz/crashes/$t"
  echo "fuzzing $t for ${seconds}s (working corpus $work)"
  ASAN_OPTIONS="${asan[$t]:-${ASAN_OPTIONS:-}}" "$bin/fuzz-$t" "$work" "Tests/Fuzz/corpus/$t" -max_total_time="$seconds" \
    -max_len="${max_len[$t]}" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 -artifact_prefix="Tests/Fuzz/crashes/$t/" 2>&1 \
    | grep -E "^#[0-9]+.*(pulse|DONE)|stat::|ERROR|SUMMARY|Done|Fatal|deadly|Test unit written" || true
done
