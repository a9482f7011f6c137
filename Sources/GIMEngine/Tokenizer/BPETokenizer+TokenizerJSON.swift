import Foundation

/// What the rest of a model folder says about special tokens, for what tokenizer.json leaves open
/// (tokenizer_config.json's token strings and add_bos_token, config.json's ids).
public struct TokenizerJSONHints: Sendable {
    public var bosToken: String?
    public var eosToken: String?
    public var padToken: String?
    public var unkToken: String?
    public var bosID: Int?
    public var eosID: Int?
    public var padID: Int?
    public var addBOS: Bool?
    public var addEOS: Bool?

    public init() {}
}

extension BPETokenizer {
    /// The tokenizer a Hugging Face tokenizer.json describes. A file without a ByteLevel
    /// pre-tokenizer, or with a Unigram model, is a SentencePiece-style pipeline: see
    /// `init(subwordFile:path:hints:)`. Byte-level BPE:
    /// - `model`: type BPE with `vocab` ({token: id}) and `merges` ("a b" strings or [a, b] pairs),
    ///   no byte fallback, no dropout, no subword prefix/suffix;
    /// - `pre_tokenizer`: ByteLevel (GPT-2 pattern), Sequence[Digits(individual), ByteLevel]
    ///   (SmolLM), or Sequence[Split(known pattern, Isolated), ByteLevel(use_regex false)] for the
    ///   Llama 3, Qwen 2 and Qwen 3.5 patterns (or GPT-2's), mapped onto `PreTokenizerKind`;
    /// - `normalizer`: none, or NFC (Qwen 2);
    /// - `added_tokens`: matched whole in text; `special` ones are control tokens, the others
    ///   user-defined;
    /// - `post_processor`: a TemplateProcessing that puts one special token before (after) the
    ///   sequence sets BOS (EOS) and adds it; ByteLevel or none adds nothing.
    /// Anything else is an error naming it.
    public convenience init(tokenizerJSON data: Data, path: String, hints: TokenizerJSONHints = TokenizerJSONHints()) throws {
        func fail(_ s: String) -> ModelFolderError { ModelFolderError(path: path, s) }
        let file: TokenizerFile
        do { file = try JSONDecoder().decode(TokenizerFile.self, from: data) } catch {
            throw fail("not a tokenizer.json: \(JSONProblem.describe(error))")
        }

        // Model: byte-level BPE here; SentencePiece-style BPE and Unigram in `init(subwordFile:)`.
        let m = file.model
        if let type = m.type, type != "BPE" && type != "Unigram" {
            throw fail("tokenizer model \"\(type)\" is not supported (BPE and Unigram are)")
        }
        // Byte-level when a ByteLevel pre-tokenizer or decoder says so (a ByteLevel decoder without its
        // pre-tokenizer is an error below, not a SentencePiece pipeline).
        if m.type == "Unigram" || !(Self.hasByteLevel(file.pre_tokenizer) || file.decoder?.type == "ByteLevel") {
            try self.init(subwordFile: file, path: path, hints: hints)
            return
        }
        guard case .map(let vocab)? = m.vocab, let merges = m.merges else {
            throw fail("the BPE model needs \"vocab\" ({token: id}) and \"merges\"")
        }
        if m.byte_fallback == true {
            throw fail("byte_fallback with a ByteLevel pre-tokenizer is not supported")
        }
        if let p = m.dropout, p > 0 { throw fail("BPE dropout \(p) is not supported") }
        if let s = m.continuing_subword_prefix, !s.isEmpty { throw fail("continuing_subword_prefix \"\(s)\" is not supported") }
        if let s = m.end_of_word_suffix, !s.isEmpty { throw fail("end_of_word_suffix \"\(s)\" is not supported") }

        // Normalizer: none, or NFC (Qwen 2), alone or in a Sequence.
        var nfc = false
        if let n = file.normalizer {
            let steps = n.type == "Sequence" ? (n.normalizers ?? []) : [n]
            for step in steps {
                guard step.type == "NFC" else {
                    throw fail("normalizer \"\(step.type)\" with byte-level BPE is not supported (none or NFC only)")
                }
                nfc = true
            }
        }
        let kind = try Self.preTokenizerKind(file.pre_tokenizer, fail: fail)
        let ignoreMerges = m.ignore_merges ?? false
        guard ignoreMerges == (kind == .llama3) else {
            throw fail("ignore_merges \(ignoreMerges) with the \(kind.rawValue) pre-tokenizer is not supported (it is on for the Llama 3 pattern only)")
        }

        // Vocabulary: ids from model.vocab and added_tokens; holes become unused empty tokens.
        let added = file.added_tokens ?? []
        var maxID = -1
        for (token, id) in vocab {
            guard id >= 0, id < 1 << 22 else { throw fail("token \"\(token)\" has id \(id), outside 0..<\(1 << 22)") }
            maxID = max(maxID, id)
        }
        for a in added {
            guard a.id >= 0, a.id < 1 << 22 else { throw fail("added token \"\(a.content)\" has id \(a.id), outside 0..<\(1 << 22)") }
            maxID = max(maxID, a.id)
        }
        guard maxID >= 0 else { throw fail("the vocabulary is empty") }
        var tokens = [String](repeating: "", count: maxID + 1)
        var types = [Int32](repeating: 5, count: maxID + 1)  // 5 = unused
        var taken = [Bool](repeating: false, count: maxID + 1)
        for (token, id) in vocab {
            guard !taken[id] else { throw fail("id \(id) is given to both \"\(tokens[id])\" and \"\(token)\" in model.vocab") }
            taken[id] = true
            tokens[id] = token
            types[id] = 1
        }
        for a in added {
            if a.lstrip == true || a.rstrip == true || a.single_word == true {
                throw fail("added token \"\(a.content)\" uses lstrip/rstrip/single_word, which is not supported")
            }
            guard !a.content.isEmpty else { throw fail("added token \(a.id) is empty") }
            tokens[a.id] = a.content
            types[a.id] = a.special == true ? 3 : 4
        }
        var byText: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where types[i] != 5 && byText[t] == nil { byText[t] = i }
        for a in added { byText[a.content] = a.id }

        // Merges, as the "left right" strings BPETokenizer takes.
        var mergeStrings: [String] = []
        switch merges {
        case .strings(let s):
            mergeStrings = s
        case .pairs(let pairs):
            mergeStrings.reserveCapacity(pairs.count)
            for (i, p) in pairs.enumerated() {
                guard p.count == 2, !p[0].isEmpty, !p[1].isEmpty else { throw fail("merge #\(i) \(p) is not a pair of tokens") }
                guard !p[0].contains(" "), !p[1].contains(" ") else {
                    throw fail("merge #\(i) \(p) contains a space, which a byte-level vocabulary never does")
                }
                mergeStrings.append(p[0] + " " + p[1])
            }
        }

        // Special ids: the post-processor's template first, then the folder's hints.
        let template = try Self.template(file.post_processor, fail: fail)
        func id(_ token: String?, _ fallback: Int?) -> Int? {
            if let token, let i = byText[token] { return i }
            if let fallback, fallback >= 0, fallback < tokens.count { return fallback }
            return nil
        }
        let bos = template.bos ?? id(hints.bosToken, hints.bosID)
        let eos = template.eos ?? id(hints.eosToken, hints.eosID)
        let unk = id(m.unk_token ?? hints.unkToken, nil)
        let pad = id(hints.padToken, hints.padID)
        let (addBOS, addEOS) = Self.addSpecial(template: template, hints: hints, bos: bos, eos: eos)
        for (name, v) in [("bos", template.bos), ("eos", template.eos)] {
            if let v, v >= tokens.count { throw fail("the post-processor's \(name) id \(v) is outside the vocabulary") }
        }
        do {
            try self.init(tokens: tokens, merges: mergeStrings, tokenTypes: types, preTokenizer: Self.ggufName(kind),
                          bosID: bos, eosID: eos, unkID: unk, padID: pad, addBOS: addBOS, addEOS: addEOS, nfc: nfc)
        } catch let e as TokenizerError {
            throw fail(e.description)
        }
    }

