//! [`BatchNorm1d`]: batch normalisation over the channel dim of `[N, C]` or `[N, C, L]` input.
//! The layer (options, running statistics, names, printing) lives here; the fused ops with
//! their backward passes in `batchnorm/functional.rs`.

#[cfg(feature = "cuda")]
mod cuda;
mod functional;

use super::module::{py_bool, py_float, Entry, Module};
use crate::tensor::Tensor;
use functional::{batch_norm_eval, batch_norm_train, layout};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

/// Options of [`BatchNorm1d`], with PyTorch's defaults.
///
/// ```
/// use backprop::nn::{BatchNorm1d, BatchNorm1dConfig};
/// let bn = BatchNorm1d::with_config(8, BatchNorm1dConfig { momentum: None, ..Default::default() });
/// assert_eq!(bn.momentum, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm1dConfig {
    /// Added to the variance for numerical stability (`1e-5`).
    pub eps: f64,
    /// The weight of the current batch in the running statistics (`Some(0.1)`); `None` keeps a
    /// cumulative moving average (a plain mean over all batches so far).
    pub momentum: Option<f64>,
    /// Whether to learn a per-channel scale `weight` (and shift `bias`) (`true`).
    pub affine: bool,
    /// Whether the affine map has a `bias` (`true`; PyTorch's keyword-only `bias`).
    pub bias: bool,
    /// Whether to keep running statistics for eval mode (`true`); without them the batch's own
    /// statistics are used in both modes.
    pub track_running_stats: bool,
}

impl Default for BatchNorm1dConfig {
    fn default() -> Self {
        BatchNorm1dConfig {
            eps: 1e-5,
            momentum: Some(0.1),
            affine: true,
            bias: true,
            track_running_stats: true,
        }
    }
}

/// Batch normalisation, as `torch.nn.BatchNorm1d`:
/// `y = (x − E[x]) / √(Var[x] + eps) · weight + bias`, per channel.
///
/// In training mode the mean and variance are the batch's (over `N`, and `L` for 3-D input),
/// with the **biased** variance (divide by `N`), and the running statistics are updated with
/// the **unbiased** one (divide by `N − 1`):
/// `running = (1 − momentum)·running + momentum·batch_stat`, and `num_batches_tracked += 1`.
/// With `momentum = None` the factor is `1 / num_batches_tracked` (a cumulative average).
/// In eval mode the running statistics are used, so the layer is a fixed affine map.
///
/// # Shape
/// - Input: `[N, C]` or `[N, C, L]`, with `C = num_features`.
/// - Output: the same shape.
///
/// # Parameters and buffers
/// - `weight` `[C]`, initialised to ones, and `bias` `[C]`, zeros (if `affine`).
/// - `running_mean` `[C]` zeros, `running_var` `[C]` ones, and the `int64` counter
///   `num_batches_tracked` (if `track_running_stats`).
///
/// # Examples
/// ```
/// use backprop::nn::{BatchNorm1d, Module};
/// use backprop::Tensor;
/// let mut bn = BatchNorm1d::new(2);
/// let x = Tensor::from_slice(&[1.0, 10.0, 3.0, 30.0], &[2, 2]);
/// let y = bn.forward(&x);
/// assert!((y.to_vec()[0] + 1.0).abs() < 1e-3); // (1 - 2) / 1
/// assert_eq!(bn.running_mean.as_ref().unwrap().to_vec(), vec![0.2, 2.0]);
/// bn.eval();
/// assert_eq!(bn.forward(&x).shape(), vec![2, 2]);
/// ```
///
/// # Panics
/// `forward` panics if the input is not 2-D or 3-D, its dim 1 is not `num_features`, or (in
/// training mode) there is only one value per channel.
pub struct BatchNorm1d {
    /// `C`, the number of channels.
    pub num_features: usize,
    /// Added to the variance for numerical stability.
    pub eps: f64,
    /// The running-statistics update factor; `None` for a cumulative average.
    pub momentum: Option<f64>,
    /// Whether the layer was built with a learnable affine map.
    pub affine: bool,
    /// Whether the layer keeps running statistics.
    pub track_running_stats: bool,
    /// The per-channel scale `[C]`, if `affine`.
    pub weight: Option<Tensor>,
    /// The per-channel shift `[C]`, if `affine` and built with a bias.
    pub bias: Option<Tensor>,
    /// The running mean `[C]`, if `track_running_stats`.
    pub running_mean: Option<Tensor>,
    /// The running (unbiased) variance `[C]`, if `track_running_stats`.
    pub running_var: Option<Tensor>,
    /// The number of training batches seen, if `track_running_stats`.
    pub num_batches_tracked: Option<AtomicI64>,
    training: bool,
}

