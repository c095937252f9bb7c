//! Finite-difference gradient checking, as `torch.autograd.gradcheck`.

use super::grad_mode::record_anomalies;
use crate::tensor::{Array, Tensor};
use std::fmt;

/// Why [`gradcheck`] failed.
#[derive(Debug, Clone, PartialEq)]
pub enum GradcheckError {
    /// The analytic and numeric gradients of one input element disagree.
    Mismatch {
        /// Index of the input in the slice passed to [`gradcheck`].
        input: usize,
        /// Flat index of the element within that input.
        element: usize,
        /// The gradient autograd computed.
        analytic: f64,
        /// The central-difference estimate.
        numeric: f64,
    },
    /// A NaN or an infinity appeared, where no comparison can pass.
    NonFinite {
        /// Where gradcheck saw it: `"f(inputs)"`, `"the analytic gradient of input 0 element 2"`,
        /// `"f(inputs) with input 1 element 3 moved by +eps"`.
        at: String,
        /// The op that produced the first non-finite value and in which pass, as anomaly
        /// detection names it (`"LogBackward0 produced NaN in its forward output (element 0
        /// of shape [3])"`); `None` unless [`set_anomaly_detection`](crate::set_anomaly_detection)
        /// is on.
        op: Option<String>,
    },
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GradcheckError::Mismatch {
                input,
                element,
                analytic,
                numeric,
            } => write!(
                f,
                "gradcheck: input {input} element {element}: analytic {analytic} vs numeric {numeric}"
            ),
            GradcheckError::NonFinite { at, op: Some(op) } => {
                write!(f, "gradcheck: non-finite value in {at}; anomaly detected: {op}")
            }
            GradcheckError::NonFinite { at, op: None } => write!(
                f,
                "gradcheck: non-finite value in {at} (turn on backprop::set_anomaly_detection(true) to name the op that produced it)"
            ),
        }
    }
}

impl std::error::Error for GradcheckError {}

/// Checks autograd's gradients of `f` at `inputs` against central differences.
///
/// `f` maps the inputs to any tensor; the check differentiates the weighted sum
/// `Σ f(inputs) · w` with fixed pseudo-random weights `w`, so every output element counts.
/// Differences use step `eps` and are accumulated in `f64`; an element passes when
/// `|analytic − numeric| ≤ atol + rtol·|numeric|`. Inputs that do not require grad are skipped.
///
/// A NaN or an infinity in `f`'s output, in an analytic gradient or in a finite-difference
/// evaluation fails the check ([`GradcheckError::NonFinite`]). With
/// [`set_anomaly_detection`](crate::set_anomaly_detection) on, the error names the op that
/// produced the first non-finite value (also one hidden inside `f` whose output is finite)
/// instead of panicking, as anomaly detection otherwise does.
///
/// # Examples
/// ```
/// use backprop::{autograd::gradcheck, Tensor};
/// let x = Tensor::from_slice(&[0.3, -1.2, 2.0], &[3]).set_requires_grad(true);
/// gradcheck(|t| t[0].tanh(), &[x], 1e-3, 1e-2, 1e-3).unwrap();
/// ```
///
/// # Errors
/// [`GradcheckError::Mismatch`] for the first element where the two gradients disagree;
/// [`GradcheckError::NonFinite`] for the first non-finite value.
pub fn gradcheck(
    f: impl Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
    eps: f32,
    rtol: f64,
    atol: f64,
) -> Result<(), GradcheckError> {
    let non_finite = |at: String, op: Option<String>| GradcheckError::NonFinite { at, op };
    for t in inputs {
        t.zero_grad();
    }
    let ((out, weights), op) = record_anomalies(|| {
        let out = f(inputs);
        let n = out.numel();
        // Weights in (0.5, 1.5) that differ per element, so a wrong index mapping is caught.
        let weights: Vec<f32> = (0..n)
            .map(|i| 0.5 + ((i * 7919) % 101) as f32 / 100.0)
            .collect();
        if out.requires_grad() {
            let w = Tensor::from_vec(weights.clone(), &out.shape());
            (&out * &w).sum().backward();
        }
        (out, weights)
    });
    if let Some(i) = out.to_vec().iter().position(|v| !v.is_finite()) {
        return Err(non_finite(format!("f(inputs) (output element {i})"), op));
    }
    let objective = |inputs: &[Tensor]| -> (f64, Option<String>) {
        let (out, op) = record_anomalies(|| crate::no_grad(|| f(inputs)));
        let a = out.array();
        let sum = a
            .data()
            .iter()
            .zip(&weights)
            .map(|(&o, &w)| o as f64 * w as f64)
            .sum();
        (sum, op)
    };
    let mut analytic_all = Vec::with_capacity(inputs.len());
    for (i, t) in inputs.iter().enumerate() {
        if !t.requires_grad() {
            analytic_all.push(Vec::new());
            continue;
        }
        let analytic = t
            .grad()
            .map(|g| g.to_vec())
            .unwrap_or_else(|| vec![0.0; t.numel()]);
        if let Some(e) = analytic.iter().position(|v| !v.is_finite()) {
            return Err(non_finite(
                format!("the analytic gradient of input {i} element {e}"),
                op,
            ));
        }
        analytic_all.push(analytic);
    }
    // A non-finite value inside `f` or its backward that left the results finite (an overflow
    // later divided away) still fails when anomaly detection is on, as it would panic there.
    if let Some(op) = op {
        return Err(non_finite("f(inputs) or its backward".into(), Some(op)));
    }
    for (i, (t, analytic)) in inputs.iter().zip(&analytic_all).enumerate() {
        for (e, &a) in analytic.iter().enumerate() {
            let orig = t.array().data()[e];
            let at = |sign: f32| -> Result<f64, GradcheckError> {
                set(t, e, orig + sign * eps);
                let (v, op) = objective(inputs);
                set(t, e, orig);
                if !v.is_finite() || op.is_some() {
                    let s = if sign > 0.0 { '+' } else { '-' };
                    return Err(non_finite(
                        format!("f(inputs) with input {i} element {e} moved by {s}eps"),
                        op,
                    ));
                }
                Ok(v)
            };
            let plus = at(1.0)?;
            let minus = at(-1.0)?;
            let numeric = (plus - minus) / (2.0 * eps as f64);
            let a = a as f64;
            if (a - numeric).abs() > atol + rtol * numeric.abs() {
                return Err(GradcheckError::Mismatch {
                    input: i,
                    element: e,
                    analytic: a,
                    numeric,
                });
            }
        }
    }
    Ok(())
}

