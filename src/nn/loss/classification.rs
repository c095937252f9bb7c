//! Class losses on class-index targets: `cross_entropy` (fused, stable), `nll_loss` and their
//! modules.

use super::Reduction;
use crate::autograd::Backward;
use crate::tensor::{Array, Tensor};

/// Checks an `[N, C]` or `[C]` input against its class-index target; returns `(N, C, classes)`.
#[track_caller]
fn class_indices(op: &str, input: &Array, target: &Array) -> (usize, usize, Vec<usize>) {
    let (n, c) = match *input.shape() {
        [c] => {
            assert!(
                target.ndim() == 0,
                "{op}: input of shape {:?} (one sample) needs a 0-d target, got shape {:?}",
                input.shape(),
                target.shape()
            );
            (1, c)
        }
        [n, c] => {
            assert!(
                target.shape() == [n],
                "{op}: input of shape {:?} needs a target of shape [{n}], got shape {:?}",
                input.shape(),
                target.shape()
            );
            (n, c)
        }
        _ => panic!(
            "{op}: input must have shape [N, C] or [C], got {:?} (target {:?})",
            input.shape(),
            target.shape()
        ),
    };
    let classes = target
        .data()
        .iter()
        .map(|&v| {
            assert!(
                v >= 0.0 && v.fract() == 0.0 && (v as usize) < c,
                "{op}: target {v} is not a class index in 0..{c} (C = {c})"
            );
            v as usize
        })
        .collect();
    (n, c, classes)
}

/// The class weights as a `[C]` vector (ones when `None`).
#[track_caller]
fn class_weights(op: &str, weight: Option<&Tensor>, c: usize) -> Vec<f32> {
    match weight {
        None => vec![1.0; c],
        Some(w) => {
            let w = w.array();
            assert!(
                w.shape() == [c],
                "{op}: weight should be defined for all {c} classes, got a weight of shape {:?}",
                w.shape()
            );
            w.data().to_vec()
        }
    }
}

/// Reduces per-sample class losses; `total_weight` is `Σᵢ w[yᵢ]`, the mean's denominator.
fn reduce_class_losses(
    losses: Vec<f32>,
    target_shape: &[usize],
    reduction: Reduction,
    total_weight: f64,
) -> Array {
    let sum = || losses.iter().map(|&v| v as f64).sum::<f64>();
    match reduction {
        Reduction::None => Array::new(target_shape, losses),
        Reduction::Sum => Array::scalar(sum() as f32),
        Reduction::Mean => Array::scalar((sum() / total_weight) as f32),
    }
}

/// The upstream gradient of sample `i`'s loss.
fn class_upstream(grad: &Array, reduction: Reduction, total_weight: f64, i: usize) -> f32 {
    match reduction {
        Reduction::None => grad.data()[i],
        Reduction::Sum => grad.data()[0],
        Reduction::Mean => (grad.data()[0] as f64 / total_weight) as f32,
    }
}

