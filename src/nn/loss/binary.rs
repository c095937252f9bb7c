//! Binary losses: `binary_cross_entropy` on probabilities, `binary_cross_entropy_with_logits`
//! (fused, stable) on logits, and their modules.

use super::{check_same_shape, expand_weight, reduce, upstream, Reduction};
use crate::autograd::Backward;
use crate::ops::{log_sigmoid, sigmoid_f32 as sigmoid};
use crate::tensor::{Array, Tensor};
use crate::BinaryOp;

/// Binary cross-entropy between probabilities and targets, as `F.binary_cross_entropy`:
///
/// ```text
/// ℓ = −w·(y·max(log p, −100) + (1 − y)·max(log(1 − p), −100))
/// ```
///
/// The logs are clamped at −100 as in PyTorch, so `p = 0` or `1` gives a finite loss (100 per
/// wrong element). The gradient is PyTorch's `w·(p − y)/max(p·(1 − p), 1e-12)` in `p` and
/// `w·(log(1 − p) − log p)` in `y`; `weight` (per element, broadcast to the input's shape) gets
/// none. Prefer [`binary_cross_entropy_with_logits`], which is stable for any logit.
///
/// # Examples
/// ```
/// use backprop::nn::{binary_cross_entropy, Reduction};
/// use backprop::Tensor;
/// let p = Tensor::from_slice(&[0.5, 0.0], &[2]);
/// let y = Tensor::from_slice(&[1.0, 1.0], &[2]);
/// let loss = binary_cross_entropy(&p, &y, None, Reduction::None).to_vec();
/// assert!((loss[0] - std::f32::consts::LN_2).abs() < 1e-7);
/// assert_eq!(loss[1], 100.0); // log 0 clamped at −100
/// ```
///
/// # Panics
/// Panics if `input` and `target` differ in shape, if `weight` does not broadcast to it, or if
/// an input or target value is outside `[0, 1]` (as PyTorch's check).
#[track_caller]
pub fn binary_cross_entropy(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    reduction: Reduction,
) -> Tensor {
    const OP: &str = "binary_cross_entropy";
    let (p, y) = (input.array(), target.array());
    check_same_shape(OP, &p, &y);
    for (what, a) in [("input", &p), ("target", &y)] {
        if let Some(v) = a.data().iter().find(|v| !(0.0..=1.0).contains(*v)) {
            panic!("{OP}: all elements of {what} should be between 0 and 1, found {v}");
        }
    }
    let w = weight.map(|w| expand_weight(OP, "weight", &w.array(), p.shape()));
    let mut loss = p.zip_map(&y, |p, y| {
        (y - 1.0) * (-p).ln_1p().max(-100.0) - y * p.ln().max(-100.0)
    });
    if let Some(w) = &w {
        loss = loss.zip_map(w, |l, w| l * w);
    }
    let out = reduce(loss, reduction);
    drop((p, y));
    Tensor::from_op(
        out,
        &[input, target],
        BinaryCrossEntropyBackward {
            weight: w,
            reduction,
        },
    )
}

/// dℓ/dp = g·w·(p − y)/max(p·(1 − p), 1e-12), dℓ/dy = g·w·(−logit p) (PyTorch's formulas).
struct BinaryCrossEntropyBackward {
    weight: Option<Array>,
    reduction: Reduction,
}
impl Backward for BinaryCrossEntropyBackward {
    fn name(&self) -> &'static str {
        "BinaryCrossEntropyBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let (p, y) = (inputs[0].array(), inputs[1].array());
        let mut g = upstream(grad, self.reduction, p.shape());
        if let Some(w) = &self.weight {
            g = g.zip_map(w, |g, w| g * w);
        }
        let gp = inputs[0]
            .requires_grad()
            .then(|| g.zip3_map(&p, &y, |g, p, y| g * (p - y) / ((1.0 - p) * p).max(1e-12)));
        let gy = inputs[1]
            .requires_grad()
            .then(|| g.zip_map(&p, |g, p| -g * (p / (1.0 - p)).ln()));
        vec![gp, gy]
    }
}

