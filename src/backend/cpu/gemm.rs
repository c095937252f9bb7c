//! The CPU's matrix product: the `gemm` crate's kernels, driven in blocks on the worker pool, with
//! the reduction cut in pieces fixed by `k` alone so that results do not depend on the thread
//! count.

/// How a matrix operand is laid out in its buffer.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Row stride in elements.
    pub rs: usize,
    /// Column stride in elements.
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix, optionally read transposed.
    pub fn new(data: &'a [f32], cols: usize, transposed: bool) -> Self {
        if transposed {
            MatRef {
                data,
                rs: 1,
                cs: cols,
            }
        } else {
            MatRef {
                data,
                rs: cols,
                cs: 1,
            }
        }
    }
}

/// Products at or above this many multiply-adds use the thread pool; below it the cost of
/// waking threads outweighs the work.
pub const PARALLEL_THRESHOLD: usize = 1 << 20;

/// The longest stretch of the reduction (over `k`) given to the kernel in one call. The `gemm`
/// crate sums each output element as one fused multiply-add chain per stretch of `k` it
/// blocks by, and how it blocks depends on the output's shape (`min(k, 512)` for small
/// outputs, `k / ⌈k / 512⌉` or more for others). Below 512 both are the whole `k`. Cutting the
/// reduction here, by `k` alone, fixes the order of every sum, whatever the blocks of the
/// output: so the blocks may follow the thread count and results stay bit-identical.
const K_PIECE: usize = 512;

/// `dst[m×n] = (accumulate ? dst : 0) + a[m×k] · b[k×n]`, with `dst` row-major and `a`, `b` read
/// through their strides (so transposes cost nothing). Large products are split across the
/// threads (see [`set_num_threads`](crate::set_num_threads)); the result does not depend on
/// the thread count, bit for bit.
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
) {
    let init = if accumulate { Init::Keep } else { Init::Zero };
    gemm_ex(m, n, k, dst, a, b, init, false);
}

/// What a product adds to.
#[derive(Clone, Copy)]
pub(crate) enum Init<'a> {
    /// Nothing: `dst = a·b`.
    Zero,
    /// The destination's values: `dst += a·b`.
    Keep,
    /// A bias broadcast over the rows (`[n]`): `dst = bias + a·b`, summed in that order.
    Bias(&'a [f32]),
}

/// [`gemm`] starting from `init`, and with `relu` a ReLU applied to the result (as
/// [`Tensor::relu`](crate::Tensor::relu)). Each thread fills its block with the bias just before
/// its product and applies the ReLU right after, while the block is still in cache: the fused
/// `Linear` + ReLU of inference.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_ex(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    a: MatRef<'_>,
    b: MatRef<'_>,
    init: Init<'_>,
    relu: bool,
) {
    let threads = crate::runtime::gemm_threads(m.saturating_mul(n).saturating_mul(k));
    gemm_on(threads, m, n, k, dst, a, b, init, relu);
}

/// The ReLU of [`Tensor::relu`](crate::Tensor::relu) (NaN and −0 kept, as PyTorch).
#[inline(always)]
pub(crate) fn relu_f32(v: f32) -> f32 {
    if v < 0.0 {
        0.0
    } else {
        v
    }
}

/// Applies `init` (before the product) or the ReLU (after it) to rows `rows` and columns
/// `cols` of the row-major `m×n` destination at `dst`.
///
/// # Safety
/// The region must be inside the destination and not accessed by another thread meanwhile.
unsafe fn for_region(
    dst: *mut f32,
    n: usize,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    f: impl Fn(usize, &mut [f32]),
) {
    for r in rows {
        // SAFETY: inside the destination (caller's contract).
        let row =
            unsafe { std::slice::from_raw_parts_mut(dst.add(r * n + cols.start), cols.len()) };
        f(cols.start, row);
    }
}

