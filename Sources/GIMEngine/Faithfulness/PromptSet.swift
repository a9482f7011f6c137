import Foundation

/// A prompt of an evaluation set: one JSON object per line of a JSONL file,
/// `{"prompt": "...", "category": "...", "target": " token"}` ("category" and "target" optional;
/// "target" is the text of the expected next token, e.g. " Paris").
public struct EvaluationPrompt: Sendable, Codable, Equatable {
    public let prompt: String
    public let category: String?
    public let target: String?

    public init(prompt: String, category: String? = nil, target: String? = nil) {
        self.prompt = prompt
        self.category = category
        self.target = target
    }

    /// Reads a JSONL file; blank lines and lines starting with `//` are skipped. Errors name the line.
    public static func load(path: String) throws -> [EvaluationPrompt] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badInput("cannot read prompt set \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ModelError.badInput("\(path) is not valid UTF-8")
        }
        return try parse(text, name: path)
    }

    public static func parse(_ text: String, name: String = "prompt set") throws -> [EvaluationPrompt] {
        var out: [EvaluationPrompt] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("//") { continue }
            let p: EvaluationPrompt
            do {
                p = try JSONDecoder().decode(EvaluationPrompt.self, from: Data(line.utf8))
            } catch {
                throw ModelError.badInput("\(name):\(i + 1): expected a JSON object with a \"prompt\" string (\(error))")
            }
            guard !p.prompt.isEmpty else { throw ModelError.badInput("\(name):\(i + 1): the prompt is empty") }
            if let t = p.target, t.isEmpty { throw ModelError.badInput("\(name):\(i + 1): the target is empty") }
            out.append(p)
        }
        guard !out.isEmpty else { throw ModelError.badInput("\(name) holds no prompts") }
        return out
    }
}
