#!/usr/bin/env python3
"""Golden chat-formatted token ids: transformers' apply_chat_template(..., add_generation_prompt=True,
tokenize=True) for each chat-template family the engine recognises (Swift: ChatTemplate).

Writes Tests/GIMEngineTests/Fixtures/chat/:
  <family>/tokenizer.json, tokenizer_config.json (or chat_template.jinja)
        a small real tokenizer of the family's kind (the tiny family tokenizers of
        Tests/GIMEngineTests/Fixtures/families/<kind>/hf/) with the template's special tokens
        added as special tokens, and the family's official chat template
  golden.json
        per family and conversation: the formatted text and the ids transformers gives, or
        "error" when transformers' template raises (e.g. Gemma 1/2 and a system message)

SmolLM2 uses the default model's own GGUF: its tokenizer.chat_template, and its real tokenizer
pipeline rebuilt from the GGUF (make_fixtures.build_smollm2_tokenizer), so the Swift test reads the
template from the GGUF as the CLI does.

The other templates are not available offline here, so they are written below as data: the
official template strings as published in each model's tokenizer_config.json on the Hugging Face
Hub (model named beside each). They were written from the published text, not downloaded, so a
byte of whitespace outside the rendered strings may differ; what the test relies on is what they
render, which is the official format.

Run from the repository root:  .venv/bin/python scripts/reference/make_chat_fixtures.py
"""
import json
import os
import shutil
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tokenizers import AddedToken, Tokenizer  # noqa: E402
from transformers import AutoTokenizer, PreTrainedTokenizerFast  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FAMILIES = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "families")
OUT = os.path.join(ROOT, "Tests", "GIMEngineTests", "Fixtures", "chat")
GGUF = os.environ.get("GIM_MODEL", os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))

# Qwen/Qwen2.5-0.5B-Instruct (the same in every Qwen2.5 Instruct size): ChatML with a default
# system prompt when the conversation has none.
QWEN25 = r'''{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
'''

# meta-llama/Meta-Llama-3-8B-Instruct
LLAMA3 = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
          "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
          "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
          "{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")

# google/gemma-2b-it and google/gemma-2-2b-it (no system role: the template raises)
GEMMA = ("{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
         "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
         "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
         "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
         "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
         "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")

# google/gemma-3-1b-it (a system message becomes a prefix of the first user turn)
GEMMA3 = r'''{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
'''

# mistralai/Mistral-7B-Instruct-v0.1 / v0.2 ([INST] without a system role)
MISTRAL = ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
           "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
           "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
           "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
           "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")

# microsoft/Phi-3-mini-4k-instruct
PHI3 = ("{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
        "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
        "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}")

# family -> (tiny tokenizer kind, template, special tokens to add, where the template goes)
TINY = {
    "qwen2.5": ("qwen2", QWEN25, ["<|im_start|>", "<|im_end|>"], "tokenizer_config.json"),
    "llama3": ("llama3", LLAMA3, ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], "tokenizer_config.json"),
    "gemma": ("gemma", GEMMA, ["<start_of_turn>", "<end_of_turn>"], "chat_template.jinja"),
    "gemma3": ("gemma3", GEMMA3, ["<start_of_turn>", "<end_of_turn>"], "chat_template.jinja"),
    "mistral": ("mistral", MISTRAL, [], "tokenizer_config.json"),
    "phi3": ("phi3", PHI3, ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"], "tokenizer_config.json"),
}

CONVERSATIONS = [
    {"name": "user", "messages": [{"role": "user", "content": "Hello, who are you?"}]},
    {"name": "system+user", "messages": [{"role": "system", "content": "You are a terse assistant."},
                                         {"role": "user", "content": "What is 2+2?"}]},
    {"name": "multi-turn", "messages": [{"role": "user", "content": "Hi there"},
                                        {"role": "assistant", "content": "Hello! How can I help?"},
                                        {"role": "user", "content": "Tell me a joke."}]},
    {"name": "system+multi-turn", "messages": [{"role": "system", "content": "Answer in one word."},
                                               {"role": "user", "content": "Capital of France?"},
                                               {"role": "assistant", "content": "Paris"},
                                               {"role": "user", "content": "And of Italy?"}]},
    {"name": "unicode", "messages": [{"role": "user", "content": "Café — naïve 日本語 🙂 ok?"}]},
    {"name": "whitespace", "messages": [{"role": "user", "content": "  padded text \n"}]},
]


def render(tok, messages):
    try:
        text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        return {"text": text, "ids": list(ids)}
    except Exception as e:  # the template raised (e.g. a system message where there is no system role)
        return {"error": str(e)}


def make_tiny(family, kind, template, specials, where):
    src = os.path.join(FAMILIES, kind, "hf")
    out = os.path.join(OUT, family)
    os.makedirs(out, exist_ok=True)
    tok = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
    if specials:
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(src, "tokenizer_config.json")) as f:
        config = json.load(f)
    for stale in ("chat_template.jinja",):
        if os.path.exists(os.path.join(out, stale)):
            os.remove(os.path.join(out, stale))
    if where == "tokenizer_config.json":
        config["chat_template"] = template
    else:
        config.pop("chat_template", None)
        with open(os.path.join(out, "chat_template.jinja"), "w") as f:
            f.write(template)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=1, ensure_ascii=False)
    for extra in ("tokenizer.model",):  # the fast tokenizer alone is the reference
        if os.path.exists(os.path.join(out, extra)):
            os.remove(os.path.join(out, extra))
    hf = AutoTokenizer.from_pretrained(out)
    assert hf.chat_template is not None and hf.chat_template.strip() == template.strip(), family
    return hf


def make_smollm2():
    import gguf
    from make_fixtures import build_smollm2_tokenizer

    r = gguf.GGUFReader(GGUF)
    template = r.fields["tokenizer.chat_template"].contents()
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    bos = tokens[r.fields["tokenizer.ggml.bos_token_id"].contents()]
    eos = tokens[r.fields["tokenizer.ggml.eos_token_id"].contents()]
    tok, _ = build_smollm2_tokenizer(GGUF)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, chat_template=template)


def main():
    golden = {"source": (
        "transformers " + __import__("transformers").__version__ + ": tok.apply_chat_template(messages, "
        "add_generation_prompt=True, tokenize=True) (the rendered text is encoded without adding BOS/EOS); "
        "'text' is the same with tokenize=False; 'error' is the exception transformers raised. "
        "smollm2: the default model's GGUF template and real tokenizer; the others: "
        "Fixtures/chat/<family>/ (see scripts/reference/make_chat_fixtures.py for the templates' sources)."),
        "families": {}}
    if os.path.exists(GGUF):
        hf = make_smollm2()
        golden["families"]["smollm2"] = {"folder": None, "cases": [
            dict(name=c["name"], messages=c["messages"], **render(hf, c["messages"])) for c in CONVERSATIONS]}
    else:
        print(f"warning: {GGUF} missing, smollm2 cases skipped")
    for family, (kind, template, specials, where) in TINY.items():
        hf = make_tiny(family, kind, template, specials, where)
        golden["families"][family] = {"folder": family, "cases": [
            dict(name=c["name"], messages=c["messages"], **render(hf, c["messages"])) for c in CONVERSATIONS]}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for family, entry in golden["families"].items():
        errors = sum("error" in c for c in entry["cases"])
        print(f"{family}: {len(entry['cases'])} conversations, {errors} raise")
        first = entry["cases"][1]
        print("   ", repr(first.get("text", first.get("error"))))


if __name__ == "__main__":
    shutil.os.makedirs(OUT, exist_ok=True)
    main()
