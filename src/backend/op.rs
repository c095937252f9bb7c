//! Named elementwise ops: each variant's CPU function and its CUDA expression side by side.
//!
//! A CUDA expression reads `x` (unary) or `a`, `b` (binary) and the op's parameters as `p0`,
//! `p1`; the kernels are generated from these strings (`cuda/kernels.rs`) and compiled at run
//! time by NVRTC. The CPU closures are exactly the loops the ops ran before they were named, so
//! CPU results are unchanged bit for bit.

use crate::ops::sigmoid_f32;
use crate::tensor::{relu_f32, Array};

macro_rules! unary_ops {
    ($($(#[doc = $doc:literal])* $v:ident $({ $($p:ident),* })? : |$x:ident| $cpu:expr, $cuda:literal;)*) => {
        /// An elementwise function of one array, by name (see [`Array::unary`]).
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum UnaryOp {
            $($(#[doc = $doc])* $v $({ $(#[allow(missing_docs)] $p: f32),* })?,)*
        }

        impl UnaryOp {
            /// Runs the op on a CPU array (large arrays split across the threads).
            #[track_caller]
            pub(crate) fn cpu(self, a: &Array) -> Array {
                match self {
                    $(UnaryOp::$v $({ $($p),* })? => a.par_map(#[inline(always)] move |$x: f32| $cpu),)*
                }
            }

            /// The kernel's name, its CUDA expression and its parameters.
            #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
            pub(crate) fn cuda(self) -> (&'static str, &'static str, [f32; 2]) {
                match self {
                    $(UnaryOp::$v $({ $($p),* })? => {
                        let given: &[f32] = &[$($($p),*)?];
                        let mut p = [0.0; 2];
                        p[..given.len()].copy_from_slice(given);
                        (concat!("u_", stringify!($v)), $cuda, p)
                    })*
                }
            }

            /// Every op once, with placeholder parameters (to generate the kernels).
            #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
            pub(crate) fn all() -> Vec<UnaryOp> {
                vec![$(UnaryOp::$v $({ $($p: 0.0),* })?,)*]
            }
        }
    };
}

macro_rules! binary_ops {
    ($($(#[doc = $doc:literal])* $v:ident $({ $($p:ident),* })? : |$a:ident, $b:ident| $cpu:expr, $cuda:literal;)*) => {
        /// An elementwise function of two arrays under broadcasting, by name (see
        /// [`Array::binary`]).
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum BinaryOp {
            $($(#[doc = $doc])* $v $({ $(#[allow(missing_docs)] $p: f32),* })?,)*
        }

        impl BinaryOp {
            /// Runs the op on CPU arrays; `name` names the caller in a broadcasting panic.
            #[track_caller]
            pub(crate) fn cpu(self, a: &Array, b: &Array, name: &str) -> Array {
                match self {
                    $(BinaryOp::$v $({ $($p),* })? => {
                        if a.shape() == b.shape() {
                            a.par_zip_map(b, #[inline(always)] move |$a: f32, $b: f32| $cpu)
                        } else {
                            a.broadcast_zip(b, name, #[inline(always)] move |$a: f32, $b: f32| $cpu)
                        }
                    })*
                }
            }

            /// The kernel's name, its CUDA expression and its parameters.
            #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
            pub(crate) fn cuda(self) -> (&'static str, &'static str, [f32; 2]) {
                match self {
                    $(BinaryOp::$v $({ $($p),* })? => {
                        let given: &[f32] = &[$($($p),*)?];
                        let mut p = [0.0; 2];
                        p[..given.len()].copy_from_slice(given);
                        (concat!("b_", stringify!($v)), $cuda, p)
                    })*
                }
            }

            /// Every op once, with placeholder parameters (to generate the kernels).
            #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
            pub(crate) fn all() -> Vec<BinaryOp> {
                vec![$(BinaryOp::$v $({ $($p: 0.0),* })?,)*]
            }
        }
    };
}

// CUDA helpers used below (`sigmoidf`, `gelu_exact`, `gelu_grad`) are defined in the kernels'
// prelude, written as the CPU functions are.
unary_ops! {
    /// `max(x, 0)`; NaN and −0 kept, as PyTorch.
    Relu: |x| relu_f32(x), "(x < 0.f ? 0.f : x)";
    /// The logistic function.
    Sigmoid: |x| sigmoid_f32(x), "sigmoidf(x)";
    /// Hyperbolic tangent.
    Tanh: |x| x.tanh(), "tanhf(x)";
    /// `x` for `x > 0`, else `slope·x`.
    LeakyRelu { slope }: |x| if x > 0.0 { x } else { x * slope }, "(x > 0.f ? x : x * p0)";
    /// Exact GELU, `x·Φ(x)`, computed in double precision.
    Gelu: |x| crate::ops::gelu_f32(x), "gelu_exact(x)";
    /// `x` for `x > 0`, else `alpha·(eˣ − 1)`.
    Elu { alpha }: |x| if x > 0.0 { x } else { alpha * x.exp_m1() }, "(x > 0.f ? x : p0 * expm1f(x))";
    /// `x·σ(x)`.
    Silu: |x| x * sigmoid_f32(x), "(x * sigmoidf(x))";
    /// `−x`.
    Neg: |x| -x, "(-x)";
    /// `x + s`.
    AddScalar { s }: |x| x + s, "(x + p0)";
    /// `x · s`.
    MulScalar { s }: |x| x * s, "(x * p0)";
    /// `x / s`.
    DivScalar { s }: |x| x / s, "(x / p0)";
    /// `s / x`.
    RdivScalar { s }: |x| s / x, "(p0 / x)";
    /// `min(max(x, lo), hi)` (PyTorch's order), NaN kept.
    Clamp { lo, hi }: |x| if x.is_nan() { x } else { x.max(lo).min(hi) }, "(isnan(x) ? x : fminf(fmaxf(x, p0), p1))";
    /// `eˣ`.
    Exp: |x| x.exp(), "expf(x)";
    /// Natural logarithm.
    Log: |x| x.ln(), "logf(x)";
    /// Square root.
    Sqrt: |x| x.sqrt(), "sqrtf(x)";
    /// Absolute value.
    Abs: |x| x.abs(), "fabsf(x)";
}

binary_ops! {
    /// `a + b`.
    Add: |a, b| a + b, "(a + b)";
    /// `a − b`.
    Sub: |a, b| a - b, "(a - b)";
    /// `a · b`.
    Mul: |a, b| a * b, "(a * b)";
    /// `a / b`.
    Div: |a, b| a / b, "(a / b)";
    /// `(a − b)²` (the squared error).
    SqDiff: |a, b| { let d = a - b; d * d }, "((a - b) * (a - b))";
    /// `b / s`, ignoring `a` (a gradient spread over a shape of `a`'s).
    SecondDiv { s }: |_a, b| b / s, "(b / p0)";
    /// `−a · b` (the last factor of a quotient's gradient).
    NegMul: |a, b| -a * b, "(-a * b)";
    /// Binary cross-entropy on a logit `a` with target `b`: `(1 − y)·x − log σ(x)`.
    BceLogits: |x, y| (1.0 - y) * x - crate::ops::log_sigmoid(x), "((1.f - b) * a - log_sigmoidf(a))";
    /// `σ(a) − b` (the logit's gradient of binary cross-entropy).
    SigmoidMinus: |x, y| sigmoid_f32(x) - y, "(sigmoidf(a) - b)";
    /// Sqrt's gradient from the output `o`: `g / (2o)`.
    SqrtGrad: |g, o| g / (2.0 * o), "(a / (2.f * b))";
    /// Abs's gradient from the input `x`: `g·sign(x)`, 0 at 0.
    AbsGrad: |g, x| if x > 0.0 { g } else if x < 0.0 { -g } else { 0.0 }, "(b > 0.f ? a : (b < 0.f ? -a : 0.f))";
    /// Clamp's gradient from the input `x`: `g` inside `[lo, hi]`, else 0.
    ClampGrad { lo, hi }: |g, x| if x >= lo && x <= hi { g } else { 0.0 }, "((b >= p0 && b <= p1) ? a : 0.f)";
    /// ReLU's gradient from the output: `a` (the gradient) where `b` (the output) `> 0`.
    ReluGrad: |g, o| if o <= 0.0 { 0.0 } else { g }, "(b <= 0.f ? 0.f : a)";
    /// Sigmoid's gradient from the output `s`: `g·s·(1 − s)`.
    SigmoidGrad: |g, s| g * s * (1.0 - s), "(a * b * (1.f - b))";
    /// Tanh's gradient from the output `t`: `g·(1 − t²)`.
    TanhGrad: |g, t| g * (1.0 - t * t), "(a * (1.f - b * b))";
    /// Leaky ReLU's gradient from the input `x`.
    LeakyReluGrad { slope }: |g, x| if x > 0.0 { g } else { g * slope }, "(b > 0.f ? a : a * p0)";
    /// GELU's gradient from the input `x`.
    GeluGrad: |g, x| g * crate::ops::gelu_grad(x), "(a * gelu_grad(b))";
    /// ELU's gradient from the input `x`.
    EluGrad { alpha }: |g, x| if x <= 0.0 { g * alpha * x.exp() } else { g }, "(b <= 0.f ? a * p0 * expf(b) : a)";
    /// SiLU's gradient from the input `x`.
    SiluGrad: |g, x| { let s = sigmoid_f32(x); g * s * (1.0 + x * (1.0 - s)) }, "(a * sigmoidf(b) * (1.f + b * (1.f - sigmoidf(b))))";
}
