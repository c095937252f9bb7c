//! Elementwise regression losses, functions of `d = input − target`: `mse_loss`, `l1_loss`,
//! `smooth_l1_loss`, `huber_loss` and their modules.

use super::{check_same_shape, reduce, upstream, Reduction};
use crate::autograd::Backward;
use crate::tensor::{Array, Tensor};

/// The sign of `d`, with `sign(0) = 0` as `torch.sign` (`f32::signum(0.0)` is 1).
fn sign(d: f32) -> f32 {
    if d == 0.0 {
        0.0
    } else {
        d.signum()
    }
}

/// A loss `ℓ(x − y)` per element, with derivative `dℓ(x − y)` in `x` (and its negation in `y`);
/// `op` names it in panics, `name` in the graph.
#[track_caller]
fn difference_loss<F: Fn(f32) -> f32 + Send + Sync + 'static>(
    (op, name): (&'static str, &'static str),
    input: &Tensor,
    target: &Tensor,
    reduction: Reduction,
    loss: impl Fn(f32) -> f32,
    dloss: F,
) -> Tensor {
    let (x, y) = (input.array(), target.array());
    check_same_shape(op, &x, &y);
    let out = reduce(x.zip_map(&y, |a, b| loss(a - b)), reduction);
    drop((x, y));
    Tensor::from_op(
        out,
        &[input, target],
        DifferenceLossBackward {
            name,
            reduction,
            dloss,
        },
    )
}

/// dℓ/dx = g·ℓ'(x − y), dℓ/dy = −g·ℓ'(x − y), with `g` the upstream gradient per element.
struct DifferenceLossBackward<F> {
    name: &'static str,
    reduction: Reduction,
    dloss: F,
}
impl<F: Fn(f32) -> f32 + Send + Sync> Backward for DifferenceLossBackward<F> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let (x, y) = (inputs[0].array(), inputs[1].array());
        let g = upstream(grad, self.reduction, x.shape());
        let gx = g.zip3_map(&x, &y, |g, a, b| g * (self.dloss)(a - b));
        let gy = inputs[1].requires_grad().then(|| gx.map(|v| -v));
        vec![inputs[0].requires_grad().then_some(gx), gy]
    }
}

/// Reduces per-element losses built from tensor ops (the GPU path).
fn reduce_tensor(losses: Tensor, reduction: Reduction) -> Tensor {
    match reduction {
        Reduction::None => losses,
        Reduction::Mean => losses.mean(),
        Reduction::Sum => losses.sum(),
    }
}

/// Mean squared error `ℓ = (x − y)²`, as `F.mse_loss`.
///
/// # Examples
/// ```
/// use backprop::nn::{mse_loss, Reduction};
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]);
/// let y = Tensor::from_slice(&[1.0, 0.0, 4.0], &[3]);
/// assert_eq!(mse_loss(&x, &y, Reduction::Mean).item(), 5.0 / 3.0);
/// assert_eq!(mse_loss(&x, &y, Reduction::None).to_vec(), vec![0.0, 4.0, 1.0]);
/// ```
///
/// # Panics
/// Panics if `input` and `target` have different shapes.
#[track_caller]
pub fn mse_loss(input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    #[cfg(feature = "cuda")]
    if input.device().is_cuda() {
        return mse_loss_cuda(input, target, reduction);
    }
    // dℓ/dx = 2(x − y)
    difference_loss(
        ("mse_loss", "MseLossBackward0"),
        input,
        target,
        reduction,
        |d| d * d,
        |d| 2.0 * d,
    )
}

