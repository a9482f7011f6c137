import Foundation

/// Activation patching, batched: many copies of the clean run, each with one component's
/// activation replaced by another run's (`ComponentActivations`), stacked so that every linear
/// layer is one GEMM over all of them (the same `blockForward` as every other forward).
///
/// Two savings make a full sweep of SmolLM2 (30 layers × (9 heads + attention + MLP + T residual
/// positions)) take seconds: a patch at layer l cannot change anything before layer l, so its
/// run starts from the clean residual entering layer l (kept by the clean forward) and runs only
/// layers l..<L; and rows after the measured position cannot change its logits (causal
/// attention), so every run is cut to position+1 rows. Only the target (and foil) logits are
/// computed at the end: two dot products instead of the [vocab, D] head.
extension DecoderModel {
    public func patchedMetrics(clean: ForwardPass, source: ComponentActivations, patches: [ComponentPatch], position: Int,
                               target: Int, foil: Int?, cancel: (() -> Bool)? = nil) throws -> [Float] {
        let c = config, t = clean.length
        guard let cache = clean as? DecoderForwardCache else {
            throw ModelError.badInput("activation patching needs a decoder forward pass")
        }
        guard source.positions == t else {
            throw ModelError.badInput("the patched activations cover \(source.positions) positions, the clean run \(t)")
        }
        guard position >= 0 && position < t else {
            throw ModelError.badInput("position \(position) is out of range for a \(t)-token input")
        }
        for id in [target] + (foil.map { [$0] } ?? []) where id < 0 || id >= c.vocabSize {
            throw ModelError.badInput("token id \(id) is outside the vocabulary (0..<\(c.vocabSize))")
        }
        for p in patches {
            let ok: Bool
            switch p {
            case .attention(let l), .mlp(let l): ok = l >= 0 && l < c.layers
            case .head(let l, let h): ok = l >= 0 && l < c.layers && h >= 0 && h < c.heads
            case .residual(let l, let pos): ok = l >= 0 && l < c.layers && pos >= 0 && pos < t
            }
            guard ok else { throw ModelError.badInput("no such component: \(p)") }
        }
        let n = position + 1
        let ropes = DecoderRoPE(c, positions: n)
        let targetRow = weights.output.row(target), foilRow = foil.map { weights.output.row($0) }
        var out = [Float](repeating: 0, count: patches.count)
        // Runs grouped by the layer they start at; each group in chunks that fit the scratch budget.
        let byLayer = Dictionary(grouping: patches.indices, by: { patches[$0].layer })
        let perChunk = max(1, Self.batchScratchBytes / (batchBytesPerRow * n))
        for l0 in byLayer.keys.sorted() {
            let group = byLayer[l0]!
            var start = 0
            while start < group.count {
                if cancel?() == true { throw CancellationError() }
                let chunk = Array(group[start..<min(group.count, start + perChunk)])
                let metrics = runPatched(chunk.map { patches[$0] }, from: l0, cache: cache, source: source, rows: n,
                                         ropes: ropes, targetRow: targetRow, foilRow: foilRow)
                for (i, m) in zip(chunk, metrics) { out[i] = m }
                start += perChunk
            }
        }
        return out
    }

    /// One chunk: B = patches.count copies of the clean residual entering layer `l0` (first `n`
    /// rows), each patched at its component, run through layers l0..<L. Returns each copy's metric
    /// at row n−1. [B]
    private func runPatched(_ patches: [ComponentPatch], from l0: Int, cache: DecoderForwardCache,
                            source: ComponentActivations, rows n: Int, ropes: DecoderRoPE,
                            targetRow: [Float], foilRow: [Float]?) -> [Float] {
        let c = config, d = c.dim, hd = c.headDim, aw = c.attnDim, b = patches.count, r = b * n
        let lc = DecoderLayerCache(c, rows: r)
        let scratch = BlockScratch(c, rows: r)
        let x = lc.xIn
        let cleanInput = cache.input(of: l0)
        for s in 0..<b { (x.pointer + s * n * d).update(from: cleanInput.pointer, count: n * d) }
        // Copies rows 0..<n, columns cols of a [T, width] source into sequence s of a [R, width] buffer.
        func copy(_ src: [Float], width: Int, cols: Range<Int>, into dst: UnsafeMutablePointer<Float>, seq s: Int,
                  rows: Range<Int>) {
            src.withUnsafeBufferPointer { a in
                for row in rows {
                    let to = dst + (s * n + row) * width, from = a.baseAddress! + row * width
                    for j in cols { to[j] = from[j] }
                }
            }
        }
        for (s, p) in patches.enumerated() {
            if case .residual(_, let pos) = p { copy(source.residual[l0], width: d, cols: 0..<d, into: x.pointer, seq: s, rows: pos..<pos + 1) }
        }
        blockForward(layer: l0, lc, output: x.pointer, scratch: scratch, sequences: b, length: n,
                     rope: ropes.table(c, layer: l0)) { site in
            for (s, p) in patches.enumerated() {
                switch (site, p) {
                case (.headOutputs, .head(_, let h)):
                    // ctx columns of head h ← the source's.
                    copy(source.heads[l0], width: aw, cols: h * hd..<(h + 1) * hd, into: lc.ctx.pointer, seq: s, rows: 0..<n)
                case (.attentionOutput, .attention):
                    // xMid = xIn + attention output: replace the attention output by the source's.
                    copy(source.attention[l0], width: d, cols: 0..<d, into: lc.xMid.pointer, seq: s, rows: 0..<n)
                    let mid = lc.xMid.pointer + s * n * d, input = lc.xIn.pointer + s * n * d
                    for i in 0..<n * d { mid[i] += input[i] }
                default:
                    break
                }
            }
        }
        // The block's output (in x) = xMid + MLP output: replace the MLP output by the source's.
        for (s, p) in patches.enumerated() {
            guard case .mlp = p else { continue }
            copy(source.mlp[l0], width: d, cols: 0..<d, into: x.pointer, seq: s, rows: 0..<n)
            let y = x.pointer + s * n * d, mid = lc.xMid.pointer + s * n * d
            for i in 0..<n * d { y[i] += mid[i] }
        }
        for l in l0 + 1 ..< c.layers {
            blockForward(layer: l, lc, output: x.pointer, scratch: scratch, sequences: b, length: n,
                         rope: ropes.table(c, layer: l))
        }

        // hidden = output_norm(x[last row of each sequence]): [B, D]; metric = hidden · (w_target − w_foil).
        let last = FloatBuffer(count: b * d), hidden = FloatBuffer(count: b * d)
        for s in 0..<b { (last.pointer + s * d).update(from: x.pointer + (s * n + n - 1) * d, count: d) }
        RMSNorm.forward(last.pointer, weights.outputNorm.pointer, hidden.pointer, invRms: lc.invRms1.pointer,
                        rows: b, dim: d, eps: c.rmsEps)
        func logit(_ s: Int, _ w: [Float]) -> Float {
            let h = hidden.pointer + s * d
            var raw: Float = 0
            for j in 0..<d { raw += h[j] * w[j] }
            if let cap = c.finalLogitSoftcap { return tanhf(raw / cap) * cap }
            return raw
        }
        return (0..<b).map { s in logit(s, targetRow) - (foilRow.map { logit(s, $0) } ?? 0) }
    }
}
