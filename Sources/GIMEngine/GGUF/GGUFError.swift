/// Everything that can be wrong with a GGUF file, each with a message naming the file and the problem.
public struct GGUFError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Equatable, Sendable {
        case cannotOpen, notGGUF, unsupportedVersion, truncated, badValue, unsupportedType, missing
    }
    public let kind: Kind
    public let path: String
    public let detail: String

    public init(_ kind: Kind, path: String, _ detail: String) {
        self.kind = kind
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }
}
