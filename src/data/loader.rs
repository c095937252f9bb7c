//! [`DataLoader`]: cuts a dataset into mini-batches, as `torch.utils.data.DataLoader` (with its
//! `batch_size`, `shuffle` and `drop_last`).

use super::{gather_rows, Dataset};
use crate::rng::Generator;
use crate::{Array, Tensor};

/// Yields `(x, y)` batches of a dataset's rows as tensors with `requires_grad = false`.
///
/// Without shuffling, batches are consecutive rows in order. With shuffling, each
/// [`iter`](DataLoader::iter) draws a fresh permutation of the rows from the generator
/// (`Generator::randperm`, as PyTorch's `RandomSampler` uses `torch.randperm`).
///
/// The last batch is smaller when the batch size does not divide the row count; it is kept
/// unless [`drop_last`](DataLoader::drop_last) is set (PyTorch's `drop_last`, default `false`).
/// Dropping it avoids a tiny last batch, e.g. one row, which `BatchNorm1d` cannot train on.
/// A batch size of 0 means one batch of all rows. A batch size above the row count gives one
/// batch of all rows, or none with `drop_last`, as in PyTorch. Such a full batch without
/// shuffling is copied out of the arrays once and then handed out again on every pass (the same
/// tensors: full-batch training copies nothing per step), so change it in place only if the
/// next pass should see the change.
///
/// # Examples
/// ```
/// use backprop::{data::{self, DataLoader}, rng::Generator};
/// let ds = data::xor();
/// let loader = DataLoader::new(&ds, 3, false);
/// let batches: Vec<_> = loader.iter(&mut Generator::new(0)).collect();
/// assert_eq!(batches.len(), 2);
/// assert_eq!(batches[0].0.to_vec(), vec![0., 0., 0., 1., 1., 0.]);
/// assert_eq!(batches[1].1.to_vec(), vec![0.]);
/// ```
#[derive(Clone, Debug)]
pub struct DataLoader<'a> {
    x: &'a Array,
    y: &'a Array,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    /// The one batch of a full-batch pass without shuffling, made at the first pass.
    whole: std::sync::OnceLock<(Tensor, Tensor)>,
}

impl<'a> DataLoader<'a> {
    /// A loader over `dataset`'s rows; `batch_size = 0` means the full batch.
    pub fn new(dataset: &'a Dataset, batch_size: usize, shuffle: bool) -> DataLoader<'a> {
        Self::from_arrays(&dataset.x, &dataset.y, batch_size, shuffle)
    }

    /// A loader over the rows of `x` and `y` (any shapes with the same first dim).
    ///
    /// # Panics
    /// Panics if either array is 0-d or their row counts differ.
    #[track_caller]
    pub fn from_arrays(
        x: &'a Array,
        y: &'a Array,
        batch_size: usize,
        shuffle: bool,
    ) -> DataLoader<'a> {
        assert!(
            x.ndim() >= 1 && y.ndim() >= 1 && x.shape()[0] == y.shape()[0],
            "DataLoader: x {:?} and y {:?} need the same number of rows",
            x.shape(),
            y.shape()
        );
        DataLoader {
            x,
            y,
            batch_size,
            shuffle,
            drop_last: false,
            whole: std::sync::OnceLock::new(),
        }
    }

