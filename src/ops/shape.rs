//! Shape ops: `reshape`, `t`/`transpose`, `unsqueeze`/`squeeze`, `flatten`, row selection
//! (`index_select`, `narrow`) for mini-batches, and `cat`/`stack`.

use crate::autograd::Backward;
use crate::tensor::shape::{numel, resolve_dim, split_at_dim};
use crate::tensor::{Array, Tensor};

impl Tensor {
    /// The same elements under a new shape; one dim may be `-1` (inferred), as `reshape`.
    ///
    /// # Panics
    /// Panics if the element counts differ or more than one dim is `-1`.
    #[track_caller]
    pub fn reshape(&self, shape: &[isize]) -> Tensor {
        let n = self.numel();
        let known: isize = shape.iter().filter(|&&d| d != -1).product();
        let infer = shape.iter().filter(|&&d| d == -1).count();
        assert!(
            infer <= 1 && shape.iter().all(|&d| d >= -1),
            "reshape: invalid shape {shape:?}"
        );
        let new: Vec<usize> = shape
            .iter()
            .map(|&d| {
                if d == -1 {
                    if known == 0 {
                        0
                    } else {
                        n / known as usize
                    }
                } else {
                    d as usize
                }
            })
            .collect();
        assert_eq!(
            numel(&new),
            n,
            "reshape: shape {shape:?} is invalid for input of shape {:?}",
            self.shape()
        );
        let out = self.array().clone().into_shape(&new);
        Tensor::from_op(out, &[self], ReshapeBackward)
    }

    /// `reshape` with a fully known shape.
    #[track_caller]
    pub(crate) fn reshape_to(&self, shape: &[usize]) -> Tensor {
        let s: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        self.reshape(&s)
    }

    /// Flattens every dim after the first: `[N, a, b] → [N, a·b]`, as `nn.Flatten`.
    pub fn flatten(&self) -> Tensor {
        let s = self.shape();
        if s.len() <= 1 {
            return self.reshape(&[-1]);
        }
        self.reshape(&[s[0] as isize, -1])
    }

    /// Inserts a dim of size 1 at `dim`, as `unsqueeze`.
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn unsqueeze(&self, dim: isize) -> Tensor {
        let mut s: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
        let d = resolve_dim("unsqueeze", dim, s.len() + 1);
        s.insert(d, 1);
        self.reshape(&s)
    }

    /// Removes `dim` if it has size 1 (otherwise returns the tensor unchanged), as `squeeze(dim)`.
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn squeeze(&self, dim: isize) -> Tensor {
        let mut s: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
        let d = resolve_dim("squeeze", dim, s.len());
        if s.get(d) == Some(&1) {
            s.remove(d);
        }
        self.reshape(&s)
    }

    /// Swaps two dims (copying into the new layout), as `transpose(d0, d1)`.
    ///
    /// # Panics
    /// Panics if a dim is out of range.
    #[track_caller]
    pub fn transpose(&self, d0: isize, d1: isize) -> Tensor {
        let nd = self.ndim();
        let (a, b) = (
            resolve_dim("transpose", d0, nd),
            resolve_dim("transpose", d1, nd),
        );
        let out = self.array().transpose(a, b);
        Tensor::from_op(out, &[self], TransposeBackward(a, b))
    }

    /// The transpose of a tensor of at most 2 dims, as `t()`.
    ///
    /// # Panics
    /// Panics on more than 2 dims.
    #[track_caller]
    pub fn t(&self) -> Tensor {
        let nd = self.ndim();
        assert!(
            nd <= 2,
            "t: expects a tensor with <= 2 dimensions, but self is {nd}D"
        );
        if nd < 2 {
            return self.reshape(&self.shape().iter().map(|&d| d as isize).collect::<Vec<_>>());
        }
        self.transpose(0, 1)
    }

