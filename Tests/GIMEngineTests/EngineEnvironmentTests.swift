import XCTest
@testable import GIMEngine

/// GIM_THREADS, GIM_LINEAR_KERNEL and GIM_ATTENTION_KERNEL have one rule each, used by the engine and the CLI.
final class EngineEnvironmentTests: XCTestCase {
    func testThreadsAcceptsOneToSixtyFour() throws {
        XCTAssertNil(try EngineEnvironment.threads([:]))
        XCTAssertEqual(try EngineEnvironment.threads(["GIM_THREADS": "1"]), 1)
        XCTAssertEqual(try EngineEnvironment.threads(["GIM_THREADS": "64"]), 64)
        XCTAssertEqual(try EngineEnvironment.threads(["GIM_THREADS": "08"]), 8)
    }

    func testThreadsRefusesEverythingElse() {
        for bad in ["", "0", "65", "-1", "+4", " 4", "4 ", "four", "4.0", "١", "99999999999999999999999"] {
            XCTAssertThrowsError(try EngineEnvironment.threads(["GIM_THREADS": bad]), bad) { error in
                XCTAssertTrue("\(error)".contains("from 1 to 64"), "\(error)")
            }
        }
    }

    func testLinearKernel() throws {
        XCTAssertEqual(try EngineEnvironment.linearKernel([:]), "auto")
        XCTAssertEqual(try EngineEnvironment.linearKernel(["GIM_LINEAR_KERNEL": "openblas"]), "openblas")
        XCTAssertThrowsError(try EngineEnvironment.linearKernel(["GIM_LINEAR_KERNEL": "fast"]))
        XCTAssertThrowsError(try EngineEnvironment.check(["GIM_THREADS": "2", "GIM_LINEAR_KERNEL": "OpenBLAS"]))
        XCTAssertNoThrow(try EngineEnvironment.check(["GIM_THREADS": "2", "GIM_LINEAR_KERNEL": "auto"]))
    }

    func testAttentionKernel() throws {
        XCTAssertEqual(try EngineEnvironment.attentionKernel([:]), "auto")
        XCTAssertEqual(try EngineEnvironment.attentionKernel(["GIM_ATTENTION_KERNEL": "openblas"]), "openblas")
        XCTAssertThrowsError(try EngineEnvironment.check(["GIM_ATTENTION_KERNEL": "flash"])) { error in
            XCTAssertTrue("\(error)".contains("GIM_ATTENTION_KERNEL must be"), "\(error)")
        }
        XCTAssertNoThrow(try EngineEnvironment.check(["GIM_ATTENTION_KERNEL": "auto", "GIM_LINEAR_KERNEL": "openblas"]))
    }
}
