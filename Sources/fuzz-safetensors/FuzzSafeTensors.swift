// Fuzz target for the safetensors reader: the 8-byte header length, the JSON header (tensor
// entries, "__metadata__"), dtype, shape and data_offsets checks, overlap detection, and reading
// the float tensors it accepted. Any input must give a file or a thrown SafeTensorsError, never a
// crash; an accepted file's tensors must lie inside the input and not overlap.
// Built as a libFuzzer binary or a regression runner, like fuzz-gguf (see scripts/fuzz.sh).
import Foundation
import GIMEngine
import FuzzSupport

func exerciseSafeTensors(_ bytes: [UInt8]) {
    let file: SafeTensorsFile
    do {
        file = try SafeTensorsFile(bytes: bytes, name: "fuzz-input")
    } catch is SafeTensorsError {
        return
    } catch {
        fatalError("an error that is not a SafeTensorsError: \(error)")
    }
    guard file.tensorNames.count == file.tensors.count else {
        fatalError("\(file.tensorNames.count) names for \(file.tensors.count) tensors")
    }
    var previousEnd = 0
    for name in file.tensorNames {
        guard let info = try? file.info(name) else { fatalError("listed tensor \(name) has no entry") }
        guard info.fileOffset >= 8, info.fileOffset + info.byteCount <= bytes.count else {
            fatalError("tensor \(name) at \(info.fileOffset)+\(info.byteCount) lies outside the \(bytes.count) bytes")
        }
        if info.byteCount > 0 {
            guard info.fileOffset >= previousEnd else { fatalError("tensor \(name) overlaps the one before") }
            previousEnd = info.fileOffset + info.byteCount
        }
        guard file.rawBytes(info).count == info.byteCount else { fatalError("raw bytes of \(name) have the wrong size") }
        if info.dtype.isFloatWeight && info.elementCount <= 1 << 16 {
            guard let values = try? file.floats(name), values.count == info.elementCount else {
                fatalError("float tensor \(name) cannot be read")
            }
        } else {
            _ = try? file.floats(name)
        }
    }
    _ = try? file.info("no such tensor")
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensorsInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exerciseSafeTensors(FuzzCorpus.bytes(data, size))
    return 0
}
#endif

@main
struct FuzzSafeTensorsRegression {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzSafeTensorsInput(data, size) }))
        #endif
        FuzzCorpus.replay("fuzz-safetensors", exerciseSafeTensors)
    }
}
