/// What a key means, once the key table has looked it up in the current mode.
public enum Action: Equatable, Sendable {
    // Editing the prompt (or the token entry line).
    case insert(String)
    case deleteBackward, deleteForward, deleteWordBackward, killToEnd, killToStart
    case cursorLeft, cursorRight, cursorHome, cursorEnd
    case historyPrevious, historyNext
    /// Enter on the prompt: attribute it now and remember it.
    case submit

    // Modes and overlays.
    case toggleMode
    case enterEditMode
    case toggleHelp
    case redraw
    case quit

    // Knobs.
    /// One step up (+1) or down (−1); freeze_norm toggles.
    case step(Knob, Int)
    case resetKnobs
    case allKnobsOff
    case preset014

    // Target, foil, position.
    case selectPrediction(Int)
    case targetSelected
    case toggleFoil
    case targetArgmax
    case moveTarget(Int)
    case targetFirst, targetLast
    case beginEntry(ExplorerState.EntryPurpose)
    case commitEntry, cancelEntry

    // View.
    case cycleView
    case cycleTheme
    /// Shows or hides the deletion-curve plot.
    case togglePlot
    case scroll(Int)
    case export
    case rerun

    /// The panes' methods, focus, difference pair and method knobs (State/Reducer+Panes.swift).
    case pane(PaneAction)

    /// Continuations, their attribution, words and chat mode (issue 16).
    case generation(GenerationAction)

    /// The circuit view's keys (State/Reducer+Circuit.swift).
    case circuit(CircuitAction)
}

/// What the reducer asks the outside world to do; the run loop carries it out.
public enum Effect: Equatable, Sendable {
    /// Send to the attribution worker (it keeps only the newest).
    case analyze(AnalysisRequest)
    /// Report `.debounceElapsed(generation)` after this many milliseconds.
    case scheduleDebounce(generation: Int, milliseconds: Int)
    /// Send to the worker's circuit slot (it keeps only the newest).
    case analyzeCircuit(CircuitRequest)
    /// Write the current view to JSON and HTML.
    case export
    /// Repaint the whole terminal (Ctrl-L).
    case redraw
    case quit
    /// Continue the prompt (the worker posts `.generation` events per token).
    case generate(GenerationRequest)
    /// Stop the running generation (Esc).
    case stopGeneration
    /// Attribute every continuation token (the matrix view).
    case computeMatrix(MatrixRequest)
}

/// Everything that can happen to the state.
public enum Event: Equatable, Sendable {
    case key(Key)
    case debounceElapsed(generation: Int)
    case modelLoaded(name: String)
    case modelFailed(String)
    case analysisFinished(AnalysisResult)
    case analysisFailed(requestID: Int, message: String)
    /// Faithfulness of a result, posted after it (stale request ids are ignored).
    case faithfulnessFinished(FaithfulnessReport)
    /// Circuit scores, their failure, or the patching ground truth.
    case circuit(CircuitEvent)
    /// A line for the message bar (export done, a theme problem…).
    case notify(String, isError: Bool)
    /// Time passes (animates the spinner while computing).
    case tick
    /// Continuations and chat mode (issue 16).
    case generation(GenerationEvent)
}
