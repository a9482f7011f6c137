import Foundation
import GIMEngine

/// Runs the model off the UI thread. It loads the model, then answers requests one at a time;
/// requests are coalesced: while one computes, newer ones replace each other and only the
/// latest is computed next (holding a knob key down costs one attribution, not fifty).
/// Results come back as `Event`s that the UI loop collects with `takeEvents()` between key reads.
public final class AttributionWorker: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: AnalysisRequest?
    private var events: [Event] = []
    private var stopping = false

    private let modelPath: String
    private let loader: @Sendable (String) throws -> ModelBundle

    public init(modelPath: String, loader: @escaping @Sendable (String) throws -> ModelBundle = { try ModelBundle.load(path: $0) }) {
        self.modelPath = modelPath
        self.loader = loader
    }

    /// Starts the thread; the first event is `.modelLoaded` or `.modelFailed`.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "gim-attribution"
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Replaces any request not yet started.
    public func submit(_ request: AnalysisRequest) {
        condition.lock()
        pending = request
        // Broadcast: a test may be waiting on the same condition for events.
        condition.broadcast()
        condition.unlock()
    }

    /// Events posted since the last call (never blocks).
    public func takeEvents() -> [Event] {
        condition.lock()
        defer { condition.unlock() }
        let out = events
        events = []
        return out
    }

    /// Waits up to `timeout` seconds for at least one event (for tests and scripts).
    public func waitForEvents(timeout: TimeInterval) -> [Event] {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while events.isEmpty && condition.wait(until: deadline) {}
        let out = events
        events = []
        return out
    }

    /// Asks the thread to finish after the current request. Quitting does not wait for it.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func post(_ event: Event) {
        condition.lock()
        events.append(event)
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        let engine: AnalysisEngine
        do {
            let bundle = try loader(modelPath)
            engine = try AnalysisEngine(bundle: bundle)
            post(.modelLoaded(name: bundle.name))
        } catch {
            post(.modelFailed("\(error)"))
            return
        }
        while true {
            condition.lock()
            while pending == nil && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            let request = pending!
            pending = nil
            condition.unlock()
            do {
                post(.analysisFinished(try engine.analyze(request)))
            } catch {
                post(.analysisFailed(requestID: request.id, message: "\(error)"))
            }
        }
    }
}
