#!/usr/bin/env bash
# End-to-end test of the explorer's circuit view: drives the real `gim` binary in tmux on the
# default model (SmolLM2, 30 layers × 9 heads). Opens the view (X) on an IOI prompt, types the
# corrupted prompt, waits for the scores and the activation-patching correlations, moves the
# cell cursor, turns a knob (the GIM scores change, the plain scores and the patching do not,
# no forward pass runs), jumps between maps, switches to the mean over positions (M, a key of the
# view: outside it M is chat mode's system prompt), gives a
# misaligned prompt (a clear message), exports, resizes to narrow, too small and back, quits.
# Builds nothing. Usage: Tests/e2e/circuit_tmux.sh PATH/TO/gim
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

sock="gim-e2e-circuit-$$"
tm() { tmux -L "$sock" -f /dev/null "$@"; }
tmp="$(mktemp -d)"
trap 'tm kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/export"

clean="When Mary and John went to the store, John gave a drink to"
corrupt="When Mary and John went to the store, Mary gave a drink to"

tm new-session -d -s e2e -x 120 -y 36 \
  "cd '$PWD'; env TERM=tmux-256color '$gim' explore --model '$model' --export-dir '$tmp/export' --prompt '$clean'; echo \"exit=\$?\"; sleep 600"
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
idle() {  # until neither the token panes nor the circuit view compute
  local end=$((SECONDS + ${1:-60}))
  while ((SECONDS < end)); do
    local title; title="$(screen | head -1)"
    [[ "$title" == *" ms"* && "$title" != *computing* ]] && return 0
    sleep 0.1
  done
  echo "  still computing: $(screen | head -1)"; return 1
}
# The cursor line's numbers: "GIM +0.123 plain −0.045 patching +0.100" → "+0.123 -0.045 +0.100".
cell_values() {
  screen | sed -n 's/.*  GIM \([^ ]*\)  plain \([^ ]*\)  patching \([^ ]*\).*/\1 \2 \3/p' | head -1 | tr '−' '-'
}
# Distinct background colours inside the box whose top border shows TITLE (its heat cells).
backgrounds() {
  tm capture-pane -p -e -t e2e > "$tmp/screen.ans"
  python3 - "$tmp/screen.ans" "$1" <<'EOF'
import re, sys
rows = []
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    bg, row = None, []
    for token in re.split(r"(\x1b\[[0-9;:]*m)", line):
        m = re.fullmatch(r"\x1b\[([0-9;:]*)m", token)
        if not m:
            row += [(c, bg) for c in token]
            continue
        p = [int(x) if x else 0 for x in re.split("[;:]", m.group(1))] or [0]
        i = 0
        while i < len(p):
            if p[i] == 0 or p[i] == 49: bg = None
            elif p[i] == 48: bg = tuple(p[i + 1:i + 5]); i += 4 if p[i + 1] == 2 else 2
            elif p[i] == 38: i += 4 if p[i + 1] == 2 else 2
            elif 40 <= p[i] <= 47 or 100 <= p[i] <= 107: bg = p[i]
            i += 1
    rows.append(row)
for y, row in enumerate(rows):
    text = "".join(c for c, _ in row)
    i = text.find("┌ " + sys.argv[2])
    if i < 0: continue
    end = text.index("┐", i)
    seen = set()
    for r in rows[y + 1:]:
        t = "".join(c for c, _ in r)
        if len(t) <= i or t[i] != "│": break
        seen |= {b for c, b in r[i + 1:end] if b is not None}
    print(len(seen)); sys.exit(0)
print(0)
EOF
}

