//! Elementwise arithmetic: `add sub mul div` with broadcasting and with scalars, `neg pow exp
//! log sqrt abs clamp`, and the `+ - * /` operators.

use crate::autograd::Backward;
use crate::tensor::{Array, Tensor};
use crate::{BinaryOp, UnaryOp};
use std::ops::{Add, Div, Mul, Neg, Sub};

impl Tensor {
    /// `self + other` with broadcasting, as `torch.add`.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn add(&self, other: &Tensor) -> Tensor {
        let out = self.array().binary(&other.array(), BinaryOp::Add, "add");
        Tensor::from_op(out, &[self, other], AddBackward)
    }

    /// `self - other` with broadcasting, as `torch.sub`.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn sub(&self, other: &Tensor) -> Tensor {
        let out = self.array().binary(&other.array(), BinaryOp::Sub, "sub");
        Tensor::from_op(out, &[self, other], SubBackward)
    }

    /// `self * other` elementwise with broadcasting, as `torch.mul`.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn mul(&self, other: &Tensor) -> Tensor {
        let out = self.array().binary(&other.array(), BinaryOp::Mul, "mul");
        Tensor::from_op(out, &[self, other], MulBackward)
    }

    /// `self / other` elementwise with broadcasting, as `torch.div`.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn div(&self, other: &Tensor) -> Tensor {
        let out = self.array().binary(&other.array(), BinaryOp::Div, "div");
        Tensor::from_op(out, &[self, other], DivBackward)
    }

    /// `self + s` for a scalar `s`.
    pub fn add_scalar(&self, s: f32) -> Tensor {
        Tensor::from_op(
            self.array().unary(UnaryOp::AddScalar { s }),
            &[self],
            AddScalarBackward,
        )
    }

    /// `self * s` for a scalar `s`.
    pub fn mul_scalar(&self, s: f32) -> Tensor {
        Tensor::from_op(
            self.array().unary(UnaryOp::MulScalar { s }),
            &[self],
            MulScalarBackward(s),
        )
    }

    /// `s / self` for a scalar `s` (`s · self⁻¹`).
    pub fn rdiv_scalar(&self, s: f32) -> Tensor {
        Tensor::from_op(
            self.array().unary(UnaryOp::RdivScalar { s }),
            &[self],
            RdivScalarBackward,
        )
    }

    /// `-self`, as `torch.neg`.
    pub fn neg(&self) -> Tensor {
        self.mul_scalar(-1.0)
    }

    /// `self ^ exponent` elementwise, as `torch.pow` with a scalar exponent (including its
    /// special cases: `0.5` is `sqrt`, so `(−0)^0.5 = −0` and `(−∞)^0.5` is NaN; `2`, `3`,
    /// `−0.5`, `−1` and `−2` are written out as products and quotients; other exponents use
    /// `powf`).
    pub fn pow(&self, exponent: f32) -> Tensor {
        let out = self.array().map(|v| powf(v, exponent));
        Tensor::from_op(out, &[self], PowBackward(exponent))
    }

    /// `eˣ` elementwise, as `torch.exp`.
    pub fn exp(&self) -> Tensor {
        Tensor::from_op(self.array().unary(UnaryOp::Exp), &[self], ExpBackward)
    }

    /// Natural logarithm elementwise, as `torch.log`.
    pub fn log(&self) -> Tensor {
        Tensor::from_op(self.array().unary(UnaryOp::Log), &[self], LogBackward)
    }

    /// Square root elementwise, as `torch.sqrt`.
    pub fn sqrt(&self) -> Tensor {
        Tensor::from_op(self.array().unary(UnaryOp::Sqrt), &[self], SqrtBackward)
    }

    /// Absolute value elementwise, as `torch.abs`.
    pub fn abs(&self) -> Tensor {
        Tensor::from_op(self.array().unary(UnaryOp::Abs), &[self], AbsBackward)
    }

    /// Limits every element to `[min, max]` (either bound optional), as `torch.clamp`.
    ///
    /// Like PyTorch, a NaN stays NaN and, when `min > max`, every element becomes `max`.
    pub fn clamp(&self, min: Option<f32>, max: Option<f32>) -> Tensor {
        let (lo, hi) = (
            min.unwrap_or(f32::NEG_INFINITY),
            max.unwrap_or(f32::INFINITY),
        );
        let out = self.array().unary(UnaryOp::Clamp { lo, hi });
        Tensor::from_op(out, &[self], ClampBackward(lo, hi))
    }
}

