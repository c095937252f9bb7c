//! Training and evaluation loops: one epoch of mini-batch steps, evaluation with classification
//! or regression metrics, and batched prediction. The CLI and the examples share them.

mod metrics;

pub use metrics::{argmax, ConfusionMatrix, Evaluation};

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
    let params = if options.l1 > 0.0 || options.clip_grad_norm.is_some() {
        model.parameters()
    } else {
        Vec::new()
    };
    let mut total = 0.0f64;
    let mut steps = 0usize;
    for (i, (x, y)) in loader.iter(generator).enumerate() {
        optimizer.zero_grad();
        let out = model.forward(&x);
        let mut loss = loss_fn(&out, &y);
        if options.l1 > 0.0 {
            loss = &loss + &(&l1_penalty(&params) * options.l1 as f32);
        }
        let value = loss.item();
        total += value as f64;
        steps += 1;
        on_step(i, value);
        loss.backward();
        after_backward(i, model);
        if let Some(max_norm) = options.clip_grad_norm {
            clip_grad_norm(&params, max_norm, 2.0);
        }
        optimizer.step();
    }
    if steps == 0 {
        0.0
    } else {
        total / steps as f64
    }
}

/// The model's outputs for every row of `x` (`[n, in]`), in eval mode and without a graph,
/// computed in chunks of `chunk` rows. The model's train/eval mode is restored afterwards.
pub fn predict(model: &mut dyn Module, x: &Array, chunk: usize) -> Array {
    let was_training = model.is_training();
    model.eval();
    let n = x.shape()[0];
    let f = x.shape().get(1).copied().unwrap_or(1);
    let chunk = chunk.max(1);
    let mut out: Vec<f32> = Vec::new();
    let mut width = 0;
    crate::no_grad(|| {
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            let xb = Tensor::from_slice(&x.data()[start * f..end * f], &[end - start, f]);
            let y = model.forward(&xb);
            let a = y.array();
            width = a.shape().get(1).copied().unwrap_or(1);
            out.extend_from_slice(a.data());
        }
    });
    if was_training {
        model.train();
    }
    Array::new(&[n, width], out)
}

/// Evaluates `model` on `(x, y)` in eval mode: the loss, and accuracy with a confusion matrix
/// when `n_classes` is given (targets are class indices), else MSE, MAE and R².
pub fn evaluate(
    model: &mut dyn Module,
    loss_fn: LossFn<'_>,
    x: &Array,
    y: &Array,
    n_classes: Option<usize>,
) -> Evaluation {
    let out = predict(model, x, 8192);
    let loss = crate::no_grad(|| {
        let o = Tensor::from_array(out.clone());
        let t = Tensor::from_array(y.clone());
        loss_fn(&o, &t).item() as f64
    });
    Evaluation::new(loss, &out, y, n_classes)
}
