//! [`ReduceLROnPlateau`].

use super::*;

/// Whether [`ReduceLROnPlateau`] watches for the metric to stop decreasing or increasing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PlateauMode {
    /// A loss: lower is better (PyTorch's `"min"`, the default).
    #[default]
    Min,
    /// An accuracy: higher is better (`"max"`).
    Max,
}

/// How [`ReduceLROnPlateau`] measures a significant improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ThresholdMode {
    /// Relative: better than `best·(1 ∓ threshold)` (PyTorch's `"rel"`, the default).
    #[default]
    Rel,
    /// Absolute: better than `best ∓ threshold` (`"abs"`).
    Abs,
}

/// [`ReduceLROnPlateau`]'s hyperparameters, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReduceLROnPlateauConfig {
    /// Minimise or maximise the metric (default [`PlateauMode::Min`]).
    pub mode: PlateauMode,
    /// Factor the lr is multiplied by on a plateau, `< 1` (default `0.1`).
    pub factor: f64,
    /// Epochs without improvement tolerated before reducing (default `10`).
    pub patience: usize,
    /// Minimum significant change (default `1e-4`).
    pub threshold: f64,
    /// How `threshold` applies (default [`ThresholdMode::Rel`]).
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction before counting bad epochs again (default `0`).
    pub cooldown: usize,
    /// Lower bound on the lr (default `0`).
    pub min_lr: f64,
    /// Reductions smaller than this are skipped (default `1e-8`).
    pub eps: f64,
}

impl Default for ReduceLROnPlateauConfig {
    fn default() -> Self {
        ReduceLROnPlateauConfig {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// Reduces the lr when a metric stops improving, as
/// `torch.optim.lr_scheduler.ReduceLROnPlateau`.
///
/// Each [`step_with_metric`](LRScheduler::step_with_metric) compares the metric with the best
/// so far; after more than `patience` epochs without a significant improvement the lr becomes
/// `max(lr·factor, min_lr)` (unless that changes it by less than `eps`), and `cooldown` epochs
/// follow during which bad epochs are not counted. Unlike the other schedulers it neither sets
/// nor reads `initial_lr`. The state dict holds PyTorch's numeric attributes (`best`,
/// `num_bad_epochs`, `cooldown_counter`, `mode_worse`, ...); `mode` and `threshold_mode`, which
/// PyTorch stores as strings, are not saved: a loaded scheduler keeps its own.
///
/// # Examples
/// ```
/// use backprop::optim::{LRScheduler, Optimizer, ReduceLROnPlateau, ReduceLROnPlateauConfig, SGD, SGDConfig};
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SGDConfig { lr: 1.0, ..Default::default() })?;
/// let mut sched = ReduceLROnPlateau::new(&opt, ReduceLROnPlateauConfig { patience: 1, ..Default::default() })?;
/// for val_loss in [1.0, 0.5, 0.6, 0.6, 0.6] {
///     sched.step_with_metric(&mut opt, val_loss);
/// }
/// assert_eq!(opt.lr(), 0.1); // reduced after the second epoch without improvement
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceLROnPlateau {
    config: ReduceLROnPlateauConfig,
    last_epoch: i64,
    last_lr: f64,
    best: f64,
    cooldown_counter: i64,
    num_bad_epochs: i64,
}

impl ReduceLROnPlateau {
    /// Watches `opt`'s lr.
    ///
    /// # Errors
    /// As PyTorch: "Factor should be < 1.0.".
    pub fn new(opt: &dyn Optimizer, config: ReduceLROnPlateauConfig) -> Result<Self> {
        if config.factor >= 1.0 || config.factor.is_nan() {
            return Err(Error::invalid("Factor should be < 1.0."));
        }
        let mut s = ReduceLROnPlateau {
            config,
            last_epoch: 0,
            last_lr: opt.lr(),
            best: 0.0,
            cooldown_counter: 0,
            num_bad_epochs: 0,
        };
        s.best = s.mode_worse();
        Ok(s)
    }

    /// The best metric seen so far (`+∞` / `−∞` before the first step).
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Epochs since the last significant improvement, as `num_bad_epochs`.
    pub fn num_bad_epochs(&self) -> i64 {
        self.num_bad_epochs
    }

    fn mode_worse(&self) -> f64 {
        match self.config.mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        }
    }

    fn is_better(&self, a: f64, best: f64) -> bool {
        let t = self.config.threshold;
        match (self.config.mode, self.config.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - t),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - t,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (t + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + t,
        }
    }
}

impl LRScheduler for ReduceLROnPlateau {
    fn name(&self) -> &'static str {
        "ReduceLROnPlateau"
    }

