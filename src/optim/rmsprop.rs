//! RMSprop, as `torch.optim.RMSprop`.

use super::{
    bool_entry, buffer_entry, check_non_negative, check_params, for_each_with_grad, impl_optimizer,
    save_params_entry, step_entry, update_elementwise, StateReader,
};
use crate::nn::{StateDict, StateTensor};
use crate::tensor::vectorized;
use crate::{Array, Result, Tensor};

/// [`RMSprop`]'s hyperparameters, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RMSpropConfig {
    /// Learning rate γ (default `1e-2`).
    pub lr: f64,
    /// Smoothing constant α of the squared-gradient average (default `0.99`).
    pub alpha: f64,
    /// Term ε added to the denominator (default `1e-8`).
    pub eps: f64,
    /// L2 penalty λ added to the gradient (default `0`).
    pub weight_decay: f64,
    /// Momentum factor μ (default `0`).
    pub momentum: f64,
    /// Normalise by the estimated variance of the gradient instead of its second moment
    /// (default `false`).
    pub centered: bool,
    /// Maximise the objective instead of minimising it (default `false`).
    pub maximize: bool,
}

impl Default for RMSpropConfig {
    fn default() -> Self {
        RMSpropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

#[derive(Clone, Debug)]
struct RMSpropState {
    step: f32,
    square_avg: Array,
    momentum_buffer: Option<Array>,
    grad_avg: Option<Array>,
}

/// RMSprop, as `torch.optim.RMSprop`.
///
/// For every parameter θ with a gradient, each [`step`](crate::optim::Optimizer::step) computes
/// (v₀ = b₀ = g₀ᵃᵛᵉ = 0)
///
/// ```text
/// g ← ∇θ                          (−∇θ if maximize)
/// if λ ≠ 0:  g ← g + λ·θ
/// v ← α·v + (1 − α)·g²
/// ṽ ← v
/// if centered:
///     gᵃᵛᵉ ← α·gᵃᵛᵉ + (1 − α)·g   (computed as lerp(gᵃᵛᵉ, g, 1 − α))
///     ṽ ← ṽ − (gᵃᵛᵉ)²
/// if μ > 0:
///     b ← μ·b + g / (√ṽ + ε)
///     θ ← θ − γ·b
/// else:
///     θ ← θ − γ·g / (√ṽ + ε)
/// ```
///
/// ε is added after the square root (TensorFlow adds it inside). State: `step`, `square_avg`,
/// `momentum_buffer` (μ > 0) and `grad_avg` (centered), allocated on a parameter's first step
/// with a gradient.
///
/// # Examples
/// ```
/// use backprop::optim::{Optimizer, RMSprop, RMSpropConfig};
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let w = Tensor::from_slice(&[1.0], &[1]).set_requires_grad(true);
/// let mut opt = RMSprop::new(vec![w.clone()], RMSpropConfig { lr: 0.01, ..Default::default() })?;
/// w.set_grad(Some(backprop::Array::new(&[1], vec![2.0])));
/// opt.step();
/// // v = 0.01·4, so θ ← 1 − 0.01·2/√0.04 = 0.9
/// assert!((w.item() - 0.9).abs() < 1e-6);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RMSprop {
    params: Vec<Tensor>,
    config: RMSpropConfig,
    initial_lr: Option<f64>,
    state: Vec<Option<RMSpropState>>,
}

impl RMSprop {
    /// An RMSprop optimizer over `params`.
    ///
    /// # Errors
    /// As PyTorch: "Invalid learning rate: {lr}", "Invalid epsilon value: {eps}", "Invalid
    /// momentum value: {momentum}", "Invalid weight_decay value: {weight_decay}", "Invalid alpha
    /// value: {alpha}", and "optimizer got an empty parameter list".
    pub fn new(params: Vec<Tensor>, config: RMSpropConfig) -> Result<Self> {
        check_non_negative("learning rate", config.lr)?;
        check_non_negative("epsilon value", config.eps)?;
        check_non_negative("momentum value", config.momentum)?;
        check_non_negative("weight_decay value", config.weight_decay)?;
        check_non_negative("alpha value", config.alpha)?;
        check_params(&params)?;
        let n = params.len();
        Ok(RMSprop {
            params,
            config,
            initial_lr: None,
            state: vec![None; n],
        })
    }

    /// The hyperparameters (`lr` is the current one).
    pub fn config(&self) -> &RMSpropConfig {
        &self.config
    }

