#!/usr/bin/env bash
# End-to-end checks of the `gim` command line on the default model: predictions, generation,
# attribution JSON against the committed PyTorch reference, and clear errors on bad input.
# Usage: Tests/e2e/cli.sh PATH/TO/gim
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

"$gim" predict --model "$model" --prompt "The capital of France is" --json > "$tmp/predict.json" 2> "$tmp/err"
check "predict: top token is ' Paris' (7042)" py "import json,sys; d=json.load(open('$tmp/predict.json')); assert d['next'][0]['id']==7042 and d['next'][0]['text']==' Paris', d['next'][0]"
check "predict: tokens" py "import json; d=json.load(open('$tmp/predict.json')); assert [t['id'] for t in d['tokens']]==[504,3575,282,4649,314]"

"$gim" generate --model "$model" --prompt "The capital of France is" --max-tokens 8 --json > "$tmp/gen.json" 2>&1
check "generate: continues with Paris" py "import json; d=json.load(open('$tmp/gen.json')); assert 'Paris' in d['text'], d['text']"

"$gim" explain --model "$model" --prompt "The capital of France is" --gate-scale 1 --up-scale 1 --json > "$tmp/explain.json" 2>&1
check "explain: GIM (0.1.4 scales) and plain match the PyTorch reference" py "
import json
d = json.load(open('$tmp/explain.json'))
ref = json.load(open('Tests/GIMEngineTests/Fixtures/gim_smollm2.json'))
want = {c['setting']: c['attributions'] for c in ref['cases'] if c['prompt'] == 'The capital of France is' and c['target_position'] == -1 and c['setting'] in ('gim_014', 'plain') and c['target_token_id'] == 7042}
for key, name in (('attributions', 'gim_014'), ('plain_attributions', 'plain')):
    got, exp = d[key], want[name]
    scale = max(abs(x) for x in exp)
    assert max(abs(a - b) for a, b in zip(got, exp)) <= 1e-3 * scale, (key, got, exp)
assert d['target_token_id'] == 7042 and d['baseline_token_id'] == 216
for k in ('token_ids','tokens','target_token','target_position','settings','timing_ms'): assert k in d, k
"

# Negative numbers written the ordinary way (`--target-position -1`, not only `--target-position=-1`).
"$gim" explain --model "$model" --prompt "The capital of France is" --target-position -2 --json > "$tmp/neg.json" 2> "$tmp/err"
"$gim" explain --model "$model" --prompt "The capital of France is" --target-position=-2 --json > "$tmp/neg-eq.json" 2>> "$tmp/err"
check "explain --target-position -2 (space) is position 3, as --target-position=-2" py "
import json
a, b = json.load(open('$tmp/neg.json')), json.load(open('$tmp/neg-eq.json'))
assert a['target_position'] == b['target_position'] == 3 and a['attributions'] == b['attributions'], (a['target_position'], b['target_position'])"
check "explain --json writes freeze_norm as a JSON boolean" py "
import json
d = json.load(open('$tmp/explain.json'))
assert d['settings']['freeze_norm'] is True, d['settings']
assert all(type(v) is float or type(v) is int for k, v in d['settings'].items() if k != 'freeze_norm'), d['settings']"
"$gim" explain --model "$model" --prompt "The capital of France is" --no-freeze-norm --json > "$tmp/nofreeze.json" 2>> "$tmp/err"
check "explain --no-freeze-norm --json: freeze_norm is false" py "
import json; d = json.load(open('$tmp/nofreeze.json')); assert d['settings']['freeze_norm'] is False, d['settings']"

"$gim" explain --model "$model" --prompt "The capital of France is" --method gim,plain,attnlrp,cplrp,integrated-gradients,occlusion,random --ig-steps 8 --json > "$tmp/methods.json" 2>> "$tmp/err"
check "explain --method: one attribution per method with its settings; gim and plain equal the default columns" py "
import json
d = json.load(open('$tmp/methods.json')); m = {x['method']: x for x in d['methods']}
assert list(m) == ['gim','plain','attnlrp','cplrp','integrated-gradients','occlusion','random'], list(m)
assert m['gim']['attributions'] == d['attributions'] and m['plain']['attributions'] == d['plain_attributions']
assert m['attnlrp']['settings']['activation_rule'] == 'identity' and m['attnlrp']['settings']['input_baseline'] == 'zero'
assert m['cplrp']['settings']['q_scale'] == 0 and m['cplrp']['settings']['gate_scale'] == 0
assert m['integrated-gradients']['steps'] == 8 and m['random']['seed'] == 0
assert all(len(x['attributions']) == len(d['token_ids']) for x in m.values())
assert 'activation_rule' not in d['settings'], 'the default settings keep their shape'"
"$gim" explain --model "$model" --prompt "The capital of France is" --method attnlrp > "$tmp/methods.txt" 2>> "$tmp/err"
check "explain --method attnlrp prints its table" grep -q "AttnLRP" "$tmp/methods.txt"

