import Foundation

/// GIM and the plain gradient on one prompt, each scored for faithfulness beside the random floor:
/// one row of `gim evaluate`.
public struct PromptEvaluation: Sendable {
    public let tokenIDs: [Int]
    /// The explained token: the prompt's expected target when given, else the model's argmax.
    public let targetTokenID: Int
    /// The model's argmax at the last position.
    public let predictedTokenID: Int
    /// The expected target's tokens when the prompt names one (only the first is explained).
    public let expectedTokenIDs: [Int]?
    public let gimValues: [Float]
    public let plainValues: [Float]
    public let gim: FaithfulnessScore
    public let plain: FaithfulnessScore
    public let random: FaithfulnessScore?
    /// Forward plus both backwards, and the batched perturbed forwards, in seconds.
    public let attributionSeconds: Double
    public let perturbationSeconds: Double
    public let perturbedInputs: Int

    public var reference: FaithfulnessReference { gim.reference }

    /// Explains the last position's target with `settings` and with `.plain`, then scores both and
    /// the random floor in one batch of perturbed forwards.
    public static func run(bundle: ModelBundle, prompt: EvaluationPrompt, settings: GIMSettings, baselineTokenID: Int,
                           options: FaithfulnessOptions = .init(), cancel: (() -> Bool)? = nil) throws -> PromptEvaluation {
        let ids = bundle.encode(prompt.prompt)
        guard !ids.isEmpty else { throw ModelError.badInput("the prompt \"\(prompt.prompt)\" has no tokens") }
        var expected: [Int]?
        if let target = prompt.target {
            let t = bundle.tokenizer.encode(target, addSpecialTokens: false)
            guard !t.isEmpty else { throw ModelError.badInput("the target \"\(target)\" has no tokens") }
            expected = t
        }
        let start = DispatchTime.now()
        let session = try ExplainSession(model: bundle.model, tokenIDs: ids)
        let predicted = ExplainSession.argmax(try session.logits(at: -1))
        let target = expected?.first ?? predicted
        let gim = try session.attribute(targetTokenID: target, baselineTokenID: baselineTokenID, settings: settings)
        let plain = try session.attribute(targetTokenID: target, baselineTokenID: baselineTokenID, settings: .plain)
        let attributionSeconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        guard gim.isFinite && plain.isFinite else {
            throw ModelError.badInput("the attribution contains NaN or infinity (the model's activations overflowed)")
        }
        let evaluator = try FaithfulnessEvaluator(model: bundle.model, attribution: gim, options: options)
        let (scores, random) = try evaluator.scores([gim.values, plain.values], includeRandom: true, cancel: cancel)
        return PromptEvaluation(tokenIDs: ids, targetTokenID: target, predictedTokenID: predicted,
                                expectedTokenIDs: expected, gimValues: gim.values, plainValues: plain.values,
                                gim: scores[0], plain: scores[1], random: random,
                                attributionSeconds: attributionSeconds, perturbationSeconds: evaluator.forwardSeconds,
                                perturbedInputs: evaluator.forwardCount)
    }
}
