//! Training and evaluation loops: one epoch of mini-batch steps, evaluation with classification
//! or regression metrics, and batched prediction. The CLI and the examples share them.

mod metrics;

pub use metrics::{argmax, roc_auc, ConfusionMatrix, Evaluation};

use crate::data::DataLoader;
use crate::nn::Module;
use crate::optim::{clip_grad_norm, l1_penalty, Optimizer};
use crate::rng::Generator;
use crate::tensor::{Array, Tensor};

/// A loss function: `(model output, target) -> scalar`.
pub type LossFn<'a> = &'a dyn Fn(&Tensor, &Tensor) -> Tensor;

/// What happens in each step besides the loss and the update.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepOptions {
    /// Clip the total gradient norm (2-norm over all parameters) to this before each step.
    pub clip_grad_norm: Option<f64>,
    /// Add `l1 · Σ|w|` over all parameters to the loss (the tutorial's L1 regularisation).
    pub l1: f64,
}

/// Runs one epoch: for each batch, `zero_grad`, forward, loss (+ L1 penalty), backward,
/// optional clipping, `step`. Returns the unweighted mean of the step losses, each taken before
/// its update; `on_step` sees each step's index and loss (for progress bars).
pub fn train_epoch(
    model: &dyn Module,
    loss_fn: LossFn<'_>,
    optimizer: &mut dyn Optimizer,
    loader: &DataLoader<'_>,
    generator: &mut Generator,
    options: &StepOptions,
    on_step: &mut dyn FnMut(usize, f32),
) -> f64 {
    train_epoch_with_hook(
        model,
        loss_fn,
        optimizer,
        loader,
        generator,
        options,
        on_step,
        &mut |_, _| {},
    )
}

/// [`train_epoch`], calling `after_backward(step, model)` after each step's `backward()` and
/// before clipping and `optimizer.step()`, when the parameters hold that step's raw gradients
/// (to record gradient norms, e.g. with `viz::GradientMonitor`). The hook decides itself how
/// often to do real work; a call that does nothing costs nothing.
#[allow(clippy::too_many_arguments)]
pub fn train_epoch_with_hook(
    model: &dyn Module,
    loss_fn: LossFn<'_>,
    optimizer: &mut dyn Optimizer,
    loader: &DataLoader<'_>,
    generator: &mut Generator,
    options: &StepOptions,
    on_step: &mut dyn FnMut(usize, f32),
    after_backward: &mut dyn FnMut(usize, &dyn Module),
) -> f64 {
    let mut hooks = StepHooks {
        on_step,
        after_backward,
        stop: &|| false,
    };
    match train_epoch_from(
        model,
        loss_fn,
        optimizer,
        loader,
        generator,
        options,
        EpochProgress::default(),
        &mut hooks,
    ) {
        EpochEnd::Finished(mean) => mean,
        EpochEnd::Stopped(_) => unreachable!("the epoch was never asked to stop"),
    }
}

/// How far into an epoch training got: the steps taken and the sum of their losses. A stopped
/// epoch hands it back ([`EpochEnd::Stopped`]), and [`train_epoch_from`] continues from it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochProgress {
    /// Steps (batches) taken in this epoch.
    pub steps: usize,
    /// The sum of their losses, each taken before its update.
    pub loss_sum: f64,
}

/// How [`train_epoch_from`] ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EpochEnd {
    /// Every batch was trained on: the mean step loss of the whole epoch.
    Finished(f64),
    /// `stop` asked for an end before the next step: where the epoch stands.
    Stopped(EpochProgress),
}

/// What a caller of [`train_epoch_from`] sees of each step, and how it stops an epoch early.
pub struct StepHooks<'a> {
    /// Each step's index in the epoch and its loss (for progress bars).
    pub on_step: &'a mut dyn FnMut(usize, f32),
    /// As in [`train_epoch_with_hook`]: after `backward()`, before clipping and the update.
    pub after_backward: &'a mut dyn FnMut(usize, &dyn Module),
    /// Asked before each step; `true` ends the epoch there (e.g. on a stop signal).
    pub stop: &'a dyn Fn() -> bool,
}

