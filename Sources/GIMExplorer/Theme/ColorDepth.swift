/// How many colours the terminal can show. The explorer degrades step by step: truecolour uses
/// the theme's exact colours, 256 the nearest xterm palette entries, 8 the nearest basic colour
/// (heat then also drawn as bars), monochrome attributes and bars only.
public enum ColorDepth: String, CaseIterable, Sendable {
    case truecolor
    case ansi256 = "256"
    case ansi8 = "8"
    case mono

    /// Heat magnitudes need bar glyphs when colours alone cannot carry them.
    public var showsBars: Bool { self == .ansi8 || self == .mono }

    /// Chooses from what terminfo reports (`COLORS`, `has_colors`) and the environment:
    /// NO_COLOR (https://no-color.org) means monochrome.
    public static func detect(colors: Int, hasColors: Bool, environment: [String: String]) -> ColorDepth {
        if let v = environment["NO_COLOR"], !v.isEmpty { return .mono }
        guard hasColors else { return .mono }
        if colors >= 1 << 24 { return .truecolor }
        if colors >= 256 { return .ansi256 }
        if colors >= 8 { return .ansi8 }
        return .mono
    }

    /// The largest depth the terminal supports that does not exceed `self`.
    public func capped(by available: ColorDepth) -> ColorDepth {
        let order: [ColorDepth] = [.mono, .ansi8, .ansi256, .truecolor]
        return order[min(order.firstIndex(of: self)!, order.firstIndex(of: available)!)]
    }
}

/// A role resolved for one terminal: colour numbers as ncurses wants them (-1 = default;
/// 0…255 palette indexes; 0xRRGGBB on a direct-colour terminal) and attributes.
public struct TerminalStyle: Hashable, Sendable {
    public var foreground: Int32
    public var background: Int32
    public var attributes: CellAttributes

    public init(foreground: Int32 = -1, background: Int32 = -1, attributes: CellAttributes = []) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }
}

/// Maps theme styles onto what a terminal can show. Pure, so the degradation is unit tested.
public enum TerminalPalette {
    public static func resolve(_ role: Role, attributes: CellAttributes, theme: Theme, depth: ColorDepth) -> TerminalStyle {
        let style = theme.style(role)
        let attrs = attributes.union(style.attributes)
        switch depth {
        case .mono:
            return TerminalStyle(attributes: attrs.union(monoAttributes(role, theme: theme)))
        case .ansi8:
            var fg = ansi8(role, style.foreground, theme: theme, isBackground: false)
            let bg = ansi8(role, style.background, theme: theme, isBackground: true)
            // Two greys that differ in 256 colours can both become black: never draw text in its background.
            if fg >= 0 && fg == bg { fg = bg == 0 ? 7 : 0 }
            // Eight colours have one grey at most; the terminal's dim attribute stands in for the others.
            let extra: CellAttributes = role == .dim || role == .border ? .dim : []
            return TerminalStyle(foreground: fg, background: bg, attributes: attrs.union(extra))
        case .ansi256:
            return TerminalStyle(foreground: number(style.foreground, index256),
                                 background: number(style.background, index256), attributes: attrs)
        case .truecolor:
            return TerminalStyle(foreground: number(style.foreground, direct),
                                 background: number(style.background, direct), attributes: attrs)
        }
    }

    /// Without colours, roles that must stand out use attributes (the monochrome theme sets
    /// them; colour themes rely on colours, so the same emphasis is added here).
    static func monoAttributes(_ role: Role, theme: Theme) -> CellAttributes {
        if theme.heat == nil { return [] }
        return Theme.monochrome.style(role).attributes
    }

    static func number(_ c: ThemeColor, _ f: (RGB) -> Int32) -> Int32 {
        switch c {
        case .terminalDefault: -1
        case .rgb(let v): f(v)
        }
    }

    static func direct(_ c: RGB) -> Int32 { Int32(c.r) << 16 | Int32(c.g) << 8 | Int32(c.b) }

    /// With 8 colours a heat background only shows for the stronger levels (weak ones would all
    /// look the same as strong ones); bars below the text carry the magnitude.
    static func ansi8(_ role: Role, _ c: ThemeColor, theme: Theme, isBackground: Bool) -> Int32 {
        switch role {
        case .heat(let level):
            guard let heat = theme.heat else { return -1 }
            if abs(level) < 3 {
                return number(isBackground ? theme.style(.text).background : theme.style(.text).foreground, index8)
            }
            let bg = index8(level > 0 ? heat.positive : heat.negative)
            if isBackground { return bg }
            return [1, 4, 5, 0].contains(bg) ? 7 : 0  // white on red/blue/magenta/black, else black
        default:
            return number(c, index8)
        }
    }

    // MARK: Palettes

    /// The six levels of each channel in xterm's 6×6×6 colour cube (indexes 16…231).
    static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The nearest of xterm's 256 colours, from the cube or the grey ramp (232…255); the 16
    /// system colours are skipped because users redefine them.
    public static func index256(_ c: RGB) -> Int32 {
        func nearestLevel(_ v: UInt8) -> Int {
            cubeLevels.indices.min { abs(cubeLevels[$0] - Int(v)) < abs(cubeLevels[$1] - Int(v)) }!
        }
        let ri = nearestLevel(c.r), gi = nearestLevel(c.g), bi = nearestLevel(c.b)
        let cube = (cubeLevels[ri], cubeLevels[gi], cubeLevels[bi])
        let average = (Int(c.r) + Int(c.g) + Int(c.b)) / 3
        let greyIndex = min(23, max(0, (average - 8 + 5) / 10))
        let grey = 8 + 10 * greyIndex
        func distance(_ a: (Int, Int, Int)) -> Int {
            let dr = a.0 - Int(c.r), dg = a.1 - Int(c.g), db = a.2 - Int(c.b)
            return dr * dr + dg * dg + db * db
        }
        if distance((grey, grey, grey)) < distance(cube) { return Int32(232 + greyIndex) }
        return Int32(16 + 36 * ri + 6 * gi + bi)
    }

    /// The basic colour (0 black, 1 red, 2 green, 3 yellow, 4 blue, 5 magenta, 6 cyan, 7 white)
    /// closest in hue; greys go to black or white. Hue decides because the eight colours differ
    /// wildly in brightness between terminals, while their hues are stable.
    public static func index8(_ c: RGB) -> Int32 {
        let r = Double(c.r) / 255, g = Double(c.g) / 255, b = Double(c.b) / 255
        let maxV = max(r, g, b), minV = min(r, g, b)
        let lightness = (maxV + minV) / 2
        let chroma = maxV - minV
        if chroma < 0.2 || lightness < 0.08 || lightness > 0.94 { return lightness < 0.5 ? 0 : 7 }
        var hue: Double
        if maxV == r { hue = 60 * ((g - b) / chroma).truncatingRemainder(dividingBy: 6) }
        else if maxV == g { hue = 60 * ((b - r) / chroma + 2) }
        else { hue = 60 * ((r - g) / chroma + 4) }
        if hue < 0 { hue += 360 }
        // Sectors centred on red 0°, yellow 60°, green 120°, cyan 180°, blue 240°, magenta 300°.
        let sectors: [Int32] = [1, 3, 2, 6, 4, 5]
        return sectors[Int(((hue + 30) / 60).rounded(.down)) % 6]
    }
}
