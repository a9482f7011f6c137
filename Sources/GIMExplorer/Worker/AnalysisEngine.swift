import Foundation
import GIMEngine

/// Answers analysis requests with the engine, keeping the expensive parts between requests:
/// the forward pass of the current prompt (an `ExplainSession`), so a knob change, a new target
/// or a new position runs only the backward; and the last plain-gradient attribution, which a
/// knob change does not affect. Not thread-safe: the worker thread owns it.
public final class AnalysisEngine {
    public let bundle: ModelBundle
    let baseline: Int
    private var session: ExplainSession?
    private var sessionPrompt: String?

    /// The plain gradient depends on the prompt, position, target and foil, never on the knobs.
    private struct PlainKey: Equatable {
        var position: Int, target: Int, foil: Int?
    }
    private var plainCache: (key: PlainKey, values: [Float])?

    /// The faithfulness evaluator of the last measured question, and the figures that do not
    /// depend on the knobs (plain gradient, random floor): a knob change scores only GIM again.
    private struct FaithfulnessKey: Equatable {
        var tokenIDs: [Int], position: Int, target: Int, foil: Int?
    }
    private var evaluator: (key: FaithfulnessKey, evaluator: FaithfulnessEvaluator)?
    private var fixedFigures: (plain: PaneFaithfulness, random: PaneFaithfulness?)?
    /// When a prompt longer than this is replaced, the freed memory goes back to the system
    /// (its forward pass held hundreds of MB; a new one page-faults again, a few % of its time).
    public static let releaseMemoryAfterTokens = 256
    /// Above this many positions leave-one-out (O(n²) token-forwards) is skipped.
    public static let leaveOneOutLimit = 64
    /// Stacked token rows per batched faithfulness forward (at least one input per call).
    public static let faithfulnessBatchRows = 128

    public init(bundle: ModelBundle) throws {
        self.bundle = bundle
        baseline = try bundle.inferredBaseline()
    }

    /// Answers `request`. `newPrompt` is polled between the forward's layers, `newRequest` between
    /// the backwards' layers: a knob change on a long prompt abandons the stale backward but keeps
    /// the forward it can reuse; a new prompt abandons both (throws `CancellationError`, and the
    /// engine stays ready for the next request).
    public func analyze(_ request: AnalysisRequest, newPrompt: Cancellation? = nil,
                        newRequest: Cancellation? = nil) throws -> AnalysisResult {
        var forwardMilliseconds: Double?
        if session == nil || sessionPrompt != request.prompt {
            let ids = bundle.encode(request.prompt)
            guard !ids.isEmpty else { throw ModelError.badInput("the prompt has no tokens") }
            // Free the old forward pass before the new one allocates (long prompts take gigabytes).
            let oldLength = session?.tokenIDs.count ?? 0
            session = nil
            sessionPrompt = nil
            plainCache = nil
            // `gim` keeps freed memory for reuse (HeapSettings.keepFreedMemory), so without this
            // the explorer's RSS stayed at the largest prompt ever attributed (the soak test saw
            // 2.6 GB held while attributing 5 tokens). Short prompts keep the fast reuse.
            if oldLength > Self.releaseMemoryAfterTokens { HeapSettings.releaseFreeMemory() }
            let s = try ExplainSession(model: bundle.model, tokenIDs: ids, cancellation: newPrompt)
            session = s
            sessionPrompt = request.prompt
            forwardMilliseconds = s.forwardSeconds * 1000
        }
        let s = session!
        let n = s.tokenIDs.count
        // A remembered position past the end (the prompt got shorter) means the last one.
        let position = try s.resolvePosition(min(request.targetPosition ?? (n - 1), n - 1))
        let logits = try s.logits(at: position)
        let probabilities = Self.softmax(logits)

        var notes: [String] = []
        let targetID = try resolve(request.target, logits: logits, role: "target", notes: &notes)
        let foilID = try request.foil.map { try resolve($0, logits: logits, role: "foil", notes: &notes) }
        if foilID == targetID { notes.append("the foil is the target itself: every attribution is 0") }

        let gim = try s.attribute(targetTokenID: targetID, targetPosition: position, foilTokenID: foilID,
                                  baselineTokenID: baseline, settings: request.settings, cancellation: newRequest)
        guard gim.isFinite else {
            throw ModelError.badInput("the attribution contains NaN or infinity (try less extreme knobs)")
        }

        let key = PlainKey(position: position, target: targetID, foil: foilID)
        var plainValues: [Float]
        var plainMilliseconds: Double?
        if let cached = plainCache, cached.key == key {
            plainValues = cached.values
        } else if request.settings.isPlain {
            plainValues = gim.values
            plainMilliseconds = gim.seconds * 1000
        } else {
            let plain = try s.attribute(targetTokenID: targetID, targetPosition: position, foilTokenID: foilID,
                                        baselineTokenID: baseline, settings: .plain, cancellation: newRequest)
            guard plain.isFinite else { throw ModelError.badInput("the plain gradient contains NaN or infinity") }
            plainValues = plain.values
            plainMilliseconds = plain.seconds * 1000
        }
        plainCache = (key, plainValues)

        let predictions = Self.top(request.topK, of: logits).map {
            Prediction(id: $0, text: bundle.tokenizer.displayText($0), probability: probabilities[$0], logit: logits[$0])
        }
        return AnalysisResult(
            requestID: request.id, prompt: request.prompt, tokenIDs: s.tokenIDs, tokenTexts: bundle.tokenTexts(s.tokenIDs),
            targetPosition: position, targetID: targetID, targetText: bundle.tokenizer.displayText(targetID),
            targetProbability: probabilities[targetID], foilID: foilID,
            foilText: foilID.map { bundle.tokenizer.displayText($0) }, foilProbability: foilID.map { probabilities[$0] },
            predictions: predictions, gim: gim.values, plain: plainValues, targetLogit: gim.targetLogit,
            settings: request.settings, forwardMilliseconds: forwardMilliseconds, gimMilliseconds: gim.seconds * 1000,
            plainMilliseconds: plainMilliseconds, notes: notes)
    }