/// [`gemm_ex`] on up to `threads` threads.
#[allow(clippy::too_many_arguments)]
fn gemm_on(
    threads: usize,
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    a: MatRef<'_>,
    b: MatRef<'_>,
    init: Init<'_>,
    relu: bool,
) {
    assert!(
        m.checked_mul(n).is_some_and(|mn| dst.len() >= mn),
        "gemm: destination too small"
    );
    if let Init::Bias(bias) = init {
        assert!(
            bias.len() == n,
            "gemm: bias of {} for {n} columns",
            bias.len()
        );
    }
    if m == 0 || n == 0 {
        return;
    }
    // Before the product: zero or bias; after it: the ReLU.
    let prologue = |dst: *mut f32, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>| {
        // SAFETY: callers pass a region of their own block.
        unsafe {
            match init {
                Init::Bias(bias) => for_region(dst, n, rows, cols, |c0, row| {
                    row.copy_from_slice(&bias[c0..c0 + row.len()])
                }),
                Init::Zero if k == 0 => for_region(dst, n, rows, cols, |_, row| row.fill(0.0)),
                _ => {}
            }
        }
    };
    let epilogue = |dst: *mut f32, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>| {
        if relu {
            // SAFETY: as for the prologue.
            unsafe {
                for_region(dst, n, rows, cols, |_, row| {
                    row.iter_mut().for_each(|v| *v = relu_f32(*v))
                })
            };
        }
    };
    if k == 0 {
        prologue(dst.as_mut_ptr(), 0..m, 0..n);
        epilogue(dst.as_mut_ptr(), 0..m, 0..n);
        return;
    }
    let accumulate = !matches!(init, Init::Zero);
    // The last element each operand reads, checked without overflow; the kernel takes strides
    // as `isize`.
    let last = |rows: usize, cols: usize, m: MatRef<'_>| {
        let fits = |s: usize| isize::try_from(s).is_ok();
        (rows - 1)
            .checked_mul(m.rs)
            .zip((cols - 1).checked_mul(m.cs))
            .and_then(|(r, c)| r.checked_add(c))
            .filter(|&last| last < m.data.len() && fits(m.rs) && fits(m.cs))
    };
    assert!(
        last(m, k, a).is_some() && last(k, n, b).is_some(),
        "gemm: operand too small"
    );
    // Blocks of the output: the longer side is split, columns in multiples of 64 (the kernel's
    // row block after it transposes a row-major product), rows in multiples of 8. One fork-join
    // per product; each thread claims whole blocks and computes them with the single-threaded
    // kernel. (The crate's own threading forks once per cache block, which costs more than the
    // work on products of a few million multiply-adds.)
    let (split_cols, len, unit, other) = if n >= m {
        (true, n, 64, m)
    } else {
        (false, m, 8, n)
    };
    // Large products get two blocks per thread, so that a thread slowed down by another
    // process hands work to the others.
    let work = m.saturating_mul(n).saturating_mul(k);
    let wanted = if work >= 32 << 20 {
        threads.saturating_mul(2)
    } else {
        threads
    };
    // Every block must take the kernel's general path, as the whole product does: at least 2
    // rows and columns and more than 256 outputs (smaller outputs use dot-product kernels that
    // sum in another order). Products that take another path are never split.
    let general = m >= 2 && n >= 2 && m * n > 256;
    let min_units = unit.max(2).max(257usize.div_ceil(other)).div_ceil(unit);
    let full_units = len / unit;
    let parts = if threads <= 1 || !general {
        1
    } else {
        wanted.min(full_units / min_units).max(1)
    };
    // Block `i` covers units `i·full/parts ..`; the last block also takes the partial unit.
    let bounds = |i: usize| {
        if i == parts {
            len
        } else {
            i * full_units / parts * unit
        }
    };
    let pieces = k.div_ceil(K_PIECE);
    let piece = k.div_ceil(pieces);
    let dst_ptr = SendPtr(dst.as_mut_ptr());
    let run = |i: usize| {
        let (start, end) = (bounds(i), bounds(i + 1));
        let size = end - start;
        let dst = dst_ptr;
        let (rows, cols) = if split_cols {
            (0..m, start..end)
        } else {
            (start..end, 0..n)
        };
        prologue(dst.0, rows.clone(), cols.clone());
        for p in 0..pieces {
            let (k0, kp) = (p * piece, piece.min(k - p * piece));
            let acc = accumulate || p > 0;
            let a = MatRef {
                data: &a.data[k0 * a.cs..],
                ..a
            };
            let b = MatRef {
                data: &b.data[k0 * b.rs..],
                ..b
            };
            // SAFETY: blocks are disjoint (distinct rows or columns of `dst`), every index is
            // inside the slices (asserts above), and `dst` outlives the fork-join.
            unsafe {
                if split_cols {
                    let b = MatRef {
                        data: &b.data[start * b.cs..],
                        ..b
                    };
                    gemm_block(m, size, kp, dst.0.add(start), n, a, b, acc);
                } else {
                    let a = MatRef {
                        data: &a.data[start * a.rs..],
                        ..a
                    };
                    gemm_block(size, n, kp, dst.0.add(start * n), n, a, b, acc);
                }
            }
        }
        epilogue(dst.0, rows, cols);
    };
    crate::runtime::for_each_part(parts, threads, run);
}

/// Rows a small product works on at once: independent chains for the pipeline when a row is
/// short (one column, say), without changing any element's sum.
const SMALL_ROWS: usize = 8;

