import COpenBLAS
import Foundation

/// Which OpenBLAS kernels run. Debian's OpenBLAS (0.3.21) picks its kernels by CPU model and
/// falls back to the slow generic "Prescott" kernels on CPUs newer than it knows (seen here on
/// an AVX-512 Xeon: 64 GFLOP/s instead of ~300 with the SkylakeX kernels). The environment
/// variable OPENBLAS_CORETYPE overrides the choice, but only before the library initialises,
/// so the `gim` executable sets it and re-executes itself once (see `gim`'s entry point).
public enum BLASRuntime {
    /// The kernel family OpenBLAS is using now, e.g. "SkylakeX", "Haswell", "Prescott".
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// Threads the engine computes with (OpenBLAS itself runs single-threaded; see `Parallel`).
    public static var threads: Int { Parallel.threads }

    /// The kernel family to force for this CPU, or nil to keep OpenBLAS's own choice: only when
    /// OpenBLAS fell back to a generic core while the CPU's flags show a better family it has.
    public static func recommendedCoreType(cpuFlags: Set<String>, currentCore: String) -> String? {
        let generic: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge", "Katmai", "Coppermine", "Northwood", "Banias"]
        guard generic.contains(currentCore) else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The CPU flags of the first processor in /proc/cpuinfo (empty elsewhere).
    public static func cpuFlags(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) -> Set<String> {
        guard let text = cpuinfo else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }
}
