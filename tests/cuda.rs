//! The CUDA backend against the CPU: every op the GPU runs, forward and backward, the losses,
//! the optimizers, module moves and state dicts, and a digits training run.
//!
//! Without a CUDA device (CI has none) each test prints "skipped: no CUDA device" and passes;
//! where there is one (`../shared/gpu/README.md`), they run for real. Tolerances: elementwise
//! kernels are compiled without fused multiply-adds and follow the CPU's formulas, but CUDA's
//! `expf`, `tanhf`, `logf` may differ from the CPU's by an ulp or two (`ELEMENTWISE`); products
//! and reductions sum in another order (`PRODUCT`).
#![cfg(feature = "cuda")]

use backprop::nn::{cross_entropy, l1_loss, mse_loss, Mlp, MlpConfig, Module, Reduction};
use backprop::optim::{Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, SGDConfig, SGD};
use backprop::rng::Generator;
use backprop::{Array, Device, Tensor};
use std::sync::{Mutex, MutexGuard};

const ELEMENTWISE: f32 = 4e-7;
const PRODUCT: f32 = 2e-5;

/// GPU 0, or `None` (after printing the skip) where there is no CUDA device. Where there is
/// one, setting it up must succeed: a failure there is a test failure, not a skip. With it
/// comes the lock on the process's global generator, held for the test: these tests build
/// models and draw dropout masks from it, and one test's draws must not move another's.
fn gpu() -> Option<(Device, MutexGuard<'static, ()>)> {
    static GLOBAL: Mutex<()> = Mutex::new(());
    let global = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    if Device::cuda_device_count() == 0 {
        eprintln!("skipped: no CUDA device");
        return None;
    }
    let device =
        Device::cuda(0).unwrap_or_else(|e| panic!("a CUDA device is present but unusable: {e}"));
    Some((device, global))
}

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn_with(shape, &mut Generator::new(seed))
}

/// `got ≈ want` elementwise: within `rtol` of each value, but never tighter than `rtol` times
/// the values' root mean square (or 1): a sum of many terms that nearly cancel keeps the
/// absolute error of its terms' size, whatever the order of the sum.
#[track_caller]
fn assert_close(what: &str, got: &[f32], want: &[f32], rtol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let squares: Vec<f64> = want
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| v as f64 * v as f64)
        .collect();
    let rms = (squares.iter().sum::<f64>() / squares.len().max(1) as f64).sqrt() as f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if g.is_nan() && w.is_nan() || g == w {
            continue;
        }
        let tol = rtol * w.abs().max(rms).max(1.0);
        assert!(
            (g - w).abs() <= tol,
            "{what}: element {i}: GPU {g} vs CPU {w} (tolerance {tol})"
        );
    }
}

/// Runs `f` on CPU inputs and on the same inputs on the GPU; compares the outputs and the
/// gradients of a weighted sum of the output.
fn compare(
    what: &str,
    dev: &Device,
    inputs: &[Tensor],
    rtol: f32,
    f: impl Fn(&[Tensor]) -> Tensor,
) {
    let cpu: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.detach().set_requires_grad(true))
        .collect();
    let gpu: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.detach().to(dev).set_requires_grad(true))
        .collect();
    let (oc, og) = (f(&cpu), f(&gpu));
    assert_eq!(og.device(), *dev, "{what}: output left the GPU");
    assert_close(&format!("{what} forward"), &og.to_vec(), &oc.to_vec(), rtol);
    // A fixed, non-uniform upstream gradient.
    let w = Tensor::from_vec(
        (0..oc.numel())
            .map(|i| 0.5 + (i % 7) as f32 * 0.25)
            .collect(),
        &oc.shape(),
    );
    (&oc * &w).sum().backward();
    (&og * &w.to(dev)).sum().backward();
    for (k, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
        let (gc, gg) = (c.grad().unwrap(), g.grad().unwrap());
        assert_eq!(gg.device(), *dev, "{what}: gradient {k} left the GPU");
        assert_close(
            &format!("{what} grad {k}"),
            &gg.to_vec(),
            &gc.to_vec(),
            rtol.max(ELEMENTWISE),
        );
    }
}

