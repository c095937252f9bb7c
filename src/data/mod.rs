//! Datasets: readers for CSV, `.npy` and MNIST IDX files, the built-in `xor`, `digits` and
//! `iris` sets, train/test splits, a standardizer and a [`DataLoader`] that cuts batches.
//! [`read_table`] reads the CSVs people have (text columns, gaps, `;` or tab, no header) as
//! columns, for a caller that encodes them (the `backprop` command does).
//!
//! Everything here works on [`Array`]s; batches come out as plain [`Tensor`]s with
//! `requires_grad = false`, so no graph reaches back into the data.
//!
//! Every reader treats its file as hostile: a malformed file gives an [`Error`]
//! whose message is one line naming the file and, where it applies, the line and column; a header
//! that claims more data than the file holds is rejected before anything of that size is
//! allocated; nothing panics on bad bytes.
//!
//! # Examples
//! ```
//! use backprop::data::{self, DataLoader, Standardizer};
//! use backprop::rng::Generator;
//!
//! let ds = data::iris();
//! let mut rng = Generator::new(0);
//! let (train, test) = data::stratified_split(&ds, 0.2, &mut rng).unwrap();
//! assert_eq!((train.len(), test.len()), (120, 30));
//! let scaler = Standardizer::fit(&train.x);
//! let x = scaler.transform(&train.x);
//! let train = train.with_x(x);
//! let loader = DataLoader::new(&train, 32, true);
//! let shapes: Vec<Vec<usize>> = loader.iter(&mut rng).map(|(x, _)| x.shape()).collect();
//! assert_eq!(shapes, [vec![32, 4], vec![32, 4], vec![32, 4], vec![24, 4]]);
//! ```

mod builtin;
mod csv;
mod idx;
mod loader;
mod npy;
mod split;
mod table;
mod write;

pub use builtin::{by_name, digits, iris, xor, BUILTIN_NAMES};
pub use csv::{parse_csv, read_csv, read_csv_features, write_csv, MAX_COLUMNS, MAX_LINE_BYTES};
pub use idx::{flatten_images, parse_idx, read_idx, read_idx_pair, MAX_GZIP_RATIO};
pub use loader::{Batches, DataLoader};
pub use npy::{parse_npy, read_npy, read_npy_pair, write_npy, MAX_HEADER_BYTES};
pub use split::{random_split, stratified_split, Standardizer};
pub use table::{
    delimiter_name, parse_table, read_table, write_csv_cells, Column, Table, TableOptions, Texts,
    DEFAULT_NA_VALUES, DELIMITERS,
};
pub use write::{temp_file_pid, write_atomically, FIFO_READER_WAIT, TEMP_PREFIX};

use crate::{Array, Error, Result, Tensor};

/// Labels at or above this are not treated as class indices by [`Dataset::n_classes`]
/// (f32 holds every integer up to 2^24 exactly; a "class" beyond that is a regression target).
const MAX_CLASS_LABEL: f32 = 16_777_216.0;

/// A table of examples: features `x` of shape `[n, f]` and targets `y`.
///
/// `y` is `[n]` (class indices `0..K` stored as `f32`, or a single regression target) or `[n, k]`
/// (several regression targets).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Features, `[n, f]`.
    pub x: Array,
    /// Targets, `[n]` or `[n, k]`.
    pub y: Array,
    /// One name per feature column (the CSV header, or `x0`, `x1`, ... for unnamed data).
    pub feature_names: Vec<String>,
    /// The target column's name (`"y"` for unnamed data).
    pub target_name: String,
}

impl Dataset {
    /// A dataset from its parts.
    ///
    /// # Panics
    /// Panics if `x` is not 2-D, `y` is not 1-D or 2-D, their row counts differ, or
    /// `feature_names` does not have one name per column of `x`.
    #[track_caller]
    pub fn new(
        x: Array,
        y: Array,
        feature_names: Vec<String>,
        target_name: impl Into<String>,
    ) -> Dataset {
        assert_eq!(
            x.ndim(),
            2,
            "Dataset::new: x must be 2-D, got shape {:?}",
            x.shape()
        );
        assert!(
            matches!(y.ndim(), 1 | 2),
            "Dataset::new: y must be 1-D or 2-D, got shape {:?}",
            y.shape()
        );
        assert_eq!(
            x.shape()[0],
            y.shape()[0],
            "Dataset::new: x {:?} and y {:?} have different row counts",
            x.shape(),
            y.shape()
        );
        assert_eq!(
            feature_names.len(),
            x.shape()[1],
            "Dataset::new: {} feature names for x of shape {:?}",
            feature_names.len(),
            x.shape()
        );
        Dataset {
            x,
            y,
            feature_names,
            target_name: target_name.into(),
        }
    }

