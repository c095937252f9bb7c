//! Neural networks from scratch: a single neuron and a multi-layer perceptron on plain
//! [`Array`]s, with the forward pass, the loss and every gradient written out by hand — no
//! [`Tensor`](crate::Tensor), no autograd. This is the tutorial's sections 3 and 4, for reading;
//! `tests/scratch_vs_autograd.rs` checks each hand-derived gradient against autograd's.
//!
//! The layout follows the tutorial's section 4: a layer's weights are `[out, in]` (as
//! `nn.Linear`'s), its bias is a column `[out, 1]`, and a batch is a matrix `[features, N]`
//! whose *columns* are the samples, so a layer computes `z = W·a + b`.
//!
//! # Where this differs from the tutorial's code, and why
//! The tutorial's `NeuronWithBackprop` and `MLP` subtract their updates in place from tensors
//! created with `requires_grad=True`; PyTorch refuses that ("a leaf Variable that requires grad
//! is being used in an in-place operation"), so the cells do not run as written. Here the
//! parameters are plain arrays, which is what hand-written backprop needs: nothing records the
//! arithmetic. The MLP's backward has three more problems, each fixed in [`Mlp::backward`]:
//! 1. It updates a layer's weights *before* using them to send the error to the layer below,
//!    so the lower layers get the gradient of a network that never ran. All gradients must come
//!    from the weights of the forward pass; only then is anything updated ([`Mlp::step`]).
//! 2. It starts from `delta = a - y`, dropping the output sigmoid's derivative `a·(1−a)` (and
//!    MSE's `2/n`). `a - y` is the gradient of *cross-entropy* through a sigmoid, not of the MSE
//!    loss it prints, so the printed loss is not the one being descended.
//! 3. Its targets are `[4, 1]` while the outputs are `[1, 4]`, so `output - y` broadcasts to a
//!    `[4, 4]` matrix. Here targets have the outputs' shape, `[out, N]`, and shapes are checked.

use crate::rng::with_global;
use crate::tensor::Array;

/// The logistic function `1 / (1 + e⁻ˣ)`.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The sigmoid's derivative written in terms of its *output* `a = sigmoid(z)`:
/// `dσ/dz = σ(z)·(1 − σ(z)) = a·(1 − a)` (the tutorial's `sigmoid_derivative(x)` takes the
/// output too).
pub fn sigmoid_derivative(a: f32) -> f32 {
    a * (1.0 - a)
}

/// The mean squared error `mean((prediction − target)²)` over all elements, as `nn.MSELoss()`.
///
/// # Panics
/// Panics if the shapes differ.
#[track_caller]
pub fn mse_loss(prediction: &Array, target: &Array) -> f32 {
    check_same_shape("mse_loss", prediction, target);
    let n = prediction.len() as f32;
    prediction
        .data()
        .iter()
        .zip(target.data())
        .map(|(p, t)| (p - t) * (p - t))
        .sum::<f32>()
        / n
}

/// The gradient of [`mse_loss`] with respect to the prediction: `2·(prediction − target) / n`,
/// with `n` the number of elements.
///
/// # Panics
/// Panics if the shapes differ.
#[track_caller]
pub fn mse_loss_grad(prediction: &Array, target: &Array) -> Array {
    check_same_shape("mse_loss_grad", prediction, target);
    let n = prediction.len() as f32;
    prediction.zip_map(target, |p, t| 2.0 * (p - t) / n)
}

#[track_caller]
fn check_same_shape(op: &str, a: &Array, b: &Array) {
    assert_eq!(
        a.shape(),
        b.shape(),
        "{op}: prediction {:?} and target {:?} must have the same shape",
        a.shape(),
        b.shape()
    );
}

/// A single neuron `y = sigmoid(w·x + b)` (the tutorial's sections 2 and 3).
#[derive(Clone, Debug, PartialEq)]
pub struct Neuron {
    /// One weight per input.
    pub weights: Vec<f32>,
    /// The bias.
    pub bias: f32,
}

/// The gradients of a neuron's squared error `(output − y)²`.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronGrads {
    /// `∂loss/∂wᵢ`, one per weight.
    pub weights: Vec<f32>,
    /// `∂loss/∂b`.
    pub bias: f32,
}

impl Neuron {
    /// A neuron with weights and bias drawn from N(0, 1) (weights first, then the bias, as the
    /// tutorial's `torch.randn(input_size)` and `torch.randn(1)`), from the global generator.
    pub fn new(input_size: usize) -> Neuron {
        with_global(|g| {
            let mut weights = vec![0.0; input_size];
            g.fill_normal(&mut weights, 0.0, 1.0);
            let bias = g.normal(0.0, 1.0);
            Neuron { weights, bias }
        })
    }

