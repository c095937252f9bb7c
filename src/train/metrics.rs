//! Evaluation metrics: accuracy, confusion matrix with per-class precision and recall, and
//! MSE/MAE/R² for regressors.

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
}

impl Evaluation {
    /// Metrics of `outputs` (`[n, k]`) against `targets` (`[n]` class indices when
    /// `n_classes` is given; else `[n]` or `[n, k]` values).
    pub fn new(loss: f64, outputs: &Array, targets: &Array, n_classes: Option<usize>) -> Self {
        let mut e = Evaluation {
            loss,
            confusion: None,
            mse: None,
            mae: None,
            r2: None,
        };
        if let Some(k) = n_classes {
            let width = outputs.shape().get(1).copied().unwrap_or(1);
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

    /// Classification accuracy, if this is a classifier's evaluation.
    pub fn accuracy(&self) -> Option<f64> {
        self.confusion.as_ref().map(|c| c.accuracy())
    }
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

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[1.0, f32::NAN, 3.0]), 1);
    }
}
