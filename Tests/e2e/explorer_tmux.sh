#!/usr/bin/env bash
# End-to-end test of the terminal explorer: drives the real `gim` binary in tmux on the
# default model, reading the screen with `capture-pane` (-e keeps the colours). Types a prompt,
# waits for the attribution, turns a knob and checks that the GIM pane's colours and values
# change while the plain pane's do not, switches target, position and foil, opens help,
# exports, cycles themes, resizes down to "too small" and back, quits, and checks that
# SIGTERM (also in the middle of a long attribution) restores the terminal.
# Builds nothing. Usage: Tests/e2e/explorer_tmux.sh PATH/TO/gim
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

sock="gim-e2e-$$"
tm() { tmux -L "$sock" -f /dev/null "$@"; }
tmp="$(mktemp -d)"
trap 'tm kill-server 2>/dev/null; rm -rf "$tmp"' EXIT

# A user theme directory with one good and one broken theme (XDG_CONFIG_HOME is honoured).
mkdir -p "$tmp/config/gim/themes" "$tmp/export"
sed 's/^description = .*/description = "a user theme"/' themes/light.toml > "$tmp/config/gim/themes/mine.toml"
printf '[roles\ntext = 1\n' > "$tmp/config/gim/themes/broken.toml"

# start SESSION WIDTH HEIGHT ARGS...: runs `gim explore ARGS` in a new tmux session. A shell
# stays after the program exits and prints its status, so the state the program left the
# terminal in (screen, cursor) can be read from a live pane.
start() {
  local session="$1" w="$2" h="$3"; shift 3
  local args; printf -v args ' %q' "$@"
  tm new-session -d -s "$session" -x "$w" -y "$h" \
    "cd '$PWD'; env TERM=tmux-256color XDG_CONFIG_HOME='$tmp/config' '$gim' explore --model '$model' --export-dir '$tmp/export'$args; echo \"exit=\$?\"; sleep 600"
}
# The explorer's process id: the child of the pane's shell.
explorer_pid() { pgrep -P "$(tm display-message -p -t "$1" '#{pane_pid}')" -f explore; }
screen() { tm capture-pane -p -t "${1:-e2e}"; }
keys() { tm send-keys -t e2e "$@"; }
text() { tm send-keys -t e2e -l "$1"; }

# wait_for PATTERN [SECONDS] [SESSION]: until the screen matches the extended regex.
wait_for() {
  local pattern="$1" end=$((SECONDS + ${2:-20})) session="${3:-e2e}"
  while ((SECONDS < end)); do
    screen "$session" | grep -qE -- "$pattern" && return 0
    sleep 0.1
  done
  echo "  timed out waiting for /$pattern/; the screen was:"; screen "$session" | sed 's/^/  | /'
  return 1
}
# Until no attribution is running (the title bar shows timings, not "computing").
idle() {
  local end=$((SECONDS + ${1:-20}))
  while ((SECONDS < end)); do
    local title; title="$(screen | head -1)"
    # Timings, or every pane kept from the last request ("GIM cached · … · forward kept").
    [[ ( "$title" == *" ms"* || "$title" == *"forward kept"* ) && "$title" != *computing* ]] && return 0
    sleep 0.1
  done
  echo "  still computing: $(screen | head -1)"; return 1
}
exited() { wait_for "^exit=[0-9]+" 10 "$1" >/dev/null; }  # exited SESSION: the program ended
exit_status() { screen "$1" | sed -n 's/^exit=\([0-9]*\).*/\1/p' | head -1; }

