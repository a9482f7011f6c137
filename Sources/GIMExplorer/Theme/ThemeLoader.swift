import Foundation
import TOMLKit

/// A theme file that could not be used, with the reason in words.
public struct ThemeError: Error, CustomStringConvertible, Equatable {
    /// The file's path.
    public let source: String
    public let reason: String
    /// Named by file name: the message line is one line, and the themes folders are known.
    public var description: String { "theme \(URL(fileURLWithPath: source).lastPathComponent): \(reason)" }
}

/// Reads theme files:
///
///     description = "light text on near-black"
///     [roles]                      # text is required; other roles default to text
///     text   = { fg = "#d0d0d0", bg = "#121212" }
///     accent = { fg = "#ffaf00", bold = true }
///     [heat]                       # all five required
///     positive = "#d73027"         # level +8 background
///     negative = "#4575b4"         # level −8 background
///     neutral  = "#262626"         # zero
///     text_on_dark  = "#ffffff"    # token text on dark heat backgrounds
///     text_on_light = "#000000"
///
/// Colours are "#rrggbb", "#rgb" or "default" (the terminal's own). Unknown keys are errors,
/// so a typo is reported instead of silently ignored.
public enum ThemeLoader {
    static let styleKeys: Set<String> = ["fg", "bg", "bold", "underline", "reverse", "dim"]
    static let heatKeys = ["positive", "negative", "neutral", "text_on_dark", "text_on_light"]

