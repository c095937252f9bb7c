//! Section 6, "Building and Training an MLP": the `nn` way — modules, a loss, an optimizer.

use super::{print_predictions, say, xor};
use crate::nn::{Linear, MSELoss, Module, ModuleList, ReLU};
use crate::optim::{Adam, AdamConfig, Optimizer};
use crate::{manual_seed, no_grad, Result, Tensor};
use std::fmt;
use std::io::Write;
use std::path::Path;

/// The tutorial's `PyTorchMLP`: `Linear` layers with a `ReLU` between each pair, in a
/// `ModuleList` named `layers` (so parameters are `layers.0.weight`, `layers.2.weight`, ...).
/// The library's [`crate::nn::Mlp`] builds the same network from a config.
pub struct PyTorchMLP {
    /// `Linear, ReLU, Linear, ReLU, ..., Linear`.
    pub layers: ModuleList,
}

impl PyTorchMLP {
    /// `Linear(input_size, h₁), ReLU, ..., Linear(h_last, output_size)`, with PyTorch's
    /// default initialisation drawn from the global generator.
    pub fn new(input_size: usize, hidden_sizes: &[usize], output_size: usize) -> Self {
        let mut layer_sizes = vec![input_size];
        layer_sizes.extend_from_slice(hidden_sizes);
        layer_sizes.push(output_size);

        let mut layers = ModuleList::new();
        for i in 0..layer_sizes.len() - 1 {
            layers.push(Linear::new(layer_sizes[i], layer_sizes[i + 1]));
            if i < layer_sizes.len() - 2 {
                layers.push(ReLU);
            }
        }
        PyTorchMLP { layers }
    }
}

impl Module for PyTorchMLP {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.layers
            .iter()
            .fold(x.clone(), |x, layer| layer.forward(&x))
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("layers".into(), &self.layers)]
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![("layers".into(), &mut self.layers)]
    }
}

/// `print(mlp)` prints the module tree, as PyTorch does.
impl fmt::Display for PyTorchMLP {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

/// `PyTorchMLP(2, [4, 4], 1)` printed, then trained on XOR with `MSELoss` and `Adam(lr=0.01)`
/// for 1000 full-batch epochs, printing `Epoch [100/1000], Loss: …` every 100 epochs (the loss
/// before that epoch's update, as the tutorial's loop), then the eval-mode predictions for
/// the four inputs.
///
/// # Errors
/// An error writing to `out`.
pub fn section_6(out: &mut dyn Write, _dir: &Path) -> Result<()> {
    manual_seed(42);
    // Create the MLP
    let mut mlp = PyTorchMLP::new(2, &[4, 4], 1);
    say!(out, "{mlp}");

    // Prepare data
    let (x, y) = xor();

    // Define loss function and optimizer
    let criterion = MSELoss::new();
    let mut optimizer = Adam::new(
        mlp.parameters(),
        AdamConfig {
            lr: 0.01,
            ..Default::default()
        },
    )?;

    // Training loop
    let num_epochs = 1000;
    for epoch in 0..num_epochs {
        // Forward pass
        let outputs = mlp.forward(&x);
        let loss = criterion.forward(&outputs, &y);

        // Backward pass and optimize
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();

        if (epoch + 1) % 100 == 0 {
            say!(
                out,
                "Epoch [{}/{num_epochs}], Loss: {:.4}",
                epoch + 1,
                loss.item()
            );
        }
    }

    // Test the model
    mlp.eval();
    let predictions = no_grad(|| mlp.forward(&x));
    print_predictions(out, &x, &y, &predictions)
}
