//! Progress output: a bar on a terminal, rate-limited plain lines otherwise (on stderr, so
//! stdout keeps only results).

use crate::console::errln;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct Progress {
    bar: Option<ProgressBar>,
    /// When the bar was last moved, and the last epoch it was not moved to.
    bar_moved: Option<Instant>,
    bar_behind: Option<usize>,
    plain: bool,
    epochs: usize,
    last_line: Option<Instant>,
    started: Instant,
    first_epoch: usize,
    /// Where the run trains, shown on the bar and on the first plain line.
    device: String,
}

/// Plain lines come at most this often (the first and last epoch always print).
const LINE_EVERY: Duration = Duration::from_millis(1000);

/// The bar moves at most this often (it draws at most 20 times a second anyway): tiny epochs
/// do not format a message each.
const BAR_EVERY: Duration = Duration::from_millis(50);

/// The number shown after the loss: held-out accuracy, or R² for a regressor.
pub enum Headline {
    Accuracy { set: &'static str, value: f64 },
    R2 { set: &'static str, value: f64 },
}

impl Headline {
    fn text(&self) -> String {
        match self {
            Headline::Accuracy { set, value } => format!(", {set} acc {:.2}%", 100.0 * value),
            Headline::R2 { set, value } => format!(", {set} R² {value:.4}"),
        }
    }
}

impl Progress {
    pub fn new(epochs: usize, done: usize, quiet: bool, device: &str) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty && epochs > 0).then(|| {
            let bar = ProgressBar::new(epochs as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} epochs  {msg}  ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("training on {device}"));
            bar.set_position(done as u64);
            bar
        });
        Progress {
            bar,
            bar_moved: None,
            bar_behind: None,
            plain: !quiet && !tty,
            epochs,
            last_line: None,
            started: Instant::now(),
            first_epoch: done + 1,
            device: device.to_string(),
        }
    }

    /// Within an epoch: refresh the bar's message now and then (an epoch of one step shows
    /// its loss at the epoch's end).
    pub fn step(&mut self, i: usize, steps: usize, loss: f32) {
        if let Some(bar) = &self.bar {
            if steps > 1 && i.is_multiple_of(16) {
                bar.set_message(format!("step {}/{steps} loss {loss:.4}", i + 1));
            }
        }
    }

    /// After an epoch that ended at `now`.
    pub fn epoch(&mut self, epoch: usize, loss: f64, headline: Option<Headline>, now: Instant) {
        let extra = || headline.as_ref().map_or_else(String::new, Headline::text);
        if let Some(bar) = &self.bar {
            let due = self
                .bar_moved
                .is_none_or(|t| now.duration_since(t) >= BAR_EVERY)
                || epoch == self.epochs;
            if due {
                bar.set_position(epoch as u64);
                bar.set_message(format!("loss {loss:.4}{}", extra()));
                self.bar_moved = Some(now);
                self.bar_behind = None;
            } else {
                self.bar_behind = Some(epoch);
            }
        } else if self.plain {
            let due = self
                .last_line
                .is_none_or(|t| now.duration_since(t) >= LINE_EVERY)
                || epoch == self.epochs
                || epoch == self.first_epoch;
            if due {
                let done = (epoch + 1 - self.first_epoch) as f64;
                let per_epoch = now.duration_since(self.started).as_secs_f64() / done.max(1.0);
                let eta = per_epoch * (self.epochs - epoch) as f64;
                let on = if epoch == self.first_epoch {
                    format!(" (on {})", self.device)
                } else {
                    String::new()
                };
                errln!(
                    "epoch {epoch}/{}: loss {loss:.4}{}, ETA {eta:.1}s{on}",
                    self.epochs,
                    extra()
                );
                self.last_line = Some(now);
            }
        }
    }

    /// A one-off message.
    pub fn note(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.println(msg),
            None => errln!("{msg}"),
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            // A run that stops early ends on the epoch it reached.
            if let Some(epoch) = self.bar_behind {
                bar.set_position(epoch as u64);
            }
            bar.finish();
        }
    }
}
