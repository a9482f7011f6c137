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
