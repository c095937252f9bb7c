//! Progress output: a bar on a terminal, rate-limited plain lines otherwise (on stderr, so
//! stdout keeps only results).

use crate::console::errln;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    epochs: usize,
    last_line: Option<Instant>,
    started: Instant,
    first_epoch: usize,
    classify: bool,
    /// Where the run trains, shown on the bar and on the first plain line.
    device: String,
}

/// Plain lines come at most this often (the first and last epoch always print).
const LINE_EVERY: Duration = Duration::from_millis(1000);

impl Progress {
    pub fn new(epochs: usize, done: usize, quiet: bool, classify: bool, device: &str) -> Self {
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
            plain: !quiet && !tty,
            epochs,
            last_line: None,
            started: Instant::now(),
            first_epoch: done + 1,
            classify,
            device: device.to_string(),
        }
    }

    /// Within an epoch: refresh the bar's message now and then.
    pub fn step(&mut self, i: usize, steps: usize, loss: f32) {
        if let Some(bar) = &self.bar {
            if i.is_multiple_of(16) {
                bar.set_message(format!("step {}/{steps} loss {loss:.4}", i + 1));
            }
        }
    }

    /// After an epoch.
    pub fn epoch(&mut self, epoch: usize, loss: f64, headline: Option<(String, f64)>) {
        let extra = match headline {
            Some((name, v)) if self.classify => format!(", {name} {:.2}%", 100.0 * v),
            Some((name, v)) => format!(", {name} {v:.4}"),
            None => String::new(),
        };
        if let Some(bar) = &self.bar {
            bar.set_position(epoch as u64);
            bar.set_message(format!("loss {loss:.4}{extra}"));
        } else if self.plain {
            let due = self.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY)
                || epoch == self.epochs
                || epoch == self.first_epoch;
            if due {
                let done = (epoch + 1 - self.first_epoch) as f64;
                let per_epoch = self.started.elapsed().as_secs_f64() / done.max(1.0);
                let eta = per_epoch * (self.epochs - epoch) as f64;
                let on = if epoch == self.first_epoch {
                    format!(" (on {})", self.device)
                } else {
                    String::new()
                };
                errln!(
                    "epoch {epoch}/{}: loss {loss:.4}{extra}, ETA {eta:.1}s{on}",
                    self.epochs
                );
                self.last_line = Some(Instant::now());
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
            bar.finish();
        }
    }
}
