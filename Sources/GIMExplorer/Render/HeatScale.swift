import Foundation

/// Turns attribution values into heat levels. Each view is normalised on its own (GIM and the
/// plain gradient differ in size by design), symmetrically around zero so that the sign is
/// never confused with the magnitude: level = round(8 · value / max|value|).
public struct HeatScale: Equatable, Sendable {
    /// The largest |value| among the attributed positions; 0 for an all-zero (or empty) view.
    public let maxMagnitude: Float

    /// `count` limits the positions considered (positions after the target are always 0).
    public init(_ values: [Float], count: Int? = nil) {
        let n = min(count ?? values.count, values.count)
        maxMagnitude = values.prefix(n).reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 }
    }

    /// −8…8; 0 for zero, non-finite values, or an all-zero view.
    public func level(_ v: Float) -> Int {
        guard v.isFinite, maxMagnitude > 0 else { return 0 }
        let l = Int((v / maxMagnitude * Float(Role.heatLevels)).rounded())
        return min(max(l, -Role.heatLevels), Role.heatLevels)
    }

    /// A bar glyph for a level, used where colour cannot show the magnitude: rising blocks for
    /// positive values and shades for negative ones, so the sign survives without colour.
    public static func glyph(_ level: Int) -> Character {
        if level > 0 { return Array("▁▂▃▄▅▆▇█")[min(level, 8) - 1] }
        if level < 0 { return Array("░░░▒▒▒▓▓")[min(-level, 8) - 1] }
        return "·"
    }

    /// 1-based rank of each position by |value| (1 = most influential), for positions < count;
    /// nil after it. Ties keep prompt order.
    public static func ranks(_ values: [Float], count: Int) -> [Int?] {
        let n = min(count, values.count)
        let order = (0..<n).sorted { abs(values[$0]) > abs(values[$1]) || (abs(values[$0]) == abs(values[$1]) && $0 < $1) }
        var ranks = [Int?](repeating: nil, count: values.count)
        for (r, i) in order.enumerated() { ranks[i] = r + 1 }
        return ranks
    }

    /// GIM minus plain after normalising each to max|value| = 1: where the two methods disagree
    /// about a token's share, independent of their overall size.
    public static func difference(gim: [Float], plain: [Float], count: Int) -> [Float] {
        let g = HeatScale(gim, count: count).maxMagnitude, p = HeatScale(plain, count: count).maxMagnitude
        return zip(gim, plain).enumerated().map { i, pair in
            guard i < count else { return 0 }
            return (g > 0 ? pair.0 / g : 0) - (p > 0 ? pair.1 / p : 0)
        }
    }

    /// A compact signed number: 4 significant digits, no exponent for ordinary sizes.
    public static func format(_ v: Float) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "+inf" : "-inf") }
        let a = abs(v)
        let body: String
        if a == 0 { body = "0" }
        else if a >= 1000 || a < 0.001 { body = String(format: "%.2e", Double(a)) }
        else if a >= 100 { body = String(format: "%.1f", Double(a)) }
        else if a >= 10 { body = String(format: "%.2f", Double(a)) }
        else { body = String(format: "%.3f", Double(a)) }
        return (v < 0 ? "−" : (v > 0 ? "+" : "")) + body
    }
}
