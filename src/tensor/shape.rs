//! Shapes, strides and NumPy/PyTorch broadcasting.

/// The number of elements of a tensor of this shape (1 for a 0-d scalar).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major (C-order) strides of `shape`, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The broadcast shape of `a` and `b` under NumPy/PyTorch rules (align trailing dims; a dim of
/// 1 stretches), or `None` when they are incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Whether `shape` broadcasts to `target` (as `broadcast_shape(shape, target) ==
/// Some(target)`), without allocating.
pub(crate) fn broadcasts_to(shape: &[usize], target: &[usize]) -> bool {
    shape.len() <= target.len()
        && (shape.iter().rev())
            .zip(target.iter().rev())
            .all(|(&s, &t)| s == t || s == 1)
}

/// Strides that read a tensor of `shape` as if it had `target` shape (its broadcast): dims that
/// are stretched get stride 0. `shape` must broadcast to `target`.
pub fn broadcast_strides(shape: &[usize], target: &[usize]) -> Vec<usize> {
    let own = strides(shape);
    let off = target.len() - shape.len();
    (0..target.len())
        .map(|i| {
            if i < off || shape[i - off] == 1 {
                0
            } else {
                own[i - off]
            }
        })
        .collect()
}

/// Resolves a possibly negative dim (`-1` = last) against `ndim`.
///
/// # Panics
/// Panics with `op` in the message if the dim is out of range.
#[track_caller]
pub fn resolve_dim(op: &str, dim: isize, ndim: usize) -> usize {
    // A 0-d tensor accepts dim 0 and -1, as PyTorch does.
    let n = ndim.max(1) as isize;
    let d = if dim < 0 { dim + n } else { dim };
    assert!(
        d >= 0 && (d as usize) < ndim.max(1),
        "{op}: dim {dim} is out of range for a tensor with {ndim} dims"
    );
    d as usize
}

/// Splits `shape` around `dim` into (outer, size of dim, inner) element counts.
pub fn split_at_dim(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    if shape.is_empty() {
        return (1, 1, 1);
    }
    (numel(&shape[..dim]), shape[dim], numel(&shape[dim + 1..]))
}

/// Walks every multi-index of `shape` in row-major order, calling `f` with the flat offsets the
/// index has under each of the given stride sets.
pub fn for_each_offset<const K: usize>(
    shape: &[usize],
    strides: [&[usize]; K],
    mut f: impl FnMut([usize; K]),
) {
    let n = numel(shape);
    if n == 0 {
        return;
    }
    let nd = shape.len();
    let mut idx = vec![0usize; nd];
    let mut off = [0usize; K];
    for _ in 0..n {
        f(off);
        // Odometer increment, updating offsets incrementally.
        let mut d = nd;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            for k in 0..K {
                off[k] += strides[k][d];
            }
            if idx[d] < shape[d] {
                break;
            }
            for k in 0..K {
                off[k] -= strides[k][d] * shape[d];
            }
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shape(&[3, 1], &[4]), Some(vec![3, 4]));
        assert_eq!(broadcast_shape(&[2, 3, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shape(&[], &[5]), Some(vec![5]));
        assert_eq!(broadcast_shape(&[3], &[4]), None);
        let shapes: [&[usize]; 7] = [&[], &[1], &[4], &[3, 1], &[3, 4], &[2, 3, 4], &[2, 1, 4]];
        for a in shapes {
            for b in shapes {
                let want = broadcast_shape(a, b).as_deref() == Some(b);
                assert_eq!(super::broadcasts_to(a, b), want, "{a:?} to {b:?}");
            }
        }
    }

    #[test]
    fn offsets_walk_row_major() {
        let mut seen = vec![];
        for_each_offset(&[2, 3], [&strides(&[2, 3]), &[0, 1]], |[a, b]| {
            seen.push((a, b))
        });
        assert_eq!(seen, vec![(0, 0), (1, 1), (2, 2), (3, 0), (4, 1), (5, 2)]);
    }

    #[test]
    #[should_panic(expected = "sum: dim 2 is out of range")]
    fn bad_dim_names_the_op() {
        resolve_dim("sum", 2, 2);
    }

    #[test]
    fn negative_dims_count_from_the_end() {
        assert_eq!(resolve_dim("x", -1, 3), 2);
        // 0-d tensors accept 0 and -1, as in PyTorch.
        assert_eq!(resolve_dim("x", -1, 0), 0);
        assert_eq!(crate::Tensor::scalar(2.0).sum_dim(-1, false).item(), 2.0);
    }
}
