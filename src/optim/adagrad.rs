//! Adagrad, as `torch.optim.Adagrad`.

use super::{
    bool_entry, buffer_entry, check_non_negative, check_params, for_each_with_grad, impl_optimizer,
    save_params_entry, step_entry, update_elementwise, StateReader,
};
use crate::nn::{StateDict, StateTensor};
use crate::tensor::vectorized;
use crate::{Array, Result, Tensor};

/// [`Adagrad`]'s hyperparameters, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate γ (default `1e-2`).
    pub lr: f64,
    /// Learning-rate decay η: step t uses γ / (1 + (t − 1)·η) (default `0`).
    pub lr_decay: f64,
    /// L2 penalty λ added to the gradient (default `0`).
    pub weight_decay: f64,
    /// Starting value τ of the sum of squared gradients (default `0`).
    pub initial_accumulator_value: f64,
    /// Term ε added to the denominator (default `1e-10`).
    pub eps: f64,
    /// Maximise the objective instead of minimising it (default `false`).
    pub maximize: bool,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

#[derive(Clone, Debug)]
struct AdagradState {
    step: f32,
    sum: Array,
}

/// Adagrad, as `torch.optim.Adagrad`.
///
/// For every parameter θ with a gradient, each [`step`](crate::optim::Optimizer::step) computes
/// (the sum starts at τ)
///
/// ```text
/// g ← ∇θ                          (−∇θ if maximize)
/// γ̃ ← γ / (1 + (t − 1)·η)
/// if λ ≠ 0:  g ← g + λ·θ
/// sum ← sum + g²
/// θ ← θ − γ̃ · g / (√sum + ε)
/// ```
///
/// Unlike the other optimizers, and as in PyTorch, the state (`step`, `sum`) is created for every
/// parameter by the constructor, so it is in the state dict from the start.
///
/// # Examples
/// ```
/// use backprop::optim::{Adagrad, AdagradConfig, Optimizer};
/// use backprop::Tensor;
/// # fn main() -> backprop::Result<()> {
/// let w = Tensor::from_slice(&[1.0], &[1]).set_requires_grad(true);
/// let mut opt = Adagrad::new(vec![w.clone()], AdagradConfig { lr: 0.5, ..Default::default() })?;
/// w.set_grad(Some(backprop::Array::new(&[1], vec![3.0])));
/// opt.step();
/// // sum = 9, so θ ← 1 − 0.5·3/√9 = 0.5
/// assert_eq!(w.item(), 0.5);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Adagrad {
    params: Vec<Tensor>,
    config: AdagradConfig,
    initial_lr: Option<f64>,
    state: Vec<AdagradState>,
}

impl Adagrad {
    /// An Adagrad optimizer over `params`.
    ///
    /// # Errors
    /// As PyTorch: "Invalid learning rate: {lr}", "Invalid lr_decay value: {lr_decay}", "Invalid
    /// weight_decay value: {weight_decay}", "Invalid initial_accumulator_value value: {value}",
    /// "Invalid epsilon value: {eps}", and "optimizer got an empty parameter list".
    pub fn new(params: Vec<Tensor>, config: AdagradConfig) -> Result<Self> {
        check_non_negative("learning rate", config.lr)?;
        check_non_negative("lr_decay value", config.lr_decay)?;
        check_non_negative("weight_decay value", config.weight_decay)?;
        check_non_negative(
            "initial_accumulator_value value",
            config.initial_accumulator_value,
        )?;
        check_non_negative("epsilon value", config.eps)?;
        check_params(&params)?;
        let init = config.initial_accumulator_value as f32;
        let state = params
            .iter()
            .map(|p| AdagradState {
                step: 0.0,
                sum: Array::full(&p.shape(), init),
            })
            .collect();
        Ok(Adagrad {
            params,
            config,
            initial_lr: None,
            state,
        })
    }

    /// The hyperparameters (`lr` is the current one).
    pub fn config(&self) -> &AdagradConfig {
        &self.config
    }

