/// Places inside the network where the backward reports the gradient flowing through,
/// for edge/node attribution patching (the `gim.GIM()` context-manager use case).
/// Every buffer is [T, width] row-major; rows past the last position that reaches the seed are zero.
public enum GradientSite: Hashable, Sendable {
    /// Gradient at the residual stream leaving block `layer` (= the gradient of its MLP output). [T, D]
    case blockOutput(layer: Int)
    /// Gradient at the residual stream between attention and MLP of block `layer`
    /// (= the gradient of the attention block's output, after attn_output). [T, D]
    case attentionOutput(layer: Int)
    /// Gradient at the per-head attention output before attn_output: head h is columns
    /// h·headDim..<(h+1)·headDim. [T, heads·headDim]
    case headOutputs(layer: Int)
    /// Gradient at the residual stream entering block `layer`. [T, D]
    case blockInput(layer: Int)
}

/// Receives gradients during a backward pass: (site, pointer to [T, width], width).
/// The pointer is valid only during the call.
public typealias GradientObserver = (GradientSite, UnsafePointer<Float>, Int) -> Void
