import Foundation
import XCTest
@testable import GIMEngine

/// A forward or backward asked to stop between layers throws `CancellationError` and leaves the
/// session as it was (the explorer abandons stale attributions of long prompts this way).
final class CancellationTests: XCTestCase {
    /// Says "cancel" from the `after`-th poll on, counting polls (thread-safe: a lock guards the count).
    final class Countdown: @unchecked Sendable {
        private let lock = NSLock()
        private var polls = 0
        let after: Int
        init(after: Int) { self.after = after }
        var count: Int { lock.withLock { polls } }
        var cancellation: Cancellation {
            Cancellation { [self] in
                lock.withLock {
                    polls += 1
                    return polls > after
                }
            }
        }
    }

    func testAForwardStopsBetweenLayers() throws {
        let model = try TinyLlama.random()
        let tokens = [1, 5, 9, 2, 7]
        let countdown = Countdown(after: 1)
        XCTAssertThrowsError(try ExplainSession(model: model, tokenIDs: tokens, cancellation: countdown.cancellation)) {
            XCTAssertTrue($0 is CancellationError, "\($0)")
        }
        XCTAssertEqual(countdown.count, 2, "polled before each layer; stopped at the second")
        // Never cancelled: polled once per layer, and the same pass as without a cancellation.
        let never = Countdown(after: .max)
        let polled = try ExplainSession(model: model, tokenIDs: tokens, cancellation: never.cancellation)
        XCTAssertEqual(never.count, model.layerCount)
        let plain = try ExplainSession(model: model, tokenIDs: tokens)
        XCTAssertEqual(try polled.logits(at: -1), try plain.logits(at: -1))
    }

    func testACancelledBackwardLeavesTheSessionUsable() throws {
        let model = try TinyLlama.random()
        let session = try ExplainSession(model: model, tokenIDs: [1, 5, 9, 2, 7, 3])
        let expected = try session.attribute(baselineTokenID: 0, settings: .gim)
        for after in 0..<model.layerCount {
            XCTAssertThrowsError(try session.attribute(baselineTokenID: 0, settings: .gim,
                                                       cancellation: Countdown(after: after).cancellation)) {
                XCTAssertTrue($0 is CancellationError, "\($0)")
            }
        }
        // A half-run backward leaves nothing behind: the next one gives the same values.
        let again = try session.attribute(baselineTokenID: 0, settings: .gim,
                                          cancellation: Countdown(after: .max).cancellation)
        XCTAssertEqual(again.values, expected.values)
    }

    func testGPT2StopsToo() throws {
        let model = try ModelBundle.load(path: HFTinyParityTests.folder("tiny-gpt2")).model
        XCTAssertTrue(model is GPT2Model)
        XCTAssertThrowsError(try ExplainSession(model: model, tokenIDs: [1, 2, 3], cancellation: Countdown(after: 0).cancellation))
        let session = try ExplainSession(model: model, tokenIDs: [1, 2, 3])
        let expected = try session.attribute(baselineTokenID: 0, settings: .gim)
        XCTAssertThrowsError(try session.attribute(baselineTokenID: 0, settings: .gim, cancellation: Countdown(after: 0).cancellation))
        XCTAssertEqual(try session.attribute(baselineTokenID: 0, settings: .gim).values, expected.values)
    }
}
