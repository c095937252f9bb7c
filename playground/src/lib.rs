//! The engine of `backprop playground`: the page that trains a small MLP on 2-D data in the
//! browser, with backprop itself compiled to WebAssembly.
//!
//! - [`experiment`]: the whole experiment as a URL query string, and as the CLI's TOML.
//! - [`datasets`]: the 2-D datasets (xor, circle, gauss, spiral, moons, plane), seeded.
//! - [`session`]: a model, its optimizer and its data; steps, epochs, heatmaps, safetensors.
//! - [`backward`]: the backward pass of one point by hand, checked against autograd.
//! - [`digest`]: the digest of the sources the committed `playground.wasm` was built from.
//! - `wasm`: the C-ABI functions the page calls (built for `wasm32` only).
//!
//! The same experiment gives the same numbers here, natively, as in the page.

#![warn(missing_docs)]

pub mod backward;
pub mod datasets;
#[cfg(not(target_arch = "wasm32"))]
pub mod digest;
pub mod experiment;
pub mod session;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use experiment::Experiment;
pub use session::Session;
