/// Asked between the layers of a forward or backward pass: should this computation stop now?
/// A pass that sees `true` throws `CancellationError` and leaves nothing half-valid behind (a
/// cancelled forward returns no cache; a cancelled backward leaves its session reusable).
/// The explorer cancels a stale attribution of a long prompt this way: a 4,096-token prompt
/// takes seconds per pass, and a knob change must not wait for the old knobs' answer.
public struct Cancellation: Sendable {
    private let poll: @Sendable () -> Bool

    /// `poll` is called once per layer, from the computing thread; it must be cheap and thread-safe.
    public init(_ poll: @escaping @Sendable () -> Bool) { self.poll = poll }

    public var isCancelled: Bool { poll() }

    /// Throws `CancellationError` when cancelled.
    public func check() throws {
        if poll() { throw CancellationError() }
    }
}

extension Optional where Wrapped == Cancellation {
    /// No cancellation given: never throws.
    func check() throws { try self?.check() }
}
