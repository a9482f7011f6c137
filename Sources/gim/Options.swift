import ArgumentParser
import Foundation
import GIMEngine

/// --model, shared by every command.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "A GGUF file, a Hugging Face model folder, or Owner/Name[@REVISION][:FILE.gguf] from the local Hugging Face cache (default: $GIM_MODEL or models/\(ModelBundle.defaultModelFile)).")
    var model: String?

    func load() throws -> ModelBundle {
        try ModelBundle.load(path: model ?? ModelBundle.defaultModelPath)
    }

    /// The file or folder `--model` names, a repo id resolved in the local Hugging Face cache
    /// (its notes, e.g. which GGUF was chosen, go to standard error now).
    func resolvedPath() throws -> String {
        try HFCache.resolve(model ?? ModelBundle.defaultModelPath, environment: ProcessInfo.processInfo.environment)
    }
}

/// The prompt: --prompt TEXT, --prompt-file PATH ('-' = standard input), or --token-ids.
struct PromptOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The prompt text.")
    var prompt: String?

    @Option(name: .long, help: "Read the prompt from a file ('-' for standard input).")
    var promptFile: String?

    @Option(name: .customLong("token-ids"), parsing: .upToNextOption, help: "Token ids instead of text (comma- or space-separated).")
    var tokenIDs: [String] = []

    @Flag(name: .long, help: "Chat mode: the prompt becomes the user's message in the model's chat template, with the assistant's turn opened (the target is the answer's first token).")
    var chat = false

    @Option(name: .long, help: "A system prompt for --chat (the template's default system prompt, if it has one, is used otherwise).")
    var system: String?

    /// The prompt's token ids and the prompt text (nil for --token-ids).
    func tokens(_ bundle: ModelBundle) throws -> (ids: [Int], text: String?) {
        let given = [prompt != nil, promptFile != nil, !tokenIDs.isEmpty].filter { $0 }.count
        guard given == 1 else {
            throw ValidationError(given == 0 ? "give a prompt with --prompt TEXT, --prompt-file PATH or --token-ids"
                                             : "give only one of --prompt, --prompt-file and --token-ids")
        }
        if !tokenIDs.isEmpty {
            let parts = tokenIDs.flatMap { $0.split(whereSeparator: { $0 == "," || $0 == " " }) }
            let ids = try parts.map { p -> Int in
                guard let v = Int(p) else { throw ValidationError("token id \"\(p)\" is not an integer") }
                return v
            }
            guard !chat else { throw ValidationError("--chat needs the prompt as text (--prompt or --prompt-file), not --token-ids") }
            return (ids, nil)
        }
        guard chat || system == nil else { throw ValidationError("--system is for chat mode: add --chat") }
        let text: String
        if let prompt {
            text = prompt
        } else {
            let path = promptFile!
            let data: Data
            if path == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let d = FileManager.default.contents(atPath: path) else {
                    throw ValidationError("cannot read prompt file \(path)")
                }
                data = d
            }
            guard let s = String(data: data, encoding: .utf8) else {
                throw ValidationError("the prompt is not valid UTF-8")
            }
            text = s
        }
        guard !text.isEmpty else { throw ValidationError("the prompt is empty") }
        if chat {
            do { return (try bundle.encodeChat(user: text, system: system), text) } catch let e as ChatTemplateError {
                throw ValidationError("\(e)")
            }
        }
        let ids = bundle.encode(text)
        guard !ids.isEmpty else { throw ValidationError("the prompt has no tokens") }
        return (ids, text)
    }
}

/// How generated tokens are chosen (gim generate, gim explain --generate). Named --sampling-temperature
/// so as not to be confused with GIM's backward softmax --temperature.
struct SamplingOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Sampling temperature of generation (0 = greedy, the default).")
    var samplingTemperature: Float = 0

    @Option(name: .long, parsing: .unconditional, help: "Nucleus sampling: sample among the most probable tokens holding this much probability (1 = all).")
    var topP: Float = 1

    @Option(name: .long, parsing: .unconditional, help: "Seed of the sampler (default: a random one, printed so the run can be repeated).")
    var seed: UInt64?

    var sampling: SamplingSettings {
        SamplingSettings(temperature: samplingTemperature, topP: topP, seed: seed ?? Self.randomSeed)
    }

    /// One random seed per process, so `sampling` is the same each time it is read.
    static let randomSeed = UInt64.random(in: 0...UInt64(UInt32.max))

    func validate() throws {
        do { try sampling.validate() } catch { throw ValidationError("\(error)") }
    }
}

/// Sampling settings in JSON output.
struct SamplingJSON: Encodable {
    let temperature, top_p: Double
    let seed: UInt64
    let greedy: Bool
    init(_ s: SamplingSettings) {
        temperature = Double("\(s.temperature)") ?? Double(s.temperature)
        top_p = Double("\(s.topP)") ?? Double(s.topP)
        seed = s.seed
        greedy = s.isGreedy
    }
}

/// GIM's knobs with the Python package's names and defaults.
struct KnobOptions: ParsableArguments {
    @Flag(name: .long, help: "Let gradients flow through norm statistics (GIM freezes them by default).")
    var noFreezeNorm = false

    @Option(name: .long, parsing: .unconditional, help: "Softmax temperature of the backward (1 = off).")
    var temperature: Float = GIMSettings.gim.softmaxTemperature

    @Option(name: .long, parsing: .unconditional, help: "Gradient scale at attention queries.")
    var qScale: Float = GIMSettings.gim.qScale

