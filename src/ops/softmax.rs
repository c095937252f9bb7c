//! `softmax` and `log_softmax` over any dim, stable for large inputs.
//!
//! Both subtract the slice's maximum before exponentiating, as PyTorch's kernels do, so inputs
//! up to `±f32::MAX` neither overflow nor produce NaN, and `-inf` entries get probability 0
//! (log-probability `-inf`). As in PyTorch, a slice that is all `-inf`, or holds `+inf` or NaN,
//! comes out all NaN.

use crate::autograd::Backward;
use crate::tensor::shape::{resolve_dim, split_at_dim};
use crate::tensor::{Array, Tensor};

impl Tensor {
    /// `exp(xᵢ) / Σⱼ exp(xⱼ)` along `dim` (negative counts from the end), as `torch.softmax`.
    ///
    /// Computed as `exp(xᵢ − max) / Σⱼ exp(xⱼ − max)`, so large inputs do not overflow.
    ///
    /// # Examples
    /// ```
    /// use backprop::Tensor;
    /// let x = Tensor::from_slice(&[1.0, 2.0, 3.0, 1e30, -1e30, 0.0], &[2, 3]);
    /// let p = x.softmax(-1).to_vec();
    /// assert!((p[0] - 0.090_030_57).abs() < 1e-7 && (p[2] - 0.665_240_9).abs() < 1e-7);
    /// assert_eq!(&p[3..], &[1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn softmax(&self, dim: isize) -> Tensor {
        let a = self.array();
        // A 0-d tensor accepts dim 0 or -1, as in PyTorch.
        let d = resolve_dim("softmax", dim, a.ndim().max(1));
        let mut out = a.clone();
        drop(a);
        for_each_lane(&mut out, d, |lane| {
            let m = lane_max(lane);
            let mut sum = 0.0f64;
            for v in lane.iter_mut() {
                *v = (*v - m).exp();
                sum += *v as f64;
            }
            // PyTorch multiplies by the reciprocal of the sum; so do we, to match it bit for bit
            // more often.
            let r = 1.0 / sum as f32;
            for v in lane.iter_mut() {
                *v *= r;
            }
        });
        Tensor::from_op(out, &[self], SoftmaxBackward(d))
    }

    /// `xᵢ − log Σⱼ exp(xⱼ)` along `dim`, as `torch.log_softmax`.
    ///
    /// A fused op for numerical stability: computed as `(xᵢ − max) − log Σⱼ exp(xⱼ − max)`, it
    /// stays finite where `softmax(x).log()` would give `-inf` (e.g. `[0, -200]` gives
    /// `[0, -200]`, not `[0, -inf]`).
    ///
    /// # Examples
    /// ```
    /// use backprop::Tensor;
    /// let x = Tensor::from_slice(&[0.0, -200.0], &[2]);
    /// assert_eq!(x.log_softmax(0).to_vec(), vec![0.0, -200.0]);
    /// ```
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn log_softmax(&self, dim: isize) -> Tensor {
        let a = self.array();
        // A 0-d tensor accepts dim 0 or -1, as in PyTorch.
        let d = resolve_dim("log_softmax", dim, a.ndim().max(1));
        let mut out = a.clone();
        drop(a);
        for_each_lane(&mut out, d, |lane| {
            let m = lane_max(lane);
            let sum: f64 = lane.iter().map(|&v| (v - m).exp() as f64).sum();
            let log_sum = (sum as f32).ln();
            for v in lane.iter_mut() {
                *v = (*v - m) - log_sum;
            }
        });
        Tensor::from_op(out, &[self], LogSoftmaxBackward(d))
    }
}

