/// Finds the special (control and user-defined) tokens written literally in a text, like
/// Hugging Face's added tokens: scanning left to right, the longest special token starting at the
/// leftmost possible place wins, and the text between matches goes on to the pre-tokenizer.
/// Matching is on UTF-8 bytes, so it never depends on how Swift groups characters.
struct SpecialTokenSplitter: Sendable {
    enum Segment: Equatable {
        /// A byte range of plain text.
        case text(Range<Int>)
        /// A special token's id.
        case special(Int)
    }

    /// A byte trie: `children[node]` maps a byte to the next node; `tokenAt[node]` is the id
    /// of the token that ends at that node, or -1.
    private var children: [[UInt8: Int32]] = [[:]]
    private var tokenAt: [Int] = [-1]
    /// Bytes that can start a special token, so most positions are rejected at once.
    private var startsToken = [Bool](repeating: false, count: 256)

    var isEmpty: Bool { children[0].isEmpty }

    init(tokens: [(text: String, id: Int)]) {
        for (text, id) in tokens where !text.isEmpty {
            var node = 0
            for byte in text.utf8 {
                if let next = children[node][byte] {
                    node = Int(next)
                } else {
                    children.append([:])
                    tokenAt.append(-1)
                    let created = children.count - 1
                    children[node][byte] = Int32(created)
                    node = created
                }
            }
            // If two ids spell the same text, the first listed keeps it.
            if tokenAt[node] < 0 { tokenAt[node] = id }
            startsToken[Int(text.utf8.first!)] = true
        }
    }

    /// The id and byte length of the longest special token starting at `start`, if any.
    @inline(__always)
    private func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> (id: Int, length: Int)? {
        var node = 0
        var best: (id: Int, length: Int)?
        var i = start
        while i < bytes.count, let next = children[node][bytes[i]] {
            node = Int(next)
            i += 1
            if tokenAt[node] >= 0 { best = (tokenAt[node], i - start) }
        }
        return best
    }

    /// Cuts `bytes` into plain-text ranges and special tokens, in order.
    func segments(_ bytes: [UInt8]) -> [Segment] {
        if isEmpty { return bytes.isEmpty ? [] : [.text(0..<bytes.count)] }
        var out: [Segment] = []
        bytes.withUnsafeBufferPointer { buf in
            var textStart = 0
            var i = 0
            while i < buf.count {
                if startsToken[Int(buf[i])], let match = longestMatch(buf, at: i) {
                    if textStart < i { out.append(.text(textStart..<i)) }
                    out.append(.special(match.id))
                    i += match.length
                    textStart = i
                } else {
                    i += 1
                }
            }
            if textStart < buf.count { out.append(.text(textStart..<buf.count)) }
        }
        return out
    }
}
