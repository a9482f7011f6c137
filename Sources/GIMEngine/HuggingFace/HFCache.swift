import Foundation

/// Models named by Hugging Face repo id, found in the local Hugging Face cache (nothing is
/// ever downloaded).
///
/// Accepted forms (anything that is an existing file or folder is a path, never a repo id):
/// - `Owner/Name`: the snapshot `refs/main` points to; in it the GGUF file if there is one
///   (several: the one whose name says Q4_K_M, else Q8_0, else the smallest; split parts after
///   the first and `mmproj` projector files are never chosen), else the snapshot folder itself,
///   which must hold config.json;
/// - `Owner/Name:FILE.gguf`: that GGUF file of the snapshot (a path inside it, or a file name
///   found once anywhere in it);
/// - `Owner/Name@REVISION`: the snapshot of that branch or tag (`refs/REVISION`) or commit
///   (a full hash or an unambiguous prefix of at least 7 characters); combinable as
///   `Owner/Name@REVISION:FILE.gguf`.
///
/// The cache is the one huggingface_hub uses: `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`
/// (its older name), else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
/// `~/.cache/huggingface/hub`. In it, `models--Owner--Name/refs/main` holds a commit hash and
/// `models--Owner--Name/snapshots/<hash>/` the files (symlinks into `blobs/`). Without
/// `refs/main`, the only snapshot is used, or the most recently modified one (with a note).
public enum HFCache {
    /// A parsed `Owner/Name[@revision][:file]`.
    public struct RepoReference: Equatable, Sendable {
        public let owner: String
        public let name: String
        public let revision: String?
        public let file: String?
        public var repoID: String { "\(owner)/\(name)" }
        /// The cache folder name: `models--Owner--Name`.
        public var folderName: String { "models--\(owner)--\(name)" }
    }

    /// Where a repo id led: the path to open, and notes worth telling the user (a choice made
    /// among several snapshots or files).
    public struct Resolution: Equatable, Sendable {
        public let path: String
        public let notes: [String]
    }

    /// The hub cache directory and how it was chosen (a phrase for messages), per huggingface_hub's rules.
    public static func hubDirectory(environment env: [String: String]) -> (path: String, source: String) {
        func value(_ key: String) -> String? {
            guard let v = env[key], !v.isEmpty else { return nil }
            return expandTilde(v, env)
        }
        if let v = value("HF_HUB_CACHE") { return (v, "set by $HF_HUB_CACHE") }
        if let v = value("HUGGINGFACE_HUB_CACHE") { return (v, "set by $HUGGINGFACE_HUB_CACHE") }
        if let v = value("HF_HOME") { return (join(v, "hub"), "$HF_HOME/hub; $HF_HUB_CACHE is not set") }
        if let v = value("XDG_CACHE_HOME") { return (join(v, "huggingface/hub"), "$XDG_CACHE_HOME/huggingface/hub; $HF_HUB_CACHE and $HF_HOME are not set") }
        return (join(home(env), ".cache/huggingface/hub"), "the default; $HF_HUB_CACHE and $HF_HOME are not set")
    }

