//! `backprop train`: build the model, optimizer and scheduler from the config, train with
//! progress output, and write the model, its config, the metrics and report.html into the run
//! folder.

use crate::architecture;
use crate::checkpoint::{self, Checkpoint};
use crate::class_weight;
use crate::cli::TrainArgs;
use crate::config::{Config, Loss, OptimizerKind, Scheduler, TrainConfig};
use crate::console::outln;
use crate::device;
use crate::lock;
use crate::metrics::MetricsLog;
use crate::output::{check_dir, check_parent, run_folder, write_file, write_optional, Created};
use crate::prepare::{model_metadata, prepare, source_name, Prepared};
use crate::progress::{Headline, Progress};
use crate::signals;
use anyhow::{bail, Context, Result};
use backprop::data::{DataLoader, Dataset};
use backprop::io::safetensors;
use backprop::nn::{self, Mlp, MlpConfig, Module, Reduction, StateDict};
use backprop::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, CosineAnnealingLR, ExponentialLR, LRScheduler,
    MultiStepLR, Optimizer, RMSprop, RMSpropConfig, ReduceLROnPlateau, ReduceLROnPlateauConfig,
    SGDConfig, StepLR, SGD,
};
use backprop::rng::Generator;
use backprop::train::{
    evaluate, evaluate_binary, train_epoch_from, EpochEnd, EpochProgress, Evaluation, StepHooks,
    StepOptions,
};
use backprop::viz::{training_report, GradientMonitor, ReportInput};
use backprop::Tensor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

/// How a training run ended without an error.
pub enum Outcome {
    Finished,
    /// A stop signal (its number): a checkpoint was saved in this folder, at the point that
    /// the text says ("after epoch 3", "in epoch 4, after step 120 of 469").
    Interrupted(PathBuf, i32, String),
}

