/// What every architecture's forward pass checks and does first: the token ids are valid for
/// the model, and the attributed input `e` is the token-embedding rows (or given embeddings).
enum ForwardInput {
    /// The longest prompt a forward pass keeps activations for: attention scores and
    /// probabilities take 8·layers·heads·T² bytes (2.2 GB at 1024 tokens for SmolLM2).
    static let maxPromptTokens = 1024

    /// Throws a clear message for an empty prompt, one longer than the context or than
    /// `maxPromptTokens`, or a token id outside the vocabulary.
    static func validate(_ tokens: [Int], vocabSize: Int, contextLength: Int) throws {
        guard !tokens.isEmpty else { throw ModelError.badInput("the prompt has no tokens") }
        guard tokens.count <= contextLength else {
            throw ModelError.badInput("the prompt has \(tokens.count) tokens; the model's context holds \(contextLength)")
        }
        guard tokens.count <= maxPromptTokens else {
            throw ModelError.badInput("the prompt has \(tokens.count) tokens; at most \(maxPromptTokens) can be attributed (the kept attention activations grow with the square of the length)")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw ModelError.badInput("token id \(bad) is outside the vocabulary (0..<\(vocabSize))")
        }
    }

    /// e = embedding rows of `tokens` ([T, dim]) into `destination`, or `embeddings` when given.
    static func embed(_ tokens: [Int], table: WeightMatrix, dim d: Int, override embeddings: [Float]?,
                      into destination: FloatBuffer) throws {
        let t = tokens.count
        if let embeddings {
            guard embeddings.count == t * d else {
                throw ModelError.badInput("embeddings have \(embeddings.count) values, expected \(t * d)")
            }
            embeddings.withUnsafeBufferPointer { destination.pointer.update(from: $0.baseAddress!, count: t * d) }
        } else {
            for (row, id) in tokens.enumerated() {
                table.copyRow(id, into: destination.pointer + row * d)
            }
        }
    }
}