    /// Reads `path` (a tokenizer.json file).
    public convenience init(tokenizerJSONFile path: String, hints: TokenizerJSONHints = TokenizerJSONHints()) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelFolderError(path: path, "cannot read: \(error.localizedDescription)")
        }
        try self.init(tokenizerJSON: data, path: path, hints: hints)
    }

    // MARK: Pre-tokenizer

    /// The split patterns a Split step may carry, as tokenizer.json files spell them.
    static let knownSplitPatterns: [String: PreTokenizerKind] = [
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: .gpt2,
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: .llama3,
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: .qwen2,
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: .qwen35,
    ]

    /// The pattern a kind's Split step carries (inverse of `knownSplitPatterns`).
    static func splitPattern(_ kind: PreTokenizerKind) -> String? {
        knownSplitPatterns.first { $0.value == kind }?.key
    }

    /// A llama.cpp pre-tokenizer name `BPETokenizer.init` maps back onto `kind`.
    static func ggufName(_ kind: PreTokenizerKind) -> String {
        switch kind {
        case .gpt2: return "gpt2"
        case .digitsThenGPT2: return "smollm"
        case .llama3: return "llama-bpe"
        case .qwen2: return "qwen2"
        case .qwen35: return "qwen35"
        }
    }

    static func hasByteLevel(_ pre: PreTokenizerStep?) -> Bool {
        guard let pre else { return false }
        if pre.type == "ByteLevel" { return true }
        return (pre.pretokenizers ?? []).contains { hasByteLevel($0) }
    }

    private static func preTokenizerKind(_ pre: PreTokenizerStep?, fail: (String) -> ModelFolderError) throws -> PreTokenizerKind {
        guard let pre else { throw fail("there is no pre_tokenizer; byte-level BPE needs a ByteLevel pre-tokenizer") }
        var steps: [PreTokenizerStep] = []
        func flatten(_ s: PreTokenizerStep) {
            if s.type == "Sequence" { (s.pretokenizers ?? []).forEach(flatten) } else { steps.append(s) }
        }
        flatten(pre)
        var names: [String] = []
        var splitKind: PreTokenizerKind?
        var byteLevelRegex: Bool?
        for s in steps {
            switch s.type {
            case "ByteLevel":
                guard s.add_prefix_space == false else {
                    throw fail("ByteLevel pre-tokenizer with add_prefix_space true (or unset) is not supported")
                }
                let regex = s.use_regex ?? true
                byteLevelRegex = regex
                names.append(regex ? "ByteLevel" : "ByteLevel(use_regex: false)")
            case "Digits":
                guard s.individual_digits == true else {
                    throw fail("Digits pre-tokenizer with individual_digits false is not supported")
                }
                names.append("Digits")
            case "Split":
                guard let regex = s.pattern?.regex else {
                    throw fail("Split pre-tokenizer with a literal (non-regex) pattern is not supported")
                }
                guard (s.behavior ?? "").lowercased() == "isolated", s.invert != true else {
                    throw fail("Split pre-tokenizer with behavior \(s.behavior ?? "(none)")\(s.invert == true ? ", inverted" : "") is not supported (only Isolated)")
                }
                guard let k = knownSplitPatterns[regex] else {
                    throw fail("Split pre-tokenizer pattern \(regex) is not one this tokenizer implements (GPT-2, Llama 3, Qwen 2, Qwen 3.5)")
                }
                splitKind = k
                names.append("Split(\(k.rawValue))")
            default:
                throw fail("pre-tokenizer \"\(s.type)\" is not supported")
            }
        }
        switch names {
        case ["ByteLevel"]: return .gpt2
        case ["Digits", "ByteLevel"]: return .digitsThenGPT2
        default:
            if names.count == 2, let k = splitKind, names[0].hasPrefix("Split"), byteLevelRegex == false { return k }
            throw fail("pre-tokenizer \(names.joined(separator: " + ")) is not supported (supported: ByteLevel; Digits + ByteLevel; Split + ByteLevel(use_regex: false))")
        }
    }

    // MARK: Post-processor

    /// Whether BOS and EOS are added, as transformers 5 decides: when tokenizer_config.json sets
    /// add_bos_token or add_eos_token, those two flags (an absent one meaning false) rebuild the
    /// post-processor; otherwise the file's TemplateProcessing decides, and with none, nothing is added.
    /// A flag whose token is unknown adds nothing.
    static func addSpecial(template: Template, hints: TokenizerJSONHints, bos: Int?, eos: Int?) -> (Bool, Bool) {
        if hints.addBOS != nil || hints.addEOS != nil {
            return ((hints.addBOS ?? false) && bos != nil, (hints.addEOS ?? false) && eos != nil)
        }
        return (template.bos != nil, template.eos != nil)
    }

    struct Template {
        var isTemplate = false
        var bos: Int?
        var eos: Int?
    }

    static func template(_ post: PostProcessor?, fail: (String) -> ModelFolderError) throws -> Template {
        guard let post else { return Template() }
        switch post.type {
        case "ByteLevel":
            return Template()
        case "Sequence":
            var out = Template()
            for p in post.processors ?? [] {
                let t = try template(p, fail: fail)
                if t.isTemplate {
                    guard !out.isTemplate else { throw fail("the post-processor has two TemplateProcessing steps") }
                    out = t
                }
            }
            return out
        case "TemplateProcessing":
            let single = post.single ?? []
            guard let a = single.firstIndex(where: { $0.Sequence != nil }),
                  single.filter({ $0.Sequence != nil }).count == 1 else {
                throw fail("the TemplateProcessing single template must hold one sequence ($A)")
            }
            func specialID(_ item: TemplateItem) throws -> Int {
                guard let name = item.SpecialToken?.id else { throw fail("unexpected item in the TemplateProcessing single template") }
                guard let ids = post.special_tokens?[name]?.ids, ids.count == 1 else {
                    throw fail("TemplateProcessing special token \"\(name)\" must map to exactly one id")
                }
                return ids[0]
            }
            let before = try single[..<a].map(specialID), after = try single[(a + 1)...].map(specialID)
            guard before.count <= 1, after.count <= 1 else {
                throw fail("TemplateProcessing adding several tokens on one side (\(before) … \(after)) is not supported")
            }
            return Template(isTemplate: true, bos: before.first, eos: after.first)
        default:
            throw fail("post-processor \"\(post.type)\" is not supported (TemplateProcessing, ByteLevel or none)")
        }
    }
}

