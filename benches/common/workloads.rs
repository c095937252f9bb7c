//! The benchmark workloads of `../shared/bench/torch_bench.py`, built with backprop: the same
//! models, losses, optimizers, batch sizes and step counts. Shared by the criterion bench
//! (`benches/train_step.rs`) and the side-by-side harness (`examples/bench_side_by_side.rs`),
//! which include this file with `#[path]`.
//!
//! One training step = `zero_grad`, forward, loss, `backward`, [clip], `step`, [scheduler step],
//! as in the PyTorch script. Data is generated in memory with a fixed seed before timing
//! (PyTorch's values differ, the sizes do not).

#![allow(dead_code)]

use backprop::nn::{
    BatchNorm1d, CrossEntropyLoss, Dropout, Linear, MSELoss, Module, ReLU, Sequential,
};
use backprop::optim::{
    clip_grad_norm, Adam, AdamConfig, LRScheduler, Optimizer, SGDConfig, StepLR, SGD,
};
use backprop::rng::Generator;
use backprop::{manual_seed, no_grad, Tensor};

/// The workload names, in torch_bench.py's order.
pub const WORKLOADS: [&str; 5] = ["xor", "mnist", "wide", "advanced", "inference"];

/// A workload ready to time: `run(k)` performs `k` steps (or inference calls) and returns the
/// last loss (or the mean |output| for inference).
pub struct Workload {
    /// The name, as in torch_bench.py.
    pub name: &'static str,
    /// Layer sizes, for the FLOP count.
    pub sizes: Vec<usize>,
    /// Untimed steps before the timed blocks.
    pub warmup: usize,
    /// Timed blocks.
    pub repeats: usize,
    /// Steps per block.
    pub steps: usize,
    /// Rows per step (for the FLOP count).
    pub rows_per_step: f64,
    /// Runs `k` steps; returns the last loss.
    pub run: Box<dyn FnMut(usize) -> f32>,
}

impl Workload {
    /// `2 · rows · Σ in·out` for a forward pass; a training step counts 3 forwards.
    pub fn flops_per_step(&self) -> f64 {
        let macs: usize = self.sizes.windows(2).map(|w| w[0] * w[1]).sum();
        let fwd = 2.0 * self.rows_per_step * macs as f64;
        if self.name == "inference" {
            fwd
        } else {
            3.0 * fwd
        }
    }
}

const XOR_X: [f32; 8] = [0., 0., 0., 1., 1., 0., 1., 1.];
const XOR_Y: [f32; 4] = [0., 1., 1., 0.];

fn mlp(sizes: &[usize]) -> Sequential {
    let mut m = Sequential::new();
    for (i, w) in sizes.windows(2).enumerate() {
        m.push(Linear::new(w[0], w[1]));
        if i + 2 < sizes.len() {
            m.push(ReLU);
        }
    }
    m
}

fn randn(shape: &[usize], g: &mut Generator) -> Tensor {
    Tensor::randn_with(shape, g)
}

