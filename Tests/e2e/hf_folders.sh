#!/usr/bin/env bash
# End-to-end checks of `gim` on Hugging Face model folders: the tiny GPT-2 and Llama fixtures
# (predict, explain against the committed PyTorch reference, info), a clear error for an
# unsupported architecture, and `gim convert` of the default model giving the same attributions
# as the GGUF. Usage: Tests/e2e/hf_folders.sh PATH/TO/gim
set -uo pipefail
gim="${1:?usage: $0 PATH/TO/gim}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fixtures="Tests/GIMEngineTests/Fixtures"
model="models/SmolLM2-135M-Instruct.Q4_1.gguf"
passed=0 failed=0
check() {  # check NAME COMMAND...: passes when the command exits 0
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# explain --json on the fixture's first sequence vs the reference's "gim" and "plain" runs.
explain_matches() {  # explain_matches FOLDER FIXTURE
  local folder="$1" fixture="$2"
  local ids
  ids="$(python3 -c "import json; print(','.join(map(str, json.load(open('$fixture'))['sequences'][0]['token_ids'])))")"
  "$gim" explain --model "$folder" --token-ids "$ids" --json > "$tmp/explain.json" 2> "$tmp/err" || { cat "$tmp/err"; return 1; }
  python3 -c "
import json
d = json.load(open('$tmp/explain.json'))
runs = {r['setting']: r for r in json.load(open('$fixture'))['sequences'][0]['runs'] if r['target_position'] == -1}
for key, name in (('attributions', 'gim'), ('plain_attributions', 'plain')):
    got, exp = d[key], runs[name]['attributions']
    scale = max(abs(x) for x in exp)
    assert max(abs(a - b) for a, b in zip(got, exp)) <= 1e-4 * scale, (key, got, exp)
assert d['target_token_id'] == runs['gim']['target_token_id'] and d['baseline_token_id'] == runs['gim']['baseline_token_id']
"
}

for name in tiny-gpt2 tiny-llama; do
  folder="$fixtures/hf/$name"
  fixture="$fixtures/hf_${name//-/_}.json"
  check "folder $name: predict" bash -c "'$gim' predict --model '$folder' --prompt 'The capital of France is' --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d[\"next\"]) == 10'"
  check "folder $name: explain matches the PyTorch reference" explain_matches "$folder" "$fixture"
  check "folder $name: info" bash -c "'$gim' info --model '$folder' | grep -q 'Hugging Face folder'"
done

mkdir -p "$tmp/mamba"
echo '{"model_type": "mamba", "architectures": ["MambaForCausalLM"]}' > "$tmp/mamba/config.json"
check "folder: unsupported architecture is named" bash -c "! '$gim' predict --model '$tmp/mamba' --prompt hi 2> '$tmp/err' && grep -q 'mamba' '$tmp/err'"

if [[ -f "$model" ]]; then
  check "convert: GGUF to a Hugging Face folder" "$gim" convert --model "$model" --out "$tmp/smollm2"
  check "convert: refuses a non-empty folder without --force" bash -c "! '$gim' convert --model '$model' --out '$tmp/smollm2' 2> '$tmp/err' && grep -q 'not empty' '$tmp/err'"
  check "convert: folder and GGUF give the same attributions" bash -c "
    '$gim' explain --model '$model' --prompt 'The capital of France is' --json > '$tmp/a.json' &&
    '$gim' explain --model '$tmp/smollm2' --prompt 'The capital of France is' --json > '$tmp/b.json' &&
    python3 -c \"
import json
a, b = json.load(open('$tmp/a.json')), json.load(open('$tmp/b.json'))
assert a['token_ids'] == b['token_ids'] and a['target_token_id'] == b['target_token_id'] == 7042
for k in ('attributions', 'plain_attributions'):
    scale = max(abs(x) for x in a[k])
    assert max(abs(x - y) for x, y in zip(a[k], b[k])) <= 1e-4 * scale, (k, a[k], b[k])
\""
else
  echo "skip convert checks: $model is missing (run models/fetch.sh)"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