    fn step_impl(&mut self) {
        let c = self.config;
        let k = RmsScalars {
            sign: if c.maximize { -1.0 } else { 1.0 },
            alpha: c.alpha as f32,
            one_minus_alpha: (1.0 - c.alpha) as f32,
            wd: c.weight_decay as f32,
            eps: c.eps as f32,
            mu: c.momentum as f32,
            neg_lr: (-c.lr) as f32,
        };
        let flags = RmsFlags {
            wd: c.weight_decay != 0.0,
            centered: c.centered,
            momentum: c.momentum > 0.0,
            low: k.one_minus_alpha.abs() < 0.5,
        };
        let states = &mut self.state;
        for_each_with_grad(&self.params, "RMSprop", |i, p, g| {
            let st = states[i].get_or_insert_with(|| RMSpropState {
                step: 0.0,
                square_avg: p.zeros_like(),
                momentum_buffer: (c.momentum > 0.0).then(|| p.zeros_like()),
                grad_avg: c.centered.then(|| p.zeros_like()),
            });
            st.step += 1.0;
            super::follow(&mut st.square_avg, p);
            for b in [st.momentum_buffer.as_mut(), st.grad_avg.as_mut()]
                .into_iter()
                .flatten()
            {
                super::follow(b, p);
            }
            #[cfg(feature = "cuda")]
            if p.device().is_cuda() {
                let args = crate::backend::cuda::RmsArgs {
                    sign: k.sign,
                    alpha: k.alpha,
                    one_minus_alpha: k.one_minus_alpha,
                    wd: k.wd,
                    eps: k.eps,
                    mu: k.mu,
                    neg_lr: k.neg_lr,
                    wd_on: flags.wd,
                };
                let (ga, b) = (st.grad_avg.as_mut(), st.momentum_buffer.as_mut());
                crate::backend::cuda::rmsprop_step(p, g, &mut st.square_avg, ga, b, &args);
                return;
            }
            let n = p.len();
            let (p, g) = (p.data_mut(), &g.data()[..n]);
            let sq = &mut st.square_avg.data_mut()[..n];
            let ga = st.grad_avg.as_mut().map_or(&mut [][..], |a| a.data_mut());
            let buf = st
                .momentum_buffer
                .as_mut()
                .map_or(&mut [][..], |a| a.data_mut());
            update_elementwise(p, g, [sq, ga, buf], |p, g, [sq, ga, b]| {
                vectorized(
                    #[inline(always)]
                    || rmsprop_update(&k, flags, p, g, sq, ga, b),
                )
            });
        });
    }

    fn state_dict_impl(&self) -> StateDict {
        let mut sd = StateDict::new();
        for (i, s) in self.state.iter().enumerate() {
            if let Some(s) = s {
                sd.insert(format!("state.{i}.step"), step_entry(s.step));
                sd.insert(format!("state.{i}.square_avg"), buffer_entry(&s.square_avg));
                if let Some(b) = &s.momentum_buffer {
                    sd.insert(format!("state.{i}.momentum_buffer"), buffer_entry(b));
                }
                if let Some(b) = &s.grad_avg {
                    sd.insert(format!("state.{i}.grad_avg"), buffer_entry(b));
                }
            }
        }
        let c = &self.config;
        sd.insert("param_groups.0.lr", StateTensor::f64_scalar(c.lr));
        sd.insert(
            "param_groups.0.momentum",
            StateTensor::f64_scalar(c.momentum),
        );
        sd.insert("param_groups.0.alpha", StateTensor::f64_scalar(c.alpha));
        sd.insert("param_groups.0.eps", StateTensor::f64_scalar(c.eps));
        sd.insert("param_groups.0.centered", bool_entry(c.centered));
        sd.insert(
            "param_groups.0.weight_decay",
            StateTensor::f64_scalar(c.weight_decay),
        );
        sd.insert("param_groups.0.maximize", bool_entry(c.maximize));
        if let Some(lr) = self.initial_lr {
            sd.insert("param_groups.0.initial_lr", StateTensor::f64_scalar(lr));
        }
        save_params_entry(&mut sd, self.params.len());
        sd
    }