impl BatchNorm1d {
    /// A layer over `num_features` channels with PyTorch's defaults.
    pub fn new(num_features: usize) -> Self {
        Self::with_config(num_features, BatchNorm1dConfig::default())
    }

    /// A layer with the given options.
    pub fn with_config(num_features: usize, config: BatchNorm1dConfig) -> Self {
        let c = num_features;
        let track = config.track_running_stats;
        BatchNorm1d {
            num_features,
            eps: config.eps,
            momentum: config.momentum,
            affine: config.affine,
            track_running_stats: track,
            weight: config
                .affine
                .then(|| Tensor::ones(&[c]).set_requires_grad(true)),
            bias: (config.affine && config.bias)
                .then(|| Tensor::zeros(&[c]).set_requires_grad(true)),
            running_mean: track.then(|| Tensor::zeros(&[c])),
            running_var: track.then(|| Tensor::ones(&[c])),
            num_batches_tracked: track.then(|| AtomicI64::new(0)),
            training: true,
        }
    }

    /// Resets the running statistics to their initial values, as `reset_running_stats()`.
    pub fn reset_running_stats(&self) {
        if let (Some(m), Some(v), Some(n)) = (
            &self.running_mean,
            &self.running_var,
            &self.num_batches_tracked,
        ) {
            let c = [self.num_features];
            m.assign(&crate::Array::zeros(&c));
            v.assign(&crate::Array::full(&c, 1.0));
            n.store(0, Ordering::Relaxed);
        }
    }

    /// Counts a training batch of `count` values per channel and gives the running update's
    /// `(factor, unbias)`: `r ← factor·stat + (1 − factor)·r`, the variance times `unbias`
    /// (PyTorch's update, in `f64`). `None` in eval mode or without running statistics.
    fn running_update(&self, count: usize) -> Option<(&Tensor, &Tensor, f64, f64)> {
        if !self.training {
            return None;
        }
        let (Some(rm), Some(rv), Some(nbt)) = (
            &self.running_mean,
            &self.running_var,
            &self.num_batches_tracked,
        ) else {
            return None;
        };
        let tracked = nbt.fetch_add(1, Ordering::Relaxed) + 1;
        let factor = self.momentum.unwrap_or(1.0 / tracked as f64);
        let unbias = count as f64 / (count - 1) as f64;
        Some((rm, rv, factor, unbias))
    }

    /// Training mode: batch statistics, folded into the running ones.
    #[track_caller]
    fn forward_train(&self, x: &Tensor, shape: &[usize]) -> Tensor {
        let (w, b) = (self.weight.as_ref(), self.bias.as_ref());
        let (n, _, l) = layout(shape);
        assert!(
            n * l > 1,
            "BatchNorm1d: training needs more than one value per channel (more than one row per batch), got input of shape {shape:?}"
        );
        #[cfg(feature = "cuda")]
        if x.device().is_cuda() {
            // The statistics stay on the GPU, and so does the running update.
            let (out, mean, var) = cuda::train(x, w, b, self.eps);
            if let Some((rm, rv, factor, unbias)) = self.running_update(n * l) {
                cuda::update_running(rm, rv, &mean, &var, factor, unbias);
            }
            return out;
        }
        let (out, mean, var) = batch_norm_train(x, w, b, self.eps);
        if let Some((rm, rv, factor, unbias)) = self.running_update(n * l) {
            for (r, &m) in rm.array_mut().data_mut().iter_mut().zip(&mean) {
                *r = (factor * m + (1.0 - factor) * *r as f64) as f32;
            }
            for (r, &v) in rv.array_mut().data_mut().iter_mut().zip(&var) {
                *r = (factor * v * unbias + (1.0 - factor) * *r as f64) as f32;
            }
        }
        out
    }
}

