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

        // tokenizer_config.json: token strings and add_bos_token, when the folder has one.
        let tcPath = dir.appendingPathComponent("tokenizer_config.json").path
        if fm.fileExists(atPath: tcPath) {
            let tc = try decodeJSONFile(TokenizerConfigFile.self, path: tcPath)
            hints.bosToken = tc.bos_token?.text
            hints.eosToken = tc.eos_token?.text
            hints.padToken = tc.pad_token?.text
            hints.unkToken = tc.unk_token?.text
            hints.addBOS = tc.add_bos_token
            hints.addEOS = tc.add_eos_token
        }
        let tokenizer = try BPETokenizer(tokenizerJSONFile: tokenizerPath, hints: hints)
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
        return ModelBundle(path: path, name: name, model: model, tokenizer: tokenizer, loadSeconds: seconds)
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
