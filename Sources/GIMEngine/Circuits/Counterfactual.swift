/// What a component's activation is compared with (and patched from).
public enum Counterfactual: Sendable, Equatable {
    /// A corrupted prompt aligned token by token with the clean one (same number of tokens),
    /// e.g. "…, Mary gave a drink to" against "…, John gave a drink to".
    case prompt(tokenIDs: [Int])
    /// Each component's activation averaged over the clean prompt's positions (every position
    /// gets the mean of the T clean activations of that component): no second prompt needed.
    case meanOverPositions

    public var name: String {
        switch self {
        case .prompt: return "prompt"
        case .meanOverPositions: return "mean_over_positions"
        }
    }
}
