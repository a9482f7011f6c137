import Foundation
import GIMEngine

/// The key help overlay, built from the key table.
extension Renderer {
    /// Every binding of the key table, grouped; two columns when there is room.
    mutating func helpOverlay() {
        let sections = KeyMap.helpSections
        let boxWidth = min(width - 2, 100)
        let columns = boxWidth >= 72 ? 2 : 1
        let columnWidth = (boxWidth - 2 - (columns - 1)) / columns
        let keyWidth = min(15, columnWidth / 2)

        // Lay the sections out in columns without splitting a section when possible.
        var lines: [(text: String, text2: String, isTitle: Bool)] = []
        for s in sections {
            lines.append((s.title, "", true))
            for row in s.rows { lines.append((row.keys, row.text, false)) }
        }
        let perColumn = columns == 2 ? Self.splitPoint(sections.map { $0.rows.count + 1 }) : lines.count
        let rows = max(perColumn, lines.count - perColumn)
        let boxHeight = min(height - 2, (columns == 2 ? rows : lines.count) + 2)
        let box = Rect(x: (width - boxWidth) / 2, y: (height - boxHeight) / 2, width: boxWidth, height: boxHeight)
        frame.fill(box, role: .text)
        frame.box(box, title: "keys · any key closes", role: .accent)
        let inner = box.inset(1)
        for (i, line) in lines.enumerated() {
            let column = columns == 2 && i >= perColumn ? 1 : 0
            let row = column == 1 ? i - perColumn : i
            let x = inner.x + column * (columnWidth + 1)
            let y = inner.y + row
            guard y < inner.maxY else { continue }
            if y == inner.maxY - 1 && row < (column == 1 ? lines.count - perColumn : perColumn) - 1 {
                frame.put(Layout.fit("… enlarge the terminal for more", width: columnWidth), x: x, y: y, role: .dim)
                continue
            }
            if line.isTitle {
                frame.put(Layout.fit(line.text, width: columnWidth), x: x, y: y, role: .accent, attributes: .bold)
            } else {
                frame.put(Layout.pad(line.text, width: keyWidth), x: x, y: y, role: .key)
                frame.put(Layout.fit(line.text2, width: columnWidth - keyWidth - 1), x: x + keyWidth + 1, y: y, role: .text)
            }
        }
    }

    /// Where to break the section list into two columns of nearly equal height.
    static func splitPoint(_ sizes: [Int]) -> Int {
        let total = sizes.reduce(0, +)
        var best = total, acc = 0, bestDifference = total
        for s in sizes {
            acc += s
            let difference = abs(total - 2 * acc)
            if difference < bestDifference { bestDifference = difference; best = acc }
        }
        return best
    }
}
