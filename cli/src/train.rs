//! `backprop train`: build the model, optimizer and scheduler from the config, train with
//! progress output, and write the model, its config, the metrics and report.html into the run
//! folder.

use crate::checkpoint::{self, Checkpoint};
use crate::cli::TrainArgs;
use crate::config::{Config, Loss, OptimizerKind, Scheduler, TrainConfig};
use crate::device;
use crate::output::{check_dir, check_parent, create_parent, run_folder, write_file, Created};
use crate::prepare::{model_metadata, prepare, source_name, Prepared};
use crate::progress::Progress;
use anyhow::{bail, Context, Result};
use backprop::data::{DataLoader, Dataset};
use backprop::io::safetensors;
use backprop::nn::{self, Mlp, MlpConfig, Module, Reduction};
use backprop::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, CosineAnnealingLR, ExponentialLR, LRScheduler,
    MultiStepLR, Optimizer, RMSprop, RMSpropConfig, SGDConfig, StepLR, SGD,
};
use backprop::rng::Generator;
use backprop::train::{evaluate, train_epoch_with_hook, Evaluation, StepOptions};
use backprop::viz::{training_report, GradientMonitor, ReportInput};
use backprop::{Device, Tensor};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Set by the Ctrl-C handler; checked at the end of each epoch.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How a training run ended without an error.
pub enum Outcome {
    Finished,
    /// Ctrl-C: a checkpoint was saved in this folder.
    Interrupted(PathBuf),
}

/// The loss as a function of (output, target).
pub fn loss_fn(loss: Loss) -> impl Fn(&Tensor, &Tensor) -> Tensor {
    move |out: &Tensor, y: &Tensor| match loss {
        Loss::CrossEntropy => nn::cross_entropy(out, y, None, Reduction::Mean, 0.0),
        Loss::Mse => nn::mse_loss(out, y, Reduction::Mean),
        Loss::L1 => nn::l1_loss(out, y, Reduction::Mean),
        Loss::SmoothL1 => nn::smooth_l1_loss(out, y, Reduction::Mean, 1.0),
        Loss::BceWithLogits => {
            nn::binary_cross_entropy_with_logits(out, y, None, Reduction::Mean, None)
        }
    }
}

/// The model of `config`, with PyTorch's names (`layers.N.*`).
pub fn build_model(config: &Config) -> Mlp {
    let m = &config.model;
    Mlp::new(&MlpConfig {
        sizes: m.layers.clone(),
        activation: m.activation,
        batch_norm: m.batch_norm,
        dropout: m.dropout,
        init: m.init,
    })
}

fn build_optimizer(t: &TrainConfig, params: Vec<Tensor>) -> Result<Box<dyn Optimizer>> {
    Ok(match t.optimizer {
        OptimizerKind::Sgd => Box::new(SGD::new(
            params,
            SGDConfig {
                lr: t.lr,
                momentum: t.momentum,
                dampening: t.dampening,
                weight_decay: t.weight_decay,
                nesterov: t.nesterov,
                maximize: false,
            },
        )?),
        OptimizerKind::Adam => Box::new(Adam::new(
            params,
            AdamConfig {
                lr: t.lr,
                betas: t.betas,
                eps: t.eps,
                weight_decay: t.weight_decay,
                amsgrad: t.amsgrad,
                maximize: false,
            },
        )?),
        OptimizerKind::AdamW => Box::new(AdamW::new(
            params,
            AdamWConfig {
                lr: t.lr,
                betas: t.betas,
                eps: t.eps,
                weight_decay: t.weight_decay,
                amsgrad: t.amsgrad,
                maximize: false,
            },
        )?),
        OptimizerKind::RmsProp => Box::new(RMSprop::new(
            params,
            RMSpropConfig {
                lr: t.lr,
                alpha: t.alpha,
                eps: t.eps,
                weight_decay: t.weight_decay,
                momentum: t.momentum,
                centered: t.centered,
                maximize: false,
            },
        )?),
    })
}