/// The largest value of a lane, ignoring NaN (a NaN still turns the whole lane NaN through the
/// sum of exponentials). `-inf` for an all-`-inf` lane, whose result is then NaN, as in PyTorch.
fn lane_max(lane: &[f32]) -> f32 {
    lane.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// Runs `f` on every 1-d slice of `a` along `dim`, gathered into a contiguous buffer and
/// scattered back, so the kernels above see plain slices whatever the dim.
pub(crate) fn for_each_lane(a: &mut Array, dim: usize, mut f: impl FnMut(&mut [f32])) {
    let (outer, n, inner) = split_at_dim(a.shape(), dim);
    let data = a.data_mut();
    if inner == 1 {
        // The common case (the last dim): lanes are already contiguous.
        for lane in data.chunks_exact_mut(n.max(1)).take(outer) {
            f(&mut lane[..n]);
        }
        return;
    }
    let mut buf = vec![0.0f32; n];
    for o in 0..outer {
        for i in 0..inner {
            let base = o * n * inner + i;
            for (j, b) in buf.iter_mut().enumerate() {
                *b = data[base + j * inner];
            }
            f(&mut buf);
            for (j, &b) in buf.iter().enumerate() {
                data[base + j * inner] = b;
            }
        }
    }
}

/// Like [`for_each_lane`], over two arrays of one shape: `f(lane of a, lane of b)`, writing
/// back only `a`.
fn for_each_lane2(a: &mut Array, b: &Array, dim: usize, mut f: impl FnMut(&mut [f32], &[f32])) {
    let (outer, n, inner) = split_at_dim(a.shape(), dim);
    let bd = b.data();
    let data = a.data_mut();
    if inner == 1 {
        for (la, lb) in data
            .chunks_exact_mut(n.max(1))
            .zip(bd.chunks_exact(n.max(1)))
            .take(outer)
        {
            f(&mut la[..n], &lb[..n]);
        }
        return;
    }
    let mut buf = vec![0.0f32; n];
    let mut bufb = vec![0.0f32; n];
    for o in 0..outer {
        for i in 0..inner {
            let base = o * n * inner + i;
            for j in 0..n {
                buf[j] = data[base + j * inner];
                bufb[j] = bd[base + j * inner];
            }
            f(&mut buf, &bufb);
            for (j, &v) in buf.iter().enumerate() {
                data[base + j * inner] = v;
            }
        }
    }
}

/// d softmax/dx: `gᵢ·sᵢ − sᵢ·Σⱼ gⱼ·sⱼ` along the dim, with `s` the output.
struct SoftmaxBackward(usize);
impl Backward for SoftmaxBackward {
    fn name(&self) -> &'static str {
        "SoftmaxBackward0"
    }
    fn backward(&self, _: &[Tensor], out: &Array, grad: &Array) -> Vec<Option<Array>> {
        // Start from g·s, then subtract s·Σ(g·s) lane by lane.
        let mut gs = grad.zip_map(out, |g, s| g * s);
        for_each_lane2(&mut gs, out, self.0, |gs, s| {
            let dot: f64 = gs.iter().map(|&v| v as f64).sum();
            let dot = dot as f32;
            for (v, &s) in gs.iter_mut().zip(s) {
                *v -= s * dot;
            }
        });
        vec![Some(gs)]
    }
}

