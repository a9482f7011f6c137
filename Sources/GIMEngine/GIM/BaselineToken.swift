/// The baseline token whose embedding stands for "no input" in gradient × (input − baseline).
public enum BaselineToken {
    /// The Python package's rule: the first id of `tokenizer.encode(" ")` without special tokens,
    /// else the pad id, else the unk id, else an error.
    public static func infer(_ tokenizer: BPETokenizer) throws -> Int {
        if let id = tokenizer.encode(" ", addSpecialTokens: false).first { return id }
        if let pad = tokenizer.padID { return pad }
        if let unk = tokenizer.unkID { return unk }
        throw ModelError.badInput("cannot infer a baseline token: the tokenizer encodes \" \" to nothing and has no pad or unk token; pass a baseline token id")
    }
}
