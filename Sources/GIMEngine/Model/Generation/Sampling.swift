import Foundation

/// How the next token is chosen from the logits: greedy (temperature 0), or sampled from
/// softmax(logits / temperature) restricted to the top-p nucleus, with a seeded generator so a
/// run can be repeated (the seed is shown with the result).
public struct SamplingSettings: Sendable, Codable, Equatable {
    /// 0 = greedy (the argmax); otherwise the softmax temperature.
    public var temperature: Float
    /// Nucleus: sample among the most probable tokens whose probabilities sum to at least topP (1 = all).
    public var topP: Float
    public var seed: UInt64

    public init(temperature: Float = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
    }

    public static let greedy = SamplingSettings()
    public var isGreedy: Bool { temperature == 0 }

    public func validate() throws {
        guard temperature.isFinite, temperature >= 0, temperature <= 100 else {
            throw ModelError.badInput("temperature \(temperature) must be between 0 (greedy) and 100")
        }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw ModelError.badInput("top-p \(topP) must be in (0, 1]") }
    }

    /// The next token: the argmax when greedy, else a draw from the tempered top-p distribution.
    public func pick(_ logits: [Float], _ rng: inout SeededGenerator) -> Int {
        if isGreedy { return ExplainSession.argmax(logits) }
        let probs = Self.softmax(logits, temperature: temperature)
        var order = Array(probs.indices)
        order.sort { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
        var kept = 0, mass = 0.0
        while kept < order.count {
            mass += probs[order[kept]]
            kept += 1
            if mass >= Double(topP) { break }
        }
        var u = Double.random(in: 0..<1, using: &rng) * mass
        for i in order[..<kept] {
            u -= probs[i]
            if u < 0 { return i }
        }
        return order[kept - 1]
    }

    /// softmax(logits / temperature) in Double. [vocab]
    public static func softmax(_ logits: [Float], temperature: Float = 1) -> [Double] {
        let m = Double(logits.max() ?? 0), t = Double(temperature)
        var out = logits.map { exp((Double($0) - m) / t) }
        let sum = out.reduce(0, +)
        for i in out.indices { out[i] /= sum }
        return out
    }
}

/// Sampling's generator is the engine's SplitMix64 (`RankStatistics.swift`): its stream depends
/// only on its seed (the same on every platform), so a sampled continuation is reproducible from
/// the seed shown with it.
public typealias SeededGenerator = SplitMix64
