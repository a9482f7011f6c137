/// The batched gradient of Integrated Gradients' path points: B inputs of n rows each stacked
/// into one kept forward over B·n rows (every projection one GEMM over all of them, the
/// attention and RoPE per sequence) and one backward seeded at each sequence's last row.
extension DecoderModel {
    /// Bytes of kept activations one stacked chunk may hold; a chunk is as many inputs as fit
    /// (at least one). SmolLM2 keeps ~0.7 MB per row, so ~12 path points of 32 tokens.
    public static let batchGradientBytes = 256 << 20

    public func batchGradients(tokens: [Int], embeddings batch: [[Float]], at position: Int, target: Int, foil: Int?,
                               settings: GIMSettings) throws -> [[Float]] {
        let c = config, d = c.dim, n = position + 1
        guard position >= 0 && position < tokens.count else {
            throw ModelError.badInput("position \(position) is out of range for a \(tokens.count)-token input")
        }
        for (i, e) in batch.enumerated() where e.count < n * d {
            throw ModelError.badInput("input \(i) has \(e.count) embedding values, expected at least \(n * d)")
        }
        let cut = Array(tokens[0..<n])
        let perRow = max(1, c.keptBytes(tokens: 1))
        let perChunk = max(1, min(batch.count, Self.batchGradientBytes / (perRow * n)))
        var out: [[Float]] = []
        out.reserveCapacity(batch.count)
        var start = 0
        while start < batch.count {
            let chunk = batch[start..<min(batch.count, start + perChunk)]
            out += try stackedGradients(cut, chunk, target: target, foil: foil, settings: settings)
            start += perChunk
        }
        return out
    }

    /// One chunk: forward of the B stacked inputs ([B·n, D]), seed W_out[target] (− W_out[foil])
    /// at row s·n + n − 1 of each sequence s, one backward. [B][n·D]
    private func stackedGradients(_ tokens: [Int], _ inputs: ArraySlice<[Float]>, target: Int, foil: Int?,
                                  settings: GIMSettings) throws -> [[Float]] {
        let d = config.dim, n = tokens.count, b = inputs.count
        var stacked = [Float]()
        stacked.reserveCapacity(b * n * d)
        for e in inputs { stacked += e[0..<(n * d)] }
        let pass = try forward(Array([[Int]](repeating: tokens, count: b).joined()), embeddings: stacked, sequences: b)
        let seed = FloatBuffer(count: b * n * d)
        seed.zero()
        for s in 0..<b {
            let row = BackwardSeed.row(model: self, pass: pass, position: s * n + n - 1, target: target, foil: foil)
            (seed.pointer + (s * n + n - 1) * d).update(from: row, count: d)
        }
        let backward = DecoderBackward(model: self, length: b * n, sequences: b)
        let grad = backward.run(pass, seed: seed, rows: nil, settings: settings, observer: nil)
        return (0..<b).map { grad.slice($0 * n * d, n * d) }
    }
}