/// [`mse_loss`] on a GPU, fused: the loss in one reduction, the gradient in one kernel.
#[cfg(feature = "cuda")]
#[track_caller]
fn mse_loss_cuda(input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    use crate::backend::cuda;
    let (x, y) = (input.array(), target.array());
    check_same_shape("mse_loss", &x, &y);
    crate::tensor::same_device("mse_loss", &x, &y);
    let out = match reduction {
        Reduction::None => x.binary(&y, crate::BinaryOp::SqDiff, "mse_loss"),
        Reduction::Sum => cuda::mse_reduced(&x, &y, 1.0),
        Reduction::Mean => cuda::mse_reduced(&x, &y, x.len() as f64),
    };
    drop((x, y));
    Tensor::from_op(out, &[input, target], CudaMseBackward(reduction))
}

/// dℓ/dx = u·2(x − y), dℓ/dy = −dℓ/dx, with `u` the upstream gradient per element.
#[cfg(feature = "cuda")]
struct CudaMseBackward(Reduction);
#[cfg(feature = "cuda")]
impl Backward for CudaMseBackward {
    fn name(&self) -> &'static str {
        "MseLossBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let (x, y) = (inputs[0].array(), inputs[1].array());
        let div = match self.0 {
            Reduction::None => 0.0,
            Reduction::Sum => 1.0,
            Reduction::Mean => x.len() as f32,
        };
        let (want_x, want_y) = (inputs[0].requires_grad(), inputs[1].requires_grad());
        let (gx, gy) = crate::backend::cuda::mse_grad(&x, &y, grad, div, want_x, want_y);
        vec![gx, gy]
    }
}

/// Mean absolute error `ℓ = |x − y|`, as `F.l1_loss`. The gradient at `x = y` is 0, as
/// PyTorch's.
///
/// # Examples
/// ```
/// use backprop::nn::{l1_loss, Reduction};
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]);
/// let y = Tensor::from_slice(&[1.0, 0.0, 4.0], &[3]);
/// assert_eq!(l1_loss(&x, &y, Reduction::Sum).item(), 3.0);
/// ```
///
/// # Panics
/// Panics if `input` and `target` have different shapes.
#[track_caller]
pub fn l1_loss(input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    if input.device().is_cuda() {
        check_same_shape("l1_loss", &input.array(), &target.array());
        return reduce_tensor((input - target).abs(), reduction);
    }
    // dℓ/dx = sign(x − y), 0 at x = y
    difference_loss(
        ("l1_loss", "L1LossBackward0"),
        input,
        target,
        reduction,
        f32::abs,
        sign,
    )
}

/// Smooth L1 loss, as `F.smooth_l1_loss` (PyTorch's default `beta` is 1.0):
///
/// ```text
/// ℓ = 0.5·d²/beta     if |d| < beta      (d = x − y)
///     |d| − 0.5·beta  otherwise
/// ```
///
/// `beta = 0` gives [`l1_loss`], as in PyTorch. With `beta = 1` it equals [`huber_loss`].
///
/// # Examples
/// ```
/// use backprop::nn::{smooth_l1_loss, Reduction};
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[0.5, 3.0], &[2]);
/// let y = Tensor::zeros(&[2]);
/// // 0.5·0.5² = 0.125 and 3 − 0.5 = 2.5
/// assert_eq!(smooth_l1_loss(&x, &y, Reduction::None, 1.0).to_vec(), vec![0.125, 2.5]);
/// ```
///
/// # Panics
/// Panics if the shapes differ or `beta` is negative.
#[track_caller]
pub fn smooth_l1_loss(input: &Tensor, target: &Tensor, reduction: Reduction, beta: f32) -> Tensor {
    assert!(
        beta >= 0.0,
        "smooth_l1_loss does not support negative values for beta, got {beta}"
    );
    if beta == 0.0 {
        return l1_loss(input, target, reduction);
    }
    let loss = move |d: f32| {
        let z = d.abs();
        if z < beta {
            0.5 * z * z / beta
        } else {
            z - 0.5 * beta
        }
    };
    // dℓ/dx = d/beta inside (−beta, beta), sign(d) outside; PyTorch's choice at the kinks
    // (±1 at d = ±beta) agrees with both sides.
    let dloss = move |d: f32| {
        if d <= -beta {
            -1.0
        } else if d >= beta {
            1.0
        } else {
            d / beta
        }
    };
    difference_loss(
        ("smooth_l1_loss", "SmoothL1LossBackward0"),
        input,
        target,
        reduction,
        loss,
        dloss,
    )
}