// MARK: tokenizer.json structure (the fields read)

struct TokenizerFile: Decodable {
    let added_tokens: [AddedTokenEntry]?
    let normalizer: NormalizerEntry?
    let pre_tokenizer: PreTokenizerStep?
    let post_processor: PostProcessor?
    let decoder: DecoderEntry?
    let model: BPEModelEntry
}

struct AddedTokenEntry: Decodable {
    let id: Int
    let content: String
    let single_word: Bool?
    let lstrip: Bool?
    let rstrip: Bool?
    let special: Bool?
    let normalized: Bool?
}

struct NormalizerEntry: Decodable {
    let type: String
    let normalizers: [NormalizerEntry]?
    let prepend: String?
    let pattern: SplitPattern?
    let content: String?
}

struct PreTokenizerStep: Decodable {
    let type: String
    let pretokenizers: [PreTokenizerStep]?
    let pattern: SplitPattern?
    let behavior: String?
    let invert: Bool?
    let add_prefix_space: Bool?
    let use_regex: Bool?
    let individual_digits: Bool?
    let replacement: String?
    let prepend_scheme: String?
    let split: Bool?
}

struct DecoderEntry: Decodable {
    let type: String
    let decoders: [DecoderEntry]?
    let pattern: SplitPattern?
    let content: String?
    let start: Int?
    let stop: Int?
    let replacement: String?
    let prepend_scheme: String?
    let add_prefix_space: Bool?
}

