import ArgumentParser
import Foundation
import GIMEngine
import COpenBLAS

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure load, forward, backward, explain and knob-change times (median and min of several runs).",
        discussion: "Against two rooflines: the machine's sgemm GFLOP/s and its memory bandwidth (a large parallel memcpy), with the weight bytes each pass reads. Several models (--model A --model B, or --models-dir) run one after another, each in its own process so each peak RSS is its own; with --json, one object per line. scripts/bench/make_big_ggufs.py writes Q4_K_M-shaped 1B-8B files to models/bench.")

    @Option(name: .shortAndLong, help: "A GGUF file, a Hugging Face model folder, or Owner/Name; repeat for several (default: $GIM_MODEL or models/\(ModelBundle.defaultModelFile)).")
    var model: [String] = []
    @Option(name: .long, help: "Also benchmark every .gguf file in this folder, smallest first (e.g. models/bench).")
    var modelsDir: String?
    @Option(name: .long, parsing: .unconditional, help: "Prompt lengths in tokens (comma-separated).") var lengths = "8,32,128"
    @Option(name: .long, parsing: .unconditional, help: "Timed runs per measurement, after one warm-up (3-100).") var runs = 7
    @Flag(name: .long, help: "Print JSON.") var json = false
    @Flag(name: .long, help: "Also time the PyTorch reference (scripts/bench/bench_pytorch.py) on the same tokens and print ours/theirs.")
    var comparePytorch = false
    @Option(name: .long, parsing: .unconditional, help: "Longest prompt given to PyTorch with --compare-pytorch: its reference keeps every layer's T × T attention for autograd (~14 GB at 2048 tokens on SmolLM2, 4x that at 4096).")
    var pytorchMaxTokens = 2048
    @Option(name: .long, parsing: .unconditional, help: "Integrated Gradients row: path points (0 = skip the row). Default: \(AttributionMethod.defaultSteps) for models under \(Bench.igDefaultParameterLimit / 1_000_000_000)B parameters, else the row is skipped (it costs tens of backwards and would double a big model's run).")
    var igSteps: Int?
    @Option(name: .long, parsing: .unconditional, help: "Integrated Gradients row: prompt length in tokens.") var igTokens = 32
    @Option(name: .long, help: "Python with torch and gguf for --compare-pytorch (default: $GIM_PYTHON, else .venv/bin/python of the repository as scripts/bench/setup-pytorch.sh creates it, else python3).")
    var python: String?

    /// Models with fewer parameters get the Integrated Gradients row by default.
    static let igDefaultParameterLimit = 1_000_000_000

    func validate() throws {
        guard (3...100).contains(runs) else { throw ValidationError("--runs must be between 3 and 100") }
        guard pytorchMaxTokens > 0 else { throw ValidationError("--pytorch-max-tokens must be positive") }
        if let igSteps, !(0...AttributionMethod.stepsRange.upperBound).contains(igSteps) {
            throw ValidationError("--ig-steps must be in 0...\(AttributionMethod.stepsRange.upperBound)")
        }
        guard igTokens > 0 else { throw ValidationError("--ig-tokens must be positive") }
        guard parsedLengths != nil else { throw ValidationError("--lengths must be positive integers, e.g. 8,32,128") }
    }

    var parsedLengths: [Int]? {
        let v = lengths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return v.map { $0! }
    }

    /// `gflops`: FLOPs / median time; `gbps`: weight bytes the pass reads / median time (GB = 1e9 B).
    struct Timing: Encodable { let median_ms: Double; let min_ms: Double; let gflops: Double?; var gbps: Double? = nil }
    struct Row: Encodable {
        let tokens: Int
        let forward: Timing, backward_gim: Timing, backward_plain: Timing, explain: Timing, knob_change: Timing
        let forward_gflop: Double, backward_gflop: Double
        /// The process's peak RSS once this length was measured (lengths run in the order given).
        var peak_rss_mb: Double? = nil
    }
    struct Output: Encodable {
        let model: String; let threads: Int; let load_ms: Double; let sgemm_gflops: Double
        let peak_rss_mb: Double; let rows: [Row]
        var pytorch: PyTorchResult?
        /// Copy bandwidth of a large parallel memcpy (bytes read + written per second, as STREAM counts).
        var memory_gbps: Double? = nil
        /// How the projections are held ("file: Q4_K Q6_K", "float32", "float32 + Q4_1 forward").
        var weights: String? = nil
        var file_bytes: Int? = nil
        /// Weight bytes held (projections, embedding, head), and read by one forward (projections +
        /// the head) and one backward (the projections).
        var weight_bytes: Int? = nil
        var integrated_gradients: IGRow? = nil
        var forward_weight_bytes: Int? = nil
        var backward_weight_bytes: Int? = nil
    }
    /// Integrated Gradients (batched path points) against one GIM backward on the same prompt.
    struct IGRow: Encodable {
        let tokens: Int; let steps: Int
        let integrated_gradients: Timing; let gim_backward: Timing
        /// IG time / GIM backward time (medians): how many backwards IG costs.
        let backward_ratio: Double
        /// The same ratio in process CPU time (mean per run, all threads): steadier than wall time
        /// when other processes share the CPUs, since time spent waiting for a CPU is not counted.
        let cpu_ratio: Double
    }
    struct PyTorchTiming: Codable { let median_ms: Double; let min_ms: Double }
    struct PyTorchRow: Codable { let forward: PyTorchTiming; let explain: PyTorchTiming; let explain_param_grads: PyTorchTiming }
    struct PyTorchResult: Codable {
        let torch: String; let threads: Int; let load_s: Double; let rows: [String: PyTorchRow]
        /// The PyTorch process's peak RSS (reached at its longest prompt).
        var peak_rss_mb: Double?
        /// Lengths not given to PyTorch (above --pytorch-max-tokens).
        var skipped_lengths: [Int]?
    }

    /// Runs `body` once to warm up, then `runs` times; returns (median, min) in milliseconds.
    func time(_ body: () throws -> Void) rethrows -> (Double, Double) {
        let t = try timeWithCPU(body)
        return (t.0, t.1)
    }

    /// Median and min wall ms of `runs` runs after a warm-up, and their mean process CPU ms.
    func timeWithCPU(_ body: () throws -> Void) rethrows -> (Double, Double, cpu: Double) {
        try body()
        var samples: [Double] = []
        let cpuStart = Self.processCPUMilliseconds()
        for _ in 0..<runs {
            let start = DispatchTime.now()
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
        }
        return (Statistics.median(samples), samples.min()!, (Self.processCPUMilliseconds() - cpuStart) / Double(runs))
    }

    /// CPU time of this process so far, every thread, in ms.
    static func processCPUMilliseconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
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

    /// The machine's memory bandwidth: a 1 GiB buffer copied with memcpy split over the engine's
    /// threads, median of the runs, counting bytes read + written (STREAM's convention for copy).
    /// The buffers are freed afterwards (measured after the peak RSS was read).
    func memoryGBps() -> Double {
        let bytes = 1 << 30
        let src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        defer { src.deallocate(); dst.deallocate() }
        memset(src, 1, bytes)
        memset(dst, 0, bytes)
        let chunk = 1 << 20
        let (median, _) = time {
            Parallel.forEachRange(bytes / chunk) { r in
                memcpy(dst + r.lowerBound * chunk, src + r.lowerBound * chunk, r.count * chunk)
            }
        }
        return 2 * Double(bytes) / (median * 1e6)
    }

    /// What the weights are held as, the bytes held, and the weight bytes one forward (projections
    /// and the whole head, for one position's logits) and one backward (the projections) read.
    /// nil for models without `DecoderWeights` (GPT-2 folders).
    static func weightTraffic(_ model: CausalLanguageModel) -> (storage: String, held: Int, forward: Int, backward: Int)? {
        guard let w = (model as? DecoderModel)?.weights else { return nil }
        var fileBytes = 0, f32 = 0, f32WithBlocks = 0
        var encodings = Set<String>(), blockForward = false
        for b in w.blocks {
            for p in [b.qkv, b.o, b.gateUp, b.down] {
                switch p.storage {
                case .parts(let parts):
                    for m in parts { fileBytes += m.byteCount; encodings.insert(m.encodingName) }
                case .transposed(let wT, let q):
                    f32 += wT.count * 4
                    if let q { f32WithBlocks += wT.count * 4; blockForward = true; encodings.insert("\(q.encoding)".uppercased()) }
                }
            }
        }
        let head = w.output.byteCount
        let separateHead = w.output === w.tokenEmbedding ? 0 : head
        // Float32 projections that also keep the file's blocks for the forward: those blocks'
        // bytes are what remains of the total.
        let blockBytes = max(0, w.weightBytes - w.tokenEmbedding.byteCount - separateHead - fileBytes - f32)
        let forward = fileBytes + (f32 - f32WithBlocks) + blockBytes + head
        let backward = fileBytes + f32
        let storage = fileBytes > 0 && f32 == 0 ? "file: " + encodings.sorted().joined(separator: " ")
            : blockForward ? "float32 + " + encodings.sorted().joined(separator: " ") + " forward" : "float32"
        return (storage, w.weightBytes, forward, backward)
    }

    /// The models to run: --model (each), then --models-dir's .gguf files by size; none = the default.
    func modelPaths() throws -> [String] {
        var paths = model
        if let dir = modelsDir {
            let fm = FileManager.default
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else {
                throw ValidationError("cannot read --models-dir \(dir)")
            }
            func size(_ p: String) -> Int { ((try? fm.attributesOfItem(atPath: p))?[.size] as? NSNumber)?.intValue ?? 0 }
            let files = names.filter { $0.hasSuffix(".gguf") }.map { (dir as NSString).appendingPathComponent($0) }
            guard !files.isEmpty else { throw ValidationError("no .gguf files in \(dir) (scripts/bench/make_big_ggufs.py writes them)") }
            paths += files.sorted { size($0) < size($1) }
        }
        return paths
    }

    /// Runs `gim bench` once per model, each in a new process (each peak RSS is its own);
    /// with --json, each child's object is printed on one line.
    func runEach(_ paths: [String]) throws {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let me = FileManager.default.isExecutableFile(atPath: exe) ? exe : CommandLine.arguments[0]
        var failed: [String] = []
        for path in paths {
            var args = ["bench", "--model", path, "--lengths", lengths, "--runs", String(runs), "--ig-tokens", String(igTokens)]
            if let igSteps { args += ["--ig-steps", String(igSteps)] }
            if json { args.append("--json") }
            if comparePytorch { args += ["--compare-pytorch", "--pytorch-max-tokens", String(pytorchMaxTokens)] }
            if let python { args += ["--python", python] }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: me)
            process.arguments = args
            let pipe = Pipe()
            if json { process.standardOutput = pipe }
            if !json { print("== \(path)"); flushStandardOutput() }
            try process.run()
            let data = json ? pipe.fileHandleForReading.readDataToEndOfFile() : Data()
            process.waitUntilExit()
            if process.terminationStatus != 0 {
                failed.append("\(path) (exit \(process.terminationStatus))")
                continue
            }
            if json {
                let object = try JSONSerialization.jsonObject(with: data)
                let line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                FileHandle.standardOutput.write(line + Data("\n".utf8))
            } else {
                print("")
            }
        }
        if !failed.isEmpty { throw ValidationError("bench failed for " + failed.joined(separator: ", ")) }
    }

    func run() throws {
        let paths = try modelPaths()
        if paths.count > 1 { return try runEach(paths) }
        let bundle = try ModelBundle.load(path: paths.first ?? ModelBundle.defaultModelPath)
        let model = bundle.model
        let traffic = Self.weightTraffic(model)
        let baseline = try bundle.inferredBaseline()
        // A long English text, cut to each length, so prompts are realistic token sequences.
        let text = String(repeating: "The quick brown fox jumps over the lazy dog while the old farmer watches from the porch, counting 12 sheep and 7 cows before dinner. ", count: 320)
        let allIDs = bundle.encode(text)
        var rows: [Row] = []
        var idsByLength: [String: [Int]] = [:]
        if !json {
            print("model \(bundle.name), OpenBLAS \(BLASRuntime.coreName) kernels, \(Parallel.threads) threads, load \(String(format: "%.0f", bundle.loadSeconds * 1000)) ms")
            if let t = traffic {
                print(String(format: "weights %@: %.2f GB held; a forward reads %.2f GB of them, a backward %.2f GB",
                             t.storage, Double(t.held) / 1e9, Double(t.forward) / 1e9, Double(t.backward) / 1e9))
            }
            print("times in ms: median (min) of \(runs) runs after a warm-up; GF/s = GFLOP/s, GB/s = weight bytes read per second\n")
            print("tokens   forward          GIM backward     plain backward   explain          knob change      fwd GF/s  bwd GF/s  fwd GB/s  bwd GB/s   RSS MB")
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
            func timing(_ t: (Double, Double), flop: Double, bytes: Int?) -> Timing {
                var x = self.timing(t, flop: flop)
                x.gbps = bytes.map { Double($0) / (t.0 * 1e6) }
                return x
            }
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            let (fb, bb) = (traffic?.forward, traffic?.backward)
            let row = Row(tokens: t, forward: timing(fwd, flop: ff, bytes: fb), backward_gim: timing(gimB, flop: bf, bytes: bb),
                          backward_plain: timing(plainB, flop: bf, bytes: bb),
                          explain: timing(full, flop: ff + bf, bytes: traffic.map { $0.forward + $0.backward }),
                          knob_change: timing(knob, flop: bf, bytes: bb), forward_gflop: ff / 1e9, backward_gflop: bf / 1e9,
                          peak_rss_mb: Double(usage.ru_maxrss) / 1024)
            rows.append(row)
            if !json {
                func cell(_ x: Timing) -> String { String(format: "%7.1f (%6.1f)", x.median_ms, x.min_ms).padding(toLength: 17, withPad: " ", startingAt: 0) }
                print(String(format: "%6d   ", t) + cell(row.forward) + cell(row.backward_gim) + cell(row.backward_plain)
                      + cell(row.explain) + cell(row.knob_change)
                      + String(format: "%8.1f  %8.1f  %8.2f  %8.2f  %7.0f", row.forward.gflops ?? 0, row.backward_gim.gflops ?? 0,
                               row.forward.gbps ?? 0, row.backward_gim.gbps ?? 0, row.peak_rss_mb ?? 0))
                // Long prompts take minutes per row: show each as it is measured.
                flushStandardOutput()
            }
        }
        var igRow: IGRow?
        let igSteps = self.igSteps ?? (model.parameterCount < Self.igDefaultParameterLimit ? AttributionMethod.defaultSteps : 0)
        if igSteps > 0 {
            guard igTokens <= min(allIDs.count, model.contextLength) else {
                throw ValidationError("--ig-tokens \(igTokens) exceeds the benchmark text")
            }
            let session = try ExplainSession(model: bundle.model, tokenIDs: Array(allIDs.prefix(igTokens)))
            var method = AttributionMethod.integratedGradients
            method.steps = igSteps
            let ig = try timeWithCPU { _ = try session.attribute(method: method, targetTokenID: 11, baselineTokenID: baseline) }
            let gimB = try timeWithCPU { _ = try session.attribute(targetTokenID: 11, baselineTokenID: baseline, settings: .gim) }
            // Each path point is a forward (no logits: the seed is the head's row) and a backward.
            let pointFLOPs = model.forwardFLOPs(tokens: igTokens) - model.forwardFLOPs(tokens: 0) + model.backwardFLOPs(tokens: igTokens)
            igRow = IGRow(tokens: igTokens, steps: igSteps, integrated_gradients: timing((ig.0, ig.1), flop: Double(igSteps) * pointFLOPs),
                          gim_backward: timing((gimB.0, gimB.1), flop: model.backwardFLOPs(tokens: igTokens)), backward_ratio: ig.0 / gimB.0,
                          cpu_ratio: ig.cpu / gimB.cpu)
            if !json {
                print(String(format: "\nIntegrated Gradients, %d steps on %d tokens (batched): %.1f ms (min %.1f) = %.1f GIM backwards (%.1f ms); in CPU time %.1f; %.1f GFLOP/s vs the backward's %.1f",
                             igSteps, igTokens, ig.0, ig.1, ig.0 / gimB.0, gimB.0, ig.cpu / gimB.cpu,
                             igRow!.integrated_gradients.gflops ?? 0, igRow!.gim_backward.gflops ?? 0))
            }
        }
        // The peak RSS is read before the rooflines' buffers (2 GiB for the memcpy) are allocated.
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let rss = Double(usage.ru_maxrss) / 1024
        let sgemm = sgemmGFLOPs()
        let bandwidth = memoryGBps()
        var output = Output(model: bundle.name, threads: Parallel.threads, load_ms: bundle.loadSeconds * 1000,
                            sgemm_gflops: sgemm, peak_rss_mb: rss, rows: rows)
        output.memory_gbps = bandwidth
        output.integrated_gradients = igRow
        if let a = try? FileManager.default.attributesOfItem(atPath: bundle.path), a[.type] as? FileAttributeType == .typeRegular {
            output.file_bytes = (a[.size] as? NSNumber)?.intValue
        }
        output.weights = traffic?.storage
        output.weight_bytes = traffic?.held
        output.forward_weight_bytes = traffic?.forward
        output.backward_weight_bytes = traffic?.backward
        if !json {
            print(String(format: "\nsgemm 1024³: %.1f GFLOP/s (roofline); memcpy 1 GiB: %.1f GB/s read + written (roofline); peak RSS %.0f MB",
                         sgemm, bandwidth, rss))
            print("explain = forward + GIM backward, against both rooflines:")
            for r in rows {
                let gf = r.explain.gflops ?? 0
                var line = String(format: "%6d tokens: %7.1f GFLOP/s = %3.0f%% of sgemm", r.tokens, gf, 100 * gf / sgemm)
                if let gb = r.explain.gbps {
                    line += String(format: ", %6.2f GB/s of weights = %3.0f%% of memcpy", gb, 100 * gb / bandwidth)
                }
                print(line)
            }
        }
        if comparePytorch {
            let given = idsByLength.filter { $0.value.count <= pytorchMaxTokens }
            var result = try runPyTorch(modelPath: bundle.path, ids: given, threads: Parallel.threads)
            let skipped = parsedLengths!.filter { $0 > pytorchMaxTokens }
            if !skipped.isEmpty { result.skipped_lengths = skipped }
            output.pytorch = result
            if !json { printComparison(rows, result, ourRSS: rss) }
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

    func printComparison(_ rows: [Row], _ py: PyTorchResult, ourRSS: Double) {
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
        if let skipped = py.skipped_lengths {
            print("not given to PyTorch (above --pytorch-max-tokens \(pytorchMaxTokens)): " + skipped.map(String.init).joined(separator: ", "))
        }
        if let theirs = py.peak_rss_mb {
            print(String(format: "peak RSS: ours %.0f MB, PyTorch %.0f MB (%.1fx ours); PyTorch's load (GGUF dequantised by gguf-py): %.1f s",
                         ourRSS, theirs, theirs / ourRSS, py.load_s))
        }
    }
}
