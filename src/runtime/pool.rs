//! The worker threads that split large matrix products and elementwise passes.
//!
//! A training step of a medium network forks and joins a handful of times, each time for a few
//! tens of microseconds of work. A general-purpose pool that puts idle workers to sleep at once
//! pays a wake-up per fork (measured on the 2-core benchmark machine: 15–75 µs for a `join` of
//! two 10 µs halves, against 10 µs of work), which is as much as the work. So this pool keeps
//! an idle worker polling for [`SPIN`] before it sleeps (as OpenMP runtimes do), the calling
//! thread works too, and parts are claimed from a shared counter: a thread slowed down by
//! another process hands its share to the others.
//!
//! One job runs at a time. A call made while the pool is busy (from another thread, or from
//! inside a job) runs its parts on the calling thread, in order, so nesting cannot deadlock.
//! Which thread runs a part never changes what it computes: callers split work by its shape
//! only, so results are bit-identical at any thread count.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long an idle worker keeps polling for the next job before it sleeps. Long enough to
/// bridge the gaps between the products of one training step and between steps; short enough
/// that a program that stops using the pool gets its cores back within a millisecond.
const SPIN: Duration = Duration::from_millis(1);

/// Polls with the CPU's pause hint this many times before it starts yielding to the scheduler.
const PAUSES: u32 = 256;

/// The most workers the pool starts (beyond the calling thread).
const MAX_WORKERS: usize = 255;

/// A job: `parts` calls of `f`, claimed one by one from `next`.
struct Job {
    /// The closure, its lifetime erased: it is called only for a claimed index below `parts`,
    /// and the caller does not return (or unwind) until every claimed part has finished.
    f: *const (dyn Fn(usize) + Sync),
    parts: usize,
    /// How many pool workers may take part (the first ones by index).
    workers: usize,
    next: AtomicUsize,
    /// Parts not finished yet.
    left: AtomicUsize,
    /// The first panic of a part, re-raised on the calling thread.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

// SAFETY: `f` points to a `Sync` closure that outlives every call made through it (see `Job::f`);
// the other fields are thread-safe.
unsafe impl Send for Job {}
unsafe impl Sync for Job {}

impl Job {
    /// Claims and runs parts until none is left to claim.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.parts {
                return;
            }
            // SAFETY: `i < parts` was claimed by this thread alone, so the part has not
            // finished and the caller is still waiting in `for_each_part`: `f` is alive.
            let f = unsafe { &*self.f };
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(i))) {
                lock(&self.panic).get_or_insert(p);
            }
            self.left.fetch_sub(1, Ordering::Release);
        }
    }
}

struct Pool {
    /// The current job, if any.
    job: Mutex<Option<Arc<Job>>>,
    /// Bumped for every new job; idle workers watch it.
    generation: AtomicU64,
    /// Set while a job runs.
    busy: AtomicBool,
    /// Workers started so far.
    started: Mutex<usize>,
    /// Sleeping workers wait here for the next generation.
    sleep: Mutex<()>,
    wake: Condvar,
    sleepers: AtomicUsize,
}

static POOL: Pool = Pool {
    job: Mutex::new(None),
    generation: AtomicU64::new(0),
    busy: AtomicBool::new(false),
    started: Mutex::new(0),
    sleep: Mutex::new(()),
    wake: Condvar::new(),
    sleepers: AtomicUsize::new(0),
};