    /// # Panics
    /// Always: `ReduceLROnPlateau` needs the metric; call
    /// [`step_with_metric`](LRScheduler::step_with_metric).
    #[track_caller]
    fn step(&mut self, _opt: &mut dyn Optimizer) {
        panic!("ReduceLROnPlateau::step needs the monitored metric: call step_with_metric(opt, metric)");
    }

    fn step_with_metric(&mut self, opt: &mut dyn Optimizer, metric: f64) {
        self.last_epoch += 1;
        if self.is_better(metric, self.best) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.config.patience as i64 {
            let old_lr = opt.lr();
            let reduced = old_lr * self.config.factor;
            // Python's max(a, b) keeps a unless b > a.
            let new_lr = if self.config.min_lr > reduced {
                self.config.min_lr
            } else {
                reduced
            };
            if old_lr - new_lr > self.config.eps {
                opt.set_lr(new_lr);
            }
            self.cooldown_counter = self.config.cooldown as i64;
            self.num_bad_epochs = 0;
        }
        self.last_lr = opt.lr();
    }

    fn needs_metric(&self) -> bool {
        true
    }
    fn last_lr(&self) -> f64 {
        self.last_lr
    }
    fn last_epoch(&self) -> i64 {
        self.last_epoch
    }
    fn set_last_epoch(&mut self, epoch: i64) {
        self.last_epoch = epoch;
    }
    /// Does nothing: PyTorch's constructor takes no initial step.
    fn initial_step(&mut self, _opt: &mut dyn Optimizer) {}
    /// Sets `last_epoch` only (PyTorch's `step(metrics, epoch)` without the metric).
    fn step_to(&mut self, _opt: &mut dyn Optimizer, epoch: i64) {
        self.last_epoch = epoch;
    }

    fn state_dict(&self) -> StateDict {
        let c = &self.config;
        let mut sd = StateDict::new();
        sd.insert("factor", StateTensor::f64_scalar(c.factor));
        sd.insert("min_lrs", f64_list(&[c.min_lr]));
        sd.insert("patience", StateTensor::i64_scalar(c.patience as i64));
        sd.insert("cooldown", StateTensor::i64_scalar(c.cooldown as i64));
        sd.insert("eps", StateTensor::f64_scalar(c.eps));
        sd.insert("last_epoch", StateTensor::i64_scalar(self.last_epoch));
        sd.insert("_last_lr", f64_list(&[self.last_lr]));
        sd.insert("mode_worse", StateTensor::f64_scalar(self.mode_worse()));
        sd.insert("threshold", StateTensor::f64_scalar(c.threshold));
        sd.insert("best", StateTensor::f64_scalar(self.best));
        sd.insert(
            "cooldown_counter",
            StateTensor::i64_scalar(self.cooldown_counter),
        );
        sd.insert(
            "num_bad_epochs",
            StateTensor::i64_scalar(self.num_bad_epochs),
        );
        sd
    }

    fn load_state_dict(&mut self, state_dict: &StateDict) -> Result<()> {
        let mut r = StateReader::new(state_dict);
        let count = |r: &mut StateReader<'_>, k: &str| r.i64(k).map(|v| v.max(0) as usize);
        let config = ReduceLROnPlateauConfig {
            factor: r.f64("factor")?,
            min_lr: r.f64_vec("min_lrs", Some(1))?[0],
            patience: count(&mut r, "patience")?,
            cooldown: count(&mut r, "cooldown")?,
            eps: r.f64("eps")?,
            threshold: r.f64("threshold")?,
            ..self.config
        };
        let new = ReduceLROnPlateau {
            config,
            last_epoch: r.i64("last_epoch")?,
            last_lr: r.f64_vec("_last_lr", Some(1))?[0],
            best: r.f64("best")?,
            cooldown_counter: r.i64("cooldown_counter")?,
            num_bad_epochs: r.i64("num_bad_epochs")?,
        };
        let mode_worse = r.f64("mode_worse")?;
        if mode_worse != new.mode_worse() {
            return Err(Error::invalid(format!(
                "load_state_dict: the state dict is for mode {}, this scheduler has mode {:?}",
                if mode_worse > 0.0 { "min" } else { "max" },
                self.config.mode
            )));
        }
        r.finish()?;
        *self = new;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_lrs, opt};
    use super::*;

