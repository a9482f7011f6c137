import Foundation
import GIMEngine

/// The attribution panes: one heat pane per method, the focused one framed in the accent colour,
/// the difference of two chosen panes, and the titles that say which method (and knobs) a pane shows.
extension Renderer {
    /// Every pane of the result, each with its faithfulness figures in the top border.
    mutating func heatPanes(_ rects: [Rect], result r: AnalysisResult) {
        let marked = r.panes.count > 1
        for (i, rect) in rects.enumerated() where i < r.panes.count {
            let focused = marked && i == state.panes.focus
            let title = (focused ? "▸ " : "") + Self.paneTitle(r.panes[i].method)
            heatPane(rect, title: title, values: r.panes[i].values, result: r, focused: focused)
            faithfulnessFigures(rect, title: title, figures: state.faithfulness?.figures(for: r.panes[i].method, at: i))
        }
    }

    /// The focused pane minus the chosen other one (`D` cycles it), each scaled to ±1.
    mutating func differencePane(_ rect: Rect, result r: AnalysisResult) {
        let (a, b) = differencePair(r)
        guard let b else {
            heatPane(rect, title: Self.paneTitle(r.panes[a].method) + " · the difference needs two panes (+ adds one)",
                     values: r.panes[a].values, result: r)
            return
        }
        let count = min(r.targetPosition + 1, r.tokenTexts.count)
        heatPane(rect, title: Self.differenceTitle(r.panes[a].method, r.panes[b].method),
                 values: HeatScale.difference(gim: r.panes[a].values, plain: r.panes[b].values, count: count), result: r)
    }

    /// Which panes of the result the difference view compares: (focused, other).
    func differencePair(_ r: AnalysisResult) -> (Int, Int?) {
        let n = r.panes.count
        let a = min(state.panes.focus, n - 1)
        guard n > 1 else { return (a, nil) }
        var b = min(state.panes.otherPane ?? 1, n - 1)
        if b == a { b = (a + 1) % n }
        return (a, b)
    }

    static func differenceTitle(_ a: AttributionMethod, _ b: AttributionMethod) -> String {
        "\(paneTitle(a)) − \(paneTitle(b)), each scaled to ±1"
    }

    /// "GIM", "GIM, knobs changed", "AttnLRP, all knobs off", "Integrated Gradients (32)",
    /// "occlusion, zero baseline".
    static func paneTitle(_ m: AttributionMethod) -> String {
        let preset = Pane.preset(m.name)
        var title: String
        switch m.name {
        case "plain": title = "plain gradient"
        default: title = m.title
        }
        switch m.kind {
        case .backward:
            if m.settings == preset.settings { return title }
            if m.settings.isPlain { return title + ", all knobs off" }
            return title + ", knobs changed"
        case .integratedGradients, .occlusion:
            if m.settings.inputBaseline == .zero { title += ", zero baseline" }
            return title
        case .random:
            return title
        }
    }

    /// Rows the table view adds below the tokens for the faithfulness figures of every pane.
    static func figureRows(_ r: AnalysisResult) -> Int { 8 }
}
