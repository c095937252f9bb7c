//! Section 4 of the tutorial, "Implementing an MLP from Scratch": an MLP on plain matrices with
//! hand-written forward and backward (`backprop::scratch`) learning XOR.
//!
//! The code reads like the tutorial's cell; it lives in `src/tour/s4_scratch.rs`
//! (`backprop::tour::section_4`), so `backprop tour` runs the very same code.
//!
//! Run: `cargo run --release --example 04_scratch`

fn main() -> backprop::Result<()> {
    backprop::tour::run_example(4)
}
