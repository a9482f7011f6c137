#!/usr/bin/env bash
# The test suite under sanitizers, C kernels included:
#   scripts/sanitize.sh [tsan|asan|all] [swift test arguments, e.g. --filter WorkerConcurrencyTests]
# tsan: ThreadSanitizer (scratch .build-tsan): data races in Swift and in CKernels (the thread
#       pool's atomics are understood; OpenBLAS is not instrumented, see sanitizers/tsan.supp).
# asan: AddressSanitizer + UndefinedBehaviorSanitizer (scratch .build-asan). Swift on Linux has
#       no -sanitize=undefined, so UBSan covers the C and C++ code only (-Xcc -fsanitize=undefined;
#       its handlers are in the ASan runtime); ASan covers Swift, C and C++.
# Each mode runs `swift test` (debug build), then replays every fuzzer's seeds and saved crash
# inputs through the same sanitized code. Any report fails the run (exit status non-zero).
# Timings on the 2-core development machine: README, "Sanitizers".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode="${1:-all}"; shift || true
here="$PWD/scripts/sanitizers"
fuzzers=(gguf tokenizer safetensors config tokenizer-json theme prompts input)

# run MODE SCRATCH FLAGS...: build and run the tests and the fuzz replays with FLAGS.
run() {
  local name="$1" scratch="$2"; shift 2
  local start=$SECONDS
  echo "== $name: building (scratch $scratch)"
  swift build --build-tests --scratch-path "$scratch" "$@"
  echo "== $name: swift test"
  swift test --skip-build --scratch-path "$scratch" "$@" "${test_args[@]}"
  if [[ ${#test_args[@]} == 0 ]]; then
    local bin; bin="$(swift build --scratch-path "$scratch" "$@" --show-bin-path)"
    for t in "${fuzzers[@]}"; do
      [[ -x "$bin/fuzz-$t" ]] || { echo "fuzz-$t was not built"; exit 1; }
      echo "== $name: replaying Tests/Fuzz/corpus/$t and crashes/$t"
      "$bin/fuzz-$t" "Tests/Fuzz/corpus/$t" "Tests/Fuzz/crashes/$t"
    done
  fi
  echo "== $name: clean in $((SECONDS - start)) s"
}
test_args=("$@")

# Reports go to stderr; a report makes the process exit non-zero (TSan: 66 at exit, after all
# reports; ASan: at the first error; UBSan: halt_on_error).
export TSAN_OPTIONS="suppressions=$here/tsan.supp second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="detect_leaks=1 strict_string_checks=1 detect_stack_use_after_return=1 check_initialization_order=1 ${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$here/lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="suppressions=$here/ubsan.supp print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"

case "$mode" in
  tsan) run tsan .build-tsan --sanitize=thread ;;
  asan) run asan .build-asan --sanitize=address -Xcc -fsanitize=undefined ;;
  all)
    run tsan .build-tsan --sanitize=thread
    run asan .build-asan --sanitize=address -Xcc -fsanitize=undefined ;;
  *) echo "usage: $0 [tsan|asan|all] [swift test arguments]"; exit 2 ;;
esac
