import Foundation

/// What a generation run is asked to do.
public struct GenerationSettings: Sendable, Equatable {
    /// At most this many new tokens (the context length also stops it).
    public var maxTokens: Int
    public var sampling: SamplingSettings
    /// Tokens that end the answer (EOS, `<|im_end|>`): generated, kept, then the run stops.
    public var stopTokenIDs: Set<Int>
    /// Continue from kept keys and values (models that support it, `IncrementalDecoding`), or
    /// recompute the whole sequence's forward for every token (the reference the cache is tested
    /// against, and the benchmark's baseline).
    public var useKVCache: Bool

    public init(maxTokens: Int, sampling: SamplingSettings = .greedy, stopTokenIDs: Set<Int> = [], useKVCache: Bool = true) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopTokenIDs = stopTokenIDs
        self.useKVCache = useKVCache
    }
}

/// One generated token, as the stream reports it.
public struct GeneratedToken: Sendable, Equatable, Codable {
    public let id: Int
    /// Its position in the whole sequence (prompt + generated).
    public let position: Int
    /// Its probability under the model at temperature 1 (whatever the sampling temperature).
    public let probability: Double
    /// Its logit.
    public let logit: Float
}

public enum GenerationStop: String, Sendable, Codable {
    /// `maxTokens` reached.
    case length
    /// A stop token (EOS, end of turn) was generated.
    case stopToken = "stop-token"
    /// The cancellation hook said so.
    case cancelled
    /// The model's context is full.
    case context
}

/// The result of a generation run.
public struct Generation: Sendable {
    public let promptIDs: [Int]
    public let tokens: [GeneratedToken]
    public let stop: GenerationStop
    public let sampling: SamplingSettings
    /// Whether the KV cache was used (false when asked not to, or when the model has no `IncrementalDecoding`).
    public let usedKVCache: Bool
    /// Seconds from the first forward to the last token (prompt prefill included).
    public let seconds: Double

    public var generatedIDs: [Int] { tokens.map(\.id) }
    /// Prompt then generated ids.
    public var allIDs: [Int] { promptIDs + generatedIDs }
}

public enum Generator {
    /// Continues `prompt` token by token. `isCancelled` is asked before each token (Esc in the
    /// explorer, a deadline); `onToken` receives each token as soon as it is chosen (streaming).
    public static func generate(model: CausalLanguageModel, prompt: [Int], settings: GenerationSettings,
                                isCancelled: () -> Bool = { false },
                                onToken: (GeneratedToken) -> Void = { _ in }) throws -> Generation {
        try settings.sampling.validate()
        guard settings.maxTokens >= 0 else { throw ModelError.badInput("max tokens \(settings.maxTokens) must be ≥ 0") }
        try ForwardInput.validate(prompt, vocabSize: model.vocabSize, contextLength: model.contextLength)
        let start = DispatchTime.now()
        var rng = SeededGenerator(seed: settings.sampling.seed)
        let incremental = settings.useKVCache ? model as? IncrementalDecoding : nil
        let capacity = min(model.contextLength, prompt.count + settings.maxTokens)
        let cache = try incremental?.makeKVCache(capacity: capacity)
        var ids = prompt
        var out: [GeneratedToken] = []
        var stop = GenerationStop.length
        // Logits after the prompt: the KV cache's prefill, or a full forward.
        var pending = prompt
        while out.count < settings.maxTokens {
            if isCancelled() { stop = .cancelled; break }
            guard ids.count < model.contextLength else { stop = .context; break }
            let logits: [Float]
            if let incremental, let cache {
                logits = try incremental.extend(cache, with: pending)
            } else {
                logits = model.logits(try model.forwardPass(ids, embeddings: nil), at: ids.count - 1)
            }
            let next = settings.sampling.pick(logits, &rng)
            let probs = SamplingSettings.softmax(logits)
            let token = GeneratedToken(id: next, position: ids.count, probability: probs[next], logit: logits[next])
            ids.append(next)
            out.append(token)
            onToken(token)
            pending = [next]
            if settings.stopTokenIDs.contains(next) { stop = .stopToken; break }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return Generation(promptIDs: prompt, tokens: out, stop: stop, sampling: settings.sampling,
                          usedKVCache: cache != nil, seconds: seconds)
    }
}