/// Cross-entropy between logits and class indices, as `F.cross_entropy`: `log_softmax` and
/// `nll_loss` fused into one stable op.
///
/// For sample `i` with logits `xᵢ` (`C` classes), target class `yᵢ`, class weights `w` (all 1
/// without `weight`) and smoothing `ε = label_smoothing`:
///
/// ```text
/// lᵢ = log_softmax(xᵢ)                        (computed as xᵢ − max − log Σ exp(xᵢ − max))
/// ℓᵢ = (1 − ε)·(−w[yᵢ]·lᵢ[yᵢ]) + (ε/C)·Σ_c (−w[c]·lᵢ[c])
/// ```
///
/// [`Reduction::Mean`] divides `Σᵢ ℓᵢ` by `Σᵢ w[yᵢ]` (by `N` without weights), exactly as
/// PyTorch, also with label smoothing. The gradient in `xᵢ` is
/// `(1 − ε)·w[yᵢ]·(softmax(xᵢ) − onehot(yᵢ)) + (ε/C)·(Σ_c w[c]·softmax(xᵢ) − w)`, times the
/// upstream gradient; `target` and `weight` get none.
///
/// # Shape
/// `input` `[N, C]` with `target` `[N]`, or `input` `[C]` with a 0-d `target`. The result is
/// 0-d, or the target's shape for [`Reduction::None`]. `weight` is `[C]`.
///
/// # Examples
/// ```
/// use backprop::nn::{cross_entropy, Reduction};
/// use backprop::Tensor;
/// let logits = Tensor::from_slice(&[2.0, 0.0, 0.0, 0.0, 3.0, 0.0], &[2, 3]).set_requires_grad(true);
/// let target = Tensor::from_slice(&[0.0, 1.0], &[2]);
/// let loss = cross_entropy(&logits, &target, None, Reduction::Mean, 0.0);
/// // −log(e²/(e² + 2)) = 0.2395447 and −log(e³/(e³ + 2)) = 0.0949229
/// assert!((loss.item() - 0.167_233_9).abs() < 1e-6);
/// loss.backward(); // d/dx = (softmax − onehot)/N
/// ```
///
/// # Panics
/// Panics if the shapes do not fit (naming both), if a target is not an integer in `0..C`
/// (naming it and `C`), if `weight` is not `[C]`, or if `label_smoothing` is outside `[0, 1]`.
#[track_caller]
pub fn cross_entropy(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    reduction: Reduction,
    label_smoothing: f32,
) -> Tensor {
    const OP: &str = "cross_entropy";
    let eps = label_smoothing;
    assert!(
        (0.0..=1.0).contains(&eps),
        "{OP}: label_smoothing must be between 0.0 and 1.0, got {eps}"
    );
    #[cfg(feature = "cuda")]
    if input.device().is_cuda() {
        return cross_entropy_cuda(input, target, weight, reduction, eps);
    }
    let x = input.array();
    let t = target.array();
    let (n, c, classes) = class_indices(OP, &x, &t);
    let w = class_weights(OP, weight, c);
    let mut losses = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    for (row, &y) in x.data().chunks_exact(c.max(1)).zip(&classes) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f64 = row.iter().map(|&v| (v - m).exp() as f64).sum();
        let log_sum = (sum as f32).ln();
        let nll = -w[y] * ((row[y] - m) - log_sum);
        // Without smoothing, skip the smoothing term: 0·(−inf) would turn a masked (−inf)
        // logit into NaN, where PyTorch's loss stays finite.
        let loss = if eps > 0.0 {
            let smooth: f64 = row
                .iter()
                .zip(&w)
                .map(|(&v, &wc)| -(wc * ((v - m) - log_sum)) as f64)
                .sum();
            (1.0 - eps) * nll + eps / c as f32 * smooth as f32
        } else {
            nll
        };
        losses.push(loss);
        rows.push((m, log_sum));
    }
    let total_weight: f64 = classes.iter().map(|&y| w[y] as f64).sum();
    let out = reduce_class_losses(losses, t.shape(), reduction, total_weight);
    drop((x, t));
    let backward = CrossEntropyBackward {
        classes,
        weight: w,
        rows,
        eps,
        reduction,
        total_weight,
    };
    Tensor::from_op(out, &[input], backward)
}

/// [`cross_entropy`] on a GPU: one kernel per sample's row, one to reduce, one for the
/// gradient. A target that is not a class index gives a NaN loss (checking it on the host
/// would wait for the GPU at every step).
#[cfg(feature = "cuda")]
#[track_caller]
fn cross_entropy_cuda(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    reduction: Reduction,
    eps: f32,
) -> Tensor {
    use crate::backend::cuda;
    let (x, t) = (input.array(), target.array());
    crate::tensor::same_device("cross_entropy", &x, &t);
    assert!(
        x.ndim() == 2 && t.shape() == [x.shape()[0]],
        "cross_entropy: on a GPU, input must be [N, C] and target [N], got {:?} and {:?}",
        x.shape(),
        t.shape()
    );
    let c = x.shape()[1];
    let (w, w_all) = match weight {
        Some(w) => {
            let w = w.array();
            assert_eq!(
                w.shape(),
                [c],
                "cross_entropy: weight {:?} does not match {c} classes",
                w.shape()
            );
            crate::tensor::same_device("cross_entropy", &x, &w);
            let all: f32 = w.to_host_vec().iter().sum();
            (w.clone(), all)
        }
        None => (Array::full_on(&[c], 1.0, &x.device()), c as f32),
    };
    let r = match reduction {
        Reduction::None => 0,
        Reduction::Sum => 1,
        Reduction::Mean => 2,
    };
    let (out, stats, total_weight) = cuda::cross_entropy_forward(&x, &t, &w, eps, r);
    let backward = CrossEntropyCudaBackward {
        target: t.clone(),
        weight: w,
        stats,
        total_weight,
        reduction: r,
        eps,
        w_all,
    };
    drop((x, t));
    Tensor::from_op(out, &[input], backward)
}

