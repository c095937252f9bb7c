//! Section 7, "Visualizing Gradients and Training Dynamics": pictures of every layer's
//! gradients and parameters while the section 6 network trains.

use super::{say, xor, PyTorchMLP};
use crate::nn::{MSELoss, Module};
use crate::optim::{Adam, AdamConfig, Optimizer};
use crate::{manual_seed, Result};
use std::io::Write;
use std::path::Path;

/// The folder (inside the output folder) that holds the per-layer figures.
pub const GRADIENTS_DIR: &str = "07_gradients";

/// Trains a fresh `PyTorchMLP(2, [4, 4], 1)` as section 6 does and, every 200 epochs, prints
/// the loss and saves the tutorial's `plot_gradients(model)` for **every** parameter (the
/// tutorial's loop stops after the first): histograms of its gradient and of its values, and,
/// for weight matrices, heatmaps of both. They go to [`GRADIENTS_DIR`], named like
/// `epoch_0200_layers.0.weight_grad_hist.png` (`_grad_hist`, `_grad_heatmap`, `_param_hist`,
/// `_param_heatmap`), one line `Saved …` per epoch. At the end it
/// saves the loss curve (`07_loss.png`) and each layer's gradient norm over the epochs
/// (`07_grad_norms.png`).
///
/// # Errors
/// An error writing to `out` or saving a figure.
pub fn section_7(out: &mut dyn Write, dir: &Path) -> Result<()> {
    manual_seed(42);
    let (x, y) = xor();
    let mlp = PyTorchMLP::new(2, &[4, 4], 1);
    let criterion = MSELoss::new();
    let mut optimizer = Adam::new(
        mlp.parameters(),
        AdamConfig {
            lr: 0.01,
            ..Default::default()
        },
    )?;
    let mut pictures = Pictures::new(dir)?;

    let num_epochs = 1000;
    let mut losses = Vec::with_capacity(num_epochs);
    for epoch in 0..num_epochs {
        let outputs = mlp.forward(&x);
        let loss = criterion.forward(&outputs, &y);

        optimizer.zero_grad();
        loss.backward();
        pictures.record(epoch + 1, &mlp);
        optimizer.step();
        losses.push(loss.item() as f64);

        if (epoch + 1) % 200 == 0 {
            say!(
                out,
                "Epoch [{}/{num_epochs}], Loss: {:.4}",
                epoch + 1,
                loss.item()
            );
            pictures.plot_gradients(out, &mlp, epoch + 1)?;
        }
    }
    pictures.finish(out, &losses)
}

/// The figures of section 7 (nothing without the `viz` feature).
#[cfg(feature = "viz")]
struct Pictures<'a> {
    dir: &'a Path,
    monitor: crate::viz::GradientMonitor,
}

#[cfg(feature = "viz")]
impl<'a> Pictures<'a> {
    fn new(dir: &'a Path) -> Result<Self> {
        let sub = dir.join(GRADIENTS_DIR);
        if !sub.is_dir() {
            std::fs::create_dir(&sub).map_err(|e| crate::Error::io(&sub, e))?;
        }
        Ok(Pictures {
            dir,
            monitor: crate::viz::GradientMonitor::new(),
        })
    }

    /// Records every layer's gradient norm (after `backward`, before the step).
    fn record(&mut self, epoch: usize, model: &dyn Module) {
        self.monitor.record(epoch, model);
    }

    /// The tutorial's `plot_gradients(model)`, for every parameter.
    fn plot_gradients(&self, out: &mut dyn Write, model: &dyn Module, epoch: usize) -> Result<()> {
        use crate::viz::{plot_heatmap, plot_histogram};
        let mut count = 0;
        for (name, param) in model.named_parameters() {
            let Some(grad) = param.grad() else { continue };
            let (grad, value) = (grad.array().clone(), param.array().clone());
            let file = |kind: &str| {
                self.dir
                    .join(GRADIENTS_DIR)
                    .join(format!("epoch_{epoch:04}_{name}_{kind}.png"))
            };
            let at = format!("{name}, epoch {epoch}");
            plot_histogram(
                &format!("Gradient Distribution - {at}"),
                grad.data(),
                50,
                file("grad_hist").as_path(),
            )?;
            plot_histogram(
                &format!("Parameter Distribution - {at}"),
                value.data(),
                50,
                file("param_hist").as_path(),
            )?;
            count += 2;
            if value.ndim() == 2 {
                plot_heatmap(
                    &format!("Gradient Heatmap - {at}"),
                    &grad,
                    file("grad_heatmap").as_path(),
                )?;
                plot_heatmap(
                    &format!("Parameter Heatmap - {at}"),
                    &value,
                    file("param_heatmap").as_path(),
                )?;
                count += 2;
            }
        }
        say!(
            out,
            "Saved {count} figures: {GRADIENTS_DIR}/epoch_{epoch:04}_*.png"
        );
        Ok(())
    }

    /// The loss curve and the gradient norms over the whole run.
    fn finish(&self, out: &mut dyn Write, losses: &[f64]) -> Result<()> {
        let name = "07_loss.png";
        crate::viz::plot_curves(
            "Training loss (MSE)",
            &[("loss", losses)],
            self.dir.join(name).as_path(),
        )?;
        super::saved(out, name)?;
        let name = "07_grad_norms.png";
        self.monitor.plot_norms(self.dir.join(name).as_path())?;
        super::saved(out, name)
    }
}

#[cfg(not(feature = "viz"))]
struct Pictures;

#[cfg(not(feature = "viz"))]
impl Pictures {
    fn new(_: &Path) -> Result<Self> {
        Ok(Pictures)
    }
    fn record(&mut self, _: usize, _: &dyn Module) {}
    fn plot_gradients(&self, _: &mut dyn Write, _: &dyn Module, _: usize) -> Result<()> {
        Ok(())
    }
    fn finish(&self, out: &mut dyn Write, _: &[f64]) -> Result<()> {
        super::no_figures(out)
    }
}