    /// `sigmoid(Σ wᵢ·xᵢ + b)`.
    ///
    /// # Panics
    /// Panics if `x` does not have one value per weight.
    #[track_caller]
    pub fn forward(&self, x: &[f32]) -> f32 {
        assert_eq!(
            x.len(),
            self.weights.len(),
            "Neuron::forward: {} inputs for {} weights",
            x.len(),
            self.weights.len()
        );
        let z: f32 = self.weights.iter().zip(x).map(|(w, x)| w * x).sum::<f32>() + self.bias;
        sigmoid(z)
    }

    /// The gradients of `loss = (output − y)²` at `x`, by the chain rule, given the `output` of
    /// [`Neuron::forward`] on `x`:
    ///
    /// ```text
    /// ∂loss/∂output = 2·(output − y)
    /// ∂output/∂z    = output·(1 − output)          (z = w·x + b)
    /// ∂loss/∂wᵢ     = 2·(output − y) · output·(1 − output) · xᵢ
    /// ∂loss/∂b      = 2·(output − y) · output·(1 − output)
    /// ```
    pub fn gradients(&self, x: &[f32], y: f32, output: f32) -> NeuronGrads {
        let d_loss = 2.0 * (output - y);
        let d_output = sigmoid_derivative(output);
        NeuronGrads {
            weights: x.iter().map(|xi| d_loss * d_output * xi).collect(),
            bias: d_loss * d_output,
        }
    }

    /// The tutorial's `backward`: computes [`Neuron::gradients`] and takes one gradient-descent
    /// step, `w ← w − learning_rate·∂loss/∂w` (and the same for `b`).
    pub fn backward(&mut self, x: &[f32], y: f32, output: f32, learning_rate: f32) {
        let grads = self.gradients(x, y, output);
        for (w, g) in self.weights.iter_mut().zip(&grads.weights) {
            *w -= learning_rate * g;
        }
        self.bias -= learning_rate * grads.bias;
    }
}

/// One fully connected layer of a [`Mlp`]: `z = W·a + b`, then `sigmoid(z)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// `[out, in]`.
    pub weights: Array,
    /// `[out, 1]`, added to every column.
    pub bias: Array,
}

/// The gradients of the loss with respect to one layer's parameters (same shapes).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerGrads {
    /// `∂loss/∂W`, `[out, in]`.
    pub weights: Array,
    /// `∂loss/∂b`, `[out, 1]`.
    pub bias: Array,
}

/// A multi-layer perceptron with a sigmoid after every layer (the output's too), trained on
/// the mean squared error by hand-written backprop (the tutorial's section 4).
///
/// # Examples
/// ```
/// use backprop::scratch::Mlp;
/// use backprop::{manual_seed, Array};
///
/// manual_seed(0);
/// let mut mlp = Mlp::new(&[2, 3, 1]);
/// // Columns are samples: the four XOR inputs, and their targets.
/// let x = Array::new(&[2, 4], vec![0., 0., 1., 1., 0., 1., 0., 1.]);
/// let y = Array::new(&[1, 4], vec![0., 1., 1., 0.]);
/// let before = mlp.loss(&x, &y);
/// for _ in 0..100 {
///     mlp.train_step(&x, &y, 1.0);
/// }
/// assert!(mlp.loss(&x, &y) < before);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    /// The layers, input side first.
    pub layers: Vec<Layer>,
}

impl Mlp {
    /// An MLP with `layer_sizes = [in, hidden..., out]`, every weight and bias drawn from
    /// N(0, 1) (as the tutorial's `torch.randn`), layer by layer, weights before biases, from
    /// the global generator.
    ///
    /// # Panics
    /// Panics if fewer than two sizes are given.
    #[track_caller]
    pub fn new(layer_sizes: &[usize]) -> Mlp {
        assert!(
            layer_sizes.len() >= 2,
            "scratch::Mlp::new: needs at least two sizes (inputs and outputs), got {layer_sizes:?}"
        );
        let layers = layer_sizes
            .windows(2)
            .map(|pair| {
                let (n_in, n_out) = (pair[0], pair[1]);
                with_global(|g| {
                    let mut weights = Array::zeros(&[n_out, n_in]);
                    g.fill_normal(weights.data_mut(), 0.0, 1.0);
                    let mut bias = Array::zeros(&[n_out, 1]);
                    g.fill_normal(bias.data_mut(), 0.0, 1.0);
                    Layer { weights, bias }
                })
            })
            .collect();
        Mlp { layers }
    }

