#!/usr/bin/env bash
# Tokens per second of `gim generate` with and without the KV cache.
#   scripts/bench/generate.sh [TOKENS] [MODEL]      (defaults: 256, the default model)
# Greedy, EOS ignored so every run generates TOKENS tokens; the time includes the prompt's prefill.
# Builds the release binary first ($GIM overrides which binary runs). Run on a quiet machine: the numbers are wall-clock.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOKENS="${1:-256}"
MODEL="${2:-${GIM_MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}}"
PROMPT="The history of the printing press begins"
swift build -c release --product gim >/dev/null
GIM="${GIM:-$(swift build -c release --show-bin-path)/gim}"
rate() {
  "$GIM" generate --model "$MODEL" --prompt "$PROMPT" --max-tokens "$TOKENS" --ignore-eos --json "$@" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(f"{len(d[\"generated_ids\"])} tokens, {d[\"tokens_per_second\"]:.1f} tokens/s, {d[\"ms_per_token\"]:.1f} ms/token, kv_cache={d[\"kv_cache\"]}")'
}
echo "gim generate, $TOKENS tokens, $(basename "$MODEL"):"
echo "  with KV cache:    $(rate)"
echo "  without KV cache: $(rate --no-kv-cache)"
