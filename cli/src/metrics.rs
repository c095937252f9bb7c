//! `metrics.jsonl`: one JSON line per epoch, written into the run folder as training goes (not
//! kept in memory: a run of 10⁶ epochs holds as much as a run of ten), with a bounded sample
//! kept for the report's curves.
//!
//! The training loop only collects each epoch's numbers; a writer thread formats them as lines,
//! appends them to the file and keeps the history. The loop hands over a batch of epochs at a
//! time: [`BATCH_EPOCHS`] of them, or fewer once they took [`BATCH_SECONDS`], so tiny epochs
//! do not pay for a line between every two steps and slow epochs still reach the file one by
//! one, as they end.

use crate::output::Created;
use anyhow::{anyhow, Context, Result};
use backprop::train::Evaluation;
use backprop::viz::MetricsHistory;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

/// The metrics file's name inside a run folder.
pub const FILE: &str = "metrics.jsonl";

/// The most epochs [`MetricsLog::record`] collects before it hands them to the writer.
const BATCH_EPOCHS: usize = 256;

/// The training time after which the epochs collected go to the writer however few they are,
/// in seconds: a line reaches the file at most this long after its epoch (or at once, for an
/// epoch that took longer).
const BATCH_SECONDS: f64 = 0.25;

/// Batches handed over but not yet written, at most: a writer that falls behind (a slow disk)
/// holds the training loop back rather than letting batches pile up in memory.
const BATCHES_IN_FLIGHT: usize = 4;

/// The run folder's metrics file, open for appending, and the history the report draws.
pub struct MetricsLog {
    path: PathBuf,
    /// The fields of the epoch being recorded (reused).
    fields: Vec<(&'static str, f64)>,
    /// The epochs collected for the writer, and how long they took to train.
    batch: Batch,
    batch_seconds: f64,
    /// Batches the writer gave back, to collect into again (nothing is allocated per batch).
    spares: Vec<Batch>,
    to_writer: Option<SyncSender<ToWriter>>,
    from_writer: Receiver<FromWriter>,
    writer: Option<JoinHandle<Lines>>,
    /// Why the writer failed, once it has: every later hand-over and flush reports it.
    failed: Option<String>,
}

/// Epochs collected for the writer: their field names (the same for each) and their values,
/// one epoch after another.
#[derive(Default)]
struct Batch {
    keys: Vec<&'static str>,
    values: Vec<f64>,
    epochs: usize,
}

impl Batch {
    /// Whether an epoch with these fields (the same names, by address) joins the epochs
    /// collected.
    fn has(&self, keys: impl ExactSizeIterator<Item = &'static str>) -> bool {
        self.keys.len() == keys.len()
            && self.keys.iter().zip(keys).all(|(a, b)| std::ptr::eq(*a, b))
    }

    /// Empties the batch for epochs with these fields.
    fn reset(&mut self, keys: impl Iterator<Item = &'static str>) {
        self.keys.clear();
        self.keys.extend(keys);
        self.clear();
    }

    fn clear(&mut self) {
        self.values.clear();
        self.epochs = 0;
    }

    /// Adds an epoch's values, in the order of the keys.
    fn push(&mut self, values: impl IntoIterator<Item = f64>) {
        self.values.extend(values);
        self.epochs += 1;
    }
}

enum ToWriter {
    Lines(Batch),
    /// Answer [`FromWriter::Flushed`] once everything before is in the file.
    Flush,
}

enum FromWriter {
    /// A batch written (or dropped after a failure), to collect into again.
    Spare(Batch),
    /// Why writing failed, once, as it happens.
    Failed(String),
    Flushed(std::result::Result<(), String>),
}

impl MetricsLog {
    /// Starts `dir/metrics.jsonl` for a new run on `device` (the name each line gives).
    pub fn create(dir: &Path, device: &str, created: &mut Created) -> Result<MetricsLog> {
        let path = dir.join(FILE);
        let file = File::create(&path).with_context(|| format!("writing {}", path.display()))?;
        created.add(&path);
        MetricsLog::new(path, file, device, MetricsHistory::new())
    }

    /// Continues `dir/metrics.jsonl` after a checkpoint of `epochs` epochs: its lines up to
    /// that epoch are kept (lines written after the checkpoint, by a run that then stopped, are
    /// dropped: those epochs are trained again) and read back into the history. The lines
    /// that follow give `device`, where the run goes on.
    pub fn resume(
        dir: &Path,
        epochs: usize,
        device: &str,
        created: &mut Created,
    ) -> Result<MetricsLog> {
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
        MetricsLog::new(path, file, device, history)
    }

