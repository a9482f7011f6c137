/// One turn of a conversation, as transformers' `apply_chat_template` takes it
/// (`{"role": ..., "content": ...}`).
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        case system, user, assistant
    }

    public var role: Role
    public var content: String

    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }

    /// The conversation chat mode builds from a prompt: an optional system message, then the
    /// prompt as the user's message.
    public static func conversation(user: String, system: String? = nil) -> [ChatMessage] {
        (system.map { [ChatMessage(.system, $0)] } ?? []) + [ChatMessage(.user, user)]
    }
}

/// Why a conversation could not be put in the model's chat format.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable {
    /// The model file carries no chat template.
    case noTemplate(String)
    /// The template is not one of the families with a built-in equivalent (`ChatTemplateFamily`).
    case unrecognized(String)
    /// The family has no system role and its template raises on one (Gemma 1/2, Mistral v0.1).
    case systemRoleUnsupported(ChatTemplateFamily)
    /// The family's template raises unless user and assistant turns alternate, user first.
    case rolesMustAlternate(ChatTemplateFamily)
    /// The template writes `bos_token` / `eos_token` but the tokenizer has none.
    case missingToken(String)
    case emptyConversation

    public var description: String {
        switch self {
        case .noTemplate(let model):
            return "\(model) has no chat template (GGUF tokenizer.chat_template, or chat_template in tokenizer_config.json / chat_template.jinja): chat mode is off"
        case .unrecognized(let why):
            return "unrecognised chat template: \(why); chat mode needs one of the built-in families (\(ChatTemplateFamily.allCases.map(\.displayName).joined(separator: ", "))), it never approximates a template"
        case .systemRoleUnsupported(let f):
            return "the \(f.displayName) chat template has no system role (its template raises on a system message): drop the system prompt"
        case .rolesMustAlternate(let f):
            return "the \(f.displayName) chat template needs user and assistant turns to alternate, starting with the user"
        case .missingToken(let what):
            return "the chat template writes \(what) but the tokenizer has none"
        case .emptyConversation:
            return "the conversation has no message"
        }
    }
}
