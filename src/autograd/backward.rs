//! The backward walk: topological order, then each node's gradient rule in reverse.

use super::grad_mode::{check_finite, is_anomaly_enabled, NoGradGuard};
use crate::tensor::{Array, Tensor};
use std::cell::Cell;
use std::collections::hash_map::{Entry, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

impl Tensor {
    /// Computes the gradient of this scalar with respect to every leaf that requires grad, and
    /// adds it into their `.grad`, as `loss.backward()`. The graph is freed afterwards.
    ///
    /// # Panics
    /// Panics if the tensor has more than one element, does not require grad, or its graph was
    /// already freed by an earlier backward.
    #[track_caller]
    pub fn backward(&self) {
        let seed = {
            let a = self.array();
            assert!(
                a.len() == 1,
                "backward: grad can be implicitly created only for scalar outputs (shape {:?}); use backward_with",
                a.shape()
            );
            Array::full_on(a.shape(), 1.0, &a.device())
        };
        self.backward_with(seed, false);
    }

    /// Backward from a non-scalar output with an explicit output gradient (as
    /// `tensor.backward(gradient)`), optionally keeping the graph for another backward
    /// (`retain_graph`).
    ///
    /// # Panics
    /// Panics if `grad`'s shape differs from the tensor's, the tensor does not require grad, or
    /// the graph was freed by an earlier backward.
    #[track_caller]
    pub fn backward_with(&self, grad: Array, retain_graph: bool) {
        assert!(
            self.requires_grad(),
            "backward: element 0 of tensors does not require grad and does not have a grad_fn"
        );
        {
            let a = self.array();
            assert_eq!(
                grad.shape(),
                a.shape(),
                "backward: gradient shape {:?} does not match output shape {:?}",
                grad.shape(),
                a.shape()
            );
        }
        // Gradient rules work on arrays and build no graph; this guard also keeps user hooks
        // that compute with tensors from recording.
        let _no_grad = NoGradGuard::new();
        let mut scratch = Scratch::take();
        topological_order(self, &mut scratch);
        let Scratch {
            order,
            slots,
            grads,
            ..
        } = &mut scratch;
        let anomaly = is_anomaly_enabled();
        grads.resize_with(slots.len(), || None);
        // The root is the first tensor visited.
        grads[0] = Some(grad);
        for (t, slot) in order.iter().rev() {
            let Some(g) = grads[*slot].take() else {
                continue;
            };
            let g = t.run_hooks(g);
            let Some(node) = &t.0.node else {
                accumulate(t, g);
                continue;
            };
            if t.0.retains_grad.load(std::sync::atomic::Ordering::Relaxed) {
                accumulate(t, g.clone());
            }
            let mut state = node.lock();
            let Some(s) = state.as_ref() else {
                panic!(
                    "backward: trying to backward through the graph a second time (or directly access \
                     saved tensors after they have already been freed; {} was freed). Call \
                     backward_with(grad, true) (retain_graph) the first time",
                    node.name()
                );
            };
            let input_grads = {
                let out = t.array();
                s.op.backward(&s.inputs, &out, &g)
            };
            // Checked in release builds too: `zip` below would silently drop the gradients of
            // the inputs past a short list.
            assert_eq!(
                input_grads.len(),
                s.inputs.len(),
                "backward: {} returned {} gradients for its {} inputs (a Backward returns one \
                 entry per input, None where an input needs no gradient)",
                node.name(),
                input_grads.len(),
                s.inputs.len()
            );
            for (input, ig) in s.inputs.iter().zip(input_grads) {
                let Some(ig) = ig else { continue };
                if !input.requires_grad() {
                    continue;
                }
                if anomaly {
                    check_finite(node.name(), "backward", &ig);
                }
                // Un-broadcast once, here, for every op.
                let ig = {
                    let a = input.array();
                    if ig.shape() == a.shape() {
                        ig
                    } else {
                        ig.sum_to(a.shape())
                    }
                };
                // Every input that requires grad was visited, unless a hook changed the graph
                // during the walk; the walk would never reach such a gradient.
                let Some(&slot) = slots.get(&input.id()) else {
                    continue;
                };
                match &mut grads[slot] {
                    Some(acc) => acc.add_assign(&ig),
                    empty => *empty = Some(ig),
                }
            }
            if !retain_graph {
                *state = None;
            }
        }
        scratch.put_back();
    }
}

/// Tensor ids are addresses: distinct, 8-byte aligned. A multiplicative hash spreads them at a
/// fraction of SipHash's cost (the walk does several lookups per node).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, id: usize) {
        self.0 = (id as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

type IdMap<V> = HashMap<usize, V, BuildHasherDefault<IdHasher>>;

/// The walk's working memory. Each thread keeps one between backward calls, so that the walk
/// of a small network's step allocates none of it. A walk takes it and puts it back emptied: a
/// backward started inside a walk (from a hook) finds none and allocates its own.
#[derive(Default)]
struct Scratch {
    /// The tensors in topological order, each with its slot.
    order: Vec<(Tensor, usize)>,
    /// The depth-first search's stack: a tensor, and its slot once its inputs have been pushed.
    stack: Vec<(Tensor, Option<usize>)>,
    /// Each visited tensor's id and slot: its index in `grads`, in the order of visiting.
    slots: IdMap<usize>,
    /// The gradient flowing into each visited tensor, until the walk reaches it.
    grads: Vec<Option<Array>>,
}

/// Past this many tensors a graph's scratch is freed after its walk rather than kept.
const SCRATCH_KEEP_MAX: usize = 4096;

thread_local! {
    static SCRATCH: Cell<Scratch> = Cell::default();
}

impl Scratch {
    fn take() -> Scratch {
        SCRATCH.take()
    }

    /// Empties the buffers (they hold tensors, which must not outlive the walk) and keeps them
    /// for this thread's next walk, unless a large graph made them large.
    fn put_back(mut self) {
        if self.slots.len() > SCRATCH_KEEP_MAX {
            return;
        }
        self.order.clear();
        self.stack.clear();
        self.slots.clear();
        self.grads.clear();
        SCRATCH.set(self);
    }
}

fn accumulate(t: &Tensor, g: Array) {
    let mut slot = t.grad_mut();
    match slot.as_mut() {
        Some(acc) => acc.add_assign(&g),
        None => *slot = Some(g),
    }
}

/// Fills `scratch.order` with the tensors reachable from `root` through recorded ops, each
/// after all of its inputs, and `scratch.slots` with their slots (the root's is 0).
/// Iterative, so a deep graph cannot overflow the stack.
fn topological_order(root: &Tensor, scratch: &mut Scratch) {
    let Scratch {
        order,
        stack,
        slots,
        ..
    } = scratch;
    stack.push((root.clone(), None));
    while let Some((t, expanded)) = stack.pop() {
        if let Some(slot) = expanded {
            order.push((t, slot));
            continue;
        }
        let slot = slots.len();
        match slots.entry(t.id()) {
            Entry::Occupied(_) => continue,
            Entry::Vacant(v) => v.insert(slot),
        };
        let at = stack.len();
        if let Some(node) = &t.0.node {
            if let Some(s) = node.lock().as_ref() {
                for input in s.inputs.iter() {
                    if input.requires_grad() && !slots.contains_key(&input.id()) {
                        stack.push((input.clone(), None));
                    }
                }
            }
        }
        // Below its inputs, so that it is popped (and ordered) after them.
        stack.insert(at, (t, Some(slot)));
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn gradients_accumulate_across_backward_calls() {
        let x = Tensor::from_slice(&[1.0, 2.0], &[2]).set_requires_grad(true);
        (&x * 3.0).sum().backward();
        (&x * 3.0).sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![6.0, 6.0]);
        x.zero_grad();
        assert!(x.grad().is_none());
    }

    #[test]
    fn a_value_used_twice_gets_both_contributions() {
        // y = x·x + x  =>  dy/dx = 2x + 1
        let x = Tensor::from_slice(&[3.0], &[1]).set_requires_grad(true);
        (&(&x * &x) + &x).sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![7.0]);
    }

    #[test]
    #[should_panic(expected = "backward through the graph a second time")]
    fn backward_through_a_freed_graph_panics() {
        let x = Tensor::from_slice(&[1.0], &[1]).set_requires_grad(true);
        let y = (&x * 2.0).sum();
        y.backward();
        y.backward();
    }

    #[test]
    fn retain_graph_allows_a_second_backward() {
        let x = Tensor::from_slice(&[1.0], &[1]).set_requires_grad(true);
        let y = (&x * 2.0).sum();
        y.backward_with(crate::Array::scalar(1.0), true);
        y.backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![4.0]);
    }

    #[test]
    fn non_leaf_grads_only_when_retained() {
        let x = Tensor::from_slice(&[1.0, 2.0], &[2]).set_requires_grad(true);
        let h = &x * 2.0;
        let k = &x * 3.0;
        h.retain_grad();
        (&h + &k).sum().backward();
        assert_eq!(h.grad().unwrap().to_vec(), vec![1.0, 1.0]);
        assert!(k.grad().is_none());
        assert!(!h.is_leaf() && x.is_leaf());
    }

    #[test]
    fn deep_graph_does_not_overflow_the_stack() {
        let x = Tensor::from_slice(&[1.0], &[1]).set_requires_grad(true);
        let mut y = x.clone();
        for _ in 0..100_000 {
            y = &y + 1.0;
        }
        y.sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![1.0]);
        // Dropping a long chain must not overflow either.
        drop(y);
    }

    #[test]
    fn dropping_a_deep_graph_that_was_never_walked_does_not_overflow_the_stack() {
        let x = Tensor::from_slice(&[1.0], &[1]).set_requires_grad(true);
        let w = Tensor::from_slice(&[2.0], &[1]).set_requires_grad(true);
        let mut y = x.clone();
        for _ in 0..100_000 {
            // Two inputs per node, one shared by all of them.
            y = &(&y + 1.0) * &w;
        }
        drop(y);
        // Every node let go of its inputs.
        assert_eq!(std::sync::Arc::strong_count(&x.0), 1);
        assert_eq!(std::sync::Arc::strong_count(&w.0), 1);
    }

    /// A custom op that returns one gradient for two inputs.
    struct ShortBackward;
    impl crate::autograd::Backward for ShortBackward {
        fn name(&self) -> &'static str {
            "ShortBackward"
        }
        fn backward(
            &self,
            _inputs: &[Tensor],
            _output: &crate::Array,
            grad: &crate::Array,
        ) -> Vec<Option<crate::Array>> {
            vec![Some(grad.clone())]
        }
    }

    #[test]
    #[should_panic(
        expected = "backward: ShortBackward returned 1 gradients for its 2 inputs (a Backward returns one entry per input"
    )]
    fn a_backward_with_too_few_gradients_panics_naming_the_op() {
        let a = Tensor::from_slice(&[1.0], &[1]).set_requires_grad(true);
        let b = Tensor::from_slice(&[2.0], &[1]).set_requires_grad(true);
        let sum = a.array().zip_map(&b.array(), |x, y| x + y);
        let y = Tensor::from_op(sum, &[&a, &b], ShortBackward);
        y.sum().backward();
    }

    #[test]
    fn the_kept_scratch_holds_no_tensor_after_a_walk() {
        let x = Tensor::from_slice(&[1.0, 2.0], &[2]).set_requires_grad(true);
        let y = &x * 2.0;
        (&y * &y).sum().backward();
        drop(y);
        // Only the test's handle is left: the walk's buffers were emptied.
        assert_eq!(std::sync::Arc::strong_count(&x.0), 1);
        assert_eq!(x.grad().unwrap().to_vec(), vec![8.0, 16.0]);
    }

    #[test]
    fn a_backward_inside_a_hook_does_not_disturb_the_outer_walk() {
        let x = Tensor::from_slice(&[1.0, 2.0], &[2]).set_requires_grad(true);
        let z = Tensor::from_slice(&[3.0], &[1]).set_requires_grad(true);
        let inner = (&z * 5.0).sum();
        let h = &x * 3.0;
        h.register_hook(move |g| {
            // A walk of another graph, started while the outer walk is in progress.
            inner.backward_with(crate::Array::scalar(1.0), true);
            Some(g.clone())
        });
        (&h * &h).sum().backward();
        // d Σ(3x)²/dx = 18x
        assert_eq!(x.grad().unwrap().to_vec(), vec![18.0, 36.0]);
        assert_eq!(z.grad().unwrap().to_vec(), vec![5.0]);
    }

    #[test]
    fn detach_cuts_the_graph() {
        let x = Tensor::from_slice(&[2.0], &[1]).set_requires_grad(true);
        let y = (&x * 2.0).detach();
        assert!(!y.requires_grad() && y.is_leaf());
    }
}