/// Binary cross-entropy on logits, as `F.binary_cross_entropy_with_logits`: a sigmoid and
/// [`binary_cross_entropy`] fused for numerical stability, in PyTorch's formulation
///
/// ```text
/// ℓ = w·[(1 − y)·x + (1 + (pw − 1)·y)·(log(1 + e^(−|x|)) + max(−x, 0))]
/// ```
///
/// which equals `−w·[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))]` and stays finite (no clamp
/// needed) for logits of any size. `weight` (w) and `pos_weight` (pw, the weight of positive
/// examples, typically `[C]` for `C` labels) broadcast to the input's shape and default to 1.
/// The gradient is `w·((pw·y + 1 − y)·σ(x) − pw·y)` in `x` (`σ(x) − y` without weights), and
/// PyTorch's `w·(log σ(−x) − pw·log σ(x))` in `y`.
///
/// # Examples
/// ```
/// use backprop::nn::{binary_cross_entropy_with_logits, Reduction};
/// use backprop::Tensor;
/// let logits = Tensor::from_slice(&[0.0, 1e4, -1e4], &[3]);
/// let y = Tensor::from_slice(&[1.0, 1.0, 1.0], &[3]);
/// let loss = binary_cross_entropy_with_logits(&logits, &y, None, Reduction::None, None).to_vec();
/// assert!((loss[0] - std::f32::consts::LN_2).abs() < 1e-7);
/// assert_eq!(&loss[1..], &[0.0, 1e4]);
/// ```
///
/// # Panics
/// Panics if `input` and `target` differ in shape, or if `weight` or `pos_weight` does not
/// broadcast to it.
#[track_caller]
pub fn binary_cross_entropy_with_logits(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    reduction: Reduction,
    pos_weight: Option<&Tensor>,
) -> Tensor {
    const OP: &str = "binary_cross_entropy_with_logits";
    let (x, y) = (input.array(), target.array());
    check_same_shape(OP, &x, &y);
    let w = weight.map(|w| expand_weight(OP, "weight", &w.array(), x.shape()));
    let pw = pos_weight.map(|pw| expand_weight(OP, "pos_weight", &pw.array(), x.shape()));
    if x.device().is_cuda() {
        assert!(
            pw.is_none(),
            "{OP}: pos_weight is not implemented on a GPU yet; move the tensors to the CPU"
        );
        let mut loss = x.binary(&y, BinaryOp::BceLogits, OP);
        if let Some(w) = &w {
            loss = loss.binary(w, BinaryOp::Mul, OP);
        }
        let out = reduce(loss, reduction);
        drop((x, y));
        let backward = BinaryCrossEntropyWithLogitsBackward {
            weight: w,
            pos_weight: None,
            reduction,
        };
        return Tensor::from_op(out, &[input, target], backward);
    }
    let mut loss = match &pw {
        None => x.zip_map(&y, |x, y| (1.0 - y) * x - log_sigmoid(x)),
        Some(pw) => x.zip3_map(&y, pw, |x, y, pw| {
            (1.0 - y) * x - ((pw - 1.0) * y + 1.0) * log_sigmoid(x)
        }),
    };
    if let Some(w) = &w {
        loss = loss.zip_map(w, |l, w| l * w);
    }
    let out = reduce(loss, reduction);
    drop((x, y));
    let backward = BinaryCrossEntropyWithLogitsBackward {
        weight: w,
        pos_weight: pw,
        reduction,
    };
    Tensor::from_op(out, &[input, target], backward)
}

