import GIMEngine

/// What a heat pane lays out: one cell per token, or per word when words are on (a word's value
/// is the sum, or the max-|a|, of its tokens'), with what kind of token each cell is and where
/// the token boundaries inside a word fall. Pure; `heatPane` and the matrix draw it.
struct SequenceCells: Equatable {
    enum Kind: Equatable {
        case prompt
        /// A generated or given continuation token (marked ╘══╛ under it).
        case continuation
        /// Generated while the panes still show the prompt's attribution (no value yet).
        case streaming
    }

    var texts: [String]
    var values: [Float]
    var kinds: [Kind]
    /// A special token (or a word that is one): shown with dotted brackets, maskable.
    var special: [Bool]
    /// Column offsets inside a cell's text where one token ends and the next begins (words only).
    var boundaries: [[Int]]
    /// Cells before this one are attributed (the rest are after the target).
    var attributedCount: Int
    /// The cell holding the target position.
    var target: Int

    /// Cells of a result's values (tokens or words), followed by the tokens still streaming in.
    init(result r: AnalysisResult, values tokenValues: [Float], display: SequenceDisplay, streaming: [ContinuationToken] = []) {
        let n = r.tokenTexts.count
        let special = r.special.count == n ? r.special : Array(repeating: false, count: n)
        let start = r.continuationStart ?? n
        let tokenKinds: [Kind] = (0..<n).map { $0 >= start ? .continuation : .prompt }
        let tokenCount = min(r.targetPosition + 1, n)
        if display.words, let mapping = r.words, mapping.wordOfToken.count == n, tokenValues.count == n {
            // Positions after the target are 0, so a word straddling the target sums only what is attributed.
            values = mapping.aggregate(tokenValues, display.reduction)
            texts = mapping.words.map { w in w.tokens.map { Sanitizer.visible(r.tokenTexts[$0]) }.joined() }
            boundaries = mapping.words.map { w in
                var offsets: [Int] = [], x = 0
                for t in w.tokens.dropLast() {
                    x += TextWidth.of(Sanitizer.visible(r.tokenTexts[t]))
                    offsets.append(x)
                }
                return offsets
            }
            kinds = mapping.words.map { tokenKinds[$0.firstToken] }
            self.special = mapping.words.map { w in w.tokens.allSatisfy { special[$0] } }
            target = r.targetPosition < n ? mapping.wordOfToken[r.targetPosition] : max(0, mapping.words.count - 1)
            attributedCount = tokenCount > 0 ? target + 1 : 0
        } else {
            values = tokenValues
            texts = r.tokenTexts
            boundaries = Array(repeating: [], count: n)
            kinds = tokenKinds
            self.special = special
            target = r.targetPosition
            attributedCount = tokenCount
        }
        for t in streaming {
            texts.append(t.text)
            values.append(0)
            kinds.append(.streaming)
            self.special.append(t.isSpecial)
            boundaries.append([])
        }
    }

    /// The colour scale, special tokens left out when masked.
    func scale(maskSpecial: Bool) -> HeatScale {
        guard maskSpecial else { return HeatScale(values, count: attributedCount) }
        let masked = values.enumerated().map { special[$0.offset] ? 0 : $0.element }
        return HeatScale(masked, count: attributedCount)
    }

    /// The streaming tokens the state has that the result does not show yet: a generation of
    /// the same prompt sequence whose attribution is still the prompt's.
    static func streaming(_ state: ExplorerState, result r: AnalysisResult) -> [ContinuationToken] {
        let g = state.generation
        guard r.continuationStart == nil, !g.tokens.isEmpty, g.prompt == r.prompt, g.promptTokenCount == r.tokenIDs.count else { return [] }
        return g.tokens
    }
}
