import Foundation

/// A clean prompt and its corrupted twin, aligned token by token, with the answer each one
/// expects: one JSON object per line of a JSONL file,
/// `{"clean": "...", "corrupt": "...", "target": " Mary", "foil": " John", "category": "ioi"}`.
/// The metric is logit(target) − logit(foil) at the last position ("foil" optional: then the
/// target logit alone). "target" is the text of the clean prompt's answer token.
public struct CounterfactualPair: Sendable, Codable, Equatable {
    public let clean: String
    public let corrupt: String
    public let target: String
    public let foil: String?
    public let category: String?

    public init(clean: String, corrupt: String, target: String, foil: String? = nil, category: String? = nil) {
        self.clean = clean
        self.corrupt = corrupt
        self.target = target
        self.foil = foil
        self.category = category
    }

    /// Reads a JSONL file; blank lines and lines starting with `//` are skipped. Errors name the line.
    public static func load(path: String) throws -> [CounterfactualPair] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badInput("cannot read pair file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ModelError.badInput("\(path) is not valid UTF-8")
        }
        return try parse(text, name: path)
    }

    public static func parse(_ text: String, name: String = "pair file") throws -> [CounterfactualPair] {
        var out: [CounterfactualPair] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("//") { continue }
            let p: CounterfactualPair
            do {
                p = try JSONDecoder().decode(CounterfactualPair.self, from: Data(line.utf8))
            } catch {
                throw ModelError.badInput("\(name):\(i + 1): expected a JSON object with \"clean\", \"corrupt\" and \"target\" strings (\(error))")
            }
            guard !p.clean.isEmpty, !p.corrupt.isEmpty else { throw ModelError.badInput("\(name):\(i + 1): a prompt is empty") }
            guard !p.target.isEmpty, p.foil?.isEmpty != true else { throw ModelError.badInput("\(name):\(i + 1): the target or foil is empty") }
            out.append(p)
        }
        guard !out.isEmpty else { throw ModelError.badInput("\(name) holds no pairs") }
        return out
    }

    /// The single token a target/foil text encodes to, or a message naming the pair.
    public static func token(_ text: String, _ tokenizer: BPETokenizer, what: String) throws -> Int {
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        guard ids.count == 1 else {
            throw ModelError.badInput("the \(what) \"\(text)\" is \(ids.count) tokens, not one")
        }
        return ids[0]
    }

    /// Runs the pair's circuit analysis (GIM with `settings`, plain, patching).
    public func analyze(bundle: ModelBundle, settings: GIMSettings, cancel: (() -> Bool)? = nil) throws -> CircuitAnalysis {
        let ids = bundle.encode(clean), bad = bundle.encode(corrupt)
        guard ids.count == bad.count else {
            throw ModelError.badInput("\"\(clean)\" is \(ids.count) tokens but \"\(corrupt)\" is \(bad.count): a pair must align token by token")
        }
        let target = try Self.token(target, bundle.tokenizer, what: "target")
        let foil = try foil.map { try Self.token($0, bundle.tokenizer, what: "foil") }
        let session = try CircuitSession(clean: ExplainSession(model: bundle.model, tokenIDs: ids),
                                         counterfactual: .prompt(tokenIDs: bad), targetTokenID: target, foilTokenID: foil)
        return try session.analyze(settings: settings, patching: true, cancel: cancel)
    }
}

/// Agreement with activation patching over a pair set: per component kind and measure, the mean
/// over pairs of GIM's and the plain gradient's value with 95% bootstrap intervals, and GIM − plain
/// paired on the same pairs.
public struct CircuitEvaluationSummary: Sendable, Codable {
    public struct Row: Sendable, Codable {
        public let kind: ComponentKind
        public let measure: String
        public let gim: FaithfulnessSummary.Measure
        public let plain: FaithfulnessSummary.Measure
        public let gimMinusPlain: FaithfulnessSummary.Comparison
    }
    public let pairs: Int
    public let rows: [Row]

    public static let measures = ["pearson", "spearman", "top_k_overlap"]

    public init(_ analyses: [CircuitAnalysis], resamples: Int = 2000, seed: UInt64 = 0) {
        pairs = analyses.count
        var rows: [Row] = []
        for kind in ComponentKind.allCases {
            for m in Self.measures {
                func values(_ pick: (CircuitAnalysis) -> ComponentAgreements?) -> [Double?] {
                    analyses.map { a in
                        guard let g = pick(a)?[kind] else { return nil }
                        switch m {
                        case "pearson": return g.pearson
                        case "spearman": return g.spearman
                        default: return g.topKOverlap
                        }
                    }
                }
                let g = values(\.gimAgreement), p = values(\.plainAgreement)
                rows.append(Row(kind: kind, measure: m,
                                gim: FaithfulnessSummary.measure(g, resamples: resamples, seed: seed),
                                plain: FaithfulnessSummary.measure(p, resamples: resamples, seed: seed),
                                gimMinusPlain: FaithfulnessSummary.compare(g, p, resamples: resamples, seed: seed)))
            }
        }
        self.rows = rows
    }
}
