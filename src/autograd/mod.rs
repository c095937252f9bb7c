//! Reverse-mode automatic differentiation.
//!
//! Every op that may need a gradient calls [`Tensor::from_op`] with its result, its inputs and a
//! [`Backward`] value that knows how to turn the output's gradient into the inputs' gradients.
//! That records a node on the result, pointing at the inputs; nothing points back, so
//! dropping the final tensor drops the whole graph. [`Tensor::backward`] (in `backward.rs`)
//! walks the graph in reverse topological order. Recording happens in exactly one place,
//! `from_op`, which also honours [`no_grad`].

mod backward;
mod grad_mode;
mod gradcheck;

pub use grad_mode::{
    is_anomaly_enabled, is_grad_enabled, no_grad, set_anomaly_detection, NoGradGuard,
};
pub use gradcheck::{gradcheck, GradcheckError};

use crate::tensor::{Array, Tensor};
use std::sync::Mutex;

/// The backward half of an op: given the gradient of the op's output, the gradients of its inputs.
///
/// Implement it to add your own differentiable op (as `torch.autograd.Function`):
///
/// ```
/// use backprop::autograd::Backward;
/// use backprop::{Array, Tensor};
///
/// /// d(x³)/dx = 3x²
/// struct Cube;
/// impl Backward for Cube {
///     fn name(&self) -> &'static str { "CubeBackward" }
///     fn backward(&self, inputs: &[Tensor], _out: &Array, grad: &Array) -> Vec<Option<Array>> {
///         vec![Some(grad.zip_map(&inputs[0].array(), |g, x| 3.0 * x * x * g))]
///     }
/// }
/// fn cube(x: &Tensor) -> Tensor {
///     Tensor::from_op(x.array().map(|v| v * v * v), &[x], Cube)
/// }
/// let x = Tensor::from_slice(&[2.0], &[1]).set_requires_grad(true);
/// cube(&x).sum().backward();
/// assert_eq!(x.grad().unwrap().to_vec(), vec![12.0]);
/// ```
pub trait Backward: Send + Sync {
    /// The name shown for this node in graphs, as PyTorch's `grad_fn` (`"MulBackward"`).
    fn name(&self) -> &'static str;

    /// The gradients of `inputs` given `grad`, the gradient of the op's `output`.
    ///
    /// Return one entry per input, `None` where an input needs no gradient. A gradient may have
    /// the op's broadcast output shape: the walk sums it down to the input's shape.
    fn backward(&self, inputs: &[Tensor], output: &Array, grad: &Array) -> Vec<Option<Array>>;
}

/// The record of the op that produced a tensor.
pub(crate) struct Node {
    name: &'static str,
    /// Taken (set to `None`) when backward frees the graph.
    state: Mutex<Option<NodeState>>,
}

pub(crate) struct NodeState {
    pub(crate) op: Box<dyn Backward>,
    pub(crate) inputs: Vec<Tensor>,
}

impl Node {
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn inputs(&self) -> Vec<Tensor> {
        self.lock()
            .as_ref()
            .map(|s| s.inputs.clone())
            .unwrap_or_default()
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Option<NodeState>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Tensor {
    /// The result of an op: `data` computed from `inputs`, with `op` recorded for backward when
    /// gradients are enabled and any input requires grad. This is the only place a graph node is
    /// created.
    pub fn from_op(data: Array, inputs: &[&Tensor], op: impl Backward + 'static) -> Tensor {
        if is_anomaly_enabled() {
            grad_mode::check_finite(op.name(), "forward", &data);
        }
        if !is_grad_enabled() || !inputs.iter().any(|t| t.requires_grad()) {
            return Tensor::from_array(data);
        }
        let node = Node {
            name: op.name(),
            state: Mutex::new(Some(NodeState {
                op: Box::new(op),
                inputs: inputs.iter().map(|&t| t.clone()).collect(),
            })),
        };
        Tensor::from_parts(data, true, Some(node))
    }
}

impl Drop for Node {
    /// Frees a chain of nodes iteratively: the default recursive drop of a long graph (a loop of
    /// 10⁵ ops) would overflow the stack.
    fn drop(&mut self) {
        let Some(state) = self
            .state
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        let mut stack = state.inputs;
        drop(state.op);
        while let Some(mut t) = stack.pop() {
            if let Some(inner) = std::sync::Arc::get_mut(&mut t.0) {
                if let Some(node) = inner.node.as_mut() {
                    if let Some(s) = node
                        .state
                        .get_mut()
                        .unwrap_or_else(|e| e.into_inner())
                        .take()
                    {
                        stack.extend(s.inputs);
                    }
                }
            }
        }
    }
}
