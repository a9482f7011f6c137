import Foundation
import XCTest
@testable import GIMEngine

/// `--model Owner/Name` against fake Hugging Face caches built in a temporary directory with
/// the real layout: models--Owner--Name/{refs/main, snapshots/<hash>/ (symlinks), blobs/}.
final class HFCacheTests: XCTestCase {
    var root = ""
    let fm = FileManager.default

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "hfcache-\(UUID().uuidString)"
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? fm.removeItem(atPath: root)
    }

    /// A repo in `hub` with one snapshot per commit: files (name → size) are blobs linked from
    /// the snapshot, as huggingface_hub lays them out; `main` (if given) is written to refs/main.
    @discardableResult
    func addRepo(_ hub: String, _ repo: String, snapshots: [String: [String: Int]], main: String?) throws -> String {
        let dir = "\(hub)/models--\(repo.replacingOccurrences(of: "/", with: "--"))"
        try fm.createDirectory(atPath: dir + "/blobs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/refs", withIntermediateDirectories: true)
        for (commit, files) in snapshots {
            for (name, size) in files {
                let blob = "\(dir)/blobs/\(commit)-\(name.replacingOccurrences(of: "/", with: "_"))"
                try Data(repeating: 7, count: size).write(to: URL(fileURLWithPath: blob))
                let link = "\(dir)/snapshots/\(commit)/\(name)"
                try fm.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let depth = name.split(separator: "/").count + 1  // snapshots/<commit>/[sub/]name → ../../[../]blobs
                try fm.createSymbolicLink(atPath: link, withDestinationPath: String(repeating: "../", count: depth) + "blobs/" + (blob as NSString).lastPathComponent)
            }
        }
        if let main { try main.write(toFile: dir + "/refs/main", atomically: true, encoding: .utf8) }
        return dir
    }

    func resolve(_ argument: String, _ env: [String: String]) throws -> HFCache.Resolution? {
        try HFCache.resolution(of: argument, environment: env)
    }

    func message(_ body: () throws -> Any?) -> String {
        do { _ = try body(); return "(no error)" } catch { return "\(error)" }
    }

    let c1 = "1111111111111111111111111111111111111111"
    let c2 = "2222222222222222222222222222222222222222"

    // MARK: - Where the cache is

    func testCacheDirectoryPrecedence() {
        let home = ["HOME": "/home/u"]
        XCTAssertEqual(HFCache.hubDirectory(environment: home).path, "/home/u/.cache/huggingface/hub")
        XCTAssertEqual(HFCache.hubDirectory(environment: home.merging(["XDG_CACHE_HOME": "/x"]) { $1 }).path, "/x/huggingface/hub")
        XCTAssertEqual(HFCache.hubDirectory(environment: home.merging(["XDG_CACHE_HOME": "/x", "HF_HOME": "/hf"]) { $1 }).path, "/hf/hub")
        XCTAssertEqual(HFCache.hubDirectory(environment: home.merging(["HF_HOME": "~/hf"]) { $1 }).path, "/home/u/hf/hub")
        XCTAssertEqual(HFCache.hubDirectory(environment: home.merging(["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old"]) { $1 }).path, "/old")
        let all = home.merging(["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old", "HF_HUB_CACHE": "/cache"]) { $1 }
        XCTAssertEqual(HFCache.hubDirectory(environment: all).path, "/cache")
        XCTAssertEqual(HFCache.hubDirectory(environment: all).source, "set by $HF_HUB_CACHE")
        XCTAssertEqual(HFCache.hubDirectory(environment: home.merging(["HF_HUB_CACHE": ""]) { $1 }).path, "/home/u/.cache/huggingface/hub")
    }

    func testHFHubCacheWinsOverHFHome() throws {
        // The same repo in both, different files: HF_HUB_CACHE's copy is the one used.
        try addRepo(root + "/direct", "Org/M", snapshots: [c1: ["a.gguf": 10]], main: c1)
        try addRepo(root + "/home/hub", "Org/M", snapshots: [c2: ["b.gguf": 10]], main: c2)
        let both = ["HF_HUB_CACHE": root + "/direct", "HF_HOME": root + "/home"]
        XCTAssertEqual(try resolve("Org/M", both)?.path, root + "/direct/models--Org--M/snapshots/\(c1)/a.gguf")
        XCTAssertEqual(try resolve("Org/M", ["HF_HOME": root + "/home"])?.path, root + "/home/hub/models--Org--M/snapshots/\(c2)/b.gguf")
        // Neither set: $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
        try addRepo(root + "/xdg/huggingface/hub", "Org/M", snapshots: [c1: ["x.gguf": 10]], main: c1)
        try addRepo(root + "/u/.cache/huggingface/hub", "Org/M", snapshots: [c2: ["u.gguf": 10]], main: c2)
        XCTAssertEqual(try resolve("Org/M", ["HOME": root + "/u", "XDG_CACHE_HOME": root + "/xdg"])?.path,
                       root + "/xdg/huggingface/hub/models--Org--M/snapshots/\(c1)/x.gguf")
        XCTAssertEqual(try resolve("Org/M", ["HOME": root + "/u"])?.path, root + "/u/.cache/huggingface/hub/models--Org--M/snapshots/\(c2)/u.gguf")
    }

    // MARK: - Snapshots

    func testRefsMainPicksTheSnapshot() throws {
        let hub = root + "/hub"
        try addRepo(hub, "Qwen/Qwen2.5-0.5B-Instruct", snapshots: [c1: ["config.json": 5, "model.safetensors": 50],
                                                                    c2: ["config.json": 5, "model.safetensors": 60]], main: c2 + "\n")
        let r = try XCTUnwrap(try resolve("Qwen/Qwen2.5-0.5B-Instruct", ["HF_HUB_CACHE": hub]))
        XCTAssertEqual(r.path, hub + "/models--Qwen--Qwen2.5-0.5B-Instruct/snapshots/\(c2)")
        XCTAssertEqual(r.notes, [])
        // Explicit revisions: a commit, a prefix, a branch/tag under refs/.
        XCTAssertEqual(try resolve("Qwen/Qwen2.5-0.5B-Instruct@\(c1)", ["HF_HUB_CACHE": hub])?.path,
                       hub + "/models--Qwen--Qwen2.5-0.5B-Instruct/snapshots/\(c1)")
        XCTAssertEqual(try resolve("Qwen/Qwen2.5-0.5B-Instruct@1111111", ["HF_HUB_CACHE": hub])?.path.hasSuffix(c1), true)
        try fm.createDirectory(atPath: hub + "/models--Qwen--Qwen2.5-0.5B-Instruct/refs/pr", withIntermediateDirectories: true)
        try c1.write(toFile: hub + "/models--Qwen--Qwen2.5-0.5B-Instruct/refs/pr/1", atomically: true, encoding: .utf8)
        XCTAssertEqual(try resolve("Qwen/Qwen2.5-0.5B-Instruct@pr/1", ["HF_HUB_CACHE": hub])?.path.hasSuffix(c1), true)
        let m = message { try self.resolve("Qwen/Qwen2.5-0.5B-Instruct@v9", ["HF_HUB_CACHE": hub]) }
        XCTAssertTrue(m.contains("revision \"v9\"") && m.contains("refs main, pr/1") && m.contains("--revision v9"), m)
        // The path returned opens through the symlink.
        XCTAssertTrue(fm.fileExists(atPath: r.path + "/config.json"))
    }

    func testWithoutRefsMainTheSingleOrNewestSnapshot() throws {
        let hub = root + "/hub"
        let dir = try addRepo(hub, "a/one", snapshots: [c1: ["m.gguf": 10]], main: nil)
        XCTAssertEqual(try resolve("a/one", ["HF_HUB_CACHE": hub]), .init(path: dir + "/snapshots/\(c1)/m.gguf", notes: []))

        let dir2 = try addRepo(hub, "a/two", snapshots: [c1: ["m.gguf": 10], c2: ["m.gguf": 10]], main: nil)
        let old = Date(timeIntervalSinceNow: -86_400), new = Date()
        try fm.setAttributes([.modificationDate: new], ofItemAtPath: dir2 + "/snapshots/\(c1)")
        try fm.setAttributes([.modificationDate: old], ofItemAtPath: dir2 + "/snapshots/\(c2)")
        let r = try XCTUnwrap(try resolve("a/two", ["HF_HUB_CACHE": hub]))
        XCTAssertEqual(r.path, dir2 + "/snapshots/\(c1)/m.gguf")
        XCTAssertEqual(r.notes.count, 1)
        XCTAssertTrue(r.notes[0].contains("no refs/main") && r.notes[0].contains("most recently modified of 2"), r.notes[0])

        // refs/main naming a commit with no snapshot folder: same fallback, said so.
        try "3333333333333333333333333333333333333333".write(toFile: dir2 + "/refs/main", atomically: true, encoding: .utf8)
        let r2 = try XCTUnwrap(try resolve("a/two", ["HF_HUB_CACHE": hub]))
        XCTAssertEqual(r2.path, dir2 + "/snapshots/\(c1)/m.gguf")
        XCTAssertTrue(r2.notes[0].contains("refs/main names 3333"), r2.notes[0])
    }

    // MARK: - Files

    func testSeveralGGUFsPreferQ4KMThenQ8_0ThenSmallest() throws {
        let hub = root + "/hub", env = ["HF_HUB_CACHE": hub]
        try addRepo(hub, "b/all", snapshots: [c1: ["m-Q8_0.gguf": 80, "m-Q4_K_M.gguf": 45, "m-Q2_K.gguf": 20, "m-IQ4_K_M.gguf": 1,
                                                   "mmproj-f16.gguf": 2, "README.md": 1]], main: c1)
        let r = try XCTUnwrap(try resolve("b/all", env))
        XCTAssertTrue(r.path.hasSuffix("/m-Q4_K_M.gguf"), r.path)
        XCTAssertTrue(r.notes[0].contains("using m-Q4_K_M.gguf") && r.notes[0].contains("b/all:FILE.gguf"), r.notes[0])

        try addRepo(hub, "b/q8", snapshots: [c1: ["x.q8_0.gguf": 80, "x.Q6_K.gguf": 60, "x.q2_k.gguf": 20]], main: c1)
        XCTAssertTrue(try resolve("b/q8", env)!.path.hasSuffix("/x.q8_0.gguf"))

        try addRepo(hub, "b/small", snapshots: [c1: ["x-F16.gguf": 160, "x-Q6_K.gguf": 60, "x-Q5_K_S.gguf": 50, "mmproj.gguf": 1]], main: c1)
        XCTAssertTrue(try resolve("b/small", env)!.path.hasSuffix("/x-Q5_K_S.gguf"))

        // Split GGUFs: only the first part is a candidate.
        try addRepo(hub, "b/split", snapshots: [c1: ["big-00001-of-00002.gguf": 90, "big-00002-of-00002.gguf": 10]], main: c1)
        XCTAssertTrue(try resolve("b/split", env)!.path.hasSuffix("/big-00001-of-00002.gguf"))

        // A GGUF beats config.json; GGUFs in a subfolder count.
        try addRepo(hub, "b/sub", snapshots: [c1: ["config.json": 2, "model.safetensors": 9, "gguf/m-Q8_0.gguf": 8]], main: c1)
        XCTAssertTrue(try resolve("b/sub", env)!.path.hasSuffix("/snapshots/\(c1)/gguf/m-Q8_0.gguf"))
    }

    func testExplicitFile() throws {
        let hub = root + "/hub", env = ["HF_HUB_CACHE": hub]
        let dir = try addRepo(hub, "c/m", snapshots: [c1: ["m-Q8_0.gguf": 80, "m-Q4_K_M.gguf": 45, "sub/m-F16.gguf": 160],
                                                      c2: ["old-Q4_0.gguf": 40]], main: c1)
        XCTAssertEqual(try resolve("c/m:m-Q8_0.gguf", env), .init(path: dir + "/snapshots/\(c1)/m-Q8_0.gguf", notes: []))
        XCTAssertEqual(try resolve("c/m:sub/m-F16.gguf", env)?.path, dir + "/snapshots/\(c1)/sub/m-F16.gguf")
        XCTAssertEqual(try resolve("c/m:m-F16.gguf", env)?.path, dir + "/snapshots/\(c1)/sub/m-F16.gguf", "found by name")
        XCTAssertEqual(try resolve("c/m@\(c2):old-Q4_0.gguf", env)?.path, dir + "/snapshots/\(c2)/old-Q4_0.gguf")
        let m = message { try self.resolve("c/m:m-Q5_K_M.gguf", env) }
        XCTAssertTrue(m.contains("has no m-Q5_K_M.gguf") && m.contains("m-Q4_K_M.gguf, m-Q8_0.gguf, sub/m-F16.gguf")
                      && m.contains("huggingface-cli download c/m m-Q5_K_M.gguf"), m)
        XCTAssertTrue(message { try self.resolve("c/m:README.md", env) }.contains("is not a .gguf file"))
    }

    func testFolderSnapshotNeedsConfigJSON() throws {
        let hub = root + "/hub", env = ["HF_HUB_CACHE": hub]
        try addRepo(hub, "d/weights-only", snapshots: [c1: ["model.safetensors": 9, "README.md": 1]], main: c1)
        let m = message { try self.resolve("d/weights-only", env) }
        XCTAssertTrue(m.contains("holds neither a .gguf file nor config.json") && m.contains("README.md, model.safetensors"), m)
        // A blob missing behind a link (interrupted download) is said so.
        let dir = try addRepo(hub, "d/broken", snapshots: [c1: ["config.json": 2]], main: c1)
        try fm.removeItem(atPath: dir + "/blobs/\(c1)-config.json")
        XCTAssertTrue(message { try self.resolve("d/broken", env) }.contains("missing blob"))
    }

    // MARK: - Not in the cache, not a repo id

    func testMissingRepoSaysWhereItLookedAndHowToFetch() throws {
        let hub = root + "/hub"
        try addRepo(hub, "e/other", snapshots: [c1: ["m.gguf": 1]], main: c1)
        let m = message { try self.resolve("Qwen/Qwen2.5-0.5B-Instruct", ["HF_HUB_CACHE": hub]) }
        XCTAssertTrue(m.contains("model \"Qwen/Qwen2.5-0.5B-Instruct\" is not a file or folder, nor in the local Hugging Face cache"), m)
        XCTAssertTrue(m.contains("looked in \(hub) (set by $HF_HUB_CACHE)"), m)
        XCTAssertTrue(m.contains("found no models--Qwen--Qwen2.5-0.5B-Instruct") && m.contains("it holds e/other"), m)
        XCTAssertTrue(m.contains("huggingface-cli download Qwen/Qwen2.5-0.5B-Instruct"), m)
        XCTAssertThrowsError(try HFCache.resolve("Qwen/Qwen2.5-0.5B-Instruct", environment: ["HF_HUB_CACHE": hub])) {
            guard case ModelError.badInput = $0 else { return XCTFail("\($0)") }
        }

        // No cache at all (HF_HOME pointing nowhere): the directory is named.
        let m2 = message { try self.resolve("Qwen/Qwen2.5-0.5B-Instruct", ["HF_HOME": root + "/nowhere"]) }
        XCTAssertTrue(m2.contains("looked in \(root)/nowhere/hub ($HF_HOME/hub; $HF_HUB_CACHE is not set), which does not exist") && m2.contains("does not exist"), m2)
        XCTAssertTrue(m2.contains("huggingface-cli download"), m2)
    }

    func testCaseOfTheCacheFolderIsIgnored() throws {
        let hub = root + "/hub"
        let dir = try addRepo(hub, "HuggingFaceTB/SmolLM2-135M", snapshots: [c1: ["config.json": 2]], main: c1)
        XCTAssertEqual(try resolve("huggingfacetb/smollm2-135m", ["HF_HUB_CACHE": hub])?.path, dir + "/snapshots/\(c1)")
    }

    func testPathsAndNonRepoArgumentsPassThrough() throws {
        let env = ["HF_HUB_CACHE": root + "/none"]
        // Existing paths, even shaped like Owner/Name.
        try fm.createDirectory(atPath: root + "/Owner/Name", withIntermediateDirectories: true)
        XCTAssertEqual(try HFCache.resolve(root + "/Owner/Name", environment: env), root + "/Owner/Name")
        let cwd = fm.currentDirectoryPath
        XCTAssertTrue(fm.changeCurrentDirectoryPath(root))
        defer { _ = fm.changeCurrentDirectoryPath(cwd) }
        XCTAssertEqual(try HFCache.resolve("Owner/Name", environment: env), "Owner/Name")
        // Owner is a local folder: a missing path, left for the "not found" message.
        XCTAssertEqual(try HFCache.resolve("Owner/Missing", environment: env), "Owner/Missing")
        // Missing files and other shapes: unchanged.
        for arg in ["models/SmolLM2-135M-Instruct.Q4_1.gguf", "x/y.safetensors", "model.gguf", "/abs/a/b", "a/b/c", "./a/b",
                    "../a/b", "a/", "/a", "~/x/y", ".hidden/x", "a b/c", "", "a/b:", "a/b@", "a/b:../../x.gguf"] {
            XCTAssertEqual(try HFCache.resolve(arg, environment: env), arg, arg)
        }
        XCTAssertNotNil(HFCache.parse("Qwen/Qwen2.5-0.5B-Instruct"))
        XCTAssertEqual(HFCache.parse("bartowski/Llama-3.2-1B-Instruct-GGUF@main:Llama-3.2-1B-Instruct-Q4_K_M.gguf"),
                       .init(owner: "bartowski", name: "Llama-3.2-1B-Instruct-GGUF", revision: "main", file: "Llama-3.2-1B-Instruct-Q4_K_M.gguf"))
    }

    func testHasQuantTag() {
        XCTAssertTrue(HFCache.hasQuantTag("m-Q4_K_M.gguf", "Q4_K_M"))
        XCTAssertTrue(HFCache.hasQuantTag("m.q4_k_m.gguf", "Q4_K_M"))
        XCTAssertFalse(HFCache.hasQuantTag("m-IQ4_K_M.gguf", "Q4_K_M"))
        XCTAssertFalse(HFCache.hasQuantTag("m-Q8_00.gguf", "Q8_0"))
        XCTAssertTrue(HFCache.hasQuantTag("Q8_0.gguf", "Q8_0"))
    }
}
