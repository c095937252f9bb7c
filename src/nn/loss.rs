//! Loss functions, as `torch.nn.functional` (`mse_loss`, `cross_entropy`, ...) and as the
//! `torch.nn` loss modules (`MSELoss`, `CrossEntropyLoss`, ...), which hold the options and call
//! the functions.
//!
//! Every loss takes a [`Reduction`] (PyTorch's default is [`Reduction::Mean`]) and has its own
//! backward, computed next to its forward. [`cross_entropy`] and
//! [`binary_cross_entropy_with_logits`] are fused ops: they exist for numerical stability (they
//! never form `softmax(x)` or `sigmoid(x)` and take their logarithm), and stay finite for logits
//! of any size.
//!
//! Deviations from PyTorch, each checked by a panic rather than silently different numbers:
//! - the elementwise losses (`mse_loss`, `l1_loss`, `smooth_l1_loss`, `huber_loss`) need `input`
//!   and `target` of identical shapes, where PyTorch broadcasts them with a warning (usually a
//!   bug: `[N, 1]` against `[N]` gives `[N, N]`);
//! - class targets are class indices stored as `f32` (our only dtype) and must all be valid:
//!   there is no `ignore_index`, and no class-probability targets;
//! - `cross_entropy` and `nll_loss` take inputs of shape `[N, C]` or `[C]`, not `[N, C, d₁, ...]`.

use crate::tensor::shape::broadcast_shape;
use crate::tensor::Array;
use crate::BinaryOp;
use std::fmt;
use std::str::FromStr;

mod binary;
mod classification;
mod regression;

pub use binary::*;
pub use classification::*;
pub use regression::*;

/// How a loss combines its per-element values, as PyTorch's `reduction` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Reduction {
    /// No reduction: one loss per element (per sample for the class losses).
    None,
    /// The mean (PyTorch's default). `cross_entropy` and `nll_loss` with class weights divide
    /// by the sum of the weights of the targets instead of by `N`.
    #[default]
    Mean,
    /// The sum.
    Sum,
}

impl Reduction {
    /// PyTorch's spelling: `"none"`, `"mean"` or `"sum"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reduction::None => "none",
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        }
    }
}

impl fmt::Display for Reduction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Reduction {
    type Err = crate::Error;

    /// Parses PyTorch's spelling (`"none"`, `"mean"`, `"sum"`).
    ///
    /// # Errors
    /// Returns [`Error::InvalidArgument`](crate::Error::InvalidArgument) with PyTorch's message
    /// for anything else.
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "none" => Ok(Reduction::None),
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            _ => Err(crate::Error::invalid(format!(
                "{s} is not a valid value for reduction"
            ))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// Applies `reduction` to per-element losses (sums in `f64`).
fn reduce(loss: Array, reduction: Reduction) -> Array {
    #[cfg(feature = "cuda")]
    if loss.device().is_cuda() {
        return match reduction {
            Reduction::None => loss,
            // The same as below: a sum in f64, divided in f64, rounded once.
            Reduction::Sum => crate::backend::cuda::sum_div(&loss, 1.0),
            Reduction::Mean => crate::backend::cuda::sum_div(&loss, loss.len() as f64),
        };
    }
    match reduction {
        Reduction::None => loss,
        Reduction::Sum => Array::scalar(loss.sum_all()),
        Reduction::Mean => {
            let s: f64 = loss.data().iter().map(|&v| v as f64).sum();
            Array::scalar((s / loss.len() as f64) as f32)
        }
    }
}

/// The gradient reaching each element's loss: `grad` itself for `None`, else the scalar `grad`
/// (divided by the element count for `Mean`) spread over `shape`.
fn upstream(grad: &Array, reduction: Reduction, shape: &[usize]) -> Array {
    if grad.device().is_cuda() && reduction != Reduction::None {
        let n = match reduction {
            Reduction::Mean => shape.iter().product::<usize>() as f32,
            _ => 1.0,
        };
        let zeros = Array::full_on(shape, 0.0, &grad.device());
        return zeros.binary(
            &grad.clone().into_shape(&[]),
            BinaryOp::SecondDiv { s: n },
            "loss",
        );
    }
    match reduction {
        Reduction::None => grad.clone(),
        Reduction::Sum => Array::full(shape, grad.data()[0]),
        Reduction::Mean => {
            let n = shape.iter().product::<usize>() as f32;
            Array::full(shape, grad.data()[0] / n)
        }
    }
}

#[track_caller]
fn check_same_shape(op: &str, input: &Array, target: &Array) {
    assert!(
        input.shape() == target.shape(),
        "{op}: input of shape {:?} and target of shape {:?} must have the same shape",
        input.shape(),
        target.shape()
    );
}

/// `w` broadcast to `shape` (a per-element weight), checking that it does broadcast.
#[track_caller]
fn expand_weight(op: &str, what: &str, w: &Array, shape: &[usize]) -> Array {
    assert!(
        broadcast_shape(w.shape(), shape).as_deref() == Some(shape),
        "{op}: {what} of shape {:?} does not broadcast to the input's shape {shape:?}",
        w.shape()
    );
    let zeros = Array::full_on(shape, 0.0, &w.device());
    zeros.binary(w, BinaryOp::SecondDiv { s: 1.0 }, op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    /// Every reduction, for the per-loss test loops.
    pub(super) const REDUCTIONS: [Reduction; 3] =
        [Reduction::None, Reduction::Mean, Reduction::Sum];

    /// Asserts `got ≈ want` elementwise within relative tolerance `rtol`.
    #[track_caller]
    pub(super) fn assert_close(got: &[f32], want: &[f32], rtol: f32) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= rtol * w.abs().max(1e-6),
                "{got:?} vs {want:?}"
            );
        }
    }

    /// A constant tensor.
    pub(super) fn t(data: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_slice(data, shape)
    }

    #[test]
    fn reduction_parses_pytorchs_spelling() {
        for r in REDUCTIONS {
            assert_eq!(r.to_string().parse::<Reduction>().unwrap(), r);
        }
        assert_eq!(Reduction::default(), Reduction::Mean);
        let e = "avg".parse::<Reduction>().unwrap_err();
        assert_eq!(e.to_string(), "avg is not a valid value for reduction");
    }

    #[test]
    fn reduce_and_upstream_agree() {
        let loss = Array::new(&[2, 2], vec![1.0, 2.0, 3.0, 6.0]);
        assert_eq!(reduce(loss.clone(), Reduction::Sum).data(), &[12.0]);
        assert_eq!(reduce(loss.clone(), Reduction::Mean).data(), &[3.0]);
        assert_eq!(reduce(loss, Reduction::None).shape(), &[2, 2]);
        let g = Array::scalar(2.0);
        assert_eq!(upstream(&g, Reduction::Mean, &[2, 2]).data(), &[0.5; 4]);
        assert_eq!(upstream(&g, Reduction::Sum, &[2, 2]).data(), &[2.0; 4]);
    }
}
