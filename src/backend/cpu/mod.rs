//! The CPU's kernels that are more than a loop: the matrix product and the buffer pool. The
//! elementwise loops and reductions are `Array`'s methods (`tensor/array.rs`).

mod gemm;
mod pool;

pub use gemm::{gemm, MatRef, PARALLEL_THRESHOLD};
pub(crate) use gemm::{gemm_ex, relu_f32, Init};
pub(crate) use pool::{buffer_for_overwrite, recycle, RECYCLE_MIN};
