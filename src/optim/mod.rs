//! Optimizers and learning-rate schedulers, as `torch.optim` and `torch.optim.lr_scheduler`.
//!
//! Sorted in order of increasing complexity: [`SGD`], [`Adagrad`], [`RMSprop`], [`Adam`] /
//! [`AdamW`]. Each follows the single-tensor (`foreach=False`) algorithm of PyTorch 2.x, operation
//! by operation: scalars (`lr`, betas, bias corrections) are computed in `f64` as Python floats
//! are, and cast to `f32` where PyTorch passes them to an `f32` tensor op. PyTorch's vectorised
//! CPU kernels fuse some multiply-adds (FMA) and ours do not, so trajectories agree with PyTorch's
//! to `f32` rounding (about 1e-7 relative per step), not bit for bit.
//!
//! An optimizer holds handles to its parameters (as `model.parameters()` returns them), reads
//! their `.grad` in [`Optimizer::step`], and writes their values in place. Parameters without a
//! gradient are skipped, as in PyTorch. Each optimizer has one parameter group (PyTorch allows
//! several).
//!
//! Schedulers ([`StepLR`], [`CosineAnnealingLR`], ...) borrow the optimizer at each call rather
//! than owning it, so the training loop keeps using the optimizer directly.
//!
//! ```
//! use backprop::optim::{Optimizer, StepLR, LRScheduler, SGD, SGDConfig};
//! use backprop::Tensor;
//! # fn main() -> backprop::Result<()> {
//! let w = Tensor::from_slice(&[1.0, -2.0], &[2]).set_requires_grad(true);
//! let mut opt = SGD::new(vec![w.clone()], SGDConfig { lr: 0.1, momentum: 0.9, ..Default::default() })?;
//! let mut sched = StepLR::new(&mut opt, 10, 0.5)?;
//! for _epoch in 0..20 {
//!     opt.zero_grad();
//!     let loss = (&w * &w).sum(); // minimum at w = 0
//!     loss.backward();
//!     opt.step();
//!     sched.step(&mut opt);
//! }
//! assert_eq!(opt.lr(), 0.025);
//! assert!(w.to_vec().iter().all(|v| v.abs() < 0.5));
//! # Ok(())
//! # }
//! ```

mod adagrad;
mod adam;
mod clip;
mod lr_scheduler;
mod rmsprop;
mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
#[cfg(feature = "viz")]
pub(crate) use clip::sum_of_squares;
pub use clip::{clip_grad_norm, clip_grad_value, l1_penalty};
pub use lr_scheduler::{
    CosineAnnealingLR, ExponentialLR, LRScheduler, LinearLR, LinearLRConfig, MultiStepLR,
    PlateauMode, ReduceLROnPlateau, ReduceLROnPlateauConfig, SequentialLR, StepLR, ThresholdMode,
};
pub use rmsprop::{RMSprop, RMSpropConfig};
pub use sgd::{SGDConfig, SGD};

use crate::nn::{StateData, StateDict, StateTensor};
use crate::{Array, Error, Result, Tensor};
use std::collections::HashSet;

/// An optimizer over a list of parameters, as `torch.optim.Optimizer`.
///
/// The state dict flattens PyTorch's `{"state": {i: {...}}, "param_groups": [{...}]}` into dotted
/// names: `state.{i}.step` (a 0-d `f32`, as PyTorch's), `state.{i}.exp_avg`, ...,
/// `param_groups.0.lr` (`f64`), the other hyperparameters (`f64`; booleans as `i64` 0/1),
/// `param_groups.0.initial_lr` once a scheduler is attached, and `param_groups.0.params`
/// (`i64` indices). `state.{i}` appears only for parameters that have state (PyTorch allocates it
/// lazily, on the first step that sees a gradient).
pub trait Optimizer {
    /// Performs one update of every parameter that has a gradient.
    fn step(&mut self);

    /// Clears every parameter's gradient, as `zero_grad()` (PyTorch's default
    /// `set_to_none=True`: the gradient becomes `None`, not zeros).
    fn zero_grad(&mut self) {
        for p in self.params() {
            p.zero_grad();
        }
    }

    /// The learning rate, as `param_groups[0]["lr"]`.
    fn lr(&self) -> f64;

    /// Sets the learning rate (schedulers call this). It is not validated, as in PyTorch.
    fn set_lr(&mut self, lr: f64);

    /// The learning rate a scheduler started from, as `param_groups[0]["initial_lr"]`
    /// (`None` until a scheduler is constructed on this optimizer).
    fn initial_lr(&self) -> Option<f64>;

