import Foundation

/// A JSON value as written: booleans stay booleans (1 is a number, never `true`), numbers keep
/// whether they were written as whole numbers.
indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses JSON text (RFC 8259; the whole input must be one value).
    static func parse(_ data: Data) throws -> JSONValue {
        var p = JSONParser(bytes: Array(data))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.error("text after the value") }
        return v
    }
}

struct JSONParseError: Error, CustomStringConvertible {
    let description: String
}

/// A small strict JSON parser (Foundation's bridges `true` and `1` to the same NSNumber).
private struct JSONParser {
    let bytes: [UInt8]
    var i = 0

    func error(_ what: String) -> JSONParseError { JSONParseError(description: "JSON: \(what) at byte \(i)") }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw error("expected \(word)") }
        i += w.count
        return v
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 256 else { throw error("nesting too deep") }
        guard i < bytes.count else { throw error("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw error("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "]") else { throw error("expected , or ]") }
                i += 1
                return .array(items)
            }
        case UInt8(ascii: "{"):
            i += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected :") }
                i += 1
                skipSpace()
                guard members[key] == nil else { throw error("duplicate key \"\(key)\"") }
                members[key] = try value(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw error("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "}") else { throw error("expected , or }") }
                i += 1
                return .object(members)
            }
        default:
            return .number(try number())
        }
    }

    mutating func number() throws -> Double {
        let start = i
        func digits() -> Int { let s = i; while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }; return i - s }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        guard digits() > 0 else { throw error("expected a value") }
        if bytes[intStart] == UInt8(ascii: "0") && i - intStart > 1 { throw error("leading zero") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") { i += 1; guard digits() > 0 else { throw error("digits after .") } }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw error("digits in the exponent") }
        }
        guard let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { throw error("bad number") }
        return d
    }

    mutating func string() throws -> String {
        i += 1  // the opening quote
        var out = [UInt8]()
        while true {
            guard i < bytes.count else { throw error("unterminated string") }
            let b = bytes[i]
            i += 1
            switch b {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            case UInt8(ascii: "\\"):
                guard i < bytes.count else { throw error("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw error("lone high surrogate")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("bad low surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw error("lone low surrogate")
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(code)!)).utf8))
                default: throw error("unknown escape")
                }
            default:
                guard b >= 0x20 else { throw error("control character in a string") }
                out.append(b)
            }
        }
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw error("bad \\u escape")
        }
        i += 4
        return v
    }
}

/// Validates JSON against the subset of JSON Schema (draft 2020-12) the documents in `schemas/`
/// use: type (a name or a list), properties, required, additionalProperties (false or a schema),
/// items, enum, minimum, maximum, minItems, maxItems, and $ref to "#/$defs/NAME". Annotations
/// ($schema, $id, $defs, title, description) are skipped; any other keyword is an error, so a
/// schema cannot silently rely on something this validator does not check.
struct JSONSchemaValidator {
    let root: JSONValue

    static let annotations: Set<String> = ["$schema", "$id", "$defs", "title", "description"]
    static let keywords: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "enum",
                                        "minimum", "maximum", "minItems", "maxItems", "$ref"]

    init(schema: JSONValue) { root = schema }

    init(schemaFile path: String) throws {
        root = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Every violation, as "path: what" (empty when the value is valid).
    func errors(_ value: JSONValue) -> [String] {
        var out: [String] = []
        check(value, against: root, at: "$", into: &out)
        return out
    }

    private func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#/$defs/"), case .object(let top) = root, case .object(let defs)? = top["$defs"] else { return nil }
        return defs[String(ref.dropFirst("#/$defs/".count))]
    }

    private static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let d): return d.rounded() == d && d.isFinite ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    private func check(_ value: JSONValue, against schema: JSONValue, at path: String, into out: inout [String]) {
        guard case .object(let s) = schema else {
            if case .bool(let b) = schema, !b { out.append("\(path): no value is allowed here") }
            return
        }
        for key in s.keys where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
            out.append("\(path): the schema uses \"\(key)\", which this validator does not implement")
        }
        if case .string(let ref)? = s["$ref"] {
            guard let target = resolve(ref) else { out.append("\(path): unresolvable $ref \(ref)"); return }
            check(value, against: target, at: path, into: &out)
        }
        if let t = s["type"] {
            let allowed: [String]
            switch t {
            case .string(let one): allowed = [one]
            case .array(let many): allowed = many.compactMap { if case .string(let n) = $0 { return n } else { return nil } }
            default: allowed = []
            }
            let actual = Self.typeName(value)
            let ok = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
            if !ok {
                out.append("\(path): expected \(allowed.joined(separator: " or ")), found \(actual)")
                return  // the other keywords would only repeat the problem
            }
        }
        if case .array(let options)? = s["enum"], !options.contains(value) {
            out.append("\(path): \(value) is not one of the allowed values")
        }
        if case .number(let x) = value {
            if case .number(let m)? = s["minimum"], x < m { out.append("\(path): \(x) is below the minimum \(m)") }
            if case .number(let m)? = s["maximum"], x > m { out.append("\(path): \(x) is above the maximum \(m)") }
        }
        if case .array(let items) = value {
            if case .number(let n)? = s["minItems"], Double(items.count) < n { out.append("\(path): \(items.count) items, fewer than \(Int(n))") }
            if case .number(let n)? = s["maxItems"], Double(items.count) > n { out.append("\(path): \(items.count) items, more than \(Int(n))") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() { check(item, against: itemSchema, at: "\(path)[\(i)]", into: &out) }
            }
        }
        if case .object(let members) = value {
            var props: [String: JSONValue] = [:]
            if case .object(let p)? = s["properties"] { props = p }
            if case .array(let req)? = s["required"] {
                for case .string(let name) in req where members[name] == nil { out.append("\(path): missing required \"\(name)\"") }
            }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let p = props[name] {
                    check(member, against: p, at: "\(path).\(name)", into: &out)
                } else if let extra = s["additionalProperties"] {
                    if case .bool(false) = extra { out.append("\(path): unexpected property \"\(name)\"") }
                    else { check(member, against: extra, at: "\(path).\(name)", into: &out) }
                }
            }
        }
    }
}
