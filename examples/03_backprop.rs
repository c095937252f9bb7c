//! Section 3 of the tutorial, "Backpropagation: The Heart of Deep Learning": a single neuron
//! trained by hand-written backprop on the squared error.
//!
//! The code reads like the tutorial's cell; it lives in `src/tour/s3_backprop.rs`
//! (`backprop::tour::section_3`), so `backprop tour` runs the very same code.
//!
//! Run: `cargo run --release --example 03_backprop`

fn main() -> backprop::Result<()> {
    backprop::tour::run_example(3)
}
