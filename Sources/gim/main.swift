import GIMEngine
import Foundation
let t0 = Date()
let g = try GGUFFile(path: "models/SmolLM2-135M-Instruct.Q4_1.gguf")
let w = try LlamaWeights(gguf: g)
print("load", Date().timeIntervalSince(t0))
let m = LlamaModel(weights: w)
let s = try ExplainSession(model: m, tokenIDs: [504, 3575, 282, 4649, 314])
let l = try s.logits(at: -1)
let top = l.indices.sorted { l[$0] > l[$1] }.prefix(5)
print(top.map { ($0, l[$0]) }, s.forwardSeconds)
for st in [GIMSettings.plain, .gim014, .gim] {
  let a = try s.attribute(baselineTokenID: 216, settings: st)
  print(a.values, a.seconds)
}