    fn step_impl(&mut self) {
        let c = self.config;
        let (wd, eps) = (c.weight_decay as f32, c.eps as f32);
        let sign = if c.maximize { -1.0f32 } else { 1.0 };
        let states = &mut self.state;
        for_each_with_grad(&self.params, "Adagrad", |i, p, g| {
            let st = &mut states[i];
            st.step += 1.0;
            let clr = c.lr / (1.0 + (st.step as f64 - 1.0) * c.lr_decay);
            let neg_clr = (-clr) as f32;
            let n = p.len();
            let (p, g, sum) = (p.data_mut(), &g.data()[..n], &mut st.sum.data_mut()[..n]);
            // d = ±g (+ λθ); sum += d²; θ += −γ·d / (√sum + ε). The weight-decay choice is a
            // const parameter, so the loop has no branch and vectorizes.
            let update = |p: &mut [f32], g: &[f32], [sum]: [&mut [f32]; 1]| {
                #[inline(always)]
                fn run<const WD: bool>(
                    p: &mut [f32],
                    g: &[f32],
                    sum: &mut [f32],
                    (sign, wd, eps, neg_clr): (f32, f32, f32, f32),
                ) {
                    for ((pj, &gj), sj) in p.iter_mut().zip(g).zip(sum.iter_mut()) {
                        let mut d = gj * sign;
                        if WD {
                            d += wd * *pj;
                        }
                        *sj += d * d;
                        *pj += (neg_clr * d) / (sj.sqrt() + eps);
                    }
                }
                let k = (sign, wd, eps, neg_clr);
                vectorized(
                    #[inline(always)]
                    || {
                        if c.weight_decay != 0.0 {
                            run::<true>(p, g, sum, k)
                        } else {
                            run::<false>(p, g, sum, k)
                        }
                    },
                )
            };
            update_elementwise(p, g, [sum], update);
        });
    }

    fn state_dict_impl(&self) -> StateDict {
        let mut sd = StateDict::new();
        for (i, s) in self.state.iter().enumerate() {
            sd.insert(format!("state.{i}.step"), step_entry(s.step));
            sd.insert(format!("state.{i}.sum"), buffer_entry(&s.sum));
        }
        let c = &self.config;
        sd.insert("param_groups.0.lr", StateTensor::f64_scalar(c.lr));
        sd.insert(
            "param_groups.0.lr_decay",
            StateTensor::f64_scalar(c.lr_decay),
        );
        sd.insert("param_groups.0.eps", StateTensor::f64_scalar(c.eps));
        sd.insert(
            "param_groups.0.weight_decay",
            StateTensor::f64_scalar(c.weight_decay),
        );
        sd.insert(
            "param_groups.0.initial_accumulator_value",
            StateTensor::f64_scalar(c.initial_accumulator_value),
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
        let config = AdagradConfig {
            lr: r.f64("param_groups.0.lr")?,
            lr_decay: r.f64("param_groups.0.lr_decay")?,
            eps: r.f64("param_groups.0.eps")?,
            weight_decay: r.f64("param_groups.0.weight_decay")?,
            initial_accumulator_value: r.f64("param_groups.0.initial_accumulator_value")?,
            maximize: r.bool("param_groups.0.maximize")?,
        };
        let initial_lr = r.opt_f64("param_groups.0.initial_lr")?;
        let mut state = Vec::with_capacity(self.params.len());
        for (i, p) in self.params.iter().enumerate() {
            state.push(AdagradState {
                step: r.f64(&format!("state.{i}.step"))? as f32,
                sum: r.buffer(&format!("state.{i}.sum"), &p.shape())?,
            });
        }
        r.finish()?;
        self.config = config;
        self.initial_lr = initial_lr;
        self.state = state;
        Ok(())
    }
}

impl_optimizer!(Adagrad);

#[cfg(test)]
mod tests {
    //! Expected values from PyTorch 2.x with the generator in `optim::test_util`, e.g.
    //! `run(lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.1, foreach=False))`.
    use super::*;
    use crate::optim::test_util::{assert_close, check_round_trip, params, run20};
    use crate::optim::Optimizer;

    fn adagrad(config: AdagradConfig) -> Vec<f32> {
        run20(Adagrad::new(params(), config).unwrap())
    }

    const BASE: AdagradConfig = AdagradConfig {
        lr: 0.1,
        lr_decay: 0.0,
        weight_decay: 0.0,
        initial_accumulator_value: 0.0,
        eps: 1e-10,
        maximize: false,
    };

