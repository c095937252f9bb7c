//! Process-wide switches for speed: how many threads matrix products may use
//! ([`set_num_threads`], as `torch.set_num_threads`) and whether subnormal floats are flushed
//! to zero ([`set_flush_denormal`], as `torch.set_flush_denormal`).
//!
//! Threads split only large work: matrix products of at least [`GEMM_PARALLEL_THRESHOLD`]
//! multiply-adds and elementwise passes over at least 2¹⁶ elements, so a small network runs on
//! the calling thread, lock-free. The threads are this crate's own pool (see `pool.rs`), started
//! on the first large job.
//!
//! This module depends on `std` alone: the kernels (`tensor`) call into it, never the reverse.

mod pool;

pub(crate) use pool::{for_each, for_each_part};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// 0 means the default (see [`set_num_threads`]).
static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);
static FLUSH_DENORMAL: AtomicBool = AtomicBool::new(false);

/// Sets how many threads large matrix products and elementwise passes may use, the calling
/// thread included, as `torch.set_num_threads`; `0` restores the default: the
/// `BACKPROP_NUM_THREADS` environment variable if it holds a positive number, else one thread
/// per core. `1` keeps every op on the calling thread.
///
/// Results do not depend on the thread count: work is split by its shape alone, and each
/// thread computes whole parts of it (never part of a sum).
///
/// # Examples
/// ```
/// backprop::set_num_threads(1);
/// assert_eq!(backprop::get_num_threads(), 1);
/// backprop::set_num_threads(0);
/// assert!(backprop::get_num_threads() >= 1);
/// ```
pub fn set_num_threads(n: usize) {
    NUM_THREADS.store(n, Ordering::Relaxed);
}

/// The number of threads a large matrix product may use, as `torch.get_num_threads`.
pub fn get_num_threads() -> usize {
    match NUM_THREADS.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

/// `BACKPROP_NUM_THREADS` if set to a positive number, else the number of cores.
fn default_threads() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        std::env::var("BACKPROP_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Products of at least this many multiply-adds use the thread pool; below it the cost of
/// waking threads outweighs the work. (`tensor::PARALLEL_THRESHOLD` is the same number, checked
/// at compile time in `tensor/mod.rs`.)
pub(crate) const GEMM_PARALLEL_THRESHOLD: usize = 1 << 20;

/// How many threads a product of `work` multiply-adds should use.
pub(crate) fn gemm_threads(work: usize) -> usize {
    if work < GEMM_PARALLEL_THRESHOLD {
        return 1;
    }
    get_num_threads()
}

/// Elementwise passes over at least this many elements (optimizer updates of large parameters)
/// are split across the threads.
pub(crate) const PARALLEL_ELEMENTS: usize = 1 << 16;

/// The chunk length that splits `n` independent elements evenly across the threads, or `None`
/// when one thread should do it all (one thread configured, or too little work).
pub(crate) fn elementwise_chunk(n: usize) -> Option<usize> {
    if n < PARALLEL_ELEMENTS {
        return None;
    }
    let threads = get_num_threads();
    if threads <= 1 {
        return None;
    }
    // Whole cache lines per chunk.
    Some(n.div_ceil(threads).next_multiple_of(16))
}

/// Turns flushing of subnormal (denormal) floats on or off, as `torch.set_flush_denormal`;
/// returns whether the CPU supports it (x86-64: always; elsewhere: `false`, and nothing changes).
///
/// When on, results too small to be normal `f32`s (below about `1.2e-38`) become zero, and
/// subnormal inputs are read as zero (the SSE flush-to-zero and denormals-are-zero bits). Some
/// CPUs take a slow path, up to ~100 cycles, for every subnormal operand; long training runs
/// produce them, e.g. in Adam's moment estimates of parameters whose gradient stays zero (dead
/// ReLU units), which decay geometrically towards zero. Flushing removes that slow-down at the
/// cost of deviating from IEEE arithmetic at the very bottom of the range (PyTorch's default
/// is off, and so is ours; see `BENCHMARKS.md` for the measured effect).
///
/// The bits are per thread: this sets them on the calling thread, and the worker threads follow
/// the switch before each job they take part in. Call it from the thread that trains.
///
/// # Examples
/// ```
/// if backprop::set_flush_denormal(true) {
///     let product = || (std::hint::black_box(1e-39f32) * std::hint::black_box(1.0f32)).to_bits();
///     assert_eq!(product(), 0);
///     backprop::set_flush_denormal(false);
///     assert_eq!(product(), 1e-39f32.to_bits());
/// }
/// ```
pub fn set_flush_denormal(on: bool) -> bool {
    if !mxcsr::SUPPORTED {
        return false;
    }
    FLUSH_DENORMAL.store(on, Ordering::Relaxed);
    mxcsr::set_flush(on);
    true
}

/// Whether [`set_flush_denormal`] last turned flushing on.
pub fn is_flush_denormal() -> bool {
    FLUSH_DENORMAL.load(Ordering::Relaxed)
}

#[cfg(target_arch = "x86_64")]
mod mxcsr {
    pub(super) const SUPPORTED: bool = true;
    /// Flush-to-zero (bit 15) and denormals-are-zero (bit 6).
    const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

    /// Whether this thread's flush bits are set. A new thread starts with the bits of the
    /// thread that spawned it.
    pub(super) fn flushing() -> bool {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr only reads this thread's SSE control register.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack)) };
        csr & FTZ_DAZ == FTZ_DAZ
    }

    pub(super) fn set_flush(on: bool) {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr/ldmxcsr read and write the SSE control register of this thread; we
        // change only the FTZ and DAZ bits, which every x86-64 CPU supports (SSE2 is baseline).
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
            csr = if on { csr | FTZ_DAZ } else { csr & !FTZ_DAZ };
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack));
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod mxcsr {
    pub(super) const SUPPORTED: bool = false;
    pub(super) fn flushing() -> bool {
        false
    }
    pub(super) fn set_flush(_: bool) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_denormal_zeroes_subnormal_results_on_this_thread_and_the_pool() {
        let _global = crate::testing::global_state();
        if !set_flush_denormal(true) {
            return;
        }
        // A fresh product each time (black_box on both operands: the compiler neither folds it
        // nor reuses an earlier one), compared by bits, since DAZ makes 1e-39 == 0.0 true.
        let tiny = 1e-39f32;
        let product = || (std::hint::black_box(tiny) * std::hint::black_box(1.0f32)).to_bits();
        assert_eq!(product(), 0);
        assert!(on_every_thread(tiny).iter().all(|&v| v == 0));
        assert!(is_flush_denormal());
        set_flush_denormal(false);
        assert_eq!(product(), tiny.to_bits());
        assert!(on_every_thread(tiny).iter().all(|&v| v == tiny.to_bits()));
    }

    /// The bits of `tiny · 1` computed in 32 parts of 100 µs each on 2 threads (the worker
    /// takes some).
    fn on_every_thread(tiny: f32) -> Vec<u32> {
        let out: Vec<std::sync::Mutex<u32>> = (0..32).map(|_| std::sync::Mutex::new(0)).collect();
        for_each_part(out.len(), 2, |i| {
            let t = std::time::Instant::now();
            while t.elapsed() < std::time::Duration::from_micros(100) {
                std::hint::spin_loop();
            }
            *out[i].lock().unwrap() =
                (std::hint::black_box(tiny) * std::hint::black_box(1.0f32)).to_bits();
        });
        out.into_iter().map(|m| m.into_inner().unwrap()).collect()
    }

    #[test]
    fn small_products_stay_on_the_calling_thread() {
        assert_eq!(gemm_threads(1000), 1);
    }
}
