//! [`MultiStepLR`].

use super::*;

/// Multiplies the lr by `gamma` at each milestone epoch, as
/// `torch.optim.lr_scheduler.MultiStepLR`: `lr(epoch) = base_lr · gamma^(milestones ≤ epoch)`.
/// A milestone listed twice multiplies twice.
///
/// # Examples
/// ```
/// use backprop::optim::{LRScheduler, MultiStepLR, Optimizer, SGD, SGDConfig};
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SGDConfig { lr: 1.0, ..Default::default() })?;
/// let mut sched = MultiStepLR::new(&mut opt, &[1, 3], 0.5)?;
/// let mut lrs = vec![];
/// for _ in 0..4 {
///     lrs.push(opt.lr());
///     sched.step(&mut opt);
/// }
/// assert_eq!(lrs, vec![1.0, 0.5, 0.5, 0.25]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MultiStepLR {
    /// Sorted, with repeats (PyTorch's `Counter`).
    milestones: Vec<i64>,
    gamma: f64,
    epochs: Epochs,
}

impl MultiStepLR {
    /// Attaches to `opt` (PyTorch's default `gamma` is `0.1`).
    ///
    /// # Errors
    /// Never, today; `Result` keeps all scheduler constructors alike.
    pub fn new(opt: &mut dyn Optimizer, milestones: &[usize], gamma: f64) -> Result<Self> {
        let mut milestones: Vec<i64> = milestones.iter().map(|&m| m as i64).collect();
        milestones.sort_unstable();
        let mut s = MultiStepLR {
            milestones,
            gamma,
            epochs: Epochs::attach(opt),
        };
        schedule_initial_step(&mut s, opt);
        Ok(s)
    }
}

impl Schedule for MultiStepLR {
    fn get_lr(&self, lr: f64, _initial: bool) -> f64 {
        let count = self
            .milestones
            .iter()
            .filter(|&&m| m == self.epochs.last_epoch)
            .count();
        if count == 0 {
            lr
        } else {
            lr * self.gamma.powf(count as f64)
        }
    }
    fn closed_form_lr(&self) -> f64 {
        let passed = bisect_right(&self.milestones, self.epochs.last_epoch);
        self.epochs.base_lr * self.gamma.powf(passed as f64)
    }
    fn save_hparams(&self, sd: &mut StateDict) {
        sd.insert("milestones", i64_list(&self.milestones));
        sd.insert("gamma", StateTensor::f64_scalar(self.gamma));
    }
    fn load_hparams(&self, r: &mut StateReader<'_>) -> Result<Self> {
        let mut milestones = r.i64_vec("milestones")?;
        milestones.sort_unstable();
        Ok(MultiStepLR {
            milestones,
            gamma: r.f64("gamma")?,
            epochs: self.epochs.clone(),
        })
    }
}
impl_scheduler!(MultiStepLR);

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_lrs, seq};
    use super::*;

    /// `seq(lambda o: L.MultiStepLR(o, [2, 5, 5, 9], gamma=0.5), 12)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_multistep() {
        let got = seq(|o| Box::new(MultiStepLR::new(o, &[9, 2, 5, 5], 0.5).unwrap()), 12);
        let want = [0.1, 0.1, 0.05, 0.05, 0.05, 0.0125, 0.0125, 0.0125, 0.0125, 0.00625, 0.00625,
                    0.00625, 0.00625];
        assert_lrs(&got, &want);
    }

    /// `seq(lambda o: L.MultiStepLR(o, [0, 3]), 6)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_multistep_at_zero() {
        let got = seq(|o| Box::new(MultiStepLR::new(o, &[0, 3], 0.1).unwrap()), 6);
        let want = [0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
                    0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002,
                    0.0010000000000000002];
        assert_lrs(&got, &want);
    }
}