/// Builds workload `name`; `quick` divides the step counts as torch_bench.py's `--quick`.
///
/// # Panics
/// Panics on an unknown name.
pub fn build(name: &str, quick: bool) -> Workload {
    manual_seed(0);
    let mut g = Generator::new(1234);
    let q = if quick { 5 } else { 1 };
    match name {
        "xor" => {
            let model = mlp(&[2, 4, 4, 1]);
            let mut opt = Adam::new(
                model.parameters(),
                AdamConfig {
                    lr: 0.01,
                    ..Default::default()
                },
            )
            .unwrap();
            let (x, y) = (
                Tensor::from_slice(&XOR_X, &[4, 2]),
                Tensor::from_slice(&XOR_Y, &[4, 1]),
            );
            let loss_fn = MSELoss::new();
            Workload {
                name: "xor",
                sizes: vec![2, 4, 4, 1],
                warmup: 200 / q,
                repeats: 7,
                steps: 1000 / q,
                rows_per_step: 4.0,
                run: Box::new(move |k| {
                    let mut last = None;
                    for _ in 0..k {
                        opt.zero_grad();
                        let loss = loss_fn.forward(&model.forward(&x), &y);
                        loss.backward();
                        opt.step();
                        last = Some(loss);
                    }
                    last.map_or(f32::NAN, |l| l.item())
                }),
            }
        }
        "advanced" => {
            let model = Sequential::new()
                .add(Linear::new(2, 32))
                .add(ReLU)
                .add(BatchNorm1d::new(32))
                .add(Dropout::new(0.5))
                .add(Linear::new(32, 16))
                .add(ReLU)
                .add(BatchNorm1d::new(16))
                .add(Dropout::new(0.5))
                .add(Linear::new(16, 1));
            let params = model.parameters();
            let mut opt = Adam::new(
                params.clone(),
                AdamConfig {
                    lr: 0.01,
                    weight_decay: 1e-5,
                    ..Default::default()
                },
            )
            .unwrap();
            let mut sched = StepLR::new(&mut opt, 500, 0.1).unwrap();
            let (x, y) = (
                Tensor::from_slice(&XOR_X, &[4, 2]),
                Tensor::from_slice(&XOR_Y, &[4, 1]),
            );
            let loss_fn = MSELoss::new();
            Workload {
                name: "advanced",
                sizes: vec![2, 32, 16, 1],
                warmup: 200 / q,
                repeats: 7,
                steps: 1000 / q,
                rows_per_step: 4.0,
                run: Box::new(move |k| {
                    let mut last = None;
                    for _ in 0..k {
                        opt.zero_grad();
                        let loss = loss_fn.forward(&model.forward(&x), &y);
                        loss.backward();
                        clip_grad_norm(&params, 1.0, 2.0);
                        opt.step();
                        sched.step(&mut opt);
                        last = Some(loss);
                    }
                    last.map_or(f32::NAN, |l| l.item())
                }),
            }
        }
        "mnist" => {
            let model = mlp(&[784, 256, 128, 10]);
            let (n, bs) = (60000, 128);
            // 469 batches (the last one has 96 rows), as PyTorch's 469 views.
            let batches: Vec<(Tensor, Tensor)> = (0..n)
                .step_by(bs)
                .map(|start| {
                    let rows = bs.min(n - start);
                    let x = randn(&[rows, 784], &mut g);
                    let y: Vec<f32> = (0..rows).map(|_| g.below(10) as f32).collect();
                    (x, Tensor::from_vec(y, &[rows]))
                })
                .collect();
            assert_eq!(batches.len(), 469);
            let mut opt = Adam::new(model.parameters(), AdamConfig::default()).unwrap();
            let loss_fn = CrossEntropyLoss::new();
            let mut next = 0usize;
            Workload {
                name: "mnist",
                sizes: vec![784, 256, 128, 10],
                warmup: 50,
                repeats: if quick { 2 } else { 5 },
                steps: batches.len(),
                rows_per_step: n as f64 / batches.len() as f64,
                run: Box::new(move |k| {
                    let mut last = None;
                    for _ in 0..k {
                        let (x, y) = &batches[next % batches.len()];
                        next += 1;
                        opt.zero_grad();
                        let loss = loss_fn.forward(&model.forward(x), y);
                        loss.backward();
                        opt.step();
                        last = Some(loss);
                    }
                    last.map_or(f32::NAN, |l| l.item())
                }),
            }
        }
        "wide" => {
            let model = mlp(&[1024, 4096, 4096, 1024]);
            let bs = 512;
            let (x, y) = (randn(&[bs, 1024], &mut g), randn(&[bs, 1024], &mut g));
            let mut opt = SGD::new(
                model.parameters(),
                SGDConfig {
                    lr: 0.01,
                    momentum: 0.9,
                    ..Default::default()
                },
            )
            .unwrap();
            let loss_fn = MSELoss::new();
            Workload {
                name: "wide",
                sizes: vec![1024, 4096, 4096, 1024],
                warmup: 2,
                repeats: if quick { 2 } else { 5 },
                steps: if quick { 1 } else { 3 },
                rows_per_step: bs as f64,
                run: Box::new(move |k| {
                    let mut last = None;
                    for _ in 0..k {
                        opt.zero_grad();
                        let loss = loss_fn.forward(&model.forward(&x), &y);
                        loss.backward();
                        opt.step();
                        last = Some(loss);
                    }
                    last.map_or(f32::NAN, |l| l.item())
                }),
            }
        }
        "inference" => {
            let mut model = mlp(&[784, 256, 128, 10]);
            model.eval();
            let rows = 10000;
            let x = randn(&[rows, 784], &mut g);
            Workload {
                name: "inference",
                sizes: vec![784, 256, 128, 10],
                warmup: 3,
                repeats: 7,
                steps: if quick { 5 } else { 10 },
                rows_per_step: rows as f64,
                run: Box::new(move |k| {
                    no_grad(|| {
                        let mut out = None;
                        for _ in 0..k {
                            out = Some(model.forward(&x));
                        }
                        out.map_or(f32::NAN, |o| o.abs().mean().item())
                    })
                }),
            }
        }
        _ => panic!("unknown workload {name:?} (known: {WORKLOADS:?})"),
    }
}
