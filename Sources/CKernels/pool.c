// Persistent worker pool; see include/pool.h.
//
// One job at a time. The job's state is a single 64-bit word, (generation << 32) | next index,
// so a worker can only claim an index of the job it read the parameters of: a claim is a
// compare-and-swap that fails once the generation moved on, and the caller starts a new job only
// after every index of the previous one was claimed and finished.
#include "pool.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

static _Atomic uint64_t state;          // (generation << 32) | next index to claim
static _Atomic uint32_t generation;     // the futex word: bumped for every job
static _Atomic long finished;           // indices of the current job done
static _Atomic int busy;                // a caller owns the pool
static _Atomic int sleepers;            // workers waiting on the futex
static _Atomic long spin_ns = 200000;
// The current job, written by the caller before it publishes the generation.
static _Atomic(hk_task_fn) job_fn;
static _Atomic(void *) job_context;
static _Atomic long job_tasks;
static int worker_count;
static pthread_once_t started = PTHREAD_ONCE_INIT;
static __thread int inside_task;

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

// Claims and runs indices of job `gen` until none are left.
static void work_on(uint32_t gen, hk_task_fn fn, void *context, long tasks) {
    uint64_t s = atomic_load_explicit(&state, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(s >> 32) != gen || (long)(s & 0xFFFFFFFFu) >= tasks) return;
        if (!atomic_compare_exchange_weak_explicit(&state, &s, s + 1, memory_order_acq_rel, memory_order_acquire)) continue;
        inside_task = 1;
        fn(context, (long)(s & 0xFFFFFFFFu));
        inside_task = 0;
        atomic_fetch_add_explicit(&finished, 1, memory_order_release);
        s = atomic_load_explicit(&state, memory_order_acquire);
    }
}

static void *worker_main(void *unused) {
    (void)unused;
    uint32_t seen = 0;  // workers start before the first job, whose generation is 1
    for (;;) {
        uint32_t gen = atomic_load_explicit(&generation, memory_order_acquire);
        if (gen == seen) {
            long deadline = now_ns() + atomic_load_explicit(&spin_ns, memory_order_relaxed);
            unsigned spins = 0;
            while ((gen = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
                cpu_relax();
                if ((++spins & 255) == 0 && now_ns() > deadline) {
                    atomic_fetch_add(&sleepers, 1);
                    // re-check after announcing ourselves, so a job posted in between is not missed
                    if (atomic_load_explicit(&generation, memory_order_acquire) == seen) futex_wait(&generation, seen);
                    atomic_fetch_sub(&sleepers, 1);
                    deadline = now_ns() + atomic_load_explicit(&spin_ns, memory_order_relaxed);
                }
            }
        }
        seen = gen;
        // The parameters belong to `gen` unless the caller already moved on, in which case the
        // state's generation differs and work_on claims nothing.
        work_on(gen, atomic_load_explicit(&job_fn, memory_order_relaxed), atomic_load_explicit(&job_context, memory_order_relaxed),
                atomic_load_explicit(&job_tasks, memory_order_relaxed));
    }
    return NULL;
}

static void start_pool(void) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("HEARTH_POOL_THREADS");
    long workers = env ? atol(env) : cpus - 1;
    const char *spin = getenv("HEARTH_POOL_SPIN_US");
    if (spin) atomic_store(&spin_ns, atol(spin) * 1000L);
    if (workers < 0) workers = 0;
    if (workers > 255) workers = 255;
    int made = 0;
    for (long i = 0; i < workers; i++) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &attributes, worker_main, NULL) == 0) made++;
        pthread_attr_destroy(&attributes);
    }
    worker_count = made;
}

int hk_pool_workers(void) {
    pthread_once(&started, start_pool);
    return worker_count;
}

void hk_pool_set_spin(long microseconds) { atomic_store(&spin_ns, microseconds * 1000L); }

void hk_pool_run(long tasks, hk_task_fn fn, void *context) {
    if (tasks <= 0) return;
    pthread_once(&started, start_pool);
    int expected = 0;
    if (tasks == 1 || worker_count == 0 || inside_task || tasks > 0x7FFFFFFFL
        || !atomic_compare_exchange_strong(&busy, &expected, 1)) {
        for (long i = 0; i < tasks; i++) fn(context, i);
        return;
    }
    atomic_store_explicit(&job_fn, fn, memory_order_relaxed);
    atomic_store_explicit(&job_context, context, memory_order_relaxed);
    atomic_store_explicit(&job_tasks, tasks, memory_order_relaxed);
    atomic_store_explicit(&finished, 0, memory_order_relaxed);
    uint32_t gen = atomic_load_explicit(&generation, memory_order_relaxed) + 1;
    if (gen == 0) gen = 1;  // 0 is the workers' "seen nothing yet"
    atomic_store_explicit(&state, (uint64_t)gen << 32, memory_order_release);
    atomic_store_explicit(&generation, gen, memory_order_release);
    if (atomic_load(&sleepers) > 0) futex_wake_all(&generation);
    work_on(gen, fn, context, tasks);
    while (atomic_load_explicit(&finished, memory_order_acquire) < tasks) cpu_relax();
    atomic_store_explicit(&busy, 0, memory_order_release);
}
