import Foundation

/// Measures how faithful attributions of one prompt and target are, by rerunning the forward
/// with tokens replaced by the baseline (see `Faithfulness.swift` for the definitions).
///
/// Every perturbed input is a set of replaced positions; results are memoized per set, so the
/// reference (f(x), f(b), leave-one-out) and the random floor are computed once and a new
/// attribution (after a knob change) costs only the inputs it has not shared with earlier ones.
/// All inputs a call needs run through `batchLogits` together, `options.batchRows` stacked rows
/// per call. Thread-safe: calls are serialised by a lock, so a UI can call from a worker while
/// reading nothing but the returned values. `cancel` is polled between batched calls; when it
/// returns true the call throws `CancellationError` (memoized results are kept).
///
/// `@unchecked Sendable`: the mutable state (`memo`, `cachedReference`, `cachedRandom`,
/// `inputsRun`, `secondsSpent`) is read and written only while `lock` is held: every public
/// entry takes it and the `…Locked` internals run under it. Everything else is a constant.
public final class FaithfulnessEvaluator: @unchecked Sendable {
    public let model: CausalLanguageModel
    /// The prompt cut after the target position: n = targetPosition + 1 tokens.
    public let tokenIDs: [Int]
    public let targetTokenID: Int
    public let foilTokenID: Int?
    public let targetPosition: Int
    public let baselineTokenID: Int
    public let options: FaithfulnessOptions
    /// Positions that are perturbed: 0...targetPosition.
    public var positions: Int { tokenIDs.count }

    /// Perturbed inputs run so far and the seconds they took (for timing reports).
    public var forwardCount: Int { lock.withLock { inputsRun } }
    public var forwardSeconds: Double { lock.withLock { secondsSpent } }

    private let lock = NSLock()
    // Guarded by `lock`:
    /// replaced-position set → (f, p)
    private var memo: [[Bool]: (Double, Double)] = [:]
    private var cachedReference: FaithfulnessReference?
    private var cachedRandom: FaithfulnessScore?
    private var inputsRun = 0
    private var secondsSpent = 0.0

    /// `targetPosition` may be negative (−1 = last). Positions after it are dropped.
    public init(model: CausalLanguageModel, tokenIDs: [Int], targetTokenID: Int, targetPosition: Int = -1,
                foilTokenID: Int? = nil, baselineTokenID: Int, options: FaithfulnessOptions = .init()) throws {
        try options.validate()
        let t = tokenIDs.count
        let p = targetPosition < 0 ? t + targetPosition : targetPosition
        guard p >= 0 && p < t else {
            throw ModelError.badInput("target position \(targetPosition) is out of range for a \(t)-token prompt")
        }
        for (what, id) in [("target token id", targetTokenID), ("baseline token id", baselineTokenID),
                           ("foil token id", foilTokenID ?? 0)] + tokenIDs.map({ ("token id", $0) }) {
            guard id >= 0 && id < model.vocabSize else {
                throw ModelError.badInput("\(what) \(id) is outside the vocabulary (0..<\(model.vocabSize))")
            }
        }
        self.model = model
        self.tokenIDs = Array(tokenIDs[0...p])
        self.targetTokenID = targetTokenID
        self.foilTokenID = foilTokenID
        self.targetPosition = p
        self.baselineTokenID = baselineTokenID
        self.options = options
    }

    /// The evaluator for what `attribution` explains (same target, position, foil and baseline).
    public convenience init(model: CausalLanguageModel, attribution a: Attribution,
                            options: FaithfulnessOptions = .init()) throws {
        try self.init(model: model, tokenIDs: a.tokenIDs, targetTokenID: a.targetTokenID,
                      targetPosition: a.targetPosition, foilTokenID: a.foilTokenID,
                      baselineTokenID: a.baselineTokenID, options: options)
    }

    // MARK: Public measures

    /// f(x), f(b) and the leave-one-out effects (n + 2 inputs the first time, then memoized).
    public func reference(cancel: (() -> Bool)? = nil) throws -> FaithfulnessReference {
        try lock.withLock { try referenceLocked(cancel) }
    }

    /// The faithfulness of one attribution ([T] or [n] values; only the first n are used).
    public func score(_ values: [Float], cancel: (() -> Bool)? = nil) throws -> FaithfulnessScore {
        try scores([values], includeRandom: false, cancel: cancel).scores[0]
    }

    /// The random floor (nil when `options.randomOrders` is 0).
    public func randomFloor(cancel: (() -> Bool)? = nil) throws -> FaithfulnessScore? {
        try scores([], includeRandom: true, cancel: cancel).random
    }

