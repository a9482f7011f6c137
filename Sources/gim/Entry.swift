import Foundation
import GIMEngine

/// Runs before anything else: if OpenBLAS chose generic kernels on a CPU that can run a faster
/// family, re-executes this program once with OPENBLAS_CORETYPE set (an explicit setting in the
/// environment is always respected). GIM_NO_REEXEC=1 disables it.
enum BLASKernelSelection {
    static func reexecIfBeneficial() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["GIM_NO_REEXEC"] == nil else { return }
        guard let core = BLASRuntime.recommendedCoreType(cpuFlags: BLASRuntime.cpuFlags(),
                                                         currentCore: BLASRuntime.coreName) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("GIM_NO_REEXEC", "1", 1)
        let args = CommandLine.arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cArgs.append(nil)
        execv("/proc/self/exe", &cArgs)
        // execv only returns on failure: carry on with the kernels we have.
    }
}

/// The environment variables that tune the engine, checked before anything runs so a typo is
/// an error rather than a silently ignored setting.
enum EngineEnvironment {
    static func problem(_ env: [String: String]) -> String? {
        if let t = env["GIM_THREADS"], Int(t).map({ (1...64).contains($0) }) != true {
            return "GIM_THREADS must be a whole number of threads from 1 to 64 (got \"\(t)\")"
        }
        if let k = env["GIM_LINEAR_KERNEL"], k != "openblas", k != "auto" {
            return "GIM_LINEAR_KERNEL must be \"openblas\" (use OpenBLAS only) or \"auto\" (got \"\(k)\")"
        }
        return nil
    }
}