/// The loss as a function of (output, target), with one weight per class (`class_weight`)
/// if given: cross-entropy's `weight` (a weighted mean, `Σ w_y·l / Σ w_y`), or for a binary
/// classifier's one logit `pos_weight = w₁ / w₀` (each row's loss times `w_y / w₀`). A binary
/// classifier's `[n]` labels are compared with its `[n, 1]` logits.
pub fn loss_fn(loss: Loss, class_weight: Option<&[f32]>) -> impl Fn(&Tensor, &Tensor) -> Tensor {
    let weight = class_weight.map(|w| Tensor::from_slice(w, &[w.len()]));
    let pos_weight = class_weight
        .filter(|w| w.len() == 2)
        .map(class_weight::pos_weight);
    // The weights' copy on the GPU, made the first time outputs come from there.
    let on_device: OnceLock<Tensor> = OnceLock::new();
    move |out: &Tensor, y: &Tensor| match loss {
        Loss::CrossEntropy => {
            let w = weight.as_ref().map(|w| {
                if out.device().is_cuda() {
                    on_device.get_or_init(|| w.to(&out.device()))
                } else {
                    w
                }
            });
            nn::cross_entropy(out, y, w, Reduction::Mean, 0.0)
        }
        Loss::Mse => nn::mse_loss(out, y, Reduction::Mean),
        Loss::L1 => nn::l1_loss(out, y, Reduction::Mean),
        Loss::SmoothL1 => nn::smooth_l1_loss(out, y, Reduction::Mean, 1.0),
        Loss::BceWithLogits => {
            let y = if y.ndim() == 1 && out.ndim() == 2 {
                y.reshape(&[-1, 1])
            } else {
                y.clone()
            };
            // pos_weight as a per-row weight 1 + (pw − 1)·y: the same loss for 0/1 targets,
            // and it runs on a GPU too.
            let w = pos_weight.map(|pw| &(&y * (pw - 1.0)) + 1.0);
            nn::binary_cross_entropy_with_logits(out, &y, w.as_ref(), Reduction::Mean, None)
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
        Scheduler::Plateau {
            factor,
            patience,
            threshold,
            threshold_mode,
            cooldown,
            min_lr,
        } => Some(Box::new(ReduceLROnPlateau::new(
            opt,
            ReduceLROnPlateauConfig {
                factor: *factor,
                patience: *patience,
                threshold: *threshold,
                threshold_mode: *threshold_mode,
                cooldown: *cooldown,
                min_lr: *min_lr,
                ..Default::default()
            },
        )?)),
    })
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
    let class_weights = match (&config.train.class_weight, data.n_classes) {
        (Some(spec), Some(k)) => {
            // Weights by class name: a text label column's names, else "0", "1", ...
            let names = match &data.classes {
                Some(c) if c.len() == k => c.clone(),
                _ => class_weight::class_names(k),
            };
            Some(class_weight::resolve(spec, &names, data.train.y.data())?)
        }
        _ => None,
    };
    let threshold = config.is_binary().then(|| config.threshold());
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
        ck.validate(
            &config.model,
            config.train.epochs,
            loader.len(),
            optimizer.as_ref(),
            scheduler.as_deref(),
        )?;
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
    let flag = match (resume, &args.out) {
        (Some(_), _) => "--resume",
        (None, Some(_)) => "--out",
        (None, None) => "run folder",
    };
    let _lock = lock::lock_folder(&dir, &format!("{flag} {}", dir.display()), &mut created)?;
    signals::set_run_folder(&dir, checkpoint.as_ref().map(|_| state.epoch));
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

    let mut log = match &checkpoint {
        Some(_) => MetricsLog::resume(&dir, state.epoch, &device.to_string(), &mut created)?,
        None => MetricsLog::create(&dir, &device.to_string(), &mut created)?,
    };

    let loss = loss_fn(config.train.loss, class_weights.as_deref());
    let options = StepOptions {
        clip_grad_norm: config.train.clip_grad_norm,
        l1: config.train.l1,
    };
    let epochs = config.train.epochs;
    let device_name = device::describe(&device);
    let mut progress = Progress::new(epochs, state.epoch, args.quiet, &device_name);
    let mut gpu_memory_peak = device.memory_used();
    let mut last_checkpoint: Option<usize> = checkpoint.as_ref().map(|_| state.epoch);
    // Gradient norms for report.html, from about five evenly spaced steps per epoch.
    let mut monitor = GradientMonitor::new();
    // Lines for the report: what the run is, and how it ended.
    let mut notes: Vec<String> = Vec::new();
    if let Some(t) = threshold {
        notes.push(format!(
            "A binary classifier: one output, a logit; a row is class 1 when sigmoid(output) > {t} (decision_threshold)."
        ));
    }
    let steps_per_epoch = loader.len();
    let record_every = (steps_per_epoch / 5).max(1);
    let stop = || signals::requested().is_some();
    // An epoch's time_s runs from the end of the one before (or from here) to its own end: one
    // clock reading an epoch. Writing a checkpoint is not counted.
    let mut mark = Instant::now();
    while state.epoch < epochs {
        let epoch = state.epoch + 1;
        let lr = optimizer.lr();
        model.train();
        // A checkpoint taken inside this epoch keeps the shuffling generator as it is now, to
        // draw the epoch's batch order again on --resume (without shuffling it stays as it is).
        let epoch_start = config.train.shuffle.then(|| shuffle_rng.clone());
        let mut hooks = StepHooks {
            on_step: &mut |i, l| progress.step(i, steps_per_epoch, l),
            after_backward: &mut |i, m| {
                if i % record_every == 0 {
                    monitor.record(epoch, m)
                }
            },
            stop: &stop,
        };
        let end = train_epoch_from(
            &model,
            &loss,
            optimizer.as_mut(),
            &loader,
            &mut shuffle_rng,
            &options,
            std::mem::take(&mut state.partial),
            &mut hooks,
        );
        let epoch_loss = match end {
            EpochEnd::Finished(mean) => mean,
            EpochEnd::Stopped(at) => {
                // A stop signal between two steps: the checkpoint resumes at the next step.
                state.partial = at;
                let ck = Checkpoint::capture(
                    &config.model,
                    &model,
                    optimizer.as_ref(),
                    scheduler.as_deref(),
                    epoch_start.as_ref().unwrap_or(&shuffle_rng),
                    &state,
                );
                save_checkpoint(&ck, &dir, &mut log, &mut created)?;
                let signal = signals::requested().unwrap_or(signal_hook::consts::SIGINT);
                let at = position(epoch - 1, at.steps, steps_per_epoch);
                return stopped(&config, dir, signal, at, &mut progress, &mut created);
            }
        };
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
        let evals = evaluate_sets(&mut model, &loss, &data, threshold);
        let now = Instant::now();
        let seconds = now.duration_since(mark).as_secs_f64();
        mark = now;
        log.record(epoch, epoch_loss, lr, &evals, seconds)?;
        if let Some(used) = device.memory_used() {
            gpu_memory_peak = Some(gpu_memory_peak.map_or(used, |p| p.max(used)));
        }
        progress.epoch(epoch, epoch_loss, headline(&evals), now);
        let val_loss = evals.iter().find(|(n, _)| *n == "val").map(|(_, e)| e.loss);
        if let Some(s) = scheduler.as_mut() {
            match val_loss {
                // ReduceLROnPlateau watches the validation loss (the config requires one).
                Some(v) if s.needs_metric() => s.step_with_metric(optimizer.as_mut(), v),
                _ => s.step(optimizer.as_mut()),
            }
        }
        state.epoch = epoch;
        let stop_early = match (config.train.early_stopping, val_loss) {
            (Some(patience), Some(v)) => {
                let t = &config.train;
                if state.improved(epoch, v, t.min_delta) && t.restore_best {
                    state.best_state = Some(model.state_dict());
                }
                state.bad_epochs >= patience
            }
            _ => false,
        };
        let interrupted = signals::requested();
        let due = args.checkpoint_every.is_some_and(|n| epoch % n == 0);
        if due || interrupted.is_some() {
            let ck = Checkpoint::capture(
                &config.model,
                &model,
                optimizer.as_ref(),
                scheduler.as_deref(),
                &shuffle_rng,
                &state,
            );
            save_checkpoint(&ck, &dir, &mut log, &mut created)?;
            last_checkpoint = Some(epoch);
            mark = Instant::now();
        }
        if let Some(signal) = interrupted {
            let at = position(epoch, 0, steps_per_epoch);
            return stopped(&config, dir, signal, at, &mut progress, &mut created);
        }
        if stop_early {
            let patience = config.train.early_stopping.unwrap_or(0);
            let epochs = if patience == 1 { "epoch" } else { "epochs" };
            let note = format!(
                "early stopping at epoch {epoch}: no validation improvement in {patience} {epochs}"
            );
            progress.note(&note);
            notes.push(note);
            break;
        }
    }
    progress.finish();
    if let Some(note) = state.restore_best(&model)? {
        progress.note(&note);
        notes.push(note);
    }

    let mut meta = model_metadata(&data);
    meta.extend(architecture::metadata(&config.model));
    if let Some(t) = threshold {
        meta.insert("decision_threshold".into(), t.to_string());
    }
    if let Some(w) = &class_weights {
        let text: Vec<String> = w.iter().map(f32::to_string).collect();
        meta.insert("class_weight".into(), text.join(","));
    }
    let weights = safetensors::to_bytes(&model.state_dict(), Some(&meta))?;
    let metrics_path = log.path().to_path_buf();
    let history = log.finish()?;
    if let Err(e) = write_file(&dir.join("model.safetensors"), &weights, &mut created) {
        // The training is lost, not what the run folder holds: its config, the metrics and
        // any checkpoint stay.
        created.keep_all();
        signals::finished(&dir);
        let ck = if last_checkpoint.is_some() {
            format!(
                ", and its last checkpoint resumes with --resume {}",
                dir.display()
            )
        } else {
            String::new()
        };
        bail!(
            "{}; the trained model was not saved; {} keeps config.toml and metrics.jsonl{ck}",
            crate::message(&e),
            dir.display()
        );
    }
    // From here on the run is complete: a failed report, --save or --metrics is reported
    // after it.
    created.keep_all();
    let mut failed = Vec::new();
    if let Some(p) = &args.save {
        failed.extend(write_optional(p, "--save", |w| w.write_all(&weights)));
    }
    if let Some(p) = &args.metrics {
        let from = &metrics_path;
        failed.extend(write_optional(p, "--metrics", |w| {
            std::io::copy(&mut std::fs::File::open(from)?, w).map(|_| ())
        }));
    }
    if !args.no_report {
        let report = training_report(
            &mut model,
            &ReportInput {
                title: &source_name(&config.data.train),
                config: &config.to_toml(),
                metrics: &history,
                gradients: Some(&monitor),
                loss_fn: &loss,
                train: &data.train,
                validation: data.validation.as_ref(),
                test: data.test.as_ref(),
                n_classes: data.n_classes,
                threshold,
                notes: &notes,
                device: &device_name,
                gpu_memory_peak,
            },
        );
        let written = report.map_err(anyhow::Error::from).and_then(|html| {
            let mut created = Created::default();
            write_file(&dir.join("report.html"), html.as_bytes(), &mut created)?;
            created.keep_all();
            Ok(())
        });
        if let Err(e) = written {
            failed.push(crate::message(&e));
        }
    }
    signals::finished(&dir);
    summary(&mut model, &loss, &data, threshold, &dir, args.quiet);
    if !failed.is_empty() {
        bail!(
            "{}; the run itself is complete in {}",
            failed.join("; "),
            dir.display()
        );
    }
    Ok(Outcome::Finished)
}

