//! Weight initialisers, as `torch.nn.init`: each overwrites a tensor's values in place (without
//! recording anything for autograd) and draws from the global generator (see
//! [`manual_seed`](crate::manual_seed)); the `_with` variants take a [`Generator`].
//!
//! PyTorch's names end in `_` (`xavier_uniform_`) to mark in-place ops; ours don't, but rustdoc
//! search finds the PyTorch spelling. Fans follow `_calculate_fan_in_and_fan_out`: for a weight
//! of shape `[out, in, k…]`, `fan_in = in·Πk` and `fan_out = out·Πk`.
//!
//! # Examples
//! ```
//! use backprop::nn::{init, Linear};
//! let layer = Linear::new(3, 2);
//! init::xavier_uniform(&layer.weight, init::calculate_gain("tanh", None));
//! init::constant(layer.bias.as_ref().unwrap(), 0.01);
//! assert_eq!(layer.bias.as_ref().unwrap().to_vec(), vec![0.01, 0.01]);
//! ```

use crate::rng::{with_global, Generator};
use crate::tensor::Tensor;

/// Which fan [`kaiming_uniform`] and [`kaiming_normal`] scale by, as PyTorch's `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FanMode {
    /// `fan_in` (the default): preserves the variance of the activations in the forward pass.
    #[default]
    FanIn,
    /// `fan_out`: preserves the variance of the gradients in the backward pass.
    FanOut,
}

/// The recommended gain for a nonlinearity, as `torch.nn.init.calculate_gain`.
///
/// | nonlinearity | gain |
/// |---|---|
/// | `linear`, `conv1d`…`conv_transpose3d`, `sigmoid` | 1 |
/// | `tanh` | 5/3 |
/// | `relu` | √2 |
/// | `leaky_relu` | √(2 / (1 + slope²)), slope = `param` or 0.01 |
/// | `selu` | 3/4 |
///
/// # Panics
/// Panics on any other name with PyTorch's message, `Unsupported nonlinearity {name}`.
#[track_caller]
pub fn calculate_gain(nonlinearity: &str, param: Option<f32>) -> f32 {
    gain_f64(nonlinearity, param) as f32
}

#[track_caller]
fn gain_f64(nonlinearity: &str, param: Option<f32>) -> f64 {
    match nonlinearity {
        "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d"
        | "conv_transpose3d" | "sigmoid" => 1.0,
        "tanh" => 5.0 / 3.0,
        "relu" => 2f64.sqrt(),
        "leaky_relu" => {
            let slope = param.map_or(0.01, |p| p as f64);
            (2.0 / (1.0 + slope * slope)).sqrt()
        }
        "selu" => 3.0 / 4.0,
        other => panic!("Unsupported nonlinearity {other}"),
    }
}

/// `(fan_in, fan_out)` of a weight, as `_calculate_fan_in_and_fan_out`.
///
/// # Panics
/// Panics if the tensor has fewer than 2 dims.
#[track_caller]
pub fn calculate_fan_in_and_fan_out(tensor: &Tensor) -> (usize, usize) {
    let shape = tensor.shape();
    assert!(
        shape.len() >= 2,
        "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape {shape:?})"
    );
    let receptive: usize = shape[2..].iter().product();
    (shape[1] * receptive, shape[0] * receptive)
}

/// Fills with `value`, as `constant_`.
#[doc(alias = "constant_")]
#[doc(alias = "fill_")]
pub fn constant(tensor: &Tensor, value: f32) {
    tensor.array_mut().data_mut().fill(value);
}

/// Fills with zeros, as `zeros_`.
#[doc(alias = "zeros_")]
pub fn zeros(tensor: &Tensor) {
    constant(tensor, 0.0);
}

/// Fills with ones, as `ones_`.
#[doc(alias = "ones_")]
pub fn ones(tensor: &Tensor) {
    constant(tensor, 1.0);
}

/// Fills with samples from `U(a, b)`, as `uniform_` (PyTorch's defaults are `a = 0, b = 1`).
#[doc(alias = "uniform_")]
pub fn uniform(tensor: &Tensor, a: f32, b: f32) {
    with_global(|g| uniform_with(tensor, a, b, g));
}

/// [`uniform`] drawing from `generator`.
pub fn uniform_with(tensor: &Tensor, a: f32, b: f32, generator: &mut Generator) {
    generator.fill_uniform(tensor.array_mut().data_mut(), a, b);
}

