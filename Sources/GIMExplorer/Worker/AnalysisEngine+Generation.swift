import Foundation
import GIMEngine

/// Continuations: generating one with the KV cache (streamed token by token), scoring one the
/// user gave (teacher forcing), and the matrix of every continuation token's attribution.
/// Everything is attributed on one forward pass of prompt + continuation: a token's
/// attribution over the tokens before it is exactly an explain of that prefix with the token
/// as target (causal attention), so walking the tokens or turning a knob runs backwards only.
extension AnalysisEngine {
    /// Whether chat mode works with this model: the template family's name, or why not.
    public func chatAvailability() -> GenerationEvent {
        do {
            let template = try bundle.chatTemplate()
            return .chatTemplate(family: template.family.displayName, problem: nil)
        } catch {
            return .chatTemplate(family: nil, problem: "\(error)")
        }
    }

    /// Answers a generation request, posting `.started`, one `.token` per token and `.finished`.
    /// `isCancelled` is asked before each generated token (Esc, a newer request).
    public func continuation(_ r: GenerationRequest, isCancelled: () -> Bool,
                             post: (GenerationEvent) -> Void) throws {
        let promptIDs = try encode(r.prompt, chat: r.chat)
        guard !promptIDs.isEmpty else { throw ModelError.badInput("the prompt has no tokens") }
        let tokenizer = bundle.tokenizer
        func shown(_ id: Int, _ p: Double) -> ContinuationToken {
            ContinuationToken(id: id, text: tokenizer.displayText(id), probability: p, isSpecial: tokenizer.isSpecial(id))
        }
        switch r.kind {
        case .generate(let maxTokens, let sampling):
            post(.started(requestID: r.id, promptTokenCount: promptIDs.count))
            let settings = GenerationSettings(maxTokens: maxTokens, sampling: sampling, stopTokenIDs: bundle.stopTokenIDs)
            let g = try Generator.generate(model: bundle.model, prompt: promptIDs, settings: settings,
                                           isCancelled: isCancelled) { t in
                post(.token(requestID: r.id, shown(t.id, t.probability)))
            }
            let perSecond = g.seconds > 0 && !g.tokens.isEmpty ? Double(g.tokens.count) / g.seconds : nil
            post(.finished(requestID: r.id, stop: g.stop.rawValue, tokensPerSecond: perSecond))
        case .force(let text):
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            guard !ids.isEmpty else { throw ModelError.badInput("the given continuation has no tokens") }
            // One forward of prompt + given tokens, kept: the attributions that follow reuse it.
            let (s, _) = try keptSession(SequenceKey(prompt: r.prompt, chat: r.chat, continuation: ids))
            post(.started(requestID: r.id, promptTokenCount: promptIDs.count))
            for (j, id) in ids.enumerated() {
                let probabilities = Self.softmax(try s.logits(at: promptIDs.count + j - 1))
                post(.token(requestID: r.id, shown(id, probabilities[id])))
            }
            post(.finished(requestID: r.id, stop: "given", tokensPerSecond: nil))
        }
    }

    /// Every continuation token's attribution over the tokens before it with the request's
    /// method (the focused pane's) and with the plain gradient, one `.matrixRow` per token (the
    /// plain rows are kept while only the method or its knobs change). `isCancelled` is asked
    /// before each row and between a backward's layers.
    public func matrix(_ r: MatrixRequest, isCancelled: @escaping @Sendable () -> Bool,
                       post: (GenerationEvent) -> Void) throws {
        let (s, _) = try keptSession(SequenceKey(prompt: r.prompt, chat: r.chat, continuation: r.continuation))
        let start = sessionPromptCount
        let cancellation = Cancellation(isCancelled)
        // GIM with every knob off is the plain gradient: computed once.
        var unnamed = r.method
        unnamed.name = AttributionMethod.plain.name
        let isPlain = unnamed == .plain
        for (j, id) in r.continuation.enumerated() {
            if isCancelled() { throw CancellationError() }
            let position = start + j - 1
            let a = try s.attribute(method: r.method, targetTokenID: id, targetPosition: position,
                                    baselineTokenID: baseline, cancellation: cancellation)
            guard a.isFinite else {
                throw ModelError.badInput("\(r.method.title): the attribution contains NaN or infinity (try less extreme knobs)")
            }
            let plain: [Float]
            if let kept = matrixPlainRows[j] {
                plain = kept
            } else if isPlain {
                plain = a.values
            } else {
                plain = try s.attribute(method: .plain, targetTokenID: id, targetPosition: position,
                                        baselineTokenID: baseline, cancellation: cancellation).values
            }
            matrixPlainRows[j] = plain
            post(.matrixRow(requestID: r.id, row: j, gim: a.values, plain: plain))
        }
    }
}