/// d(a+b)/da = 1, d(a+b)/db = 1 (the walk sums broadcast dims away).
struct AddBackward;
impl Backward for AddBackward {
    fn name(&self) -> &'static str {
        "AddBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let need = |i: usize| inputs[i].requires_grad().then(|| grad.clone());
        vec![need(0), need(1)]
    }
}

/// d(a-b)/da = 1, d(a-b)/db = -1.
struct SubBackward;
impl Backward for SubBackward {
    fn name(&self) -> &'static str {
        "SubBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![
            inputs[0].requires_grad().then(|| grad.clone()),
            inputs[1].requires_grad().then(|| grad.unary(UnaryOp::Neg)),
        ]
    }
}

/// d(a·b)/da = b, d(a·b)/db = a.
struct MulBackward;
impl Backward for MulBackward {
    fn name(&self) -> &'static str {
        "MulBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let (a, b) = (inputs[0].array(), inputs[1].array());
        vec![
            inputs[0]
                .requires_grad()
                .then(|| grad.binary(&b, BinaryOp::Mul, "mul")),
            inputs[1]
                .requires_grad()
                .then(|| grad.binary(&a, BinaryOp::Mul, "mul")),
        ]
    }
}

/// d(a/b)/da = 1/b, d(a/b)/db = -a/b².
struct DivBackward;
impl Backward for DivBackward {
    fn name(&self) -> &'static str {
        "DivBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let (a, b) = (inputs[0].array(), inputs[1].array());
        let ga = inputs[0]
            .requires_grad()
            .then(|| grad.binary(&b, BinaryOp::Div, "div"));
        let gb = inputs[1].requires_grad().then(|| {
            // -g·a/b² computed as -(g/b)·(a/b) to stay finite for small b, as PyTorch does.
            let g_over_b = grad.binary(&b, BinaryOp::Div, "div");
            let a_over_b = a.binary(&b, BinaryOp::Div, "div");
            g_over_b.binary(&a_over_b, BinaryOp::NegMul, "div")
        });
        vec![ga, gb]
    }
}

/// d(x+s)/dx = 1.
struct AddScalarBackward;
impl Backward for AddScalarBackward {
    fn name(&self) -> &'static str {
        "AddBackward1"
    }
    fn backward(&self, _: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.clone())]
    }
}

/// d(x·s)/dx = s.
struct MulScalarBackward(f32);
impl Backward for MulScalarBackward {
    fn name(&self) -> &'static str {
        "MulBackward1"
    }
    fn backward(&self, _: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let s = self.0;
        vec![Some(grad.unary(UnaryOp::MulScalar { s }))]
    }
}

/// d(s/x)/dx = -s/x² = -out/x.
struct RdivScalarBackward;
impl Backward for RdivScalarBackward {
    fn name(&self) -> &'static str {
        "DivBackward1"
    }
    fn backward(&self, inputs: &[Tensor], out: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(
            grad.zip3_map(out, &inputs[0].array(), |g, o, x| -g * o / x),
        )]
    }
}

/// d(xᵖ)/dx = p·xᵖ⁻¹ (0 where p = 0, as PyTorch).
/// `x^e` as PyTorch computes a tensor to a scalar power on the CPU: the exponents `0.5`,
/// `2`, `3`, `−0.5`, `−1` and `−2` are `sqrt(x)`, `x·x`, `x·x·x`, `1/sqrt(x)`, `1/x` and
/// `1/(x·x)` (rounded as written, which can differ from `powf` in the last bit and on special
/// values), every other exponent is `powf`.
fn powf(x: f32, e: f32) -> f32 {
    if e == 0.5 {
        x.sqrt()
    } else if e == 2.0 {
        x * x
    } else if e == 3.0 {
        x * x * x
    } else if e == -0.5 {
        1.0 / x.sqrt()
    } else if e == -1.0 {
        1.0 / x
    } else if e == -2.0 {
        1.0 / (x * x)
    } else {
        x.powf(e)
    }
}

