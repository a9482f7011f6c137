/// Small statistics used by tests, metrics and reports.
public enum Statistics {
    /// Pearson correlation of two equal-length vectors (0 when either is constant).
    public static func pearson(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        let n = Double(a.count)
        guard n > 1 else { return 0 }
        let ma = a.reduce(0.0) { $0 + Double($1) } / n, mb = b.reduce(0.0) { $0 + Double($1) } / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in a.indices {
            let x = Double(a[i]) - ma, y = Double(b[i]) - mb
            sab += x * y; saa += x * x; sbb += y * y
        }
        guard saa > 0, sbb > 0 else { return 0 }
        return sab / (saa * sbb).squareRoot()
    }

    /// Median of a non-empty list.
    public static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
