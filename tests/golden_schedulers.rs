//! Every learning-rate scheduler case against PyTorch: the lr used in each epoch.
//!
//! Fixture: `tests/fixtures/schedulers.json` from `scripts/gen_fixtures.py`, section
//! "schedulers":
//!
//! ```python
//! def lrs(make, epochs):
//!     p = torch.nn.Parameter(torch.zeros(1))
//!     opt = torch.optim.SGD([p], lr=0.1)
//!     sched = make(opt)
//!     out = []
//!     for _ in range(epochs):
//!         out.append(opt.param_groups[0]["lr"])
//!         opt.step()
//!         sched.step()
//!     return out
//! # "step": StepLR(o, 3, 0.5) ... "warmup_then_cosine": SequentialLR(o, [LinearLR(o, 0.1, 1.0, 3),
//! #     CosineAnnealingLR(o, 6)], milestones=[3])
//! # "plateau": ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, threshold=0.01,
//! #     cooldown=1, min_lr=0.01), stepped with each of `metrics` (no optimizer step)
//! ```
//!
//! Tolerance: `rtol 1e-12`. The schedulers compute in `f64` with PyTorch's recursive formulas, so
//! on Linux every lr agrees with PyTorch's bit for bit (cosine past `t_max` included); the
//! tolerance leaves room for a platform `cos` one ulp away from glibc's. (Bit-for-bit needs the
//! JSON read exactly: the dev-dependency `serde_json` has `float_roundtrip` on.)

mod common;
use backprop::optim::{
    CosineAnnealingLR, ExponentialLR, LRScheduler, LinearLR, LinearLRConfig, MultiStepLR,
    Optimizer, PlateauMode, ReduceLROnPlateau, ReduceLROnPlateauConfig, SGDConfig, SequentialLR,
    StepLR, ThresholdMode, SGD,
};
use backprop::Tensor;
use common::{assert_close_f64, fixtures};
use serde_json::{Map, Value};

const RTOL: f64 = 1e-12;

/// A case's args; each read removes the key, and [`Args::finish`] rejects what is left.
struct Args {
    case: String,
    map: Map<String, Value>,
}

impl Args {
    #[track_caller]
    fn take(&mut self, key: &str) -> Value {
        self.map
            .remove(key)
            .unwrap_or_else(|| panic!("{}: fixture args lack `{key}`", self.case))
    }

    #[track_caller]
    fn f64(&mut self, key: &str) -> f64 {
        self.take(key).as_f64().expect("a number")
    }

    #[track_caller]
    fn usize(&mut self, key: &str) -> usize {
        self.take(key).as_u64().expect("a non-negative integer") as usize
    }

    #[track_caller]
    fn usizes(&mut self, key: &str) -> Vec<usize> {
        let v = self.take(key);
        v.as_array()
            .expect("a list")
            .iter()
            .map(|m| m.as_u64().expect("a non-negative integer") as usize)
            .collect()
    }

    #[track_caller]
    fn finish(self) {
        let left: Vec<&String> = self.map.keys().collect();
        assert!(
            left.is_empty(),
            "{}: args {left:?} are not used; map them in golden_schedulers.rs",
            self.case
        );
    }
}

/// `torch.optim.SGD([p], lr=0.1)` over one parameter.
fn sgd() -> SGD {
    let p = Tensor::zeros(&[1]).set_requires_grad(true);
    SGD::new(
        vec![p],
        SGDConfig {
            lr: 0.1,
            ..Default::default()
        },
    )
    .unwrap()
}

