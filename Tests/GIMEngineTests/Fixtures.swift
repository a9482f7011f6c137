import Foundation
import XCTest

/// Access to committed fixtures and to the default model (which tests never download).
enum Fixtures {
    static func url(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json") else {
            throw XCTSkip("fixture \(name).json is missing")
        }
        return url
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: try url(name))
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw XCTSkip("fixture \(name).json is not a JSON object")
        }
        return obj
    }

    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The default model's path, or a skip telling how to fetch it (CI fetches it before testing).
    static func defaultModelPath() throws -> String {
        let path = repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("the default model is missing in CI: run models/fetch.sh")
            }
            throw XCTSkip("the default model is missing: run models/fetch.sh")
        }
        return path
    }
}

extension Array where Element == Any {
    var floats: [Float] { map { Float(($0 as! NSNumber).doubleValue) } }
    var ints: [Int] { map { ($0 as! NSNumber).intValue } }
}