    /// Starts the writer thread on `file`.
    fn new(path: PathBuf, file: File, device: &str, history: MetricsHistory) -> Result<MetricsLog> {
        let (to_writer, inbox) = sync_channel(BATCHES_IN_FLIGHT);
        let (outbox, from_writer) = channel();
        let lines = Lines {
            path: path.clone(),
            file,
            text: String::new(),
            lr: (f64::NAN, String::new()),
            device: device.to_string(),
            history,
            failed: None,
        };
        let writer = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || lines.run(inbox, outbox))
            .context("starting the thread that writes metrics.jsonl")?;
        Ok(MetricsLog {
            path,
            fields: Vec::with_capacity(16),
            batch: Batch::default(),
            batch_seconds: 0.0,
            spares: Vec::new(),
            to_writer: Some(to_writer),
            from_writer,
            writer: Some(writer),
            failed: None,
        })
    }

    /// Where the lines go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records one epoch: its line goes to the file and its numbers to the history, a batch of
    /// epochs at a time (see [`flush`](MetricsLog::flush)). An error is the writer's: a line of
    /// an earlier batch could not be written.
    pub fn record(
        &mut self,
        epoch: usize,
        loss: f64,
        lr: f64,
        evals: &[(&'static str, Evaluation)],
        seconds: f64,
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
        if !self.batch.has(self.fields.iter().map(|&(k, _)| k)) {
            self.hand_over()?;
            self.batch.reset(self.fields.iter().map(|&(k, _)| k));
        }
        self.batch.push(self.fields.iter().map(|&(_, v)| v));
        self.batch_seconds += seconds;
        if self.batch.epochs >= BATCH_EPOCHS || self.batch_seconds >= BATCH_SECONDS {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Hands the epochs collected to the writer, and reports a failure it had since the last
    /// hand-over.
    fn hand_over(&mut self) -> Result<()> {
        while let Ok(reply) = self.from_writer.try_recv() {
            match reply {
                FromWriter::Spare(b) => self.spares.push(b),
                FromWriter::Failed(e) => self.failed = Some(e),
                FromWriter::Flushed(_) => {}
            }
        }
        if let Some(e) = &self.failed {
            return Err(anyhow!(e.clone()));
        }
        self.batch_seconds = 0.0;
        if self.batch.values.is_empty() {
            return Ok(());
        }
        let mut next = self.spares.pop().unwrap_or_default();
        next.keys.clone_from(&self.batch.keys);
        next.clear();
        let batch = std::mem::replace(&mut self.batch, next);
        let sent = self
            .to_writer
            .as_ref()
            .is_some_and(|w| w.send(ToWriter::Lines(batch)).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.writer_stopped())
        }
    }

    /// The error for a writer thread that is gone (it panicked: a bug).
    fn writer_stopped(&self) -> anyhow::Error {
        anyhow!(
            "internal error: the thread writing {} stopped",
            self.path.display()
        )
    }

    /// Writes every epoch recorded to the file (before a checkpoint, and at the end), and
    /// reports the first line that could not be written.
    pub fn flush(&mut self) -> Result<()> {
        self.hand_over()?;
        // Everything is handed over: the writer answers once it is in the file.
        let asked = self
            .to_writer
            .as_ref()
            .is_some_and(|w| w.send(ToWriter::Flush).is_ok());
        if !asked {
            return Err(self.writer_stopped());
        }
        loop {
            match self.from_writer.recv() {
                Ok(FromWriter::Spare(b)) => self.spares.push(b),
                Ok(FromWriter::Failed(e)) => self.failed = Some(e),
                Ok(FromWriter::Flushed(done)) => return done.map_err(|e| anyhow!(e)),
                Err(_) => return Err(self.writer_stopped()),
            }
        }
    }

    /// Writes every epoch recorded, ends the writer and returns the history of the run's
    /// epochs, for the report.
    pub fn finish(mut self) -> Result<MetricsHistory> {
        self.flush()?;
        self.to_writer = None;
        let writer = self.writer.take().expect("the writer runs until finish");
        match writer.join() {
            Ok(lines) => Ok(lines.history),
            Err(_) => Err(self.writer_stopped()),
        }
    }
}

impl Drop for MetricsLog {
    /// A run that ends early (an error, a NaN loss) still leaves every epoch it recorded in
    /// the file.
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.hand_over();
            self.to_writer = None;
            if let Some(w) = self.writer.take() {
                let _ = w.join();
            }
        }
    }
}

/// The writer thread's side: formats batches of epochs as lines, appends them to the file and
/// keeps the history.
struct Lines {
    path: PathBuf,
    file: File,
    /// A batch's lines (reused: a batch is one write, and formatting allocates nothing).
    text: String,
    /// The learning rate last written and its text (it seldom changes between epochs).
    lr: (f64, String),
    /// Where the run trains, on every line.
    device: String,
    history: MetricsHistory,
    /// Why writing failed: nothing more is written, and every flush reports it.
    failed: Option<String>,
}

impl Lines {
    /// Writes batches until the log is finished (its sender dropped), then hands back the
    /// history.
    fn run(mut self, inbox: Receiver<ToWriter>, outbox: Sender<FromWriter>) -> Lines {
        for message in inbox {
            // A reply the log no longer waits for (it was dropped) is of no use: ignored.
            let _ = match message {
                ToWriter::Lines(mut batch) => {
                    if self.failed.is_none() {
                        if let Err(e) = self.write(&batch) {
                            let text = crate::message(&e);
                            self.failed = Some(text.clone());
                            let _ = outbox.send(FromWriter::Failed(text));
                        }
                    }
                    batch.clear();
                    outbox.send(FromWriter::Spare(batch))
                }
                ToWriter::Flush => outbox.send(FromWriter::Flushed(match &self.failed {
                    Some(e) => Err(e.clone()),
                    None => Ok(()),
                })),
            };
        }
        self
    }

