import Foundation

/// A setting of the environment the engine cannot use, in words.
public struct EngineEnvironmentError: Error, CustomStringConvertible, Equatable {
    public let description: String
}

/// The environment variables that tune the engine, with one rule each, read here and nowhere
/// else. The CLI checks them before anything runs (a typo is an error, exit 2); the engine reads
/// them with the same parser.
public enum EngineEnvironment {
    /// GIM_THREADS: a whole number of threads in this range.
    public static let threadRange = 1...64

    /// The thread count GIM_THREADS asks for: nil when unset, else a whole number from 1 to 64
    /// written in ASCII digits; anything else (a sign, spaces, 0, 65) is an error.
    public static func threads(_ env: [String: String]) throws -> Int? {
        guard let raw = env["GIM_THREADS"] else { return nil }
        guard !raw.isEmpty, raw.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(raw), threadRange.contains(n) else {
            throw EngineEnvironmentError(description: "GIM_THREADS must be a whole number of threads from \(threadRange.lowerBound) to \(threadRange.upperBound) (got \"\(raw)\")")
        }
        return n
    }

    /// GIM_LINEAR_KERNEL: "auto" (the default: the own AVX-512 kernels where the CPU has them) or
    /// "openblas" (OpenBLAS only); anything else is an error.
    public static func linearKernel(_ env: [String: String]) throws -> String {
        try kernelChoice(env, "GIM_LINEAR_KERNEL")
    }

    /// GIM_ATTENTION_KERNEL: the same choice for the attention's products (`attention_kernels.c`).
    public static func attentionKernel(_ env: [String: String]) throws -> String {
        try kernelChoice(env, "GIM_ATTENTION_KERNEL")
    }

    private static func kernelChoice(_ env: [String: String], _ variable: String) throws -> String {
        guard let k = env[variable] else { return "auto" }
        guard k == "openblas" || k == "auto" else {
            throw EngineEnvironmentError(description: "\(variable) must be \"openblas\" (use OpenBLAS only) or \"auto\" (got \"\(k)\")")
        }
        return k
    }

    /// Every variable above checked; the first problem is thrown.
    public static func check(_ env: [String: String]) throws {
        _ = try threads(env)
        _ = try linearKernel(env)
        _ = try attentionKernel(env)
    }
}
