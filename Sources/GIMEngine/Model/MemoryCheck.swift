import Foundation

/// Refuses, before anything is allocated, work that would not fit in this machine's memory:
/// a model killed by the OOM killer half-way through loading is the worst way to learn it.
public enum MemoryCheck {
    /// Bytes the kernel says can be allocated without swapping (/proc/meminfo MemAvailable,
    /// which counts reclaimable page cache, e.g. a model file already read once); nil where unknown.
    public static func availableBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kb = Int(fields[1]) { return kb * 1024 }
        }
        return nil
    }

    /// Throws a message with both figures when `bytes` exceed what is available; `advice` says
    /// what to try instead. `available` is for tests (nil = read the machine's).
    public static func require(_ bytes: Int, for what: String, advice: String = "", available: Int? = availableBytes()) throws {
        guard let available, bytes > available else { return }
        throw ModelError.badInput("\(what) needs about \(gigabytes(bytes)) of memory, but only \(gigabytes(available)) is available\(advice.isEmpty ? "" : "; " + advice)")
    }

    static func gigabytes(_ bytes: Int) -> String { String(format: "%.1f GB", Double(bytes) / 1e9) }
}