/// Locks `m`, ignoring poisoning (no lock here is held across code that can panic halfway
/// through an update).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Calls `f(i)` for every `i` in `0..parts`, on up to `threads` threads (the calling thread
/// included), and returns when all calls have returned. A panic in any part is re-raised here
/// after the others finish.
pub(crate) fn for_each_part(parts: usize, threads: usize, f: impl Fn(usize) + Sync) {
    let serial = |f: &dyn Fn(usize)| (0..parts).for_each(f);
    if threads <= 1 || parts <= 1 {
        return serial(&f);
    }
    if POOL
        .busy
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return serial(&f);
    }
    let workers = start_workers(threads - 1);
    if workers == 0 {
        POOL.busy.store(false, Ordering::Release);
        return serial(&f);
    }
    let f: &(dyn Fn(usize) + Sync) = &f;
    // SAFETY: only the lifetime is erased; see `Job::f` for why the pointer stays valid.
    let f: *const (dyn Fn(usize) + Sync + 'static) = unsafe { std::mem::transmute(f) };
    let job = Arc::new(Job {
        f,
        parts,
        workers,
        next: AtomicUsize::new(0),
        left: AtomicUsize::new(parts),
        panic: Mutex::new(None),
    });
    *lock(&POOL.job) = Some(Arc::clone(&job));
    POOL.generation.fetch_add(1, Ordering::SeqCst);
    if POOL.sleepers.load(Ordering::SeqCst) > 0 {
        let _guard = lock(&POOL.sleep);
        POOL.wake.notify_all();
    }
    job.work();
    let mut polls = 0u32;
    while job.left.load(Ordering::Acquire) > 0 {
        polls = polls.wrapping_add(1);
        if polls < PAUSES {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    *lock(&POOL.job) = None;
    POOL.busy.store(false, Ordering::Release);
    let panic = lock(&job.panic).take();
    if let Some(p) = panic {
        std::panic::resume_unwind(p);
    }
}

/// Runs `f` on every item, on up to [`get_num_threads`](super::get_num_threads) threads.
pub(crate) fn for_each<T: Send>(items: Vec<T>, f: impl Fn(T) + Sync) {
    let threads = super::get_num_threads();
    if threads <= 1 || items.len() <= 1 {
        return items.into_iter().for_each(f);
    }
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    for_each_part(slots.len(), threads, |i| {
        if let Some(t) = lock(&slots[i]).take() {
            f(t);
        }
    });
}

/// Starts workers until `want` are running (or starting one fails); returns how many run.
fn start_workers(want: usize) -> usize {
    let want = want.min(MAX_WORKERS);
    let mut started = lock(&POOL.started);
    while *started < want {
        let index = *started;
        // The generation before the job that starts this worker is published, so that the
        // worker takes part in that job too.
        let seen = POOL.generation.load(Ordering::Acquire);
        let spawned = std::thread::Builder::new()
            .name(format!("backprop-worker-{index}"))
            .spawn(move || worker(index, seen));
        if spawned.is_err() {
            break;
        }
        *started += 1;
    }
    want.min(*started)
}

/// A worker's life: wait for a job newer than generation `seen`, take part if its index is
/// among the job's workers, repeat.
fn worker(index: usize, mut seen: u64) {
    // Inherited from the thread that started this one, which may have had flushing on.
    let mut flush = super::mxcsr::flushing();
    loop {
        seen = next_generation(seen);
        let job = lock(&POOL.job).clone();
        let Some(job) = job else { continue };
        if index >= job.workers {
            continue;
        }
        // The subnormal-flushing bits are per thread: follow `set_flush_denormal`.
        let want = super::is_flush_denormal();
        if want != flush {
            super::mxcsr::set_flush(want);
            flush = want;
        }
        job.work();
    }
}

/// Waits until the pool's generation differs from `seen`: polls for [`SPIN`], then sleeps.
fn next_generation(seen: u64) -> u64 {
    let start = Instant::now();
    let mut polls = 0u32;
    loop {
        let g = POOL.generation.load(Ordering::Acquire);
        if g != seen {
            return g;
        }
        polls = polls.wrapping_add(1);
        if polls < PAUSES {
            std::hint::spin_loop();
            continue;
        }
        if start.elapsed() < SPIN {
            std::thread::yield_now();
            continue;
        }
        let mut guard = lock(&POOL.sleep);
        POOL.sleepers.fetch_add(1, Ordering::SeqCst);
        while POOL.generation.load(Ordering::SeqCst) == seen {
            guard = POOL.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        POOL.sleepers.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        return POOL.generation.load(Ordering::Acquire);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn every_part_runs_once() {
        let hits: Vec<AtomicU32> = (0..1000).map(|_| AtomicU32::new(0)).collect();
        for threads in [1, 2, 3] {
            for_each_part(hits.len(), threads, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 3));
    }

    #[test]
    fn workers_take_part() {
        // Parts long enough that a second thread claims some of them. Another test may hold
        // the pool (then the parts run on this thread), so try a few times.
        let ids = Mutex::new(HashSet::new());
        for _ in 0..50 {
            for_each_part(16, 2, |_| {
                let t = Instant::now();
                while t.elapsed() < Duration::from_micros(200) {
                    std::hint::spin_loop();
                }
                lock(&ids).insert(std::thread::current().id());
            });
            if lock(&ids).len() == 2 {
                break;
            }
        }
        assert_eq!(lock(&ids).len(), 2);
    }

    #[test]
    fn nested_calls_run_on_the_calling_thread() {
        let count = AtomicU32::new(0);
        for_each_part(4, 2, |_| {
            for_each_part(4, 2, |_| {
                count.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(count.load(Ordering::Relaxed), 16);
    }

    #[test]
    fn a_panicking_part_is_reraised_after_the_others_finish() {
        let done = AtomicU32::new(0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for_each_part(8, 2, |i| {
                if i == 3 {
                    panic!("part 3 failed");
                }
                done.fetch_add(1, Ordering::Relaxed);
            })
        }));
        let msg = r.unwrap_err().downcast::<&str>().unwrap();
        assert_eq!(*msg, "part 3 failed");
        // On the pool every other part finishes; run serially (pool busy), the first three.
        assert!(done.load(Ordering::Relaxed) >= 3);
        // The pool is usable afterwards.
        let count = AtomicU32::new(0);
        for_each_part(8, 2, |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 8);
    }

    #[test]
    fn items_are_each_consumed_once() {
        let sum = AtomicU32::new(0);
        for_each((1..=100u32).collect(), |v| {
            sum.fetch_add(v, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 5050);
    }
}
