//! [`SequentialLR`].

use super::*;

/// Runs schedulers one after another, switching at the milestone epochs, as
/// `torch.optim.lr_scheduler.SequentialLR` (a [`LinearLR`] warm-up, then a
/// [`CosineAnnealingLR`], say).
///
/// Construct the schedulers on the optimizer first, in order; the constructor then resets the lr
/// to `initial_lr`, rewinds them and restarts the first one, as PyTorch's does. At milestone `m`
/// the next scheduler starts at its epoch 0, from its closed form (its base lr is the optimizer's
/// `initial_lr`).
///
/// # Examples
/// ```
/// use backprop::optim::{
///     CosineAnnealingLR, LRScheduler, LinearLR, LinearLRConfig, Optimizer, SequentialLR, SGD, SGDConfig,
/// };
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SGDConfig { lr: 1.0, ..Default::default() })?;
/// let warmup = LinearLR::new(&mut opt, LinearLRConfig { start_factor: 0.5, total_iters: 2, ..Default::default() })?;
/// let cosine = CosineAnnealingLR::new(&mut opt, 4, 0.0)?;
/// let mut sched = SequentialLR::new(&mut opt, vec![Box::new(warmup), Box::new(cosine)], &[2])?;
/// let mut lrs = vec![];
/// for _ in 0..5 {
///     lrs.push(opt.lr());
///     sched.step(&mut opt);
/// }
/// assert_eq!(lrs[..3], [0.5, 0.75, 1.0]); // warm-up, then cosine from the base lr
/// assert!((lrs[4] - 0.5).abs() < 1e-12);
/// # Ok(())
/// # }
/// ```
pub struct SequentialLR {
    schedulers: Vec<Box<dyn LRScheduler>>,
    milestones: Vec<i64>,
    last_epoch: i64,
    last_lr: f64,
}

impl std::fmt::Debug for SequentialLR {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.schedulers.iter().map(|s| s.name()).collect();
        f.debug_struct("SequentialLR")
            .field("schedulers", &names)
            .field("milestones", &self.milestones)
            .field("last_epoch", &self.last_epoch)
            .field("last_lr", &self.last_lr)
            .finish()
    }
}

impl SequentialLR {
    /// Chains `schedulers` (constructed on `opt`), switching at `milestones`.
    ///
    /// # Errors
    /// As PyTorch: no schedulers; a [`ReduceLROnPlateau`] among them; `milestones.len()` not one
    /// less than the number of schedulers. Also (unlike PyTorch) a nested `SequentialLR`, and an
    /// optimizer without `initial_lr` (no scheduler was constructed on it).
    pub fn new(
        opt: &mut dyn Optimizer,
        schedulers: Vec<Box<dyn LRScheduler>>,
        milestones: &[usize],
    ) -> Result<Self> {
        if schedulers.is_empty() {
            return Err(Error::invalid(
                "SequentialLR expects at least one scheduler, but got no scheduler.",
            ));
        }
        for (i, s) in schedulers.iter().enumerate() {
            if s.needs_metric() {
                return Err(Error::invalid(format!(
                    "SequentialLR does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs \
                     to be specified when calling `step`, but got one at index {i} in the given schedulers sequence."
                )));
            }
            if s.name() == "SequentialLR" {
                return Err(Error::invalid(format!(
                    "SequentialLR cannot contain a SequentialLR (index {i})"
                )));
            }
        }
        if milestones.len() + 1 != schedulers.len() {
            return Err(Error::invalid(format!(
                "Sequential Schedulers expects number of schedulers provided to be one more than the number of \
                 milestone points, but got number of schedulers {} and the number of milestones to be equal to {}",
                schedulers.len(),
                milestones.len()
            )));
        }
        let initial_lr = opt.initial_lr().ok_or_else(|| {
            Error::invalid("SequentialLR: the optimizer has no initial_lr; construct its schedulers on it first")
        })?;
        let mut s = SequentialLR {
            schedulers,
            milestones: milestones.iter().map(|&m| m as i64).collect(),
            last_epoch: 0,
            last_lr: initial_lr,
        };
        opt.set_lr(initial_lr);
        for sched in &mut s.schedulers {
            let e = sched.last_epoch();
            sched.set_last_epoch(e - 1);
        }
        let idx = bisect_right(&s.milestones, 0);
        s.schedulers[idx].initial_step(opt);
        s.last_lr = s.schedulers[idx].last_lr();
        Ok(s)
    }
}