fn build_scheduler(s: &Scheduler, opt: &mut dyn Optimizer) -> Result<Option<Box<dyn LRScheduler>>> {
    Ok(match s {
        Scheduler::None => None,
        Scheduler::Step { step_size, gamma } => {
            Some(Box::new(StepLR::new(opt, *step_size, *gamma)?))
        }
        Scheduler::MultiStep { milestones, gamma } => {
            Some(Box::new(MultiStepLR::new(opt, milestones, *gamma)?))
        }
        Scheduler::Exponential { gamma } => Some(Box::new(ExponentialLR::new(opt, *gamma)?)),
        Scheduler::Cosine { t_max, eta_min } => {
            Some(Box::new(CosineAnnealingLR::new(opt, *t_max, *eta_min)?))
        }
    })
}

/// One epoch's metrics line (JSON).
fn metrics_line(
    epoch: usize,
    loss: f64,
    lr: f64,
    evals: &[(&str, &Evaluation)],
    seconds: f64,
    device: &Device,
) -> String {
    let mut fields = vec![
        format!("\"epoch\":{epoch}"),
        format!("\"loss\":{}", json_num(loss)),
        format!("\"lr\":{}", json_num(lr)),
    ];
    for (name, e) in evals {
        fields.push(format!("\"{name}_loss\":{}", json_num(e.loss)));
        if let Some(a) = e.accuracy() {
            fields.push(format!("\"{name}_accuracy\":{}", json_num(a)));
        }
        for (k, v) in [("mse", e.mse), ("mae", e.mae), ("r2", e.r2)] {
            if let Some(v) = v {
                fields.push(format!("\"{name}_{k}\":{}", json_num(v)));
            }
        }
    }
    fields.push(format!("\"time_s\":{}", json_num(seconds)));
    fields.push(format!("\"device\":\"{device}\""));
    format!("{{{}}}", fields.join(","))
}

/// A JSON number (non-finite values become null, which JSON cannot otherwise express).
fn json_num(v: f64) -> String {
    if v.is_finite() {
        serde_json::Number::from_f64(v)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "null".into())
    } else {
        "null".into()
    }
}

