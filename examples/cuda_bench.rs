//! backprop's side of the GPU benchmark: the workloads of `../shared/bench/torch_cuda_bench.py`
//! (xor, advanced, mnist, wide, inference, huge) on a CUDA device, timed the same way (warm-up, then
//! `reps` blocks of `steps` steps, each block ending with a device synchronize), one JSON line
//! each: `workload`, `mode`, `median_s`, `min_s`, `max_s`, `tflops_median`, `gpu_mem_used_mib`.
//!
//! ```text
//! cargo run --release --features cuda --example cuda_bench -- [--workloads xor,advanced,mnist,wide,inference,huge] [--tf32] [--device cpu|cuda|cuda:N]
//! ```
//! `--device cpu` runs the same loop on the CPU (to measure where `device = "auto"` should
//! switch). `gpu_mem_used_mib` is the driver's figure for the whole device after the run (context and
//! cuBLAS workspace included), not PyTorch's `max_memory_allocated`.

use backprop::nn::{CrossEntropyLoss, MSELoss, Mlp, MlpConfig, Module};
use backprop::optim::{
    clip_grad_norm, Adam, AdamConfig, LRScheduler, Optimizer, SGDConfig, StepLR, SGD,
};
use backprop::rng::Generator;
use backprop::{manual_seed, no_grad, Device, Tensor};
use std::time::Instant;

fn randn(shape: &[usize], g: &mut Generator, dev: &Device) -> Tensor {
    Tensor::randn_with(shape, g).to(dev)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let workloads = args
        .iter()
        .position(|a| a == "--workloads")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "xor,advanced,mnist,wide,inference,huge".into());
    let tf32 = args.iter().any(|a| a == "--tf32");
    let device = args
        .iter()
        .position(|a| a == "--device")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "cuda".into());
    let dev = match device.parse::<Device>().and_then(|d| d.check().map(|_| d)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cuda_bench: {e}");
            std::process::exit(1);
        }
    };
    dev.set_tf32(tf32).expect("tf32");
    for w in workloads.split(',') {
        if w == "overhead" {
            overhead(&dev);
            continue;
        }
        bench(w, &dev, if tf32 { "tf32" } else { "fp32" });
    }
}

/// Microseconds per call of `f`, over `reps` calls after a warm-up, ending with a synchronize.
fn per_call(dev: &Device, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..100 {
        f();
    }
    dev.synchronize();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    dev.synchronize();
    t.elapsed().as_secs_f64() * 1e6 / reps as f64
}

/// Where a small step's time goes: one tiny op through each layer of the stack, and the xor
/// step cut after each phase. One JSON line.
fn overhead(dev: &Device) {
    use backprop::{Array, UnaryOp};
    let a = Array::full_on(&[4], 1.0, dev);
    let t = Tensor::from_array(Array::full_on(&[4], 1.0, dev));
    let tg = t.detach().set_requires_grad(true);
    let (m, w) = (Tensor::ones(&[4, 2]).to(dev), Tensor::ones(&[4, 2]).to(dev));
    let array_op = per_call(dev, 10_000, || drop(a.unary(UnaryOp::Relu)));
    let tensor_op = per_call(dev, 10_000, || drop(t.relu()));
    let tensor_op_graph = per_call(dev, 10_000, || drop(tg.relu()));
    let fill = per_call(dev, 10_000, || drop(Array::full_on(&[4], 0.0, dev)));
    let linear = per_call(dev, 10_000, || drop(m.linear(&w, None)));
    let sum = per_call(dev, 10_000, || drop(t.sum()));
    manual_seed(0);
    let mut model = Mlp::new(&MlpConfig::new(&[2, 4, 4, 1]));
    model.to(dev);
    let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]).to(dev);
    let y = Tensor::from_slice(&[0., 1., 1., 0.], &[4, 1]).to(dev);
    let mut opt = Adam::new(
        model.parameters(),
        AdamConfig {
            lr: 0.01,
            ..Default::default()
        },
    )
    .unwrap();
    let mse = MSELoss::new();
    let forward = per_call(dev, 2_000, || drop(model.forward(&x)));
    let forward_loss = per_call(dev, 2_000, || drop(mse.forward(&model.forward(&x), &y)));
    let with_backward = per_call(dev, 2_000, || {
        opt.zero_grad();
        mse.forward(&model.forward(&x), &y).backward();
    });
    let step = per_call(dev, 2_000, || {
        opt.zero_grad();
        mse.forward(&model.forward(&x), &y).backward();
        opt.step();
    });
    let step_item = per_call(dev, 2_000, || {
        opt.zero_grad();
        let loss = mse.forward(&model.forward(&x), &y);
        loss.backward();
        opt.step();
        std::hint::black_box(loss.item());
    });
    println!(
        "{{\"workload\":\"overhead\",\"device\":\"{dev}\",\"us_array_unary\":{array_op:.2},\"us_tensor_unary\":{tensor_op:.2},\"us_tensor_unary_recorded\":{tensor_op_graph:.2},\"us_full\":{fill:.2},\"us_linear_4x2\":{linear:.2},\"us_sum\":{sum:.2},\"us_xor_forward\":{forward:.2},\"us_xor_forward_loss\":{forward_loss:.2},\"us_xor_backward_too\":{with_backward:.2},\"us_xor_step\":{step:.2},\"us_xor_step_with_item\":{step_item:.2}}}"
    );
}

