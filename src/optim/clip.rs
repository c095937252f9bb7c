//! Gradient clipping (`torch.nn.utils.clip_grad_norm_`, `clip_grad_value_`) and an L1 penalty
//! for regularisation.

use crate::Tensor;

/// The `p`-norm of `values`, as `torch.linalg.vector_norm(x, p)` (accumulated in `f64`, rounded
/// to `f32` as PyTorch returns it).
fn vector_norm(values: &[f32], p: f64) -> f32 {
    if p == 2.0 {
        return sum_of_squares(values).sqrt() as f32;
    }
    let abs = values.iter().map(|&v| (v as f64).abs());
    let nan_aware = |acc: f64, v: f64, pick: fn(f64, f64) -> f64| {
        if acc.is_nan() || v.is_nan() {
            f64::NAN
        } else {
            pick(acc, v)
        }
    };
    let r = if p == f64::INFINITY {
        abs.fold(0.0, |a, v| nan_aware(a, v, f64::max))
    } else if p == f64::NEG_INFINITY {
        abs.fold(f64::INFINITY, |a, v| nan_aware(a, v, f64::min))
    } else if p == 0.0 {
        abs.map(|v| if v != 0.0 { 1.0 } else { 0.0 }).sum()
    } else if p == 1.0 {
        abs.sum()
    } else {
        abs.map(|v| v.powf(p)).sum::<f64>().powf(1.0 / p)
    };
    r as f32
}

/// `Σ v²` in `f64`. Each square of an `f32` is exact in `f64`, and eight independent partial
/// sums let the loop vectorize (a single running sum is one long dependency chain); the result
/// differs from a sequential sum only far below `f32` resolution.
///
/// Beyond [`PARALLEL_ELEMENTS`](crate::runtime::PARALLEL_ELEMENTS) values, the slice is cut into
/// pieces of that length, summed on the thread pool and added in order: the pieces depend on
/// the length alone, so the result is the same bits at any thread count.
pub(crate) fn sum_of_squares(values: &[f32]) -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    let piece = crate::runtime::PARALLEL_ELEMENTS;
    if values.len() <= piece {
        return sum_of_squares_serial(values);
    }
    let pieces: Vec<&[f32]> = values.chunks(piece).collect();
    let sums: Vec<AtomicU64> = pieces.iter().map(|_| AtomicU64::new(0)).collect();
    crate::runtime::for_each_part(pieces.len(), crate::get_num_threads(), |i| {
        let s = sum_of_squares_serial(pieces[i]);
        sums[i].store(s.to_bits(), Ordering::Relaxed);
    });
    sums.iter()
        .map(|s| f64::from_bits(s.load(Ordering::Relaxed)))
        .sum()
}

/// [`sum_of_squares`] on the calling thread.
fn sum_of_squares_serial(values: &[f32]) -> f64 {
    let mut acc = [0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v as f64 * v as f64;
        }
    }
    let mut total = acc.iter().sum::<f64>();
    for &v in rest {
        total += v as f64 * v as f64;
    }
    total
}

