//! Checkpoints: model, optimizer and scheduler state, the epoch and both random streams, in
//! one safetensors file, so `--resume` continues bit for bit (the metrics so far are in the run
//! folder's metrics.jsonl).
//!
//! A checkpoint is taken after an epoch, or between two steps of one when a stop signal came.
//! `epoch` counts the finished epochs; `epoch_steps` and `epoch_loss_sum` say how far into the
//! next one training got (none when it had not started); `rng.shuffle` is the shuffling
//! generator at the start of that next epoch, so that its batch order is drawn again.

use crate::architecture;
use crate::config::ModelConfig;
use crate::output::{write_file, Created};
use crate::train::TrainState;
use anyhow::{anyhow, bail, Context, Result};
use backprop::io::safetensors;
use backprop::nn::{Module, StateData, StateDict, StateTensor};
use backprop::optim::{LRScheduler, Optimizer};
use backprop::rng::{self, Generator};
use backprop::train::EpochProgress;
use std::collections::BTreeMap;
use std::path::Path;

/// The checkpoint's file name inside a run folder.
pub const FILE: &str = "checkpoint.safetensors";

pub struct Checkpoint {
    state: StateDict,
    metadata: BTreeMap<String, String>,
}

fn rng_entry(state: [u64; 6]) -> StateTensor {
    StateTensor {
        shape: vec![6],
        data: StateData::I64(state.iter().map(|&v| v as i64).collect()),
    }
}

fn rng_from(entry: Option<&StateTensor>, what: &str) -> Result<[u64; 6]> {
    match entry.map(|e| &e.data) {
        Some(StateData::I64(v)) if v.len() == 6 => {
            let mut out = [0u64; 6];
            for (o, &x) in out.iter_mut().zip(v) {
                *o = x as u64;
            }
            Ok(out)
        }
        _ => bail!("checkpoint: missing or malformed `{what}`"),
    }
}

impl Checkpoint {
    /// Captures the state after `train.epoch` epochs and `train.partial` steps into the next;
    /// `shuffle` is the shuffling generator as it was at the start of that next epoch. The
    /// metadata records the model's architecture (`config`), which `--resume` checks.
    pub fn capture(
        config: &ModelConfig,
        model: &dyn Module,
        optimizer: &dyn Optimizer,
        scheduler: Option<&dyn LRScheduler>,
        shuffle: &Generator,
        train: &TrainState,
    ) -> Checkpoint {
        let mut state = StateDict::new();
        state.extend_prefixed("model.", model.state_dict());
        state.extend_prefixed("optimizer.", optimizer.state_dict());
        if let Some(s) = scheduler {
            state.extend_prefixed("scheduler.", s.state_dict());
        }
        state.insert("epoch", StateTensor::i64_scalar(train.epoch as i64));
        if train.partial.steps > 0 {
            let p = train.partial;
            state.insert("epoch_steps", StateTensor::i64_scalar(p.steps as i64));
            state.insert("epoch_loss_sum", StateTensor::f64_scalar(p.loss_sum));
        }
        state.insert("rng.global", rng_entry(rng::global_state()));
        state.insert("rng.shuffle", rng_entry(shuffle.state()));
        if let Some(best) = train.best_val {
            state.insert("early_stopping.best", StateTensor::f64_scalar(best));
        }
        state.insert(
            "early_stopping.bad_epochs",
            StateTensor::i64_scalar(train.bad_epochs as i64),
        );
        if let Some(epoch) = train.best_epoch {
            state.insert(
                "early_stopping.best_epoch",
                StateTensor::i64_scalar(epoch as i64),
            );
        }
        // restore_best's copy of the best epoch's weights (model-sized).
        if let Some(best) = &train.best_state {
            state.extend_prefixed("early_stopping.model.", best.clone());
        }
        // The metrics are in the run folder's metrics.jsonl, not here: a checkpoint's size
        // depends on the model, not on the number of epochs.
        Checkpoint {
            state,
            metadata: architecture::metadata(config),
        }
    }

    /// The finished epochs it holds.
    pub fn epoch(&self) -> usize {
        self.state
            .get("epoch")
            .and_then(|e| e.scalar_value())
            .map_or(0, |e| e as usize)
    }

    /// Writes the checkpoint atomically (a crash mid-write leaves the previous one intact).
    pub fn write(&self, path: &Path, created: &mut Created) -> Result<()> {
        let bytes = safetensors::to_bytes(&self.state, Some(&self.metadata))?;
        write_file(path, &bytes, created)
    }

