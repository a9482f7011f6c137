import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// The matrix export and the words in the ordinary export.
final class GenerationExportTests: XCTestCase {
    func completeState() -> ExplorerState {
        var s = ContinuationFixture.state()
        s.generation.showMatrix = true
        var m = AttributionMatrix(requestID: 3, method: .gim, rows: ContinuationFixture.continuation.count)
        for j in m.gim.indices {
            m.gim[j] = ContinuationFixture.row(j)
            m.plain[j] = ContinuationFixture.row(j, plain: true)
        }
        s.generation.matrix = m
        return s
    }

    func testTheMatrixDocumentHasEveryRowOverItsSources() throws {
        var s = completeState()
        let r = s.result!
        let d = try XCTUnwrap(Exporter.matrixDocument(s, result: r, model: "SmolLM2"))
        XCTAssertEqual(d.rows.count, 8)
        XCTAssertEqual(d.sources.count, 23)
        XCTAssertEqual(d.sources.filter(\.continuation).count, 8)
        XCTAssertEqual(d.sources.filter(\.special).count, 4)
        XCTAssertEqual(d.rows[5].text, " Paris")
        XCTAssertEqual(d.rows[5].position, 19)
        XCTAssertEqual(d.rows[5].gim, ContinuationFixture.row(5))
        XCTAssertEqual(d.rows[5].plain, ContinuationFixture.row(5, plain: true))
        XCTAssertEqual(d.columns, "tokens")
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(d)) as? [String: Any]
        XCTAssertEqual((json?["rows"] as? [Any])?.count, 8)
        let html = Exporter.matrixHTML(d, state: s, theme: .monochrome)
        XCTAssertTrue(html.contains("continuation matrix"))
        XCTAssertEqual(html.components(separatedBy: "<tr>").count - 1, 2 * 9, "two tables of a header and 8 rows")

        // Words: columns are words, each row summed per word.
        s.display.words = true
        let w = try XCTUnwrap(Exporter.matrixDocument(s, result: r, model: "SmolLM2"))
        XCTAssertEqual(w.columns, "words")
        XCTAssertEqual(w.word_tokens?.count, w.sources.count)
        let words = ContinuationFixture.words()
        XCTAssertEqual(w.rows[5].gim, words.aggregate(ContinuationFixture.row(5)))

        // Not complete: nothing to export yet.
        s.generation.matrix?.gim[7] = nil
        XCTAssertNil(Exporter.matrixDocument(s, result: r, model: "m"))
    }

    func testTheOrdinaryExportCarriesWordsAndTheContinuationStart() throws {
        let r = ContinuationFixture.result()
        let doc = Exporter.document(r, view: .heat, model: "m", theme: "dark", reduction: .maxAbs)
        XCTAssertEqual(doc.continuation_start, 15)
        XCTAssertEqual(doc.word_reduction, "max-abs")
        let words = try XCTUnwrap(doc.words)
        XCTAssertEqual(words.count, r.words?.words.count)
        XCTAssertEqual(words.map(\.gim), r.words?.aggregate(r.gim, .maxAbs))
        let html = Exporter.html(r, view: .heat, model: "m", theme: .monochrome)
        XCTAssertTrue(html.contains("<h2>Words (sum of their tokens)</h2>"))
    }
}
