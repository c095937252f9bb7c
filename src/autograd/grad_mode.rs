//! Switches that change how ops record: `no_grad` (thread-local, as in PyTorch) and anomaly
//! detection (global, for debugging).

use crate::tensor::Array;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    /// While [`record_anomalies`] runs on this thread: the first anomaly seen (instead of a
    /// panic).
    static RECORDED: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

static ANOMALY: AtomicBool = AtomicBool::new(false);

/// Whether ops on this thread currently record a graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Runs `f` with gradient recording off on this thread, as `with torch.no_grad():`.
///
/// # Examples
/// ```
/// use backprop::{no_grad, Tensor};
/// let w = Tensor::ones(&[2]).set_requires_grad(true);
/// let y = no_grad(|| &w * 2.0);
/// assert!(!y.requires_grad());
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = NoGradGuard::new();
    f()
}

/// Turns gradient recording off on this thread until dropped (restoring the previous mode).
pub struct NoGradGuard {
    previous: bool,
}

impl NoGradGuard {
    /// Turns recording off.
    pub fn new() -> Self {
        let previous = GRAD_ENABLED.with(|g| g.replace(false));
        NoGradGuard { previous }
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Turns anomaly detection on or off (as `torch.autograd.set_detect_anomaly`): when on, every
/// op checks its forward result and backward gradients and panics naming the first op that
/// produced a NaN or infinity. It costs a pass over every result, so it is off by default.
///
/// The message names the op by its node name and the pass: `anomaly detected: LogBackward0
/// produced NaN in its forward output (element 1 of shape [3])`. Inside
/// [`gradcheck`](crate::autograd::gradcheck) the same finding becomes an error instead of a
/// panic. The forward check runs for every op, recorded or not (also under `no_grad`).
///
/// # Examples
/// ```
/// use backprop::{set_anomaly_detection, Tensor};
/// set_anomaly_detection(true);
/// let x = Tensor::from_slice(&[-1.0], &[1]).set_requires_grad(true);
/// let r = std::panic::catch_unwind(|| x.log());
/// set_anomaly_detection(false);
/// assert!(r.is_err()); // "anomaly detected: LogBackward0 produced NaN in its forward output ..."
/// ```
pub fn set_anomaly_detection(on: bool) {
    ANOMALY.store(on, Ordering::Relaxed);
}

/// Whether anomaly detection is on.
pub fn is_anomaly_enabled() -> bool {
    ANOMALY.load(Ordering::Relaxed)
}

/// Panics (or, inside [`record_anomalies`], records) naming `op` if `a` holds a NaN or an
/// infinity.
#[track_caller]
pub(crate) fn check_finite(op: &str, pass: &str, a: &Array) {
    let values = a.to_host_vec();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let what = format!(
            "{op} produced {} in its {pass} output (element {i} of shape {:?})",
            values[i],
            a.shape()
        );
        let recorded = RECORDED.with(|r| match r.borrow_mut().as_mut() {
            Some(first) => {
                first.get_or_insert(what.clone());
                true
            }
            None => false,
        });
        if !recorded {
            panic!("anomaly detected: {what}");
        }
    }
}

/// Runs `f` with anomalies recorded instead of panicking, on this thread only, and returns the
/// first one (`"LogBackward0 produced NaN in its forward output (element 0 of shape [3])"`),
/// if any. `gradcheck` uses it to name the op behind a non-finite value; it only sees anything
/// while anomaly detection is on.
pub(crate) fn record_anomalies<R>(f: impl FnOnce() -> R) -> (R, Option<String>) {
    /// Puts back the outer state, also when `f` panics.
    struct Restore(Option<Option<String>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            RECORDED.with(|r| *r.borrow_mut() = outer);
        }
    }
    let _restore = Restore(RECORDED.with(|r| r.borrow_mut().replace(None)));
    let out = f();
    let first = RECORDED.with(|r| r.borrow_mut().take()).flatten();
    (out, first)
}
