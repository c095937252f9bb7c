//! Reading and writing model weights.
//!
//! [`safetensors`] stores a [`StateDict`](crate::nn::StateDict) under PyTorch's names, so a
//! file written here loads in PyTorch (`safetensors.torch.load_file`) and the other way round.

pub mod safetensors;