    /// A dataset from unnamed arrays: features are named `x0`, `x1`, ... and the target `y`.
    /// A 1-D `x` is taken as one feature column.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `x` is not 1-D or 2-D, `y` is not 1-D or 2-D, or the row counts differ.
    pub fn from_arrays(x: Array, y: Array) -> Result<Dataset> {
        let x = match x.ndim() {
            1 => {
                let n = x.len();
                x.into_shape(&[n, 1])
            }
            2 => x,
            _ => {
                return Err(Error::invalid(format!(
                    "features must be 1-D or 2-D, got shape {:?}",
                    x.shape()
                )))
            }
        };
        if !matches!(y.ndim(), 1 | 2) {
            return Err(Error::invalid(format!(
                "targets must be 1-D or 2-D, got shape {:?}",
                y.shape()
            )));
        }
        if x.shape()[0] != y.shape()[0] {
            return Err(Error::invalid(format!(
                "features have {} rows but targets have {}",
                x.shape()[0],
                y.shape()[0]
            )));
        }
        let names = (0..x.shape()[1]).map(|i| format!("x{i}")).collect();
        Ok(Dataset::new(x, y, names, "y"))
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.x.shape()[0]
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of feature columns.
    pub fn n_features(&self) -> usize {
        self.x.shape()[1]
    }

    /// The number of classes, `max label + 1`, when `y` is 1-D and every label is an integer
    /// `>= 0` (below 2^24); `None` otherwise (regression targets, or no rows).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(backprop::data::xor().n_classes(), Some(2));
    /// ```
    pub fn n_classes(&self) -> Option<usize> {
        if self.y.ndim() != 1 || self.y.is_empty() {
            return None;
        }
        let mut max = 0.0f32;
        for &v in self.y.data() {
            if !((0.0..MAX_CLASS_LABEL).contains(&v) && v.fract() == 0.0) {
                return None;
            }
            max = max.max(v);
        }
        Some(max as usize + 1)
    }

    /// The rows at `indices`, in that order (repeats allowed).
    ///
    /// # Panics
    /// Panics if an index is out of range.
    #[track_caller]
    pub fn select(&self, indices: &[usize]) -> Dataset {
        Dataset {
            x: gather_rows(&self.x, indices),
            y: gather_rows(&self.y, indices),
            feature_names: self.feature_names.clone(),
            target_name: self.target_name.clone(),
        }
    }

    /// The same dataset with features replaced (e.g. by standardized ones).
    ///
    /// # Panics
    /// Panics if `x`'s shape differs from the current features'.
    #[track_caller]
    pub fn with_x(self, x: Array) -> Dataset {
        assert_eq!(
            x.shape(),
            self.x.shape(),
            "Dataset::with_x: new features {:?} differ in shape from {:?}",
            x.shape(),
            self.x.shape()
        );
        Dataset { x, ..self }
    }

    /// All features as one tensor `[n, f]` (no grad).
    pub fn x_tensor(&self) -> Tensor {
        Tensor::from_array(self.x.clone())
    }

    /// All targets as one tensor, `[n]` or `[n, k]` (no grad).
    pub fn y_tensor(&self) -> Tensor {
        Tensor::from_array(self.y.clone())
    }

    /// The rows at `indices` as a batch `(x, y)` of tensors (no grad).
    ///
    /// # Panics
    /// Panics if an index is out of range.
    #[track_caller]
    pub fn batch(&self, indices: &[usize]) -> (Tensor, Tensor) {
        (
            Tensor::from_array(gather_rows(&self.x, indices)),
            Tensor::from_array(gather_rows(&self.y, indices)),
        )
    }

    /// How many rows carry each class label `0..n_classes()`; `None` when
    /// [`n_classes`](Dataset::n_classes) is.
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let k = self.n_classes()?;
        let mut counts = vec![0; k];
        for &v in self.y.data() {
            counts[v as usize] += 1;
        }
        Some(counts)
    }
}

/// The rows of a 1-D or 2-D array at `indices`, in that order.
///
/// # Panics
/// Panics if `a` is 0-d or an index is out of range.
#[track_caller]
pub(crate) fn gather_rows(a: &Array, indices: &[usize]) -> Array {
    assert!(
        a.ndim() >= 1,
        "gather_rows: array of shape {:?} has no rows",
        a.shape()
    );
    let n = a.shape()[0];
    let width: usize = a.shape()[1..].iter().product();
    let mut shape = a.shape().to_vec();
    shape[0] = indices.len();
    #[cfg(feature = "cuda")]
    if a.device().is_cuda() {
        // A dataset uploaded once: its batches are gathered on the GPU.
        if let Some(&i) = indices.iter().find(|&&i| i >= n) {
            panic!("gather_rows: row {i} is out of range for {n} rows");
        }
        return crate::backend::cuda::gather(a, (1, n, width), indices, &shape);
    }
    // A batch is written in full, so it may reuse a recycled buffer (no page faults per batch).
    let mut out = Array::for_overwrite(&shape);
    for (k, &i) in indices.iter().enumerate() {
        assert!(
            i < n,
            "gather_rows: row {i} out of range for shape {:?}",
            a.shape()
        );
        out.data_mut()[k * width..(k + 1) * width]
            .copy_from_slice(&a.data()[i * width..(i + 1) * width]);
    }
    out
}