/// Huber loss, as `F.huber_loss` (PyTorch's default `delta` is 1.0):
///
/// ```text
/// ℓ = 0.5·d²                 if |d| < delta      (d = x − y)
///     delta·(|d| − 0.5·delta)  otherwise
/// ```
///
/// It is `delta ·` [`smooth_l1_loss`] with `beta = delta`.
///
/// # Examples
/// ```
/// use backprop::nn::{huber_loss, Reduction};
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[0.5, 3.0], &[2]);
/// let y = Tensor::zeros(&[2]);
/// // 0.5·0.5² = 0.125 and 2·(3 − 1) = 4
/// assert_eq!(huber_loss(&x, &y, Reduction::None, 2.0).to_vec(), vec![0.125, 4.0]);
/// ```
///
/// # Panics
/// Panics if the shapes differ or `delta` is not positive.
#[track_caller]
pub fn huber_loss(input: &Tensor, target: &Tensor, reduction: Reduction, delta: f32) -> Tensor {
    assert!(
        delta > 0.0,
        "huber_loss does not support non-positive values for delta, got {delta}"
    );
    let loss = move |d: f32| {
        let z = d.abs();
        if z < delta {
            0.5 * z * z
        } else {
            delta * (z - 0.5 * delta)
        }
    };
    // dℓ/dx = d inside (−delta, delta), delta·sign(d) outside.
    let dloss = move |d: f32| {
        if d <= -delta {
            -delta
        } else if d >= delta {
            delta
        } else {
            d
        }
    };
    difference_loss(
        ("huber_loss", "HuberLossBackward0"),
        input,
        target,
        reduction,
        loss,
        dloss,
    )
}

/// Mean squared error `ℓ = (x − y)²`, as `torch.nn.MSELoss`; see [`mse_loss`].
///
/// # Examples
/// ```
/// use backprop::nn::{MSELoss, Reduction};
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[1.0, 2.0], &[2]);
/// let y = Tensor::from_slice(&[0.0, 0.0], &[2]);
/// assert_eq!(MSELoss::default().forward(&x, &y).item(), 2.5);
/// assert_eq!(MSELoss { reduction: Reduction::Sum }.forward(&x, &y).item(), 5.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MSELoss {
    /// How the per-element losses are combined (default [`Reduction::Mean`]).
    pub reduction: Reduction,
}

impl MSELoss {
    /// The loss with PyTorch's defaults (mean reduction).
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` against `target` (same shape).
    ///
    /// # Panics
    /// Panics if the shapes differ.
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        mse_loss(input, target, self.reduction)
    }
}

/// Mean absolute error `ℓ = |x − y|`, as `torch.nn.L1Loss`; see [`l1_loss`].
///
/// # Examples
/// ```
/// use backprop::nn::L1Loss;
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[1.0, -3.0], &[2]);
/// assert_eq!(L1Loss::new().forward(&x, &Tensor::zeros(&[2])).item(), 2.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct L1Loss {
    /// How the per-element losses are combined (default [`Reduction::Mean`]).
    pub reduction: Reduction,
}

