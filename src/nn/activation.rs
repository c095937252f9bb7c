//! Activation layers, as `torch.nn`'s: thin modules over the elementwise ops in
//! `ops/activation.rs` and `ops/softmax.rs` (`ReLU`, `LeakyReLU`, `Sigmoid`, `Tanh`, `GELU`,
//! `ELU`, `SiLU`, `Softmax`, `LogSoftmax`), plus `Identity` and `Flatten`. None has parameters; all work on any shape.
//!
//! ```
//! use backprop::nn::{LeakyReLU, Module, ReLU};
//! use backprop::Tensor;
//! let x = Tensor::from_slice(&[-2.0, 3.0], &[2]);
//! assert_eq!(ReLU.forward(&x).to_vec(), vec![0.0, 3.0]);
//! assert_eq!(LeakyReLU::new(0.1).forward(&x).to_vec(), vec![-0.2, 3.0]);
//! assert_eq!(LeakyReLU::default().to_string(), "LeakyReLU(negative_slope=0.01)");
//! ```

use super::module::{py_float32, Module};
use crate::tensor::shape::resolve_dim;
use crate::tensor::Tensor;
use std::fmt;

/// `Display` and `Debug` print the module as PyTorch does.
macro_rules! display_as_repr {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.fmt_repr(f)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.fmt_repr(f)
            }
        }
    )*};
}

/// `max(x, 0)` elementwise, as `torch.nn.ReLU`. The gradient at exactly 0 is 0, as PyTorch's.
#[derive(Clone, Copy, Default)]
pub struct ReLU;

impl Module for ReLU {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.relu()
    }
}

/// `x` for `x > 0`, else `negative_slope·x`, as `torch.nn.LeakyReLU` (default slope 0.01).
#[derive(Clone, Copy)]
pub struct LeakyReLU {
    /// The slope for negative inputs.
    pub negative_slope: f32,
}

impl LeakyReLU {
    /// A LeakyReLU with this negative slope.
    pub fn new(negative_slope: f32) -> Self {
        LeakyReLU { negative_slope }
    }
}

impl Default for LeakyReLU {
    /// PyTorch's default slope, 0.01.
    fn default() -> Self {
        Self::new(0.01)
    }
}

impl Module for LeakyReLU {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.leaky_relu(self.negative_slope)
    }
    fn extra_repr(&self) -> String {
        format!("negative_slope={}", py_float32(self.negative_slope))
    }
}

/// The logistic function `1/(1+e⁻ˣ)`, as `torch.nn.Sigmoid`.
#[derive(Clone, Copy, Default)]
pub struct Sigmoid;

impl Module for Sigmoid {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.sigmoid()
    }
}

/// Hyperbolic tangent, as `torch.nn.Tanh`.
#[derive(Clone, Copy, Default)]
pub struct Tanh;

impl Module for Tanh {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.tanh()
    }
}

/// The exact GELU `x·Φ(x)`, as `torch.nn.GELU()` (`approximate='none'`; the tanh
/// approximation is not provided).
#[derive(Clone, Copy, Default)]
pub struct GELU;

impl Module for GELU {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.gelu()
    }
    fn extra_repr(&self) -> String {
        "approximate='none'".to_string()
    }
}

/// `x` for `x > 0`, else `alpha·(eˣ − 1)`, as `torch.nn.ELU` (default alpha 1).
#[derive(Clone, Copy)]
pub struct ELU {
    /// The scale of the negative part.
    pub alpha: f32,
}

impl ELU {
    /// An ELU with this alpha.
    pub fn new(alpha: f32) -> Self {
        ELU { alpha }
    }
}

impl Default for ELU {
    /// PyTorch's default alpha, 1.0.
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl Module for ELU {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.elu(self.alpha)
    }
    fn extra_repr(&self) -> String {
        format!("alpha={}", py_float32(self.alpha))
    }
}

/// `x·sigmoid(x)` (swish), as `torch.nn.SiLU`.
#[derive(Clone, Copy, Default)]
pub struct SiLU;

impl Module for SiLU {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.silu()
    }
}

/// `exp(xᵢ) / Σⱼ exp(xⱼ)` along `dim`, as `torch.nn.Softmax(dim)`. PyTorch's `dim=None`
/// (an implicit, deprecated choice of dim) is not offered: the dim is required.
///
/// For a classifier trained with `cross_entropy`, feed it the logits, not this module's output.
#[derive(Clone, Copy)]
pub struct Softmax {
    /// The dim the probabilities sum to 1 along (negative counts from the end).
    pub dim: isize,
}

