import Foundation

/// The chat formats with a built-in equivalent of their Jinja template. There is no Jinja engine
/// here: a template is recognised from its text (`ChatTemplate.init(recognizing:)`), and each
/// family below renders exactly what its template renders with `add_generation_prompt=True`.
public enum ChatTemplateFamily: String, Sendable, Codable, CaseIterable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (SmolLM2, Qwen 2/2.5), with the template's own
    /// default system message when the conversation has none (SmolLM2's and Qwen 2.5's templates
    /// write one).
    case chatML = "chatml"
    /// Llama 3 (3.0 Instruct): `bos <|start_header_id|>role<|end_header_id|>\n\n` + trimmed
    /// content + `<|eot_id|>`.
    case llama3
    /// Gemma 1/2: `bos <start_of_turn>user|model\n` + trimmed content + `<end_of_turn>\n`; no
    /// system role (the template raises, as transformers does).
    case gemma
    /// Gemma 3: as Gemma, a system message becomes the first user turn's prefix (+ "\n\n").
    case gemma3
    /// Mistral Instruct v0.1/v0.2: `bos [INST] user [/INST]assistant eos`, no system role; or
    /// the 2024 revision of the same templates: `bos [INST] system\n\nuser [/INST] assistant eos`.
    case mistralInst = "mistral-inst"
    /// Phi-3 / Phi-3.5: `<|role|>\ncontent<|end|>\n` (Phi-3.5 leaves out an empty system message).
    case phi3

    public var displayName: String {
        switch self {
        case .chatML: return "ChatML"
        case .llama3: return "Llama 3"
        case .gemma: return "Gemma"
        case .gemma3: return "Gemma 3"
        case .mistralInst: return "Mistral [INST]"
        case .phi3: return "Phi-3"
        }
    }
}

/// A model's chat template, recognised as one of the built-in families, and what it renders.
public struct ChatTemplate: Sendable, Equatable {
    public let family: ChatTemplateFamily
    /// The system message the template writes when the conversation has none (ChatML only).
    public let defaultSystemPrompt: String?
    /// The tokenizer's BOS/EOS text, as the template's `bos_token` / `eos_token`.
    public let bosToken: String?
    public let eosToken: String?
    /// Variants inside a family, read from the template text.
    let mistralSpaceAfterEOS: Bool
    /// Mistral's 2024 template (v0.2 and Mixtral v0.1 as published since): an optional system
    /// message becomes the first user turn's prefix (+ "\n\n"), ` [INST] ` and the answer each
    /// start with a space.
    let mistralSystemTurn: Bool
    let phi3BOS: Bool
    /// Phi-3.5: a system message with empty content is left out.
    let phi3SkipsEmptySystem: Bool

    /// Whether a system prompt can be given (else `render` throws `systemRoleUnsupported`).
    public var supportsSystemRole: Bool { family != .gemma && (family != .mistralInst || mistralSystemTurn) }

