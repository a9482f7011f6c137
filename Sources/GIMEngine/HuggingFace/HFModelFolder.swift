import Foundation

/// A Hugging Face model folder: config.json, model.safetensors (or shards with
/// model.safetensors.index.json) and tokenizer.json, plus tokenizer_config.json when present.
/// The architecture is chosen by config.json's `model_type` / `architectures`: GPT-2 and the
/// decoder families of `DecoderFamily` (Llama, Mistral, Qwen 2/3, Gemma 1/2/3, Phi-3).
public enum HFModelFolder {
    public static var supported: [String] {
        ["gpt2"] + DecoderFamily.allCases.flatMap(\.modelTypes)
    }

    /// Whether `path` is a folder holding a config.json.
    public static func isModelFolder(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
            && FileManager.default.fileExists(atPath: URL(fileURLWithPath: path).appendingPathComponent("config.json").path)
    }

    /// Loads the model and its tokenizer.
    public static func load(directory: String) throws -> (model: CausalLanguageModel, tokenizer: BPETokenizer, name: String) {
        let dir = URL(fileURLWithPath: directory)
        let configPath = dir.appendingPathComponent("config.json").path
        let tokenizerPath = dir.appendingPathComponent("tokenizer.json").path
        let fm = FileManager.default
        guard fm.fileExists(atPath: configPath) else {
            throw ModelFolderError(path: directory, "no config.json: a model folder holds config.json, model.safetensors and tokenizer.json (or give a GGUF file)")
        }
        let arch = try decodeJSONFile(HFArchitecture.self, path: configPath)
        guard let family = arch.family else {
            let note = arch.modelType.flatMap { DecoderFamily.refusedModelTypes[$0] }.map { " (\($0))" } ?? ""
            throw ModelError.unsupportedArchitecture("\(configPath): \(arch.summary)\(note); supported: \(supported.joined(separator: ", "))")
        }
        guard fm.fileExists(atPath: tokenizerPath) else {
            throw ModelFolderError(path: directory, "no tokenizer.json (the tokenizer is read from it)")
        }

        let model: CausalLanguageModel
        var hints = TokenizerJSONHints()
        switch family {
        case .decoder:
            let hf = try decodeJSONFile(HFDecoderConfig.self, path: configPath)
            let config = try hf.decoderConfig(path: configPath)
            let weights = try DecoderWeights(folder: SafeTensorsFolder(directory: directory), config: config)
            model = DecoderModel(weights: weights)
            hints.bosID = hf.bosTokenID
            hints.eosID = hf.eosTokenID
            hints.padID = hf.padTokenID
        case .gpt2:
            let config = try decodeJSONFile(GPT2Config.self, path: configPath)
            do { try config.validate() } catch ModelError.invalidConfig(let why) {
                throw ModelError.invalidConfig("\(configPath): \(why)")
            }
            let weights = try GPT2Weights(folder: SafeTensorsFolder(directory: directory), config: config)
            model = GPT2Model(weights: weights)
            let ids = try decodeJSONFile(SpecialTokenIDs.self, path: configPath)
            hints.bosID = ids.bos?.value
            hints.eosID = ids.eos?.value
            hints.padID = ids.pad?.value
        }

        let tokenizer = try loadTokenizer(directory: directory, hints: hints)
        guard tokenizer.vocabSize <= model.vocabSize else {
            throw ModelError.shapeMismatch("\(tokenizerPath): the tokenizer has \(tokenizer.vocabSize) tokens but the model only \(model.vocabSize)")
        }
        let nameFile = try decodeJSONFile(NameField.self, path: configPath)
        let name = nameFile.name.flatMap { $0.isEmpty ? nil : $0 } ?? dir.standardizedFileURL.lastPathComponent
        return (model, tokenizer, name)
    }
}

