//! Random numbers: a seeded global generator (`manual_seed`, as `torch.manual_seed`) and
//! [`Generator`] for code that wants its own stream.
//!
//! Every random draw in the crate (initialisation, `rand`/`randn`, Dropout masks, shuffling)
//! goes through a [`Generator`]: ChaCha8 from `rand_chacha`, whose output is fixed across
//! versions and platforms, so a seed gives the same numbers everywhere. The numbers differ from
//! PyTorch's: tests that compare with PyTorch start from weights PyTorch wrote.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::sync::{Mutex, MutexGuard};

/// The seed the global generator starts from when `manual_seed` was never called.
pub const DEFAULT_SEED: u64 = 0x5eed;

/// A seeded stream of random numbers.
///
/// # Examples
/// ```
/// use backprop::rng::Generator;
/// let mut a = Generator::new(7);
/// let mut b = Generator::new(7);
/// assert_eq!(a.uniform(0.0, 1.0), b.uniform(0.0, 1.0));
/// ```
#[derive(Clone, Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
}

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A sample from the uniform distribution on `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        let u: f32 = self.rng.random();
        low + (high - low) * u
    }

    /// A sample from the normal distribution with this mean and standard deviation.
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        let z: f32 = StandardNormal.sample(&mut self.rng);
        mean + std * z
    }

    /// `true` with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    /// A uniform integer in `0..n`.
    ///
    /// # Panics
    /// Panics if `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    /// A random permutation of `0..n` (Fisher–Yates), as `torch.randperm`.
    pub fn randperm(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.rng.random_range(0..=i);
            v.swap(i, j);
        }
        v
    }

    /// A raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Fills `out` with uniform samples on `[low, high)`.
    pub fn fill_uniform(&mut self, out: &mut [f32], low: f32, high: f32) {
        for v in out {
            *v = self.uniform(low, high);
        }
    }

    /// Fills `out` with normal samples.
    pub fn fill_normal(&mut self, out: &mut [f32], mean: f32, std: f32) {
        for v in out {
            *v = self.normal(mean, std);
        }
    }

    /// The generator's full state (seed and stream position), to save in a checkpoint.
    pub fn state(&self) -> [u64; 6] {
        let seed = self.rng.get_seed();
        let mut out = [0u64; 6];
        for (i, chunk) in seed.chunks(8).enumerate() {
            out[i] = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        let pos = self.rng.get_word_pos();
        out[4] = pos as u64;
        out[5] = (pos >> 64) as u64;
        out
    }

    /// Restores a state saved by [`Generator::state`].
    pub fn from_state(state: [u64; 6]) -> Self {
        let mut seed = [0u8; 32];
        for i in 0..4 {
            seed[i * 8..i * 8 + 8].copy_from_slice(&state[i].to_le_bytes());
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_word_pos(state[4] as u128 | ((state[5] as u128) << 64));
        Generator { rng }
    }
}

static GLOBAL: Mutex<Option<Generator>> = Mutex::new(None);

/// Seeds the global generator, as `torch.manual_seed`.
///
/// # Examples
/// ```
/// use backprop::{manual_seed, Tensor};
/// manual_seed(42);
/// let a = Tensor::randn(&[3]);
/// manual_seed(42);
/// assert_eq!(a.to_vec(), Tensor::randn(&[3]).to_vec());
/// ```
pub fn manual_seed(seed: u64) {
    *lock() = Some(Generator::new(seed));
}

/// Runs `f` with the global generator.
pub fn with_global<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    let mut guard = lock();
    f(guard.get_or_insert_with(|| Generator::new(DEFAULT_SEED)))
}

/// The global generator's state, for checkpoints.
pub fn global_state() -> [u64; 6] {
    with_global(|g| g.state())
}

/// Restores the global generator from [`global_state`]'s output.
pub fn set_global_state(state: [u64; 6]) {
    *lock() = Some(Generator::from_state(state));
}

fn lock() -> MutexGuard<'static, Option<Generator>> {
    // A panic while the lock was held cannot leave a generator half-updated.
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip_continues_the_stream() {
        let mut g = Generator::new(3);
        g.uniform(0.0, 1.0);
        let saved = g.state();
        let a: Vec<f32> = (0..5).map(|_| g.normal(0.0, 1.0)).collect();
        let mut h = Generator::from_state(saved);
        let b: Vec<f32> = (0..5).map(|_| h.normal(0.0, 1.0)).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn randperm_is_a_permutation() {
        let mut g = Generator::new(1);
        let mut p = g.randperm(100);
        assert_ne!(p, (0..100).collect::<Vec<_>>());
        p.sort();
        assert_eq!(p, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut g = Generator::new(9);
        let xs: Vec<f32> = (0..20000).map(|_| g.normal(0.0, 1.0)).collect();
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / xs.len() as f32;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