    /// Puts the saved state back into a freshly built model, optimizer and scheduler.
    pub fn restore(
        &self,
        model: &dyn Module,
        optimizer: &mut dyn Optimizer,
        scheduler: &mut Option<Box<dyn LRScheduler>>,
        shuffle: &mut Generator,
        train: &mut TrainState,
    ) -> Result<()> {
        let ctx = "checkpoint does not match the config";
        model
            .load_state_dict(&self.state.with_prefix("model."))
            .context(ctx)?;
        optimizer
            .load_state_dict(&self.state.with_prefix("optimizer."))
            .context(ctx)?;
        if let Some(s) = scheduler.as_mut() {
            s.load_state_dict(&self.state.with_prefix("scheduler."))
                .context(ctx)?;
        }
        let epoch = self
            .state
            .get("epoch")
            .and_then(|e| e.scalar_value())
            .ok_or_else(|| anyhow!("checkpoint: missing `epoch`"))?;
        train.epoch = epoch as usize;
        train.best_val = self
            .state
            .get("early_stopping.best")
            .and_then(|e| e.scalar_value());
        train.bad_epochs = self
            .state
            .get("early_stopping.bad_epochs")
            .and_then(|e| e.scalar_value())
            .unwrap_or(0.0) as usize;
        train.best_epoch = self
            .state
            .get("early_stopping.best_epoch")
            .and_then(|e| e.scalar_value())
            .map(|e| e as usize);
        train.partial = EpochProgress {
            steps: self
                .state
                .get("epoch_steps")
                .and_then(|e| e.scalar_value())
                .map_or(0, |s| s as usize),
            loss_sum: self
                .state
                .get("epoch_loss_sum")
                .and_then(|e| e.scalar_value())
                .unwrap_or(0.0),
        };
        let best = self.state.with_prefix("early_stopping.model.");
        train.best_state = (!best.is_empty()).then_some(best);
        rng::set_global_state(rng_from(self.state.get("rng.global"), "rng.global")?);
        *shuffle = Generator::from_state(rng_from(self.state.get("rng.shuffle"), "rng.shuffle")?);
        Ok(())
    }
}

