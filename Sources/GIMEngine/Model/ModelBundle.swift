import Foundation

/// A loaded model with its tokenizer: what the CLI and the explorer open.
public final class ModelBundle: Sendable {
    public let path: String
    public let name: String
    public let model: CausalLanguageModel
    public let tokenizer: BPETokenizer
    /// Seconds to map, parse and dequantize the file.
    public let loadSeconds: Double
    /// The model's Jinja chat template as the file carries it (GGUF `tokenizer.chat_template`;
    /// a folder's chat_template.jinja or tokenizer_config.json `chat_template`), nil if none.
    public let chatTemplateText: String?

    public init(path: String, name: String, model: CausalLanguageModel, tokenizer: BPETokenizer, loadSeconds: Double,
                chatTemplateText: String? = nil) {
        self.path = path
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.loadSeconds = loadSeconds
        self.chatTemplateText = chatTemplateText
    }

    /// Opens a GGUF model file or a Hugging Face model folder (config.json, safetensors, tokenizer.json).
    public static func load(path: String) throws -> ModelBundle {
        let path = try HFCache.resolve(path, environment: ProcessInfo.processInfo.environment)  // "Owner/Name" from the local HF cache
        let start = DispatchTime.now()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ModelError.badInput("model file not found: \(path)\(path == defaultModelPath ? " (run models/fetch.sh to download the default model)" : "")")
        }
        if isDir.boolValue { return try loadFolder(path: path) }  // a Hugging Face model folder
        let gguf = try GGUFFile(path: path)
        let tokenizer = try BPETokenizer(gguf: gguf)
        let weights = try DecoderWeights(gguf: gguf)
        guard tokenizer.vocabSize <= weights.config.vocabSize else {
            throw ModelError.shapeMismatch("\(path): the tokenizer has \(tokenizer.vocabSize) tokens but the model only \(weights.config.vocabSize)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let name = gguf.metadata["general.name"]?.stringValue ?? URL(fileURLWithPath: path).lastPathComponent
        return ModelBundle(path: path, name: name, model: DecoderModel(weights: weights), tokenizer: tokenizer,
                           loadSeconds: seconds, chatTemplateText: gguf.metadata["tokenizer.chat_template"]?.stringValue)
    }

    public static let defaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// Where the default model is looked for: $GIM_MODEL, then ./models/, then models/ beside the
    /// package that built the running executable (…/.build/release/gim → …/models/).
    public static var defaultModelPath: String {
        if let env = ProcessInfo.processInfo.environment["GIM_MODEL"], !env.isEmpty { return env }
        let local = FileManager.default.currentDirectoryPath + "/models/" + defaultModelFile
        if FileManager.default.fileExists(atPath: local) { return local }
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("models/" + defaultModelFile).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return local
    }

    /// The baseline token inferred from the tokenizer (the space token for SmolLM2).
    public func inferredBaseline() throws -> Int { try BaselineToken.infer(tokenizer) }

    /// Token ids of a prompt (with BOS when the model asks for it).
    public func encode(_ prompt: String) -> [Int] { tokenizer.encode(prompt, addSpecialTokens: true) }

    /// The model's chat template recognised as a built-in family; throws `ChatTemplateError`
    /// (no template, or one that is not recognised: chat mode is then off).
    public func chatTemplate() throws -> ChatTemplate {
        guard let text = chatTemplateText else { throw ChatTemplateError.noTemplate(name) }
        return try tokenizer.chatTemplate(text)
    }

    /// Chat mode's token ids: `prompt` as the user's message (after `system`, when given) in the
    /// model's chat format with the assistant's turn opened, so the next token is the answer's first.
    public func encodeChat(user prompt: String, system: String? = nil) throws -> [Int] {
        try tokenizer.encodeChat(ChatMessage.conversation(user: prompt, system: system), template: chatTemplate())
    }

    /// Tokens that end a generated answer: EOS and the end-of-turn tokens of the chat formats
    /// (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`, `<|end|>`, `<|endoftext|>`) the vocabulary
    /// has as special tokens.
    public var stopTokenIDs: Set<Int> {
        var ids = Set(tokenizer.eosID.map { [$0] } ?? [])
        for t in ["<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "</s>"] {
            if let id = tokenizer.id(forToken: t), tokenizer.isSpecial(id) { ids.insert(id) }
        }
        return ids
    }

    /// Human-readable text of each token.
    public func tokenTexts(_ ids: [Int]) -> [String] { ids.map { tokenizer.displayText($0) } }
}
