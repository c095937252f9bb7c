//! Learning-rate schedulers, as `torch.optim.lr_scheduler`.
//!
//! A scheduler borrows the optimizer at each call instead of owning a reference to it. Its
//! constructor does what PyTorch's does: it sets the optimizer's `initial_lr` to the current lr if
//! unset, takes `initial_lr` as its base lr, and takes the initial step (epoch 0), which for
//! [`LinearLR`] already scales the lr. Call [`LRScheduler::step`] once per epoch, *after* that
//! epoch's optimizer steps.
//!
//! Each `step` uses PyTorch's recursive ("chainable") form, `get_lr()`, computed in `f64` from the
//! optimizer's *current* lr, so lr sequences match PyTorch's to the last bit (also past `t_max`
//! for [`CosineAnnealingLR`], where the recursion and the closed form differ), and a scheduler
//! composes with manual lr changes as PyTorch's does.

use super::{Optimizer, StateReader};
use crate::nn::{StateData, StateDict, StateTensor};
use crate::{Error, Result};
use std::f64::consts::PI;

/// A learning-rate schedule, as `torch.optim.lr_scheduler.LRScheduler`.
///
/// State dicts use PyTorch's attribute names: `base_lrs` and `_last_lr` (1-element `f64`
/// lists), `last_epoch` and `_step_count` (`i64`), and each scheduler's hyperparameters
/// (`gamma`, `T_max`, `milestones`, ...).
pub trait LRScheduler {
    /// The scheduler's PyTorch class name (`"StepLR"`).
    fn name(&self) -> &'static str;

    /// Advances one epoch and sets the optimizer's lr, as `scheduler.step()`.
    ///
    /// # Panics
    /// [`ReduceLROnPlateau`] panics: it needs a metric ([`LRScheduler::step_with_metric`]).
    fn step(&mut self, opt: &mut dyn Optimizer);

    /// Advances one epoch given the monitored metric (a validation loss, say). Only
    /// [`ReduceLROnPlateau`] uses the metric; the others ignore it and [`step`](Self::step), so a
    /// training loop can call this on any scheduler.
    fn step_with_metric(&mut self, opt: &mut dyn Optimizer, metric: f64) {
        let _ = metric;
        self.step(opt);
    }

    /// Whether [`step`](Self::step) needs a metric ([`ReduceLROnPlateau`]).
    fn needs_metric(&self) -> bool {
        false
    }

    /// The lr set by the last step (or by the constructor), as `get_last_lr()[0]`.
    fn last_lr(&self) -> f64;

    /// The index of the last epoch, as `last_epoch` (0 after construction).
    fn last_epoch(&self) -> i64;

    /// Sets `last_epoch` without touching the lr ([`SequentialLR`] rewinds its schedulers so).
    fn set_last_epoch(&mut self, epoch: i64);

    /// Restarts the step count and takes the constructor's step again, as PyTorch's
    /// `_initial_step()` ([`SequentialLR`] uses it on its first scheduler).
    fn initial_step(&mut self, opt: &mut dyn Optimizer);

    /// Sets `last_epoch = epoch` and the lr to the schedule's closed form at that epoch, as
    /// `_update_lr(epoch)` (PyTorch's deprecated `step(epoch)`); [`SequentialLR`] calls it with 0
    /// when it switches to the next scheduler.
    fn step_to(&mut self, opt: &mut dyn Optimizer, epoch: i64);

    /// The scheduler's state and hyperparameters, as `state_dict()`.
    fn state_dict(&self) -> StateDict;

    /// Restores what [`state_dict`](Self::state_dict) saved.
    ///
    /// # Errors
    /// [`Error::MissingKey`] / [`Error::UnexpectedKey`] for absent or unknown names,
    /// [`Error::StateMismatch`] for a wrongly shaped entry. On error the scheduler is unchanged.
    fn load_state_dict(&mut self, state_dict: &StateDict) -> Result<()>;
}

/// The bookkeeping every epoch-based scheduler shares (PyTorch's `LRScheduler` attributes).
#[derive(Clone, Debug, PartialEq)]
struct Epochs {
    base_lr: f64,
    last_epoch: i64,
    step_count: i64,
    last_lr: f64,
}

impl Epochs {
    /// `LRScheduler.__init__` before its initial step: `initial_lr` defaults to the current lr.
    fn attach(opt: &mut dyn Optimizer) -> Self {
        let base_lr = match opt.initial_lr() {
            Some(lr) => lr,
            None => {
                let lr = opt.lr();
                opt.set_initial_lr(Some(lr));
                lr
            }
        };
        Epochs {
            base_lr,
            last_epoch: -1,
            step_count: 0,
            last_lr: opt.lr(),
        }
    }