fn set(t: &Tensor, e: usize, v: f32) {
    let mut a = t.array_mut();
    let a: &mut Array = &mut a;
    a.data_mut()[e] = v;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_names_input_and_element() {
        /// y = 2x with a backward claiming dy/dx = 3 for element 1.
        struct Wrong;
        impl crate::autograd::Backward for Wrong {
            fn name(&self) -> &'static str {
                "WrongBackward"
            }
            fn backward(&self, _: &[Tensor], _: &Array, g: &Array) -> Vec<Option<Array>> {
                let mut d = g.map(|v| 2.0 * v);
                d.data_mut()[1] *= 1.5;
                vec![Some(d)]
            }
        }
        let x = Tensor::from_slice(&[0.5, 1.0, -2.0], &[3]).set_requires_grad(true);
        let e = gradcheck(
            |t| Tensor::from_op(t[0].array().map(|v| 2.0 * v), &[&t[0]], Wrong),
            &[x],
            1e-3,
            1e-2,
            1e-3,
        )
        .unwrap_err();
        let GradcheckError::Mismatch {
            input,
            element,
            analytic,
            numeric,
        } = e
        else {
            panic!("{e}")
        };
        assert_eq!((input, element), (0, 1));
        assert!(
            (analytic / numeric - 1.5).abs() < 1e-2,
            "{analytic} {numeric}"
        );
    }

    // Without anomaly detection (it is global, so tests/anomaly.rs covers it being on): a NaN
    // used to compare as "not greater than the tolerance" and pass.
    #[test]
    fn non_finite_values_fail_instead_of_passing() {
        // Output NaN at the point itself.
        let x = Tensor::from_slice(&[-1.0, 2.0], &[2]).set_requires_grad(true);
        let e = gradcheck(|t| t[0].log(), &[x], 1e-3, 1e-2, 1e-3).unwrap_err();
        assert_eq!(
            e,
            GradcheckError::NonFinite {
                at: "f(inputs) (output element 0)".into(),
                op: None
            }
        );
        assert!(e.to_string().contains("set_anomaly_detection(true)"), "{e}");
        // A finite output whose analytic gradient is infinite: sqrt at 0.
        let x = Tensor::from_slice(&[4.0, 0.0], &[2]).set_requires_grad(true);
        let e = gradcheck(|t| t[0].sqrt(), &[x], 1e-3, 1e-2, 1e-3).unwrap_err();
        assert_eq!(e.to_string(), "gradcheck: non-finite value in the analytic gradient of input 0 element 1 (turn on backprop::set_anomaly_detection(true) to name the op that produced it)");
        // Finite at the point, NaN one step away: log at 1e-4 with eps 1e-3.
        let x = Tensor::from_slice(&[1e-4], &[1]).set_requires_grad(true);
        let e = gradcheck(|t| t[0].log(), &[x], 1e-3, 1e-2, 1e-3).unwrap_err();
        assert!(
            e.to_string()
                .contains("f(inputs) with input 0 element 0 moved by -eps"),
            "{e}"
        );
    }
}
