import Foundation
import GIMEngine

/// The list of likely next tokens at the target position.
extension Renderer {
    /// The top-k next tokens at the target position. T marks the target, F the foil; in
    /// command mode the selected row is highlighted (↑ ↓, Enter, c).
    mutating func predictionsPanel(_ rect: Rect, result r: AnalysisResult) {
        // While another prompt or position computes, the list still belongs to the old one.
        let wanted = state.lastRequest.map { $0.prompt != r.prompt || ($0.targetPosition ?? (r.tokenIDs.count - 1)) != r.targetPosition } ?? false
        frame.box(rect, title: "next token @\(r.targetPosition)" + (wanted && state.isComputing ? " · updating…" : ""))
        let inner = rect.inset(1)
        guard inner.width > 4, inner.height > 0 else { return }
        let list = r.predictions
        let selected = min(state.selectedPrediction, max(0, list.count - 1))
        let top = min(max(0, selected - inner.height + 1), max(0, list.count - inner.height))
        for row in 0..<inner.height {
            let i = top + row
            guard i < list.count else { break }
            let p = list[i]
            let mark = p.id == r.targetID ? "T" : (p.id == r.foilID ? "F" : " ")
            let probability = String(format: "%5.1f%%", p.probability * 100)
            let head = "\(mark)\(Layout.pad(String(i + 1), width: 3, alignRight: true)) "
            let textWidth = max(1, inner.width - TextWidth.of(head) - TextWidth.of(probability) - 1)
            let line = head + Layout.pad(quoted(p.text), width: textWidth) + " " + probability
            let isSelected = state.mode == .command && i == selected
            let role: Role = isSelected ? .selection : (mark == " " ? .text : .accent)
            frame.put(line, x: inner.x, y: inner.y + row, role: role, attributes: mark == "T" ? .bold : [], limit: inner.maxX)
        }
        scrollMarks(rect: rect, top: top, visible: inner.height, total: list.count)
    }
}
