/// The element encodings a GGUF tensor can have (ggml's `ggml_type` numbering).
/// Quantized types store `blockSize` values in `typeSize` bytes. Every type gguf-py 0.19 knows
/// is listed (so a file using one is read, sized and named); `canDequantize` says which ones
/// `Dequantize` decodes. Sizes are checked against gguf-py's `GGML_QUANT_SIZES` by the tests.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    /// ggml's name: "Q4_K", "IQ4_XS", "BF16".
    public var name: String { String(describing: self).uppercased() }

    /// The type with ggml's name `name` (case-insensitive), if any.
    public init?(name: String) {
        guard let t = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = t
    }

    /// Number of values in one block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: return 32
        case .nvfp4: return 64
        case .q1_0: return 128
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq3_s, .iq2_s,
             .iq4_xs, .iq1_m, .tq1_0, .tq2_0:
            return 256
        }
    }

    /// Bytes in one block (the packed C struct of ggml-common.h).
    public var typeSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8: return 1
        case .i64, .f64: return 8
        case .q4_0: return 2 + 16
        case .q4_1: return 2 + 2 + 16
        case .q5_0: return 2 + 4 + 16
        case .q5_1: return 2 + 2 + 4 + 16
        case .q8_0: return 2 + 32
        case .q8_1: return 4 + 4 + 32
        case .q2_K: return 256 / 16 + 256 / 4 + 2 + 2
        case .q3_K: return 256 / 8 + 256 / 4 + 12 + 2
        case .q4_K: return 2 + 2 + 12 + 128
        case .q5_K: return 2 + 2 + 12 + 32 + 128
        case .q6_K: return 128 + 64 + 16 + 2
        case .q8_K: return 4 + 256 + 2 * 16
        case .iq2_xxs: return 2 + 64
        case .iq2_xs: return 2 + 64 + 8
        case .iq3_xxs: return 2 + 96
        case .iq1_s: return 2 + 32 + 16
        case .iq4_nl: return 2 + 16
        case .iq3_s: return 2 + 64 + 32 + 8 + 4
        case .iq2_s: return 2 + 64 + 8 + 8
        case .iq4_xs: return 2 + 2 + 4 + 128
        case .iq1_m: return 32 + 16 + 8
        case .tq1_0: return 48 + 4 + 2
        case .tq2_0: return 64 + 2
        case .mxfp4: return 1 + 16
        case .nvfp4: return 4 + 32
        case .q1_0: return 2 + 16
        }
    }

    /// Bytes of `count` values; nil unless `count` is a whole number of blocks.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: typeSize)
        return overflow ? nil : bytes
    }

    /// The types `Dequantize` turns into Float32, in the order messages list them.
    public static let dequantizable: [GGMLType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1,
        .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs,
    ]

    /// Their names, for messages such as "tensor X uses quantization Y, which is not supported
    /// (supported: F32, F16, …)": `GGMLType.dequantizableNames.joined(separator: ", ")`.
    public static let dequantizableNames: [String] = dequantizable.map(\.name)

    /// "F32, F16, BF16, …": the supported list as one string.
    public static var dequantizableList: String { dequantizableNames.joined(separator: ", ") }

    /// Whether `Dequantize` can turn this type into Float32.
    public var canDequantize: Bool {
        switch self {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs:
            return true
        default:
            return false
        }
    }

    /// "tensor \"X\" uses quantization Y, which is not supported (supported: …)", for a tensor
    /// whose type is `typeName` (a `GGMLType.name`, or "type#N" for an unknown id).
    public static func unsupportedMessage(tensor: String, typeName: String) -> String {
        "tensor \"\(tensor)\" uses quantization \(typeName), which is not supported (supported: \(dequantizableList))"
    }
}
