import Foundation
import XCTest
import GIMEngine
import GIMExplorer

/// Every `--json` output of `gim` (predict, generate, explain, evaluate, bench, info) and the
/// explorer's JSON export, produced for real on the tiny fixture models, validated against its
/// schema in `schemas/`. The commands run as the built `gim` binary (this target depends on it),
/// so the JSON is exactly what a user gets; the export runs through the explorer's own
/// AnalysisEngine and Exporter.
final class SchemaTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/GIMEngineTests/Fixtures")
    static let tinyLlama = fixtures.appendingPathComponent("hf/tiny-llama").path
    static let tinyGPT2 = fixtures.appendingPathComponent("hf/tiny-gpt2").path
    static let gemma2GGUF = fixtures.appendingPathComponent("families/gemma2/model.gguf").path
    static let llama3GGUF = fixtures.appendingPathComponent("families/llama3/model.gguf").path

    /// The gim binary built beside this test bundle ($GIM_BIN overrides).
    static var gim: String {
        if let p = ProcessInfo.processInfo.environment["GIM_BIN"] { return p }
        let here = Bundle.main.bundleURL
        let candidates = [here.appendingPathComponent("gim"), here.deletingLastPathComponent().appendingPathComponent("gim"),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("gim")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }?.path ?? candidates[0].path
    }

    func validator(_ name: String) throws -> JSONSchemaValidator {
        try JSONSchemaValidator(schemaFile: Self.root.appendingPathComponent("schemas/\(name).schema.json").path)
    }

    /// Runs gim with the arguments; fails the test on a non-zero exit. Returns standard output.
    func runGim(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.gim)
        process.arguments = arguments
        process.currentDirectoryURL = Self.root
        var env = ProcessInfo.processInfo.environment
        env["GIM_THREADS"] = "2"
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "gim \(arguments.joined(separator: " ")): \(String(decoding: errData, as: UTF8.self))",
                       file: file, line: line)
        return data
    }

    /// Validates `data` against schemas/NAME.schema.json; returns the parsed value.
    @discardableResult
    func assertValid(_ data: Data, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        let value = try JSONValue.parse(data)
        let errors = try validator(name).errors(value)
        XCTAssertEqual(errors, [], "\(name): \(String(decoding: data.prefix(400), as: UTF8.self))", file: file, line: line)
        return value
    }

    // MARK: The schemas themselves

    func testEverySchemaParsesAndUsesOnlyImplementedKeywords() throws {
        let dir = Self.root.appendingPathComponent("schemas")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".schema.json") }.sorted()
        XCTAssertEqual(names, ["bench", "components-pairs", "components", "evaluate-methods", "evaluate", "explain-continuation", "explain",
                               "export", "generate", "info", "predict"].map { $0 + ".schema.json" })
        for n in names {
            let schema = try JSONValue.parse(Data(contentsOf: dir.appendingPathComponent(n)))
            guard case .object(let top) = schema else { return XCTFail("\(n) is not an object") }
            XCTAssertEqual(top["$schema"], .string("https://json-schema.org/draft/2020-12/schema"), n)
            XCTAssertEqual(Self.unknownKeywords(schema), [], n)
        }
    }

    /// Keywords anywhere in a schema that the validator does not implement.
    static func unknownKeywords(_ schema: JSONValue, at path: String = "#") -> [String] {
        guard case .object(let s) = schema else { return [] }
        var out: [String] = []
        for (k, v) in s {
            if !JSONSchemaValidator.keywords.contains(k) && !JSONSchemaValidator.annotations.contains(k) { out.append("\(path)/\(k)") }
            switch k {
            case "properties", "$defs":
                if case .object(let children) = v { for (name, c) in children { out += unknownKeywords(c, at: "\(path)/\(k)/\(name)") } }
            case "items", "additionalProperties":
                out += unknownKeywords(v, at: "\(path)/\(k)")
            default: break
            }
        }
        return out
    }

    // MARK: Real outputs

    func testPredict() throws {
        try assertValid(runGim(["predict", "--model", Self.tinyLlama, "--prompt", "hello there", "--json"]), "predict")
        try assertValid(runGim(["predict", "--model", Self.llama3GGUF, "--prompt", "hello there", "--top-k", "3", "--json"]), "predict")
    }

    func testGenerate() throws {
        try assertValid(runGim(["generate", "--model", Self.tinyGPT2, "--prompt", "hello", "--max-tokens", "3", "--json"]), "generate")
        let sampled = try assertValid(runGim(["generate", "--model", Self.llama3GGUF, "--prompt", "hello", "--max-tokens", "4",
                                              "--sampling-temperature", "0.8", "--top-p", "0.9", "--seed", "7", "--json"]), "generate")
        guard case .object(let g) = sampled, case .object(let s)? = g["sampling"] else { return XCTFail("no sampling") }
        XCTAssertEqual(s["seed"], .number(7))
        XCTAssertEqual(g["kv_cache"], .bool(true))
    }

    func testExplain() throws {
        let plain = try assertValid(runGim(["explain", "--model", Self.tinyLlama, "--prompt", "hello there friend", "--json"]), "explain")
        guard case .object(let top) = plain, case .object(let settings)? = top["settings"] else { return XCTFail("no settings") }
        XCTAssertEqual(settings["freeze_norm"], .bool(true))
        let contrastive = try assertValid(runGim(["explain", "--model", Self.tinyLlama, "--prompt", "hello there friend",
                                                  "--target-position", "-2", "--foil-token-id", "5", "--no-freeze-norm", "--json"]), "explain")
        guard case .object(let c) = contrastive, case .object(let cs)? = c["settings"] else { return XCTFail("no settings") }
        XCTAssertEqual(cs["freeze_norm"], .bool(false))
        XCTAssertEqual(c["foil_token_id"], .number(5))
        try assertValid(runGim(["explain", "--model", Self.tinyGPT2, "--prompt", "hello there", "--json"]), "explain")
        try assertValid(runGim(["explain", "--model", Self.gemma2GGUF, "--prompt", "hello there", "--json"]), "explain")
        let words = try assertValid(runGim(["explain", "--model", Self.llama3GGUF, "--prompt", "hello there friend", "--aggregate", "words", "--json"]), "explain")
        guard case .object(let w) = words, case .array(let ws)? = w["words"], case .array(let wa)? = w["word_attributions"] else {
            return XCTFail("no words")
        }
        XCTAssertEqual(ws.count, wa.count)
        // --method: one entry per method with its settings; every method on GPT-2 and a Llama.
        let names = AttributionMethod.all.map(\.name).joined(separator: ",")
        for model in [Self.tinyLlama, Self.tinyGPT2] {
            let m = try assertValid(runGim(["explain", "--model", model, "--prompt", "hello there friend", "--method", names,
                                            "--ig-steps", "4", "--json"]), "explain")
            guard case .object(let o) = m, case .array(let list)? = o["methods"] else { return XCTFail("no methods") }
            XCTAssertEqual(list.count, AttributionMethod.all.count)
        }
        let lrp = try assertValid(runGim(["explain", "--model", Self.tinyLlama, "--prompt", "hello there friend",
                                          "--activation-rule", "identity", "--input-baseline", "zero", "--json"]), "explain")
        guard case .object(let l) = lrp, case .object(let ls)? = l["settings"] else { return XCTFail("no settings") }
        XCTAssertEqual(ls["activation_rule"], .string("identity"))
        XCTAssertEqual(ls["input_baseline"], .string("zero"))
        XCTAssertNil(settings["activation_rule"], "the default call keeps its shape")
    }

    func testExplainContinuation() throws {
        let generated = try assertValid(runGim(["explain", "--model", Self.llama3GGUF, "--prompt", "hello there", "--generate", "3",
                                                "--sampling-temperature", "0.7", "--seed", "3", "--json"]), "explain-continuation")
        guard case .object(let g) = generated, case .array(let rows)? = g["rows"] else { return XCTFail("no rows") }
        XCTAssertEqual(g["mode"], .string("generated"))
        XCTAssertFalse(rows.isEmpty)
        try assertValid(runGim(["explain", "--model", Self.gemma2GGUF, "--prompt", "hello there", "--continuation", " friend",
                                "--aggregate", "words", "--word-reduction", "max-abs", "--json"]), "explain-continuation")
    }

    func testComponents() throws {
        let prompt = try assertValid(runGim(["components", "--model", Self.tinyLlama, "--prompt", "hello there friend",
                                             "--corrupt", "hello there friend", "--foil-token-id", "5", "--json"]), "components")
        guard case .object(let top) = prompt, case .object(let patching)? = top["patching"] else { return XCTFail("no patching") }
        XCTAssertNotNil(patching["effects"])
        XCTAssertEqual(top["counterfactual"], .string("prompt"))
        let mean = try assertValid(runGim(["components", "--model", Self.gemma2GGUF, "--prompt", "hello there",
                                           "--mean-corrupt", "--target-position", "-2", "--json"]), "components")
        guard case .object(let m) = mean else { return XCTFail("not an object") }
        XCTAssertNil(m["corrupt_metric"])
        let scoresOnly = try assertValid(runGim(["components", "--model", Self.llama3GGUF, "--prompt", "hello there",
                                                 "--mean-corrupt", "--no-patching", "--json"]), "components")
        guard case .object(let s) = scoresOnly else { return XCTFail("not an object") }
        XCTAssertNil(s["patching"])
        XCTAssertNil(s["agreement"])
    }

    func testComponentsPairs() throws {
        let set = FileManager.default.temporaryDirectory.appendingPathComponent("gim-pairs-\(getpid()).jsonl")
        try Data("""
            {"clean": "hello there friend", "corrupt": "hello there friend", "target": " the", "foil": " a", "category": "test"}
            // a comment line
            {"clean": "one two three four", "corrupt": "one two three four", "target": " the"}

            """.utf8).write(to: set)
        defer { try? FileManager.default.removeItem(at: set) }
        try assertValid(runGim(["components", "--model", Self.tinyLlama, "--pairs", set.path, "--bootstrap", "100", "--json"]),
                        "components-pairs")
    }

    func testEvaluate() throws {
        let set = FileManager.default.temporaryDirectory.appendingPathComponent("gim-schema-\(getpid()).jsonl")
        try Data("""
            {"prompt": "hello there friend", "category": "greeting", "target": " the"}
            // a comment line
            {"prompt": "one two three four"}
            {"prompt": "x"}

            """.utf8).write(to: set)
        defer { try? FileManager.default.removeItem(at: set) }
        try assertValid(runGim(["evaluate", "--model", Self.tinyLlama, "--prompts", set.path, "--bootstrap", "100", "--json"]), "evaluate")
        try assertValid(runGim(["evaluate", "--model", Self.tinyLlama, "--prompts", set.path, "--bootstrap", "100",
                                "--methods", "gim,plain,attnlrp,cplrp,integrated-gradients,occlusion,random", "--ig-steps", "4",
                                "--json"]), "evaluate-methods")
    }

    func testBench() throws {
        try assertValid(runGim(["bench", "--model", Self.tinyLlama, "--lengths", "4,8", "--runs", "3", "--json"]), "bench")
    }

    func testInfo() throws {
        for model in [Self.tinyLlama, Self.tinyGPT2, Self.gemma2GGUF] {
            try assertValid(runGim(["info", "--model", model, "--json"]), "info")
            try assertValid(runGim(["info", "--model", model, "--json", "--all"]), "info")
        }
    }

    func testExplorerExport() throws {
        let engine = try AnalysisEngine(bundle: ModelBundle.load(path: Self.tinyLlama))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gim-schema-export-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let theme = try ThemeLoader.load(file: Self.root.appendingPathComponent("themes/dark.toml"))
        var date = Date(timeIntervalSince1970: 1_700_000_000)
        for request in [AnalysisRequest(id: 1, prompt: "hello there friend"),
                        AnalysisRequest(id: 2, prompt: "hello there friend", targetPosition: 1, foil: .id(5), settings: .plain)] {
            let result = try engine.analyze(request)
            for view in ExplorerState.View.allCases {
                date += 1
                let files = try Exporter.write(result, view: view, model: "tiny-llama", theme: theme, directory: dir, date: date)
                let json = try XCTUnwrap(files.first { $0.hasSuffix(".json") })
                try assertValid(Data(contentsOf: URL(fileURLWithPath: json)), "export")
            }
        }
        // A continuation token with the words and special-token fields, and the circuit view's
        // scores, patching and agreements (the mean over positions: no second prompt needed).
        let continuation = engine.bundle.tokenizer.encode(" friend indeed", addSpecialTokens: false)
        let walked = try engine.analyze(AnalysisRequest(id: 3, prompt: "hello there", methods: [.gim, .plain, .attnLRP],
                                                        continuation: continuation))
        XCTAssertNotNil(walked.continuationStart)
        let circuits = CircuitEngine(analysis: engine)
        var circuit = CircuitView()
        circuit.counterfactual = .meanOverPositions
        let scores = try circuits.scores(CircuitRequest(id: 1, prompt: "hello there friend", counterfactual: .meanOverPositions))
        circuit.result = scores
        circuit.patching = try circuits.patching(for: scores)
        let effects = try XCTUnwrap(circuit.patching?.effects)
        circuit.gimAgreement = ComponentAgreements(scores.gim, patching: effects)
        circuit.plainAgreement = ComponentAgreements(scores.plain, patching: effects)
        date += 1
        let files = try Exporter.write(walked, view: .heat, model: "tiny-llama", theme: theme, directory: dir, date: date,
                                       reduction: .maxAbs, circuit: circuit)
        let json = try XCTUnwrap(files.first { $0.hasSuffix(".json") })
        let data = try Data(contentsOf: URL(fileURLWithPath: json))
        try assertValid(data, "export")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["continuation_start", "special", "words", "word_reduction", "circuit"] {
            XCTAssertNotNil(object[key], "the export has \(key)")
        }
    }

    // MARK: A check that can fail

    func testBrokenOutputsFail() throws {
        let data = try runGim(["explain", "--model", Self.tinyLlama, "--prompt", "hello there", "--json"])
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(try validator("explain").errors(JSONValue.parse(data)), [])
        func errors(_ broken: String) throws -> [String] { try validator("explain").errors(JSONValue.parse(Data(broken.utf8))) }

        // The bug issue 18 names: a boolean written as 1.
        XCTAssertTrue(text.contains("\"freeze_norm\" : true"))
        XCTAssertEqual(try errors(text.replacingOccurrences(of: "\"freeze_norm\" : true", with: "\"freeze_norm\" : 1")),
                       ["$.settings.freeze_norm: expected boolean, found integer"])
        // A required field missing, an unexpected one, a string where numbers belong, a negative id.
        XCTAssertEqual(try errors(text.replacingOccurrences(of: "\"target_logit\"", with: "\"targetLogit\"")),
                       ["$: missing required \"target_logit\"", "$: unexpected property \"targetLogit\""])
        guard case .object(var top) = try JSONValue.parse(data) else { return XCTFail() }
        top["attributions"] = .array([.number(1), .string("2")])
        top["baseline_token_id"] = .number(-1)
        let e = try validator("explain").errors(.object(top))
        XCTAssertEqual(e, ["$.attributions[1]: expected number, found string", "$.baseline_token_id: -1.0 is below the minimum 0.0"])
        // Not JSON at all.
        XCTAssertThrowsError(try JSONValue.parse(Data("{\"a\": 1,}".utf8)))
    }
}
