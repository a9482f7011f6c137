#!/usr/bin/env bash
# Soak test of the explorer: drives the real `gim explore` on the default model in tmux for
# MINUTES (default 10) with random typing, pastes up to the prompt limit, knob storms (hundreds
# of keys a second), target/position changes, view and theme switches, exports, help and
# resizes, sampling RSS and CPU every second from /proc (scripts/soak/driver.py does the work).
#   scripts/soak.sh [MINUTES]
# Passes when the explorer never dies, answers a help probe every 30 s, quits with F10 and
# status 0, restores the terminal (stty -a unchanged, normal screen, cursor visible), and its
# RSS after a 2-minute warm-up grows less than 5%. Prints a summary table; the samples go to
# $GIM_SOAK_CSV (default .build-soak/soak-<time>.csv).
# Environment: GIM_SOAK_BIN=path/to/gim skips the build (default: build .build/release/gim);
# GIM_SOAK_SEED=N repeats a run's key sequence; GIM_MODEL picks another model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
minutes="${1:-10}"

model="${GIM_MODEL:-$PWD/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
if [[ ! -f "$model" ]]; then
  echo "the default model is missing; running scripts/setup.sh"
  bash scripts/setup.sh
fi
command -v tmux >/dev/null || { echo "tmux is not installed (scripts/setup.sh installs it)"; exit 2; }

gim="${GIM_SOAK_BIN:-}"
if [[ -z "$gim" ]]; then
  swift build -c release --product gim
  gim="$(swift build -c release --show-bin-path)/gim"
fi
mkdir -p .build-soak
csv="${GIM_SOAK_CSV:-.build-soak/soak-$(date +%Y%m%d-%H%M%S).csv}"
seed=()
[[ -n "${GIM_SOAK_SEED:-}" ]] && seed=(--seed "$GIM_SOAK_SEED")
exec python3 scripts/soak/driver.py --gim "$gim" --model "$model" --minutes "$minutes" --csv "$csv" "${seed[@]}"