#[test]
fn activations_and_elementwise_ops_match_the_cpu() {
    let Some((dev, _global)) = gpu() else { return };
    let mut x = randn(&[5, 7], 1).mul_scalar(3.0).to_vec();
    // Special values: NaN, ±0, ±inf, and large magnitudes.
    x[..6].copy_from_slice(&[f32::NAN, 0.0, -0.0, 40.0, -40.0, 1e-8]);
    let x = Tensor::from_vec(x, &[5, 7]);
    type Op = fn(&Tensor) -> Tensor;
    let ops: [(&str, Op); 12] = [
        ("relu", |t| t.relu()),
        ("sigmoid", |t| t.sigmoid()),
        ("tanh", |t| t.tanh()),
        ("leaky_relu", |t| t.leaky_relu(0.01)),
        ("gelu", |t| t.gelu()),
        ("elu", |t| t.elu(1.0)),
        ("silu", |t| t.silu()),
        ("exp", |t| t.mul_scalar(0.1).exp()),
        ("add_scalar", |t| t.add_scalar(2.5)),
        ("neg", |t| t.neg()),
        ("abs", |t| t.abs()),
        ("log_sqrt", |t| {
            t.abs().add_scalar(0.5).log().add(&t.abs().sqrt())
        }),
    ];
    for (name, f) in ops {
        compare(name, &dev, std::slice::from_ref(&x), ELEMENTWISE, |t| {
            f(&t[0])
        });
    }
}

#[test]
fn broadcasting_arithmetic_and_reductions_match_the_cpu() {
    let Some((dev, _global)) = gpu() else { return };
    let cases: [(&[usize], &[usize]); 4] = [
        (&[3, 4], &[3, 4]),
        (&[3, 4], &[4]),
        (&[3, 1], &[1, 4]),
        (&[2, 3, 4], &[]),
    ];
    for (i, (sa, sb)) in cases.iter().enumerate() {
        let a = randn(sa, 10 + i as u64);
        let b = randn(sb, 20 + i as u64).abs().add_scalar(0.5);
        let ab = [a, b];
        compare(&format!("add {sa:?} {sb:?}"), &dev, &ab, ELEMENTWISE, |t| {
            &t[0] + &t[1]
        });
        compare(&format!("sub {sa:?} {sb:?}"), &dev, &ab, ELEMENTWISE, |t| {
            &t[0] - &t[1]
        });
        compare(&format!("mul {sa:?} {sb:?}"), &dev, &ab, ELEMENTWISE, |t| {
            &t[0] * &t[1]
        });
        compare(&format!("div {sa:?} {sb:?}"), &dev, &ab, ELEMENTWISE, |t| {
            &t[0] / &t[1]
        });
    }
    let x = randn(&[33, 17], 3);
    compare("sum", &dev, std::slice::from_ref(&x), PRODUCT, |t| {
        t[0].sum()
    });
    compare("mean", &dev, std::slice::from_ref(&x), PRODUCT, |t| {
        t[0].mean()
    });
    // A large sum in one block, in double precision as the CPU's.
    let big = randn(&[1000, 1000], 4);
    let (c, g) = (big.sum().item(), big.to(&dev).sum().item());
    assert!(
        (c - g).abs() <= 1e-6 * c.abs().max(1.0),
        "sum of 10⁶: {g} vs {c}"
    );
}