/// Writes `ck` into the run folder `dir`, after the metrics on disk reach its epoch.
fn save_checkpoint(
    ck: &Checkpoint,
    dir: &Path,
    log: &mut MetricsLog,
    created: &mut Created,
) -> Result<()> {
    log.flush()?;
    created.keep(log.path());
    ck.write(&dir.join(checkpoint::FILE), created)?;
    // A good checkpoint stays, with the config that resumes it, whatever happens next.
    created.keep(&dir.join(checkpoint::FILE));
    created.keep(&dir.join("config.toml"));
    signals::checkpointed(dir, ck.epoch());
    Ok(())
}

/// Where a run stopped, in words: after `epochs` whole epochs and `steps` of the next one's
/// `per_epoch` steps.
fn position(epochs: usize, steps: usize, per_epoch: usize) -> String {
    match (epochs, steps) {
        (0, 0) => "before the first epoch".to_string(),
        (e, 0) => format!("after epoch {e}"),
        (e, s) => format!("in epoch {}, after step {s} of {per_epoch}", e + 1),
    }
}

/// Ends a run stopped by `signal` after its checkpoint was saved: the run folder keeps its
/// files and a config.toml that resumes it.
fn stopped(
    config: &Config,
    dir: PathBuf,
    signal: i32,
    at: String,
    progress: &mut Progress,
    created: &mut Created,
) -> Result<Outcome> {
    progress.finish();
    write_file(
        &dir.join("config.toml"),
        config.to_toml().as_bytes(),
        created,
    )?;
    created.keep_all();
    Ok(Outcome::Interrupted(dir, signal, at))
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

/// Evaluates `model` on `(x, y)`: a binary classifier's at its `threshold` (`Some` for one
/// only), any other's as `evaluate` does.
pub fn evaluate_at(
    model: &mut Mlp,
    loss: &dyn Fn(&Tensor, &Tensor) -> Tensor,
    x: &backprop::Array,
    y: &backprop::Array,
    n_classes: Option<usize>,
    threshold: Option<f64>,
) -> Evaluation {
    match threshold {
        Some(t) => evaluate_binary(model, loss, x, y, t),
        None => evaluate(model, loss, x, y, n_classes),
    }
}

/// Evaluations after an epoch: validation and test when present, else the training set.
fn evaluate_sets(
    model: &mut Mlp,
    loss: &dyn Fn(&Tensor, &Tensor) -> Tensor,
    data: &Prepared,
    threshold: Option<f64>,
) -> Vec<(&'static str, Evaluation)> {
    let mut out = Vec::new();
    let mut eval = |name: &'static str, ds: &Dataset| {
        let e = evaluate_at(model, loss, &ds.x, &ds.y, data.n_classes, threshold);
        out.push((name, e))
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
fn headline(evals: &[(&'static str, Evaluation)]) -> Option<Headline> {
    let &(set, ref e) = evals.first()?;
    match (e.accuracy(), e.r2) {
        (Some(value), _) => Some(Headline::Accuracy { set, value }),
        (None, Some(value)) => Some(Headline::R2 { set, value }),
        _ => None,
    }
}

fn summary(
    model: &mut Mlp,
    loss: &dyn Fn(&Tensor, &Tensor) -> Tensor,
    data: &Prepared,
    threshold: Option<f64>,
    dir: &Path,
    quiet: bool,
) {
    let (name, ds) = match (&data.test, &data.validation) {
        (Some(t), _) => ("test", t),
        (None, Some(v)) => ("validation", v),
        (None, None) => ("train", &data.train),
    };
    let e = evaluate_at(model, loss, &ds.x, &ds.y, data.n_classes, threshold);
    outln!("{}", metrics_summary(name, &e, ds.len()));
    if let (Some(cm), false) = (&e.confusion, quiet) {
        outln!("confusion matrix ({name}):\n{cm}");
    }
    outln!("run folder: {}", dir.display());
}

/// One line of metrics, the same for `train` and `eval`: accuracy in percent for a classifier
/// (with class 1's precision, recall and F1 and the ROC AUC for a binary one), MSE, MAE and R²
/// for a regressor.
pub fn metrics_summary(name: &str, e: &Evaluation, rows: usize) -> String {
    match &e.confusion {
        Some(cm) => {
            let mut line = format!(
                "{name} accuracy: {:.2}% ({rows} {}), loss {:.4}",
                100.0 * cm.accuracy(),
                plural_rows(rows),
                e.loss
            );
            if let Some(auc) = e.auc {
                let auc = if auc.is_finite() {
                    format!("{auc:.4}")
                } else {
                    "n/a (one class only)".into()
                };
                line.push_str(&format!(
                    ", precision {:.4}, recall {:.4}, F1 {:.4}, ROC AUC {auc}",
                    cm.precision(1),
                    cm.recall(1),
                    cm.f1(1)
                ));
            }
            line
        }
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
    /// Early stopping: the best validation loss so far and epochs since it improved.
    pub best_val: Option<f64>,
    pub bad_epochs: usize,
    /// Early stopping: the epoch of the best validation loss, and (with `restore_best`) a copy
    /// of the model's state then.
    pub best_epoch: Option<usize>,
    pub best_state: Option<StateDict>,
    /// How far into epoch `epoch + 1` a stop signal came (nothing when it came between epochs).
    pub partial: EpochProgress,
}

impl TrainState {
    /// Records an epoch's validation loss: true when it improves on the best by more than
    /// `min_delta` (`val_loss < best − min_delta`, as Keras and Lightning; a NaN never does).
    fn improved(&mut self, epoch: usize, val_loss: f64, min_delta: f64) -> bool {
        let best = self.best_val.unwrap_or(f64::INFINITY);
        if val_loss < best - min_delta {
            self.best_val = Some(val_loss);
            self.best_epoch = Some(epoch);
            self.bad_epochs = 0;
            true
        } else {
            self.bad_epochs += 1;
            false
        }
    }

    /// Puts the best epoch's weights back into `model` when it holds another epoch's; returns
    /// what it did, in words.
    fn restore_best(&mut self, model: &dyn Module) -> Result<Option<String>> {
        let (Some(best), Some(state)) = (self.best_epoch, &self.best_state) else {
            return Ok(None);
        };
        if best == self.epoch {
            return Ok(None);
        }
        model
            .load_state_dict(state)
            .context("early stopping: the best epoch's weights")?;
        Ok(Some(format!(
            "kept the weights of epoch {best} (the best validation loss, {:.4}), not of the last epoch ({}); restore_best = false keeps the last",
            self.best_val.unwrap_or(f64::NAN),
            self.epoch
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_a_run_stopped_reads_in_words() {
        assert_eq!(position(0, 0, 10), "before the first epoch");
        assert_eq!(position(3, 0, 10), "after epoch 3");
        assert_eq!(position(0, 4, 10), "in epoch 1, after step 4 of 10");
        assert_eq!(position(7, 1, 469), "in epoch 8, after step 1 of 469");
    }
}
