#!/usr/bin/env bash
# End-to-end test of the explorer's method panes (issue 15) on the default model, in tmux:
# adds a third pane (AttnLRP), waits for every pane's faithfulness figures (comprehensiveness
# and sufficiency), switches that pane's method to Integrated Gradients and halves its steps
# (only that pane is recomputed), shows the difference of two chosen panes and the table's
# figures, exports every pane, stacks the panes on a narrow terminal, and quits.
# Builds nothing. Usage: Tests/e2e/explorer_methods_tmux.sh PATH/TO/gim
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

sock="gim-e2e-methods-$$"
tm() { tmux -L "$sock" -f /dev/null "$@"; }
tmp="$(mktemp -d)"
trap 'tm kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/export"

tm new-session -d -s e2e -x 160 -y 40 \
  "cd '$PWD'; env TERM=tmux-256color '$gim' explore --model '$model' --export-dir '$tmp/export' --prompt 'The capital of France is'; echo \"exit=\$?\"; sleep 600"
screen() { tm capture-pane -p -t e2e; }
keys() { tm send-keys -t e2e "$@"; }
text() { tm send-keys -t e2e -l "$1"; }
wait_for() {  # wait_for PATTERN [SECONDS]: until the screen matches the extended regex
  local pattern="$1" end=$((SECONDS + ${2:-20}))
  while ((SECONDS < end)); do
    screen | grep -qE -- "$pattern" && return 0
    sleep 0.1
  done
  echo "  timed out waiting for /$pattern/; the screen was:"; screen | sed 's/^/  | /'
  return 1
}
idle() {  # until no attribution is running
  local end=$((SECONDS + ${1:-30}))
  while ((SECONDS < end)); do
    local title; title="$(screen | head -1)"
    [[ ( "$title" == *" ms"* || "$title" == *"forward kept"* ) && "$title" != *computing* ]] && return 0
    sleep 0.1
  done
  echo "  still computing: $(screen | head -1)"; return 1
}
figure='(comp|c) [−0-9]'

check "the prompt is attributed (GIM and plain panes)" wait_for 'T +1 " Paris" +[0-9.]+%' 240
idle 120 >/dev/null
keys Tab
text "+"
check "+ adds a third pane (AttnLRP), side by side" wait_for "┌ GIM .*┐┌ plain gradient .*┐┌ ▸ AttnLRP" 120
check "the new pane is attributed" wait_for "attnlrp [0-9.]+ ms" 30
check "every pane shows comprehensiveness and sufficiency" \
  wait_for "┌ GIM ─ $figure.*┌ plain gradient ─ $figure.*┌ ▸ AttnLRP ─ $figure" 120
check "the knob line shows AttnLRP's knobs (identity rule, zero baseline)" wait_for "^attnlrp knobs .*rule identity  baseline zero" 5

text "oooo"
check "o cycles the focused pane's method to Integrated Gradients" wait_for "┌ ▸ Integrated Gradients \(32\)" 240
check "IG's own knobs are shown" wait_for "^IG knobs  steps 32  baseline token" 5
idle 60 >/dev/null
text "h"
check "h halves IG's steps" wait_for "┌ ▸ Integrated Gradients \(16\)" 60
check "only the IG pane is recomputed" wait_for "GIM cached · plain cached · IG [0-9.]+ ms · forward kept" 60
check "IG's figures appear" wait_for "┌ ▸ Integrated Gradients \(16\) ─ $figure" 120

text "d"
check "difference: the focused pane minus another" wait_for "┌ Integrated Gradients \(16\) − plain gradient, each scaled" 5
text "D"
check "D chooses the other pane" wait_for "┌ Integrated Gradients \(16\) − GIM, each scaled" 5
text "d"
check "table: every pane's values and the paper's figures" \
  wait_for "comp /f\(x\) ↑ +[−0-9.]+ +[−0-9.]+ +[−0-9.]+" 10
check "table: sufficiency for every pane" wait_for "suff /f\(x\) ↓ +[−0-9.]+ +[−0-9.]+ +[−0-9.]+" 5
text "d"
wait_for "view: heat" 5 >/dev/null

text "j"
check "j moves the focus (wraps to GIM)" wait_for "pane 1 focused \(GIM\)" 5
text "t"
check "knob keys edit the focused pane" wait_for "^GIM knobs \(changed\)" 5
check "… and recompute only it" wait_for "GIM [0-9.]+ ms · plain cached · IG cached · forward kept" 30
idle 30 >/dev/null

text "?"
check "help lists the pane keys" wait_for "focused pane's method" 5
text "x"
text "e"
check "e exports" wait_for "exported .*\\.json and .*\\.html" 10
json="$(ls "$tmp"/export/*.json 2>/dev/null | head -1)"
check "export has every pane with its method and settings" python3 -c "
import json; d = json.load(open('$json'))
p = d['panes']
assert [x['method'] for x in p] == ['gim', 'plain', 'integrated-gradients'], p
assert p[2]['steps'] == 16 and p[0]['settings']['softmax_temperature'] == 1.5 and p[0]['focused'], p
assert all(len(x['values']) == 5 for x in p)
assert d['difference_panes'] == [0, 1], d['difference_panes']"

tm resize-window -t e2e -x 60 -y 40
sleep 0.5
check "narrow: the three panes are stacked" test "$(screen | grep -cE '^┌ (▸ )?(GIM|plain gradient|Integrated)')" -eq 3
keys F10
check "F10 quits with status 0" wait_for "^exit=0" 10
finish
