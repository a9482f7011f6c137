import CKernels
import Foundation
import XCTest
@testable import GIMEngine

/// The engine's own kernels and threads (`Sources/CKernels`, `Parallel`): each is checked
/// against a plain double-precision computation, and the whole backward against itself on one
/// thread, so a wrong tile edge, slice boundary or race shows up as a number.
final class EngineKernelTests: XCTestCase {
    private func randomValues(_ n: Int, _ rng: inout SeededRandom) -> [Float] { (0..<n).map { _ in rng.normal() } }

    /// y[m, n] = Σ_k x[m, k] · w[n, k] in Double.
    private func naiveLinear(_ x: [Float], _ w: [Float], rows: Int, inF: Int, outF: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * outF)
        for m in 0..<rows { for n in 0..<outF {
            var s = 0.0
            for k in 0..<inF { s += Double(x[m * inF + k]) * Double(w[n * inF + k]) }
            y[m * outF + n] = s
        } }
        return y
    }

    private func assertClose(_ got: [Float], _ want: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let scale = max(1, want.map(abs).max() ?? 1)
        let worst = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0
        XCTAssertLessThan(worst / scale, 2e-6, what, file: file, line: line)
    }

    /// Shapes around every tile edge of the kernel (rows 4…128 run on it when the CPU has
    /// AVX-512; others, and other CPUs, on OpenBLAS; wide inputs of many rows are summed
    /// in chunks), with and without accumulation.
    func testLinearMatchesNaiveProduct() {
        var rng = SeededRandom(seed: 11)
        let shapes = [(1, 7, 5), (4, 16, 24), (5, 33, 50), (16, 64, 96), (17, 100, 49), (31, 24, 13), (32, 40, 130),
                      (33, 24, 49), (100, 64, 130), (20, 1100, 30), (128, 1200, 26), (129, 32, 20)]
        for (rows, inF, outF) in shapes {
            let x = randomValues(rows * inF, &rng), w = randomValues(outF * inF, &rng), y0 = randomValues(rows * outF, &rng)
            let want = naiveLinear(x, w, rows: rows, inF: inF, outF: outF)
            for accumulate in [false, true] {
                let xb = FloatBuffer(x), wb = FloatBuffer(w), yb = FloatBuffer(y0)
                BLAS.linear(xb.pointer, wb.pointer, yb.pointer, rows: rows, inFeatures: inF, outFeatures: outF,
                            accumulate: accumulate)
                let expected = accumulate ? zip(want, y0).map { $0 + Double($1) } : want
                assertClose(yb.array, expected, "linear \(rows)×\(inF)→\(outF) accumulate \(accumulate)")
            }
        }
    }

    /// The input gradient dx = dy · W against Double.
    func testLinearBackwardMatchesNaiveProduct() {
        var rng = SeededRandom(seed: 12)
        for (rows, inF, outF) in [(3, 20, 30), (32, 96, 200), (70, 48, 33)] {
            let dy = randomValues(rows * outF, &rng), w = randomValues(outF * inF, &rng)
            var want = [Double](repeating: 0, count: rows * inF)
            for m in 0..<rows { for k in 0..<inF {
                var s = 0.0
                for n in 0..<outF { s += Double(dy[m * outF + n]) * Double(w[n * inF + k]) }
                want[m * inF + k] = s
            } }
            let dyb = FloatBuffer(dy), wb = FloatBuffer(w), dxb = FloatBuffer(count: rows * inF)
            BLAS.linearBackward(dyb.pointer, wb.pointer, dxb.pointer, rows: rows, inFeatures: inF, outFeatures: outF)
            assertClose(dxb.array, want, "linearBackward \(rows)×\(outF)→\(inF)")
        }
    }

    /// The kernel computes exactly the requested column slice and leaves the rest alone.
    func testKernelSliceWritesOnlyItsColumns() throws {
        try XCTSkipUnless(gim_kernels_available() != 0, "this CPU has no AVX-512; BLAS.linear uses OpenBLAS")
        var rng = SeededRandom(seed: 13)
        let rows = 20, inF = 30, outF = 100
        let x = randomValues(rows * inF, &rng), w = randomValues(outF * inF, &rng)
        let want = naiveLinear(x, w, rows: rows, inF: inF, outF: outF)
        let y = FloatBuffer([Float](repeating: 7, count: rows * outF))
        let xb = FloatBuffer(x), wb = FloatBuffer(w)
        gim_linear_forward(xb.pointer, inF, wb.pointer, y.pointer, outF, rows, inF, 24, 61, 0)
        for m in 0..<rows { for n in 0..<outF {
            let v = y[m * outF + n]
            if (24..<61).contains(n) {
                XCTAssertEqual(Double(v), want[m * outF + n], accuracy: 1e-4)
            } else {
                XCTAssertEqual(v, 7, "column \(n) outside the slice was written")
            }
        } }
    }

    func testParallelRangesPartitionWithAlignedBoundaries() {
        for count in [1, 5, 47, 48, 49, 576, 1000] {
            for parts in 1...5 {
                var covered: [Int] = []
                for p in 0..<parts {
                    let r = Parallel.range(p, of: parts, count: count, alignment: 48)
                    if p > 0 && !r.isEmpty { XCTAssertEqual(r.lowerBound % 48, 0) }
                    covered += Array(r)
                }
                XCTAssertEqual(covered, Array(0..<count), "count \(count), \(parts) parts")
            }
        }
    }

    /// Every part runs once per job; a job started from inside a part runs all its parts on that
    /// thread (no deadlock, nothing skipped).
    func testForEachPartRunsEveryPartOnceAndNests() {
        let parts = Parallel.threads
        let counts = FloatBuffer(count: parts * parts)
        for _ in 0..<200 {
            Parallel.forEachPart { part, n in
                XCTAssertEqual(n, parts)
                Parallel.forEachPart { inner, _ in counts[part * parts + inner] += 1 }
            }
        }
        XCTAssertEqual(counts.array, [Float](repeating: 200, count: parts * parts))
    }

    /// A job handed out right after a worker is created reaches it (a new worker once took the
    /// generation current when its thread first ran, so a job started before that was never
    /// seen and the caller waited forever: this test then hangs).
    func testJobsRightAfterGrowingThePoolComplete() {
        let before = Parallel.threads
        defer { Parallel.setThreads(before) }
        for n in 2...8 {
            Parallel.setThreads(n)
            let seen = FloatBuffer(count: n)
            Parallel.forEachPart { part, _ in seen[part] = 1 }
            XCTAssertEqual(seen.array, [Float](repeating: 1, count: n))
        }
        // Shrunk again: the workers beyond the size retire (sleep) and jobs need only the rest.
        Parallel.setThreads(2)
        let runs = FloatBuffer(count: 2)
        for _ in 0..<100 { Parallel.forEachPart { part, _ in runs[part] += 1 } }
        XCTAssertEqual(runs.array, [100, 100])
        // Grown again: retired workers come back and take their parts.
        Parallel.setThreads(6)
        let again = FloatBuffer(count: 6)
        for _ in 0..<50 { Parallel.forEachPart { part, _ in again[part] += 1 } }
        XCTAssertEqual(again.array, [Float](repeating: 50, count: 6))
    }

    func testVectorExpIsWithinThreeUlpsOfExp() {
        let xs = stride(from: -87.0, through: 88.0, by: 0.0137).map { Float($0) } + [0, -0.0, 1e-8, -1e-8]
        var ys = [Float](repeating: 0, count: xs.count)
        gim_exp(xs, &ys, xs.count)
        var worst = 0.0
        for (x, y) in zip(xs, ys) { worst = max(worst, abs(Double(y) / Foundation.exp(Double(x)) - 1)) }
        XCTAssertLessThan(worst, 3.6e-7)  // 3 ulps of float (2^-23 ≈ 1.19e-7)
    }

    func testSiluProductForwardAndBackwardMatchTheFormulas() {
        var rng = SeededRandom(seed: 14)
        let f = 37
        let gate = randomValues(f, &rng).map { $0 * 4 }, up = randomValues(f, &rng), dAct = randomValues(f, &rng)
        var act = [Float](repeating: 0, count: f), dGate = act, dUp = act
        gim_silu_product(gate, up, &act, f)
        gim_silu_product_backward(gate, up, dAct, &dGate, &dUp, f, 0.5, 0.25)
        for j in 0..<f {
            let g = Double(gate[j]), s = 1 / (1 + Foundation.exp(-g))
            XCTAssertEqual(Double(act[j]), g * s * Double(up[j]), accuracy: 1e-5)
            XCTAssertEqual(Double(dGate[j]), Double(dAct[j]) * Double(up[j]) * 0.5 * s * (1 + g * (1 - s)), accuracy: 1e-5)
            XCTAssertEqual(Double(dUp[j]), Double(dAct[j]) * g * s * 0.25, accuracy: 1e-5)
        }
    }

    func testSoftmaxRowMatchesDoubleSoftmaxAndMasksTheRest() {
        var rng = SeededRandom(seed: 15)
        for n in [1, 15, 16, 17, 40] {
            let cols = n + 5
            let x = randomValues(cols, &rng).map { $0 * 5 }
            var y = [Float](repeating: 9, count: cols)
            gim_softmax_row(x, &y, n, cols, 0.5)
            let e = x.prefix(n).map { Foundation.exp(Double($0) * 0.5) }, total = e.reduce(0, +)
            for j in 0..<n { XCTAssertEqual(Double(y[j]), e[j] / total, accuracy: 1e-6) }
            XCTAssertEqual(Array(y[n...]), [Float](repeating: 0, count: cols - n))
        }
    }

    /// The whole forward and GIM backward give the same numbers on one thread and on two
    /// (column slices of the GEMMs, heads in parallel, per-head key/value sums).
    func testAttributionIsTheSameOnOneAndTwoThreads() throws {
        let c = DecoderConfig(vocabSize: 50, dim: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffnDim: 96,
                            ropeBase: 10000, rmsEps: 1e-5, contextLength: 64, ropeLayout: .normal, tiedOutput: true)
        let model = try TinyLlama.random(seed: 21, config: c)
        let tokens = (0..<24).map { ($0 * 7) % 50 }
        let before = Parallel.threads
        defer { Parallel.setThreads(before) }
        func run(threads: Int) throws -> Attribution {
            Parallel.setThreads(threads)
            let session = try ExplainSession(model: model, tokenIDs: tokens)
            return try session.attribute(targetTokenID: 3, baselineTokenID: 0, settings: .gim)
        }
        let one = try run(threads: 1), two = try run(threads: 2)
        XCTAssertEqual(Double(one.targetLogit), Double(two.targetLogit), accuracy: 1e-5)
        let scale = Double(one.values.map(abs).max() ?? 1)
        for (a, b) in zip(one.values, two.values) { XCTAssertEqual(Double(a), Double(b), accuracy: 1e-5 * scale) }
        XCTAssertGreaterThan(scale, 0)
    }

    /// The weights are transposed in place at construction, so one buffer used for two
    /// projections (which would be transposed twice) is refused.
    func testSharedWeightBufferIsRefused() throws {
        let c = TinyLlama.config
        func buf(_ n: Int) -> FloatBuffer { FloatBuffer([Float](repeating: 0.1, count: n)) }
        let shared = buf(c.dim * c.attnDim)
        let layers = (0..<c.layers).map { _ in
            DecoderLayerWeights(attnNorm: buf(c.dim), wqkv: buf(c.qkvDim * c.dim), wo: shared, ffnNorm: buf(c.dim),
                              wGateUp: buf(2 * c.ffnDim * c.dim), wDown: buf(c.dim * c.ffnDim))
        }
        XCTAssertThrowsError(try DecoderWeights(config: c, tokenEmbedding: buf(c.vocabSize * c.dim), outputNorm: buf(c.dim),
                                              output: nil, layers: layers)) { error in
            XCTAssertTrue("\(error)".contains("shares a weight buffer"), "\(error)")
        }
    }

    /// The quantized kernel decodes exactly what `Dequantize` gives (x = identity picks out every
    /// weight: y[m, n] = w[n, m], one product by 1 and sums of zeros), and computes the product.
    /// Attention FLOPs count the query-key pairs the kernels compute: the causal triangle, cut to
    /// the window on sliding-window layers (counted by brute force here).
    func testAttentionFLOPsCountTheCausalPairs() {
        var c = DecoderConfig(vocabSize: 50, dim: 64, layers: 3, heads: 4, kvHeads: 2, headDim: 16, ffnDim: 96)
        c.slidingWindow = 5
        c.slidingLayers = [true, false, true]
        for t in [1, 4, 5, 6, 37] {
            var pairs = 0
            for l in 0..<c.layers { for i in 0..<t { for j in 0...i where c.window(layer: l).map({ i - j < $0 }) ?? true { pairs += 1 } } }
            XCTAssertEqual(FLOPs.attendedPairs(c, tokens: t), Double(pairs), "\(t) tokens")
            // Every block's projections on every row, but the last block's attn_output and MLP on the target row only.
            let linear = Double(c.layers * t) * FLOPs.linearPerRow(c)
                - Double(t - 1) * 2 * Double(c.dim * c.heads * c.headDim + 3 * c.ffnDim * c.dim)
            XCTAssertEqual(FLOPs.backward(c, tokens: t) - linear, Double(8 * c.heads * c.headDim * pairs), "\(t) tokens")
        }
    }

    func testQuantizedKernelDecodesExactlyAsDequantize() throws {
        try XCTSkipUnless(gim_kernels_available() != 0, "this CPU has no AVX-512; the quantized path is not used")
        // 64 columns: one decoded chunk; 576: two whole chunks of 256 and a partial one.
        for (encoding, type) in [(QuantizedMatrix.Encoding.q4_1, GGMLType.q4_1), (.q8_0, .q8_0)] { for cols in [64, 576] {
            var rng = SeededRandom(seed: 16)
            let rows = 37, blocksPerRow = cols / 32
            var bytes = [UInt8]()
            for _ in 0..<(rows * blocksPerRow) {
                let d = Float16(rng.normal() * 0.05), m = Float16(rng.normal() * 0.1)
                withUnsafeBytes(of: d.bitPattern.littleEndian) { bytes += $0 }
                if encoding == .q4_1 { withUnsafeBytes(of: m.bitPattern.littleEndian) { bytes += $0 } }
                for _ in 0..<(encoding == .q4_1 ? 16 : 32) { bytes.append(UInt8.random(in: 0...255, using: &rng)) }
            }
            var dense = [Float](repeating: 0, count: rows * cols)
            bytes.withUnsafeBytes { src in
                dense.withUnsafeMutableBufferPointer { Dequantize.run(type, from: src, into: $0) }
            }
            let q = QuantizedMatrix(encoding, rows: rows, cols: cols)
            bytes.withUnsafeBytes { q.copyRows(from: $0, firstRow: 0) }

            let identity = FloatBuffer((0..<cols * cols).map { $0 / cols == $0 % cols ? 1 : 0 })
            let picked = FloatBuffer(count: cols * rows)   // [cols, rows] = Wᵀ
            gim_linear_forward_quantized(identity.pointer, cols, q.bytes, q.encoding.kernelCode, picked.pointer, rows,
                                         cols, cols, 0, rows, 0)
            for n in 0..<rows { for k in 0..<cols {
                XCTAssertEqual(picked[k * rows + n], dense[n * cols + k], "\(type.name) w[\(n), \(k)]")
            } }

            let x = randomValues(5 * cols, &rng)
            let y = FloatBuffer(count: 5 * rows)
            gim_linear_forward_quantized(x, cols, q.bytes, q.encoding.kernelCode, y.pointer, rows, 5, cols, 0, rows, 0)
            assertClose(y.array, naiveLinear(x, dense, rows: 5, inF: cols, outF: rows), "\(type.name) product")
        } }
    }

    /// A whole model read from Q4_1 and Q8_0 files gives the same forward and attribution with
    /// its block copies (the quantized kernel) as without them (the Float32 path).
    /// The file's Q4_1/Q8_0 blocks a Float32 projection keeps for the forward, if any.
    static func forwardBlocks(_ p: Projection) -> QuantizedMatrix? {
        if case .transposed(_, let q) = p.storage { return q }
        return nil
    }

    func testQuantizedForwardMatchesTheFloat32Path() throws {
        for name in ["q4_1", "q8_0", "q4_k"] {
            let path = Fixtures.repoRoot.appendingPathComponent("Tests/Fuzz/corpus/gguf/tiny-llama-\(name).gguf").path
            let model = try XCTUnwrap(try ModelBundle.load(path: path).model as? DecoderModel)
            let w = model.weights, c = model.config
            // Q4_K is not decoded by the kernel: no block copy, the Float32 path only.
            XCTAssertEqual(Self.forwardBlocks(w.blocks[0].qkv) != nil, name != "q4_k", name)
            let plain = DecoderModel(weights: try DecoderWeights(config: c, tokenEmbedding: w.tokenEmbedding.float32(), outputNorm: w.outputNorm,
                                                             output: c.tiedOutput ? nil : w.output.float32(), layers: w.layers))
            XCTAssertNil(Self.forwardBlocks(plain.weights.blocks[0].qkv))
            let tokens = (0..<12).map { ($0 * 5 + 1) % c.vocabSize }
            let a = try ExplainSession(model: model, tokenIDs: tokens).attribute(targetTokenID: 2, baselineTokenID: 0, settings: .gim)
            let b = try ExplainSession(model: plain, tokenIDs: tokens).attribute(targetTokenID: 2, baselineTokenID: 0, settings: .gim)
            XCTAssertEqual(Double(a.targetLogit), Double(b.targetLogit), accuracy: 1e-4 * max(1, Double(abs(b.targetLogit))), name)
            let scale = Double(b.values.map(abs).max() ?? 1)
            for (x, y) in zip(a.values, b.values) { XCTAssertEqual(Double(x), Double(y), accuracy: 1e-4 * scale, name) }
        }
    }
}
