//! Same seed and config → bit-identical weights, whatever the thread count.
//!
//! Through the real binary: the digits job trained several times, at 1 and at 2 threads
//! (`BACKPROP_NUM_THREADS`, or `--threads`), and the saved model files compared byte for byte. The full-batch
//! config makes the big matmuls (about 1440×64 · 64×128, and their gradients, whose reduction
//! runs over 1440 rows) run on the worker threads: a product is split into blocks of its output,
//! never along a sum, and the reduction over `k` is cut into pieces by `k` alone, so each element
//! is summed in the same order on any number of threads and no deterministic switch is needed.

mod common;
use common::{backprop, TempDir};

/// Trains with `config` on `threads` threads, set through `BACKPROP_NUM_THREADS` or, with
/// `flag`, through `--threads` (with the variable set to another count, which the flag
/// overrides); returns the saved weights' bytes and the metrics lines without their wall-clock
/// `time_s` field.
fn train(
    dir: &TempDir,
    config: &str,
    threads: usize,
    flag: bool,
    tag: &str,
) -> (Vec<u8>, Vec<String>) {
    let cfg = dir.write("c.toml", config);
    let model = dir.path(&format!("{tag}.safetensors"));
    let metrics = dir.path(&format!("{tag}.jsonl"));
    let out = backprop(dir)
        .args(["train", "--config"])
        .arg(&cfg)
        .arg("--save")
        .arg(&model)
        .arg("--metrics")
        .arg(&metrics)
        .arg("--out")
        .arg(&dir.0)
        .args(flag.then(|| format!("--threads={threads}")))
        .env(
            "BACKPROP_NUM_THREADS",
            if flag { threads + 1 } else { threads }.to_string(),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = std::fs::read_to_string(&metrics)
        .unwrap()
        .lines()
        .map(|l| {
            let cut = l.find(",\"time_s\":").expect("a time_s field");
            let rest = &l[cut + 1..];
            let end = rest.find([',', '}']).unwrap();
            format!("{}{}", &l[..cut], &rest[end..])
        })
        .collect();
    (std::fs::read(&model).unwrap(), lines)
}

/// The digits job's network with BatchNorm1d and Dropout (so the RNG matters too).
fn config(batch_size: usize, epochs: usize) -> String {
    format!(
        "seed = 3\n[model]\nlayers = [64, 128, 64, 10]\nbatch_norm = true\ndropout = 0.1\n\
         [data]\ntrain = \"digits\"\ntest = 0.2\nstandardize = true\n\
         [train]\nloss = \"cross_entropy\"\noptimizer = \"adam\"\nlr = 0.01\n\
         batch_size = {batch_size}\nshuffle = true\nepochs = {epochs}\n"
    )
}

#[track_caller]
fn same_runs(config: &str, threads: &[usize], name: &str) {
    let dir = TempDir::new(name);
    let runs: Vec<_> = threads
        .iter()
        .enumerate()
        .map(|(i, &t)| train(&dir, config, t, i % 2 == 1, &format!("run{i}-t{t}")))
        .collect();
    let (first_model, first_metrics) = &runs[0];
    assert!(first_model.len() > 40_000, "a real model was saved");
    for (i, (model, metrics)) in runs.iter().enumerate().skip(1) {
        assert!(
            model == first_model,
            "{name}: run {i} ({} threads) saved different weights than run 0 ({} threads)",
            threads[i],
            threads[0]
        );
        assert_eq!(metrics, first_metrics, "{name}: run {i} metrics");
    }
}

#[test]
fn full_batch_runs_are_bit_identical_at_1_and_2_threads() {
    same_runs(&config(0, 8), &[1, 1, 2, 2], "full");
}

#[test]
fn minibatch_runs_are_bit_identical_at_1_and_2_threads() {
    same_runs(&config(32, 2), &[1, 2], "mini");
}

#[test]
fn a_different_seed_changes_the_weights() {
    // The comparison above can fail: another seed gives other weights.
    let dir = TempDir::new("seed");
    let (a, _) = train(&dir, &config(32, 1), 1, false, "a");
    let (b, _) = train(
        &dir,
        &config(32, 1).replace("seed = 3", "seed = 4"),
        1,
        false,
        "b",
    );
    assert_ne!(a, b);
}
