//! `metrics.jsonl`: one JSON line per epoch, written into the run folder as training goes (not
//! kept in memory: a run of 10⁶ epochs holds as much as a run of ten), with a bounded sample
//! kept for the report's curves.

use crate::output::Created;
use anyhow::{Context, Result};
use backprop::train::Evaluation;
use backprop::viz::MetricsHistory;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The metrics file's name inside a run folder.
pub const FILE: &str = "metrics.jsonl";

/// How many epochs [`MetricsLog::record`] keeps as numbers before it writes them as lines:
/// formatting a run of lines at once, rather than one between every two epochs, keeps a run
/// of tiny epochs from paying for it in cache misses (their lines are buffered anyway).
const PENDING_EPOCHS: usize = 64;

/// The run folder's metrics file, open for appending, and the history the report draws.
pub struct MetricsLog {
    path: PathBuf,
    out: BufWriter<File>,
    /// The line being built (reused: formatting an epoch allocates nothing).
    line: String,
    /// The fields of the epoch being recorded (reused).
    fields: Vec<(&'static str, f64)>,
    /// Epochs recorded but not yet written: their field names (the same for each), their
    /// values one epoch after another, and the device they ran on.
    pending_keys: Vec<&'static str>,
    pending: Vec<f64>,
    device: String,
    /// The learning rate last written and its text (it seldom changes between epochs).
    lr: (f64, String),
    /// What the report's curves draw (complete after [`flush`](MetricsLog::flush)).
    history: MetricsHistory,
}

impl MetricsLog {
    /// Starts `dir/metrics.jsonl` for a new run.
    pub fn create(dir: &Path, created: &mut Created) -> Result<MetricsLog> {
        let path = dir.join(FILE);
        let file = File::create(&path).with_context(|| format!("writing {}", path.display()))?;
        created.add(&path);
        Ok(MetricsLog::new(path, file, MetricsHistory::new()))
    }

    /// Continues `dir/metrics.jsonl` after a checkpoint of `epochs` epochs: its lines up to
    /// that epoch are kept (lines written after the checkpoint, by a run that then stopped, are
    /// dropped: those epochs are trained again) and read back into the history.
    pub fn resume(dir: &Path, epochs: usize, created: &mut Created) -> Result<MetricsLog> {
        let path = dir.join(FILE);
        let mut history = MetricsHistory::new();
        let mut kept: u64 = 0;
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let line = line.with_context(|| format!("reading {}", path.display()))?;
                if history.epochs() == epochs {
                    break;
                }
                if history.push_json_line(&line) {
                    kept += line.len() as u64 + 1;
                }
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        file.set_len(kept)
            .with_context(|| format!("writing {}", path.display()))?;
        created.keep(&path);
        Ok(MetricsLog::new(path, file, history))
    }

    fn new(path: PathBuf, file: File, history: MetricsHistory) -> MetricsLog {
        MetricsLog {
            path,
            out: BufWriter::with_capacity(1 << 16, file),
            line: String::with_capacity(256),
            fields: Vec::with_capacity(16),
            pending_keys: Vec::with_capacity(16),
            pending: Vec::with_capacity(16 * PENDING_EPOCHS),
            device: String::new(),
            lr: (f64::NAN, String::new()),
            history,
        }
    }

