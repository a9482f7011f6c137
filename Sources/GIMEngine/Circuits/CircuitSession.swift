import Foundation

/// Component attribution of one prompt against one counterfactual: the engine side of the
/// explorer's circuit view and of `gim components`.
///
///   score(c) = Σ_{t ≤ p, j} ∂L/∂a_c[t, j] · (a_c,clean[t, j] − a_c,corrupt[t, j])
///
/// (attribution patching) for every attention block, MLP block, head and residual position, with
/// GIM's backward or the plain gradient, and the truth it approximates, activation patching:
///
///   effect(c) = L(clean) − L(clean run with a_c replaced by a_c,corrupt)
///
/// L is logit(target) at position p, or logit(target) − logit(foil). Both have the same sign
/// convention: positive = the clean activation pushes L up relative to the counterfactual.
/// The forward passes are run once (in `init`); a knob change runs one backward (`scores`);
/// patching is memoized. Not thread-safe: use from one thread at a time.
public final class CircuitSession {
    public let clean: ExplainSession
    public let counterfactual: Counterfactual
    public let targetTokenID: Int
    public let foilTokenID: Int?
    /// Absolute position whose logits are explained.
    public let targetPosition: Int
    /// L on the clean run.
    public let cleanMetric: Float
    /// L on the corrupted prompt's run (nil for the mean counterfactual, which is no single run).
    public let corruptMetric: Float?
    /// Seconds the corrupted forward took (0 for the mean).
    public let corruptForwardSeconds: Double
    private let cleanActivations: ComponentActivations
    private let corruptActivations: ComponentActivations
    private var patchingMemo: PatchingResult?
    private var scoresMemo: [GIMSettings: ComponentMap] = [:]

    /// Runs the corrupted prompt's forward (or averages the clean activations). `targetTokenID`
    /// nil = the clean run's argmax at the target position. Throws a clear message when the
    /// corrupted prompt's length differs, or a token or position is out of range.
    public init(clean: ExplainSession, counterfactual: Counterfactual, targetTokenID: Int? = nil,
                targetPosition: Int = -1, foilTokenID: Int? = nil) throws {
        let model = clean.model
        let p = try clean.resolvePosition(targetPosition)
        let logits = try clean.logits(at: p)
        let target = targetTokenID ?? ExplainSession.argmax(logits)
        for (what, id) in [("target token id", target), ("foil token id", foilTokenID ?? 0)] where id < 0 || id >= model.vocabSize {
            throw ModelError.badInput("\(what) \(id) is outside the vocabulary (0..<\(model.vocabSize))")
        }
        self.clean = clean
        self.counterfactual = counterfactual
        self.targetTokenID = target
        self.foilTokenID = foilTokenID
        self.targetPosition = p
        func metric(_ l: [Float]) -> Float { l[target] - (foilTokenID.map { l[$0] } ?? 0) }
        cleanMetric = metric(logits)
        cleanActivations = try ComponentActivations(clean.cache, layers: model.layerCount)
        switch counterfactual {
        case .prompt(let ids):
            guard ids.count == clean.cache.length else {
                throw ModelError.badInput("the corrupted prompt has \(ids.count) tokens and the clean prompt \(clean.cache.length): "
                                          + "they must be aligned token by token (same number of tokens)")
            }
            let corrupt = try ExplainSession(model: model, tokenIDs: ids)
            corruptMetric = metric(try corrupt.logits(at: p))
            corruptForwardSeconds = corrupt.forwardSeconds
            corruptActivations = try ComponentActivations(corrupt.cache, layers: model.layerCount)
        case .meanOverPositions:
            corruptMetric = nil
            corruptForwardSeconds = 0
            corruptActivations = cleanActivations.meanOverPositions()
        }
    }

    public var model: CausalLanguageModel { clean.model }

    /// Attribution-patching scores of every component with `settings`' backward (`.plain` = the
    /// plain gradient): one backward pass, memoized per settings.
    public func scores(settings: GIMSettings) throws -> ComponentMap {
        if let m = scoresMemo[settings] { return m }
        let m = try computeScores(settings: settings)
        scoresMemo[settings] = m
        return m
    }