/// Shortens and escapes a piece of input for an error message, so the message stays one line.
pub(crate) fn snippet(s: &str) -> String {
    const MAX: usize = 40;
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

#[cfg(test)]
pub(crate) mod test_util {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A fresh path under the temp dir (the file is not created).
    pub fn temp_path(name: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("backprop-data-{}-{n}-{name}", std::process::id()))
    }

    /// Writes `bytes` to a fresh temp file and returns its path.
    pub fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let p = temp_path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Files in the temp dir whose names contain `needle` (to check no temp file is left).
    pub fn leftovers(needle: &str) -> Vec<String> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(needle))
            .collect()
    }

    /// Applies `count` random byte edits (flip, set, truncate, insert) to `bytes`.
    pub fn mutate(bytes: &[u8], g: &mut crate::rng::Generator, count: usize) -> Vec<u8> {
        let mut b = bytes.to_vec();
        for _ in 0..count {
            match g.below(5) {
                0 if !b.is_empty() => {
                    let i = g.below(b.len());
                    b[i] ^= 1 << g.below(8);
                }
                1 if !b.is_empty() => {
                    let i = g.below(b.len());
                    b[i] = [0u8, 0xff, b',', b'\n', b'-', b'.', b'e', 0x7f, b'9'][g.below(9)];
                }
                2 if !b.is_empty() => {
                    let cut = g.below(b.len());
                    b.truncate(cut);
                }
                3 => {
                    let i = g.below(b.len() + 1);
                    b.insert(i, g.next_u64() as u8);
                }
                _ if !b.is_empty() => {
                    let i = g.below(b.len());
                    b.remove(i);
                }
                _ => {}
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Dataset {
        let x = Array::new(&[4, 2], vec![0., 1., 2., 3., 4., 5., 6., 7.]);
        let y = Array::new(&[4], vec![1., 0., 2., 1.]);
        Dataset::new(x, y, vec!["a".into(), "b".into()], "label")
    }

    #[test]
    fn select_gathers_rows_in_order() {
        let s = toy().select(&[3, 0, 3]);
        assert_eq!(s.x.shape(), &[3, 2]);
        assert_eq!(s.x.data(), &[6., 7., 0., 1., 6., 7.]);
        assert_eq!(s.y.data(), &[1., 1., 1.]);
        assert_eq!(s.feature_names, ["a", "b"]);
        assert_eq!(s.target_name, "label");
    }

    #[test]
    #[should_panic(expected = "row 4 out of range")]
    fn select_out_of_range_panics() {
        toy().select(&[4]);
    }

    #[test]
    fn n_classes_needs_non_negative_integer_labels() {
        let ds = toy();
        assert_eq!(ds.n_classes(), Some(3));
        assert_eq!(ds.class_counts(), Some(vec![1, 2, 1]));
        let frac =
            Dataset::from_arrays(Array::zeros(&[2, 1]), Array::new(&[2], vec![0., 1.5])).unwrap();
        assert_eq!(frac.n_classes(), None);
        let neg =
            Dataset::from_arrays(Array::zeros(&[2, 1]), Array::new(&[2], vec![0., -1.])).unwrap();
        assert_eq!(neg.n_classes(), None);
        let wide = Dataset::from_arrays(Array::zeros(&[2, 1]), Array::zeros(&[2, 2])).unwrap();
        assert_eq!(wide.n_classes(), None);
        let empty = Dataset::from_arrays(Array::zeros(&[0, 1]), Array::zeros(&[0])).unwrap();
        assert_eq!(empty.n_classes(), None);
        assert!(empty.is_empty());
    }

    #[test]
    fn from_arrays_checks_rows_and_names_columns() {
        let ds = Dataset::from_arrays(Array::zeros(&[3]), Array::zeros(&[3])).unwrap();
        assert_eq!(ds.x.shape(), &[3, 1]);
        assert_eq!(ds.feature_names, ["x0"]);
        let err = Dataset::from_arrays(Array::zeros(&[3, 2]), Array::zeros(&[2])).unwrap_err();
        assert_eq!(err.to_string(), "features have 3 rows but targets have 2");
        assert!(Dataset::from_arrays(Array::zeros(&[3, 2, 1]), Array::zeros(&[3])).is_err());
    }

    #[test]
    fn batch_tensors_carry_no_grad() {
        let (x, y) = toy().batch(&[1, 2]);
        assert!(!x.requires_grad() && !y.requires_grad());
        assert_eq!(x.to_vec(), vec![2., 3., 4., 5.]);
        assert_eq!(y.to_vec(), vec![0., 2.]);
        assert_eq!(toy().x_tensor().shape(), vec![4, 2]);
        assert_eq!(toy().y_tensor().shape(), vec![4]);
    }

    #[test]
    fn snippet_is_short_and_one_line() {
        assert_eq!(snippet("a\nb"), "a\\nb");
        assert_eq!(snippet(&"x".repeat(100)).chars().count(), 41);
    }
}