/// [`gemm_block`] for a small output (fewer than two rows or columns, or at most 256
/// elements): each element is one fused multiply-add chain over `k`, in order, from the
/// destination (`accumulate`) or from 0, as the crate's general kernels sum. The crate's own
/// kernels for such outputs sum in an order that depends on the CPU's vector width (a
/// tutorial-size network trained to other numbers on a CPU with AVX-512 than on one with AVX2
/// only) and allocate on each call; here every CPU gets the same bits (`mul_add` is exactly
/// rounded everywhere) and nothing is allocated.
///
/// # Safety
/// As [`gemm_block`].
#[allow(clippy::too_many_arguments)]
unsafe fn small_product(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
) {
    #[inline(always)]
    unsafe fn kernel(
        m: usize,
        n: usize,
        k: usize,
        dst: *mut f32,
        dst_rs: usize,
        a: MatRef<'_>,
        b: MatRef<'_>,
        accumulate: bool,
    ) {
        for i0 in (0..m).step_by(SMALL_ROWS) {
            let rows = i0..(i0 + SMALL_ROWS).min(m);
            if !accumulate {
                for i in rows.clone() {
                    // SAFETY: row `i` of the destination (caller's contract).
                    unsafe { std::slice::from_raw_parts_mut(dst.add(i * dst_rs), n) }.fill(0.0);
                }
            }
            for p in 0..k {
                for i in rows.clone() {
                    let aip = a.data[i * a.rs + p * a.cs];
                    // SAFETY: as above.
                    let c = unsafe { std::slice::from_raw_parts_mut(dst.add(i * dst_rs), n) };
                    if b.cs == 1 {
                        let row = &b.data[p * b.rs..p * b.rs + n];
                        for (c, &bv) in c.iter_mut().zip(row) {
                            *c = aip.mul_add(bv, *c);
                        }
                    } else {
                        for (j, c) in c.iter_mut().enumerate() {
                            *c = aip.mul_add(b.data[p * b.rs + j * b.cs], *c);
                        }
                    }
                }
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn with_fma(
            m: usize,
            n: usize,
            k: usize,
            dst: *mut f32,
            dst_rs: usize,
            a: MatRef<'_>,
            b: MatRef<'_>,
            accumulate: bool,
        ) {
            // SAFETY: the caller's contract.
            unsafe { kernel(m, n, k, dst, dst_rs, a, b, accumulate) }
        }
        if std::is_x86_feature_detected!("fma") && std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has the features; the rest is the caller's contract.
            return unsafe { with_fma(m, n, k, dst, dst_rs, a, b, accumulate) };
        }
    }
    // Without hardware FMA `mul_add` is computed in software: slower, the same bits.
    // SAFETY: the caller's contract.
    unsafe { kernel(m, n, k, dst, dst_rs, a, b, accumulate) }
}

/// A raw destination pointer that may cross threads (the blocks written are disjoint).
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint blocks of one exclusively borrowed slice to threads.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// `dst[m×n] (row stride dst_rs) = (accumulate ? dst : 0) + a·b` on the calling thread.
///
/// # Safety
/// Every element the product reads or writes must be inside `a`, `b` and the allocation
/// behind `dst`, and `dst` must not alias them or be accessed by another thread meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_block(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
) {
    if !(m >= 2 && n >= 2 && m * n > 256) {
        // SAFETY: the caller's contract.
        unsafe { small_product(m, n, k, dst, dst_rs, a, b, accumulate) };
        return;
    }
    gemm::gemm(
        m,
        n,
        k,
        dst,
        1,
        dst_rs as isize,
        accumulate,
        a.data.as_ptr(),
        a.cs as isize,
        a.rs as isize,
        b.data.as_ptr(),
        b.cs as isize,
        b.rs as isize,
        1.0,
        1.0,
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_product_is_one_fused_chain_per_element_in_order() {
        // Small outputs (our kernel) and general ones (the crate's, cut by K_PIECE) alike, so a
        // run gives the same bits on every CPU with FMA. Bit-exact against: c = fma(a[i,k-1], b[k-1,j], ... fma(a[i,0], b[0,j], c0)).
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for &(m, n, k) in &[
            (1, 300, 37),
            (300, 1, 37),
            (4, 4, 2),
            (16, 16, 700),
            (3, 5, 1),
        ] {
            for (ta, tb, acc) in [
                (false, false, false),
                (true, false, true),
                (false, true, true),
            ] {
                let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
                let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
                let c0: Vec<f32> = (0..m * n).map(|_| next()).collect();
                let (am, bm) = (
                    MatRef::new(&a, if ta { m } else { k }, ta),
                    MatRef::new(&b, if tb { k } else { n }, tb),
                );
                let mut dst = c0.clone();
                gemm(m, n, k, &mut dst, am, bm, acc);
                for i in 0..m {
                    for j in 0..n {
                        let mut want = if acc { c0[i * n + j] } else { 0.0 };
                        for p in 0..k {
                            let x = am.data[i * am.rs + p * am.cs];
                            let y = bm.data[p * bm.rs + j * bm.cs];
                            want = x.mul_add(y, want);
                        }
                        assert_eq!(
                            dst[i * n + j].to_bits(),
                            want.to_bits(),
                            "{m}×{n}×{k} at {i},{j}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn gemm_with_transposed_operands() {
        // a = [[1,2],[3,4]], b = [[5,6],[7,8]]; aᵀ·b = [[26,30],[38,44]]
        let a = [1., 2., 3., 4.];
        let b = [5., 6., 7., 8.];
        let mut c = [0.0; 4];
        gemm(
            2,
            2,
            2,
            &mut c,
            MatRef::new(&a, 2, true),
            MatRef::new(&b, 2, false),
            false,
        );
        assert_eq!(c, [26., 30., 38., 44.]);
        gemm(
            2,
            2,
            2,
            &mut c,
            MatRef::new(&a, 2, false),
            MatRef::new(&b, 2, true),
            true,
        );
        // a·bᵀ = [[17,23],[39,53]] added on top
        assert_eq!(c, [43., 53., 77., 97.]);
    }

    /// Values of every magnitude and sign, so that a different summation order would show.
    fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let u = (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                u * [1.0, 1e-3, 37.0, 0.1][(x & 3) as usize]
            })
            .collect()
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let shapes = [
            (128, 256, 784),
            (256, 784, 128),
            (128, 64, 1440),
            (1440, 128, 64),
            (64, 64, 1000),
            (513, 67, 600),
            (16, 4096, 520),
            (4096, 16, 300),
            (20, 20, 3000),
            (2, 9000, 200),
        ];
        for (s, &(m, n, k)) in shapes.iter().enumerate() {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = pseudo_random(m * k, 2 * s as u64 + 1);
                let b = pseudo_random(k * n, 2 * s as u64 + 2);
                let start = pseudo_random(m * n, 99);
                let (a, b) = (
                    MatRef::new(&a, if ta { m } else { k }, ta),
                    MatRef::new(&b, if tb { k } else { n }, tb),
                );
                for accumulate in [false, true] {
                    let run = |threads: usize| {
                        let mut d = start.clone();
                        let init = if accumulate { Init::Keep } else { Init::Zero };
                        gemm_on(threads, m, n, k, &mut d, a, b, init, false);
                        d
                    };
                    let one = run(1);
                    for threads in [2, 3, 4] {
                        let other = run(threads);
                        assert!(
                            one.iter()
                                .zip(&other)
                                .all(|(x, y)| x.to_bits() == y.to_bits()),
                            "{m}×{n}×{k} (aᵀ {ta}, bᵀ {tb}, accumulate {accumulate}): \
                             {threads} threads differ from one"
                        );
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "gemm: destination too small")]
    fn sizes_that_overflow_are_rejected() {
        let one = [1.0f32];
        let a = MatRef {
            data: &one,
            rs: 0,
            cs: 0,
        };
        gemm(1 << 32, 1 << 32, 1, &mut [0.0; 4], a, a, false);
    }

    #[test]
    #[should_panic(expected = "gemm: operand too small")]
    fn strides_that_overflow_are_rejected() {
        let one = [1.0f32; 4];
        let a = MatRef {
            data: &one,
            rs: usize::MAX / 2 + 2,
            cs: 1,
        };
        let b = MatRef::new(&one, 2, false);
        gemm(2, 2, 2, &mut [0.0; 4], a, b, false);
    }

    /// Products above the threading threshold are split into row or column blocks; every
    /// layout must give the same result as a plain loop.
    #[test]
    fn threaded_products_match_a_plain_loop() {
        for (m, n, k) in [
            (100, 300, 50),
            (300, 100, 50),
            (130, 130, 70),
            (260, 520, 260),
        ] {
            assert!(m * n * k >= PARALLEL_THRESHOLD);
            if cfg!(debug_assertions) && m * n * k > 32 << 20 {
                continue; // the two-blocks-per-thread case: too slow unoptimised
            }
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 53) % 13) as f32 - 6.0).collect();
            let mut want = vec![0f32; m * n];
            for i in 0..m {
                for j in 0..n {
                    want[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                }
            }
            // a as stored, and the same matrix stored transposed (read through strides).
            let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
            let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            for (ar, br) in [
                (MatRef::new(&a, k, false), MatRef::new(&b, n, false)),
                (MatRef::new(&at, m, true), MatRef::new(&bt, k, true)),
            ] {
                let mut got = vec![1f32; m * n];
                gemm(m, n, k, &mut got, ar, br, false);
                assert_eq!(got, want, "{m}x{n}x{k}");
                gemm(m, n, k, &mut got, ar, br, true);
                assert!(got.iter().zip(&want).all(|(g, w)| *g == 2.0 * w));
            }
        }
    }
}