impl Module for BatchNorm1d {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let shape = x.shape();
        assert!(
            shape.len() == 2 || shape.len() == 3,
            "BatchNorm1d: expected 2D or 3D input (got {}D input)",
            shape.len()
        );
        assert_eq!(
            shape[1], self.num_features,
            "BatchNorm1d: expected input with {} channels (dim 1), got input of shape {shape:?}",
            self.num_features
        );
        let (w, b) = (self.weight.as_ref(), self.bias.as_ref());
        match (&self.running_mean, &self.running_var) {
            (Some(rm), Some(rv)) if !self.training => {
                #[cfg(feature = "cuda")]
                if x.device().is_cuda() {
                    return cuda::eval(x, rm, rv, w, b, self.eps);
                }
                batch_norm_eval(x, rm, rv, w, b, self.eps)
            }
            _ => self.forward_train(x, &shape),
        }
    }

    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, Entry<'a>)) {
        if let Some(w) = &self.weight {
            f(&format!("{prefix}weight"), Entry::Param(w));
        }
        if let Some(b) = &self.bias {
            f(&format!("{prefix}bias"), Entry::Param(b));
        }
        if let Some(m) = &self.running_mean {
            f(&format!("{prefix}running_mean"), Entry::Buffer(m));
        }
        if let Some(v) = &self.running_var {
            f(&format!("{prefix}running_var"), Entry::Buffer(v));
        }
        if let Some(n) = &self.num_batches_tracked {
            f(&format!("{prefix}num_batches_tracked"), Entry::Count(n));
        }
    }

    fn parameters(&self) -> Vec<Tensor> {
        self.weight.iter().chain(&self.bias).cloned().collect()
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn extra_repr(&self) -> String {
        format!(
            "{}, eps={}, momentum={}, affine={}, bias={}, track_running_stats={}",
            self.num_features,
            py_float(self.eps),
            self.momentum.map_or("None".to_string(), py_float),
            py_bool(self.affine),
            py_bool(self.bias.is_some()),
            py_bool(self.track_running_stats)
        )
    }
}

impl fmt::Display for BatchNorm1d {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

impl fmt::Debug for BatchNorm1d {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

// Expected values are pasted verbatim from PyTorch's output.
#[cfg(test)]
#[allow(clippy::excessive_precision, clippy::approx_constant)]
mod tests {
    use super::*;
    use crate::tensor::Array;

    fn assert_close(got: &[f32], want: &[f32], rtol: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= rtol * w.abs().max(1e-2),
                "{what}: {got:?} vs {want:?}"
            );
        }
    }

    fn seeded_bn() -> BatchNorm1d {
        let bn = BatchNorm1d::new(3);
        bn.weight
            .as_ref()
            .unwrap()
            .assign(&Array::new(&[3], vec![1.0, 2.0, -0.5]));
        bn.bias
            .as_ref()
            .unwrap()
            .assign(&Array::new(&[3], vec![0.0, 0.5, 1.0]));
        bn
    }

    const X: [f32; 12] = [
        1.0, -2.0, 0.5, 3.0, 0.0, 0.25, -1.0, 4.0, 2.0, 0.5, 1.0, -1.5,
    ];

