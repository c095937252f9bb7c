//! The tutorial's section 6, "Building and Training an MLP in PyTorch", line for line: the
//! tutorial's `PyTorchMLP` holding its layers in a `ModuleList`, trained on XOR with `MSELoss`
//! and Adam (lr 0.01) for 1000 full-batch epochs, then evaluated.
//!
//! ```text
//! cargo run --release --example xor
//! ```
//!
//! `tests/golden_xor.rs` includes this file and runs [`train_xor`] from PyTorch's initial weights.

// `PyTorchMLP` is the tutorial's class as a user-defined module: `layers: ModuleList` plus
// `forward`, `children` and `Display` (see its source in `src/tour/s6_training.rs`, or the
// `nn::Module` docs for writing your own).
pub use backprop::tour::PyTorchMLP;

use backprop::nn::{MSELoss, Module};
use backprop::optim::{Adam, AdamConfig, Optimizer};
use backprop::{manual_seed, no_grad, Tensor};

/// XOR's inputs `[4, 2]` and targets `[4, 1]`.
pub fn xor_data() -> (Tensor, Tensor) {
    let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]);
    let y = Tensor::from_slice(&[0., 1., 1., 0.], &[4, 1]);
    (x, y)
}

/// The tutorial's training loop: `MSELoss`, `Adam(lr=0.01)`, `num_epochs` full-batch epochs.
/// After each epoch's update, `on_epoch(epoch, loss)` gets the epoch (0-based) and its loss
/// (computed before the update, as `loss.item()` in the tutorial).
pub fn train_xor(
    mlp: &PyTorchMLP,
    x: &Tensor,
    y: &Tensor,
    num_epochs: usize,
    mut on_epoch: impl FnMut(usize, f32),
) {
    let criterion = MSELoss::new();
    let config = AdamConfig {
        lr: 0.01,
        ..Default::default()
    };
    let mut optimizer = Adam::new(mlp.parameters(), config).expect("valid Adam config");
    for epoch in 0..num_epochs {
        // Forward pass
        let outputs = mlp.forward(x);
        let loss = criterion.forward(&outputs, y);

        // Backward pass and optimize
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();

        on_epoch(epoch, loss.item());
    }
}

fn main() {
    manual_seed(42);

    // Create the MLP
    let mut mlp = PyTorchMLP::new(2, &[4, 4], 1);
    println!("{mlp}");

    // Prepare data
    let (x, y) = xor_data();

    // Training loop
    let num_epochs = 1000;
    train_xor(&mlp, &x, &y, num_epochs, |epoch, loss| {
        if (epoch + 1) % 100 == 0 {
            println!("Epoch [{}/{num_epochs}], Loss: {loss:.4}", epoch + 1);
        }
    });

    // Test the model
    mlp.eval();
    let predictions = no_grad(|| mlp.forward(&x));
    let (inputs, targets, preds) = (x.to_vec(), y.to_vec(), predictions.to_vec());
    for ((input, target), pred) in inputs.chunks(2).zip(targets).zip(preds) {
        println!("Input: {input:?}, Target: {target:.0}, Prediction: {pred:.4}");
    }
}