expect_error() {  # expect_error NAME PATTERN COMMAND...: non-zero exit and the pattern on stderr
  local name="$1" pattern="$2"; shift 2
  if "$@" > "$tmp/out" 2> "$tmp/err"; then echo "  exited 0"; return 1; fi
  grep -q -- "$pattern" "$tmp/err" || { echo "  stderr was: $(head -c 300 "$tmp/err")"; return 1; }
}
check "error: unknown method" expect_error badmethod "unknown attribution method" "$gim" explain --model "$model" --prompt hi --method lime
check "error: IG steps out of range" expect_error badsteps "ig-steps" "$gim" explain --model "$model" --prompt hi --method ig --ig-steps 0
check "error: unknown activation rule" expect_error badrule "activation-rule" "$gim" explain --model "$model" --prompt hi --activation-rule relu
check "error: missing model file" expect_error missing "not found" "$gim" predict --model /nonexistent.gguf --prompt hi
printf 'PK\003\004not a model' > "$tmp/foreign.gguf"
check "error: foreign file" expect_error foreign "not a GGUF file" "$gim" predict --model "$tmp/foreign.gguf" --prompt hi
head -c 5000000 "$model" > "$tmp/truncated.gguf"
check "error: truncated model" expect_error truncated "truncated" "$gim" predict --model "$tmp/truncated.gguf" --prompt hi
check "error: empty prompt" expect_error empty "empty" "$gim" explain --model "$model" --prompt ""
check "error: temperature out of range" expect_error temp "out of range" "$gim" explain --model "$model" --prompt hi --temperature 0
check "error: non-numeric knob" expect_error nonnum "q-scale" "$gim" explain --model "$model" --prompt hi --q-scale abc
check "error: target position out of range" expect_error pos "out of range" "$gim" explain --model "$model" --prompt hi --target-position 99
check "error: token id outside vocabulary" expect_error vocab "outside the vocabulary" "$gim" explain --model "$model" --token-ids 1,2,99999999

check "error: negative knob reaches the range check" expect_error negknob "q_scale -1.0 is out of range" "$gim" explain --model "$model" --prompt hi --q-scale -1
check "error: negative target token id reaches the vocabulary check" expect_error negtarget "outside the vocabulary" "$gim" explain --model "$model" --prompt hi --target-token-id -5
check "error: negative --top-k reaches the range check" expect_error negtopk "between 1 and 100" "$gim" predict --model "$model" --prompt hi --top-k -3
check "error: negative --runs reaches the range check" expect_error negruns "between 3 and 100" "$gim" bench --model "$model" --runs -1
check "error: negative --max-tokens reaches the range check" expect_error negmax "between 1 and 1000" "$gim" generate --model "$model" --prompt hi --max-tokens -4
check "error: a missing value is still named" expect_error missingvalue "Missing value" "$gim" explain --model "$model" --prompt hi --target-position
check "bench --help names no machine's path, only \$GIM_PYTHON, setup-pytorch.sh and python3" bash -c "
h=\$('$gim' bench --help); ! grep -q '/work' <<< \"\$h\" && grep -q 'GIM_PYTHON' <<< \"\$h\" && grep -q 'setup-pytorch.sh' <<< \"\$h\""
check "error: invalid UTF-8 argument" expect_error utf8 "not valid UTF-8" "$gim" predict --model "$model" --prompt "$(printf 'abc\377')"
check "error: GIM_THREADS not a number" expect_error threads "GIM_THREADS must be" env GIM_THREADS=lots "$gim" predict --model "$model" --prompt hi
check "error: GIM_THREADS=0" expect_error threads0 "from 1 to 64" env GIM_THREADS=0 "$gim" predict --model "$model" --prompt hi
check "error: GIM_THREADS=65" expect_error threads65 "from 1 to 64" env GIM_THREADS=65 "$gim" predict --model "$model" --prompt hi
check "error: GIM_THREADS=+4" expect_error threadsplus "from 1 to 64" env GIM_THREADS=+4 "$gim" predict --model "$model" --prompt hi
check "GIM_THREADS=64 is accepted" bash -c "GIM_THREADS=64 '$gim' predict --model '$model' --prompt hi > /dev/null"
check "error: unknown GIM_LINEAR_KERNEL" expect_error kernel "GIM_LINEAR_KERNEL must be" env GIM_LINEAR_KERNEL=fast "$gim" predict --model "$model" --prompt hi
check "error: unknown GIM_ATTENTION_KERNEL" expect_error akernel "GIM_ATTENTION_KERNEL must be" env GIM_ATTENTION_KERNEL=flash "$gim" predict --model "$model" --prompt hi
check "GIM_THREADS=1 and the OpenBLAS path give the same top token" py "
import json, subprocess, os
def top(extra):
    out = subprocess.run(['$gim', 'predict', '--model', '$model', '--prompt', 'The capital of France is', '--json'],
                         env={**os.environ, **extra}, capture_output=True, text=True, check=True).stdout
    return json.loads(out)['next'][0]
