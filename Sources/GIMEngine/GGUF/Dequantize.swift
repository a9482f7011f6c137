/// Turns GGUF tensor bytes into Float32. Block layouts are ggml-common.h's (no padding,
/// little-endian, f16 scales); every product is formed in Float32 in the order gguf-py's
/// `gguf.quants.dequantize` forms it, so results are bit-for-bit those of gguf-py (tested).
/// - Q8_0 `{f16 d; i8 qs[32]}`: x = q * d
/// - Q4_0 `{f16 d; u8 qs[16]}`: x = (q - 8) * d; low nibbles are elements 0..15, high 16..31
/// - Q4_1 `{f16 d; f16 m; u8 qs[16]}`: x = q * d + m; same nibble order
/// - Q5_0 `{f16 d; u8 qh[4]; u8 qs[16]}`: x = (q - 16) * d; q = nibble | bit j of qh (as a
///   little-endian u32) << 4 for element j, nibbles as in Q4_0
/// - Q5_1 `{f16 d; f16 m; u8 qh[4]; u8 qs[16]}`: x = q * d + m; q as in Q5_0
/// - Q2_K `{u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}`: 256 values in 16 groups of 16; group g
///   has scale d * (scales[g] & 15) and min dmin * (scales[g] >> 4); x = scale * q - min with
///   2-bit q: element 128h + 32k + l is bits 2k..2k+1 of qs[32h + l]
/// - Q3_K `{u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}`: 16 groups of 16 with 6-bit scales
///   s (low 4 bits in scales[0..7] nibbles, high 2 bits in scales[8..11]), x = d * (s - 32) * q;
///   q = 2-bit value as in Q2_K, minus 4 unless bit (element / 32) of hmask[element % 32] is set
/// - Q4_K `{f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}`: 256 values in 8 sub-blocks of 32,
///   each with a 6-bit scale and 6-bit min packed into `scales`; x = d·sc * q - dmin·m
/// - Q5_K `{f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}`: Q4_K plus a fifth bit:
///   bit i of qh[l] for element l of sub-block i
/// - Q6_K `{u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}`: 256 6-bit values in 16 groups of 16
/// - IQ4_NL `{f16 d; u8 qs[16]}`: x = d * kvalues_iq4nl[nibble]; nibbles as in Q4_0
/// - IQ4_XS `{f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}`: 8 sub-blocks of 32 with 6-bit
///   scales ls (low 4 bits: nibble i of scales_l, high 2: bits 2i..2i+1 of scales_h);
///   x = d * (ls - 32) * kvalues_iq4nl[nibble], each sub-block's 16 bytes ordered as in IQ4_NL
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
        case .q5_0:
            for b in 0..<blocks {
                let p = s + b * 22, out = y + b * 32
                let d = f16(p, 0)
                let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 6 + j, as: UInt8.self)
                    let lo = Int32(q & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
                    let hi = Int32(q >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                    out[j] = Float(lo - 16) * d
                    out[j + 16] = Float(hi - 16) * d
                }
            }
        case .q5_1:
            for b in 0..<blocks {
                let p = s + b * 24, out = y + b * 32
                let d = f16(p, 0), m = f16(p, 2)
                let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 8 + j, as: UInt8.self)
                    let lo = UInt32(q & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                    let hi = UInt32(q >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                    out[j] = Float(lo) * d + m
                    out[j + 16] = Float(hi) * d + m
                }
            }
        case .q2_K:
            for b in 0..<blocks {
                let p = s + b * 84, out = y + b * 256
                let d = f16(p, 80), dmin = f16(p, 82)
                let qs = p + 16
                for half in 0..<2 {  // 128 values: 32 bytes of qs, four 2-bit planes
                    let q = qs + 32 * half
                    for plane in 0..<4 {
                        let shift = UInt8(2 * plane)
                        for sub in 0..<2 {  // two groups of 16 per plane
                            let sc = p.load(fromByteOffset: 8 * half + 2 * plane + sub, as: UInt8.self)
                            let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                            let o = out + 128 * half + 32 * plane + 16 * sub
                            for l in 0..<16 {
                                let v = (q.load(fromByteOffset: 16 * sub + l, as: UInt8.self) >> shift) & 3
                                o[l] = dl * Float(v) - ml
                            }
                        }
                    }
                }
            }
        case .q3_K:
            for b in 0..<blocks {
                let p = s + b * 110, out = y + b * 256
                let hmask = p, qs = p + 32, sc = p + 96
                let d = f16(p, 108)
                for half in 0..<2 {
                    let q = qs + 32 * half
                    for plane in 0..<4 {
                        let shift = UInt8(2 * plane), hbit = UInt8(4 * half + plane)
                        for sub in 0..<2 {
                            let g = 8 * half + 2 * plane + sub
                            let low = (sc.load(fromByteOffset: g % 8, as: UInt8.self) >> UInt8(4 * (g / 8))) & 0x0F
                            let high = (sc.load(fromByteOffset: 8 + g % 4, as: UInt8.self) >> UInt8(2 * (g / 4))) & 3
                            let dl = d * Float(Int32(low | high << 4) - 32)
                            let o = out + 128 * half + 32 * plane + 16 * sub
                            for l in 0..<16 {
                                let k = 16 * sub + l
                                let v = Int32((q.load(fromByteOffset: k, as: UInt8.self) >> shift) & 3)
                                let h = (hmask.load(fromByteOffset: k, as: UInt8.self) >> hbit) & 1
                                o[l] = dl * Float(v - (h == 0 ? 4 : 0))
                            }
                        }
                    }
                }
            }
        case .q5_K:
            for b in 0..<blocks {
                let p = s + b * 176, out = y + b * 256
                let d = f16(p, 0), dmin = f16(p, 2)
                let sc = p + 4, qh = p + 16, qs = p + 48
                for group in 0..<4 {  // 64 values per group: two sub-blocks sharing 32 bytes of nibbles
                    let (s1, m1) = scaleMinK4(2 * group, sc)
                    let (s2, m2) = scaleMinK4(2 * group + 1, sc)
                    let d1 = d * Float(s1), o1 = dmin * Float(m1)
                    let d2 = d * Float(s2), o2 = dmin * Float(m2)
                    let b1 = UInt8(2 * group), b2 = UInt8(2 * group + 1)
                    let q = qs + 32 * group, o = out + 64 * group
                    for l in 0..<32 {
                        let byte = q.load(fromByteOffset: l, as: UInt8.self)
                        let h = qh.load(fromByteOffset: l, as: UInt8.self)
                        o[l] = d1 * Float(byte & 0x0F | ((h >> b1) & 1) << 4) - o1
                        o[l + 32] = d2 * Float(byte >> 4 | ((h >> b2) & 1) << 4) - o2
                    }
                }
            }
        case .iq4_nl:
            withUnsafePointer(to: kvaluesIQ4NL) { table in
                table.withMemoryRebound(to: Float.self, capacity: 16) { kv in
                    for b in 0..<blocks {
                        let p = s + b * 18, out = y + b * 32
                        let d = f16(p, 0)
                        for j in 0..<16 {
                            let q = p.load(fromByteOffset: 2 + j, as: UInt8.self)
                            out[j] = d * kv[Int(q & 0x0F)]
                            out[j + 16] = d * kv[Int(q >> 4)]
                        }
                    }
                }
            }
        case .iq4_xs:
            withUnsafePointer(to: kvaluesIQ4NL) { table in
                table.withMemoryRebound(to: Float.self, capacity: 16) { kv in
                    for b in 0..<blocks {
                        let p = s + b * 136, out = y + b * 256
                        let d = f16(p, 0)
                        let scalesH = p.loadUnaligned(fromByteOffset: 2, as: UInt16.self)
                        for ib in 0..<8 {
                            let low = (p.load(fromByteOffset: 4 + ib / 2, as: UInt8.self) >> UInt8(4 * (ib % 2))) & 0x0F
                            let high = UInt8(truncatingIfNeeded: scalesH >> UInt16(2 * ib)) & 3
                            let dl = d * Float(Int32(low | high << 4) - 32)
                            let q = p + 8 + 16 * ib, o = out + 32 * ib
                            for j in 0..<16 {
                                let byte = q.load(fromByteOffset: j, as: UInt8.self)
                                o[j] = dl * kv[Int(byte & 0x0F)]
                                o[j + 16] = dl * kv[Int(byte >> 4)]
                            }
                        }
                    }
                }
            }
        default:
            preconditionFailure("dequantize: \(type.name) is not supported")
        }
    }

    /// ggml's `kvalues_iq4nl`: the 16 non-linear levels IQ4_NL and IQ4_XS nibbles index
    /// (a tuple, so the table is read through a pointer without array bounds checks).
    static let kvaluesIQ4NL: (Float, Float, Float, Float, Float, Float, Float, Float,
                              Float, Float, Float, Float, Float, Float, Float, Float) =
        (-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)

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