/// One epoch that can stop between steps and continue later: [`train_epoch_with_hook`],
/// starting after `from.steps` steps whose losses summed to `from.loss_sum`, and asking
/// `hooks.stop` before each step.
///
/// To continue a stopped epoch, pass the generator as it was at the start of that epoch (the
/// batches' order is drawn again from it and the first `from.steps` batches are skipped), with
/// the model and optimizer as they were when it stopped: the result is then the same, bit for
/// bit, as an epoch that never stopped.
///
/// ```
/// use backprop::data::{iris, DataLoader};
/// use backprop::nn::{cross_entropy, Mlp, MlpConfig, Module, Reduction};
/// use backprop::optim::{SGDConfig, SGD};
/// use backprop::rng::Generator;
/// use backprop::train::{train_epoch_from, EpochEnd, EpochProgress, StepHooks, StepOptions};
/// use backprop::Tensor;
/// use std::cell::Cell;
///
/// backprop::manual_seed(0);
/// let data = iris();
/// let model = Mlp::new(&MlpConfig::new(&[4, 8, 3]));
/// let mut sgd = SGD::new(model.parameters(), SGDConfig { lr: 0.1, ..Default::default() })?;
/// let loss = |o: &Tensor, y: &Tensor| cross_entropy(o, y, None, Reduction::Mean, 0.0);
/// let loader = DataLoader::new(&data, 16, true);
/// let start = Generator::new(1); // the shuffling generator at the start of the epoch
/// let mut g = start.clone();
/// // Stop after 3 steps (a stop signal, say) ...
/// let taken = Cell::new(0);
/// let stop = || taken.get() == 3;
/// let mut hooks = StepHooks {
///     on_step: &mut |_, _| taken.set(taken.get() + 1),
///     after_backward: &mut |_, _| {},
///     stop: &stop,
/// };
/// let opts = StepOptions::default();
/// let end = train_epoch_from(&model, &loss, &mut sgd, &loader, &mut g, &opts, EpochProgress::default(), &mut hooks);
/// let EpochEnd::Stopped(progress) = end else { panic!("it stopped") };
/// assert_eq!(progress.steps, 3);
/// // ... and continue: the remaining 7 of the 10 batches.
/// let mut g = start.clone();
/// let mut hooks = StepHooks { on_step: &mut |_, _| {}, after_backward: &mut |_, _| {}, stop: &|| false };
/// let end = train_epoch_from(&model, &loss, &mut sgd, &loader, &mut g, &opts, progress, &mut hooks);
/// assert!(matches!(end, EpochEnd::Finished(mean) if mean.is_finite()));
/// # Ok::<(), backprop::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn train_epoch_from(
    model: &dyn Module,
    loss_fn: LossFn<'_>,
    optimizer: &mut dyn Optimizer,
    loader: &DataLoader<'_>,
    generator: &mut Generator,
    options: &StepOptions,
    from: EpochProgress,
    hooks: &mut StepHooks<'_>,
) -> EpochEnd {
    let params = if options.l1 > 0.0 || options.clip_grad_norm.is_some() {
        model.parameters()
    } else {
        Vec::new()
    };
    let mut total = from.loss_sum;
    let mut steps = from.steps;
    // On a GPU the step losses are summed there, and read back only every
    // `GPU_LOSS_READ_EVERY` steps (for `on_step`) and at the end: reading one waits for the
    // GPU to finish every queued step.
    let mut gpu_total: Option<Tensor> = None;
    let mut last_read = f32::NAN;
    let mut batches = loader.iter(generator);
    if from.steps > 0 {
        // Skipped without copying: the batch before the first one to train on.
        batches.nth(from.steps - 1);
    }
    for (i, (x, y)) in (from.steps..).zip(batches) {
        if (hooks.stop)() {
            if let Some(t) = gpu_total {
                total += t.item() as f64;
            }
            return EpochEnd::Stopped(EpochProgress {
                steps,
                loss_sum: total,
            });
        }
        optimizer.zero_grad();
        let out = model.forward(&x);
        let mut loss = loss_fn(&out, &y);
        if options.l1 > 0.0 {
            loss = &loss + &(&l1_penalty(&params) * options.l1 as f32);
        }
        steps += 1;
        if loss.device().is_cuda() {
            let l = loss.detach();
            gpu_total = Some(match gpu_total.take() {
                Some(t) => &t + &l,
                None => l,
            });
            if i % GPU_LOSS_READ_EVERY == 0 {
                last_read = loss.item();
            }
            (hooks.on_step)(i, last_read);
        } else {
            let value = loss.item();
            total += value as f64;
            (hooks.on_step)(i, value);
        }
        loss.backward();
        (hooks.after_backward)(i, model);
        if let Some(max_norm) = options.clip_grad_norm {
            clip_grad_norm(&params, max_norm, 2.0);
        }
        optimizer.step();
    }
    if let Some(t) = gpu_total {
        total += t.item() as f64;
    }
    EpochEnd::Finished(if steps == 0 {
        0.0
    } else {
        total / steps as f64
    })
}

