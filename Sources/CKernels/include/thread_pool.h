// A fork-join pool for the engine's parallel loops: the calling thread and N−1 workers each run
// one part of a job and the call returns when all parts are done.
//
// Why not Dispatch: waking a sleeping Dispatch worker takes tens of microseconds here, longer
// than many of the engine's parallel steps (one layer's GEMM at 8 tokens is ~50 µs). These
// workers spin for a short while after each job, so a forward pass that hands them a new part
// every few microseconds finds them awake; after SPIN_MICROSECONDS without work they sleep on a
// condition variable and cost nothing.
#ifndef GIM_THREAD_POOL_H
#define GIM_THREAD_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*gim_pool_fn)(void *context, long part, long parts);

/// Runs fn(context, part, parts) for every part in [0, parts), parts = the pool size, and
/// returns when all are done; the caller runs part 0. When the pool is busy (another thread's
/// job, or a call from inside a part) the caller runs every part itself, in order, so nesting
/// and concurrent callers are safe.
void gim_pool_run(gim_pool_fn fn, void *context);

/// Number of parts a job is split into (threads, including the caller). Starts at 1.
long gim_pool_size(void);

/// Sets the number of threads (1…64; others are clamped). Starts workers as needed; workers
/// beyond the new size stay asleep. Safe from any thread: it waits for a running job to end (it
/// takes the lock a job's caller holds); a job that started inline keeps the size it read.
void gim_pool_set_size(long threads);

#ifdef __cplusplus
}
#endif

#endif
