import ArgumentParser

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
        BLASKernelSelection.reexecIfBeneficial()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
