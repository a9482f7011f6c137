/// The batched forward used by perturbation measures (deletion curves, leave-one-out): many
/// inputs of the same length, each given as embeddings, of which only one position's logits are
/// wanted. Unlike `forward` it keeps no activations for a backward, so its memory is bounded by a
/// row budget rather than growing with T².
extension DecoderModel {
    /// Scratch bytes one chunk of the batched forward may hold. A chunk is as many sequences as fit
    /// (at least one); SmolLM2 needs about 29 KB per row, so ~2,300 rows (e.g. 190 inputs of 12 tokens).
    public static let batchScratchBytes = 64 << 20

    /// Logits at `position` for each input in `batch` ([T, dim] embeddings each, T = tokens.count).
    /// [batch][vocab]. Rows after `position` cannot change them (causal attention), so each input
    /// is cut to its first position+1 rows; the inputs are then stacked so that every linear layer
    /// is one GEMM over [B·(position+1), ·] rows, while attention runs per sequence and head.
    /// `tokens` only fixes the length (the embeddings replace the lookup); the result equals
    /// `logits(forward(tokens, embeddings: e), at: position)` for each e, up to float rounding.
    public func batchLogits(tokens: [Int], embeddings batch: [[Float]], at position: Int) throws -> [[Float]] {
        let c = config, t = tokens.count
        guard t > 0 else { throw ModelError.badInput("the prompt has no tokens") }
        guard t <= c.contextLength else {
            throw ModelError.badInput("the prompt has \(t) tokens; the model's context holds \(c.contextLength)")
        }
        guard position >= 0 && position < t else {
            throw ModelError.badInput("position \(position) is out of range for a \(t)-token input")
        }
        for (i, e) in batch.enumerated() where e.count != t * c.dim {
            throw ModelError.badInput("input \(i) has \(e.count) embedding values, expected \(t * c.dim) (T × dim)")
        }
        let rows = position + 1
        let perChunk = max(1, Self.batchScratchBytes / (batchBytesPerRow * rows))
        var out: [[Float]] = []
        out.reserveCapacity(batch.count)
        var start = 0
        while start < batch.count {
            let end = min(batch.count, start + perChunk)
            out += batchForward(batch[start..<end], rows: rows)
            start = end
        }
        return out
    }

    /// Bytes of scratch per stacked row: the block's kept activations and scratch (x, xn, qkv,
    /// ctx, gate|up, the gated product, and the families' extras).
    var batchBytesPerRow: Int {
        let c = config
        var floats = 4 * c.dim + c.qkvDim + c.attnDim + 3 * c.ffnDim
        if c.qkNorm { floats += (c.heads + c.kvHeads) * (c.headDim + 1) }
        if c.postNorms { floats += 2 * c.dim }
        return 4 * floats
    }

    /// One chunk: `inputs.count` sequences of `n` rows each, stacked into R = B·n rows, through
    /// the same `blockForward` as the kept forward (nothing kept: every layer reuses one set of
    /// buffers). Returns the logits at row n−1 of each sequence. [B][vocab]
    private func batchForward(_ inputs: ArraySlice<[Float]>, rows n: Int) -> [[Float]] {
        let c = config, d = c.dim, b = inputs.count, r = b * n
        // [R, ·] activations of one block.
        let lc = DecoderLayerCache(c, rows: r)
        let scratch = BlockScratch(c, rows: r)
        let ropes = DecoderRoPE(c, positions: n)

        // x = the first n rows of each input, stacked, times the embedding scale.
        let x = lc.xIn
        for (s, e) in inputs.enumerated() {
            e.withUnsafeBufferPointer { (x.pointer + s * n * d).update(from: $0.baseAddress!, count: n * d) }
        }
        if c.embeddingScale != 1 { for i in 0..<r * d { x[i] *= c.embeddingScale } }
        for l in 0..<c.layers {
            blockForward(layer: l, lc, output: x.pointer, scratch: scratch, sequences: b, length: n,
                         rope: ropes.table(c, layer: l))
        }

        // hidden = output_norm(x[last row of each sequence]): [B, D]; logits = hidden · outputᵀ: [B, V]
        let last = FloatBuffer(count: b * d)
        for s in 0..<b { (last.pointer + s * d).update(from: x.pointer + (s * n + n - 1) * d, count: d) }
        let hidden = FloatBuffer(count: b * d)
        RMSNorm.forward(last.pointer, weights.outputNorm.pointer, hidden.pointer, invRms: lc.invRms1.pointer,
                        rows: b, dim: d, eps: c.rmsEps)
        let logits = FloatBuffer(count: b * c.vocabSize)
        weights.output.forward(hidden.pointer, logits.pointer, tokens: b, ldy: c.vocabSize, accumulate: false)
        return (0..<b).map { s in
            var row = logits.slice(s * c.vocabSize, c.vocabSize)
            if let cap = c.finalLogitSoftcap { Self.softcap(&row, cap) }
            return row
        }
    }
}
