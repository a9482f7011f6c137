import XCTest
@testable import GIMEngine

/// Inputs the fuzzers (scripts/fuzz.sh) found crashing, as unit tests of the named error each
/// now gets. The raw inputs stay in Tests/Fuzz/crashes/<target>/ and are replayed by scripts/test.sh.
final class FuzzRegressionTests: XCTestCase {
    /// fuzz-config, crash-ecdade2c…: a Gemma 2 config.json with "num_hidden_layers": -12 built the
    /// sliding-layer list from 0..<-12 (a trap) before validation.
    func testNegativeLayerCountIsAnInvalidConfig() throws {
        for layers in [-12, 0, 100_000_000] {
            let json = #"{"model_type": "gemma2", "num_hidden_layers": \#(layers), "sliding_window": 4}"#
            let hf = try JSONDecoder().decode(HFDecoderConfig.self, from: Data(json.utf8))
            XCTAssertThrowsError(try hf.decoderConfig(path: "config.json")) { error in
                guard case ModelError.invalidConfig(let why) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(why.contains("layer count"), why)
            }
        }
    }
}
