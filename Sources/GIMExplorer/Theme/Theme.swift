import Foundation

/// A 24-bit colour from a theme file.
public struct RGB: Hashable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// "#rrggbb" or "#rgb".
    public init?(hex: String) {
        var digits = Substring(hex.trimmingCharacters(in: .whitespaces))
        guard digits.hasPrefix("#") else { return nil }
        digits = digits.dropFirst()
        if digits.count == 3 { digits = Substring(digits.map { "\($0)\($0)" }.joined()) }
        guard digits.count == 6, let v = UInt32(digits, radix: 16) else { return nil }
        self.init(UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF))
    }

    public var hex: String { String(format: "#%02x%02x%02x", r, g, b) }

    /// Relative luminance (sRGB, WCAG), 0 = black … 1 = white.
    public var luminance: Double {
        func linear(_ c: UInt8) -> Double {
            let v = Double(c) / 255
            return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    /// The colour `t` (0…1) of the way from self to `other`.
    public func mixed(with other: RGB, _ t: Double) -> RGB {
        let t = min(max(t, 0), 1)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded()) }
        return RGB(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }
}

/// A colour as a theme names it: an RGB value or the terminal's own default.
public enum ThemeColor: Hashable, Sendable {
    case terminalDefault
    case rgb(RGB)

    public var rgb: RGB? {
        if case .rgb(let c) = self { return c }
        return nil
    }
}

/// How one role looks: foreground, background, attributes.
public struct RoleStyle: Hashable, Sendable {
    public var foreground: ThemeColor
    public var background: ThemeColor
    public var attributes: CellAttributes

    public init(foreground: ThemeColor = .terminalDefault, background: ThemeColor = .terminalDefault,
                attributes: CellAttributes = []) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }
}

/// The diverging scale of a theme: zero is `neutral`, level ±8 is `positive`/`negative`, and the
/// levels between are mixed evenly. Text on a heat background takes whichever of the two text
/// colours reads better on it.
public struct HeatColors: Hashable, Sendable {
    public var positive: RGB
    public var negative: RGB
    public var neutral: RGB
    public var textOnDark: RGB
    public var textOnLight: RGB

    public init(positive: RGB, negative: RGB, neutral: RGB, textOnDark: RGB, textOnLight: RGB) {
        self.positive = positive
        self.negative = negative
        self.neutral = neutral
        self.textOnDark = textOnDark
        self.textOnLight = textOnLight
    }

    /// The background of heat level −8…8.
    public func background(level: Int) -> RGB {
        guard level != 0 else { return neutral }
        let end = level > 0 ? positive : negative
        return neutral.mixed(with: end, Double(min(abs(level), Role.heatLevels)) / Double(Role.heatLevels))
    }

    /// Readable text on a background. 0.18 is where black and white text have equal contrast
    /// ((L + 0.05) / 0.05 = 1.05 / (L + 0.05)), so either choice keeps a ratio of at least 4.5.
    public func text(on background: RGB) -> RGB {
        background.luminance > 0.18 ? textOnLight : textOnDark
    }
}

/// A colour theme: named roles → styles, plus the heat scale. Themes come from TOML files
/// (`ThemeLoader`); the only theme the code itself knows is `monochrome`, which has no colours
/// at all and is the last resort when no theme file can be read.
public struct Theme: Equatable, Sendable {
    public var name: String
    public var summary: String
    /// Where it was read from ("built-in" for monochrome).
    public var source: String
    public var roles: [String: RoleStyle]
    /// nil: heat is shown only as bars and attributes.
    public var heat: HeatColors?

    public init(name: String, summary: String = "", source: String, roles: [String: RoleStyle], heat: HeatColors?) {
        self.name = name
        self.summary = summary
        self.source = source
        self.roles = roles
        self.heat = heat
    }

    /// Terminal default colours; emphasis by attributes only.
    public static let monochrome = Theme(
        name: "monochrome", summary: "terminal colours only", source: "built-in",
        roles: ["title": RoleStyle(attributes: .reverse), "selection": RoleStyle(attributes: .reverse),
                "key": RoleStyle(attributes: .reverse), "accent": RoleStyle(attributes: .bold),
                "warning": RoleStyle(attributes: .bold), "dim": RoleStyle(attributes: .dim)],
        heat: nil)

    /// The style of a role; a role the file does not set looks like `text`.
    public func style(_ role: Role) -> RoleStyle {
        let text = roles["text"] ?? RoleStyle()
        switch role {
        case .heat(let level):
            guard let heat else { return text }
            let bg = heat.background(level: level)
            return RoleStyle(foreground: .rgb(level == 0 ? (text.foreground.rgb ?? heat.text(on: bg)) : heat.text(on: bg)),
                             background: .rgb(bg))
        case .heatBar(let level):
            guard let heat else { return text }
            let fg = level == 0 ? heat.neutral : heat.background(level: level > 0 ? Role.heatLevels : -Role.heatLevels)
            return RoleStyle(foreground: .rgb(fg), background: text.background)
        default:
            return roles[role.themeName ?? "text"] ?? text
        }
    }
}
