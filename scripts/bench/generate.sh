#!/usr/bin/env bash
# Tokens per second of `gim generate` with and without the KV cache.
#   scripts/bench/generate.sh [TOKENS] [MODEL]      (defaults: 256, the default model)
# Greedy, EOS ignored so every run generates TOKENS tokens (fewer when the model's context ends
# first: tiny test models); the time includes the prompt's prefill. Each mode runs $RUNS times
# (default 3) and the median is reported with every run, next to the load average before and
# after (the numbers are wall-clock, so a loaded machine lowers them). $PROMPT overrides the prompt.
# Builds the release binary first ($GIM overrides which binary runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
TOKENS="${1:-256}"
MODEL="${2:-${GIM_MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}}"
PROMPT="${PROMPT:-The history of the printing press begins}"
RUNS="${RUNS:-3}"
if [ -z "${GIM:-}" ]; then
  swift build -c release --product gim >/dev/null
  GIM="$(swift build -c release --show-bin-path)/gim"
fi
# One run: "tokens/s generated kv_cache".
run() {
  "$GIM" generate --model "$MODEL" --prompt "$PROMPT" --max-tokens "$TOKENS" --ignore-eos --json "$@" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["tokens_per_second"], len(d["generated_ids"]), d["kv_cache"])'
}
# RUNS runs of one mode, then the median and every run.
mode() {
  local label="$1"; shift
  local rates=() line n kv
  for _ in $(seq "$RUNS"); do
    line="$(run "$@")"
    read -r rate n kv <<<"$line"
    rates+=("$rate")
  done
  python3 - "$label" "$n" "$kv" "${rates[@]}" <<'PY'
import statistics, sys
label, n, kv, rates = sys.argv[1], sys.argv[2], sys.argv[3], [float(r) for r in sys.argv[4:]]
runs = ", ".join(f"{r:.1f}" for r in rates)
print(f"  {label}: median {statistics.median(rates):.1f} tokens/s over {len(rates)} runs ({runs}); {n} tokens, kv_cache={kv}")
PY
}
echo "gim generate, $TOKENS tokens, $(basename "$MODEL"), prompt \"$PROMPT\":"
echo "  load before: $(uptime | sed 's/.*load average: //')"
mode "with KV cache   "
mode "without KV cache" --no-kv-cache
echo "  load after:  $(uptime | sed 's/.*load average: //')"