#[test]
fn products_and_linear_match_the_cpu() {
    let Some((dev, _global)) = gpu() else { return };
    for &(n, k, m) in &[(5, 3, 4), (128, 784, 256), (1, 1, 1), (64, 1000, 10)] {
        let (x, w, b) = (randn(&[n, k], 1), randn(&[m, k], 2), randn(&[m], 3));
        let xwb = [x.clone(), w.clone(), b];
        compare(&format!("linear {n}x{k}x{m}"), &dev, &xwb, PRODUCT, |t| {
            t[0].linear(&t[1], Some(&t[2]))
        });
        compare(
            &format!("linear no bias {n}x{k}x{m}"),
            &dev,
            &xwb[..2],
            PRODUCT,
            |t| t[0].linear(&t[1], None),
        );
        compare(
            &format!("mm {n}x{k}x{m}"),
            &dev,
            &[x, w.t()],
            PRODUCT,
            |t| t[0].mm(&t[1]),
        );
    }
    // Fused inference path: Linear + ReLU under no_grad.
    let (x, w, b) = (randn(&[50, 20], 5), randn(&[30, 20], 6), randn(&[30], 7));
    let cpu = backprop::no_grad(|| x.linear_relu_no_grad(&w, Some(&b)));
    let g = backprop::no_grad(|| {
        x.to(&dev)
            .linear_relu_no_grad(&w.to(&dev), Some(&b.to(&dev)))
    });
    assert_close("linear_relu_no_grad", &g.to_vec(), &cpu.to_vec(), PRODUCT);
}

#[test]
fn losses_match_the_cpu() {
    let Some((dev, _global)) = gpu() else { return };
    let logits = randn(&[37, 10], 8).mul_scalar(2.0);
    let target = Tensor::from_vec((0..37).map(|i| ((i * 7) % 10) as f32).collect(), &[37]);
    let weight = randn(&[10], 9).abs().add_scalar(0.1);
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        for eps in [0.0, 0.1] {
            for w in [None, Some(&weight)] {
                let what = format!(
                    "cross_entropy {reduction:?} eps {eps} weighted {}",
                    w.is_some()
                );
                let inputs = [logits.clone()];
                let cpu = cross_entropy(&logits, &target, w, reduction, eps);
                let gw = w.map(|w| w.to(&dev));
                let got = cross_entropy(
                    &logits.to(&dev),
                    &target.to(&dev),
                    gw.as_ref(),
                    reduction,
                    eps,
                );
                assert_close(&what, &got.to_vec(), &cpu.to_vec(), 1e-6);
                let (tc, tg) = (target.clone(), target.to(&dev));
                let (wc, wg) = (w.cloned(), gw.clone());
                compare(&what, &dev, &inputs, 1e-6, move |t| {
                    if t[0].device().is_cuda() {
                        cross_entropy(&t[0], &tg, wg.as_ref(), reduction, eps)
                    } else {
                        cross_entropy(&t[0], &tc, wc.as_ref(), reduction, eps)
                    }
                });
            }
        }
    }
    let (x, y) = (randn(&[20, 3], 10), randn(&[20, 3], 11));
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        compare("mse", &dev, &[x.clone(), y.clone()], 1e-6, |t| {
            mse_loss(&t[0], &t[1], reduction)
        });
        compare("l1", &dev, &[x.clone(), y.clone()], 1e-6, |t| {
            l1_loss(&t[0], &t[1], reduction)
        });
    }
}

/// 20 steps of `make(params)` on a small regression, on the CPU and on the GPU.
fn optimizer_run(
    dev: &Device,
    make: impl Fn(Vec<Tensor>) -> Box<dyn Optimizer>,
) -> (Vec<f32>, Vec<f32>) {
    let (x, y) = (randn(&[16, 6], 30), randn(&[16, 2], 31));
    let w0 = randn(&[2, 6], 32);
    let run = |d: &Device| {
        let w = w0.to(d).detach().set_requires_grad(true);
        let mut opt = make(vec![w.clone()]);
        let (x, y) = (x.to(d), y.to(d));
        for _ in 0..20 {
            opt.zero_grad();
            mse_loss(&x.linear(&w, None), &y, Reduction::Mean).backward();
            opt.step();
        }
        w.to_vec()
    };
    (run(&Device::Cpu), run(dev))
}

