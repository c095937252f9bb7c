//! Criterion benchmarks: GEMM at the W2/W3 shapes, `Linear` forward + backward, one training
//! step of the xor, advanced and mnist workloads (see `workloads.rs`), and the autograd walk over
//! a deep graph of tiny ops. Kept short (few samples, short measurement windows) so that
//! `cargo bench` finishes in a couple of minutes; the side-by-side comparison with PyTorch is
//! `scripts/bench_side_by_side.sh`.
//!
//! ```text
//! cargo bench --bench train_step            # all
//! cargo bench --bench train_step -- gemm    # a group
//! ```

#[path = "common/workloads.rs"]
mod workloads;

use backprop::nn::{Linear, Module};
use backprop::tensor::{gemm, MatRef};
use backprop::{Array, Tensor};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

/// `x·Wᵀ` as `Linear` computes it: `x` is `[n, k]` row-major, `W` is `[m, k]` read transposed.
fn bench_gemm(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    // (label, n rows, k in, m out)
    for (label, n, k, m) in [
        ("w2_l1_128x784x256", 128, 784, 256),
        ("w2_l2_128x256x128", 128, 256, 128),
        ("w2_l3_128x128x10", 128, 128, 10),
        ("w3_l1_512x1024x4096", 512, 1024, 4096),
        ("w3_l2_512x4096x4096", 512, 4096, 4096),
    ] {
        let x = Tensor::randn(&[n, k]).to_vec();
        let w = Tensor::randn(&[m, k]).to_vec();
        let mut out = vec![0.0f32; n * m];
        g.throughput(Throughput::Elements((2 * n * k * m) as u64));
        g.bench_function(label, |b| {
            b.iter(|| {
                gemm(
                    n,
                    m,
                    k,
                    &mut out,
                    MatRef::new(&x, k, false),
                    MatRef::new(&w, k, true),
                    false,
                );
                black_box(&out);
            })
        });
    }
    g.finish();
}

/// One `Linear` layer, forward then backward (`dx`, `dW`, `db`), at W2's first-layer shape
/// and at xor's.
fn bench_linear(c: &mut Criterion) {
    let mut g = c.benchmark_group("linear_fwd_bwd");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for (label, n, k, m) in [("128x784x256", 128, 784, 256), ("4x2x4", 4, 2, 4)] {
        let layer = Linear::new(k, m);
        let x = Tensor::randn(&[n, k]).set_requires_grad(true);
        g.bench_function(label, |b| {
            b.iter(|| {
                layer.zero_grad();
                x.zero_grad();
                layer.forward(&x).sum().backward();
            })
        });
    }
    g.finish();
}

/// One full training step of each workload (for inference: one call over its 10000 rows).
fn bench_train_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("train_step");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for name in ["xor", "advanced", "mnist"] {
        let mut w = workloads::build(name, true);
        g.bench_function(name, |b| b.iter(|| black_box((w.run)(1))));
    }
    // About 0.4-0.8 s and 25-50 ms per iteration: ten samples of one iteration each.
    g.measurement_time(Duration::from_secs(8));
    for name in ["wide", "inference"] {
        let mut w = workloads::build(name, true);
        g.bench_function(name, |b| b.iter(|| black_box((w.run)(1))));
    }
    g.finish();
}

/// Backward over a chain of 1000 tiny ops (graph built outside the timing).
fn bench_autograd_walk(c: &mut Criterion) {
    let mut g = c.benchmark_group("autograd_walk");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let x = Tensor::from_array(Array::full(&[4], 0.5)).set_requires_grad(true);
    g.bench_function("chain_1000_tiny_ops", |b| {
        b.iter_batched(
            || {
                let mut y = x.clone();
                for i in 0..1000 {
                    y = if i % 2 == 0 { &y * 1.001 } else { &y + 0.5 };
                }
                y.sum()
            },
            |loss| loss.backward(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("build_and_walk_1000_tiny_ops", |b| {
        b.iter(|| {
            let mut y = x.clone();
            for i in 0..1000 {
                y = if i % 2 == 0 { &y * 1.001 } else { &y + 0.5 };
            }
            y.sum().backward();
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_gemm,
    bench_linear,
    bench_train_step,
    bench_autograd_walk
);
criterion_main!(benches);
