//! [`CosineAnnealingLR`].

use super::*;

/// Cosine annealing from the base lr down to `eta_min` over `t_max` epochs, as
/// `torch.optim.lr_scheduler.CosineAnnealingLR`.
///
/// The closed form is `eta_min + (base_lr − eta_min)·(1 + cos(π·epoch/t_max))/2`, but `step`
/// uses PyTorch's recursive form
///
/// ```text
/// lr ← (1 + cos(π·e/t_max)) / (1 + cos(π·(e−1)/t_max)) · (lr − eta_min) + eta_min
/// lr ← lr + (base_lr − eta_min)·(1 − cos(π/t_max))/2      when (e − 1 − t_max) mod 2·t_max = 0
/// ```
///
/// which agrees with the closed form up to rounding for `epoch ≤ t_max` and, past `t_max`,
/// climbs back up (a cosine with period `2·t_max`) — what PyTorch does, and what this matches.
///
/// # Examples
/// ```
/// use backprop::optim::{CosineAnnealingLR, LRScheduler, Optimizer, SGD, SGDConfig};
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SGDConfig { lr: 1.0, ..Default::default() })?;
/// let mut sched = CosineAnnealingLR::new(&mut opt, 4, 0.0)?;
/// for _ in 0..2 {
///     sched.step(&mut opt);
/// }
/// assert!((opt.lr() - 0.5).abs() < 1e-12); // half way down
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CosineAnnealingLR {
    t_max: i64,
    eta_min: f64,
    epochs: Epochs,
}

impl CosineAnnealingLR {
    /// Attaches to `opt` (PyTorch's default `eta_min` is `0`).
    ///
    /// # Errors
    /// If `t_max` is 0 (PyTorch fails later, dividing by zero).
    pub fn new(opt: &mut dyn Optimizer, t_max: usize, eta_min: f64) -> Result<Self> {
        if t_max == 0 {
            return Err(Error::invalid("CosineAnnealingLR: T_max must be positive"));
        }
        let mut s = CosineAnnealingLR {
            t_max: t_max as i64,
            eta_min,
            epochs: Epochs::attach(opt),
        };
        schedule_initial_step(&mut s, opt);
        Ok(s)
    }
}

impl Schedule for CosineAnnealingLR {
    fn get_lr(&self, lr: f64, initial: bool) -> f64 {
        let Epochs {
            base_lr,
            last_epoch: e,
            step_count,
            ..
        } = self.epochs;
        let (t, eta_min) = (self.t_max as f64, self.eta_min);
        // Expressions keep Python's evaluation order, so that rounding matches.
        if initial {
            lr
        } else if step_count == 1 && e > 0 {
            eta_min + (base_lr - eta_min) * (1.0 + (e as f64 * PI / t).cos()) / 2.0
        } else if (e - 1 - self.t_max).rem_euclid(2 * self.t_max) == 0 {
            lr + (base_lr - eta_min) * (1.0 - (PI / t).cos()) / 2.0
        } else {
            (1.0 + (PI * e as f64 / t).cos()) / (1.0 + (PI * (e - 1) as f64 / t).cos())
                * (lr - eta_min)
                + eta_min
        }
    }
    fn closed_form_lr(&self) -> f64 {
        let e = self.epochs.last_epoch as f64;
        self.eta_min
            + (self.epochs.base_lr - self.eta_min) * (1.0 + (PI * e / self.t_max as f64).cos())
                / 2.0
    }
    fn save_hparams(&self, sd: &mut StateDict) {
        sd.insert("T_max", StateTensor::i64_scalar(self.t_max));
        sd.insert("eta_min", StateTensor::f64_scalar(self.eta_min));
    }
    fn load_hparams(&self, r: &mut StateReader<'_>) -> Result<Self> {
        Ok(CosineAnnealingLR {
            t_max: r.i64("T_max")?,
            eta_min: r.f64("eta_min")?,
            epochs: self.epochs.clone(),
        })
    }
}
impl_scheduler!(CosineAnnealingLR);

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_lrs, seq};
    use super::*;

    /// `seq(lambda o: L.CosineAnnealingLR(o, 5), 15)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_cosine() {
        let got = seq(|o| Box::new(CosineAnnealingLR::new(o, 5, 0.0).unwrap()), 15);
        let want = [0.1, 0.09045084971874738, 0.06545084971874737, 0.03454915028125263,
                    0.009549150281252633, 0.0, 0.009549150281252628, 0.03454915028125265,
                    0.06545084971874741, 0.09045084971874744, 0.10000000000000006,
                    0.09045084971874746, 0.06545084971874743, 0.03454915028125267,
                    0.009549150281252644, 0.0];
        assert_lrs(&got, &want);
    }

    /// `seq(lambda o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.01), 21)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_cosine_eta_min() {
        let got = seq(|o| Box::new(CosineAnnealingLR::new(o, 7, 0.01).unwrap()), 21);
        let want = [0.1, 0.09554359905560886, 0.08305704108364301, 0.06501344202803415,
                    0.04498655797196586, 0.026942958916356993, 0.014456400944391143, 0.01,
                    0.01445640094439114, 0.026942958916356986, 0.04498655797196585,
                    0.06501344202803411, 0.083057041083643, 0.09554359905560887, 0.1,
                    0.09554359905560889, 0.08305704108364304, 0.06501344202803414,
                    0.04498655797196587, 0.026942958916357007, 0.01445640094439115, 0.01];
        assert_lrs(&got, &want);
    }
}
