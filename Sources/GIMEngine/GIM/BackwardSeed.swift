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

    /// The first of `rows` rows of a seed ([rows, dim]) holding a non-zero value (the last row
    /// when none does; 0 when `rows` is 0). Rows mix only in attention, so in the last block
    /// everything above the attention (MLP, output projection) has a gradient on rows ≥ it alone:
    /// a backward runs those on one row when a single position is explained (`fill`).
    static func firstNonzeroRow(_ seed: UnsafePointer<Float>, rows: Int, dim: Int) -> Int {
        for i in 0..<rows * dim where seed[i] != 0 { return i / dim }
        return max(rows - 1, 0)
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
