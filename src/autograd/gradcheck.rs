//! Finite-difference gradient checking, as `torch.autograd.gradcheck`.

use crate::tensor::{Array, Tensor};
use std::fmt;

/// Where analytic and numeric gradients disagree.
#[derive(Debug, Clone)]
pub struct GradcheckError {
    /// Index of the input in the slice passed to [`gradcheck`].
    pub input: usize,
    /// Flat index of the element within that input.
    pub element: usize,
    /// The gradient autograd computed.
    pub analytic: f64,
    /// The central-difference estimate.
    pub numeric: f64,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradcheck: input {} element {}: analytic {} vs numeric {}",
            self.input, self.element, self.analytic, self.numeric
        )
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
/// # Examples
/// ```
/// use backprop::{autograd::gradcheck, Tensor};
/// let x = Tensor::from_slice(&[0.3, -1.2, 2.0], &[3]).set_requires_grad(true);
/// gradcheck(|t| t[0].tanh(), &[x], 1e-3, 1e-2, 1e-3).unwrap();
/// ```
///
/// # Errors
/// Returns the first element where the two disagree.
pub fn gradcheck(
    f: impl Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
    eps: f32,
    rtol: f64,
    atol: f64,
) -> Result<(), GradcheckError> {
    let out = f(inputs);
    let n = out.numel();
    // Weights in (0.5, 1.5) that differ per element, so a wrong index mapping is caught.
    let weights: Vec<f32> = (0..n)
        .map(|i| 0.5 + ((i * 7919) % 101) as f32 / 100.0)
        .collect();
    let w = Tensor::from_vec(weights.clone(), &out.shape());
    for t in inputs {
        t.zero_grad();
    }
    (&out * &w).sum().backward();
    let objective = |inputs: &[Tensor]| -> f64 {
        let out = crate::no_grad(|| f(inputs));
        let a = out.array();
        a.data()
            .iter()
            .zip(&weights)
            .map(|(&o, &w)| o as f64 * w as f64)
            .sum()
    };
    for (i, t) in inputs.iter().enumerate() {
        if !t.requires_grad() {
            continue;
        }
        let analytic = t
            .grad()
            .map(|g| g.to_vec())
            .unwrap_or_else(|| vec![0.0; t.numel()]);
        for (e, &a) in analytic.iter().enumerate() {
            let orig = t.array().data()[e];
            set(t, e, orig + eps);
            let plus = objective(inputs);
            set(t, e, orig - eps);
            let minus = objective(inputs);
            set(t, e, orig);
            let numeric = (plus - minus) / (2.0 * eps as f64);
            let a = a as f64;
            if (a - numeric).abs() > atol + rtol * numeric.abs() {
                return Err(GradcheckError {
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
