import XCTest
@testable import GIMEngine

/// Component attribution (`CircuitSession`) and batched activation patching on a tiny random
/// model: identities that hold exactly whatever the weights (see CircuitParityTests for the
/// PyTorch reference).
final class CircuitTests: XCTestCase {
    static let clean = [4, 8, 15, 16, 23, 2, 9, 31, 7]
    /// `clean` with position 3 changed: the only corrupted position.
    static let corrupt = [4, 8, 15, 33, 23, 2, 9, 31, 7]

    func session(_ counterfactual: Counterfactual, foil: Int? = 5, position: Int = -1) throws -> CircuitSession {
        let model = try TinyLlama.random(seed: 5)
        return try CircuitSession(clean: ExplainSession(model: model, tokenIDs: Self.clean), counterfactual: counterfactual,
                                  targetTokenID: 3, targetPosition: position, foilTokenID: foil)
    }

    /// attn_output is linear without bias, so a layer's head scores add up to its attention score.
    func testHeadScoresSumToTheAttentionScore() throws {
        for cf in [Counterfactual.prompt(tokenIDs: Self.corrupt), .meanOverPositions] {
            let s = try session(cf)
            for settings in [GIMSettings.plain, .gim] {
                let m = try s.scores(settings: settings)
                for l in m.attention.indices {
                    XCTAssertNotEqual(m.attention[l], 0)
                    XCTAssertEqual(m.heads[l].reduce(0, +), m.attention[l], accuracy: 1e-4 * max(1, abs(m.attention[l])))
                }
            }
        }
    }

    /// With one corrupted position, the residual entering layer 0 at that position carries the
    /// whole difference: patching it reproduces the corrupted run exactly, and every other
    /// layer-0 position patches to nothing.
    func testPatchingTheFirstResidualAtTheCorruptedPositionGivesTheCorruptedRun() throws {
        let s = try session(.prompt(tokenIDs: Self.corrupt))
        let r = try s.patching()
        let corrupt = try XCTUnwrap(s.corruptMetric)
        XCTAssertEqual(r.effects.residual[0][3], s.cleanMetric - corrupt, accuracy: 1e-4 * max(1, abs(corrupt)))
        for t in Self.clean.indices where t != 3 { XCTAssertEqual(r.effects.residual[0][t], 0, accuracy: 1e-5) }
        XCTAssertEqual(r.runs, 2 * (2 + 4 + Self.clean.count))
        // Patching with the clean activations themselves changes nothing.
        let same = try CircuitSession(clean: s.clean, counterfactual: .prompt(tokenIDs: Self.clean), targetTokenID: 3, foilTokenID: 5)
        for kind in ComponentKind.allCases { for v in try same.patching().effects.values(kind) { XCTAssertEqual(v, 0, accuracy: 1e-5) } }
    }

    /// Many patched runs stacked in one batch give what each run gives alone.
    func testBatchedPatchingEqualsOneRunAtATime() throws {
        let s = try session(.prompt(tokenIDs: Self.corrupt), position: -2)
        let batched = try s.patching()
        let model = s.model, source = try ComponentActivations(
            ExplainSession(model: model, tokenIDs: Self.corrupt).cache, layers: model.layerCount)
        let patches = ComponentPatch.all(layers: model.layerCount, heads: model.headCount, positions: s.targetPosition + 1)
        XCTAssertEqual(patches.count, batched.runs)
        for p in patches {
            let alone = try model.patchedMetrics(clean: s.clean.cache, source: source, patches: [p], position: s.targetPosition,
                                                 target: 3, foil: 5, cancel: nil)[0]
            XCTAssertEqual(alone, batched.patchedMetrics[p]!, accuracy: 1e-5 * max(1, abs(alone)), "\(p)")
        }
        // Rows after the target position are never patched.
        XCTAssertEqual(batched.effects.residual[0].last, 0)
    }

