/// The key table (htop style): every binding in one list, which the reducer, the footer, the
/// help overlay and the README all read, so they cannot disagree.
///
/// Editing and commanding never fight over a key: in the prompt every printable key is text and
/// the knobs live on function keys and Alt combinations; Tab or Esc switches to command mode,
/// where letters are commands.
public enum KeyMap {
    public enum Context: Sendable {
        /// Any mode (function keys, Ctrl combinations).
        case everywhere
        /// Typing the prompt.
        case edit
        /// Command mode.
        case command
        /// Typing a target or foil token.
        case entry
        /// Command mode while the circuit view is shown (looked up before `.command`).
        case circuit
    }

    public struct Binding: Sendable {
        public let keys: [Key]
        public let action: Action
        public let context: Context
        /// Help text: which keys (as written in the overlay) and what they do; nil for a key
        /// already described by a neighbour (the upper-case twin of a knob key).
        public let help: (keys: String, text: String)?
        public let group: String
    }

    private static func bind(_ keys: [Key], _ action: Action, _ context: Context, _ group: String,
                             _ help: (String, String)? = nil) -> Binding {
        Binding(keys: keys, action: action, context: context, help: help.map { (keys: $0.0, text: $0.1) }, group: group)
    }

    public static let bindings: [Binding] = [
        // Everywhere.
        bind([.function(1)], .toggleHelp, .everywhere, "General", ("F1 ?", "this help")),
        bind([.function(10), .ctrl("c"), .ctrl("q")], .quit, .everywhere, "General", ("F10 ^C ^Q", "quit")),
        bind([.function(2)], .cycleView, .everywhere, "General", ("F2 d", "heat / diff / table")),
        bind([.function(7)], .generation(.generate(sampled: false)), .everywhere, "General"),
        bind([.function(8)], .circuit(.toggleView), .everywhere, "General"),
        bind([.function(3)], .cycleTheme, .everywhere, "General", ("F3 s", "next colour theme")),
        bind([.function(5)], .rerun, .everywhere, "General", ("F5 Space", "attribute again")),
        bind([.function(6)], .export, .everywhere, "General", ("F6 e", "export JSON + HTML")),
        bind([.pageUp], .scroll(-5), .everywhere, "General", ("PgUp PgDn", "scroll panes, table")),
        bind([.pageDown], .scroll(5), .everywhere, "General"),
        bind([.ctrl("l")], .redraw, .everywhere, "General", ("^L", "repaint")),

        // Typing the prompt.
        bind([.enter], .submit, .edit, "Prompt", ("Enter", "attribute now")),
        bind([.tab, .escape], .toggleMode, .edit, "Prompt", ("Tab Esc", "command mode")),
        bind([.left, .ctrl("b")], .cursorLeft, .edit, "Prompt", ("← → Home End", "move (^B ^F ^A ^E)")),
        bind([.right, .ctrl("f")], .cursorRight, .edit, "Prompt"),
        bind([.home, .ctrl("a")], .cursorHome, .edit, "Prompt"),
        bind([.end, .ctrl("e")], .cursorEnd, .edit, "Prompt"),
        bind([.backspace], .deleteBackward, .edit, "Prompt", ("Backspace Del", "delete (^D)")),
        bind([.delete, .ctrl("d")], .deleteForward, .edit, "Prompt"),
        bind([.ctrl("w")], .deleteWordBackward, .edit, "Prompt", ("^W ^U ^K", "cut word/start/end")),
        bind([.ctrl("u")], .killToStart, .edit, "Prompt"),
        bind([.ctrl("k")], .killToEnd, .edit, "Prompt"),
        bind([.ctrl("t")], .insert(String(ExplorerState.continuationSeparator)), .edit, "Prompt",
             ("^T", "⏎: a continuation to score follows")),
        bind([.up], .historyPrevious, .edit, "Prompt", ("↑ ↓", "prompt history")),
        bind([.down], .historyNext, .edit, "Prompt"),

        // Command mode: knobs.
        bind([.char("f")], .step(.freezeNorm, 1), .command, "Knobs", ("f", "freeze_norm on/off")),
        bind([.char("t")], .step(.temperature, -1), .command, "Knobs", ("t T", "temperature − / +")),
        bind([.char("T")], .step(.temperature, 1), .command, "Knobs"),
        bind([.char("q")], .step(.q, -1), .command, "Knobs", ("q Q k K v V", "q, k, v scales − / +")),
        bind([.char("Q")], .step(.q, 1), .command, "Knobs"),
        bind([.char("k")], .step(.k, -1), .command, "Knobs"),
        bind([.char("K")], .step(.k, 1), .command, "Knobs"),
        bind([.char("v")], .step(.v, -1), .command, "Knobs"),
        bind([.char("V")], .step(.v, 1), .command, "Knobs"),
        bind([.char("g")], .step(.gate, -1), .command, "Knobs", ("g G u U", "gate, up scales − / +")),
        bind([.char("G")], .step(.gate, 1), .command, "Knobs"),
        bind([.char("u")], .step(.up, -1), .command, "Knobs"),
        bind([.char("U")], .step(.up, 1), .command, "Knobs"),
        bind([.char("r")], .resetKnobs, .command, "Knobs", ("r", "reset to defaults")),
        bind([.char("0")], .allKnobsOff, .command, "Knobs", ("0", "all off (= plain)")),
        bind([.char("1")], .preset014, .command, "Knobs", ("1", "gim-explain 0.1.4")),

        // Command mode: panes and their methods (issue 15).
        bind([.char("o")], .pane(.cycleMethod(1)), .command, "Panes", ("o O", "focused pane's method → / ←")),
        bind([.char("O")], .pane(.cycleMethod(-1)), .command, "Panes"),
        bind([.char("j")], .pane(.focus(1)), .command, "Panes", ("j J", "focus next / previous pane")),
        bind([.char("J")], .pane(.focus(-1)), .command, "Panes"),
        bind([.char("+"), .char("=")], .pane(.add), .command, "Panes", ("+ = -", "add a pane / close focused")),
        bind([.char("-")], .pane(.remove), .command, "Panes"),
        bind([.char("D")], .pane(.cycleSubtrahend), .command, "Panes", ("D", "difference: focused − next")),
        bind([.char("b")], .pane(.toggleBaseline), .command, "Panes", ("b", "baseline token / zero")),
        bind([.char("I")], .pane(.toggleActivationRule), .command, "Panes", ("I", "activation rule grad/identity")),
        bind([.char("h")], .pane(.steps(-1)), .command, "Panes", ("h H", "IG steps ÷2 / ×2")),
        bind([.char("H")], .pane(.steps(1)), .command, "Panes"),

        // Command mode: what is explained.
        bind([.up], .selectPrediction(-1), .command, "Target", ("↑ ↓ Enter", "pick from the list")),
        bind([.down], .selectPrediction(1), .command, "Target"),
        bind([.enter], .targetSelected, .command, "Target"),
        bind([.char("a")], .targetArgmax, .command, "Target", ("a", "most likely token")),
        bind([.char("c")], .toggleFoil, .command, "Target", ("c", "foil = selected / off")),
        bind([.char("/")], .beginEntry(.target), .command, "Target", ("/ \\", "type target / foil")),
        bind([.char("\\")], .beginEntry(.foil), .command, "Target"),
        bind([.left, .char("[")], .moveTarget(-1), .command, "Target", ("← → [ ]", "target position")),
        bind([.right, .char("]")], .moveTarget(1), .command, "Target"),
        bind([.home], .targetFirst, .command, "Target", ("Home End $", "first / last position")),
        bind([.end, .char("$")], .targetLast, .command, "Target"),

        // Command mode: view and modes.
        bind([.char("d")], .cycleView, .command, "View"),
        bind([.char("s")], .cycleTheme, .command, "View"),
        bind([.char("e")], .export, .command, "View"),
        bind([.char("p")], .togglePlot, .command, "View", ("p", "deletion-curve plot")),
        bind([.char("?")], .toggleHelp, .command, "View"),
        bind([.tab, .escape, .char("i")], .toggleMode, .command, "View", ("Tab Esc i", "back to the prompt")),
        bind([.char(" ")], .rerun, .command, "View"),

        // Command mode: continuations, words, chat (issue 16).
        bind([.char("n")], .generation(.generate(sampled: false)), .command, "Continuation",
             ("n F7", "generate (greedy) / stop")),
        bind([.char("N")], .generation(.generate(sampled: true)), .command, "Continuation", ("N", "sample (next seed)")),
        bind([.char("<"), .char(",")], .generation(.move(-1)), .command, "Continuation", ("< > , .", "walk generated tokens")),
        bind([.char(">"), .char(".")], .generation(.move(1)), .command, "Continuation"),
        bind([.char("l")], .generation(.length(-1)), .command, "Continuation", ("l L", "length limit − / +")),
        bind([.char("L")], .generation(.length(1)), .command, "Continuation"),
        bind([.char("x")], .generation(.toggleMatrix), .command, "Continuation", ("x", "matrix view")),
        bind([.char("w")], .generation(.toggleWords), .command, "Continuation", ("w W", "words / sum↔max|a|")),
        bind([.char("W")], .generation(.toggleWordReduction), .command, "Continuation"),
        bind([.char("m")], .generation(.toggleChat), .command, "Continuation", ("m M", "chat mode / system")),
        bind([.char("M")], .beginEntry(.system), .command, "Continuation"),
        bind([.char("Z")], .generation(.toggleMaskSpecial), .command, "Continuation", ("Z", "mask special tokens")),

        // Command mode: the circuit view (components against a counterfactual, issue 17). `x` is the
        // continuation matrix, so the circuit view is `X`; its mean-over-positions key `M` is scoped
        // to the view (outside it, `M` types chat mode's system prompt).
        bind([.char("X")], .circuit(.toggleView), .command, "Circuits", ("X F8", "circuit view on/off")),
        bind([.char("C")], .beginEntry(.corrupt), .command, "Circuits", ("C", "type the corrupted prompt")),
        bind([.char("M")], .circuit(.toggleMean), .circuit, "Circuits", ("M", "mean counterfactual (in view)")),
        bind([.up], .circuit(.move(rows: -1, layers: 0)), .circuit, "Circuits", ("← ↑ ↓ →", "move the cell cursor")),
        bind([.down], .circuit(.move(rows: 1, layers: 0)), .circuit, "Circuits"),
        bind([.left], .circuit(.move(rows: 0, layers: -1)), .circuit, "Circuits"),
        bind([.right], .circuit(.move(rows: 0, layers: 1)), .circuit, "Circuits"),
        bind([.pageUp], .circuit(.jump(-1)), .circuit, "Circuits", ("PgUp PgDn", "previous / next map")),
        bind([.pageDown], .circuit(.jump(1)), .circuit, "Circuits"),

        // Entering a token.
        bind([.enter], .commitEntry, .entry, "Token entry", ("Enter", "use it (#123 = id)")),
        bind([.escape, .tab], .cancelEntry, .entry, "Token entry", ("Esc", "cancel")),
        bind([.left], .cursorLeft, .entry, "Token entry"),
        bind([.right], .cursorRight, .entry, "Token entry"),
        bind([.home, .ctrl("a")], .cursorHome, .entry, "Token entry"),
        bind([.end, .ctrl("e")], .cursorEnd, .entry, "Token entry"),
        bind([.backspace], .deleteBackward, .entry, "Token entry"),
        bind([.delete, .ctrl("d")], .deleteForward, .entry, "Token entry"),
        bind([.ctrl("u")], .killToStart, .entry, "Token entry"),
    ]