    public static func parse(_ text: String, name: String, source: String) throws -> Theme {
        if let (line, column, problem) = tomlAssertion(text) {
            throw ThemeError(source: source, reason: "line \(line), column \(column): \(problem)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ThemeError(source: source, reason: "line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        } catch {
            throw ThemeError(source: source, reason: "\(error)")
        }
        for key in table.keys where !["description", "roles", "heat"].contains(key) {
            throw ThemeError(source: source, reason: "unknown key '\(key)' (expected description, [roles], [heat])")
        }
        var summary = ""
        if let d = table["description"] {
            guard let s = d.string else { throw ThemeError(source: source, reason: "description must be a string") }
            summary = s
        }

        guard let rolesTable = table["roles"]?.table else {
            throw ThemeError(source: source, reason: "missing [roles] table (at least `text = { fg = …, bg = … }`)")
        }
        var roles: [String: RoleStyle] = [:]
        for key in rolesTable.keys {
            guard Role.themeRoleNames.contains(key) else {
                throw ThemeError(source: source, reason: "unknown role '\(key)' (roles: \(Role.themeRoleNames.joined(separator: ", ")))")
            }
            guard let entry = rolesTable[key]?.table else {
                throw ThemeError(source: source, reason: "role '\(key)' must be a table like { fg = \"#ffffff\", bg = \"default\" }")
            }
            roles[key] = try roleStyle(entry, role: key, source: source)
        }
        guard let textStyle = roles["text"] else { throw ThemeError(source: source, reason: "role 'text' is required in [roles]") }
        // Unset colours of other roles fall back to text's, so a theme can name only what differs.
        for (key, style) in roles where key != "text" {
            var s = style
            if s.foreground == .terminalDefault, rolesTable[key]?.table?["fg"] == nil { s.foreground = textStyle.foreground }
            if s.background == .terminalDefault, rolesTable[key]?.table?["bg"] == nil { s.background = textStyle.background }
            roles[key] = s
        }

        guard let heatTable = table["heat"]?.table else {
            throw ThemeError(source: source, reason: "missing [heat] table (\(heatKeys.joined(separator: ", ")))")
        }
        for key in heatTable.keys where !heatKeys.contains(key) {
            throw ThemeError(source: source, reason: "unknown key '\(key)' in [heat] (expected \(heatKeys.joined(separator: ", ")))")
        }
        var colours: [String: RGB] = [:]
        for key in heatKeys {
            guard let value = heatTable[key] else { throw ThemeError(source: source, reason: "[heat] needs '\(key)'") }
            guard let s = value.string, let c = RGB(hex: s) else {
                throw ThemeError(source: source, reason: "[heat] \(key) must be a colour like \"#d73027\" (\"default\" is not allowed in the heat scale)")
            }
            colours[key] = c
        }
        let heat = HeatColors(positive: colours["positive"]!, negative: colours["negative"]!, neutral: colours["neutral"]!,
                              textOnDark: colours["text_on_dark"]!, textOnLight: colours["text_on_light"]!)
        return Theme(name: name, summary: summary, source: source, roles: roles, heat: heat)
    }

    /// The two kinds of malformed TOML on which toml++, the parser inside TOMLKit, asserts instead of
    /// reporting an error (the assertion would abort the explorer; fuzz-theme found both), as (line,
    /// column, problem): a table header whose name starts with a character no key can start with
    /// (`[&roles]`: parse_table_header calls parse_key, which assumes a key character), and a `}` where
    /// an array expects a value (`[ }`: parse_array calls parse_value on it). Strings and comments are
    /// skipped; a `[` is a header only at the start of a line outside any value.
    static func tomlAssertion(_ text: String) -> (Int, Int, String)? {
        let s = Array(text.unicodeScalars)
        func keyStart(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-" || c == "\"" || c == "'"
        }
        func blank(_ j: Int) -> Bool { j < s.count && (s[j] == " " || s[j] == "\t") }
        // toml++ skips a byte-order mark before the first line.
        let bom = s.first == "\u{FEFF}" ? 1 : 0
        var i = bom, line = 1, lineStart = bom, atLineStart = true, inHeader = false
        var open: [Unicode.Scalar] = []  // the arrays and inline tables around this point, innermost last
        while i < s.count {
            let c = s[i]
            if c == "\n" { line += 1; lineStart = i + 1; atLineStart = true; i += 1; continue }
            if atLineStart && blank(i) { i += 1; continue }
            let first = atLineStart
            atLineStart = false
            switch c {
            case "#":
                while i + 1 < s.count && s[i + 1] != "\n" { i += 1 }
            case "\"", "'":
                let triple = i + 2 < s.count && s[i + 1] == c && s[i + 2] == c
                i += triple ? 3 : 1
                while i < s.count {
                    if c == "\"" && s[i] == "\\" && i + 1 < s.count && s[i + 1] != "\n" { i += 2; continue }
                    if s[i] == "\n" {
                        if !triple { break }
                        line += 1; lineStart = i + 1
                    }
                    if s[i] == c && (!triple || (i + 2 < s.count && s[i + 1] == c && s[i + 2] == c)) {
                        i += triple ? 2 : 0
                        break
                    }
                    i += 1
                }
                if i < s.count && s[i] == "\n" { continue }
            case "[" where first && open.isEmpty:
                // As toml++ reads it: '[', blanks, a second '[' only right after the first, blanks, the
                // name. A blank before the second '[' and an empty name ']' are errors it reports.
                var j = i + 1
                let hadBlank = blank(j)
                while blank(j) { j += 1 }
                let reported = j < s.count && s[j] == "[" && hadBlank
                if j < s.count && s[j] == "[" && !hadBlank {
                    j += 1
                    while blank(j) { j += 1 }
                }
                if !reported && j < s.count && s[j] != "]" && !keyStart(s[j]) {
                    return (line, j - lineStart + 1, "a table name must start with a letter, a digit, '_', '-' or a quote")
                }
                inHeader = true
            case "[", "{":
                open.append(c)
            case "]":
                if inHeader { inHeader = false } else if open.last == "[" { open.removeLast() }
            case "}":
                if open.last == "[" { return (line, i - lineStart + 1, "'}' inside an array (expected a value or ']')") }
                if open.last == "{" { open.removeLast() }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    static func roleStyle(_ t: TOMLTable, role: String, source: String) throws -> RoleStyle {
        for key in t.keys where !styleKeys.contains(key) {
            throw ThemeError(source: source, reason: "role '\(role)': unknown key '\(key)' (expected fg, bg, bold, underline, reverse, dim)")
        }
        func colour(_ key: String) throws -> ThemeColor {
            guard let v = t[key] else { return .terminalDefault }
            guard let s = v.string else { throw ThemeError(source: source, reason: "role '\(role)': \(key) must be a string") }
            if s.lowercased() == "default" { return .terminalDefault }
            guard let c = RGB(hex: s) else {
                throw ThemeError(source: source, reason: "role '\(role)': \(key) = \"\(s)\" is not a colour (use \"#rrggbb\", \"#rgb\" or \"default\")")
            }
            return .rgb(c)
        }
        var attributes: CellAttributes = []
        for (key, flag) in [("bold", CellAttributes.bold), ("underline", .underline), ("reverse", .reverse), ("dim", .dim)] {
            guard let v = t[key] else { continue }
            guard let b = v.bool else { throw ThemeError(source: source, reason: "role '\(role)': \(key) must be true or false") }
            if b { attributes.insert(flag) }
        }
        return RoleStyle(foreground: try colour("fg"), background: try colour("bg"), attributes: attributes)
    }

    /// Reads one file; the theme is named after the file ("dark.toml" → "dark").
    public static func load(file url: URL) throws -> Theme {
        let source = url.path
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ThemeError(source: source, reason: "cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ThemeError(source: source, reason: "is not UTF-8 text") }
        return try parse(text, name: url.deletingPathExtension().lastPathComponent, source: source)
    }
}

/// The themes available at start, in cycling order, and what went wrong reading them.
public struct ThemeCatalog: Sendable {
    public private(set) var themes: [Theme]
    /// One line per file that could not be used (shown in the message bar).
    public private(set) var problems: [String]
    /// Why each broken file (by theme name) was skipped, to explain a `--theme` that names one.
    private var broken: [String: String] = [:]

    /// The theme used when none is asked for, or when the one asked for is broken.
    public static let defaultName = "dark"

    /// Loads every `*.toml` in the directories; a later directory's theme replaces an earlier
    /// one of the same name (so the user's directory, listed last, wins). Never fails: with no
    /// usable file the catalog holds the built-in monochrome theme.
    public static func load(directories: [URL]) -> ThemeCatalog {
        var byName: [String: Theme] = [:]
        var problems: [String] = []
        var broken: [String: String] = [:]
        for dir in directories {
            guard let files = try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil) else { continue }
            for file in files.sorted(by: { $0.lastPathComponent < $1.lastPathComponent }) where file.pathExtension == "toml" {
                do {
                    let theme = try ThemeLoader.load(file: file)
                    byName[theme.name] = theme
                } catch {
                    problems.append("\(error)")
                    broken[file.deletingPathExtension().lastPathComponent] = "\(error)"
                }
            }
        }
        var themes = byName.values.sorted { a, b in
            // The default first, then alphabetical: cycling starts from the familiar one.
            a.name == defaultName ? b.name != defaultName : (b.name == defaultName ? false : a.name < b.name)
        }
        themes.append(.monochrome)
        var catalog = ThemeCatalog(themes: themes, problems: problems)
        catalog.broken = broken
        return catalog
    }

    public init(themes: [Theme], problems: [String] = []) {
        self.themes = themes.isEmpty ? [.monochrome] : themes
        self.problems = problems
    }

    public var names: [String] { themes.map(\.name) }

    /// The index of a theme by name, or a file path to load now (added to the catalog).
    /// A name that is unknown or a file that is broken gives the default's index and a problem line.
    public mutating func select(_ request: String?) -> Int {
        guard let request, !request.isEmpty else { return 0 }
        if request.contains("/") || request.hasSuffix(".toml") {
            do {
                let theme = try ThemeLoader.load(file: URL(fileURLWithPath: request))
                themes.removeAll { $0.name == theme.name }
                themes.insert(theme, at: 0)
                return 0
            } catch {
                problems.append("using \(themes[0].name) because \(error)")
                return 0
            }
        }
        if let i = themes.firstIndex(where: { $0.name == request }) { return i }
        if let reason = broken[request] {
            problems = problems.filter { $0 != reason } + ["using \(themes[0].name) because \(reason)"]
            return 0
        }
        problems.append("using \(themes[0].name): there is no theme named '\(request)' (have: \(names.joined(separator: ", ")))")
        return 0
    }

    /// Where themes are looked for: the project's `themes/` (in the current directory, or
    /// beside the package that built the executable), then the user's
    /// `$XDG_CONFIG_HOME/gim/themes` (default `~/.config/gim/themes`).
    public static func standardDirectories(environment: [String: String] = ProcessInfo.processInfo.environment,
                                           currentDirectory: String = FileManager.default.currentDirectoryPath,
                                           executable: String = CommandLine.arguments.first ?? "") -> [URL] {
        var dirs: [URL] = []
        let local = URL(fileURLWithPath: currentDirectory).appendingPathComponent("themes")
        if FileManager.default.fileExists(atPath: local.path) {
            dirs.append(local)
        } else {
            var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<5 {
                let candidate = dir.appendingPathComponent("themes")
                if FileManager.default.fileExists(atPath: candidate.path) { dirs.append(candidate); break }
                dir = dir.deletingLastPathComponent()
            }
        }
        dirs.append(userDirectory(environment: environment))
        return dirs
    }

    public static func userDirectory(environment: [String: String]) -> URL {
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("gim/themes")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".config/gim/themes")
    }
}
