/// What every architecture's forward pass checks and does first: the token ids are valid for
/// the model, and the attributed input `e` is the token-embedding rows (or given embeddings).
enum ForwardInput {
    /// Throws a clear message for an empty prompt, one longer than the context, or a token id
    /// outside the vocabulary. The length is otherwise limited by memory (`requireMemory`).
    static func validate(_ tokens: [Int], vocabSize: Int, contextLength: Int) throws {
        guard !tokens.isEmpty else { throw ModelError.badInput("the prompt has no tokens") }
        guard tokens.count <= contextLength else {
            throw ModelError.badInput("the prompt has \(tokens.count) tokens; the model's context holds \(contextLength)")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw ModelError.badInput("token id \(bad) is outside the vocabulary (0..<\(vocabSize))")
        }
    }

    /// Refuses up front a prompt whose kept activations and backward scratch (`bytes`, linear in
    /// its length) would not fit in the memory available. Short prompts skip the check.
    static func requireMemory(_ bytes: Int, tokens: Int) throws {
        guard tokens > 256 else { return }
        try MemoryCheck.require(bytes, for: "attributing a \(tokens)-token prompt", advice: "shorten the prompt")
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
