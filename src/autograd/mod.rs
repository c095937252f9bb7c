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
    pub(crate) inputs: Inputs,
}

/// A node's inputs, read as a `[Tensor]`. Up to three (every op of an MLP) are held inline, so
/// recording an op allocates no list; more go on the heap.
pub(crate) enum Inputs {
    One([Tensor; 1]),
    Two([Tensor; 2]),
    Three([Tensor; 3]),
    Many(Vec<Tensor>),
}

impl Inputs {
    fn new(inputs: &[&Tensor]) -> Inputs {
        match *inputs {
            [a] => Inputs::One([a.clone()]),
            [a, b] => Inputs::Two([a.clone(), b.clone()]),
            [a, b, c] => Inputs::Three([a.clone(), b.clone(), c.clone()]),
            _ => Inputs::Many(inputs.iter().map(|&t| t.clone()).collect()),
        }
    }

    /// Hands each input, by value, to `f`.
    fn for_each(self, f: impl FnMut(Tensor)) {
        match self {
            Inputs::One(t) => t.into_iter().for_each(f),
            Inputs::Two(t) => t.into_iter().for_each(f),
            Inputs::Three(t) => t.into_iter().for_each(f),
            Inputs::Many(t) => t.into_iter().for_each(f),
        }
    }
}

impl std::ops::Deref for Inputs {
    type Target = [Tensor];
    fn deref(&self) -> &[Tensor] {
        match self {
            Inputs::One(t) => t,
            Inputs::Two(t) => t,
            Inputs::Three(t) => t,
            Inputs::Many(t) => t,
        }
    }
}

impl Node {
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn inputs(&self) -> Vec<Tensor> {
        self.lock()
            .as_ref()
            .map(|s| s.inputs.to_vec())
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
                inputs: Inputs::new(inputs),
            })),
        };
        Tensor::from_parts(data, true, Some(node))
    }
}

impl Drop for Node {
    /// Frees a chain of nodes iteratively: the default recursive drop of a long graph (a loop of
    /// 10⁵ ops) would overflow the stack.
    fn drop(&mut self) {
        let Some(state) = take_state(self) else {
            return;
        };
        let mut pending = Vec::new();
        free(state, &mut pending);
        while let Some(s) = pending.pop() {
            free(s, &mut pending);
        }
    }
}

/// Drops a node's op and inputs. The state of an input that this frees (held only here) is
/// taken first and moved to `pending`, so that dropping the input does not recurse.
fn free(state: NodeState, pending: &mut Vec<NodeState>) {
    drop(state.op);
    state.inputs.for_each(|mut t| {
        if let Some(inner) = std::sync::Arc::get_mut(&mut t.0) {
            if let Some(s) = inner.node.as_mut().and_then(take_state) {
                pending.push(s);
            }
        }
    });
}

fn take_state(node: &mut Node) -> Option<NodeState> {
    node.state
        .get_mut()
        .unwrap_or_else(|e| e.into_inner())
        .take()
}
