//! Section 3, "Backpropagation: The Heart of Deep Learning": one neuron trained by
//! hand-written backprop.

use super::say;
use crate::scratch::Neuron;
use crate::{manual_seed, Result, Tensor};
use std::io::Write;
use std::path::Path;

/// The tutorial's `NeuronWithBackprop(2)` trained on one example (`x = [0.5, 1.0]`,
/// `y = 0.7`) with the squared error and gradients derived by hand
/// ([`Neuron::gradients`]), learning rate 0.1, for 1000 epochs. First checks the hand-derived
/// gradients against autograd's, then prints `Epoch …, Loss: …, Output: …` every 100 epochs and
/// the final output, which approaches 0.7.
///
/// The tutorial updates its `requires_grad=True` tensors in place, which PyTorch refuses; the
/// scratch neuron holds plain numbers (see [`crate::scratch`]).
///
/// # Errors
/// An error writing to `out`.
pub fn section_3(out: &mut dyn Write, _dir: &Path) -> Result<()> {
    manual_seed(42);
    let mut neuron = Neuron::new(2);
    let x = [0.5, 1.0];
    let y = 0.7;

    let max_diff = autograd_difference(&neuron, &x, y);
    say!(
        out,
        "Hand-derived gradients vs autograd: largest difference {max_diff:.1e}"
    );

    let learning_rate = 0.1;
    for epoch in 0..1000 {
        let output = neuron.forward(&x);
        let loss = (output - y).powi(2);
        neuron.backward(&x, y, output, learning_rate);

        if epoch % 100 == 0 {
            say!(out, "Epoch {epoch}, Loss: {loss:.4}, Output: {output:.4}");
        }
    }
    say!(out, "Final output: {:.4}", neuron.forward(&x));
    Ok(())
}

/// The largest absolute difference between [`Neuron::gradients`] and what autograd computes
/// for `(sigmoid(w·x + b) − y)²` with the same numbers.
fn autograd_difference(neuron: &Neuron, x: &[f32], y: f32) -> f32 {
    let output = neuron.forward(x);
    let by_hand = neuron.gradients(x, y, output);

    let w = Tensor::from_slice(&neuron.weights, &[x.len()]).set_requires_grad(true);
    let b = Tensor::from_slice(&[neuron.bias], &[1]).set_requires_grad(true);
    let xt = Tensor::from_slice(x, &[x.len()]);
    let out = (w.dot(&xt) + &b).sigmoid();
    let loss = (out - Tensor::scalar(y)).pow(2.0).sum();
    loss.backward();

    let mut diffs: Vec<f32> = w
        .grad()
        .expect("w has a gradient")
        .to_vec()
        .iter()
        .zip(&by_hand.weights)
        .map(|(a, h)| (a - h).abs())
        .collect();
    diffs.push((b.grad().expect("b has a gradient").to_vec()[0] - by_hand.bias).abs());
    diffs.into_iter().fold(0.0, f32::max)
}
