import Foundation
import XCTest
@testable import GIMExplorer

/// Theme files (valid, broken → default), the catalog's search order, and colour degradation.
final class ThemeTests: XCTestCase {
    var themesDir: URL { Fixture.repoRoot.appendingPathComponent("themes") }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gim-theme-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    let minimal = """
        [roles]
        text = { fg = "#ffffff", bg = "default" }
        accent = { fg = "#f80", bold = true }
        [heat]
        positive = "#ff0000"
        negative = "#0000ff"
        neutral = "#000000"
        text_on_dark = "#ffffff"
        text_on_light = "#000000"
        """

    // MARK: Files

    func testTheBundledThemesLoad() throws {
        for name in ["dark", "light", "colorblind"] {
            let theme = try ThemeLoader.load(file: themesDir.appendingPathComponent(name + ".toml"))
            XCTAssertEqual(theme.name, name)
            XCTAssertFalse(theme.summary.isEmpty)
            XCTAssertNotNil(theme.heat)
            for role in Role.themeRoleNames { XCTAssertNotNil(theme.roles[role], "\(name) sets \(role)") }
        }
    }

    func testBundledThemesKeepHeatTextReadable() throws {
        for name in ["dark", "light", "colorblind"] {
            let theme = try ThemeLoader.load(file: themesDir.appendingPathComponent(name + ".toml"))
            for level in -8...8 {
                let style = theme.style(.heat(level))
                let bg = style.background.rgb!, fg = style.foreground.rgb!
                let (l1, l2) = (max(bg.luminance, fg.luminance), min(bg.luminance, fg.luminance))
                XCTAssertGreaterThan((l1 + 0.05) / (l2 + 0.05), 3, "\(name) level \(level): contrast too low")
            }
        }
    }

    func testAMinimalThemeInheritsFromText() throws {
        let theme = try ThemeLoader.parse(minimal, name: "mini", source: "mini.toml")
        XCTAssertEqual(theme.style(.accent).foreground, .rgb(RGB(0xff, 0x88, 0x00)))
        XCTAssertEqual(theme.style(.accent).background, .terminalDefault)
        XCTAssertEqual(theme.style(.accent).attributes, .bold)
        XCTAssertEqual(theme.style(.border), theme.style(.text), "unset roles look like text")
        XCTAssertEqual(theme.style(.heat(8)).background, .rgb(RGB(255, 0, 0)))
        XCTAssertEqual(theme.style(.heat(-4)).background, .rgb(RGB(0, 0, 128)))
        XCTAssertEqual(theme.style(.heat(0)).background, .rgb(RGB(0, 0, 0)))
    }

