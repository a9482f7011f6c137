/// Applies BPE merges to one piece's symbols: repeatedly merge the adjacent pair whose merge has
/// the lowest rank (the leftmost such pair on a tie), until no adjacent pair has a merge.
struct BPEMerger: Sendable {
    /// (left id << 32 | right id) -> (rank << 32 | merged id). Comparing the values compares ranks.
    let table: [UInt64: UInt64]

    static let noMerge = UInt64.max

    /// Pieces longer than this use the heap; shorter ones a linear scan, which is faster there.
    static let heapThreshold = 64

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    @inline(__always)
    func lookup(_ a: Int32, _ b: Int32) -> UInt64 {
        table[Self.key(a, b)] ?? Self.noMerge
    }

    /// Merges `symbols` (token ids) in place.
    func merge(_ symbols: inout [Int32]) {
        if symbols.count < 2 { return }
        if symbols.count > Self.heapThreshold {
            mergeWithHeap(&symbols)
        } else {
            mergeByScan(&symbols)
        }
    }

    /// Keeps the merge value of every adjacent pair and rescans it for the minimum each step:
    /// O(n²) but with tiny constants, ideal for the short pieces that ordinary text gives.
    func mergeByScan(_ symbols: inout [Int32]) {
        var pairs = [UInt64](repeating: Self.noMerge, count: symbols.count - 1)
        for k in 0..<pairs.count { pairs[k] = lookup(symbols[k], symbols[k + 1]) }
        while !pairs.isEmpty {
            var best = Self.noMerge
            var at = -1
            for k in 0..<pairs.count where pairs[k] < best {
                best = pairs[k]
                at = k
            }
            if at < 0 { break }
            symbols[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            symbols.remove(at: at + 1)
            pairs.remove(at: at)
            if at < pairs.count { pairs[at] = lookup(symbols[at], symbols[at + 1]) }
            if at > 0 { pairs[at - 1] = lookup(symbols[at - 1], symbols[at]) }
        }
    }

    /// A linked list of symbols and a min-heap of candidate merges keyed by (rank, position);
    /// stale heap entries are skipped when popped. O(n log n) for long pieces.
    func mergeWithHeap(_ symbols: inout [Int32]) {
        let n = symbols.count
        var sym = symbols
        var prev = [Int32](repeating: -1, count: n)
        var next = [Int32](repeating: -1, count: n)
        for i in 0..<n {
            prev[i] = Int32(i - 1)
            next[i] = i + 1 < n ? Int32(i + 1) : -1
        }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        heap.reserve(n)
        for i in 0..<(n - 1) {
            let v = lookup(sym[i], sym[i + 1])
            if v != Self.noMerge { heap.push((v >> 32) << 32 | UInt64(i)) }
        }
        while let top = heap.pop() {
            let rank = top >> 32
            let p = Int(top & 0xFFFF_FFFF)
            guard alive[p] else { continue }
            let q = Int(next[p])
            guard q >= 0 else { continue }
            let v = lookup(sym[p], sym[q])
            guard v != Self.noMerge, v >> 32 == rank else { continue }  // stale entry
            sym[p] = Int32(truncatingIfNeeded: v & 0xFFFF_FFFF)
            alive[q] = false
            let r = next[q]
            next[p] = r
            if r >= 0 { prev[Int(r)] = Int32(p) }
            let left = Int(prev[p])
            if left >= 0 {
                let lv = lookup(sym[left], sym[p])
                if lv != Self.noMerge { heap.push((lv >> 32) << 32 | UInt64(left)) }
            }
            if r >= 0 {
                let rv = lookup(sym[p], sym[Int(r)])
                if rv != Self.noMerge { heap.push((rv >> 32) << 32 | UInt64(p)) }
            }
        }
        symbols.removeAll(keepingCapacity: true)
        var i = 0
        while i >= 0 {
            symbols.append(sym[i])
            i = Int(next[i])
        }
    }
}

/// A binary min-heap of UInt64 keys.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func reserve(_ n: Int) { items.reserveCapacity(n) }

    mutating func push(_ x: UInt64) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var m = l
            if l + 1 < n && items[l + 1] < items[l] { m = l + 1 }
            if items[i] <= items[m] { break }
            items.swapAt(i, m)
            i = m
        }
        return first
    }
}
