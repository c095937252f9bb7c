//! Switches that change how ops record: `no_grad` (thread-local, as in PyTorch) and anomaly
//! detection (global, for debugging).

use crate::tensor::Array;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
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
pub fn set_anomaly_detection(on: bool) {
    ANOMALY.store(on, Ordering::Relaxed);
}

/// Whether anomaly detection is on.
pub fn is_anomaly_enabled() -> bool {
    ANOMALY.load(Ordering::Relaxed)
}

#[track_caller]
pub(crate) fn check_finite(op: &str, pass: &str, a: &Array) {
    if let Some(i) = a.data().iter().position(|v| !v.is_finite()) {
        panic!(
            "anomaly detected: {op} produced {} in its {pass} output (element {i} of shape {:?})",
            a.data()[i],
            a.shape()
        );
    }
}
