/// A Hugging Face folder's safetensors as a tensor source: shapes are [rows, cols] as stored.
struct SafeTensorsSource: DecoderTensorSource {
    let folder: SafeTensorsFolder
    var path: String { folder.directory }

    func contains(_ name: String) -> Bool { folder.contains(name) }

    func expect(_ name: String, rows: Int, cols: Int?) throws {
        try folder.expect(name, shape: cols.map { [rows, $0] } ?? [rows])
    }

    func load(_ jobs: [DecoderTensorJob]) throws {
        let converted = try jobs.map { j -> SafeTensorsFolder.Job in
            let shape = try folder.find(j.name).info.shape
            return try folder.job(j.name, shape: shape, into: j.buffer, offset: j.offset)
        }
        try SafeTensorsFolder.run(converted)
    }
}

extension DecoderWeights {
    /// Loads a transformers checkpoint of any supported family (model.embed_tokens.weight,
    /// model.layers.N.self_attn.q_proj.weight [out, in], ..., model.norm.weight, lm_head.weight
    /// unless tied). transformers keeps q/k rows in rotate-half order, so `config.ropeLayout`
    /// must be `.neox`. Gemma's norms are stored as w for (1 + w): the 1 is added here.
    public convenience init(folder: SafeTensorsFolder, config c: DecoderConfig) throws {
        guard let family = DecoderFamily(rawValue: c.family) else {
            throw ModelError.unsupportedArchitecture("\(folder.directory): family \"\(c.family)\"")
        }
        try self.init(source: SafeTensorsSource(folder: folder), names: .huggingFace(family), config: c,
                      normOffset: family.normWeightsStoreOffset ? 1 : 0)
    }
}