a, b = top({'GIM_THREADS': '1'}), top({'GIM_LINEAR_KERNEL': 'openblas'})
assert a['id'] == b['id'] == 7042 and abs(a['logit'] - b['logit']) < 1e-3, (a, b)"
printf 'abc\377def' > "$tmp/bad.txt"
check "error: invalid UTF-8 prompt file" expect_error utf8file "not valid UTF-8" "$gim" predict --model "$model" --prompt-file "$tmp/bad.txt"
python3 -c "print('word ' * 9000)" > "$tmp/huge.txt"
check "error: prompt longer than the model's context" expect_error huge "context holds 8192" "$gim" explain --model "$model" --prompt-file "$tmp/huge.txt"
check "control characters are shown escaped" bash -c "'$gim' predict --model '$model' --prompt \"\$(printf 'a\tb\x01c')\" | grep -q 'u{1}'"

"$gim" evaluate --model "$model" --prompts data/prompts.jsonl --limit 3 --bootstrap 200 --json > "$tmp/eval.json" 2> "$tmp/eval.err"
check "evaluate: 3 prompts scored for GIM, plain and random" py "
import json
d = json.load(open('$tmp/eval.json'))
assert d['evaluated'] == 3, d['evaluated']
assert set(d['summary']) >= {'gim', 'plain', 'random'} or len(d['summary']) >= 3, d['summary'].keys()
assert len(d['prompts']) == 3
assert d['settings']['freeze_norm'] is True, d['settings']
"
printf '{"prompt": "ok"}\nnot json\n' > "$tmp/bad.jsonl"
"$gim" evaluate --model "$model" --prompts data/prompts.jsonl --limit 3 --bootstrap 200 --methods gim,plain,occlusion,random --json > "$tmp/evalm.json" 2> "$tmp/eval.err"
check "evaluate --methods: every prompt gets comprehensiveness and sufficiency in logits; occlusion beats random on comprehensiveness" py "
import json
d = json.load(open('$tmp/evalm.json'))
assert d['evaluated'] == 3 and d['reference_method'] == 'gim' and set(d['versus_reference']) == {'plain', 'occlusion', 'random'}
for p in d['prompts']:
    for name, m in p['methods'].items():
        assert m['metrics']['comprehensiveness_logits'] is not None and m['metrics']['sufficiency_logits'] is not None, name
        assert len(m['comprehensiveness_drops']) == len(p['comprehensiveness_counts']) == min(50, p['token_count'])
        c = m['comprehensiveness_curve']
        assert len(c) == len(m['comprehensiveness_drops']) + 1 and abs(c[0] - p['target_logit']) < 1e-4, name
        assert all(abs(c[0] - f - dr) < 1e-4 for f, dr in zip(c[1:], m['comprehensiveness_drops'])), name
s = d['summary']
assert s['occlusion']['comprehensiveness_logits']['mean'] > s['random']['comprehensiveness_logits']['mean'], s"
check "error: malformed prompt set" expect_error badjsonl "bad.jsonl:2" "$gim" evaluate --model "$model" --prompts "$tmp/bad.jsonl"

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
