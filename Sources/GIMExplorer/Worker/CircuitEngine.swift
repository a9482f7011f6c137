import Foundation
import GIMEngine

/// Answers the circuit view's requests with the engine's `CircuitSession`, keeping what a knob
/// change does not affect: the clean forward pass (per prompt), and the session of the current
/// question (the corrupted forward, both runs' component activations, the plain scores and the
/// patching sweep, all memoized), so a knob change runs one GIM backward. Not thread-safe: the
/// worker thread owns it.
public final class CircuitEngine {
    let analysis: AnalysisEngine
    private var clean: (prompt: String, session: ExplainSession)?
    private var circuit: (question: CircuitQuestion, session: CircuitSession)?

    /// Patching sweeps every residual position of every layer (layers × positions runs), and both
    /// runs' activations are kept: the view is for short prompts.
    public static let maxTokens = 128

    public init(analysis: AnalysisEngine) {
        self.analysis = analysis
    }

    var bundle: ModelBundle { analysis.bundle }

    public func scores(_ request: CircuitRequest) throws -> CircuitResult {
        var forwardSeconds: Double?
        if clean?.prompt != request.prompt {
            clean = nil
            circuit = nil
            let ids = bundle.encode(request.prompt)
            guard !ids.isEmpty else { throw ModelError.badInput("the prompt has no tokens") }
            guard ids.count <= Self.maxTokens else {
                throw ModelError.badInput("the prompt has \(ids.count) tokens; the circuit view scores prompts of at most \(Self.maxTokens)")
            }
            let s = try ExplainSession(model: bundle.model, tokenIDs: ids)
            clean = (request.prompt, s)
            forwardSeconds = s.forwardSeconds
        }
        let s = clean!.session
        let n = s.tokenIDs.count
        let position = try s.resolvePosition(min(request.targetPosition ?? (n - 1), n - 1))
        let logits = try s.logits(at: position)
        var notes: [String] = []
        let target = try analysis.resolve(request.target, logits: logits, role: "target", notes: &notes)
        let foil = try request.foil.map { try analysis.resolve($0, logits: logits, role: "foil", notes: &notes) }

        let counterfactual: Counterfactual
        var corruptTexts: [String]?
        switch request.counterfactual {
        case .prompt(let text):
            let bad = bundle.encode(text)
            guard bad.count == n else {
                throw ModelError.badInput("the corrupted prompt has \(bad.count) tokens and the prompt \(n): they must align "
                                          + "token by token (same number of tokens; C edits it)")
            }
            counterfactual = .prompt(tokenIDs: bad)
            corruptTexts = bundle.tokenTexts(bad)
        case .meanOverPositions:
            counterfactual = .meanOverPositions
        }
        let question = CircuitQuestion(tokenIDs: s.tokenIDs, counterfactual: counterfactual, targetPosition: position,
                                       targetID: target, foilID: foil)
        var plainKept = true
        if circuit?.question != question {
            circuit = nil
            let c = try CircuitSession(clean: s, counterfactual: counterfactual, targetTokenID: target,
                                       targetPosition: position, foilTokenID: foil)
            circuit = (question, c)
            forwardSeconds = (forwardSeconds ?? 0) + c.corruptForwardSeconds
            plainKept = false
        }
        let a = try circuit!.session.analyze(settings: request.settings, patching: false)
        guard a.gim.isFinite else { throw ModelError.badInput("the GIM scores contain NaN or infinity (try less extreme knobs)") }
        guard a.plain.isFinite else { throw ModelError.badInput("the plain scores contain NaN or infinity") }
        return CircuitResult(requestID: request.id, question: question, tokenTexts: bundle.tokenTexts(s.tokenIDs),
                             corruptTokenTexts: corruptTexts, targetText: bundle.tokenizer.displayText(target),
                             foilText: foil.map { bundle.tokenizer.displayText($0) }, cleanMetric: a.cleanMetric,
                             corruptMetric: a.corruptMetric, settings: request.settings, gim: a.gim, plain: a.plain,
                             gimMilliseconds: a.gimSeconds * 1000, plainMilliseconds: plainKept ? nil : a.plainSeconds * 1000,
                             forwardMilliseconds: forwardSeconds.map { $0 * 1000 }, notes: notes)
    }

    /// Activation patching of the result's question (memoized by its session: after a knob change it
    /// returns at once); nil when the engine has moved on to another question. `cancel` is polled
    /// between batches (throws `CancellationError`).
    public func patching(for r: CircuitResult, cancel: (() -> Bool)? = nil) throws -> CircuitPatching? {
        guard let c = circuit, c.question == r.question else { return nil }
        let p = try c.session.patching(cancel: cancel)
        guard p.effects.isFinite else {
            return CircuitPatching(requestID: r.requestID, question: r.question, effects: nil,
                                   failure: "the patched runs contain NaN or infinity")
        }
        return CircuitPatching(requestID: r.requestID, question: r.question, effects: p.effects, runs: p.runs, seconds: p.seconds)
    }
}
