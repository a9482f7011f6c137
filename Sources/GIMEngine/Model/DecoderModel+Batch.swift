/// The batched forward used by perturbation measures (deletion curves, leave-one-out): many
/// inputs of the same length, each given as embeddings, of which only one position's logits are
/// wanted. Unlike `forward` it keeps no activations for a backward, so its memory is bounded by a
/// row budget rather than growing with T².
extension LlamaModel {
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

    /// Bytes of scratch per stacked row: x, xn, qkv, ctx, gate|up and the SwiGLU product.
    private var batchBytesPerRow: Int {
        let c = config
        return 4 * (2 * c.dim + c.qkvDim + c.attnDim + 3 * c.ffnDim)
    }

    /// One chunk: `inputs.count` sequences of `n` rows each, stacked into R = B·n rows.
    /// Returns the logits at row n−1 of each sequence. [B][vocab]
    private func batchForward(_ inputs: ArraySlice<[Float]>, rows n: Int) -> [[Float]] {
        let c = config, d = c.dim, f = c.ffnDim, b = inputs.count, r = b * n
        let x = FloatBuffer(count: r * d)             // [R, D] residual stream
        let xn = FloatBuffer(count: r * d)            // [R, D] normalized input of a projection
        let qkv = FloatBuffer(count: r * c.qkvDim)    // [R, qkvDim] q | k | v per row
        let ctx = FloatBuffer(count: r * c.attnDim)   // [R, H·headDim] attention output
        let gateUp = FloatBuffer(count: r * 2 * f)    // [R, 2F] gate | up
        let act = FloatBuffer(count: r * f)           // [R, F] silu(gate) ⊙ up
        let slots = Parallel.threads
        let scores = FloatBuffer(count: slots * n * n) // [parts, n, n] one head's scores, then probabilities
        let invRms = FloatBuffer(count: r)            // [R] unused by the caller
        let rope = RoPETable(positions: n, headDim: c.headDim, base: c.ropeBase)

        // x = the first n rows of each input, stacked.
        for (s, e) in inputs.enumerated() {
            e.withUnsafeBufferPointer { (x.pointer + s * n * d).update(from: $0.baseAddress!, count: n * d) }
        }
        for lw in weights.blocks {
            // x += attn_output(attention(rope(q), rope(k), v)) with q|k|v = attn_qkv(attn_norm(x))
            RMSNorm.forward(x.pointer, lw.attnNorm.pointer, xn.pointer, invRms: invRms.pointer,
                            rows: r, dim: d, eps: c.rmsEps)
            BLAS.project(xn.pointer, wT: lw.wqkvT, quantized: lw.quantized?.wqkv, qkv.pointer, rows: r, inFeatures: d, outFeatures: c.qkvDim)
            // Sequences in parallel, each part with its own scores matrix (serial if the thread
            // count grew since `slots` was read).
            Parallel.forEachRange(b, minimumPerPart: Parallel.threads <= slots ? 1 : b) { part, sequences in
                let partScores = scores.pointer + part * n * n
                for s in sequences {
                    // Positions restart at 0 in every sequence.
                    rope.apply(qkv.pointer + s * n * c.qkvDim, rows: n, rowStride: c.qkvDim, heads: c.heads + c.kvHeads,
                               layout: c.ropeLayout, inverse: false)
                    attention.forward(qkv: qkv.pointer + s * n * c.qkvDim, scores: partScores, probs: partScores,
                                      headStride: 0, ctx: ctx.pointer + s * n * c.attnDim, tokens: n)
                }
            }
            BLAS.project(ctx.pointer, wT: lw.woT, quantized: lw.quantized?.wo, x.pointer, rows: r, inFeatures: c.attnDim, outFeatures: d,
                        accumulate: true)

            // x += ffn_down(silu(ffn_gate(m)) ⊙ ffn_up(m)), m = ffn_norm(x)
            RMSNorm.forward(x.pointer, lw.ffnNorm.pointer, xn.pointer, invRms: invRms.pointer,
                            rows: r, dim: d, eps: c.rmsEps)
            BLAS.project(xn.pointer, wT: lw.wGateUpT, quantized: lw.quantized?.wGateUp, gateUp.pointer, rows: r, inFeatures: d, outFeatures: 2 * f)
            Activations.siluProductRows(gateUp.pointer, act.pointer, rows: r, f: f)
            BLAS.project(act.pointer, wT: lw.wDownT, quantized: lw.quantized?.wDown, x.pointer, rows: r, inFeatures: f, outFeatures: d, accumulate: true)
        }

        // hidden = output_norm(x[last row of each sequence]): [B, D]; logits = hidden · outputᵀ: [B, V]
        let last = FloatBuffer(count: b * d)
        for s in 0..<b { (last.pointer + s * d).update(from: x.pointer + (s * n + n - 1) * d, count: d) }
        let hidden = FloatBuffer(count: b * d)
        RMSNorm.forward(last.pointer, weights.outputNorm.pointer, hidden.pointer, invRms: invRms.pointer,
                        rows: b, dim: d, eps: c.rmsEps)
        let logits = FloatBuffer(count: b * c.vocabSize)
        BLAS.linear(hidden.pointer, weights.output.pointer, logits.pointer, rows: b, inFeatures: d,
                    outFeatures: c.vocabSize)
        return (0..<b).map { logits.slice($0 * c.vocabSize, c.vocabSize) }
    }
}
