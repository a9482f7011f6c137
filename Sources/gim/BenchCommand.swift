import ArgumentParser
import Foundation
import GIMEngine
import COpenBLAS

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure load, forward, backward, explain and knob-change times (median and min of several runs).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, parsing: .unconditional, help: "Prompt lengths in tokens (comma-separated).") var lengths = "8,32,128"
    @Option(name: .long, parsing: .unconditional, help: "Timed runs per measurement, after one warm-up (3-100).") var runs = 7
    @Flag(name: .long, help: "Print JSON.") var json = false
    @Flag(name: .long, help: "Also time the PyTorch reference (scripts/bench/bench_pytorch.py) on the same tokens and print ours/theirs.")
    var comparePytorch = false
    @Option(name: .long, help: "Python with torch and gguf for --compare-pytorch (default: $GIM_PYTHON, else .venv/bin/python of the repository as scripts/bench/setup-pytorch.sh creates it, else python3).")
    var python: String?

    func validate() throws {
        guard (3...100).contains(runs) else { throw ValidationError("--runs must be between 3 and 100") }
        guard parsedLengths != nil else { throw ValidationError("--lengths must be positive integers, e.g. 8,32,128") }
    }

    var parsedLengths: [Int]? {
        let v = lengths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return v.map { $0! }
    }

    struct Timing: Encodable { let median_ms: Double; let min_ms: Double; let gflops: Double? }
    struct Row: Encodable {
        let tokens: Int
        let forward: Timing, backward_gim: Timing, backward_plain: Timing, explain: Timing, knob_change: Timing
        let forward_gflop: Double, backward_gflop: Double
    }
    struct Output: Encodable {
        let model: String; let threads: Int; let load_ms: Double; let sgemm_gflops: Double
        let peak_rss_mb: Double; let rows: [Row]
        var pytorch: PyTorchResult?
    }
    struct PyTorchTiming: Codable { let median_ms: Double; let min_ms: Double }
    struct PyTorchRow: Codable { let forward: PyTorchTiming; let explain: PyTorchTiming; let explain_param_grads: PyTorchTiming }
    struct PyTorchResult: Codable { let torch: String; let threads: Int; let load_s: Double; let rows: [String: PyTorchRow] }

    /// Runs `body` once to warm up, then `runs` times; returns (median, min) in milliseconds.
    func time(_ body: () throws -> Void) rethrows -> (Double, Double) {
        try body()
        var samples: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now()
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
        }
        return (Statistics.median(samples), samples.min()!)
    }

    func timing(_ t: (Double, Double), flop: Double?) -> Timing {
        Timing(median_ms: t.0, min_ms: t.1, gflops: flop.map { $0 / (t.0 * 1e6) })
    }

    /// The machine's sgemm rate on 1024³ (the roofline for the engine's GEMMs), with OpenBLAS
    /// using all the engine's threads (the engine runs OpenBLAS single-threaded inside its own
    /// parallel parts, so the setting is restored afterwards).
    func sgemmGFLOPs() -> Double {
        openblas_set_num_threads(Int32(Parallel.threads))
        defer { openblas_set_num_threads(1) }
        let n = 1024
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let (median, _) = time {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b,
                        Int32(n), 0, &c, Int32(n))
        }
        return 2 * Double(n * n * n) / (median * 1e6)
    }

    func run() throws {
        let bundle = try modelOptions.load()
        let model = bundle.model
        let baseline = try bundle.inferredBaseline()
        // A long English text, cut to each length, so prompts are realistic token sequences.
        let text = String(repeating: "The quick brown fox jumps over the lazy dog while the old farmer watches from the porch, counting 12 sheep and 7 cows before dinner. ", count: 40)
        let allIDs = bundle.encode(text)
        var rows: [Row] = []
        var idsByLength: [String: [Int]] = [:]
        if !json {
            print("model \(bundle.name), OpenBLAS \(BLASRuntime.coreName) kernels, \(Parallel.threads) threads, load \(String(format: "%.0f", bundle.loadSeconds * 1000)) ms")
            print("times in ms: median (min) of \(runs) runs after a warm-up\n")
            print("tokens   forward          GIM backward     plain backward   explain          knob change      fwd GF/s  bwd GF/s")
        }
        for t in parsedLengths! {
            guard t <= min(allIDs.count, model.contextLength) else {
                throw ValidationError("length \(t) exceeds the benchmark text (\(min(allIDs.count, model.contextLength)) tokens)")
            }
            let ids = Array(allIDs.prefix(t))
            idsByLength[String(t)] = ids
            let session = try ExplainSession(model: bundle.model, tokenIDs: ids)
            let fwd = try time { _ = try model.forwardPass(ids, embeddings: nil) }
            let gimB = try time { _ = try session.attribute(targetTokenID: 11, baselineTokenID: baseline, settings: .gim) }
            let plainB = try time { _ = try session.attribute(targetTokenID: 11, baselineTokenID: baseline, settings: .plain) }
            let full = try time {
                let s = try ExplainSession(model: bundle.model, tokenIDs: ids)
                _ = try s.attribute(baselineTokenID: baseline, settings: .gim)
            }
            var temperature: Float = 2
            let knob = try time {
                // A knob change on a kept forward pass: only the backward runs.
                temperature = temperature == 2 ? 1.5 : 2
                var s = GIMSettings.gim
                s.softmaxTemperature = temperature
                _ = try session.attribute(baselineTokenID: baseline, settings: s)
            }
            let ff = model.forwardFLOPs(tokens: t), bf = model.backwardFLOPs(tokens: t)
            let row = Row(tokens: t, forward: timing(fwd, flop: ff), backward_gim: timing(gimB, flop: bf),
                          backward_plain: timing(plainB, flop: bf), explain: timing(full, flop: ff + bf),
                          knob_change: timing(knob, flop: bf), forward_gflop: ff / 1e9, backward_gflop: bf / 1e9)
            rows.append(row)
            if !json {
                func cell(_ x: Timing) -> String { String(format: "%7.1f (%6.1f)", x.median_ms, x.min_ms).padding(toLength: 17, withPad: " ", startingAt: 0) }
                print(String(format: "%6d   ", t) + cell(row.forward) + cell(row.backward_gim) + cell(row.backward_plain)
                      + cell(row.explain) + cell(row.knob_change)
                      + String(format: "%8.1f  %8.1f", row.forward.gflops ?? 0, row.backward_gim.gflops ?? 0))
            }
        }
        let sgemm = sgemmGFLOPs()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let rss = Double(usage.ru_maxrss) / 1024
        var output = Output(model: bundle.name, threads: Parallel.threads, load_ms: bundle.loadSeconds * 1000,
                            sgemm_gflops: sgemm, peak_rss_mb: rss, rows: rows)
        if !json {
            print(String(format: "\nsgemm 1024³: %.1f GFLOP/s (roofline); peak RSS %.0f MB", sgemm, rss))
        }
        if comparePytorch {
            let result = try runPyTorch(modelPath: bundle.path, ids: idsByLength, threads: Parallel.threads)
            output.pytorch = result
            if !json { printComparison(rows, result) }
        }
        if json { try printJSON(output) }
    }

    /// Runs scripts/bench/bench_pytorch.py on the same token ids and parses its JSON.
    func runPyTorch(modelPath: String, ids: [String: [Int]], threads: Int) throws -> PyTorchResult {
        let fm = FileManager.default
        var root = URL(fileURLWithPath: fm.currentDirectoryPath)
        var script = root.appendingPathComponent("scripts/bench/bench_pytorch.py")
        if !fm.fileExists(atPath: script.path) {
            // Beside the package that built this executable (…/.build/release/gim).
            root = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
                .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            script = root.appendingPathComponent("scripts/bench/bench_pytorch.py")
        }
        guard fm.fileExists(atPath: script.path) else {
            throw ValidationError("scripts/bench/bench_pytorch.py not found: run from the repository root")
        }
        let env = ProcessInfo.processInfo.environment
        // The repository's own environment (scripts/bench/setup-pytorch.sh), beside the script found above.
        let venv = root.appendingPathComponent(".venv/bin/python").path
        let py = python ?? env["GIM_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? (fm.isExecutableFile(atPath: venv) ? venv : "python3")
        let idsFile = fm.temporaryDirectory.appendingPathComponent("gim-bench-ids-\(getpid()).json")
        try JSONEncoder().encode(ids).write(to: idsFile)
        defer { try? fm.removeItem(at: idsFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [py, script.path, "--model", modelPath, "--ids-file", idsFile.path,
                             "--runs", String(runs), "--threads", String(threads)]
        let pipe = Pipe()
        process.standardOutput = pipe
        if !json { print("\nrunning the PyTorch reference with \(py) (loading the GGUF takes a while)...") }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("the PyTorch benchmark failed (exit \(process.terminationStatus)); it needs torch and gguf: bash scripts/bench/setup-pytorch.sh, or name a Python with --python or $GIM_PYTHON")
        }
        return try JSONDecoder().decode(PyTorchResult.self, from: data)
    }

    func printComparison(_ rows: [Row], _ py: PyTorchResult) {
        print("\nPyTorch \(py.torch) reference, \(py.threads) threads, same tokens, median ms (ours / theirs = speed-up):")
        print("tokens   forward (ours/torch)        explain (ours/torch)        explain vs torch with parameter grads")
        for r in rows {
            guard let p = py.rows[String(r.tokens)] else { continue }
            func cell(_ ours: Double, _ theirs: Double) -> String {
                String(format: "%6.1f / %7.1f = %4.1fx", ours, theirs, theirs / ours).padding(toLength: 28, withPad: " ", startingAt: 0)
            }
            print(String(format: "%6d   ", r.tokens) + cell(r.forward.median_ms, p.forward.median_ms)
                  + cell(r.explain.median_ms, p.explain.median_ms) + cell(r.explain.median_ms, p.explain_param_grads.median_ms))
        }
    }
}
