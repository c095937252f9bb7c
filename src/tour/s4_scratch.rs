//! Section 4, "Implementing an MLP from Scratch": XOR with plain matrices and hand-written
//! backprop.

use super::say;
use crate::scratch::Mlp;
use crate::{manual_seed, Array, Result};
use std::io::Write;
use std::path::Path;

/// The learning rate of section 4's gradient descent.
///
/// The tutorial uses 0.1 with `δ = a − y` summed over the batch. The true MSE gradient is
/// smaller: the mean divides by the 4 samples, and the output sigmoid's derivative `a·(1−a)`
/// is at most 1/4, so with `2/n` it is at most `2/4 · 1/4 = 1/8` of the tutorial's. At 0.1
/// the network would hardly move in 1000 epochs.
pub const SCRATCH_LEARNING_RATE: f32 = 10.0;

/// The tutorial's `MLP([2, 3, 1])` — sigmoid layers, weights from N(0, 1) — trained on XOR by
/// full-batch gradient descent with the gradients of [`crate::scratch::Mlp::backward`],
/// 1000 epochs. Prints the loss every 100 epochs (after that epoch's update, as the tutorial
/// does), then the prediction for each input.
///
/// Differences from the tutorial's code (each explained in [`crate::scratch`]): gradients
/// use the weights of the forward pass (the tutorial updates first), the output sigmoid's
/// derivative is kept, targets are `[1, 4]` like the outputs (the tutorial's `[4, 1]`
/// broadcasts to `[4, 4]`), and the learning rate is [`SCRATCH_LEARNING_RATE`].
///
/// # Errors
/// An error writing to `out`.
pub fn section_4(out: &mut dyn Write, _dir: &Path) -> Result<()> {
    manual_seed(42);
    let mut mlp = Mlp::new(&[2, 3, 1]);
    // One column per sample (the tutorial's `X.t()`), and targets shaped like the outputs.
    let x = Array::new(&[2, 4], vec![0., 0., 1., 1., 0., 1., 0., 1.]);
    let y = Array::new(&[1, 4], vec![0., 1., 1., 0.]);

    for epoch in 0..1000 {
        mlp.train_step(&x, &y, SCRATCH_LEARNING_RATE);
        if epoch % 100 == 0 {
            say!(out, "Epoch {epoch}, Loss: {:.4}", mlp.loss(&x, &y));
        }
    }

    say!(out, "\nFinal predictions:");
    let predictions = mlp.predict(&x);
    for i in 0..4 {
        let input = [x.at(&[0, i]), x.at(&[1, i])];
        say!(
            out,
            "Input: {input:?}, Target: {:.0}, Prediction: {:.4}",
            y.at(&[0, i]),
            predictions.at(&[0, i])
        );
    }
    Ok(())
}
