import Foundation

extension BPETokenizer {
    /// A tokenizer.json without a ByteLevel pre-tokenizer: the SentencePiece-style pipelines.
    /// - `model`: BPE over characters (`byte_fallback`, `fuse_unk`, `unk_token`, `ignore_merges`; Llama 2,
    ///   Mistral, Phi-3, Gemma) or Unigram (`vocab` [[piece, score]], `unk_id`, `byte_fallback`);
    /// - `normalizer`: Prepend, Replace (literal pattern), NFC, or a Sequence of them;
    /// - `pre_tokenizer`: Metaspace (prepend_scheme first/always/never, split), Split on a literal
    ///   string (Gemma's Split(" ", MergedWithPrevious)), WhitespaceSplit, or a Sequence of them;
    /// - `decoder`: Replace (literal), ByteFallback, Fuse, Strip, Metaspace, or a Sequence of them;
    /// - `added_tokens` and `post_processor` as for byte-level BPE. An added token with
    ///   `normalized: true` is matched in the raw text, which is what tokenizers does only when the
    ///   normalizer leaves it, and the text around it, alone; otherwise it is an error.
    /// Anything else is an error naming it.
    convenience init(subwordFile file: TokenizerFile, path: String, hints: TokenizerJSONHints) throws {
        func fail(_ s: String) -> ModelFolderError { ModelFolderError(path: path, s) }
        let m = file.model
        let isUnigram = m.type == "Unigram"

        // Vocabulary: model ids, then added tokens.
        let added = file.added_tokens ?? []
        var modelPieces: [(String, Int)] = []
        var unigramScores: [Double] = []
        switch m.vocab {
        case .map(let map)?:
            guard !isUnigram else { throw fail("the Unigram model's vocab must be [[piece, score], ...]") }
            modelPieces = map.map { ($0.key, $0.value) }
        case .scored(let list)?:
            guard isUnigram else { throw fail("the BPE model's vocab must be {token: id}") }
            modelPieces = list.enumerated().map { ($0.element.0, $0.offset) }
            unigramScores = list.map { $0.1 }
        case nil:
            throw fail("the model has no vocab")
        }
        var maxID = -1
        for (token, id) in modelPieces {
            guard id >= 0, id < 1 << 22 else { throw fail("token \"\(token)\" has id \(id), outside 0..<\(1 << 22)") }
            maxID = max(maxID, id)
        }
        for a in added {
            guard a.id >= 0, a.id < 1 << 22 else { throw fail("added token \"\(a.content)\" has id \(a.id), outside 0..<\(1 << 22)") }
            maxID = max(maxID, a.id)
        }
        guard maxID >= 0 else { throw fail("the vocabulary is empty") }
        var tokens = [String](repeating: "", count: maxID + 1)
        var taken = [Bool](repeating: false, count: maxID + 1)
        var modelVocab = [ByteKey: Int32](minimumCapacity: modelPieces.count)
        for (token, id) in modelPieces {
            guard !taken[id] else { throw fail("id \(id) is given to both \"\(tokens[id])\" and \"\(token)\" in model.vocab") }
            taken[id] = true
            tokens[id] = token
            let key = ByteKey(bytes: Array(token.utf8))
            if modelVocab[key] == nil { modelVocab[key] = Int32(id) }
        }
        var special = [Bool](repeating: false, count: maxID + 1)

        // Normalizer.
        var normalizer: [NormalizerStep] = []
        func addNormalizer(_ n: NormalizerEntry) throws {
            switch n.type {
            case "Sequence":
                for s in n.normalizers ?? [] { try addNormalizer(s) }
            case "NFC":
                normalizer.append(.nfc)
            case "Prepend":
                guard let p = n.prepend else { throw fail("Prepend normalizer without \"prepend\"") }
                normalizer.append(.prepend(Array(p.utf8)))
            case "Replace":
                guard let pattern = n.pattern?.string, !pattern.isEmpty, let content = n.content else {
                    throw fail("Replace normalizer with a regex (or empty) pattern is not supported (only a literal string)")
                }
                normalizer.append(.replace(Array(pattern.utf8), Array(content.utf8)))
            default:
                throw fail("normalizer \"\(n.type)\" is not supported (Prepend, Replace with a literal string, NFC)")
            }
        }
        if let n = file.normalizer { try addNormalizer(n) }

        for a in added {
            if a.lstrip == true || a.rstrip == true || a.single_word == true {
                throw fail("added token \"\(a.content)\" uses lstrip/rstrip/single_word, which is not supported")
            }
            guard !a.content.isEmpty else { throw fail("added token \(a.id) is empty") }
            if a.normalized == true && !normalizer.isEmpty {
                let content = Array(a.content.utf8)
                let prepends = normalizer.contains { if case .prepend = $0 { return true } else { return false } }
                guard !prepends, NormalizerStep.apply(normalizer, to: content) == content else {
                    throw fail("added token \"\(a.content)\" is normalized (matched after the normalizer), which is not supported with this normalizer")
                }
            }
            tokens[a.id] = a.content
            special[a.id] = true
        }

        // Pre-tokenizer.
        var pre: [SubwordPreTokenizerStep] = []
        func addPre(_ p: PreTokenizerStep) throws {
            switch p.type {
            case "Sequence":
                for s in p.pretokenizers ?? [] { try addPre(s) }
            case "Metaspace":
                let rep = Array((p.replacement ?? "\u{2581}").utf8)
                guard String(decoding: rep, as: UTF8.self).unicodeScalars.count == 1 else {
                    throw fail("Metaspace replacement \"\(p.replacement ?? "")\" must be one character")
                }
                let scheme: PrependScheme
                if let s = p.prepend_scheme {
                    guard let k = PrependScheme(rawValue: s) else { throw fail("Metaspace prepend_scheme \"\(s)\" is not supported") }
                    scheme = k
                } else {
                    scheme = (p.add_prefix_space ?? true) ? .always : .never
                }
                pre.append(.metaspace(replacement: rep, scheme: scheme, split: p.split ?? true))
            case "Split":
                guard let literal = p.pattern?.string, !literal.isEmpty else {
                    throw fail("Split pre-tokenizer with a regex pattern is not supported here (only a literal string, or a ByteLevel pipeline)")
                }
                guard p.invert != true else { throw fail("inverted Split pre-tokenizer is not supported") }
                let behavior: SplitBehavior
                switch (p.behavior ?? "").lowercased() {
                case "removed": behavior = .removed
                case "isolated": behavior = .isolated
                case "mergedwithprevious", "merged_with_previous": behavior = .mergedWithPrevious
                case "mergedwithnext", "merged_with_next": behavior = .mergedWithNext
                case "contiguous": behavior = .contiguous
                default: throw fail("Split behavior \"\(p.behavior ?? "")\" is not supported")
                }
                pre.append(.splitLiteral(Array(literal.utf8), behavior))
            case "WhitespaceSplit":
                pre.append(.whitespaceSplit)
            default:
                throw fail("pre-tokenizer \"\(p.type)\" is not supported with a SentencePiece-style model (Metaspace, Split on a string, WhitespaceSplit)")
            }
        }
        if let p = file.pre_tokenizer { try addPre(p) }

        // Decoder.
        var decoder: [DecoderStep] = []
        func addDecoder(_ d: DecoderEntry) throws {
            switch d.type {
            case "Sequence":
                for s in d.decoders ?? [] { try addDecoder(s) }
            case "Replace":
                guard let pattern = d.pattern?.string, !pattern.isEmpty, let content = d.content else {
                    throw fail("Replace decoder with a regex (or empty) pattern is not supported")
                }
                decoder.append(.replace(Array(pattern.utf8), Array(content.utf8)))
            case "ByteFallback":
                decoder.append(.byteFallback)
            case "Fuse":
                decoder.append(.fuse)
            case "Strip":
                guard let c = d.content, c.utf8.count == 1, let start = d.start, let stop = d.stop else {
                    throw fail("Strip decoder needs a one-byte \"content\", \"start\" and \"stop\"")
                }
                decoder.append(.strip(content: c.utf8.first!, start: start, stop: stop))
            case "Metaspace":
                let rep = Array((d.replacement ?? "\u{2581}").utf8)
                let scheme = d.prepend_scheme.flatMap(PrependScheme.init(rawValue:))
                    ?? ((d.add_prefix_space ?? true) ? .always : .never)
                decoder.append(.metaspace(replacement: rep, dropInFirst: scheme != .never))
            default:
                throw fail("decoder \"\(d.type)\" is not supported with a SentencePiece-style model (Replace, ByteFallback, Fuse, Strip, Metaspace)")
            }
        }
        if let d = file.decoder { try addDecoder(d) }

        // Model.
        let byteFallback = m.byte_fallback ?? false
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 { byteIDs[b] = modelVocab[ByteKey(bytes: byteTokenSpelling(UInt8(b)))] ?? -1 }
        let model: SubwordModel
        var unk: Int?
        if isUnigram {
            if let u = m.unk_id {
                guard u >= 0, u < modelPieces.count else { throw fail("unk_id \(u) is outside the vocabulary") }
                unk = u
            }
            guard let u = unk else { throw fail("the Unigram model has no unk_id, which this tokenizer needs") }
            let pieces = modelPieces.map { Array($0.0.utf8) }
            model = .unigram(UnigramModel(pieces: pieces, scores: unigramScores, unkID: u, byteFallback: byteFallback))
        } else {
            guard let merges = m.merges else { throw fail("the BPE model needs \"merges\"") }
            if let p = m.dropout, p > 0 { throw fail("BPE dropout \(p) is not supported") }
            if let s = m.continuing_subword_prefix, !s.isEmpty { throw fail("continuing_subword_prefix \"\(s)\" is not supported") }
            if let s = m.end_of_word_suffix, !s.isEmpty { throw fail("end_of_word_suffix \"\(s)\" is not supported") }
            if let u = m.unk_token {
                guard let id = modelVocab[ByteKey(bytes: Array(u.utf8))] else {
                    throw fail("unk_token \"\(u)\" is not in the model's vocabulary")
                }
                unk = Int(id)
            }
            var pairs: [(String, String)] = []
            switch merges {
            case .strings(let list):
                for (i, merge) in list.enumerated() {
                    // The separator is the first space after the first character.
                    let scalars = Array(merge.unicodeScalars)
                    guard scalars.count >= 3, let k = scalars.dropFirst().firstIndex(of: " ") else {
                        throw fail("merge #\(i) \"\(merge)\" is not two tokens separated by a space")
                    }
                    var l = String.UnicodeScalarView(), r = String.UnicodeScalarView()
                    l.append(contentsOf: scalars[..<k])
                    r.append(contentsOf: scalars[(k + 1)...])
                    pairs.append((String(l), String(r)))
                }
            case .pairs(let list):
                for (i, p) in list.enumerated() {
                    guard p.count == 2, !p[0].isEmpty, !p[1].isEmpty else { throw fail("merge #\(i) \(p) is not a pair of tokens") }
                    pairs.append((p[0], p[1]))
                }
            }
            var table = [UInt64: UInt64](minimumCapacity: pairs.count)
            for (rank, (l, r)) in pairs.enumerated() {
                let lb = Array(l.utf8), rb = Array(r.utf8)
                guard let a = modelVocab[ByteKey(bytes: lb)] else { throw fail("merge #\(rank) names \"\(l)\", which is not in the vocabulary") }
                guard let b = modelVocab[ByteKey(bytes: rb)] else { throw fail("merge #\(rank) names \"\(r)\", which is not in the vocabulary") }
                guard let j = modelVocab[ByteKey(bytes: lb + rb)] else {
                    throw fail("merge #\(rank) makes \"\(l + r)\", which is not in the vocabulary")
                }
                table[BPEMerger.key(a, b)] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: j))
            }
            model = .bpe(SentencePieceBPE(vocab: modelVocab, merger: BPEMerger(table: table), byteFallback: byteFallback,
                                          fuseUnk: m.fuse_unk ?? false, unkID: unk.map(Int32.init),
                                          ignoreMerges: m.ignore_merges ?? false, byteIDs: byteIDs))
        }

        // Special ids, as for byte-level BPE.
        var byText: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where taken[i] && byText[t] == nil { byText[t] = i }
        for a in added { byText[a.content] = a.id }
        let template = try Self.template(file.post_processor, fail: fail)
        func id(_ token: String?, _ fallback: Int?) -> Int? {
            if let token, let i = byText[token] { return i }
            if let fallback, fallback >= 0, fallback < tokens.count { return fallback }
            return nil
        }
        let bos = template.bos ?? id(hints.bosToken, hints.bosID)
        let eos = template.eos ?? id(hints.eosToken, hints.eosID)
        if unk == nil { unk = id(hints.unkToken, nil) }
        let pad = id(hints.padToken, hints.padID)
        let (addBOS, addEOS) = Self.addSpecial(template: template, hints: hints, bos: bos, eos: eos)
        for (name, v) in [("bos", template.bos), ("eos", template.eos)] {
            if let v, v >= tokens.count { throw fail("the post-processor's \(name) id \(v) is outside the vocabulary") }
        }
        let pipeline = SubwordPipeline(kind: isUnigram ? .unigram : .sentencePieceBPE, normalizer: normalizer,
                                       preTokenizer: pre, model: model, decoder: decoder, llamaSpacePrefix: false)
        do {
            try self.init(pipeline: pipeline, tokens: tokens, special: special, bosID: bos, eosID: eos, unkID: unk,
                          padID: pad, addBOS: addBOS, addEOS: addEOS, warnings: [])
        } catch let e as TokenizerError {
            throw fail(e.description)
        }
    }
}
