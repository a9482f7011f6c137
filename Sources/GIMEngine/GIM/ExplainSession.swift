import Foundation

/// The forward pass of one prompt kept alive, so that a knob change, a new target token or a new
/// target position reruns only the backward. Not thread-safe, so not `Sendable`: a session
/// stays on the thread that made it (the explorer owns one per prompt on its worker); its
/// logits memo and backward scratch are unguarded. The model it reads may be shared.
public final class ExplainSession {
    public let model: CausalLanguageModel
    /// The kept forward pass.
    public let cache: ForwardPass
    public var tokenIDs: [Int] { cache.tokens }
    /// Seconds the forward pass took.
    public let forwardSeconds: Double
    private let backward: BackwardPass
    /// [T, D] gradient seed at the final hidden states.
    private let seed: FloatBuffer
    private var logitsCache: [Int: [Float]] = [:]
    /// Backwards beside `backward` for `attributeTogether` on checkpointed passes (made on first use).
    private var extraBackwards: [DecoderBackward] = []

    /// Runs the forward pass of `tokenIDs` (or of `embeddings`, [T, dim], when given);
    /// `cancellation` is polled between layers (throws `CancellationError`).
    public init(model: CausalLanguageModel, tokenIDs: [Int], embeddings: [Float]? = nil,
                cancellation: Cancellation? = nil) throws {
        self.model = model
        let start = DispatchTime.now()
        cache = try model.forwardPass(tokenIDs, embeddings: embeddings, cancellation: cancellation)
        forwardSeconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        backward = model.makeBackward(length: tokenIDs.count)
        seed = FloatBuffer(count: tokenIDs.count * model.dim)
    }

    /// Resolves a possibly negative position (−1 = last) or throws naming the valid range.
    public func resolvePosition(_ p: Int) throws -> Int {
        let t = cache.length
        let resolved = p < 0 ? t + p : p
        guard resolved >= 0 && resolved < t else {
            throw ModelError.badInput("target position \(p) is out of range for a \(t)-token prompt (valid: \(-t)..<\(t))")
        }
        return resolved
    }

    /// Logits at a position ([vocab]); memoized per position.
    public func logits(at position: Int) throws -> [Float] {
        let p = try resolvePosition(position)
        if let l = logitsCache[p] { return l }
        let l = model.logits(cache, at: p)
        logitsCache[p] = l
        return l
    }

    private func checkToken(_ id: Int, _ what: String) throws {
        guard id >= 0 && id < model.vocabSize else {
            throw ModelError.badInput("\(what) \(id) is outside the vocabulary (0..<\(model.vocabSize))")
        }
    }

    /// GIM (or plain-gradient) attribution of the target logit at `targetPosition` to every prompt token.
    /// `targetTokenID` nil = the argmax at that position. `cancellation` is polled between the
    /// backward's layers (throws `CancellationError`; the session stays usable).
    public func attribute(targetTokenID: Int? = nil, targetPosition: Int = -1, foilTokenID: Int? = nil,
                          baselineTokenID: Int, settings: GIMSettings, cancellation: Cancellation? = nil) throws -> Attribution {
        try settings.validate()
        let (p, logits, target) = try resolveTarget(targetTokenID, position: targetPosition, foil: foilTokenID,
                                                    baseline: baselineTokenID)

        let start = DispatchTime.now()
        BackwardSeed.fill(seed, model: model, pass: cache, position: p, target: target, foil: foilTokenID)
        let grad = try backward.run(cache, seed: seed, rows: p + 1, settings: settings, observer: nil,
                                    cancellation: cancellation)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return attribution(grad, position: p, target: target, foil: foilTokenID, baseline: baselineTokenID,
                           settings: settings, logits: logits, seconds: seconds)
    }