    fn load_state_dict_impl(&mut self, sd: &StateDict) -> Result<()> {
        let mut r = StateReader::new(sd);
        r.params(self.params.len())?;
        let config = RMSpropConfig {
            lr: r.f64("param_groups.0.lr")?,
            momentum: r.f64("param_groups.0.momentum")?,
            alpha: r.f64("param_groups.0.alpha")?,
            eps: r.f64("param_groups.0.eps")?,
            centered: r.bool("param_groups.0.centered")?,
            weight_decay: r.f64("param_groups.0.weight_decay")?,
            maximize: r.bool("param_groups.0.maximize")?,
        };
        let initial_lr = r.opt_f64("param_groups.0.initial_lr")?;
        let mut state = Vec::with_capacity(self.params.len());
        for (i, p) in self.params.iter().enumerate() {
            let key = |name: &str| format!("state.{i}.{name}");
            if !r.has(&key("step")) {
                state.push(None);
                continue;
            }
            let shape = p.shape();
            state.push(Some(RMSpropState {
                step: r.f64(&key("step"))? as f32,
                square_avg: r.buffer(&key("square_avg"), &shape)?,
                momentum_buffer: if config.momentum > 0.0 {
                    Some(r.buffer(&key("momentum_buffer"), &shape)?)
                } else {
                    None
                },
                grad_avg: if config.centered {
                    Some(r.buffer(&key("grad_avg"), &shape)?)
                } else {
                    None
                },
            }));
        }
        r.finish()?;
        self.config = config;
        self.initial_lr = initial_lr;
        self.state = state;
        Ok(())
    }
}

impl_optimizer!(RMSprop);

/// The per-step constants of an RMSprop update, rounded to `f32`.
struct RmsScalars {
    /// `-1` when maximizing.
    sign: f32,
    alpha: f32,
    one_minus_alpha: f32,
    wd: f32,
    eps: f32,
    mu: f32,
    neg_lr: f32,
}

/// Which variant of the update runs (each becomes a const parameter of [`rmsprop_loop`]).
#[derive(Clone, Copy)]
struct RmsFlags {
    wd: bool,
    centered: bool,
    momentum: bool,
    /// `torch.lerp`'s formula for the centered average: `|1 − α| < 0.5`.
    low: bool,
}

/// Picks the [`rmsprop_loop`] for `f`.
#[inline(always)]
fn rmsprop_update(
    k: &RmsScalars,
    f: RmsFlags,
    p: &mut [f32],
    g: &[f32],
    sq: &mut [f32],
    ga: &mut [f32],
    b: &mut [f32],
) {
    macro_rules! pick {
        ($($wd:literal $c:literal $m:literal),*) => {
            match (f.wd, f.centered, f.momentum) {
                $(($wd, $c, $m) => if f.low {
                    rmsprop_loop::<$wd, $c, $m, true>(k, p, g, sq, ga, b)
                } else {
                    rmsprop_loop::<$wd, $c, $m, false>(k, p, g, sq, ga, b)
                },)*
            }
        };
    }
    pick!(false false false, false false true, false true false, false true true,
          true false false, true false true, true true false, true true true)
}

/// One RMSprop update, elementwise, in PyTorch's order of operations (see [`RMSprop`]). Every
/// choice is a const parameter, so the loop has no branch and vectorizes (a loop-invariant
/// branch left inside costs several times the arithmetic here).
#[inline(always)]
fn rmsprop_loop<const WD: bool, const CENTERED: bool, const MOMENTUM: bool, const LOW: bool>(
    k: &RmsScalars,
    p: &mut [f32],
    g: &[f32],
    sq: &mut [f32],
    ga: &mut [f32],
    b: &mut [f32],
) {
    let n = p.len();
    let (g, sq) = (&g[..n], &mut sq[..n]);
    let ga = if CENTERED { &mut ga[..n] } else { &mut ga[..0] };
    let b = if MOMENTUM { &mut b[..n] } else { &mut b[..0] };
    let w = k.one_minus_alpha;
    for j in 0..n {
        let mut d = g[j] * k.sign;
        if WD {
            d += k.wd * p[j];
        }
        let s = sq[j] * k.alpha + (w * d) * d;
        sq[j] = s;
        let avg = if CENTERED {
            // torch.lerp(grad_avg, d, 1 − α), its formula chosen by |weight| < 0.5.
            let a = if LOW {
                ga[j] + w * (d - ga[j])
            } else {
                d - (d - ga[j]) * (1.0 - w)
            };
            ga[j] = a;
            // addcmul(value=-1): v + (−1·gᵃᵛᵉ)·gᵃᵛᵉ
            (s + (-a) * a).sqrt()
        } else {
            s.sqrt()
        } + k.eps;
        if MOMENTUM {
            let bn = b[j] * k.mu + d / avg;
            b[j] = bn;
            p[j] += k.neg_lr * bn;
        } else {
            p[j] += (k.neg_lr * d) / avg;
        }
    }
}

#[cfg(test)]
mod tests {
    //! Expected values from PyTorch 2.x with the generator in `optim::test_util`, e.g.
    //! `run(lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True, foreach=False))`.
    use super::*;
    use crate::optim::test_util::{assert_close, check_round_trip, params, run20, run_steps};
    use crate::optim::Optimizer;

    fn rmsprop(config: RMSpropConfig) -> Vec<f32> {
        run20(RMSprop::new(params(), config).unwrap())
    }

    const BASE: RMSpropConfig = RMSpropConfig {
        lr: 0.01,
        alpha: 0.99,
        eps: 1e-8,
        weight_decay: 0.0,
        momentum: 0.0,
        centered: false,
        maximize: false,
    };