    @Option(name: .long, parsing: .unconditional, help: "Gradient scale at attention keys.")
    var kScale: Float = GIMSettings.gim.kScale

    @Option(name: .long, parsing: .unconditional, help: "Gradient scale at attention values.")
    var vScale: Float = GIMSettings.gim.vScale

    @Option(name: .long, parsing: .unconditional, help: "Gradient scale at the SwiGLU gate branch (1 = gim-explain ≤ 0.1.4).")
    var gateScale: Float = GIMSettings.gim.gateScale

    @Option(name: .long, parsing: .unconditional, help: "Gradient scale at the SwiGLU up branch (1 = gim-explain ≤ 0.1.4).")
    var upScale: Float = GIMSettings.gim.upScale

    @Option(name: .long, help: "Backward of the MLP's SiLU/GELU: gradient (act'(x)) or identity (act(x)/x, AttnLRP's rule).")
    var activationRule: ActivationRule = GIMSettings.gim.activationRule

    @Option(name: .long, help: "What the attribution subtracts from each embedding: token (the baseline token's) or zero (lxt's Σ e·grad).")
    var inputBaseline: InputBaseline = GIMSettings.gim.inputBaseline

    var settings: GIMSettings {
        GIMSettings(freezeNorm: !noFreezeNorm, softmaxTemperature: temperature, qScale: qScale, kScale: kScale,
                    vScale: vScale, gateScale: gateScale, upScale: upScale, activationRule: activationRule,
                    inputBaseline: inputBaseline)
    }

    func validate() throws {
        do { try settings.validate() } catch { throw ValidationError("\(error)") }
    }
}

/// GIM's knobs in JSON output, named as in the Python package: freeze_norm is a JSON boolean,
/// the others numbers (each Float written as its shortest decimal: 0.3, not 0.30000001192092896).
/// activation_rule and input_baseline are strings, written only when not GIM's defaults (so
/// the default output keeps its shape) unless `complete`.
struct KnobsJSON: Encodable, Equatable {
    let freeze_norm: Bool
    let softmax_temperature, q_scale, k_scale, v_scale, gate_scale, up_scale: Double
    let activation_rule: String?
    let input_baseline: String?

    init(_ s: GIMSettings, complete: Bool = false) {
        func d(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }
        freeze_norm = s.freezeNorm
        softmax_temperature = d(s.softmaxTemperature)
        q_scale = d(s.qScale); k_scale = d(s.kScale); v_scale = d(s.vScale)
        gate_scale = d(s.gateScale); up_scale = d(s.upScale)
        activation_rule = complete || s.activationRule != .gradient ? s.activationRule.rawValue : nil
        input_baseline = complete || s.inputBaseline != .token ? s.inputBaseline.rawValue : nil
    }
}

extension ActivationRule: ExpressibleByArgument {}
extension InputBaseline: ExpressibleByArgument {}

/// --method NAME[,NAME…] and --ig-steps: attribution methods by name (`AttributionMethod.named`).
struct MethodOptions: ParsableArguments {
    /// The methods of a comma-separated list, each with --ig-steps; nil for an empty list.
    static func parse(_ list: String, igSteps: Int) throws -> [AttributionMethod] {
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw ValidationError("give at least one method name (known: \(AttributionMethod.all.map(\.name).joined(separator: ", ")))") }
        var out: [AttributionMethod] = []
        for n in names {
            var m: AttributionMethod
            do { m = try AttributionMethod.named(n) } catch { throw ValidationError("\(error)") }
            m.steps = igSteps
            if !out.contains(m) { out.append(m) }
        }
        return out
    }

    static func validateSteps(_ steps: Int) throws {
        guard AttributionMethod.stepsRange.contains(steps) else {
            throw ValidationError("--ig-steps must be in \(AttributionMethod.stepsRange)")
        }
    }
}

/// One method's attribution in JSON: its name, kind and knobs, values and timing.
struct MethodJSON: Encodable {
    let method: String
    let title: String
    let kind: String
    let settings: KnobsJSON?
    let steps: Int?
    let seed: UInt64?
    let input_baseline: String?
    let attributions: [Float]
    let target_logit: Float
    let ms: Double

    init(_ a: Attribution) {
        let m = a.method
        method = m.name; title = m.title; kind = m.kind.rawValue
        settings = m.kind == .backward ? KnobsJSON(m.settings, complete: true) : nil
        steps = m.kind == .integratedGradients ? m.steps : nil
        seed = m.kind == .random ? m.seed : nil
        input_baseline = m.kind == .integratedGradients || m.kind == .occlusion ? m.settings.inputBaseline.rawValue : nil
        attributions = a.values; target_logit = a.targetLogit; ms = a.seconds * 1000
    }
}

/// Writes an Encodable value as pretty, key-sorted JSON to standard output.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write("\n".data(using: .utf8)!)
}

/// A token's text for a terminal: control characters and newlines made visible.
func visible(_ s: String) -> String {
    var out = ""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.properties.generalCategory == .control { out += String(format: "\\u{%X}", scalar.value) }
            else { out.unicodeScalars.append(scalar) }
        }
    }
    return out
}

/// Probabilities from logits (softmax in Double for stability).
func softmax(_ logits: [Float]) -> [Double] {
    let m = Double(logits.max() ?? 0)
    let e = logits.map { exp(Double($0) - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

func topTokens(_ logits: [Float], _ k: Int) -> [Int] {
    Array(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(k))
}