    func testBrokenThemesSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("[roles\ntext = 1", "line 1"),
            (minimal.replacingOccurrences(of: "accent", with: "acent"), "unknown role 'acent'"),
            (minimal.replacingOccurrences(of: "#f80", with: "orange"), "is not a colour"),
            (minimal.replacingOccurrences(of: "bold = true", with: "bold = 1"), "bold must be true or false"),
            (minimal.replacingOccurrences(of: "positive = \"#ff0000\"\n", with: ""), "[heat] needs 'positive'"),
            (minimal.replacingOccurrences(of: "neutral = \"#000000\"", with: "neutral = \"default\""), "not allowed in the heat scale"),
            ("[heat]\npositive = \"#fff\"", "missing [roles]"),
            ("colour = 3\n" + minimal, "unknown key 'colour'"),
            (minimal.replacingOccurrences(of: "text = {", with: "dim = {"), "role 'text' is required"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try ThemeLoader.parse(text, name: "t", source: "t.toml")) { error in
                XCTAssertTrue("\(error)".contains(expected), "\"\(error)\" should mention \(expected)")
                XCTAssertTrue("\(error)".contains("t.toml"), "the message names the file")
            }
        }
    }

    // MARK: Catalog

    func testCatalogSkipsBrokenFilesAndFallsBackToTheDefault() throws {
        let dir = try temporaryDirectory()
        try minimal.write(to: dir.appendingPathComponent("dark.toml"), atomically: true, encoding: .utf8)
        try "[roles\nnope".write(to: dir.appendingPathComponent("broken.toml"), atomically: true, encoding: .utf8)
        var catalog = ThemeCatalog.load(directories: [dir])
        XCTAssertEqual(catalog.names, ["dark", "monochrome"])
        XCTAssertEqual(catalog.problems.count, 1)
        XCTAssertTrue(catalog.problems[0].contains("broken.toml"))
        XCTAssertEqual(catalog.select("broken"), 0)
        XCTAssertTrue(catalog.problems.last!.contains("line 1"), "asking for the broken theme explains why it is broken")
        XCTAssertTrue(catalog.problems.last!.contains("using dark"))
        XCTAssertEqual(catalog.select("nonexistent"), 0)
        XCTAssertTrue(catalog.problems.last!.contains("no theme named 'nonexistent'"))
        XCTAssertEqual(catalog.select("monochrome"), 1)
    }

    func testUserDirectoryOverridesAndAddsThemes() throws {
        let user = try temporaryDirectory()
        try minimal.write(to: user.appendingPathComponent("light.toml"), atomically: true, encoding: .utf8)
        try minimal.write(to: user.appendingPathComponent("mine.toml"), atomically: true, encoding: .utf8)
        let catalog = ThemeCatalog.load(directories: [themesDir, user])
        XCTAssertEqual(catalog.names, ["dark", "colorblind", "light", "mine", "monochrome"])
        XCTAssertEqual(catalog.themes[2].source, user.appendingPathComponent("light.toml").path)
    }

    func testThemeByPath() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("custom.toml")
        try minimal.write(to: file, atomically: true, encoding: .utf8)
        var catalog = ThemeCatalog.load(directories: [themesDir])
        XCTAssertEqual(catalog.select(file.path), 0)
        XCTAssertEqual(catalog.themes[0].name, "custom")
        XCTAssertEqual(catalog.select(dir.appendingPathComponent("missing.toml").path), 0)
        XCTAssertTrue(catalog.problems.last!.contains("cannot be read"))
    }

    func testNoThemeFilesMeansMonochrome() {
        let catalog = ThemeCatalog.load(directories: [URL(fileURLWithPath: "/nonexistent")])
        XCTAssertEqual(catalog.names, ["monochrome"])
    }

    func testUserDirectoryFollowsXDG() {
        XCTAssertEqual(ThemeCatalog.userDirectory(environment: ["XDG_CONFIG_HOME": "/x"]).path, "/x/gim/themes")
        XCTAssertEqual(ThemeCatalog.userDirectory(environment: ["HOME": "/home/u"]).path, "/home/u/.config/gim/themes")
    }

    // MARK: Degradation

    func testDepthDetection() {
        XCTAssertEqual(ColorDepth.detect(colors: 1 << 24, hasColors: true, environment: [:]), .truecolor)
        XCTAssertEqual(ColorDepth.detect(colors: 256, hasColors: true, environment: [:]), .ansi256)
        XCTAssertEqual(ColorDepth.detect(colors: 8, hasColors: true, environment: [:]), .ansi8)
        XCTAssertEqual(ColorDepth.detect(colors: 256, hasColors: false, environment: [:]), .mono)
        XCTAssertEqual(ColorDepth.detect(colors: 256, hasColors: true, environment: ["NO_COLOR": "1"]), .mono)
        XCTAssertEqual(ColorDepth.truecolor.capped(by: .ansi256), .ansi256)
        XCTAssertEqual(ColorDepth.mono.capped(by: .truecolor), .mono)
    }

    func testPaletteMapping() {
        XCTAssertEqual(TerminalPalette.index256(RGB(255, 0, 0)), 196)
        XCTAssertEqual(TerminalPalette.index256(RGB(0, 0, 0)), 16)
        XCTAssertEqual(TerminalPalette.index256(RGB(128, 128, 128)), 244)
        XCTAssertEqual(TerminalPalette.index256(RGB(0x5f, 0xaf, 0xd7)), 74)
        XCTAssertEqual(TerminalPalette.index8(RGB(0xd7, 0x30, 0x1f)), 1)  // red
        XCTAssertEqual(TerminalPalette.index8(RGB(0x21, 0x66, 0xac)), 4)  // blue
        XCTAssertEqual(TerminalPalette.index8(RGB(0xe6, 0x9f, 0x00)), 3)  // orange → yellow
        XCTAssertEqual(TerminalPalette.index8(RGB(0x12, 0x12, 0x12)), 0)
        XCTAssertEqual(TerminalPalette.index8(RGB(0xd0, 0xd0, 0xd0)), 7)
    }

    func testEachDepthResolvesRoles() throws {
        let theme = try ThemeLoader.parse(minimal, name: "mini", source: "mini.toml")
        let strong = TerminalPalette.resolve(.heat(8), attributes: [], theme: theme, depth: .truecolor)
        XCTAssertEqual(strong.background, 0xFF0000)
        XCTAssertEqual(TerminalPalette.resolve(.heat(8), attributes: [], theme: theme, depth: .ansi256).background, 196)
        XCTAssertEqual(TerminalPalette.resolve(.heat(8), attributes: [], theme: theme, depth: .ansi8).background, 1)
        XCTAssertEqual(TerminalPalette.resolve(.heat(1), attributes: [], theme: theme, depth: .ansi8).background, -1,
                       "weak levels have no background in 8 colours (the bars show them)")
        let dark = try ThemeLoader.load(file: themesDir.appendingPathComponent("dark.toml"))
        let border = TerminalPalette.resolve(.border, attributes: [], theme: dark, depth: .ansi8)
        XCTAssertNotEqual(border.foreground, border.background, "a dark grey border stays visible on black")
        XCTAssertTrue(border.attributes.contains(.dim))
        let mono = TerminalPalette.resolve(.title, attributes: .underline, theme: theme, depth: .mono)
        XCTAssertEqual(mono, TerminalStyle(attributes: [.underline, .reverse]))
        XCTAssertEqual(TerminalPalette.resolve(.heat(8), attributes: [], theme: .monochrome, depth: .truecolor),
                       TerminalStyle(), "the monochrome theme has no colours at any depth")
    }

    /// fuzz-theme, crash-acf4b94b…: a table header whose name starts with a character no key can
    /// start with aborted the process inside toml++ (an assertion in parse_key); now a ThemeError.
    func testTableHeaderWithABadFirstCharacterIsAnError() throws {
        let heat = "[heat]\npositive = \"#f00\"\nnegative = \"#00f\"\nneutral = \"#222\"\ntext_on_dark = \"#fff\"\ntext_on_light = \"#000\"\n"
        for header in ["[&roles]", "[ &roles]", "[[&roles]]", "[[[roles]]]", "[\n", "[ \t+x]", "  [\u{00e9}]", "\u{FEFF}[=["] {
            XCTAssertThrowsError(try ThemeLoader.parse(header + "\ntext = { fg = \"#fff\" }\n" + heat, name: "t", source: "/t.toml"), header) { error in
                XCTAssertTrue("\(error)".contains("table name must start"), "\(header): \(error)")
            }
        }
        // Valid files the check must not refuse: quoted names, '[' inside strings, comments and arrays.
        let fine = """
            description = '''
            [&not a header]
            '''
            # [&comment]
            [ roles ]
            text = { fg = "#fff", bg = "default" } # [&x]
            ["heat"]
            positive = "#f00"
            negative = "#00f"
            neutral = "#222"
            text_on_dark = "#fff"
            text_on_light = "#000"
            """
        XCTAssertNoThrow(try ThemeLoader.parse(fine, name: "t", source: "/t.toml"))
        // fuzz-theme, crash-20bee41d…: '}' where an array expects a value hit toml++'s assertion in parse_value.
        for value in ["[\t}", "[1, }", "[\n# c\n}", "[[}]]"] {
            XCTAssertThrowsError(try ThemeLoader.parse("[roles]\ntext = { fg = \(value) }\n" + heat, name: "t", source: "/t.toml"), value) { error in
                XCTAssertTrue("\(error)".contains("'}' inside an array"), "\(value): \(error)")
            }
        }
        XCTAssertNil(ThemeLoader.tomlAssertion("a = { b = [1, 2], c = { d = [] } }\ne = [{ f = 1 }, { g = [2] }]\ns = \"[}\"\n"))
        XCTAssertNil(ThemeLoader.tomlAssertion("a = [\n  [+1, 2],\n]\n[t]\n"))
        XCTAssertNil(ThemeLoader.tomlAssertion("s = \"\"\"\n[&x\n\"\"\"\n"))
    }
}
