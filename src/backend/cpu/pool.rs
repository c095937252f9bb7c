//! The buffer pool: CPU buffers are kept when their array is dropped and handed to the next
//! array of about that size. Large ones go to one shared pool; small ones to a pool per thread.

use std::cell::RefCell;
use std::sync::Mutex;

/// Buffers of at least this many elements (64 KiB) are kept for reuse in the shared pool when
/// their array is dropped. A fresh large allocation is mapped from the OS page by page on first write (a page
/// fault and a page clear per 4 KiB), and freeing it may hand the pages back (`munmap`, or the
/// allocator trimming its heap), which on a multi-threaded process also interrupts the other
/// cores to flush their TLBs: tens of microseconds per step of a medium network. Reusing a
/// buffer skips all of that.
pub(crate) const RECYCLE_MIN: usize = 1 << 14;
/// At most this many buffers and bytes are kept (the oldest go first).
const RECYCLE_MAX_BUFFERS: usize = 64;
const RECYCLE_MAX_BYTES: usize = 384 << 20;

static RECYCLED: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// Small buffers are kept per thread (no lock) by size class: class `k` holds capacities in
/// `[2^k, 2^(k+1))`, up to this many bytes of them (at most 64 buffers). A small network's
/// training step makes and drops dozens of small arrays; taking them from here skips the
/// allocator's `malloc` and `free` (a third of such a step's instructions with glibc's).
const SMALL_CLASS_BYTES: usize = 32 << 10;
const SMALL_CLASSES: usize = RECYCLE_MIN.trailing_zeros() as usize;

thread_local! {
    static SMALL: RefCell<[Vec<Vec<f32>>; SMALL_CLASSES]> =
        const { RefCell::new([const { Vec::new() }; SMALL_CLASSES]) };
}

/// Keeps `v`'s allocation for a later array: in the shared pool if large, this thread's if
/// small (each while there is room).
pub(crate) fn recycle(v: Vec<f32>) {
    let cap = v.capacity();
    if cap == 0 {
        return;
    }
    if cap < RECYCLE_MIN {
        let class = (usize::BITS - 1 - cap.leading_zeros()) as usize;
        let room = (SMALL_CLASS_BYTES / (8 << class)).clamp(1, 64);
        // A thread being torn down has no pool left: `v` is then freed.
        let _ = SMALL.try_with(|small| {
            let mut small = small.borrow_mut();
            if small[class].len() < room {
                small[class].push(v);
            }
        });
        return;
    }
    let mut pool = RECYCLED.lock().unwrap_or_else(|e| e.into_inner());
    pool.push(v);
    let mut bytes: usize = pool.iter().map(|b| b.capacity() * 4).sum();
    while pool.len() > RECYCLE_MAX_BUFFERS || bytes > RECYCLE_MAX_BYTES {
        bytes -= pool.remove(0).capacity() * 4;
    }
}

/// A buffer of `n` elements whose values are unspecified (but initialised): a recycled one of
/// about the right size when there is one, else a zeroed allocation (a small one is always
/// zeroed). For results that are written in full before being read.
pub(crate) fn buffer_for_overwrite(n: usize) -> Vec<f32> {
    if n >= RECYCLE_MIN {
        let mut pool = RECYCLED.lock().unwrap_or_else(|e| e.into_inner());
        // The smallest buffer that fits, if it wastes at most half of itself.
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= n && b.capacity() <= 2 * n)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        if let Some(i) = best {
            let mut v = pool.swap_remove(i);
            drop(pool);
            v.resize(n, 0.0);
            return v;
        }
        return vec![0.0; n];
    }
    buffer_filled(n, 0.0)
}

/// A buffer of `n` elements, each `value`: a small one from this thread's pool when it has one
/// that fits.
pub(crate) fn buffer_filled(n: usize, value: f32) -> Vec<f32> {
    if n >= RECYCLE_MIN {
        let mut v = buffer_for_overwrite(n);
        v.fill(value);
        return v;
    }
    if n > 0 {
        // The class whose every buffer holds at least `n`: ceil(log2 n).
        let class = n.next_power_of_two().trailing_zeros() as usize;
        let kept = SMALL
            .try_with(|small| small.borrow_mut().get_mut(class).and_then(Vec::pop))
            .ok()
            .flatten();
        if let Some(mut v) = kept {
            v.clear();
            v.resize(n, value);
            return v;
        }
    }
    vec![value; n]
}
