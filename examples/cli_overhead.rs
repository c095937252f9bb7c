//! How much `backprop train` adds per training step over the plain library loop.
//!
//! ```text
//! cargo build --release && cargo run --release --example cli_overhead -- [--rows 20000] [--epochs 6] [--threads N]
//! ```
//!
//! Writes an MNIST-shaped dataset (random `[rows, 784]` inputs, 10 classes) as `.npy` files into a
//! temporary folder, then times the same training two ways, alternating them `--rounds` times
//! (default 3) so that both see the same machine:
//!
//! - **library**: the loop a library user writes (`zero_grad`, forward, cross-entropy,
//!   `backward`, Adam `step`) over the batches of a shuffled [`DataLoader`];
//! - **cli**: `target/release/backprop train` on a config with the same model, optimizer, batch
//!   size and epochs (progress output on, as in a terminal session redirected to a file;
//!   per-epoch metrics; the gradient monitor of `report.html`), timed by the `time_s` of its
//!   metrics lines (the epochs themselves: no data loading, no files written at the end).
//!
//! Both leave out the first epoch (warm-up: worker threads starting, buffers first allocated).
//!
//! Prints seconds per step for both (best round) and the CLI's overhead in percent.

use backprop::data::{write_npy, DataLoader, Dataset};
use backprop::nn::{CrossEntropyLoss, Linear, Module, ReLU, Sequential};
use backprop::optim::{Adam, AdamConfig, Optimizer};
use backprop::rng::Generator;
use backprop::{manual_seed, Array};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const LAYERS: [usize; 4] = [784, 256, 128, 10];
const BATCH: usize = 128;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} needs a number"))
        })
        .unwrap_or(default)
}

/// Seconds per step of the plain library loop over `epochs` epochs (`helper`: through
/// `backprop::train::train_epoch_with_hook`, with the CLI's gradient-monitor hook).
fn library(data: &Dataset, epochs: usize, helper: bool) -> f64 {
    manual_seed(0);
    let mut model = Sequential::new();
    for (i, w) in LAYERS.windows(2).enumerate() {
        model.push(Linear::new(w[0], w[1]));
        if i + 2 < LAYERS.len() {
            model.push(ReLU);
        }
    }
    let mut opt = Adam::new(model.parameters(), AdamConfig::default()).unwrap();
    let loss_fn = CrossEntropyLoss::new();
    let loader = DataLoader::new(data, BATCH, true);
    let mut g = Generator::new(0);
    let mut steps = 0;
    let mut t = Instant::now();
    if helper {
        let mut monitor = backprop::viz::GradientMonitor::new();
        let every = (loader.len() / 5).max(1);
        let loss = |out: &backprop::Tensor, y: &backprop::Tensor| loss_fn.forward(out, y);
        for epoch in 0..epochs {
            if epoch == 1 {
                t = Instant::now();
            }
            backprop::train::train_epoch_with_hook(
                &model,
                &loss,
                &mut opt,
                &loader,
                &mut g,
                &Default::default(),
                &mut |_, _| {},
                &mut |i, m| {
                    if i % every == 0 {
                        monitor.record(epoch + 1, m)
                    }
                },
            );
        }
        return t.elapsed().as_secs_f64() / ((epochs - 1) * loader.len()) as f64;
    }
    for epoch in 0..epochs {
        if epoch == 1 {
            (t, steps) = (Instant::now(), 0);
        }
        for (x, y) in loader.iter(&mut g) {
            opt.zero_grad();
            let loss = loss_fn.forward(&model.forward(&x), &y);
            loss.backward();
            opt.step();
            steps += 1;
        }
    }
    t.elapsed().as_secs_f64() / steps as f64
}

/// Seconds per step of `backprop train`, from its metrics' `time_s`.
fn cli(bin: &Path, dir: &Path, epochs: usize, steps_per_epoch: usize) -> f64 {
    let run = dir.join("run");
    let _ = std::fs::remove_dir_all(&run);
    std::fs::create_dir(&run).unwrap();
    let out = Command::new(bin)
        .args(["train", "--config"])
        .arg(dir.join("config.toml"))
        .arg("--out")
        .arg(&run)
        .output()
        .expect("run backprop train");
    assert!(
        out.status.success(),
        "backprop train failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let seconds: f64 = metrics
        .lines()
        .skip(1)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["time_s"].as_f64().unwrap()
        })
        .sum();
    seconds / ((epochs - 1) * steps_per_epoch) as f64
}

fn main() {
    let rows = arg("--rows", 20000);
    let epochs = arg("--epochs", 6).max(2);
    let rounds = arg("--rounds", 3);
    let threads = arg("--threads", 0);
    if threads > 0 {
        backprop::set_num_threads(threads);
    }
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/backprop");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --release` first",
        bin.display()
    );

    let dir = std::env::temp_dir().join(format!("backprop-cli-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut g = Generator::new(1234);
    let x = Array::new(
        &[rows, LAYERS[0]],
        (0..rows * LAYERS[0]).map(|_| g.normal(0.0, 1.0)).collect(),
    );
    let y = Array::new(&[rows], (0..rows).map(|_| g.below(10) as f32).collect());
    write_npy(dir.join("x.npy"), &x).unwrap();
    write_npy(dir.join("y.npy"), &y).unwrap();
    let config = format!(
        "seed = 0\n[model]\nlayers = {LAYERS:?}\nactivation = \"relu\"\n\
         [data]\ntrain_x = \"x.npy\"\ntrain_y = \"y.npy\"\nstandardize = false\n\
         [train]\nloss = \"cross_entropy\"\noptimizer = \"adam\"\nlr = 0.001\n\
         epochs = {epochs}\nbatch_size = {BATCH}\nshuffle = true\n"
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let data = Dataset::from_arrays(x, y).unwrap();
    let steps_per_epoch = rows.div_ceil(BATCH);

    let (mut lib_best, mut cli_best) = (f64::MAX, f64::MAX);
    for round in 1..=rounds {
        let l = library(&data, epochs, false);
        let h = library(&data, epochs, true);
        let mut cmd_threads = std::env::var("BACKPROP_NUM_THREADS").ok();
        if threads > 0 {
            cmd_threads = Some(threads.to_string());
        }
        if let Some(t) = cmd_threads {
            std::env::set_var("BACKPROP_NUM_THREADS", t);
        }
        let c = cli(&bin, &dir, epochs, steps_per_epoch);
        println!(
            "round {round}: library {:.1} µs/step, train_epoch + monitor {:.1} µs/step, cli {:.1} µs/step",
            l * 1e6,
            h * 1e6,
            c * 1e6
        );
        lib_best = lib_best.min(l);
        cli_best = cli_best.min(c);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "best: library {:.1} µs/step, cli {:.1} µs/step, cli overhead {:+.1}%",
        lib_best * 1e6,
        cli_best * 1e6,
        100.0 * (cli_best / lib_best - 1.0)
    );
}
