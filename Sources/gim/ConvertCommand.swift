import ArgumentParser
import Foundation
import GIMEngine

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a Llama-family GGUF model as a Hugging Face model folder.",
        discussion: """
        The folder gets config.json, model.safetensors (every tensor as F32, Hugging Face names, \
        q/k rows in rotate-half order), tokenizer.json and tokenizer_config.json. `gim` opens it \
        with --model FOLDER, and so does transformers (AutoModelForCausalLM.from_pretrained).
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, help: "The folder to write (created if needed; must be empty unless --force).") var out: String
    @Flag(name: .long, help: "Replace the files in a folder that is not empty.") var force = false
    @Flag(name: .long, help: "Print JSON.") var json = false

    struct Output: Encodable {
        let folder: String
        let name: String
        let tensors: Int
        let safetensors_bytes: Int
        let vocab_size: Int
        let merges: Int
        let seconds: Double
    }

    func run() throws {
        let path = try modelOptions.resolvedPath()
        let s = try HFFolderExport.writeLlama(ggufPath: path, to: out, overwrite: force)
        if json {
            return try printJSON(Output(folder: s.directory, name: s.name, tensors: s.tensorCount,
                                        safetensors_bytes: s.safetensorsBytes, vocab_size: s.vocabSize,
                                        merges: s.mergeCount, seconds: s.seconds))
        }
        print("wrote \(s.directory)/ from \(path)")
        print("  \(HFFolderExport.writtenFiles.joined(separator: ", "))")
        print(String(format: "  %@: %d layers, dim %d, %d tensors, %.0f MB of F32 safetensors, %d tokens, %d merges, %.1f s",
                     s.name, s.config.layers, s.config.dim, s.tensorCount, Double(s.safetensorsBytes) / 1e6,
                     s.vocabSize, s.mergeCount, s.seconds))
    }
}
