//! [`Linear`]: the fully connected layer `y = x·Wᵀ + b`.

use super::init::{self, FanMode};
use super::module::{py_bool, Entry, Module};
use crate::rng::{with_global, Generator};
use crate::tensor::Tensor;
use std::fmt;

/// Applies an affine transformation `y = x·Wᵀ + b`, as `torch.nn.Linear`.
///
/// # Shape
/// - Input: `[*, in_features]` (any number of leading dims, including none).
/// - Output: `[*, out_features]`.
///
/// # Parameters
/// - `weight`: `[out_features, in_features]` (PyTorch's layout), initialised from
///   `U(−1/√in_features, 1/√in_features)` (`kaiming_uniform` with `a = √5`).
/// - `bias`: `[out_features]`, from the same distribution; `None` when built with
///   `bias = false`.
///
/// Both are drawn from the global generator, weight first.
///
/// # Examples
/// ```
/// use backprop::nn::{Linear, Module};
/// use backprop::Tensor;
/// let m = Linear::new(20, 30);
/// let out = m.forward(&Tensor::randn(&[128, 20]));
/// assert_eq!(out.shape(), vec![128, 30]);
/// assert_eq!(m.to_string(), "Linear(in_features=20, out_features=30, bias=True)");
/// ```
pub struct Linear {
    /// The weight, `[out_features, in_features]`.
    pub weight: Tensor,
    /// The bias, `[out_features]`, if any.
    pub bias: Option<Tensor>,
    /// The size of each input sample.
    pub in_features: usize,
    /// The size of each output sample.
    pub out_features: usize,
}

impl Linear {
    /// A layer with a bias, initialised as PyTorch does.
    pub fn new(in_features: usize, out_features: usize) -> Self {
        Self::with_bias(in_features, out_features, true)
    }

    /// A layer with or without a bias, initialised as PyTorch does.
    pub fn with_bias(in_features: usize, out_features: usize, bias: bool) -> Self {
        with_global(|g| Self::with_generator(in_features, out_features, bias, g))
    }

    /// [`Linear::with_bias`] drawing from `generator` instead of the global generator.
    pub fn with_generator(
        in_features: usize,
        out_features: usize,
        bias: bool,
        generator: &mut Generator,
    ) -> Self {
        let weight = Tensor::zeros(&[out_features, in_features]);
        if in_features > 0 && out_features > 0 {
            init::kaiming_uniform_with(
                &weight,
                5f32.sqrt(),
                FanMode::FanIn,
                "leaky_relu",
                generator,
            );
        }
        let bias = bias.then(|| {
            let b = Tensor::zeros(&[out_features]);
            let bound = if in_features > 0 {
                (1.0 / (in_features as f64).sqrt()) as f32
            } else {
                0.0
            };
            init::uniform_with(&b, -bound, bound, generator);
            b.set_requires_grad(true)
        });
        Linear {
            weight: weight.set_requires_grad(true),
            bias,
            in_features,
            out_features,
        }
    }

    /// A layer holding the given tensors (`weight: [out, in]`, `bias: [out]`), which are
    /// marked as requiring grad.
    ///
    /// # Panics
    /// Panics if `weight` is not 2-D or `bias` does not have `out` elements.
    #[track_caller]
    pub fn from_tensors(weight: Tensor, bias: Option<Tensor>) -> Self {
        let ws = weight.shape();
        assert_eq!(
            ws.len(),
            2,
            "Linear::from_tensors: weight must be [out, in], got {ws:?}"
        );
        if let Some(b) = &bias {
            assert_eq!(
                b.shape(),
                [ws[0]],
                "Linear::from_tensors: bias {:?} does not match weight {ws:?}",
                b.shape()
            );
        }
        Linear {
            weight: weight.set_requires_grad(true),
            bias: bias.map(|b| b.set_requires_grad(true)),
            in_features: ws[1],
            out_features: ws[0],
        }
    }
}

impl Linear {
    /// `relu(forward(x))` through [`Tensor::linear_relu_no_grad`], for a 2-D `x` whose last dim
    /// is `in_features`, with grad mode off; `None` otherwise (the caller then runs the two
    /// modules one after the other).
    pub(crate) fn forward_relu_no_grad(&self, x: &Tensor) -> Option<Tensor> {
        let fits = {
            let a = x.array();
            a.ndim() == 2 && a.shape()[1] == self.in_features
        };
        (fits && !crate::autograd::is_grad_enabled())
            .then(|| x.linear_relu_no_grad(&self.weight, self.bias.as_ref()))
    }
}

impl Module for Linear {
    /// `x·Wᵀ + b` through the fused [`Tensor::linear`] op; leading dims other than the last
    /// are flattened into the batch and restored afterwards.
    ///
    /// # Panics
    /// Panics if the last dim of `x` is not `in_features`.
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        // The common 2-D input reads its shape in place (no copy per call).
        let plain = {
            let a = x.array();
            a.ndim() == 2 && a.shape()[1] == self.in_features
        };
        if plain {
            return x.linear(&self.weight, self.bias.as_ref());
        }
        let shape = x.shape();
        assert!(
            shape.last() == Some(&self.in_features),
            "Linear: input of shape {shape:?} does not end in in_features = {} (weight {:?})",
            self.in_features,
            self.weight.shape()
        );
        let rows: usize = shape[..shape.len() - 1].iter().product();
        let flat = x.reshape(&[rows as isize, self.in_features as isize]);
        let out = flat.linear(&self.weight, self.bias.as_ref());
        let mut out_shape: Vec<isize> = shape[..shape.len() - 1]
            .iter()
            .map(|&d| d as isize)
            .collect();
        out_shape.push(self.out_features as isize);
        out.reshape(&out_shape)
    }

    fn parameters(&self) -> Vec<Tensor> {
        std::iter::once(self.weight.clone())
            .chain(self.bias.clone())
            .collect()
    }

    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'a>)) {
        f(&format!("{prefix}weight"), Entry::Param(&self.weight));
        if let Some(b) = &self.bias {
            f(&format!("{prefix}bias"), Entry::Param(b));
        }
    }

    fn extra_repr(&self) -> String {
        format!(
            "in_features={}, out_features={}, bias={}",
            self.in_features,
            self.out_features,
            py_bool(self.bias.is_some())
        )
    }
}

