import Foundation
import GIMEngine

/// The whole screen as a pure function of the state and the terminal size: no clocks, no
/// environment, no terminal. Snapshot tests compare its text; the ncurses surface draws it.
///
///     row 0        title bar: model, mode, timing of the last attribution
///     row 1        the prompt
///     row 2        GIM's knobs
///     row 3        what is explained (target, foil, position, logit)
///     rows 4…h-3   panes (GIM | plain, or difference, or table) and the prediction list
///     row h-2      message line (or the token entry line)
///     row h-1      key hints
public func render(_ state: ExplorerState, width: Int, height: Int) -> Frame {
    var r = Renderer(state: state, frame: Frame(width: width, height: height))
    if width < Layout.minimumWidth || height < Layout.minimumHeight {
        r.tooSmall()
    } else {
        r.screen()
    }
    return r.frame
}

struct Renderer {
    let state: ExplorerState
    var frame: Frame

    var width: Int { frame.width }
    var height: Int { frame.height }

    // MARK: Too small

    mutating func tooSmall() {
        let lines = ["Terminal too small", "need \(Layout.minimumWidth)×\(Layout.minimumHeight), have \(width)×\(height)",
                     "enlarge it, or F10 to quit"]
        let top = max(0, (height - lines.count) / 2)
        for (i, line) in lines.enumerated() where top + i < height {
            let text = Layout.fit(line, width: width)
            let x = max(0, (width - TextWidth.of(text)) / 2)
            frame.put(text, x: x, y: top + i, role: i == 0 ? .warning : .dim, attributes: i == 0 ? .bold : [])
        }
    }

    // MARK: The screen

    mutating func screen() {
        titleBar()
        promptLine()
        knobLine()
        targetLine()
        mainArea(Rect(x: 0, y: 4, width: width, height: height - 6))
        messageLine()
        footer()
        if state.showHelp {
            frame.cursor = nil
            helpOverlay()
        }
    }

