//! The teaching module's hand-derived gradients (`backprop::scratch`) against autograd's, on
//! the same numbers: the MLP of the tutorial's section 4 (as raw tensor ops in the scratch
//! layout, and as `nn` modules in PyTorch's layout) and the neuron of section 3.

mod common;
use backprop::nn::{Linear, MSELoss, Module, Sequential, Sigmoid};
use backprop::rng::{with_global, Generator};
use backprop::scratch::{self, LayerGrads, Mlp, Neuron};
use backprop::{Array, Tensor};

/// Agreement required between hand-written and automatic gradients (float32, tiny nets).
const TOL: f32 = 1e-5;

#[track_caller]
fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOL,
            "{what}[{i}]: scratch {g}, autograd {w} (|diff| {})",
            (g - w).abs()
        );
    }
}

/// One layer's (dW, db), flattened.
type Grads = (Vec<f32>, Vec<f32>);

/// A random network and a batch `x: [in, N]`, `y: [out, N]` (targets in (0, 1)).
fn problem(sizes: &[usize], n: usize, seed: u64) -> (Mlp, Array, Array) {
    let _global = common::global_state();
    backprop::manual_seed(seed);
    let mlp = Mlp::new(sizes);
    let mut g = Generator::new(seed + 1000);
    let mut x = Array::zeros(&[sizes[0], n]);
    g.fill_normal(x.data_mut(), 0.0, 1.0);
    let mut y = Array::zeros(&[sizes[sizes.len() - 1], n]);
    g.fill_uniform(y.data_mut(), 0.0, 1.0);
    (mlp, x, y)
}

/// Autograd on the scratch layout: `a = sigmoid(W·a + b)` with `b: [out, 1]` broadcast over
/// the columns, loss `mean((a_L − y)²)`. Returns the loss and each layer's (dW, db).
fn autograd_column_layout(mlp: &Mlp, x: &Array, y: &Array) -> (f32, Vec<Grads>) {
    let params: Vec<(Tensor, Tensor)> = mlp
        .layers
        .iter()
        .map(|l| {
            (
                Tensor::from_array(l.weights.clone()).set_requires_grad(true),
                Tensor::from_array(l.bias.clone()).set_requires_grad(true),
            )
        })
        .collect();
    let mut a = Tensor::from_array(x.clone());
    for (w, b) in &params {
        a = (w.mm(&a) + b).sigmoid();
    }
    let loss = (&a - &Tensor::from_array(y.clone())).pow(2.0).mean();
    loss.backward();
    let grads = params
        .iter()
        .map(|(w, b)| (w.grad().unwrap().to_vec(), b.grad().unwrap().to_vec()))
        .collect();
    (loss.item(), grads)
}

/// The same network as `nn` modules in PyTorch's layout (`Linear` + `Sigmoid`, rows are
/// samples, `MSELoss`). Returns the loss and each layer's (dW, db).
fn autograd_nn_modules(mlp: &Mlp, x: &Array, y: &Array) -> (f32, Vec<Grads>) {
    let mut model = Sequential::new();
    let mut linears = vec![];
    for l in &mlp.layers {
        let out = l.weights.shape()[0];
        let linear = Linear::from_tensors(
            Tensor::from_array(l.weights.clone()),
            Some(Tensor::from_array(l.bias.clone().into_shape(&[out]))),
        );
        linears.push((linear.weight.clone(), linear.bias.clone().unwrap()));
        model = model.add(linear).add(Sigmoid);
    }
    let rows = Tensor::from_array(x.transpose(0, 1));
    let target = Tensor::from_array(y.transpose(0, 1));
    let loss = MSELoss::new().forward(&model.forward(&rows), &target);
    loss.backward();
    let grads = linears
        .iter()
        .map(|(w, b)| (w.grad().unwrap().to_vec(), b.grad().unwrap().to_vec()))
        .collect();
    (loss.item(), grads)
}

fn check_against_autograd(sizes: &[usize], n: usize, seed: u64) {
    let (mlp, x, y) = problem(sizes, n, seed);
    let activations = mlp.forward(&x);
    let loss = scratch::mse_loss(&activations[activations.len() - 1], &y);
    let grads: Vec<LayerGrads> = mlp.backward(&activations, &y);
    assert_eq!(grads.len(), sizes.len() - 1);

    for (name, (auto_loss, auto)) in [
        ("column layout", autograd_column_layout(&mlp, &x, &y)),
        ("nn modules", autograd_nn_modules(&mlp, &x, &y)),
    ] {
        assert!(
            (loss - auto_loss).abs() <= TOL,
            "{sizes:?} {name}: loss {loss} vs {auto_loss}"
        );
        for (l, (g, (dw, db))) in grads.iter().zip(&auto).enumerate() {
            assert_close(
                &format!("{sizes:?} {name} layer {l} dW"),
                g.weights.data(),
                dw,
            );
            assert_close(&format!("{sizes:?} {name} layer {l} db"), g.bias.data(), db);
        }
        // Not vacuous: some gradient is far from zero.
        let largest = auto
            .iter()
            .flat_map(|(w, _)| w)
            .fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            largest > 1e-3,
            "{sizes:?}: gradients are all ~0 ({largest})"
        );
    }
}

