import Foundation
import GIMEngine

/// Faithfulness figures in the heat panes' top borders, and the deletion-curve plot.
extension Renderer {
    /// "del 0.62  ins 0.48  ρ 0.27 · rnd 0.50/0.47" after the pane's title, shortened to fit.
    mutating func faithfulnessFigures(_ rect: Rect, title: String, figures: PaneFaithfulness?) {
        let titleWidth = TextWidth.of(Layout.fit(title, width: rect.width - 4)) + 2
        let x = rect.x + 1 + titleWidth + 1
        let room = rect.maxX - 2 - x - 2
        guard room >= 3 else { return }
        let report = state.faithfulness
        let options: [String]
        var role = Role.dim
        if let failure = report?.failure {
            options = ["faithfulness failed: \(failure)", "faithfulness failed", "failed"]
            role = .warning
        } else if let f = figures {
            options = Self.figureTexts(f, random: report?.random)
        } else {
            options = ["faithfulness …", "…"]
        }
        let text = options.first { TextWidth.of($0) <= room } ?? Layout.fit(options.last!, width: room)
        frame.put(" " + text + " ", x: x, y: rect.y, role: role, limit: rect.maxX - 1)
    }

    static func number(_ v: Double) -> String { String(format: "%.2f", v).replacingOccurrences(of: "-", with: "−") }

    /// The figures from the most to the least detailed: the GIM paper's comprehensiveness and
    /// sufficiency first (divided by f(x), or in logits when f(x) ≤ 0 makes the ratio undefined),
    /// then the deletion/insertion areas, ρ with leave-one-out and the random floor.
    static func figureTexts(_ f: PaneFaithfulness, random: PaneFaithfulness?) -> [String] {
        let paper = paperTexts(f)
        let rho = f.spearman.map { "ρ(LOO) \(number($0))" } ?? "ρ(LOO) – (\(f.spearmanUndefinedReason ?? "undefined"))"
        let rhoShort = f.spearman.map { "ρ \(number($0))" } ?? "ρ –"
        var rest: [String]
        guard let d = f.deletionArea, let i = f.insertionArea else {
            let reason = f.areasUndefinedReason ?? "undefined"
            rest = ["del/ins undefined (\(reason))  \(rho)", "del/ins undefined (\(reason))  \(rhoShort)",
                    "del/ins undefined (\(reason))", "del/ins –"]
            return Self.join(paper, rest) + (paper.isEmpty ? ["undefined (\(reason))", "undefined"] : [])
        }
        rest = []
        if let r = random, let rd = r.deletionArea, let ri = r.insertionArea {
            rest.append("del \(number(d))  ins \(number(i))  \(rho) · random \(number(rd))/\(number(ri))")
            rest.append("del \(number(d)) ins \(number(i)) \(rhoShort) · rnd \(number(rd))/\(number(ri))")
        }
        rest += ["del \(number(d))  ins \(number(i))  \(rho)", "del \(number(d)) ins \(number(i)) \(rhoShort)",
                 "del \(number(d)) ins \(number(i))", "del \(number(d))"]
        return Self.join(paper, rest)
    }

    /// Each paper spelling followed by each of the others, then the paper figures alone,
    /// longest first (the caller takes the first that fits).
    static func join(_ paper: [String], _ rest: [String]) -> [String] {
        guard !paper.isEmpty else { return rest }
        return rest.map { paper[0] + " · " + $0 } + rest.map { paper[1] + " · " + $0 } + paper
    }

    /// "comp 0.42 suff 0.10", or in logits "comp 3.21lg suff 0.50lg"; empty when not measured.
    static func paperTexts(_ f: PaneFaithfulness) -> [String] {
        guard let cl = f.comprehensivenessLogits, let sl = f.sufficiencyLogits else { return [] }
        if let c = f.comprehensiveness, let s = f.sufficiency {
            return ["comp \(number(c))  suff \(number(s))", "comp \(number(c)) suff \(number(s))",
                    "c \(number(c)) s \(number(s))", "c \(number(c))"]
        }
        return ["comp \(number(cl)) suff \(number(sl)) logits", "comp \(number(cl))lg suff \(number(sl))lg",
                "c \(number(cl))lg s \(number(sl))lg", "c \(number(cl))lg"]
    }

