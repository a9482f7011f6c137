import CNcurses
import Foundation

/// The only code that talks to the terminal: it draws `Frame`s and reads keys. It decides
/// nothing about what is shown. It restores the terminal on `close()`, and the signal handlers
/// below make sure that also happens on SIGTERM, SIGHUP and SIGINT (the loop sees the flag and
/// closes) or on a crash (best effort). Not `Sendable`: ncurses is not thread-safe, so the
/// surface stays on the thread that opened it (the UI loop's).
public final class NcursesSurface {
    /// What a read returns.
    public enum Input: Equatable {
        case terminal(TerminalInput)
        /// The window changed size: render again for the new size.
        case resize
    }

    public private(set) var depth: ColorDepth
    private var screen: OpaquePointer?
    /// (role, attributes) → ncurses attributes and colour pair, for the current theme and depth.
    private var styleCache: [StyleKey: (attr_t, Int32)] = [:]
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private var cachedTheme: Theme?
    private var needsFullRepaint = false

    private struct StyleKey: Hashable { var role: Role; var attributes: CellAttributes }
    private struct PairKey: Hashable { var fg: Int32; var bg: Int32 }

    /// Opens the terminal. `preferred` caps the colour depth (nil = what the terminal offers).
    public init(preferred: ColorDepth?) throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw ExplorerError("the explorer needs an interactive terminal; for scripts use `gim explain --json`")
        }
        // Wide characters only work once the locale is the user's (UTF-8) one, before ncurses starts.
        setlocale(LC_ALL, "")
        // newterm, unlike initscr, returns nil for an unusable TERM instead of exiting.
        guard let s = newterm(nil, gim_stdout(), gim_stdin()) else {
            let term = ProcessInfo.processInfo.environment["TERM"] ?? "(unset)"
            throw ExplorerError("cannot open the terminal: TERM=\(term) is not in the terminfo database")
        }
        guard gim_can_address_cursor() != 0 else {
            endwin()
            delscreen(s)
            let term = ProcessInfo.processInfo.environment["TERM"] ?? "(unset)"
            throw ExplorerError("TERM=\(term) cannot move the cursor; set TERM to your terminal's type (for example xterm-256color)")
        }
        screen = s
        TerminalGuard.isOpen = true
        raw()  // Ctrl-C arrives as a key (the loop quits cleanly), not as SIGINT
        noecho()
        nonl()
        keypad(gim_stdscr(), true)
        set_escdelay(25)  // a lone Esc (command mode) must feel instant; Alt sequences arrive together
        let hasColors = has_colors()
        if hasColors {
            start_color()
            use_default_colors()
        }
        let available = ColorDepth.detect(colors: Int(gim_colors()), hasColors: hasColors,
                                          environment: ProcessInfo.processInfo.environment)
        depth = preferred.map { $0.capped(by: available) } ?? available
        // Bracketed paste: the terminal wraps pasted text in ESC[200~ … ESC[201~ (see InputDecoder).
        Self.writeRaw("\u{1B}[?2004h")
        TerminalGuard.install()
    }

    public var size: (width: Int, height: Int) { (Int(gim_columns()), Int(gim_lines())) }

    /// Reads one input, waiting at most `timeoutMs` (0 = return at once).
    public func read(timeoutMs: Int32) -> Input {
        wtimeout(gim_stdscr(), timeoutMs)
        var ch: wint_t = 0
        let status = wget_wch(gim_stdscr(), &ch)
        if status == ERR { return .terminal(.idle) }
        if status == gim_key_code_yes() {
            let code = Int32(ch)
            if code == gim_key_resize() { return .resize }
            return Self.keys[code].map { .terminal(.key($0)) } ?? .terminal(.idle)
        }
        guard let scalar = Unicode.Scalar(UInt32(ch)) else { return .terminal(.idle) }
        return .terminal(.scalar(scalar))
    }

    /// ncurses key codes → keys.
    private static let keys: [Int32: Key] = {
        var map: [Int32: Key] = [
            KEY_UP: .up, KEY_DOWN: .down, KEY_LEFT: .left, KEY_RIGHT: .right, KEY_SLEFT: .left, KEY_SRIGHT: .right,
            KEY_HOME: .home, KEY_END: .end, KEY_PPAGE: .pageUp, KEY_NPAGE: .pageDown,
            KEY_BACKSPACE: .backspace, KEY_DC: .delete, KEY_ENTER: .enter, KEY_BTAB: .backTab,
        ]
        for n in 1...12 { map[gim_key_f(Int32(n))] = .function(n) }
        return map
    }()

    /// The next `draw` repaints every cell (Ctrl-L, or after the terminal was disturbed).
    public func invalidate() { needsFullRepaint = true }

    /// Draws a frame with a theme.
    public func draw(_ frame: Frame, theme: Theme) {
        if cachedTheme != theme {
            cachedTheme = theme
            styleCache = [:]
            pairs = [:]
            nextPair = 1
        }
        if needsFullRepaint {
            clearok(gim_stdscr(), true)
            needsFullRepaint = false
        }
        werase(gim_stdscr())
        var buffer = [wchar_t](repeating: 0, count: Int(gim_cell_max_chars()) + 1)
        for y in 0..<frame.height {
            for x in 0..<frame.width {
                let cell = frame[x, y]
                if cell.isContinuation { continue }
                let (attrs, pair) = style(cell.role, cell.attributes, theme: theme)
                var n = 0
                for scalar in cell.text.unicodeScalars where n < buffer.count - 1 {
                    buffer[n] = wchar_t(bitPattern: scalar.value)
                    n += 1
                }
                buffer[n] = 0
                _ = gim_put_cell(Int32(y), Int32(x), buffer, attrs, pair)
            }
        }
        if let c = frame.cursor, c.x < frame.width, c.y < frame.height {
            curs_set(1)
            wmove(gim_stdscr(), Int32(c.y), Int32(c.x))
        } else {
            curs_set(0)
        }
        wrefresh(gim_stdscr())
    }

    private func style(_ role: Role, _ attributes: CellAttributes, theme: Theme) -> (attr_t, Int32) {
        let key = StyleKey(role: role, attributes: attributes)
        if let s = styleCache[key] { return s }
        let t = TerminalPalette.resolve(role, attributes: attributes, theme: theme, depth: depth)
        var attrs = gim_attr_normal()
        if t.attributes.contains(.bold) { attrs |= gim_attr_bold() }
        if t.attributes.contains(.underline) { attrs |= gim_attr_underline() }
        if t.attributes.contains(.reverse) { attrs |= gim_attr_reverse() }
        if t.attributes.contains(.dim) { attrs |= gim_attr_dim() }
        let result = (attrs, pair(fg: t.foreground, bg: t.background))
        styleCache[key] = result
        return result
    }

    /// Colour pairs are made on first use; pair 0 is the terminal's default colours.
    private func pair(fg: Int32, bg: Int32) -> Int32 {
        guard depth != .mono, fg >= 0 || bg >= 0 else { return 0 }
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return p }
        guard nextPair < gim_color_pairs() else { return 0 }  // out of pairs: default colours, never a crash
        let p = nextPair
        guard init_extended_pair(p, fg, bg) == OK else { return 0 }
        nextPair += 1
        pairs[key] = p
        return p
    }

    /// Gives the terminal back: normal mode, cursor visible, no bracketed paste.
    public func close() {
        guard let s = screen else { return }
        Self.writeRaw("\u{1B}[?2004l")
        curs_set(1)
        endwin()
        delscreen(s)
        screen = nil
        TerminalGuard.isOpen = false
    }

    deinit { close() }

    static func writeRaw(_ s: String) {
        fputs(s, gim_stdout())
        fflush(gim_stdout())
    }
}

