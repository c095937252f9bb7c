//! Section 2, "The Mathematics of Neural Networks": a single neuron.

use super::say;
use crate::scratch::Neuron;
use crate::{manual_seed, Result};
use std::io::Write;
use std::path::Path;

/// The tutorial's `Neuron(3)`: random weights and bias, `sigmoid(w·x + b)` on `[1, 2, 3]`.
/// Prints `Neuron output: …`.
///
/// # Errors
/// An error writing to `out`.
pub fn section_2(out: &mut dyn Write, _dir: &Path) -> Result<()> {
    manual_seed(42);
    // y = f(Σ wᵢ·xᵢ + b) with f = sigmoid; weights and bias from N(0, 1).
    let neuron = Neuron::new(3);
    let input_data = [1.0, 2.0, 3.0];
    let output = neuron.forward(&input_data);
    say!(out, "Neuron output: {output:.4}");
    Ok(())
}