/// Fills with samples from `N(mean, std²)`, as `normal_` (PyTorch's defaults are `0, 1`).
#[doc(alias = "normal_")]
pub fn normal(tensor: &Tensor, mean: f32, std: f32) {
    with_global(|g| normal_with(tensor, mean, std, g));
}

/// [`normal`] drawing from `generator`.
pub fn normal_with(tensor: &Tensor, mean: f32, std: f32, generator: &mut Generator) {
    generator.fill_normal(tensor.array_mut().data_mut(), mean, std);
}

/// Glorot/Xavier uniform: `U(−a, a)` with `a = gain·√(6 / (fan_in + fan_out))`, as
/// `xavier_uniform_` (PyTorch's default gain is 1).
///
/// # Panics
/// Panics if the tensor has fewer than 2 dims.
#[doc(alias = "xavier_uniform_")]
#[track_caller]
pub fn xavier_uniform(tensor: &Tensor, gain: f32) {
    let mut g = GlobalOr::Global;
    xavier_uniform_impl(tensor, gain, &mut g);
}

/// [`xavier_uniform`] drawing from `generator`.
///
/// # Panics
/// Panics if the tensor has fewer than 2 dims.
#[track_caller]
pub fn xavier_uniform_with(tensor: &Tensor, gain: f32, generator: &mut Generator) {
    xavier_uniform_impl(tensor, gain, &mut GlobalOr::Given(generator));
}

#[track_caller]
fn xavier_uniform_impl(tensor: &Tensor, gain: f32, g: &mut GlobalOr<'_>) {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor);
    let std = gain as f64 * (2.0 / (fan_in + fan_out) as f64).sqrt();
    let a = (3f64.sqrt() * std) as f32;
    g.run(|g| uniform_with(tensor, -a, a, g));
}

/// Glorot/Xavier normal: `N(0, std²)` with `std = gain·√(2 / (fan_in + fan_out))`, as
/// `xavier_normal_`.
///
/// # Panics
/// Panics if the tensor has fewer than 2 dims.
#[doc(alias = "xavier_normal_")]
#[track_caller]
pub fn xavier_normal(tensor: &Tensor, gain: f32) {
    xavier_normal_impl(tensor, gain, &mut GlobalOr::Global);
}

/// [`xavier_normal`] drawing from `generator`.
///
/// # Panics
/// Panics if the tensor has fewer than 2 dims.
#[track_caller]
pub fn xavier_normal_with(tensor: &Tensor, gain: f32, generator: &mut Generator) {
    xavier_normal_impl(tensor, gain, &mut GlobalOr::Given(generator));
}

#[track_caller]
fn xavier_normal_impl(tensor: &Tensor, gain: f32, g: &mut GlobalOr<'_>) {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor);
    let std = (gain as f64 * (2.0 / (fan_in + fan_out) as f64).sqrt()) as f32;
    g.run(|g| normal_with(tensor, 0.0, std, g));
}

/// The standard deviation Kaiming init uses: `gain / √fan`.
#[track_caller]
fn kaiming_std(tensor: &Tensor, a: f32, mode: FanMode, nonlinearity: &str) -> Option<f64> {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor);
    if tensor.numel() == 0 {
        // PyTorch warns "Initializing zero-element tensors is a no-op" and returns.
        return None;
    }
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    Some(gain_f64(nonlinearity, Some(a)) / (fan as f64).sqrt())
}

/// He/Kaiming uniform: `U(−b, b)` with `b = gain·√(3 / fan)`, as `kaiming_uniform_`.
///
/// `a` is the negative slope of the rectifier that follows (used only with `"leaky_relu"`);
/// PyTorch's defaults are `a = 0`, `mode = FanIn`, `nonlinearity = "leaky_relu"`. `Linear`
/// uses `a = √5`, which gives `b = 1/√fan_in`.
///
/// # Panics
/// Panics if the tensor has fewer than 2 dims or the nonlinearity is unknown.
#[doc(alias = "kaiming_uniform_")]
#[track_caller]
pub fn kaiming_uniform(tensor: &Tensor, a: f32, mode: FanMode, nonlinearity: &str) {
    kaiming_uniform_impl(tensor, a, mode, nonlinearity, &mut GlobalOr::Global);
}

/// [`kaiming_uniform`] drawing from `generator`.
///
/// # Panics
/// Panics if the tensor has fewer than 2 dims or the nonlinearity is unknown.
#[track_caller]
pub fn kaiming_uniform_with(
    tensor: &Tensor,
    a: f32,
    mode: FanMode,
    nonlinearity: &str,
    generator: &mut Generator,
) {
    kaiming_uniform_impl(
        tensor,
        a,
        mode,
        nonlinearity,
        &mut GlobalOr::Given(generator),
    );
}

