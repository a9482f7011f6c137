import Foundation

/// Every `AttributionMethod` on a kept forward pass: one call per method, e.g.
///   let a = try session.attribute(method: .attnLRP, baselineTokenID: baseline)
/// The backward methods cost one backward; Integrated Gradients `steps` forwards and backwards
/// (batched); occlusion one batched forward of T+1 inputs; random nothing.
extension ExplainSession {
    /// `method`'s attribution of the target logit at `targetPosition` (nil target = the argmax).
    /// `cancellation` is polled between layers (backward methods) or between batched chunks
    /// (Integrated Gradients, occlusion) and throws `CancellationError`.
    public func attribute(method: AttributionMethod, targetTokenID: Int? = nil, targetPosition: Int = -1,
                          foilTokenID: Int? = nil, baselineTokenID: Int,
                          cancellation: Cancellation? = nil) throws -> Attribution {
        try method.validate()
        if method.kind == .backward {
            var a = try attribute(targetTokenID: targetTokenID, targetPosition: targetPosition, foilTokenID: foilTokenID,
                                  baselineTokenID: baselineTokenID, settings: method.settings, cancellation: cancellation)
            a.method = method
            return a
        }
        let p = try resolvePosition(targetPosition)
        let logits = try logits(at: p)
        let target = targetTokenID ?? Self.argmax(logits)
        for (what, id) in [("target token id", target), ("baseline token id", baselineTokenID)]
            + (foilTokenID.map { [("foil token id", $0)] } ?? []) {
            guard id >= 0 && id < model.vocabSize else {
                throw ModelError.badInput("\(what) \(id) is outside the vocabulary (0..<\(model.vocabSize))")
            }
        }
        let start = DispatchTime.now()
        let values: [Float]
        switch method.kind {
        case .backward:
            fatalError("handled above")
        case .integratedGradients:
            values = try integratedGradients(position: p, target: target, foil: foilTokenID, steps: method.steps,
                                             baseline: baselineRow(baselineTokenID, method.settings), cancellation: cancellation)
        case .occlusion:
            values = try occlusion(position: p, target: target, foil: foilTokenID,
                                   baseline: baselineRow(baselineTokenID, method.settings), cancellation: cancellation)
        case .random:
            values = randomValues(position: p, target: target, seed: method.seed)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return Attribution(tokenIDs: cache.tokens, targetTokenID: target, foilTokenID: foilTokenID, targetPosition: p,
                           baselineTokenID: baselineTokenID, settings: method.settings, values: values,
                           targetLogit: logits[target] - (foilTokenID.map { logits[$0] } ?? 0), seconds: seconds,
                           method: method)
    }

    /// The first n = position+1 rows of the prompt's embeddings, [n·D].
    private func inputRows(_ n: Int) -> [Float] {
        cache.embeddings.slice(0, n * model.dim)
    }

    /// Integrated Gradients with the midpoint rule (see `AttributionMethod.Kind.integratedGradients`).
    /// The m path points run through `batchGradients` in chunks of about `chunkRows` stacked rows.
    func integratedGradients(position p: Int, target: Int, foil: Int?, steps m: Int, baseline b: [Float],
                             cancellation: Cancellation?, chunkRows: Int = 4096) throws -> [Float] {
        let n = p + 1, d = model.dim
        let e = inputRows(n)
        // e − b per row: [n·D]
        var delta = [Float](repeating: 0, count: n * d)
        for t in 0..<n { for j in 0..<d { delta[t * d + j] = e[t * d + j] - b[j] } }
        var gradSum = [Double](repeating: 0, count: n * d)
        let tokens = Array(cache.tokens[0..<n])
        let perChunk = max(1, min(m, chunkRows / n))
        var k = 0
        while k < m {
            try cancellation.check()
            let ks = k..<min(m, k + perChunk)
            // x_k = b + α_k (e − b), α_k = (k − ½)/m with k counted from 1.
            let points = ks.map { k -> [Float] in
                let alpha = (Float(k) + 0.5) / Float(m)
                var x = [Float](repeating: 0, count: n * d)
                for t in 0..<n { for j in 0..<d { x[t * d + j] = b[j] + alpha * delta[t * d + j] } }
                return x
            }
            let grads = try model.batchGradients(tokens: tokens, embeddings: points, at: p, target: target, foil: foil,
                                                 settings: .plain)
            for g in grads { for i in 0..<(n * d) { gradSum[i] += Double(g[i]) } }
            k = ks.upperBound
        }
        var values = [Float](repeating: 0, count: cache.length)
        for t in 0..<n {
            var s = 0.0
            for j in 0..<d { s += Double(delta[t * d + j]) * gradSum[t * d + j] }
            values[t] = Float(s / Double(m))
        }
        return values
    }

    /// Leave-one-out: L(x) − L(x with row t replaced by `b`) for t ≤ p, from one batched forward
    /// of the n perturbed inputs and x itself (so both sides are the same computation).
    func occlusion(position p: Int, target: Int, foil: Int?, baseline b: [Float], cancellation: Cancellation?) throws -> [Float] {
        let n = p + 1, d = model.dim
        let e = inputRows(n)
        let tokens = Array(cache.tokens[0..<n])
        var inputs = [e]
        for t in 0..<n {
            var x = e
            x.replaceSubrange(t * d..<(t + 1) * d, with: b)
            inputs.append(x)
        }
        var l: [Float] = []
        let perCall = max(1, 2048 / n)
        var start = 0
        while start < inputs.count {
            try cancellation.check()
            let chunk = Array(inputs[start..<min(inputs.count, start + perCall)])
            for row in try model.batchLogits(tokens: tokens, embeddings: chunk, at: p) {
                l.append(row[target] - (foil.map { row[$0] } ?? 0))
            }
            start += perCall
        }
        var values = [Float](repeating: 0, count: cache.length)
        for t in 0..<n { values[t] = l[0] - l[t + 1] }
        return values
    }

    /// Uniform values in [−1, 1) for t ≤ p, from a generator seeded by `seed`, the prompt, the
    /// position and the target: reproducible, and different across prompts.
    func randomValues(position p: Int, target: Int, seed: UInt64) -> [Float] {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for id in cache.tokens[0...p] + [p, target] { h = (h ^ UInt64(truncatingIfNeeded: id)) &* 0x100_0000_01B3 }
        var rng = SplitMix64(seed: h)
        var values = [Float](repeating: 0, count: cache.length)
        for t in 0...p { values[t] = Float(Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1) }
        return values
    }
}