    // `centered_small_alpha` covers lerp's `weight >= 0.5` branch. Its settings (lr 0.1, eps 1e-2)
    // avoid a regime where √(v − (gᵃᵛᵉ)²) cancels catastrophically and 1-ulp differences (PyTorch
    // fuses multiply-adds) grow past 1e-5.
    /// `run(lambda ps: torch.optim.RMSprop(ps, lr=0.01, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_plain() {
        let want = [0.9640986, -0.53982145, 1.2675533, 0.49035272, -0.06660808, 0.003451,
                    0.18430579, 1.0657257, 0.29682335];
        assert_close(&rmsprop(BASE), &want);
    }

    /// `run(lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_momentum() {
        let want = [0.8591089, 0.17140503, -1.669448, 0.50468826, 0.26475707, 0.10552228,
                    1.6659888, 1.1703318, -1.6891463];
        assert_close(&rmsprop(RMSpropConfig { momentum: 0.9, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_centered() {
        let want = [0.9682143, -0.5190276, 1.238842, 0.4917166, -0.04870414, 0.0030183545,
                    0.2002965, 1.0608665, 0.2792611];
        assert_close(&rmsprop(RMSpropConfig { centered: true, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_centered_momentum() {
        let want = [0.9996702, -0.14856218, 0.6169731, 0.4999096, 0.2397861, 0.00014500952,
                    0.61007154, 0.9976852, -0.19184583];
        assert_close(&rmsprop(RMSpropConfig { centered: true, momentum: 0.5, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.RMSprop(ps, lr=0.1, centered=True, alpha=0.3, eps=1e-2, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_centered_small_alpha() {
        let want = [0.952075, -0.04042148, -1.0516989, 0.5431359, 0.24920419, 0.036558516,
                    0.97070795, 0.96950656, -0.9179716];
        assert_close(&rmsprop(RMSpropConfig { lr: 0.1, centered: true, alpha: 0.3, eps: 1e-2, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.RMSprop(ps, lr=0.01, weight_decay=0.1, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_weight_decay() {
        let want = [0.89785093, -0.5398214, 1.2701358, 0.47667947, -0.069749445, 0.0034510016,
                    0.17914169, 1.0049187, 0.29941052];
        assert_close(&rmsprop(RMSpropConfig { weight_decay: 0.1, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.RMSprop(ps, lr=0.01, maximize=True, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_maximize() {
        let want = [-0.4212595, -2.0513718, 2.8081396, -0.8422881, -1.5636886, 1.1018951,
                    -1.1001756, 2.2618227, 1.5883046];
        assert_close(&rmsprop(RMSpropConfig { maximize: true, ..BASE }), &want);
    }

    #[test]
    fn state_dict_names_match_pytorch() {
        let mut opt = RMSprop::new(
            params(),
            RMSpropConfig {
                momentum: 0.5,
                centered: true,
                ..BASE
            },
        )
        .unwrap();
        run_steps(&mut opt, 1, 1);
        let keys: Vec<_> = opt.state_dict().keys().map(str::to_string).collect();
        assert_eq!(
            keys[..4],
            [
                "state.0.step",
                "state.0.square_avg",
                "state.0.momentum_buffer",
                "state.0.grad_avg"
            ]
        );
        assert_eq!(
            keys[4..],
            [
                "param_groups.0.lr",
                "param_groups.0.momentum",
                "param_groups.0.alpha",
                "param_groups.0.eps",
                "param_groups.0.centered",
                "param_groups.0.weight_decay",
                "param_groups.0.maximize",
                "param_groups.0.params"
            ]
        );
    }

    #[test]
    fn state_dict_round_trip_continues_bit_identically() {
        check_round_trip(|ps| {
            RMSprop::new(
                ps,
                RMSpropConfig {
                    momentum: 0.5,
                    centered: true,
                    ..BASE
                },
            )
            .unwrap()
        });
        check_round_trip(|ps| RMSprop::new(ps, BASE).unwrap());
    }

    #[test]
    fn validation_messages_match_pytorch() {
        let err = |c: RMSpropConfig| RMSprop::new(params(), c).unwrap_err().to_string();
        assert_eq!(
            err(RMSpropConfig { lr: -1.0, ..BASE }),
            "Invalid learning rate: -1"
        );
        assert_eq!(
            err(RMSpropConfig { eps: -1.0, ..BASE }),
            "Invalid epsilon value: -1"
        );
        assert_eq!(
            err(RMSpropConfig {
                momentum: -1.0,
                ..BASE
            }),
            "Invalid momentum value: -1"
        );
        assert_eq!(
            err(RMSpropConfig {
                weight_decay: -1.0,
                ..BASE
            }),
            "Invalid weight_decay value: -1"
        );
        assert_eq!(
            err(RMSpropConfig {
                alpha: -1.0,
                ..BASE
            }),
            "Invalid alpha value: -1"
        );
        assert_eq!(RMSpropConfig::default().lr, 1e-2);
    }
}
