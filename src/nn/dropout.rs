//! [`Dropout`]: zeroes random elements during training and rescales the rest.

use super::module::{py_float, Module};
use crate::autograd::Backward;
use crate::rng::with_global;
use crate::tensor::{Array, Tensor};
use std::fmt;

/// During training, zeroes each element with probability `p` and scales the others by
/// `1/(1 − p)` (inverted dropout), so eval mode is the identity; as `torch.nn.Dropout`.
///
/// The mask is drawn from the global generator (see [`manual_seed`](crate::manual_seed)), so a
/// seed reproduces it, though not PyTorch's. `p = 1` gives zeros; `p = 0` and eval mode return
/// the input itself.
///
/// # Shape
/// Any; the output has the input's shape.
///
/// # Examples
/// ```
/// use backprop::nn::{Dropout, Module};
/// use backprop::Tensor;
/// let mut drop = Dropout::new(0.5);
/// let y = drop.forward(&Tensor::ones(&[1000])).to_vec();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// drop.eval();
/// assert_eq!(drop.forward(&Tensor::ones(&[3])).to_vec(), vec![1.0; 3]);
/// ```
pub struct Dropout {
    /// The probability of zeroing an element.
    pub p: f64,
    training: bool,
}

impl Dropout {
    /// Dropout with probability `p` (PyTorch's default is 0.5), in training mode.
    ///
    /// # Panics
    /// Panics unless `0 ≤ p ≤ 1`, with PyTorch's message.
    #[track_caller]
    pub fn new(p: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout probability has to be between 0 and 1, but got {}",
            py_float(p)
        );
        Dropout { p, training: true }
    }
}

impl Default for Dropout {
    /// `p = 0.5`, PyTorch's default.
    fn default() -> Self {
        Self::new(0.5)
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Tensor {
        if !self.training || self.p == 0.0 {
            return x.clone();
        }
        #[cfg(feature = "cuda")]
        if x.device().is_cuda() {
            // On a GPU the mask is drawn there, from one seed taken from the global generator
            // (so a seeded run repeats on the same GPU; the draws differ from the CPU's).
            let seed = with_global(|g| g.next_u64());
            let xa = x.array();
            let mask = crate::backend::cuda::dropout_mask(&xa, self.p, seed);
            let out = xa.binary(&mask, crate::BinaryOp::Mul, "dropout");
            drop(xa);
            return Tensor::from_op(out, &[x], DropoutBackward(mask));
        }
        let n = x.numel();
        let mask = if self.p == 1.0 {
            vec![0.0; n]
        } else {
            let scale = 1.0 / (1.0 - self.p) as f32;
            with_global(|g| {
                (0..n)
                    .map(|_| if g.bernoulli(self.p) { 0.0 } else { scale })
                    .collect()
            })
        };
        let mask = Array::new(&x.shape(), mask);
        let out = x.array().zip_map(&mask, |v, m| v * m);
        Tensor::from_op(out, &[x], DropoutBackward(mask))
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn extra_repr(&self) -> String {
        format!("p={}, inplace=False", py_float(self.p))
    }
}

/// `y = x·mask` ⇒ `dx = g·mask`, with the forward pass's mask (0 or `1/(1 − p)`).
struct DropoutBackward(Array);

impl Backward for DropoutBackward {
    fn name(&self) -> &'static str {
        "NativeDropoutBackward0"
    }

    fn backward(&self, _: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.binary(
            &self.0,
            crate::BinaryOp::Mul,
            "dropout_backward",
        ))]
    }
}

impl fmt::Display for Dropout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

impl fmt::Debug for Dropout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::manual_seed;

    // Python:
    // >>> print(nn.Dropout(), nn.Dropout(0.25))
    // Dropout(p=0.5, inplace=False) Dropout(p=0.25, inplace=False)
    // >>> nn.Dropout(1.5)
    // ValueError: dropout probability has to be between 0 and 1, but got 1.5
    #[test]
    fn display_matches_pytorch() {
        assert_eq!(
            Dropout::default().to_string(),
            "Dropout(p=0.5, inplace=False)"
        );
        assert_eq!(
            Dropout::new(0.25).to_string(),
            "Dropout(p=0.25, inplace=False)"
        );
    }

    #[test]
    #[should_panic(expected = "dropout probability has to be between 0 and 1, but got 1.5")]
    fn p_out_of_range_panics() {
        Dropout::new(1.5);
    }

    #[test]
    #[should_panic(expected = "but got -0.1")]
    fn negative_p_panics() {
        Dropout::new(-0.1);
    }

    // Python: with p = 0.2, kept values are 1 / 0.8 = 1.25 and about 20 % are zeroed:
    // >>> y = nn.Dropout(0.2)(torch.ones(10000)); y.unique(), (y == 0).float().mean()
    // (tensor([0.0000, 1.2500]), tensor(0.2004))
    #[test]
    fn train_mode_scales_kept_values_and_drops_about_p() {
        let _global = crate::testing::global_state();
        manual_seed(7);
        let d = Dropout::new(0.2);
        let y = d.forward(&Tensor::ones(&[10000])).to_vec();
        assert!(y.iter().all(|&v| v == 0.0 || v == 1.25));
        let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
        assert!((dropped - 0.2).abs() < 0.015, "dropped {dropped}");
        let mean = y.iter().sum::<f32>() / y.len() as f32;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        manual_seed(7);
        assert_eq!(
            d.forward(&Tensor::ones(&[10000])).to_vec(),
            y,
            "the seed fixes the mask"
        );
    }

    #[test]
    fn backward_uses_the_same_mask() {
        let x = Tensor::from_vec((1..=50).map(|i| i as f32).collect(), &[5, 10])
            .set_requires_grad(true);
        let y = Dropout::new(0.5).forward(&x);
        y.sum().backward();
        let g = x.grad().unwrap().to_vec();
        for ((&gv, &yv), &xv) in g.iter().zip(&y.to_vec()).zip(&x.to_vec()) {
            // y = x·m and dy/dx = m, so g = y / x.
            assert_eq!(gv, yv / xv);
        }
        assert!(g.contains(&0.0) && g.contains(&2.0));
    }

    #[test]
    fn p_one_zeroes_and_eval_and_p_zero_are_identity() {
        let x = Tensor::ones(&[4]).set_requires_grad(true);
        let y = Dropout::new(1.0).forward(&x);
        assert_eq!(y.to_vec(), vec![0.0; 4]);
        y.sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.0; 4]);
        assert_eq!(Dropout::new(0.0).forward(&x).id(), x.id());
        let mut d = Dropout::new(0.9);
        d.eval();
        assert!(!d.is_training());
        assert_eq!(d.forward(&x).id(), x.id());
    }
}