/// Rescales the gradients of `params` so that their total norm is at most `max_norm`, and
/// returns the total norm from *before* clipping, as `torch.nn.utils.clip_grad_norm_`.
///
/// The total norm is the `norm_type`-norm of the per-parameter gradient norms (for
/// `norm_type = 2`, the 2-norm of all gradients concatenated); `norm_type` may be any `p`,
/// `f64::INFINITY` (largest absolute value) or `f64::NEG_INFINITY`. With
/// `clip_coef = max_norm / (total_norm + 1e-6)`, every gradient is multiplied by
/// `min(clip_coef, 1)`, so nothing changes when the norm is already within bounds. As in PyTorch
/// the arithmetic is `f32`, parameters without a gradient are ignored, the result is `0` when no
/// parameter has one, and a non-finite norm makes the gradients NaN or zero (PyTorch's
/// `error_if_nonfinite=False`).
///
/// # Examples
/// ```
/// use backprop::optim::clip_grad_norm;
/// use backprop::{Array, Tensor};
/// let w = Tensor::zeros(&[2]).set_requires_grad(true);
/// w.set_grad(Some(Array::new(&[2], vec![3.0, 4.0])));
/// let total = clip_grad_norm(&[w.clone()], 1.0, 2.0);
/// assert_eq!(total, 5.0);
/// let g = w.grad().unwrap().to_vec();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
#[doc(alias = "clip_grad_norm_")]
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64, norm_type: f64) -> f64 {
    #[cfg(feature = "cuda")]
    if let Some(total) = clip_grad_norm_cuda(params, max_norm, norm_type) {
        return total;
    }
    let norms: Vec<f32> = params
        .iter()
        .filter_map(|p| p.with_grad(|g| g.map(|g| vector_norm(g.data(), norm_type))))
        .collect();
    if norms.is_empty() {
        return 0.0;
    }
    let total = vector_norm(&norms, norm_type);
    // PyTorch: `max_norm / (total + 1e-6)` on an f32 tensor, which `Tensor.__rdiv__` evaluates
    // as `reciprocal(total + 1e-6) * max_norm`; then `clamp(max=1)`, which keeps NaN.
    let clip_coef = (1.0 / (total + 1e-6f32)) * max_norm as f32;
    let clamped = if clip_coef.is_nan() {
        clip_coef
    } else {
        clip_coef.min(1.0)
    };
    if clamped != 1.0 {
        for p in params {
            if let Some(g) = p.grad_mut().as_mut() {
                g.map_inplace(|v| v * clamped);
            }
        }
    }
    total as f64
}

/// [`clip_grad_norm`] for gradients on a GPU (all on one, 2-norm): the norm and the clipping
/// run there; reading the total back waits for the GPU. `None` when the gradients are on the
/// CPU (or there are none).
///
/// # Panics
/// Panics for a norm other than 2 on a GPU, or gradients on two devices.
#[cfg(feature = "cuda")]
#[track_caller]
fn clip_grad_norm_cuda(params: &[Tensor], max_norm: f64, norm_type: f64) -> Option<f64> {
    // Gradients on the CPU (the usual case) return before anything is allocated.
    let first = params
        .iter()
        .find_map(|p| p.with_grad(|g| g.map(|g| g.device())))?;
    if !first.is_cuda() {
        return None;
    }
    let mut guards: Vec<_> = params.iter().map(|p| p.grad_mut()).collect();
    let mut grads: Vec<&mut crate::Array> = guards.iter_mut().filter_map(|g| g.as_mut()).collect();
    let device = grads.first()?.device();
    if !device.is_cuda() {
        return None;
    }
    assert!(
        grads.iter().all(|g| g.device() == device),
        "clip_grad_norm: expected all gradients to be on the same device ({device})"
    );
    assert!(
        norm_type == 2.0,
        "clip_grad_norm: on a GPU only norm_type 2.0 is implemented, got {norm_type}"
    );
    let total = crate::backend::cuda::clip_grad_norm(&mut grads, max_norm as f32);
    Some(total.to_host_vec()[0] as f64)
}

/// Clamps every gradient element of `params` to `[-clip_value, clip_value]`, as
/// `torch.nn.utils.clip_grad_value_` (NaN stays NaN; parameters without a gradient are skipped).
///
/// # Examples
/// ```
/// use backprop::optim::clip_grad_value;
/// use backprop::{Array, Tensor};
/// let w = Tensor::zeros(&[3]).set_requires_grad(true);
/// w.set_grad(Some(Array::new(&[3], vec![-2.0, 0.5, 7.0])));
/// clip_grad_value(&[w.clone()], 1.0);
/// assert_eq!(w.grad().unwrap().to_vec(), vec![-1.0, 0.5, 1.0]);
/// ```
#[doc(alias = "clip_grad_value_")]
pub fn clip_grad_value(params: &[Tensor], clip_value: f64) {
    let (lo, hi) = (-clip_value as f32, clip_value as f32);
    for p in params {
        if let Some(g) = p.grad_mut().as_mut() {
            g.map_inplace(|v| {
                if v < lo {
                    lo
                } else if v > hi {
                    hi
                } else {
                    v
                }
            });
        }
    }
}

