//! What `backprop train` costs per training step, against the library loop of the benchmark
//! harness, on the benchmark workloads.
//!
//! ```text
//! cargo build --release && cargo run --release --features cuda --example cli_overhead -- \
//!     [--threads N] [--rounds 3] [--workloads xor,advanced,mnist,wide] [--cpu]
//! ```
//!
//! - **library**: the harness's loop (`benches/common/workloads.rs`, as in
//!   `examples/bench_side_by_side.rs`): `zero_grad`, forward, loss, `backward`, [clip], `step`,
//!   [scheduler step], on data in memory. It runs the steps of the first `e1` epochs untimed,
//!   then the steps of the next `e2 - e1` epochs in one timed block: the stretch of training the
//!   CLI's figure covers. (A stretch matters: advanced's StepLR takes the learning rate through
//!   subnormal numbers between steps 12,000 and 24,000, and those steps take up to 30% longer.)
//! - **cli**: `target/release/backprop train` on a config with the same model, loss, optimizer,
//!   hyperparameters, batch size and data size, run twice, for `e1` and `e2` epochs; the cost
//!   of a step is the difference of the two wall-clock times over the difference of their step
//!   counts. Everything that grows with the epochs counts (per-epoch metrics, the gradient
//!   monitor, the history the report's curves are drawn from); loading the data and writing the
//!   model do not. The runs are made with `--no-report`: drawing the report is a fixed cost,
//!   but not the same one for both runs (5,000 xor epochs keep all 2,048 points of a curve's
//!   history, 205,000 a thinned sample of them, which draws faster), and on xor that difference
//!   alone made a step look 0.3 µs (7%) cheaper than it is. Also shown:
//!   the longer run's own `time_s` (metrics.jsonl) summed over those epochs, per step. It
//!   covers everything the command does in its epoch loop, without the noise of two whole
//!   runs' fixed costs (on mnist and wide the first epoch's page faults alone vary by a
//!   tenth of a second and more from run to run); `--cpu` does not change it.
//!
//! Both sides use the command's allocator (mimalloc, see cli/Cargo.toml), so that no
//! difference between allocators is counted as the command's.
//!
//! Build it with `--features cuda`, as the command is built: the feature alone costs the tiny
//! workloads about 9% per step on the CPU, and it is not the CLI's cost.
//!
//! The two alternate `--rounds` times (so both see the same machine); the summary keeps the
//! median round of each (a CLI figure is the difference of two whole runs, so one disturbed run
//! moves it either way, and the best round would pick such a low outlier).
//! Prints one line per workload and round, then a summary table.
//!
//! `--cpu` times CPU seconds (user + system, all threads) instead of wall-clock seconds: the
//! CLI's through `/usr/bin/time`, the harness's from `/proc/self/task/*/schedstat`. On a machine
//! that other processes share this is far steadier; use it with `--threads 1` (idle pool workers
//! poll for a millisecond before they sleep, which counts as CPU time).

#[path = "../benches/common/workloads.rs"]
mod workloads;

use backprop::data::write_npy;
use backprop::rng::Generator;
use backprop::Array;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The command's allocator (cli/src/main.rs), for the library loop too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

/// A workload as `backprop train` runs it: the config's `[model]`/`[train]` lines, how to write
/// its data, and two epoch counts.
struct CliWorkload {
    name: &'static str,
    config: &'static str,
    /// Rows and steps per epoch.
    steps_per_epoch: usize,
    epochs: (usize, usize),
}

const XOR_DATA: &str = "[data]\ntrain = \"xor\"\nstandardize = false\n";
const NPY_DATA: &str = "[data]\ntrain_x = \"x.npy\"\ntrain_y = \"y.npy\"\nstandardize = false\n";

