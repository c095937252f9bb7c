//! The fused batch-norm ops behind [`BatchNorm1d`](super::BatchNorm1d), forward and backward
//! side by side: training mode (batch statistics, so the gradient flows through the mean and
//! variance) and eval mode (fixed statistics: an affine map per channel). Both compute
//! `y = x·alpha + beta` per channel, `alpha = invstd·weight`, `beta = bias − mean·alpha`, as
//! PyTorch's CPU kernel does, with statistics and gradient sums accumulated in `f64`.

use crate::autograd::Backward;
use crate::tensor::{Array, Tensor};

/// `(N, C, L)` of a `[N, C]` (`L = 1`) or `[N, C, L]` input; element `(n, c, l)` is at
/// `(n·C + c)·L + l`.
pub(super) fn layout(shape: &[usize]) -> (usize, usize, usize) {
    (shape[0], shape[1], shape.get(2).copied().unwrap_or(1))
}

/// The channel of each successive run: `0, 1, …, c−1, 0, 1, …` (a counter, not `i % c`: a
/// division per element costs more than the rest of a small batch norm).
fn channels(c: usize) -> impl Iterator<Item = usize> {
    (0..c.max(1)).cycle()
}

/// Calls `f(channel, values)` for each contiguous run of one channel's values.
fn for_each_run<'a>(
    data: &'a [f32],
    (_, c, l): (usize, usize, usize),
    mut f: impl FnMut(usize, &'a [f32]),
) {
    for (run, i) in data.chunks_exact(l.max(1)).zip(channels(c)) {
        f(i, run);
    }
}

/// `y = x·alpha[c] + beta[c]`, PyTorch's CPU formulation of both modes.
fn affine_apply(x: &Array, dims: (usize, usize, usize), alpha: &[f32], beta: &[f32]) -> Array {
    let mut out = Vec::with_capacity(x.len());
    for_each_run(x.data(), dims, |c, run| {
        out.extend(run.iter().map(|&v| v * alpha[c] + beta[c]))
    });
    Array::new(x.shape(), out)
}

/// Per-channel `Σ g` and `Σ g·(x − mean)`, accumulated in `f64` as PyTorch's CPU kernel does.
fn channel_sums(
    x: &Array,
    g: &Array,
    dims: (usize, usize, usize),
    mean: &[f32],
) -> (Vec<f64>, Vec<f64>) {
    let c = dims.1;
    let (mut sum_g, mut dotp) = (vec![0f64; c], vec![0f64; c]);
    let l = dims.2.max(1);
    for ((xr, gr), ch) in x
        .data()
        .chunks_exact(l)
        .zip(g.data().chunks_exact(l))
        .zip(channels(c))
    {
        let m = mean[ch] as f64;
        for (&xv, &gv) in xr.iter().zip(gr) {
            sum_g[ch] += gv as f64;
            dotp[ch] += (xv as f64 - m) * gv as f64;
        }
    }
    (sum_g, dotp)
}

/// Training-mode batch norm: normalises with the batch's mean and biased variance. Returns
/// the output and the `f64` statistics (for the running update).
pub(super) fn batch_norm_train(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> (Tensor, Vec<f64>, Vec<f64>) {
    let xa = x.array();
    let dims = layout(xa.shape());
    let (n, c, l) = dims;
    let count = (n * l) as f64;
    // Two passes in f64, as PyTorch's CPU kernel accumulates.
    let mut mean = vec![0f64; c];
    for_each_run(xa.data(), dims, |ch, run| {
        mean[ch] += run.iter().map(|&v| v as f64).sum::<f64>()
    });
    mean.iter_mut().for_each(|m| *m /= count);
    let mut var = vec![0f64; c];
    for_each_run(xa.data(), dims, |ch, run| {
        var[ch] += run
            .iter()
            .map(|&v| (v as f64 - mean[ch]).powi(2))
            .sum::<f64>()
    });
    var.iter_mut().for_each(|v| *v /= count);
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let invstd: Vec<f32> = var
        .iter()
        .map(|&v| (1.0 / (v + eps).sqrt()) as f32)
        .collect();
    let (alpha, beta) = alpha_beta(&mean32, &invstd, weight, bias);
    let out = affine_apply(&xa, dims, &alpha, &beta);
    drop(xa);
    let op = BatchNormBackward {
        mean: mean32,
        invstd,
        has_weight: weight.is_some(),
        has_bias: bias.is_some(),
    };
    let inputs: Vec<&Tensor> = std::iter::once(x).chain(weight).chain(bias).collect();
    (Tensor::from_op(out, &inputs, op), mean, var)
}

/// `alpha = invstd·weight`, `beta = bias − mean·alpha` (in `f32`, as PyTorch).
fn alpha_beta(
    mean: &[f32],
    invstd: &[f32],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
) -> (Vec<f32>, Vec<f32>) {
    let w = weight.map(|w| w.to_vec());
    let b = bias.map(|b| b.to_vec());
    let alpha: Vec<f32> = (0..mean.len())
        .map(|c| invstd[c] * w.as_ref().map_or(1.0, |w| w[c]))
        .collect();
    let beta: Vec<f32> = (0..mean.len())
        .map(|c| b.as_ref().map_or(0.0, |b| b[c]) - mean[c] * alpha[c])
        .collect();
    (alpha, beta)
}

/// With `x̂ = (x − μ)·σ⁻¹` over `M` values per channel and `y = w·x̂ + b`:
/// `dx = w·σ⁻¹·(g − mean(g) − x̂·mean(g·x̂))`, `dw = Σ g·x̂`, `db = Σ g`
/// (the mean and variance depend on every `x`, hence the two correction terms).
struct BatchNormBackward {
    mean: Vec<f32>,
    invstd: Vec<f32>,
    has_weight: bool,
    has_bias: bool,
}

impl Backward for BatchNormBackward {
    fn name(&self) -> &'static str {
        "NativeBatchNormBackward0"
    }

    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let x = inputs[0].array();
        let dims = layout(x.shape());
        let n = (dims.0 * dims.2) as f64;
        let (sum_g, dotp) = channel_sums(&x, grad, dims, &self.mean);
        let mut out = Vec::with_capacity(inputs.len());
        out.push(inputs[0].requires_grad().then(|| {
            let w = if self.has_weight {
                inputs[1].to_vec()
            } else {
                vec![1.0; dims.1]
            };
            let mut dx = Vec::with_capacity(x.len());
            let l = dims.2.max(1);
            for ((xr, gr), c) in x
                .data()
                .chunks_exact(l)
                .zip(grad.data().chunks_exact(l))
                .zip(channels(dims.1))
            {
                let (mean, invstd) = (self.mean[c] as f64, self.invstd[c] as f64);
                // PyTorch's arrangement: k = Σ(x−μ)g·σ⁻²/n, dx = (g − mean(g) − (x−μ)·k)·σ⁻¹·w.
                let k = dotp[c] * invstd * invstd / n;
                let grad_mean = sum_g[c] / n;
                let scale = invstd * w[c] as f64;
                dx.extend(xr.iter().zip(gr).map(|(&xv, &gv)| {
                    ((gv as f64 - grad_mean - (xv as f64 - mean) * k) * scale) as f32
                }));
            }
            Array::new(x.shape(), dx)
        }));
        let to_array =
            |v: Vec<f64>| Array::new(&[v.len()], v.into_iter().map(|s| s as f32).collect());
        if self.has_weight {
            let dw = dotp
                .iter()
                .zip(&self.invstd)
                .map(|(d, &i)| d * i as f64)
                .collect();
            out.push(inputs[1].requires_grad().then(|| to_array(dw)));
        }
        if self.has_bias {
            out.push(inputs[out.len()].requires_grad().then(|| to_array(sum_g)));
        }
        out
    }
}