    static let spinner = Array("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

    mutating func titleBar() {
        frame.fill(Rect(x: 0, y: 0, width: width, height: 1), role: .title)
        let mode: String
        switch state.mode {
        case .edit: mode = "EDIT"
        case .command: mode = "COMMAND"
        case .entry: mode = "TOKEN"
        }
        let model: String
        switch state.model {
        case .loading: model = "loading model…"
        case .ready(let name): model = name
        case .failed: model = "model failed to load"
        }
        var right = ""
        if state.isComputing || state.circuit.isComputing {
            right = "\(Self.spinner[state.spinnerPhase % Self.spinner.count]) computing…"
        } else if case .loading = state.model {
            right = "\(Self.spinner[state.spinnerPhase % Self.spinner.count]) loading"
        } else if let r = state.result {
            right = Self.timing(r)
            // On a narrow screen the model name matters more than the full breakdown.
            if TextWidth.of(right) + 40 > width, let first = r.panes.first {
                right = "\(Self.curveName(first.method)) " + (first.milliseconds.map { String(format: "%.0f ms", $0) } ?? "cached")
            }
        }
        let left = " GIM Explorer │ \(mode) │ "
        let rightWidth = min(TextWidth.of(right), max(0, width - TextWidth.of(left) - 2))
        frame.put(left, x: 0, y: 0, role: .title, attributes: .bold)
        let modelRoom = width - TextWidth.of(left) - rightWidth - 2
        frame.put(Layout.fit(model, width: modelRoom), x: TextWidth.of(left), y: 0, role: .title)
        if rightWidth > 0 {
            frame.put(Layout.fit(right, width: rightWidth) + " ", x: width - rightWidth - 1, y: 0, role: .title)
        }
    }

    /// "GIM 58 ms · plain 61 ms · forward 95 ms", saying what was reused.
    static func timing(_ r: AnalysisResult) -> String {
        func ms(_ v: Double) -> String { v < 10 ? String(format: "%.1f ms", v) : String(format: "%.0f ms", v) }
        var parts = r.panes.map { p in "\(curveName(p.method)) " + (p.milliseconds.map(ms) ?? "cached") }
        parts.append(r.forwardMilliseconds.map { "forward \(ms($0))" } ?? "forward kept")
        return parts.joined(separator: " · ")
    }

    mutating func promptLine() {
        let y = 1
        frame.put("›", x: 0, y: y, role: .accent, attributes: .bold)
        let editor = state.editor
        let hint = state.hasUncommittedEdit && !state.editor.text.isEmpty
            ? (state.debounceMilliseconds > 0 ? " ⏎/pause" : " ⏎") : ""
        let room = width - 3 - TextWidth.of(hint)
        let (text, cursorX) = Self.window(editor.text, cursor: editor.cursor, width: room)
        if editor.text.isEmpty {
            frame.put(state.mode == .edit ? "type a prompt, Enter to attribute" : "(empty prompt: Tab to type one)",
                      x: 2, y: y, role: .dim)
        } else {
            frame.put(text, x: 2, y: y, role: .text, limit: 2 + room)
        }
        if !hint.isEmpty { frame.put(hint, x: width - TextWidth.of(hint) - 1, y: y, role: .dim) }
        if state.mode == .edit { frame.cursor = (2 + cursorX, y) }
    }

    /// The part of a long line shown so that the cursor stays visible, and the cursor's column
    /// in it. Graphemes are sanitized one by one so the cursor index still lines up.
    static func window(_ text: String, cursor: Int, width: Int) -> (String, Int) {
        let graphemes = text.map { Sanitizer.visible($0) }
        let widths = graphemes.map { TextWidth.of($0) }
        let room = max(1, width - 1)  // one column for the cursor after the last character
        var start = 0
        var before = widths.prefix(cursor).reduce(0, +)
        if before > room {
            // Scrolled: a leading "…" takes one column.
            while start < cursor && 1 + before > room {
                before -= widths[start]
                start += 1
            }
        }
        var shown = start > 0 ? "…" : ""
        var used = start > 0 ? 1 : 0
        let cursorX = used + before
        for i in start..<graphemes.count {
            if used + widths[i] > width { break }
            shown += graphemes[i]
            used += widths[i]
        }
        return (shown, cursorX)
    }

    /// The focused pane's knobs: GIM's seven for the backward methods (changed ones highlighted
    /// against the method's own preset), IG's steps and baseline, occlusion's baseline.
    mutating func knobLine() {
        let y = 2
        let pane = state.panes.focused
        let m = pane.method
        let preset = pane.preset.settings
        // Whose knobs: the focused pane's method ("GIM knobs", "attnlrp knobs").
        let owner = Self.curveName(m) + " "
        guard m.kind == .backward else {
            var items: [(String, String, Bool)] = []
            if m.kind == .integratedGradients {
                items.append(("steps", String(m.steps), m.steps != pane.preset.steps))
            }
            if m.kind != .random {
                items.append(("baseline", m.settings.inputBaseline == .token ? "token" : "zero",
                              m.settings.inputBaseline != preset.inputBaseline))
            } else {
                items.append(("seed", String(m.seed), false))
            }
            var x = frame.put(owner + "knobs", x: 0, y: y, role: .dim) + 2
            for (label, value, changed) in items {
                x = frame.put(label + " ", x: x, y: y, role: .dim)
                x = frame.put(value, x: x, y: y, role: changed ? .accent : .text, attributes: changed ? .bold : []) + 2
            }
            let hint = m.kind == .integratedGradients ? "(h H steps · b baseline)" : (m.kind == .occlusion ? "(b baseline)" : "(no knobs)")
            frame.put(hint, x: x, y: y, role: .dim, limit: width)
            return
        }
        let s = m.settings
        let head = owner + (s.isPlain && !preset.isPlain ? "knobs (all off)" : (s == preset ? "knobs" : "knobs (changed)"))
        // Three spellings, from the most explicit to one that fits 40 columns.
        let short = ["fn", "T", "q", "k", "v", "g", "u"]
        // The activation rule and the input baseline show when they differ from GIM's.
        var extra: [(String, String, String, Bool)] = []
        if s.activationRule != .gradient || preset.activationRule != .gradient {
            extra.append(("rule", "r", s.activationRule.rawValue, s.activationRule != preset.activationRule))
        }
        if s.inputBaseline != .token || preset.inputBaseline != .token {
            extra.append(("baseline", "b", s.inputBaseline == .token ? "token" : "zero", s.inputBaseline != preset.inputBaseline))
        }
        for level in 0..<3 {
            var items = Knob.allCases.enumerated().map { i, k -> (String, String, Bool) in
                let label = level == 0 ? k.label : (level == 1 ? (k == .freezeNorm ? "norm" : k.label) : short[i])
                var value = k.formatted(s)
                if level == 2 && value.hasPrefix("0.") { value.removeFirst() }
                return (label, value, k.value(in: s) != k.value(in: preset))
            }
            items += extra.map { (level == 2 ? $0.1 : $0.0, level == 2 ? String($0.2.prefix(2)) : $0.2, $0.3) }
            let gap = level == 2 ? 1 : 2
            let total = (level == 0 ? TextWidth.of(head) + 2 : 0)
                + items.reduce(0) { $0 + TextWidth.of($1.0) + 1 + TextWidth.of($1.1) + gap }
            if total > width && level < 2 { continue }
            var x = level == 0 ? frame.put(head, x: 0, y: y, role: .dim) + 2 : 0
            for (label, value, changed) in items {
                x = frame.put(label + " ", x: x, y: y, role: .dim)
                x = frame.put(value, x: x, y: y, role: changed ? .accent : .text, attributes: changed ? .bold : []) + gap
            }
            break
        }
    }

    mutating func targetLine() {
        let y = 3
        guard let r = state.result, state.failure == nil else {
            var what = "explains "
            switch state.target {
            case .argmax: what += "the most likely next token"
            case .id(let id): what += "token #\(id)"
            case .text(let t): what += quoted(t)
            }
            frame.put(Layout.fit(what, width: width), x: 0, y: y, role: .dim)
            return
        }
        let g = state.generation
        if g.isRunning {
            let spin = Self.spinner[state.spinnerPhase % Self.spinner.count]
            let line = "\(spin) generating \(g.tokens.count)/\(g.options.maxTokens) (\(g.options.summary)) · Esc stops"
            frame.put(Layout.fit(line, width: width), x: 0, y: y, role: .accent)
            return
        }
        var x = 0
        if let start = r.continuationStart, r.targetPosition + 1 >= start, let j = g.selected {
            let what = g.forcedText == nil ? "generated" : "given"
            x = frame.put("\(what) \(j + 1)/\(g.tokens.count) ", x: x, y: y, role: .accent)
        }
        x = frame.put("explains ", x: x, y: y, role: .dim)
        x = frame.put(quoted(r.targetText), x: x, y: y, role: .accent, attributes: .bold)
        x = frame.put(String(format: " %.1f%%", r.targetProbability * 100), x: x, y: y, role: .dim)
        if let foil = r.foilText {
            x = frame.put(" − ", x: x, y: y, role: .text)
            x = frame.put(quoted(foil), x: x, y: y, role: .accent)
            x = frame.put(String(format: " %.1f%%", (r.foilProbability ?? 0) * 100), x: x, y: y, role: .dim)
        }
        let at = r.targetPosition < r.tokenTexts.count ? quoted(r.tokenTexts[r.targetPosition]) : "?"
        x = frame.put("  after \(at) @\(r.targetPosition)", x: x, y: y, role: .text)
        x = frame.put("  \(r.foilID == nil ? "logit" : "logit diff") \(HeatScale.format(r.targetLogit))", x: x, y: y, role: .dim)
        if state.target == .argmax && (r.continuationStart == nil || state.generation.selected == nil) {
            frame.put("  (most likely)", x: x, y: y, role: .dim)
        }
    }

    func quoted(_ s: String) -> String { "\"" + Sanitizer.visible(s) + "\"" }

    // MARK: Message and footer

    mutating func messageLine() {
        let y = height - 2
        if case .entry(let purpose) = state.mode {
            let label: String
            var hint: String
            switch purpose {
            case .target: (label, hint) = ("target token› ", "  (#123 = id · Enter · Esc)")
            case .foil: (label, hint) = ("foil token› ", "  (#123 = id · Enter · Esc)")
            case .corrupt: (label, hint) = ("corrupted prompt› ", "  (same token count · Enter · Esc)")
            case .system: (label, hint) = ("system prompt› ", "  (empty = default · Enter · Esc)")
            }
            let x = frame.put(label, x: 0, y: y, role: .accent, attributes: .bold)
            // On a narrow screen the text being typed matters more than the hint.
            if width - x - TextWidth.of(hint) - 1 < 12 { hint = "" }
            let room = width - x - TextWidth.of(hint) - 1
            let (text, cursorX) = Self.window(state.entry.text, cursor: state.entry.cursor, width: room)
            frame.put(text, x: x, y: y, role: .text, limit: x + room)
            frame.put(hint, x: width - TextWidth.of(hint) - 1, y: y, role: .dim)
            frame.cursor = (x + cursorX, y)
            return
        }
        if let m = state.message {
            frame.put(Layout.fit(m.text, width: width - 1), x: 0, y: y, role: m.isError ? .warning : .accent,
                      attributes: m.isError ? .bold : [])
            return
        }
        let depth: String
        switch state.colorDepth {
        case .truecolor: depth = "truecolour"
        case .ansi256: depth = "256 colours"
        case .ansi8: depth = "8 colours"
        case .mono: depth = "monochrome"
        }
        var modes = ""
        if state.chat.enabled { modes += " · chat \(state.chat.family ?? "")" }
        if state.display.words { modes += " · words (\(state.display.reduction.rawValue))" }
        if state.display.maskSpecial { modes += " · special masked" }
        if !state.generation.tokens.isEmpty && !state.generation.isRunning {
            modes += " · " + (state.generation.forcedText == nil ? state.generation.options.summary : "given continuation")
        }
        let shown = state.circuit.isShown ? "circuits" : (state.generation.showMatrix ? "matrix" : state.view.title)
        let status = "view \(shown)\(modes) · theme \(state.themeName) · \(depth) · ? or F1 for help"
        frame.put(Layout.fit(status, width: width - 1), x: 0, y: y, role: .dim)
    }

    mutating func footer() {
        let y = height - 1
        let items = KeyMap.footer(for: state.mode, help: state.showHelp, circuit: state.circuit.isShown)
        func need(_ item: (key: String, text: String)) -> Int { TextWidth.of(item.key) + TextWidth.of(item.text) + 3 }
        // The last two hints (help and quit) always show; the others fill the room before them.
        let pinned = Array(items.suffix(2))
        let pinnedWidth = pinned.reduce(0) { $0 + need($1) }
        var shown: [(key: String, text: String)] = []
        var used = 0
        for item in items.dropLast(2) where used + need(item) + pinnedWidth <= width {
            shown.append(item)
            used += need(item)
        }
        var x = 0
        for (key, text) in shown + pinned where x + TextWidth.of(key) + TextWidth.of(text) + 3 <= width {
            x = frame.put(" \(key) ", x: x, y: y, role: .key)
            x = frame.put(text, x: x, y: y, role: .dim) + 1
        }
    }
}