#[test]
fn optimizers_match_the_cpu() {
    let Some((dev, _global)) = gpu() else { return };
    let sgd = |c: SGDConfig| {
        move |p: Vec<Tensor>| Box::new(SGD::new(p, c).unwrap()) as Box<dyn Optimizer>
    };
    type Make = Box<dyn Fn(Vec<Tensor>) -> Box<dyn Optimizer>>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "sgd",
            Box::new(sgd(SGDConfig {
                lr: 0.05,
                ..Default::default()
            })),
        ),
        (
            "sgd momentum wd",
            Box::new(sgd(SGDConfig {
                lr: 0.05,
                momentum: 0.9,
                weight_decay: 1e-2,
                ..Default::default()
            })),
        ),
        (
            "sgd nesterov",
            Box::new(sgd(SGDConfig {
                lr: 0.05,
                momentum: 0.9,
                nesterov: true,
                ..Default::default()
            })),
        ),
        (
            "adam",
            Box::new(|p| {
                Box::new(
                    Adam::new(
                        p,
                        AdamConfig {
                            lr: 0.01,
                            ..Default::default()
                        },
                    )
                    .unwrap(),
                ) as Box<dyn Optimizer>
            }),
        ),
        (
            "adam amsgrad wd",
            Box::new(|p| {
                Box::new(
                    Adam::new(
                        p,
                        AdamConfig {
                            lr: 0.01,
                            amsgrad: true,
                            weight_decay: 1e-2,
                            ..Default::default()
                        },
                    )
                    .unwrap(),
                ) as Box<dyn Optimizer>
            }),
        ),
        (
            "adamw",
            Box::new(|p| {
                Box::new(
                    AdamW::new(
                        p,
                        AdamWConfig {
                            lr: 0.01,
                            ..Default::default()
                        },
                    )
                    .unwrap(),
                ) as Box<dyn Optimizer>
            }),
        ),
    ];
    for (name, make) in cases {
        let (cpu, gpu) = optimizer_run(&dev, make);
        assert_close(name, &gpu, &cpu, 1e-4);
    }
}

#[test]
fn modules_move_and_state_dicts_are_the_cpus() {
    let Some((dev, _global)) = gpu() else { return };
    let mut cfg = MlpConfig::new(&[6, 8, 3]);
    cfg.activation = backprop::nn::Activation::Tanh;
    let cpu = Mlp::new(&cfg);
    let mut moved = Mlp::new(&cfg);
    moved.load_state_dict(&cpu.state_dict()).unwrap();
    let params_before: Vec<usize> = moved.parameters().iter().map(|p| p.id()).collect();
    moved.to(&dev);
    assert!(moved.parameters().iter().all(|p| p.device() == dev));
    let after: Vec<usize> = moved.parameters().iter().map(|p| p.id()).collect();
    assert_eq!(
        params_before, after,
        "Module::to keeps the parameter handles"
    );
    // The state dict of a GPU model is the CPU's, value for value, and loads back.
    assert_eq!(moved.state_dict(), cpu.state_dict());
    moved.load_state_dict(&cpu.state_dict()).unwrap();
    assert!(moved.parameters().iter().all(|p| p.device() == dev));
    let x = randn(&[4, 6], 40);
    let (oc, og) = (cpu.forward(&x), moved.forward(&x.to(&dev)));
    assert_close("moved forward", &og.to_vec(), &oc.to_vec(), PRODUCT);
    // Back to the CPU.
    moved.to(&Device::Cpu);
    assert_eq!(moved.forward(&x).to_vec().len(), 12);
}

#[test]
fn two_devices_in_one_op_panic_naming_both() {
    let Some((dev, _global)) = gpu() else { return };
    let (a, b) = (Tensor::ones(&[2]), Tensor::ones(&[2]).to(&dev));
    let e = std::panic::catch_unwind(|| &a + &b).unwrap_err();
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("same device") && msg.contains("cpu") && msg.contains("cuda:0"),
        "{msg}"
    );
    // A CPU-only op says where the values are.
    let e = std::panic::catch_unwind(|| b.array().data().to_vec()).unwrap_err();
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("cuda:0") && msg.contains(".to(&Device::Cpu)"),
        "{msg}"
    );
    // Gradients flow back across a move.
    let x = Tensor::from_slice(&[1.0, 2.0], &[2]).set_requires_grad(true);
    (x.to(&dev) * 3.0).sum().backward();
    let g = x.grad().unwrap();
    assert_eq!((g.device(), g.to_vec()), (Device::Cpu, vec![3.0, 3.0]));
    let _ = Array::zeros(&[1]);
}

