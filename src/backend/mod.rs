//! The doors to the numerical work, one per kind of storage: elementwise ops are *named*
//! ([`UnaryOp`], [`BinaryOp`]), each carrying its CPU function and its GPU kernel side by side,
//! so that a device is a folder rather than a branch in every op: `cpu/` (the GEMM driver and
//! the buffer pool; the elementwise loops and reductions are [`Array`](crate::Array)'s methods)
//! and `cuda/` (behind the `cuda` feature).

pub(crate) mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;
mod op;

pub use op::{BinaryOp, UnaryOp};
