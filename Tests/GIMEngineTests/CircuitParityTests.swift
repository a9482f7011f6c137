import XCTest
@testable import GIMEngine

/// Component scores and activation patching against the PyTorch reference
/// (Fixtures/components.json, scripts/reference/make_component_fixtures.py): transformers' modules
/// with hooks on the same components, GIM's backward from gim_reference_families.py, and each
/// patched run being the hooked model itself. Tiny models of every family (their Hugging Face
/// folders) and SmolLM2 (its GGUF).
final class CircuitParityTests: XCTestCase {
    static func cases() throws -> [[String: Any]] {
        try Fixtures.json("components")["cases"] as! [[String: Any]]
    }

    static func map(_ d: [String: Any]) -> ComponentMap {
        ComponentMap(attention: (d["attention"] as! [Any]).floats, mlp: (d["mlp"] as! [Any]).floats,
                     heads: (d["heads"] as! [[Any]]).map(\.floats), residual: (d["residual"] as! [[Any]]).map(\.floats))
    }

    /// max |got − expected| / max |expected| over one kind of component.
    static func relative(_ got: ComponentMap, _ expected: ComponentMap, _ kind: ComponentKind) -> Double {
        FamilyParityTests.relative(got.values(kind), expected.values(kind))
    }

    /// Checks every case of `model` (fixture label); returns the worst relative differences of
    /// the scores and of the patching effects.
    func check(_ label: String, model: CausalLanguageModel, tolerance: Double) throws -> (scores: Double, patching: Double) {
        let cases = try Self.cases().filter { ($0["model"] as! String) == label }
        XCTAssertGreaterThanOrEqual(cases.count, 2, label)
        var worst = (scores: 0.0, patching: 0.0)
        for c in cases {
            let ids = (c["token_ids"] as! [Any]).ints
            let counterfactual: Counterfactual = (c["corrupt_token_ids"] as? [Any]).map { .prompt(tokenIDs: $0.ints) } ?? .meanOverPositions
            let session = try CircuitSession(clean: ExplainSession(model: model, tokenIDs: ids), counterfactual: counterfactual,
                                             targetTokenID: (c["target_token_id"] as! NSNumber).intValue,
                                             targetPosition: (c["target_position"] as! NSNumber).intValue,
                                             foilTokenID: (c["foil_token_id"] as? NSNumber)?.intValue)
            let what = "\(label) \(counterfactual.name)"
            XCTAssertEqual(session.targetPosition, (c["target_index"] as! NSNumber).intValue)
            let clean = (c["clean_metric"] as! NSNumber).doubleValue
            XCTAssertEqual(Double(session.cleanMetric), clean, accuracy: tolerance * max(1, abs(clean)), what)
            if let corrupt = (c["corrupt_metric"] as? NSNumber)?.doubleValue {
                XCTAssertEqual(Double(session.corruptMetric!), corrupt, accuracy: tolerance * max(1, abs(corrupt)), what)
            }
            let scores = c["scores"] as! [String: Any]
            XCTAssertEqual(Set(scores.keys), ["plain", "gim"])
            for (name, settings) in [("plain", GIMSettings.plain), ("gim", GIMSettings.gim)] {
                let got = try session.scores(settings: settings), expected = Self.map(scores[name] as! [String: Any])
                for kind in ComponentKind.allCases {
                    let r = Self.relative(got, expected, kind)
                    worst.scores = max(worst.scores, r)
                    XCTAssertLessThan(r, tolerance, "\(what) \(name) \(kind)")
                }
            }
            let got = try session.patching().effects, expected = Self.map(c["patching"] as! [String: Any])
            for kind in ComponentKind.allCases {
                // Effects are differences of two metrics: relative to the largest effect of any kind
                // or to |L(clean)|, whichever is larger (where every effect is 0, e.g. a corruption
                // outside Mistral's window, float32 rounding of L itself is what remains).
                let scale = max(ComponentKind.allCases.map { expected.values($0).map(abs).max() ?? 0 }.max()!, Float(abs(clean)))
                let diff = zip(got.values(kind), expected.values(kind)).map { Double(abs($0 - $1)) }.max() ?? 0
                let r = diff / Double(max(scale, 1e-3))
                worst.patching = max(worst.patching, r)
                XCTAssertLessThan(r, tolerance, "\(what) patching \(kind)")
            }
        }
        return worst
    }

    /// Every family the fixture holds (all nine when it was made by a full run).
    func testEveryFamilyMatchesTheReference() throws {
        var report: [String] = []
        let present = Set(try Self.cases().map { $0["model"] as! String })
        let families = FamilyParityTests.families.filter(present.contains)
        XCTAssertFalse(families.isEmpty, "components.json holds no family case")
        for family in families {
            let bundle = try ModelBundle.load(path: FamilyParityTests.directory(family).appendingPathComponent("hf").path)
            let w = try check(family, model: bundle.model, tolerance: 1e-4)
            report.append(String(format: "%@ %.1e/%.1e", family, w.scores, w.patching))
        }
        print("component parity (worst relative difference, scores/patching): " + report.joined(separator: ", "))
    }

    func testSmolLM2MatchesTheReference() throws {
        guard try Self.cases().contains(where: { ($0["model"] as! String) == "smollm2" }) else {
            throw XCTSkip("components.json has no SmolLM2 case (scripts/reference/make_component_fixtures.py --only smollm2)")
        }
        // The reference runs transformers' float64 model on the GGUF dequantised by the gguf package,
        // the same weights the engine's kernels decode (the script checks it).
        let w = try check("smollm2", model: try SmolLM2ParityTests.model(), tolerance: 1e-4)
        print(String(format: "component parity on SmolLM2: scores %.1e, patching %.1e (relative to the largest value)", w.scores, w.patching))
    }
}
