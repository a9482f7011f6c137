#!/usr/bin/env bash
# End-to-end test of the explorer's continuation features on SmolLM2-Instruct, in tmux:
# generate (streamed, greedy), walk the generated tokens (in every pane: a third method pane
# joins the walk), the matrix view and its export,
# teacher forcing, the words toggle and chat mode with its special tokens.
# Builds nothing. Usage: Tests/e2e/explorer_generation_tmux.sh PATH/TO/gim
set -uo pipefail
gim="$(realpath "${1:?usage: $0 PATH/TO/gim}")"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
model="$PWD/models/SmolLM2-135M-Instruct.Q4_1.gguf"

passed=0 failed=0
check() {  # check NAME COMMAND...: passes when the command exits 0
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
finish() { echo "$passed passed, $failed failed"; [[ $failed == 0 ]]; exit $?; }

if ! command -v tmux >/dev/null; then echo "FAIL tmux is not installed (apt-get install tmux)"; failed=1; finish; fi
if [[ ! -f "$model" ]]; then echo "FAIL the default model is missing (bash models/fetch.sh)"; failed=1; finish; fi

sock="gim-e2e-gen-$$"
tm() { tmux -L "$sock" -f /dev/null "$@"; }
tmp="$(mktemp -d)"
trap 'tm kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/export"

start() {
  local session="$1" w="$2" h="$3"; shift 3
  local args; printf -v args ' %q' "$@"
  tm new-session -d -s "$session" -x "$w" -y "$h" \
    "cd '$PWD'; env TERM=tmux-256color '$gim' explore --model '$model' --export-dir '$tmp/export'$args; echo \"exit=\$?\"; sleep 600"
}
screen() { tm capture-pane -p -t "${1:-e2e}"; }
keys() { tm send-keys -t e2e "$@"; }
text() { tm send-keys -t e2e -l -- "$1"; }
wait_for() {
  local pattern="$1" end=$((SECONDS + ${2:-20})) session="${3:-e2e}"
  while ((SECONDS < end)); do
    screen "$session" | grep -qE -- "$pattern" && return 0
    sleep 0.1
  done
  echo "  timed out waiting for /$pattern/; the screen was:"; screen "$session" | sed 's/^/  | /'
  return 1
}
idle() {
  local end=$((SECONDS + ${1:-30}))
  while ((SECONDS < end)); do
    local title; title="$(screen | head -1)"
    [[ "$title" == *" ms"* && "$title" != *computing* ]] && return 0
    sleep 0.1
  done
  echo "  still computing: $(screen | head -1)"; return 1
}
exited() { wait_for "^exit=[0-9]+" 10 "$1" >/dev/null; }
exit_status() { screen "$1" | sed -n 's/^exit=\([0-9]*\).*/\1/p' | head -1; }

start e2e 120 32 --prompt "The capital of France is"
check "the prompt is attributed" wait_for 'explains " Paris"' 300
idle 120 >/dev/null

# --- Generate (greedy), streamed, marked as generated ---------------------------------------------
keys Tab; text "ll"  # 24 → 16 → 8 tokens: the test machine may be slow
wait_for "≤8" 20 >/dev/null
text "n"
check "n generates: tokens stream in after the prompt (generating n/8)" wait_for "generating [0-9]+/8" 60
check "the run ends with a summary (tokens/s)" wait_for "generated [0-9]+ tokens? \(stop: [a-z-]+\) · [0-9.]+ tokens/s" 300
check "the first generated token is explained" wait_for 'generated 1/[0-9]+ explains " Paris"' 60
check "generated tokens are marked ╘══╛ under them" wait_for "╘═+╛" 60
idle 120 >/dev/null

# --- Walk the generated tokens ----------------------------------------------------------------------
text ">"
check "> walks to the second generated token" wait_for "generated 2/[0-9]+ explains" 60
idle 120 >/dev/null
# Every pane explains the walked token: a third pane (AttnLRP) joins, then leaves.
text "+"
check "+ adds an AttnLRP pane beside GIM and plain" wait_for "┌ GIM .*┌ plain gradient .*┌ ▸ AttnLRP" 60
check "the new pane explains the walked token too" wait_for "attnlrp [0-9]+ ms" 120
check "still the second generated token" wait_for "generated 2/[0-9]+ explains" 20
idle 120 >/dev/null
text "-j"
check "the pane closes and GIM has the focus again" wait_for "┌ ▸ GIM" 60
idle 120 >/dev/null
text "t"
check "a knob change re-attributes it with the forward kept" wait_for "forward kept" 60
idle 120 >/dev/null
text "r<<"
check "left of the first generated token is the prompt's own target" wait_for "back to the prompt's own target" 60
idle 120 >/dev/null
text ">"
wait_for "generated 1/" 30 >/dev/null; idle 60 >/dev/null

# --- Matrix view and its export ----------------------------------------------------------------------
text "x"
check "x opens the matrix (GIM and plain side by side)" wait_for "┌ GIM matrix.*┌ plain gradient matrix" 60
check "every row is computed" wait_for "each row scaled" 120
check "matrix rows finish (no progress counter left)" wait_for "┌ GIM matrix ─" 300
text "e"
check "e exports the matrix" wait_for "exported .*gim-matrix-.*\.json and " 60
check "the matrix HTML is written beside the JSON" bash -c "ls '$tmp'/export/gim-matrix-*.html >/dev/null"
check "the matrix JSON has one row per generated token" \
  python3 -c "import json,glob,sys; d=json.load(open(glob.glob('$tmp/export/gim-matrix-*.json')[0])); sys.exit(0 if len(d['rows'])>=1 and all(len(r['gim'])==len(d['sources']) for r in d['rows']) else 1)"
text "x"
wait_for "matrix closed" 20 >/dev/null

# --- Words ----------------------------------------------------------------------------------------------
text "w"
check "w merges tokens into words" wait_for "words: sub-word tokens merged" 20
keys PageDown  # any key clears the message line, which covers the status line
check "the status line says words are on" wait_for "words \(sum\)" 20
keys PageUp
text "w"

# --- Teacher forcing --------------------------------------------------------------------------------------
keys Tab End C-t; text " Lyon"; keys Enter
check "a given continuation is scored as the next token" wait_for 'given 1/[0-9]+ explains " Lyon"' 60
idle 120 >/dev/null
keys C-u; text "What is the capital of France?"; keys Enter
wait_for 'explains' 60 >/dev/null; idle 60 >/dev/null

# --- Chat mode --------------------------------------------------------------------------------------------
keys Tab; text "m"
check "m turns chat mode on (template recognised)" wait_for "chat mode \(ChatML" 60
check "the prompt is wrapped in the chat template" wait_for "im_start" 120
idle 120 >/dev/null
text "Z"
check "Z masks the special tokens" wait_for "special tokens left out" 20
text "n"
check "chat mode generates the assistant's answer" wait_for "generated [0-9]+ tokens?" 300
check "the answer's first token is explained" wait_for "generated 1/[0-9]+ explains" 60
text "m"
check "m turns chat mode off" wait_for "chat mode off" 20

keys F10
check "F10 quits" exited e2e
check "exit status 0" test "$(exit_status e2e)" = 0

finish
