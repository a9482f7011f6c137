/// Per-row buffers a block's forward needs but does not keep, for every architecture: a norm's
/// output (the input of a projection) and the MLP's activation (SwiGLU/GeGLU's gated product,
/// GPT-2's gelu(fc)). R = rows.
struct BlockScratch {
    /// [R, D]
    let xn: FloatBuffer
    /// [R, F]
    let act: FloatBuffer

    init(rows: Int, dim: Int, ffnDim: Int) {
        xn = FloatBuffer(count: rows * dim)
        act = FloatBuffer(count: rows * ffnDim)
    }

    init(_ c: DecoderConfig, rows: Int) { self.init(rows: rows, dim: c.dim, ffnDim: c.ffnDim) }
    init(_ c: GPT2Config, rows: Int) { self.init(rows: rows, dim: c.dim, ffnDim: c.ffnDim) }
}
