//! `Array`: an n-dimensional buffer of `f32` with a shape, on the CPU or on a GPU, and the
//! kernels that work on it.
//!
//! Arrays know nothing of autograd: ops compute their forward and backward passes on arrays, and
//! the graph lives in [`Tensor`](crate::Tensor). On the CPU, matrix products go through the
//! `gemm` crate (AVX2/AVX-512 kernels, threads above a size threshold) and elementwise loops run
//! over slices. An array on a GPU (feature `cuda`) holds a device buffer instead: the named ops
//! ([`UnaryOp`], [`BinaryOp`]), reductions and products run there as kernels, and reading its
//! values ([`Array::data`]) panics with a message saying to copy it to the CPU first.

use super::dims::Dims;
use super::shape::{
    broadcast_shape, broadcast_strides, broadcasts_to, for_each_offset, numel, split_at_dim,
    strides,
};
use crate::backend::cpu::{buffer_for_overwrite, recycle, RECYCLE_MIN};
use crate::backend::{BinaryOp, UnaryOp};
use crate::device::Device;
use crate::runtime::for_each;
use std::fmt;

/// A contiguous, row-major n-dimensional array of `f32`, on the CPU or on a GPU.
pub struct Array {
    shape: Dims,
    storage: Storage,
}

/// Where an array's elements live.
pub(crate) enum Storage {
    /// Host memory.
    Cpu(Vec<f32>),
    /// A buffer on an NVIDIA GPU.
    #[cfg(feature = "cuda")]
    Cuda(crate::backend::cuda::Buffer),
}

impl Clone for Array {
    /// A copy on the same device; a large one on the CPU reuses a recycled buffer.
    fn clone(&self) -> Self {
        let storage = match &self.storage {
            Storage::Cpu(data) if data.len() >= RECYCLE_MIN => {
                let mut v = buffer_for_overwrite(data.len());
                v.copy_from_slice(data);
                Storage::Cpu(v)
            }
            Storage::Cpu(data) => Storage::Cpu(data.clone()),
            #[cfg(feature = "cuda")]
            Storage::Cuda(b) => Storage::Cuda(b.clone()),
        };
        Array {
            shape: self.shape.clone(),
            storage,
        }
    }
}

impl PartialEq for Array {
    /// Same device, same shape and the same values (a GPU array is compared after copying both
    /// to the CPU).
    fn eq(&self, other: &Self) -> bool {
        if self.shape != other.shape || self.device() != other.device() {
            return false;
        }
        match (&self.storage, &other.storage) {
            (Storage::Cpu(a), Storage::Cpu(b)) => a == b,
            #[cfg(feature = "cuda")]
            _ => self.to_host_vec() == other.to_host_vec(),
        }
    }
}

impl Drop for Array {
    // Without the `cuda` feature the CPU is the only storage.
    #[allow(irrefutable_let_patterns)]
    fn drop(&mut self) {
        if let Storage::Cpu(data) = &mut self.storage {
            if data.capacity() >= RECYCLE_MIN {
                recycle(std::mem::take(data));
            }
        }
    }
}

impl Array {
    fn cpu(shape: Dims, data: Vec<f32>) -> Array {
        Array {
            shape,
            storage: Storage::Cpu(data),
        }
    }

    #[cfg(feature = "cuda")]
    pub(crate) fn from_cuda(shape: impl Into<Dims>, buffer: crate::backend::cuda::Buffer) -> Array {
        Array {
            shape: shape.into(),
            storage: Storage::Cuda(buffer),
        }
    }

    #[cfg(feature = "cuda")]
    pub(crate) fn cuda_buffer(&self) -> Option<&crate::backend::cuda::Buffer> {
        match &self.storage {
            Storage::Cuda(b) => Some(b),
            Storage::Cpu(_) => None,
        }
    }

    #[cfg(feature = "cuda")]
    pub(crate) fn cuda_buffer_mut(&mut self) -> Option<&mut crate::backend::cuda::Buffer> {
        match &mut self.storage {
            Storage::Cuda(b) => Some(b),
            Storage::Cpu(_) => None,
        }
    }

