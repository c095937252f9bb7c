//! [`StepLR`].

use super::*;

/// Multiplies the lr by `gamma` every `step_size` epochs, as `torch.optim.lr_scheduler.StepLR`:
/// `lr(epoch) = base_lr · gamma^⌊epoch / step_size⌋`.
///
/// # Examples
/// ```
/// use backprop::optim::{LRScheduler, Optimizer, SGD, SGDConfig, StepLR};
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SGDConfig { lr: 1.0, ..Default::default() })?;
/// let mut sched = StepLR::new(&mut opt, 2, 0.5)?;
/// let mut lrs = vec![];
/// for _ in 0..5 {
///     lrs.push(opt.lr()); // the lr this epoch trains with
///     sched.step(&mut opt);
/// }
/// assert_eq!(lrs, vec![1.0, 1.0, 0.5, 0.5, 0.25]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StepLR {
    step_size: i64,
    gamma: f64,
    epochs: Epochs,
}

impl StepLR {
    /// Attaches to `opt` (PyTorch's default `gamma` is `0.1`).
    ///
    /// # Errors
    /// If `step_size` is 0 (PyTorch fails later, dividing by zero).
    pub fn new(opt: &mut dyn Optimizer, step_size: usize, gamma: f64) -> Result<Self> {
        if step_size == 0 {
            return Err(Error::invalid("StepLR: step_size must be positive"));
        }
        let mut s = StepLR {
            step_size: step_size as i64,
            gamma,
            epochs: Epochs::attach(opt),
        };
        schedule_initial_step(&mut s, opt);
        Ok(s)
    }
}

impl Schedule for StepLR {
    fn get_lr(&self, lr: f64, _initial: bool) -> f64 {
        let e = self.epochs.last_epoch;
        if e == 0 || e % self.step_size != 0 {
            lr
        } else {
            lr * self.gamma
        }
    }
    fn closed_form_lr(&self) -> f64 {
        self.epochs.base_lr
            * self
                .gamma
                .powf(self.epochs.last_epoch.div_euclid(self.step_size) as f64)
    }
    fn save_hparams(&self, sd: &mut StateDict) {
        sd.insert("step_size", StateTensor::i64_scalar(self.step_size));
        sd.insert("gamma", StateTensor::f64_scalar(self.gamma));
    }
    fn load_hparams(&self, r: &mut StateReader<'_>) -> Result<Self> {
        Ok(StepLR {
            step_size: r.i64("step_size")?,
            gamma: r.f64("gamma")?,
            epochs: self.epochs.clone(),
        })
    }
}
impl_scheduler!(StepLR);

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_lrs, seq};
    use super::*;

    /// `seq(lambda o: L.StepLR(o, 3, gamma=0.5), 12)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_step() {
        let got = seq(|o| Box::new(StepLR::new(o, 3, 0.5).unwrap()), 12);
        let want = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125,
                    0.00625];
        assert_lrs(&got, &want);
    }

    /// `seq(lambda o: L.StepLR(o, 2), 8)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_step_default_gamma() {
        let got = seq(|o| Box::new(StepLR::new(o, 2, 0.1).unwrap()), 8);
        let want = [0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002,
                    0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003,
                    1.0000000000000004e-05];
        assert_lrs(&got, &want);
    }
}