#[cfg(feature = "cuda")]
struct CrossEntropyCudaBackward {
    target: Array,
    weight: Array,
    stats: Array,
    total_weight: cudarc::driver::CudaSlice<f64>,
    reduction: i32,
    eps: f32,
    w_all: f32,
}
#[cfg(feature = "cuda")]
impl Backward for CrossEntropyCudaBackward {
    fn name(&self) -> &'static str {
        "CrossEntropyLossBackward"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let x = inputs[0].array();
        vec![Some(crate::backend::cuda::cross_entropy_backward(
            &x,
            &self.target,
            &self.weight,
            &self.stats,
            grad,
            &self.total_weight,
            self.reduction,
            self.eps,
            self.w_all,
        ))]
    }
}

/// d ℓᵢ/d xᵢ = uᵢ·[(1 − ε)·w[yᵢ]·(pᵢ − onehot(yᵢ)) + (ε/C)·(W·pᵢ − w)], with
/// `pᵢ = softmax(xᵢ) = exp(xᵢ − max − log_sum)`, `W = Σ_c w[c]` and `uᵢ` the upstream gradient.
struct CrossEntropyBackward {
    classes: Vec<usize>,
    weight: Vec<f32>,
    /// Per sample: the max logit and `log Σ exp(x − max)`.
    rows: Vec<(f32, f32)>,
    eps: f32,
    reduction: Reduction,
    total_weight: f64,
}
impl Backward for CrossEntropyBackward {
    fn name(&self) -> &'static str {
        "CrossEntropyLossBackward"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let x = inputs[0].array();
        let c = self.weight.len();
        let w_all: f32 = self.weight.iter().sum();
        let mut g = Array::zeros(x.shape());
        let rows = g
            .data_mut()
            .chunks_exact_mut(c.max(1))
            .zip(x.data().chunks_exact(c.max(1)));
        for (i, (gi, xi)) in rows.enumerate() {
            let u = class_upstream(grad, self.reduction, self.total_weight, i);
            let y = self.classes[i];
            let (m, log_sum) = self.rows[i];
            let wy = (1.0 - self.eps) * self.weight[y];
            let smooth = self.eps / c as f32;
            for (k, (gk, &xk)) in gi.iter_mut().zip(xi).enumerate() {
                let p = ((xk - m) - log_sum).exp();
                let onehot = if k == y { 1.0 } else { 0.0 };
                let mut d = wy * (p - onehot);
                if self.eps > 0.0 {
                    d += smooth * (w_all * p - self.weight[k]);
                }
                *gk = u * d;
            }
        }
        vec![Some(g)]
    }
}

/// Negative log-likelihood of class indices given log-probabilities, as `F.nll_loss`:
/// `ℓᵢ = −w[yᵢ]·input[i, yᵢ]`.
///
/// Use it after [`Tensor::log_softmax`]; [`cross_entropy`] fuses the two. [`Reduction::Mean`]
/// divides by `Σᵢ w[yᵢ]` (by `N` without weights), as PyTorch.
///
/// # Shape
/// As [`cross_entropy`]: `[N, C]` with target `[N]`, or `[C]` with a 0-d target.
///
/// # Examples
/// ```
/// use backprop::nn::{nll_loss, Reduction};
/// use backprop::Tensor;
/// let log_probs = Tensor::from_slice(&[-0.1, -2.0, -3.0, -0.5], &[2, 2]);
/// let target = Tensor::from_slice(&[0.0, 1.0], &[2]);
/// let weight = Tensor::from_slice(&[1.0, 3.0], &[2]);
/// // (0.1·1 + 0.5·3) / (1 + 3)
/// let loss = nll_loss(&log_probs, &target, Some(&weight), Reduction::Mean);
/// assert!((loss.item() - 0.4).abs() < 1e-6);
/// ```
///
/// # Panics
/// Panics if the shapes do not fit, if a target is not an integer in `0..C`, or if `weight`
/// is not `[C]`.
#[track_caller]
pub fn nll_loss(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    reduction: Reduction,
) -> Tensor {
    const OP: &str = "nll_loss";
    let x = input.array();
    let t = target.array();
    let (_, c, classes) = class_indices(OP, &x, &t);
    let w = class_weights(OP, weight, c);
    let losses: Vec<f32> = x
        .data()
        .chunks_exact(c.max(1))
        .zip(&classes)
        .map(|(row, &y)| -w[y] * row[y])
        .collect();
    let total_weight: f64 = classes.iter().map(|&y| w[y] as f64).sum();
    let out = reduce_class_losses(losses, t.shape(), reduction, total_weight);
    drop((x, t));
    let backward = NllLossBackward {
        classes,
        weight: w,
        reduction,
        total_weight,
    };
    Tensor::from_op(out, &[input], backward)
}