    /// The host elements; panics, naming the device and the caller's location, for an array on
    /// a GPU.
    #[track_caller]
    fn host(&self) -> &[f32] {
        match &self.storage {
            Storage::Cpu(d) => d,
            #[cfg(feature = "cuda")]
            Storage::Cuda(_) => self.panic_on_device(),
        }
    }

    #[track_caller]
    fn host_mut(&mut self) -> &mut Vec<f32> {
        #[cfg(feature = "cuda")]
        if let Storage::Cuda(_) = self.storage {
            self.panic_on_device()
        }
        match &mut self.storage {
            Storage::Cpu(d) => d,
            #[cfg(feature = "cuda")]
            Storage::Cuda(_) => unreachable!(),
        }
    }

    #[cfg(feature = "cuda")]
    #[track_caller]
    fn panic_on_device(&self) -> ! {
        panic!(
            "this operation reads the values on the CPU, but the array (shape {:?}) is on {}: \
             copy it to the CPU first with .to(&Device::Cpu)",
            self.shape,
            self.device()
        )
    }

    /// The device that holds the elements.
    pub fn device(&self) -> Device {
        match &self.storage {
            Storage::Cpu(_) => Device::Cpu,
            #[cfg(feature = "cuda")]
            Storage::Cuda(b) => Device::Cuda(b.ordinal()),
        }
    }

    /// A copy of this array on `device` (this array itself, moved, when it is already there).
    ///
    /// # Panics
    /// Panics if `device` is a GPU that cannot be used (see [`Device::cuda`]).
    #[track_caller]
    pub fn to_device(self, device: &Device) -> Array {
        if self.device() == *device {
            return self;
        }
        match device {
            Device::Cpu => {
                let data = self.to_host_vec();
                Array::cpu(self.shape.clone(), data)
            }
            Device::Cuda(ordinal) => {
                #[cfg(feature = "cuda")]
                {
                    let gpu = crate::backend::cuda::gpu(*ordinal).unwrap_or_else(|e| panic!("{e}"));
                    match &self.storage {
                        Storage::Cpu(data) => {
                            Array::from_cuda(self.shape.clone(), gpu.upload(data))
                        }
                        Storage::Cuda(b) => {
                            Array::from_cuda(self.shape.clone(), gpu.upload(&b.to_vec()))
                        }
                    }
                }
                #[cfg(not(feature = "cuda"))]
                {
                    panic!("{}", crate::device::no_cuda_feature(*ordinal))
                }
            }
        }
    }

    /// The elements in row-major order, copied to the host (a device-to-host copy, which waits
    /// for the GPU, for an array on a GPU).
    pub fn to_host_vec(&self) -> Vec<f32> {
        match &self.storage {
            Storage::Cpu(d) => d.clone(),
            #[cfg(feature = "cuda")]
            Storage::Cuda(b) => b.to_vec(),
        }
    }

    /// An array of `shape` whose values are unspecified (they may come from a recycled buffer);
    /// for results the caller writes in full before reading, such as a matrix product.
    pub(crate) fn for_overwrite(shape: &[usize]) -> Self {
        Array::cpu(Dims::new(shape), buffer_for_overwrite(numel(shape)))
    }

    /// An array of `shape` holding `data` in row-major order.
    ///
    /// # Panics
    /// Panics if `data.len()` is not the product of `shape`.
    #[track_caller]
    pub fn new(shape: &[usize], data: Vec<f32>) -> Self {
        assert_eq!(
            numel(shape),
            data.len(),
            "Array::new: shape {shape:?} needs {} elements, got {}",
            numel(shape),
            data.len()
        );
        Array::cpu(Dims::new(shape), data)
    }

    /// An array of `shape` filled with `value`.
    pub fn full(shape: &[usize], value: f32) -> Self {
        let n = numel(shape);
        let data = if n >= RECYCLE_MIN {
            let mut v = buffer_for_overwrite(n);
            v.fill(value);
            v
        } else {
            vec![value; n]
        };
        Array::cpu(Dims::new(shape), data)
    }