    /// `ReduceLROnPlateau(opt, patience=2)` stepped with [1.0, 0.9, 0.9, 0.91, 0.9, 0.89999, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    #[test]
    #[rustfmt::skip]
    fn plateau_matches_pytorch_min_rel() {
        let mut o = opt();
        let cfg = ReduceLROnPlateauConfig { patience: 2, ..Default::default() };
        let mut s = ReduceLROnPlateau::new(&o, cfg).unwrap();
        let mut got = vec![o.lr()];
        for m in &[1.0, 0.9, 0.9, 0.91, 0.9, 0.89999, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8] {
            s.step_with_metric(&mut o, *m);
            got.push(o.lr());
        }
        let want = [0.1, 0.1, 0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002,
                    0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
                    0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002,
                    0.0010000000000000002, 0.00010000000000000003];
        assert_lrs(&got, &want);
    }

    /// `ReduceLROnPlateau(opt, patience=1, threshold=0.05, threshold_mode='abs', cooldown=2, factor=0.5)` stepped with [1.0, 0.9, 0.9, 0.91, 0.9, 0.89999, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    #[test]
    #[rustfmt::skip]
    fn plateau_matches_pytorch_min_abs_cooldown() {
        let mut o = opt();
        let cfg = ReduceLROnPlateauConfig { patience: 1, threshold: 0.05, threshold_mode: ThresholdMode::Abs, cooldown: 2, factor: 0.5, ..Default::default() };
        let mut s = ReduceLROnPlateau::new(&o, cfg).unwrap();
        let mut got = vec![o.lr()];
        for m in &[1.0, 0.9, 0.9, 0.91, 0.9, 0.89999, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8] {
            s.step_with_metric(&mut o, *m);
            got.push(o.lr());
        }
        let want = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025,
                    0.025, 0.0125];
        assert_lrs(&got, &want);
    }

    /// `ReduceLROnPlateau(opt, mode='max', patience=0, factor=0.2, min_lr=0.001)` stepped with [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.7]
    #[test]
    #[rustfmt::skip]
    fn plateau_matches_pytorch_max_min_lr() {
        let mut o = opt();
        let cfg = ReduceLROnPlateauConfig { mode: PlateauMode::Max, patience: 0, factor: 0.2, min_lr: 0.001, ..Default::default() };
        let mut s = ReduceLROnPlateau::new(&o, cfg).unwrap();
        let mut got = vec![o.lr()];
        for m in &[0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.7] {
            s.step_with_metric(&mut o, *m);
            got.push(o.lr());
        }
        let want = [0.1, 0.1, 0.1, 0.020000000000000004, 0.004000000000000001,
                    0.004000000000000001, 0.001, 0.001, 0.001];
        assert_lrs(&got, &want);
    }

    /// `ReduceLROnPlateau(opt, )` stepped with [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    #[test]
    #[rustfmt::skip]
    fn plateau_matches_pytorch_default() {
        let mut o = opt();
        let cfg = ReduceLROnPlateauConfig { ..Default::default() };
        let mut s = ReduceLROnPlateau::new(&o, cfg).unwrap();
        let mut got = vec![o.lr()];
        for m in &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0] {
            s.step_with_metric(&mut o, *m);
            got.push(o.lr());
        }
        let want = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1,
                    0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
                    0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
                    0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
                    0.010000000000000002, 0.010000000000000002, 0.0010000000000000002,
                    0.0010000000000000002, 0.0010000000000000002];
        assert_lrs(&got, &want);
    }

    #[test]
    fn plateau_state_round_trip() {
        let cfg = ReduceLROnPlateauConfig {
            patience: 1,
            cooldown: 1,
            ..Default::default()
        };
        let mut o1 = opt();
        let mut s1 = ReduceLROnPlateau::new(&o1, cfg).unwrap();
        for m in [1.0, 0.9, 0.95] {
            s1.step_with_metric(&mut o1, m);
        }
        let mut o2 = opt();
        let mut s2 = ReduceLROnPlateau::new(&o2, cfg).unwrap();
        s2.load_state_dict(&s1.state_dict()).unwrap();
        o2.load_state_dict(&o1.state_dict()).unwrap();
        for m in [0.95, 0.95, 0.95, 0.95] {
            s1.step_with_metric(&mut o1, m);
            s2.step_with_metric(&mut o2, m);
            assert_eq!(o1.lr(), o2.lr());
        }
        assert_eq!(s1, s2);
        let mut max = ReduceLROnPlateau::new(
            &o2,
            ReduceLROnPlateauConfig {
                mode: PlateauMode::Max,
                ..cfg
            },
        )
        .unwrap();
        assert!(max.load_state_dict(&s1.state_dict()).is_err());
    }

    #[test]
    #[should_panic(expected = "ReduceLROnPlateau::step needs the monitored metric")]
    fn plateau_step_without_metric_panics() {
        let mut o = opt();
        let mut s = ReduceLROnPlateau::new(&o, ReduceLROnPlateauConfig::default()).unwrap();
        s.step(&mut o);
    }
}