/// dℓ/dx = g·w·((pw·y + 1 − y)·σ(x) − pw·y);
/// dℓ/dy = g·w·(log σ(−x) − pw·log σ(x)), which is `−g·w·x` when pw = 1.
struct BinaryCrossEntropyWithLogitsBackward {
    weight: Option<Array>,
    pos_weight: Option<Array>,
    reduction: Reduction,
}
impl Backward for BinaryCrossEntropyWithLogitsBackward {
    fn name(&self) -> &'static str {
        "BinaryCrossEntropyWithLogitsBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let (x, y) = (inputs[0].array(), inputs[1].array());
        let mut g = upstream(grad, self.reduction, x.shape());
        if let Some(w) = &self.weight {
            g = g.binary(w, BinaryOp::Mul, "binary_cross_entropy_with_logits");
        }
        if x.device().is_cuda() {
            // pos_weight is refused on a GPU in the forward.
            let gx = inputs[0].requires_grad().then(|| {
                let d = x.binary(&y, BinaryOp::SigmoidMinus, "bce_backward");
                g.binary(&d, BinaryOp::Mul, "bce_backward")
            });
            let gy = inputs[1]
                .requires_grad()
                .then(|| g.binary(&x, BinaryOp::NegMul, "bce_backward"));
            return vec![gx, gy];
        }
        let (gx, gy) = match &self.pos_weight {
            None => (
                inputs[0]
                    .requires_grad()
                    .then(|| g.zip3_map(&x, &y, |g, x, y| g * (sigmoid(x) - y))),
                inputs[1]
                    .requires_grad()
                    .then(|| g.zip_map(&x, |g, x| -g * x)),
            ),
            Some(pw) => {
                let gx = inputs[0].requires_grad().then(|| {
                    let mut gx = g.clone();
                    let xs = x.data().iter().zip(y.data()).zip(pw.data());
                    for (gx, ((&x, &y), &pw)) in gx.data_mut().iter_mut().zip(xs) {
                        let t = pw * y;
                        *gx *= (t + 1.0 - y) * sigmoid(x) - t;
                    }
                    gx
                });
                let gy = inputs[1].requires_grad().then(|| {
                    g.zip3_map(&x, pw, |g, x, pw| {
                        g * (log_sigmoid(-x) - pw * log_sigmoid(x))
                    })
                });
                (gx, gy)
            }
        };
        vec![gx, gy]
    }
}

/// Binary cross-entropy between probabilities and targets in `[0, 1]`, as `torch.nn.BCELoss`;
/// see [`binary_cross_entropy`]. Prefer [`BCEWithLogitsLoss`] on logits.
///
/// # Examples
/// ```
/// use backprop::nn::BCELoss;
/// use backprop::Tensor;
/// let p = Tensor::from_slice(&[0.5, 0.5], &[2]);
/// let y = Tensor::from_slice(&[0.0, 1.0], &[2]);
/// assert!((BCELoss::new().forward(&p, &y).item() - std::f32::consts::LN_2).abs() < 1e-7);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BCELoss {
    /// Per-element weights, broadcast to the input's shape (default: all 1).
    pub weight: Option<Tensor>,
    /// How the per-element losses are combined (default [`Reduction::Mean`]).
    pub reduction: Reduction,
}

impl BCELoss {
    /// The loss with PyTorch's defaults (no weights, mean reduction).
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` probabilities against `target`.
    ///
    /// # Panics
    /// As [`binary_cross_entropy`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        binary_cross_entropy(input, target, self.weight.as_ref(), self.reduction)
    }
}

/// Binary cross-entropy on logits, a sigmoid and [`BCELoss`] fused for stability, as
/// `torch.nn.BCEWithLogitsLoss`; see [`binary_cross_entropy_with_logits`].
///
/// # Examples
/// ```
/// use backprop::nn::BCEWithLogitsLoss;
/// use backprop::Tensor;
/// let logits = Tensor::from_slice(&[0.0, 0.0], &[1, 2]);
/// let y = Tensor::from_slice(&[1.0, 0.0], &[1, 2]);
/// // Positives of the first label count 3 times: (3·ln 2 + ln 2) / 2.
/// let pos_weight = Tensor::from_slice(&[3.0, 1.0], &[2]);
/// let criterion = BCEWithLogitsLoss { pos_weight: Some(pos_weight), ..Default::default() };
/// let loss = criterion.forward(&logits, &y).item();
/// assert!((loss - 2.0 * std::f32::consts::LN_2).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BCEWithLogitsLoss {
    /// Per-element weights, broadcast to the input's shape (default: all 1).
    pub weight: Option<Tensor>,
    /// How the per-element losses are combined (default [`Reduction::Mean`]).
    pub reduction: Reduction,
    /// Weight of positive examples, broadcast to the input's shape; `[C]` weighs each of `C`
    /// labels (default: all 1).
    pub pos_weight: Option<Tensor>,
}