    /// `argument` as a repo reference, or nil when it does not look like one: it must be
    /// `Owner/Name` with letters, digits, `.`, `_`, `-` (not starting with `.` or `-`), the name
    /// must not end in a model-file extension (`x/y.gguf` is a missing file, not a repo), and
    /// `Owner` must not be an existing local folder (then `Owner/Name` is a missing path).
    public static func parse(_ argument: String) -> RepoReference? {
        var rest = Substring(argument)
        var file: String? = nil
        if let colon = rest.firstIndex(of: ":") {
            file = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var revision: String? = nil
        if let at = rest.firstIndex(of: "@") {
            revision = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy(isRepoPart) else { return nil }
        let owner = String(parts[0]), name = String(parts[1])
        let lower = name.lowercased()
        for ext in [".gguf", ".safetensors", ".json", ".bin", ".pt", ".pth", ".onnx", ".txt"] where lower.hasSuffix(ext) {
            return nil
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: owner, isDirectory: &isDir), isDir.boolValue { return nil }
        if let r = revision, r.isEmpty || r.hasPrefix("/") || r.split(separator: "/").contains("..") { return nil }
        if let f = file, f.isEmpty || f.hasPrefix("/") || f.split(separator: "/").contains("..") { return nil }
        return RepoReference(owner: owner, name: name, revision: revision, file: file)
    }

    /// The path to open for `--model argument`: the argument itself when it is an existing path
    /// or does not look like a repo id (the caller then reports a missing file); the snapshot's
    /// GGUF file or folder when it is a repo id in the local cache. A repo id that is not there
    /// throws `ModelError.badInput` saying where it looked and how to fetch it. Notes (a choice
    /// among several snapshots or GGUF files) go to `noteHandler` (standard error by default).
    public static func resolve(_ argument: String, environment: [String: String]) throws -> String {
        guard let r = try resolution(of: argument, environment: environment) else { return argument }
        if !r.notes.isEmpty, let handler = noteHandler {
            for note in r.notes { handler(note) }
        }
        return r.path
    }

    /// As `resolve`, with the notes returned instead of reported; nil when `argument` is an
    /// existing path or not a repo id.
    public static func resolution(of argument: String, environment: [String: String]) throws -> Resolution? {
        if FileManager.default.fileExists(atPath: argument) { return nil }
        guard let ref = parse(argument) else { return nil }
        return try resolve(ref, argument: argument, environment: environment)
    }

    /// Receives `resolve`'s notes; standard error ("gim: note: …") unless replaced (a full-screen
    /// interface may route them elsewhere, or set nil to drop them).
    public static var noteHandler: (@Sendable (String) -> Void)? {
        get { noteHandlerSetting.value }
        set { noteHandlerSetting.value = newValue }
    }
    private static let noteHandlerSetting = Locked<(@Sendable (String) -> Void)?>({ note in
        FileHandle.standardError.write(Data("gim: note: \(note)\n".utf8))
    })

    // MARK: - Resolution

    static func resolve(_ ref: RepoReference, argument: String, environment env: [String: String]) throws -> Resolution {
        let fm = FileManager.default
        let (hub, source) = hubDirectory(environment: env)
        var notes: [String] = []
        func fail(_ problem: String, fetch: Bool = true) -> ModelError {
            var fetchCommand = "huggingface-cli download \(ref.repoID)"
            if let f = ref.file { fetchCommand += " \(f)" }
            if let r = ref.revision { fetchCommand += " --revision \(r)" }
            var message = "model \"\(argument)\" is not a file or folder, \(problem)"
            if fetch {
                message += "\nNothing is downloaded by gim. Fetch the model into the cache first:\n  \(fetchCommand)\n"
                    + "(or `hf download …` with newer huggingface_hub), then run again; or give a path to a GGUF file or model folder."
            }
            return ModelError.badInput(message)
        }
        let looked = "looked in \(hub) (\(source))"

        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: hub, isDirectory: &isDir), isDir.boolValue else {
            throw fail("nor in the local Hugging Face cache: \(looked), which does not exist")
        }
        // The cache folder keeps the repo id's case as typed when it was downloaded; the Hub
        // itself ignores case, so a folder differing only in case is the same repo.
        var repoDir = join(hub, ref.folderName)
        if !isDirectory(repoDir) {
            let entries = (try? fm.contentsOfDirectory(atPath: hub)) ?? []
            let matches = entries.filter { $0.lowercased() == ref.folderName.lowercased() && isDirectory(join(hub, $0)) }
            guard matches.count == 1 else {
                let models = entries.filter { $0.hasPrefix("models--") }.sorted()
                    .map { $0.dropFirst("models--".count).replacingOccurrences(of: "--", with: "/") }
                let cached = models.isEmpty ? "it holds no models" : "it holds \(models.prefix(12).joined(separator: ", "))\(models.count > 12 ? ", …" : "")"
                throw fail("nor in the local Hugging Face cache: \(looked), found no \(ref.folderName) (\(cached))")
            }
            repoDir = join(hub, matches[0])
        }
        let snapshotsDir = join(repoDir, "snapshots")
        let snapshots = ((try? fm.contentsOfDirectory(atPath: snapshotsDir)) ?? [])
            .filter { !$0.hasPrefix(".") && isDirectory(join(snapshotsDir, $0)) }.sorted()
        guard !snapshots.isEmpty else {
            throw fail("and its cache folder \(repoDir) has no snapshots (an interrupted download?)")
        }

        // Which snapshot.
        let commit: String
        if let revision = ref.revision {
            if let hash = readRef(join(repoDir, "refs/" + revision)) {
                guard snapshots.contains(hash) else {
                    throw fail("and \(repoDir)/refs/\(revision) names commit \(hash), which has no snapshot folder")
                }
                commit = hash
            } else if snapshots.contains(revision) {
                commit = revision
            } else {
                let prefixed = revision.count >= 7 ? snapshots.filter { $0.hasPrefix(revision.lowercased()) } : []
                guard prefixed.count == 1 else {
                    let refs = listRefs(join(repoDir, "refs"))
                    throw fail("and revision \"\(revision)\" of \(ref.repoID) is not in the cache (\(repoDir): "
                               + "refs \(refs.isEmpty ? "none" : refs.joined(separator: ", ")); snapshots \(snapshots.joined(separator: ", ")))")
                }
                commit = prefixed[0]
            }
        } else if let hash = readRef(join(repoDir, "refs/main")), snapshots.contains(hash) {
            commit = hash
        } else {
            let why = readRef(join(repoDir, "refs/main")).map { "refs/main names \($0), which has no snapshot" } ?? "there is no refs/main"
            if snapshots.count == 1 {
                commit = snapshots[0]
            } else {
                let dated = snapshots.map { ($0, modificationDate(join(snapshotsDir, $0))) }
                let newest = dated.max { ($0.1, $1.0) < ($1.1, $0.0) }!  // latest date; ties: first name
                commit = newest.0
                notes.append("\(ref.repoID): \(why) in \(repoDir); using snapshot \(commit), the most recently modified of \(snapshots.count) (choose one with \(ref.repoID)@COMMIT)")
            }
        }
        let snapshot = join(snapshotsDir, commit)

        // Which file.
        let ggufs = ggufFiles(in: snapshot)
        if let wanted = ref.file {
            guard wanted.lowercased().hasSuffix(".gguf") else {
                throw fail("and \"\(wanted)\" after ':' is not a .gguf file (use \(ref.repoID) alone for a model folder)", fetch: false)
            }
            var chosen: String? = nil
            if fm.fileExists(atPath: join(snapshot, wanted)) {
                chosen = wanted
            } else {
                let byName = ggufs.filter { ($0 as NSString).lastPathComponent == wanted }
                if byName.count == 1 { chosen = byName[0] }
            }
            guard let file = chosen else {
                let dangling = isSymlink(join(snapshot, wanted)) ? " (its link points to a missing blob: an incomplete download?)" : ""
                let listing = ggufs.isEmpty ? "it holds no .gguf files" : "its .gguf files: \(ggufs.joined(separator: ", "))"
                throw fail("and \(ref.repoID) snapshot \(commit) in the cache has no \(wanted)\(dangling) (\(snapshot); \(listing))")
            }
            return Resolution(path: join(snapshot, file), notes: notes)
        }
        if !ggufs.isEmpty {
            let candidates = ggufs.filter(isLoadableCandidate)
            if candidates.count == 1 { return Resolution(path: join(snapshot, candidates[0]), notes: notes) }
            if candidates.count > 1 {
                let file = preferredGGUF(candidates, in: snapshot)
                notes.append("\(ref.repoID) has \(candidates.count) GGUF files; using \(file) (Q4_K_M is preferred, then Q8_0, else the smallest; "
                             + "choose with \(ref.repoID):FILE.gguf — \(candidates.joined(separator: ", ")))")
                return Resolution(path: join(snapshot, file), notes: notes)
            }
        }
        guard fm.fileExists(atPath: join(snapshot, "config.json")) else {
            let dangling = isSymlink(join(snapshot, "config.json")) ? " (config.json points to a missing blob: an incomplete download?)" : ""
            let files = ((try? fm.contentsOfDirectory(atPath: snapshot)) ?? []).sorted()
            let ggufNote = ggufs.isEmpty ? "" : " (its only GGUF files are split parts or projectors: \(ggufs.joined(separator: ", ")); choose one with \(ref.repoID):FILE.gguf)"
            throw fail("and \(ref.repoID) snapshot \(commit) holds neither a .gguf file nor config.json\(dangling)\(ggufNote): \(snapshot) has \(files.isEmpty ? "no files" : files.joined(separator: ", "))",
                       fetch: ggufs.isEmpty)
        }
        return Resolution(path: snapshot, notes: notes)
    }

    /// Several GGUF files: the Q4_K_M one, else Q8_0, else the smallest (ties: by name).
    static func preferredGGUF(_ files: [String], in snapshot: String) -> String {
        for tag in ["Q4_K_M", "Q8_0"] {
            let tagged = files.filter { hasQuantTag(($0 as NSString).lastPathComponent, tag) }
            if !tagged.isEmpty { return smallest(tagged, in: snapshot) }
        }
        return smallest(files, in: snapshot)
    }

    /// Whether `name` carries `tag` (case-insensitive) not touching a letter or digit on either
    /// side: "x-Q8_0.gguf", "x.q8_0.gguf" and "x-Q8_0_L.gguf" do, "x-IQ4_K_M.gguf" has no Q4_K_M.
    static func hasQuantTag(_ name: String, _ tag: String) -> Bool {
        let n = Array(name.uppercased().utf8), t = Array(tag.utf8)
        guard n.count >= t.count else { return false }
        func isAlnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) }
        for start in 0...(n.count - t.count) where Array(n[start..<(start + t.count)]) == t {
            let before = start == 0 ? nil : n[start - 1], after = start + t.count < n.count ? n[start + t.count] : nil
            if (before.map { !isAlnum($0) } ?? true) && (after.map { !isAlnum($0) } ?? true) { return true }
        }
        return false
    }

    static func smallest(_ files: [String], in snapshot: String) -> String {
        files.map { ($0, fileSize(join(snapshot, $0)) ?? Int.max) }.min { ($0.1, $0.0) < ($1.1, $1.0) }!.0
    }

    /// Split-GGUF parts after the first and vision projectors are never picked automatically.
    static func isLoadableCandidate(_ file: String) -> Bool {
        let name = (file as NSString).lastPathComponent.lowercased()
        if name.hasPrefix("mmproj") { return false }
        // "-00002-of-00003.gguf"
        let stem = name.dropLast(".gguf".count)
        let pieces = stem.split(separator: "-")
        if pieces.count >= 3, pieces[pieces.count - 2] == "of",
           let part = Int(pieces[pieces.count - 3]), Int(pieces[pieces.count - 1]) != nil, part > 1 {
            return false
        }
        return true
    }

    /// The .gguf files of a snapshot (relative paths, two folder levels deep at most), whose
    /// links lead to a file (an interrupted download leaves none or a dangling one).
    static func ggufFiles(in snapshot: String) -> [String] {
        let fm = FileManager.default
        var found: [String] = []
        func scan(_ relative: String, depth: Int) {
            let dir = relative.isEmpty ? snapshot : join(snapshot, relative)
            for entry in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() where !entry.hasPrefix(".") {
                let rel = relative.isEmpty ? entry : join(relative, entry)
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: join(snapshot, rel), isDirectory: &isDir) else { continue }
                if isDir.boolValue {
                    if depth < 2 { scan(rel, depth: depth + 1) }
                } else if entry.lowercased().hasSuffix(".gguf") {
                    found.append(rel)
                }
            }
        }
        scan("", depth: 0)
        return found
    }

    // MARK: - Helpers

    static func isRepoPart<S: StringProtocol>(_ s: S) -> Bool {
        guard let first = s.unicodeScalars.first, s.count <= 96, first != ".", first != "-" else { return false }
        return s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-"
        }
    }

    static func readRef(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let hash = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return hash.isEmpty || hash.contains("/") ? nil : hash
    }

    /// Branch and tag names under refs/ (nested, as "pr/1").
    static func listRefs(_ refsDir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: refsDir) else { return [] }
        return e.compactMap { $0 as? String }.filter { !isDirectory(join(refsDir, $0)) }.sorted()
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    static func isSymlink(_ path: String) -> Bool {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
    }

    /// Size of the file a path leads to (through symlinks).
    static func fileSize(_ path: String) -> Int? {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return (try? FileManager.default.attributesOfItem(atPath: target)[.size] as? NSNumber)?.intValue
    }

    static func modificationDate(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }

    static func home(_ env: [String: String]) -> String {
        if let h = env["HOME"], !h.isEmpty { return h }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }

    static func expandTilde(_ path: String, _ env: [String: String]) -> String {
        if path == "~" { return home(env) }
        if path.hasPrefix("~/") { return join(home(env), String(path.dropFirst(2))) }
        return path
    }

    static func join(_ a: String, _ b: String) -> String {
        a.hasSuffix("/") ? a + b : a + "/" + b
    }
}