/// How often [`train_epoch`] reads a step's loss back from a GPU for `on_step` (the CLI's
/// progress shows every 16th step).
pub const GPU_LOSS_READ_EVERY: usize = 16;

/// Rows per forward pass in [`evaluate`] (and in the CLI's `predict` and the report's scan for
/// dead units): large enough that the per-call overhead vanishes, small enough that a wide
/// layer's activations (8192 × 4096 `f32` is 128 MiB) stay bounded.
pub const PREDICT_CHUNK: usize = 8192;

/// The model's outputs for every row of `x` (`[n, in]`), in eval mode and without a graph,
/// computed in chunks of `chunk` rows (see [`PREDICT_CHUNK`]). The model's train/eval mode is
/// restored afterwards.
pub fn predict(model: &mut dyn Module, x: &Array, chunk: usize) -> Array {
    let was_training = model.is_training();
    model.eval();
    let n = x.shape()[0];
    let f = x.shape().get(1).copied().unwrap_or(1);
    let chunk = chunk.max(1);
    let mut out: Vec<f32> = Vec::new();
    let mut width = 0;
    // Inputs go where the model is; outputs come back to the CPU.
    let device = model
        .parameters()
        .first()
        .map_or(crate::Device::Cpu, |p| p.device());
    let x_host = (x.device().is_cuda()).then(|| x.to_host_vec());
    let xs = x_host.as_deref().unwrap_or_else(|| x.data());
    crate::no_grad(|| {
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            let xb = Tensor::from_slice(&xs[start * f..end * f], &[end - start, f]);
            let y = model.forward(&xb.to(&device));
            let a = y.array();
            width = a.shape().get(1).copied().unwrap_or(1);
            if a.device().is_cuda() {
                out.extend(a.to_host_vec());
            } else {
                out.extend_from_slice(a.data());
            }
        }
    });
    if was_training {
        model.train();
    }
    Array::new(&[n, width], out)
}

/// Evaluates `model` on `(x, y)` in eval mode: the loss, and accuracy with a confusion matrix
/// when `n_classes` is given (targets are class indices), else MSE, MAE and R². A model with
/// one output and `n_classes = Some(2)` is a binary classifier (one logit, 0/1 targets): see
/// [`evaluate_binary`], here with the threshold 0.5.
///
/// A regression (or binary) target may be `[n, k]` (as the model's outputs) or, for a model
/// with one output, `[n]`: the loss then sees it as `[n, 1]`, the shape of the outputs.
pub fn evaluate(
    model: &mut dyn Module,
    loss_fn: LossFn<'_>,
    x: &Array,
    y: &Array,
    n_classes: Option<usize>,
) -> Evaluation {
    let (loss, out) = loss_and_outputs(model, loss_fn, x, y, n_classes);
    Evaluation::new(loss, &out, y, n_classes)
}

