//! Helpers for the crate's unit tests: seeded inputs and a gradcheck with the project's
//! tolerances (step 1e-3, rtol 1e-2, atol 1e-3).

use crate::rng::Generator;
use crate::tensor::Tensor;
use std::cell::RefCell;

thread_local! {
    static GEN: RefCell<Generator> = RefCell::new(Generator::new(1234));
}

/// Standard normal values, requiring grad.
pub fn randn(shape: &[usize]) -> Tensor {
    GEN.with(|g| Tensor::randn_with(shape, &mut g.borrow_mut()))
        .set_requires_grad(true)
}

/// Values in `[0.5, 2)`, requiring grad (for log, sqrt, division).
pub fn positive(shape: &[usize]) -> Tensor {
    let t = GEN.with(|g| Tensor::rand_with(shape, &mut g.borrow_mut()));
    let a = t.array().map(|v| 0.5 + 1.5 * v);
    Tensor::from_array(a).set_requires_grad(true)
}

/// Asserts that autograd's gradients of `f` match central differences.
#[track_caller]
pub fn check_grad(f: impl Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) {
    if let Err(e) = crate::autograd::gradcheck(f, inputs, 1e-3, 1e-2, 1e-3) {
        panic!("{e}");
    }
}

/// Holds the process-wide state (the global generator, the thread count, flush-to-zero,
/// anomaly detection) for one test: tests run on parallel threads of one process, so a test that
/// seeds and draws, or switches a global, takes this first and no other test interleaves.
pub fn global_state() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
