//! Section 6 of the tutorial, "Building and Training an MLP": an `nn` MLP trained on XOR with
//! MSELoss and Adam.
//!
//! The code reads like the tutorial's cell; it lives in `src/tour/s6_training.rs`
//! (`backprop::tour::section_6`), so `backprop tour` runs the very same code.
//!
//! Run: `cargo run --release --example 06_training`

fn main() -> backprop::Result<()> {
    backprop::tour::run_example(6)
}
