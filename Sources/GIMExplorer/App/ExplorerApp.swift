import Foundation
import GIMEngine

/// What `gim explore` was asked for.
public struct ExplorerOptions: Sendable {
    public var modelPath: String
    /// A theme name, or a path to a .toml file.
    public var theme: String?
    public var prompt: String?
    public var debounceMilliseconds: Int
    /// nil = as many colours as the terminal has.
    public var colors: ColorDepth?
    public var exportDirectory: String
    /// Extra theme directories searched after the standard ones (tests use it).
    public var themeDirectories: [String]
    /// The panes' methods at start (nil = GIM and the plain gradient).
    public var methods: [AttributionMethod]?

    public init(modelPath: String, theme: String? = nil, prompt: String? = nil, debounceMilliseconds: Int = 400,
                colors: ColorDepth? = nil, exportDirectory: String = FileManager.default.currentDirectoryPath,
                themeDirectories: [String] = [], methods: [AttributionMethod]? = nil) {
        self.methods = methods
        self.modelPath = modelPath
        self.theme = theme
        self.prompt = prompt
        self.debounceMilliseconds = debounceMilliseconds
        self.colors = colors
        self.exportDirectory = exportDirectory
        self.themeDirectories = themeDirectories
    }
}

/// The UI loop: read keys, feed the reducer, carry out its effects, collect worker results,
/// draw. Everything it calls is either pure (reduce, render) or one of the two side-effect
/// owners (the surface, the worker), so the loop itself stays small.
public enum ExplorerApp {
    /// The longest the loop waits for a key before looking at the worker again. Short enough
    /// that a result appears at once, long enough to cost no CPU.
    static let pollMilliseconds: Int32 = 30
    static let tickSeconds = 0.1

    /// Runs until the user quits. Returns the exit status (128 + signal after SIGTERM/SIGHUP).
    public static func run(_ options: ExplorerOptions) throws -> Int32 {
        var catalog = ThemeCatalog.load(directories: ThemeCatalog.standardDirectories()
                                        + options.themeDirectories.map { URL(fileURLWithPath: $0) })
        let themeIndex = catalog.select(options.theme)

        let worker = AttributionWorker(modelPath: options.modelPath)
        worker.start()  // loading the model overlaps opening the terminal

        let surface = try NcursesSurface(preferred: options.colors)
        defer { surface.close() }

        var state = ExplorerState(modelPath: options.modelPath, prompt: options.prompt,
                                  debounceMilliseconds: options.debounceMilliseconds, themeNames: catalog.names,
                                  themeIndex: themeIndex, colorDepth: surface.depth)
        if let methods = options.methods { state.panes = PaneSet(methods: methods) }
        if !catalog.problems.isEmpty {
            state.message = .init(catalog.problems.joined(separator: " · "), isError: true)
        }
        var decoder = InputDecoder()
        var debounce: (generation: Int, deadline: Date)?
        var lastTick = Date()
        var dirty = true
        var lastSize = (width: -1, height: -1)

        func dispatch(_ event: Event) -> Bool {
            let (next, effects) = reduce(state, event)
            if next != state { dirty = true }
            state = next
            for effect in effects {
                switch effect {
                case .analyze(let request):
                    worker.submit(request)
                case .generate(let request):
                    worker.submit(request)
                case .computeMatrix(let request):
                    worker.submit(request)
                case .stopGeneration:
                    worker.stopGeneration()
                case .analyzeCircuit(let request):
                    worker.submitCircuit(request)
                case .scheduleDebounce(let generation, let ms):
                    debounce = (generation, Date().addingTimeInterval(Double(ms) / 1000))
                case .export:
                    if let done = exportView(state, theme: catalog.themes[state.themeIndex], directory: options.exportDirectory) {
                        _ = dispatch(done)
                    }
                case .redraw:
                    surface.invalidate()
                    dirty = true
                case .quit:
                    return false
                }
            }
            return true
        }

        loop: while true {
            if let sig = TerminalGuard.terminationSignal {
                worker.stop(wait: 3)
                return sig == SIGINT ? 130 : 128 + sig
            }
            let size = surface.size
            if dirty || size != lastSize {
                surface.draw(render(state, width: size.width, height: size.height), theme: catalog.themes[state.themeIndex])
                dirty = false
                lastSize = size
            }

            // Drain every waiting key before drawing again: a paste without bracketed-paste
            // support arrives as hundreds of keys and must not cost hundreds of frames.
            var input = surface.read(timeoutMs: pollMilliseconds)
            for _ in 0..<4096 {
                switch input {
                case .resize:
                    dirty = true
                case .terminal(let raw):
                    for key in decoder.feed(raw) {
                        if !dispatch(.key(key)) { break loop }
                    }
                }
                if input == .terminal(.idle) { break }
                input = surface.read(timeoutMs: 0)
            }

            for event in worker.takeEvents() {
                if !dispatch(event) { break loop }
            }
            if let d = debounce, Date() >= d.deadline {
                debounce = nil
                if !dispatch(.debounceElapsed(generation: d.generation)) { break loop }
            }
            let busy: Bool = {
                if case .loading = state.model { return true }
                return state.isComputing || state.generation.isRunning || state.circuit.isComputing
            }()
            if busy && Date().timeIntervalSince(lastTick) >= tickSeconds {
                lastTick = Date()
                _ = dispatch(.tick)
            }
        }
        worker.stop(wait: 3)
        return 0
    }

    /// Writes the export files; the message for the message line.
    static func exportView(_ state: ExplorerState, theme: Theme, directory: String) -> Event? {
        guard let r = state.result else { return nil }
        var model = ""
        if case .ready(let name) = state.model { model = name }
        do {
            if state.generation.showMatrix {
                guard let paths = try Exporter.writeMatrix(state, result: r, model: model, theme: theme,
                                                           directory: URL(fileURLWithPath: directory)) else {
                    return .notify("the matrix is still being computed: export when every row is there", isError: true)
                }
                return .notify("exported " + paths.joined(separator: " and "), isError: false)
            }
            let pair = Renderer(state: state, frame: Frame(width: 0, height: 0)).differencePair(r)
            let paths = try Exporter.write(r, view: state.view, model: model, theme: theme,
                                           directory: URL(fileURLWithPath: directory), faithfulness: state.faithfulness,
                                           focus: state.panes.focus, difference: pair.1.map { (pair.0, $0) },
                                           reduction: state.display.reduction,
                                           circuit: state.circuit.result == nil ? nil : state.circuit)
            return .notify("exported " + paths.joined(separator: " and "), isError: false)
        } catch {
            return .notify("export failed: \(error.localizedDescription)", isError: true)
        }
    }
}