impl LRScheduler for SequentialLR {
    fn name(&self) -> &'static str {
        "SequentialLR"
    }
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.last_epoch += 1;
        let idx = bisect_right(&self.milestones, self.last_epoch);
        let sched = &mut self.schedulers[idx];
        if idx > 0 && self.milestones[idx - 1] == self.last_epoch {
            sched.step_to(opt, 0);
        } else {
            sched.step(opt);
        }
        self.last_lr = sched.last_lr();
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
    fn initial_step(&mut self, opt: &mut dyn Optimizer) {
        self.step(opt);
    }
    /// Jumps to `epoch`: the scheduler active then takes its closed form at its own epoch.
    fn step_to(&mut self, opt: &mut dyn Optimizer, epoch: i64) {
        self.last_epoch = epoch;
        let idx = bisect_right(&self.milestones, epoch);
        let start = if idx > 0 { self.milestones[idx - 1] } else { 0 };
        self.schedulers[idx].step_to(opt, epoch - start);
        self.last_lr = self.schedulers[idx].last_lr();
    }
    fn state_dict(&self) -> StateDict {
        let mut sd = StateDict::new();
        sd.insert("_milestones", i64_list(&self.milestones));
        sd.insert("last_epoch", StateTensor::i64_scalar(self.last_epoch));
        sd.insert("_last_lr", f64_list(&[self.last_lr]));
        for (i, s) in self.schedulers.iter().enumerate() {
            sd.extend_prefixed(&format!("_schedulers.{i}."), s.state_dict());
        }
        sd
    }
    fn load_state_dict(&mut self, state_dict: &StateDict) -> Result<()> {
        let mut r = StateReader::new(state_dict);
        let milestones = r.i64_vec("_milestones")?;
        if milestones.len() + 1 != self.schedulers.len() {
            return Err(Error::StateMismatch {
                key: "_milestones".into(),
                expected: format!("{} milestones", self.schedulers.len() - 1),
                found: format!("{} milestones", milestones.len()),
            });
        }
        let last_epoch = r.i64("last_epoch")?;
        let last_lr = r.f64_vec("_last_lr", Some(1))?[0];
        let prefixes: Vec<String> = (0..self.schedulers.len())
            .map(|i| format!("_schedulers.{i}."))
            .collect();
        let unknown = state_dict.keys().find(|k| {
            !["_milestones", "last_epoch", "_last_lr"].contains(k)
                && !prefixes.iter().any(|p| k.starts_with(p))
        });
        if let Some(k) = unknown {
            return Err(Error::UnexpectedKey(k.to_string()));
        }
        // Load the children into clones first would need Clone on trait objects; instead check
        // each loads, restoring the saved ones on failure.
        let saved: Vec<StateDict> = self.schedulers.iter().map(|s| s.state_dict()).collect();
        for (i, s) in self.schedulers.iter_mut().enumerate() {
            if let Err(e) = s.load_state_dict(&state_dict.with_prefix(&prefixes[i])) {
                for (s, sd) in self.schedulers.iter_mut().zip(&saved).take(i) {
                    s.load_state_dict(sd)
                        .expect("reloading a scheduler's own state");
                }
                return Err(match e {
                    Error::MissingKey(k) => Error::MissingKey(format!("{}{k}", prefixes[i])),
                    Error::UnexpectedKey(k) => Error::UnexpectedKey(format!("{}{k}", prefixes[i])),
                    Error::StateMismatch {
                        key,
                        expected,
                        found,
                    } => Error::StateMismatch {
                        key: format!("{}{key}", prefixes[i]),
                        expected,
                        found,
                    },
                    e => e,
                });
            }
        }
        self.milestones = milestones;
        self.last_epoch = last_epoch;
        self.last_lr = last_lr;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_lrs, seq};
    use super::*;

    /// `seq(lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=3), L.CosineAnnealingLR(o, T_max=5, eta_min=0.001)], milestones=[3]), 16)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_sequential_warmup_cosine() {
        let got = seq(|o| Box::new({
            let cfg = LinearLRConfig { start_factor: 0.1, total_iters: 3, ..Default::default() };
            let a = LinearLR::new(o, cfg).unwrap();
            let b = CosineAnnealingLR::new(o, 5, 0.001).unwrap();
            SequentialLR::new(o, vec![Box::new(a), Box::new(b)], &[3]).unwrap()
        }), 16);
        let want = [0.010000000000000002, 0.04, 0.07, 0.1, 0.0905463412215599, 0.06579634122155989,
                    0.035203658778440096, 0.010453658778440105, 0.001, 0.010453658778440102,
                    0.03520365877844012, 0.06579634122155993, 0.09054634122155995,
                    0.10000000000000005, 0.09054634122155998, 0.06579634122155995,
                    0.03520365877844014];
        assert_lrs(&got, &want);
    }

    /// `seq(lambda o: L.SequentialLR(o, [L.ExponentialLR(o, 0.5), L.StepLR(o, 2, 0.5), L.MultiStepLR(o, [1, 2], 0.5)], milestones=[2, 6]), 10)`
    #[test]
    #[rustfmt::skip]
    fn lr_sequence_matches_pytorch_sequential_three() {
        let got = seq(|o| Box::new({
            let a = ExponentialLR::new(o, 0.5).unwrap();
            let b = StepLR::new(o, 2, 0.5).unwrap();
            let c = MultiStepLR::new(o, &[1, 2], 0.5).unwrap();
            SequentialLR::new(o, vec![Box::new(a), Box::new(b), Box::new(c)], &[2, 6]).unwrap()
        }), 10);
        let want = [0.1, 0.05, 0.1, 0.1, 0.05, 0.05, 0.1, 0.05, 0.025, 0.025, 0.025];
        assert_lrs(&got, &want);
    }
}
