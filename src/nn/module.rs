//! The [`Module`] trait: a layer is a plain struct that owns its tensors and implements
//! `forward`; names, state dicts, train/eval switching and printing all derive from one visitor
//! ([`Module::visit`]) and the list of children ([`Module::children`]).
//!
//! # Writing your own module
//!
//! A struct that holds other modules implements `forward`, `children` and `children_mut`;
//! everything else (parameter names, `state_dict`, `train`/`eval`, `apply`, printing) follows.
//! This is the tutorial's `PyTorchMLP`:
//!
//! ```
//! use backprop::nn::{Linear, Module, ModuleList, ReLU};
//! use backprop::Tensor;
//! use std::fmt;
//!
//! struct PyTorchMLP {
//!     layers: ModuleList,
//! }
//!
//! impl PyTorchMLP {
//!     fn new(input_size: usize, hidden_sizes: &[usize], output_size: usize) -> Self {
//!         let mut sizes = vec![input_size];
//!         sizes.extend_from_slice(hidden_sizes);
//!         sizes.push(output_size);
//!         let mut layers = ModuleList::new();
//!         for i in 0..sizes.len() - 1 {
//!             layers.push(Linear::new(sizes[i], sizes[i + 1]));
//!             if i < sizes.len() - 2 {
//!                 layers.push(ReLU);
//!             }
//!         }
//!         PyTorchMLP { layers }
//!     }
//! }
//!
//! impl Module for PyTorchMLP {
//!     fn forward(&self, x: &Tensor) -> Tensor {
//!         self.layers.iter().fold(x.clone(), |x, layer| layer.forward(&x))
//!     }
//!     fn children(&self) -> Vec<(String, &dyn Module)> {
//!         vec![("layers".into(), &self.layers)]
//!     }
//!     fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
//!         vec![("layers".into(), &mut self.layers)]
//!     }
//! }
//!
//! // Optional: `println!("{mlp}")` (otherwise use `mlp.repr()`).
//! impl fmt::Display for PyTorchMLP {
//!     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
//!         self.fmt_repr(f)
//!     }
//! }
//!
//! let mlp = PyTorchMLP::new(2, &[4, 4], 1);
//! assert_eq!(mlp.named_parameters()[0].0, "layers.0.weight");
//! assert!(mlp.to_string().starts_with("PyTorchMLP(\n  (layers): ModuleList(\n    (0): Linear("));
//! ```
//!
//! A module with tensors of its own overrides [`Module::visit`] instead (see `Linear`).

use crate::nn::state::{StateData, StateDict, StateTensor};
use crate::tensor::Tensor;
use crate::{Error, Result};
use std::any::Any;
use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

