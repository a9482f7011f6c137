// The C side of the engine: a fork-join thread pool, matrix kernels for linear layers and
// vectorized elementwise passes. Each header says what it is for.
#include "attention_kernels.h"
#include "heap_settings.h"
#include "decode_blocks.h"
#include "linear_kernels.h"
#include "thread_pool.h"
#include "vector_math.h"
