/// What the backward differentiates: a linear function of the logits at one position.
public enum BackwardSeed {
    /// Fills `seed` ([T, D], gradient at the final hidden states) for L = logit(target) at `position`,
    /// or logit(target) − logit(foil) in contrastive mode. Since logits = W_out · hidden[p],
    /// ∂L/∂hidden[p] = W_out[target] (− W_out[foil]), and every other row is zero.
    static func fill(_ seed: FloatBuffer, model: CausalLanguageModel, position: Int, target: Int, foil: Int?) {
        let d = model.dim, head = model.outputHead
        seed.zero()
        let row = seed.pointer + position * d
        row.update(from: head.pointer + target * d, count: d)
        if let foil {
            let f = head.pointer + foil * d
            for j in 0..<d { row[j] -= f[j] }
        }
    }
}
