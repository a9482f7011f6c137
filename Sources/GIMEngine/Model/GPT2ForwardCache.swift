/// What the forward pass of one GPT-2 block keeps for the backward pass.
/// T = prompt length; D = dim; F = ffnDim; H = heads.
public final class GPT2LayerCache: Sendable {
    /// [T, D] residual stream entering the block (input of ln_1); for block 0, wte + wpe rows.
    public let xIn: FloatBuffer
    /// [T] mean and 1/σ of each row of xIn (ln_1's statistics).
    public let mean1: FloatBuffer
    public let invStd1: FloatBuffer
    /// [T, 3D] per row: q (H heads) | k | v, after the c_attn bias.
    public let qkv: FloatBuffer
    /// [T, D] attention output per head (head h is columns h·headDim..<(h+1)·headDim), input of c_proj.
    public let ctx: FloatBuffer
    /// [T, D] residual stream after the attention block (input of ln_2).
    public let xMid: FloatBuffer
    /// [T] mean and 1/σ of each row of xMid (ln_2's statistics).
    public let mean2: FloatBuffer
    public let invStd2: FloatBuffer
    /// [T, F] c_fc output before GELU.
    public let fc: FloatBuffer

    init(_ c: GPT2Config, tokens t: Int) {
        xIn = FloatBuffer(count: t * c.dim)
        mean1 = FloatBuffer(count: t)
        invStd1 = FloatBuffer(count: t)
        qkv = FloatBuffer(count: t * 3 * c.dim)
        ctx = FloatBuffer(count: t * c.dim)
        xMid = FloatBuffer(count: t * c.dim)
        mean2 = FloatBuffer(count: t)
        invStd2 = FloatBuffer(count: t)
        fc = FloatBuffer(count: t * c.ffnDim)
    }

    var buffers: [FloatBuffer] { [xIn, mean1, invStd1, qkv, ctx, xMid, mean2, invStd2, fc] }
}

/// The forward pass of one prompt through GPT-2, with every activation the GIM backward needs.
public final class GPT2ForwardCache: ForwardPass, Sendable {
    public let config: GPT2Config
    public let tokens: [Int]
    /// [T, D] wte rows: the `e` of the attribution (position embeddings are added after it).
    public let embeddings: FloatBuffer
    public let layers: [GPT2LayerCache]
    /// [T, D] residual stream after the last block (input of ln_f).
    public let xOut: FloatBuffer
    /// [T] ln_f's mean and 1/σ per row.
    public let meanOut: FloatBuffer
    public let invStdOut: FloatBuffer
    /// [T, D] ln_f(xOut); logits at position p are output · hidden[p].
    public let hidden: FloatBuffer

    init(config c: GPT2Config, tokens: [Int]) {
        config = c
        self.tokens = tokens
        let t = tokens.count
        embeddings = FloatBuffer(count: t * c.dim)
        layers = (0..<c.layers).map { _ in GPT2LayerCache(c, tokens: t) }
        xOut = FloatBuffer(count: t * c.dim)
        meanOut = FloatBuffer(count: t)
        invStdOut = FloatBuffer(count: t)
        hidden = FloatBuffer(count: t * c.dim)
    }

    public func componentOutput(_ site: GradientSite) -> [Float]? {
        let n = length * config.dim
        switch site {
        case .blockOutput(let l):
            // MLP output = residual after block l − residual between attention and MLP.
            let after = l + 1 < layers.count ? layers[l + 1].xIn : xOut
            return (0..<n).map { after[$0] - layers[l].xMid[$0] }
        case .attentionOutput(let l):
            return (0..<n).map { layers[l].xMid[$0] - layers[l].xIn[$0] }
        case .headOutputs(let l):
            return layers[l].ctx.array
        case .blockInput(let l):
            return layers[l].xIn.array
        }
    }

    public var byteCount: Int {
        let perLayer = layers.first.map { $0.buffers.reduce(0) { $0 + $1.count } } ?? 0
        return 4 * (perLayer * layers.count + embeddings.count + xOut.count + meanOut.count + invStdOut.count + hidden.count)
    }
}
