//! Checkpoints: model, optimizer and scheduler state, the epoch and both random streams, in
//! one safetensors file, so `--resume` continues bit for bit (the metrics so far are in the run
//! folder's metrics.jsonl).

use crate::output::{write_file, Created};
use crate::train::TrainState;
use anyhow::{anyhow, bail, Context, Result};
use backprop::io::safetensors;
use backprop::nn::{Module, StateData, StateDict, StateTensor};
use backprop::optim::{LRScheduler, Optimizer};
use backprop::rng::{self, Generator};
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
    /// Captures the state at the end of an epoch.
    pub fn capture(
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
            metadata: BTreeMap::new(),
        }
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
        let best = self.state.with_prefix("early_stopping.model.");
        train.best_state = (!best.is_empty()).then_some(best);
        rng::set_global_state(rng_from(self.state.get("rng.global"), "rng.global")?);
        *shuffle = Generator::from_state(rng_from(self.state.get("rng.shuffle"), "rng.shuffle")?);
        Ok(())
    }
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