/// Eval-mode batch norm with fixed statistics: `y = x·alpha + beta`.
pub(super) fn batch_norm_eval(
    x: &Tensor,
    rm: &Tensor,
    rv: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Tensor {
    let mean = rm.to_vec();
    let invstd: Vec<f32> = rv
        .to_vec()
        .iter()
        .map(|&v| 1.0 / (v + eps as f32).sqrt())
        .collect();
    let (alpha, beta) = alpha_beta(&mean, &invstd, weight, bias);
    let xa = x.array();
    let out = affine_apply(&xa, layout(xa.shape()), &alpha, &beta);
    drop(xa);
    let op = BatchNormEvalBackward {
        alpha,
        mean,
        invstd,
        has_weight: weight.is_some(),
        has_bias: bias.is_some(),
    };
    let inputs: Vec<&Tensor> = std::iter::once(x).chain(weight).chain(bias).collect();
    Tensor::from_op(out, &inputs, op)
}

/// `y = w·(x − μ)·σ⁻¹ + b` with constant μ, σ: `dx = g·w·σ⁻¹`, `dw = Σ g·x̂`, `db = Σ g`.
struct BatchNormEvalBackward {
    alpha: Vec<f32>,
    mean: Vec<f32>,
    invstd: Vec<f32>,
    has_weight: bool,
    has_bias: bool,
}

impl Backward for BatchNormEvalBackward {
    fn name(&self) -> &'static str {
        "NativeBatchNormBackward0"
    }

    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let x = inputs[0].array();
        let dims = layout(x.shape());
        let mut out = Vec::with_capacity(inputs.len());
        out.push(inputs[0].requires_grad().then(|| {
            let mut dx = Vec::with_capacity(grad.len());
            for_each_run(grad.data(), dims, |c, run| {
                dx.extend(run.iter().map(|&g| g * self.alpha[c]))
            });
            Array::new(grad.shape(), dx)
        }));
        let (sum_g, dotp) = channel_sums(&x, grad, dims, &self.mean);
        let to_array =
            |v: Vec<f64>| Array::new(&[v.len()], v.into_iter().map(|s| s as f32).collect());
        if self.has_weight {
            let dw = dotp
                .iter()
                .zip(&self.invstd)
                .map(|(d, &i)| d * i as f64)
                .collect();
            out.push(inputs[1].requires_grad().then(|| to_array(dw)));
        }
        if self.has_bias {
            out.push(inputs[out.len()].requires_grad().then(|| to_array(sum_g)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_grad, randn};

    /// Gradcheck of the fused training op w.r.t. input, weight and bias (formula above
    /// `BatchNormBackward`), for 2-D and 3-D input, and of the eval op.
    #[test]
    fn gradcheck_train_and_eval() {
        for shape in [&[5, 3][..], &[3, 2, 4]] {
            let c = shape[1];
            let (x, w, b) = (randn(shape), randn(&[c]), randn(&[c]));
            check_grad(
                |t| batch_norm_train(&t[0], Some(&t[1]), Some(&t[2]), 1e-5).0,
                &[x.clone(), w.clone(), b.clone()],
            );
            check_grad(
                |t| batch_norm_train(&t[0], None, None, 1e-5).0,
                std::slice::from_ref(&x),
            );
            check_grad(
                |t| batch_norm_train(&t[0], Some(&t[1]), None, 1e-5).0,
                &[x.clone(), w.clone()],
            );
            let (rm, rv) = (Tensor::randn(&[c]), Tensor::from_vec(vec![0.7; c], &[c]));
            check_grad(
                |t| batch_norm_eval(&t[0], &rm, &rv, Some(&t[1]), Some(&t[2]), 1e-5),
                &[x, w, b],
            );
        }
    }
}