struct SplitPattern: Decodable {
    let regex: String?
    let string: String?
    enum CodingKeys: String, CodingKey { case regex = "Regex", string = "String" }
}

struct PostProcessor: Decodable {
    let type: String
    let processors: [PostProcessor]?
    let single: [TemplateItem]?
    let special_tokens: [String: TemplateSpecial]?
}

struct TemplateItem: Decodable {
    struct Ref: Decodable { let id: String }
    let SpecialToken: Ref?
    let Sequence: Ref?
}

struct TemplateSpecial: Decodable {
    let ids: [Int]
}

struct BPEModelEntry: Decodable {
    let type: String?
    let vocab: VocabList?
    let merges: MergeList?
    let unk_token: String?
    let unk_id: Int?
    let fuse_unk: Bool?
    let byte_fallback: Bool?
    let ignore_merges: Bool?
    let dropout: Double?
    let continuing_subword_prefix: String?
    let end_of_word_suffix: String?
}

/// `vocab` as `{token: id}` (BPE) or `[[piece, score], ...]` (Unigram).
enum VocabList: Decodable {
    case map([String: Int])
    case scored([(String, Double)])

    private struct Pair: Decodable {
        let piece: String
        let score: Double
        init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            piece = try c.decode(String.self)
            score = try c.decode(Double.self)
        }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let m = try? c.decode([String: Int].self) {
            self = .map(m)
        } else {
            self = .scored(try c.decode([Pair].self).map { ($0.piece, $0.score) })
        }
    }
}

/// `merges` as `["a b", ...]` (tokenizers < 0.20) or `[["a", "b"], ...]` (newer).
enum MergeList: Decodable {
    case strings([String])
    case pairs([[String]])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode([String].self) {
            self = .strings(s)
        } else {
            self = .pairs(try c.decode([[String]].self))
        }
    }
}