fn bench(name: &str, dev: &Device, mode: &str) {
    manual_seed(0);
    let mut g = Generator::new(1234);
    let (sizes, batch, rows): (&[usize], usize, usize) = match name {
        "xor" => (&[2, 4, 4, 1], 4, 4),
        "advanced" => (&[2, 32, 16, 1], 4, 4),
        "mnist" => (&[784, 256, 128, 10], 128, 60_000),
        "inference" => (&[784, 256, 128, 10], 10_000, 10_000),
        "wide" => (&[1024, 4096, 4096, 1024], 512, 512),
        "huge" => (&[4096, 8192, 8192, 4096], 4096, 4096),
        other => panic!("unknown workload {other}"),
    };
    let mut config = MlpConfig::new(sizes);
    if name == "advanced" {
        (config.batch_norm, config.dropout) = (true, 0.5);
    }
    let mut model = Mlp::new(&config);
    model.to(dev);
    let flops_fwd: f64 = sizes
        .windows(2)
        .map(|w| 2.0 * (w[0] * w[1]) as f64)
        .sum::<f64>()
        * batch as f64;
    let (warm, reps, steps) = match name {
        "xor" | "advanced" => (200, 7, 1000),
        "mnist" => (50, 5, rows / batch),
        "inference" => (5, 7, 50),
        "wide" => (5, 7, 50),
        _ => (3, 5, 10),
    };
    let per: Vec<f64> = if name == "inference" {
        model.eval();
        let x = randn(&[rows, sizes[0]], &mut g, dev);
        let mut run = |k: usize| {
            for _ in 0..k {
                let _ = no_grad(|| model.forward(&x));
            }
        };
        time(&mut run, warm, reps, steps, dev)
    } else {
        let out = *sizes.last().unwrap();
        let batches: Vec<(Tensor, Tensor)> = if sizes[0] == 2 {
            let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]).to(dev);
            let y = Tensor::from_slice(&[0., 1., 1., 0.], &[4, 1]).to(dev);
            vec![(x, y)]
        } else {
            let n = rows / batch;
            (0..n)
                .map(|_| {
                    let x = randn(&[batch, sizes[0]], &mut g, dev);
                    let y = if name == "mnist" {
                        let labels: Vec<f32> =
                            (0..batch).map(|i| ((i * 7 + 3) % out) as f32).collect();
                        Tensor::from_vec(labels, &[batch]).to(dev)
                    } else {
                        randn(&[batch, out], &mut g, dev)
                    };
                    (x, y)
                })
                .collect()
        };
        let params = model.parameters();
        let mut opt: Box<dyn Optimizer> = match name {
            "xor" => Box::new(
                Adam::new(
                    params,
                    AdamConfig {
                        lr: 0.01,
                        ..Default::default()
                    },
                )
                .unwrap(),
            ),
            "mnist" => Box::new(
                Adam::new(
                    params,
                    AdamConfig {
                        lr: 1e-3,
                        ..Default::default()
                    },
                )
                .unwrap(),
            ),
            _ => Box::new(
                SGD::new(
                    params,
                    SGDConfig {
                        lr: 0.01,
                        momentum: 0.9,
                        ..Default::default()
                    },
                )
                .unwrap(),
            ),
        };
        let (ce, mse) = (CrossEntropyLoss::new(), MSELoss::new());
        let mut sched = (name == "advanced").then(|| StepLR::new(opt.as_mut(), 500, 0.1).unwrap());
        let params = model.parameters();
        let mut step = 0usize;
        let mut run = |k: usize| {
            for _ in 0..k {
                let (x, y) = &batches[step % batches.len()];
                step += 1;
                opt.zero_grad();
                let pred = model.forward(x);
                let loss = if name == "mnist" {
                    ce.forward(&pred, y)
                } else {
                    mse.forward(&pred, y)
                };
                loss.backward();
                if sched.is_some() {
                    clip_grad_norm(&params, 1.0, 2.0);
                }
                opt.step();
                if let Some(s) = sched.as_mut() {
                    s.step(opt.as_mut());
                }
            }
        };
        time(&mut run, warm, reps, steps, dev)
    };
    let mut sorted = per.clone();
    sorted.sort_by(f64::total_cmp);
    let med = sorted[sorted.len() / 2];
    let flops = if name == "inference" {
        flops_fwd
    } else {
        3.0 * flops_fwd
    };
    println!(
        "{{\"workload\":\"{name}\",\"train_flops_per_step\":{:e},\"mode\":\"{mode}\",\"device\":\"{dev}\",\"median_s\":{med:e},\"min_s\":{:e},\"max_s\":{:e},\"steps\":{steps},\"reps\":{reps},\"tflops_median\":{:.3},\"gpu_mem_used_mib\":{:.0}}}",
        3.0 * flops_fwd,
        sorted[0],
        sorted[sorted.len() - 1],
        flops / med / 1e12,
        dev.memory_used().unwrap_or(0) as f64 / (1 << 20) as f64
    );
}

fn time(
    run: &mut dyn FnMut(usize),
    warm: usize,
    reps: usize,
    steps: usize,
    dev: &Device,
) -> Vec<f64> {
    run(warm);
    dev.synchronize();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            run(steps);
            dev.synchronize();
            t.elapsed().as_secs_f64() / steps as f64
        })
        .collect()
}
