//! [`LinearLR`].

use super::*;

/// [`LinearLR`]'s hyperparameters, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearLRConfig {
    /// Factor applied at epoch 0, in `(0, 1]` (default `1/3`).
    pub start_factor: f64,
    /// Factor reached at `total_iters`, in `[0, 1]` (default `1`).
    pub end_factor: f64,
    /// Epochs over which the factor changes (default `5`).
    pub total_iters: usize,
}

impl Default for LinearLRConfig {
    fn default() -> Self {
        LinearLRConfig {
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total_iters: 5,
        }
    }
}

/// Scales the lr by a factor going linearly from `start_factor` to `end_factor` over
/// `total_iters` epochs, as `torch.optim.lr_scheduler.LinearLR` (a warm-up, typically):
/// `lr(epoch) = base_lr · (start + (end − start)·min(epoch, total_iters)/total_iters)`.
/// `step` uses PyTorch's recursive form of this. The constructor already sets
/// `lr = base_lr · start_factor`.
///
/// # Examples
/// ```
/// use backprop::optim::{LRScheduler, LinearLR, LinearLRConfig, Optimizer, SGD, SGDConfig};
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SGDConfig { lr: 1.0, ..Default::default() })?;
/// let cfg = LinearLRConfig { start_factor: 0.25, total_iters: 3, ..Default::default() };
/// let mut sched = LinearLR::new(&mut opt, cfg)?;
/// let mut lrs = vec![];
/// for _ in 0..5 {
///     lrs.push(opt.lr());
///     sched.step(&mut opt);
/// }
/// assert_eq!(lrs, vec![0.25, 0.5, 0.75, 1.0, 1.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinearLR {
    config: LinearLRConfig,
    epochs: Epochs,
}

impl LinearLR {
    /// Attaches to `opt`.
    ///
    /// # Errors
    /// As PyTorch: "Starting multiplicative factor expected to be greater than 0 and less or equal
    /// to 1." and "Ending multiplicative factor expected to be between 0 and 1."; also if
    /// `total_iters` is 0.
    pub fn new(opt: &mut dyn Optimizer, config: LinearLRConfig) -> Result<Self> {
        if !(config.start_factor > 0.0 && config.start_factor <= 1.0) {
            return Err(Error::invalid(
                "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.",
            ));
        }
        if !(0.0..=1.0).contains(&config.end_factor) {
            return Err(Error::invalid(
                "Ending multiplicative factor expected to be between 0 and 1.",
            ));
        }
        if config.total_iters == 0 {
            return Err(Error::invalid("LinearLR: total_iters must be positive"));
        }
        let mut s = LinearLR {
            config,
            epochs: Epochs::attach(opt),
        };
        schedule_initial_step(&mut s, opt);
        Ok(s)
    }
}

impl Schedule for LinearLR {
    fn get_lr(&self, lr: f64, initial: bool) -> f64 {
        let LinearLRConfig {
            start_factor: start,
            end_factor: end,
            total_iters,
        } = self.config;
        let e = self.epochs.last_epoch;
        if e == 0 {
            lr * start
        } else if initial || e > total_iters as i64 {
            lr
        } else {
            lr * (1.0
                + (end - start) / (total_iters as f64 * start + (e - 1) as f64 * (end - start)))
        }
    }
    fn closed_form_lr(&self) -> f64 {
        let c = self.config;
        let done = (c.total_iters as i64).min(self.epochs.last_epoch) as f64;
        self.epochs.base_lr
            * (c.start_factor + (c.end_factor - c.start_factor) * done / c.total_iters as f64)
    }
    fn save_hparams(&self, sd: &mut StateDict) {
        sd.insert(
            "start_factor",
            StateTensor::f64_scalar(self.config.start_factor),
        );
        sd.insert(
            "end_factor",
            StateTensor::f64_scalar(self.config.end_factor),
        );
        sd.insert(
            "total_iters",
            StateTensor::i64_scalar(self.config.total_iters as i64),
        );
    }
    fn load_hparams(&self, r: &mut StateReader<'_>) -> Result<Self> {
        Ok(LinearLR {
            config: LinearLRConfig {
                start_factor: r.f64("start_factor")?,
                end_factor: r.f64("end_factor")?,
                total_iters: r.i64("total_iters")?.max(1) as usize,
            },
            epochs: self.epochs.clone(),
        })
    }
}
impl_scheduler!(LinearLR);

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_lrs, seq};
    use super::*;

    /// `seq(lambda o: L.LinearLR(o), 10)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_linear_default() {
        let got = seq(|o| Box::new(LinearLR::new(o, LinearLRConfig::default()).unwrap()), 10);
        let want = [0.03333333333333333, 0.04666666666666667, 0.060000000000000005,
                    0.07333333333333335, 0.08666666666666668, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
        assert_lrs(&got, &want);
    }

    /// `seq(lambda o: L.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=4), 10)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_linear_decay() {
        let got = seq(|o| Box::new({
            let cfg = LinearLRConfig { start_factor: 1.0, end_factor: 0.2, total_iters: 4 };
            LinearLR::new(o, cfg).unwrap()
        }), 10);
        let want = [0.1, 0.08000000000000002, 0.06000000000000001, 0.04000000000000001, 0.02, 0.02,
                    0.02, 0.02, 0.02, 0.02, 0.02];
        assert_lrs(&got, &want);
    }
}