    /// Sets `initial_lr` (schedulers' constructors do so when it is unset).
    fn set_initial_lr(&mut self, lr: Option<f64>);

    /// The parameters, in the order their state is numbered.
    fn params(&self) -> &[Tensor];

    /// The optimizer's state and hyperparameters (see the trait docs for the names).
    fn state_dict(&self) -> StateDict;

    /// Restores the state and hyperparameters saved by [`Optimizer::state_dict`], as PyTorch's
    /// `load_state_dict` (which also replaces the hyperparameters, `lr` included).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the number of parameters differs, [`Error::MissingKey`] /
    /// [`Error::UnexpectedKey`] for absent or unknown names, [`Error::StateMismatch`] for a buffer
    /// whose shape or dtype differs from its parameter's. On error the optimizer is unchanged.
    fn load_state_dict(&mut self, state_dict: &StateDict) -> Result<()>;
}

/// PyTorch's `Optimizer.__init__` check.
pub(crate) fn check_params(params: &[Tensor]) -> Result<()> {
    if params.is_empty() {
        return Err(Error::invalid("optimizer got an empty parameter list"));
    }
    Ok(())
}

/// `Err("Invalid {what}: {value}")` unless `value >= 0` (NaN is rejected too).
pub(crate) fn check_non_negative(what: &str, value: f64) -> Result<()> {
    if value >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(format!("Invalid {what}: {value}")))
    }
}

/// Runs `update(p, g, buffers)` over a parameter's elements `p`, its gradient `g` and its state
/// `buffers` (each as long as `p`, or empty when the optimizer has no such state). The elements
/// are independent, so a large parameter is cut into chunks that run on the threads (see
/// [`set_num_threads`](crate::set_num_threads)); an empty buffer stays empty in every chunk.
pub(crate) fn update_elementwise<const N: usize>(
    p: &mut [f32],
    g: &[f32],
    buffers: [&mut [f32]; N],
    update: impl Fn(&mut [f32], &[f32], [&mut [f32]; N]) + Sync,
) {
    let n = p.len();
    let g = &g[..n];
    let Some(cs) = crate::runtime::elementwise_chunk(n) else {
        return update(p, g, buffers);
    };
    let (mut p, mut g, mut rest) = (p, g, buffers);
    let mut parts = Vec::with_capacity(n.div_ceil(cs));
    while !p.is_empty() {
        let len = cs.min(p.len());
        let (p_head, p_tail) = std::mem::take(&mut p).split_at_mut(len);
        let (g_head, g_tail) = g.split_at(len);
        let mut heads: [&mut [f32]; N] = std::array::from_fn(|_| &mut [][..]);
        for (head, r) in heads.iter_mut().zip(rest.iter_mut()) {
            let b = std::mem::take(r);
            if !b.is_empty() {
                let (bh, bt) = b.split_at_mut(len);
                (*head, *r) = (bh, bt);
            }
        }
        parts.push((p_head, g_head, heads));
        (p, g) = (p_tail, g_tail);
    }
    crate::runtime::for_each(parts, |(p, g, b)| update(p, g, b));
}

/// Runs `f(index, param, grad)` for every parameter that has a gradient.
///
/// # Panics
/// Panics if a gradient's shape differs from its parameter's.
#[track_caller]
pub(crate) fn for_each_with_grad(
    params: &[Tensor],
    opt: &str,
    mut f: impl FnMut(usize, &mut Array, &Array),
) {
    for (i, p) in params.iter().enumerate() {
        p.with_grad(|g| {
            let Some(g) = g else { return };
            let mut a = p.array_mut();
            assert_eq!(
                a.shape(),
                g.shape(),
                "{opt}.step: parameter {i} has shape {:?} but its gradient has shape {:?}",
                a.shape(),
                g.shape()
            );
            f(i, &mut a, g);
        });
    }
}

/// `torch.maximum`: NaN if either is NaN.
#[inline]
pub(crate) fn maximum(a: f32, b: f32) -> f32 {
    if b > a || b.is_nan() {
        b
    } else {
        a
    }
}

/// Writes the `param_groups.0.params` entry (indices `0..n`).
pub(crate) fn save_params_entry(sd: &mut StateDict, n: usize) {
    sd.insert(
        "param_groups.0.params",
        StateTensor {
            shape: vec![n],
            data: StateData::I64((0..n as i64).collect()),
        },
    );
}

/// An `f32` state buffer entry.
pub(crate) fn buffer_entry(a: &Array) -> StateTensor {
    StateTensor::f32(a.shape(), a.data().to_vec())
}