    /// The slices at `indices` along `dim`, in that order (repeats allowed), as
    /// `index_select(dim, indices)`; `x.index_select(0, &batch)` picks a mini-batch of rows.
    ///
    /// # Panics
    /// Panics if `dim` or an index is out of range.
    #[track_caller]
    pub fn index_select(&self, dim: isize, indices: &[usize]) -> Tensor {
        let a = self.array();
        let d = resolve_dim("index_select", dim, a.ndim());
        let (outer, n, inner) = split_at_dim(a.shape(), d);
        #[cfg(feature = "cuda")]
        if a.device().is_cuda() {
            if let Some(&i) = indices.iter().find(|&&i| i >= n) {
                panic!("index_select: index {i} is out of bounds for dim {d} with size {n}");
            }
            let mut shape = a.shape().to_vec();
            if !shape.is_empty() {
                shape[d] = indices.len();
            }
            let out = crate::backend::cuda::gather(&a, (outer, n, inner), indices, &shape);
            drop(a);
            let backward = IndexSelectBackward {
                dim: d,
                indices: indices.to_vec(),
            };
            return Tensor::from_op(out, &[self], backward);
        }
        let mut data = Vec::with_capacity(outer * indices.len() * inner);
        for o in 0..outer {
            for &i in indices {
                assert!(
                    i < n,
                    "index_select: index {i} is out of bounds for dim {d} with size {n}"
                );
                let start = (o * n + i) * inner;
                data.extend_from_slice(&a.data()[start..start + inner]);
            }
        }
        let mut shape = a.shape().to_vec();
        drop(a);
        if !shape.is_empty() {
            shape[d] = indices.len();
        }
        Tensor::from_op(
            Array::new(&shape, data),
            &[self],
            IndexSelectBackward {
                dim: d,
                indices: indices.to_vec(),
            },
        )
    }

    /// `len` consecutive slices along `dim` from `start`, as `narrow(dim, start, len)`.
    ///
    /// # Panics
    /// Panics if the range is out of bounds.
    #[track_caller]
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Tensor {
        let d = resolve_dim("narrow", dim, self.ndim());
        let n = self.shape().get(d).copied().unwrap_or(1);
        assert!(
            start + len <= n,
            "narrow: range {start}..{} exceeds dim {d} of size {n}",
            start + len
        );
        let idx: Vec<usize> = (start..start + len).collect();
        self.index_select(dim, &idx)
    }

    /// Concatenates tensors along `dim`; all other dims must agree, as `torch.cat`.
    ///
    /// # Panics
    /// Panics if `tensors` is empty or the shapes disagree.
    #[track_caller]
    pub fn cat(tensors: &[Tensor], dim: isize) -> Tensor {
        assert!(
            !tensors.is_empty(),
            "cat: expected a non-empty list of tensors"
        );
        let first = tensors[0].shape();
        let d = resolve_dim("cat", dim, first.len());
        let mut sizes = Vec::with_capacity(tensors.len());
        for t in tensors {
            let s = t.shape();
            let ok = s.len() == first.len()
                && s.iter()
                    .zip(&first)
                    .enumerate()
                    .all(|(i, (a, b))| i == d || a == b);
            assert!(ok, "cat: shapes {first:?} and {s:?} differ outside dim {d}");
            sizes.push(s[d]);
        }
        let total: usize = sizes.iter().sum();
        let (outer, _, inner) = split_at_dim(&first, d);
        let mut data = Vec::with_capacity(outer * total * inner);
        let arrays: Vec<_> = tensors.iter().map(|t| t.array()).collect();
        for o in 0..outer {
            for (a, &n) in arrays.iter().zip(&sizes) {
                data.extend_from_slice(&a.data()[o * n * inner..(o + 1) * n * inner]);
            }
        }
        drop(arrays);
        let mut shape = first;
        shape[d] = total;
        let refs: Vec<&Tensor> = tensors.iter().collect();
        Tensor::from_op(
            Array::new(&shape, data),
            &refs,
            CatBackward { dim: d, sizes },
        )
    }

    /// Stacks tensors of equal shape along a new dim, as `torch.stack`.
    ///
    /// # Panics
    /// Panics if `tensors` is empty or the shapes differ.
    #[track_caller]
    pub fn stack(tensors: &[Tensor], dim: isize) -> Tensor {
        assert!(
            !tensors.is_empty(),
            "stack: expected a non-empty list of tensors"
        );
        let first = tensors[0].shape();
        for t in tensors {
            assert_eq!(
                t.shape(),
                first,
                "stack: expects each tensor to be equal size, got {first:?} and {:?}",
                t.shape()
            );
        }
        let unsq: Vec<Tensor> = tensors.iter().map(|t| t.unsqueeze(dim)).collect();
        let d = resolve_dim("stack", dim, first.len() + 1);
        Tensor::cat(&unsq, d as isize)
    }
}

/// A reshape moves no values: the gradient is the output gradient under the input's shape.
struct ReshapeBackward;
impl Backward for ReshapeBackward {
    fn name(&self) -> &'static str {
        "ViewBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.clone().into_shape(inputs[0].array().shape()))]
    }
}

/// The gradient of a transpose is the transposed gradient.
struct TransposeBackward(usize, usize);
impl Backward for TransposeBackward {
    fn name(&self) -> &'static str {
        "TransposeBackward0"
    }
    fn backward(&self, _: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.transpose(self.0, self.1))]
    }
}