    /// Several attributions and (optionally) the random floor, every needed input in one batch:
    /// what a batch evaluation calls once per prompt.
    public func scores(_ attributions: [[Float]], includeRandom: Bool = true,
                       cancel: (() -> Bool)? = nil) throws -> (scores: [FaithfulnessScore], random: FaithfulnessScore?) {
        try lock.withLock {
            let n = positions
            var orders: [[Int]] = []
            for values in attributions {
                guard values.count >= n else {
                    throw ModelError.badInput("the attribution has \(values.count) values; \(n) positions are evaluated")
                }
                guard values.prefix(n).allSatisfy(\.isFinite) else {
                    throw ModelError.badInput("the attribution contains NaN or infinity")
                }
                orders.append(Self.order(Array(values.prefix(n))))
            }
            let random = includeRandom && cachedRandom == nil ? randomOrders() : []
            // Every input, deduplicated, in one batched run.
            var needed = referenceMasks()
            for o in orders + random { needed += curveMasks(o) }
            try run(needed, cancel)
            let ref = try referenceLocked(cancel)
            let scored = zip(attributions, orders).map { score(values: $0.0.prefix(n).map(Double.init), order: $0.1, ref) }
            if includeRandom && cachedRandom == nil && !random.isEmpty {
                let each = random.map { o in
                    // A random order scored as the attribution a_t = n − rank(t).
                    var a = [Double](repeating: 0, count: n)
                    for (rank, t) in o.enumerated() { a[t] = Double(n - rank) }
                    return score(values: a, order: o, ref)
                }
                // Orders alternate π, reversed π: correlations from the π's only.
                cachedRandom = FaithfulnessScore.mean(each, correlationsFrom: stride(from: 0, to: each.count, by: 2).map { each[$0] })
            }
            return (scored, includeRandom ? cachedRandom : nil)
        }
    }

    /// The GIM paper's comprehensiveness and sufficiency of each attribution (`PaperFaithfulness`),
    /// every needed input in one batch (shared with the deletion/insertion curves' memo).
    public func paperScores(_ attributions: [[Float]], cancel: (() -> Bool)? = nil) throws -> [PaperFaithfulness] {
        try lock.withLock {
            let n = positions
            var orders: [[Int]] = []
            for values in attributions {
                guard values.count >= n, values.prefix(n).allSatisfy(\.isFinite) else {
                    throw ModelError.badInput("the attribution has fewer than \(n) values or contains NaN or infinity")
                }
                orders.append(Self.order(Array(values.prefix(n))))
            }
            let ck = PaperFaithfulness.comprehensivenessCounts(positions: n)
            let sk = PaperFaithfulness.sufficiencyCounts(positions: n)
            var needed = [[Bool](repeating: false, count: n)]
            for o in orders {
                needed += ck.map { deletionMask(o, $0) }
                // The bottom m of the order replaced = only the top n − m kept.
                needed += sk.map { insertionMask(o, n - $0) }
            }
            try run(needed, cancel)
            let fx = memo[[Bool](repeating: false, count: n)]!.0
            return orders.map { o in
                PaperFaithfulness(targetLogit: fx, comprehensivenessCounts: ck,
                                  comprehensivenessLogits: ck.map { memo[deletionMask(o, $0)]!.0 },
                                  sufficiencyCounts: sk, sufficiencyLogits: sk.map { memo[insertionMask(o, n - $0)]!.0 })
            }
        }
    }

    /// Positions sorted by value, largest first; ties by position.
    public static func order(_ values: [Float]) -> [Int] {
        values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
    }

    // MARK: Internals (called with the lock held)

    private func referenceLocked(_ cancel: (() -> Bool)?) throws -> FaithfulnessReference {
        if let r = cachedReference { return r }
        let n = positions
        try run(referenceMasks(), cancel)
        let none = memo[[Bool](repeating: false, count: n)]!, all = memo[[Bool](repeating: true, count: n)]!
        let loo = options.leaveOneOut ? (0..<n).map { t -> (Double, Double) in
            let (f, p) = memo[single(t)]!
            return (none.0 - f, none.1 - p)
        } : nil
        let r = FaithfulnessReference(positions: n, targetLogit: none.0, baselineLogit: all.0,
                                      targetProbability: none.1, baselineProbability: all.1,
                                      leaveOneOut: loo?.map(\.0), leaveOneOutProbability: loo?.map(\.1),
                                      minimumLogitDrop: options.minimumLogitDrop,
                                      minimumProbabilityDrop: options.minimumProbabilityDrop)
        cachedReference = r
        return r
    }

    private func single(_ t: Int) -> [Bool] {
        var m = [Bool](repeating: false, count: positions)
        m[t] = true
        return m
    }

    /// ∅, all positions, and (for leave-one-out) each position alone.
    private func referenceMasks() -> [[Bool]] {
        let n = positions
        return [[Bool](repeating: false, count: n), [Bool](repeating: true, count: n)]
            + (options.leaveOneOut ? (0..<n).map(single) : [])
    }