/// The epoch-stepped scheduler of `case`, constructed on `opt`.
fn make_scheduler(case: &str, args: &mut Args, opt: &mut SGD) -> Box<dyn LRScheduler> {
    let r = match case {
        "step" => {
            let (step_size, gamma) = (args.usize("step_size"), args.f64("gamma"));
            StepLR::new(opt, step_size, gamma).map(|s| Box::new(s) as Box<dyn LRScheduler>)
        }
        "multistep" => {
            let (milestones, gamma) = (args.usizes("milestones"), args.f64("gamma"));
            MultiStepLR::new(opt, &milestones, gamma).map(|s| Box::new(s) as _)
        }
        "exponential" => ExponentialLR::new(opt, args.f64("gamma")).map(|s| Box::new(s) as _),
        "cosine" | "cosine_zero" => {
            let (t_max, eta_min) = (args.usize("t_max"), args.f64("eta_min"));
            CosineAnnealingLR::new(opt, t_max, eta_min).map(|s| Box::new(s) as _)
        }
        "linear" => {
            let config = LinearLRConfig {
                start_factor: args.f64("start_factor"),
                end_factor: args.f64("end_factor"),
                total_iters: args.usize("total_iters"),
            };
            LinearLR::new(opt, config).map(|s| Box::new(s) as _)
        }
        "warmup_then_cosine" => {
            // SequentialLR(o, [LinearLR(o, start, 1.0, iters), CosineAnnealingLR(o, t_max)], [m])
            let warmup = LinearLR::new(
                opt,
                LinearLRConfig {
                    start_factor: args.f64("warmup_start_factor"),
                    end_factor: 1.0,
                    total_iters: args.usize("warmup_iters"),
                },
            )
            .unwrap();
            let cosine = CosineAnnealingLR::new(opt, args.usize("t_max"), 0.0).unwrap();
            let milestone = args.usize("milestone");
            SequentialLR::new(opt, vec![Box::new(warmup), Box::new(cosine)], &[milestone])
                .map(|s| Box::new(s) as _)
        }
        other => panic!("no Rust counterpart for scheduler case `{other}`"),
    };
    r.unwrap_or_else(|e| panic!("{case}: {e}"))
}

/// Asserts `got` equals `want` to [`RTOL`]; returns the worst relative error.
#[track_caller]
fn compare(case: &str, got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "{case}: epochs");
    let mut worst = 0.0f64;
    for (epoch, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert_close_f64(&format!("{case}: lr of epoch {epoch}"), g, w, RTOL);
        if w != 0.0 {
            worst = worst.max((g - w).abs() / w.abs());
        } else {
            worst = worst.max(g.abs());
        }
    }
    worst
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

#[test]
fn every_scheduler_case_matches_pytorch() {
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("schedulers.json")).unwrap())
            .unwrap();
    let cases = meta.as_object().unwrap();
    assert_eq!(cases.len(), 8, "the generator writes 8 scheduler cases");
    for (case, spec) in cases {
        let want = floats(&spec["lrs"]);
        let mut args = Args {
            case: case.clone(),
            map: spec["args"].as_object().expect("args").clone(),
        };
        let mut opt = sgd();
        let mut got = Vec::new();
        if case == "plateau" {
            let config = ReduceLROnPlateauConfig {
                mode: PlateauMode::Min,
                factor: args.f64("factor"),
                patience: args.usize("patience"),
                threshold: args.f64("threshold"),
                threshold_mode: ThresholdMode::Rel,
                cooldown: args.usize("cooldown"),
                min_lr: args.f64("min_lr"),
                eps: ReduceLROnPlateauConfig::default().eps,
            };
            args.finish();
            let mut sched = ReduceLROnPlateau::new(&opt, config).unwrap();
            for metric in floats(&spec["metrics"]) {
                got.push(opt.lr());
                sched.step_with_metric(&mut opt, metric);
            }
        } else {
            let mut sched = make_scheduler(case, &mut args, &mut opt);
            args.finish();
            for _ in 0..want.len() {
                got.push(opt.lr());
                opt.step(); // no gradients: a no-op, as in the generator
                sched.step(&mut opt);
            }
        }
        let worst = compare(case, &got, &want);
        let exact = got.iter().zip(&want).filter(|(g, w)| g == w).count();
        // Shown with `--nocapture`.
        println!(
            "{case:<20} {} epochs, {exact} bit-identical, worst relative error {worst:.1e}",
            want.len()
        );
    }
}
