//! Train/test splits and feature standardization, following scikit-learn's
//! `train_test_split` (`StratifiedShuffleSplit`, `ShuffleSplit`) and `StandardScaler`.

use super::Dataset;
use crate::rng::Generator;
use crate::{Array, Error, Result};

/// `n_test = ceil(test_fraction · n)`, `n_train = n - n_test`, as scikit-learn's
/// `_validate_shuffle_split`; both must be at least 1.
fn split_sizes(n: usize, test_fraction: f64) -> Result<(usize, usize)> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::invalid(format!(
            "test fraction must be in (0, 1), got {test_fraction}"
        )));
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    let n_train = n.saturating_sub(n_test);
    if n_train == 0 || n_test == 0 {
        return Err(Error::invalid(format!(
            "a test fraction of {test_fraction} of {n} rows leaves {n_train} train and {n_test} test rows; both need at least 1"
        )));
    }
    Ok((n_train, n_test))
}

/// Splits `ds` into `(train, test)` with `ceil(test_fraction · n)` test rows, keeping each
/// class's share, as `train_test_split(..., stratify=y)` does: each class gets its rounded share
/// of train and test rows (remainders go to the classes with the largest fractional parts, ties
/// broken at random), its rows are shuffled with `generator`, and both splits are shuffled
/// again at the end. The same seed gives the same split.
///
/// # Errors
/// [`Error::InvalidArgument`] if `test_fraction` is not in `(0, 1)`, the targets are not class
/// indices ([`Dataset::n_classes`] is `None`), a class has fewer than 2 rows, or either split
/// would hold fewer rows than there are classes.
///
/// # Examples
/// ```
/// use backprop::{data, rng::Generator};
/// let (train, test) = data::stratified_split(&data::digits(), 0.2, &mut Generator::new(0)).unwrap();
/// assert_eq!((train.len(), test.len()), (1437, 360));
/// assert_eq!(test.class_counts().unwrap(), [36, 36, 35, 37, 36, 37, 36, 36, 35, 36]);
/// ```
pub fn stratified_split(
    ds: &Dataset,
    test_fraction: f64,
    generator: &mut Generator,
) -> Result<(Dataset, Dataset)> {
    let n = ds.len();
    let (n_train, n_test) = split_sizes(n, test_fraction)?;
    if ds.n_classes().is_none() {
        return Err(Error::invalid(
            "a stratified split needs class labels: integers >= 0 in a 1-D target",
        ));
    }
    // Only the labels that occur count as classes (np.unique).
    let mut by_label: Vec<Vec<usize>> = Vec::new();
    let mut labels = Vec::new();
    {
        let mut slots = std::collections::BTreeMap::new();
        for (i, &v) in ds.y.data().iter().enumerate() {
            slots.entry(v as usize).or_insert_with(Vec::new).push(i);
        }
        for (label, rows) in slots {
            labels.push(label);
            by_label.push(rows);
        }
    }
    let k = by_label.len();
    let counts: Vec<usize> = by_label.iter().map(Vec::len).collect();
    if let Some(c) = counts.iter().position(|&c| c < 2) {
        return Err(Error::invalid(format!(
            "class {} has only {} row; a stratified split needs at least 2 per class",
            labels[c], counts[c]
        )));
    }
    if n_train < k || n_test < k {
        return Err(Error::invalid(format!(
            "a stratified split of {n} rows into {n_train} train and {n_test} test rows cannot hold all {k} classes in each"
        )));
    }
    let train_per_class = approximate_mode(&counts, n_train, generator);
    let remaining: Vec<usize> = counts
        .iter()
        .zip(&train_per_class)
        .map(|(c, t)| c - t)
        .collect();
    let test_per_class = approximate_mode(&remaining, n_test, generator);

    let mut train = Vec::with_capacity(n_train);
    let mut test = Vec::with_capacity(n_test);
    for (c, rows) in by_label.iter().enumerate() {
        let perm = generator.randperm(rows.len());
        let shuffled: Vec<usize> = perm.iter().map(|&p| rows[p]).collect();
        let (a, b) = (train_per_class[c], test_per_class[c]);
        train.extend_from_slice(&shuffled[..a]);
        test.extend_from_slice(&shuffled[a..a + b]);
    }
    let train: Vec<usize> = generator
        .randperm(train.len())
        .iter()
        .map(|&p| train[p])
        .collect();
    let test: Vec<usize> = generator
        .randperm(test.len())
        .iter()
        .map(|&p| test[p])
        .collect();
    Ok((ds.select(&train), ds.select(&test)))
}