/// One item a module holds, as [`Module::visit`] reports it.
#[derive(Clone, Copy, Debug)]
pub enum Entry<'a> {
    /// A trainable parameter (`requires_grad`), listed by [`Module::parameters`].
    Param(&'a Tensor),
    /// A non-trainable `f32` buffer saved in the state dict (BatchNorm1d's `running_mean`).
    Buffer(&'a Tensor),
    /// An `int64` counter saved as a 0-d tensor (BatchNorm1d's `num_batches_tracked`).
    Count(&'a AtomicI64),
}

impl Entry<'_> {
    /// The tensor of a `Param` or `Buffer`; `None` for a `Count`.
    pub fn tensor(&self) -> Option<&Tensor> {
        match *self {
            Entry::Param(t) | Entry::Buffer(t) => Some(t),
            Entry::Count(_) => None,
        }
    }

    /// The current value as a state-dict entry (`f32` tensors, 0-d `i64` counters).
    pub fn to_state(&self) -> StateTensor {
        match *self {
            Entry::Param(t) | Entry::Buffer(t) => {
                let a = t.array();
                // A parameter on a GPU is saved from a host copy: files are the same as a
                // CPU save of the same values.
                StateTensor::f32(a.shape(), a.to_host_vec())
            }
            Entry::Count(c) => StateTensor::i64_scalar(c.load(Ordering::Relaxed)),
        }
    }

    /// "shape [4, 2] float32", as [`StateTensor::describe`].
    fn describe(&self) -> String {
        match *self {
            Entry::Param(t) | Entry::Buffer(t) => format!("shape {:?} float32", t.shape()),
            Entry::Count(_) => "shape [] int64".to_string(),
        }
    }

    /// Checks that `st` can be loaded into this entry.
    fn check(&self, key: &str, st: &StateTensor) -> Result<()> {
        let numel: usize = st.shape.iter().product();
        let ok = match (*self, &st.data) {
            (Entry::Param(t) | Entry::Buffer(t), StateData::F32(v)) => {
                st.shape == t.shape() && v.len() == numel
            }
            (Entry::Count(_), StateData::I64(v)) => st.shape.is_empty() && v.len() == 1,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let mut found = st.describe();
        if st_len(st) != numel {
            found = format!("{found} with {} values", st_len(st));
        }
        Err(Error::StateMismatch {
            key: key.to_string(),
            expected: self.describe(),
            found,
        })
    }

    /// Writes `st` (already checked) into this entry.
    fn load(&self, st: &StateTensor) {
        match (*self, &st.data) {
            (Entry::Param(t) | Entry::Buffer(t), StateData::F32(v)) => {
                t.assign(&crate::Array::new(&st.shape, v.clone()))
            }
            (Entry::Count(c), StateData::I64(v)) => c.store(v[0], Ordering::Relaxed),
            _ => unreachable!("load_state_dict: entries are checked before any is written"),
        }
    }
}

/// Moves every parameter and buffer of `m` (and their gradients) to `device`, in place.
pub(crate) fn move_entries(m: &dyn Module, device: &crate::Device) {
    m.visit("", &mut |_, e| {
        if let Some(t) = e.tensor() {
            t.move_to(device);
        }
    });
}

fn st_len(st: &StateTensor) -> usize {
    match &st.data {
        StateData::F32(v) => v.len(),
        StateData::I64(v) => v.len(),
        StateData::F64(v) => v.len(),
    }
}

/// Upcasts and downcasts for [`Module`]; implemented for every module by a blanket impl, so
/// never implement it yourself.
pub trait AsModule: Any {
    /// `self` as `&dyn Any`, for [`downcast_ref`](trait.Module.html#method.downcast_ref).
    fn as_any(&self) -> &dyn Any;
    /// `self` as `&mut dyn Any`, for [`downcast_mut`](trait.Module.html#method.downcast_mut).
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// `self` as a trait object.
    fn as_module(&self) -> &dyn Module;
    /// `self` as a mutable trait object.
    fn as_module_mut(&mut self) -> &mut dyn Module;
}

impl<T: Module> AsModule for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_module(&self) -> &dyn Module {
        self
    }
    fn as_module_mut(&mut self) -> &mut dyn Module {
        self
    }
}

/// A layer or a network: anything with a `forward` and, optionally, parameters, buffers and
/// child modules, as `torch.nn.Module`.
///
/// Implementors write [`forward`](Module::forward) and either [`visit`](Module::visit) (a layer
/// that owns tensors) or [`children`](Module::children) + [`children_mut`](Module::children_mut)
/// (a module built from other modules); layers whose behaviour depends on the mode also
/// override [`set_training`](Module::set_training) and [`is_training`](Module::is_training).
/// Everything else is provided. Names follow PyTorch (`layers.0.weight`), and so does the order:
/// a module's own parameters, then its own buffers, then each child in turn.
///
/// Modules are `Send + Sync`: a trained model can serve predictions from several threads (in
/// eval mode; a training-mode BatchNorm1d updates its running statistics on every forward).
/// Share `&model` (e.g. across `std::thread::scope`, or in an `Arc`) and run each thread's
/// forward inside [`no_grad`](crate::no_grad): the switch is thread-local, as in PyTorch, so a
/// thread that does not set it records a graph on every prediction (correct, but wasted work
/// and memory). Every thread gets bit-for-bit the single-threaded result.
///
/// # Examples
/// ```
/// use backprop::nn::{init, BatchNorm1d, Linear, Module, ReLU, Sequential};
///
/// let mut model = Sequential::new().add(Linear::new(2, 4)).add(ReLU).add(BatchNorm1d::new(4));
/// // The tutorial's `model.apply(init_weights)`:
/// model.apply(&mut |m| {
///     if let Some(l) = m.downcast_mut::<Linear>() {
///         init::xavier_uniform(&l.weight, 1.0);
///         init::constant(l.bias.as_ref().unwrap(), 0.01);
///     }
/// });
/// let names: Vec<String> = model.state_dict().keys().map(String::from).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean",
///                    "2.running_var", "2.num_batches_tracked"]);
/// model.eval();
/// assert!(!model.is_training());
/// ```
pub trait Module: AsModule + Send + Sync {
    /// Runs the module on `x` (for most layers a batch of shape `[N, in]`).
    fn forward(&self, x: &Tensor) -> Tensor;

    /// Calls `f` on every parameter, buffer and counter with its full PyTorch name: `prefix`
    /// (empty, or ending in `.`) followed by the entry's own name.
    ///
    /// The default visits each child with the prefix `"{prefix}{child_name}."`. A layer with
    /// tensors of its own reports them, parameters first, then buffers, then visits its
    /// children (if any) the same way.
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'a>)) {
        for (name, child) in self.children() {
            child.visit(&format!("{prefix}{name}."), f);
        }
    }

    /// The direct sub-modules with their names (`"0"`, `"layers"`), in registration order.
    fn children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }

    /// The direct sub-modules, mutably (same names and order as [`Module::children`]).
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        Vec::new()
    }

    /// Switches this module and its children to training (`true`) or evaluation mode, as
    /// `train(mode)`. The default recurses into the children; Dropout and BatchNorm1d also
    /// record the mode.
    fn set_training(&mut self, training: bool) {
        for (_, child) in self.children_mut() {
            child.set_training(training);
        }
    }

    /// Whether the module is in training mode (PyTorch's `.training`).
    ///
    /// Modules that keep a flag (containers, Dropout, BatchNorm1d) report it. The default
    /// reports whether all children are training, and `true` for a stateless layer without
    /// children (ReLU, Linear): their behaviour does not depend on the mode, so they keep none.
    fn is_training(&self) -> bool {
        self.children().iter().all(|(_, c)| c.is_training())
    }

    /// Calls `f` on every sub-module (children first, recursively) and then on `self`, as
    /// `nn.Module.apply`. Use [`downcast_mut`](trait.Module.html#method.downcast_mut) inside `f`
    /// to pick out one kind of layer.
    fn apply(&mut self, f: &mut dyn FnMut(&mut dyn Module)) {
        for (_, child) in self.children_mut() {
            child.apply(f);
        }
        f(self.as_module_mut());
    }

    /// The name printed by [`Module::fmt_repr`]: the type's name without its path (`"Linear"`).
    fn type_name(&self) -> &'static str {
        let full = std::any::type_name::<Self>();
        let base = full.split('<').next().unwrap_or(full);
        base.rsplit("::").next().unwrap_or(base)
    }

    /// The configuration printed inside the parentheses, as PyTorch's `extra_repr`
    /// (`"in_features=2, out_features=4, bias=True"`); empty by default.
    fn extra_repr(&self) -> String {
        String::new()
    }

    /// Writes the module as PyTorch's `print(model)` does: `Name(extra_repr)` for a leaf, and
    /// one `(name): child` line per child, indented by two spaces, for a container.
    fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra = self.extra_repr();
        let mut lines: Vec<String> = if extra.is_empty() {
            Vec::new()
        } else {
            extra.split('\n').map(String::from).collect()
        };
        let n_extra = lines.len();
        for (name, child) in self.children() {
            lines.push(add_indent(&format!("({name}): {}", child.repr()), 2));
        }
        write!(f, "{}(", self.type_name())?;
        if n_extra == 1 && lines.len() == 1 {
            f.write_str(&lines[0])?;
        } else if !lines.is_empty() {
            write!(f, "\n  {}\n", lines.join("\n  "))?;
        }
        f.write_str(")")
    }

    /// The printed form ([`Module::fmt_repr`]) as a string, as `repr(model)`.
    fn repr(&self) -> String {
        struct Repr<'a, M: ?Sized>(&'a M);
        impl<M: Module + ?Sized> fmt::Display for Repr<'_, M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_repr(f)
            }
        }
        Repr(self).to_string()
    }

    /// The trainable parameters, in PyTorch's order (as `parameters()`); the handles share
    /// storage with the module, so an optimizer updates the model. The same tensors as
    /// [`named_parameters`](Module::named_parameters), without the names: layers and
    /// containers override it to skip building them, as a loop that clips gradients calls it
    /// every step.
    fn parameters(&self) -> Vec<Tensor> {
        let mut out = Vec::new();
        self.visit("", &mut |_, e| {
            if let Entry::Param(t) = e {
                out.push(t.clone());
            }
        });
        unique_tensors(out)
    }

    /// The trainable parameters with their names (`"layers.0.weight"`), as `named_parameters()`.
    /// A tensor shared by two layers (tied weights) is listed once, under its first name, so an
    /// optimizer updates it once.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let (mut out, mut seen) = (Vec::new(), HashSet::new());
        self.visit("", &mut |name, e| {
            if let Entry::Param(t) = e {
                if seen.insert(t.id()) {
                    out.push((name.to_string(), t.clone()));
                }
            }
        });
        out
    }

    /// The `f32` buffers with their names (`"1.running_mean"`), as `named_buffers()` (which
    /// also lists `num_batches_tracked`; here that is an [`Entry::Count`], in the state dict).
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let (mut out, mut seen) = (Vec::new(), HashSet::new());
        self.visit("", &mut |name, e| {
            if let Entry::Buffer(t) = e {
                if seen.insert(t.id()) {
                    out.push((name.to_string(), t.clone()));
                }
            }
        });
        out
    }

    /// A copy of every parameter, buffer and counter under its name, in PyTorch's order, as
    /// `state_dict()`.
    fn state_dict(&self) -> StateDict {
        let mut sd = StateDict::new();
        self.visit("", &mut |name, e| sd.insert(name, e.to_state()));
        sd
    }

    /// Copies `state` into the module, as `load_state_dict(state, strict=True)`.
    ///
    /// Every entry is checked before any is written, so on error the module is unchanged.
    /// Unlike PyTorch, which casts, the dtype must match (`float32` tensors, 0-d `int64`
    /// counters).
    ///
    /// # Errors
    /// [`Error::MissingKey`] for a name the module has and `state` lacks (the first in the
    /// module's order), [`Error::StateMismatch`] for an entry of the wrong shape or dtype, and
    /// then [`Error::UnexpectedKey`] for a name in `state` the module does not have.
    fn load_state_dict(&self, state: &StateDict) -> Result<()> {
        let mut expected: Vec<(String, Entry<'_>)> = Vec::new();
        self.visit("", &mut |name, e| expected.push((name.to_string(), e)));
        for (name, e) in &expected {
            let st = state
                .get(name)
                .ok_or_else(|| Error::MissingKey(name.clone()))?;
            e.check(name, st)?;
        }
        let known: HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
        if let Some(k) = state.keys().find(|k| !known.contains(k)) {
            return Err(Error::UnexpectedKey(k.to_string()));
        }
        for (name, e) in &expected {
            e.load(state.get(name).expect("checked above"));
        }
        Ok(())
    }

    /// Moves every parameter and buffer (and any gradient) to `device`, in place, as
    /// `module.to(device)`; returns the module for chaining.
    ///
    /// The tensors keep their identity (the handles in [`Module::parameters`] stay valid), so
    /// an optimizer built before the move still updates them. As in PyTorch, move the model
    /// before the optimizer takes its first step: state the optimizer already holds (momentum,
    /// Adam's averages) stays where it was made.
    ///
    /// # Panics
    /// Panics if `device` cannot be used (check it first with [`Device::check`](crate::Device::check)).
    fn to(&mut self, device: &crate::Device) -> &mut Self
    where
        Self: Sized,
    {
        move_entries(self, device);
        self
    }

    /// Switches to training mode, as `train()`.
    fn train(&mut self) {
        self.set_training(true);
    }

    /// Switches to evaluation mode (Dropout off, BatchNorm1d uses running statistics), as
    /// `eval()`.
    fn eval(&mut self) {
        self.set_training(false);
    }

    /// Clears every parameter's gradient, as `zero_grad(set_to_none=True)`.
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// The number of trainable scalars, as `sum(p.numel() for p in model.parameters())`.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(Tensor::numel).sum()
    }
}

