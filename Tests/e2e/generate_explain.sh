#!/usr/bin/env bash
# End-to-end checks of generation and continuation attribution on the default model:
# gim generate with and without the KV cache (same tokens), seeded sampling, chat mode,
# gim explain --generate / --continuation / --aggregate words, and clear errors.
# Usage: Tests/e2e/generate_explain.sh PATH/TO/gim
set -uo pipefail
gim="${1:?usage: $0 PATH/TO/gim}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
model="models/SmolLM2-135M-Instruct.Q4_1.gguf"
passed=0 failed=0
check() {  # check NAME COMMAND...: passes when the command exits 0
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
py() { python3 -c "$@"; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

"$gim" generate --model "$model" --prompt "The capital of France is" --max-tokens 12 --ignore-eos --json > "$tmp/kv.json" 2>&1
"$gim" generate --model "$model" --prompt "The capital of France is" --max-tokens 12 --ignore-eos --no-kv-cache --json > "$tmp/full.json" 2>&1
check "generate: KV cache gives the tokens of full recomputation" py "
import json
a, b = json.load(open('$tmp/kv.json')), json.load(open('$tmp/full.json'))
assert a['kv_cache'] is True and b['kv_cache'] is False, (a['kv_cache'], b['kv_cache'])
assert a['generated_ids'] == b['generated_ids'] and len(a['generated_ids']) == 12, (a['generated_ids'], b['generated_ids'])
assert 'Paris' in a['text'] and a['sampling']['greedy'] is True"

"$gim" generate --model "$model" --prompt "Once upon a time" --max-tokens 8 --sampling-temperature 0.9 --top-p 0.9 --seed 11 --json > "$tmp/s1.json" 2>&1
"$gim" generate --model "$model" --prompt "Once upon a time" --max-tokens 8 --sampling-temperature 0.9 --top-p 0.9 --seed 11 --json > "$tmp/s2.json" 2>&1
check "generate: sampling with a seed repeats" py "
import json
a, b = json.load(open('$tmp/s1.json')), json.load(open('$tmp/s2.json'))
assert a['generated_ids'] == b['generated_ids'] and a['sampling']['seed'] == 11 and a['sampling']['greedy'] is False"
"$gim" generate --model "$model" --prompt "Once upon a time" --max-tokens 3 --sampling-temperature 0.9 > "$tmp/seed.txt" 2>&1
check "generate: a random seed is printed" grep -q "seed [0-9]" "$tmp/seed.txt"

"$gim" generate --model "$model" --chat --prompt "What is the capital of France?" --max-tokens 30 --json > "$tmp/chat.json" 2>&1
check "generate --chat: SmolLM2's template, the answer names Paris and ends its turn" py "
import json
d = json.load(open('$tmp/chat.json'))
ids = d['prompt_ids']
assert ids[:2] == [1, 9690] and ids.count(1) == 3 and ids[-1] == 198, ids   # <|im_start|>system (default prompt), user, assistant + newline
assert 'Paris' in d['text'] and d['stop'] == 'stop-token', (d['text'], d['stop'])"

"$gim" explain --model "$model" --prompt "The capital of France is" --generate 3 --json > "$tmp/cont.json" 2>&1
"$gim" explain --model "$model" --prompt "The capital of France is Paris" --json > "$tmp/prefix.json" 2>&1
check "explain --generate: rows over everything before each token; a row equals explain of its prefix" py "
import json
d, p = json.load(open('$tmp/cont.json')), json.load(open('$tmp/prefix.json'))
assert d['mode'] == 'generated' and d['prompt_length'] == 5 and len(d['rows']) == 3
assert [r['position'] for r in d['rows']] == [5, 6, 7] and [len(r['attributions']) for r in d['rows']] == [5, 6, 7]
assert d['rows'][0]['token'] == ' Paris' and d['rows'][0]['rank'] == 0
# row 1 (the token after ' Paris') against a fresh explain of 'The capital of France is Paris'
r = d['rows'][1]
assert p['target_token_id'] == r['token_id'], (p['target_token_id'], r['token_id'])
for key in ('attributions', 'plain_attributions'):
    scale = max(abs(x) for x in p[key])
    assert max(abs(a - b) for a, b in zip(r[key], p[key])) <= 1e-5 * scale, key"

"$gim" explain --model "$model" --chat --system "Answer in one word." --prompt "Capital of France?" --continuation "Lyon" --aggregate words --json > "$tmp/tf.json" 2>&1
check "explain --chat --continuation --aggregate words: teacher forcing over words" py "
import json
d = json.load(open('$tmp/tf.json'))
assert d['mode'] == 'teacher-forced' and d['aggregate'] == 'words' and 'stop' not in d
words = d['words']
assert words[0]['first_token'] == 0 and all(a['end_token'] == b['first_token'] for a, b in zip(words, words[1:]))
assert words[-1]['end_token'] == len(d['token_ids'])
assert any(w['text'] == '<|im_start|>' for w in words) and any('Answer' in w['text'] for w in words)
for r in d['rows']:
    assert len(r['attributions']) == sum(1 for w in words if w['first_token'] < r['position'])"
"$gim" explain --model "$model" --prompt "The capital of France is" --generate 2 > "$tmp/cont.txt" 2>&1
check "explain --generate: text rows" grep -q "GIM:" "$tmp/cont.txt"

expect_error() {  # expect_error NAME PATTERN COMMAND...: non-zero exit and the pattern on stderr
  local name="$1" pattern="$2"; shift 2
  if "$@" > "$tmp/out" 2> "$tmp/err"; then echo "  exited 0"; return 1; fi
  grep -q -- "$pattern" "$tmp/err" || { echo "  stderr was: $(head -c 300 "$tmp/err")"; return 1; }
}
check "error: --generate with --continuation" expect_error both "not both" "$gim" explain --model "$model" --prompt hi --generate 2 --continuation x
check "error: --generate with --target-position" expect_error target "do not apply" "$gim" explain --model "$model" --prompt hi --generate 2 --target-position 0
check "error: --system without --chat" expect_error system "add --chat" "$gim" generate --model "$model" --prompt hi --system x
check "error: --chat with --token-ids" expect_error ids "needs the prompt as text" "$gim" generate --model "$model" --token-ids 1 2 --chat
check "error: bad top-p" expect_error topp "top-p" "$gim" generate --model "$model" --prompt hi --sampling-temperature 1 --top-p 0
check "error: chat mode on a model without a template" expect_error notemplate "no chat template" "$gim" generate --model Tests/GIMEngineTests/Fixtures/hf/tiny-llama --prompt hi --chat

echo "generate/explain e2e: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
