import Foundation

/// A value that several threads read and write, behind a lock: every access goes through
/// `withLock` (or `value`), so the value is never touched outside the lock. The engine's shared
/// mutable state that is not a lock-guarded cache of its own (test knobs, the scratch of a
/// checkpointed forward pass, the first error of parallel jobs) lives in one of these.
///
/// (`Synchronization.Mutex` would do the same without the unchecked conformance, but needs
/// macOS 15; the package supports macOS 13.)
public final class Locked<Value: Sendable>: @unchecked Sendable {
    // Safe: `stored` is read and written only between `lock.lock()` and `lock.unlock()` (in
    // `withLock`), and `Value` is Sendable, so what a caller takes out may cross threads.
    private let lock = NSLock()
    private var stored: Value

    public init(_ value: Value) { stored = value }

    /// Runs `body` with the value, holding the lock; `body` must not call back into this object.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&stored)
    }

    /// The value now (each get and set takes the lock once).
    public var value: Value {
        get { withLock { $0 } }
        set { withLock { $0 = newValue } }
    }
}