#[test]
fn digits_train_on_the_gpu_as_on_the_cpu() {
    let Some((dev, _global)) = gpu() else { return };
    let data = backprop::data::digits();
    let cfg = MlpConfig::new(&[64, 128, 64, 10]);
    let init = Mlp::new(&cfg).state_dict();
    let run = |d: &Device| {
        let mut model = Mlp::new(&cfg);
        model.load_state_dict(&init).unwrap();
        model.to(d);
        let (x, y) = (data.x_tensor().mul_scalar(1.0 / 16.0), data.y_tensor());
        let mut opt = Adam::new(
            model.parameters(),
            AdamConfig {
                lr: 1e-3,
                ..Default::default()
            },
        )
        .unwrap();
        let n = data.len();
        for _ in 0..30 {
            for start in (0..n).step_by(64) {
                let end = (start + 64).min(n);
                let idx: Vec<usize> = (start..end).collect();
                let (xb, yb) = (x.index_select(0, &idx).to(d), y.index_select(0, &idx).to(d));
                opt.zero_grad();
                cross_entropy(&model.forward(&xb), &yb, None, Reduction::Mean, 0.0).backward();
                opt.step();
            }
        }
        let out = backprop::no_grad(|| model.forward(&x.to(d))).to_vec();
        let labels = data.y_tensor().to_vec();
        let correct = out
            .chunks(10)
            .zip(&labels)
            .filter(|(row, &l)| {
                let best = row
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap()
                    .0;
                best as f32 == l
            })
            .count();
        (correct as f32 / n as f32, model.parameters()[0].to_vec())
    };
    let (acc_cpu, w_cpu) = run(&Device::Cpu);
    let (acc_gpu, w_gpu) = run(&dev);
    eprintln!("digits training accuracy: cpu {acc_cpu:.4}, gpu {acc_gpu:.4}");
    assert!(
        acc_gpu >= acc_cpu - 0.01,
        "GPU accuracy {acc_gpu} vs CPU {acc_cpu}"
    );
    // 30 epochs of Adam amplify last-bit differences; the weights stay close as a whole.
    let norm = |v: &mut dyn Iterator<Item = f32>| v.map(|x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let rel =
        norm(&mut w_gpu.iter().zip(&w_cpu).map(|(a, b)| a - b)) / norm(&mut w_cpu.iter().copied());
    eprintln!("digits first-layer weights: ‖gpu − cpu‖ / ‖cpu‖ = {rel:e}");
    assert!(
        rel < 1e-2,
        "weights drifted apart: relative difference {rel}"
    );
    // Two GPU runs give identical bits.
    let (_, again) = run(&dev);
    assert_eq!(again, w_gpu, "two GPU runs differ");
}

#[test]
fn batch_norm_matches_the_cpu_in_both_modes() {
    use backprop::nn::BatchNorm1d;
    let Some((dev, _global)) = gpu() else { return };
    let x = randn(&[16, 5], 50).mul_scalar(2.0).add_scalar(1.0);
    let mut cpu = BatchNorm1d::new(5);
    let mut moved = BatchNorm1d::new(5);
    // Non-trivial affine parameters, the same on both.
    cpu.weight
        .as_ref()
        .unwrap()
        .assign(&randn(&[5], 51).array());
    cpu.bias.as_ref().unwrap().assign(&randn(&[5], 52).array());
    moved.load_state_dict(&cpu.state_dict()).unwrap();
    moved.to(&dev);
    for step in 0..3 {
        let (xc, xg) = (
            x.mul_scalar(1.0 + step as f32).set_requires_grad(true),
            x.mul_scalar(1.0 + step as f32)
                .to(&dev)
                .detach()
                .set_requires_grad(true),
        );
        let (yc, yg) = (cpu.forward(&xc), moved.forward(&xg));
        assert_close("bn train forward", &yg.to_vec(), &yc.to_vec(), 1e-5);
        let w = randn(&[16, 5], 53);
        (&yc * &w).sum().backward();
        (&yg * &w.to(&dev)).sum().backward();
        assert_close(
            "bn train dx",
            &xg.grad().unwrap().to_vec(),
            &xc.grad().unwrap().to_vec(),
            1e-5,
        );
        for (pc, pg) in cpu.parameters().iter().zip(moved.parameters()) {
            assert_close(
                "bn train dw/db",
                &pg.grad().unwrap().to_vec(),
                &pc.grad().unwrap().to_vec(),
                1e-5,
            );
        }
        cpu.zero_grad();
        moved.zero_grad();
    }
    // Running statistics and the counter follow the CPU's.
    let (sc, sg) = (cpu.state_dict(), moved.state_dict());
    for key in ["running_mean", "running_var"] {
        let values = |sd: &backprop::nn::StateDict| match &sd.get(key).unwrap().data {
            backprop::nn::StateData::F32(v) => v.clone(),
            other => panic!("{key}: {other:?}"),
        };
        let (a, b) = (values(&sc), values(&sg));
        assert_close(key, &b, &a, 1e-6);
    }
    assert_eq!(sc.get("num_batches_tracked"), sg.get("num_batches_tracked"));
    cpu.eval();
    moved.eval();
    compare("bn eval", &dev, std::slice::from_ref(&x), 1e-5, |t| {
        if t[0].device().is_cuda() {
            moved.forward(&t[0])
        } else {
            cpu.forward(&t[0])
        }
    });
}

#[test]
fn dropout_on_the_gpu_keeps_the_expected_fraction_and_repeats() {
    use backprop::nn::Dropout;
    let Some((dev, _global)) = gpu() else { return };
    let d = Dropout::new(0.3);
    let x = Tensor::ones(&[400, 250]).to(&dev).set_requires_grad(true);
    backprop::manual_seed(5);
    let y = d.forward(&x);
    let v = y.to_vec();
    let kept = v.iter().filter(|&&v| v != 0.0).count() as f64 / v.len() as f64;
    assert!((kept - 0.7).abs() < 0.01, "kept fraction {kept}");
    assert!(
        v.iter().all(|&v| v == 0.0 || v == 1.0 / 0.7f32),
        "kept values are scaled by 1/(1 − p)"
    );
    y.sum().backward();
    assert_eq!(x.grad().unwrap().to_vec(), v, "the gradient is the mask");
    backprop::manual_seed(5);
    assert_eq!(
        d.forward(&x).to_vec(),
        v,
        "the same seed gives the same mask"
    );
}

#[test]
fn rmsprop_clip_and_l1_match_the_cpu() {
    use backprop::optim::{clip_grad_norm, l1_penalty, RMSprop, RMSpropConfig};
    let Some((dev, _global)) = gpu() else { return };
    for (name, cfg) in [
        (
            "rmsprop",
            RMSpropConfig {
                lr: 0.01,
                ..Default::default()
            },
        ),
        (
            "rmsprop centered momentum wd",
            RMSpropConfig {
                lr: 0.01,
                centered: true,
                momentum: 0.9,
                weight_decay: 1e-2,
                ..Default::default()
            },
        ),
    ] {
        let (cpu, gpu) = optimizer_run(&dev, move |p| {
            Box::new(RMSprop::new(p, cfg).unwrap()) as Box<dyn Optimizer>
        });
        assert_close(name, &gpu, &cpu, 1e-4);
    }
    let grads = [randn(&[3, 4], 60).mul_scalar(3.0), randn(&[7], 61)];
    let run = |d: &Device, max: f64| {
        let ps: Vec<Tensor> = grads
            .iter()
            .map(|g| {
                let p = Tensor::zeros(&g.shape()).to(d).set_requires_grad(true);
                p.set_grad(Some(g.array().clone().to_device(d)));
                p
            })
            .collect();
        let total = clip_grad_norm(&ps, max, 2.0);
        (
            total,
            ps.iter()
                .flat_map(|p| p.grad().unwrap().to_vec())
                .collect::<Vec<_>>(),
        )
    };
    for max in [1.0, 1e3] {
        let ((tc, gc), (tg, gg)) = (run(&Device::Cpu, max), run(&dev, max));
        assert!((tc - tg).abs() <= 1e-6 * tc, "clip total: {tg} vs {tc}");
        assert_close("clipped gradients", &gg, &gc, 1e-6);
    }
    let ps = [randn(&[4, 3], 62), randn(&[3], 63)];
    compare("l1_penalty", &dev, &ps, 1e-6, l1_penalty);
}

#[test]
fn bce_with_logits_and_index_select_match_the_cpu() {
    use backprop::nn::binary_cross_entropy_with_logits as bce;
    let Some((dev, _global)) = gpu() else { return };
    let mut x = randn(&[9, 4], 70).mul_scalar(4.0).to_vec();
    x[0] = 0.0;
    let x = Tensor::from_vec(x, &[9, 4]);
    let y = randn(&[9, 4], 71).sigmoid();
    let w = randn(&[4], 72).abs();
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        compare("bce", &dev, &[x.clone(), y.clone()], 1e-6, |t| {
            bce(&t[0], &t[1], None, reduction, None)
        });
        let (wc, wg) = (w.clone(), w.to(&dev));
        compare(
            "bce weighted",
            &dev,
            &[x.clone(), y.clone()],
            1e-6,
            move |t| {
                let w = if t[0].device().is_cuda() { &wg } else { &wc };
                bce(&t[0], &t[1], Some(w), reduction, None)
            },
        );
    }
    let data = randn(&[6, 5], 73);
    let idx = [4, 0, 4, 2];
    compare(
        "index_select rows",
        &dev,
        std::slice::from_ref(&data),
        0.0,
        |t| t[0].index_select(0, &idx),
    );
    compare(
        "index_select cols",
        &dev,
        std::slice::from_ref(&data),
        0.0,
        |t| t[0].index_select(1, &[3, 3, 1]),
    );
}

