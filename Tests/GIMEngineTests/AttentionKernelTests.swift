import CKernels
import XCTest
@testable import GIMEngine

/// The attention kernels (`attention_kernels.c`) against plain loops in Double, on sizes that
/// leave every remainder (rows not a multiple of the tile, keys starting mid-panel and ending
/// mid-tile, head dimensions with partial vectors and more than one column chunk); and the whole
/// model with the kernels against the same model on OpenBLAS, on families with sliding windows,
/// soft-caps and grouped-query attention, at every knob setting.
final class AttentionKernelTests: XCTestCase {
    override func setUpWithError() throws {
        guard gim_kernels_available() != 0 else { throw XCTSkip("no AVX-512 on this CPU: the kernels are not used") }
    }
    override func tearDown() { CausalAttention.useKernels = true; CausalAttention.stripeRows = 0 }

    /// Deterministic values in [-1, 1).
    func values(_ n: Int, seed: Int) -> [Float] { (0..<n).map { Float(($0 * 7919 + seed * 104_729) % 2001) / 1000 - 1 } }

    func assertClose(_ x: [Float], _ y: [Double], _ what: String) {
        let scale = y.map(abs).max() ?? 1
        let worst = zip(x, y).map { abs(Double($0) - $1) }.max() ?? 0
        XCTAssertGreaterThan(scale, 1e-3, what)
        XCTAssertLessThan(worst / scale, 1e-5, "\(what): worst \(worst), scale \(scale)")
    }

    func testScoresMixAndGatherMatchPlainLoops() {
        for (m, hd, keys, first) in [(1, 16, 5, 0), (13, 24, 70, 3), (29, 64, 300, 37), (12, 96, 64, 32), (7, 136, 45, 1)] {
            let ld = hd + 5  // key rows with a stride, as in the q|k|v buffer
            let a = values(m * hd, seed: 1), key = values(keys * ld, seed: 2)
            let count = keys - first, alpha: Float = 0.37
            // scores: s[i, j − first] = α · a[i]·key[j]
            var panels = [Float](repeating: .nan, count: gim_attention_panel_floats(keys, hd))
            gim_attention_pack_panels(key, ld, keys, hd, &panels)
            let lds = count + 3
            var s = [Float](repeating: 0, count: m * lds)
            gim_attention_scores(a, m, hd, panels, first, count, alpha, &s, lds)
            var want = [Double](repeating: 0, count: m * lds)
            for i in 0..<m {
                for j in first..<keys {
                    want[i * lds + j - first] = Double(alpha) * (0..<hd).reduce(0.0) { $0 + Double(a[i * hd + $1]) * Double(key[j * ld + $1]) }
                }
            }
            assertClose(s, want, "scores m \(m) hd \(hd) keys \(first)..<\(keys)")
            // Nothing written outside a row's keys.
            for i in 0..<m { for j in count..<lds { XCTAssertEqual(s[i * lds + j], 0) } }

            // mix: c[i] = α · Σ_j p[i, j] · key[j]
            let w = count, p = values(m * w, seed: 3), ldc = hd + 2
            var c = [Float](repeating: .nan, count: m * ldc)
            gim_attention_mix(p, w, m, w, key, ld, hd, alpha, &c, ldc)
            var wantC = [Double](repeating: 0, count: m * ldc)
            for i in 0..<m {
                for d in 0..<hd {
                    wantC[i * ldc + d] = Double(alpha) * (0..<w).reduce(0.0) { $0 + Double(p[i * w + $1]) * Double(key[$1 * ld + d]) }
                }
            }
            for i in 0..<m { for d in hd..<ldc { c[i * ldc + d] = 0 } }
            assertClose(c, wantC, "mix m \(m) hd \(hd) w \(w)")

            // gather: g[j] += α · Σ_i p[i, j] · x[i]
            let x = values(m * hd, seed: 4), start = values(w * hd, seed: 5)
            var g = start
            gim_attention_gather(p, w, m, w, x, hd, alpha, &g)
            var wantG = start.map(Double.init)
            for j in 0..<w {
                for d in 0..<hd {
                    wantG[j * hd + d] += Double(alpha) * (0..<m).reduce(0.0) { $0 + Double(p[$1 * w + j]) * Double(x[$1 * hd + d]) }
                }
            }
            assertClose(g, wantG, "gather m \(m) hd \(hd) w \(w)")
        }
    }

    /// The model on the kernels equals the model on OpenBLAS (stripes of 7 rows and automatic),
    /// logits, attributions at five settings and a GIM gradient. (Equal bits are possible here:
    /// OpenBLAS's small-matrix kernels sum in the same order as these.)
    func testKernelsGiveTheSameResultsAsOpenBLAS() throws {
        for family in ["gemma2", "mistral", "qwen3", "phi3"] {
            guard FileManager.default.fileExists(atPath: StripedAttentionTests.folder(family)) else { throw XCTSkip("family fixtures missing") }
            let model = try ModelBundle.load(path: StripedAttentionTests.folder(family)).model
            let tokens = (0..<100).map { ($0 * 37 + 11) % 300 }
            for stripe in [7, 0] {
                CausalAttention.useKernels = true
                XCTAssertTrue(CausalAttention.useKernels)
                let (l1, a1, g1) = try StripedAttentionTests.run(model, tokens, stripe: stripe)
                CausalAttention.useKernels = false
                let (l2, a2, g2) = try StripedAttentionTests.run(model, tokens, stripe: stripe)
                XCTAssertLessThan(FamilyParityTests.relative(l1, l2), 1e-5, "\(family) logits")
                for (x, y) in zip(a1, a2) { XCTAssertLessThan(FamilyParityTests.relative(x, y), 1e-5, "\(family) attributions") }
                XCTAssertLessThan(FamilyParityTests.relative(g1, g2), 1e-5, "\(family) gradient")
            }
        }
    }
}