impl dyn Module + '_ {
    /// Whether the module is a `T`.
    pub fn is<T: Module>(&self) -> bool {
        self.as_any().is::<T>()
    }

    /// The module as a `T`, if it is one (for [`Module::apply`] callbacks).
    pub fn downcast_ref<T: Module>(&self) -> Option<&T> {
        self.as_any().downcast_ref::<T>()
    }

    /// The module as a mutable `T`, if it is one.
    pub fn downcast_mut<T: Module>(&mut self) -> Option<&mut T> {
        self.as_any_mut().downcast_mut::<T>()
    }
}

impl fmt::Display for dyn Module + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

impl fmt::Debug for dyn Module + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

/// Indents every line but the first by `n` spaces, as PyTorch's `_addindent`.
pub(crate) fn add_indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    let mut lines = s.split('\n');
    let mut out = lines.next().unwrap_or("").to_string();
    for line in lines {
        out.push('\n');
        out.push_str(&pad);
        out.push_str(line);
    }
    out
}

/// `true`/`false` as Python prints them.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// A float as Python's `repr` prints it (`0.1`, `1.0`, `1e-05`), from the shortest decimal
/// that round-trips in `f64`.
pub(crate) fn py_float(v: f64) -> String {
    py_repr_from_sci(&format!("{v:e}"))
}

