import Foundation

extension ChatTemplate {
    /// Recognises a Jinja chat template as one of `ChatTemplateFamily`, or throws
    /// `ChatTemplateError.unrecognized` naming what it saw. Recognition looks for the exact
    /// expressions that write each family's turns (in `TemplateCode`'s spelling: no layout
    /// whitespace, one quote style), so a variant that renders anything else (other spacing, a
    /// date header, thinking blocks) is refused rather than approximated.
    public init(recognizing text: String, bosToken: String?, eosToken: String?) throws {
        let code = TemplateCode(text).code
        func has(_ s: String) -> Bool { code.contains(s) }
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.mistralSpaceAfterEOS = has("message['content']+eos_token+' '")
        let mistralSystemTurn = has("' [INST] '+system_message+'\\n\\n'+message['content']+' [/INST]'")
        self.mistralSystemTurn = mistralSystemTurn
        self.phi3BOS = code.hasPrefix("{{bos_token}}")
        self.phi3SkipsEmptySystem = has("message['role']=='system'andmessage['content']%}")
        var defaultSystem: String?

        // Features no built-in renders: refuse them by name.
        for (marker, what) in [("<think>", "a reasoning template (<think> blocks, e.g. Qwen 3)"),
                               ("strftime_now", "a template that writes today's date"),
                               ("Cutting Knowledge Date", "Llama 3.1+'s date and tools header"),
                               ("[AVAILABLE_TOOLS]", "a Mistral tools template (v0.3 / Nemo)")] where has(marker) {
            throw ChatTemplateError.unrecognized(what)
        }

        let family: ChatTemplateFamily
        if has("'<|im_start|>'+message['role']+'\\n'+message['content']+'<|im_end|>'+'\\n'")
            || has("'<|im_start|>'+message['role']+'\\n'+message['content']+'<|im_end|>\\n'") {
            guard has("'<|im_start|>assistant\\n'") else { throw ChatTemplateError.unrecognized("ChatML without an assistant generation prompt") }
            guard !has("bos_token") else { throw ChatTemplateError.unrecognized("ChatML that writes bos_token") }
            family = .chatML
            defaultSystem = Self.chatMLDefaultSystem(code)
        } else if has("'<|start_header_id|>'+message['role']+'<|end_header_id|>\\n\\n'+message['content']|trim+'<|eot_id|>'") {
            guard has("bos_token+content"), has("'<|start_header_id|>assistant<|end_header_id|>\\n\\n'") else {
                throw ChatTemplateError.unrecognized("a Llama 3-style template with another BOS or generation prompt")
            }
            family = .llama3
        } else if has("'<start_of_turn>'+role+'\\n'+message['content']|trim+'<end_of_turn>\\n'") {
            guard has("raise_exception('System role not supported')"), code.hasPrefix("{{bos_token}}"),
                  has("'<start_of_turn>model\\n'") else {
                throw ChatTemplateError.unrecognized("a Gemma-style template with another system handling")
            }
            family = .gemma
        } else if has("'<start_of_turn>'+role+'\\n'+(first_user_prefixifloop.firstelse'')") {
            guard has("messages[0]['content']+'\\n\\n'"), has("message['content']|trim"), has("'<end_of_turn>\\n'"),
                  code.hasPrefix("{{bos_token}}"), has("'<start_of_turn>model\\n'") else {
                throw ChatTemplateError.unrecognized("a Gemma 3-style template with other turn text")
            }
            family = .gemma3
        } else if has("'[INST] '+message['content']+' [/INST]'") {
            guard code.hasPrefix("{{bos_token}}"), has("message['content']+eos_token"),
                  has("raise_exception('Only user and assistant roles are supported!')") else {
                throw ChatTemplateError.unrecognized("an [INST] template other than Mistral Instruct v0.1/v0.2")
            }
            family = .mistralInst
        } else if mistralSystemTurn {
            // The 2024 revision of the v0.2 (and Mixtral v0.1) template: an optional system
            // message joins the first user turn, and a space opens every [INST] and every answer.
            guard has("{{bos_token}}{%formessageinloop_messages%}"), has("{%setloop_messages=messages[1:]%}"),
                  has("{%ifloop.firstandsystem_messageisdefined%}"), has("' [INST] '+message['content']+' [/INST]'"),
                  has("' '+message['content']+eos_token"),
                  has("raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!')") else {
                throw ChatTemplateError.unrecognized("an [INST] template with a system message other than Mistral Instruct v0.1/v0.2's")
            }
            family = .mistralInst
        } else if has("'<|user|>\\n'+message['content']+'<|end|>\\n'") {
            guard has("'<|system|>\\n'+message['content']+'<|end|>\\n'"),
                  has("'<|assistant|>\\n'+message['content']+'<|end|>\\n'"), has("'<|assistant|>\\n'}}") else {
                throw ChatTemplateError.unrecognized("a Phi-3-style template with other system or assistant turns")
            }
            family = .phi3
        } else {
            let start = text.prefix(60).replacingOccurrences(of: "\n", with: "\\n")
            throw ChatTemplateError.unrecognized("no known family's turn expression in \"\(start)…\"")
        }
        self.family = family
        self.defaultSystemPrompt = defaultSystem
    }

