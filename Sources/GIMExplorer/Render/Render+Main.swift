import Foundation
import GIMEngine

/// The main area: what is shown before the first result, and the three views.
extension Renderer {
    mutating func mainArea(_ area: Rect) {
        switch state.model {
        case .loading(let path):
            centered(["Loading the model…", path], in: area, role: .dim)
            return
        case .failed(let message):
            centered(["The model could not be loaded:", message, "", "F10 quits; start again with --model PATH"],
                     in: area, role: .warning)
            return
        case .ready:
            break
        }
        if state.circuit.isShown {
            circuitArea(area)
            return
        }
        if let f = state.failure {
            centered(["Could not attribute this prompt:", f.message, "", "Edit the prompt or the knobs to try again."],
                     in: area, role: .warning)
            return
        }
        guard let r = state.result else {
            if state.committedPrompt.isEmpty {
                centered(["Type a prompt and press Enter (or pause typing) to see which tokens drive the next-token prediction.",
                          "", "Tab switches to command mode for the knobs; F1 lists every key."], in: area, role: .dim)
            } else {
                centered(["\(Self.spinner[state.spinnerPhase % Self.spinner.count]) attributing…"], in: area, role: .dim)
            }
            return
        }
        if state.generation.showMatrix {
            matrixView(area, result: r)
            return
        }
        let cellTexts = SequenceCells(result: r, values: r.gim, display: state.display,
                                      streaming: SequenceCells.streaming(state, result: r)).texts
        let paneCount = state.view == .heat ? r.panes.count : 1
        let areas = Layout.mainAreas(area, paneCount: paneCount, predictionRows: r.predictions.count) { width in
            state.view == .table ? r.tokenTexts.count + 3 + Self.figureRows(r) : 2 * TokenFlow(tokens: cellTexts, width: width - 2).lineCount + 2
        }
        switch state.view {
        case .heat:
            heatPanes(areas.panes, result: r)
        case .difference:
            differencePane(areas.panes[0], result: r)
        case .table:
            tablePane(areas.panes[0], result: r)
        }
        if let p = areas.predictions { predictionsPanel(p, result: r) }
        if state.showPlot { deletionPlot(area) }
    }

    static func gimTitle(_ s: GIMSettings) -> String {
        paneTitle(AttributionMethod(name: "gim", kind: .backward, settings: s))
    }

    /// Lines centred in an area, each wrapped to its width.
    mutating func centered(_ lines: [String], in area: Rect, role: Role) {
        guard area.width > 2, area.height > 0 else { return }
        let wrapped = lines.flatMap { Self.wrap($0, width: area.width - 2) }
        let top = area.y + max(0, (area.height - wrapped.count) / 2)
        for (i, line) in wrapped.enumerated() where top + i < area.maxY {
            let x = area.x + max(0, (area.width - TextWidth.of(line)) / 2)
            frame.put(line, x: x, y: top + i, role: role, limit: area.maxX)
        }
    }

    /// Word-wraps to a width (a word longer than the width is cut).
    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        if text.isEmpty { return [""] }
        var lines: [String] = []
        var line = ""
        for word in Sanitizer.visible(text).split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let candidate = line.isEmpty ? word : line + " " + word
            if TextWidth.of(candidate) <= width { line = candidate; continue }
            if !line.isEmpty { lines.append(line) }
            line = TextWidth.of(word) <= width ? word : Layout.fit(word, width: width)
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