#[test]
fn the_advanced_model_trains_on_the_gpu() {
    use backprop::nn::{BatchNorm1d, Dropout, Linear, ReLU, Sequential};
    use backprop::optim::{clip_grad_norm, StepLR};
    let Some((dev, _global)) = gpu() else { return };
    let mut model = Sequential::new()
        .add(Linear::new(2, 32))
        .add(ReLU)
        .add(BatchNorm1d::new(32))
        .add(Dropout::new(0.1))
        .add(Linear::new(32, 1));
    model.to(&dev);
    let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]).to(&dev);
    let y = Tensor::from_slice(&[0., 1., 1., 0.], &[4, 1]).to(&dev);
    let mut opt = Adam::new(
        model.parameters(),
        AdamConfig {
            lr: 0.01,
            weight_decay: 1e-5,
            ..Default::default()
        },
    )
    .unwrap();
    let mut sched = StepLR::new(&mut opt, 500, 0.1).unwrap();
    let mse = backprop::nn::MSELoss::new();
    let mut first = None;
    for _ in 0..300 {
        opt.zero_grad();
        let loss = mse.forward(&model.forward(&x), &y);
        first.get_or_insert(loss.item());
        loss.backward();
        clip_grad_norm(&model.parameters(), 1.0, 2.0);
        opt.step();
        backprop::optim::LRScheduler::step(&mut sched, &mut opt);
    }
    model.eval();
    let last = mse.forward(&model.forward(&x), &y).item();
    eprintln!("advanced on the GPU: loss {} → {last}", first.unwrap());
    assert!(
        last < 0.5 * first.unwrap(),
        "the loss fell from {} to only {last}",
        first.unwrap()
    );
}