fn workload(name: &str) -> CliWorkload {
    match name {
        "xor" => CliWorkload {
            name: "xor",
            config: "[model]\nlayers = [2, 4, 4, 1]\n[train]\nloss = \"mse\"\noptimizer = \"adam\"\nlr = 0.01\nbatch_size = 0\nshuffle = false\n",
            steps_per_epoch: 1,
            epochs: (5_000, 205_000),
        },
        "advanced" => CliWorkload {
            name: "advanced",
            config: "[model]\nlayers = [2, 32, 16, 1]\nbatch_norm = true\ndropout = 0.5\n[train]\nloss = \"mse\"\noptimizer = \"adam\"\nlr = 0.01\nweight_decay = 1e-5\nscheduler = \"step\"\nstep_size = 500\ngamma = 0.1\nclip_grad_norm = 1.0\nbatch_size = 0\nshuffle = false\n",
            steps_per_epoch: 1,
            epochs: (2_000, 62_000),
        },
        "mnist" => CliWorkload {
            name: "mnist",
            config: "[model]\nlayers = [784, 256, 128, 10]\n[train]\nloss = \"cross_entropy\"\noptimizer = \"adam\"\nlr = 0.001\nbatch_size = 128\nshuffle = false\n",
            steps_per_epoch: 469,
            epochs: (1, 9),
        },
        "wide" => CliWorkload {
            name: "wide",
            config: "[model]\nlayers = [1024, 4096, 4096, 1024]\n[train]\nloss = \"mse\"\noptimizer = \"sgd\"\nlr = 0.01\nmomentum = 0.9\nbatch_size = 512\nshuffle = false\n",
            steps_per_epoch: 1,
            epochs: (2, 18),
        },
        other => panic!("unknown workload {other} (xor, advanced, mnist, wide)"),
    }
}

/// Writes `x.npy`/`y.npy` in `dir` for the workloads that read files: the harness's data,
/// drawn in the harness's order, so that both sides train the same model on the same numbers.
fn write_data(name: &str, dir: &Path) {
    let mut g = Generator::new(1234);
    let (x, y) = match name {
        "mnist" => {
            // The harness draws batch by batch: 128 rows of x, then their 128 labels.
            let (n, bs, f) = (60_000, 128, 784);
            let (mut x, mut y) = (Vec::with_capacity(n * f), Vec::with_capacity(n));
            for start in (0..n).step_by(bs) {
                let rows = bs.min(n - start);
                x.extend((0..rows * f).map(|_| g.normal(0.0, 1.0)));
                y.extend((0..rows).map(|_| g.below(10) as f32));
            }
            (Array::new(&[n, f], x), Array::new(&[n], y))
        }
        "wide" => {
            let x = Array::new(
                &[512, 1024],
                (0..512 * 1024).map(|_| g.normal(0.0, 1.0)).collect(),
            );
            let y = Array::new(
                &[512, 1024],
                (0..512 * 1024).map(|_| g.normal(0.0, 1.0)).collect(),
            );
            (x, y)
        }
        _ => return,
    };
    write_npy(dir.join("x.npy"), &x).unwrap();
    write_npy(dir.join("y.npy"), &y).unwrap();
}

/// CPU seconds of this process so far, all threads (from `/proc/self/task/*/schedstat`).
fn cpu_seconds() -> f64 {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let stat =
            std::fs::read_to_string(task.unwrap().path().join("schedstat")).unwrap_or_default();
        ns += stat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
    }
    ns as f64 * 1e-9
}

/// One `backprop train` run.
struct CliRun {
    /// Wall-clock seconds, or CPU seconds with `--cpu`, of the whole process.
    seconds: f64,
    /// The last epoch's loss.
    loss: f64,
    /// Each epoch's `time_s` from metrics.jsonl (wall-clock seconds from the end of the epoch
    /// before to its own end, so everything the command does per epoch).
    time_s: Vec<f64>,
}