    /// The action of a key in a mode, or nil when the key does nothing there. With the circuit
    /// view shown, command mode's arrows move its cell cursor (`[ ]` still move the position).
    public static func action(for key: Key, in mode: ExplorerState.Mode, circuit: Bool = false) -> Action? {
        let context: Context
        switch mode {
        case .edit: context = .edit
        case .command: context = .command
        case .entry: context = .entry
        }
        if circuit && context == .command, let b = bindings.first(where: { $0.context == .circuit && $0.keys.contains(key) }) {
            return b.action
        }
        if let b = bindings.first(where: { $0.context == context && $0.keys.contains(key) }) { return b.action }
        // While typing text, printable keys and pastes are text: they never reach the command table.
        switch (context, key) {
        case (.edit, .char(let c)), (.entry, .char(let c)): return .insert(String(c))
        case (.edit, .paste(let s)), (.entry, .paste(let s)): return .insert(s)
        // Alt-key in the prompt runs the command-mode key (Alt-t lowers the temperature).
        case (.edit, .alt(let c)): return bindings.first { $0.context == .command && $0.keys.contains(.char(c)) }?.action
        default: break
        }
        return bindings.first { $0.context == .everywhere && $0.keys.contains(key) }?.action
    }

    /// The footer's hints for a mode, most important first (the footer shows what fits).
    public static func footer(for mode: ExplorerState.Mode, help: Bool, circuit: Bool = false) -> [(key: String, text: String)] {
        if help { return [("any key", "closes help"), ("F10", "quit")] }
        if circuit && mode == .command {
            return [("Tab", "prompt"), ("←↑↓→", "cell"), ("PgUp/Dn", "map"), ("C", "corrupt"), ("M", "mean"),
                    ("X", "close"), ("f t/T q/Q k/K v/V g/G u/U", "knobs"), ("[ ]", "position"), ("e", "export"),
                    ("?", "help"), ("F10", "quit")]
        }
        switch mode {
        case .edit:
            return [("Enter", "attribute"), ("Tab", "commands"), ("Alt-key", "command"), ("↑↓", "history"),
                    ("F2", "view"), ("F6", "export"), ("F1", "help"), ("F10", "quit")]
        case .command:
            return [("Tab", "prompt"), ("f", "norm"), ("t/T", "temp"), ("q/Q k/K v/V", "qkv"), ("g/G u/U", "gate up"),
                    ("r", "reset"), ("0", "off"), ("o", "method"), ("j", "pane"), ("↑↓⏎", "target"), ("←→", "position"), ("c", "foil"),
                    ("d", "view"), ("p", "plot"), ("e", "export"), ("n", "generate"), ("<>", "walk"), ("x", "matrix"),
                    ("w", "words"), ("m", "chat"), ("X", "circuits"), ("?", "help"), ("F10", "quit")]
        case .entry(.corrupt):
            return [("Enter", "use it"), ("Esc", "cancel")]
        case .entry:
            return [("Enter", "use token"), ("#id", "by id"), ("Esc", "cancel")]
        }
    }

    /// Help overlay rows grouped by section, in table order.
    public static var helpSections: [(title: String, rows: [(keys: String, text: String)])] {
        var sections: [(title: String, rows: [(keys: String, text: String)])] = []
        for b in bindings {
            guard let h = b.help else { continue }
            if let i = sections.firstIndex(where: { $0.title == b.group }) {
                sections[i].rows.append(h)
            } else {
                sections.append((b.group, [h]))
            }
        }
        // Letters double as commands (F2 or d…): the General rows name both.
        if let i = sections.firstIndex(where: { $0.title == "Prompt" }) {
            sections[i].rows.append(("letters", "typed; Alt-key = cmd"))
        }
        return sections
    }
}
