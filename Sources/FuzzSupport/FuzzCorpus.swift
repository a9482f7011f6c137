import Foundation

/// Inputs for the fuzz targets' regression mode: files given on the command line, with
/// directories expanded to the files inside them (a corpus and its saved crash inputs).
public enum FuzzCorpus {
    public static func files<S: Sequence>(_ arguments: S) -> [String] where S.Element == String {
        let fm = FileManager.default
        var out: [String] = []
        for arg in arguments {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: arg, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                let names = (try? fm.contentsOfDirectory(atPath: arg)) ?? []
                // Dot files (a crash folder's .gitkeep) are not inputs.
                out += names.filter { !$0.hasPrefix(".") }.sorted().map { arg + "/" + $0 }
            } else {
                out.append(arg)
            }
        }
        return out
    }

    public static func read(_ path: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: path) ?? Data())
    }

    /// Regression mode of a fuzz target: every input named on the command line (directories
    /// expanded) through `exercise`, then "NAME: N inputs[, DETAIL], no crash".
    public static func replay(_ name: String, detail: String? = nil, _ exercise: ([UInt8]) -> Void) {
        let inputs = files(CommandLine.arguments.dropFirst())
        for file in inputs { exercise(read(file)) }
        print("\(name): \(inputs.count) inputs, \(detail.map { $0 + ", " } ?? "")no crash")
    }

    /// libFuzzer's input as bytes (it passes a null pointer for the empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}


#if FUZZING
/// libFuzzer's driver, for programs that keep their own `main` (SwiftPM executables always do).
@_silgen_name("LLVMFuzzerRunDriver")
public func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif
