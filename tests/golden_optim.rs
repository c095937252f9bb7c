//! Every optimizer × option against PyTorch: 50 full-batch steps on a small MLP regression.
//!
//! Fixture: `tests/fixtures/optim.*` from `scripts/gen_fixtures.py`, section "optimizers":
//!
//! ```python
//! torch.manual_seed(1)
//! base = MLP([3, 5, 2])     # layers = ModuleList([Linear(3, 5), Tanh(), Linear(5, 2)])
//! X, Y = torch.randn(16, 3), torch.randn(16, 2)
//! for name, (cls, kw) in OPTIMIZERS.items():   # 12 cases: SGD, Adam, AdamW, RMSprop, Adagrad
//!     m = MLP([3, 5, 2]); m.load_state_dict(init_state)
//!     opt = cls(m.parameters(), **kw)
//!     for _ in range(50):
//!         opt.zero_grad()
//!         loss = F.mse_loss(m(X), Y)
//!         losses.append(loss.item())            # -> meta[name]["losses"]
//!         loss.backward()
//!         opt.step()
//!     # -> tensors "{name}.layers.0.weight", ...; the start point is "init.layers.0.weight", ...
//! ```
//!
//! Tolerances. PyTorch's vectorised CPU kernels fuse multiply-adds (FMA) in the matmuls and in
//! the optimizer updates, and ours do not, so the two trajectories drift apart by about one
//! `f32` rounding (~1e-7 relative) per step, amplified by the dynamics:
//! - each step's loss: `rtol 1e-5` for the first 10 steps (a handful of roundings), `rtol 1e-4`
//!   for the rest (the STYLE guide's tolerance after many steps);
//! - the final weights after 50 steps: `rtol 1e-4` with an `atol 1e-6` floor for entries near 0,
//!   except `rmsprop_centered_momentum` (`rtol 5e-4`, an ill-conditioned update: see
//!   [`weight_rtol`]).
//!
//! Every fixture kwarg is mapped onto the Rust config; an unknown one panics, so a new fixture
//! case cannot be silently run with default hyperparameters.

mod common;
use backprop::io::safetensors;
use backprop::nn::{mse_loss, Activation, Mlp, MlpConfig, Module, Reduction, StateDict};
use backprop::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, RMSprop,
    RMSpropConfig, SGDConfig, SGD,
};
use backprop::Tensor;
use common::fixtures;
use serde_json::{Map, Value};

const STEPS: usize = 50;
/// Steps whose loss is held to [`EARLY_RTOL`]; later ones to [`LATE_RTOL`].
const EARLY_STEPS: usize = 10;
const EARLY_RTOL: f64 = 1e-5;
const LATE_RTOL: f64 = 1e-4;
const WEIGHT_RTOL: f32 = 1e-4;
const WEIGHT_ATOL: f32 = 1e-6;

/// The final weights' relative tolerance for `case`.
///
/// `rmsprop_centered_momentum` divides by `sqrt(square_avg − grad_avg²) + 1e-6`, a difference of
/// nearly equal numbers once the gradients settle, so rounding differences are amplified:
/// PyTorch's own `f32` run moves its final weights by up to 1.6e-4 relative when one initial
/// weight is perturbed by 1e-7 relative (and differs from its `f64` run by 3.4e-5). Ours lands
/// 1.0e-4 from PyTorch's, inside that band; its losses still agree to 3e-6.
fn weight_rtol(case: &str) -> f32 {
    match case {
        "rmsprop_centered_momentum" => 5e-4,
        _ => WEIGHT_RTOL,
    }
}

/// A case's kwargs; each read removes the key, and [`Kwargs::finish`] rejects what is left.
struct Kwargs {
    case: String,
    map: Map<String, Value>,
}

impl Kwargs {
    fn f64(&mut self, key: &str, default: f64) -> f64 {
        match self.map.remove(key) {
            Some(v) => v
                .as_f64()
                .unwrap_or_else(|| panic!("{}: kwarg {key} = {v} is not a number", self.case)),
            None => default,
        }
    }

    fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.map.remove(key) {
            Some(v) => v
                .as_bool()
                .unwrap_or_else(|| panic!("{}: kwarg {key} = {v} is not a bool", self.case)),
            None => default,
        }
    }

    fn pair(&mut self, key: &str, default: (f64, f64)) -> (f64, f64) {
        match self.map.remove(key) {
            Some(v) => match v.as_array().map(|a| a.as_slice()) {
                Some([a, b]) => (a.as_f64().unwrap(), b.as_f64().unwrap()),
                _ => panic!("{}: kwarg {key} = {v} is not a pair", self.case),
            },
            None => default,
        }
    }

    #[track_caller]
    fn finish(self) {
        let left: Vec<&String> = self.map.keys().collect();
        assert!(
            left.is_empty(),
            "{}: kwargs {left:?} have no Rust counterpart; map them in golden_optim.rs",
            self.case
        );
    }
}

/// PyTorch's `cls(params, **kwargs)`. Every config field is listed (no `..Default::default()`),
/// so a new hyperparameter in a config fails to compile here until it is mapped.
fn make_optimizer(
    case: &str,
    class: &str,
    kwargs: &Value,
    params: Vec<Tensor>,
) -> Box<dyn Optimizer> {
    let mut kw = Kwargs {
        case: case.to_string(),
        map: kwargs.as_object().expect("kwargs object").clone(),
    };
    let opt: Box<dyn Optimizer> = match class {
        "SGD" => {
            let d = SGDConfig::default();
            let config = SGDConfig {
                lr: kw.f64("lr", d.lr),
                momentum: kw.f64("momentum", d.momentum),
                dampening: kw.f64("dampening", d.dampening),
                weight_decay: kw.f64("weight_decay", d.weight_decay),
                nesterov: kw.bool("nesterov", d.nesterov),
                maximize: kw.bool("maximize", d.maximize),
            };
            Box::new(SGD::new(params, config).unwrap())
        }
        "Adam" => {
            let d = AdamConfig::default();
            let config = AdamConfig {
                lr: kw.f64("lr", d.lr),
                betas: kw.pair("betas", d.betas),
                eps: kw.f64("eps", d.eps),
                weight_decay: kw.f64("weight_decay", d.weight_decay),
                amsgrad: kw.bool("amsgrad", d.amsgrad),
                maximize: kw.bool("maximize", d.maximize),
            };
            Box::new(Adam::new(params, config).unwrap())
        }
        "AdamW" => {
            let d = AdamWConfig::default();
            let config = AdamWConfig {
                lr: kw.f64("lr", d.lr),
                betas: kw.pair("betas", d.betas),
                eps: kw.f64("eps", d.eps),
                weight_decay: kw.f64("weight_decay", d.weight_decay),
                amsgrad: kw.bool("amsgrad", d.amsgrad),
                maximize: kw.bool("maximize", d.maximize),
            };
            Box::new(AdamW::new(params, config).unwrap())
        }
        "RMSprop" => {
            let d = RMSpropConfig::default();
            let config = RMSpropConfig {
                lr: kw.f64("lr", d.lr),
                alpha: kw.f64("alpha", d.alpha),
                eps: kw.f64("eps", d.eps),
                weight_decay: kw.f64("weight_decay", d.weight_decay),
                momentum: kw.f64("momentum", d.momentum),
                centered: kw.bool("centered", d.centered),
                maximize: kw.bool("maximize", d.maximize),
            };
            Box::new(RMSprop::new(params, config).unwrap())
        }
        "Adagrad" => {
            let d = AdagradConfig::default();
            let config = AdagradConfig {
                lr: kw.f64("lr", d.lr),
                lr_decay: kw.f64("lr_decay", d.lr_decay),
                weight_decay: kw.f64("weight_decay", d.weight_decay),
                initial_accumulator_value: kw
                    .f64("initial_accumulator_value", d.initial_accumulator_value),
                eps: kw.f64("eps", d.eps),
                maximize: kw.bool("maximize", d.maximize),
            };
            Box::new(Adagrad::new(params, config).unwrap())
        }
        other => panic!("{case}: no Rust counterpart for optimizer class `{other}`"),
    };
    kw.finish();
    opt
}

/// `MLP([3, 5, 2])`: `layers = ModuleList([Linear(3, 5), Tanh(), Linear(5, 2)])`.
fn model(init: &StateDict) -> Mlp {
    let m = Mlp::new(&MlpConfig {
        activation: Activation::Tanh,
        ..MlpConfig::new(&[3, 5, 2])
    });
    m.load_state_dict(init).unwrap();
    m
}

fn tensor(sd: &StateDict, key: &str) -> Tensor {
    let st = sd
        .get(key)
        .unwrap_or_else(|| panic!("fixture has no `{key}`"));
    Tensor::from_slice(st.as_f32().unwrap(), &st.shape)
}

fn rel_err(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs().max(1e-30)
}

#[test]
fn every_optimizer_case_matches_pytorch_for_50_steps() {
    let (all, _) = safetensors::load(fixtures().join("optim.safetensors")).unwrap();
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("optim.json")).unwrap())
            .unwrap();
    let cases = meta.as_object().unwrap();
    assert_eq!(cases.len(), 12, "the generator writes 12 optimizer cases");
    let (x, y) = (tensor(&all, "x"), tensor(&all, "y"));
    let init = all.with_prefix("init.");
    assert_eq!(init.len(), 4);

    for (case, spec) in cases {
        let m = model(&init);
        let mut opt = make_optimizer(
            case,
            spec["class"].as_str().unwrap(),
            &spec["kwargs"],
            m.parameters(),
        );
        let want: Vec<f64> = spec["losses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(want.len(), STEPS);
        let (mut worst_early, mut worst_late) = (0.0f64, 0.0f64);
        for (step, &want) in want.iter().enumerate() {
            opt.zero_grad();
            let loss = mse_loss(&m.forward(&x), &y, Reduction::Mean);
            let got = loss.item() as f64;
            let (rtol, worst) = if step < EARLY_STEPS {
                (EARLY_RTOL, &mut worst_early)
            } else {
                (LATE_RTOL, &mut worst_late)
            };
            let err = rel_err(got, want);
            *worst = worst.max(err);
            assert!(
                err <= rtol,
                "{case}: loss at step {step}: got {got}, PyTorch {want} (relative error {err:.2e} > {rtol:e})"
            );
            loss.backward();
            opt.step();
        }

        let fin = all.with_prefix(&format!("{case}."));
        assert_eq!(fin.len(), 4, "{case}: final weights in the fixture");
        let weight_rtol = weight_rtol(case);
        let (mut worst_abs, mut worst_rel) = (0.0f32, 0.0f64);
        for (name, p) in m.named_parameters() {
            let want = tensor(&fin, &name);
            assert_eq!(p.shape(), want.shape(), "{case}: {name} shape");
            for (i, (g, w)) in p.to_vec().into_iter().zip(want.to_vec()).enumerate() {
                worst_abs = worst_abs.max((g - w).abs());
                if w.abs() >= 1e-2 {
                    worst_rel = worst_rel.max(rel_err(g as f64, w as f64));
                }
                assert!(
                    (g - w).abs() <= WEIGHT_ATOL + weight_rtol * w.abs(),
                    "{case}: final {name}[{i}]: got {g}, PyTorch {w}"
                );
            }
        }
        // Shown with `--nocapture`: how much headroom each case has.
        println!(
            "{case:<28} loss rel err: steps 0-9 {worst_early:.1e}, steps 10-49 {worst_late:.1e}; \
             final weights abs {worst_abs:.1e}, rel (|w| >= 0.01) {worst_rel:.1e}"
        );
    }
}

#[test]
#[should_panic(expected = "kwargs [\"foreach\"] have no Rust counterpart")]
fn an_unknown_kwarg_is_rejected() {
    let p = vec![Tensor::zeros(&[1]).set_requires_grad(true)];
    let kwargs = serde_json::json!({"lr": 0.1, "foreach": true});
    make_optimizer("test", "SGD", &kwargs, p);
}