# Cells of the screen with their colours, from capture-pane -e: `pane TITLE` prints the
# characters and SGR state of the first token row inside the box whose top border shows TITLE.
cat > "$tmp/grid.py" <<'EOF'
import re, sys, json
def cells(text):
    rows = []
    for line in text.split("\n"):
        state = {"fg": None, "bg": None, "bold": False, "ul": False}
        row = []
        for token in re.split(r"(\x1b\[[0-9;:]*m)", line):
            m = re.fullmatch(r"\x1b\[([0-9;:]*)m", token)
            if not m:
                row += [(c, dict(state)) for c in token]
                continue
            p = [int(x) if x else 0 for x in re.split("[;:]", m.group(1))] or [0]
            i = 0
            while i < len(p):
                v = p[i]
                if v == 0: state = {"fg": None, "bg": None, "bold": False, "ul": False}
                elif v == 1: state["bold"] = True
                elif v == 4: state["ul"] = True
                elif v == 22: state["bold"] = False
                elif v == 24: state["ul"] = False
                elif v in (38, 48):
                    key = "fg" if v == 38 else "bg"
                    if p[i + 1] == 5: state[key] = p[i + 2]; i += 2
                    else: state[key] = tuple(p[i + 2:i + 5]); i += 4
                elif v == 39: state["fg"] = None
                elif v == 49: state["bg"] = None
                elif 30 <= v <= 37 or 90 <= v <= 97: state["fg"] = v
                elif 40 <= v <= 47 or 100 <= v <= 107: state["bg"] = v
                i += 1
        rows.append(row)
    return rows
def box_row(rows, title):
    for y, row in enumerate(rows):
        line = "".join(c for c, _ in row)
        i = -1
        for head in ("┌ ", "┌ ▸ "):  # ▸ marks the focused pane
            if i < 0: i = line.find(head + title + " ")
            if i < 0: i = line.find(head + title + ",")
        if i >= 0:
            end = line.index("┐", i)
            return rows[y + 1][i + 1:end]
    sys.exit("no box titled " + title)
