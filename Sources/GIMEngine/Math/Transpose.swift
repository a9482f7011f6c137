/// Matrix transposition for weight layouts, in 32×32 blocks so both sides are read and written
/// a cache line at a time.
enum Transpose {
    /// dst ([cols, rows] row-major) = the transpose of src ([rows, cols] row-major).
    static func copy(_ src: UnsafePointer<Float>, rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
        let b = 32
        for r0 in stride(from: 0, to: rows, by: b) {
            for c0 in stride(from: 0, to: cols, by: b) {
                for r in r0..<min(r0 + b, rows) {
                    let row = src + r * cols
                    for c in c0..<min(c0 + b, cols) { dst[c * rows + r] = row[c] }
                }
            }
        }
    }

    /// Rewrites `matrix` ([rows, cols] row-major) as its transpose ([cols, rows] row-major) in
    /// the same memory, through `scratch` (at least rows·cols floats).
    static func inPlace(_ matrix: UnsafeMutablePointer<Float>, rows: Int, cols: Int, scratch: UnsafeMutablePointer<Float>) {
        scratch.update(from: matrix, count: rows * cols)
        copy(scratch, rows: rows, cols: cols, into: matrix)
    }
}