/// Draws `n_draws` from classes of sizes `counts` as evenly as possible (scikit-learn's
/// `_approximate_mode`): each class gets `floor(count / total · n_draws)`, and the leftover
/// draws go to the largest fractional parts, ties broken at random.
fn approximate_mode(counts: &[usize], n_draws: usize, generator: &mut Generator) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut floored: Vec<usize> = continuous.iter().map(|c| c.floor() as usize).collect();
    let mut need = n_draws.saturating_sub(floored.iter().sum());
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, &f)| c - f as f64)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..counts.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            let add_now = inds.len().min(need);
            let perm = generator.randperm(inds.len());
            for &p in &perm[..add_now] {
                floored[inds[p]] += 1;
            }
            need -= add_now;
            if need == 0 {
                break;
            }
        }
    }
    floored
}

/// Splits `ds` into `(train, test)` with `ceil(test_fraction · n)` test rows drawn at random, as
/// `train_test_split` without `stratify` (`ShuffleSplit`): a permutation of the rows from
/// `generator`, the first `n_test` for test, the rest for train.
///
/// # Errors
/// [`Error::InvalidArgument`] if `test_fraction` is not in `(0, 1)` or either split would be empty.
pub fn random_split(
    ds: &Dataset,
    test_fraction: f64,
    generator: &mut Generator,
) -> Result<(Dataset, Dataset)> {
    let (_, n_test) = split_sizes(ds.len(), test_fraction)?;
    let perm = generator.randperm(ds.len());
    Ok((ds.select(&perm[n_test..]), ds.select(&perm[..n_test])))
}

