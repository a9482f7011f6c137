import Foundation
import XCTest
@testable import GIMExplorer

final class ExporterTests: XCTestCase {
    let theme = try! ThemeLoader.load(file: Fixture.repoRoot.appendingPathComponent("themes/dark.toml"))

    func testJSONHasEveryNumberOfTheView() throws {
        let doc = Exporter.document(Fixture.france(), view: .heat, model: "SmolLM2", theme: "dark")
        let obj = try JSONSerialization.jsonObject(with: Exporter.json(doc)) as! [String: Any]
        XCTAssertEqual(obj["target_token_id"] as? Int, 7042)
        XCTAssertEqual(obj["target_token"] as? String, " Paris")
        XCTAssertEqual(obj["explained"] as? String, "logit")
        XCTAssertEqual(obj["freeze_norm"] as? Bool, true)
        XCTAssertEqual((obj["settings"] as? [String: Double])?["softmax_temperature"], 2)
        let tokens = obj["tokens"] as! [[String: Any]]
        XCTAssertEqual(tokens.map { $0["text"] as! String }, ["The", " capital", " of", " France", " is"])
        XCTAssertEqual(tokens.map { ($0["gim"] as! NSNumber).floatValue }, [0.51, 6.66, -0.75, 0.30, 17.43])
        XCTAssertEqual(tokens.map { $0["gim_rank"] as! Int }, [4, 2, 3, 5, 1])
        XCTAssertEqual(tokens.map { $0["plain_level"] as! Int }, [2, 8, 1, -4, -3])
        XCTAssertEqual((obj["predictions"] as! [[String: Any]]).count, 5)
    }

    func testPositionsAfterTheTargetAreMarked() throws {
        let doc = Exporter.document(Fixture.france(targetPosition: 2), view: .table, model: "m", theme: "dark")
        let obj = try JSONSerialization.jsonObject(with: Exporter.json(doc)) as! [String: Any]
        let tokens = obj["tokens"] as! [[String: Any]]
        XCTAssertEqual(tokens.map { $0["attributed"] as! Bool }, [true, true, true, false, false])
        XCTAssertNil(tokens[4]["gim_rank"], "no rank after the target")
    }

    func testHTMLUsesTheThemeHeatColoursAndEscapes() {
        var r = Fixture.france()
        r.tokenTexts[2] = "<script>"
        let html = Exporter.html(r, view: .heat, model: "m", theme: theme)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(html.contains("<script>"))
        XCTAssertTrue(html.contains("&lt;script&gt;"))
        // The strongest GIM token (" is", level +8) has the theme's full positive colour.
        XCTAssertTrue(html.contains("background: \(theme.heat!.positive.hex)"))
        XCTAssertTrue(html.contains("class=\"tok target\""))
        XCTAssertEqual(html.components(separatedBy: "<span class=\"tok").count - 1, 10, "two rows of five tokens")
    }

    func testHTMLWithoutColoursStillShowsMagnitude() {
        let html = Exporter.html(Fixture.france(), view: .difference, model: "m", theme: .monochrome)
        XCTAssertTrue(html.contains("border-bottom: 8px"))
        XCTAssertTrue(html.contains("GIM − plain"))
    }

    func testWriteNeverOverwrites() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gim-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let date = Date(timeIntervalSince1970: 0)
        let first = try Exporter.write(Fixture.france(), view: .heat, model: "m", theme: theme, directory: dir, date: date)
        let second = try Exporter.write(Fixture.france(), view: .heat, model: "m", theme: theme, directory: dir, date: date)
        XCTAssertEqual(first.count, 2)
        XCTAssertNotEqual(first, second)
        for path in first + second { XCTAssertTrue(FileManager.default.fileExists(atPath: path)) }
        XCTAssertTrue(second[0].hasSuffix("-2.json"))
    }
}
