//! The buffer pool: large CPU buffers are kept when their array is dropped and handed to the
//! next array of about that size.

use std::sync::Mutex;

/// Buffers of at least this many elements (64 KiB) are kept for reuse when their array is
/// dropped. A fresh large allocation is mapped from the OS page by page on first write (a page
/// fault and a page clear per 4 KiB), and freeing it may hand the pages back (`munmap`, or the
/// allocator trimming its heap), which on a multi-threaded process also interrupts the other
/// cores to flush their TLBs: tens of microseconds per step of a medium network. Reusing a
/// buffer skips all of that. Small buffers come from the allocator's own free lists.
pub(crate) const RECYCLE_MIN: usize = 1 << 14;
/// At most this many buffers and bytes are kept (the oldest go first).
const RECYCLE_MAX_BUFFERS: usize = 64;
const RECYCLE_MAX_BYTES: usize = 384 << 20;

static RECYCLED: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

pub(crate) fn recycle(v: Vec<f32>) {
    let mut pool = RECYCLED.lock().unwrap_or_else(|e| e.into_inner());
    pool.push(v);
    let mut bytes: usize = pool.iter().map(|b| b.capacity() * 4).sum();
    while pool.len() > RECYCLE_MAX_BUFFERS || bytes > RECYCLE_MAX_BYTES {
        bytes -= pool.remove(0).capacity() * 4;
    }
}

/// A buffer of `n` elements whose values are unspecified (but initialised): a recycled one of
/// about the right size when there is one, else a zeroed allocation. For results that are
/// written in full before being read.
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
    }
    vec![0.0; n]
}
