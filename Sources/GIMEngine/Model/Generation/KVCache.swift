import Foundation

/// A model that can continue a sequence from kept keys and values: each step runs only the new
/// tokens through the layers, attending to the cached ones (generation's O(T) per token instead of
/// a full forward's O(T²)). The logits equal those of a full forward over the whole sequence up to
/// float rounding (tested against it).
public protocol IncrementalDecoding: CausalLanguageModel {
    /// An empty cache for sequences of up to `capacity` tokens.
    func makeKVCache(capacity: Int) throws -> KVCache
    /// Runs `tokens` at the positions after the cached ones, stores their keys and values, and
    /// returns the logits at the last of them. [vocab]
    func extend(_ cache: KVCache, with tokens: [Int]) throws -> [Float]
}

/// Keys and values of the positions run so far, per layer.
public protocol KVCache: AnyObject {
    /// The tokens whose keys and values are kept, in order.
    var tokens: [Int] { get }
    var capacity: Int { get }
}

extension IncrementalDecoding {
    /// Refuses a cache of `capacity` positions that the model's context cannot hold or whose
    /// `bytes` the memory available cannot take.
    func checkKVCapacity(_ capacity: Int, bytes: Int) throws {
        guard capacity > 0, capacity <= contextLength else {
            throw ModelError.badInput("a KV cache of \(capacity) positions: the model's context holds \(contextLength)")
        }
        try MemoryCheck.require(bytes, for: "a \(capacity)-position KV cache", advice: "generate fewer tokens")
    }
}

extension KVCache {
    /// Refuses a step of `new` tokens that is empty, overflows the cache or leaves the vocabulary.
    func checkStep(_ new: [Int], vocabSize: Int) throws {
        guard !new.isEmpty else { throw ModelError.badInput("no tokens to run") }
        guard tokens.count + new.count <= capacity else {
            throw ModelError.badInput("the KV cache holds \(capacity) positions; \(tokens.count + new.count) needed")
        }
        for id in new where id < 0 || id >= vocabSize {
            throw ModelError.badInput("token id \(id) is outside the vocabulary (0..<\(vocabSize))")
        }
    }
}

/// The decoder's KV cache: per layer K and V, each [capacity, kvHeads·headDim] row-major, plus the
/// RoPE tables for every position it can hold and reusable step buffers.
public final class DecoderKVCache: KVCache, @unchecked Sendable {
    public private(set) var tokens: [Int] = []
    public let capacity: Int
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    let ropes: DecoderRoPE
    /// Buffers of the last step's row count (one token per step while generating).
    private var work: (rows: Int, layer: DecoderLayerCache, scratch: BlockScratch)?

    init(_ c: DecoderConfig, capacity: Int) {
        self.capacity = capacity
        let kvDim = c.kvHeads * c.headDim
        keys = (0..<c.layers).map { _ in FloatBuffer(count: capacity * kvDim) }
        values = (0..<c.layers).map { _ in FloatBuffer(count: capacity * kvDim) }
        ropes = DecoderRoPE(c, positions: capacity)
    }

    func buffers(_ c: DecoderConfig, rows: Int) -> (layer: DecoderLayerCache, scratch: BlockScratch) {
        if let work, work.rows == rows { return (work.layer, work.scratch) }
        let made = (rows: rows, layer: DecoderLayerCache(c, rows: rows), scratch: BlockScratch(c, rows: rows))
        work = made
        return (made.layer, made.scratch)
    }

    func append(_ new: [Int]) { tokens += new }
}

/// Where a KV-cached block step reads and writes: one layer's K and V, and the first new position.
/// Several stacked sequences (activation patching's runs) each have their own K and V, `stride`
/// floats apart; 0 = one sequence.
struct KVStep {
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>
    let start: Int
    var stride: Int = 0
}

extension DecoderModel: IncrementalDecoding {
    public func makeKVCache(capacity: Int) throws -> KVCache {
        let c = config
        try checkKVCapacity(capacity, bytes: 2 * c.layers * capacity * c.kvHeads * c.headDim * 4)
        return DecoderKVCache(c, capacity: capacity)
    }

    /// The block stack over the new rows only: embeddings (× scale), each block with `KVStep`
    /// (the same `blockForward` as the full forward), the final norm of the last row, its logits.
    public func extend(_ kvCache: KVCache, with tokens: [Int]) throws -> [Float] {
        guard let cache = kvCache as? DecoderKVCache else { throw ModelError.badInput("not a decoder KV cache") }
        let c = config, n = tokens.count, d = c.dim, start = cache.tokens.count
        try cache.checkStep(tokens, vocabSize: c.vocabSize)
        let (lc, scratch) = cache.buffers(c, rows: n)
        // The residual stream lives in lc.xIn: each block reads it and writes its output back.
        try ForwardInput.embed(tokens, table: weights.tokenEmbedding, dim: d, override: nil, into: lc.xIn)
        if c.embeddingScale != 1 { for i in 0..<n * d { lc.xIn[i] *= c.embeddingScale } }
        for l in 0..<c.layers {
            let step = KVStep(keys: cache.keys[l].pointer, values: cache.values[l].pointer, start: start)
            blockForward(layer: l, lc, output: lc.xIn.pointer, scratch: scratch, sequences: 1, length: n,
                         rope: cache.ropes.table(c, layer: l), kv: step)
        }
        cache.append(tokens)
        // Final norm and head of the last row only.
        let hidden = FloatBuffer(count: d), inv = FloatBuffer(count: 1)
        RMSNorm.forward(lc.xIn.pointer + (n - 1) * d, weights.outputNorm.pointer, hidden.pointer, invRms: inv.pointer,
                        rows: 1, dim: d, eps: c.rmsEps)
        var out = [Float](repeating: 0, count: c.vocabSize)
        out.withUnsafeMutableBufferPointer { o in
            weights.output.forward(hidden.pointer, o.baseAddress!, tokens: 1, ldy: c.vocabSize, accumulate: false)
        }
        if let cap = c.finalLogitSoftcap { Self.softcap(&out, cap) }
        return out
    }
}
