// Decoders of GGUF block encodings to Float32 for the weights the engine reads in place from
// the model file (WeightMatrix.swift decodes panels of rows on the fly, in both directions of
// a linear layer). Each computes exactly what Dequantize.swift computes, operation for
// operation (no fused multiply-add), so both give the same bits; these are the vectorized
// versions of the encodings common in distributed files.
#ifndef GIM_DECODE_BLOCKS_H
#define GIM_DECODE_BLOCKS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Decodes `blocks` consecutive blocks of ggml type `type` (ggml's numbering: 0 F32, 1 F16,
/// 2 Q4_0, 6 Q5_0, 8 Q8_0, 12 Q4_K, 13 Q5_K, 14 Q6_K, 30 BF16) from `src` into `dst`.
/// Returns 1, or 0 without writing when the type is not one of these (the caller decodes it).
int gim_decode_blocks(int type, const void *src, long blocks, float *dst);

#ifdef __cplusplus
}
#endif

#endif
