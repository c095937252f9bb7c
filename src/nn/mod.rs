//! Neural-network building blocks, as `torch.nn`: the [`Module`] trait, layers, initialisers
//! ([`init`]) and losses.

pub mod init;
mod activation;
mod batchnorm;
mod dropout;
mod linear;
mod mlp;
mod loss;
mod module;
mod sequential;
mod state;

pub use activation::*;
pub use batchnorm::*;
pub use dropout::*;
pub use linear::*;
pub use mlp::{Activation, InitScheme, Mlp, MlpConfig};
pub use loss::*;
pub use module::*;
pub use sequential::*;
pub use state::{StateData, StateDict, StateTensor};
