// Fuzz target for theme files: TOML parsing (TOMLKit) and the theme reader on top of it (roles,
// colours, attributes, the heat table). An accepted theme must give every role a terminal style
// at every colour depth. Any input must give a theme or a thrown ThemeError, never a crash.
// Built as a libFuzzer binary or a regression runner, like fuzz-gguf (see scripts/fuzz.sh).
import Foundation
import GIMExplorer
import FuzzSupport

let allRoles: [Role] = [.text, .dim, .accent, .border, .warning, .title, .selection, .key]
    + (-Role.heatLevels...Role.heatLevels).flatMap { [Role.heat($0), Role.heatBar($0)] }

func exerciseTheme(_ bytes: [UInt8]) {
    // The loader reads files as UTF-8 and refuses anything else; the parser sees only valid text.
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    let theme: Theme
    do {
        theme = try ThemeLoader.parse(text, name: "fuzz", source: "/themes/fuzz.toml")
    } catch let error as ThemeError {
        _ = error.description
        return
    } catch {
        fatalError("an error that is not a ThemeError: \(error)")
    }
    for depth in ColorDepth.allCases {
        for role in allRoles {
            _ = TerminalPalette.resolve(role, attributes: [], theme: theme, depth: depth)
            _ = TerminalPalette.resolve(role, attributes: [.bold, .reverse], theme: theme, depth: depth)
        }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzThemeInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exerciseTheme(FuzzCorpus.bytes(data, size))
    return 0
}
#endif

@main
struct FuzzThemeRegression {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzThemeInput(data, size) }))
        #endif
        FuzzCorpus.replay("fuzz-theme", exerciseTheme)
    }
}