/// [`py_float`] for an `f32` field: the shortest decimal that round-trips in `f32`, so a slope
/// stored as `0.01f32` prints `0.01` as PyTorch's Python float does.
pub(crate) fn py_float32(v: f32) -> String {
    py_repr_from_sci(&format!("{v:e}"))
}

/// Python's repr rule: positional notation for exponents in `-4..16`, else `d.ddde±XX`.
fn py_repr_from_sci(sci: &str) -> String {
    match sci {
        "inf" => return "inf".into(),
        "-inf" => return "-inf".into(),
        "NaN" => return "nan".into(),
        _ => {}
    }
    let (mant, exp) = sci.split_once('e').expect("`{:e}` output has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (sign, mant) = match mant.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let body = if (-4..16).contains(&exp) {
        let point = exp + 1;
        if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        }
    } else {
        let frac = if digits.len() > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{}{frac}e{esign}{:02}", &digits[..1], exp.abs())
    };
    format!("{sign}{body}")
}

/// The tensors of `all` in order, each once (a tensor shared by two layers, tied weights, keeps
/// its first place), as [`Module::named_parameters`] lists them.
pub(crate) fn unique_tensors(all: impl IntoIterator<Item = Tensor>) -> Vec<Tensor> {
    // A model's handful of parameters are compared with each other directly; past
    // `SCAN_UP_TO` a set of ids takes over.
    const SCAN_UP_TO: usize = 32;
    let mut out: Vec<Tensor> = Vec::new();
    let mut seen: Option<HashSet<usize>> = None;
    for t in all {
        let id = t.id();
        let fresh = match seen.as_mut() {
            Some(set) => set.insert(id),
            None => !out.iter().any(|o| o.id() == id),
        };
        if fresh {
            out.push(t);
            if seen.is_none() && out.len() > SCAN_UP_TO {
                seen = Some(out.iter().map(Tensor::id).collect());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{init, BatchNorm1d, Dropout, Linear, ModuleList, ReLU, Sequential};
    use crate::rng::manual_seed;

    #[test]
    fn unique_tensors_keeps_first_occurrences_in_order_at_any_count() {
        for n in [0, 1, 5, 32, 33, 100] {
            let ts: Vec<Tensor> = (0..n)
                .map(|i| Tensor::from_slice(&[i as f32], &[1]))
                .collect();
            // Every tensor, then all of them again, with repeats in between.
            let mut all = Vec::new();
            for (i, t) in ts.iter().enumerate() {
                all.push(t.clone());
                if i % 3 == 0 {
                    all.push(ts[i / 2].clone());
                }
            }
            all.extend(ts.iter().rev().cloned());
            let ids: Vec<usize> = unique_tensors(all).iter().map(Tensor::id).collect();
            assert_eq!(
                ids,
                ts.iter().map(Tensor::id).collect::<Vec<_>>(),
                "{n} tensors"
            );
        }
    }

    /// The ids of `named_parameters`, and of `parameters`.
    fn both_ids(m: &dyn Module) -> (Vec<usize>, Vec<usize>) {
        let named = m.named_parameters().iter().map(|(_, t)| t.id()).collect();
        let plain = m.parameters().iter().map(Tensor::id).collect();
        (named, plain)
    }

    #[test]
    fn parameters_are_named_parameters_without_names() {
        let _global = crate::testing::global_state();
        manual_seed(5);
        let mlp = crate::nn::Mlp::new(&crate::nn::MlpConfig {
            batch_norm: true,
            dropout: 0.5,
            ..crate::nn::MlpConfig::new(&[3, 4, 4, 2])
        });
        let (named, plain) = both_ids(&mlp);
        assert_eq!(named.len(), 10, "3 Linear × 2 + 2 BatchNorm1d × 2");
        assert_eq!(plain, named);
        // Tied weights are listed once, at their first place, in nested containers too.
        let a = Linear::new(2, 2);
        let mut b = Linear::new(2, 2);
        b.weight = a.weight.clone();
        let no_bias = Linear::with_bias(2, 2, false);
        let seq = Sequential::new().add(a).add(ReLU).add(
            Sequential::new()
                .add(b)
                .add(BatchNorm1d::new(2))
                .add(no_bias),
        );
        let (named, plain) = both_ids(&seq);
        assert_eq!(named.len(), 6);
        assert_eq!(plain, named);
    }

    // Python:
    // >>> [repr(x) for x in [0.1, 1.0, 1e-05, 0.0001, 1e16, 1e15, 123.456, -2.5, 0.0, 1.5e-07, 1e100]]
    // ['0.1', '1.0', '1e-05', '0.0001', '1e+16', '1000000000000000.0', '123.456', '-2.5', '0.0',
    //  '1.5e-07', '1e+100']
    #[test]
    fn python_float_repr() {
        let cases = [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (1e-5, "1e-05"),
            (1e-4, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123.456, "123.456"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
        ];
        for (v, s) in cases {
            assert_eq!(py_float(v), s, "{v}");
        }
        assert_eq!(py_float32(0.01), "0.01");
        assert_eq!(py_float32(0.2), "0.2");
        assert_eq!(py_float(f64::INFINITY), "inf");
    }

    /// The tutorial's `PyTorchMLP`, written as a user would.
    struct PyTorchMLP {
        layers: ModuleList,
    }

    impl PyTorchMLP {
        fn new(input_size: usize, hidden_sizes: &[usize], output_size: usize) -> Self {
            let mut sizes = vec![input_size];
            sizes.extend_from_slice(hidden_sizes);
            sizes.push(output_size);
            let mut layers = ModuleList::new();
            for i in 0..sizes.len() - 1 {
                layers.push(Linear::new(sizes[i], sizes[i + 1]));
                if i < sizes.len() - 2 {
                    layers.push(ReLU);
                }
            }
            PyTorchMLP { layers }
        }
    }

    impl Module for PyTorchMLP {
        fn forward(&self, x: &Tensor) -> Tensor {
            self.layers
                .iter()
                .fold(x.clone(), |x, layer| layer.forward(&x))
        }
        fn children(&self) -> Vec<(String, &dyn Module)> {
            vec![("layers".into(), &self.layers)]
        }
        fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
            vec![("layers".into(), &mut self.layers)]
        }
    }

    impl fmt::Display for PyTorchMLP {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.fmt_repr(f)
        }
    }

    // Python (torch 2.15):
    // >>> mlp = PyTorchMLP(input_size=2, hidden_sizes=[4, 4], output_size=1); print(mlp)
    // >>> [n for n, _ in mlp.named_parameters()]
    // ['layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias', 'layers.4.weight', 'layers.4.bias']
    #[test]
    fn tutorial_pytorch_mlp_as_a_user_struct() {
        let mut mlp = PyTorchMLP::new(2, &[4, 4], 1);
        assert_eq!(
            mlp.to_string(),
            "PyTorchMLP(\n  (layers): ModuleList(\n    (0): Linear(in_features=2, out_features=4, bias=True)\n    \
             (1): ReLU()\n    (2): Linear(in_features=4, out_features=4, bias=True)\n    (3): ReLU()\n    \
             (4): Linear(in_features=4, out_features=1, bias=True)\n  )\n)"
        );
        let names: Vec<String> = mlp.named_parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "layers.0.weight",
                "layers.0.bias",
                "layers.2.weight",
                "layers.2.bias",
                "layers.4.weight",
                "layers.4.bias"
            ]
        );
        assert_eq!(mlp.num_parameters(), 2 * 4 + 4 + 4 * 4 + 4 + 4 + 1);
        let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]);
        assert_eq!(mlp.forward(&x).shape(), vec![4, 1]);
        mlp.eval();
        assert!(!mlp.is_training() && !mlp.layers.is_training());
        mlp.train();
        assert!(mlp.is_training());
    }

    // Python: the tutorial's init_weights, applied with model.apply:
    // >>> def init_weights(m):
    // ...     if type(m) == nn.Linear:
    // ...         torch.nn.init.xavier_uniform_(m.weight); m.bias.data.fill_(0.01)
    #[test]
    fn apply_init_weights_reaches_every_linear_and_visits_children_first() {
        let _global = crate::testing::global_state();
        manual_seed(0);
        let mut model = Sequential::new()
            .add(Linear::new(2, 32))
            .add(ReLU)
            .add(BatchNorm1d::new(32))
            .add(Dropout::new(0.5))
            .add(Sequential::new().add(Linear::new(32, 16)));
        let mut seen = Vec::new();
        model.apply(&mut |m| {
            seen.push(m.type_name());
            if let Some(l) = m.downcast_mut::<Linear>() {
                init::xavier_uniform(&l.weight, 1.0);
                init::constant(l.bias.as_ref().unwrap(), 0.01);
            }
        });
        assert_eq!(
            seen,
            [
                "Linear",
                "ReLU",
                "BatchNorm1d",
                "Dropout",
                "Linear",
                "Sequential",
                "Sequential"
            ]
        );
        for (name, p) in model.named_parameters() {
            if name.ends_with("bias") && !name.starts_with("2.") {
                assert!(p.to_vec().iter().all(|&v| v == 0.01), "{name}");
            }
        }
        // xavier bound for [16, 32]: sqrt(6 / 48)
        let inner = model[4].downcast_ref::<Sequential>().unwrap()[0]
            .downcast_ref::<Linear>()
            .unwrap();
        let bound = (6.0f32 / 48.0).sqrt();
        assert!(inner.weight.to_vec().iter().all(|v| v.abs() <= bound));
        assert!(inner.weight.to_vec().iter().any(|v| v.abs() > 0.5 * bound));
        assert!(model[1].is::<ReLU>() && !model[1].is::<Linear>());
    }

    #[test]
    fn state_dict_round_trip_and_strict_errors_leave_model_untouched() {
        let _global = crate::testing::global_state();
        manual_seed(1);
        let a = Sequential::new()
            .add(Linear::new(3, 2))
            .add(BatchNorm1d::new(2));
        let b = Sequential::new()
            .add(Linear::new(3, 2))
            .add(BatchNorm1d::new(2));
        a.forward(&Tensor::randn(&[5, 3]));
        let sd = a.state_dict();
        assert_eq!(
            sd.get("1.num_batches_tracked").unwrap().scalar_value(),
            Some(1.0)
        );
        b.load_state_dict(&sd).unwrap();
        assert_eq!(b.state_dict(), sd);

        let c = Sequential::new()
            .add(Linear::new(3, 2))
            .add(BatchNorm1d::new(2));
        let before = c.state_dict();

        let mut missing = sd.clone();
        missing.remove("1.running_var");
        let e = c.load_state_dict(&missing).unwrap_err();
        assert!(
            matches!(&e, Error::MissingKey(k) if k == "1.running_var"),
            "{e}"
        );

        // A bad entry late in the order: nothing before it may be written.
        let mut extra = sd.clone();
        extra.insert("2.weight", StateTensor::f32(&[1], vec![0.0]));
        let e = c.load_state_dict(&extra).unwrap_err();
        assert!(
            matches!(&e, Error::UnexpectedKey(k) if k == "2.weight"),
            "{e}"
        );

        let mut bad_shape = sd.clone();
        bad_shape.insert("1.running_mean", StateTensor::f32(&[3], vec![0.0; 3]));
        let e = c.load_state_dict(&bad_shape).unwrap_err();
        assert_eq!(
            e.to_string(),
            "load_state_dict: `1.running_mean` has shape [3] float32, the model expects shape [2] float32"
        );

        let mut bad_dtype = sd.clone();
        bad_dtype.insert("1.num_batches_tracked", StateTensor::f64_scalar(1.0));
        let e = c.load_state_dict(&bad_dtype).unwrap_err();
        assert!(
            matches!(&e, Error::StateMismatch { key, .. } if key == "1.num_batches_tracked"),
            "{e}"
        );

        let mut bad_len = sd.clone();
        bad_len.insert(
            "0.bias",
            StateTensor {
                shape: vec![2],
                data: StateData::F32(vec![1.0]),
            },
        );
        let e = c.load_state_dict(&bad_len).unwrap_err();
        assert!(e.to_string().contains("with 1 values"), "{e}");

        assert_eq!(c.state_dict(), before);
    }

    #[test]
    fn tied_parameters_are_listed_once_and_modules_are_thread_safe() {
        let a = Linear::new(2, 2);
        let b = Linear::from_tensors(a.weight.clone(), None);
        let model = Sequential::new().add(a).add(b);
        let names: Vec<String> = model
            .named_parameters()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["0.weight", "0.bias"]);
        assert_eq!(
            model.state_dict().len(),
            3,
            "state_dict keeps every name, as PyTorch's"
        );
        fn check<T: Send + Sync>() {}
        check::<Sequential>();
        check::<Box<dyn Module>>();
    }

    #[test]
    fn zero_grad_clears_every_parameter() {
        let model = Sequential::new()
            .add(Linear::new(2, 3))
            .add(ReLU)
            .add(Linear::new(3, 1));
        model.forward(&Tensor::ones(&[4, 2])).sum().backward();
        assert!(model.parameters().iter().all(|p| p.grad().is_some()));
        model.zero_grad();
        assert!(model.parameters().iter().all(|p| p.grad().is_none()));
    }

    #[test]
    fn dyn_module_prints_and_add_indent_matches_python() {
        let m: Box<dyn Module> = Box::new(Linear::new(2, 1));
        assert_eq!(
            format!("{m}"),
            "Linear(in_features=2, out_features=1, bias=True)"
        );
        assert_eq!(add_indent("a\nb\nc", 2), "a\n  b\n  c");
    }
}
