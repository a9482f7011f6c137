import CKernels
import COpenBLAS
import Foundation

/// The engine's threads. Every hot loop (linear layers, attention heads, elementwise passes)
/// splits its work into `Parallel.threads` parts and runs them on the fork-join pool of
/// `CKernels/thread_pool.c`; OpenBLAS itself runs single-threaded inside each part.
///
/// Why not OpenBLAS's own threads: at prompt lengths of 8–128 tokens a GEMM is a few hundred
/// microseconds, OpenBLAS's split of such small problems gains little, and everything between
/// the GEMMs (attention per head, softmax, SiLU, norms) ran on one core while OpenBLAS's idle
/// worker spun on the other (measured: ~16% of CPU time in sched_yield at 128 tokens).
///
/// Threading rules (Swift 6 cannot check them: the body reaches the pool through a C function
/// pointer, so it is not `@Sendable`; `ConcurrencyTests` runs each of them under ThreadSanitizer):
/// - the body of `forEachPart`/`forEachRange` runs on several threads at once; its parts write
///   disjoint memory and read only memory no part writes. The call returns after every part has
///   finished, so what the body captures (pointers into the caller's buffers) outlives the job;
/// - the pool runs one job at a time: a job started from another thread meanwhile, or from
///   inside a part, runs all its parts on its own thread, in order (same results, no deadlock);
/// - `setThreads` may be called from any thread: it waits for the running job to finish.
public enum Parallel {
    /// Threads the engine uses: $GIM_THREADS when set (1…64), else the CPUs this process may run on.
    public static var threads: Int {
        _ = configured
        return gim_pool_size()
    }

    /// Changes the thread count (1…64). Safe during another thread's pass (it waits for the job
    /// in flight), but results of a pass only stay bit-identical run to run with a fixed count.
    public static func setThreads(_ n: Int) {
        _ = configured
        gim_pool_set_size(max(1, min(64, n)))
    }

    private static let configured: Void = {
        // One rule for GIM_THREADS (EngineEnvironment); the CLI refuses a bad value before this
        // runs, a library user gets the CPU count and a warning.
        var requested: Int?
        do { requested = try EngineEnvironment.threads(ProcessInfo.processInfo.environment) } catch {
            FileHandle.standardError.write(Data("warning: \(error); using the CPU count\n".utf8))
        }
        let n = requested ?? max(1, min(EngineEnvironment.threadRange.upperBound, ProcessInfo.processInfo.activeProcessorCount))
        openblas_set_num_threads(1)
        gim_pool_set_size(n)
    }()

    /// Runs `body(part, parts)` for every part of the pool at once and returns when all are done.
    /// Parts must write disjoint memory.
    public static func forEachPart(_ body: (_ part: Int, _ parts: Int) -> Void) {
        _ = configured
        withoutActuallyEscaping(body) { escaping in
            var closure = escaping
            withUnsafeMutablePointer(to: &closure) { pointer in
                gim_pool_run({ context, part, parts in
                    context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(part, parts)
                }, pointer)
            }
        }
    }

    /// Splits 0..<count into one contiguous range per part (boundaries multiples of `alignment`,
    /// empty ranges skipped) and runs `body` on them in parallel. Runs inline when the whole job is
    /// smaller than `minimumPerPart` per part, where waking a worker costs more than it saves.
    public static func forEachRange(_ count: Int, alignment: Int = 1, minimumPerPart: Int = 1,
                                    _ body: (Range<Int>) -> Void) {
        forEachRange(count, alignment: alignment, minimumPerPart: minimumPerPart) { _, r in body(r) }
    }

    /// `forEachRange` that also tells each range its part number (0..<threads; 0 when run
    /// inline), for parts that need their own scratch memory.
    public static func forEachRange(_ count: Int, alignment: Int = 1, minimumPerPart: Int = 1,
                                    _ body: (_ part: Int, _ range: Range<Int>) -> Void) {
        guard count > 0 else { return }
        let parts = threads
        if parts == 1 || count < 2 * max(1, minimumPerPart) {
            body(0, 0..<count)
            return
        }
        forEachPart { part, parts in
            let r = range(part, of: parts, count: count, alignment: alignment)
            if !r.isEmpty { body(part, r) }
        }
    }

    /// The `part`-th of `parts` contiguous slices of 0..<count, boundaries rounded to `alignment`.
    static func range(_ part: Int, of parts: Int, count: Int, alignment: Int) -> Range<Int> {
        let a = max(1, alignment)
        let units = (count + a - 1) / a
        let lo = min(count, (units * part / parts) * a)
        let hi = min(count, (units * (part + 1) / parts) * a)
        return lo..<hi
    }
}