/// The L1 penalty `Σ |w|` over every element of `params`, as a differentiable 0-d tensor (built
/// from `abs().sum()`, so `backward` adds `sign(w)` times its gradient to each parameter, with
/// PyTorch's `sign(0) = 0`). Add `λ · l1_penalty(&params)` to the loss for L1 regularisation;
/// an empty list gives `0`.
///
/// # Examples
/// ```
/// use backprop::optim::l1_penalty;
/// use backprop::Tensor;
/// let w = Tensor::from_slice(&[1.0, -2.0], &[2]).set_requires_grad(true);
/// let b = Tensor::from_slice(&[-0.5], &[1]).set_requires_grad(true);
/// let penalty = l1_penalty(&[w.clone(), b.clone()]);
/// assert_eq!(penalty.item(), 3.5);
/// (&penalty * 0.1).backward();
/// assert_eq!(w.grad().unwrap().to_vec(), vec![0.1, -0.1]);
/// ```
pub fn l1_penalty(params: &[Tensor]) -> Tensor {
    params
        .iter()
        .map(|p| p.abs().sum())
        .reduce(|acc, s| &acc + &s)
        .unwrap_or_else(|| Tensor::scalar(0.0))
}

#[cfg(test)]
mod tests {
    //! Expected values from PyTorch 2.x:
    //!
    //! ```python
    //! import torch
    //! from torch.nn.utils import clip_grad_norm_
    //! def make():
    //!     a = torch.zeros(2, 3, requires_grad=True); b = torch.zeros(4, requires_grad=True)
    //!     c = torch.zeros(1, requires_grad=True)   # no grad
    //!     a.grad = torch.tensor([[0.5, -1.5, 2.0], [0.25, 3.0, -0.75]]); b.grad = torch.tensor([1.0, -2.0, 0.1, 4.0])
    //!     return [a, b, c]
    //! for p in [2.0, float("inf"), 1.0, 3.0]:
    //!     ps = make(); n = clip_grad_norm_(ps, 1.5, p)
    //!     print(p, n.item(), [x.grad.tolist() for x in ps[:2]])
    //! ```
    use super::*;
    use crate::Array;

    fn make() -> Vec<Tensor> {
        let a = Tensor::zeros(&[2, 3]).set_requires_grad(true);
        let b = Tensor::zeros(&[4]).set_requires_grad(true);
        let c = Tensor::zeros(&[1]).set_requires_grad(true);
        a.set_grad(Some(Array::new(
            &[2, 3],
            vec![0.5, -1.5, 2.0, 0.25, 3.0, -0.75],
        )));
        b.set_grad(Some(Array::new(&[4], vec![1.0, -2.0, 0.1, 4.0])));
        vec![a, b, c]
    }

    fn grads(ps: &[Tensor]) -> Vec<f32> {
        let mut v = ps[0].grad().unwrap().to_vec();
        v.extend(ps[1].grad().unwrap().to_vec());
        v
    }