#[track_caller]
fn kaiming_uniform_impl(
    tensor: &Tensor,
    a: f32,
    mode: FanMode,
    nonlinearity: &str,
    g: &mut GlobalOr<'_>,
) {
    if let Some(std) = kaiming_std(tensor, a, mode, nonlinearity) {
        let bound = (3f64.sqrt() * std) as f32;
        g.run(|g| uniform_with(tensor, -bound, bound, g));
    }
}

/// He/Kaiming normal: `N(0, std²)` with `std = gain / √fan`, as `kaiming_normal_` (same
/// arguments and defaults as [`kaiming_uniform`]).
///
/// # Panics
/// Panics if the tensor has fewer than 2 dims or the nonlinearity is unknown.
#[doc(alias = "kaiming_normal_")]
#[track_caller]
pub fn kaiming_normal(tensor: &Tensor, a: f32, mode: FanMode, nonlinearity: &str) {
    kaiming_normal_impl(tensor, a, mode, nonlinearity, &mut GlobalOr::Global);
}

/// [`kaiming_normal`] drawing from `generator`.
///
/// # Panics
/// Panics if the tensor has fewer than 2 dims or the nonlinearity is unknown.
#[track_caller]
pub fn kaiming_normal_with(
    tensor: &Tensor,
    a: f32,
    mode: FanMode,
    nonlinearity: &str,
    generator: &mut Generator,
) {
    kaiming_normal_impl(
        tensor,
        a,
        mode,
        nonlinearity,
        &mut GlobalOr::Given(generator),
    );
}

#[track_caller]
fn kaiming_normal_impl(
    tensor: &Tensor,
    a: f32,
    mode: FanMode,
    nonlinearity: &str,
    g: &mut GlobalOr<'_>,
) {
    if let Some(std) = kaiming_std(tensor, a, mode, nonlinearity) {
        g.run(|g| normal_with(tensor, 0.0, std as f32, g));
    }
}

/// The global generator or a caller's, so each scheme is written once. The shape checks run
/// before the global generator is locked, so a panic never happens while it is held.
enum GlobalOr<'a> {
    Global,
    Given(&'a mut Generator),
}

impl GlobalOr<'_> {
    fn run(&mut self, f: impl FnOnce(&mut Generator)) {
        match self {
            GlobalOr::Global => with_global(f),
            GlobalOr::Given(g) => f(g),
        }
    }
}

// Expected values are pasted verbatim from PyTorch's output.
#[cfg(test)]
#[allow(clippy::excessive_precision, clippy::approx_constant)]
mod tests {
    use super::*;

    fn stats(t: &Tensor) -> (f64, f64, f32) {
        let v = t.to_vec();
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        (mean, var.sqrt(), max)
    }

    // Python:
    // >>> from torch.nn import init
    // >>> [init.calculate_gain(n) for n in ['linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu']]
    // [1, 1, 1.6666666666666667, 1.4142135623730951, 1.4141428569978354, 0.75]
    // >>> init.calculate_gain('leaky_relu', math.sqrt(5))
    // 0.5773502691896257
    #[test]
    fn gains_match_pytorch() {
        let cases = [
            ("linear", None, 1.0),
            ("sigmoid", None, 1.0),
            ("tanh", None, 1.6666666666666667),
            ("relu", None, 1.4142135623730951),
            ("leaky_relu", None, 1.4141428569978354),
            ("selu", None, 0.75),
            ("leaky_relu", Some(5f32.sqrt()), 0.5773502691896257),
        ];
        for (name, p, want) in cases {
            assert_eq!(calculate_gain(name, p), want as f32, "{name}");
        }
    }

    #[test]
    #[should_panic(expected = "Unsupported nonlinearity softplus")]
    fn unknown_gain_panics() {
        calculate_gain("softplus", None);
    }

    #[test]
    #[should_panic(expected = "fewer than 2 dimensions")]
    fn fans_need_two_dims() {
        xavier_uniform(&Tensor::zeros(&[3]), 1.0);
    }

    #[test]
    fn fans_follow_pytorch() {
        assert_eq!(
            calculate_fan_in_and_fan_out(&Tensor::zeros(&[5, 3])),
            (3, 5)
        );
        assert_eq!(
            calculate_fan_in_and_fan_out(&Tensor::zeros(&[5, 3, 2])),
            (6, 10)
        );
    }

