//! Evaluation metrics: accuracy, confusion matrix with per-class precision, recall and F1,
//! ROC AUC for a binary classifier, and MSE/MAE/R² for regressors.

use crate::tensor::Array;
use std::fmt;

/// Counts of (true class, predicted class) pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionMatrix {
    /// `counts[t][p]`: rows whose true class is `t` and predicted class `p`.
    pub counts: Vec<Vec<usize>>,
}

impl ConfusionMatrix {
    /// Builds the matrix from class-index predictions and targets.
    pub fn new(n_classes: usize, targets: &[usize], predictions: &[usize]) -> Self {
        let mut counts = vec![vec![0; n_classes]; n_classes];
        for (&t, &p) in targets.iter().zip(predictions) {
            if t < n_classes && p < n_classes {
                counts[t][p] += 1;
            }
        }
        ConfusionMatrix { counts }
    }

    /// The number of classes.
    pub fn n_classes(&self) -> usize {
        self.counts.len()
    }

    /// The fraction of rows on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let total: usize = self.counts.iter().flatten().sum();
        let right: usize = (0..self.n_classes()).map(|i| self.counts[i][i]).sum();
        if total == 0 {
            0.0
        } else {
            right as f64 / total as f64
        }
    }

    /// Precision of class `c`: right predictions of `c` over all predictions of `c` (0 if none).
    pub fn precision(&self, c: usize) -> f64 {
        let predicted: usize = self.counts.iter().map(|row| row[c]).sum();
        ratio(self.counts[c][c], predicted)
    }

    /// Recall of class `c`: right predictions of `c` over all rows of class `c` (0 if none).
    pub fn recall(&self, c: usize) -> f64 {
        ratio(self.counts[c][c], self.counts[c].iter().sum())
    }

    /// F1 of class `c`: the harmonic mean of its precision and recall (0 if both are 0).
    pub fn f1(&self, c: usize) -> f64 {
        let (p, r) = (self.precision(c), self.recall(c));
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// The area under the ROC curve of `scores` (higher: more likely positive) against `positive`,
/// as scikit-learn's `roc_auc_score`: the probability that a random positive row scores above
/// a random negative one, ties counting one half (the Mann–Whitney U statistic over
/// `n_pos · n_neg`, from ranks with ties averaged). `None` when either class is absent (the
/// curve is undefined; scikit-learn raises). NaN scores rank above every number.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let n = scores.len().min(positive.len());
    let n_pos = positive[..n].iter().filter(|&&p| p).count();
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the positives' 1-based ranks, each run of equal scores taking its mean rank.
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
        while j < n && same(scores[order[j]], scores[order[i]]) {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        let pos_in_run = order[i..j].iter().filter(|&&k| positive[k]).count();
        rank_sum += mean_rank * pos_in_run as f64;
        i = j;
    }
    let (p, q) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * q))
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A table: rows are true classes, columns predicted classes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.n_classes();
        let width = self
            .counts
            .iter()
            .flatten()
            .max()
            .copied()
            .unwrap_or(0)
            .to_string()
            .len()
            .max(n.to_string().len())
            .max(3);
        write!(f, "{:>6} |", "true")?;
        for p in 0..n {
            write!(f, " {p:>width$}")?;
        }
        writeln!(f, "   (columns: predicted)")?;
        writeln!(f, "{}", "-".repeat(8 + n * (width + 1)))?;
        for (t, row) in self.counts.iter().enumerate() {
            write!(f, "{t:>6} |")?;
            for c in row {
                write!(f, " {c:>width$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The result of evaluating a model on a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The loss (mean reduction).
    pub loss: f64,
    /// Classification: the confusion matrix (accuracy, precision and recall derive from it).
    pub confusion: Option<ConfusionMatrix>,
    /// Regression: mean squared error over all outputs.
    pub mse: Option<f64>,
    /// Regression: mean absolute error.
    pub mae: Option<f64>,
    /// Regression: coefficient of determination, 1 − SS_res/SS_tot over all outputs.
    pub r2: Option<f64>,
    /// A binary classifier (one logit): the ROC AUC of the logits against the labels; NaN
    /// when the data holds one class only (see [`roc_auc`]).
    pub auc: Option<f64>,
}

impl Evaluation {
    /// Metrics of `outputs` (`[n, k]`) against `targets` (`[n]` class indices when
    /// `n_classes` is given; else `[n]` or `[n, k]` values). One output with `n_classes =
    /// Some(2)` is a binary classifier's logit: see [`Evaluation::binary`] (threshold 0.5).
    pub fn new(loss: f64, outputs: &Array, targets: &Array, n_classes: Option<usize>) -> Self {
        let width = outputs.shape().get(1).copied().unwrap_or(1);
        if n_classes == Some(2) && width == 1 {
            return Self::binary(loss, outputs, targets, 0.5);
        }
        let mut e = Evaluation {
            loss,
            confusion: None,
            mse: None,
            mae: None,
            r2: None,
            auc: None,
        };
        if let Some(k) = n_classes {
            let preds: Vec<usize> = outputs.data().chunks(width.max(1)).map(argmax).collect();
            let truth: Vec<usize> = targets.data().iter().map(|&t| t as usize).collect();
            e.confusion = Some(ConfusionMatrix::new(k, &truth, &preds));
        } else {
            let (o, t) = (outputs.data(), targets.data());
            let n = o.len().min(t.len()).max(1) as f64;
            let mean_t = t.iter().map(|&v| v as f64).sum::<f64>() / n;
            let (mut se, mut ae, mut tot) = (0.0, 0.0, 0.0);
            for (&a, &b) in o.iter().zip(t) {
                let d = a as f64 - b as f64;
                se += d * d;
                ae += d.abs();
                tot += (b as f64 - mean_t).powi(2);
            }
            e.mse = Some(se / n);
            e.mae = Some(ae / n);
            e.r2 = Some(if tot > 0.0 { 1.0 - se / tot } else { 0.0 });
        }
        e
    }

    /// A binary classifier's metrics: `logits` (`[n]` or `[n, 1]`) against 0/1 `targets`. Row
    /// `i` is predicted class 1 when its probability `sigmoid(logit)` is above `threshold`
    /// (scikit-learn's `predict` at 0.5); the ROC AUC ranks the logits.
    pub fn binary(loss: f64, logits: &Array, targets: &Array, threshold: f64) -> Self {
        let (o, t) = (logits.data(), targets.data());
        let truth: Vec<usize> = t.iter().map(|&v| usize::from(v >= 0.5)).collect();
        let preds: Vec<usize> = o
            .iter()
            .map(|&x| usize::from(sigmoid(x as f64) > threshold))
            .collect();
        let positive: Vec<bool> = truth.iter().map(|&c| c == 1).collect();
        Evaluation {
            loss,
            confusion: Some(ConfusionMatrix::new(2, &truth, &preds)),
            mse: None,
            mae: None,
            r2: None,
            auc: Some(roc_auc(o, &positive).unwrap_or(f64::NAN)),
        }
    }

    /// Classification accuracy, if this is a classifier's evaluation.
    pub fn accuracy(&self) -> Option<f64> {
        self.confusion.as_ref().map(|c| c.accuracy())
    }

    /// The metrics by name, for logs: `accuracy` for a classifier, with `precision`, `recall`,
    /// `f1` (of class 1) and `auc` for a binary one; `mse`, `mae` and `r2` for a regressor.
    /// The loss is not among them.
    pub fn scalars(&self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        if let Some(cm) = &self.confusion {
            out.push(("accuracy", cm.accuracy()));
            if let Some(auc) = self.auc {
                out.push(("precision", cm.precision(1)));
                out.push(("recall", cm.recall(1)));
                out.push(("f1", cm.f1(1)));
                out.push(("auc", auc));
            }
        }
        for (k, v) in [("mse", self.mse), ("mae", self.mae), ("r2", self.r2)] {
            if let Some(v) = v {
                out.push((k, v));
            }
        }
        out
    }
}

/// The logistic function, in f64 (a probability from a logit).
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Index of the largest value (the first, on ties; NaN counts as largest, as `torch.argmax`).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if row[best].is_nan() {
            break;
        }
        if v.is_nan() || v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrix_metrics() {
        let cm = ConfusionMatrix::new(3, &[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 2, 0]);
        assert_eq!(cm.counts, vec![vec![1, 1, 0], vec![0, 1, 0], vec![1, 0, 2]]);
        assert!((cm.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(cm.precision(1), 0.5);
        assert_eq!(cm.recall(2), 2.0 / 3.0);
        assert!(cm.to_string().contains("true"));
    }

    #[test]
    fn regression_metrics() {
        let out = Array::new(&[4, 1], vec![1.0, 2.0, 3.0, 5.0]);
        let y = Array::new(&[4], vec![1.0, 2.0, 3.0, 4.0]);
        let e = Evaluation::new(0.25, &out, &y, None);
        assert_eq!(e.mse, Some(0.25));
        assert_eq!(e.mae, Some(0.25));
        // SS_tot = 5, SS_res = 1
        assert!((e.r2.unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(e.accuracy(), None);
    }

    /// scikit-learn 1.9.1, `roc_auc_score(y, s)`:
    /// `y = [0, 0, 1, 1]`, `s = [0.1, 0.4, 0.35, 0.8]` → 0.75;
    /// `y = [1, 0, 1, 0, 1, 0]`, `s = [0.5, 0.5, 0.9, 0.1, 0.5, 0.5]` → 0.7777... (7/9; the
    /// ties at 0.5 count one half: 2 positives × 2 negatives tied, out of 9 pairs).
    #[test]
    fn roc_auc_matches_scikit_learn_with_ties() {
        let auc = |s: &[f32], y: &[u8]| roc_auc(s, &y.iter().map(|&v| v == 1).collect::<Vec<_>>());
        assert!((auc(&[0.1, 0.4, 0.35, 0.8], &[0, 0, 1, 1]).unwrap() - 0.75).abs() < 1e-12);
        let tied = auc(&[0.5, 0.5, 0.9, 0.1, 0.5, 0.5], &[1, 0, 1, 0, 1, 0]).unwrap();
        assert!((tied - 7.0 / 9.0).abs() < 1e-12, "{tied}");
        // Perfect, reversed, all tied, one class only.
        assert_eq!(auc(&[1.0, 2.0, 3.0], &[0, 1, 1]), Some(1.0));
        assert_eq!(auc(&[3.0, 2.0, 1.0], &[0, 1, 1]), Some(0.0));
        assert_eq!(auc(&[2.0, 2.0, 2.0], &[0, 1, 1]), Some(0.5));
        assert_eq!(auc(&[1.0, 2.0], &[1, 1]), None);
    }

    #[test]
    fn binary_evaluation_thresholds_the_probability() {
        // Logits → probabilities 0.12, 0.38, 0.62, 0.88, 0.5.
        let logits = Array::new(&[5, 1], vec![-2.0, -0.5, 0.5, 2.0, 0.0]);
        let y = Array::new(&[5], vec![0.0, 1.0, 0.0, 1.0, 1.0]);
        let e = Evaluation::new(0.3, &logits, &y, Some(2));
        // At 0.5 (logit 0 is not above it): predicted 0, 0, 1, 1, 0.
        let cm = e.confusion.as_ref().unwrap();
        assert_eq!(cm.counts, vec![vec![1, 1], vec![2, 1]]);
        assert_eq!((cm.precision(1), cm.recall(1)), (0.5, 1.0 / 3.0));
        assert!((cm.f1(1) - 0.4).abs() < 1e-12);
        // Ranks of the logits: negatives at ranks 1 and 4; positives 2, 3 and 5: 4/6 pairs
        // (scikit-learn 1.9.1: `roc_auc_score([0, 1, 0, 1, 1], [-2, -0.5, 0.5, 2, 0])` = 0.6667).
        assert!((e.auc.unwrap() - 4.0 / 6.0).abs() < 1e-12);
        let names: Vec<&str> = e.scalars().iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["accuracy", "precision", "recall", "f1", "auc"]);
        // A lower threshold takes the 0.38 and 0.5 rows as positive too.
        let low = Evaluation::binary(0.3, &logits, &y, 0.3);
        assert_eq!(low.confusion.unwrap().counts, vec![vec![1, 1], vec![0, 3]]);
        assert!(low.auc == e.auc);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[1.0, f32::NAN, 3.0]), 1);
    }
}