impl Checkpoint {
    /// Checks the saved state against the config (its `epochs`, and `batches` per epoch) and
    /// the freshly built optimizer and scheduler, as a config is checked: an edited or foreign
    /// checkpoint (a negative learning rate, gradient ascent, an epoch outside the run, other
    /// optimizer settings, NaN values) is refused in one line instead of resuming into nonsense.
    pub fn validate(
        &self,
        model: &ModelConfig,
        epochs: usize,
        batches: usize,
        optimizer: &dyn Optimizer,
        scheduler: Option<&dyn LRScheduler>,
    ) -> Result<()> {
        let bad = |what: String| anyhow!("checkpoint: {what}");
        architecture::check_recorded(model, &self.metadata, "checkpoint: the run")?;
        let epoch = self
            .state
            .get("epoch")
            .and_then(|e| e.scalar_value())
            .ok_or_else(|| bad("missing `epoch`".into()))?;
        if !(epoch >= 0.0 && epoch.fract() == 0.0 && epoch <= epochs as f64) {
            return Err(bad(format!(
                "epoch {epoch} is outside this run's 0..={epochs} epochs"
            )));
        }
        if let Some(steps) = self.state.get("epoch_steps") {
            let steps = steps.scalar_value().unwrap_or(-1.0);
            if !(steps >= 1.0 && steps.fract() == 0.0 && steps < batches as f64) {
                let unit = if batches == 1 { "step" } else { "steps" };
                return Err(bad(format!(
                    "epoch_steps {steps} is not a step inside an epoch of {batches} {unit}"
                )));
            }
            if epoch >= epochs as f64 {
                return Err(bad(format!(
                    "epoch_steps {steps} continues epoch {}, after this run's {epochs} epochs",
                    epoch + 1.0
                )));
            }
            if self.state.get("epoch_loss_sum").is_none() {
                return Err(bad("epoch_steps without epoch_loss_sum".into()));
            }
        }
        // Every setting of the optimizer's group but the learning rate (which a scheduler
        // moves) must be the config's.
        let saved = self.state.with_prefix("optimizer.param_groups.0.");
        let fresh = optimizer.state_dict().with_prefix("param_groups.0.");
        same_settings(&saved, &fresh, &["lr"], "optimizer")?;
        let lr = saved.get("lr").and_then(|t| t.scalar_value());
        match lr {
            Some(lr) if lr.is_finite() && (lr > 0.0 || (lr == 0.0 && scheduler.is_some())) => {}
            Some(lr) => {
                return Err(bad(format!(
                    "optimizer lr {lr} must be positive and finite"
                )))
            }
            None => return Err(bad("missing optimizer lr".into())),
        }
        if let Some(s) = scheduler {
            let saved = self.state.with_prefix("scheduler.");
            // What a scheduler moves as it steps; ReduceLROnPlateau also keeps the best loss
            // so far and its counters.
            let moving = [
                "last_epoch",
                "_step_count",
                "_last_lr",
                "best",
                "cooldown_counter",
                "num_bad_epochs",
            ];
            same_settings(&saved, &s.state_dict(), &moving, "scheduler")?;
            let last = saved.get("last_epoch").and_then(|t| t.scalar_value());
            if last != Some(epoch) {
                return Err(bad(format!(
                    "scheduler last_epoch {} disagrees with epoch {epoch}",
                    last.map_or("missing".to_string(), |l| l.to_string())
                )));
            }
        }
        // Infinite by design: ReduceLROnPlateau's worst value (and best before its first step).
        let may_be_infinite = ["scheduler.mode_worse", "scheduler.best"];
        for (name, t) in self.state.iter() {
            let finite = may_be_infinite.contains(&name)
                || match &t.data {
                    StateData::F32(v) => v.iter().all(|x| x.is_finite()),
                    StateData::F64(v) => v.iter().all(|x| x.is_finite()),
                    StateData::I64(_) => true,
                };
            let negative = match &t.data {
                StateData::I64(v) => {
                    name != "rng.global" && name != "rng.shuffle" && v.iter().any(|&x| x < 0)
                }
                _ => name.ends_with(".step") && t.scalar_value().is_some_and(|x| x < 0.0),
            };
            if !finite || negative {
                return Err(bad(format!(
                    "`{name}` holds a {} value",
                    if finite {
                        "negative"
                    } else {
                        "NaN or infinite"
                    }
                )));
            }
        }
        Ok(())
    }
}

/// The entries of `saved` and `fresh` other than `skip` must be the same (names, shapes and
/// values).
fn same_settings(saved: &StateDict, fresh: &StateDict, skip: &[&str], what: &str) -> Result<()> {
    let names = |d: &StateDict| -> Vec<String> {
        let mut v: Vec<String> = d
            .keys()
            .filter(|k| !skip.contains(k))
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    let (saved_names, fresh_names) = (names(saved), names(fresh));
    if saved_names != fresh_names {
        let missing: Vec<&String> = fresh_names
            .iter()
            .filter(|n| !saved_names.contains(n))
            .collect();
        let extra: Vec<&String> = saved_names
            .iter()
            .filter(|n| !fresh_names.contains(n))
            .collect();
        bail!(
            "checkpoint does not match the config: the {what} state lacks {missing:?} and has {extra:?} (another {what}?)"
        );
    }
    for name in fresh_names {
        let (s, f) = (saved.get(&name), fresh.get(&name));
        if s != f {
            let show = |t: Option<&StateTensor>| match t.map(|t| &t.data) {
                Some(StateData::F64(v)) if v.len() == 1 => v[0].to_string(),
                Some(StateData::I64(v)) if v.len() == 1 => v[0].to_string(),
                Some(StateData::F64(v)) => format!("{v:?}"),
                Some(StateData::I64(v)) => format!("{v:?}"),
                Some(StateData::F32(v)) => format!("{v:?}"),
                None => "missing".into(),
            };
            bail!(
                "checkpoint does not match the config: {what} {name} is {} in the checkpoint, {} in the config",
                show(s),
                show(f)
            );
        }
    }
    Ok(())
}

/// Reads a checkpoint file.
pub fn read(path: &Path) -> Result<Checkpoint> {
    if !path.exists() {
        bail!(
            "{}: no checkpoint here (train with --checkpoint-every N to write one)",
            path.display()
        );
    }
    let (state, metadata) = safetensors::load(path)?;
    Ok(Checkpoint { state, metadata })
}