    /// The text of `messages` in the model's chat format, with the assistant's turn opened
    /// (transformers' `apply_chat_template(messages, add_generation_prompt=True, tokenize=False)`).
    /// Encode it with `addSpecialTokens: false`: the template writes BOS itself where it wants one.
    public func render(_ messages: [ChatMessage]) throws -> String {
        guard !messages.isEmpty else { throw ChatTemplateError.emptyConversation }
        switch family {
        case .chatML:
            var out = ""
            if messages[0].role != .system, let system = defaultSystemPrompt {
                out += "<|im_start|>system\n\(system)<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n" }
            return out + "<|im_start|>assistant\n"
        case .llama3:
            var out = try token(bosToken, "bos_token")
            for m in messages {
                out += "<|start_header_id|>\(m.role.rawValue)<|end_header_id|>\n\n\(Self.trim(m.content))<|eot_id|>"
            }
            return out + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        case .gemma, .gemma3:
            var turns = messages[...]
            var prefix = ""
            if turns.first?.role == .system {
                guard family == .gemma3 else { throw ChatTemplateError.systemRoleUnsupported(family) }
                prefix = turns.removeFirst().content + "\n\n"
            }
            try checkAlternation(Array(turns))
            var out = try token(bosToken, "bos_token")
            for (i, m) in turns.enumerated() {
                let role = m.role == .assistant ? "model" : m.role.rawValue
                out += "<start_of_turn>\(role)\n\(i == 0 ? prefix : "")\(Self.trim(m.content))<end_of_turn>\n"
            }
            return out + "<start_of_turn>model\n"
        case .mistralInst:
            var turns = messages[...]
            var system: String?
            if mistralSystemTurn, turns.first?.role == .system { system = turns.removeFirst().content }
            try checkAlternation(Array(turns))
            guard !turns.contains(where: { $0.role == .system }) else { throw ChatTemplateError.systemRoleUnsupported(family) }
            var out = try token(bosToken, "bos_token")
            let space = mistralSystemTurn ? " " : ""
            for (i, m) in turns.enumerated() {
                if m.role == .user {
                    let prefix = i == 0 ? system.map { $0 + "\n\n" } ?? "" : ""
                    out += "\(space)[INST] \(prefix)\(m.content) [/INST]"
                } else {
                    out += space + m.content + (try token(eosToken, "eos_token")) + (mistralSpaceAfterEOS ? " " : "")
                }
            }
            return out  // the template has no generation prompt: the text ends with [/INST]
        case .phi3:
            var out = phi3BOS ? try token(bosToken, "bos_token") : ""
            for m in messages where !(phi3SkipsEmptySystem && m.role == .system && m.content.isEmpty) {
                out += "<|\(m.role.rawValue)|>\n\(m.content)<|end|>\n"
            }
            return out + "<|assistant|>\n"
        }
    }

    /// `render` of the conversation chat mode builds: optional system prompt, then the user's prompt.
    public func render(user: String, system: String? = nil) throws -> String {
        try render(ChatMessage.conversation(user: user, system: system))
    }

    private func token(_ text: String?, _ name: String) throws -> String {
        guard let text else { throw ChatTemplateError.missingToken(name) }
        return text
    }

    /// Gemma's and Mistral's check: message i is the user's exactly when i is even (a system
    /// message counts as not-user, so a leading one fails it, as in their templates).
    private func checkAlternation(_ messages: [ChatMessage]) throws {
        for (i, m) in messages.enumerated() where (m.role == .user) != (i % 2 == 0) {
            throw m.role == .system ? ChatTemplateError.systemRoleUnsupported(family) : ChatTemplateError.rolesMustAlternate(family)
        }
    }

    /// Jinja's `trim` (Python's `str.strip()`): leading and trailing whitespace removed.
    static func trim(_ s: String) -> String {
        s.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension BPETokenizer {
    /// The token ids of `messages` in `template`'s format, assistant turn opened: the ids of
    /// transformers' `apply_chat_template(..., add_generation_prompt=True, tokenize=True)`. The
    /// special tokens the template writes (`<|im_start|>`, `<start_of_turn>`, BOS, ...) become
    /// their ids through the special-token splitter; no BOS/EOS is added beyond the template's.
    public func encodeChat(_ messages: [ChatMessage], template: ChatTemplate) throws -> [Int] {
        encode(try template.render(messages), addSpecialTokens: false)
    }

    /// The chat template's `bos_token` / `eos_token` texts for this tokenizer.
    var chatTokenTexts: (bos: String?, eos: String?) {
        (bosID.map { tokenString($0) }, eosID.map { tokenString($0) })
    }

    /// Recognises `text` (a Jinja chat template) with this tokenizer's BOS/EOS.
    public func chatTemplate(_ text: String) throws -> ChatTemplate {
        let (bos, eos) = chatTokenTexts
        return try ChatTemplate(recognizing: text, bosToken: bos, eosToken: eos)
    }
}