    // Python: the bounds init draws within, for a [64, 32] weight:
    // >>> w = torch.empty(64, 32)
    // >>> math.sqrt(6 / (32 + 64))                                # xavier_uniform_, gain 1
    // 0.25
    // >>> math.sqrt(3) * init.calculate_gain('relu') / math.sqrt(32)   # kaiming_uniform_, relu, fan_in
    // 0.4330127018922193
    // >>> math.sqrt(3) * init.calculate_gain('leaky_relu', math.sqrt(5)) / math.sqrt(32)
    // 0.17677669529663687   (= 1/sqrt(32), Linear's default)
    #[test]
    fn uniform_schemes_fill_their_exact_bounds() {
        let mut g = Generator::new(3);
        let w = Tensor::zeros(&[64, 32]);
        type Fill = Box<dyn Fn(&Tensor, &mut Generator)>;
        let cases: Vec<(Fill, f32)> = vec![
            (Box::new(|w, g| xavier_uniform_with(w, 1.0, g)), 0.25),
            (
                Box::new(|w, g| kaiming_uniform_with(w, 0.0, FanMode::FanIn, "relu", g)),
                0.4330127,
            ),
            (
                Box::new(|w, g| {
                    kaiming_uniform_with(w, 5f32.sqrt(), FanMode::FanIn, "leaky_relu", g)
                }),
                0.17677669,
            ),
            (
                Box::new(|w, g| kaiming_uniform_with(w, 0.0, FanMode::FanOut, "relu", g)),
                0.30618623,
            ),
        ];
        for (fill, bound) in cases {
            fill(&w, &mut g);
            let (mean, std, max) = stats(&w);
            assert!(max <= bound, "max {max} > bound {bound}");
            assert!(max > 0.98 * bound, "max {max} far below bound {bound}");
            // U(-b, b) has std b/sqrt(3).
            assert!(
                (std / (bound as f64 / 3f64.sqrt()) - 1.0).abs() < 0.05,
                "std {std}"
            );
            assert!(mean.abs() < 0.05 * bound as f64, "mean {mean}");
        }
    }

    // Python:
    // >>> w = torch.empty(200, 100); init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu'); w.std()
    // tensor(0.0996)          # ≈ sqrt(2) / sqrt(200) = 0.1
    // >>> init.xavier_normal_(w, gain=2.0); w.std()
    // tensor(0.1633)          # 2 * sqrt(2 / 300)
    #[test]
    fn normal_schemes_have_pytorch_std() {
        let _global = crate::testing::global_state();
        crate::manual_seed(5);
        let w = Tensor::zeros(&[200, 100]);
        kaiming_normal(&w, 0.0, FanMode::FanOut, "relu");
        let (mean, std, _) = stats(&w);
        assert!(
            (std - 0.1).abs() < 0.003 && mean.abs() < 0.003,
            "std {std} mean {mean}"
        );
        xavier_normal(&w, 2.0);
        let (_, std, _) = stats(&w);
        assert!(
            (std - 2.0 * (2.0f64 / 300.0).sqrt()).abs() < 0.005,
            "std {std}"
        );
        normal(&w, 3.0, 0.5);
        let (mean, std, _) = stats(&w);
        assert!(
            (mean - 3.0).abs() < 0.01 && (std - 0.5).abs() < 0.01,
            "mean {mean} std {std}"
        );
        uniform(&w, 2.0, 4.0);
        let v = w.to_vec();
        assert!(v.iter().all(|&x| (2.0..=4.0).contains(&x)));
        assert!((stats(&w).0 - 3.0).abs() < 0.02);
    }

    #[test]
    fn constants_and_seeding() {
        let w = Tensor::full(&[2, 3], 7.0);
        zeros(&w);
        assert!(w.to_vec().iter().all(|&v| v == 0.0));
        ones(&w);
        assert!(w.to_vec().iter().all(|&v| v == 1.0));
        constant(&w, 0.01);
        assert!(w.to_vec().iter().all(|&v| v == 0.01));
        let (a, b) = (Tensor::zeros(&[4, 4]), Tensor::zeros(&[4, 4]));
        xavier_uniform_with(&a, 1.0, &mut Generator::new(9));
        xavier_uniform_with(&b, 1.0, &mut Generator::new(9));
        assert_eq!(a.to_vec(), b.to_vec());
    }

    #[test]
    fn init_does_not_record_a_graph() {
        let w = Tensor::zeros(&[3, 2]).set_requires_grad(true);
        kaiming_uniform(&w, 0.0, FanMode::FanIn, "leaky_relu");
        assert!(w.is_leaf() && w.requires_grad());
    }
}
