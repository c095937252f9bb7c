//! Reductions: `sum`, `mean`, `max`, `min` over all elements or one dim, and `argmax`/`argmin`.

use crate::autograd::Backward;
use crate::tensor::shape::{resolve_dim, split_at_dim};
use crate::tensor::{Array, Tensor};
use crate::{BinaryOp, UnaryOp};

impl Tensor {
    /// The sum of all elements as a 0-d tensor, as `torch.sum`.
    pub fn sum(&self) -> Tensor {
        let s = self.array().sum_all_array();
        Tensor::from_op(s, &[self], SumBackward(None))
    }

    /// The sum over `dim` (negative counts from the end), keeping it as size 1 if `keepdim`,
    /// as `torch.sum(x, dim, keepdim)`.
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn sum_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        let a = self.array();
        let d = resolve_dim("sum", dim, a.ndim());
        let out = a.reduce_dim(d, 0.0, |s, v| s + v);
        drop(a);
        let out = keep(out, self, d, keepdim);
        Tensor::from_op(out, &[self], SumBackward(Some(d)))
    }

    /// The mean of all elements as a 0-d tensor, as `torch.mean`.
    pub fn mean(&self) -> Tensor {
        let n = self.numel() as f32;
        let s = self
            .array()
            .sum_all_array()
            .unary(UnaryOp::DivScalar { s: n });
        Tensor::from_op(s, &[self], MeanBackward(n, None))
    }

    /// The mean over `dim`, as `torch.mean(x, dim, keepdim)`.
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn mean_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        let a = self.array();
        let d = resolve_dim("mean", dim, a.ndim());
        let n = a.shape().get(d).copied().unwrap_or(1) as f32;
        let mut out = a.reduce_dim(d, 0.0, |s, v| s + v);
        drop(a);
        out.map_inplace(|v| v / n);
        let out = keep(out, self, d, keepdim);
        Tensor::from_op(out, &[self], MeanBackward(n, Some(d)))
    }

    /// The largest element as a 0-d tensor, as `torch.max()`. The gradient is shared evenly
    /// among tied maxima, as PyTorch does.
    ///
    /// # Panics
    /// Panics on an empty tensor.
    #[track_caller]
    pub fn max(&self) -> Tensor {
        self.extreme_all("max", |a, b| a > b)
    }

    /// The smallest element as a 0-d tensor, as `torch.min()`.
    ///
    /// # Panics
    /// Panics on an empty tensor.
    #[track_caller]
    pub fn min(&self) -> Tensor {
        self.extreme_all("min", |a, b| a < b)
    }

    /// The maxima over `dim` and their indices, as `torch.max(x, dim, keepdim)`. The gradient
    /// flows to the first maximal element of each slice (the index returned).
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
        self.extreme_dim("max", dim, keepdim, |a, b| a > b)
    }

    /// The minima over `dim` and their indices, as `torch.min(x, dim, keepdim)`.
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
        self.extreme_dim("min", dim, keepdim, |a, b| a < b)
    }

    /// Indices of the maxima over `dim` (as `f32` values), as `torch.argmax(x, dim)`.
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn argmax(&self, dim: isize) -> Tensor {
        self.max_dim(dim, false).1
    }

    /// Indices of the minima over `dim` (as `f32` values), as `torch.argmin(x, dim)`.
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn argmin(&self, dim: isize) -> Tensor {
        self.min_dim(dim, false).1
    }

    #[track_caller]
    fn extreme_all(&self, op: &'static str, better: fn(f32, f32) -> bool) -> Tensor {
        let a = self.array();
        assert!(!a.is_empty(), "{op}: expected a non-empty tensor");
        let mut best = a.data()[0];
        for &v in a.data() {
            // NaN propagates, as in PyTorch.
            if v.is_nan() || better(v, best) {
                best = v;
                if v.is_nan() {
                    break;
                }
            }
        }
        drop(a);
        Tensor::from_op(Array::scalar(best), &[self], ExtremeAllBackward(op))
    }

    #[track_caller]
    fn extreme_dim(
        &self,
        op: &'static str,
        dim: isize,
        keepdim: bool,
        better: fn(f32, f32) -> bool,
    ) -> (Tensor, Tensor) {
        let a = self.array();
        let d = resolve_dim(op, dim, a.ndim());
        let (outer, n, inner) = split_at_dim(a.shape(), d);
        assert!(n > 0, "{op}: cannot reduce over an empty dim");
        let mut vals = vec![0.0; outer * inner];
        let mut idx = vec![0usize; outer * inner];
        let data = a.data();
        for o in 0..outer {
            for i in 0..inner {
                let mut best = data[o * n * inner + i];
                let mut bi = 0;
                for j in 1..n {
                    let v = data[(o * n + j) * inner + i];
                    if !best.is_nan() && (v.is_nan() || better(v, best)) {
                        best = v;
                        bi = j;
                    }
                }
                vals[o * inner + i] = best;
                idx[o * inner + i] = bi;
            }
        }
        let mut shape = a.shape().to_vec();
        drop(a);
        if !shape.is_empty() {
            if keepdim {
                shape[d] = 1;
            } else {
                shape.remove(d);
            }
        }
        let indices = Tensor::from_vec(idx.iter().map(|&i| i as f32).collect(), &shape);
        let values = Tensor::from_op(
            Array::new(&shape, vals),
            &[self],
            ExtremeDimBackward { dim: d, idx, op },
        );
        (values, indices)
    }
}