pub fn run(args: &TrainArgs) -> Result<Outcome> {
    let resume = args.resume.as_deref();
    if let Some(dir) = resume {
        if !dir.is_dir() {
            bail!("--resume {}: no such run folder", dir.display());
        }
    }
    let mut config = match (&args.config, resume) {
        (Some(path), _) => Config::from_file(path)?,
        (None, Some(dir)) => Config::from_file(&dir.join("config.toml"))
            .with_context(|| format!("--resume {}", dir.display()))?,
        (None, None) => Config::default_digits(),
    };
    if let Some(p) = &args.save {
        check_parent(p, "--save")?;
    }
    if let Some(p) = &args.metrics {
        check_parent(p, "--metrics")?;
    }
    if args.checkpoint_every == Some(0) {
        bail!("--checkpoint-every: must be at least 1");
    }
    let checkpoint = match resume {
        Some(dir) => {
            if !dir.is_dir() {
                bail!("--resume {}: no such run folder", dir.display());
            }
            Some(checkpoint::read(&dir.join(checkpoint::FILE))?)
        }
        None => None,
    };
    if resume.is_none() {
        if let Some(out) = &args.out {
            check_dir(out, &format!("--out {}", out.display()))?;
        }
    }
    if config.train.early_stopping.is_some() && config.data.validation.is_none() {
        bail!("[train] early_stopping: needs validation data ([data] validation = 0.1 or a file)");
    }

    // Everything is read and checked before the first file is written.
    let (choice, _) = device::chosen(args.device.as_deref(), config.device)?;
    config.device = choice;
    let data = prepare(&mut config, args.quiet)?;
    let batch = DataLoader::new(&data.train, config.train.batch_size, false).batch_size();
    backprop::manual_seed(config.seed);
    let mut model = build_model(&config);
    if let Some(path) = &args.init {
        let (state, _) = safetensors::load(path)?;
        model
            .load_state_dict(&state)
            .with_context(|| format!("--init {}", path.display()))?;
    }
    // A training step is about three forward passes' work.
    let flops = 3.0 * device::forward_flops(&model, batch);
    let device = device::place(&mut model, args.device.as_deref(), &config, flops)?;
    // On a GPU the training set is uploaded once and batched there; the CPU copy stays for the
    // evaluations and the report.
    let on_device = device.is_cuda().then(|| {
        (
            data.train.x.clone().to_device(&device),
            data.train.y.clone().to_device(&device),
        )
    });
    let (train_x, train_y) = match &on_device {
        Some((x, y)) => (x, y),
        None => (&data.train.x, &data.train.y),
    };
    let loader = DataLoader::from_arrays(
        train_x,
        train_y,
        config.train.batch_size,
        config.train.shuffle,
    )
    .drop_last(config.train.drop_last);
    check_batches(&loader, &config)?;
    let mut optimizer = build_optimizer(&config.train, model.parameters())?;
    let mut scheduler = build_scheduler(&config.train.scheduler, optimizer.as_mut())?;
    let mut shuffle_rng = Generator::new(config.seed.wrapping_add(1));
    let mut state = TrainState::default();
    if let Some(ck) = &checkpoint {
        ck.restore(
            &model,
            optimizer.as_mut(),
            &mut scheduler,
            &mut shuffle_rng,
            &mut state,
        )?;
    }

    let mut created = Created::default();
    let dir = match resume {
        Some(dir) => dir.to_path_buf(),
        None => run_folder(
            args.out.as_deref(),
            &source_name(&config.data.train),
            &mut created,
        )?,
    };
    if resume.is_none() {
        write_file(
            &dir.join("config.toml"),
            config.to_toml().as_bytes(),
            &mut created,
        )?;
    }
    if args.checkpoint_every.is_some() || resume.is_some() {
        // A previous good checkpoint must survive a failed continuation.
        created.keep(&dir.join(checkpoint::FILE));
    }

    let loss = loss_fn(config.train.loss);
    let options = StepOptions {
        clip_grad_norm: config.train.clip_grad_norm,
        l1: config.train.l1,
    };
    let epochs = config.train.epochs;
    let device_name = device::describe(&device);
    let mut progress = Progress::new(
        epochs,
        state.epoch,
        args.quiet,
        data.n_classes.is_some(),
        &device_name,
    );
    let mut gpu_memory_peak = device.memory_used();
    let mut last_checkpoint: Option<usize> = checkpoint.as_ref().map(|_| state.epoch);
    // Gradient norms for report.html, from about five evenly spaced steps per epoch.
    let mut monitor = GradientMonitor::new();
    let record_every = (loader.len() / 5).max(1);
    while state.epoch < epochs {
        let started = Instant::now();
        let epoch = state.epoch + 1;
        let lr = optimizer.lr();
        model.train();
        let epoch_loss = train_epoch_with_hook(
            &model,
            &loss,
            optimizer.as_mut(),
            &loader,
            &mut shuffle_rng,
            &options,
            &mut |i, l| progress.step(i, loader.len(), l),
            &mut |i, m| {
                if i % record_every == 0 {
                    monitor.record(epoch, m)
                }
            },
        );
        if !epoch_loss.is_finite() {
            progress.finish();
            let last = match last_checkpoint {
                Some(e) => format!(
                    "the last good checkpoint is {} (epoch {e})",
                    dir.join(checkpoint::FILE).display()
                ),
                None => "there is no checkpoint (use --checkpoint-every N)".to_string(),
            };
            bail!("training stopped at epoch {epoch}: the loss became {epoch_loss}; {last}; no model was written");
        }
        let evals = evaluate_sets(&mut model, &loss, &data);
        let named: Vec<(&str, &Evaluation)> = evals.iter().map(|(n, e)| (*n, e)).collect();
        state.metrics.push(metrics_line(
            epoch,
            epoch_loss,
            lr,
            &named,
            started.elapsed().as_secs_f64(),
            &device,
        ));
        if let Some(used) = device.memory_used() {
            gpu_memory_peak = Some(gpu_memory_peak.map_or(used, |p| p.max(used)));
        }
        progress.epoch(epoch, epoch_loss, headline(&evals));
        if let Some(s) = scheduler.as_mut() {
            s.step(optimizer.as_mut());
        }
        state.epoch = epoch;
        let stop_early = match (
            config.train.early_stopping,
            evals.iter().find(|(n, _)| *n == "val"),
        ) {
            (Some(patience), Some((_, v))) => state.early_stop(v.loss, patience),
            _ => false,
        };
        let interrupted = INTERRUPTED.load(Ordering::SeqCst);
        let due = args.checkpoint_every.is_some_and(|n| epoch % n == 0);
        if due || interrupted {
            let ck = Checkpoint::capture(
                &model,
                optimizer.as_ref(),
                scheduler.as_deref(),
                &shuffle_rng,
                &state,
            );
            ck.write(&dir.join(checkpoint::FILE), &mut created)?;
            // A good checkpoint stays, with the config that resumes it, whatever happens next.
            created.keep(&dir.join(checkpoint::FILE));
            created.keep(&dir.join("config.toml"));
            last_checkpoint = Some(epoch);
        }
        if interrupted {
            progress.finish();
            write_file(
                &dir.join("config.toml"),
                config.to_toml().as_bytes(),
                &mut created,
            )?;
            created.keep_all();
            return Ok(Outcome::Interrupted(dir));
        }
        if stop_early {
            let patience = config.train.early_stopping.unwrap_or(0);
            let epochs = if patience == 1 { "epoch" } else { "epochs" };
            progress.note(&format!(
                "early stopping at epoch {epoch}: no validation improvement in {patience} {epochs}"
            ));
            break;
        }
    }
    progress.finish();

    let meta = model_metadata(&data);
    let weights = safetensors::to_bytes(&model.state_dict(), Some(&meta))?;
    write_file(&dir.join("model.safetensors"), &weights, &mut created)?;
    let metrics_text: String = state.metrics.iter().map(|l| format!("{l}\n")).collect();
    write_file(
        &dir.join("metrics.jsonl"),
        metrics_text.as_bytes(),
        &mut created,
    )?;
    if let Some(p) = &args.save {
        create_parent(p, &mut created)?;
        write_file(p, &weights, &mut created)?;
    }
    if let Some(p) = &args.metrics {
        create_parent(p, &mut created)?;
        write_file(p, metrics_text.as_bytes(), &mut created)?;
    }
    let report = training_report(
        &mut model,
        &ReportInput {
            title: &source_name(&config.data.train),
            config: &config.to_toml(),
            metrics: &state.metrics,
            gradients: Some(&monitor),
            loss_fn: &loss,
            train: &data.train,
            validation: data.validation.as_ref(),
            test: data.test.as_ref(),
            n_classes: data.n_classes,
            device: &device_name,
            gpu_memory_peak,
        },
    )?;
    write_file(&dir.join("report.html"), report.as_bytes(), &mut created)?;
    created.keep_all();
    summary(&mut model, &loss, &data, &dir, args.quiet);
    Ok(Outcome::Finished)
}