    /// An array of `shape` filled with `value` on `device`.
    pub fn full_on(shape: &[usize], value: f32, device: &Device) -> Self {
        match device {
            Device::Cpu => Self::full(shape, value),
            #[cfg(feature = "cuda")]
            Device::Cuda(o) => {
                let buffer = crate::backend::cuda::gpu_or_panic(*o).alloc(numel(shape));
                let mut a = Array::from_cuda(shape.to_vec(), buffer);
                crate::backend::cuda::fill(&mut a, value);
                a
            }
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(o) => panic!("{}", crate::device::no_cuda_feature(*o)),
        }
    }

    /// An array of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, 0.0)
    }

    /// An array of zeros of this array's shape, on its device (as `torch.zeros_like`).
    pub fn zeros_like(&self) -> Self {
        Self::full_on(&self.shape, 0.0, &self.device())
    }

    /// A 0-d array holding `value`.
    pub fn scalar(value: f32) -> Self {
        Array::cpu(Dims::new(&[]), vec![value])
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of dims.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        numel(&self.shape)
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements in row-major order.
    ///
    /// # Panics
    /// Panics if the array is on a GPU (copy it with [`Array::to_device`] first).
    #[track_caller]
    pub fn data(&self) -> &[f32] {
        self.host()
    }

    /// The elements in row-major order, writable.
    ///
    /// # Panics
    /// Panics if the array is on a GPU.
    #[track_caller]
    pub fn data_mut(&mut self) -> &mut [f32] {
        self.host_mut()
    }

    /// The elements, consuming the array (copied to the host if it is on a GPU).
    pub fn into_vec(mut self) -> Vec<f32> {
        match &mut self.storage {
            Storage::Cpu(d) => std::mem::take(d),
            #[cfg(feature = "cuda")]
            Storage::Cuda(b) => b.to_vec(),
        }
    }

    /// The same elements under another shape.
    ///
    /// # Panics
    /// Panics if the element counts differ.
    #[track_caller]
    pub fn into_shape(mut self, shape: &[usize]) -> Self {
        assert_eq!(
            numel(shape),
            self.len(),
            "reshape: cannot view shape {:?} as {shape:?}",
            self.shape
        );
        self.shape = Dims::new(shape);
        self
    }

    /// Applies the named elementwise `op` (on the array's device).
    #[track_caller]
    pub fn unary(&self, op: UnaryOp) -> Array {
        #[cfg(feature = "cuda")]
        if let Storage::Cuda(_) = self.storage {
            return crate::backend::cuda::unary(self, op);
        }
        op.cpu(self)
    }

    /// Combines two arrays with the named elementwise `op` under broadcasting (on their
    /// device); `name` names the caller in the panic.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast, or the arrays are on different devices.
    #[track_caller]
    pub fn binary(&self, other: &Array, op: BinaryOp, name: &str) -> Array {
        same_device(name, self, other);
        #[cfg(feature = "cuda")]
        if let Storage::Cuda(_) = self.storage {
            return crate::backend::cuda::binary(self, other, op, name);
        }
        op.cpu(self, other, name)
    }

    /// Applies `f` to every element.
    #[track_caller]
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Array {
        let data = self.host();
        if data.len() < RECYCLE_MIN {
            return Array::cpu(self.shape.clone(), data.iter().map(|&v| f(v)).collect());
        }
        let mut out = Array::for_overwrite(&self.shape);
        for (o, &v) in out.host_mut().iter_mut().zip(data) {
            *o = f(v);
        }
        out
    }

    /// [`Array::map`], split across the threads for a large array (see
    /// [`set_num_threads`](crate::set_num_threads)).
    #[track_caller]
    pub(crate) fn par_map(&self, f: impl Fn(f32) -> f32 + Sync) -> Array {
        let data = self.host();
        let Some(cs) = crate::runtime::elementwise_chunk(data.len()) else {
            return self.map(f);
        };
        let mut out = Array::for_overwrite(&self.shape);
        let parts: Vec<_> = out.host_mut().chunks_mut(cs).zip(data.chunks(cs)).collect();
        for_each(parts, |(o, x)| {
            for (o, &v) in o.iter_mut().zip(x) {
                *o = f(v);
            }
        });
        out
    }

    /// [`Array::zip_map`], split across the threads for a large array.
    #[track_caller]
    pub(crate) fn par_zip_map(&self, other: &Array, f: impl Fn(f32, f32) -> f32 + Sync) -> Array {
        let Some(cs) = crate::runtime::elementwise_chunk(self.len()) else {
            return self.zip_map(other, f);
        };
        assert_eq!(
            self.shape, other.shape,
            "zip_map: shapes {:?} and {:?} differ",
            self.shape, other.shape
        );
        let (a, b) = (self.host(), other.host());
        let mut out = Array::for_overwrite(&self.shape);
        let parts: Vec<_> = out
            .host_mut()
            .chunks_mut(cs)
            .zip(a.chunks(cs))
            .zip(b.chunks(cs))
            .collect();
        for_each(parts, |((o, a), b)| {
            for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
                *o = f(a, b);
            }
        });
        out
    }

    /// Applies `f` to every element in place.
    #[track_caller]
    pub fn map_inplace(&mut self, f: impl Fn(f32) -> f32) {
        for v in self.host_mut().iter_mut() {
            *v = f(*v);
        }
    }

    /// Combines two arrays of the same shape elementwise.
    ///
    /// # Panics
    /// Panics if the shapes differ.
    #[track_caller]
    pub fn zip_map(&self, other: &Array, f: impl Fn(f32, f32) -> f32) -> Array {
        assert_eq!(
            self.shape, other.shape,
            "zip_map: shapes {:?} and {:?} differ",
            self.shape, other.shape
        );
        let (a, b) = (self.host(), other.host());
        if a.len() < RECYCLE_MIN {
            return Array::cpu(
                self.shape.clone(),
                a.iter().zip(b).map(|(&a, &b)| f(a, b)).collect(),
            );
        }
        let mut out = Array::for_overwrite(&self.shape);
        for ((o, &a), &b) in out.host_mut().iter_mut().zip(a).zip(b) {
            *o = f(a, b);
        }
        out
    }

    /// Combines three arrays of the same shape elementwise.
    #[track_caller]
    pub fn zip3_map(&self, b: &Array, c: &Array, f: impl Fn(f32, f32, f32) -> f32) -> Array {
        assert!(
            self.shape == b.shape && b.shape == c.shape,
            "zip3_map: shapes {:?}, {:?} and {:?} differ",
            self.shape,
            b.shape,
            c.shape
        );
        let data = self
            .host()
            .iter()
            .zip(b.host())
            .zip(c.host())
            .map(|((&x, &y), &z)| f(x, y, z))
            .collect();
        Array::cpu(self.shape.clone(), data)
    }

    /// Combines two arrays elementwise under broadcasting; `op` names the caller in the panic.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn broadcast_zip(&self, other: &Array, op: &str, f: impl Fn(f32, f32) -> f32) -> Array {
        if self.shape == other.shape {
            return self.zip_map(other, f);
        }
        let (a, b) = (self.host(), other.host());
        if b.len() == 1 && other.ndim() <= self.ndim() {
            let b = b[0];
            return Array::cpu(self.shape.clone(), a.iter().map(|&a| f(a, b)).collect());
        }
        if a.len() == 1 && self.ndim() <= other.ndim() {
            let a = a[0];
            return Array::cpu(other.shape.clone(), b.iter().map(|&b| f(a, b)).collect());
        }
        let shape = broadcast_shape(&self.shape, &other.shape).unwrap_or_else(|| {
            panic!(
                "{op}: shapes {:?} and {:?} cannot be broadcast together",
                self.shape, other.shape
            )
        });
        let sa = broadcast_strides(&self.shape, &shape);
        let sb = broadcast_strides(&other.shape, &shape);
        let mut data = Vec::with_capacity(numel(&shape));
        for_each_offset(&shape, [&sa, &sb], |[i, j]| data.push(f(a[i], b[j])));
        Array::cpu(shape.into(), data)
    }

    /// Adds `other` (same shape, same device) into `self`.
    ///
    /// # Panics
    /// Panics if the shapes or devices differ.
    #[track_caller]
    pub fn add_assign(&mut self, other: &Array) {
        assert_eq!(
            self.shape, other.shape,
            "add_assign: shapes {:?} and {:?} differ",
            self.shape, other.shape
        );
        same_device("add_assign", self, other);
        #[cfg(feature = "cuda")]
        if let Storage::Cuda(_) = self.storage {
            return crate::backend::cuda::add_assign(self, other);
        }
        for (a, &b) in self.host_mut().iter_mut().zip(other.host()) {
            *a += b;
        }
    }

    /// Sums this array down to `target`, the inverse of broadcasting `target` up to this shape:
    /// the gradient of a broadcast input.
    ///
    /// # Panics
    /// Panics if `target` does not broadcast to this shape.
    #[track_caller]
    pub fn sum_to(&self, target: &[usize]) -> Array {
        if *self.shape == *target {
            return self.clone();
        }
        assert!(
            broadcasts_to(target, &self.shape),
            "sum_to: shape {target:?} does not broadcast to {:?}",
            self.shape
        );
        #[cfg(feature = "cuda")]
        if let Storage::Cuda(_) = self.storage {
            return crate::backend::cuda::sum_to(self, target);
        }
        let data = self.host();
        let mut out = Array::zeros(target);
        if out.len() == 1 {
            out.host_mut()[0] = self.sum_all();
            return out;
        }
        // Common case: bias gradient, [N, F] -> [F] or [1, F].
        if numel(target) == *self.shape.last().unwrap_or(&1) && target.last() == self.shape.last() {
            let o = out.host_mut();
            let f = o.len();
            for row in data.chunks_exact(f) {
                for (o, &v) in o.iter_mut().zip(row) {
                    *o += v;
                }
            }
            return out;
        }
        let st = broadcast_strides(target, &self.shape);
        let own = strides(&self.shape);
        let o = out.host_mut();
        for_each_offset(&self.shape, [&own, &st], |[i, j]| o[j] += data[i]);
        out
    }

    /// The sum of all elements, accumulated in `f64` (read back to the host, which waits for
    /// the GPU, for an array on a GPU).
    #[track_caller]
    pub fn sum_all(&self) -> f32 {
        #[cfg(feature = "cuda")]
        if let Storage::Cuda(_) = self.storage {
            return self.sum_all_array().to_host_vec()[0];
        }
        self.host().iter().map(|&v| v as f64).sum::<f64>() as f32
    }

    /// The sum of all elements as a 0-d array on this array's device (no host sync).
    #[track_caller]
    pub fn sum_all_array(&self) -> Array {
        #[cfg(feature = "cuda")]
        if let Storage::Cuda(_) = self.storage {
            return crate::backend::cuda::sum_all(self);
        }
        Array::scalar(self.sum_all())
    }

    /// Reduces along `dim` with `f(acc, value)` starting from `init`; the dim is removed.
    #[track_caller]
    pub fn reduce_dim(&self, dim: usize, init: f32, f: impl Fn(f32, f32) -> f32) -> Array {
        let data = self.host();
        let (outer, n, inner) = split_at_dim(&self.shape, dim);
        let mut out = vec![init; outer * inner];
        for o in 0..outer {
            let src = &data[o * n * inner..(o + 1) * n * inner];
            let dst = &mut out[o * inner..(o + 1) * inner];
            for row in src.chunks_exact(inner.max(1)).take(n) {
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = f(*d, v);
                }
            }
        }
        let shape = (self.shape.iter().enumerate())
            .filter(|&(i, _)| i != dim)
            .map(|(_, &n)| n)
            .collect();
        Array::cpu(shape, out)
    }

    /// Copies with dims `d0` and `d1` swapped.
    #[track_caller]
    pub fn transpose(&self, d0: usize, d1: usize) -> Array {
        if d0 == d1 || self.ndim() < 2 {
            return self.clone();
        }
        let data = self.host();
        let mut shape = self.shape.clone();
        shape.swap(d0, d1);
        let mut src = strides(&self.shape);
        src.swap(d0, d1);
        let mut out = Vec::with_capacity(data.len());
        for_each_offset(&shape, [&src], |[i]| out.push(data[i]));
        Array::cpu(shape, out)
    }

    /// Gives the value at a multi-index.
    ///
    /// # Panics
    /// Panics if the index is out of bounds.
    #[track_caller]
    pub fn at(&self, index: &[usize]) -> f32 {
        assert_eq!(
            index.len(),
            self.ndim(),
            "at: index {index:?} for shape {:?}",
            self.shape
        );
        let st = strides(&self.shape);
        let mut off = 0;
        for ((&i, &n), &s) in index.iter().zip(self.shape.iter()).zip(&st) {
            assert!(
                i < n,
                "at: index {index:?} is out of bounds for shape {:?}",
                self.shape
            );
            off += i * s;
        }
        self.host()[off]
    }
}