    /// `run(lambda ps: torch.optim.Adagrad(ps, lr=0.1, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_plain() {
        let want = [0.9603524, -0.55068743, 1.2804077, 0.48870766, -0.07657598, 0.004029762,
                    0.17676362, 1.069313, 0.3047254];
        assert_close(&adagrad(BASE), &want);
    }

    /// `run(lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.1, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_lr_decay() {
        let want = [0.8808288, -0.74351406, 1.5176612, 0.44429538, -0.2530568, 0.022054538,
                    0.024632908, 1.1424531, 0.46720266];
        assert_close(&adagrad(AdagradConfig { lr_decay: 0.1, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.Adagrad(ps, lr=0.1, weight_decay=0.1, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_weight_decay() {
        let want = [0.8960287, -0.55068743, 1.2829317, 0.47533333, -0.07960756, 0.0040297634,
                    0.17170621, 1.0102398, 0.3072661];
        assert_close(&adagrad(AdagradConfig { weight_decay: 0.1, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.5, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_initial_accumulator_value() {
        let want = [0.9093846, -0.5584702, 1.3017019, 0.48276636, -0.094158396, 0.018023772,
                    0.15472612, 1.2098101, 0.3177374];
        assert_close(&adagrad(AdagradConfig { initial_accumulator_value: 0.5, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.Adagrad(ps, lr=0.1, eps=1e-3, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_eps() {
        let want = [0.96014833, -0.5508079, 1.2806346, 0.48866934, -0.076752976, 0.0040674177,
                    0.17655608, 1.0698595, 0.30488598];
        assert_close(&adagrad(AdagradConfig { eps: 1e-3, ..BASE }), &want);
    }

    /// `run(lambda ps: torch.optim.Adagrad(ps, lr=0.1, maximize=True, foreach=False))`
    #[test]
    #[rustfmt::skip]
    fn matches_pytorch_maximize() {
        let want = [-0.4071046, -2.0370371, 2.794069, -0.8283118, -1.5493339, 1.0933981,
                    -1.0912611, 2.2530062, 1.579435];
        assert_close(&adagrad(AdagradConfig { maximize: true, ..BASE }), &want);
    }

    #[test]
    fn state_exists_from_construction() {
        let opt = Adagrad::new(
            params(),
            AdagradConfig {
                initial_accumulator_value: 0.5,
                ..BASE
            },
        )
        .unwrap();
        let sd = opt.state_dict();
        assert_eq!(sd.get("state.2.step").unwrap().scalar_value(), Some(0.0));
        assert_eq!(sd.get("state.1.sum").unwrap().shape, vec![2, 2]);
        assert_eq!(
            sd.get("state.1.sum").unwrap().as_f32(),
            Some(&[0.5f32; 4][..])
        );
    }

    #[test]
    fn state_dict_round_trip_continues_bit_identically() {
        check_round_trip(|ps| {
            Adagrad::new(
                ps,
                AdagradConfig {
                    lr_decay: 0.1,
                    weight_decay: 0.1,
                    ..BASE
                },
            )
            .unwrap()
        });
    }

    #[test]
    fn validation_messages_match_pytorch() {
        let err = |c: AdagradConfig| Adagrad::new(params(), c).unwrap_err().to_string();
        assert_eq!(
            err(AdagradConfig { lr: -1.0, ..BASE }),
            "Invalid learning rate: -1"
        );
        assert_eq!(
            err(AdagradConfig {
                lr_decay: -1.0,
                ..BASE
            }),
            "Invalid lr_decay value: -1"
        );
        assert_eq!(
            err(AdagradConfig {
                weight_decay: -1.0,
                ..BASE
            }),
            "Invalid weight_decay value: -1"
        );
        assert_eq!(
            err(AdagradConfig {
                initial_accumulator_value: -1.0,
                ..BASE
            }),
            "Invalid initial_accumulator_value value: -1"
        );
        assert_eq!(
            err(AdagradConfig { eps: -1.0, ..BASE }),
            "Invalid epsilon value: -1"
        );
        assert_eq!(AdagradConfig::default().eps, 1e-10);
    }
}
