//! Anomaly detection (`set_anomaly_detection`, as `torch.autograd.set_detect_anomaly`): the first
//! op whose forward or backward result holds a NaN or an infinity is named, by a panic in a
//! graph and by an error from `gradcheck`.
//!
//! The switch is global, so these tests take `common::global_state()` while it is on.

use backprop::autograd::{gradcheck, GradcheckError};
use backprop::{set_anomaly_detection, Tensor};
use std::panic::{catch_unwind, AssertUnwindSafe};

mod common;

/// Runs `f` with anomaly detection on (off again afterwards, also on panic).
fn with_anomaly<R>(f: impl FnOnce() -> R) -> R {
    struct Off;
    impl Drop for Off {
        fn drop(&mut self) {
            set_anomaly_detection(false);
        }
    }
    let _lock = common::global_state();
    set_anomaly_detection(true);
    let _off = Off;
    f()
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn nan_in_a_forward_names_the_op() {
    let msg = with_anomaly(|| {
        let x = Tensor::from_slice(&[2.0, -1.0, 3.0], &[3]).set_requires_grad(true);
        let y = &x * 2.0;
        panic_message(|| {
            // log(-2) = NaN, in element 1.
            let _ = y.log().sum();
        })
    });
    assert_eq!(
        msg,
        "anomaly detected: LogBackward0 produced NaN in its forward output (element 1 of shape [3])"
    );
}

#[test]
fn inf_in_a_backward_names_the_op() {
    let msg = with_anomaly(|| {
        // sqrt(0) = 0 is fine forward; its gradient 1/(2·0) is infinite.
        let x = Tensor::from_slice(&[4.0, 0.0], &[2]).set_requires_grad(true);
        let loss = (x.sqrt() * 3.0).sum();
        panic_message(|| loss.backward())
    });
    assert_eq!(
        msg,
        "anomaly detected: SqrtBackward0 produced inf in its backward output (element 1 of shape [2])"
    );
}

#[test]
fn off_by_default_and_when_switched_off() {
    let _lock = common::global_state();
    assert!(!backprop::autograd::is_anomaly_enabled());
    let x = Tensor::from_slice(&[-1.0], &[1]).set_requires_grad(true);
    let y = x.log();
    assert!(y.to_vec()[0].is_nan());
    y.sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), [-1.0]);
}

#[test]
fn gradcheck_names_the_op_of_a_non_finite_output() {
    let e = with_anomaly(|| {
        let x = Tensor::from_slice(&[-1.0, 2.0], &[2]).set_requires_grad(true);
        gradcheck(|t| (&t[0] + 0.5).log(), &[x], 1e-3, 1e-2, 1e-3).unwrap_err()
    });
    assert_eq!(
        e,
        GradcheckError::NonFinite {
            at: "f(inputs) (output element 0)".into(),
            op: Some(
                "LogBackward0 produced NaN in its forward output (element 0 of shape [2])".into()
            ),
        }
    );
    assert_eq!(
        e.to_string(),
        "gradcheck: non-finite value in f(inputs) (output element 0); anomaly detected: LogBackward0 produced NaN in its forward output (element 0 of shape [2])"
    );
}

#[test]
fn gradcheck_names_the_op_of_a_non_finite_gradient() {
    let e = with_anomaly(|| {
        let x = Tensor::from_slice(&[4.0, 0.0], &[2]).set_requires_grad(true);
        gradcheck(|t| t[0].sqrt(), &[x], 1e-3, 1e-2, 1e-3).unwrap_err()
    });
    let GradcheckError::NonFinite { at, op } = e else {
        panic!("{e}")
    };
    assert_eq!(at, "the analytic gradient of input 0 element 1");
    assert_eq!(
        op.as_deref(),
        Some("SqrtBackward0 produced inf in its backward output (element 1 of shape [2])")
    );
}

#[test]
fn gradcheck_catches_a_hidden_overflow_and_a_nan_one_step_away() {
    // exp(100) overflows float32 to inf, and 1/inf = 0: output and gradient are finite, one op
    // on the way was not.
    let e = with_anomaly(|| {
        let x = Tensor::from_slice(&[1.0], &[1]).set_requires_grad(true);
        gradcheck(
            |t| &t[0] + &(&t[0].detach() * 100.0).exp().rdiv_scalar(1.0),
            &[x],
            1e-3,
            1e-2,
            1e-3,
        )
        .unwrap_err()
    });
    assert_eq!(
        e.to_string(),
        "gradcheck: non-finite value in f(inputs) or its backward; anomaly detected: ExpBackward0 produced inf in its forward output (element 0 of shape [1])"
    );
    // Finite at x = 1e-4, but log(x - eps) is NaN.
    let e = with_anomaly(|| {
        let x = Tensor::from_slice(&[1e-4], &[1]).set_requires_grad(true);
        gradcheck(|t| t[0].log(), &[x], 1e-3, 1e-2, 1e-3).unwrap_err()
    });
    assert_eq!(
        e.to_string(),
        "gradcheck: non-finite value in f(inputs) with input 0 element 0 moved by -eps; anomaly detected: LogBackward0 produced NaN in its forward output (element 0 of shape [1])"
    );
    // After gradcheck, anomalies panic again (the recording was thread-local and scoped).
    let msg = with_anomaly(|| {
        let x = Tensor::from_slice(&[-1.0], &[1]).set_requires_grad(true);
        panic_message(|| {
            let _ = x.log();
        })
    });
    assert!(msg.starts_with("anomaly detected: LogBackward0"), "{msg}");
}

#[test]
fn gradcheck_passes_finite_functions_with_the_switch_on() {
    with_anomaly(|| {
        let x = Tensor::from_slice(&[0.3, 1.5], &[2]).set_requires_grad(true);
        gradcheck(|t| t[0].log().tanh(), &[x], 1e-3, 1e-2, 1e-3).unwrap();
    });
}
