//! [`MetricsHistory`]: the per-epoch numbers of a run (loss, learning rate, held-out metrics,
//! time), kept for the report's curves in memory that does not grow with the number of epochs.

/// How many epochs a history keeps by default: more than a chart's width in pixels.
pub const DEFAULT_CAPACITY: usize = 2048;

/// Per-epoch numbers kept for pictures, bounded however long the run.
///
/// Every epoch is [`push`](MetricsHistory::push)ed; the history keeps every `stride`-th of them
/// (starting with the first) and always the last. When it holds `capacity` epochs it drops
/// every other one and doubles the stride, so a run of 10⁶ epochs keeps between `capacity / 2`
/// and `capacity` evenly spaced epochs, and a run shorter than `capacity` keeps them all. Sums
/// over every epoch (the training time, say) are kept exactly.
///
/// The full record belongs on disk (the CLI's `metrics.jsonl`, one line per epoch); this is
/// what a picture of it needs.
///
/// # Examples
/// ```
/// use backprop::viz::MetricsHistory;
///
/// let mut h = MetricsHistory::with_capacity(8);
/// for epoch in 1..=100 {
///     h.push(&[("epoch", epoch as f64), ("loss", 1.0 / epoch as f64), ("time_s", 0.5)]);
/// }
/// assert_eq!(h.epochs(), 100);
/// let kept = h.series("epoch").unwrap();
/// assert!(kept.len() <= 9 && kept[0] == 1.0 && *kept.last().unwrap() == 100.0);
/// assert_eq!(h.total("time_s"), Some(50.0));
/// assert_eq!(h.last("loss"), Some(0.01));
/// ```
#[derive(Clone, Debug)]
pub struct MetricsHistory {
    keys: Vec<String>,
    /// The kept epochs' values, one row per kept epoch and one column per key, row after row
    /// in one buffer (NaN where an epoch had no value for a key): keeping an epoch allocates
    /// nothing once the buffer has grown.
    rows: Vec<f64>,
    /// How many rows `rows` holds (it may hold rows before any key is known).
    n_rows: usize,
    /// The last epoch pushed (kept apart: it ends every curve even when the stride skips it).
    last: Vec<f64>,
    /// Sums over every epoch pushed, per key (NaN values skipped).
    totals: Vec<f64>,
    epochs: usize,
    stride: usize,
    capacity: usize,
}

impl Default for MetricsHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsHistory {
    /// An empty history keeping up to `DEFAULT_CAPACITY` epochs.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty history keeping up to `capacity` epochs (at least 2).
    pub fn with_capacity(capacity: usize) -> Self {
        MetricsHistory {
            keys: Vec::new(),
            rows: Vec::new(),
            n_rows: 0,
            last: Vec::new(),
            totals: Vec::new(),
            epochs: 0,
            stride: 1,
            capacity: capacity.max(2),
        }
    }

    /// Records one epoch's numbers, `(key, value)`. Keys may differ between epochs; a key an
    /// epoch lacks reads as NaN there. Allocates nothing once the keys are known, except for an
    /// epoch that is kept.
    pub fn push(&mut self, fields: &[(&str, f64)]) {
        self.last.iter_mut().for_each(|v| *v = f64::NAN);
        for (i, &(key, value)) in fields.iter().enumerate() {
            // Fields usually come in the same order every epoch: try that position first.
            let at = match self.keys.get(i) {
                Some(k) if k == key => i,
                _ => self.column(key),
            };
            self.set(at, value);
        }
        self.end_epoch();
    }

    /// Records one epoch per row of `values`, rows of `keys.len()` numbers in the order of
    /// `keys`: the same as [`push`](MetricsHistory::push)ing each row with those keys, with the
    /// keys looked up once.
    ///
    /// # Panics
    /// Panics if `values` is not whole rows.
    ///
    /// # Examples
    /// ```
    /// use backprop::viz::MetricsHistory;
    ///
    /// let mut h = MetricsHistory::new();
    /// h.push_rows(&["epoch", "loss"], &[1.0, 0.5, 2.0, 0.25]);
    /// assert_eq!(h.epochs(), 2);
    /// assert_eq!(h.series("loss").unwrap(), [0.5, 0.25]);
    /// ```
    pub fn push_rows(&mut self, keys: &[&str], values: &[f64]) {
        if keys.is_empty() {
            assert!(
                values.is_empty(),
                "MetricsHistory::push_rows: values without keys"
            );
            return;
        }
        assert!(
            values.len().is_multiple_of(keys.len()),
            "MetricsHistory::push_rows: {} values are not rows of {} keys",
            values.len(),
            keys.len()
        );
        let columns: Vec<usize> = keys.iter().map(|k| self.column(k)).collect();
        for row in values.chunks_exact(keys.len()) {
            self.last.iter_mut().for_each(|v| *v = f64::NAN);
            for (&at, &value) in columns.iter().zip(row) {
                self.set(at, value);
            }
            self.end_epoch();
        }
    }