/// Evaluates a binary classifier (one output, a logit; `y` holds 0/1 labels, `[n]` or
/// `[n, 1]`): the loss, the confusion matrix with class 1 for a probability `sigmoid(logit)`
/// above `threshold`, and the ROC AUC ([`Evaluation::binary`]).
pub fn evaluate_binary(
    model: &mut dyn Module,
    loss_fn: LossFn<'_>,
    x: &Array,
    y: &Array,
    threshold: f64,
) -> Evaluation {
    let (loss, out) = loss_and_outputs(model, loss_fn, x, y, Some(2));
    Evaluation::binary(loss, &out, y, threshold)
}

/// The mean loss over `(x, y)` and the model's outputs.
fn loss_and_outputs(
    model: &mut dyn Module,
    loss_fn: LossFn<'_>,
    x: &Array,
    y: &Array,
    n_classes: Option<usize>,
) -> (f64, Array) {
    let out = predict(model, x, PREDICT_CHUNK);
    let loss = crate::no_grad(|| {
        let o = Tensor::from_array(out.clone());
        let per_output = n_classes.is_none() || (n_classes == Some(2) && out.shape()[1] == 1);
        let single_column = per_output && y.ndim() == 1 && out.shape()[1] == 1;
        let t = if single_column {
            Tensor::from_array(y.clone().into_shape(out.shape()))
        } else {
            Tensor::from_array(y.clone())
        };
        loss_fn(&o, &t).item() as f64
    });
    (loss, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{mse_loss, Linear, Reduction};

    /// Trains `epochs` epochs of iris (shuffled, with dropout, batch norm and Adam), stopping
    /// after `stop_at` steps of the second epoch and continuing from a copy of everything a
    /// checkpoint keeps; returns the weights and the epochs' mean losses.
    fn iris_epochs(stop_at: Option<usize>) -> (Vec<Vec<f32>>, Vec<f64>) {
        use crate::data::{iris, DataLoader};
        use crate::nn::{cross_entropy, Mlp, MlpConfig};
        use crate::optim::{Adam, AdamConfig};
        crate::manual_seed(5);
        let data = iris();
        let config = MlpConfig {
            batch_norm: true,
            dropout: 0.2,
            ..MlpConfig::new(&[4, 16, 3])
        };
        let model = Mlp::new(&config);
        let mut opt = Adam::new(model.parameters(), AdamConfig::default()).unwrap();
        let loss = |o: &Tensor, y: &Tensor| cross_entropy(o, y, None, Reduction::Mean, 0.0);
        let loader = DataLoader::new(&data, 32, true);
        let mut g = Generator::new(9);
        let options = StepOptions {
            clip_grad_norm: Some(1.0),
            l1: 1e-4,
        };
        let mut means = Vec::new();
        for epoch in 0..3 {
            let start = g.clone();
            let taken = std::cell::Cell::new(0usize);
            let stop = || epoch == 1 && Some(taken.get()) == stop_at;
            let mut hooks = StepHooks {
                on_step: &mut |_, _| taken.set(taken.get() + 1),
                after_backward: &mut |_, _| {},
                stop: &stop,
            };
            let from = EpochProgress::default();
            let end = train_epoch_from(
                &model, &loss, &mut opt, &loader, &mut g, &options, from, &mut hooks,
            );
            let mean = match end {
                EpochEnd::Finished(mean) => mean,
                EpochEnd::Stopped(progress) => {
                    assert_eq!(progress.steps, stop_at.unwrap());
                    // What a checkpoint keeps, in a fresh model and optimizer.
                    let saved_model = model.state_dict();
                    let saved_opt = opt.state_dict();
                    let global = crate::rng::global_state();
                    crate::manual_seed(1234);
                    let fresh = Mlp::new(&config);
                    fresh.load_state_dict(&saved_model).unwrap();
                    let mut fresh_opt =
                        Adam::new(fresh.parameters(), AdamConfig::default()).unwrap();
                    fresh_opt.load_state_dict(&saved_opt).unwrap();
                    crate::rng::set_global_state(global);
                    let mut g2 = start.clone();
                    let mut hooks = StepHooks {
                        on_step: &mut |_, _| {},
                        after_backward: &mut |_, _| {},
                        stop: &|| false,
                    };
                    let end = train_epoch_from(
                        &fresh,
                        &loss,
                        &mut fresh_opt,
                        &loader,
                        &mut g2,
                        &options,
                        progress,
                        &mut hooks,
                    );
                    model.load_state_dict(&fresh.state_dict()).unwrap();
                    opt.load_state_dict(&fresh_opt.state_dict()).unwrap();
                    assert_eq!(
                        g2.state(),
                        g.state(),
                        "the generator moved as in a whole epoch"
                    );
                    match end {
                        EpochEnd::Finished(mean) => mean,
                        EpochEnd::Stopped(_) => panic!("asked never to stop"),
                    }
                }
            };
            means.push(mean);
        }
        let weights = model.parameters().iter().map(|p| p.to_vec()).collect();
        (weights, means)
    }

    #[test]
    fn an_epoch_stopped_between_steps_continues_bit_for_bit() {
        let _global = crate::testing::global_state();
        let whole = iris_epochs(None);
        // 150 rows in batches of 32: 5 steps an epoch; stop before each of them.
        for stop_at in 0..5 {
            assert_eq!(
                iris_epochs(Some(stop_at)),
                whole,
                "stopped after {stop_at} steps"
            );
        }
        // A stop never asked for leaves the epoch whole; one asked after the last step too.
        assert_eq!(iris_epochs(Some(5)), whole);
    }

    #[test]
    fn skipping_batches_hands_out_the_same_later_batches() {
        use crate::data::{iris, DataLoader};
        let data = iris();
        for (batch, shuffle) in [(32, true), (32, false), (150, false), (7, true)] {
            let loader = DataLoader::new(&data, batch, shuffle);
            let all: Vec<_> = loader
                .iter(&mut Generator::new(2))
                .map(|(_, y)| y.to_vec())
                .collect();
            for skip in 0..=all.len() {
                let mut it = loader.iter(&mut Generator::new(2));
                let first = it.nth(skip).map(|(_, y)| y.to_vec());
                assert_eq!(first.as_ref(), all.get(skip), "batch {batch}, skip {skip}");
                let rest: Vec<_> = it.map(|(_, y)| y.to_vec()).collect();
                assert_eq!(rest, all[(skip + 1).min(all.len())..].to_vec());
            }
        }
    }

    #[test]
    fn evaluate_takes_a_single_regression_target_as_a_column() {
        let _global = crate::testing::global_state();
        crate::manual_seed(3);
        let mut model = Linear::new(2, 1);
        let x = Array::new(&[3, 2], vec![1., 2., -1., 0.5, 0., 3.]);
        let y_col = Array::new(&[3, 1], vec![0.5, -1.0, 2.0]);
        let y_flat = y_col.clone().into_shape(&[3]);
        let loss = |o: &Tensor, t: &Tensor| mse_loss(o, t, Reduction::Mean);
        let flat = evaluate(&mut model, &loss, &x, &y_flat, None);
        let col = evaluate(&mut model, &loss, &x, &y_col, None);
        assert_eq!(flat, col);
        let out = predict(&mut model, &x, 2);
        let mse = out
            .data()
            .iter()
            .zip(y_col.data())
            .map(|(&o, &t)| (o as f64 - t as f64).powi(2))
            .sum::<f64>()
            / 3.0;
        assert!((flat.loss - mse).abs() < 1e-6, "{} vs {mse}", flat.loss);
        assert!((flat.mse.unwrap() - mse).abs() < 1e-9);
    }
}