    /// Deletion: the first k of the order replaced. Insertion: all but the first k replaced.
    private func deletionMask(_ order: [Int], _ k: Int) -> [Bool] {
        var m = [Bool](repeating: false, count: positions)
        for t in order[0..<k] { m[t] = true }
        return m
    }
    private func insertionMask(_ order: [Int], _ k: Int) -> [Bool] {
        var m = [Bool](repeating: true, count: positions)
        for t in order[0..<k] { m[t] = false }
        return m
    }

    private func curveMasks(_ order: [Int]) -> [[Bool]] {
        options.curveCounts(positions).flatMap { [deletionMask(order, $0), insertionMask(order, $0)] }
    }

    private func score(values: [Double], order: [Int], _ ref: FaithfulnessReference) -> FaithfulnessScore {
        let counts = options.curveCounts(positions)
        func curve(_ mask: (Int) -> [Bool]) -> FaithfulnessCurve {
            let points = counts.map { memo[mask($0)]! }
            return FaithfulnessCurve(counts: counts, positions: positions, logits: points.map(\.0),
                                     probabilities: points.map(\.1))
        }
        let loo = positions >= 3 ? ref.leaveOneOut : nil
        return FaithfulnessScore(reference: ref, deletion: curve { self.deletionMask(order, $0) },
                                 insertion: curve { self.insertionMask(order, $0) },
                                 spearman: loo.flatMap { Statistics.spearman(values, $0) },
                                 pearson: loo.flatMap { Statistics.pearsonIfDefined(values, $0) })
    }

    /// `randomOrders` (rounded up to even) seeded orders in antithetic pairs (π, reversed π).
    private func randomOrders() -> [[Int]] {
        // The seed mixes the options' seed with the prompt, so different prompts get different orders.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ options.seed
        for id in tokenIDs + [targetPosition, targetTokenID] {
            h = (h ^ UInt64(truncatingIfNeeded: id)) &* 0x100_0000_01B3
        }
        var rng = SplitMix64(seed: h)
        var out: [[Int]] = []
        for _ in 0..<(options.randomOrders + 1) / 2 {
            let pi = Array(0..<positions).shuffled(using: &rng)
            out.append(pi)
            out.append(pi.reversed())
        }
        return out
    }

    /// Runs every mask not yet memoized, `batchRows` stacked rows per batched forward.
    private func run(_ masks: [[Bool]], _ cancel: (() -> Bool)?) throws {
        var seen = Set<[Bool]>()
        let todo = masks.filter { memo[$0] == nil && seen.insert($0).inserted }
        guard !todo.isEmpty else { return }
        let n = positions, d = model.dim
        var original = [Float](repeating: 0, count: n * d)
        var baseline = [Float](repeating: 0, count: d)
        let table = model.tokenEmbedding
        original.withUnsafeMutableBufferPointer { o in
            for (t, id) in tokenIDs.enumerated() { table.copyRow(id, into: o.baseAddress! + t * d) }
        }
        baseline.withUnsafeMutableBufferPointer { table.copyRow(baselineTokenID, into: $0.baseAddress!) }
        let perCall = max(1, options.batchRows / n)
        var start = 0
        while start < todo.count {
            if cancel?() == true { throw CancellationError() }
            let chunk = todo[start..<min(todo.count, start + perCall)]
            let inputs = chunk.map { mask -> [Float] in
                var x = original
                for t in 0..<n where mask[t] { x.replaceSubrange(t * d..<(t + 1) * d, with: baseline) }
                return x
            }
            let began = DispatchTime.now()
            let logits = try model.batchLogits(tokens: tokenIDs, embeddings: inputs, at: n - 1)
            secondsSpent += Double(DispatchTime.now().uptimeNanoseconds - began.uptimeNanoseconds) / 1e9
            inputsRun += inputs.count
            for (mask, l) in zip(chunk, logits) { memo[mask] = try measure(l) }
            start += perCall
        }
    }

    /// (f, p) from a row of logits: the target logit (minus the foil's) and its probability.
    private func measure(_ logits: [Float]) throws -> (Double, Double) {
        var mx = -Double.infinity
        for v in logits { mx = max(mx, Double(v)) }
        guard mx.isFinite else { throw ModelError.badInput("the perturbed forward produced NaN or infinite logits") }
        var sum = 0.0
        for v in logits { sum += exp(Double(v) - mx) }
        let logZ = mx + log(sum)
        func prob(_ id: Int) -> Double { exp(Double(logits[id]) - logZ) }
        let f = Double(logits[targetTokenID]) - (foilTokenID.map { Double(logits[$0]) } ?? 0)
        let p = prob(targetTokenID) - (foilTokenID.map(prob) ?? 0)
        guard f.isFinite else { throw ModelError.badInput("the perturbed forward produced a NaN target logit") }
        return (f, p)
    }
}