impl L1Loss {
    /// The loss with PyTorch's defaults (mean reduction).
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` against `target` (same shape).
    ///
    /// # Panics
    /// Panics if the shapes differ.
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        l1_loss(input, target, self.reduction)
    }
}

/// Smooth L1 loss (`0.5·d²/beta` for `|d| < beta`, else `|d| − 0.5·beta`), as
/// `torch.nn.SmoothL1Loss`; see [`smooth_l1_loss`].
///
/// # Examples
/// ```
/// use backprop::nn::SmoothL1Loss;
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[0.5, 3.0], &[2]);
/// let loss = SmoothL1Loss { beta: 0.5, ..Default::default() }.forward(&x, &Tensor::zeros(&[2]));
/// assert_eq!(loss.item(), (0.25 + 2.75) / 2.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothL1Loss {
    /// How the per-element losses are combined (default [`Reduction::Mean`]).
    pub reduction: Reduction,
    /// Where the loss turns from quadratic to linear (default 1.0; 0 gives L1).
    pub beta: f32,
}

impl Default for SmoothL1Loss {
    fn default() -> Self {
        SmoothL1Loss {
            reduction: Reduction::Mean,
            beta: 1.0,
        }
    }
}

impl SmoothL1Loss {
    /// The loss with PyTorch's defaults (mean reduction, beta 1).
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` against `target` (same shape).
    ///
    /// # Panics
    /// Panics if the shapes differ or `beta` is negative.
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        smooth_l1_loss(input, target, self.reduction, self.beta)
    }
}

/// Huber loss (`0.5·d²` for `|d| < delta`, else `delta·(|d| − 0.5·delta)`), as
/// `torch.nn.HuberLoss`; see [`huber_loss`].
///
/// # Examples
/// ```
/// use backprop::nn::{HuberLoss, Reduction};
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[0.5, 3.0], &[2]);
/// let huber = HuberLoss { delta: 2.0, reduction: Reduction::Sum };
/// assert_eq!(huber.forward(&x, &Tensor::zeros(&[2])).item(), 0.125 + 4.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HuberLoss {
    /// How the per-element losses are combined (default [`Reduction::Mean`]).
    pub reduction: Reduction,
    /// Where the loss turns from quadratic to linear (default 1.0; must be positive).
    pub delta: f32,
}

impl Default for HuberLoss {
    fn default() -> Self {
        HuberLoss {
            reduction: Reduction::Mean,
            delta: 1.0,
        }
    }
}