/// d log_softmax/dx: `gᵢ − softmaxᵢ·Σⱼ gⱼ` along the dim, with `softmax = exp(out)`.
struct LogSoftmaxBackward(usize);
impl Backward for LogSoftmaxBackward {
    fn name(&self) -> &'static str {
        "LogSoftmaxBackward0"
    }
    fn backward(&self, _: &[Tensor], out: &Array, grad: &Array) -> Vec<Option<Array>> {
        let mut g = grad.clone();
        for_each_lane2(&mut g, out, self.0, |g, ls| {
            let sum: f64 = g.iter().map(|&v| v as f64).sum();
            let sum = sum as f32;
            for (v, &l) in g.iter_mut().zip(ls) {
                *v -= l.exp() * sum;
            }
        });
        vec![Some(g)]
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_grad, randn};
    use crate::Tensor;

    #[track_caller]
    fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= tol * (1.0 + w.abs()),
                "{got:?} vs {want:?}"
            );
        }
    }

    #[test]
    fn softmax_gradcheck_every_dim() {
        let x = randn(&[2, 3, 4]);
        for d in [0, 1, 2, -1, -2] {
            check_grad(|t| t[0].softmax(d), std::slice::from_ref(&x));
            check_grad(|t| t[0].log_softmax(d), std::slice::from_ref(&x));
        }
        let v = randn(&[5]);
        check_grad(|t| t[0].softmax(0), std::slice::from_ref(&v));
        check_grad(|t| t[0].log_softmax(0), std::slice::from_ref(&v));
    }

    // import torch; torch.set_printoptions(precision=8)
    // x = torch.tensor([[1., 2., 3.], [-1., 0.5, 4.]])
    // print(torch.softmax(x, 0), torch.softmax(x, 1))
    // print(torch.log_softmax(x, 0), torch.log_softmax(x, 1))
    #[test]
    fn values_match_pytorch() {
        let x = Tensor::from_slice(&[1., 2., 3., -1., 0.5, 4.], &[2, 3]);
        #[rustfmt::skip]
        let s0 = [
            0.880797, 0.817_574_44, 0.268_941_43,
            0.119_202_92, 0.182_425_51, 0.731_058_6,
        ];
        #[rustfmt::skip]
        let s1 = [
            0.090_030_57, 0.244_728_48, 0.665_240_94,
            0.006_497_94, 0.029_121_76, 0.964_380_3,
        ];
        #[rustfmt::skip]
        let l0 = [
            -0.126_928_05, -0.201_413_33, -1.313_261_6,
            -2.126928, -1.701_413_4, -0.313_261_66,
        ];
        #[rustfmt::skip]
        let l1 = [
            -2.407606, -1.407_605_9, -0.407_605_95,
            -5.036_269_7, -3.536_269_7, -0.036_269_56,
        ];
        assert_close(&x.softmax(0).to_vec(), &s0, 1e-6);
        assert_close(&x.softmax(1).to_vec(), &s1, 1e-6);
        assert_close(&x.log_softmax(0).to_vec(), &l0, 1e-6);
        assert_close(&x.log_softmax(-1).to_vec(), &l1, 1e-6);
        // A 0-d tensor is its own single-element slice, as in PyTorch.
        assert_eq!(Tensor::scalar(2.0).softmax(0).item(), 1.0);
        assert_eq!(Tensor::scalar(2.0).log_softmax(-1).item(), 0.0);
    }

    // torch.softmax(torch.tensor([1e30, -1e30, 0.]), 0)  -> [1., 0., 0.]
    // torch.log_softmax(torch.tensor([1e30, -1e30, 0.]), 0) -> [0., -2e30, -1e30]
    // torch.softmax(torch.tensor([88., 89., 90.]), 0), torch.log_softmax(...) -> as for [1., 2., 3.]
    #[test]
    fn large_inputs_stay_finite() {
        let x = Tensor::from_slice(&[1e30, -1e30, 0.0, 88.0, 89.0, 90.0], &[2, 3]);
        let s = x.softmax(1).to_vec();
        assert_eq!(&s[..3], &[1.0, 0.0, 0.0]);
        assert_close(&s[3..], &[0.090_030_57, 0.244_728_48, 0.665_240_94], 1e-6);
        let l = x.log_softmax(1).to_vec();
        assert_eq!(&l[..3], &[0.0, -2e30, -1e30]);
        assert_close(&l[3..], &[-2.407606, -1.407_605_9, -0.407_605_95], 1e-6);
        // Gradients stay finite too.
        let x = x.set_requires_grad(true);
        x.log_softmax(1).sum().backward();
        assert!(x.grad().unwrap().to_vec().iter().all(|v| v.is_finite()));
        x.zero_grad();
        x.softmax(0)
            .mul(&Tensor::from_slice(&[1., 2., 3.], &[3]))
            .sum()
            .backward();
        assert!(x.grad().unwrap().to_vec().iter().all(|v| v.is_finite()));
    }

    // inf = float('inf')
    // torch.softmax(torch.tensor([-inf, 0.]), 0) -> [0., 1.];  log_softmax -> [-inf, 0.]
    // torch.softmax(torch.tensor([-inf, -inf]), 0) -> [nan, nan] (also log_softmax, and [inf, 0.])
    // x = torch.tensor([-inf, 0., 1.], requires_grad=True)
    // (torch.softmax(x, 0) * torch.tensor([1., 2., 3.])).sum().backward()  -> [0, -0.19661194, 0.19661193]
    // (torch.log_softmax(x, 0) * torch.tensor([1., 2., 3.])).sum().backward() -> [1, 0.38635141, -1.38635159]
    #[test]
    fn infinities_like_pytorch() {
        let inf = f32::INFINITY;
        let x = Tensor::from_slice(&[-inf, 0.0], &[2]);
        assert_eq!(x.softmax(0).to_vec(), vec![0.0, 1.0]);
        assert_eq!(x.log_softmax(0).to_vec(), vec![-inf, 0.0]);
        for bad in [[-inf, -inf], [inf, 0.0], [f32::NAN, 1.0]] {
            let x = Tensor::from_slice(&bad, &[2]);
            assert!(x.softmax(0).to_vec().iter().all(|v| v.is_nan()), "{bad:?}");
            assert!(
                x.log_softmax(0).to_vec().iter().all(|v| v.is_nan()),
                "{bad:?}"
            );
        }
        let w = Tensor::from_slice(&[1., 2., 3.], &[3]);
        let x = Tensor::from_slice(&[-inf, 0.0, 1.0], &[3]).set_requires_grad(true);
        x.softmax(0).mul(&w).sum().backward();
        assert_close(
            &x.grad().unwrap().to_vec(),
            &[0.0, -0.196_611_9, 0.196_611_9],
            1e-6,
        );
        x.zero_grad();
        x.log_softmax(0).mul(&w).sum().backward();
        assert_close(
            &x.grad().unwrap().to_vec(),
            &[1.0, 0.386_351_4, -1.386_351_6],
            1e-6,
        );
    }

    #[test]
    fn slices_sum_to_one_along_the_dim() {
        let x = randn(&[3, 4, 5]);
        for d in 0..3 {
            let s = x.softmax(d).sum_dim(d, false);
            assert_close(&s.to_vec(), &vec![1.0; s.numel()], 1e-6);
            // log_softmax is the log of softmax where both are well conditioned.
            let a = x.log_softmax(d).to_vec();
            let b = x.softmax(d).log().to_vec();
            assert_close(&a, &b, 1e-5);
        }
    }

    #[test]
    #[should_panic(expected = "softmax: dim 2 is out of range for a tensor with 2 dims")]
    fn bad_dim_panics() {
        Tensor::zeros(&[2, 3]).softmax(2);
    }
}
