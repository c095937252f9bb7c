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
//!
//! One file per scheduler; this one holds the shared trait and bookkeeping.

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

/// An epoch-based scheduler's [`Epochs`] (its `epochs` field; `impl_scheduler!` writes this).
trait HasEpochs {
    fn epochs(&self) -> &Epochs;
    fn epochs_mut(&mut self) -> &mut Epochs;
}

/// What an epoch-based scheduler adds to [`Epochs`]: PyTorch's `get_lr` and
/// `_get_closed_form_lr`, and its hyperparameters' state-dict entries.
trait Schedule: HasEpochs {
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

/// `LRScheduler` (and `HasEpochs`) for an epoch-based scheduler `$ty`, from its
/// `Schedule` and its `epochs` field: the bookkeeping every such scheduler shares.
macro_rules! impl_scheduler {
    ($ty:ident) => {
        impl HasEpochs for $ty {
            fn epochs(&self) -> &Epochs {
                &self.epochs
            }
            fn epochs_mut(&mut self) -> &mut Epochs {
                &mut self.epochs
            }
        }

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

mod cosine;
mod exponential;
mod linear;
mod multi_step;
mod plateau;
mod sequential;
mod step;

pub use cosine::CosineAnnealingLR;
pub use exponential::ExponentialLR;
pub use linear::{LinearLR, LinearLRConfig};
pub use multi_step::MultiStepLR;
pub use plateau::{PlateauMode, ReduceLROnPlateau, ReduceLROnPlateauConfig, ThresholdMode};
pub use sequential::SequentialLR;
pub use step::StepLR;

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

    pub(super) fn opt() -> SGD {
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
    pub(super) fn seq(make: impl FnOnce(&mut SGD) -> Box<dyn LRScheduler>, n: usize) -> Vec<f64> {
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
    pub(super) fn assert_lrs(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(g == w, "epoch {i}: got {g}, PyTorch gives {w}\n{got:?}");
        }
    }

    #[test]
    fn constructors_set_initial_lr_once() {
        let mut o = opt();
        let _a = LinearLR::new(&mut o, LinearLRConfig::default()).unwrap();
        assert_eq!(o.initial_lr(), Some(0.1));
        assert!((o.lr() - 0.1 / 3.0).abs() < 1e-17);
        let b = StepLR::new(&mut o, 3, 0.1).unwrap();
        assert_eq!(
            b.epochs().base_lr,
            0.1,
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