impl HuberLoss {
    /// The loss with PyTorch's defaults (mean reduction, delta 1).
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` against `target` (same shape).
    ///
    /// # Panics
    /// Panics if the shapes differ or `delta` is not positive.
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        huber_loss(input, target, self.reduction, self.delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::tests::{assert_close, t, REDUCTIONS};
    use crate::testing::{check_grad, randn};

    /// An input and a target whose differences stay away from the kinks (0, and 0.5, 1, 2 used
    /// as beta/delta below) by more than the gradcheck step.
    fn regression_pair() -> (Tensor, Tensor) {
        let x = randn(&[3, 4]);
        let offsets = [
            0.3, -0.6, 1.7, -2.2, 0.45, -1.4, 0.8, -0.25, 2.5, -0.7, 1.2, -1.9,
        ];
        let y: Vec<f32> = x.to_vec().iter().zip(offsets).map(|(v, o)| v - o).collect();
        (x, Tensor::from_vec(y, &[3, 4]).set_requires_grad(true))
    }

    #[test]
    fn regression_losses_gradcheck() {
        let (x, y) = regression_pair();
        let inputs = [x, y];
        for r in REDUCTIONS {
            check_grad(|t| mse_loss(&t[0], &t[1], r), &inputs);
            check_grad(|t| l1_loss(&t[0], &t[1], r), &inputs);
            for beta in [1.0, 0.5, 0.0] {
                check_grad(|t| smooth_l1_loss(&t[0], &t[1], r, beta), &inputs);
            }
            for delta in [1.0, 2.0] {
                check_grad(|t| huber_loss(&t[0], &t[1], r, delta), &inputs);
            }
        }
    }

    // import torch, torch.nn.functional as F
    // torch.set_printoptions(precision=8)
    // x = torch.tensor([[0.5, -1.2, 2.0], [0.3, 0.8, -0.4]])
    // y = torch.tensor([[1.0, 0.5, -0.5], [0.3, 2.0, 0.1]])
    // for r in ['none', 'mean', 'sum']:
    //     print(r, F.mse_loss(x, y, reduction=r), F.l1_loss(x, y, reduction=r))
    //     print(F.smooth_l1_loss(x, y, reduction=r, beta=1.0), F.smooth_l1_loss(x, y, reduction=r, beta=0.6))
    //     print(F.huber_loss(x, y, reduction=r, delta=1.0), F.huber_loss(x, y, reduction=r, delta=0.6))
    #[test]
    fn regression_losses_match_pytorch() {
        let x = t(&[0.5, -1.2, 2.0, 0.3, 0.8, -0.4], &[2, 3]);
        let y = t(&[1.0, 0.5, -0.5, 0.3, 2.0, 0.1], &[2, 3]);
        let none = Reduction::None;
        let mse = mse_loss(&x, &y, none);
        assert_eq!(mse.shape(), vec![2, 3]);
        assert_close(&mse.to_vec(), &[0.25, 2.89, 6.25, 0.0, 1.44, 0.25], 1e-6);
        assert_close(
            &l1_loss(&x, &y, none).to_vec(),
            &[0.5, 1.7, 2.5, 0.0, 1.2, 0.5],
            1e-6,
        );
        let sl1 = [0.125, 1.2, 2.0, 0.0, 0.700_000_05, 0.125];
        assert_close(&smooth_l1_loss(&x, &y, none, 1.0).to_vec(), &sl1, 1e-6);
        #[rustfmt::skip]
        let sl1_06 = [
            0.208_333_33, 1.400_000_1, 2.2,
            0.0, 0.900_000_04, 0.208_333_33,
        ];
        assert_close(&smooth_l1_loss(&x, &y, none, 0.6).to_vec(), &sl1_06, 1e-6);
        assert_close(&huber_loss(&x, &y, none, 1.0).to_vec(), &sl1, 1e-6);
        let hub_06 = [0.125, 0.840_000_1, 1.32, 0.0, 0.54, 0.125];
        assert_close(&huber_loss(&x, &y, none, 0.6).to_vec(), &hub_06, 1e-6);

        let (mean, sum) = (Reduction::Mean, Reduction::Sum);
        assert_close(
            &[mse_loss(&x, &y, mean).item(), mse_loss(&x, &y, sum).item()],
            &[1.846_666_7, 11.08],
            1e-6,
        );
        assert_close(
            &[l1_loss(&x, &y, mean).item(), l1_loss(&x, &y, sum).item()],
            &[1.066_666_7, 6.4],
            1e-6,
        );
        let sl = [
            smooth_l1_loss(&x, &y, mean, 1.0).item(),
            smooth_l1_loss(&x, &y, sum, 1.0).item(),
        ];
        assert_close(&sl, &[0.691_666_66, 4.15], 1e-6);
        let sl = [
            smooth_l1_loss(&x, &y, mean, 0.6).item(),
            smooth_l1_loss(&x, &y, sum, 0.6).item(),
        ];
        assert_close(&sl, &[0.819_444_5, 4.916_667], 1e-6);
        let hl = [
            huber_loss(&x, &y, mean, 0.6).item(),
            huber_loss(&x, &y, sum, 0.6).item(),
        ];
        assert_close(&hl, &[0.491_666_7, 2.95], 1e-6);
        assert_eq!(mse_loss(&x, &y, mean).shape(), Vec::<usize>::new());
    }

    // PyTorch's derivatives at the kinks: sign(0) = 0 for l1 (and smooth_l1 with beta = 0);
    // smooth_l1 and huber take the outer branch at |d| = beta (delta): ±1 and ±delta.
    #[test]
    fn kinks_take_pytorchs_values() {
        let grad_at = |f: &dyn Fn(&Tensor, &Tensor) -> Tensor, d: f32| {
            let x = Tensor::from_slice(&[d], &[1]).set_requires_grad(true);
            f(&x, &Tensor::zeros(&[1])).backward();
            x.grad().unwrap().item()
        };
        assert_eq!(grad_at(&|x, y| l1_loss(x, y, Reduction::Sum), 0.0), 0.0);
        assert_eq!(
            grad_at(&|x, y| smooth_l1_loss(x, y, Reduction::Sum, 0.0), 0.0),
            0.0
        );
        assert_eq!(
            grad_at(&|x, y| smooth_l1_loss(x, y, Reduction::Sum, 0.5), 0.5),
            1.0
        );
        assert_eq!(
            grad_at(&|x, y| smooth_l1_loss(x, y, Reduction::Sum, 0.5), -0.5),
            -1.0
        );
        assert_eq!(
            grad_at(&|x, y| huber_loss(x, y, Reduction::Sum, 2.0), 2.0),
            2.0
        );
        assert_eq!(
            grad_at(&|x, y| huber_loss(x, y, Reduction::Sum, 2.0), -2.0),
            -2.0
        );
        assert_eq!(grad_at(&|x, y| mse_loss(x, y, Reduction::Sum), 0.0), 0.0);
    }

    #[test]
    fn modules_match_functions_and_defaults() {
        let (x, y) = regression_pair();
        let same = |a: Tensor, b: Tensor| assert_eq!(a.to_vec(), b.to_vec());
        same(
            MSELoss::new().forward(&x, &y),
            mse_loss(&x, &y, Reduction::Mean),
        );
        same(
            L1Loss::new().forward(&x, &y),
            l1_loss(&x, &y, Reduction::Mean),
        );
        assert_eq!(
            SmoothL1Loss::new(),
            SmoothL1Loss {
                reduction: Reduction::Mean,
                beta: 1.0
            }
        );
        assert_eq!(
            HuberLoss::new(),
            HuberLoss {
                reduction: Reduction::Mean,
                delta: 1.0
            }
        );
        let sl1 = SmoothL1Loss {
            beta: 0.5,
            reduction: Reduction::Sum,
        };
        same(
            sl1.forward(&x, &y),
            smooth_l1_loss(&x, &y, Reduction::Sum, 0.5),
        );
        let huber = HuberLoss {
            delta: 2.0,
            reduction: Reduction::None,
        };
        same(
            huber.forward(&x, &y),
            huber_loss(&x, &y, Reduction::None, 2.0),
        );
    }

    #[test]
    fn graph_names() {
        let (x, y) = regression_pair();
        assert_eq!(
            mse_loss(&x, &y, Reduction::Mean).op_name(),
            Some("MseLossBackward0")
        );
        assert_eq!(
            l1_loss(&x, &y, Reduction::Mean).op_name(),
            Some("L1LossBackward0")
        );
        let sl1 = smooth_l1_loss(&x, &y, Reduction::Mean, 1.0);
        assert_eq!(sl1.op_name(), Some("SmoothL1LossBackward0"));
        assert_eq!(
            huber_loss(&x, &y, Reduction::Mean, 1.0).op_name(),
            Some("HuberLossBackward0")
        );
    }

    #[test]
    #[should_panic(
        expected = "mse_loss: input of shape [4, 1] and target of shape [4] must have the same shape"
    )]
    fn mismatched_shapes_panic() {
        mse_loss(
            &Tensor::zeros(&[4, 1]),
            &Tensor::zeros(&[4]),
            Reduction::Mean,
        );
    }

    #[test]
    #[should_panic(expected = "huber_loss does not support non-positive values for delta, got 0")]
    fn huber_delta_must_be_positive() {
        huber_loss(
            &Tensor::zeros(&[2]),
            &Tensor::zeros(&[2]),
            Reduction::Mean,
            0.0,
        );
    }
}
