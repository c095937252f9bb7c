//! [`ExponentialLR`].

use super::*;

/// Multiplies the lr by `gamma` every epoch, as `torch.optim.lr_scheduler.ExponentialLR`:
/// `lr(epoch) = base_lr · gamma^epoch`.
///
/// # Examples
/// ```
/// use backprop::optim::{ExponentialLR, LRScheduler, Optimizer, SGD, SGDConfig};
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SGDConfig { lr: 1.0, ..Default::default() })?;
/// let mut sched = ExponentialLR::new(&mut opt, 0.5)?;
/// sched.step(&mut opt);
/// sched.step(&mut opt);
/// assert_eq!(opt.lr(), 0.25);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ExponentialLR {
    gamma: f64,
    epochs: Epochs,
}

impl ExponentialLR {
    /// Attaches to `opt`.
    ///
    /// # Errors
    /// Never, today; `Result` keeps all scheduler constructors alike.
    pub fn new(opt: &mut dyn Optimizer, gamma: f64) -> Result<Self> {
        let mut s = ExponentialLR {
            gamma,
            epochs: Epochs::attach(opt),
        };
        schedule_initial_step(&mut s, opt);
        Ok(s)
    }
}

impl Schedule for ExponentialLR {
    fn get_lr(&self, lr: f64, initial: bool) -> f64 {
        if initial {
            lr
        } else {
            lr * self.gamma
        }
    }
    fn closed_form_lr(&self) -> f64 {
        self.epochs.base_lr * self.gamma.powf(self.epochs.last_epoch as f64)
    }
    fn save_hparams(&self, sd: &mut StateDict) {
        sd.insert("gamma", StateTensor::f64_scalar(self.gamma));
    }
    fn load_hparams(&self, r: &mut StateReader<'_>) -> Result<Self> {
        Ok(ExponentialLR {
            gamma: r.f64("gamma")?,
            epochs: self.epochs.clone(),
        })
    }
}
impl_scheduler!(ExponentialLR);

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_lrs, seq};
    use super::*;

    /// `seq(lambda o: L.ExponentialLR(o, 0.9), 12)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_exponential() {
        let got = seq(|o| Box::new(ExponentialLR::new(o, 0.9).unwrap()), 12);
        let want = [0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002,
                    0.06561000000000002, 0.05904900000000002, 0.05314410000000002,
                    0.04782969000000002, 0.043046721000000024, 0.03874204890000002,
                    0.03486784401000002, 0.03138105960900001, 0.028242953648100012];
        assert_lrs(&got, &want);
    }
}
