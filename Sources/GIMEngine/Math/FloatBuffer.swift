/// A fixed-size, heap-allocated Float32 buffer with a stable pointer, for weights, activations
/// and gradients. Unlike `[Float]` it never copies on write, so kernels and BLAS can hold its
/// pointer freely. Its shape is documented where each buffer is declared.
///
/// Sharing rule (the compiler cannot see writes through `pointer`, hence `@unchecked`): a buffer
/// has one writer at a time and no reader while it is written. Weights are written only while
/// a model loads, before the model is returned; a forward cache's buffers only by the forward
/// pass that makes them; scratch only by the non-Sendable object that owns it (a backward pass,
/// an `ExplainSession`); and the parts of one `Parallel` job write disjoint ranges.
/// `ConcurrencyTests` exercises the rule under ThreadSanitizer.
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
