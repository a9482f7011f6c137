#!/usr/bin/env bash
# End-to-end checks of `gim` on every decoder family's tiny model (Tests/GIMEngineTests/Fixtures/
# families/<family>/: a transformers folder and the GGUF written from it): info names the family,
# predict answers, explain matches the committed PyTorch reference, and the explorer opens each
# GGUF in tmux and shows attributions. Usage: Tests/e2e/families.sh PATH/TO/gim
set -uo pipefail
gim="${1:?usage: $0 PATH/TO/gim}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
families="Tests/GIMEngineTests/Fixtures/families"
passed=0 failed=0
check() {  # check NAME COMMAND...: passes when the command exits 0
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
tmp="$(mktemp -d)"
sock="gim-families-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$tmp"' EXIT

# explain --json on the reference's first sequence vs its "gim" and "plain" runs at the last position.
explain_matches() {  # explain_matches MODEL REFERENCE SECTION
  local model="$1" reference="$2" section="$3" ids target baseline
  read -r ids target baseline < <(python3 -c "
import json
seq = json.load(open('$reference'))['$section']['sequences'][0]
run = [r for r in seq['runs'] if r['setting'] == 'gim' and r['target_position'] == -1][0]
print(','.join(map(str, seq['token_ids'])), run['target_token_id'], run['baseline_token_id'])")
  "$gim" explain --model "$model" --token-ids "$ids" --target-token-id "$target" --baseline-token-id "$baseline" --json > "$tmp/explain.json" 2> "$tmp/err" || { cat "$tmp/err"; return 1; }
  python3 -c "
import json
d = json.load(open('$tmp/explain.json'))
seq = json.load(open('$reference'))['$section']['sequences'][0]
runs = {r['setting']: r for r in seq['runs'] if r['target_position'] == -1}
for key, name in (('attributions', 'gim'), ('plain_attributions', 'plain')):
    got, exp = d[key], runs[name]['attributions']
    scale = max(abs(x) for x in exp)
    assert max(abs(a - b) for a, b in zip(got, exp)) <= 1e-4 * scale, (key, got, exp)
assert d['target_token_id'] == runs['gim']['target_token_id'], (d['target_token_id'], runs['gim']['target_token_id'])
"
}

# The explorer opens MODEL with a prompt and shows both panes with attributions.
explores() {  # explores MODEL
  local session="f$RANDOM"
  tmux -L "$sock" -f /dev/null new-session -d -s "$session" -x 120 -y 30 \
    "env TERM=tmux-256color XDG_CONFIG_HOME='$tmp/config' '$gim' explore --model '$1' --prompt 'the cat sat on the mat' --export-dir '$tmp'; echo exit=\$?; sleep 60"
  for _ in $(seq 1 50); do
    sleep 0.2
    if tmux -L "$sock" -f /dev/null capture-pane -p -t "$session" | grep -q 'explains'; then
      tmux -L "$sock" -f /dev/null send-keys -t "$session" F10
      sleep 0.5
      tmux -L "$sock" -f /dev/null capture-pane -p -t "$session" | grep -q 'exit=0' && return 0
      return 1
    fi
  done
  tmux -L "$sock" -f /dev/null capture-pane -p -t "$session"
  return 1
}

found=0
for dir in "$families"/*/; do
  family="$(basename "$dir")"
  reference="$dir/reference.json"
  [[ -f "$reference" && -f "$dir/model.gguf" ]] || { echo "skip $family: no reference.json/model.gguf"; continue; }
  found=1
  for kind in hf gguf; do
    model="$dir/hf"; [[ $kind == gguf ]] && model="$dir/model.gguf"
    check "$family $kind: info" bash -c "'$gim' info --model '$model' > '$tmp/info' && grep -q 'arch' '$tmp/info'"
    check "$family $kind: predict" bash -c "'$gim' predict --model '$model' --prompt 'the cat sat on the mat' --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d[\"next\"]) == 10'"
    check "$family $kind: explain matches the PyTorch reference" explain_matches "$model" "$reference" "$kind"
  done
  if command -v tmux >/dev/null; then
    check "$family: explorer opens the GGUF and attributes" explores "$dir/model.gguf"
  fi
done
[[ $found == 1 ]] || { echo "FAIL no family fixtures"; failed=$((failed + 1)); }

# Refused by name, never computed wrong.
mkdir -p "$tmp/moe"
echo '{"model_type": "qwen2_moe", "architectures": ["Qwen2MoeForCausalLM"], "num_experts": 8}' > "$tmp/moe/config.json"
check "mixture-of-experts folder is refused by name" bash -c "! '$gim' predict --model '$tmp/moe' --prompt hi 2> '$tmp/err' && grep -q 'mixture-of-experts' '$tmp/err'"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