#[test]
fn scratch_mlp_gradients_equal_autograds_on_the_tutorials_xor_network() {
    // The tutorial's MLP([2, 3, 1]) on the four XOR inputs.
    let _global = common::global_state();
    backprop::manual_seed(42);
    let mlp = Mlp::new(&[2, 3, 1]);
    let x = Array::new(&[2, 4], vec![0., 0., 1., 1., 0., 1., 0., 1.]);
    let y = Array::new(&[1, 4], vec![0., 1., 1., 0.]);
    let grads = mlp.backward(&mlp.forward(&x), &y);
    for (_, auto) in [
        autograd_column_layout(&mlp, &x, &y),
        autograd_nn_modules(&mlp, &x, &y),
    ] {
        for (g, (dw, db)) in grads.iter().zip(&auto) {
            assert_close("xor dW", g.weights.data(), dw);
            assert_close("xor db", g.bias.data(), db);
        }
    }
}

#[test]
fn scratch_mlp_gradients_equal_autograds_on_random_networks() {
    check_against_autograd(&[3, 5, 2], 7, 1);
    check_against_autograd(&[4, 6, 5, 3], 10, 2);
    check_against_autograd(&[2, 1], 3, 3);
    check_against_autograd(&[5, 8, 8, 8, 1], 16, 4);
}

#[test]
fn a_training_step_matches_sgd_on_autograd_gradients() {
    let (mut mlp, x, y) = problem(&[3, 4, 2], 6, 5);
    let (_, auto) = autograd_column_layout(&mlp, &x, &y);
    let before = mlp.clone();
    let lr = 0.5;
    mlp.train_step(&x, &y, lr);
    for (l, (dw, db)) in auto.iter().enumerate() {
        let want: Vec<f32> = before.layers[l]
            .weights
            .data()
            .iter()
            .zip(dw)
            .map(|(w, g)| w - lr * g)
            .collect();
        assert_close(
            &format!("layer {l} W after step"),
            mlp.layers[l].weights.data(),
            &want,
        );
        let want: Vec<f32> = before.layers[l]
            .bias
            .data()
            .iter()
            .zip(db)
            .map(|(b, g)| b - lr * g)
            .collect();
        assert_close(
            &format!("layer {l} b after step"),
            mlp.layers[l].bias.data(),
            &want,
        );
    }
}

/// The tutorial's own recipe — `δ = a − y` at the output, each layer updated before its
/// weights carry δ down — is not the MSE gradient; this is why `scratch` does it differently.
#[test]
fn the_tutorials_recipe_is_not_the_mse_gradient() {
    let (mlp, x, y) = problem(&[2, 3, 1], 4, 6);
    let (_, auto) = autograd_column_layout(&mlp, &x, &y);
    let a = mlp.forward(&x);
    // Output layer as the tutorial computes it: d_weights = (a − y)·a₁ᵀ.
    let delta: Vec<f32> = a[2]
        .data()
        .iter()
        .zip(y.data())
        .map(|(a, y)| a - y)
        .collect();
    let a1 = a[1].data();
    let tutorial_dw: Vec<f32> = (0..3)
        .map(|j| (0..4).map(|s| delta[s] * a1[j * 4 + s]).sum())
        .collect();
    let diff = tutorial_dw
        .iter()
        .zip(&auto[1].0)
        .map(|(t, g)| (t - g).abs())
        .fold(0f32, f32::max);
    assert!(
        diff > 1e-2,
        "the tutorial's output gradient happens to match ({diff})"
    );
}

#[test]
fn neuron_gradients_equal_autograds() {
    for seed in 0..5 {
        let _global = common::global_state();
        backprop::manual_seed(seed);
        let neuron = Neuron::new(3);
        let x: Vec<f32> = with_global(|g| (0..3).map(|_| g.normal(0.0, 1.0)).collect());
        let y = 0.3 + 0.1 * seed as f32;
        let output = neuron.forward(&x);
        let hand = neuron.gradients(&x, y, output);

        let w = Tensor::from_slice(&neuron.weights, &[3]).set_requires_grad(true);
        let b = Tensor::from_slice(&[neuron.bias], &[1]).set_requires_grad(true);
        let out = (w.dot(&Tensor::from_slice(&x, &[3])) + &b).sigmoid();
        assert!((out.item() - output).abs() <= TOL, "forward");
        let loss = (&out - &Tensor::scalar(y)).pow(2.0).sum();
        loss.backward();
        assert_close("neuron dw", &hand.weights, &w.grad().unwrap().to_vec());
        assert_close("neuron db", &[hand.bias], &b.grad().unwrap().to_vec());
        assert!(hand.bias.abs() > 1e-4, "seed {seed}: gradient ~0");
    }
}

#[test]
fn the_section_3_neuron_gradients_equal_autograds() {
    // Section 3's numbers: Neuron(2) after manual_seed(42), x = [0.5, 1.0], y = 0.7.
    let _global = common::global_state();
    backprop::manual_seed(42);
    let neuron = Neuron::new(2);
    let (x, y) = ([0.5, 1.0], 0.7);
    let hand = neuron.gradients(&x, y, neuron.forward(&x));
    let w = Tensor::from_slice(&neuron.weights, &[2]).set_requires_grad(true);
    let b = Tensor::from_slice(&[neuron.bias], &[1]).set_requires_grad(true);
    let out = (w.dot(&Tensor::from_slice(&x, &[2])) + &b).sigmoid();
    (&out - &Tensor::scalar(y)).pow(2.0).sum().backward();
    assert_close("dw", &hand.weights, &w.grad().unwrap().to_vec());
    assert_close("db", &[hand.bias], &b.grad().unwrap().to_vec());
}