    // Python (torch 2.15):
    // >>> bn = nn.BatchNorm1d(3)
    // >>> with torch.no_grad(): bn.weight.copy_(torch.tensor([1., 2., -.5])); bn.bias.copy_(torch.tensor([0., .5, 1.]))
    // >>> x = torch.tensor([[1., -2., .5], [3., 0., .25], [-1., 4., 2.], [.5, 1., -1.5]], requires_grad=True)
    // >>> y = bn(x); y.flatten().tolist()
    // >>> bn.running_mean, bn.running_var, bn.num_batches_tracked
    // >>> w = torch.arange(12.).reshape(4, 3) / 10 - .3; (y * w).sum().backward()
    // >>> x.grad, bn.weight.grad, bn.bias.grad
    // >>> bn(x * 2); bn.running_mean, bn.running_var
    // >>> bn.eval(); bn(x)
    #[test]
    fn train_and_eval_match_pytorch() {
        let mut bn = seeded_bn();
        let x = Tensor::from_slice(&X, &[4, 3]).set_requires_grad(true);
        let y = bn.forward(&x);
        #[rustfmt::skip]
        assert_close(&y.to_vec(), &[0.08737021684646606, -2.0403385162353516, 0.9245270490646362, 1.4852933883666992,
            -0.19281959533691406, 1.0251575708389282, -1.3105528354644775, 3.502218246459961, 0.3207434415817261,
            -0.26211056113243103, 0.7309398651123047, 1.72957181930542], 1e-5, "y");
        let rm = bn.running_mean.clone().unwrap();
        let rv = bn.running_var.clone().unwrap();
        assert_close(
            &rm.to_vec(),
            &[0.08749999850988388, 0.07500000298023224, 0.03125],
            1e-6,
            "running_mean",
        );
        assert_close(
            &rv.to_vec(),
            &[1.1729166507720947, 1.524999976158142, 1.105729103088379],
            1e-6,
            "running_var",
        );
        assert_eq!(
            bn.num_batches_tracked
                .as_ref()
                .unwrap()
                .load(Ordering::Relaxed),
            1
        );

        let w = Tensor::from_vec((0..12).map(|i| i as f32 / 10.0 - 0.3).collect(), &[4, 3]);
        (&y * &w).sum().backward();
        #[rustfmt::skip]
        assert_close(&x.grad().unwrap().to_vec(), &[-0.3057290315628052, -0.15149708092212677, 0.17333942651748657,
            0.04481819272041321, -0.06651081144809723, 0.0629769042134285, -0.027210833504796028, -0.17366613447666168,
            -0.13053910434246063, 0.28812167048454285, 0.39167410135269165, -0.10577725619077682], 1e-4, "x.grad");
        let gw = bn.weight.as_ref().unwrap().grad().unwrap().to_vec();
        assert_close(
            &gw,
            &[-0.5766432881355286, 0.9006655216217041, -0.5132160782814026],
            1e-5,
            "weight.grad",
        );
        let gb = bn.bias.as_ref().unwrap().grad().unwrap().to_vec();
        assert_close(&gb, &[0.6, 1.0, 1.4], 1e-5, "bias.grad");

        bn.forward(&(&x * 2.0));
        assert_close(
            &rm.to_vec(),
            &[0.2537499964237213, 0.2175000011920929, 0.09062500298023224],
            1e-6,
            "rm2",
        );
        assert_close(
            &rv.to_vec(),
            &[2.147291660308838, 3.872499942779541, 1.8180729150772095],
            1e-6,
            "rv2",
        );

        bn.eval();
        let before = rm.to_vec();
        #[rustfmt::skip]
        assert_close(&bn.forward(&x).to_vec(), &[0.5092579126358032, -1.753706455230713, 0.8481955528259277,
            1.874103307723999, 0.27894875407218933, 0.9409005641937256, -0.8555874824523926, 4.344259262084961,
            0.2919655442237854, 0.16804659366607666, 1.295276403427124, 1.5898356437683105], 1e-5, "eval");
        assert_eq!(rm.to_vec(), before, "eval must not update running stats");
        assert_eq!(
            bn.num_batches_tracked
                .as_ref()
                .unwrap()
                .load(Ordering::Relaxed),
            2
        );
    }

    // Python:
    // >>> bn2 = nn.BatchNorm1d(3, momentum=None); bn2(x); bn2(x * 2); bn2.running_mean, bn2.running_var
    // ([1.3125, 1.125, 0.46875], [6.8229169845581055, 15.625, 5.1432294845581055])
    #[test]
    fn momentum_none_is_a_cumulative_average() {
        let bn = BatchNorm1d::with_config(
            3,
            BatchNorm1dConfig {
                momentum: None,
                ..Default::default()
            },
        );
        let x = Tensor::from_slice(&X, &[4, 3]);
        bn.forward(&x);
        bn.forward(&(&x * 2.0));
        assert_close(
            &bn.running_mean.as_ref().unwrap().to_vec(),
            &[1.3125, 1.125, 0.46875],
            1e-6,
            "rm",
        );
        assert_close(
            &bn.running_var.as_ref().unwrap().to_vec(),
            &[6.8229169845581055, 15.625, 5.1432294845581055],
            1e-6,
            "rv",
        );
    }