extension ModelBundle {
    /// Opens a Hugging Face model folder (see `HFModelFolder`).
    public static func loadFolder(path: String) throws -> ModelBundle {
        let start = DispatchTime.now()
        let (model, tokenizer, name) = try HFModelFolder.load(directory: path)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return ModelBundle(path: path, name: name, model: model, tokenizer: tokenizer, loadSeconds: seconds,
                           chatTemplateText: try HFModelFolder.chatTemplateText(directory: path))
    }
}

extension HFModelFolder {
    /// A folder's tokenizer.json, with tokenizer_config.json's token strings and add_bos_token /
    /// add_eos_token when the folder has one (`hints` carries config.json's special ids).
    public static func loadTokenizer(directory: String, hints: TokenizerJSONHints = TokenizerJSONHints()) throws -> BPETokenizer {
        let dir = URL(fileURLWithPath: directory)
        var hints = hints
        let tcPath = dir.appendingPathComponent("tokenizer_config.json").path
        if FileManager.default.fileExists(atPath: tcPath) {
            let tc = try decodeJSONFile(TokenizerConfigFile.self, path: tcPath)
            hints.bosToken = tc.bos_token?.text
            hints.eosToken = tc.eos_token?.text
            hints.padToken = tc.pad_token?.text
            hints.unkToken = tc.unk_token?.text
            hints.addBOS = tc.add_bos_token
            hints.addEOS = tc.add_eos_token
        }
        return try BPETokenizer(tokenizerJSONFile: dir.appendingPathComponent("tokenizer.json").path, hints: hints)
    }

    /// A folder's chat template: chat_template.jinja (what transformers 5 saves, and prefers), else
    /// tokenizer_config.json's `chat_template` (a string, or a list of {name, template} of which
    /// "default" is taken). nil when the folder has none.
    public static func chatTemplateText(directory: String) throws -> String? {
        let dir = URL(fileURLWithPath: directory)
        let jinja = dir.appendingPathComponent("chat_template.jinja").path
        if FileManager.default.fileExists(atPath: jinja) {
            guard let text = try? String(contentsOfFile: jinja, encoding: .utf8) else {
                throw ModelFolderError(path: directory, "chat_template.jinja is not UTF-8 text")
            }
            return text
        }
        let tcPath = dir.appendingPathComponent("tokenizer_config.json").path
        guard FileManager.default.fileExists(atPath: tcPath) else { return nil }
        return try decodeJSONFile(ChatTemplateField.self, path: tcPath).template
    }
}

/// tokenizer_config.json's `chat_template`: a string or a list of named templates.
private struct ChatTemplateField: Decodable {
    let template: String?
    enum CodingKeys: String, CodingKey { case chat_template }
    struct Named: Decodable { let name: String; let template: String }
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let s = try? c.decodeIfPresent(String.self, forKey: .chat_template) {
            template = s
        } else if let list = try? c.decodeIfPresent([Named].self, forKey: .chat_template) {
            template = list.first { $0.name == "default" }?.template
        } else {
            template = nil
        }
    }
}

private struct SpecialTokenIDs: Decodable {
    let bos: IntOrList?
    let eos: IntOrList?
    let pad: IntOrList?
    enum CodingKeys: String, CodingKey { case bos = "bos_token_id", eos = "eos_token_id", pad = "pad_token_id" }
}

private struct NameField: Decodable {
    let name: String?
    enum CodingKeys: String, CodingKey { case name = "_name_or_path" }
}

/// tokenizer_config.json fields: a token is a string or {"content": string, ...}.
private struct TokenizerConfigFile: Decodable {
    let bos_token: TokenText?
    let eos_token: TokenText?
    let pad_token: TokenText?
    let unk_token: TokenText?
    let add_bos_token: Bool?
    let add_eos_token: Bool?
}

private struct TokenText: Decodable {
    let text: String?
    enum CodingKeys: String, CodingKey { case content }
    init(from decoder: Decoder) throws {
        if let s = try? decoder.singleValueContainer().decode(String.self) {
            text = s
        } else if let c = try? decoder.container(keyedBy: CodingKeys.self) {
            text = try c.decodeIfPresent(String.self, forKey: .content)
        } else {
            text = nil
        }
    }
}
