//! A long `backprop train` holds flat memory and a checkpoint of constant size: 10⁶ one-step
//! epochs (the XOR MLP, full batch), with a checkpoint every 10⁵. The metrics of every epoch
//! go to metrics.jsonl, not into memory or the checkpoint; the report draws a bounded sample.
//!
//! Ignored by default (about 10 to 20 s): `cargo test --release -p backprop-cli --test long_run
//! -- --ignored` (CI runs it). Linux only: the process's resident set is read from /proc.

mod common;
use common::{TempDir, BIN};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `VmRSS` of process `pid`, in KiB (`None` once it has exited).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

#[test]
#[ignore = "10^6 epochs: cargo test --release -p backprop-cli --test long_run -- --ignored"]
fn a_million_one_step_epochs_hold_flat_memory() {
    if !Path::new("/proc/self/status").exists() {
        println!("skipped: no /proc to read the resident set from");
        return;
    }
    let dir = TempDir::new("long-run");
    let config = dir.write(
        "xor.toml",
        "seed = 0\n[model]\nlayers = [2, 4, 4, 1]\n[data]\ntrain = \"xor\"\n[train]\nloss = \"mse\"\n\
         optimizer = \"adam\"\nlr = 0.01\nbatch_size = 0\nshuffle = false\nepochs = 1000000\n",
    );
    let run = dir.path("run");
    let mut child = Command::new(BIN)
        .args([
            "--threads",
            "1",
            "train",
            "--quiet",
            "--checkpoint-every",
            "100000",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&run)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = run.join("checkpoint.safetensors");
    let model = run.join("model.safetensors");
    // The most resident memory before the first checkpoint (10⁵ epochs in), after it while
    // training, and at the end (from the model's file on: drawing the report).
    let (mut early, mut late, mut end) = (0u64, 0u64, 0u64);
    let mut first_checkpoint_size = None;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "backprop train failed: {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "10^6 epochs took over 10 minutes"
        );
        let rss = rss_kib(child.id()).unwrap_or(0);
        match size(&checkpoint) {
            None => early = early.max(rss),
            Some(_) if model.exists() => end = end.max(rss),
            Some(s) => {
                first_checkpoint_size.get_or_insert(s);
                late = late.max(rss);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = first_checkpoint_size.expect("no checkpoint was seen during the run");
    let last = size(&checkpoint).unwrap();
    println!(
        "resident set: {early} KiB before the first checkpoint, at most {late} KiB after while \
         training, {end} KiB while drawing the report; checkpoint {first} then {last} bytes; \
         {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // 470 bytes an epoch kept would be 470 MB here.
    assert!(
        late < early + 8 * 1024,
        "memory grew from {early} KiB to {late} KiB while training"
    );
    // The report draws a bounded sample of the history (a few MB of pictures and text).
    assert!(
        end < early + 48 * 1024,
        "drawing the report took the resident set from {early} KiB to {end} KiB"
    );
    assert_eq!(first, last, "the checkpoint grew with the epochs");
    let lines = std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 1_000_000);
    let report = size(&run.join("report.html")).unwrap();
    assert!(report < 4 << 20, "report.html is {report} bytes");
}