    // Python:
    // >>> x3 = torch.arange(24.).reshape(2, 3, 4).sin(); bn3 = nn.BatchNorm1d(3); bn3(x3)
    // >>> bn3.running_mean, bn3.running_var
    #[test]
    fn three_d_input_normalises_over_batch_and_length() {
        let bn = BatchNorm1d::new(3);
        let x = Tensor::from_vec((0..24).map(|i| (i as f32).sin()).collect(), &[2, 3, 4]);
        #[rustfmt::skip]
        assert_close(&bn.forward(&x).to_vec(), &[-0.8617630004882812, 0.8362894058227539, 0.9731602668762207,
            -0.5769888758659363, -0.6645297408103943, -1.0394712686538696, 0.2210364192724228, 1.9580882787704468,
            1.177742838859558, 0.4184495806694031, -0.8392433524131775, -1.4390188455581665, -1.9445441961288452,
            -0.013883914798498154, 1.1372402906417847, 0.4504900872707367, 0.2052912712097168, -1.044059157371521,
            -0.653742253780365, 1.0173863172531128, 1.0772302150726318, 0.976879894733429, -0.1352883130311966,
            -1.2367521524429321], 1e-4, "y3");
        assert_close(
            &bn.running_mean.as_ref().unwrap().to_vec(),
            &[
                0.04270472377538681,
                -0.039857082068920135,
                0.00939993280917406,
            ],
            1e-4,
            "rm3",
        );
        assert_close(
            &bn.running_var.as_ref().unwrap().to_vec(),
            &[0.9280640482902527, 0.933210551738739, 0.9660507440567017],
            1e-5,
            "rv3",
        );
    }

    #[test]
    fn state_dict_order_and_display() {
        // Python: list(nn.BatchNorm1d(3).state_dict()) and print(nn.BatchNorm1d(32)),
        // print(nn.BatchNorm1d(32, momentum=None, affine=False))
        let bn = BatchNorm1d::new(3);
        let sd = bn.state_dict();
        let keys: Vec<&str> = sd.keys().collect();
        assert_eq!(
            keys,
            [
                "weight",
                "bias",
                "running_mean",
                "running_var",
                "num_batches_tracked"
            ]
        );
        assert_eq!(
            bn.state_dict()
                .get("num_batches_tracked")
                .unwrap()
                .dtype_name(),
            "int64"
        );
        assert_eq!(
            BatchNorm1d::new(32).to_string(),
            "BatchNorm1d(32, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
        );
        let cfg = BatchNorm1dConfig {
            momentum: None,
            affine: false,
            ..Default::default()
        };
        assert_eq!(
            BatchNorm1d::with_config(32, cfg).to_string(),
            "BatchNorm1d(32, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=True)"
        );
    }

    #[test]
    fn without_running_stats_eval_uses_batch_statistics() {
        let mut bn = BatchNorm1d::with_config(
            3,
            BatchNorm1dConfig {
                track_running_stats: false,
                ..Default::default()
            },
        );
        assert_eq!(bn.state_dict().len(), 2);
        let x = Tensor::from_slice(&X, &[4, 3]);
        let train = bn.forward(&x).to_vec();
        bn.eval();
        assert_eq!(bn.forward(&x).to_vec(), train);
    }

    // PyTorch refuses the same input (ValueError: Expected more than 1 value per channel when
    // training); our message says it in our terms.
    #[test]
    #[should_panic(
        expected = "BatchNorm1d: training needs more than one value per channel (more than one row per batch), got input of shape [1, 4]"
    )]
    fn single_sample_in_training_panics() {
        BatchNorm1d::new(4).forward(&Tensor::ones(&[1, 4]));
    }

    #[test]
    fn single_sample_in_eval_is_fine() {
        let mut bn = BatchNorm1d::new(4);
        bn.eval();
        assert_close(
            &bn.forward(&Tensor::ones(&[1, 4])).to_vec(),
            &[0.999995; 4],
            1e-6,
            "eval",
        );
    }

    #[test]
    #[should_panic(expected = "BatchNorm1d: expected 2D or 3D input (got 1D input)")]
    fn one_d_input_panics() {
        BatchNorm1d::new(4).forward(&Tensor::ones(&[4]));
    }

    #[test]
    #[should_panic(expected = "expected input with 4 channels (dim 1), got input of shape [2, 3]")]
    fn channel_mismatch_panics() {
        BatchNorm1d::new(4).forward(&Tensor::ones(&[2, 3]));
    }
}
