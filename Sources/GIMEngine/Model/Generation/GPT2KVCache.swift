import Foundation

/// GPT-2's KV cache: per layer K and V, each [capacity, D] row-major (kvHeads = heads), plus
/// reusable step buffers. Positions are learned (wpe), so nothing positional is cached: a new
/// row at position p adds wpe[p].
public final class GPT2KVCache: KVCache, @unchecked Sendable {
    public private(set) var tokens: [Int] = []
    public let capacity: Int
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    /// Buffers of the last step's row count (one token per step while generating).
    private var work: (rows: Int, layer: GPT2LayerCache, scratch: BlockScratch)?

    init(_ c: GPT2Config, capacity: Int) {
        self.capacity = capacity
        keys = (0..<c.layers).map { _ in FloatBuffer(count: capacity * c.dim) }
        values = (0..<c.layers).map { _ in FloatBuffer(count: capacity * c.dim) }
    }

    func buffers(_ c: GPT2Config, rows: Int) -> (layer: GPT2LayerCache, scratch: BlockScratch) {
        if let work, work.rows == rows { return (work.layer, work.scratch) }
        let made = (rows: rows, layer: GPT2LayerCache(c, tokens: rows), scratch: BlockScratch(c, rows: rows))
        work = made
        return (made.layer, made.scratch)
    }

    func append(_ new: [Int]) { tokens += new }
}

extension GPT2Model: IncrementalDecoding {
    public func makeKVCache(capacity: Int) throws -> KVCache {
        let c = config
        try checkKVCapacity(capacity, bytes: 2 * c.layers * capacity * c.dim * 4)
        return GPT2KVCache(c, capacity: capacity)
    }

    /// The block stack over the new rows only: wte rows + wpe at their positions (start…), each
    /// block with `KVStep` (the same `blockForward` as the full forward), ln_f of the last row, its
    /// logits.
    public func extend(_ kvCache: KVCache, with tokens: [Int]) throws -> [Float] {
        guard let cache = kvCache as? GPT2KVCache else { throw ModelError.badInput("not a GPT-2 KV cache") }
        let c = config, n = tokens.count, d = c.dim, start = cache.tokens.count
        try cache.checkStep(tokens, vocabSize: c.vocabSize)
        let (lc, scratch) = cache.buffers(c, rows: n)
        // x = wte(ids) + wpe[start..<start+n]: the residual stream lives in lc.xIn, each block reads
        // it and writes its output back.
        try ForwardInput.embed(tokens, table: tokenEmbedding, dim: d, override: nil, into: lc.xIn)
        let wpe = weights.positionEmbedding.pointer + start * d
        for i in 0..<n * d { lc.xIn[i] += wpe[i] }
        for l in 0..<c.layers {
            let step = KVStep(keys: cache.keys[l].pointer, values: cache.values[l].pointer, start: start)
            blockForward(layer: l, lc, output: lc.xIn, scratch: scratch, rows: n, kv: step)
        }
        cache.append(tokens)
        // ln_f and head of the last row only.
        let hidden = FloatBuffer(count: d), mean = FloatBuffer(count: 1), inv = FloatBuffer(count: 1)
        LayerNorm.forward(lc.xIn.pointer + (n - 1) * d, weights.outputNormWeight.pointer, weights.outputNormBias.pointer,
                          hidden.pointer, mean: mean.pointer, invStd: inv.pointer, rows: 1, dim: d, eps: c.layerNormEps)
        var out = [Float](repeating: 0, count: c.vocabSize)
        out.withUnsafeMutableBufferPointer { o in
            BLAS.matvec(weights.output.pointer, hidden.pointer, o.baseAddress!, outFeatures: c.vocabSize, inFeatures: d)
        }
        return out
    }
}
