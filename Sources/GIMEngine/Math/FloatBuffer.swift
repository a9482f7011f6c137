/// A fixed-size, heap-allocated Float32 buffer with a stable pointer, for weights, activations
/// and gradients. Unlike `[Float]` it never copies on write, so kernels and BLAS can hold its
/// pointer freely. Its shape is documented where each buffer is declared.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { pointer.deallocate() }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Values [start, start+length) as an array.
    public func slice(_ start: Int, _ length: Int) -> [Float] {
        precondition(start >= 0 && length >= 0 && start + length <= count)
        return Array(UnsafeBufferPointer(start: pointer + start, count: length))
    }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public func copy(from other: FloatBuffer) {
        precondition(other.count == count)
        pointer.update(from: other.pointer, count: count)
    }
}
