//! # backprop
//!
//! Multi-layer perceptrons with reverse-mode automatic differentiation, shaped like PyTorch:
//! [`Tensor`]s that record the ops applied to them, [`nn`] modules, losses and initialisers,
//! [`optim`] optimizers and learning-rate schedulers, and safetensors weights under PyTorch's names.
//!
//! ```
//! use backprop::nn::{self, Linear, Module, MSELoss, ReLU, Sequential};
//! use backprop::optim::{Adam, AdamConfig, Optimizer};
//! use backprop::{manual_seed, Tensor};
//!
//! manual_seed(42);
//! let model = Sequential::new()
//!     .add(Linear::new(2, 8))
//!     .add(ReLU)
//!     .add(Linear::new(8, 1));
//! let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]);
//! let y = Tensor::from_slice(&[0., 1., 1., 0.], &[4, 1]);
//! let mut opt = Adam::new(model.parameters(), AdamConfig { lr: 0.05, ..Default::default() }).unwrap();
//! let criterion = MSELoss::default();
//! for _ in 0..500 {
//!     opt.zero_grad();
//!     let loss = criterion.forward(&model.forward(&x), &y);
//!     loss.backward();
//!     opt.step();
//! }
//! let loss = criterion.forward(&model.forward(&x), &y).item();
//! assert!(loss < 0.05, "loss {loss}");
//! ```
//!
//! ## Errors and panics
//! Tensor math that is wrong by construction — mismatched shapes, a dim out of range — panics
//! with a message naming the op and the shapes (as `ndarray` and PyTorch's exceptions do).
//! Everything that reads outside input — files, state dicts, hyperparameters — returns
//! [`Result`].

#![warn(missing_docs)]
#![allow(clippy::upper_case_acronyms)]
// Gradient checks read best as `check_grad(f, &[x.clone()])`.
#![cfg_attr(test, allow(clippy::cloned_ref_to_slice_refs))]

pub mod autograd;
mod backend;
pub mod data;
mod device;
pub mod doc;
mod error;
pub mod io;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod rng;
mod runtime;
pub mod scratch;
pub mod tensor;
pub mod tour;
pub mod train;
#[cfg(feature = "viz")]
pub mod viz;

#[cfg(test)]
mod testing;

pub use autograd::{gradcheck, no_grad, set_anomaly_detection};
pub use backend::{BinaryOp, UnaryOp};
pub use device::{Device, AUTO_CUDA_MIN_FLOPS};
pub use error::{Error, Result};
pub use rng::manual_seed;
pub use runtime::{get_num_threads, is_flush_denormal, set_flush_denormal, set_num_threads};
pub use tensor::{Array, Tensor};
