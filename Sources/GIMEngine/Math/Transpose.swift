/// Matrix transposition for weight layouts.
enum Transpose {
    /// Rewrites `matrix` ([rows, cols] row-major) as its transpose ([cols, rows] row-major) in
    /// the same memory, through `scratch` (at least rows·cols floats). In 32×32 blocks so both
    /// sides are read and written a cache line at a time.
    static func inPlace(_ matrix: UnsafeMutablePointer<Float>, rows: Int, cols: Int, scratch: UnsafeMutablePointer<Float>) {
        scratch.update(from: matrix, count: rows * cols)
        let b = 32
        for r0 in stride(from: 0, to: rows, by: b) {
            for c0 in stride(from: 0, to: cols, by: b) {
                for r in r0..<min(r0 + b, rows) {
                    let src = scratch + r * cols
                    for c in c0..<min(c0 + b, cols) { matrix[c * rows + r] = src[c] }
                }
            }
        }
    }
}