impl Softmax {
    /// A softmax along `dim`.
    pub fn new(dim: isize) -> Self {
        Softmax { dim }
    }
}

impl Module for Softmax {
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.softmax(self.dim)
    }
    fn extra_repr(&self) -> String {
        format!("dim={}", self.dim)
    }
}

/// `log(softmax(x))` along `dim`, computed stably in one fused op, as
/// `torch.nn.LogSoftmax(dim)` (the dim is required, as for [`Softmax`]).
#[derive(Clone, Copy)]
pub struct LogSoftmax {
    /// The dim to normalise along (negative counts from the end).
    pub dim: isize,
}

impl LogSoftmax {
    /// A log-softmax along `dim`.
    pub fn new(dim: isize) -> Self {
        LogSoftmax { dim }
    }
}

impl Module for LogSoftmax {
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.log_softmax(self.dim)
    }
    fn extra_repr(&self) -> String {
        format!("dim={}", self.dim)
    }
}

/// Returns its input unchanged (the same handle), as `torch.nn.Identity`.
#[derive(Clone, Copy, Default)]
pub struct Identity;

impl Module for Identity {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.clone()
    }
}

/// Flattens dims `start_dim..=end_dim` into one, as `torch.nn.Flatten` (defaults `1, -1`:
/// `[N, a, b] → [N, a·b]`).
#[derive(Clone, Copy)]
pub struct Flatten {
    /// The first dim to flatten (negative counts from the end).
    pub start_dim: isize,
    /// The last dim to flatten (negative counts from the end).
    pub end_dim: isize,
}

impl Flatten {
    /// A Flatten over `start_dim..=end_dim`.
    pub fn new(start_dim: isize, end_dim: isize) -> Self {
        Flatten { start_dim, end_dim }
    }
}

impl Default for Flatten {
    /// PyTorch's defaults, `start_dim = 1`, `end_dim = -1`.
    fn default() -> Self {
        Self::new(1, -1)
    }
}

impl Module for Flatten {
    /// # Panics
    /// Panics if a dim is out of range or `start_dim` comes after `end_dim`.
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let shape = x.shape();
        if shape.is_empty() {
            return x.reshape(&[1]);
        }
        let s = resolve_dim("Flatten", self.start_dim, shape.len());
        let e = resolve_dim("Flatten", self.end_dim, shape.len());
        assert!(
            s <= e,
            "flatten() has invalid args: start_dim cannot come after end_dim"
        );
        let mut new: Vec<isize> = shape[..s].iter().map(|&d| d as isize).collect();
        new.push(shape[s..=e].iter().product::<usize>() as isize);
        new.extend(shape[e + 1..].iter().map(|&d| d as isize));
        x.reshape(&new)
    }
    fn extra_repr(&self) -> String {
        format!("start_dim={}, end_dim={}", self.start_dim, self.end_dim)
    }
}