    /// Sets column `at` of the epoch being recorded.
    fn set(&mut self, at: usize, value: f64) {
        self.last[at] = value;
        if !value.is_nan() {
            self.totals[at] += value;
        }
    }

    /// Counts the epoch in `last` and keeps it if the stride says so, thinning a full history.
    fn end_epoch(&mut self) {
        self.epochs += 1;
        if (self.epochs - 1).is_multiple_of(self.stride) {
            if self.n_rows == self.capacity {
                // Keep rows 0, 2, 4, ...: every other kept epoch.
                let width = self.keys.len();
                let kept = self.n_rows.div_ceil(2);
                for k in 1..kept {
                    self.rows
                        .copy_within(2 * k * width..(2 * k + 1) * width, k * width);
                }
                self.rows.truncate(kept * width);
                self.n_rows = kept;
                self.stride *= 2;
            }
            if (self.epochs - 1).is_multiple_of(self.stride) {
                self.rows.extend_from_slice(&self.last);
                self.n_rows += 1;
            }
        }
    }

    /// Parses one line of `metrics.jsonl` (a flat JSON object) and records it as an epoch:
    /// numbers as they are, `null` as NaN, other values (text) left out. Returns `false`, and
    /// records nothing, for a line that is not such an object.
    pub fn push_json_line(&mut self, line: &str) -> bool {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line)
        else {
            return false;
        };
        let fields: Vec<(&str, f64)> = map
            .iter()
            .filter_map(|(k, v)| match v {
                serde_json::Value::Number(n) => n.as_f64().map(|x| (k.as_str(), x)),
                serde_json::Value::Null => Some((k.as_str(), f64::NAN)),
                _ => None,
            })
            .collect();
        self.push(&fields);
        true
    }

    /// The column of `key`, made if new.
    fn column(&mut self, key: &str) -> usize {
        if let Some(i) = self.keys.iter().position(|k| k == key) {
            return i;
        }
        let width = self.keys.len();
        let mut rows = Vec::with_capacity(self.n_rows * (width + 1));
        for r in 0..self.n_rows {
            rows.extend_from_slice(&self.rows[r * width..(r + 1) * width]);
            rows.push(f64::NAN);
        }
        self.rows = rows;
        self.keys.push(key.to_string());
        self.last.push(f64::NAN);
        self.totals.push(0.0);
        self.keys.len() - 1
    }

    /// How many epochs were pushed (kept or not).
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Whether no epoch was pushed.
    pub fn is_empty(&self) -> bool {
        self.epochs == 0
    }

    /// Keep one epoch in this many (1 until the history first fills up).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The values of `key` at the kept epochs, the last epoch always included; `None` for a
    /// key never pushed.
    pub fn series(&self, key: &str) -> Option<Vec<f64>> {
        let i = self.keys.iter().position(|k| k == key)?;
        let width = self.keys.len();
        let mut out: Vec<f64> = (0..self.n_rows).map(|r| self.rows[r * width + i]).collect();
        if !self.last_is_kept() {
            out.push(self.last[i]);
        }
        Some(out)
    }

    /// How many epochs [`series`](MetricsHistory::series) returns.
    pub fn kept(&self) -> usize {
        self.n_rows + usize::from(!self.last_is_kept())
    }

    fn last_is_kept(&self) -> bool {
        self.epochs == 0 || (self.epochs - 1).is_multiple_of(self.stride)
    }

    /// The last epoch's value of `key` (`None` for an unknown key; NaN if that epoch lacked it).
    pub fn last(&self, key: &str) -> Option<f64> {
        let i = self.keys.iter().position(|k| k == key)?;
        self.last.get(i).copied()
    }

    /// The sum of `key` over every epoch pushed (NaN values skipped).
    pub fn total(&self, key: &str) -> Option<f64> {
        let i = self.keys.iter().position(|k| k == key)?;
        Some(self.totals[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_histories_keep_every_epoch() {
        let mut h = MetricsHistory::with_capacity(16);
        for e in 1..=10 {
            h.push(&[("epoch", e as f64), ("loss", 10.0 - e as f64)]);
        }
        assert_eq!(h.kept(), 10);
        assert_eq!(
            h.series("epoch").unwrap(),
            (1..=10).map(f64::from).collect::<Vec<_>>()
        );
        assert_eq!(h.last("loss"), Some(0.0));
        assert_eq!(h.series("nope"), None);
    }

    #[test]
    fn long_histories_stay_bounded_and_evenly_spaced() {
        let mut h = MetricsHistory::with_capacity(64);
        for e in 1..=1_000_003usize {
            h.push(&[("epoch", e as f64), ("time_s", 1.0)]);
            assert!(h.kept() <= 65, "epoch {e}: {} kept", h.kept());
        }
        let epochs = h.series("epoch").unwrap();
        assert!(epochs.len() >= 32, "{} kept", epochs.len());
        assert_eq!(epochs[0], 1.0);
        assert_eq!(*epochs.last().unwrap(), 1_000_003.0);
        let gaps: Vec<f64> = epochs[..epochs.len() - 1]
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect();
        assert!(gaps.iter().all(|&g| g == h.stride() as f64), "{gaps:?}");
        assert_eq!(h.total("time_s"), Some(1_000_003.0));
        assert_eq!(h.epochs(), 1_000_003);
    }

    #[test]
    fn rows_record_as_their_epochs_pushed_one_by_one() {
        let (mut one_by_one, mut in_rows) = (
            MetricsHistory::with_capacity(8),
            MetricsHistory::with_capacity(8),
        );
        one_by_one.push(&[("epoch", 0.0), ("lr", 1.0)]);
        in_rows.push(&[("epoch", 0.0), ("lr", 1.0)]);
        let keys = ["epoch", "loss", "val_loss"];
        for batch in 0..7 {
            let mut values = Vec::new();
            for e in batch * 10 + 1..=batch * 10 + 10 {
                let val = if e % 3 == 0 { f64::NAN } else { e as f64 / 7.0 };
                let row = [e as f64, 1.0 / e as f64, val];
                one_by_one.push(&keys.iter().copied().zip(row).collect::<Vec<_>>());
                values.extend(row);
            }
            in_rows.push_rows(&keys, &values);
        }
        assert_eq!(in_rows.epochs(), 71);
        assert_eq!(in_rows.stride(), one_by_one.stride());
        for key in ["epoch", "loss", "val_loss", "lr"] {
            let (a, b) = (
                one_by_one.series(key).unwrap(),
                in_rows.series(key).unwrap(),
            );
            let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b), "{key}");
            assert_eq!(one_by_one.total(key), in_rows.total(key), "{key}");
        }
        // The key the rows lack reads NaN in them, as in a push without it.
        assert!(in_rows.last("lr").unwrap().is_nan());
    }

    #[test]
    #[should_panic(expected = "5 values are not rows of 2 keys")]
    fn rows_must_be_whole() {
        MetricsHistory::new().push_rows(&["epoch", "loss"], &[1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn keys_may_come_and_go() {
        let mut h = MetricsHistory::new();
        h.push(&[("epoch", 1.0), ("loss", 0.5)]);
        h.push(&[("epoch", 2.0), ("val_loss", 0.7), ("loss", 0.4)]);
        h.push(&[("loss", 0.3), ("epoch", 3.0)]);
        assert_eq!(h.series("loss").unwrap(), vec![0.5, 0.4, 0.3]);
        let v = h.series("val_loss").unwrap();
        assert!(v[0].is_nan() && v[1] == 0.7 && v[2].is_nan());
        assert_eq!(h.total("val_loss"), Some(0.7));
    }

    #[test]
    fn a_key_that_appears_after_thinning_reads_nan_before() {
        let mut h = MetricsHistory::with_capacity(4);
        for e in 1..=12 {
            let mut fields = vec![("epoch", e as f64)];
            if e >= 9 {
                fields.push(("val_loss", e as f64 / 10.0));
            }
            h.push(&fields);
        }
        let epochs = h.series("epoch").unwrap();
        let val = h.series("val_loss").unwrap();
        assert_eq!(epochs.len(), val.len());
        for (e, v) in epochs.iter().zip(&val) {
            if *e >= 9.0 {
                assert_eq!(*v, e / 10.0);
            } else {
                assert!(v.is_nan(), "epoch {e}: {v}");
            }
        }
        assert_eq!(epochs[0], 1.0);
        assert_eq!(*epochs.last().unwrap(), 12.0);
    }

    #[test]
    fn json_lines_are_read_back() {
        let mut h = MetricsHistory::new();
        assert!(
            h.push_json_line(r#"{"epoch":1,"loss":0.25,"lr":1e-3,"val_r2":null,"device":"cpu"}"#)
        );
        assert!(!h.push_json_line("not json"));
        assert!(!h.push_json_line("[1, 2]"));
        assert_eq!(h.epochs(), 1);
        assert_eq!(h.last("lr"), Some(0.001));
        assert!(h.last("val_r2").unwrap().is_nan());
        assert_eq!(h.last("device"), None);
    }
}