    #[track_caller]
    fn check(norm_type: f64, want_total: f64, want: &[f32]) {
        let ps = make();
        let total = clip_grad_norm(&ps, 1.5, norm_type);
        assert!(
            (total - want_total).abs() <= 1e-6 * want_total,
            "total {total} vs {want_total}"
        );
        for (g, w) in grads(&ps).iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-6 * w.abs() + 1e-8,
                "{:?} vs {want:?}",
                grads(&ps)
            );
        }
        assert!(ps[2].grad().is_none());
    }

    /// `clip_grad_norm_(make(), 1.5, 2.0)` → 6.0938496589660645
    #[test]
    #[rustfmt::skip]
    fn clip_grad_norm_matches_pytorch_two() {
        let want = [0.12307489, -0.36922467, 0.49229956, 0.061537445, 0.73844934, -0.18461233,
                    0.24614978, -0.49229956, 0.024614979, 0.9845991];
        check(2.0, 6.0938496589660645, &want);
    }

    /// `clip_grad_norm_(make(), 1.5, inf)` → 4.0
    #[test]
    #[rustfmt::skip]
    fn clip_grad_norm_matches_pytorch_inf() {
        let want = [0.18749996, -0.5624999, 0.7499998, 0.09374998, 1.1249998, -0.28124994,
                    0.3749999, -0.7499998, 0.03749999, 1.4999996];
        check(f64::INFINITY, 4.0, &want);
    }

    /// `clip_grad_norm_(make(), 1.5, 1.0)` → 15.100000381469727
    #[test]
    #[rustfmt::skip]
    fn clip_grad_norm_matches_pytorch_one() {
        let want = [0.049668867, -0.1490066, 0.19867547, 0.024834434, 0.2980132, -0.0745033,
                    0.099337734, -0.19867547, 0.009933773, 0.39735094];
        check(1.0, 15.100000381469727, &want);
    }

    /// `clip_grad_norm_(make(), 1.5, 3.0)` → 4.81940221786499
    #[test]
    #[rustfmt::skip]
    fn clip_grad_norm_matches_pytorch_three() {
        let want = [0.15562093, -0.4668628, 0.62248373, 0.07781047, 0.9337256, -0.2334314,
                    0.31124187, -0.62248373, 0.031124188, 1.2449675];
        check(3.0, 4.81940221786499, &want);
    }

    /// `clip_grad_norm_(make(), 1.5, 0.5)` → 124.87129211425781
    #[test]
    #[rustfmt::skip]
    fn clip_grad_norm_matches_pytorch_half() {
        let want = [0.006006184, -0.018018551, 0.024024736, 0.003003092, 0.036037102, -0.009009276,
                    0.012012368, -0.024024736, 0.0012012369, 0.048049472];
        check(0.5, 124.87129211425781, &want);
    }

    #[test]
    fn a_long_sum_of_squares_adds_fixed_pieces_in_order() {
        let piece = crate::runtime::PARALLEL_ELEMENTS;
        let n = 5 * piece + 77;
        let values: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect();
        // The pieces are cut by length alone, so these are the bits at any thread count.
        let in_order: f64 = values.chunks(piece).map(sum_of_squares_serial).sum();
        assert_eq!(sum_of_squares(&values).to_bits(), in_order.to_bits());
        let plain: f64 = values.iter().map(|&v| v as f64 * v as f64).sum();
        assert!((sum_of_squares(&values) - plain).abs() <= 1e-12 * plain);
        // Up to one piece, one pass on the calling thread.
        let short = &values[..piece];
        assert_eq!(sum_of_squares(short), sum_of_squares_serial(short));
        assert_eq!(sum_of_squares(&[]), 0.0);
    }

    #[test]
    fn no_clipping_when_within_bounds() {
        let ps = make();
        let total = clip_grad_norm(&ps, 100.0, 2.0);
        assert!(total > 6.0);
        assert_eq!(grads(&ps), grads(&make()));
        assert_eq!(clip_grad_norm(&[Tensor::zeros(&[2])], 1.0, 2.0), 0.0);
    }

    #[test]
    fn infinite_norm_zeroes_gradients_as_pytorch() {
        // torch: total = inf, clip_coef = 1.5 / inf = 0, grads *= 0
        let w = Tensor::zeros(&[2]).set_requires_grad(true);
        w.set_grad(Some(Array::new(&[2], vec![f32::INFINITY, 1.0])));
        assert_eq!(
            clip_grad_norm(std::slice::from_ref(&w), 1.5, 2.0),
            f64::INFINITY
        );
        let g = w.grad().unwrap().to_vec();
        assert!(g[0].is_nan() && g[1] == 0.0, "{g:?}");
    }

    #[test]
    fn clip_value_clamps_and_skips_missing_grads() {
        let ps = make();
        clip_grad_value(&ps, 1.0);
        assert_eq!(
            grads(&ps),
            vec![0.5, -1.0, 1.0, 0.25, 1.0, -0.75, 1.0, -1.0, 0.1, 1.0]
        );
        assert!(ps[2].grad().is_none());
    }

    #[test]
    fn l1_penalty_value_and_gradcheck() {
        let w = Tensor::from_slice(&[0.5, -1.5, 2.0], &[3]).set_requires_grad(true);
        let b = Tensor::from_slice(&[-0.25], &[1]).set_requires_grad(true);
        assert_eq!(l1_penalty(&[w.clone(), b.clone()]).item(), 4.25);
        assert_eq!(l1_penalty(&[]).item(), 0.0);
        // d/dw Σ|w| = sign(w)
        crate::testing::check_grad(l1_penalty, &[w, b]);
    }
}