    /// The forward pass on `x: [in, N]`, keeping every activation for the backward pass:
    /// `[x, a₁, ..., a_L]`, where `a_l = sigmoid(W_l·a_{l−1} + b_l)` is `[size_l, N]`.
    ///
    /// # Panics
    /// Panics if `x` is not `[in, N]`.
    #[track_caller]
    pub fn forward(&self, x: &Array) -> Vec<Array> {
        let n_in = self.layers[0].weights.shape()[1];
        assert!(
            x.ndim() == 2 && x.shape()[0] == n_in,
            "scratch::Mlp::forward: input {:?} must be [{n_in}, N] (one column per sample)",
            x.shape()
        );
        let mut activations = vec![x.clone()];
        for layer in &self.layers {
            let z = add_column(
                &matmul(&layer.weights, &activations[activations.len() - 1]),
                &layer.bias,
            );
            activations.push(z.map(sigmoid));
        }
        activations
    }

    /// The output `a_L` for `x: [in, N]`, `[out, N]`.
    ///
    /// # Panics
    /// Panics if `x` is not `[in, N]`.
    #[track_caller]
    pub fn predict(&self, x: &Array) -> Array {
        self.forward(x).pop().expect("at least the input")
    }

    /// The mean squared error of the outputs on `x` against `y: [out, N]`.
    ///
    /// # Panics
    /// Panics if the shapes do not fit the network.
    #[track_caller]
    pub fn loss(&self, x: &Array, y: &Array) -> f32 {
        mse_loss(&self.predict(x), y)
    }

    /// Backpropagation: the gradient of `mse_loss(a_L, y)` with respect to every weight and
    /// bias, from the `activations` of [`Mlp::forward`]. Nothing is updated.
    ///
    /// With `δ_l = ∂loss/∂z_l` (`[size_l, N]`, one column per sample):
    ///
    /// ```text
    /// δ_L     = 2·(a_L − y)/n ⊙ a_L⊙(1 − a_L)           MSE, then the output sigmoid
    /// ∂loss/∂W_l = δ_l · a_{l−1}ᵀ                       summed over the samples by the product
    /// ∂loss/∂b_l = Σ_columns δ_l
    /// δ_{l−1} = (W_lᵀ · δ_l) ⊙ a_{l−1}⊙(1 − a_{l−1})     with the W_l the forward pass used
    /// ```
    ///
    /// The tutorial's version starts from `δ = a_L − y` (no sigmoid derivative, no `2/n`) and
    /// computes `δ_{l−1}` with the already-updated `W_l`; see the [module docs](self).
    ///
    /// # Panics
    /// Panics if `activations` does not come from this network or `y` is not `[out, N]`.
    #[track_caller]
    pub fn backward(&self, activations: &[Array], y: &Array) -> Vec<LayerGrads> {
        assert_eq!(
            activations.len(),
            self.layers.len() + 1,
            "scratch::Mlp::backward: {} activations for {} layers (pass forward's output)",
            activations.len(),
            self.layers.len()
        );
        let output = &activations[activations.len() - 1];
        // The output layer: MSE's gradient, then through the output sigmoid.
        let mut delta = mse_loss_grad(output, y).zip_map(output, |g, a| g * sigmoid_derivative(a));
        let mut grads = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let a_prev = &activations[i];
            grads.push(LayerGrads {
                weights: matmul(&delta, &a_prev.transpose(0, 1)),
                bias: sum_columns(&delta),
            });
            if i > 0 {
                // `layer.weights` are the ones the forward pass used: nothing is updated yet.
                let back = matmul(&layer.weights.transpose(0, 1), &delta);
                delta = back.zip_map(a_prev, |d, a| d * sigmoid_derivative(a));
            }
        }
        grads.reverse();
        grads
    }

    /// One gradient-descent step: `W ← W − learning_rate·∂loss/∂W` for every layer.
    ///
    /// # Panics
    /// Panics if `grads` does not have one entry per layer of matching shapes.
    #[track_caller]
    pub fn step(&mut self, grads: &[LayerGrads], learning_rate: f32) {
        assert_eq!(
            grads.len(),
            self.layers.len(),
            "scratch::Mlp::step: {} gradients for {} layers",
            grads.len(),
            self.layers.len()
        );
        for (layer, g) in self.layers.iter_mut().zip(grads) {
            layer.weights = layer
                .weights
                .zip_map(&g.weights, |w, d| w - learning_rate * d);
            layer.bias = layer.bias.zip_map(&g.bias, |b, d| b - learning_rate * d);
        }
    }

    /// Forward, backward, step: one full-batch training step. Returns the loss before the step.
    ///
    /// # Panics
    /// Panics if the shapes do not fit the network.
    #[track_caller]
    pub fn train_step(&mut self, x: &Array, y: &Array, learning_rate: f32) -> f32 {
        let activations = self.forward(x);
        let loss = mse_loss(&activations[activations.len() - 1], y);
        let grads = self.backward(&activations, y);
        self.step(&grads, learning_rate);
        loss
    }
}

