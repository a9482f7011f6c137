/// What the backward differentiates: a linear function of the logits at one position.
public enum BackwardSeed {
    /// Fills `seed` ([T, D], gradient at the final hidden states) for L = logit(target) at `position`,
    /// or logit(target) − logit(foil) in contrastive mode. Since raw logits = W_out · hidden[p],
    /// ∂L/∂hidden[p] = W_out[target] (− W_out[foil]), and every other row is zero. Where the
    /// family soft-caps its logits (l = tanh(raw/c)·c), each row is scaled by ∂l/∂raw = 1 − (l/c)²,
    /// read off `logits` (the capped logits at `position`).
    static func fill(_ seed: FloatBuffer, model: CausalLanguageModel, position: Int, target: Int, foil: Int?,
                     logits: [Float]) {
        let d = model.dim
        seed.zero()
        let values = row(model: model, target: target, foil: foil, logits: logits)
        (seed.pointer + position * d).update(from: values, count: d)
    }

    /// ∂L/∂hidden[p] as one [D] row (see `fill`).
    static func row(model: CausalLanguageModel, target: Int, foil: Int?, logits: [Float]) -> [Float] {
        let d = model.dim, head = model.outputHead
        func slope(_ id: Int) -> Float {
            guard let cap = model.finalLogitSoftcap else { return 1 }
            let u = logits[id] / cap
            return 1 - u * u
        }
        let ts = slope(target)
        var row = (0..<d).map { head[target * d + $0] * ts }
        if let foil {
            let fs = slope(foil)
            for j in 0..<d { row[j] -= head[foil * d + j] * fs }
        }
        return row
    }
}