    /// Where the lines go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records one epoch: its line goes to the file and its numbers to the history, a few
    /// dozen epochs at a time (see [`flush`](MetricsLog::flush)).
    pub fn record(
        &mut self,
        epoch: usize,
        loss: f64,
        lr: f64,
        evals: &[(&'static str, Evaluation)],
        seconds: f64,
        device: &str,
    ) -> Result<()> {
        self.fields.clear();
        self.fields
            .extend([("epoch", epoch as f64), ("loss", loss), ("lr", lr)]);
        for (set, e) in evals {
            self.fields.push((key(set, "loss"), e.loss));
            if let Some(a) = e.accuracy() {
                self.fields.push((key(set, "accuracy"), a));
            }
            // A binary classifier: class 1's precision, recall and F1, and the ROC AUC.
            if let (Some(cm), Some(auc)) = (&e.confusion, e.auc) {
                for (k, v) in [
                    ("precision", cm.precision(1)),
                    ("recall", cm.recall(1)),
                    ("f1", cm.f1(1)),
                    ("auc", auc),
                ] {
                    self.fields.push((key(set, k), v));
                }
            }
            for (k, v) in [("mse", e.mse), ("mae", e.mae), ("r2", e.r2)] {
                if let Some(v) = v {
                    self.fields.push((key(set, k), v));
                }
            }
        }
        self.fields.push(("time_s", seconds));
        // The same fields (the same names, by address) on the same device as the epochs
        // waiting: this one joins them; else they are written first.
        let same = self.pending_keys.len() == self.fields.len()
            && self
                .pending_keys
                .iter()
                .zip(&self.fields)
                .all(|(a, (b, _))| std::ptr::eq(*a, *b))
            && self.device == device;
        if !same {
            self.write_pending()?;
            self.pending_keys.clear();
            self.pending_keys
                .extend(self.fields.iter().map(|&(k, _)| k));
            self.device.clear();
            self.device.push_str(device);
        }
        self.pending.extend(self.fields.iter().map(|&(_, v)| v));
        if self.pending.len() >= PENDING_EPOCHS * self.pending_keys.len() {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Writes the epochs waiting as lines, and adds them to the history.
    fn write_pending(&mut self) -> Result<()> {
        let width = self.pending_keys.len();
        if width == 0 {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        for values in pending.chunks_exact(width) {
            self.write_line(values)?;
            self.fields.clear();
            self.fields.extend(
                self.pending_keys
                    .iter()
                    .copied()
                    .zip(values.iter().copied()),
            );
            self.history.push(&self.fields);
        }
        self.pending = pending;
        self.pending.clear();
        Ok(())
    }

    /// Writes one epoch's line: `values` in the order of `pending_keys`, which are epoch, loss
    /// and lr, the held-out metrics, and time_s.
    fn write_line(&mut self, values: &[f64]) -> Result<()> {
        // The fixed fields first, then the held-out metrics, then time and device: each key is
        // known here, so no field's key is compared to pick its format.
        let line = &mut self.line;
        line.clear();
        line.push_str("{\"epoch\":");
        line.push_str(itoa::Buffer::new().format(values[0] as u64));
        line.push_str(",\"loss\":");
        push_number(line, values[1]);
        line.push_str(",\"lr\":");
        let lr = values[2];
        if lr.to_bits() != self.lr.0.to_bits() {
            self.lr.1.clear();
            push_number(&mut self.lr.1, lr);
            self.lr.0 = lr;
        }
        line.push_str(&self.lr.1);
        let last = values.len() - 1;
        for (k, &v) in self.pending_keys[3..last].iter().zip(&values[3..last]) {
            line.push_str(",\"");
            line.push_str(k);
            line.push_str("\":");
            push_number(line, v);
        }
        line.push_str(",\"time_s\":");
        push_seconds(line, values[last]);
        line.push_str(",\"device\":\"");
        line.push_str(&self.device);
        line.push_str("\"}\n");
        self.out
            .write_all(self.line.as_bytes())
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// Writes every epoch recorded to the file (before a checkpoint, and at the end), and
    /// completes the history.
    pub fn flush(&mut self) -> Result<()> {
        self.write_pending()?;
        self.out
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// The history of the epochs recorded, as of the last [`flush`](MetricsLog::flush).
    pub fn history(&self) -> &MetricsHistory {
        &self.history
    }
}

impl Drop for MetricsLog {
    /// A run that ends early (an error, a NaN loss) still leaves every epoch it recorded in
    /// the file.
    fn drop(&mut self) {
        let _ = self.write_pending();
    }
}

/// `"{set}_{metric}"` for the sets and metrics an epoch records, without allocating.
fn key(set: &str, metric: &str) -> &'static str {
    match (set, metric) {
        ("val", "loss") => "val_loss",
        ("val", "accuracy") => "val_accuracy",
        ("val", "precision") => "val_precision",
        ("val", "recall") => "val_recall",
        ("val", "f1") => "val_f1",
        ("val", "auc") => "val_auc",
        ("val", "mse") => "val_mse",
        ("val", "mae") => "val_mae",
        ("val", "r2") => "val_r2",
        ("test", "loss") => "test_loss",
        ("test", "accuracy") => "test_accuracy",
        ("test", "precision") => "test_precision",
        ("test", "recall") => "test_recall",
        ("test", "f1") => "test_f1",
        ("test", "auc") => "test_auc",
        ("test", "mse") => "test_mse",
        ("test", "mae") => "test_mae",
        ("test", "r2") => "test_r2",
        _ => unreachable!("no metric {set}_{metric}"),
    }
}

/// A JSON number: the shortest text that reads back as `v`; `null` for a non-finite value,
/// which JSON cannot express.
fn push_number(out: &mut String, v: f64) {
    if v.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(v));
    } else {
        out.push_str("null");
    }
}

/// Seconds to the microsecond, as a decimal (`0.000012`, `3.5`): a clock reading has no more
/// digits worth writing, and this costs far less than the shortest round-trip form.
fn push_seconds(out: &mut String, seconds: f64) {
    if !(seconds.is_finite() && (0.0..1e12).contains(&seconds)) {
        push_number(out, seconds);
        return;
    }
    let micros = (seconds * 1e6).round() as u64;
    out.push_str(itoa::Buffer::new().format(micros / 1_000_000));
    let fraction = micros % 1_000_000;
    if fraction == 0 {
        out.push_str(".0");
    } else {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(fraction);
        out.push('.');
        out.extend(std::iter::repeat_n('0', 6 - digits.len()));
        out.push_str(digits.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("backprop-metrics-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn seconds_are_written_to_the_microsecond() {
        let cases = [
            (0.5, "0.5"),
            (3.0, "3.0"),
            (0.0, "0.0"),
            (1.2e-5, "0.000012"),
            (4e-7, "0.0"),
            (12.3456789, "12.345679"),
            (86_400.25, "86400.25"),
            (f64::NAN, "null"),
            (1e15, "1000000000000000.0"),
        ];
        for (seconds, want) in cases {
            let mut s = String::new();
            push_seconds(&mut s, seconds);
            assert_eq!(s, want, "{seconds}");
        }
    }

    #[test]
    fn a_learning_rate_that_changes_is_written_as_it_is() {
        let dir = temp("lr");
        let mut created = Created::default();
        let mut log = MetricsLog::create(&dir, &mut created).unwrap();
        let lrs = [0.1, 0.1, 0.01, 0.01, 1e-3, f64::NAN, 0.1];
        for (i, &lr) in lrs.iter().enumerate() {
            log.record(i + 1, 1.0, lr, &[], 0.25, "cpu").unwrap();
        }
        log.flush().unwrap();
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        for (line, &lr) in text.lines().zip(&lrs) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            match v["lr"].as_f64() {
                Some(got) => assert_eq!(got, lr, "{line}"),
                None => assert!(lr.is_nan() && v["lr"].is_null(), "{line}"),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lines_are_json_and_resume_drops_epochs_after_the_checkpoint() {
        let dir = temp("resume");
        let mut created = Created::default();
        let mut log = MetricsLog::create(&dir, &mut created).unwrap();
        for epoch in 1..=5 {
            let loss = if epoch == 3 {
                f64::NAN
            } else {
                1.0 / epoch as f64
            };
            log.record(epoch, loss, 1e-3, &[], 0.5, "cpu").unwrap();
        }
        log.flush().unwrap();
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            lines[0],
            r#"{"epoch":1,"loss":1.0,"lr":0.001,"time_s":0.5,"device":"cpu"}"#
        );
        for l in &lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["epoch"].is_u64());
        }
        assert!(lines[2].contains("\"loss\":null"));
        assert_eq!(log.history().total("time_s"), Some(2.5));
        drop(log);

        let mut log = MetricsLog::resume(&dir, 2, &mut created).unwrap();
        assert_eq!(log.history().epochs(), 2);
        log.record(3, 0.3, 1e-3, &[], 0.5, "cpu").unwrap();
        log.flush().unwrap();
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        let epochs: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(epochs, vec![1, 2, 3]);
        created.keep_all();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