/// `a · b` for `a: [m, k]`, `b: [k, n]`, with the three loops in plain sight.
#[track_caller]
fn matmul(a: &Array, b: &Array) -> Array {
    let (m, k) = (a.shape()[0], a.shape()[1]);
    let (k2, n) = (b.shape()[0], b.shape()[1]);
    assert_eq!(
        k,
        k2,
        "scratch matmul: lhs {:?} and rhs {:?} have mismatched inner dims",
        a.shape(),
        b.shape()
    );
    let (a, b) = (a.data(), b.data());
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    Array::new(&[m, n], out)
}

/// `z + b` for `z: [m, n]` and a column `b: [m, 1]` added to every column.
fn add_column(z: &Array, b: &Array) -> Array {
    let n = z.shape()[1];
    let mut out = z.clone();
    for (i, row) in out.data_mut().chunks_mut(n).enumerate() {
        row.iter_mut().for_each(|v| *v += b.data()[i]);
    }
    out
}

/// The sum of each row of `d: [m, n]`, as a column `[m, 1]`.
fn sum_columns(d: &Array) -> Array {
    let (m, n) = (d.shape()[0], d.shape()[1]);
    Array::new(
        &[m, 1],
        d.data().chunks(n).map(|row| row.iter().sum()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_and_column_helpers() {
        let a = Array::new(&[2, 3], vec![1., 2., 3., 4., 5., 6.]);
        let b = Array::new(&[3, 1], vec![1., 0., -1.]);
        assert_eq!(matmul(&a, &b).data(), [-2., -2.]);
        assert_eq!(
            add_column(&a, &Array::new(&[2, 1], vec![10., 20.])).data(),
            [11., 12., 13., 24., 25., 26.]
        );
        assert_eq!(sum_columns(&a).data(), [6., 15.]);
        assert_eq!(sum_columns(&a).shape(), [2, 1]);
    }

    #[test]
    fn mse_and_its_gradient() {
        let p = Array::new(&[1, 2], vec![1.0, 3.0]);
        let t = Array::new(&[1, 2], vec![0.0, 1.0]);
        assert_eq!(mse_loss(&p, &t), 2.5);
        assert_eq!(mse_loss_grad(&p, &t).data(), [1.0, 2.0]);
    }

    #[test]
    #[should_panic(
        expected = "mse_loss: prediction [1, 4] and target [4, 1] must have the same shape"
    )]
    fn the_tutorials_target_shape_is_rejected() {
        mse_loss(&Array::zeros(&[1, 4]), &Array::zeros(&[4, 1]));
    }

    #[test]
    fn neuron_training_reaches_its_target() {
        let _global = crate::testing::global_state();
        crate::manual_seed(1);
        let mut neuron = Neuron::new(2);
        let x = [0.5, 1.0];
        for _ in 0..1000 {
            let out = neuron.forward(&x);
            neuron.backward(&x, 0.7, out, 0.1);
        }
        assert!((neuron.forward(&x) - 0.7).abs() < 1e-3);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let _global = crate::testing::global_state();
        crate::manual_seed(2);
        let mlp = Mlp::new(&[3, 4, 2]);
        let mut x = Array::zeros(&[3, 5]);
        crate::rng::with_global(|g| g.fill_normal(x.data_mut(), 0.0, 1.0));
        let y = Array::new(&[2, 5], (0..10).map(|i| (i % 3) as f32 / 2.0).collect());
        let grads = mlp.backward(&mlp.forward(&x), &y);
        let h = 1e-2f32;
        for (l, grad) in grads.iter().enumerate() {
            for i in 0..grad.weights.len() {
                let mut plus = mlp.clone();
                plus.layers[l].weights.data_mut()[i] += h;
                let mut minus = mlp.clone();
                minus.layers[l].weights.data_mut()[i] -= h;
                let numeric =
                    (plus.loss(&x, &y) as f64 - minus.loss(&x, &y) as f64) / (2.0 * h as f64);
                let analytic = grad.weights.data()[i] as f64;
                assert!(
                    (numeric - analytic).abs() < 1e-3,
                    "layer {l} weight {i}: numeric {numeric}, analytic {analytic}"
                );
            }
        }
    }

    #[test]
    fn backward_does_not_touch_the_weights() {
        let _global = crate::testing::global_state();
        crate::manual_seed(3);
        let mlp = Mlp::new(&[2, 3, 1]);
        let before = mlp.clone();
        let x = Array::new(&[2, 4], vec![0., 0., 1., 1., 0., 1., 0., 1.]);
        let y = Array::new(&[1, 4], vec![0., 1., 1., 0.]);
        let grads = mlp.backward(&mlp.forward(&x), &y);
        assert_eq!(mlp, before);
        assert_eq!(grads[0].weights.shape(), [3, 2]);
        assert_eq!(grads[1].bias.shape(), [1, 1]);
    }
}
