import Foundation

/// Why the model said what it said: a prompt and its continuation (generated, or given by the
/// user: teacher forcing), with ONE forward pass of the whole sequence kept. Continuation token k,
/// at position p = promptCount + k, is attributed as the target of the prediction at p − 1 over
/// every token before it (the prompt and the continuation so far); causal attention makes that
/// prediction depend on nothing at or after p, so this equals a fresh `explain` of the prefix
/// `tokenIDs[0..<p]` with that token as target. A knob change, a new step or another method reruns
/// only a backward. Not thread-safe, like `ExplainSession` (one thread at a time).
public final class ContinuationSession: @unchecked Sendable {
    /// The kept forward pass of prompt + continuation; other attribution methods can run on it
    /// with `targetPosition: position(ofStep: k) − 1`.
    public let explain: ExplainSession
    /// How many leading tokens are the prompt.
    public let promptCount: Int

    public var model: CausalLanguageModel { explain.model }
    /// Prompt then continuation.
    public var tokenIDs: [Int] { explain.tokenIDs }
    public var continuationIDs: [Int] { Array(tokenIDs[promptCount...]) }
    /// Number of continuation tokens (rows of the matrix).
    public var stepCount: Int { tokenIDs.count - promptCount }

    /// Runs the forward pass of prompt + continuation (`cancellation` is polled between layers).
    public init(model: CausalLanguageModel, prompt: [Int], continuation: [Int], cancellation: Cancellation? = nil) throws {
        guard !prompt.isEmpty else { throw ModelError.badInput("the prompt has no tokens") }
        guard !continuation.isEmpty else { throw ModelError.badInput("the continuation has no tokens") }
        explain = try ExplainSession(model: model, tokenIDs: prompt + continuation, cancellation: cancellation)
        promptCount = prompt.count
    }

    /// The session of a generation run's prompt and generated tokens.
    public convenience init(model: CausalLanguageModel, generation: Generation, cancellation: Cancellation? = nil) throws {
        try self.init(model: model, prompt: generation.promptIDs, continuation: generation.generatedIDs, cancellation: cancellation)
    }

    /// Position in the sequence of continuation token `step` (its prediction is made at position − 1).
    public func position(ofStep step: Int) throws -> Int {
        guard step >= 0 && step < stepCount else {
            throw ModelError.badInput("continuation token \(step) is out of range (0..<\(stepCount))")
        }
        return promptCount + step
    }

    /// What the model predicted where continuation token `step` came: its probability, rank and the argmax.
    public func prediction(step: Int) throws -> StepPrediction {
        let p = try position(ofStep: step), id = tokenIDs[p]
        let logits = try explain.logits(at: p - 1)
        let probs = SamplingSettings.softmax(logits)
        let rank = logits.reduce(0) { $0 + ($1 > logits[id] ? 1 : 0) }
        return StepPrediction(step: step, position: p, tokenID: id, probability: probs[id], logit: logits[id], rank: rank,
                              argmaxID: ExplainSession.argmax(logits))
    }

    /// The attribution of continuation token `step` (as the target at its position − 1) over the
    /// `position` tokens before it: `values` has one entry per prefix token. Backward only
    /// (`cancellation` polled between its layers; the session stays usable).
    public func attribute(step: Int, baselineTokenID: Int, settings: GIMSettings,
                          cancellation: Cancellation? = nil) throws -> Attribution {
        let p = try position(ofStep: step)
        let a = try explain.attribute(targetTokenID: tokenIDs[p], targetPosition: p - 1, baselineTokenID: baselineTokenID,
                                      settings: settings, cancellation: cancellation)
        return Attribution(tokenIDs: Array(tokenIDs[..<p]), targetTokenID: a.targetTokenID, foilTokenID: nil,
                           targetPosition: a.targetPosition, baselineTokenID: baselineTokenID, settings: settings,
                           values: Array(a.values[..<p]), targetLogit: a.targetLogit, seconds: a.seconds)
    }

    /// Every continuation token's attribution: rows = continuation tokens, columns = the tokens
    /// before each (row k has promptCount + k values). `cancellation` is polled before each row
    /// and inside each backward (throws `CancellationError`).
    public func matrix(baselineTokenID: Int, settings: GIMSettings, cancellation: Cancellation? = nil) throws -> ContinuationMatrix {
        var rows: [[Float]] = []
        var predictions: [StepPrediction] = []
        for k in 0..<stepCount {
            try cancellation.check()
            rows.append(try attribute(step: k, baselineTokenID: baselineTokenID, settings: settings,
                                      cancellation: cancellation).values)
            predictions.append(try prediction(step: k))
        }
        return ContinuationMatrix(tokenIDs: tokenIDs, promptCount: promptCount, settings: settings,
                                  baselineTokenID: baselineTokenID, predictions: predictions, rows: rows)
    }
}

/// The model's prediction where one continuation token came.
public struct StepPrediction: Sendable, Equatable, Codable {
    /// Index in the continuation, and position in the whole sequence.
    public let step: Int
    public let position: Int
    public let tokenID: Int
    /// Probability of the token at temperature 1, its logit, and how many tokens scored higher
    /// (0 = it was the argmax; teacher-forced tokens can rank lower).
    public let probability: Double
    public let logit: Float
    public let rank: Int
    public let argmaxID: Int
}

/// Rows = continuation tokens, columns = source tokens (the prompt and the earlier continuation).
public struct ContinuationMatrix: Sendable, Equatable, Codable {
    public let tokenIDs: [Int]
    public let promptCount: Int
    public let settings: GIMSettings
    public let baselineTokenID: Int
    public let predictions: [StepPrediction]
    /// Row k: the attribution of continuation token k over tokens 0..<(promptCount + k).
    public let rows: [[Float]]

    /// The same rows over words (`mapping` of `tokenIDs`): row k over the words that start before
    /// its position, each the `reduction` of its tokens' values (a word cut by the row's end counts
    /// only its tokens before it).
    public func rows(over mapping: WordMapping, _ reduction: WordReduction = .sum) -> [[Float]] {
        rows.map { row in
            let padded = row + [Float](repeating: 0, count: tokenIDs.count - row.count)
            let words = mapping.words.prefix { $0.firstToken < row.count }.count
            return Array(mapping.aggregate(padded, reduction).prefix(words))
        }
    }
}