/// Refuses batching that cannot train: no batch at all, or (with BatchNorm1d, which needs more
/// than one row per batch in training) a batch of one row.
fn check_batches(loader: &DataLoader, config: &Config) -> Result<()> {
    let (n, size, batches) = (loader.n_rows(), loader.batch_size(), loader.len());
    let t = &config.train;
    if batches == 0 {
        bail!(
            "[train] drop_last: {n} training {} in batches of {} leave no full batch; \
             set drop_last = false or a smaller batch_size",
            plural_rows(n),
            t.batch_size
        );
    }
    let last = if t.drop_last {
        size
    } else {
        n - (batches - 1) * size
    };
    if config.model.batch_norm && last == 1 {
        if batches == 1 {
            bail!("[model] batch_norm: the training set has one row, and BatchNorm1d needs at least two per batch");
        }
        bail!(
            "[train] batch_size: the last batch of {n} training rows in batches of {size} holds \
             one row, and batch_norm needs at least two per batch; set drop_last = true or \
             another batch_size"
        );
    }
    Ok(())
}

/// "row" or "rows".
fn plural_rows(n: usize) -> &'static str {
    if n == 1 {
        "row"
    } else {
        "rows"
    }
}

/// Evaluations after an epoch: validation and test when present, else the training set.
fn evaluate_sets(
    model: &mut Mlp,
    loss: &dyn Fn(&Tensor, &Tensor) -> Tensor,
    data: &Prepared,
) -> Vec<(&'static str, Evaluation)> {
    let mut out = Vec::new();
    let mut eval = |name: &'static str, ds: &Dataset| {
        out.push((name, evaluate(model, loss, &ds.x, &ds.y, data.n_classes)))
    };
    if let Some(v) = &data.validation {
        eval("val", v);
    }
    if let Some(t) = &data.test {
        eval("test", t);
    }
    out
}

