import ArgumentParser
import Foundation
import GIMEngine
import GIMExplorer

/// `gim explore`: the interactive terminal explorer (the default command).
struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Type a prompt and watch which tokens drive the next-token prediction: GIM beside the plain gradient, knobs tuned live.",
        discussion: """
        Letters typed go into the prompt; Enter (or a pause in typing) attributes it. Tab or Esc switches to \
        command mode, where letters turn GIM's knobs (f, t/T, q/Q, k/K, v/V, g/G, u/U), pick the target \
        (↑ ↓ Enter, c for a contrastive foil, ← → for the position) and change the view (d), theme (s) or \
        export (e). Alt-key runs a command key while typing. F1 lists every key; F10 or Ctrl-C quits.
        Themes: themes/*.toml and ~/.config/gim/themes/*.toml ($XDG_CONFIG_HOME respected).
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Colour theme: dark, light, colorblind, a theme in ~/.config/gim/themes, or a path to a .toml file.")
    var theme: String?

    @Option(name: .shortAndLong, help: "A prompt to start with (attributed as soon as the model is loaded).")
    var prompt: String?

    @Option(name: .customLong("debounce-ms"), parsing: .unconditional, help: "Attribute the prompt after this pause in typing, in milliseconds (0: only Enter).")
    var debounceMs = 400

    @Option(help: "Colours: auto, truecolor, 256, 8 or mono (NO_COLOR=1 also means mono).")
    var colors = "auto"

    @Option(name: .customLong("export-dir"), help: "Where the export key writes JSON and HTML files (default: the current directory).")
    var exportDir: String?

    @Option(name: .customLong("panes"), help: ArgumentHelp(
        "The panes' methods, comma-separated, 1 to 4 (default gim,plain): gim, gim-0.1.4, plain, attnlrp, cplrp, gim-freeze-only, gim-temperature-only, integrated-gradients (ig), occlusion, random.",
        valueName: "NAME[,NAME…]"))
    var panes: String?

    /// `--panes` as methods (nil = the default two panes).
    func paneMethods() throws -> [AttributionMethod]? {
        guard let panes else { return nil }
        let names = panes.split(separator: ",").map(String.init)
        guard (1...PaneSet.maximumCount).contains(names.count) else {
            throw ValidationError("--panes takes 1 to \(PaneSet.maximumCount) methods, got \(names.count)")
        }
        do {
            return try names.map { try AttributionMethod.named($0) }
        } catch {
            throw ValidationError("--panes: \(error)")
        }
    }

    func validate() throws {
        guard (0...60_000).contains(debounceMs) else {
            throw ValidationError("--debounce-ms must be between 0 and 60000 (0 = attribute only on Enter)")
        }
        guard colors == "auto" || ColorDepth(rawValue: colors) != nil else {
            throw ValidationError("--colors must be auto, truecolor, 256, 8 or mono")
        }
        if let prompt, prompt.count > PromptEditor.maxCharacters {
            throw ValidationError("--prompt is longer than \(PromptEditor.maxCharacters) characters")
        }
        _ = try paneMethods()
    }

    func run() throws {
        let options = ExplorerOptions(
            modelPath: try modelOptions.resolvedPath(), theme: theme, prompt: prompt,
            debounceMilliseconds: debounceMs, colors: ColorDepth(rawValue: colors),
            exportDirectory: exportDir ?? FileManager.default.currentDirectoryPath, methods: try paneMethods())
        let status = try ExplorerApp.run(options)
        // The terminal is restored by now. Leave at once with _exit: the attribution worker may
        // still be inside a long OpenBLAS call (it is given 3 s to stop), and exit()'s library
        // destructors (OpenBLAS shuts its thread pool down) would race with it.
        flushStandardOutput()
        _exit(status)
    }
}