    /// The system message a ChatML template writes as one literal when none is given:
    /// `'<|im_start|>system\n<text><|im_end|>\n'` (SmolLM2, Qwen 2.5). nil when there is none.
    static func chatMLDefaultSystem(_ code: String) -> String? {
        let open = "'<|im_start|>system\\n"
        var search = code.startIndex..<code.endIndex
        while let r = code.range(of: open, range: search) {
            search = r.upperBound..<code.endIndex
            // The literal's text up to its closing quote (escapes skipped).
            var i = r.upperBound, raw = ""
            while i < code.endIndex, code[i] != "'" {
                if code[i] == "\\", code.index(after: i) < code.endIndex {
                    raw.append(code[i]); i = code.index(after: i)
                }
                raw.append(code[i]); i = code.index(after: i)
            }
            guard raw.hasSuffix("<|im_end|>\\n"), raw.count > "<|im_end|>\\n".count else { continue }
            return TemplateCode.unescape(String(raw.dropLast("<|im_end|>\\n".count)))
        }
        return nil
    }
}

/// A Jinja template's text in one spelling, so expressions can be compared as strings: outside
/// string literals every whitespace character and the `-` of `{%-`, `-%}`, `{{-`, `-}}` are
/// dropped; every literal is written with single quotes, a newline inside one as `\n`;
/// `message.role` and `message.content` become `message['role']`, `message['content']`.
struct TemplateCode {
    let code: String

    init(_ text: String) {
        var out = ""
        var quote: Character?
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if let q = quote {
                if c == "\\", let next = chars.popFirst() {
                    out.append(c); out.append(next == "\"" ? "\"" : next)
                } else if c == q {
                    out.append("'"); quote = nil
                } else if c == "\n" {
                    out += "\\n"
                } else if c == "'" {
                    out += "\\'"
                } else {
                    out.append(c)
                }
            } else if c == "'" || c == "\"" {
                out.append("'"); quote = c
            } else if !c.isWhitespace {
                out.append(c)
            }
        }
        for (from, to) in [("{%-", "{%"), ("-%}", "%}"), ("{{-", "{{"), ("-}}", "}}"),
                           ("message.role", "message['role']"), ("message.content", "message['content']")] {
            out = out.replacingOccurrences(of: from, with: to)
        }
        code = out
    }

    /// A literal's text with its escapes (`\n`, `\t`, `\'`, `\"`, `\\`) resolved.
    static func unescape(_ s: String) -> String {
        var out = ""
        var chars = Array(s)[...]
        while let c = chars.popFirst() {
            guard c == "\\", let next = chars.popFirst() else { out.append(c); continue }
            switch next {
            case "n": out.append("\n")
            case "t": out.append("\t")
            default: out.append(next)
            }
        }
        return out
    }
}