    /// Drops the last batch of each pass when it is smaller than the batch size (PyTorch's
    /// `drop_last=True`); the rows it would have held are left out of that pass. With
    /// shuffling, different rows are left out each pass. Does nothing for `batch_size = 0`
    /// (the full batch is never partial).
    ///
    /// # Examples
    /// ```
    /// use backprop::{data::{self, DataLoader}, rng::Generator};
    /// let ds = data::xor(); // 4 rows
    /// let loader = DataLoader::new(&ds, 3, false).drop_last(true);
    /// assert_eq!(loader.len(), 1);
    /// let batches: Vec<_> = loader.iter(&mut Generator::new(0)).collect();
    /// assert_eq!(batches.len(), 1);
    /// assert_eq!(batches[0].0.shape(), vec![3, 2]);
    /// ```
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self.whole = std::sync::OnceLock::new();
        self
    }

    /// The number of rows.
    pub fn n_rows(&self) -> usize {
        self.x.shape()[0]
    }

    /// The effective batch size: `batch_size`, or the row count for 0 or anything larger.
    pub fn batch_size(&self) -> usize {
        let n = self.n_rows();
        if self.batch_size == 0 || self.batch_size > n {
            n
        } else {
            self.batch_size
        }
    }

    /// The number of batches per pass: `ceil(n / batch_size)`, or `floor(n / batch_size)` with
    /// [`drop_last`](DataLoader::drop_last) (0 for no rows).
    pub fn len(&self) -> usize {
        let n = self.n_rows();
        if n == 0 {
            0
        } else if self.drop_last && self.batch_size > 0 {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size())
        }
    }

    /// The rows a pass covers: all of them, less the partial last batch with `drop_last`.
    fn rows_per_pass(&self) -> usize {
        if self.drop_last && self.batch_size > 0 {
            self.len() * self.batch_size
        } else {
            self.n_rows()
        }
    }

    /// Whether a pass yields no batch (no rows).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One pass over the data. With shuffling, the permutation is drawn from `generator` now;
    /// without, `generator` is left untouched.
    pub fn iter(&self, generator: &mut Generator) -> Batches<'a> {
        let order = self.shuffle.then(|| generator.randperm(self.n_rows()));
        let end = self.rows_per_pass();
        let whole = (order.is_none() && end > 0 && self.batch_size() >= end).then(|| {
            self.whole
                .get_or_init(|| {
                    (
                        Tensor::from_array(row_range(self.x, 0, end)),
                        Tensor::from_array(row_range(self.y, 0, end)),
                    )
                })
                .clone()
        });
        Batches {
            x: self.x,
            y: self.y,
            whole,
            order,
            batch_size: self.batch_size(),
            pos: 0,
            end,
        }
    }
}

/// The batches of one pass of a [`DataLoader`].
#[derive(Debug)]
pub struct Batches<'a> {
    x: &'a Array,
    y: &'a Array,
    /// The loader's full batch, when a pass is that one batch.
    whole: Option<(Tensor, Tensor)>,
    order: Option<Vec<usize>>,
    batch_size: usize,
    pos: usize,
    /// Where the pass stops (the row count, less a dropped last batch).
    end: usize,
}

/// The rows `start..end` of `a`, copied (on the GPU, for an array there).
fn row_range(a: &Array, start: usize, end: usize) -> Array {
    if a.device().is_cuda() {
        return gather_rows(a, &(start..end).collect::<Vec<_>>());
    }
    let width: usize = a.shape()[1..].iter().product();
    let mut shape = a.shape().to_vec();
    shape[0] = end - start;
    // As `gather_rows`: a recycled buffer when there is one, so that a large batch does not
    // fault in fresh pages at every step.
    let mut out = Array::for_overwrite(&shape);
    out.data_mut()
        .copy_from_slice(&a.data()[start * width..end * width]);
    out
}