    /// Faithfulness of a result's two panes (and the random floor). The first call for a question
    /// scores GIM, plain and random orders in one batch; later calls with only new knobs score GIM
    /// alone. `cancel` is polled between batched forwards (throws `CancellationError`).
    public func faithfulness(of r: AnalysisResult, cancel: (() -> Bool)? = nil) throws -> FaithfulnessReport {
        let key = FaithfulnessKey(tokenIDs: r.tokenIDs, position: r.targetPosition, target: r.targetID, foil: r.foilID)
        if evaluator?.key != key {
            evaluator = nil
            fixedFigures = nil
            // Small batches: cancellation (a newer request, quitting) is polled between them, so
            // stale work never holds up the next attribution for long.
            let options = FaithfulnessOptions(batchRows: Self.faithfulnessBatchRows,
                                              leaveOneOut: r.targetPosition + 1 <= Self.leaveOneOutLimit)
            let e = try FaithfulnessEvaluator(model: bundle.model, tokenIDs: r.tokenIDs, targetTokenID: r.targetID,
                                              targetPosition: r.targetPosition, foilTokenID: r.foilID,
                                              baselineTokenID: baseline, options: options)
            evaluator = (key, e)
        }
        let e = evaluator!.evaluator
        if let fixed = fixedFigures {
            let gim = try e.score(r.gim, cancel: cancel)
            return FaithfulnessReport(requestID: r.requestID, gim: PaneFaithfulness(gim), plain: fixed.plain, random: fixed.random)
        }
        let (scores, random) = try e.scores([r.gim, r.plain], includeRandom: true, cancel: cancel)
        let plain = PaneFaithfulness(scores[1])
        let randomFigures = random.map(PaneFaithfulness.init)
        fixedFigures = (plain, randomFigures)
        return FaithfulnessReport(requestID: r.requestID, gim: PaneFaithfulness(scores[0]), plain: plain, random: randomFigures)
    }

    /// A token choice as an id. Typed text is tokenized without special tokens; when it is
    /// several tokens the first is used (and said so), and the vocabulary's own spelling
    /// ("Ġthe", "<|im_end|>") is accepted too.
    func resolve(_ choice: TokenChoice, logits: [Float], role: String, notes: inout [String]) throws -> Int {
        let vocab = bundle.model.vocabSize
        switch choice {
        case .argmax:
            return Self.top(1, of: logits)[0]
        case .id(let id):
            guard id >= 0 && id < vocab else {
                throw ModelError.badInput("\(role) token #\(id) is outside the vocabulary (0..<\(vocab))")
            }
            return id
        case .text(let text):
            let ids = bundle.tokenizer.encode(text, addSpecialTokens: false)
            if ids.count == 1 { return ids[0] }
            if let exact = bundle.tokenizer.id(forToken: text) { return exact }
            guard let first = ids.first else { throw ModelError.badInput("\(role) \"\(text)\" has no tokens") }
            let shown = bundle.tokenTexts(ids).map { "\"\(Sanitizer.visible($0))\"" }.joined(separator: " ")
            notes.append("\(role) \"\(Sanitizer.visible(text))\" is \(ids.count) tokens (\(shown)); using the first")
            return first
        }
    }

    /// Probabilities in Double (the logits of a 49k vocabulary overflow Float's exp).
    static func softmax(_ logits: [Float]) -> [Double] {
        let m = Double(logits.max() ?? 0)
        var e = logits.map { exp(Double($0) - m) }
        let sum = e.reduce(0, +)
        for i in e.indices { e[i] /= sum }
        return e
    }

    /// Ids of the k largest logits, largest first (one pass, k small).
    static func top(_ k: Int, of logits: [Float]) -> [Int] {
        guard k > 0 else { return [] }
        var best: [Int] = []
        for i in logits.indices {
            if best.count == k, logits[i] <= logits[best[k - 1]] { continue }
            let at = best.firstIndex { logits[i] > logits[$0] } ?? best.count
            best.insert(i, at: at)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
