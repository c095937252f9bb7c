//! [`Tensor`]: a cheap-to-clone handle to an n-dimensional `f32` array that records the ops
//! applied to it, so that [`Tensor::backward`] can compute gradients.

mod array;
mod dims;
pub mod shape;
mod simd;

pub use crate::backend::cpu::{gemm, MatRef, PARALLEL_THRESHOLD};
pub(crate) use crate::backend::cpu::{gemm_ex, relu_f32, Init};
pub(crate) use array::same_device;
pub use array::Array;
pub(crate) use simd::vectorized;

// `runtime` chooses thread counts from its own copy of the threshold, so that it depends on
// std alone (no import cycle); the two must agree.
const _: () = assert!(PARALLEL_THRESHOLD == crate::runtime::GEMM_PARALLEL_THRESHOLD);

use crate::autograd::{Backward, Node};
use crate::device::Device;
use crate::rng::{with_global, Generator};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A gradient hook: sees a tensor's gradient during backward and may replace it.
pub type Hook = Box<dyn Fn(&Array) -> Option<Array> + Send + Sync>;

/// An n-dimensional `f32` tensor with reverse-mode autograd.
///
/// Cloning a `Tensor` clones the handle, not the data (as assigning a tensor in Python does).
/// Tensors are `Send + Sync`: a trained model can serve predictions from several threads.
///
/// # Examples
/// ```
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]).set_requires_grad(true);
/// let y = Tensor::from_slice(&[4.0, 5.0, 6.0], &[3]).set_requires_grad(true);
/// let out = (&x * &y).mean();
/// out.backward();
/// // d mean(x·y)/dx = y/3
/// assert_eq!(x.grad().unwrap().to_vec(), vec![4.0 * (1.0 / 3.0), 5.0 * (1.0 / 3.0), 2.0]);
/// ```
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<TensorInner>);

pub(crate) struct TensorInner {
    // RwLock rather than RefCell: the handle must be Send + Sync for multi-threaded inference,
    // and an uncontended read lock costs one atomic op, far below an op's other overheads.
    pub(crate) data: RwLock<Array>,
    pub(crate) grad: Mutex<Option<Array>>,
    pub(crate) requires_grad: AtomicBool,
    pub(crate) retains_grad: AtomicBool,
    /// The op that produced this tensor; `None` for a leaf.
    pub(crate) node: Option<Node>,
    pub(crate) hooks: Mutex<Vec<Hook>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere (a failed shape check) never leaves these values half-written.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Tensor {
    pub(crate) fn from_parts(data: Array, requires_grad: bool, node: Option<Node>) -> Tensor {
        Tensor(Arc::new(TensorInner {
            data: RwLock::new(data),
            grad: Mutex::new(None),
            requires_grad: AtomicBool::new(requires_grad),
            retains_grad: AtomicBool::new(false),
            node,
            hooks: Mutex::new(Vec::new()),
        }))
    }

    /// A leaf tensor holding `array` (no gradient tracking until [`Tensor::set_requires_grad`]).
    pub fn from_array(array: Array) -> Tensor {
        Self::from_parts(array, false, None)
    }

    /// A tensor of `shape` from row-major `data`.
    ///
    /// # Panics
    /// Panics if `data.len()` is not the product of `shape`.
    #[track_caller]
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Tensor {
        Self::from_array(Array::new(shape, data))
    }

    /// A tensor of `shape` copied from `data`.
    ///
    /// # Panics
    /// Panics if `data.len()` is not the product of `shape`.
    #[track_caller]
    pub fn from_slice(data: &[f32], shape: &[usize]) -> Tensor {
        Self::from_vec(data.to_vec(), shape)
    }

    /// A 0-d tensor holding `value`.
    pub fn scalar(value: f32) -> Tensor {
        Self::from_array(Array::scalar(value))
    }

    /// A tensor of `shape` filled with `value`, as `torch.full`.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Self::from_array(Array::full(shape, value))
    }

