import CKernels

/// Allocator settings for programs built on the engine (the `gim` executable applies them at
/// start; the engine never does on its own, since they are process-wide).
///
/// Why: every prompt's forward pass allocates its activations afresh (~100 MB at 128 tokens).
/// glibc serves blocks that large with their own mappings and unmaps them on free, so each pass
/// page-faulted and zeroed all of it again — measured, the forward at 128 tokens ran 25–45 ms
/// slower than the backward, which reuses its buffers. Keeping freed memory lets a pass reuse
/// the pages of the one before; peak memory does not grow.
public enum HeapSettings {
    /// Returns whether the allocator took the settings (false off glibc).
    @discardableResult
    public static func keepFreedMemory() -> Bool { gim_keep_freed_memory() != 0 }

    /// Gives the freed memory kept by `keepFreedMemory` back to the system. With the heap never
    /// trimmed, a process's RSS is the high-water mark of everything it ever held: one long
    /// prompt's forward and backward (gigabytes) left a long-running explorer at that size for
    /// good. Call it when a large working set has been dropped. Returns whether anything was freed.
    @discardableResult
    public static func releaseFreeMemory() -> Bool { gim_release_free_memory() != 0 }
}
