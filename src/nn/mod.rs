//! Neural-network building blocks, as `torch.nn`: the [`Module`] trait, layers, initialisers
//! ([`init`]) and losses.

mod activation;
mod batchnorm;
mod dropout;
pub mod init;
mod linear;
mod loss;
mod mlp;
mod module;
mod sequential;
mod state;

pub use activation::*;
pub use batchnorm::*;
pub use dropout::*;
pub use linear::*;
pub use loss::*;
pub use mlp::{Activation, InitScheme, Mlp, MlpConfig};
pub use module::*;
pub use sequential::*;
pub use state::{StateData, StateDict, StateTensor};