/// Panics, as PyTorch does, when an op's operands are on two devices.
#[track_caller]
pub(crate) fn same_device(op: &str, a: &Array, b: &Array) {
    let (da, db) = (a.device(), b.device());
    if da != db {
        panic!(
            "{op}: expected all tensors to be on the same device, but found at least two \
             devices, {da} and {db}"
        );
    }
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.storage {
            Storage::Cpu(d) => write!(f, "Array(shape={:?}, data={:?})", self.shape, d),
            #[cfg(feature = "cuda")]
            Storage::Cuda(b) => write!(
                f,
                "Array(shape={:?}, device={}, data={:?})",
                self.shape,
                self.device(),
                b.to_vec()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::{gemm, MatRef};

    #[test]
    fn sum_to_undoes_broadcast() {
        let a = Array::new(&[2, 3], vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(a.sum_to(&[3]).data(), &[5., 7., 9.]);
        assert_eq!(a.sum_to(&[2, 1]).data(), &[6., 15.]);
        assert_eq!(a.sum_to(&[]).data(), &[21.]);
        assert_eq!(a.sum_to(&[1, 3]).shape(), &[1, 3]);
    }

    #[test]
    fn broadcast_zip_matches_manual() {
        let a = Array::new(&[2, 1], vec![10., 20.]);
        let b = Array::new(&[3], vec![1., 2., 3.]);
        let c = a.broadcast_zip(&b, "add", |x, y| x + y);
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.data(), &[11., 12., 13., 21., 22., 23.]);
    }

    #[test]
    fn recycled_buffers_never_leak_old_values() {
        let n = RECYCLE_MIN + 3;
        drop(Array::full(&[n], 7.0));
        assert!(Array::zeros(&[n]).data().iter().all(|&v| v == 0.0));
        drop(Array::full(&[n], 7.0));
        let m = Array::full(&[n], 2.0).map(|v| v + 1.0);
        assert!(m.data().iter().all(|&v| v == 3.0));
        drop(Array::full(&[n], 7.0));
        // A product written into a recycled buffer: ones(1×k)·ones(k×n') = k everywhere.
        let (k, cols) = (4, RECYCLE_MIN / 4 + 1);
        let a = Array::full(&[1, k], 1.0);
        let b = Array::full(&[k, cols], 1.0);
        let mut c = Array::for_overwrite(&[1, cols]);
        gemm(
            1,
            cols,
            k,
            c.data_mut(),
            MatRef::new(a.data(), k, false),
            MatRef::new(b.data(), cols, false),
            false,
        );
        assert!(c.data().iter().all(|&v| v == 4.0));
        assert_eq!(Array::full(&[n], 1.5).into_vec().len(), n);
    }

    #[test]
    fn parallel_elementwise_matches_serial() {
        let n = crate::runtime::PARALLEL_ELEMENTS * 2 + 5;
        let a = Array::new(&[n], (0..n).map(|i| (i as f32 * 0.01).sin()).collect());
        let b = a.map(|v| v * 3.0 - 1.0);
        assert_eq!(a.par_map(|v| v.max(0.0)), a.map(|v| v.max(0.0)));
        assert_eq!(
            a.par_zip_map(&b, |x, y| x * y + 1.0),
            a.zip_map(&b, |x, y| x * y + 1.0)
        );
    }

    #[test]
    fn reduce_and_transpose() {
        let a = Array::new(&[2, 3], vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(a.reduce_dim(0, 0.0, |s, v| s + v).data(), &[5., 7., 9.]);
        assert_eq!(a.reduce_dim(1, f32::MIN, f32::max).data(), &[3., 6.]);
        let t = a.transpose(0, 1);
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.data(), &[1., 4., 2., 5., 3., 6.]);
    }
}