impl fmt::Display for Linear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

impl fmt::Debug for Linear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::manual_seed;
    use crate::testing::{check_grad, randn};

    // Python:
    // >>> m = nn.Linear(4, 3); print(m, [n for n, _ in m.named_parameters()])
    // Linear(in_features=4, out_features=3, bias=True) ['weight', 'bias']
    // >>> print(nn.Linear(3, 2, bias=False))
    // Linear(in_features=3, out_features=2, bias=False)
    #[test]
    fn layout_names_and_display() {
        let m = Linear::new(4, 3);
        assert_eq!(m.weight.shape(), vec![3, 4]);
        assert_eq!(m.bias.as_ref().unwrap().shape(), vec![3]);
        assert!(m.weight.requires_grad() && m.bias.as_ref().unwrap().requires_grad());
        let names: Vec<String> = m.named_parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight", "bias"]);
        assert_eq!(
            m.to_string(),
            "Linear(in_features=4, out_features=3, bias=True)"
        );
        let nb = Linear::with_bias(3, 2, false);
        assert_eq!(
            nb.to_string(),
            "Linear(in_features=3, out_features=2, bias=False)"
        );
        assert_eq!(nb.parameters().len(), 1);
    }

    // Python (torch's default init, as Linear.reset_parameters):
    // >>> m = nn.Linear(16, 500); b = 1 / math.sqrt(16)         # 0.25
    // >>> m.weight.abs().max() <= b, m.bias.abs().max() <= b
    // (tensor(True), tensor(True))
    #[test]
    fn default_init_is_uniform_within_one_over_sqrt_fan_in() {
        let _global = crate::testing::global_state();
        manual_seed(11);
        let m = Linear::new(16, 500);
        let bound = 0.25f32;
        let w = m.weight.to_vec();
        assert!(w.iter().all(|v| v.abs() <= bound));
        assert!(w.iter().any(|v| v.abs() > 0.99 * bound));
        let var = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
        assert!((var - bound * bound / 3.0).abs() < 0.002, "var {var}");
        let b = m.bias.as_ref().unwrap().to_vec();
        assert!(b.iter().all(|v| v.abs() <= bound) && b.iter().any(|v| v.abs() > 0.9 * bound));
        // Weight is drawn first, then bias, from the global generator.
        manual_seed(11);
        let again = Linear::new(16, 500);
        assert_eq!(again.bias.as_ref().unwrap().to_vec(), b);
        let mut g = Generator::new(11);
        let own = Linear::with_generator(16, 500, true, &mut g);
        assert_eq!(own.weight.to_vec(), w);
    }

    // Python:
    // >>> m = nn.Linear(2, 3); m.weight.data = torch.tensor([[1., 2.], [3., 4.], [5., 6.]])
    // >>> m.bias.data = torch.tensor([.5, -.5, 0.]); m(torch.tensor([1., -1.]))
    // tensor([-0.5000, -1.5000, -1.0000])
    #[test]
    fn forward_matches_pytorch_for_1d_2d_and_3d_inputs() {
        let m = Linear::from_tensors(
            Tensor::from_slice(&[1., 2., 3., 4., 5., 6.], &[3, 2]),
            Some(Tensor::from_slice(&[0.5, -0.5, 0.0], &[3])),
        );
        let y = m.forward(&Tensor::from_slice(&[1., -1.], &[2]));
        assert_eq!(y.shape(), vec![3]);
        assert_eq!(y.to_vec(), vec![-0.5, -1.5, -1.0]);
        let y2 = m.forward(&Tensor::from_slice(&[1., -1., 0., 1.], &[2, 2]));
        assert_eq!(y2.to_vec(), vec![-0.5, -1.5, -1.0, 2.5, 3.5, 6.0]);
        let y3 = m.forward(&Tensor::from_slice(&[1., -1., 0., 1.], &[2, 1, 2]));
        assert_eq!(y3.shape(), vec![2, 1, 3]);
        assert_eq!(y3.to_vec(), y2.to_vec());
    }

    #[test]
    #[should_panic(expected = "Linear: input of shape [4, 3] does not end in in_features = 2")]
    fn wrong_width_panics() {
        Linear::new(2, 1).forward(&Tensor::zeros(&[4, 3]));
    }

    /// y = x·Wᵀ + b: dy/dx = W, dy/dW = x, dy/db = 1 (through Linear for 1-D and 3-D input).
    #[test]
    fn gradcheck_through_the_module() {
        let (w, b) = (randn(&[3, 4]), randn(&[3]));
        let x1 = randn(&[4]);
        check_grad(
            |t| {
                Linear {
                    weight: t[1].clone(),
                    bias: Some(t[2].clone()),
                    in_features: 4,
                    out_features: 3,
                }
                .forward(&t[0])
            },
            &[x1, w.clone(), b.clone()],
        );
        let x3 = randn(&[2, 2, 4]);
        check_grad(
            |t| {
                Linear {
                    weight: t[1].clone(),
                    bias: None,
                    in_features: 4,
                    out_features: 3,
                }
                .forward(&t[0])
            },
            &[x3, w],
        );
    }
}
