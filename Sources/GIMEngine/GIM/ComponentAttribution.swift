/// Attribution patching scores for model components (the use the Python package's `gim.GIM()`
/// context manager serves: edge/node attribution patching with GIM's backward):
///   score(component) = Σ_{t,d} ∂L/∂a[t,d] · (a_clean[t,d] − a_corrupt[t,d])
/// where `a` is the component's output on the clean prompt and on a corrupted run (by default the
/// prompt with every token replaced by the baseline token), and the gradient is GIM's (or plain).
public struct ComponentScores: Sendable {
    /// [layers] the attention block's output (after attn_output) of each layer.
    public let attention: [Float]
    /// [layers] the MLP block's output of each layer.
    public let mlp: [Float]
    /// [layers][heads] each head's output before attn_output; a layer's heads sum to its `attention`.
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
        let c = model.config
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
        let t = cache.length, d = c.dim, hd = c.headDim
        var seed = [Float](repeating: 0, count: t * d)
        for j in 0..<d {
            seed[p * d + j] = model.weights.output[target * d + j] - (foilTokenID.map { model.weights.output[$0 * d + j] } ?? 0)
        }

        var attention = [Float](repeating: 0, count: c.layers)
        var mlp = [Float](repeating: 0, count: c.layers)
        var heads = [[Float]](repeating: [Float](repeating: 0, count: c.heads), count: c.layers)
        let clean = cache, dirty = other.cache
        /// Σ grad ⊙ (f(clean) − f(corrupt)) over rows ≤ p, where f reads element (row, col) of an activation.
        func dot(_ grad: UnsafePointer<Float>, width: Int, cols: Range<Int>, _ f: (ForwardCache, Int, Int) -> Float) -> Float {
            var s: Float = 0
            for row in 0...p {
                for col in cols { s += grad[row * width + col] * (f(clean, row, col) - f(dirty, row, col)) }
            }
            return s
        }
        _ = try backward(seed: seed, settings: settings) { site, grad, width in
            switch site {
            case .blockOutput(let l):
                // MLP output = (residual after block l) − xMid.
                mlp[l] = dot(grad, width: width, cols: 0..<d) { cache, row, col in
                    let after = l + 1 < c.layers ? cache.layers[l + 1].xIn : cache.xOut
                    return after[row * d + col] - cache.layers[l].xMid[row * d + col]
                }
            case .attentionOutput(let l):
                // Attention output = xMid − xIn.
                attention[l] = dot(grad, width: width, cols: 0..<d) { cache, row, col in
                    cache.layers[l].xMid[row * d + col] - cache.layers[l].xIn[row * d + col]
                }
            case .headOutputs(let l):
                for h in 0..<c.heads {
                    heads[l][h] = dot(grad, width: width, cols: h * hd..<(h + 1) * hd) { cache, row, col in
                        cache.layers[l].ctx[row * c.attnDim + col]
                    }
                }
            case .blockInput:
                break
            }
        }
        let cleanLogits = try logits(at: p), dirtyLogits = try other.logits(at: p)
        let foil = foilTokenID
        return ComponentScores(attention: attention, mlp: mlp, heads: heads,
                               cleanLogit: cleanLogits[target] - (foil.map { cleanLogits[$0] } ?? 0),
                               corruptLogit: dirtyLogits[target] - (foil.map { dirtyLogits[$0] } ?? 0))
    }
}
