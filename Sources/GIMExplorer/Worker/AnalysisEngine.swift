import Foundation
import GIMEngine

/// Answers analysis requests with the engine, keeping the expensive parts between requests:
/// the forward pass of the current prompt (an `ExplainSession`), so a knob change, a new target
/// or a new position runs only the backward; and each pane's attribution of the current question,
/// so a knob or method change recomputes only the panes whose method changed (the plain
/// gradient beside GIM is not recomputed when GIM's knobs move). Not thread-safe: the worker
/// thread owns it.
public final class AnalysisEngine {
    public let bundle: ModelBundle
    let baseline: Int
    private var session: ExplainSession?
    /// What the kept forward pass is of: the prompt, chat mode and continuation.
    struct SequenceKey: Equatable {
        var prompt: String, chat: ChatOptions?, continuation: [Int]
    }
    private var sessionPrompt: SequenceKey?
    /// Tokens of the kept sequence that are the prompt's (the rest is the continuation).
    var sessionPromptCount = 0
    /// The matrix's plain-gradient rows of the kept sequence (they do not depend on the knobs).
    var matrixPlainRows: [Int: [Float]] = [:]

    /// What every pane explains: the attributions depend on it and on their method only.
    private struct QuestionKey: Equatable {
        var position: Int, target: Int, foil: Int?
    }
    /// Attributions of the current question per method, the most recently used last.
    private var attributions: (key: QuestionKey, values: [AttributionMethod: [Float]], order: [AttributionMethod])?
    /// Methods remembered per question (cycling a pane's method away and back costs nothing).
    public static let keptAttributions = 16

    /// The faithfulness evaluator of the last measured question, and the figures already
    /// measured for it per method (and the random floor): a knob change scores only the pane
    /// whose method changed.
    private struct FaithfulnessKey: Equatable {
        var tokenIDs: [Int], position: Int, target: Int, foil: Int?
    }
    private var evaluator: (key: FaithfulnessKey, evaluator: FaithfulnessEvaluator)?
    private var figures: [AttributionMethod: PaneFaithfulness] = [:]
    private var randomFigures: PaneFaithfulness?
    private var randomMeasured = false
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
        let (s, forwardMilliseconds) = try keptSession(SequenceKey(prompt: request.prompt, chat: request.chat,
                                                                    continuation: request.continuation),
                                                        cancellation: newPrompt)
        let n = s.tokenIDs.count
        // A remembered position past the end (the prompt got shorter) means the last one.
        let position = try s.resolvePosition(min(request.targetPosition ?? (n - 1), n - 1))
        let logits = try s.logits(at: position)
        let probabilities = Self.softmax(logits)

        var notes: [String] = []
        let targetID = try resolve(request.target, logits: logits, role: "target", notes: &notes)
        let foilID = try request.foil.map { try resolve($0, logits: logits, role: "foil", notes: &notes) }
        if foilID == targetID { notes.append("the foil is the target itself: every attribution is 0") }

        let key = QuestionKey(position: position, target: targetID, foil: foilID)
        if attributions?.key != key { attributions = (key, [:], []) }
        var panes: [PaneResult] = []
        for method in request.methods {
            // Keyed without the name: GIM with every knob off is the plain gradient, computed once.
            var same = method
            same.name = ""
            if let kept = attributions!.values[same] {
                panes.append(PaneResult(method: method, values: kept))
                attributions!.order.removeAll { $0 == same }
                attributions!.order.append(same)
                continue
            }
            let a = try s.attribute(method: method, targetTokenID: targetID, targetPosition: position, foilTokenID: foilID,
                                    baselineTokenID: baseline, cancellation: newRequest)
            guard a.isFinite else {
                throw ModelError.badInput("\(method.title): the attribution contains NaN or infinity (try less extreme knobs)")
            }
            panes.append(PaneResult(method: method, values: a.values, milliseconds: a.seconds * 1000))
            attributions!.values[same] = a.values
            attributions!.order.append(same)
            while attributions!.order.count > Self.keptAttributions {
                let oldest = attributions!.order.removeFirst()
                attributions!.values[oldest] = nil
            }
        }
        let targetLogit = logits[targetID] - (foilID.map { logits[$0] } ?? 0)