/// Re-inserts the reduced dim as size 1 when `keepdim`.
fn keep(out: Array, input: &Tensor, d: usize, keepdim: bool) -> Array {
    if !keepdim || input.ndim() == 0 {
        return out;
    }
    let mut shape = input.shape();
    shape[d] = 1;
    out.into_shape(&shape)
}

/// Broadcasts a reduced gradient back over the input's shape, restoring the reduced `dim` as
/// size 1 when it was dropped, and divides it by `divisor` (as PyTorch's `grad / numel`).
fn expand_back(grad: &Array, input_shape: &[usize], dim: Option<usize>, divisor: f32) -> Array {
    if grad.len() == 1 {
        if grad.device().is_cuda() {
            let zeros = Array::full_on(input_shape, 0.0, &grad.device());
            let g = grad.clone().into_shape(&[]);
            return zeros.binary(&g, BinaryOp::SecondDiv { s: divisor }, "sum");
        }
        return Array::full(input_shape, grad.data()[0] / divisor);
    }
    let g = match dim {
        Some(d) if grad.ndim() + 1 == input_shape.len() => {
            let mut shape = grad.shape().to_vec();
            shape.insert(d, 1);
            grad.clone().into_shape(&shape)
        }
        _ => grad.clone(),
    };
    Array::zeros(input_shape).broadcast_zip(&g, "sum", |_, g| g / divisor)
}

/// d(Σx)/dx = 1 for every element.
struct SumBackward(Option<usize>);
impl Backward for SumBackward {
    fn name(&self) -> &'static str {
        "SumBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(expand_back(
            grad,
            inputs[0].array().shape(),
            self.0,
            1.0,
        ))]
    }
}

/// d(mean x)/dx = 1/n.
struct MeanBackward(f32, Option<usize>);
impl Backward for MeanBackward {
    fn name(&self) -> &'static str {
        "MeanBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(expand_back(
            grad,
            inputs[0].array().shape(),
            self.1,
            self.0,
        ))]
    }
}

/// d max(x)/dx = 1/k on each of the k elements equal to the max, 0 elsewhere.
struct ExtremeAllBackward(&'static str);
impl Backward for ExtremeAllBackward {
    fn name(&self) -> &'static str {
        if self.0 == "max" {
            "MaxBackward1"
        } else {
            "MinBackward1"
        }
    }
    fn backward(&self, inputs: &[Tensor], out: &Array, grad: &Array) -> Vec<Option<Array>> {
        let x = inputs[0].array();
        let m = out.data()[0];
        let ties = x.data().iter().filter(|&&v| v == m).count().max(1) as f32;
        let g = grad.data()[0] / ties;
        vec![Some(x.map(|v| if v == m { g } else { 0.0 }))]
    }
}

/// d max(x, dim)/dx = 1 at the returned index of each slice, 0 elsewhere.
struct ExtremeDimBackward {
    dim: usize,
    idx: Vec<usize>,
    op: &'static str,
}
impl Backward for ExtremeDimBackward {
    fn name(&self) -> &'static str {
        if self.op == "max" {
            "MaxBackward0"
        } else {
            "MinBackward0"
        }
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let shape = inputs[0].shape();
        let (outer, n, inner) = split_at_dim(&shape, self.dim);
        let mut g = Array::zeros(&shape);
        let gd = grad.data();
        let out = g.data_mut();
        for o in 0..outer {
            for i in 0..inner {
                let j = self.idx[o * inner + i];
                out[(o * n + j) * inner + i] = gd[o * inner + i];
            }
        }
        vec![Some(g)]
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_grad, randn};
    use crate::Tensor;

    #[test]
    fn reductions_forward() {
        let a = Tensor::from_slice(&[1., 5., 3., 4., 2., 6.], &[2, 3]);
        assert_eq!(a.sum().item(), 21.0);
        assert_eq!(a.sum_dim(0, false).to_vec(), vec![5., 7., 9.]);
        assert_eq!(a.sum_dim(-1, true).shape(), vec![2, 1]);
        assert_eq!(a.mean_dim(1, false).to_vec(), vec![3., 4.]);
        assert_eq!(a.max().item(), 6.0);
        assert_eq!(a.min().item(), 1.0);
        let (v, i) = a.max_dim(1, false);
        assert_eq!((v.to_vec(), i.to_vec()), (vec![5., 6.], vec![1., 2.]));
        assert_eq!(a.argmax(0).to_vec(), vec![1., 0., 1.]);
        assert_eq!(a.argmin(1).to_vec(), vec![0., 1.]);
    }

    #[test]
    fn reductions_gradcheck() {
        let x = randn(&[3, 4, 2]);
        check_grad(|t| t[0].sum(), &[x.clone()]);
        check_grad(|t| t[0].mean(), &[x.clone()]);
        for d in [0, 1, 2, -1] {
            for k in [false, true] {
                check_grad(|t| t[0].sum_dim(d, k), &[x.clone()]);
                check_grad(|t| t[0].mean_dim(d, k), &[x.clone()]);
                check_grad(|t| t[0].max_dim(d, k).0, &[x.clone()]);
                check_grad(|t| t[0].min_dim(d, k).0, &[x.clone()]);
            }
        }
        check_grad(|t| t[0].max(), &[x.clone()]);
        check_grad(|t| t[0].min(), &[x]);
    }

    #[test]
    fn max_gradient_is_shared_among_ties() {
        let x = Tensor::from_slice(&[1.0, 3.0, 3.0], &[3]).set_requires_grad(true);
        x.max().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.5, 0.5]);
    }
}