/// d ℓᵢ/d input[i, c] = −uᵢ·w[yᵢ] for c = yᵢ, else 0.
struct NllLossBackward {
    classes: Vec<usize>,
    weight: Vec<f32>,
    reduction: Reduction,
    total_weight: f64,
}
impl Backward for NllLossBackward {
    fn name(&self) -> &'static str {
        "NllLossBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let mut g = Array::zeros(&inputs[0].shape());
        let c = self.weight.len();
        for (i, &y) in self.classes.iter().enumerate() {
            let u = class_upstream(grad, self.reduction, self.total_weight, i);
            g.data_mut()[i * c + y] = -u * self.weight[y];
        }
        vec![Some(g)]
    }
}

/// Cross-entropy between logits `[N, C]` and class indices `[N]`, as
/// `torch.nn.CrossEntropyLoss`; see [`cross_entropy`] for the formula.
///
/// # Examples
/// ```
/// use backprop::nn::CrossEntropyLoss;
/// use backprop::Tensor;
/// let logits = Tensor::from_slice(&[0.0, 0.0, 0.0, 0.0], &[2, 2]).set_requires_grad(true);
/// let target = Tensor::from_slice(&[0.0, 1.0], &[2]);
/// let criterion = CrossEntropyLoss { label_smoothing: 0.1, ..Default::default() };
/// let loss = criterion.forward(&logits, &target);
/// assert!((loss.item() - std::f32::consts::LN_2).abs() < 1e-6);
/// loss.backward();
/// ```
#[derive(Debug, Clone, Default)]
pub struct CrossEntropyLoss {
    /// Per-class weights, shape `[C]` (default: all 1). The mean divides by the targets' total
    /// weight.
    pub weight: Option<Tensor>,
    /// How the per-sample losses are combined (default [`Reduction::Mean`]).
    pub reduction: Reduction,
    /// Mass `ε` in `[0, 1]` moved from the target class to a uniform distribution over the `C`
    /// classes (default 0).
    pub label_smoothing: f32,
}

impl CrossEntropyLoss {
    /// The loss with PyTorch's defaults (no weights, mean reduction, no smoothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` logits against `target` class indices.
    ///
    /// # Panics
    /// As [`cross_entropy`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        cross_entropy(
            input,
            target,
            self.weight.as_ref(),
            self.reduction,
            self.label_smoothing,
        )
    }
}

/// Negative log-likelihood of class indices given log-probabilities, as `torch.nn.NLLLoss`; see
/// [`nll_loss`].
///
/// # Examples
/// ```
/// use backprop::nn::NLLLoss;
/// use backprop::Tensor;
/// let logits = Tensor::from_slice(&[1.0, 2.0, 3.0, 0.0], &[2, 2]);
/// let target = Tensor::from_slice(&[1.0, 0.0], &[2]);
/// let loss = NLLLoss::new().forward(&logits.log_softmax(1), &target);
/// assert!((loss.item() - 0.180_924_5).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Default)]
pub struct NLLLoss {
    /// Per-class weights, shape `[C]` (default: all 1).
    pub weight: Option<Tensor>,
    /// How the per-sample losses are combined (default [`Reduction::Mean`]).
    pub reduction: Reduction,
}