        let predictions = Self.top(request.topK, of: logits).map {
            Prediction(id: $0, text: bundle.tokenizer.displayText($0), probability: probabilities[$0], logit: logits[$0])
        }
        return AnalysisResult(
            requestID: request.id, prompt: request.prompt, tokenIDs: s.tokenIDs, tokenTexts: bundle.tokenTexts(s.tokenIDs),
            targetPosition: position, targetID: targetID, targetText: bundle.tokenizer.displayText(targetID),
            targetProbability: probabilities[targetID], foilID: foilID,
            foilText: foilID.map { bundle.tokenizer.displayText($0) }, foilProbability: foilID.map { probabilities[$0] },
            predictions: predictions, panes: panes, targetLogit: targetLogit, forwardMilliseconds: forwardMilliseconds,
            notes: notes, special: s.tokenIDs.map { bundle.tokenizer.isSpecial($0) },
            words: WordAggregation.mapping(tokenIDs: s.tokenIDs, tokenizer: bundle.tokenizer),
            continuationStart: request.continuation.isEmpty ? nil : sessionPromptCount)
    }

    /// A prompt's token ids: plain (with BOS when the model asks for it), or in chat mode the
    /// user's message in the model's chat template with the assistant's turn opened.
    public func encode(_ prompt: String, chat: ChatOptions?) throws -> [Int] {
        guard let chat else { return bundle.encode(prompt) }
        return try bundle.encodeChat(user: prompt, system: chat.system)
    }

    /// The kept forward pass when it is of this sequence, else a new one (the old one is freed
    /// first); the forward's milliseconds when it ran. `cancellation` is polled between layers.
    func keptSession(_ sequence: SequenceKey, cancellation: Cancellation? = nil) throws -> (ExplainSession, Double?) {
        if let s = session, sessionPrompt == sequence { return (s, nil) }
        let promptIDs = try encode(sequence.prompt, chat: sequence.chat)
        guard !promptIDs.isEmpty else { throw ModelError.badInput("the prompt has no tokens") }
        let ids = promptIDs + sequence.continuation
        // Free the old forward pass before the new one allocates (long prompts take gigabytes).
        let oldLength = session?.tokenIDs.count ?? 0
        session = nil
        sessionPrompt = nil
        attributions = nil
        matrixPlainRows = [:]
        // `gim` keeps freed memory for reuse (HeapSettings.keepFreedMemory), so without this
        // the explorer's RSS stayed at the largest prompt ever attributed (the soak test saw
        // 2.6 GB held while attributing 5 tokens). Short prompts keep the fast reuse.
        if oldLength > Self.releaseMemoryAfterTokens { HeapSettings.releaseFreeMemory() }
        let s = try ExplainSession(model: bundle.model, tokenIDs: ids, cancellation: cancellation)
        session = s
        sessionPrompt = sequence
        sessionPromptCount = promptIDs.count
        return (s, s.forwardSeconds * 1000)
    }

    /// Faithfulness of a result's panes (deletion/insertion, ρ with leave-one-out, and the GIM
    /// paper's comprehensiveness and sufficiency) and the random floor. Panes whose method was
    /// measured before on the same question keep their figures; the others are scored one at a
    /// time, and `progress` gets the report after each (the UI shows figures as they come).
    /// `cancel` is polled between batched forwards (throws `CancellationError`).
    public func faithfulness(of r: AnalysisResult, cancel: (() -> Bool)? = nil,
                             progress: ((FaithfulnessReport) -> Void)? = nil) throws -> FaithfulnessReport {
        let key = FaithfulnessKey(tokenIDs: r.tokenIDs, position: r.targetPosition, target: r.targetID, foil: r.foilID)
        if evaluator?.key != key {
            evaluator = nil
            figures = [:]
            randomFigures = nil
            randomMeasured = false
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
        // Keyed without the name, as the attributions.
        func same(_ m: AttributionMethod) -> AttributionMethod {
            var k = m
            k.name = ""
            return k
        }
        func report() -> FaithfulnessReport {
            FaithfulnessReport(requestID: r.requestID, panes: r.panes.map { figures[same($0.method)] },
                               methods: r.panes.map(\.method), random: randomFigures)
        }
        for pane in r.panes where figures[same(pane.method)] == nil {
            // The first pane scored brings the random floor along (in the same batch).
            let (scores, random) = try e.scores([pane.values], includeRandom: !randomMeasured, cancel: cancel)
            let paper = try e.paperScores([pane.values], cancel: cancel)
            figures[same(pane.method)] = PaneFaithfulness(scores[0], paper: paper[0])
            if !randomMeasured {
                randomFigures = random.map { PaneFaithfulness($0) }
                randomMeasured = true
            }
            progress?(report())
        }
        // A long knob storm on one question must not keep every figure it passed through.
        if figures.count > Self.keptAttributions {
            figures = figures.filter { kept in r.panes.contains { same($0.method) == kept.key } }
        }
        return report()
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