struct PowBackward(f32);
impl Backward for PowBackward {
    fn name(&self) -> &'static str {
        "PowBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let p = self.0;
        // PyTorch: grad · (p · x^(p−1)), with its own pow for x^(p−1).
        let g = if p == 0.0 {
            Array::zeros(grad.shape())
        } else {
            grad.zip_map(&inputs[0].array(), |g, x| g * (p * powf(x, p - 1.0)))
        };
        vec![Some(g)]
    }
}

/// d(eˣ)/dx = eˣ = out.
struct ExpBackward;
impl Backward for ExpBackward {
    fn name(&self) -> &'static str {
        "ExpBackward0"
    }
    fn backward(&self, _: &[Tensor], out: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.binary(out, BinaryOp::Mul, "exp_backward"))]
    }
}

/// d(ln x)/dx = 1/x.
struct LogBackward;
impl Backward for LogBackward {
    fn name(&self) -> &'static str {
        "LogBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.binary(
            &inputs[0].array(),
            BinaryOp::Div,
            "log_backward",
        ))]
    }
}

/// d(√x)/dx = 1/(2√x) = 1/(2·out).
struct SqrtBackward;
impl Backward for SqrtBackward {
    fn name(&self) -> &'static str {
        "SqrtBackward0"
    }
    fn backward(&self, _: &[Tensor], out: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.binary(out, BinaryOp::SqrtGrad, "sqrt_backward"))]
    }
}

/// d|x|/dx = sign(x), 0 at x = 0 (as PyTorch).
struct AbsBackward;
impl Backward for AbsBackward {
    fn name(&self) -> &'static str {
        "AbsBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        vec![Some(grad.binary(
            &inputs[0].array(),
            BinaryOp::AbsGrad,
            "abs_backward",
        ))]
    }
}

/// d clamp(x)/dx = 1 where min ≤ x ≤ max (bounds included, as PyTorch), else 0.
struct ClampBackward(f32, f32);
impl Backward for ClampBackward {
    fn name(&self) -> &'static str {
        "ClampBackward1"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let op = BinaryOp::ClampGrad {
            lo: self.0,
            hi: self.1,
        };
        vec![Some(grad.binary(&inputs[0].array(), op, "clamp_backward"))]
    }
}

// Operators: `&a + &b`, `a + b`, `&a * 2.0`, `2.0 * &a`, `-&a`, for owned and borrowed tensors.
macro_rules! binary_operator {
    ($trait:ident, $method:ident, $tensor_fn:ident, $scalar:expr, $rscalar:expr) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                Tensor::$tensor_fn(self, rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                Tensor::$tensor_fn(&self, &rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                Tensor::$tensor_fn(&self, rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                Tensor::$tensor_fn(self, &rhs)
            }
        }
        impl $trait<f32> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                let f: fn(&Tensor, f32) -> Tensor = $scalar;
                f(self, rhs)
            }
        }
        impl $trait<f32> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                let f: fn(&Tensor, f32) -> Tensor = $scalar;
                f(&self, rhs)
            }
        }
        impl $trait<&Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                let f: fn(f32, &Tensor) -> Tensor = $rscalar;
                f(self, rhs)
            }
        }
        impl $trait<Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                let f: fn(f32, &Tensor) -> Tensor = $rscalar;
                f(self, &rhs)
            }
        }
    };
}

binary_operator!(Add, add, add, |t, s| t.add_scalar(s), |s, t| t
    .add_scalar(s));
binary_operator!(Sub, sub, sub, |t, s| t.add_scalar(-s), |s, t| t
    .neg()
    .add_scalar(s));
