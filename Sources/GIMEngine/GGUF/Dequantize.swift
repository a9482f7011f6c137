/// Turns GGUF tensor bytes into Float32. Block layouts (no padding, little-endian, f16 scales):
/// - Q8_0 `{f16 d; i8 qs[32]}`: x = q * d
/// - Q4_0 `{f16 d; u8 qs[16]}`: x = (q - 8) * d; low nibbles are elements 0..15, high 16..31
/// - Q4_1 `{f16 d; f16 m; u8 qs[16]}`: x = q * d + m; same nibble order
/// - Q4_K `{f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}`: 256 values in 8 sub-blocks of 32,
///   each with a 6-bit scale and 6-bit min packed into `scales`
/// - Q6_K `{u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}`: 256 6-bit values in 16 groups of 16
public enum Dequantize {
    @inline(__always)
    static func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Dequantizes `src` (whole blocks of `type`) into `dst`, which holds blockSize values per block.
    public static func run(_ type: GGMLType, from src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        let blocks = dst.count / type.blockSize
        precondition(blocks * type.blockSize == dst.count && blocks * type.typeSize <= src.count, "dequantize: size mismatch")
        guard let s = src.baseAddress, let y = dst.baseAddress else { return }
        switch type {
        case .f32:
            for i in 0..<dst.count { y[i] = Float(bitPattern: s.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        case .f16:
            for i in 0..<dst.count { y[i] = f16(s, 2 * i) }
        case .bf16:
            for i in 0..<dst.count {
                y[i] = Float(bitPattern: UInt32(s.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        case .q8_0:
            for b in 0..<blocks {
                let p = s + b * 34, out = y + b * 32
                let d = f16(p, 0)
                for j in 0..<32 { out[j] = Float(Int8(bitPattern: p.load(fromByteOffset: 2 + j, as: UInt8.self))) * d }
            }
        case .q4_0:
            for b in 0..<blocks {
                let p = s + b * 18, out = y + b * 32
                let d = f16(p, 0)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 2 + j, as: UInt8.self)
                    out[j] = Float(Int(q & 0x0F) - 8) * d
                    out[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<blocks {
                let p = s + b * 20, out = y + b * 32
                let d = f16(p, 0), m = f16(p, 2)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 4 + j, as: UInt8.self)
                    out[j] = Float(q & 0x0F) * d + m
                    out[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q4_K:
            for b in 0..<blocks {
                let p = s + b * 144, out = y + b * 256
                let d = f16(p, 0), dmin = f16(p, 2)
                let sc = p + 4, qs = p + 16
                for group in 0..<4 {  // 64 values per group: two sub-blocks sharing 32 bytes of nibbles
                    let (s1, m1) = scaleMinK4(2 * group, sc)
                    let (s2, m2) = scaleMinK4(2 * group + 1, sc)
                    let d1 = d * Float(s1), o1 = dmin * Float(m1)
                    let d2 = d * Float(s2), o2 = dmin * Float(m2)
                    let q = qs + 32 * group, o = out + 64 * group
                    for l in 0..<32 {
                        let byte = q.load(fromByteOffset: l, as: UInt8.self)
                        o[l] = d1 * Float(byte & 0x0F) - o1
                        o[l + 32] = d2 * Float(byte >> 4) - o2
                    }
                }
            }
        case .q6_K:
            for b in 0..<blocks {
                let p = s + b * 210, out = y + b * 256
                let d = f16(p, 208)
                for half in 0..<2 {  // 128 values per half
                    let ql = p + 64 * half, qh = p + 128 + 32 * half, sc = p + 192 + 8 * half
                    let o = out + 128 * half
                    for l in 0..<32 {
                        let group = l / 16
                        let lo0 = ql.load(fromByteOffset: l, as: UInt8.self)
                        let lo1 = ql.load(fromByteOffset: l + 32, as: UInt8.self)
                        let h = qh.load(fromByteOffset: l, as: UInt8.self)
                        let q1 = Int(lo0 & 0x0F | ((h >> 0) & 3) << 4) - 32
                        let q2 = Int(lo1 & 0x0F | ((h >> 2) & 3) << 4) - 32
                        let q3 = Int(lo0 >> 4 | ((h >> 4) & 3) << 4) - 32
                        let q4 = Int(lo1 >> 4 | ((h >> 6) & 3) << 4) - 32
                        func scale(_ k: Int) -> Float { Float(Int8(bitPattern: sc.load(fromByteOffset: k, as: UInt8.self))) * d }
                        o[l] = scale(group) * Float(q1)
                        o[l + 32] = scale(group + 2) * Float(q2)
                        o[l + 64] = scale(group + 4) * Float(q3)
                        o[l + 96] = scale(group + 6) * Float(q4)
                    }
                }
            }
        default:
            preconditionFailure("dequantize: \(type.name) is not supported")
        }
    }

    /// The 6-bit scale and min of sub-block `j` (0..7) of a Q4_K block's packed 12 bytes.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (UInt8, UInt8) {
        func at(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 {
            return (at(j) & 63, at(j + 4) & 63)
        }
        return ((at(j + 4) & 0x0F) | ((at(j - 4) >> 6) << 4), (at(j + 4) >> 4) | ((at(j) >> 6) << 4))
    }
}
