import Foundation
import GIMEngine

/// Runs the model off the UI thread. It loads the model, then answers requests one at a time;
/// requests are coalesced: while one computes, newer ones replace each other and only the
/// latest is computed next (holding a knob key down costs one attribution, not fifty).
/// Results come back as `Event`s that the UI loop collects with `takeEvents()` between key reads.
///
/// `@unchecked Sendable` (any thread may call `submit`, `takeEvents`, `waitForEvents`, `stop`):
/// the mutable properties below are read and written only while `condition` is locked;
/// `modelPath` and `loader` are constants. The model, its `AnalysisEngine` and sessions exist
/// only as locals of `run` on the worker thread (not Sendable, so they cannot leave it); results
/// leave it as `Event` values. `WorkerConcurrencyTests` exercises this under ThreadSanitizer.
///
/// The circuit view's requests have a slot of their own (`submitCircuit`), answered after the
/// token panes' request; the slow follow-ups (patching, then the faithfulness figures) run only
/// when no request waits, and a new request interrupts them (they resume after it if still current).
public final class AttributionWorker: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: AnalysisRequest?
    private var pendingCircuit: CircuitRequest?
    /// Bumped by every `submitCircuit` (apart from `generation`, so that a circuit request never
    /// interrupts the token panes' work): patching and figures are interrupted by either.
    private var circuitGeneration = 0
    private var events: [Event] = []
    private var stopping = false
    /// Bumped by every `submit`: faithfulness work of an older generation is cancelled.
    private var generation = 0
    /// The thread has returned.
    private var finished = false
    /// Continuation work (issue 16): a generation runs before any attribution, and the matrix
    /// after them; `cancelContinuation` stops a running generation or matrix (Esc, a newer one).
    private var pendingGeneration: GenerationRequest?
    private var pendingMatrix: MatrixRequest?
    private var cancelContinuation = false

    /// After this many seconds without a request, freed memory is trimmed (`HeapSettings`): the
    /// allocator keeps freed blocks so the next pass reuses their pages (25-45 ms per pass), but a
    /// session that went through many prompts then held the freed memory of all of them (the
    /// soak test saw RSS grow 7.9% at constant heap in use). Trimming takes 25-45 ms, done only
    /// when nobody is waiting for an answer.
    public static let idleTrimDelay: TimeInterval = 1.5

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
        generation += 1
        // Broadcast: a test may be waiting on the same condition for events.
        condition.broadcast()
        condition.unlock()
    }

    /// Replaces any generation not yet started and stops a running one.
    public func submit(_ request: GenerationRequest) {
        condition.lock()
        pendingGeneration = request
        cancelContinuation = true
        condition.broadcast()
        condition.unlock()
    }

    /// Replaces any matrix not yet started and stops a running one.
    public func submit(_ request: MatrixRequest) {
        condition.lock()
        pendingMatrix = request
        cancelContinuation = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops a running generation (its tokens so far are kept and reported as finished).
    public func stopGeneration() {
        condition.lock()
        cancelContinuation = true
        condition.broadcast()
        condition.unlock()
    }

    /// Replaces any circuit request not yet started.
    public func submitCircuit(_ request: CircuitRequest) {
        condition.lock()
        pendingCircuit = request
        circuitGeneration += 1
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

    /// Asks the thread to finish after the current request (faithfulness work is cancelled at
    /// its next batch). With `wait`, waits up to that many seconds for the thread to end: exiting
    /// while it is inside a BLAS call can hang in OpenBLAS's shutdown, so quitting waits briefly.
    public func stop(wait: TimeInterval = 0) {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(wait)
        while wait > 0 && !finished && condition.wait(until: deadline) {}
    }

    private func post(_ event: Event) {
        condition.lock()
        events.append(event)
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        defer {
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        let engine: AnalysisEngine
        do {
            let bundle = try loader(modelPath)
            engine = try AnalysisEngine(bundle: bundle)
            post(.modelLoaded(name: bundle.name))
            post(.generation(engine.chatAvailability()))
        } catch {
            post(.modelFailed("\(error)"))
            return
        }
        let circuits = CircuitEngine(analysis: engine)
        // Follow-up work of the newest answers, done when no request waits.
        var dueFigures: AnalysisResult?
        var duePatching: CircuitResult?
        // Set after each request: once the worker has been idle for `idleTrimDelay`, the freed
        // memory kept for reuse goes back to the system (see `idleTrimDelay`).
        var trimWhenIdle = false
        while true {
            condition.lock()
            while pending == nil && pendingGeneration == nil && pendingMatrix == nil && pendingCircuit == nil
                    && dueFigures == nil && duePatching == nil && !stopping {
                if trimWhenIdle {
                    if !condition.wait(until: Date().addingTimeInterval(Self.idleTrimDelay)) && pending == nil
                        && pendingGeneration == nil && pendingMatrix == nil && pendingCircuit == nil && !stopping {
                        trimWhenIdle = false
                        condition.unlock()
                        HeapSettings.releaseFreeMemory()
                        condition.lock()
                    }
                } else {
                    condition.wait()
                }
            }
            if stopping {
                condition.unlock()
                return
            }
            if pendingGeneration != nil || (pending == nil && pendingMatrix != nil) {
                trimWhenIdle = true
                condition.unlock()
                runContinuationWork(engine)
                continue
            }
            let request = pending
            pending = nil
            let circuitRequest = request == nil ? pendingCircuit : nil
            if circuitRequest != nil { pendingCircuit = nil }
            let mine = (generation, circuitGeneration)
            trimWhenIdle = true
            condition.unlock()

            if let request {
                // A long prompt takes seconds per pass: a newer request cancels this one between
                // layers. A knob change (same prompt) keeps the forward, which it will reuse.
                // A circuit request does not count (it bumps its own generation).
                let newPrompt = Cancellation { [self] in
                    condition.lock()
                    defer { condition.unlock() }
                    return stopping || (generation != mine.0 && pending.map { $0.prompt != request.prompt } ?? false)
                }
                let newRequest = Cancellation { [self] in
                    condition.lock()
                    defer { condition.unlock() }
                    return stopping || generation != mine.0
                }
                do {
                    let result = try engine.analyze(request, newPrompt: newPrompt, newRequest: newRequest)
                    post(.analysisFinished(result))
                    dueFigures = result
                } catch is CancellationError {
                    dueFigures = nil
                } catch {
                    post(.analysisFailed(requestID: request.id, message: "\(error)"))
                    dueFigures = nil
                }
                continue
            }
            if let circuitRequest {
                do {
                    let result = try circuits.scores(circuitRequest)
                    post(.circuit(.finished(result)))
                    duePatching = result
                } catch {
                    post(.circuit(.failed(requestID: circuitRequest.id, message: "\(error)")))
                    duePatching = nil
                }
                continue
            }
            // The heatmaps are on screen; now the (slower) follow-ups, interrupted as soon as a
            // newer request arrives so that it never waits for them: an interrupted one stays due
            // (its result may still be the newest) until an answer of its kind replaces it.
            let cancel: () -> Bool = { [self] in
                condition.lock()
                defer { condition.unlock() }
                return generation != mine.0 || circuitGeneration != mine.1 || stopping
                    || pendingGeneration != nil || pendingMatrix != nil
            }
            if let result = duePatching {
                do {
                    if let patching = try circuits.patching(for: result, cancel: cancel) { post(.circuit(.patched(patching))) }
                    duePatching = nil
                } catch is CancellationError {
                    // Stays due.
                } catch {
                    post(.circuit(.patched(CircuitPatching(requestID: result.requestID, question: result.question,
                                                           effects: nil, failure: "\(error)"))))
                    duePatching = nil
                }
                continue
            }
            if let result = dueFigures {
                do {
                    // Pane by pane: the figures appear as they come (the reducer drops those of a result that is gone).
                    var posted: FaithfulnessReport?
                    let report = try engine.faithfulness(of: result, cancel: cancel) { [self] partial in
                        if !cancel() { post(.faithfulnessFinished(partial)) }
                        posted = partial
                    }
                    // Complete even if a request just arrived: the reducer drops the figures if their result is gone.
                    if posted != report { post(.faithfulnessFinished(report)) }
                    dueFigures = nil
                } catch is CancellationError {
                    // Stays due: a newer analysis request replaces it, a circuit request only delays it.
                } catch {
                    post(.faithfulnessFinished(FaithfulnessReport(requestID: result.requestID, panes: [],
                                                                  random: nil, failure: "\(error)")))
                    dueFigures = nil
                }
            }
        }
    }

    /// One generation (before anything else) or one matrix, whichever is pending.
    private func runContinuationWork(_ engine: AnalysisEngine) {
        condition.lock()
        let generationRequest = pendingGeneration
        let matrixRequest = generationRequest == nil ? pendingMatrix : nil
        if generationRequest != nil { pendingGeneration = nil } else { pendingMatrix = nil }
        cancelContinuation = false
        condition.unlock()
        // Sendable: the matrix also polls it between a backward's layers.
        let cancelled: @Sendable () -> Bool = { [self] in
            condition.lock()
            defer { condition.unlock() }
            return cancelContinuation || stopping
        }
        if let r = generationRequest {
            do {
                try engine.continuation(r, isCancelled: cancelled) { post(.generation($0)) }
            } catch {
                post(.generation(.failed(requestID: r.id, message: "\(error)")))
            }
        } else if let r = matrixRequest {
            do {
                try engine.matrix(r, isCancelled: cancelled) { post(.generation($0)) }
            } catch is CancellationError {
                // A newer matrix or generation replaces it.
            } catch {
                post(.generation(.matrixFailed(requestID: r.id, message: "\(error)")))
            }
        }
    }
}
