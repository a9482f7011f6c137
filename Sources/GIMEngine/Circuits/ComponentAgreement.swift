import Foundation

/// How well an approximation (attribution-patching scores) matches activation patching over
/// the components of one kind: Pearson and Spearman correlation, and the overlap of the top k
/// components by |value| (k = 10% of the components, at least 1).
public struct ComponentAgreement: Sendable, Equatable, Codable {
    /// nil where undefined (fewer than two components, or either side constant).
    public let pearson: Double?
    public let spearman: Double?
    /// |top-k(approximation) ∩ top-k(patching)| / k, by absolute value.
    public let topKOverlap: Double
    public let k: Int
    public let count: Int

    public init(_ approximation: [Float], _ truth: [Float]) {
        precondition(approximation.count == truth.count)
        let a = approximation.map(Double.init), b = truth.map(Double.init)
        pearson = Statistics.pearsonIfDefined(a, b)
        spearman = Statistics.spearman(a, b)
        count = a.count
        k = Self.k(count)
        let topA = Set(Self.top(a, k)), topB = Set(Self.top(b, k))
        topKOverlap = count == 0 ? 0 : Double(topA.intersection(topB).count) / Double(k)
    }

    /// 10% of n, rounded up, at least 1.
    public static func k(_ n: Int) -> Int { max(1, (n + 9) / 10) }

    /// Indices of the k largest |v| (ties: the lower index first).
    static func top(_ v: [Double], _ k: Int) -> [Int] {
        Array(v.indices.sorted { abs(v[$0]) != abs(v[$1]) ? abs(v[$0]) > abs(v[$1]) : $0 < $1 }.prefix(k))
    }
}

/// One `ComponentAgreement` per component kind.
public struct ComponentAgreements: Sendable, Equatable, Codable {
    public let heads: ComponentAgreement
    public let attention: ComponentAgreement
    public let mlp: ComponentAgreement
    public let residual: ComponentAgreement

    public init(_ approximation: ComponentMap, patching truth: ComponentMap) {
        heads = ComponentAgreement(approximation.values(.heads), truth.values(.heads))
        attention = ComponentAgreement(approximation.values(.attention), truth.values(.attention))
        mlp = ComponentAgreement(approximation.values(.mlp), truth.values(.mlp))
        residual = ComponentAgreement(approximation.values(.residual), truth.values(.residual))
    }

    public subscript(_ kind: ComponentKind) -> ComponentAgreement {
        switch kind {
        case .heads: return heads
        case .attention: return attention
        case .mlp: return mlp
        case .residual: return residual
        }
    }
}
