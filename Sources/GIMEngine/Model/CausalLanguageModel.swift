/// A decoder-only language model whose backward GIM can modify. Each architecture (Llama, ...)
/// implements its own forward pass, its own backward with GIM's knobs, and a cache type.
public protocol CausalLanguageModel: AnyObject, Sendable {
    /// e.g. "llama".
    var architecture: String { get }
    var vocabSize: Int { get }
    /// Width of the token embeddings and the residual stream.
    var dim: Int { get }
    var layerCount: Int { get }
    var headCount: Int { get }
    var headDim: Int { get }
    var contextLength: Int { get }
    var parameterCount: Int { get }
    /// [vocab, dim] token embedding rows: the `e` of the attribution is a row of this.
    var tokenEmbedding: WeightMatrix { get }
    /// [vocab, dim] output head: logits at position p = outputHead · hidden[p].
    var outputHead: WeightMatrix { get }
    /// ∂logit/∂raw logit of `token` at `position`: 1 unless the family soft-caps its logits
    /// (Gemma 2: l = tanh(raw/c)·c, slope 1/cosh²(raw/c), computed from the raw logit because
    /// 1 − (l/c)² cancels catastrophically when the cap saturates).
    func logitSlope(_ pass: ForwardPass, at position: Int, token: Int) -> Float

    /// The ordinary forward pass over `tokens`, keeping what the backward needs.
    /// `embeddings` ([T, dim]) replaces the token-embedding lookup when given.
    func forwardPass(_ tokens: [Int], embeddings: [Float]?) throws -> ForwardPass
    /// The same, polling `cancellation` between layers (throws `CancellationError`). The default
    /// never polls (models whose forward is always quick need not implement it).
    func forwardPass(_ tokens: [Int], embeddings: [Float]?, cancellation: Cancellation?) throws -> ForwardPass
    /// Raw logits at one position of a forward pass. [vocab]
    func logits(_ pass: ForwardPass, at position: Int) -> [Float]
    /// Scratch space for backward passes over prompts of `length` tokens.
    func makeBackward(length: Int) -> BackwardPass
    /// Logits at `position` of several same-length inputs given as embeddings (see the extension).
    func batchLogits(tokens: [Int], embeddings batch: [[Float]], at position: Int) throws -> [[Float]]
    /// ∂L/∂e of several same-length inputs given as embeddings, L = logit(target) (− logit(foil))
    /// at `position`, through the backward `settings` describe (Integrated Gradients' path points).
    /// [batch][(position+1)·dim]: rows after `position` cannot reach L and are cut.
    func batchGradients(tokens: [Int], embeddings batch: [[Float]], at position: Int, target: Int, foil: Int?,
                        settings: GIMSettings) throws -> [[Float]]

    /// Activation patching: for each patch, the clean run of `clean` with that one component's
    /// activation replaced by `source`'s, and the metric logit(target) [− logit(foil)] at
    /// `position` that results. [patches.count] (see `DecoderModel+Patching.swift`).
    func patchedMetrics(clean: ForwardPass, source: ComponentActivations, patches: [ComponentPatch], position: Int,
                        target: Int, foil: Int?, cancel: (() -> Bool)?) throws -> [Float]

    /// FLOPs of the forward over T tokens (plus one position's logits) and of the backward.
    func forwardFLOPs(tokens: Int) -> Double
    func backwardFLOPs(tokens: Int) -> Double
}

/// What a forward pass keeps: the input embeddings and every activation the backward needs.
public protocol ForwardPass: AnyObject, Sendable {
    var tokens: [Int] { get }
    /// [T, dim] the token embeddings that entered the model.
    var embeddings: FloatBuffer { get }
    /// The output of a component, [T, width] row-major, for attribution patching: the
    /// activation whose gradient the backward reports at `site` (for `.blockInput`, the residual
    /// stream entering the block). nil when the pass cannot provide it.
    func componentOutput(_ site: GradientSite) -> [Float]?
    /// Bytes held (for memory reports).
    var byteCount: Int { get }
}

extension ForwardPass {
    public var length: Int { tokens.count }
}

/// A backward pass with GIM's modifications, reusing its scratch buffers across calls.
public protocol BackwardPass: AnyObject {
    /// `seed` is [T, dim], the gradient at the final normalized hidden states; rows at or after
    /// `rows` must be zero (causality lets the backward skip them). Returns the gradient at the
    /// token embeddings, [T, dim], valid until the next call. `cancellation` is polled between
    /// layers (throws `CancellationError`; the pass can run again afterwards).
    func run(_ pass: ForwardPass, seed: FloatBuffer, rows: Int?, settings: GIMSettings,
             observer: GradientObserver?, cancellation: Cancellation?) throws -> FloatBuffer
}

extension BackwardPass {
    /// A backward nobody cancels.
    @discardableResult
    public func run(_ pass: ForwardPass, seed: FloatBuffer, rows: Int? = nil, settings: GIMSettings,
                    observer: GradientObserver? = nil) -> FloatBuffer {
        // Cannot throw: only a cancellation throws.
        try! run(pass, seed: seed, rows: rows, settings: settings, observer: observer, cancellation: nil)
    }
}

extension CausalLanguageModel {
    public func forwardPass(_ tokens: [Int], embeddings: [Float]?, cancellation: Cancellation?) throws -> ForwardPass {
        try forwardPass(tokens, embeddings: embeddings)
    }

    public func logitSlope(_ pass: ForwardPass, at position: Int, token: Int) -> Float { 1 }

    public func patchedMetrics(clean: ForwardPass, source: ComponentActivations, patches: [ComponentPatch], position: Int,
                               target: Int, foil: Int?, cancel: (() -> Bool)?) throws -> [Float] {
        throw ModelError.badInput("activation patching is not implemented for \(architecture) models (only the decoder families)")
    }

    /// Logits at `position` for several inputs of the same length, each given as embeddings
    /// ([T, dim] row-major), e.g. a prompt with some tokens replaced by the baseline. [batch][vocab]
    /// This default runs one forward pass per input; architectures may batch them into one GEMM.
    public func batchLogits(tokens: [Int], embeddings batch: [[Float]], at position: Int) throws -> [[Float]] {
        try batch.map { e in logits(try forwardPass(tokens, embeddings: e), at: position) }
    }
}