rows = cells(open(sys.argv[1], encoding="utf-8").read())
row = box_row(rows, sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else "styles"
text = "".join(c for c, _ in row).rstrip()
if mode == "styles":
    print(json.dumps([[c, s["fg"], s["bg"]] for c, s in row[:len(text)]]))
elif mode == "backgrounds":
    print(len({json.dumps(s["bg"]) for c, s in row[:len(text)]}))
EOF
snap() { tm capture-pane -p -e -t e2e > "$tmp/$1.ans"; }
same() { [[ "$1" == "$2" ]]; }
differ() { [[ "$1" != "$2" ]]; }
not_on_screen() { sleep 0.5; ! screen "${2:-e2e}" | grep -qE -- "$1"; }
# The line numbers of two box titles: stacked when the second is below the first.
stacked() {
  local a b
  a="$(screen | grep -nE '┌ (▸ )?GIM' | head -1 | cut -d: -f1)"; b="$(screen | grep -n '┌ plain gradient' | head -1 | cut -d: -f1)"
  [[ -n "$a" && -n "$b" && "$b" -gt "$a" ]]
}
# After the program exited: the normal screen is back (alternate screen off), the cursor shows,
# and the shell's output is plain again.
restored() {
  not_on_screen "GIM Explorer" "$1" && [[ "$(tm display-message -p -t "$1" '#{alternate_on}#{cursor_flag}')" == 01 ]]
}
pane_styles() { python3 "$tmp/grid.py" "$tmp/$1.ans" "$2" styles; }
distinct_backgrounds() { python3 "$tmp/grid.py" "$tmp/$1.ans" "$2" backgrounds; }
# The table view's rows as "pos gim plain" (numbers as printed, − made ASCII).
table_values() {
  screen | sed -n 's/^│▲\{0,1\}\([0-9][0-9]*\) .*"[^"]*" *\([+−-][0-9.e+−-]*\) *#[0-9]* *\([+−-][0-9.e+−-]*\) .*/\1 \2 \3/p' | tr '−' '-'
}

# --- Start, with a broken theme asked for --------------------------------------------------
start e2e 120 32 --theme broken
check "starts and shows the explorer" wait_for "GIM Explorer" 10
check "the model loads (name in the title bar)" wait_for "GIM Explorer │ EDIT │ [A-Za-z]" 60
check "a broken theme is reported and the default used" wait_for "using dark because theme broken.toml: line 1" 5

# --- Type a prompt and attribute it ----------------------------------------------------------
text "The capital of France is"
check "typed text appears in the prompt line" wait_for "^› The capital of France is" 5
keys Enter
check "Enter attributes: ' Paris' is the top prediction" wait_for 'T +1 " Paris" +[0-9.]+%' 30
check "the last attribution's timing is shown" idle 30
check "both panes show the prompt's tokens" test "$(screen | grep -o '│The capital of France is' | wc -l)" -eq 2
snap before
check "GIM pane tokens are heat-coloured (several backgrounds)" test "$(distinct_backgrounds before GIM)" -ge 3
check "plain pane tokens are heat-coloured (several backgrounds)" test "$(distinct_backgrounds before 'plain gradient')" -ge 3

# --- Faithfulness figures (computed after the attribution) and the deletion-curve plot ---------
check "faithfulness figures appear in both panes" \
  wait_for "┌ (▸ )?GIM ─ (comp [−0-9]|del [−0-9]|.*undefined).*┌ plain gradient ─ (comp [−0-9]|c [−0-9]|del [−0-9]|.*undefined)" 60
keys Tab; text "p"
check "p shows the deletion-curve plot" \
  bash -c "sleep 0.5; tmux -L '$sock' -f /dev/null capture-pane -p -t e2e | grep -q '┌ deletion curves' && tmux -L '$sock' -f /dev/null capture-pane -p -t e2e | grep -q '● GIM'"
text "p"; wait_for "deletion curves hidden" 5 >/dev/null; keys Tab
wait_for "GIM Explorer │ EDIT" 5 >/dev/null

# Exact values before the knob change, from the table view.
keys Tab; text "dd"
check "table view lists every token" wait_for '^│▲4 +" is"' 5
table_values > "$tmp/values_before"
text "d"
wait_for "view: heat" 5 >/dev/null

# --- Turn a knob: only the GIM pane may change -------------------------------------------------
text "f"
check "knob change is shown at once (freeze_norm off)" wait_for "freeze_norm off  T 2  q" 5
check "the new attribution arrives without a new forward pass" wait_for "forward kept" 20
idle 20 >/dev/null
snap after
check "GIM pane colours changed" differ "$(pane_styles before GIM)" "$(pane_styles after 'GIM, knobs changed')"
check "plain pane colours did not change" same "$(pane_styles before 'plain gradient')" "$(pane_styles after 'plain gradient')"
text "dd"
wait_for '^│▲4 +" is"' 5 >/dev/null
table_values > "$tmp/values_after"
check "GIM values changed in the table" differ "$(cut -d' ' -f1,2 "$tmp/values_before")" "$(cut -d' ' -f1,2 "$tmp/values_after")"
check "plain values identical in the table" same "$(cut -d' ' -f1,3 "$tmp/values_before")" "$(cut -d' ' -f1,3 "$tmp/values_after")"
check "table has 5 rows of numbers" test "$(wc -l < "$tmp/values_after")" -eq 5
text "d"
wait_for "view: heat" 5 >/dev/null
text "r"
check "r resets the knobs" wait_for "knobs  freeze_norm on  T 2  q 0.25" 5
idle 20 >/dev/null

# --- Switch the target, the position and the foil -----------------------------------------------
keys Down Enter
check "a picked prediction becomes the target" wait_for 'explains " the"' 20
idle 20 >/dev/null
snap target
check "the GIM pane changed with the target" differ "$(pane_styles before GIM)" "$(pane_styles target GIM)"
text "a"
check "a returns to the most likely token" wait_for 'explains " Paris"' 20
keys Left
check "← moves the target position" wait_for 'after " France" @3' 20
idle 20 >/dev/null
keys End
wait_for 'after " is" @4' 20 >/dev/null
idle 20 >/dev/null
keys Down
text "c"
check "c explains target − foil" wait_for 'explains " Paris" [0-9.]+% − " the"' 20
idle 20 >/dev/null
text "c"
check "c again leaves contrastive mode" wait_for "contrastive mode off" 5
text "/"; text " London"; keys Enter
check "a typed target token is explained" wait_for 'explains " London"' 20
text "a"
idle 20 >/dev/null

# --- Help, theme, export ---------------------------------------------------------------------------
keys F1
check "F1 opens the key help" wait_for "keys · any key closes" 5
text "x"
check "any key closes help" not_on_screen "any key closes"
text "s"
check "s cycles to the next theme" wait_for "theme: colorblind" 5
text "ss"
check "the user's theme directory is honoured" wait_for "theme: mine" 5
text "e"
check "e exports the view" wait_for "exported .*\\.json and .*\\.html" 5
json="$(ls "$tmp"/export/*.json 2>/dev/null | head -1)"
html="$(ls "$tmp"/export/*.html 2>/dev/null | head -1)"
check "export JSON has every token with GIM and plain values" python3 -c "
import json; d = json.load(open('$json'))
assert [t['text'] for t in d['tokens']] == ['The', ' capital', ' of', ' France', ' is'], d['tokens']
assert all('gim' in t and 'plain' in t for t in d['tokens']) and d['target_token'] == ' Paris'"
check "export HTML is standalone and coloured" bash -c "grep -q '<!DOCTYPE html>' '$html' && grep -q 'style=\"background: #' '$html' && ! grep -q '<script' '$html'"

# --- Editing while in the prompt: Alt-key runs a command ------------------------------------------
keys Tab
check "Tab returns to the prompt" wait_for "GIM Explorer │ EDIT" 5
keys M-t
check "Alt-t lowers the temperature from the prompt" wait_for "T 1.5" 5
check "… and types nothing" wait_for "^› The capital of France is *$" 2
keys C-u
text "日本語の文章 café 🌍"
keys Enter
check "a wide-character prompt is attributed" wait_for '^│.* café .*││' 30
idle 20 >/dev/null

# --- Resize ---------------------------------------------------------------------------------------
tm resize-window -t e2e -x 60 -y 34
sleep 0.5
check "narrow: panes are stacked" stacked
tm resize-window -t e2e -x 30 -y 8
check "tiny: a clear 'too small' message" wait_for "Terminal too small" 5
tm resize-window -t e2e -x 120 -y 32
check "back to wide: panes side by side again" wait_for "┐┌ plain gradient" 5

# --- Quit cleanly ---------------------------------------------------------------------------------
keys F10
check "F10 quits" exited e2e
check "exit status 0" test "$(exit_status e2e)" = 0
check "the terminal is restored (normal screen, cursor visible)" restored e2e

# --- SIGTERM restores the terminal too; monochrome shows bars ---------------------------------------
start mono 100 24 --colors mono --prompt "The capital of France is"
check "monochrome: heat shown as bars" wait_for "│[·▁▂▃▄▅▆▇█░▒▓ ]*▲[▁▂▃▄▅▆▇█░▒▓]" 60 mono
kill -TERM "$(explorer_pid mono)"
check "SIGTERM quits" exited mono
check "SIGTERM exit status 143" test "$(exit_status mono)" = 143
check "SIGTERM restores the terminal" restored mono

# --- SIGTERM in the middle of a long attribution ---------------------------------------------------
python3 -c "print('The quick brown fox jumps over the lazy dog. ' * 60, end='')" > "$tmp/long.txt"
start busy 100 24 --prompt "$(cat "$tmp/long.txt")"
check "a long prompt is being attributed" wait_for "computing" 60 busy
kill -TERM "$(explorer_pid busy)"
check "SIGTERM mid-computation quits" exited busy
check "SIGTERM mid-computation exit status 143" test "$(exit_status busy)" = 143
check "SIGTERM mid-computation restores the terminal" restored busy

finish