binary_operator!(Mul, mul, mul, |t, s| t.mul_scalar(s), |s, t| t
    .mul_scalar(s));
binary_operator!(Div, div, div, |t, s| t.mul_scalar(1.0 / s), |s, t| t
    .rdiv_scalar(s));

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_grad, positive, randn};
    use crate::Tensor;

    #[test]
    fn broadcast_binary_ops_gradcheck() {
        let a = randn(&[3, 4]);
        let b = randn(&[4]);
        let c = positive(&[3, 1]);
        check_grad(|t| &t[0] + &t[1], &[a.clone(), b.clone()]);
        check_grad(|t| &t[0] - &t[1], &[a.clone(), b.clone()]);
        check_grad(|t| &t[0] * &t[1], &[a.clone(), b.clone()]);
        check_grad(|t| &t[0] / &t[1], &[a.clone(), c.clone()]);
        check_grad(|t| &t[1] / &t[0], &[c, a]);
    }

    #[test]
    fn scalar_ops_gradcheck() {
        let a = randn(&[2, 3]);
        check_grad(|t| &t[0] + 1.5, &[a.clone()]);
        check_grad(|t| 2.0 - &t[0], &[a.clone()]);
        check_grad(|t| &t[0] * -3.0, &[a.clone()]);
        check_grad(|t| &t[0] / 4.0, &[a.clone()]);
        check_grad(|t| -&t[0], &[a]);
        check_grad(|t| 2.0 / &t[0], &[positive(&[5])]);
    }

    #[test]
    fn unary_ops_gradcheck() {
        let p = positive(&[2, 3]);
        check_grad(|t| t[0].exp(), &[randn(&[4])]);
        check_grad(|t| t[0].log(), &[p.clone()]);
        check_grad(|t| t[0].sqrt(), &[p.clone()]);
        check_grad(|t| t[0].pow(3.0), &[randn(&[4])]);
        check_grad(|t| t[0].pow(2.0), &[randn(&[4])]);
        check_grad(|t| t[0].pow(-0.5), &[p]);
        // Away from the kinks at 0 and at the bounds.
        let x = Tensor::from_slice(&[-2.0, -0.7, 0.4, 1.3, 2.5], &[5]).set_requires_grad(true);
        check_grad(|t| t[0].abs(), &[x.clone()]);
        check_grad(|t| t[0].clamp(Some(-1.0), Some(1.0)), &[x]);
    }

    #[test]
    fn kinks_take_pytorchs_values() {
        // d|x|/dx at 0 is 0; clamp passes the gradient at its bounds.
        let x = Tensor::from_slice(&[0.0, -1.0, 1.0], &[3]).set_requires_grad(true);
        x.abs().sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, -1.0, 1.0]);
        x.zero_grad();
        x.clamp(Some(-1.0), Some(1.0)).sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 1.0, 1.0]);
        x.zero_grad();
        x.pow(0.0).sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn forward_values() {
        let a = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = Tensor::from_slice(&[10.0, 20.0], &[2]);
        assert_eq!((&a + &b).to_vec(), vec![11.0, 22.0, 13.0, 24.0]);
        assert_eq!((&a * 2.0).to_vec(), vec![2.0, 4.0, 6.0, 8.0]);
        assert_eq!((1.0 - &a).to_vec(), vec![0.0, -1.0, -2.0, -3.0]);
        let c = Tensor::from_slice(&[-5.0, f32::NAN, 5.0], &[3])
            .clamp(Some(-1.0), Some(1.0))
            .to_vec();
        assert_eq!((c[0], c[2]), (-1.0, 1.0));
        assert!(c[1].is_nan());
    }

    #[test]
    #[should_panic(expected = "mul: shapes [2, 3] and [4] cannot be broadcast together")]
    fn shape_mismatch_names_the_op_and_shapes() {
        let _ = &Tensor::zeros(&[2, 3]) * &Tensor::zeros(&[4]);
    }
}
