/// One number per component: an attribution-patching score (GIM or plain gradient) or an
/// activation-patching effect. Same layout for every method, so that they can be compared cell by cell.
public struct ComponentMap: Sendable, Equatable, Codable {
    /// [layers] attention blocks.
    public var attention: [Float]
    /// [layers] MLP blocks.
    public var mlp: [Float]
    /// [layers][heads] attention heads; in families without post-norms a layer's heads sum to its `attention`.
    public var heads: [[Float]]
    /// [layers][positions] the residual stream entering each block, per position (the layers × tokens map).
    public var residual: [[Float]]

    public init(attention: [Float], mlp: [Float], heads: [[Float]], residual: [[Float]]) {
        self.attention = attention
        self.mlp = mlp
        self.heads = heads
        self.residual = residual
    }

    /// All zeros.
    public init(layers: Int, heads: Int, positions: Int) {
        self.init(attention: [Float](repeating: 0, count: layers), mlp: [Float](repeating: 0, count: layers),
                  heads: [[Float]](repeating: [Float](repeating: 0, count: heads), count: layers),
                  residual: [[Float]](repeating: [Float](repeating: 0, count: positions), count: layers))
    }

    /// The value of one component.
    public subscript(_ c: ComponentPatch) -> Float {
        get {
            switch c {
            case .attention(let l): return attention[l]
            case .mlp(let l): return mlp[l]
            case .head(let l, let h): return heads[l][h]
            case .residual(let l, let t): return residual[l][t]
            }
        }
        set {
            switch c {
            case .attention(let l): attention[l] = newValue
            case .mlp(let l): mlp[l] = newValue
            case .head(let l, let h): heads[l][h] = newValue
            case .residual(let l, let t): residual[l][t] = newValue
            }
        }
    }

    /// Every value of one kind, flattened layer-major.
    public func values(_ kind: ComponentKind) -> [Float] {
        switch kind {
        case .heads: return heads.flatMap { $0 }
        case .attention: return attention
        case .mlp: return mlp
        case .residual: return residual.flatMap { $0 }
        }
    }

    public var isFinite: Bool { ComponentKind.allCases.allSatisfy { values($0).allSatisfy(\.isFinite) } }
}

/// The component types compared separately (their scales differ).
public enum ComponentKind: String, CaseIterable, Sendable, Codable {
    case heads, attention, mlp, residual
}
