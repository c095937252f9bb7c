//! Activation functions: `sigmoid tanh relu leaky_relu gelu elu silu`, each stable for large |x|.

use crate::autograd::Backward;
use crate::tensor::{Array, Tensor};
use crate::{BinaryOp, UnaryOp};

/// `1/(1+e⁻ˣ)` without overflow: for negative x it is computed as `eˣ/(1+eˣ)`.
pub(crate) fn sigmoid_f32(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `log σ(x) = min(x, 0) − log(1 + e^(−|x|))`, finite for every finite x.
pub(crate) fn log_sigmoid(x: f32) -> f32 {
    x.min(0.0) - (-x.abs()).exp().ln_1p()
}

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// 1/√(2π)
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

pub(crate) fn gelu_f32(x: f32) -> f32 {
    let x = x as f64;
    (0.5 * x * (1.0 + libm::erf(x * FRAC_1_SQRT_2))) as f32
}

pub(crate) fn gelu_grad(x: f32) -> f32 {
    let x = x as f64;
    let cdf = 0.5 * (1.0 + libm::erf(x * FRAC_1_SQRT_2));
    let pdf = FRAC_1_SQRT_2PI * (-0.5 * x * x).exp();
    (cdf + x * pdf) as f32
}

impl Tensor {
    /// The logistic function `1/(1+e⁻ˣ)` elementwise, as `torch.sigmoid`.
    pub fn sigmoid(&self) -> Tensor {
        Tensor::from_op(
            self.array().unary(UnaryOp::Sigmoid),
            &[self],
            SigmoidBackward,
        )
    }

    /// Hyperbolic tangent elementwise, as `torch.tanh`.
    pub fn tanh(&self) -> Tensor {
        Tensor::from_op(self.array().unary(UnaryOp::Tanh), &[self], TanhBackward)
    }

    /// `max(x, 0)` elementwise, as `torch.relu`.
    pub fn relu(&self) -> Tensor {
        Tensor::from_op(
            // As PyTorch (`clamp_min(x, 0)`): NaN stays NaN and −0 stays −0.
            self.array().unary(UnaryOp::Relu),
            &[self],
            ReluBackward,
        )
    }

    /// `x` for `x > 0`, else `negative_slope·x`, as `F.leaky_relu` (PyTorch's default slope is 0.01).
    pub fn leaky_relu(&self, negative_slope: f32) -> Tensor {
        let s = negative_slope;
        Tensor::from_op(
            self.array().unary(UnaryOp::LeakyRelu { slope: s }),
            &[self],
            LeakyReluBackward(s),
        )
    }

    /// GELU in its exact form `x·Φ(x) = x/2·(1 + erf(x/√2))`, as `F.gelu` (approximate='none').
    pub fn gelu(&self) -> Tensor {
        Tensor::from_op(self.array().unary(UnaryOp::Gelu), &[self], GeluBackward)
    }

    /// `x` for `x > 0`, else `alpha·(eˣ − 1)`, as `F.elu` (PyTorch's default alpha is 1).
    pub fn elu(&self, alpha: f32) -> Tensor {
        let a = alpha;
        Tensor::from_op(
            self.array().unary(UnaryOp::Elu { alpha: a }),
            &[self],
            EluBackward(a),
        )
    }

    /// `x·sigmoid(x)` elementwise (swish), as `F.silu`.
    pub fn silu(&self) -> Tensor {
        Tensor::from_op(self.array().unary(UnaryOp::Silu), &[self], SiluBackward)
    }
}

/// dσ/dx = σ(1 − σ) = out·(1 − out).
struct SigmoidBackward;
impl Backward for SigmoidBackward {
    fn name(&self) -> &'static str {
        "SigmoidBackward0"
    }
    fn backward(&self, _: &[Tensor], out: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.binary(
            out,
            BinaryOp::SigmoidGrad,
            "sigmoid_backward",
        ))]
    }
}

/// d tanh/dx = 1 − tanh² = 1 − out².
struct TanhBackward;
impl Backward for TanhBackward {
    fn name(&self) -> &'static str {
        "TanhBackward0"
    }
    fn backward(&self, _: &[Tensor], out: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.binary(out, BinaryOp::TanhGrad, "tanh_backward"))]
    }
}

/// d relu/dx = 1 where x > 0, else 0 (PyTorch also gives 0 at exactly 0).
struct ReluBackward;
impl Backward for ReluBackward {
    fn name(&self) -> &'static str {
        "ReluBackward0"
    }
    fn backward(&self, _: &[Tensor], out: &Array, grad: &Array) -> Vec<Option<Array>> {
        // As PyTorch's `threshold_backward(grad, out, 0)`: zero where out <= 0 (exactly where
        // x <= 0), so the input need not be read; a NaN passes its gradient through.
        vec![Some(grad.binary(out, BinaryOp::ReluGrad, "relu_backward"))]
    }
}

