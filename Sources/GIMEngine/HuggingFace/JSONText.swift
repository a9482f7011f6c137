/// A JSON value with ordered object keys, rendered the way Hugging Face files look (two-space
/// indentation; short arrays of scalars on one line). Used to write config.json and tokenizer.json.
public indirect enum JSONText {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONText])
    case object([(String, JSONText)])

    /// A Float as the shortest decimal that reads back to it (1e-05, not 9.99999974737875e-06).
    public static func float(_ x: Float) -> JSONText { .number(Double("\(x)") ?? Double(x)) }

    public func render() -> String {
        var out = ""
        write(into: &out, indent: 0)
        return out + "\n"
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    private func write(into out: inout String, indent: Int) {
        let pad = String(repeating: " ", count: indent + 2), closing = String(repeating: " ", count: indent)
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .number(let d):
            out += d.isFinite ? "\(d)" : "null"  // Swift's shortest round-trip form: 100000.0, 1e-05
        case .string(let s): out += SafeTensorsWriter.jsonString(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            if items.count <= 8 && items.allSatisfy(\.isScalar) {
                out += "["
                for (i, v) in items.enumerated() {
                    if i > 0 { out += ", " }
                    v.write(into: &out, indent: indent)
                }
                out += "]"
                return
            }
            out += "[\n"
            for (i, v) in items.enumerated() {
                out += pad
                v.write(into: &out, indent: indent + 2)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += closing + "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, (k, v)) in pairs.enumerated() {
                out += pad + SafeTensorsWriter.jsonString(k) + ": "
                v.write(into: &out, indent: indent + 2)
                out += i + 1 < pairs.count ? ",\n" : "\n"
            }
            out += closing + "}"
        }
    }
}