    private func computeScores(settings: GIMSettings) throws -> ComponentMap {
        let model = self.model, t = clean.cache.length, d = model.dim, hd = model.headDim, p = targetPosition
        var seed = [Float](repeating: 0, count: t * d)
        let row = BackwardSeed.row(model: model, pass: clean.cache, position: p, target: targetTokenID, foil: foilTokenID)
        for j in 0..<d { seed[p * d + j] = row[j] }
        var map = ComponentMap(layers: model.layerCount, heads: model.headCount, positions: t)
        let a = cleanActivations, b = corruptActivations
        /// Σ grad ⊙ (clean − corrupt) over `rows` and `cols` of a [T, width] activation.
        func score(_ grad: UnsafePointer<Float>, _ clean: [Float], _ corrupt: [Float], width: Int,
                   rows: ClosedRange<Int>, cols: Range<Int>) -> Float {
            var s: Float = 0
            for r in rows {
                for c in cols { s += grad[r * width + c] * (clean[r * width + c] - corrupt[r * width + c]) }
            }
            return s
        }
        _ = try clean.backward(seed: seed, settings: settings) { site, grad, width in
            switch site {
            case .blockOutput(let l):
                map.mlp[l] = score(grad, a.mlp[l], b.mlp[l], width: width, rows: 0...p, cols: 0..<width)
            case .attentionOutput(let l):
                map.attention[l] = score(grad, a.attention[l], b.attention[l], width: width, rows: 0...p, cols: 0..<width)
            case .headOutputs(let l):
                for h in 0..<map.heads[l].count {
                    map.heads[l][h] = score(grad, a.heads[l], b.heads[l], width: width, rows: 0...p, cols: h * hd..<(h + 1) * hd)
                }
            case .blockInput(let l):
                for pos in 0...p {
                    map.residual[l][pos] = score(grad, a.residual[l], b.residual[l], width: width, rows: pos...pos, cols: 0..<width)
                }
            }
        }
        return map
    }

    /// Activation patching of every component (heads, attention and MLP blocks, residual
    /// positions ≤ the target position), batched; memoized. `cancel` is polled between batches
    /// (a cancelled call throws `CancellationError` and memoizes nothing).
    public func patching(cancel: (() -> Bool)? = nil) throws -> PatchingResult {
        if let m = patchingMemo { return m }
        let model = self.model
        let patches = ComponentPatch.all(layers: model.layerCount, heads: model.headCount, positions: targetPosition + 1)
        let start = DispatchTime.now()
        let patched = try model.patchedMetrics(clean: clean.cache, source: corruptActivations, patches: patches,
                                               position: targetPosition, target: targetTokenID, foil: foilTokenID,
                                               cancel: cancel)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        var effects = ComponentMap(layers: model.layerCount, heads: model.headCount, positions: clean.cache.length)
        for (c, m) in zip(patches, patched) { effects[c] = cleanMetric - m }
        let result = PatchingResult(effects: effects, patchedMetrics: Dictionary(uniqueKeysWithValues: zip(patches, patched)),
                                    runs: patches.count, seconds: seconds)
        patchingMemo = result
        return result
    }

    /// Everything the circuit view shows, in one call: GIM (with `settings`) and plain-gradient
    /// scores, and, when `patching` is true, activation patching and each method's agreement with it.
    public func analyze(settings: GIMSettings, patching includePatching: Bool = true,
                        cancel: (() -> Bool)? = nil) throws -> CircuitAnalysis {
        try settings.validate()
        var start = DispatchTime.now()
        func lap() -> Double {
            let now = DispatchTime.now()
            defer { start = now }
            return Double(now.uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        }
        let gim = try scores(settings: settings)
        let gimSeconds = lap()
        let plain = try scores(settings: .plain)
        let plainSeconds = lap()
        let truth = includePatching ? try patching(cancel: cancel) : nil
        return CircuitAnalysis(tokenIDs: clean.tokenIDs, counterfactual: counterfactual, targetTokenID: targetTokenID,
                               foilTokenID: foilTokenID, targetPosition: targetPosition, cleanMetric: cleanMetric,
                               corruptMetric: corruptMetric, settings: settings, gim: gim, plain: plain,
                               patching: truth,
                               gimAgreement: truth.map { ComponentAgreements(gim, patching: $0.effects) },
                               plainAgreement: truth.map { ComponentAgreements(plain, patching: $0.effects) },
                               gimSeconds: gimSeconds, plainSeconds: plainSeconds)
    }
}

/// Activation patching of every component.
public struct PatchingResult: Sendable {
    /// L(clean) − L(patched) per component (positions after the target are 0: never patched).
    public let effects: ComponentMap
    /// L of each patched run.
    public let patchedMetrics: [ComponentPatch: Float]
    /// Number of patched runs and the seconds they took together.
    public let runs: Int
    public let seconds: Double
}

/// The circuit view's data: layers × heads grids, attention/MLP per layer and the residual
/// layers × tokens map for GIM and the plain gradient, patching and the agreements when computed.
public struct CircuitAnalysis: Sendable {
    public let tokenIDs: [Int]
    public let counterfactual: Counterfactual
    public let targetTokenID: Int
    public let foilTokenID: Int?
    public let targetPosition: Int
    /// L on the clean run, and on the corrupted prompt's run (nil for the mean counterfactual).
    public let cleanMetric: Float
    public let corruptMetric: Float?
    public let settings: GIMSettings
    public let gim: ComponentMap
    public let plain: ComponentMap
    public let patching: PatchingResult?
    public let gimAgreement: ComponentAgreements?
    public let plainAgreement: ComponentAgreements?
    /// Seconds of the GIM and plain backward passes (≈0 when memoized).
    public let gimSeconds: Double
    public let plainSeconds: Double
}
