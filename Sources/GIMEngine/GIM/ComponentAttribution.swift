/// Attribution patching scores for model components (the use the Python package's `gim.GIM()`
/// context manager serves: edge/node attribution patching with GIM's backward):
///   score(component) = Σ_{t,d} ∂L/∂a[t,d] · (a_clean[t,d] − a_corrupt[t,d])
/// where `a` is the component's output on the clean prompt and on a corrupted run (by default the
/// prompt with every token replaced by the baseline token), and the gradient is GIM's (or plain).
public struct ComponentScores: Sendable {
    /// [layers] the attention block's output (after the output projection) of each layer.
    public let attention: [Float]
    /// [layers] the MLP block's output of each layer.
    public let mlp: [Float]
    /// [layers][heads] each head's output before the output projection; a layer's heads sum to its `attention`.
    public let heads: [[Float]]
    /// The explained logit on the clean and the corrupted run.
    public let cleanLogit: Float
    public let corruptLogit: Float
}

extension ExplainSession {
    /// Scores every attention layer, MLP and head for the target logit at `targetPosition`.
    /// `corrupt` is the forward pass of the corrupted prompt (same length); nil = all baseline tokens.
    public func componentScores(targetTokenID: Int? = nil, targetPosition: Int = -1, foilTokenID: Int? = nil,
                                baselineTokenID: Int, corrupt: ExplainSession? = nil,
                                settings: GIMSettings) throws -> ComponentScores {
        let p = try resolvePosition(targetPosition)
        let target = try targetTokenID ?? Self.argmax(logits(at: p))
        let other: ExplainSession
        if let corrupt {
            other = corrupt
        } else {
            other = try ExplainSession(model: model, tokenIDs: [Int](repeating: baselineTokenID, count: cache.length))
        }
        guard other.cache.length == cache.length else {
            throw ModelError.badInput("the corrupted prompt has \(other.cache.length) tokens, the clean one \(cache.length)")
        }
        let t = cache.length, d = model.dim, hd = model.headDim, layers = model.layerCount
        var seed = [Float](repeating: 0, count: t * d)
        let row = BackwardSeed.row(model: model, pass: cache, position: p, target: target, foil: foilTokenID)
        for j in 0..<d { seed[p * d + j] = row[j] }

        var attention = [Float](repeating: 0, count: layers)
        var mlp = [Float](repeating: 0, count: layers)
        var heads = [[Float]](repeating: [Float](repeating: 0, count: model.headCount), count: layers)
        /// Σ grad ⊙ (clean − corrupt) over rows ≤ p and the given columns of a [T, width] activation.
        func score(_ grad: UnsafePointer<Float>, _ site: GradientSite, width: Int, cols: Range<Int>) -> Float {
            guard let a = cache.componentOutput(site), let b = other.cache.componentOutput(site) else { return 0 }
            var s: Float = 0
            for row in 0...p {
                for col in cols { s += grad[row * width + col] * (a[row * width + col] - b[row * width + col]) }
            }
            return s
        }
        _ = try backward(seed: seed, settings: settings) { site, grad, width in
            switch site {
            case .blockOutput(let l):
                mlp[l] = score(grad, site, width: width, cols: 0..<width)
            case .attentionOutput(let l):
                attention[l] = score(grad, site, width: width, cols: 0..<width)
            case .headOutputs(let l):
                for h in 0..<heads[l].count {
                    heads[l][h] = score(grad, site, width: width, cols: h * hd..<(h + 1) * hd)
                }
            case .blockInput:
                break
            }
        }
        let cleanLogits = try logits(at: p), dirtyLogits = try other.logits(at: p)
        return ComponentScores(attention: attention, mlp: mlp, heads: heads,
                               cleanLogit: cleanLogits[target] - (foilTokenID.map { cleanLogits[$0] } ?? 0),
                               corruptLogit: dirtyLogits[target] - (foilTokenID.map { dirtyLogits[$0] } ?? 0))
    }
}
