//! Stochastic gradient descent, optionally with momentum, as `torch.optim.SGD`.

use super::{
    bool_entry, buffer_entry, check_non_negative, check_params, for_each_with_grad, impl_optimizer,
    save_params_entry, update_elementwise, StateReader,
};
use crate::nn::{StateDict, StateTensor};
use crate::tensor::vectorized;
use crate::{Array, Error, Result, Tensor};

/// [`SGD`]'s hyperparameters, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SGDConfig {
    /// Learning rate γ (default `1e-3`, PyTorch's default since 2.4).
    pub lr: f64,
    /// Momentum factor μ (default `0`).
    pub momentum: f64,
    /// Dampening τ for momentum (default `0`).
    pub dampening: f64,
    /// L2 penalty λ, added to the gradient (default `0`).
    pub weight_decay: f64,
    /// Nesterov momentum (default `false`); needs `momentum > 0` and `dampening == 0`.
    pub nesterov: bool,
    /// Maximise the objective instead of minimising it (default `false`).
    pub maximize: bool,
}

impl Default for SGDConfig {
    fn default() -> Self {
        SGDConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

/// Stochastic gradient descent (optionally with momentum), as `torch.optim.SGD`.
///
/// For every parameter θ with a gradient, each [`step`](crate::optim::Optimizer::step) computes
///
/// ```text
/// g ← ∇θ                          (−∇θ if maximize)
/// if λ ≠ 0:  g ← g + λ·θ
/// if μ ≠ 0:
///     if first step:  b ← g        (no dampening: the buffer is a copy of g)
///     else:           b ← μ·b + (1 − τ)·g
///     if nesterov:    g ← g + μ·b
///     else:           g ← b
/// θ ← θ − γ·g
/// ```
///
/// **Trap:** the first momentum step sets the buffer to the gradient itself, not `(1 − τ)·g`, so
/// with dampening the first step is larger than the steady-state formula suggests (PyTorch does
/// the same). The state is `momentum_buffer` (only when μ ≠ 0), allocated on a parameter's first
/// step with a gradient.
///
/// # Examples
/// ```
/// use backprop::optim::{Optimizer, SGD, SGDConfig};
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let w = Tensor::from_slice(&[1.0, -1.0], &[2]).set_requires_grad(true);
/// let mut opt = SGD::new(vec![w.clone()], SGDConfig { lr: 0.1, momentum: 0.9, ..Default::default() })?;
/// opt.zero_grad();
/// (&w * &w).sum().backward(); // grad = 2w
/// opt.step();
/// assert_eq!(w.to_vec(), vec![0.8, -0.8]); // first momentum step: buf = grad
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SGD {
    params: Vec<Tensor>,
    config: SGDConfig,
    initial_lr: Option<f64>,
    momentum_buffer: Vec<Option<Array>>,
}

impl SGD {
    /// An SGD optimizer over `params`.
    ///
    /// # Errors
    /// As PyTorch: "Invalid learning rate: {lr}", "Invalid momentum value: {momentum}",
    /// "Invalid weight_decay value: {weight_decay}", "Nesterov momentum requires a momentum and
    /// zero dampening", and "optimizer got an empty parameter list".
    pub fn new(params: Vec<Tensor>, config: SGDConfig) -> Result<Self> {
        check_non_negative("learning rate", config.lr)?;
        check_non_negative("momentum value", config.momentum)?;
        check_non_negative("weight_decay value", config.weight_decay)?;
        if config.nesterov && (config.momentum <= 0.0 || config.dampening != 0.0) {
            return Err(Error::invalid(
                "Nesterov momentum requires a momentum and zero dampening",
            ));
        }
        check_params(&params)?;
        let n = params.len();
        Ok(SGD {
            params,
            config,
            initial_lr: None,
            momentum_buffer: vec![None; n],
        })
    }

    /// The hyperparameters (`lr` is the current one).
    pub fn config(&self) -> &SGDConfig {
        &self.config
    }

    // The update reads and writes several slices in lockstep; indexing keeps it legible.
    #[allow(clippy::needless_range_loop)]
    fn step_impl(&mut self) {
        let c = self.config;
        // Python floats become f32 where PyTorch hands them to an f32 tensor op.
        let wd = c.weight_decay as f32;
        let mu = c.momentum as f32;
        let one_minus_damp = (1.0 - c.dampening) as f32;
        let neg_lr = (-c.lr) as f32;
        let buffers = &mut self.momentum_buffer;
        let sign = if c.maximize { -1.0f32 } else { 1.0 };
        for_each_with_grad(&self.params, "SGD", |i, p, g| {
            let first = buffers[i].is_none();
            if c.momentum != 0.0 && first {
                buffers[i] = Some(p.zeros_like());
            }
            if let Some(b) = buffers[i].as_mut() {
                super::follow(b, p);
            }
            #[cfg(feature = "cuda")]
            if p.device().is_cuda() {
                let k = crate::backend::cuda::SgdArgs {
                    sign,
                    wd,
                    mu,
                    one_minus_damp,
                    neg_lr,
                    wd_on: c.weight_decay != 0.0,
                    first,
                    nesterov: c.nesterov,
                };
                let b = if c.momentum != 0.0 {
                    buffers[i].as_mut()
                } else {
                    None
                };
                crate::backend::cuda::sgd_step(p, g, b, &k);
                return;
            }
            let n = p.len();
            let (p, g) = (p.data_mut(), &g.data()[..n]);
            let k = SgdScalars {
                sign,
                wd,
                mu,
                one_minus_damp,
                neg_lr,
            };
            if c.momentum == 0.0 {
                update_elementwise(p, g, [], |p, g, []| {
                    vectorized(
                        #[inline(always)]
                        || match c.weight_decay != 0.0 {
                            true => sgd_plain::<true>(&k, p, g),
                            false => sgd_plain::<false>(&k, p, g),
                        },
                    )
                });
                return;
            }
            let b = buffers[i].as_mut().expect("momentum buffer");
            let b = &mut b.data_mut()[..n];
            let wd_on = c.weight_decay != 0.0;
            let update = |p: &mut [f32], g: &[f32], [b]: [&mut [f32]; 1]| {
                vectorized(
                    #[inline(always)]
                    || match (wd_on, first, c.nesterov) {
                        (false, false, false) => sgd_momentum::<false, false, false>(&k, p, g, b),
                        (false, false, true) => sgd_momentum::<false, false, true>(&k, p, g, b),
                        (false, true, false) => sgd_momentum::<false, true, false>(&k, p, g, b),
                        (false, true, true) => sgd_momentum::<false, true, true>(&k, p, g, b),
                        (true, false, false) => sgd_momentum::<true, false, false>(&k, p, g, b),
                        (true, false, true) => sgd_momentum::<true, false, true>(&k, p, g, b),
                        (true, true, false) => sgd_momentum::<true, true, false>(&k, p, g, b),
                        (true, true, true) => sgd_momentum::<true, true, true>(&k, p, g, b),
                    },
                )
            };
            update_elementwise(p, g, [b], update);
        });
    }

    fn state_dict_impl(&self) -> StateDict {
        let mut sd = StateDict::new();
        for (i, b) in self.momentum_buffer.iter().enumerate() {
            if let Some(b) = b {
                sd.insert(format!("state.{i}.momentum_buffer"), buffer_entry(b));
            }
        }
        let c = &self.config;
        sd.insert("param_groups.0.lr", StateTensor::f64_scalar(c.lr));
        sd.insert(
            "param_groups.0.momentum",
            StateTensor::f64_scalar(c.momentum),
        );
        sd.insert(
            "param_groups.0.dampening",
            StateTensor::f64_scalar(c.dampening),
        );
        sd.insert(
            "param_groups.0.weight_decay",
            StateTensor::f64_scalar(c.weight_decay),
        );
        sd.insert("param_groups.0.nesterov", bool_entry(c.nesterov));
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
        let config = SGDConfig {
            lr: r.f64("param_groups.0.lr")?,
            momentum: r.f64("param_groups.0.momentum")?,
            dampening: r.f64("param_groups.0.dampening")?,
            weight_decay: r.f64("param_groups.0.weight_decay")?,
            nesterov: r.bool("param_groups.0.nesterov")?,
            maximize: r.bool("param_groups.0.maximize")?,
        };
        let initial_lr = r.opt_f64("param_groups.0.initial_lr")?;
        let mut buffers = Vec::with_capacity(self.params.len());
        for (i, p) in self.params.iter().enumerate() {
            let key = format!("state.{i}.momentum_buffer");
            buffers.push(if r.has(&key) {
                Some(r.buffer(&key, &p.shape())?)
            } else {
                None
            });
        }
        r.finish()?;
        self.config = config;
        self.initial_lr = initial_lr;
        self.momentum_buffer = buffers;
        Ok(())
    }
}

impl_optimizer!(SGD);

/// The per-step constants of an SGD update, rounded to `f32`.
struct SgdScalars {
    /// `-1` when maximizing.
    sign: f32,
    wd: f32,
    mu: f32,
    one_minus_damp: f32,
    neg_lr: f32,
}

/// `d = ±g (+ λθ)`; `WD`: weight decay is on.
#[inline(always)]
fn sgd_direction<const WD: bool>(k: &SgdScalars, pj: f32, gj: f32) -> f32 {
    let d = gj * k.sign;
    if WD {
        d + k.wd * pj
    } else {
        d
    }
}

/// `θ ← θ − γ·d`. Every choice is a const parameter: a loop-invariant branch left inside the
/// loop can halve its speed (see `adam_update`).
#[inline(always)]
fn sgd_plain<const WD: bool>(k: &SgdScalars, p: &mut [f32], g: &[f32]) {
    for (pj, &gj) in p.iter_mut().zip(g) {
        *pj += k.neg_lr * sgd_direction::<WD>(k, *pj, gj);
    }
}

/// The momentum update: `b ← d` on the first step (`FIRST`), else `b ← μb + (1 − τ)d`; then
/// `θ ← θ − γ·(d + μb)` (`NESTEROV`) or `θ ← θ − γ·b`.
#[inline(always)]
fn sgd_momentum<const WD: bool, const FIRST: bool, const NESTEROV: bool>(
    k: &SgdScalars,
    p: &mut [f32],
    g: &[f32],
    b: &mut [f32],
) {
    let n = p.len();
    let (g, b) = (&g[..n], &mut b[..n]);
    for ((pj, &gj), bj) in p.iter_mut().zip(g).zip(b.iter_mut()) {
        let d = sgd_direction::<WD>(k, *pj, gj);
        let bn = if FIRST {
            d
        } else {
            *bj * k.mu + k.one_minus_damp * d
        };
        *bj = bn;
        let step = if NESTEROV { d + k.mu * bn } else { bn };
        *pj += k.neg_lr * step;
    }
}

#[cfg(test)]
mod tests {
    //! Expected values from PyTorch 2.x with the generator in `optim::test_util`, e.g.
    //! `run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, foreach=False))`.
    use super::*;
    use crate::optim::test_util::{assert_close, check_round_trip, params, run20};
    use crate::optim::Optimizer;

    fn sgd(config: SGDConfig) -> Vec<f32> {
        run20(SGD::new(params(), config).unwrap())
    }

    const BASE: SGDConfig = SGDConfig {
        lr: 0.05,
        momentum: 0.0,
        dampening: 0.0,
        weight_decay: 0.0,
        nesterov: false,
        maximize: false,
    };

    /// `run(lambda ps: torch.optim.SGD(ps, lr=0.05, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_plain() {
        let want = [0.82075703, -0.14589198, 0.808063, 0.4844962, 0.08970224, 0.061767343,
                    0.35139227, 1.3420103, -0.119746715];
        assert_close(&sgd(BASE), &want);
    }

    /// `run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_momentum() {
        let want = [1.0605652, -0.41360092, -2.0253878, 0.5207019, 0.05425046, 0.015467062,
                    1.6365784, 0.89138484, -1.8639277];
        assert_close(&sgd(SGDConfig { momentum: 0.9, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.5, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_dampening() {
        let want = [1.1729263, 0.048752118, -1.1718094, 0.37447095, 0.55928, -0.12944905,
                    1.3852642, 1.0824814, -1.522859];
        assert_close(&sgd(SGDConfig { momentum: 0.9, dampening: 0.5, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_nesterov() {
        let want = [1.0345355, -0.14396665, -1.7817088, 0.50847757, 0.1822491, 0.013027663,
                    1.4283869, 0.90987426, -1.5813824];
        assert_close(&sgd(SGDConfig { momentum: 0.9, nesterov: true, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.SGD(ps, lr=0.05, weight_decay=0.1, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_weight_decay() {
        let want = [0.7771267, -0.13050944, 0.70741695, 0.47064832, 0.096094705, 0.05681549,
                    0.34875697, 1.2555008, -0.13474053];
        assert_close(&sgd(SGDConfig { weight_decay: 0.1, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.SGD(ps, lr=0.05, maximize=True, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_maximize() {
        let want = [-0.32664892, -8.073002, 3.9158492, -6.0466146, -3.947851, 1.2531748,
                    -1.9104997, 1.7241492, 2.949964];
        assert_close(&sgd(SGDConfig { maximize: true, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.2, maximize=True, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_all_options() {
        let want = [-1.9794483, -25.795624, 4.815406, -38.831142, -9.975283, 2.9584482, -3.6458113,
                    1.4119905, 5.1293907];
        assert_close(&sgd(SGDConfig { momentum: 0.5, nesterov: true, weight_decay: 0.2, maximize: true, ..BASE }), &want);
    }

    #[test]
    fn first_momentum_step_copies_the_gradient() {
        // With dampening 0.5, step 1 moves by lr·g (buf = g), not lr·0.5·g.
        let w = Tensor::from_slice(&[1.0], &[1]).set_requires_grad(true);
        let cfg = SGDConfig {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0.5,
            ..Default::default()
        };
        let mut opt = SGD::new(vec![w.clone()], cfg).unwrap();
        w.set_grad(Some(Array::new(&[1], vec![1.0])));
        opt.step();
        assert_eq!(w.to_vec(), vec![0.9]);
        // Step 2: buf = 0.9·1 + 0.5·1 = 1.4.
        opt.step();
        assert!((w.to_vec()[0] - (0.9 - 0.14)).abs() < 1e-7);
    }

    #[test]
    fn momentum_buffer_has_the_parameter_shape() {
        let mut opt = SGD::new(
            params(),
            SGDConfig {
                momentum: 0.9,
                ..BASE
            },
        )
        .unwrap();
        crate::optim::test_util::run_steps(&mut opt, 1, 6);
        let sd = opt.state_dict();
        assert_eq!(sd.get("state.1.momentum_buffer").unwrap().shape, vec![2, 2]);
        assert!(!sd.contains("state.2.momentum_buffer"));
        assert_eq!(
            sd.keys().collect::<Vec<_>>(),
            vec![
                "state.0.momentum_buffer",
                "state.1.momentum_buffer",
                "param_groups.0.lr",
                "param_groups.0.momentum",
                "param_groups.0.dampening",
                "param_groups.0.weight_decay",
                "param_groups.0.nesterov",
                "param_groups.0.maximize",
                "param_groups.0.params",
            ]
        );
    }

    #[test]
    fn state_dict_round_trip_continues_bit_identically() {
        check_round_trip(|ps| {
            SGD::new(
                ps,
                SGDConfig {
                    momentum: 0.9,
                    nesterov: true,
                    weight_decay: 0.1,
                    ..BASE
                },
            )
            .unwrap()
        });
        check_round_trip(|ps| SGD::new(ps, BASE).unwrap());
    }

    #[test]
    fn load_rejects_wrong_shapes_and_keys() {
        let mut a = SGD::new(
            params(),
            SGDConfig {
                momentum: 0.9,
                ..BASE
            },
        )
        .unwrap();
        crate::optim::test_util::run_steps(&mut a, 1, 6);
        let mut sd = a.state_dict();
        sd.insert(
            "state.0.momentum_buffer",
            StateTensor::f32(&[4], vec![0.0; 4]),
        );
        let mut b = SGD::new(params(), BASE).unwrap();
        let err = b.load_state_dict(&sd).unwrap_err();
        assert!(
            matches!(err, Error::StateMismatch { ref key, .. } if key == "state.0.momentum_buffer"),
            "{err}"
        );
        assert_eq!(b.lr(), 0.05, "a failed load leaves the optimizer unchanged");
        let mut sd = a.state_dict();
        sd.insert("state.0.exp_avg", StateTensor::f32(&[5], vec![0.0; 5]));
        assert!(
            matches!(b.load_state_dict(&sd), Err(Error::UnexpectedKey(k)) if k == "state.0.exp_avg")
        );
        let mut few = SGD::new(params()[..2].to_vec(), BASE).unwrap();
        let err = few
            .load_state_dict(&a.state_dict())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("loaded state dict contains a parameter group that doesn't match"),
            "{err}"
        );
    }

    #[test]
    fn validation_messages_match_pytorch() {
        let err = |c: SGDConfig| SGD::new(params(), c).unwrap_err().to_string();
        assert_eq!(
            err(SGDConfig { lr: -1.0, ..BASE }),
            "Invalid learning rate: -1"
        );
        assert_eq!(
            err(SGDConfig {
                momentum: -0.5,
                ..BASE
            }),
            "Invalid momentum value: -0.5"
        );
        assert_eq!(
            err(SGDConfig {
                weight_decay: -1e-3,
                ..BASE
            }),
            "Invalid weight_decay value: -0.001"
        );
        assert_eq!(
            err(SGDConfig {
                nesterov: true,
                ..BASE
            }),
            "Nesterov momentum requires a momentum and zero dampening"
        );
        assert_eq!(
            err(SGDConfig {
                nesterov: true,
                momentum: 0.9,
                dampening: 0.1,
                ..BASE
            }),
            "Nesterov momentum requires a momentum and zero dampening"
        );
        assert_eq!(
            SGD::new(vec![], BASE).unwrap_err().to_string(),
            "optimizer got an empty parameter list"
        );
        assert_eq!(SGDConfig::default().lr, 1e-3);
    }
}