    /// A tensor of zeros, as `torch.zeros`.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Self::full(shape, 0.0)
    }

    /// A tensor of ones, as `torch.ones`.
    pub fn ones(shape: &[usize]) -> Tensor {
        Self::full(shape, 1.0)
    }

    /// `[start, start + step, ...)` up to `end` (exclusive), as `torch.arange`.
    ///
    /// # Panics
    /// Panics if `step` is zero or has the wrong sign for the range.
    #[track_caller]
    pub fn arange(start: f32, end: f32, step: f32) -> Tensor {
        assert!(
            step != 0.0 && (end - start) * step >= 0.0,
            "arange: step {step} cannot go from {start} to {end}"
        );
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        let data: Vec<f32> = (0..n).map(|i| start + i as f32 * step).collect();
        Self::from_vec(data, &[n])
    }

    /// The `n × n` identity matrix, as `torch.eye`.
    pub fn eye(n: usize) -> Tensor {
        let mut a = Array::zeros(&[n, n]);
        for i in 0..n {
            a.data_mut()[i * n + i] = 1.0;
        }
        Self::from_array(a)
    }

    /// Uniform samples on `[0, 1)` from the global generator, as `torch.rand`.
    pub fn rand(shape: &[usize]) -> Tensor {
        with_global(|g| Self::rand_with(shape, g))
    }

    /// Standard normal samples from the global generator, as `torch.randn`.
    pub fn randn(shape: &[usize]) -> Tensor {
        with_global(|g| Self::randn_with(shape, g))
    }

    /// Uniform samples on `[0, 1)` from `generator`.
    pub fn rand_with(shape: &[usize], generator: &mut Generator) -> Tensor {
        let mut a = Array::zeros(shape);
        generator.fill_uniform(a.data_mut(), 0.0, 1.0);
        Self::from_array(a)
    }

    /// Standard normal samples from `generator`.
    pub fn randn_with(shape: &[usize], generator: &mut Generator) -> Tensor {
        let mut a = Array::zeros(shape);
        generator.fill_normal(a.data_mut(), 0.0, 1.0);
        Self::from_array(a)
    }

    /// The shape.
    pub fn shape(&self) -> Vec<usize> {
        self.array().shape().to_vec()
    }

    /// The number of dims.
    pub fn ndim(&self) -> usize {
        self.array().ndim()
    }

    /// The number of elements, as `numel()`.
    pub fn numel(&self) -> usize {
        self.array().len()
    }

    /// The size of one dim (negative counts from the end), as `size(dim)`.
    ///
    /// # Panics
    /// Panics if `dim` is out of range.
    #[track_caller]
    pub fn size(&self, dim: isize) -> usize {
        let a = self.array();
        a.shape()[shape::resolve_dim("size", dim, a.ndim())]
    }

    /// Read access to the values.
    pub fn array(&self) -> RwLockReadGuard<'_, Array> {
        self.0.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the values, bypassing autograd (as assigning to `tensor.data` in
    /// PyTorch): optimizers and initialisers use it.
    pub fn array_mut(&self) -> RwLockWriteGuard<'_, Array> {
        self.0.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The values in row-major order, as `tolist()` flattened (copied from the GPU for a
    /// tensor on one, which waits for its queued work).
    pub fn to_vec(&self) -> Vec<f32> {
        self.array().to_host_vec()
    }

    /// The device that holds the values, as `tensor.device`.
    pub fn device(&self) -> Device {
        self.array().device()
    }

    /// This tensor on `device`, as `tensor.to(device)`: the same handle when it is already
    /// there, else a copy whose gradient flows back to this tensor's device.
    ///
    /// # Examples
    /// ```
    /// use backprop::{Device, Tensor};
    /// let x = Tensor::from_slice(&[1.0, 2.0], &[2]);
    /// assert_eq!(x.to(&Device::Cpu).device(), Device::Cpu);
    /// if let Ok(gpu) = Device::cuda(0) {
    ///     let y = x.to(&gpu);
    ///     assert_eq!(y.device(), gpu);
    ///     assert_eq!(y.to_vec(), vec![1.0, 2.0]);
    /// }
    /// ```
    ///
    /// # Panics
    /// Panics if `device` cannot be used (check it first with [`Device::check`]).
    #[track_caller]
    pub fn to(&self, device: &Device) -> Tensor {
        let from = self.device();
        if from == *device {
            return self.clone();
        }
        let moved = self.array().clone().to_device(device);
        Tensor::from_op(moved, &[self], ToDeviceBackward(from))
    }

    /// Moves this tensor's values (and gradient) to `device` in place, keeping the handle
    /// (as `module.to(device)` does to parameters).
    pub(crate) fn move_to(&self, device: &Device) {
        if self.device() == *device {
            return;
        }
        {
            let mut a = self.array_mut();
            let moved = std::mem::replace(&mut *a, Array::scalar(0.0)).to_device(device);
            *a = moved;
        }
        let mut g = lock(&self.0.grad);
        if let Some(old) = g.take() {
            *g = Some(old.to_device(device));
        }
    }

    /// The value of a one-element tensor, as `item()`.
    ///
    /// # Panics
    /// Panics if the tensor has more than one element.
    #[track_caller]
    pub fn item(&self) -> f32 {
        let a = self.array();
        assert_eq!(
            a.len(),
            1,
            "item: tensor of shape {:?} has {} elements, not 1",
            a.shape(),
            a.len()
        );
        // Read in place on the CPU: a training loop calls this every step.
        if a.device().is_cuda() {
            a.to_host_vec()[0]
        } else {
            a.data()[0]
        }
    }

    /// Whether gradients are recorded for this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// Turns gradient recording on or off for this leaf, as `requires_grad_()`; returns the
    /// handle so it can end a constructor chain.
    ///
    /// # Panics
    /// Panics when turning it off on a non-leaf (use [`Tensor::detach`]).
    #[track_caller]
    pub fn set_requires_grad(&self, requires_grad: bool) -> Tensor {
        assert!(
            requires_grad || self.is_leaf(),
            "set_requires_grad: you can only change requires_grad of leaf tensors; use detach()"
        );
        self.0.requires_grad.store(requires_grad, Ordering::Relaxed);
        self.clone()
    }

    /// Whether the tensor was created by the user rather than by an op that records gradients.
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }

    /// The accumulated gradient, as `.grad` (`None` before any backward, after `zero_grad`, and
    /// for non-leaf tensors unless [`Tensor::retain_grad`] was called).
    pub fn grad(&self) -> Option<Tensor> {
        lock(&self.0.grad)
            .as_ref()
            .map(|g| Tensor::from_array(g.clone()))
    }

    /// Runs `f` on the gradient array without copying it.
    pub fn with_grad<R>(&self, f: impl FnOnce(Option<&Array>) -> R) -> R {
        f(lock(&self.0.grad).as_ref())
    }

    /// Mutable access to the gradient slot (for optimizers and gradient clipping).
    pub fn grad_mut(&self) -> MutexGuard<'_, Option<Array>> {
        lock(&self.0.grad)
    }

    /// Replaces the gradient (`None` clears it).
    ///
    /// # Panics
    /// Panics if the new gradient's shape differs from the tensor's.
    #[track_caller]
    pub fn set_grad(&self, grad: Option<Array>) {
        if let Some(g) = &grad {
            assert_eq!(
                g.shape(),
                self.array().shape(),
                "set_grad: gradient shape differs from the tensor's"
            );
        }
        *lock(&self.0.grad) = grad;
    }

    /// Clears the gradient, as `zero_grad(set_to_none=True)`.
    pub fn zero_grad(&self) {
        *lock(&self.0.grad) = None;
    }

    /// Keeps the gradient of this non-leaf tensor after backward, as `retain_grad()`.
    pub fn retain_grad(&self) {
        self.0.retains_grad.store(true, Ordering::Relaxed);
    }

    /// Registers a hook that sees this tensor's gradient each time it is computed during
    /// backward, as `register_hook`. If it returns `Some`, that array replaces the gradient.
    ///
    /// # Examples
    /// ```
    /// use backprop::Tensor;
    /// use std::sync::{Arc, Mutex};
    /// let w = Tensor::ones(&[2]).set_requires_grad(true);
    /// let seen = Arc::new(Mutex::new(0.0));
    /// let s = seen.clone();
    /// w.register_hook(move |g| { *s.lock().unwrap() = g.sum_all(); None });
    /// (&w * 3.0).sum().backward();
    /// assert_eq!(*seen.lock().unwrap(), 6.0);
    /// ```
    pub fn register_hook(&self, hook: impl Fn(&Array) -> Option<Array> + Send + Sync + 'static) {
        lock(&self.0.hooks).push(Box::new(hook));
    }

    pub(crate) fn run_hooks(&self, mut grad: Array) -> Array {
        for h in lock(&self.0.hooks).iter() {
            if let Some(g) = h(&grad) {
                grad = g;
            }
        }
        grad
    }

    /// A new leaf sharing no history with this one (its values are copied), as `detach()`.
    pub fn detach(&self) -> Tensor {
        Tensor::from_array(self.array().clone())
    }

    /// A copy of the values as a new leaf that does not require grad, as `clone().detach()`.
    pub fn copy(&self) -> Tensor {
        self.detach()
    }

    /// A stable identity for this handle's tensor (equal for clones of one handle).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// The name of the op that produced this tensor (`"MulBackward"`), or `None` for a leaf.
    pub fn op_name(&self) -> Option<&'static str> {
        self.0.node.as_ref().map(|n| n.name())
    }

    /// The inputs of the op that produced this tensor (empty for a leaf or a freed graph).
    pub fn op_inputs(&self) -> Vec<Tensor> {
        self.0.node.as_ref().map(|n| n.inputs()).unwrap_or_default()
    }

    /// Copies `src`'s values into this tensor in place (no autograd), as `copy_` under no_grad.
    ///
    /// # Panics
    /// Panics if the shapes differ.
    #[track_caller]
    pub fn assign(&self, src: &Array) {
        let mut a = self.array_mut();
        assert_eq!(
            a.shape(),
            src.shape(),
            "assign: shapes {:?} and {:?} differ",
            a.shape(),
            src.shape()
        );
        let device = a.device();
        if device.is_cuda() || src.device().is_cuda() {
            // Values from any device land on this tensor's.
            *a = src.clone().to_device(&device);
            return;
        }
        a.data_mut().copy_from_slice(src.data());
    }
}