/// The number the progress bar shows: held-out accuracy (or R²) when there is held-out data.
fn headline(evals: &[(&str, Evaluation)]) -> Option<(String, f64)> {
    let (name, e) = evals.first()?;
    match (e.accuracy(), e.r2) {
        (Some(a), _) => Some((format!("{name} acc"), a)),
        (None, Some(r2)) => Some((format!("{name} R²"), r2)),
        _ => None,
    }
}

fn summary(
    model: &mut Mlp,
    loss: &dyn Fn(&Tensor, &Tensor) -> Tensor,
    data: &Prepared,
    dir: &Path,
    quiet: bool,
) {
    let (name, ds) = match (&data.test, &data.validation) {
        (Some(t), _) => ("test", t),
        (None, Some(v)) => ("validation", v),
        (None, None) => ("train", &data.train),
    };
    let e = evaluate(model, loss, &ds.x, &ds.y, data.n_classes);
    println!("{}", metrics_summary(name, &e, ds.len()));
    if let (Some(cm), false) = (&e.confusion, quiet) {
        println!("confusion matrix ({name}):\n{cm}");
    }
    println!("run folder: {}", dir.display());
}

/// One line of metrics, the same for `train` and `eval`: accuracy in percent for a classifier,
/// MSE, MAE and R² for a regressor.
pub fn metrics_summary(name: &str, e: &Evaluation, rows: usize) -> String {
    match &e.confusion {
        Some(cm) => format!(
            "{name} accuracy: {:.2}% ({rows} {}), loss {:.4}",
            100.0 * cm.accuracy(),
            plural_rows(rows),
            e.loss
        ),
        None => format!(
            "{name} loss {:.6}, MSE {:.6}, MAE {:.6}, R² {:.4} ({rows} {})",
            e.loss,
            e.mse.unwrap_or(f64::NAN),
            e.mae.unwrap_or(f64::NAN),
            e.r2.unwrap_or(f64::NAN),
            plural_rows(rows)
        ),
    }
}

/// What a checkpoint restores besides the model, optimizer and scheduler.
#[derive(Default)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// One JSON line per completed epoch.
    pub metrics: Vec<String>,
    /// Early stopping: the best validation loss so far and epochs since it improved.
    pub best_val: Option<f64>,
    pub bad_epochs: usize,
}

impl TrainState {
    fn early_stop(&mut self, val_loss: f64, patience: usize) -> bool {
        match self.best_val {
            Some(best) if val_loss >= best => self.bad_epochs += 1,
            _ => {
                self.best_val = Some(val_loss);
                self.bad_epochs = 0;
            }
        }
        self.bad_epochs >= patience
    }
}
