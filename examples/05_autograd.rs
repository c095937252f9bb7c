//! Section 5 of the tutorial, "Autograd: Automatic Differentiation": the gradients of `mean(x * y)`
//! and its computation graph (DOT, SVG, PNG).
//!
//! The code reads like the tutorial's cell; it lives in `src/tour/s5_autograd.rs`
//! (`backprop::tour::section_5`), so `backprop tour` runs the very same code.
//!
//! Run: `cargo run --release --example 05_autograd -- DIR` (figures go to DIR, default `tour/`)

fn main() -> backprop::Result<()> {
    backprop::tour::run_example(5)
}
