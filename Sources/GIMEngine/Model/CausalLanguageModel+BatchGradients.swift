/// The default `batchGradients`: one kept forward and one backward per input, on the prompt cut
/// after `position` (rows after it cannot reach the explained logit). `DecoderModel` stacks the
/// inputs instead (`DecoderModel+BatchGradients.swift`).
extension CausalLanguageModel {
    public func batchGradients(tokens: [Int], embeddings batch: [[Float]], at position: Int, target: Int, foil: Int?,
                               settings: GIMSettings) throws -> [[Float]] {
        let n = position + 1, d = dim
        guard position >= 0 && position < tokens.count else {
            throw ModelError.badInput("position \(position) is out of range for a \(tokens.count)-token input")
        }
        let cut = Array(tokens[0..<n])
        let backward = makeBackward(length: n)
        let seed = FloatBuffer(count: n * d)
        return try batch.map { e in
            guard e.count >= n * d else {
                throw ModelError.badInput("an input has \(e.count) embedding values, expected at least \(n * d)")
            }
            let pass = try forwardPass(cut, embeddings: Array(e[0..<(n * d)]))
            BackwardSeed.fill(seed, model: self, pass: pass, position: position, target: target, foil: foil)
            return backward.run(pass, seed: seed, rows: n, settings: settings, observer: nil).array
        }
    }
}