/// A `bool` hyperparameter entry (`i64` 0/1).
pub(crate) fn bool_entry(v: bool) -> StateTensor {
    StateTensor::i64_scalar(v as i64)
}

/// PyTorch's `step` counter: a 0-d `float32` tensor.
pub(crate) fn step_entry(step: f32) -> StateTensor {
    StateTensor {
        shape: vec![],
        data: StateData::F32(vec![step]),
    }
}

/// Reads a state dict, remembering which names it used so that [`StateReader::finish`] can
/// reject the rest.
pub(crate) struct StateReader<'a> {
    sd: &'a StateDict,
    used: HashSet<&'a str>,
}

impl<'a> StateReader<'a> {
    pub(crate) fn new(sd: &'a StateDict) -> Self {
        StateReader {
            sd,
            used: HashSet::new(),
        }
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.sd.contains(key)
    }

    fn entry(&mut self, key: &str) -> Result<&'a StateTensor> {
        let (k, v) = self
            .sd
            .iter()
            .find(|(k, _)| *k == key)
            .ok_or_else(|| Error::MissingKey(key.to_string()))?;
        self.used.insert(k);
        Ok(v)
    }

    fn mismatch(key: &str, expected: &str, found: &StateTensor) -> Error {
        Error::StateMismatch {
            key: key.to_string(),
            expected: expected.to_string(),
            found: found.describe(),
        }
    }

    /// A one-element number of any dtype.
    pub(crate) fn f64(&mut self, key: &str) -> Result<f64> {
        let e = self.entry(key)?;
        e.scalar_value()
            .ok_or_else(|| Self::mismatch(key, "a scalar", e))
    }

    /// A one-element integer (`i64`, or a float holding an integer below 2⁵³ in magnitude,
    /// where every integer is exact).
    pub(crate) fn i64(&mut self, key: &str) -> Result<i64> {
        /// 2⁵³: above it an `f64` cannot hold every integer, so a float count is not trusted.
        const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;
        let e = self.entry(key)?;
        match &e.data {
            StateData::I64(v) if v.len() == 1 => Ok(v[0]),
            _ => match e.scalar_value() {
                Some(v) if v.fract() == 0.0 && v.abs() < EXACT_INTEGER_LIMIT => Ok(v as i64),
                _ => Err(Self::mismatch(key, "an integer scalar", e)),
            },
        }
    }

    pub(crate) fn bool(&mut self, key: &str) -> Result<bool> {
        Ok(self.f64(key)? != 0.0)
    }

    /// `Some(value)` if present, `None` if absent.
    pub(crate) fn opt_f64(&mut self, key: &str) -> Result<Option<f64>> {
        if self.has(key) {
            self.f64(key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A list of numbers (any dtype, converted to `f64`), of length `len` if given.
    pub(crate) fn f64_vec(&mut self, key: &str, len: Option<usize>) -> Result<Vec<f64>> {
        let e = self.entry(key)?;
        let v: Vec<f64> = match &e.data {
            StateData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            StateData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            StateData::F64(v) => v.clone(),
        };
        match len {
            Some(n) if v.len() != n => Err(Self::mismatch(key, &format!("{n} values"), e)),
            _ => Ok(v),
        }
    }

    /// A list of integers.
    pub(crate) fn i64_vec(&mut self, key: &str) -> Result<Vec<i64>> {
        let e = self.entry(key)?;
        match &e.data {
            StateData::I64(v) => Ok(v.clone()),
            _ => Err(Self::mismatch(key, "int64 values", e)),
        }
    }

    /// An `f32` buffer of exactly `shape`.
    pub(crate) fn buffer(&mut self, key: &str, shape: &[usize]) -> Result<Array> {
        let e = self.entry(key)?;
        match &e.data {
            StateData::F32(v) if e.shape == shape => Ok(Array::new(shape, v.clone())),
            _ => Err(Self::mismatch(key, &format!("shape {shape:?} float32"), e)),
        }
    }

    /// Checks `param_groups.0.params` against the optimizer's parameter count.
    pub(crate) fn params(&mut self, n: usize) -> Result<()> {
        let e = self.entry("param_groups.0.params")?;
        let len = match &e.data {
            StateData::I64(v) => v.len(),
            _ => return Err(Self::mismatch("param_groups.0.params", "int64 indices", e)),
        };
        if len != n {
            return Err(Error::invalid(format!(
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group \
                 ({len} parameters, the optimizer has {n})"
            )));
        }
        Ok(())
    }

    /// Fails on the first name that was not read.
    pub(crate) fn finish(self) -> Result<()> {
        match self.sd.keys().find(|k| !self.used.contains(k)) {
            Some(k) => Err(Error::UnexpectedKey(k.to_string())),
            None => Ok(()),
        }
    }
}

/// Implements the [`Optimizer`] plumbing shared by every optimizer: `lr` lives in
/// `self.config.lr`, `initial_lr` in `self.initial_lr`, the parameters in `self.params` (or in
/// `self.0.…` for `impl_optimizer!(Type, 0)`); the type provides inherent `step_impl`,
/// `state_dict_impl` and `load_state_dict_impl`.
macro_rules! impl_optimizer {
    ($ty:ty $(, $inner:tt)?) => {
        impl $crate::optim::Optimizer for $ty {
            fn step(&mut self) {
                self$(.$inner)?.step_impl()
            }
            fn lr(&self) -> f64 {
                self$(.$inner)?.config.lr
            }
            fn set_lr(&mut self, lr: f64) {
                self$(.$inner)?.config.lr = lr;
            }
            fn initial_lr(&self) -> Option<f64> {
                self$(.$inner)?.initial_lr
            }
            fn set_initial_lr(&mut self, lr: Option<f64>) {
                self$(.$inner)?.initial_lr = lr;
            }
            fn params(&self) -> &[$crate::Tensor] {
                &self$(.$inner)?.params
            }
            fn state_dict(&self) -> $crate::nn::StateDict {
                self$(.$inner)?.state_dict_impl()
            }
            fn load_state_dict(&mut self, state_dict: &$crate::nn::StateDict) -> $crate::Result<()> {
                self$(.$inner)?.load_state_dict_impl(state_dict)
            }
        }
    };
}
pub(crate) use impl_optimizer;

#[cfg(test)]
pub(crate) mod test_util {
    //! The fixed problem the optimizer tests run, mirrored by the Python generator quoted in
    //! each test module:
    //!
    //! ```python
    //! import torch
    //! w0 = [0.5, -1.2, 2.0, 0.1, -0.7];  tw = [1.0, 0.0, -1.0, 0.5, 0.3];  cw = [1.0, 2.0, 0.5, 3.0, 1.5]
    //! q0 = [[0.3, -0.4], [1.5, 0.9]];    tq = [[0.0, 1.0], [1.0, -1.0]];   cq = [[2.0, 1.0], [0.5, 1.0]]
    //! def run(make, steps=20):
    //!     w = torch.tensor(w0, requires_grad=True); q = torch.tensor(q0, requires_grad=True)
    //!     z = torch.tensor([7.0], requires_grad=True)          # never gets a gradient
    //!     opt = make([w, q, z])
    //!     for t in range(1, steps + 1):
    //!         w.grad = torch.tensor(cw) * (w.detach() - torch.tensor(tw))
    //!         q.grad = torch.tensor(cq) * (q.detach() - torch.tensor(tq)) if t > 5 else None
    //!         opt.step()
    //!     return w.tolist() + sum(q.tolist(), [])
    //! ```
    //!
    //! `q` gets gradients only from step 6, so its state starts late (its own step count).
    use crate::{Array, Tensor};

    pub const W0: [f32; 5] = [0.5, -1.2, 2.0, 0.1, -0.7];
    pub const TW: [f32; 5] = [1.0, 0.0, -1.0, 0.5, 0.3];
    pub const CW: [f32; 5] = [1.0, 2.0, 0.5, 3.0, 1.5];
    pub const Q0: [f32; 4] = [0.3, -0.4, 1.5, 0.9];
    pub const TQ: [f32; 4] = [0.0, 1.0, 1.0, -1.0];
    pub const CQ: [f32; 4] = [2.0, 1.0, 0.5, 1.0];

    /// Fresh `[w, q, z]`.
    pub fn params() -> Vec<Tensor> {
        vec![
            Tensor::from_slice(&W0, &[5]).set_requires_grad(true),
            Tensor::from_slice(&Q0, &[2, 2]).set_requires_grad(true),
            Tensor::from_slice(&[7.0], &[1]).set_requires_grad(true),
        ]
    }

    fn quad_grad(p: &Tensor, c: &[f32], t: &[f32]) -> Array {
        let a = p.array();
        let g: Vec<f32> = a
            .data()
            .iter()
            .zip(c)
            .zip(t)
            .map(|((&x, &c), &t)| c * (x - t))
            .collect();
        Array::new(a.shape(), g)
    }

    /// Sets the gradients of step `t` (1-based), as the Python loop does.
    pub fn set_grads(params: &[Tensor], t: usize) {
        params[0].set_grad(Some(quad_grad(&params[0], &CW, &TW)));
        params[1].set_grad(if t > 5 {
            Some(quad_grad(&params[1], &CQ, &TQ))
        } else {
            None
        });
        params[2].set_grad(None);
    }

    /// Runs steps `from..=to` of the problem.
    pub fn run_steps(opt: &mut dyn super::Optimizer, from: usize, to: usize) {
        for t in from..=to {
            set_grads(opt.params(), t);
            opt.step();
        }
    }

    /// `w ++ q` after 20 steps of `opt`; also checks that `z` never moved.
    pub fn run20(mut opt: impl super::Optimizer) -> Vec<f32> {
        run_steps(&mut opt, 1, 20);
        assert_eq!(
            opt.params()[2].to_vec(),
            vec![7.0],
            "a parameter without grad must not move"
        );
        let mut out = opt.params()[0].to_vec();
        out.extend(opt.params()[1].to_vec());
        out
    }

    /// Asserts `|got - want| <= 1e-5·|want| + 1e-7` elementwise.
    #[track_caller]
    pub fn assert_close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * w.abs() + 1e-7,
                "element {i}: got {g}, PyTorch gives {w}\n got {got:?}\nwant {want:?}"
            );
        }
    }

    /// Trains 10 steps, saves, loads into a fresh optimizer over copies of the parameters, then
    /// checks that 10 more steps of both are bit-identical.
    pub fn check_round_trip<O: super::Optimizer>(make: impl Fn(Vec<Tensor>) -> O) {
        let mut a = make(params());
        run_steps(&mut a, 1, 10);
        let sd = a.state_dict();
        let copies: Vec<Tensor> = a
            .params()
            .iter()
            .map(|p| p.detach().set_requires_grad(true))
            .collect();
        let mut b = make(copies);
        b.set_lr(123.0);
        b.load_state_dict(&sd).unwrap();
        assert_eq!(b.lr(), a.lr());
        assert_eq!(
            b.state_dict(),
            sd,
            "state dict must survive a load unchanged"
        );
        run_steps(&mut a, 11, 20);
        run_steps(&mut b, 11, 20);
        for (p, q) in a.params().iter().zip(b.params()) {
            let (p, q) = (p.to_vec(), q.to_vec());
            assert!(
                p.iter().zip(&q).all(|(x, y)| x.to_bits() == y.to_bits()),
                "continuation differs: {p:?} vs {q:?}"
            );
        }
        assert_eq!(a.state_dict(), b.state_dict());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elementwise_updates_cover_every_element_once_and_keep_empty_buffers_empty() {
        let n = 3 * crate::runtime::PARALLEL_ELEMENTS + 5;
        let mut p = vec![0.0f32; n];
        let g: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let mut b = vec![1.0f32; n];
        let calls = std::sync::atomic::AtomicUsize::new(0);
        update_elementwise(&mut p, &g, [&mut b, &mut []], |p, g, [b, none]| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert!(none.is_empty() && p.len() == g.len() && p.len() == b.len());
            for ((p, &g), b) in p.iter_mut().zip(g).zip(b.iter_mut()) {
                *p += g;
                *b += g;
            }
        });
        assert!(p.iter().enumerate().all(|(i, &v)| v == i as f32));
        assert!(b.iter().enumerate().all(|(i, &v)| v == 1.0 + i as f32));
        let calls = calls.into_inner();
        if crate::get_num_threads() > 1 {
            assert!(calls > 1, "a large parameter is split across the threads");
        } else {
            assert_eq!(calls, 1);
        }
    }

    #[test]
    fn maximum_propagates_nan() {
        assert!(maximum(f32::NAN, 1.0).is_nan());
        assert!(maximum(1.0, f32::NAN).is_nan());
        assert_eq!(maximum(1.0, 2.0), 2.0);
    }

    #[test]
    fn reader_rejects_unknown_and_missing_keys() {
        let mut sd = StateDict::new();
        sd.insert("a", StateTensor::f64_scalar(1.5));
        sd.insert("b", StateTensor::i64_scalar(2));
        let mut r = StateReader::new(&sd);
        assert_eq!(r.f64("a").unwrap(), 1.5);
        assert!(matches!(r.f64("c"), Err(Error::MissingKey(k)) if k == "c"));
        assert!(matches!(r.finish(), Err(Error::UnexpectedKey(k)) if k == "b"));
        let mut r = StateReader::new(&sd);
        assert!(matches!(
            r.buffer("a", &[2]),
            Err(Error::StateMismatch { .. })
        ));
    }
}