/// Runs `backprop train` for `epochs` epochs of workload `w`.
fn cli_run(bin: &Path, dir: &Path, w: &CliWorkload, epochs: usize, cpu: bool) -> CliRun {
    let data = if w.name == "xor" || w.name == "advanced" {
        XOR_DATA
    } else {
        NPY_DATA
    };
    let config = format!("seed = 0\n{data}{}epochs = {epochs}\n", w.config);
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let run = dir.join("run");
    let _ = std::fs::remove_dir_all(&run);
    std::fs::create_dir(&run).unwrap();
    let t = Instant::now();
    let mut cmd = if cpu {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "cpu %U %S"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd
        .args(["train", "--quiet", "--no-report", "--config"])
        .arg(dir.join("config.toml"))
        .arg("--out")
        .arg(&run)
        .output()
        .expect("run backprop train");
    let seconds = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "backprop train failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let number = |line: &serde_json::Value, key: &str| line[key].as_f64().expect(key);
    let loss = number(lines.last().expect("an epoch"), "loss");
    let time_s = lines.iter().map(|l| number(l, "time_s")).collect();
    let seconds = if cpu {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .rfind(|l| l.starts_with("cpu "))
            .expect("/usr/bin/time output");
        line[4..]
            .split(' ')
            .map(|v| v.parse::<f64>().unwrap())
            .sum()
    } else {
        seconds
    };
    CliRun {
        seconds,
        loss,
        time_s,
    }
}

/// Seconds per step through the CLI: the difference of two runs over their extra steps, and
/// the longer run's `time_s` over those epochs per step; and the longer run's last loss.
fn cli(bin: &Path, dir: &Path, w: &CliWorkload, cpu: bool) -> (f64, f64, f64) {
    let (e1, e2) = w.epochs;
    let short = cli_run(bin, dir, w, e1, cpu);
    let long = cli_run(bin, dir, w, e2, cpu);
    let steps = ((e2 - e1) * w.steps_per_epoch) as f64;
    let time_s: f64 = long.time_s[e1..].iter().sum();
    (
        (long.seconds - short.seconds) / steps,
        time_s / steps,
        long.loss,
    )
}

/// Seconds per step of the harness's library loop over the steps the CLI's figure covers:
/// the first `e1` epochs' steps untimed, then the next `e2 - e1` epochs' steps in one block;
/// and the last step's loss.
fn library(name: &str, w: &CliWorkload, cpu: bool) -> (f64, f32) {
    let mut lib = workloads::build(name, false);
    let (e1, e2) = w.epochs;
    (lib.run)(e1 * w.steps_per_epoch);
    let steps = (e2 - e1) * w.steps_per_epoch;
    let (t, c) = (Instant::now(), cpu_seconds());
    let loss = (lib.run)(steps);
    let spent = if cpu {
        cpu_seconds() - c
    } else {
        t.elapsed().as_secs_f64()
    };
    (spent / steps as f64, loss)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn fmt_time(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.2} ms", s * 1e3)
    }
}

fn main() {
    let rounds: usize = arg("--rounds").map_or(3, |v| v.parse().expect("--rounds N"));
    let cpu = std::env::args().any(|a| a == "--cpu");
    let names = arg("--workloads").unwrap_or_else(|| "xor,advanced,mnist,wide".into());
    if let Some(t) = arg("--threads") {
        let n: usize = t.parse().expect("--threads N");
        backprop::set_num_threads(n);
        // The child processes read it too.
        std::env::set_var("BACKPROP_NUM_THREADS", n.to_string());
    }
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/backprop");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --release` first",
        bin.display()
    );
    let dir = std::env::temp_dir().join(format!("backprop-cli-overhead-{}", std::process::id()));
    let mut summary = Vec::new();
    for name in names.split(',') {
        let w = workload(name);
        std::fs::create_dir_all(&dir).unwrap();
        write_data(name, &dir);
        let (mut libs, mut clis, mut epochs) = (Vec::new(), Vec::new(), Vec::new());
        for round in 1..=rounds {
            let (l, lib_loss) = library(name, &w, cpu);
            let (c, e, cli_loss) = cli(&bin, &dir, &w, cpu);
            // With one step an epoch, the command's last epoch loss is its last step's: the
            // two trained the same model on the same data exactly when it is the library's.
            let same = match w.steps_per_epoch {
                1 if cli_loss == lib_loss as f64 => ", the same losses",
                1 => ", NOT the same training: the losses differ",
                _ => "",
            };
            println!(
                "{name} round {round}: library {}/step, cli {}/step ({:+.1}%), its epochs' time_s {}/step ({:+.1}%){same}",
                fmt_time(l),
                fmt_time(c),
                100.0 * (c / l - 1.0),
                fmt_time(e),
                100.0 * (e / l - 1.0),
            );
            libs.push(l);
            clis.push(c);
            epochs.push(e);
        }
        let _ = std::fs::remove_dir_all(&dir);
        summary.push((name.to_string(), median(libs), median(clis), median(epochs)));
    }
    println!(
        "\n| workload | library loop | `backprop train` | CLI overhead | its epochs' `time_s` | overhead |\n|---|---|---|---|---|---|"
    );
    for (name, l, c, e) in summary {
        println!(
            "| {name} | {}/step | {}/step | {:+.1}% | {}/step | {:+.1}% |",
            fmt_time(l),
            fmt_time(c),
            100.0 * (c / l - 1.0),
            fmt_time(e),
            100.0 * (e / l - 1.0)
        );
    }
}
