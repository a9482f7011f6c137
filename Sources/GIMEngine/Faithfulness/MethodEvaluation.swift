import Foundation

/// Several attribution methods on one prompt, each scored by the GIM paper's metrics and the
/// deletion/insertion/leave-one-out figures: one row of `gim evaluate --methods`.
public struct MethodEvaluation: Sendable {
    public struct Result: Sendable {
        public let method: AttributionMethod
        public let attribution: Attribution
        public let score: FaithfulnessScore
        public let paper: PaperFaithfulness
    }

    public let tokenIDs: [Int]
    /// The explained token: the prompt's expected target when given, else the model's argmax.
    public let targetTokenID: Int
    public let predictedTokenID: Int
    public let expectedTokenIDs: [Int]?
    /// One per method, in the order asked.
    public let results: [Result]
    public let perturbationSeconds: Double
    public let perturbedInputs: Int

    public var reference: FaithfulnessReference { results[0].score.reference }

    /// Explains the last position's target with every method on one kept forward pass, then
    /// scores them all in one batch of perturbed forwards.
    public static func run(bundle: ModelBundle, prompt: EvaluationPrompt, methods: [AttributionMethod],
                           baselineTokenID: Int, options: FaithfulnessOptions = .init(),
                           cancel: (() -> Bool)? = nil) throws -> MethodEvaluation {
        guard !methods.isEmpty else { throw ModelError.badInput("no attribution method to evaluate") }
        let ids = bundle.encode(prompt.prompt)
        guard !ids.isEmpty else { throw ModelError.badInput("the prompt \"\(prompt.prompt)\" has no tokens") }
        var expected: [Int]?
        if let target = prompt.target {
            let t = bundle.tokenizer.encode(target, addSpecialTokens: false)
            guard !t.isEmpty else { throw ModelError.badInput("the target \"\(target)\" has no tokens") }
            expected = t
        }
        let session = try ExplainSession(model: bundle.model, tokenIDs: ids)
        let predicted = ExplainSession.argmax(try session.logits(at: -1))
        let target = expected?.first ?? predicted
        let attributions = try methods.map { m -> Attribution in
            let a = try session.attribute(method: m, targetTokenID: target, baselineTokenID: baselineTokenID)
            guard a.isFinite else {
                throw ModelError.badInput("\(m.name): the attribution contains NaN or infinity (the model's activations overflowed)")
            }
            return a
        }
        let evaluator = try FaithfulnessEvaluator(model: bundle.model, attribution: attributions[0], options: options)
        let values = attributions.map(\.values)
        let (scores, _) = try evaluator.scores(values, includeRandom: false, cancel: cancel)
        let paper = try evaluator.paperScores(values, cancel: cancel)
        let results = methods.indices.map {
            Result(method: methods[$0], attribution: attributions[$0], score: scores[$0], paper: paper[$0])
        }
        return MethodEvaluation(tokenIDs: ids, targetTokenID: target, predictedTokenID: predicted,
                                expectedTokenIDs: expected, results: results,
                                perturbationSeconds: evaluator.forwardSeconds, perturbedInputs: evaluator.forwardCount)
    }
}