    fn save(&self, sd: &mut StateDict) {
        sd.insert("base_lrs", f64_list(&[self.base_lr]));
        sd.insert("last_epoch", StateTensor::i64_scalar(self.last_epoch));
        sd.insert("_step_count", StateTensor::i64_scalar(self.step_count));
        sd.insert("_last_lr", f64_list(&[self.last_lr]));
    }

    fn load(r: &mut StateReader<'_>) -> Result<Self> {
        Ok(Epochs {
            base_lr: r.f64_vec("base_lrs", Some(1))?[0],
            last_epoch: r.i64("last_epoch")?,
            step_count: r.i64("_step_count")?,
            last_lr: r.f64_vec("_last_lr", Some(1))?[0],
        })
    }
}

fn f64_list(v: &[f64]) -> StateTensor {
    StateTensor {
        shape: vec![v.len()],
        data: StateData::F64(v.to_vec()),
    }
}

fn i64_list(v: &[i64]) -> StateTensor {
    StateTensor {
        shape: vec![v.len()],
        data: StateData::I64(v.to_vec()),
    }
}

/// Python's `bisect.bisect_right`.
fn bisect_right(a: &[i64], x: i64) -> usize {
    let (mut lo, mut hi) = (0, a.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if x < a[mid] {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// What an epoch-based scheduler adds to [`Epochs`]: PyTorch's `get_lr` and
/// `_get_closed_form_lr`, and its hyperparameters' state-dict entries.
trait Schedule {
    fn epochs(&self) -> &Epochs;
    fn epochs_mut(&mut self) -> &mut Epochs;
    /// `get_lr()` given the optimizer's current lr; `initial` is PyTorch's `_is_initial`.
    fn get_lr(&self, lr: f64, initial: bool) -> f64;
    fn closed_form_lr(&self) -> f64;
    fn save_hparams(&self, sd: &mut StateDict);
    /// Reads the hyperparameters into a copy of `self`.
    fn load_hparams(&self, r: &mut StateReader<'_>) -> Result<Self>
    where
        Self: Sized;
}

/// `LRScheduler.step()` / `_update_lr(None)`.
fn schedule_step<S: Schedule>(s: &mut S, opt: &mut dyn Optimizer, initial: bool) {
    let e = s.epochs_mut();
    e.step_count += 1;
    e.last_epoch += 1;
    let lr = s.get_lr(opt.lr(), initial);
    opt.set_lr(lr);
    s.epochs_mut().last_lr = opt.lr();
}

/// `LRScheduler._initial_step()`.
fn schedule_initial_step<S: Schedule>(s: &mut S, opt: &mut dyn Optimizer) {
    s.epochs_mut().step_count = 0;
    schedule_step(s, opt, true);
}

/// `LRScheduler._update_lr(epoch)`.
fn schedule_step_to<S: Schedule>(s: &mut S, opt: &mut dyn Optimizer, epoch: i64) {
    s.epochs_mut().last_epoch = epoch;
    let lr = s.closed_form_lr();
    opt.set_lr(lr);
    s.epochs_mut().last_lr = opt.lr();
}

macro_rules! impl_scheduler {
    ($ty:ident) => {
        impl LRScheduler for $ty {
            fn name(&self) -> &'static str {
                stringify!($ty)
            }
            fn step(&mut self, opt: &mut dyn Optimizer) {
                schedule_step(self, opt, false)
            }
            fn last_lr(&self) -> f64 {
                self.epochs().last_lr
            }
            fn last_epoch(&self) -> i64 {
                self.epochs().last_epoch
            }
            fn set_last_epoch(&mut self, epoch: i64) {
                self.epochs_mut().last_epoch = epoch;
            }
            fn initial_step(&mut self, opt: &mut dyn Optimizer) {
                schedule_initial_step(self, opt)
            }
            fn step_to(&mut self, opt: &mut dyn Optimizer, epoch: i64) {
                schedule_step_to(self, opt, epoch)
            }
            fn state_dict(&self) -> StateDict {
                let mut sd = StateDict::new();
                self.save_hparams(&mut sd);
                self.epochs().save(&mut sd);
                sd
            }
            fn load_state_dict(&mut self, state_dict: &StateDict) -> Result<()> {
                let mut r = StateReader::new(state_dict);
                let mut new = self.load_hparams(&mut r)?;
                *new.epochs_mut() = Epochs::load(&mut r)?;
                r.finish()?;
                *self = new;
                Ok(())
            }
        }
    };
}

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
    fn epochs(&self) -> &Epochs {
        &self.epochs
    }
    fn epochs_mut(&mut self) -> &mut Epochs {
        &mut self.epochs
    }
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
    fn epochs(&self) -> &Epochs {
        &self.epochs
    }
    fn epochs_mut(&mut self) -> &mut Epochs {
        &mut self.epochs
    }
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
    fn epochs(&self) -> &Epochs {
        &self.epochs
    }
    fn epochs_mut(&mut self) -> &mut Epochs {
        &mut self.epochs
    }
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
    fn epochs(&self) -> &Epochs {
        &self.epochs
    }
    fn epochs_mut(&mut self) -> &mut Epochs {
        &mut self.epochs
    }
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
    fn epochs(&self) -> &Epochs {
        &self.epochs
    }
    fn epochs_mut(&mut self) -> &mut Epochs {
        &mut self.epochs
    }
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
    //! Expected lr sequences from PyTorch 2.x: `opt.param_groups[0]["lr"]` after construction,
    //! then after each `step()`:
    //!
    //! ```python
    //! import torch
    //! from torch.optim import lr_scheduler as L
    //! def seq(make, n):
    //!     opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    //!     s = make(opt); out = [opt.param_groups[0]["lr"]]
    //!     for _ in range(n):
    //!         opt.step(); s.step(); out.append(opt.param_groups[0]["lr"])
    //!     return out
    //! def plateau(cfg, metrics):    # ReduceLROnPlateau: lr after construction, then after each step(m)
    //!     opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    //!     s = L.ReduceLROnPlateau(opt, **cfg); out = [opt.param_groups[0]["lr"]]
    //!     for m in metrics:
    //!         opt.step(); s.step(m); out.append(opt.param_groups[0]["lr"])
    //!     return out
    //! ```
    //!
    //! The f64 formulas are PyTorch's, operation for operation, so the sequences are compared
    //! for exact equality.
    use super::*;
    use crate::optim::{SGDConfig, SGD};
    use crate::Tensor;

    fn opt() -> SGD {
        SGD::new(
            vec![Tensor::zeros(&[1]).set_requires_grad(true)],
            SGDConfig {
                lr: 0.1,
                ..Default::default()
            },
        )
        .unwrap()
    }

    /// The lr after construction, then after each of `n` steps.
    fn seq(make: impl FnOnce(&mut SGD) -> Box<dyn LRScheduler>, n: usize) -> Vec<f64> {
        let mut o = opt();
        let mut s = make(&mut o);
        let mut out = vec![o.lr()];
        for _ in 0..n {
            s.step(&mut o);
            assert_eq!(s.last_lr(), o.lr());
            out.push(o.lr());
        }
        out
    }

    #[track_caller]
    fn assert_lrs(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(g == w, "epoch {i}: got {g}, PyTorch gives {w}\n{got:?}");
        }
    }

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
    fn constructors_set_initial_lr_once() {
        let mut o = opt();
        let _a = LinearLR::new(&mut o, LinearLRConfig::default()).unwrap();
        assert_eq!(o.initial_lr(), Some(0.1));
        assert!((o.lr() - 0.1 / 3.0).abs() < 1e-17);
        let b = StepLR::new(&mut o, 3, 0.1).unwrap();
        assert_eq!(
            b.epochs.base_lr, 0.1,
            "base_lr comes from initial_lr, not the warmed-up lr"
        );
        assert_eq!(
            o.state_dict()
                .get("param_groups.0.initial_lr")
                .unwrap()
                .scalar_value(),
            Some(0.1)
        );
    }

    type Maker = Box<dyn Fn(&mut SGD) -> Box<dyn LRScheduler>>;

    #[test]
    fn scheduler_state_dict_round_trip_continues_identically() {
        let makers: Vec<Maker> = vec![
            Box::new(|o| Box::new(StepLR::new(o, 3, 0.5).unwrap())),
            Box::new(|o| Box::new(MultiStepLR::new(o, &[2, 5, 5], 0.5).unwrap())),
            Box::new(|o| Box::new(ExponentialLR::new(o, 0.9).unwrap())),
            Box::new(|o| Box::new(CosineAnnealingLR::new(o, 4, 0.01).unwrap())),
            Box::new(|o| Box::new(LinearLR::new(o, LinearLRConfig::default()).unwrap())),
            Box::new(|o| {
                let a = LinearLR::new(o, LinearLRConfig::default()).unwrap();
                let b = CosineAnnealingLR::new(o, 4, 0.0).unwrap();
                Box::new(SequentialLR::new(o, vec![Box::new(a), Box::new(b)], &[3]).unwrap())
            }),
        ];
        for make in makers {
            let (mut o1, mut o2) = (opt(), opt());
            let mut s1 = make(&mut o1);
            for _ in 0..4 {
                s1.step(&mut o1);
            }
            let mut s2 = make(&mut o2);
            s2.load_state_dict(&s1.state_dict()).unwrap();
            o2.load_state_dict(&o1.state_dict()).unwrap();
            assert_eq!(s2.state_dict(), s1.state_dict());
            for _ in 0..10 {
                s1.step(&mut o1);
                s2.step(&mut o2);
                assert_eq!(o1.lr().to_bits(), o2.lr().to_bits(), "{}", s1.name());
            }
        }
    }

    #[test]
    fn scheduler_state_dict_names_match_pytorch() {
        let mut o = opt();
        let s = CosineAnnealingLR::new(&mut o, 5, 0.0).unwrap();
        assert_eq!(
            s.state_dict().keys().collect::<Vec<_>>(),
            [
                "T_max",
                "eta_min",
                "base_lrs",
                "last_epoch",
                "_step_count",
                "_last_lr"
            ]
        );
        let a = LinearLR::new(&mut o, LinearLRConfig::default()).unwrap();
        let seq = SequentialLR::new(&mut o, vec![Box::new(a), Box::new(s)], &[3]).unwrap();
        let sd = seq.state_dict();
        assert_eq!(
            sd.get("_schedulers.1.last_epoch").unwrap().scalar_value(),
            Some(-1.0)
        );
        assert_eq!(
            sd.get("_schedulers.0.last_epoch").unwrap().scalar_value(),
            Some(0.0)
        );
        let mut bad = sd.clone();
        bad.insert("_schedulers.1.bogus", StateTensor::i64_scalar(1));
        let mut o2 = opt();
        let a2 = LinearLR::new(&mut o2, LinearLRConfig::default()).unwrap();
        let c2 = CosineAnnealingLR::new(&mut o2, 5, 0.0).unwrap();
        let mut seq2 = SequentialLR::new(&mut o2, vec![Box::new(a2), Box::new(c2)], &[3]).unwrap();
        let err = seq2.load_state_dict(&bad).unwrap_err();
        assert!(
            matches!(err, Error::UnexpectedKey(ref k) if k == "_schedulers.1.bogus"),
            "{err}"
        );
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

    #[test]
    fn validation_messages_match_pytorch() {
        let mut o = opt();
        let e = |r: Result<LinearLR>| r.unwrap_err().to_string();
        assert_eq!(
            e(LinearLR::new(
                &mut o,
                LinearLRConfig {
                    start_factor: 0.0,
                    ..Default::default()
                }
            )),
            "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."
        );
        assert_eq!(
            e(LinearLR::new(
                &mut o,
                LinearLRConfig {
                    end_factor: 1.5,
                    ..Default::default()
                }
            )),
            "Ending multiplicative factor expected to be between 0 and 1."
        );
        let plateau = ReduceLROnPlateau::new(
            &o,
            ReduceLROnPlateauConfig {
                factor: 1.0,
                ..Default::default()
            },
        );
        assert_eq!(plateau.unwrap_err().to_string(), "Factor should be < 1.0.");
        assert!(StepLR::new(&mut o, 0, 0.1).is_err());
        assert!(CosineAnnealingLR::new(&mut o, 0, 0.0).is_err());
        let p = ReduceLROnPlateau::new(&o, ReduceLROnPlateauConfig::default()).unwrap();
        let err = SequentialLR::new(&mut o, vec![Box::new(p)], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("SequentialLR does not support `ReduceLROnPlateau`"),
            "{err}"
        );
        let a = StepLR::new(&mut o, 2, 0.1).unwrap();
        let err = SequentialLR::new(&mut o, vec![Box::new(a)], &[3])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "Sequential Schedulers expects number of schedulers provided to be one more"
            ),
            "{err}"
        );
        assert!(SequentialLR::new(&mut o, vec![], &[]).is_err());
    }
}