    /// Appends `batch`'s epochs to the file as lines, in one write, and to the history.
    fn write(&mut self, batch: &Batch) -> Result<()> {
        let width = batch.keys.len();
        self.text.clear();
        for values in batch.values.chunks_exact(width) {
            self.push_line(&batch.keys, values);
        }
        self.history.push_rows(&batch.keys, &batch.values);
        self.file
            .write_all(self.text.as_bytes())
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// Adds one epoch's line: `values` in the order of `keys`, which are epoch, loss and lr,
    /// the held-out metrics, and time_s.
    fn push_line(&mut self, keys: &[&'static str], values: &[f64]) {
        // The fixed fields first, then the held-out metrics, then time and device: each key is
        // known here, so no field's key is compared to pick its format.
        let line = &mut self.text;
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
        for (k, &v) in keys[3..last].iter().zip(&values[3..last]) {
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

    /// The lines of `dir/metrics.jsonl`, parsed.
    fn json_lines(dir: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.join(FILE))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
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
        let mut log = MetricsLog::create(&dir, "cpu", &mut created).unwrap();
        let lrs = [0.1, 0.1, 0.01, 0.01, 1e-3, f64::NAN, 0.1];
        for (i, &lr) in lrs.iter().enumerate() {
            log.record(i + 1, 1.0, lr, &[], 0.25).unwrap();
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
    fn epochs_with_and_without_held_out_metrics_keep_their_own_fields() {
        let dir = temp("fields");
        let mut created = Created::default();
        let mut log = MetricsLog::create(&dir, "cpu", &mut created).unwrap();
        let regression = |loss: f64| Evaluation {
            loss,
            confusion: None,
            mse: Some(2.0 * loss),
            mae: Some(loss / 2.0),
            r2: Some(0.5),
            auc: None,
        };
        // Held-out metrics come and go (a set can be empty some epochs).
        let plan = [0, 1, 2, 0, 0, 1];
        for (i, &sets) in plan.iter().enumerate() {
            let evals: Vec<(&'static str, Evaluation)> = [("val", 0.25), ("test", 0.75)]
                .into_iter()
                .take(sets)
                .map(|(set, loss)| (set, regression(loss)))
                .collect();
            log.record(i + 1, 1.0, 0.1, &evals, 0.5).unwrap();
        }
        let history = log.finish().unwrap();
        assert_eq!(history.epochs(), plan.len());
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), plan.len());
        for (i, (line, &sets)) in lines.iter().zip(&plan).enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            // In the line's order: each key is a quoted name followed by a colon.
            let keys: Vec<&str> = line
                .split('"')
                .collect::<Vec<_>>()
                .windows(2)
                .filter(|w| w[1].starts_with(':'))
                .map(|w| w[0])
                .collect();
            let mut want = vec!["epoch", "loss", "lr"];
            for set in ["val", "test"].iter().take(sets) {
                want.extend(match *set {
                    "val" => ["val_loss", "val_mse", "val_mae", "val_r2"],
                    _ => ["test_loss", "test_mse", "test_mae", "test_r2"],
                });
            }
            want.extend(["time_s", "device"]);
            assert_eq!(keys, want, "{line}");
            assert_eq!(v["epoch"].as_u64(), Some(i as u64 + 1), "{line}");
            assert_eq!(v["device"].as_str(), Some("cpu"), "{line}");
            if sets > 0 {
                assert_eq!(v["val_mse"].as_f64(), Some(0.5), "{line}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lines_are_json_and_resume_drops_epochs_after_the_checkpoint() {
        let dir = temp("resume");
        let mut created = Created::default();
        let mut log = MetricsLog::create(&dir, "cpu", &mut created).unwrap();
        for epoch in 1..=5 {
            let loss = if epoch == 3 {
                f64::NAN
            } else {
                1.0 / epoch as f64
            };
            log.record(epoch, loss, 1e-3, &[], 0.5).unwrap();
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
        let history = log.finish().unwrap();
        assert_eq!(history.total("time_s"), Some(2.5));
        assert_eq!(history.epochs(), 5);

        // The run goes on on a GPU: the lines kept say cpu, the new one cuda:0.
        let mut log = MetricsLog::resume(&dir, 2, "cuda:0", &mut created).unwrap();
        log.record(3, 0.3, 1e-3, &[], 0.5).unwrap();
        let history = log.finish().unwrap();
        assert_eq!(history.epochs(), 3);
        assert_eq!(history.series("epoch").unwrap(), [1.0, 2.0, 3.0]);
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        let epochs: Vec<u64> = json_lines(&dir)
            .iter()
            .map(|v| v["epoch"].as_u64().unwrap())
            .collect();
        assert_eq!(epochs, vec![1, 2, 3]);
        let devices: Vec<&str> = text
            .lines()
            .map(|l| &l[l.find("\"device\":").unwrap()..])
            .collect();
        assert_eq!(
            devices,
            [
                r#""device":"cpu"}"#,
                r#""device":"cpu"}"#,
                r#""device":"cuda:0"}"#
            ]
        );
        created.keep_all();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tiny_epochs_are_written_in_batches_in_order_and_all_of_them_on_drop() {
        let dir = temp("batches");
        let mut created = Created::default();
        let mut log = MetricsLog::create(&dir, "cpu", &mut created).unwrap();
        let epochs = 3 * BATCH_EPOCHS + 7;
        for epoch in 1..=epochs {
            log.record(epoch, 1.0 / epoch as f64, 0.1, &[], 1e-6)
                .unwrap();
        }
        // Dropped without a flush, as on an error: every epoch recorded is still written.
        drop(log);
        let got: Vec<(u64, f64)> = json_lines(&dir)
            .iter()
            .map(|v| (v["epoch"].as_u64().unwrap(), v["loss"].as_f64().unwrap()))
            .collect();
        let want: Vec<(u64, f64)> = (1..=epochs).map(|e| (e as u64, 1.0 / e as f64)).collect();
        assert_eq!(got, want);
        created.keep_all();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_slow_epoch_reaches_the_file_without_a_flush() {
        let dir = temp("slow");
        let mut created = Created::default();
        let mut log = MetricsLog::create(&dir, "cpu", &mut created).unwrap();
        log.record(1, 0.5, 0.1, &[], BATCH_SECONDS).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let text = loop {
            let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
            if !text.is_empty() || std::time::Instant::now() > deadline {
                break text;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert_eq!(
            text,
            "{\"epoch\":1,\"loss\":0.5,\"lr\":0.1,\"time_s\":0.25,\"device\":\"cpu\"}\n"
        );
        // Faster epochs wait for a batch.
        log.record(2, 0.25, 0.1, &[], 1e-3).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(std::fs::read_to_string(dir.join(FILE)).unwrap(), text);
        log.flush().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(FILE))
                .unwrap()
                .lines()
                .count(),
            2
        );
        drop(log);
        created.keep_all();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_line_that_cannot_be_written_is_an_error_naming_the_file() {
        let full = Path::new("/dev/full");
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(full) else {
            println!("skipped: no writable /dev/full here");
            return;
        };
        let mut log =
            MetricsLog::new(full.to_path_buf(), file, "cpu", MetricsHistory::new()).unwrap();
        log.record(1, 0.5, 0.1, &[], 1.0).unwrap();
        let err = crate::message(&log.flush().unwrap_err());
        assert!(err.starts_with("writing /dev/full: "), "{err}");
        assert!(err.contains("No space left"), "{err}");
        // Later epochs report it too, and so does the end of the run.
        let later = (2..=BATCH_EPOCHS + 1).find_map(|e| log.record(e, 0.5, 0.1, &[], 1.0).err());
        assert_eq!(crate::message(&later.expect("an error")), err);
        assert_eq!(crate::message(&log.finish().unwrap_err()), err);
    }
}