impl BCEWithLogitsLoss {
    /// The loss with PyTorch's defaults (no weights, mean reduction).
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` logits against `target`.
    ///
    /// # Panics
    /// As [`binary_cross_entropy_with_logits`].
    #[track_caller]
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        binary_cross_entropy_with_logits(
            input,
            target,
            self.weight.as_ref(),
            self.reduction,
            self.pos_weight.as_ref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::tests::{assert_close, t, REDUCTIONS};
    use crate::testing::{check_grad, positive, randn};

    /// Values in `[0.1, 0.9)`, requiring grad: probabilities away from BCE's clamps.
    fn probabilities(shape: &[usize]) -> Tensor {
        let u = positive(shape).array().map(|v| 0.1 + 0.8 * (v - 0.5) / 1.5);
        Tensor::from_array(u).set_requires_grad(true)
    }

    #[test]
    fn binary_losses_gradcheck() {
        let p = probabilities(&[3, 4]);
        let y = probabilities(&[3, 4]);
        let x = randn(&[3, 4]);
        let w = t(&[0.5, 1.0, 2.0, 1.5], &[4]);
        let pw = t(&[3.0, 0.5, 1.0, 2.0], &[4]);
        for r in REDUCTIONS {
            for weight in [None, Some(&w)] {
                check_grad(
                    |t| binary_cross_entropy(&t[0], &t[1], weight, r),
                    &[p.clone(), y.clone()],
                );
                for pos_weight in [None, Some(&pw)] {
                    check_grad(
                        |t| binary_cross_entropy_with_logits(&t[0], &t[1], weight, r, pos_weight),
                        &[x.clone(), y.clone()],
                    );
                }
            }
        }
    }

    // p = torch.tensor([[0.2, 0.7, 0.9], [0.5, 0.1, 0.35]])
    // q = torch.tensor([[0.0, 1.0, 0.3], [1.0, 0.0, 0.6]])
    // bw = torch.tensor([0.5, 1.0, 2.0])
    // for r in ['none', 'mean', 'sum']:
    //     print(F.binary_cross_entropy(p, q, reduction=r), F.binary_cross_entropy(p, q, weight=bw, reduction=r))
    //     print(F.binary_cross_entropy_with_logits(x, q, reduction=r),
    //           F.binary_cross_entropy_with_logits(x, q, pos_weight=bw, reduction=r),
    //           F.binary_cross_entropy_with_logits(x, q, weight=bw, pos_weight=bw, reduction=r))
    #[test]
    fn binary_losses_match_pytorch() {
        let x = t(&[0.5, -1.2, 2.0, 0.3, 0.8, -0.4], &[2, 3]);
        let p = t(&[0.2, 0.7, 0.9, 0.5, 0.1, 0.35], &[2, 3]);
        let q = t(&[0.0, 1.0, 0.3, 1.0, 0.0, 0.6], &[2, 3]);
        let bw = t(&[0.5, 1.0, 2.0], &[3]);
        let bce = |w, r| binary_cross_entropy(&p, &q, w, r).to_vec();
        let none = Reduction::None;
        #[rustfmt::skip]
        let want = [
            0.223_143_56, 0.356_674_97, 1.643_417_6,
            std::f32::consts::LN_2, 0.105_360_52, 0.802_206_46,
        ];
        assert_close(&bce(None, none), &want, 1e-6);
        #[rustfmt::skip]
        let want = [
            0.111_571_78, 0.356_674_97, 3.286_835_2,
            0.3465736, 0.105_360_52, 1.604_412_9,
        ];
        assert_close(&bce(Some(&bw), none), &want, 1e-6);
        assert_close(&bce(None, Reduction::Mean), &[0.637_325_05], 1e-6);
        assert_close(&bce(Some(&bw), Reduction::Mean), &[0.968_571_5], 1e-6);
        assert_close(&bce(None, Reduction::Sum), &[3.823_950_3], 1e-6);
        assert_close(&bce(Some(&bw), Reduction::Sum), &[5.811_429], 1e-6);

        let bcel = |w, r, pw| binary_cross_entropy_with_logits(&x, &q, w, r, pw).to_vec();
        #[rustfmt::skip]
        let want = [
            0.974_077, 1.463_282_5, 1.526_928,
            0.554_355_2, 1.171_100_6, 0.753_015_3,
        ];
        assert_close(&bcel(None, none, None), &want, 1e-6);
        #[rustfmt::skip]
        let want = [
            0.974_077, 1.463_282_5, 1.565_006_4,
            0.277_177_6, 1.171_100_6, 1.300_824_4,
        ];
        assert_close(&bcel(None, none, Some(&bw)), &want, 1e-6);
        #[rustfmt::skip]
        let want = [
            0.487_038_5, 1.463_282_5, 3.130_012_8,
            0.138_588_8, 1.171_100_6, 2.601_648_8,
        ];
        assert_close(&bcel(Some(&bw), none, Some(&bw)), &want, 1e-6);
        assert_close(&bcel(None, Reduction::Mean, None), &[1.073_793], 1e-6);
        assert_close(
            &bcel(None, Reduction::Mean, Some(&bw)),
            &[1.125_244_7],
            1e-6,
        );
        assert_close(
            &bcel(Some(&bw), Reduction::Mean, Some(&bw)),
            &[1.498_612],
            1e-6,
        );
        assert_close(&bcel(None, Reduction::Sum, None), &[6.442_758_6], 1e-6);
        assert_close(&bcel(None, Reduction::Sum, Some(&bw)), &[6.751_468_7], 1e-6);
        assert_close(
            &bcel(Some(&bw), Reduction::Sum, Some(&bw)),
            &[8.991_673],
            1e-6,
        );
    }

    // x = torch.tensor([[0.5, -1.2, 2.0], [0.3, 0.8, -0.4]], requires_grad=True)
    // q = torch.tensor([[0.0, 1.0, 0.3], [1.0, 0.0, 0.6]], requires_grad=True)
    // F.binary_cross_entropy_with_logits(x, q, weight=bw, pos_weight=bw, reduction='sum').backward()
    // p = torch.tensor([[0.2, 0.7, 0.9], [0.5, 0.1, 0.35]], requires_grad=True); q.grad = None
    // F.binary_cross_entropy(p, q, weight=bw, reduction='mean').backward()
    #[test]
    fn binary_loss_gradients_match_pytorch() {
        let x = t(&[0.5, -1.2, 2.0, 0.3, 0.8, -0.4], &[2, 3]).set_requires_grad(true);
        let p = t(&[0.2, 0.7, 0.9, 0.5, 0.1, 0.35], &[2, 3]).set_requires_grad(true);
        let q = t(&[0.0, 1.0, 0.3, 1.0, 0.0, 0.6], &[2, 3]).set_requires_grad(true);
        let bw = t(&[0.5, 1.0, 2.0], &[3]);
        binary_cross_entropy_with_logits(&x, &q, Some(&bw), Reduction::Sum, Some(&bw)).backward();
        #[rustfmt::skip]
        let gx = [
            0.311_229_68, -0.768_524_77, 1.090_072_2,
            -0.106_389_37, 0.689_974_5, -1.115_800_5,
        ];
        #[rustfmt::skip]
        let gq = [
            -0.368_519_25, 1.2, -3.746_144,
            -0.288_588_82, -0.8, 2.626_030_4,
        ];
        assert_close(&x.grad().unwrap().to_vec(), &gx, 1e-5);
        assert_close(&q.grad().unwrap().to_vec(), &gq, 1e-5);
        q.zero_grad();
        binary_cross_entropy(&p, &q, Some(&bw), Reduction::Mean).backward();
        #[rustfmt::skip]
        let gp = [
            0.104_166_66, -0.238_095_24, 2.222_221_6,
            -0.166_666_67, 0.1851852, -0.366_300_43,
        ];
        #[rustfmt::skip]
        let gq = [
            0.115_524_53, -0.141_216_31, -0.732_408_1,
            0.0, 0.366_204_1, 0.2063464,
        ];
        assert_close(&p.grad().unwrap().to_vec(), &gp, 1e-5);
        assert_close(&q.grad().unwrap().to_vec(), &gq, 1e-5);
    }

    // xb = torch.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    // o = F.binary_cross_entropy_with_logits(xb, torch.tensor([1., 0., 0., 1.]), reduction='none')
    // o                       # [0., 0., 10000., 10000.]
    // o.sum().backward(); xb.grad  # [0., 0., 1., -1.]
    // F.binary_cross_entropy_with_logits(xb, torch.tensor([1., 0., 0., 1.]),
    //                                    pos_weight=torch.tensor(3.0), reduction='none')
    //                         # [0., 0., 10000., 30000.]
    #[test]
    fn with_logits_stable_at_huge_logits() {
        let xb = t(&[1e4, -1e4, 1e4, -1e4], &[4]).set_requires_grad(true);
        let yb = t(&[1.0, 0.0, 0.0, 1.0], &[4]);
        let loss = binary_cross_entropy_with_logits(&xb, &yb, None, Reduction::None, None);
        assert_eq!(loss.to_vec(), vec![0.0, 0.0, 1e4, 1e4]);
        loss.sum().backward();
        assert_eq!(xb.grad().unwrap().to_vec(), vec![0.0, 0.0, 1.0, -1.0]);
        let pw = Tensor::scalar(3.0);
        let loss = binary_cross_entropy_with_logits(&xb, &yb, None, Reduction::None, Some(&pw));
        assert_eq!(loss.to_vec(), vec![0.0, 0.0, 1e4, 3e4]);
    }

    // pc = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], requires_grad=True)
    // o = F.binary_cross_entropy(pc, torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0]), reduction='none')
    // o                         # [0., -0., 100., 100., 0.69314718]
    // o.sum().backward(); pc.grad  # [0., 0., -9.99999996e+11, 9.99999996e+11, -2.]
    #[test]
    fn binary_cross_entropy_clamps_log_at_minus_100() {
        let p = t(&[0.0, 1.0, 0.0, 1.0, 0.5], &[5]).set_requires_grad(true);
        let y = t(&[0.0, 1.0, 1.0, 0.0, 1.0], &[5]);
        let loss = binary_cross_entropy(&p, &y, None, Reduction::None);
        assert_close(
            &loss.to_vec(),
            &[0.0, 0.0, 100.0, 100.0, std::f32::consts::LN_2],
            1e-6,
        );
        loss.sum().backward();
        assert_close(
            &p.grad().unwrap().to_vec(),
            &[0.0, 0.0, -1e12, 1e12, -2.0],
            1e-6,
        );
    }

    #[test]
    fn modules_match_functions_and_defaults() {
        let same = |a: Tensor, b: Tensor| assert_eq!(a.to_vec(), b.to_vec());
        let logits = randn(&[3, 4]);
        let w = t(&[1., 2., 3., 4.], &[4]);
        let p = probabilities(&[3, 4]);
        let q = probabilities(&[3, 4]);
        same(
            BCELoss::new().forward(&p, &q),
            binary_cross_entropy(&p, &q, None, Reduction::Mean),
        );
        let bce = BCELoss {
            weight: Some(w.clone()),
            reduction: Reduction::Sum,
        };
        same(
            bce.forward(&p, &q),
            binary_cross_entropy(&p, &q, Some(&w), Reduction::Sum),
        );
        let bcel = BCEWithLogitsLoss {
            pos_weight: Some(w.clone()),
            ..Default::default()
        };
        assert!(bcel.weight.is_none() && bcel.reduction == Reduction::Mean);
        let want = binary_cross_entropy_with_logits(&logits, &q, None, Reduction::Mean, Some(&w));
        same(bcel.forward(&logits, &q), want);
    }

    #[test]
    fn graph_names() {
        let p = probabilities(&[2]);
        let bce = binary_cross_entropy(&p, &p.detach(), None, Reduction::Mean);
        assert_eq!(bce.op_name(), Some("BinaryCrossEntropyBackward0"));
        let bcel = binary_cross_entropy_with_logits(&p, &p.detach(), None, Reduction::Mean, None);
        assert_eq!(
            bcel.op_name(),
            Some("BinaryCrossEntropyWithLogitsBackward0")
        );
    }

    #[test]
    #[should_panic(
        expected = "binary_cross_entropy_with_logits: input of shape [2, 3] and target of shape [3, 2]"
    )]
    fn bce_with_logits_shapes_panic() {
        let x = Tensor::zeros(&[2, 3]);
        binary_cross_entropy_with_logits(&x, &Tensor::zeros(&[3, 2]), None, Reduction::Mean, None);
    }

    #[test]
    #[should_panic(
        expected = "binary_cross_entropy: all elements of input should be between 0 and 1, found 1.5"
    )]
    fn bce_probability_range_panics() {
        binary_cross_entropy(
            &t(&[0.5, 1.5], &[2]),
            &Tensor::zeros(&[2]),
            None,
            Reduction::Mean,
        );
    }

    #[test]
    #[should_panic(
        expected = "binary_cross_entropy_with_logits: pos_weight of shape [3] does not broadcast to the input's shape [2, 2]"
    )]
    fn pos_weight_shape_panics() {
        let pw = Tensor::ones(&[3]);
        binary_cross_entropy_with_logits(
            &Tensor::zeros(&[2, 2]),
            &Tensor::zeros(&[2, 2]),
            None,
            Reduction::Mean,
            Some(&pw),
        );
    }
}