/// Each selected slice's gradient is added back at its index (repeats accumulate).
struct IndexSelectBackward {
    dim: usize,
    indices: Vec<usize>,
}
impl Backward for IndexSelectBackward {
    fn name(&self) -> &'static str {
        "IndexSelectBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let shape = inputs[0].shape();
        let (outer, n, inner) = split_at_dim(&shape, self.dim);
        #[cfg(feature = "cuda")]
        if grad.device().is_cuda() {
            let dims = (outer, n, inner);
            return vec![Some(crate::backend::cuda::scatter(
                grad,
                dims,
                &self.indices,
                &shape,
            ))];
        }
        let k = self.indices.len();
        let mut g = Array::zeros(&shape);
        let out = g.data_mut();
        for o in 0..outer {
            for (j, &i) in self.indices.iter().enumerate() {
                let src = &grad.data()[(o * k + j) * inner..(o * k + j + 1) * inner];
                let dst = &mut out[(o * n + i) * inner..(o * n + i + 1) * inner];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
        vec![Some(g)]
    }
}

/// Each input gets its own slab of the gradient back.
struct CatBackward {
    dim: usize,
    sizes: Vec<usize>,
}
impl Backward for CatBackward {
    fn name(&self) -> &'static str {
        "CatBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let total: usize = self.sizes.iter().sum();
        let (outer, _, inner) = split_at_dim(grad.shape(), self.dim);
        let mut offset = 0;
        let mut out = Vec::with_capacity(inputs.len());
        for (t, &n) in inputs.iter().zip(&self.sizes) {
            if t.requires_grad() {
                let mut data = Vec::with_capacity(outer * n * inner);
                for o in 0..outer {
                    let start = (o * total + offset) * inner;
                    data.extend_from_slice(&grad.data()[start..start + n * inner]);
                }
                out.push(Some(Array::new(t.array().shape(), data)));
            } else {
                out.push(None);
            }
            offset += n;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_grad, randn};
    use crate::Tensor;

    #[test]
    fn shape_ops_forward() {
        let a = Tensor::arange(0.0, 6.0, 1.0).reshape(&[2, 3]);
        assert_eq!(a.t().to_vec(), vec![0., 3., 1., 4., 2., 5.]);
        assert_eq!(a.reshape(&[-1, 2]).shape(), vec![3, 2]);
        assert_eq!(a.unsqueeze(0).shape(), vec![1, 2, 3]);
        assert_eq!(a.unsqueeze(-1).shape(), vec![2, 3, 1]);
        assert_eq!(a.unsqueeze(0).squeeze(0).shape(), vec![2, 3]);
        assert_eq!(
            a.index_select(0, &[1, 1, 0]).to_vec(),
            vec![3., 4., 5., 3., 4., 5., 0., 1., 2.]
        );
        assert_eq!(a.index_select(1, &[2]).to_vec(), vec![2., 5.]);
        assert_eq!(a.narrow(1, 1, 2).to_vec(), vec![1., 2., 4., 5.]);
        let c = Tensor::cat(&[a.clone(), a.clone()], 1);
        assert_eq!(c.shape(), vec![2, 6]);
        assert_eq!(c.to_vec()[..6], [0., 1., 2., 0., 1., 2.]);
        assert_eq!(
            Tensor::stack(&[a.clone(), a.clone()], 1).shape(),
            vec![2, 2, 3]
        );
    }

    #[test]
    fn shape_ops_gradcheck() {
        let x = randn(&[2, 3, 4]);
        check_grad(|t| t[0].reshape(&[6, -1]), &[x.clone()]);
        check_grad(|t| t[0].transpose(0, 2), &[x.clone()]);
        check_grad(|t| t[0].index_select(1, &[2, 0, 2]), &[x.clone()]);
        check_grad(|t| t[0].narrow(2, 1, 2), &[x.clone()]);
        check_grad(|t| t[0].flatten(), &[x.clone()]);
        let y = randn(&[2, 1, 4]);
        check_grad(
            |t| Tensor::cat(&[t[0].clone(), t[1].clone()], 1),
            &[x.clone(), y],
        );
        check_grad(
            |t| Tensor::stack(&[t[0].clone(), t[1].clone()], 0),
            &[x.clone(), randn(&[2, 3, 4])],
        );
        check_grad(|t| t[0].narrow(0, 0, 1).t(), &[randn(&[2, 3])]);
    }

    #[test]
    #[should_panic(expected = "reshape: shape [4, 2] is invalid for input of shape [2, 3]")]
    fn reshape_mismatch_names_shapes() {
        Tensor::zeros(&[2, 3]).reshape(&[4, 2]);
    }
}