/// d/dx = 1 where x > 0, else the slope (also at exactly 0, as PyTorch).
struct LeakyReluBackward(f32);
impl Backward for LeakyReluBackward {
    fn name(&self) -> &'static str {
        "LeakyReluBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let op = BinaryOp::LeakyReluGrad { slope: self.0 };
        vec![Some(grad.binary(
            &inputs[0].array(),
            op,
            "leaky_relu_backward",
        ))]
    }
}

/// d gelu/dx = Φ(x) + x·φ(x).
struct GeluBackward;
impl Backward for GeluBackward {
    fn name(&self) -> &'static str {
        "GeluBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.binary(
            &inputs[0].array(),
            BinaryOp::GeluGrad,
            "gelu_backward",
        ))]
    }
}

/// d elu/dx = 1 where x > 0, else alpha·eˣ (alpha at exactly 0, as PyTorch).
struct EluBackward(f32);
impl Backward for EluBackward {
    fn name(&self) -> &'static str {
        "EluBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        // As PyTorch's elu_backward: the exponential branch where x <= 0, else the gradient
        // passes (so a NaN input passes its gradient, as there).
        let op = BinaryOp::EluGrad { alpha: self.0 };
        vec![Some(grad.binary(&inputs[0].array(), op, "elu_backward"))]
    }
}

/// d(x·σ(x))/dx = σ(x)·(1 + x·(1 − σ(x))).
struct SiluBackward;
impl Backward for SiluBackward {
    fn name(&self) -> &'static str {
        "SiluBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.binary(
            &inputs[0].array(),
            BinaryOp::SiluGrad,
            "silu_backward",
        ))]
    }
}

#[cfg(test)]
mod tests {

    /// `torch.relu` on special values, and its gradient (PyTorch 2.15).
    #[test]
    fn relu_keeps_nan_and_negative_zero_as_pytorch() {
        let x = Tensor::from_slice(
            &[
                f32::NAN,
                -0.0,
                0.0,
                -1.0,
                2.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
            ],
            &[7],
        )
        .set_requires_grad(true);
        let y = x.relu();
        let got: Vec<u32> = y.to_vec().iter().map(|v| v.to_bits()).collect();
        let want: Vec<u32> = [f32::NAN, -0.0, 0.0, 0.0, 2.0, f32::INFINITY, 0.0]
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(got, want);
        y.backward_with(crate::Array::full(&[7], 1.0), false);
        assert_eq!(x.grad().unwrap().to_vec(), vec![1., 0., 0., 0., 1., 1., 0.]);
    }
    use crate::testing::{check_grad, randn};
    use crate::Tensor;

    fn away_from_zero() -> Tensor {
        Tensor::from_slice(&[-3.0, -1.2, -0.4, 0.3, 0.9, 2.5], &[2, 3]).set_requires_grad(true)
    }

    #[test]
    fn activations_gradcheck() {
        let x = randn(&[3, 4]);
        check_grad(|t| t[0].sigmoid(), &[x.clone()]);
        check_grad(|t| t[0].tanh(), &[x.clone()]);
        check_grad(|t| t[0].gelu(), &[x.clone()]);
        check_grad(|t| t[0].silu(), &[x]);
        let k = away_from_zero();
        check_grad(|t| t[0].relu(), &[k.clone()]);
        check_grad(|t| t[0].leaky_relu(0.1), &[k.clone()]);
        check_grad(|t| t[0].elu(1.5), &[k]);
    }

    #[test]
    fn kinks_at_zero_take_pytorchs_values() {
        let x = Tensor::from_slice(&[0.0], &[1]).set_requires_grad(true);
        x.relu().sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.0]);
        x.zero_grad();
        x.leaky_relu(0.1).sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.1]);
        x.zero_grad();
        x.elu(2.0).sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![2.0]);
    }

    #[test]
    fn stable_for_large_inputs() {
        let x = Tensor::from_slice(&[-1000.0, -100.0, 100.0, 1000.0], &[4]);
        let s = x.sigmoid().to_vec();
        assert!(
            s[0] == 0.0 && s[1] < 1e-40 && s[2] == 1.0 && s[3] == 1.0,
            "{s:?}"
        );
        assert_eq!(x.tanh().to_vec(), vec![-1.0, -1.0, 1.0, 1.0]);
        let s = x.silu().to_vec();
        assert!(
            s[0] == 0.0 && s[1].abs() < 1e-40 && s[2] == 100.0 && s[3] == 1000.0,
            "{s:?}"
        );
        assert_eq!(x.gelu().to_vec(), vec![-0.0, -0.0, 100.0, 1000.0]);
        assert_eq!(x.elu(1.0).to_vec(), vec![-1.0, -1.0, 100.0, 1000.0]);
        for v in x.set_requires_grad(true).sigmoid().to_vec() {
            assert!(v.is_finite());
        }
    }

    #[test]
    fn known_values() {
        // gelu(1) = 0.5·(1 + erf(1/√2)) = 0.8413447
        let g = Tensor::from_slice(&[1.0], &[1]).gelu().item();
        assert!((g - 0.841_344_7).abs() < 1e-6);
        let s = Tensor::from_slice(&[0.0], &[1]).sigmoid().item();
        assert_eq!(s, 0.5);
    }
}
