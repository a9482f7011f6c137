/// Why a tokenizer could not be built.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case emptyVocabulary
    /// The file's tokenizer model is not one this program implements ("gpt2", byte-level BPE, and
    /// "llama", llama.cpp's SentencePiece tokenizer, are).
    case unsupportedModel(String)
    /// A metadata key the tokenizer needs is absent or has the wrong type.
    case missingMetadata(key: String, expected: String)
    /// The per-token type list does not have one entry per token.
    case tokenTypeCountMismatch(tokens: Int, types: Int)
    /// A merge rule is not two tokens separated by a space.
    case malformedMerge(index: Int, merge: String)
    /// A merge rule names a token (or makes one) that is not in the vocabulary.
    case mergeUnknownToken(index: Int, merge: String, token: String)
    /// A special-token id (bos, eos, …) is outside the vocabulary.
    case specialIDOutOfRange(name: String, id: Int, vocabSize: Int)

    public var description: String {
        switch self {
        case .emptyVocabulary:
            return "the tokenizer vocabulary is empty"
        case .unsupportedModel(let model):
            return "tokenizer model \"\(model)\" is not supported (\"gpt2\", byte-level BPE, and \"llama\", SentencePiece, are)"
        case .missingMetadata(let key, let expected):
            return "tokenizer metadata \(key) is missing or is not \(expected)"
        case .tokenTypeCountMismatch(let tokens, let types):
            return "the tokenizer has \(tokens) tokens but \(types) token types"
        case .malformedMerge(let index, let merge):
            return "merge #\(index) \"\(merge)\" is not two tokens separated by a space"
        case .mergeUnknownToken(let index, let merge, let token):
            return "merge #\(index) \"\(merge)\" names \"\(token)\", which is not in the vocabulary"
        case .specialIDOutOfRange(let name, let id, let vocabSize):
            return "the \(name) token id \(id) is outside the vocabulary (size \(vocabSize))"
        }
    }
}