impl Iterator for Batches<'_> {
    type Item = (Tensor, Tensor);

    fn next(&mut self) -> Option<(Tensor, Tensor)> {
        if self.pos >= self.end {
            return None;
        }
        if let Some(batch) = self.whole.take() {
            self.pos = self.end;
            return Some(batch);
        }
        let end = (self.pos + self.batch_size).min(self.end);
        let (x, y) = match &self.order {
            Some(order) => {
                let idx = &order[self.pos..end];
                (gather_rows(self.x, idx), gather_rows(self.y, idx))
            }
            None => (
                row_range(self.x, self.pos, end),
                row_range(self.y, self.pos, end),
            ),
        };
        self.pos = end;
        Some((Tensor::from_array(x), Tensor::from_array(y)))
    }

    /// Skips `n` batches without making them (a stopped epoch continuing), then makes one.
    fn nth(&mut self, n: usize) -> Option<(Tensor, Tensor)> {
        if n > 0 {
            if self.whole.is_some() {
                self.whole = None;
                self.pos = self.end;
            } else {
                let skip = n.saturating_mul(self.batch_size.max(1));
                self.pos = self.pos.saturating_add(skip).min(self.end);
            }
        }
        self.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.pos.min(self.end)).div_ceil(self.batch_size.max(1));
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ds(n: usize) -> Dataset {
        let x = Array::new(&[n, 2], (0..2 * n).map(|v| v as f32).collect());
        let y = Array::new(&[n], (0..n).map(|v| v as f32).collect());
        Dataset::from_arrays(x, y).unwrap()
    }

    fn rows_of(batches: &[(Tensor, Tensor)]) -> Vec<Vec<f32>> {
        batches.iter().map(|(_, y)| y.to_vec()).collect()
    }

    #[test]
    fn a_full_batch_is_made_once_and_handed_out_every_pass() {
        let d = ds(5);
        let mut g = Generator::new(0);
        for batch_size in [0, 5, 9] {
            let loader = DataLoader::new(&d, batch_size, false);
            let first: Vec<_> = loader.iter(&mut g).collect();
            let second: Vec<_> = loader.iter(&mut g).collect();
            assert_eq!((first.len(), second.len()), (1, 1));
            assert_eq!(first[0].0.to_vec(), d.x.data().to_vec());
            assert_eq!(first[0].1.to_vec(), d.y.data().to_vec());
            assert!(Arc::ptr_eq(&first[0].0 .0, &second[0].0 .0));
        }
        // drop_last set after a pass: the next pass is cut anew.
        let loader = DataLoader::new(&d, 4, false);
        assert_eq!(loader.iter(&mut g).count(), 2);
        let loader = loader.drop_last(true);
        let batches: Vec<_> = loader.iter(&mut g).collect();
        assert_eq!((batches.len(), batches[0].0.shape()), (1, vec![4, 2]));
        // Shuffled full batches are drawn afresh.
        let loader = DataLoader::new(&d, 0, true);
        let a = loader.iter(&mut g).next().unwrap();
        let b = loader.iter(&mut g).next().unwrap();
        assert!(!Arc::ptr_eq(&a.0 .0, &b.0 .0));
    }

    #[test]
    fn sequential_batches_keep_order_and_last_partial_batch() {
        let d = ds(10);
        let loader = DataLoader::new(&d, 4, false);
        assert_eq!((loader.len(), loader.batch_size()), (3, 4));
        let mut g = Generator::new(0);
        let before = g.state();
        let it = loader.iter(&mut g);
        assert_eq!(it.len(), 3);
        let batches: Vec<_> = it.collect();
        assert_eq!(g.state(), before, "no shuffle must not consume randomness");
        assert_eq!(
            rows_of(&batches),
            vec![vec![0., 1., 2., 3.], vec![4., 5., 6., 7.], vec![8., 9.]]
        );
        assert_eq!(batches[2].0.shape(), vec![2, 2]);
        assert_eq!(batches[2].0.to_vec(), vec![16., 17., 18., 19.]);
        assert!(batches
            .iter()
            .all(|(x, y)| !x.requires_grad() && !y.requires_grad()));
    }

    #[test]
    fn full_batch_for_zero_or_oversized_batch_size() {
        let d = ds(5);
        for bs in [0, 5, 6, 1000] {
            let loader = DataLoader::new(&d, bs, false);
            let batches: Vec<_> = loader.iter(&mut Generator::new(0)).collect();
            assert_eq!(batches.len(), 1, "batch size {bs}");
            assert_eq!(batches[0].0.shape(), vec![5, 2]);
        }
        let empty = ds(0);
        let loader = DataLoader::new(&empty, 0, true);
        assert!(loader.is_empty());
        assert_eq!(loader.iter(&mut Generator::new(0)).count(), 0);
    }

    #[test]
    fn shuffled_batches_are_a_fresh_permutation_each_pass() {
        let d = ds(10);
        let loader = DataLoader::new(&d, 3, true);
        let mut g = Generator::new(4);
        let first: Vec<_> = loader.iter(&mut g).collect();
        let second: Vec<_> = loader.iter(&mut g).collect();
        assert_eq!(
            first.iter().map(|(x, _)| x.shape()[0]).collect::<Vec<_>>(),
            [3, 3, 3, 1]
        );
        let flat = |b: &[(Tensor, Tensor)]| rows_of(b).concat();
        assert_ne!(flat(&first), flat(&second));
        let mut sorted = flat(&first);
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, (0..10).map(|v| v as f32).collect::<Vec<_>>());
        // x rows travel with their y.
        for (x, y) in &first {
            let (xv, yv) = (x.to_vec(), y.to_vec());
            for (i, label) in yv.iter().enumerate() {
                assert_eq!(xv[2 * i], 2.0 * label);
            }
        }
        // The permutation is the generator's randperm.
        let expected = Generator::new(4).randperm(10);
        assert_eq!(
            flat(&first),
            expected.iter().map(|&i| i as f32).collect::<Vec<_>>()
        );
        // Same seed, same batches.
        let again: Vec<_> = loader.iter(&mut Generator::new(4)).collect();
        assert_eq!(flat(&again), flat(&first));
    }

    #[test]
    fn drop_last_leaves_out_the_partial_batch() {
        let d = ds(10);
        let mut g = Generator::new(0);
        let kept = DataLoader::new(&d, 4, false);
        let dropped = DataLoader::new(&d, 4, false).drop_last(true);
        assert_eq!((kept.len(), dropped.len()), (3, 2));
        let it = dropped.iter(&mut g);
        assert_eq!(it.len(), 2);
        let batches: Vec<_> = it.collect();
        assert_eq!(
            rows_of(&batches),
            vec![vec![0., 1., 2., 3.], vec![4., 5., 6., 7.]]
        );
        // An exact division loses nothing; `drop_last(false)` is the default.
        let exact = DataLoader::new(&d, 5, false).drop_last(true);
        assert_eq!(
            rows_of(&exact.iter(&mut g).collect::<Vec<_>>())
                .concat()
                .len(),
            10
        );
        assert_eq!(
            rows_of(
                &kept
                    .clone()
                    .drop_last(false)
                    .iter(&mut g)
                    .collect::<Vec<_>>()
            ),
            rows_of(&kept.iter(&mut g).collect::<Vec<_>>())
        );
        // PyTorch: a batch size above the row count gives no batch; 0 (full batch) gives one.
        let none = DataLoader::new(&d, 11, false).drop_last(true);
        assert_eq!((none.len(), none.iter(&mut g).count()), (0, 0));
        let full = DataLoader::new(&d, 0, false).drop_last(true);
        assert_eq!((full.len(), full.iter(&mut g).count()), (1, 1));
    }

    #[test]
    fn drop_last_with_shuffle_draws_the_same_permutation() {
        // The sampler permutes all rows and the batch sampler drops the tail, as in PyTorch:
        // the kept batches are the first ones of the plain shuffled pass.
        let d = ds(10);
        let all: Vec<_> = DataLoader::new(&d, 3, true)
            .iter(&mut Generator::new(7))
            .collect();
        let kept: Vec<_> = DataLoader::new(&d, 3, true)
            .drop_last(true)
            .iter(&mut Generator::new(7))
            .collect();
        assert_eq!(kept.len(), 3);
        assert_eq!(rows_of(&kept), rows_of(&all[..3]));
        assert!(kept.iter().all(|(x, _)| x.shape() == vec![3, 2]));
    }

    #[test]
    fn from_arrays_with_2d_targets() {
        let x = Array::zeros(&[3, 1]);
        let y = Array::new(&[3, 2], vec![1., 2., 3., 4., 5., 6.]);
        let loader = DataLoader::from_arrays(&x, &y, 2, false);
        let b: Vec<_> = loader.iter(&mut Generator::new(0)).collect();
        assert_eq!(b[1].1.shape(), vec![1, 2]);
        assert_eq!(b[1].1.to_vec(), vec![5., 6.]);
    }

    #[test]
    #[should_panic(expected = "DataLoader: x [3, 1] and y [2] need the same number of rows")]
    fn mismatched_rows_panic() {
        let (x, y) = (Array::zeros(&[3, 1]), Array::zeros(&[2]));
        DataLoader::from_arrays(&x, &y, 1, false);
    }
}
