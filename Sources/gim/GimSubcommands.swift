import ArgumentParser

/// The subcommands of `gim`, in help order; the explorer is the default when it exists.
enum GimSubcommands {
    static let all: [ParsableCommand.Type] = [Explore.self, Predict.self, Generate.self, Explain.self, Components.self, Evaluate.self, Bench.self, Info.self, Convert.self]
    static let defaultCommand: ParsableCommand.Type? = Explore.self
}
