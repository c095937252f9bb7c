//! Section 8 of the tutorial, "Advanced Topics and Best Practices": BatchNorm, Dropout, Xavier
//! init, weight decay, StepLR and gradient clipping.
//!
//! The code reads like the tutorial's cell; it lives in `src/tour/s8_advanced.rs`
//! (`backprop::tour::section_8`), so `backprop tour` runs the very same code.
//!
//! Run: `cargo run --release --example 08_advanced`

fn main() -> backprop::Result<()> {
    backprop::tour::run_example(8)
}
