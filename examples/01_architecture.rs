//! Section 1 of the tutorial, "Introduction to Multi-Layer Perceptrons": the architecture diagram
//! of a 4-5-3-2 MLP, saved as PNG and SVG.
//!
//! The code reads like the tutorial's cell; it lives in `src/tour/s1_architecture.rs`
//! (`backprop::tour::section_1`), so `backprop tour` runs the very same code.
//!
//! Run: `cargo run --release --example 01_architecture -- DIR` (figures go to DIR, default `tour/`)

fn main() -> backprop::Result<()> {
    backprop::tour::run_example(1)
}