/// A clear error for the command line (printed by ArgumentParser as "Error: …").
public struct ExplorerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Process-wide signal handling for the terminal. Termination signals only set a flag: the UI
/// loop polls it every few milliseconds and shuts down cleanly (no ncurses calls inside a
/// handler). Crash signals restore the terminal as a last resort and re-raise.
public enum TerminalGuard {
    // The two flags a signal handler touches stay `nonisolated(unsafe)`: a handler may run on any
    // thread at any instruction, so it can take no lock (a lock held by the interrupted thread
    // would deadlock it), and Swift's atomics (`Synchronization`) need macOS 15. Both are single
    // machine words with one writer each: `isOpen` is written only by the UI thread (opening and
    // closing the surface) and read by the crash handler; `received` is written only by the
    // termination handler (sig_atomic_t, the C type for exactly this) and polled by the UI loop.
    nonisolated(unsafe) static var isOpen = false
    nonisolated(unsafe) private static var received: sig_atomic_t = 0

    /// The termination signal received, if any (SIGTERM, SIGHUP, SIGINT).
    public static var terminationSignal: Int32? { received == 0 ? nil : Int32(received) }

    /// Installs the handlers once per process (Swift runs a static initialiser exactly once).
    static func install() { _ = handlers }

    private static let handlers: Void = {
        for sig in [SIGTERM, SIGHUP, SIGINT] {
            signal(sig) { s in TerminalGuard.received = sig_atomic_t(s) }
        }
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] {
            signal(sig) { s in
                if TerminalGuard.isOpen {
                    // Not async-signal-safe, but the process is dying; a usable shell matters more.
                    endwin()
                    let reset = "\u{1B}[?2004l\u{1B}[?25h"
                    _ = reset.withCString { write(STDOUT_FILENO, $0, strlen($0)) }
                }
                signal(s, SIG_DFL)
                raise(s)
            }
        }
    }()
}
