//! Runtime CPU-feature dispatch for hot loops: [`vectorized`] runs a closure compiled for
//! AVX-512 or AVX2 when the CPU has them, so the binary runs on any x86-64 (no
//! `target-cpu=native`) and still uses wide vectors where present.
//!
//! Only the instruction set changes, never the arithmetic: Rust does not contract `a * b + c`
//! into a fused multiply-add, and `sqrt` and `/` are correctly rounded at every vector width, so
//! each variant gives bit-identical results.

/// Runs `f` compiled with the widest vector instructions this CPU has. Write `f` as plain
/// loops over slices without invariant branches inside; the compiler vectorizes them.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features `avx512` is compiled for.
            return unsafe { avx512(f) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2")]
unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::vectorized;

    #[test]
    fn same_results_as_the_plain_loop() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let plain: Vec<f32> = x.iter().map(|v| v.abs().sqrt() / (v * v + 1e-8)).collect();
        let fast = vectorized(|| {
            x.iter()
                .map(|v| v.abs().sqrt() / (v * v + 1e-8))
                .collect::<Vec<f32>>()
        });
        assert_eq!(plain, fast);
    }
}