    /// A run computes only the rows from the first one its patch changes, reading the clean run's
    /// keys and values before it, and a patch that changes nothing is not run: the same metrics as
    /// running every row of every patch. Position 3 is the only corrupted one, so every component
    /// starts there and residual positions 0...2 change nothing.
    func testRunsFromTheFirstChangedRowEqualFullRuns() throws {
        for position in [-1, -3] {
            let s = try session(.prompt(tokenIDs: Self.corrupt), position: position)
            let model = s.model as! DecoderModel, cache = s.clean.cache as! DecoderForwardCache
            let source = try ComponentActivations(ExplainSession(model: model, tokenIDs: Self.corrupt).cache, layers: model.layerCount)
            let patches = ComponentPatch.all(layers: model.layerCount, heads: model.headCount, positions: s.targetPosition + 1)
            for p in patches {
                let n = s.targetPosition + 1, first = model.firstChangedRow(p, cache: cache, source: source, rows: n)
                var expected = 3
                if case .residual(let l, let pos) = p, pos != 3 {
                    // Before the corrupted token nothing differs; after it, only from layer 1 on (layer 0's input is the embedding).
                    expected = pos < 3 || l == 0 ? n : pos
                }
                XCTAssertEqual(first, expected, "\(p)")
            }
            func run(_ skip: Bool) throws -> [Float] {
                try model.patchedMetrics(clean: cache, source: source, patches: patches, position: s.targetPosition, target: 3,
                                         foil: 5, cancel: nil, fromFirstChangedRow: skip)
            }
            let fast = try run(true), full = try run(false)
            for (p, (a, b)) in zip(patches, zip(fast, full)) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), "\(p)") }
            XCTAssertNotEqual(fast[patches.firstIndex(of: .head(layer: 1, head: 0))!], s.cleanMetric)
        }
    }

    /// Patching an MLP block of the last layer changes the final residual by exactly
    /// (corrupt − clean) MLP output: recompute the metric from the clean final residual by hand.
    func testLastLayerMLPPatchEqualsTheHandComputedMetric() throws {
        let s = try session(.prompt(tokenIDs: Self.corrupt), foil: nil)
        let model = s.model as! DecoderModel, c = model.config, d = c.dim, p = s.targetPosition
        let cache = s.clean.cache as! DecoderForwardCache
        let bad = try ExplainSession(model: model, tokenIDs: Self.corrupt).cache
        let l = c.layers - 1
        let cleanMLP = cache.componentOutput(.blockOutput(layer: l))!, badMLP = bad.componentOutput(.blockOutput(layer: l))!
        var x = (0..<d).map { cache.xOut[p * d + $0] - cleanMLP[p * d + $0] + badMLP[p * d + $0] }
        let ms = x.map { Double($0) * Double($0) }.reduce(0, +) / Double(d)
        let inv = Float(1 / (ms + Double(c.rmsEps)).squareRoot())
        x = (0..<d).map { x[$0] * inv * model.weights.outputNorm[$0] }
        let w = model.weights.output.row(3)
        let expected = zip(x, w).map { $0 * $1 }.reduce(0, +)
        let got = try s.patching().patchedMetrics[.mlp(layer: l)]!
        XCTAssertEqual(got, expected, accuracy: 1e-4 * max(1, abs(expected)))
    }

    func testMeanCounterfactualAveragesEveryPosition() throws {
        let model = try TinyLlama.random(seed: 5)
        let a = try ComponentActivations(ExplainSession(model: model, tokenIDs: Self.clean).cache, layers: model.layerCount)
        let m = a.meanOverPositions(), t = Self.clean.count, d = model.dim
        for j in 0..<d {
            let mean = (0..<t).map { a.residual[1][$0 * d + j] }.reduce(0, +) / Float(t)
            for r in 0..<t { XCTAssertEqual(m.residual[1][r * d + j], mean, accuracy: 1e-5) }
        }
        let s = try session(.meanOverPositions)
        XCTAssertNil(s.corruptMetric)
        let analysis = try s.analyze(settings: .gim)
        XCTAssertNotNil(analysis.gimAgreement)
        XCTAssertNotEqual(analysis.gim, analysis.plain)
    }

    func testMisalignedCorruptPromptIsAClearError() throws {
        XCTAssertThrowsError(try session(.prompt(tokenIDs: [4, 8, 15]))) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("3 tokens") && text.contains("\(Self.clean.count)"), text)
        }
        XCTAssertThrowsError(try CircuitSession(clean: ExplainSession(model: try TinyLlama.random(), tokenIDs: Self.clean),
                                                counterfactual: .meanOverPositions, targetTokenID: 40))
    }

    func testAgreementMeasures() {
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], y: [Float] = [-100, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]
        let a = ComponentAgreement(x, y)
        XCTAssertEqual(a.k, 2)
        XCTAssertEqual(a.spearman!, Statistics.spearman(x.map(Double.init), y.map(Double.init))!)
        XCTAssertEqual(a.topKOverlap, 0.5)  // top 2 by |value|: indices {10, 9} vs {0, 10}
        XCTAssertNil(ComponentAgreement([1, 1, 1], [1, 2, 3]).pearson)
        XCTAssertEqual(ComponentAgreement([3, 1, 2], [30, 10, 20]).pearson!, 1, accuracy: 1e-12)
    }

    func testPairFileErrorsNameTheLine() {
        XCTAssertThrowsError(try CounterfactualPair.parse("{\"clean\": \"a\", \"corrupt\": \"b\", \"target\": \" c\"}\nnot json")) { e in
            XCTAssertTrue("\(e)".contains(":2:"), "\(e)")
        }
        XCTAssertThrowsError(try CounterfactualPair.parse("// only a comment\n"))
    }
}
