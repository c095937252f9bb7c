//! Differentiable ops on [`Tensor`](crate::Tensor), each with its forward and backward side by
//! side. They are methods on `Tensor`; this module only groups the files.

mod activation;
mod arith;
mod compare;
mod matmul;
mod reduce;
mod shape;
mod softmax;

pub(crate) use activation::{gelu_f32, gelu_grad, log_sigmoid, sigmoid_f32};
