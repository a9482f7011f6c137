// The fork-join pool of thread_pool.h. One job at a time: a generation counter announces it,
// every worker runs its part (or sees it has none, after the pool was shrunk) and decrements
// `pending`; the caller spins until pending is 0. Because every worker, not only those with a
// part, must acknowledge a job before the next one is published, no worker can ever read the
// job fields of one generation while believing it is handling another.
#include "thread_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <time.h>

enum { MAX_THREADS = 64, SPIN_MICROSECONDS = 2000 };

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;    // held by the caller of a job
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

static _Atomic long generation = 0;    // incremented for every job
static _Atomic long pending = 0;       // workers that have not yet finished the current job
static _Atomic long size = 1;          // parts per job
static long started = 0;               // worker threads created (never stopped)
static gim_pool_fn job_fn;
static void *job_context;
static long job_parts;

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

static void *worker(void *arg) {
    WorkerStart start = *(WorkerStart *)arg;
    free(arg);
    long part = start.part;
    long seen = start.generation;
    for (;;) {
        // Spin for a while: the next job usually comes within microseconds.
        long deadline = now_us() + SPIN_MICROSECONDS, spins = 0;
        long g;
        while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
            cpu_relax();
            if (++spins % 256 == 0 && now_us() > deadline) {
                pthread_mutex_lock(&sleep_lock);
                while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen)
                    pthread_cond_wait(&wake, &sleep_lock);
                pthread_mutex_unlock(&sleep_lock);
                break;
            }
        }
        seen = g;
        if (part < job_parts) job_fn(job_context, part, job_parts);
        atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
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
    atomic_store(&size, threads);
    pthread_mutex_unlock(&busy);
}

void gim_pool_run(gim_pool_fn fn, void *context) {
    long parts = atomic_load(&size);
    if (parts == 1 || pthread_mutex_trylock(&busy) != 0) {
        for (long p = 0; p < parts; p++) fn(context, p, parts);
        return;
    }
    job_fn = fn;
    job_context = context;
    job_parts = parts;
    atomic_store_explicit(&pending, started, memory_order_relaxed);
    pthread_mutex_lock(&sleep_lock);
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&sleep_lock);
    fn(context, 0, parts);
    while (atomic_load_explicit(&pending, memory_order_acquire) != 0) cpu_relax();
    pthread_mutex_unlock(&busy);
}
