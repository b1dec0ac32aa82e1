// A persistent worker pool for the many small parallel products of one decoding step: workers spin
// briefly after each job (so the next product of the same token starts without a wake-up), then
// sleep on a futex. A dispatch costs well under a microsecond when workers are spinning, against
// 5–20 µs for DispatchQueue.concurrentPerform. See WorkerPool in Sources/Tensors/Kernels.swift.
#ifndef HEARTH_POOL_H
#define HEARTH_POOL_H

typedef void (*hk_task_fn)(void *context, long index);

/// Runs fn(context, i) for i in [0, tasks) on the pool's workers and the calling thread; returns
/// when all have finished. Called while the pool is busy (from a task, or from a second thread),
/// it runs the tasks on the calling thread instead, so nesting and concurrent callers are safe.
void hk_pool_run(long tasks, hk_task_fn fn, void *context);

/// Worker threads the pool holds (the processor count minus one; set HEARTH_POOL_THREADS to change).
int hk_pool_workers(void);

/// Microseconds a worker spins for new work before it sleeps (HEARTH_POOL_SPIN_US, default 200).
void hk_pool_set_spin(long microseconds);

#endif
