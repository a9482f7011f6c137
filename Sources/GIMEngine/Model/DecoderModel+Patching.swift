import Foundation

/// Activation patching, batched: many copies of the clean run, each with one component's
/// activation replaced by another run's (`ComponentActivations`), stacked so that every linear
/// layer is one GEMM over all of them (the same `blockForward` as every other forward).
///
/// Four savings make a full sweep of SmolLM2 (30 layers × (9 heads + attention + MLP + T residual
/// positions)) take seconds:
/// - a patch at layer l cannot change anything before layer l, so its run starts from the clean
///   residual entering layer l (kept by the clean forward) and runs only layers l..<L;
/// - rows after the measured position cannot change its logits (causal attention), so every run is
///   cut to position+1 rows;
/// - rows before the first row where the patched activation differs from the clean one cannot
///   change either: a run computes only rows r0..<position+1 and its attention reads the clean
///   run's keys and values for rows < r0 (a corrupted prompt that differs from the clean one at
///   position 9 of 14 leaves 5 rows to compute); a patch that changes no row (a residual position
///   before the first corrupted token) is not run at all: its metric is the clean run's;
/// - only the target (and foil) logits are computed at the end: two dot products instead of the
///   [vocab, D] head.
extension DecoderModel {
    public func patchedMetrics(clean: ForwardPass, source: ComponentActivations, patches: [ComponentPatch], position: Int,
                               target: Int, foil: Int?, cancel: (() -> Bool)? = nil) throws -> [Float] {
        try patchedMetrics(clean: clean, source: source, patches: patches, position: position, target: target, foil: foil,
                           cancel: cancel, fromFirstChangedRow: true)
    }

    /// `fromFirstChangedRow` false runs every row of every patch (what the tests compare the
    /// saving with).
    func patchedMetrics(clean: ForwardPass, source: ComponentActivations, patches: [ComponentPatch], position: Int,
                        target: Int, foil: Int?, cancel: (() -> Bool)?, fromFirstChangedRow: Bool) throws -> [Float] {
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
        // A patch that changes no row leaves the clean run: its metric, computed as the caller does.
        let cleanLogits = logits(clean, at: position)
        let cleanMetric = cleanLogits[target] - (foil.map { cleanLogits[$0] } ?? 0)
        var out = [Float](repeating: cleanMetric, count: patches.count)
        let firstRows = patches.map { fromFirstChangedRow ? firstChangedRow($0, cache: cache, source: source, rows: n) : 0 }
        // Runs grouped by the layer they start at, each group from the first row any of its runs
        // changes; each group in chunks that fit the scratch budget.
        let byLayer = Dictionary(grouping: patches.indices.filter { firstRows[$0] < n }, by: { patches[$0].layer })
        for l0 in byLayer.keys.sorted() {
            let group = byLayer[l0]!
            let r0 = group.map { firstRows[$0] }.min()!
            let perChunk = max(1, Self.batchScratchBytes / (batchBytesPerRow * (n - r0)))
            var start = 0
            while start < group.count {
                if cancel?() == true { throw CancellationError() }
                let chunk = Array(group[start..<min(group.count, start + perChunk)])
                let metrics = runPatched(chunk.map { patches[$0] }, from: l0, cache: cache, source: source, firstRow: r0,
                                         rows: n, ropes: ropes, targetRow: targetRow, foilRow: foilRow)
                for (i, m) in zip(chunk, metrics) { out[i] = m }
                start += perChunk
            }
        }
        return out
    }

    /// The first of rows 0..<n where `patch`'s source activation differs from the clean run's
    /// (n: none differs, the patch changes nothing). Exact comparison: a corrupted run's rows
    /// before its first corrupted token are computed exactly as the clean run's. A checkpointed
    /// clean pass keeps no per-layer keys and values: 0 (every row computed).
    func firstChangedRow(_ patch: ComponentPatch, cache: DecoderForwardCache, source: ComponentActivations, rows n: Int) -> Int {
        if cache.checkpointed { return 0 }
        let d = config.dim, hd = config.headDim, aw = config.attnDim
        /// The first row r < n where some column in `cols` of a [T, width] source differs from clean(r, j).
        func first(_ src: [Float], width: Int, cols: Range<Int>, rows: Range<Int>, _ clean: (Int, Int) -> Float) -> Int {
            for r in rows {
                for j in cols where src[r * width + j] != clean(r, j) { return r }
            }
            return n
        }
        switch patch {
        case .residual(let l, let pos):
            let x = cache.input(of: l)
            return first(source.residual[l], width: d, cols: 0..<d, rows: pos..<pos + 1) { r, j in x[r * d + j] }
        case .head(let l, let h):
            let ctx = cache.layers[l].ctx
            return first(source.heads[l], width: aw, cols: h * hd..<(h + 1) * hd, rows: 0..<n) { r, j in ctx[r * aw + j] }
        case .attention(let l):
            let lc = cache.layers[l]
            return first(source.attention[l], width: d, cols: 0..<d, rows: 0..<n) { r, j in lc.xMid[r * d + j] - lc.xIn[r * d + j] }
        case .mlp(let l):
            let mid = cache.layers[l].xMid, after = l + 1 < config.layers ? cache.input(of: l + 1) : cache.xOut
            return first(source.mlp[l], width: d, cols: 0..<d, rows: 0..<n) { r, j in after[r * d + j] - mid[r * d + j] }
        }
    }