display_as_repr!(
    ReLU, LeakyReLU, Sigmoid, Tanh, GELU, ELU, SiLU, Softmax, LogSoftmax, Identity, Flatten
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_grad, randn};

    // Python (torch 2.15):
    // >>> for m in [nn.ReLU(), nn.LeakyReLU(), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.GELU(),
    // ...           nn.ELU(), nn.SiLU(), nn.Identity(), nn.Flatten(), nn.Softmax(dim=1),
    // ...           nn.LogSoftmax(dim=-1)]: print(m)
    // ReLU()
    // LeakyReLU(negative_slope=0.01)
    // LeakyReLU(negative_slope=0.2)
    // Sigmoid()
    // Tanh()
    // GELU(approximate='none')
    // ELU(alpha=1.0)
    // SiLU()
    // Identity()
    // Flatten(start_dim=1, end_dim=-1)
    // Softmax(dim=1)
    // LogSoftmax(dim=-1)
    #[test]
    fn display_matches_pytorch() {
        let printed = [
            ReLU.to_string(),
            LeakyReLU::default().to_string(),
            LeakyReLU::new(0.2).to_string(),
            Sigmoid.to_string(),
            Tanh.to_string(),
            GELU.to_string(),
            ELU::default().to_string(),
            SiLU.to_string(),
            Identity.to_string(),
            Flatten::default().to_string(),
            Softmax::new(1).to_string(),
            LogSoftmax::new(-1).to_string(),
        ];
        assert_eq!(
            printed,
            [
                "ReLU()",
                "LeakyReLU(negative_slope=0.01)",
                "LeakyReLU(negative_slope=0.2)",
                "Sigmoid()",
                "Tanh()",
                "GELU(approximate='none')",
                "ELU(alpha=1.0)",
                "SiLU()",
                "Identity()",
                "Flatten(start_dim=1, end_dim=-1)",
                "Softmax(dim=1)",
                "LogSoftmax(dim=-1)",
            ]
        );
    }

    // Python:
    // >>> x = torch.tensor([-1.5, -0.5, 0.5, 2.0])
    // >>> [m(x) for m in [nn.ReLU(), nn.LeakyReLU(0.1), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.ELU(0.5), nn.SiLU()]]
    // [tensor([0.0000, 0.0000, 0.5000, 2.0000]), tensor([-0.1500, -0.0500,  0.5000,  2.0000]),
    //  tensor([0.1824, 0.3775, 0.6225, 0.8808]), tensor([-0.9051, -0.4621,  0.4621,  0.9640]),
    //  tensor([-0.1002, -0.1543,  0.3457,  1.9545]), tensor([-0.3884, -0.1967,  0.5000,  2.0000]),
    //  tensor([-0.2736, -0.1888,  0.3112,  1.7616])]
    #[test]
    fn forward_values_match_pytorch() {
        let x = Tensor::from_slice(&[-1.5, -0.5, 0.5, 2.0], &[4]);
        let cases: [(&dyn Module, [f32; 4]); 7] = [
            (&ReLU, [0.0, 0.0, 0.5, 2.0]),
            (&LeakyReLU::new(0.1), [-0.15, -0.05, 0.5, 2.0]),
            (&Sigmoid, [0.1824, 0.3775, 0.6225, 0.8808]),
            (&Tanh, [-0.9051, -0.4621, 0.4621, 0.9640]),
            (&GELU, [-0.1002, -0.1543, 0.3457, 1.9545]),
            (&ELU::new(0.5), [-0.3884, -0.1967, 0.5, 2.0]),
            (&SiLU, [-0.2736, -0.1888, 0.3112, 1.7616]),
        ];
        for (m, want) in cases {
            let got = m.forward(&x).to_vec();
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-4, "{m}: {got:?} vs {want:?}");
            }
        }
        assert_eq!(Identity.forward(&x).id(), x.id());
    }

    // Python:
    // >>> x = torch.tensor([[1., 2., 3.], [0., 0., -1.]])
    // >>> nn.Softmax(dim=1)(x), nn.LogSoftmax(dim=0)(x)
    // (tensor([[0.0900, 0.2447, 0.6652], [0.4223, 0.4223, 0.1554]]),
    //  tensor([[-0.3133, -0.1269, -0.0181], [-1.3133, -2.1269, -4.0181]]))
    #[test]
    fn softmax_modules_match_pytorch() {
        let x = Tensor::from_slice(&[1., 2., 3., 0., 0., -1.], &[2, 3]);
        let want_sm = [0.0900, 0.2447, 0.6652, 0.4223, 0.4223, 0.1554];
        let want_lsm = [-0.3133, -0.1269, -0.0181, -1.3133, -2.1269, -4.0181];
        for (g, w) in Softmax::new(1).forward(&x).to_vec().iter().zip(want_sm) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
        for (g, w) in LogSoftmax::new(0).forward(&x).to_vec().iter().zip(want_lsm) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
    }

    #[test]
    fn flatten_shapes() {
        let x = Tensor::zeros(&[2, 3, 4, 5]);
        assert_eq!(Flatten::default().forward(&x).shape(), vec![2, 60]);
        assert_eq!(Flatten::new(1, 2).forward(&x).shape(), vec![2, 12, 5]);
        assert_eq!(Flatten::new(0, -1).forward(&x).shape(), vec![120]);
    }

    #[test]
    #[should_panic(expected = "start_dim cannot come after end_dim")]
    fn flatten_rejects_reversed_dims() {
        Flatten::new(2, 1).forward(&Tensor::zeros(&[2, 3, 4]));
    }

    /// Each module's gradient is its op's (checked in ops/activation.rs); this checks the
    /// modules pass it through, away from the kinks at 0.
    #[test]
    fn gradcheck_through_modules() {
        let mods: [&dyn Module; 10] = [
            &ReLU,
            &LeakyReLU::new(0.1),
            &Sigmoid,
            &Tanh,
            &GELU,
            &ELU::new(0.7),
            &SiLU,
            &Flatten::default(),
            &Softmax::new(1),
            &LogSoftmax::new(-1),
        ];
        for m in mods {
            let x = randn(&[3, 2, 2]);
            x.array_mut()
                .map_inplace(|v| if v.abs() < 0.05 { v + 0.1 } else { v });
            check_grad(|t| m.forward(&t[0]), &[x]);
        }
    }
}
