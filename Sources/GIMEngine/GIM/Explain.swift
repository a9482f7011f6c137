/// The one-call API, mirroring the Python package's `gim.explain(model, input_ids, ...)`:
/// GIM attributions of the target logit to each input token, one forward plus one backward.
/// For repeated calls on the same prompt (knob changes, other targets), keep an `ExplainSession`.
public func explain(_ bundle: ModelBundle, tokenIDs: [Int], targetTokenID: Int? = nil, targetPosition: Int = -1,
                    baselineTokenID: Int? = nil, settings: GIMSettings = .gim) throws -> Attribution {
    let baseline = try baselineTokenID ?? bundle.inferredBaseline()
    let session = try ExplainSession(model: bundle.model, tokenIDs: tokenIDs)
    return try session.attribute(targetTokenID: targetTokenID, targetPosition: targetPosition,
                                 baselineTokenID: baseline, settings: settings)
}