/// Per-feature standardization `(x - mean) / std`, as scikit-learn's `StandardScaler`: `std` is
/// the population standard deviation (`ddof = 0`), and a constant column gets `std = 1`, so it
/// maps to 0 instead of NaN.
///
/// # Examples
/// ```
/// use backprop::{data::Standardizer, Array};
/// let x = Array::new(&[2, 2], vec![1., 5., 3., 5.]);
/// let s = Standardizer::fit(&x);
/// assert_eq!((s.mean.as_slice(), s.std.as_slice()), (&[2.0, 5.0][..], &[1.0, 1.0][..]));
/// assert_eq!(s.transform(&x).data(), &[-1., 0., 1., 0.]);
/// let (mean, std) = s.to_strings();
/// assert_eq!(Standardizer::from_strings(&mean, &std).unwrap(), s);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    /// Each feature's mean.
    pub mean: Vec<f32>,
    /// Each feature's population standard deviation (1 where it was 0).
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Computes each column's mean and population standard deviation (accumulated in `f64`,
    /// as scikit-learn does for `float32` input). A column is constant, and gets `std = 1`, when
    /// its variance is within rounding of 0 (scikit-learn's `_is_constant_feature`).
    ///
    /// # Panics
    /// Panics if `x` is not 2-D or has no rows.
    #[track_caller]
    pub fn fit(x: &Array) -> Standardizer {
        assert!(
            x.ndim() == 2 && x.shape()[0] > 0,
            "Standardizer::fit: need a 2-D array with at least one row, got shape {:?}",
            x.shape()
        );
        let (n, f) = (x.shape()[0], x.shape()[1]);
        let mut sum = vec![0f64; f];
        for row in x.data().chunks(f) {
            for (s, &v) in sum.iter_mut().zip(row) {
                *s += v as f64;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
        let mut sq = vec![0f64; f];
        for row in x.data().chunks(f) {
            for ((s, &v), m) in sq.iter_mut().zip(row).zip(&mean) {
                *s += (v as f64 - m).powi(2);
            }
        }
        let eps = f64::EPSILON;
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let var = s / n as f64;
                let bound = n as f64 * eps * var + (n as f64 * m * eps).powi(2);
                if var <= bound {
                    1.0
                } else {
                    var.sqrt() as f32
                }
            })
            .collect();
        Standardizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        }
    }

    /// The number of features it was fitted on.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// `(x - mean) / std` for each column of `x` (`[n, f]`).
    ///
    /// # Panics
    /// Panics if `x` is not 2-D with [`n_features`](Standardizer::n_features) columns.
    #[track_caller]
    pub fn transform(&self, x: &Array) -> Array {
        self.check(x, "transform");
        let mut out = x.clone();
        let f = self.mean.len();
        if f > 0 {
            for row in out.data_mut().chunks_mut(f) {
                for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                    *v = (*v - m) / s;
                }
            }
        }
        out
    }

    /// `x · std + mean`, undoing [`transform`](Standardizer::transform).
    ///
    /// # Panics
    /// Panics if `x` is not 2-D with [`n_features`](Standardizer::n_features) columns.
    #[track_caller]
    pub fn inverse_transform(&self, x: &Array) -> Array {
        self.check(x, "inverse_transform");
        let mut out = x.clone();
        let f = self.mean.len();
        if f > 0 {
            for row in out.data_mut().chunks_mut(f) {
                for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                    *v = *v * s + m;
                }
            }
        }
        out
    }

    #[track_caller]
    fn check(&self, x: &Array, op: &str) {
        assert!(
            x.ndim() == 2 && x.shape()[1] == self.mean.len(),
            "Standardizer::{op}: fitted on {} features, got shape {:?}",
            self.mean.len(),
            x.shape()
        );
    }

    /// The means and the stds as comma-separated lists (e.g. for safetensors metadata), each
    /// value in the shortest form that reads back to the same `f32`.
    pub fn to_strings(&self) -> (String, String) {
        let join = |v: &[f32]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        (join(&self.mean), join(&self.std))
    }

    /// Reads back what [`to_strings`](Standardizer::to_strings) wrote.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a list is empty, holds something that is not a finite
    /// number, a std is not positive, or the lists differ in length.
    pub fn from_strings(mean: &str, std: &str) -> Result<Standardizer> {
        let parse = |what: &str, s: &str| -> Result<Vec<f32>> {
            if s.trim().is_empty() {
                return Err(Error::invalid(format!("standardizer {what}: empty list")));
            }
            s.split(',')
                .enumerate()
                .map(|(i, t)| {
                    let v: f32 = t.trim().parse().map_err(|_| {
                        Error::invalid(format!(
                            "standardizer {what}: value {} \"{}\" is not a number",
                            i + 1,
                            super::snippet(t)
                        ))
                    })?;
                    if !v.is_finite() {
                        return Err(Error::invalid(format!(
                            "standardizer {what}: value {} is not finite",
                            i + 1
                        )));
                    }
                    Ok(v)
                })
                .collect()
        };
        let mean = parse("mean", mean)?;
        let std = parse("std", std)?;
        if mean.len() != std.len() {
            return Err(Error::invalid(format!(
                "standardizer: {} means but {} stds",
                mean.len(),
                std.len()
            )));
        }
        if let Some(i) = std.iter().position(|&s| s <= 0.0) {
            return Err(Error::invalid(format!(
                "standardizer std: value {} is not positive",
                i + 1
            )));
        }
        Ok(Standardizer { mean, std })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{digits, iris};

    fn labelled(labels: &[f32]) -> Dataset {
        let n = labels.len();
        let x = Array::new(&[n, 1], (0..n).map(|i| i as f32).collect());
        Dataset::from_arrays(x, Array::new(&[n], labels.to_vec())).unwrap()
    }

    #[test]
    fn stratified_keeps_each_class_share() {
        let ds = digits();
        let (train, test) = stratified_split(&ds, 0.2, &mut Generator::new(0)).unwrap();
        assert_eq!((train.len(), test.len()), (1437, 360));
        let all = ds.class_counts().unwrap();
        let te = test.class_counts().unwrap();
        let tr = train.class_counts().unwrap();
        for c in 0..10 {
            assert_eq!(tr[c] + te[c], all[c]);
            let share = te[c] as f64 / all[c] as f64;
            assert!((share - 0.2).abs() < 0.01, "class {c}: {share}");
        }
        let (_, test) = stratified_split(&iris(), 0.2, &mut Generator::new(0)).unwrap();
        assert_eq!(test.class_counts().unwrap(), vec![10, 10, 10]);
    }

    #[test]
    fn stratified_is_a_partition_and_deterministic() {
        let ds = digits();
        let (a_train, a_test) = stratified_split(&ds, 0.2, &mut Generator::new(7)).unwrap();
        let (b_train, b_test) = stratified_split(&ds, 0.2, &mut Generator::new(7)).unwrap();
        assert_eq!((&a_train, &a_test), (&b_train, &b_test));
        let (c_train, _) = stratified_split(&ds, 0.2, &mut Generator::new(8)).unwrap();
        assert_ne!(a_train.x, c_train.x);

        // Rows are identified by their index in a 1-feature dataset.
        let labels: Vec<f32> = (0..103).map(|i| (i % 4) as f32).collect();
        let ds = labelled(&labels);
        let (train, test) = stratified_split(&ds, 0.25, &mut Generator::new(1)).unwrap();
        let mut rows: Vec<f32> = train
            .x
            .data()
            .iter()
            .chain(test.x.data())
            .copied()
            .collect();
        // Each row keeps its label.
        for (x, y) in train.x.data().iter().zip(train.y.data()) {
            assert_eq!(labels[*x as usize], *y);
        }
        // Shuffled, not in class order.
        assert_ne!(
            train.y.data()[..10],
            [0., 0., 0., 0., 0., 0., 0., 0., 0., 0.]
        );
        rows.sort_by(f32::total_cmp);
        assert_eq!(rows, (0..103).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(test.len(), 26); // ceil(0.25 * 103)
    }

    #[test]
    fn approximate_mode_matches_sklearn() {
        // counts / 1797 * 1437 for digits' classes has floors summing to 1432 and remainders
        // .34 .539232 .5409 .34 .7396 .539232 .7396 .14 .14 .94: the 5 extra draws go to class 9,
        // classes 4 and 6, class 2, and one of the tied classes 1 and 5 (chosen at random, as
        // sklearn.utils._approximate_mode does with its rng).
        let counts = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];
        for seed in 0..20 {
            let got = approximate_mode(&counts, 1437, &mut Generator::new(seed));
            let floors = [142, 145, 141, 146, 144, 145, 144, 143, 139, 143];
            let extra: Vec<usize> = got.iter().zip(floors).map(|(g, f)| g - f).collect();
            assert_eq!(extra.iter().sum::<usize>(), 5);
            assert_eq!([extra[9], extra[4], extra[6], extra[2]], [1, 1, 1, 1]);
            assert_eq!(extra[1] + extra[5], 1);
        }
        let pick = |seed| approximate_mode(&counts, 1437, &mut Generator::new(seed))[1];
        assert!((0..20).any(|s| pick(s) == 146) && (0..20).any(|s| pick(s) == 145));
        // No ties: deterministic whatever the generator.
        assert_eq!(
            approximate_mode(&[5, 3, 2], 4, &mut Generator::new(3)),
            vec![2, 1, 1]
        );
    }

    #[test]
    fn split_errors() {
        let ds = labelled(&[0., 0., 1., 1.]);
        let mut g = Generator::new(0);
        for bad in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(stratified_split(&ds, bad, &mut g).is_err());
            assert!(random_split(&ds, bad, &mut g).is_err());
        }
        let e = stratified_split(&labelled(&[0., 0., 1.]), 0.5, &mut g)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "class 1 has only 1 row; a stratified split needs at least 2 per class"
        );
        let e = stratified_split(&labelled(&[0., 0., 1., 1., 2., 2.]), 0.2, &mut g).unwrap_err();
        assert!(e.to_string().contains("cannot hold all 3 classes"), "{e}");
        let regression =
            Dataset::from_arrays(Array::zeros(&[4, 1]), Array::new(&[4], vec![0.5; 4])).unwrap();
        assert!(stratified_split(&regression, 0.5, &mut g).is_err());
        assert!(random_split(&labelled(&[0.]), 0.5, &mut g).is_err());
    }

    #[test]
    fn random_split_sizes_and_partition() {
        let ds = labelled(&[0.; 10]);
        let (train, test) = random_split(&ds, 0.3, &mut Generator::new(2)).unwrap();
        assert_eq!((train.len(), test.len()), (7, 3));
        let mut rows: Vec<f32> = train
            .x
            .data()
            .iter()
            .chain(test.x.data())
            .copied()
            .collect();
        rows.sort_by(f32::total_cmp);
        assert_eq!(rows, (0..10).map(|i| i as f32).collect::<Vec<_>>());
        let again = random_split(&ds, 0.3, &mut Generator::new(2)).unwrap();
        assert_eq!(again.1, test);
    }

    #[test]
    fn standardizer_matches_numpy() {
        // X = np.array([[1, 5, -2, .1], [2, 5, .5, .2], [4, 5, 3.25, .7], [10, 5, -1, .3],
        //               [.5, 5, 2, .2]], dtype=np.float32)
        // m = X.astype(np.float64).mean(0); s = X.astype(np.float64).std(0); s[s == 0] = 1
        // ((X - m) / s).astype(np.float32)
        let x = Array::new(
            &[5, 4],
            vec![
                1.0, 5.0, -2.0, 0.1, 2.0, 5.0, 0.5, 0.2, 4.0, 5.0, 3.25, 0.7, 10.0, 5.0, -1.0, 0.3,
                0.5, 5.0, 2.0, 0.2,
            ],
        );
        let s = Standardizer::fit(&x);
        assert_eq!(s.mean, vec![3.5, 5.0, 0.55, 0.3]);
        let std_np = [3.4641016f32, 1.0, 1.9131126, 0.20976177];
        for (a, b) in s.std.iter().zip(std_np) {
            assert!((a - b).abs() <= 1e-6 * b, "{a} vs {b}");
        }
        let expected = [
            [
                -0.7216878533363342,
                0.0,
                -1.3329063653945923,
                -0.9534626007080078,
            ],
            [
                -0.4330126941204071,
                0.0,
                -0.026135418564081192,
                -0.4767313003540039,
            ],
            [
                0.14433756470680237,
                0.0,
                1.4113125801086426,
                1.9069252014160156,
            ],
            [
                1.876388430595398,
                0.0,
                -0.8101979494094849,
                4.97269496690933e-08,
            ],
            [
                -0.8660253882408142,
                0.0,
                0.7579271197319031,
                -0.4767313003540039,
            ],
        ];
        let t = s.transform(&x);
        for (r, row) in expected.iter().enumerate() {
            for (c, &e) in row.iter().enumerate() {
                let got = t.data()[r * 4 + c];
                assert!((got - e as f32).abs() < 1e-6, "[{r}, {c}]: {got} vs {e}");
            }
        }
        let back = s.inverse_transform(&t);
        for (a, b) in back.data().iter().zip(x.data()) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn standardizer_guards_constant_digit_columns() {
        let (train, _) = stratified_split(&digits(), 0.2, &mut Generator::new(0)).unwrap();
        let s = Standardizer::fit(&train.x);
        let t = s.transform(&train.x);
        assert!(t.data().iter().all(|v| v.is_finite()));
        assert_eq!(s.std[0], 1.0);
        assert_eq!(s.std[32], 1.0);
        assert!((0..train.len()).all(|r| t.data()[r * 64] == 0.0));
    }

    #[test]
    fn standardizer_strings_round_trip_bit_exactly() {
        let s = Standardizer {
            mean: vec![0.1, -3.25e-7, 123456.79],
            std: vec![1.0, 0.33333334, 7e-12],
        };
        let (m, d) = s.to_strings();
        assert_eq!(m, "0.1,-0.000000325,123456.79");
        assert_eq!(Standardizer::from_strings(&m, &d).unwrap(), s);
        let err = |m: &str, d: &str| Standardizer::from_strings(m, d).unwrap_err().to_string();
        assert_eq!(err("1,2", "1"), "standardizer: 2 means but 1 stds");
        assert_eq!(
            err("1,x", "1,1"),
            "standardizer mean: value 2 \"x\" is not a number"
        );
        assert_eq!(err("", ""), "standardizer mean: empty list");
        assert_eq!(err("1", "0"), "standardizer std: value 1 is not positive");
        assert_eq!(err("1", "inf"), "standardizer std: value 1 is not finite");
    }

    #[test]
    #[should_panic(expected = "Standardizer::transform: fitted on 2 features, got shape [1, 3]")]
    fn transform_checks_width() {
        Standardizer::fit(&Array::zeros(&[2, 2])).transform(&Array::zeros(&[1, 3]));
    }
}