check "the model loads and the prompt is attributed" wait_for 'explains "' 90
idle 60 >/dev/null
keys Tab
check "command mode" wait_for "GIM Explorer │ COMMAND" 20
text "X"
check "X opens the circuit view, which asks for a counterfactual" wait_for "C types a corrupted prompt" 30
text "C"
check "C opens the corrupted-prompt line, filled with the prompt" wait_for "corrupted prompt› .*gave a drink to" 20
keys C-u; text "$corrupt"; keys Enter
check "the scores appear: GIM and plain panes" wait_for "┌ GIM .*┌ plain gradient" 120
check "activation patching runs after them: correlations in the panes" wait_for "r:? h(eads)? [−.0-9]" 300
check "the metric line shows both runs" wait_for "clean [+−][0-9.]+  corrupted [+−][0-9.]+" 20
check "GIM heat cells are coloured (several backgrounds)" test "$(backgrounds GIM)" -ge 4
check "plain heat cells are coloured (several backgrounds)" test "$(backgrounds 'plain gradient')" -ge 4
check "the cursor starts on layer 0, head 0 with exact values" wait_for "L0 head 0  GIM [+−]?[0-9]" 20
keys Right Right Down
check "arrows move the cell cursor" wait_for "L2 head 1  GIM [+−]?[0-9]" 20
before="$(cell_values)"
check "the cell has GIM, plain and patching values" test "$(wc -w <<< "$before")" -eq 3

# --- A knob: only GIM's scores change, with one backward --------------------------------------
text "t"
check "the knob change is shown at once" wait_for "T 1.5" 20
check "the circuit scores arrive again with the plain scores kept" wait_for "GIM [0-9.]+ ms · plain kept" 60
idle 60 >/dev/null
wait_for "r:? h(eads)? [−.0-9]" 60 >/dev/null
after="$(cell_values)"
check "the GIM value of the cell changed" test "$(cut -d' ' -f1 <<< "$before")" != "$(cut -d' ' -f1 <<< "$after")"
check "the plain value of the cell did not" test "$(cut -d' ' -f2 <<< "$before")" = "$(cut -d' ' -f2 <<< "$after")"
check "the patching value of the cell did not" test "$(cut -d' ' -f3 <<< "$before")" = "$(cut -d' ' -f3 <<< "$after")"
check "the GIM pane says its knobs changed" wait_for "┌ GIM, knobs changed" 20
text "r"
idle 60 >/dev/null

# --- Maps, position, counterfactuals ------------------------------------------------------------
keys PageDown
check "PgDn jumps to the attention blocks" wait_for "L2 attention  GIM" 20
keys PageDown
check "PgDn again: the residual stream" wait_for "L2 residual @0 \"" 20
check "the agreement line names the cursor's kind" wait_for "residual positions \([0-9]+\) vs patching" 60
text "e"
check "e exports the view" wait_for "exported .*\\.json and .*\\.html" 30
json="$(ls "$tmp"/export/*.json 2>/dev/null | head -1)"
check "the export has the circuit data" python3 -c "
import json; c = json.load(open('$json'))['circuit']
assert c['counterfactual'] == 'prompt' and len(c['gim']['heads']) == 30 and len(c['gim']['heads'][0]) == 9, c.keys()
assert len(c['patching']['effects']['mlp']) == 30 and c['agreement']['gim']['heads']['count'] == 270
assert c['cursor'].startswith('L2 residual @0')"
text "M"
check "M: the mean over positions" wait_for "vs the mean over positions" 120
text "C"; keys C-u; text "Mary gave a drink to"; keys Enter
check "a misaligned corrupted prompt: a clear message" wait_for "must align token by token" 60

# --- Resize -----------------------------------------------------------------------------------------
text "M"
wait_for "vs the mean over positions" 120 >/dev/null
tm resize-window -t e2e -x 60 -y 40
stacked() {  # the plain pane's top border is below the GIM pane's
  local a b
  a="$(screen | grep -n '┌ GIM' | head -1 | cut -d: -f1)"; b="$(screen | grep -n '┌ plain gradient' | head -1 | cut -d: -f1)"
  [[ -n "$a" && -n "$b" && "$b" -gt "$a" ]]
}
poll() {  # poll SECONDS COMMAND...: until the command succeeds
  local end=$((SECONDS + $1)); shift
  until "$@"; do ((SECONDS < end)) || return 1; sleep 0.2; done
}
check "narrow: the panes are stacked" poll 20 stacked
tm resize-window -t e2e -x 30 -y 8
check "tiny: a clear 'too small' message" wait_for "Terminal too small" 20
tm resize-window -t e2e -x 120 -y 36
check "back to wide: side by side again" wait_for "┐┌ plain gradient" 20
text "X"
check "X closes the circuit view" wait_for "circuit view closed" 30

keys F10
check "F10 quits with status 0" wait_for "^exit=0" 30
finish
