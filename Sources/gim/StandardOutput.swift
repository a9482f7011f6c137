import Foundation

/// Writes out what `print` has buffered (and any other C output stream). `fflush(nil)` flushes
/// every output stream; Swift 6 refuses to read C's `stdout` global (shared mutable state to it),
/// so `fflush(stdout)` no longer compiles.
func flushStandardOutput() {
    fflush(nil)
}