impl NLLLoss {
    /// The loss with PyTorch's defaults (no weights, mean reduction).
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` log-probabilities against `target` class indices.
    ///
    /// # Panics
    /// As [`nll_loss`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        nll_loss(input, target, self.weight.as_ref(), self.reduction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::tests::{assert_close, t, REDUCTIONS};
    use crate::testing::{check_grad, randn};

    #[test]
    fn class_losses_gradcheck() {
        let logits = randn(&[4, 5]);
        let target = t(&[1., 0., 4., 2.], &[4]);
        let w = t(&[0.5, 1.0, 2.0, 0.3, 1.5], &[5]);
        let one = randn(&[5]);
        let one_target = Tensor::scalar(3.0);
        for r in REDUCTIONS {
            for weight in [None, Some(&w)] {
                for eps in [0.0, 0.2] {
                    check_grad(
                        |t| cross_entropy(&t[0], &target, weight, r, eps),
                        std::slice::from_ref(&logits),
                    );
                    check_grad(
                        |t| cross_entropy(&t[0], &one_target, weight, r, eps),
                        std::slice::from_ref(&one),
                    );
                }
                check_grad(
                    |t| nll_loss(&t[0], &target, weight, r),
                    std::slice::from_ref(&logits),
                );
                check_grad(
                    |t| nll_loss(&t[0], &one_target, weight, r),
                    std::slice::from_ref(&one),
                );
            }
        }
    }

    // logits = torch.tensor([[1.0, 2.0, 0.5, -1.0], [0.1, -0.3, 0.8, 1.5], [-2.0, 0.0, 3.0, 1.0]])
    // t = torch.tensor([1, 3, 0]); w = torch.tensor([0.2, 1.0, 0.5, 2.0])
    // for r in ['none', 'mean', 'sum']:
    //     for wt in [None, w]:
    //         for ls in [0.0, 0.1]:
    //             print(r, wt is not None, ls, F.cross_entropy(logits, t, weight=wt, reduction=r, label_smoothing=ls))
    //     print(r, F.nll_loss(logits, t, reduction=r), F.nll_loss(logits, t, weight=w, reduction=r))
    // l = logits.clone().requires_grad_()
    // F.cross_entropy(l, t, weight=w, label_smoothing=0.1).backward(); print(l.grad)
    // print(F.cross_entropy(logits[0], t[0], label_smoothing=0.2), F.cross_entropy(logits[0], t[0], reduction='none'))
    #[test]
    fn class_losses_match_pytorch() {
        let logits = t(
            &[
                1.0, 2.0, 0.5, -1.0, 0.1, -0.3, 0.8, 1.5, -2.0, 0.0, 3.0, 1.0,
            ],
            &[3, 4],
        );
        let target = t(&[1.0, 3.0, 0.0], &[3]);
        let w = t(&[0.2, 1.0, 0.5, 2.0], &[4]);
        let ce = |weight, r, ls| cross_entropy(&logits, &target, weight, r, ls).to_vec();
        let none = Reduction::None;
        assert_close(
            &ce(None, none, 0.0),
            &[0.495_181_9, 0.646_307_7, 5.175_515],
            1e-6,
        );
        assert_close(
            &ce(None, none, 0.1),
            &[0.632_681_85, 0.7438077, 4.925_515],
            1e-6,
        );
        assert_close(
            &ce(Some(&w), none, 0.0),
            &[0.495_181_9, 1.292_615_4, 1.035_103_1],
            1e-6,
        );
        assert_close(
            &ce(Some(&w), none, 0.1),
            &[0.665_218, 1.283_887_3, 1.147_827_9],
            1e-6,
        );
        let mean = Reduction::Mean;
        assert_close(&ce(None, mean, 0.0), &[2.105_668_3], 1e-6);
        assert_close(&ce(None, mean, 0.1), &[2.100_668_2], 1e-6);
        // Weighted mean: divided by w[1] + w[3] + w[0] = 3.2, not by N = 3.
        assert_close(&ce(Some(&w), mean, 0.0), &[0.882_156_3], 1e-6);
        assert_close(&ce(Some(&w), mean, 0.1), &[0.967_791_56], 1e-6);
        let sum = Reduction::Sum;
        assert_close(&ce(None, sum, 0.0), &[6.317_005], 1e-6);
        assert_close(&ce(None, sum, 0.1), &[6.302_005_3], 1e-6);
        assert_close(&ce(Some(&w), sum, 0.0), &[2.822_900_3], 1e-6);
        assert_close(&ce(Some(&w), sum, 0.1), &[3.096_933_4], 1e-6);

        let nll = |weight, r| nll_loss(&logits, &target, weight, r).to_vec();
        assert_eq!(nll(None, none), vec![-2.0, -1.5, 2.0]);
        assert_close(&nll(Some(&w), none), &[-2.0, -3.0, 0.4], 1e-6);
        assert_close(&nll(None, mean), &[-0.5], 1e-6);
        assert_close(&nll(Some(&w), mean), &[-1.4375], 1e-6);
        assert_close(&nll(None, sum), &[-1.5], 1e-6);
        assert_close(&nll(Some(&w), sum), &[-4.6], 1e-6);

        let l = logits.detach().set_requires_grad(true);
        cross_entropy(&l, &target, Some(&w), mean, 0.1).backward();
        #[rustfmt::skip]
        let want = [
            0.067_976_96, -0.100_034_65, 0.038_271_56, -0.006_213_86,
            0.074_853_76, 0.043_410_85, 0.149_977_19, -0.268_241_82,
            -0.057_331_09, -0.004_255_31, 0.067_541_93, -0.005_955_54,
        ];
        assert_close(&l.grad().unwrap().to_vec(), &want, 1e-5);

        // One sample: input [C], 0-d target, 0-d result for every reduction.
        let row = t(&[1.0, 2.0, 0.5, -1.0], &[4]);
        let one = Tensor::scalar(1.0);
        assert_close(
            &[cross_entropy(&row, &one, None, mean, 0.2).item()],
            &[0.770_181_9],
            1e-6,
        );
        let unreduced = cross_entropy(&row, &one, None, none, 0.0);
        assert_eq!(unreduced.shape(), Vec::<usize>::new());
        assert_close(&[unreduced.item()], &[0.495_181_9], 1e-6);
    }

    #[test]
    fn cross_entropy_is_log_softmax_then_nll() {
        let logits = randn(&[5, 3]);
        let target = t(&[0., 2., 1., 1., 0.], &[5]);
        let w = t(&[0.3, 2.0, 1.0], &[3]);
        for r in REDUCTIONS {
            let fused = cross_entropy(&logits, &target, Some(&w), r, 0.0).to_vec();
            let composed = nll_loss(&logits.log_softmax(1), &target, Some(&w), r).to_vec();
            assert_close(&fused, &composed, 1e-5);
        }
        // Targets are indices, not differentiable: they get no gradient.
        let target = target.set_requires_grad(true);
        cross_entropy(&logits, &target, None, Reduction::Mean, 0.1).backward();
        assert!(target.grad().is_none() && logits.grad().is_some());
    }

    // big = torch.tensor([[1e4, -1e4], [-1e4, 1e4]], requires_grad=True)
    // o = F.cross_entropy(big, torch.tensor([1, 1]), reduction='none')  # [20000., -0.]
    // o.sum().backward(); big.grad                                       # [[1., -1.], [0., 0.]]
    // F.cross_entropy(big, torch.tensor([1, 1]), label_smoothing=0.1)    # 10000.
    #[test]
    fn stable_at_huge_logits() {
        let big = t(&[1e4, -1e4, -1e4, 1e4], &[2, 2]).set_requires_grad(true);
        let target = t(&[1.0, 1.0], &[2]);
        let loss = cross_entropy(&big, &target, None, Reduction::None, 0.0);
        assert_eq!(loss.to_vec(), vec![2e4, 0.0]);
        loss.sum().backward();
        assert_eq!(big.grad().unwrap().to_vec(), vec![1.0, -1.0, 0.0, 0.0]);
        let smoothed = cross_entropy(&big, &target, None, Reduction::Mean, 0.1).item();
        assert_eq!(smoothed, 1e4);
    }

    // A masked (−inf) logit gives a finite loss without smoothing, as in PyTorch:
    // F.cross_entropy(torch.tensor([[-float('inf'), 0., 1.]]), torch.tensor([2]))  # 0.31326166
    #[test]
    fn cross_entropy_with_masked_logit() {
        let x = t(&[f32::NEG_INFINITY, 0.0, 1.0], &[1, 3]).set_requires_grad(true);
        let loss = cross_entropy(&x, &t(&[2.0], &[1]), None, Reduction::Mean, 0.0);
        assert_close(&[loss.item()], &[0.313_261_66], 1e-6);
        loss.backward();
        assert!(x.grad().unwrap().to_vec().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn modules_match_functions_and_defaults() {
        let same = |a: Tensor, b: Tensor| assert_eq!(a.to_vec(), b.to_vec());
        let logits = randn(&[3, 4]);
        let target = t(&[3., 0., 1.], &[3]);
        let w = t(&[1., 2., 3., 4.], &[4]);
        let ce = CrossEntropyLoss {
            weight: Some(w.clone()),
            label_smoothing: 0.1,
            ..Default::default()
        };
        assert_eq!(ce.reduction, Reduction::Mean);
        let want = cross_entropy(&logits, &target, Some(&w), Reduction::Mean, 0.1);
        same(ce.forward(&logits, &target), want);
        let plain = CrossEntropyLoss::new();
        assert!(plain.weight.is_none() && plain.label_smoothing == 0.0);
        let nll = NLLLoss {
            weight: Some(w.clone()),
            reduction: Reduction::Sum,
        };
        same(
            nll.forward(&logits, &target),
            nll_loss(&logits, &target, Some(&w), Reduction::Sum),
        );
        assert_eq!(NLLLoss::new().reduction, Reduction::Mean);
    }

    #[test]
    fn graph_names() {
        let x = randn(&[3, 3]);
        let target = t(&[0., 1., 2.], &[3]);
        let ce = cross_entropy(&x, &target, None, Reduction::Mean, 0.0);
        assert_eq!(ce.op_name(), Some("CrossEntropyLossBackward"));
        assert_eq!(
            nll_loss(&x, &target, None, Reduction::Mean).op_name(),
            Some("NllLossBackward0")
        );
    }

    #[test]
    #[should_panic(expected = "cross_entropy: target 4 is not a class index in 0..4")]
    fn class_index_out_of_range_panics() {
        cross_entropy(
            &Tensor::zeros(&[2, 4]),
            &t(&[1.0, 4.0], &[2]),
            None,
            Reduction::Mean,
            0.0,
        );
    }

    #[test]
    #[should_panic(expected = "nll_loss: target 1.5 is not a class index in 0..3")]
    fn fractional_class_index_panics() {
        nll_loss(
            &Tensor::zeros(&[1, 3]),
            &t(&[1.5], &[1]),
            None,
            Reduction::Mean,
        );
    }

    #[test]
    #[should_panic(expected = "cross_entropy: target -1 is not a class index in 0..3")]
    fn negative_class_index_panics() {
        cross_entropy(
            &Tensor::zeros(&[3]),
            &Tensor::scalar(-1.0),
            None,
            Reduction::Mean,
            0.0,
        );
    }

    #[test]
    #[should_panic(
        expected = "cross_entropy: input of shape [2, 3] needs a target of shape [2], got shape [2, 1]"
    )]
    fn class_target_shape_panics() {
        cross_entropy(
            &Tensor::zeros(&[2, 3]),
            &Tensor::zeros(&[2, 1]),
            None,
            Reduction::Mean,
            0.0,
        );
    }

    #[test]
    #[should_panic(
        expected = "cross_entropy: weight should be defined for all 3 classes, got a weight of shape [2]"
    )]
    fn class_weight_shape_panics() {
        let w = Tensor::ones(&[2]);
        cross_entropy(
            &Tensor::zeros(&[2, 3]),
            &Tensor::zeros(&[2]),
            Some(&w),
            Reduction::Mean,
            0.0,
        );
    }

    #[test]
    #[should_panic(
        expected = "cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"
    )]
    fn label_smoothing_range_panics() {
        cross_entropy(
            &Tensor::zeros(&[2, 3]),
            &Tensor::zeros(&[2]),
            None,
            Reduction::Mean,
            1.5,
        );
    }
}
