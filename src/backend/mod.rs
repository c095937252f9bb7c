//! The doors to the numerical work, one per kind of storage: elementwise ops are *named*
//! ([`UnaryOp`], [`BinaryOp`]), each carrying its CPU function and its GPU kernel side by side,
//! so that a device is a folder (`cuda/`, behind the `cuda` feature) rather than a branch in
//! every op. The CPU kernels themselves (loops, reductions, the GEMM driver, the buffer pool)
//! live with [`Array`](crate::Array) in `tensor/array.rs`.

#[cfg(feature = "cuda")]
pub(crate) mod cuda;
mod op;

pub use op::{BinaryOp, UnaryOp};