/// The gradient of a copy to another device: the same values, moved back.
struct ToDeviceBackward(Device);
impl Backward for ToDeviceBackward {
    fn name(&self) -> &'static str {
        "ToCopyBackward0"
    }
    fn backward(&self, _: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.clone().to_device(&self.0))]
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Tensor {
    /// Prints like PyTorch: `tensor([[1.0000, 2.0000], ...], requires_grad=True)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.array();
        fn rec(
            f: &mut fmt::Formatter<'_>,
            shape: &[usize],
            data: &[f32],
            depth: usize,
        ) -> fmt::Result {
            if shape.is_empty() {
                return write!(f, "{:.4}", data[0]);
            }
            write!(f, "[")?;
            let step = data.len() / shape[0].max(1);
            for i in 0..shape[0] {
                if i > 0 {
                    write!(f, ",")?;
                    if shape.len() > 1 {
                        write!(f, "\n{}", " ".repeat(depth + 8))?;
                    } else {
                        write!(f, " ")?;
                    }
                }
                rec(f, &shape[1..], &data[i * step..(i + 1) * step], depth + 1)?;
            }
            write!(f, "]")
        }
        write!(f, "tensor(")?;
        rec(f, a.shape(), &a.to_host_vec(), 0)?;
        if let Device::Cuda(o) = a.device() {
            write!(f, ", device='cuda:{o}'")?;
        }
        if let Some(name) = self.op_name() {
            write!(f, ", grad_fn=<{name}>")?;
        } else if self.requires_grad() {
            write!(f, ", requires_grad=True")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors() {
        assert_eq!(Tensor::arange(0.0, 5.0, 2.0).to_vec(), vec![0.0, 2.0, 4.0]);
        assert_eq!(Tensor::eye(2).to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
        assert_eq!(Tensor::full(&[2], 3.5).to_vec(), vec![3.5, 3.5]);
        assert_eq!(Tensor::scalar(2.0).shape(), Vec::<usize>::new());
    }

    #[test]
    fn display_like_pytorch() {
        let t = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(
            t.to_string(),
            "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]])"
        );
        let s = Tensor::scalar(1.5).set_requires_grad(true);
        assert_eq!(s.to_string(), "tensor(1.5000, requires_grad=True)");
    }

    #[test]
    #[should_panic(expected = "Array::new: shape [2, 2] needs 4 elements, got 3")]
    fn from_vec_checks_length() {
        Tensor::from_vec(vec![1.0; 3], &[2, 2]);
    }

    #[test]
    fn tensors_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Tensor>();
    }
}