    /// One chunk: B = patches.count copies of the clean residual entering layer `l0` at positions
    /// r0..<n (r0 = `firstRow`), each patched at its component, run through layers l0..<L; each
    /// copy's attention reads the clean run's keys and values for positions < r0. Returns each
    /// copy's metric at position n−1. [B]
    private func runPatched(_ patches: [ComponentPatch], from l0: Int, cache: DecoderForwardCache,
                            source: ComponentActivations, firstRow r0: Int, rows n: Int, ropes: DecoderRoPE,
                            targetRow: [Float], foilRow: [Float]?) -> [Float] {
        let c = config, d = c.dim, hd = c.headDim, aw = c.attnDim, b = patches.count, m = n - r0, r = b * m
        let lc = DecoderLayerCache(c, rows: r)
        let scratch = BlockScratch(c, rows: r)
        let x = lc.xIn
        let cleanInput = cache.input(of: l0)
        for s in 0..<b { (x.pointer + s * m * d).update(from: cleanInput.pointer + r0 * d, count: m * d) }
        // Copies positions `rows` (within r0..<n), columns cols of a [T, width] source into
        // sequence s of a [B·m, width] buffer.
        func copy(_ src: [Float], width: Int, cols: Range<Int>, into dst: UnsafeMutablePointer<Float>, seq s: Int,
                  rows: Range<Int>) {
            src.withUnsafeBufferPointer { a in
                for row in rows {
                    let to = dst + (s * m + row - r0) * width, from = a.baseAddress! + row * width
                    for j in cols { to[j] = from[j] }
                }
            }
        }
        // Per sequence, K and V of positions 0..<n: [B, n, kvDim] each; positions < r0 are the
        // clean run's (q|k|v rows of its cache, after the norms and RoPE), the rest written by
        // the attention as it runs. nil when every row is computed (r0 = 0).
        let kvDim = c.kvHeads * hd, stride = n * kvDim
        let keys = r0 > 0 ? FloatBuffer(count: b * stride) : nil, values = r0 > 0 ? FloatBuffer(count: b * stride) : nil
        func kvStep(_ l: Int) -> KVStep? {
            guard let keys, let values else { return nil }
            let qkv = cache.layers[l].qkv.pointer
            for s in 0..<b {
                for row in 0..<r0 {
                    (keys.pointer + s * stride + row * kvDim).update(from: qkv + row * c.qkvDim + aw, count: kvDim)
                    (values.pointer + s * stride + row * kvDim).update(from: qkv + row * c.qkvDim + aw + kvDim, count: kvDim)
                }
            }
            return KVStep(keys: keys.pointer, values: values.pointer, start: r0, stride: stride)
        }
        for (s, p) in patches.enumerated() {
            if case .residual(_, let pos) = p { copy(source.residual[l0], width: d, cols: 0..<d, into: x.pointer, seq: s, rows: pos..<pos + 1) }
        }
        blockForward(layer: l0, lc, output: x.pointer, scratch: scratch, sequences: b, length: m,
                     rope: ropes.table(c, layer: l0), kv: kvStep(l0)) { site in
            for (s, p) in patches.enumerated() {
                switch (site, p) {
                case (.headOutputs, .head(_, let h)):
                    // ctx columns of head h ← the source's.
                    copy(source.heads[l0], width: aw, cols: h * hd..<(h + 1) * hd, into: lc.ctx.pointer, seq: s, rows: r0..<n)
                case (.attentionOutput, .attention):
                    // xMid = xIn + attention output: replace the attention output by the source's.
                    copy(source.attention[l0], width: d, cols: 0..<d, into: lc.xMid.pointer, seq: s, rows: r0..<n)
                    let mid = lc.xMid.pointer + s * m * d, input = lc.xIn.pointer + s * m * d
                    for i in 0..<m * d { mid[i] += input[i] }
                default:
                    break
                }
            }
        }
        // The block's output (in x) = xMid + MLP output: replace the MLP output by the source's.
        for (s, p) in patches.enumerated() {
            guard case .mlp = p else { continue }
            copy(source.mlp[l0], width: d, cols: 0..<d, into: x.pointer, seq: s, rows: r0..<n)
            let y = x.pointer + s * m * d, mid = lc.xMid.pointer + s * m * d
            for i in 0..<m * d { y[i] += mid[i] }
        }
        for l in l0 + 1 ..< c.layers {
            blockForward(layer: l, lc, output: x.pointer, scratch: scratch, sequences: b, length: m,
                         rope: ropes.table(c, layer: l), kv: kvStep(l))
        }

        // hidden = output_norm(x[last row of each sequence]): [B, D]; metric = hidden · (w_target − w_foil).
        let last = FloatBuffer(count: b * d), hidden = FloatBuffer(count: b * d)
        for s in 0..<b { (last.pointer + s * d).update(from: x.pointer + (s * m + m - 1) * d, count: d) }
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
