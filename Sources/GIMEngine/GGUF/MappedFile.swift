#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. The bytes stay valid while this object lives.
/// `@unchecked Sendable`: every property is a constant and the bytes are never written after
/// `init` (a PROT_READ map, or a heap copy filled in `init`), so sharing it is only reading.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?
    /// True when `bytes` is a heap copy (from `init(bytes:name:)`) rather than a memory map.
    private let ownsHeapCopy: Bool
    /// Identity of the file when it was mapped (device, inode, size, modification time), to
    /// notice a file replaced or truncated while open: reading a mapped page past a truncated
    /// end would kill the process with SIGBUS.
    private let identity: [Int]

    /// An in-memory "file" (tests and fuzzing): the bytes are copied.
    public init(bytes source: [UInt8], name: String) {
        path = name
        ownsHeapCopy = true
        identity = []
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(source.count, 1), alignment: 64)
        source.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: source.count) } }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: source.count)
    }

    public init(path: String) throws {
        self.path = path
        ownsHeapCopy = false
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFError(.cannotOpen, path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw GGUFError(.cannotOpen, path: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError(.cannotOpen, path: path, "not a regular file")
        }
        let size = Int(st.st_size)
        identity = Self.identity(st)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError(.cannotOpen, path: path, "cannot map: \(String(cString: strerror(errno)))")
        }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    private static func identity(_ st: stat) -> [Int] {
        [Int(st.st_dev), Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)]
    }

    /// Throws if the file on disk is gone or no longer the one that was mapped.
    public func checkUnchanged() throws {
        guard !ownsHeapCopy else { return }
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw GGUFError(.cannotOpen, path: path, "the file disappeared while it was being read")
        }
        guard Self.identity(st) == identity else {
            throw GGUFError(.cannotOpen, path: path, "the file changed while it was being read; open it again")
        }
    }

    deinit {
        guard let base else { return }
        if ownsHeapCopy { base.deallocate() } else { munmap(base, bytes.count) }
    }
}
