import Foundation

/// What the backward differentiates: a linear function of the logits at one position.
public enum BackwardSeed {
    /// Fills `seed` ([T, D], gradient at the final hidden states) for L = logit(target) at `position`,
    /// or logit(target) − logit(foil) in contrastive mode. Since raw logits = W_out · hidden[p],
    /// ∂L/∂hidden[p] = W_out[target] (− W_out[foil]), and every other row is zero. Where the
    /// family soft-caps its logits (l = tanh(raw/c)·c), each row is scaled by ∂l/∂raw
    /// (`CausalLanguageModel.logitSlope`).
    static func fill(_ seed: FloatBuffer, model: CausalLanguageModel, pass: ForwardPass, position: Int, target: Int,
                     foil: Int?) {
        let d = model.dim
        seed.zero()
        let values = row(model: model, pass: pass, position: position, target: target, foil: foil)
        (seed.pointer + position * d).update(from: values, count: d)
    }

    /// ∂L/∂hidden[position] as one [D] row (see `fill`).
    static func row(model: CausalLanguageModel, pass: ForwardPass, position: Int, target: Int, foil: Int?) -> [Float] {
        let d = model.dim, head = model.outputHead
        let ts = model.logitSlope(pass, at: position, token: target)
        var row = head.row(target).map { $0 * ts }
        if let foil {
            let fs = model.logitSlope(pass, at: position, token: foil), f = head.row(foil)
            for j in 0..<d { row[j] -= f[j] * fs }
        }
        return row
    }
}
