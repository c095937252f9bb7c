//! Section 7 of the tutorial, "Visualizing Gradients and Training Dynamics": histograms and
//! heatmaps of every layer's gradients and parameters during training, and the loss curve.
//!
//! The code reads like the tutorial's cell; it lives in `src/tour/s7_gradients.rs`
//! (`backprop::tour::section_7`), so `backprop tour` runs the very same code.
//!
//! Run: `cargo run --release --example 07_gradients -- DIR` (figures go to DIR, default `tour/`)

fn main() -> backprop::Result<()> {
    backprop::tour::run_example(7)
}
