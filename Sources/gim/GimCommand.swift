import ArgumentParser
import GIMEngine
import Foundation

@main
struct Gim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gim",
        abstract: "GIM Explorer: see which prompt tokens drive a language model's next-token prediction.",
        discussion: """
        Attributions are GIM (Gradient Interaction Modifications, Edin et al. 2025): gradient × (input − baseline) \
        with a modified backward (frozen norms, softer softmax, scaled q/k/v and gate/up gradients), shown beside \
        the plain gradient. Every command takes --model (default: models/SmolLM2-135M-Instruct.Q4_1.gguf).
        """,
        subcommands: GimSubcommands.all,
        defaultSubcommand: GimSubcommands.defaultCommand
    )

    static func main() {
        // Swift repairs invalid UTF-8 in arguments silently; a prompt must not change unnoticed.
        for i in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[i], String(validatingCString: raw) != nil else {
                FileHandle.standardError.write("error: argument \(i) is not valid UTF-8\n".data(using: .utf8)!)
                Foundation.exit(2)
            }
        }
        do { try EngineEnvironment.check(ProcessInfo.processInfo.environment) } catch {
            FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
            Foundation.exit(2)
        }
        BLASKernelSelection.reexecIfBeneficial()
        HeapSettings.keepFreedMemory()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
