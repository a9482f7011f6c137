// The fork-join pool of thread_pool.h.
//
// One job at a time. The caller publishes a job like a sequence lock: the generation counter
// goes odd while the job fields are written and even once they are complete, so a worker that
// reads the fields between two equal even readings knows they belong to that generation.
// Each worker with a part runs it and decrements `pending`; the caller spins until pending is
// 0. Workers whose part number is at or beyond the pool size (after a shrink) are retired:
// they sleep on `resize` instead of spinning, so a pool grown to 8 threads and shrunk back to
// 2 leaves 2 busy threads on a 2-core machine, not 8 (measured: spinning retired workers made
// the test suite's attributions 12x slower).
#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

enum { MAX_THREADS = 64, SPIN_MICROSECONDS = 2000 };

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;    // held by the caller of a job
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;      // a job was published
static pthread_cond_t resize = PTHREAD_COND_INITIALIZER;    // the pool size changed

static _Atomic long generation = 0;    // +2 per job; odd while a job's fields are written
static _Atomic long pending = 0;       // parts of the current job not finished by workers
static _Atomic long size = 1;          // parts per job
static long started = 0;               // worker threads created (never stopped); under `busy`
static long resize_generation = 0;     // the generation at the last resize; under `sleep_lock`
static _Atomic(gim_pool_fn) job_fn;
static _Atomic(void *) job_context;
static _Atomic long job_parts;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

// What a worker starts with: its part, and the generation current when it was created (read
// under `busy`, so no job was running). Reading the generation in the new thread instead
// could see a job that started before the thread ran, and that job would wait forever.
typedef struct { long part; long generation; } WorkerStart;

// A published generation this worker has not handled yet: even and not `seen`.
static inline int is_new(long g, long seen) { return g != seen && (g & 1) == 0; }

static void *worker(void *arg) {
    WorkerStart start = *(WorkerStart *)arg;
    free(arg);
    const long part = start.part;
    long seen = start.generation;
    for (;;) {
        if (part >= atomic_load(&size)) {
            // Retired: sleep until the pool grows again, then start from the generation of
            // that resize (set under `busy`, before any later job).
            pthread_mutex_lock(&sleep_lock);
            while (part >= atomic_load(&size)) pthread_cond_wait(&resize, &sleep_lock);
            seen = resize_generation;
            pthread_mutex_unlock(&sleep_lock);
            continue;
        }
        // Spin for a while: the next job usually comes within microseconds.
        long deadline = now_us() + SPIN_MICROSECONDS, spins = 0;
        long g;
        while (!is_new(g = atomic_load_explicit(&generation, memory_order_acquire), seen)) {
            cpu_relax();
            if (++spins % 256 != 0) continue;
            // Every ~10 µs give the core away if anything else wants it: on a machine with more
            // runnable threads than cores a spinning worker would otherwise take CPU from the
            // very threads whose work it waits for (costs ~1 µs when nothing else is runnable).
            sched_yield();
            if (now_us() > deadline || part >= atomic_load(&size)) {
                pthread_mutex_lock(&sleep_lock);
                while (!is_new(g = atomic_load_explicit(&generation, memory_order_acquire), seen) &&
                       part < atomic_load(&size))
                    pthread_cond_wait(&wake, &sleep_lock);
                pthread_mutex_unlock(&sleep_lock);
                break;
            }
        }
        if (!is_new(g, seen)) continue;  // woken for a resize
        gim_pool_fn fn = atomic_load_explicit(&job_fn, memory_order_relaxed);
        void *context = atomic_load_explicit(&job_context, memory_order_relaxed);
        long parts = atomic_load_explicit(&job_parts, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        // A newer job was being published while the fields were read: they may be mixed. This
        // job cannot have needed us (its caller would still be waiting), so take the newer one.
        if (atomic_load_explicit(&generation, memory_order_relaxed) != g) continue;
        seen = g;
        if (part < parts) {
            fn(context, part, parts);
            atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
        }
    }
    return 0;
}

long gim_pool_size(void) { return atomic_load(&size); }

void gim_pool_set_size(long threads) {
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    pthread_mutex_lock(&busy);
    while (started < threads - 1) {
        pthread_t t;
        pthread_attr_t attr;
        WorkerStart *start = malloc(sizeof *start);
        if (!start) {
            threads = started + 1;  // run with the workers we have
            break;
        }
        start->part = started + 1;
        start->generation = atomic_load(&generation);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, worker, start) != 0) {
            free(start);
            pthread_attr_destroy(&attr);
            threads = started + 1;  // run with the workers we have
            break;
        }
        pthread_attr_destroy(&attr);
        started++;
    }
    pthread_mutex_lock(&sleep_lock);
    atomic_store(&size, threads);
    resize_generation = atomic_load(&generation);
    pthread_cond_broadcast(&resize);
    pthread_cond_broadcast(&wake);  // spinning-then-sleeping workers beyond the size retire
    pthread_mutex_unlock(&sleep_lock);
    pthread_mutex_unlock(&busy);
}

void gim_pool_run(gim_pool_fn fn, void *context) {
    long parts = atomic_load(&size);
    if (parts == 1 || pthread_mutex_trylock(&busy) != 0) {
        for (long p = 0; p < parts; p++) fn(context, p, parts);
        return;
    }
    // Read the size again now that it cannot change (gim_pool_set_size holds `busy`): a resize
    // between the first read and the lock would otherwise publish parts for workers that have
    // just retired, and this caller would wait for them forever.
    parts = atomic_load(&size);
    if (parts == 1) {
        fn(context, 0, 1);
        pthread_mutex_unlock(&busy);
        return;
    }
    long g = atomic_load_explicit(&generation, memory_order_relaxed);
    atomic_store_explicit(&generation, g + 1, memory_order_relaxed);  // odd: fields being written
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&job_fn, fn, memory_order_relaxed);
    atomic_store_explicit(&job_context, context, memory_order_relaxed);
    atomic_store_explicit(&job_parts, parts, memory_order_relaxed);
    atomic_store_explicit(&pending, parts - 1, memory_order_relaxed);
    pthread_mutex_lock(&sleep_lock);
    atomic_store_explicit(&generation, g + 2, memory_order_release);  // even: published
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&sleep_lock);
    fn(context, 0, parts);
    for (long spins = 1; atomic_load_explicit(&pending, memory_order_acquire) != 0; spins++) {
        cpu_relax();
        if (spins % 1024 == 0) sched_yield();  // a descheduled worker needs the core we spin on
    }
    pthread_mutex_unlock(&busy);
}
