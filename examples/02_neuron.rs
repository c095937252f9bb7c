//! Section 2 of the tutorial, "The Mathematics of Neural Networks": a single neuron
//! `sigmoid(w·x + b)` with random weights.
//!
//! The code reads like the tutorial's cell; it lives in `src/tour/s2_neuron.rs`
//! (`backprop::tour::section_2`), so `backprop tour` runs the very same code.
//!
//! Run: `cargo run --release --example 02_neuron`

fn main() -> backprop::Result<()> {
    backprop::tour::run_example(2)
}