    /// Several backward attributions of one target (e.g. GIM and the plain gradient, as `gim explain`
    /// shows them), in the order of `settings`. On a checkpointed forward pass (long prompts, see
    /// `DecoderModel.forward`) they run side by side, recomputing each layer once for all of them
    /// (`DecoderBackward.runTogether`), and each one's `seconds` is an equal share of the joint time;
    /// otherwise one after another, as `attribute` runs them.
    public func attributeTogether(targetTokenID: Int? = nil, targetPosition: Int = -1, foilTokenID: Int? = nil,
                                  baselineTokenID: Int, settings: [GIMSettings],
                                  cancellation: Cancellation? = nil) throws -> [Attribution] {
        guard settings.count > 1, let first = backward as? DecoderBackward,
              (cache as? DecoderForwardCache)?.checkpointed == true else {
            var out: [Attribution] = []
            for s in settings {
                // The first call resolves an argmax target; the others explain the same token.
                out.append(try attribute(targetTokenID: out.first?.targetTokenID ?? targetTokenID, targetPosition: targetPosition,
                                         foilTokenID: foilTokenID, baselineTokenID: baselineTokenID, settings: s,
                                         cancellation: cancellation))
            }
            return out
        }
        for s in settings { try s.validate() }
        let (p, logits, target) = try resolveTarget(targetTokenID, position: targetPosition, foil: foilTokenID,
                                                    baseline: baselineTokenID)

        while extraBackwards.count < settings.count - 1 {
            extraBackwards.append(DecoderBackward(model: first.model, length: cache.length))
        }
        let start = DispatchTime.now()
        BackwardSeed.fill(seed, model: model, pass: cache, position: p, target: target, foil: foilTokenID)
        let grads = try DecoderBackward.runTogether([first] + extraBackwards.prefix(settings.count - 1), cache, seed: seed,
                                                    rows: p + 1, settings: settings, cancellation: cancellation)
        let share = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 / Double(settings.count)
        return zip(grads, settings).map { grad, s in
            attribution(grad, position: p, target: target, foil: foilTokenID, baseline: baselineTokenID, settings: s,
                        logits: logits, seconds: share)
        }
    }

    /// The position, its logits and the target token (the argmax when nil), with every token id checked.
    private func resolveTarget(_ targetTokenID: Int?, position: Int, foil: Int?,
                               baseline: Int) throws -> (position: Int, logits: [Float], target: Int) {
        let p = try resolvePosition(position)
        let logits = try logits(at: p)
        let target = targetTokenID ?? Self.argmax(logits)
        try checkToken(target, "target token id")
        try checkToken(baseline, "baseline token id")
        if let foil { try checkToken(foil, "foil token id") }
        return (p, logits, target)
    }

    /// Gradient × input of a backward's gradient at the embeddings, as an `Attribution`.
    private func attribution(_ grad: FloatBuffer, position p: Int, target: Int, foil: Int?, baseline: Int,
                             settings: GIMSettings, logits: [Float], seconds: Double) -> Attribution {
        let values = Self.gradientTimesInput(grad, cache.embeddings, baseline: baselineRow(baseline, settings),
                                             rows: cache.length, dim: model.dim)
        let logit = logits[target] - (foil.map { logits[$0] } ?? 0)
        return Attribution(tokenIDs: cache.tokens, targetTokenID: target, foilTokenID: foil, targetPosition: p,
                           baselineTokenID: baseline, settings: settings, values: values, targetLogit: logit,
                           seconds: seconds, method: .backward(settings))
    }

    /// Runs the (modified) backward from a caller-chosen gradient at the final hidden states
    /// (`seed`, [T, D] row-major) and reports gradients at intermediate sites to `observer`:
    /// the engine side of `gim.GIM()`. Returns the gradient at the token embeddings, [T, D].
    public func backward(seed values: [Float], settings: GIMSettings, observer: GradientObserver? = nil) throws -> [Float] {
        try settings.validate()
        guard values.count == seed.count else {
            throw ModelError.badInput("seed has \(values.count) values, expected \(seed.count) (T × dim)")
        }
        values.withUnsafeBufferPointer { seed.pointer.update(from: $0.baseAddress!, count: values.count) }
        return backward.run(cache, seed: seed, rows: nil, settings: settings, observer: observer).array
    }

    /// The embedding that stands for "no input": the baseline token's row, or zeros. [D]
    func baselineRow(_ baselineTokenID: Int, _ settings: GIMSettings) -> [Float] {
        settings.inputBaseline == .zero ? [Float](repeating: 0, count: model.dim) : model.tokenEmbedding.row(baselineTokenID)
    }

    /// a_t = Σ_d grad[t,d] · (e[t,d] − base[d]).
    static func gradientTimesInput(_ grad: FloatBuffer, _ e: FloatBuffer, baseline base: [Float], rows: Int,
                                   dim: Int) -> [Float] {
        return (0..<rows).map { t in
            let g = grad.pointer + t * dim, x = e.pointer + t * dim
            var sum: Float = 0
            for j in 0..<dim { sum += g[j] * (x[j] - base[j]) }
            return sum
        }
    }

    static func argmax(_ v: [Float]) -> Int {
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return best
    }
}