    // MARK: The deletion-curve plot

    static let plotMinimumWidth = 30
    static let plotMinimumHeight = 8

    /// A box over the panes with the GIM, plain and random deletion curves: the share of the effect
    /// still present (1 → 0) against the share of tokens removed, drawn in braille dots. When no
    /// pane's normalised curve is defined (replacing every token moves the logit by Δ ≤ 1), the
    /// raw-logit comprehensiveness curves instead: the target logit itself as the top 1, 2, … tokens
    /// are replaced, on an axis from the lowest to the highest logit seen.
    mutating func deletionPlot(_ area: Rect) {
        let w = min(area.width - 2, 72), h = min(area.height, 14)
        guard w >= Self.plotMinimumWidth, h >= Self.plotMinimumHeight else { return }
        let box = Rect(x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h)
        let report = state.faithfulness
        // One curve per pane (in the panes' order of priority), then the random floor.
        let paneRoles: [Role] = [.accent, .text, .warning, .key]
        let methods = state.result?.panes.map(\.method) ?? []
        var curves: [(name: String, figures: PaneFaithfulness?, role: Role, glyph: String)] = methods.enumerated().map { i, m in
            (Self.curveName(m), report?.figures(for: m, at: i), paneRoles[i % paneRoles.count], "●")
        }
        curves.append(("random", report?.random, .dim, "●"))
        let normalisedUndefined = curves.allSatisfy { $0.figures?.deletionCurve == nil }
        let raw = normalisedUndefined && curves.contains { $0.figures?.comprehensivenessCurve != nil }
        frame.fill(box, role: .text)
        frame.box(box, title: raw ? "target logit vs top tokens replaced (Δ too small to normalise) · p hides"
                                  : "deletion curves · effect left vs tokens removed · p hides", role: .accent)
        let inner = box.inset(1)
        // Legend on the last inner row.
        var x = inner.x + 1
        for c in curves {
            let defined = raw ? c.figures?.comprehensivenessCurve != nil : c.figures?.deletionCurve != nil
            if raw && c.name == "random" && !defined { continue }  // the floor has no paper curve
            let status = c.figures == nil ? (report?.failure != nil ? " failed" : " …") : (defined ? "" : " undefined")
            x = frame.put(c.glyph, x: x, y: inner.maxY - 1, role: c.role, limit: inner.maxX)
            x = frame.put(" \(c.name)\(status)  ", x: x, y: inner.maxY - 1, role: .dim, limit: inner.maxX)
        }
        // The raw curves' y range: every curve's lowest and highest logit (1 logit at least).
        let rawValues = curves.compactMap { $0.figures?.comprehensivenessCurve }.joined()
        var low = rawValues.min() ?? 0, high = rawValues.max() ?? 1
        if high - low < 1 { (low, high) = ((low + high) / 2 - 0.5, (low + high) / 2 + 0.5) }
        // Axes: top and bottom labels ("1┤"/"0┤", or the logits), the x axis below.
        let labels = raw ? [Self.number(high), Self.number(low)] : ["1", "0"]
        let labelWidth = labels.map(TextWidth.of).max()!
        let plotX = inner.x + labelWidth + 1, plotWidth = inner.width - labelWidth - 2
        let plotTop = inner.y, plotHeight = inner.height - 2
        guard plotWidth >= 4, plotHeight >= 2 else { return }
        for row in 0..<plotHeight {
            let label = row == 0 ? labels[0] : (row == plotHeight - 1 ? labels[1] : "")
            let padded = String(repeating: " ", count: labelWidth - TextWidth.of(label)) + label
            frame.put(padded + "┤", x: inner.x, y: plotTop + row, role: .dim)
        }
        let axisY = plotTop + plotHeight
        frame.put(String(repeating: " ", count: labelWidth) + "└" + String(repeating: "─", count: plotWidth),
                  x: inner.x, y: axisY, role: .dim, limit: inner.maxX)
        let longest = curves.compactMap { $0.figures?.comprehensivenessCurve?.count }.max() ?? 1
        let right = raw ? "\(longest - 1) replaced" : "100% removed"
        frame.put("0", x: plotX, y: axisY, role: .dim)
        if plotWidth > TextWidth.of(right) + 2 {
            frame.put(right, x: plotX + plotWidth - TextWidth.of(right), y: axisY, role: .dim)
        }
        if normalisedUndefined && !raw, let reason = curves.compactMap({ $0.figures?.areasUndefinedReason }).first {
            let text = Layout.fit("curves undefined: \(reason)", width: plotWidth - 2)
            frame.put(text, x: plotX + max(0, (plotWidth - TextWidth.of(text)) / 2), y: plotTop + plotHeight / 2, role: .dim)
            return
        }
        // Braille: 2 × 4 dots per cell. Later (lower-priority) curves never overwrite a cell's role.
        let dotsWide = plotWidth * 2, dotsHigh = plotHeight * 4
        var cells = [[UInt8]](repeating: [UInt8](repeating: 0, count: plotWidth), count: plotHeight)
        var roles = [[Role?]](repeating: [Role?](repeating: nil, count: plotWidth), count: plotHeight)
        let bits: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]
        for c in curves {
            guard let f = c.figures else { continue }
            // y in 0…1 at each dot column: the normalised curve, or the raw logits scaled to the axis.
            let sampled: [Double]?
            if raw {
                sampled = f.comprehensivenessCurve.flatMap { y in
                    Self.sample(y, at: y.indices.map { Double($0) / Double(max(1, longest - 1)) }, count: dotsWide,
                                upTo: Double(y.count - 1) / Double(max(1, longest - 1)))
                }.map { $0.map { ($0 - low) / (high - low) } }
            } else {
                sampled = Self.sample(f, count: dotsWide)
            }
            guard let ys = sampled else { continue }
            var previous: Int?
            for (dx, y) in ys.enumerated() {
                let dy = Int(((1 - min(max(y, 0), 1)) * Double(dotsHigh - 1)).rounded())
                let from = previous.map { min($0, dy) } ?? dy, to = previous.map { max($0, dy) } ?? dy
                for r in from...to {
                    let cx = dx / 2, cy = r / 4
                    cells[cy][cx] |= bits[dx % 2][r % 4]
                    if roles[cy][cx] == nil { roles[cy][cx] = c.role }
                }
                previous = dy
            }
        }
        for cy in 0..<plotHeight {
            for cx in 0..<plotWidth where cells[cy][cx] != 0 {
                let glyph = String(Character(Unicode.Scalar(0x2800 + UInt32(cells[cy][cx]))!))
                frame.put(glyph, x: plotX + cx, y: plotTop + cy, role: roles[cy][cx] ?? .text)
            }
        }
    }

    /// A short legend name: "GIM", "plain", "attnlrp", "IG".
    static func curveName(_ m: AttributionMethod) -> String {
        switch m.name {
        case "gim": return "GIM"
        case "integrated-gradients": return "IG"
        default: return m.name
        }
    }

    /// The deletion curve linearly interpolated at `count` evenly spaced fractions 0…1.
    static func sample(_ f: PaneFaithfulness, count: Int) -> [Double]? {
        guard let y = f.deletionCurve, y.count == f.deletionFractions.count else { return nil }
        return sample(y, at: f.deletionFractions, count: count, upTo: 1)
    }

    /// y (at increasing x in 0…1) linearly interpolated at `count` evenly spaced x from 0 to 1,
    /// stopping after `upTo` (a curve shorter than the axis ends where its data ends).
    static func sample(_ y: [Double], at x: [Double], count: Int, upTo end: Double) -> [Double]? {
        guard !y.isEmpty, y.count == x.count, count > 1 else { return nil }
        return (0..<count).compactMap { j -> Double? in
            let v = Double(j) / Double(count - 1)
            guard v <= end + 1e-9 else { return nil }
            var i = 1
            while i < x.count - 1 && x[i] < v { i += 1 }
            guard x.count > 1, x[i] > x[i - 1] else { return y[0] }
            return y[i - 1] + (y[i] - y[i - 1]) * (v - x[i - 1]) / (x[i] - x[i - 1])
        }
    }
}
