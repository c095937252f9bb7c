//! The `backprop` command under stress: special files as outputs, a full disk, stop signals
//! (SIGTERM, SIGHUP, a second SIGINT, SIGKILL mid-checkpoint), closed pipes, two runs sharing a
//! folder, hostile files and edited checkpoints. Every test has its own folder; a test that waits
//! for a run waits for something the run wrote, never for a fixed time.

mod common;
use common::{backprop, metrics, ok, run, TempDir};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Many tiny epochs: a run that lasts until it is stopped.
const ENDLESS: &str = "seed = 5\n[model]\nlayers = [2, 4, 1]\n[data]\ntrain = \"xor\"\n[train]\n\
                       loss = \"mse\"\nlr = 0.01\nbatch_size = 0\nepochs = 200000\n";

/// A quick run.
const QUICK: &str = "seed = 1\n[model]\nlayers = [2, 4, 1]\n[data]\ntrain = \"xor\"\n[train]\n\
                     loss = \"mse\"\nlr = 0.1\nbatch_size = 0\nepochs = 5\n";

/// Slow steps: one step over the whole training set through a wide model takes about a second
/// here, and its checkpoint (model and Adam state, about 200 MB) a good part of one, so that
/// a second signal sent as soon as the first one's message appears finds the run still busy
/// with the step it is finishing or its checkpoint.
const SLOW_STEPS: &str = "[model]\nlayers = [64, 4096, 4096, 10]\n[data]\ntrain = \"digits\"\n\
                          [train]\nbatch_size = 0\nepochs = 100\n";

/// Runs a failing command; returns its one-line stderr.
#[track_caller]
fn fails(dir: &TempDir, args: &[&str]) -> String {
    let out = run(dir, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    err
}

fn spawn(dir: &TempDir, args: &[&str]) -> (Child, BufReader<ChildStderr>) {
    let mut cmd = backprop(dir);
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    // The run must see SIGHUP even where these tests run under `nohup` (which the command
    // respects).
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: only `signal`, which is async-signal-safe, runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_DFL);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    (child, stderr)
}

/// Reads stderr lines until one starts with `prefix`.
#[track_caller]
fn wait_for_line(stderr: &mut BufReader<ChildStderr>, prefix: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).unwrap();
        assert!(n > 0, "the run ended before printing {prefix:?}: {seen}");
        if line.starts_with(prefix) {
            return line;
        }
        seen.push_str(&line);
    }
}

/// Waits (up to two minutes) until `path` exists.
#[track_caller]
fn wait_for_file(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn rest(mut stderr: BufReader<ChildStderr>) -> String {
    let mut s = String::new();
    stderr.read_to_string(&mut s).unwrap();
    s
}

/// Names in `dir` (not recursive), sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The id of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[cfg(unix)]
fn file_type(path: &Path) -> std::fs::FileType {
    std::fs::symlink_metadata(path).unwrap().file_type()
}

// ---- Outputs

#[cfg(unix)]
#[test]
fn special_files_and_links_are_written_through_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = TempDir::new("rel-special");
    dir.write("q.toml", QUICK);
    // A FIFO: a reader gets the weights, and the FIFO stays a FIFO.
    let fifo = dir.path("weights.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    // A link to a device, a link to a regular file.
    std::os::unix::fs::symlink("/dev/null", dir.path("null.jsonl")).unwrap();
    dir.write("real.safetensors", "old");
    std::os::unix::fs::symlink(dir.path("real.safetensors"), dir.path("link.safetensors")).unwrap();
    ok(
        &dir,
        &[
            "train",
            "--config",
            "q.toml",
            "--out",
            "a",
            "--quiet",
            "--save",
            "weights.fifo",
            "--metrics",
            "null.jsonl",
        ],
    );
    let got = reader.join().unwrap();
    assert_eq!(got, std::fs::read(dir.path("a/model.safetensors")).unwrap());
    assert!(file_type(&fifo).is_fifo());
    assert!(file_type(&dir.path("null.jsonl")).is_symlink());
    assert!(file_type(Path::new("/dev/null")).is_char_device());
    ok(
        &dir,
        &[
            "train",
            "--config",
            "q.toml",
            "--out",
            "b",
            "--quiet",
            "--save",
            "link.safetensors",
        ],
    );
    assert!(file_type(&dir.path("link.safetensors")).is_symlink());
    assert_eq!(
        std::fs::read(dir.path("real.safetensors")).unwrap(),
        std::fs::read(dir.path("b/model.safetensors")).unwrap()
    );
    // This process's stdout: the weights, then the summary.
    let out = run(
        &dir,
        &[
            "train",
            "--config",
            "q.toml",
            "--out",
            "c",
            "--quiet",
            "--save",
            "/dev/stdout",
        ],
    );
    assert!(out.status.success());
    let weights = std::fs::read(dir.path("c/model.safetensors")).unwrap();
    assert!(out.stdout.starts_with(&weights));
    assert!(String::from_utf8_lossy(&out.stdout[weights.len()..]).contains("run folder: c"));
    // No temporary file anywhere.
    let listing = dir.listing();
    assert!(
        !listing.iter().any(|p| p.contains(".backprop-tmp-")),
        "{listing:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_full_disk_fails_the_optional_output_and_keeps_the_run() {
    use std::os::unix::fs::FileTypeExt;
    let full = Path::new("/dev/full");
    if std::fs::OpenOptions::new().write(true).open(full).is_err() {
        println!("skipped: no writable /dev/full here");
        return;
    }
    let dir = TempDir::new("rel-full");
    dir.write("q.toml", QUICK);
    for flag in ["--save", "--metrics"] {
        let out = format!("run{flag}");
        let err = fails(
            &dir,
            &[
                "train",
                "--config",
                "q.toml",
                "--out",
                &out,
                "--quiet",
                flag,
                "/dev/full",
            ],
        );
        assert!(
            err.starts_with(&format!("error: {flag}: /dev/full")),
            "{err}"
        );
        assert!(err.contains("No space left"), "{err}");
        assert!(err.contains("the run itself is complete"), "{err}");
        assert_eq!(
            names(&dir.path(&out)),
            [
                "config.toml",
                "metrics.jsonl",
                "model.safetensors",
                "report.html"
            ]
        );
        assert!(file_type(full).is_char_device());
    }
}

#[test]
fn a_model_or_report_that_cannot_be_written_keeps_the_rest_of_the_run() {
    let dir = TempDir::new("rel-final");
    dir.write("q.toml", QUICK);
    // A folder where the model would go: the weights are lost, nothing else is.
    std::fs::create_dir_all(dir.path("m/model.safetensors")).unwrap();
    let err = fails(
        &dir,
        &[
            "train",
            "--config",
            "q.toml",
            "--out",
            "m",
            "--quiet",
            "--checkpoint-every",
            "2",
        ],
    );
    assert!(err.starts_with("error: m/model.safetensors: "), "{err}");
    assert!(err.contains("the trained model was not saved"), "{err}");
    assert!(
        err.contains("its last checkpoint resumes with --resume m"),
        "{err}"
    );
    assert_eq!(
        names(&dir.path("m")),
        [
            "checkpoint.safetensors",
            "config.toml",
            "metrics.jsonl",
            "model.safetensors"
        ]
    );
    assert!(dir.path("m/model.safetensors").is_dir());
    let metrics = std::fs::read_to_string(dir.path("m/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 5, "{metrics}");
    // A folder where the report would go: the run is complete without it.
    std::fs::create_dir_all(dir.path("r/report.html")).unwrap();
    let err = fails(
        &dir,
        &["train", "--config", "q.toml", "--out", "r", "--quiet"],
    );
    assert!(err.starts_with("error: r/report.html: "), "{err}");
    assert!(err.contains("the run itself is complete in r"), "{err}");
    assert_eq!(
        names(&dir.path("r")),
        [
            "config.toml",
            "metrics.jsonl",
            "model.safetensors",
            "report.html"
        ]
    );
    let (weights, _) = backprop::io::safetensors::load(dir.path("r/model.safetensors")).unwrap();
    assert!(weights.get("layers.0.weight").is_some());
}

// ---- Signals

/// Starts an endless run into `dir/a`, sends it `signal` once it trains, and checks that it
/// exits with `code`; returns the rest of its stderr.
#[track_caller]
fn stop_endless_run(dir: &TempDir, signal_name: &str, code: i32) -> String {
    dir.write("x.toml", ENDLESS);
    let (mut child, mut stderr) = spawn(dir, &["train", "--config", "x.toml", "--out", "a"]);
    wait_for_line(&mut stderr, "epoch 1/");
    signal(&child, signal_name);
    let rest = rest(stderr);
    assert_eq!(child.wait().unwrap().code(), Some(code), "{rest}");
    rest
}

#[test]
fn sigterm_saves_a_checkpoint_exits_143_and_resumes() {
    let dir = TempDir::new("rel-term");
    let rest = stop_endless_run(&dir, "TERM", 143);
    assert!(rest.contains("stopped by SIGTERM"), "{rest}");
    assert!(rest.contains("--resume a"), "{rest}");
    // One-step epochs: the stop comes between epochs.
    assert!(rest.contains("SIGTERM after epoch "), "{rest}");
    assert_eq!(
        names(&dir.path("a")),
        ["checkpoint.safetensors", "config.toml", "metrics.jsonl"]
    );
    // The stopped run continues (a shorter run of the same config, to keep the test quick).
    let config = std::fs::read_to_string(dir.path("a/config.toml")).unwrap();
    let epoch = checkpoint_epoch(&dir.path("a/checkpoint.safetensors"));
    let config = config.replace("epochs = 200000", &format!("epochs = {}", epoch + 1));
    assert!(config.contains(&format!("epochs = {}", epoch + 1)));
    std::fs::write(dir.path("a/config.toml"), config).unwrap();
    ok(&dir, &["train", "--resume", "a", "--quiet"]);
    assert!(dir.path("a/model.safetensors").exists());
}

/// `rows` rows of two features and a 0/1 label (the signs of the features agree), from a
/// fixed sequence.
fn two_feature_csv(rows: usize) -> String {
    let mut s = String::from("a,b,label\n");
    let mut v: u64 = 1;
    let mut next = || {
        v = v
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((v >> 40) as f64 / (1u64 << 24) as f64) * 2.0 - 1.0
    };
    for _ in 0..rows {
        let (a, b) = (next(), next());
        s.push_str(&format!("{a:.4},{b:.4},{}\n", u8::from(a * b > 0.0)));
    }
    s
}

#[test]
fn a_signal_mid_epoch_stops_after_the_step_and_resumes_bit_for_bit() {
    let dir = TempDir::new("rel-mid");
    // Two epochs of 100 000 one-row steps each: a signal lands inside the first.
    dir.write("d.csv", &two_feature_csv(100_000));
    dir.write(
        "m.toml",
        "seed = 4\n[model]\nlayers = [2, 8, 2]\ndropout = 0.1\n[data]\ntrain = \"d.csv\"\n\
         [train]\noptimizer = \"adam\"\nlr = 0.001\nbatch_size = 1\nepochs = 2\n",
    );
    ok(
        &dir,
        &[
            "train",
            "--config",
            "m.toml",
            "--out",
            "whole",
            "--quiet",
            "--no-report",
        ],
    );
    let (mut child, stderr) = spawn(
        &dir,
        &["train", "--config", "m.toml", "--out", "cut", "--no-report"],
    );
    wait_for_file(&dir.path("cut/config.toml"));
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, "TERM");
    let rest = rest(stderr);
    assert_eq!(child.wait().unwrap().code(), Some(143), "{rest}");
    assert!(rest.contains("SIGTERM: finishing this step"), "{rest}");
    assert!(
        rest.contains("stopped by SIGTERM in epoch 1, after step "),
        "{rest}"
    );
    assert!(
        rest.contains(" of 100000: checkpoint saved in cut"),
        "{rest}"
    );
    // The checkpoint sits inside an epoch.
    let steps = checkpoint_count(&dir.path("cut/checkpoint.safetensors"), "epoch_steps")
        .expect("a checkpoint inside an epoch");
    assert!((1..100_000).contains(&steps), "{steps}");
    ok(
        &dir,
        &["train", "--resume", "cut", "--quiet", "--no-report"],
    );
    // The same weights, bit for bit, and the same losses as the run that never stopped.
    assert_eq!(
        std::fs::read(dir.path("cut/model.safetensors")).unwrap(),
        std::fs::read(dir.path("whole/model.safetensors")).unwrap()
    );
    let losses = |run: &str| -> Vec<Value> {
        metrics(&dir.path(&format!("{run}/metrics.jsonl")))
            .into_iter()
            .map(|line| line["loss"].clone())
            .collect()
    };
    assert_eq!(losses("cut"), losses("whole"));
    assert_eq!(losses("whole").len(), 2);
}

#[test]
fn sighup_saves_a_checkpoint_and_exits_129() {
    let dir = TempDir::new("rel-hup");
    let rest = stop_endless_run(&dir, "HUP", 129);
    assert!(rest.contains("stopped by SIGHUP"), "{rest}");
    assert_eq!(
        names(&dir.path("a")),
        ["checkpoint.safetensors", "config.toml", "metrics.jsonl"]
    );
}

#[cfg(unix)]
#[test]
fn under_nohup_sighup_is_still_ignored() {
    let dir = TempDir::new("rel-nohup");
    dir.write("x.toml", ENDLESS);
    let mut cmd = backprop(&dir);
    cmd.args(["train", "--config", "x.toml", "--out", "a"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: only `signal`, which is async-signal-safe, runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    wait_for_line(&mut stderr, "epoch 1/");
    signal(&child, "HUP");
    // SIGTERM still stops it; the HUP changed nothing (no message about it).
    signal(&child, "TERM");
    let rest = rest(stderr);
    assert_eq!(child.wait().unwrap().code(), Some(143), "{rest}");
    assert!(!rest.contains("SIGHUP"), "{rest}");
}

#[test]
fn a_second_sigint_stops_at_once_and_marks_the_folder() {
    let dir = TempDir::new("rel-int2");
    dir.write("s.toml", SLOW_STEPS);
    let (mut child, mut stderr) = spawn(&dir, &["train", "--config", "s.toml", "--out", "a"]);
    wait_for_file(&dir.path("a/config.toml"));
    signal(&child, "INT");
    wait_for_line(&mut stderr, "SIGINT: finishing this step");
    signal(&child, "INT");
    let rest = rest(stderr);
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest}");
    assert!(rest.contains("second SIGINT"), "{rest}");
    // No half-written file, no lock: the config, the metrics so far (one line per finished
    // epoch) and a marker saying what happened.
    assert_eq!(
        names(&dir.path("a")),
        ["INCOMPLETE", "config.toml", "metrics.jsonl"],
        "{rest}"
    );
    let marker = std::fs::read_to_string(dir.path("a/INCOMPLETE")).unwrap();
    assert!(marker.contains("cannot be resumed"), "{marker}");
    let err = fails(&dir, &["train", "--resume", "a"]);
    assert!(err.contains("no checkpoint"), "{err}");
}

#[test]
fn a_second_sigint_after_a_checkpoint_leaves_a_resumable_folder() {
    let dir = TempDir::new("rel-int2-ck");
    dir.write("s.toml", SLOW_STEPS);
    let (mut child, mut stderr) = spawn(
        &dir,
        &[
            "train",
            "--config",
            "s.toml",
            "--out",
            "a",
            "--checkpoint-every",
            "1",
        ],
    );
    wait_for_file(&dir.path("a/checkpoint.safetensors"));
    signal(&child, "INT");
    wait_for_line(&mut stderr, "SIGINT: finishing this step");
    signal(&child, "INT");
    let rest = rest(stderr);
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest}");
    let marker = std::fs::read_to_string(dir.path("a/INCOMPLETE")).unwrap();
    assert!(
        marker.contains("checkpoint of epoch 1 is intact"),
        "{marker}"
    );
    assert_eq!(
        names(&dir.path("a")),
        [
            "INCOMPLETE",
            "checkpoint.safetensors",
            "config.toml",
            "metrics.jsonl"
        ]
    );
    // It resumes (to epoch 2 here, to keep the test short) and the marker goes.
    assert_eq!(checkpoint_epoch(&dir.path("a/checkpoint.safetensors")), 1);
    let config = std::fs::read_to_string(dir.path("a/config.toml")).unwrap();
    std::fs::write(
        dir.path("a/config.toml"),
        config.replace("epochs = 100", "epochs = 2"),
    )
    .unwrap();
    ok(&dir, &["train", "--resume", "a", "--quiet"]);
    assert!(!dir.path("a/INCOMPLETE").exists());
    assert!(dir.path("a/model.safetensors").exists());
}

#[test]
fn sigkill_during_checkpoint_writes_then_resume_cleans_up_and_continues() {
    let dir = TempDir::new("rel-kill");
    dir.write(
        "k.toml",
        "[model]\nlayers = [64, 512, 512, 10]\n[data]\ntrain = \"digits\"\n[train]\n\
         batch_size = 64\nepochs = 100000\n",
    );
    let (mut child, stderr) = spawn(
        &dir,
        &[
            "train",
            "--config",
            "k.toml",
            "--out",
            "a",
            "--checkpoint-every",
            "1",
        ],
    );
    wait_for_file(&dir.path("a/checkpoint.safetensors"));
    // Kill while a checkpoint is being written where the run lets us see one (best effort).
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10)
        && !names(&dir.path("a"))
            .iter()
            .any(|n| n.starts_with(".backprop-tmp-"))
    {}
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stderr);
    // A killed run's leftover for sure (a process that has ended), and one of a live process.
    let dead = format!(".backprop-tmp-{}-0-checkpoint.safetensors", dead_pid());
    dir.write(&format!("a/{dead}"), "partial");
    let live = format!(".backprop-tmp-{}-0-other.csv", std::process::id());
    dir.write(&format!("a/{live}"), "partial");
    // Resume for two more epochs.
    let epoch = checkpoint_epoch(&dir.path("a/checkpoint.safetensors"));
    let config = std::fs::read_to_string(dir.path("a/config.toml")).unwrap();
    let config = config.replace("epochs = 100000", &format!("epochs = {}", epoch + 2));
    std::fs::write(dir.path("a/config.toml"), config).unwrap();
    ok(&dir, &["train", "--resume", "a", "--quiet"]);
    let left = names(&dir.path("a"));
    assert!(dir.path("a/model.safetensors").exists(), "{left:?}");
    let temps: Vec<&String> = left.iter().filter(|n| n.starts_with(".backprop")).collect();
    assert_eq!(temps, [&live], "{left:?}");
}

/// The epoch a checkpoint holds.
fn checkpoint_epoch(path: &Path) -> i64 {
    checkpoint_count(path, "epoch").expect("a checkpoint holds its epoch")
}

/// A count a checkpoint holds (`epoch`, `epoch_steps`), if it holds it.
fn checkpoint_count(path: &Path, name: &str) -> Option<i64> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor(name).ok()?;
    Some(i64::from_le_bytes(t.data()[..8].try_into().unwrap()))
}

// ---- Closed pipes

#[test]
fn closed_stdout_and_stderr_do_not_stop_the_run() {
    let dir = TempDir::new("rel-pipe");
    dir.write("q.toml", QUICK);
    for (out, both) in [("a", false), ("b", true)] {
        let mut child = backprop(&dir)
            .args(["train", "--config", "q.toml", "--out", out])
            .stdout(Stdio::piped())
            .stderr(if both { Stdio::piped() } else { Stdio::null() })
            .spawn()
            .unwrap();
        // Close the reading ends before the run prints anything.
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "stderr closed too: {both}");
        assert_eq!(
            names(&dir.path(out)),
            [
                "config.toml",
                "metrics.jsonl",
                "model.safetensors",
                "report.html"
            ]
        );
    }
}

#[test]
fn a_closed_stdout_does_not_stop_the_tour() {
    let dir = TempDir::new("rel-pipe-tour");
    let mut child = backprop(&dir)
        .args(["tour", "--section", "1", "--out", "t"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let err = rest(BufReader::new(child.stderr.take().unwrap()));
    assert_eq!(child.wait().unwrap().code(), Some(0), "{err}");
    assert!(
        dir.path("t/01_architecture.png").exists(),
        "{:?}",
        dir.listing()
    );
}

// ---- One run per folder

#[test]
fn a_second_run_into_a_busy_folder_is_refused_and_harms_nothing() {
    let dir = TempDir::new("rel-lock");
    dir.write("x.toml", ENDLESS);
    dir.write("q.toml", QUICK);
    let (mut child, mut stderr) = spawn(&dir, &["train", "--config", "x.toml", "--out", "a"]);
    wait_for_line(&mut stderr, "epoch 1/");
    let before = names(&dir.path("a"));
    let config = std::fs::read(dir.path("a/config.toml")).unwrap();
    let err = fails(&dir, &["train", "--config", "q.toml", "--out", "a"]);
    assert!(
        err.contains(&format!("in use by process {}", child.id())),
        "{err}"
    );
    assert_eq!(names(&dir.path("a")), before);
    assert_eq!(std::fs::read(dir.path("a/config.toml")).unwrap(), config);
    signal(&child, "INT");
    let rest = rest(stderr);
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest}");
    assert_eq!(
        names(&dir.path("a")),
        ["checkpoint.safetensors", "config.toml", "metrics.jsonl"]
    );
}

#[test]
fn a_lock_left_by_a_dead_run_is_taken_over() {
    let dir = TempDir::new("rel-stale");
    dir.write("q.toml", QUICK);
    std::fs::create_dir(dir.path("a")).unwrap();
    dir.write("a/.backprop-lock", &format!("{}\n", dead_pid()));
    ok(
        &dir,
        &["train", "--config", "q.toml", "--out", "a", "--quiet"],
    );
    assert_eq!(
        names(&dir.path("a")),
        [
            "config.toml",
            "metrics.jsonl",
            "model.safetensors",
            "report.html"
        ]
    );
}

// ---- Sizes from files and configs

#[test]
fn a_gzipped_idx_claiming_far_more_than_it_holds_is_refused_before_reading() {
    use std::io::Write;
    let dir = TempDir::new("rel-gzbomb");
    // 20 MB of zeros in about 20 KB: a 1000:1 claim, possible for deflate, not for real data.
    let mut idx = vec![0, 0, 0x08, 3];
    for d in [2000u32, 100, 100] {
        idx.extend(d.to_be_bytes());
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&idx).unwrap();
    gz.write_all(&vec![0u8; 2000 * 100 * 100]).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(dir.path("x-idx3-ubyte.gz"), &gz).unwrap();
    let mut labels = vec![0, 0, 0x08, 1];
    labels.extend(2000u32.to_be_bytes());
    labels.extend(vec![0u8; 2000]);
    std::fs::write(dir.path("y-idx1-ubyte"), &labels).unwrap();
    dir.write(
        "b.toml",
        "[model]\nlayers = [10000, 10]\n[data]\ntrain_x = \"x-idx3-ubyte.gz\"\n\
         train_y = \"y-idx1-ubyte\"\n[train]\nepochs = 1\n",
    );
    let err = fails(&dir, &["train", "--config", "b.toml", "--out", "a"]);
    assert!(
        err.contains(&format!(
            "need 20000000 data bytes, more than 100 times the {} gzipped bytes",
            gz.len()
        )),
        "{err}"
    );
    assert!(!dir.path("a").exists());
}

#[test]
fn a_huge_value_in_a_config_is_cut_in_the_message() {
    let dir = TempDir::new("rel-long");
    let huge = "x".repeat(10_000_000);
    dir.write(
        "c.toml",
        &format!("[model]\nlayers = [4, 3]\nactivation = \"{huge}\"\n[data]\ntrain = \"iris\"\n"),
    );
    let err = fails(&dir, &["train", "--config", "c.toml"]);
    assert!(err.len() < 400, "{} bytes", err.len());
    assert!(err.contains("activation"), "{err}");
    assert!(err.contains('…'), "{err}");
}

#[cfg(unix)]
#[test]
fn an_endless_config_file_is_refused_after_a_bounded_read() {
    let dir = TempDir::new("rel-zero");
    let err = fails(&dir, &["train", "--config", "/dev/zero"]);
    assert!(err.contains("too large for a config"), "{err}");
    assert!(dir.listing().is_empty(), "{:?}", dir.listing());
}

// ---- predict and eval trust neither the config nor the weights

/// Trains a small model into `a/` (with standardisation) and writes an input file.
fn trained(dir: &TempDir) {
    dir.write(
        "m.toml",
        "seed = 1\n[model]\nlayers = [2, 4, 1]\nactivation = \"tanh\"\n[data]\ntrain = \"xor\"\n\
         standardize = true\n[train]\nloss = \"mse\"\nbatch_size = 0\nepochs = 3\n",
    );
    ok(
        dir,
        &["train", "--config", "m.toml", "--out", "a", "--quiet"],
    );
    dir.write("x.csv", "x0,x1\n0,1\n1,1\n");
}

fn predict(dir: &TempDir, config: &str, model: &str) -> Output {
    run(
        dir,
        &[
            "predict", "--config", config, "--model", model, "--input", "x.csv", "--output",
            "y.csv",
        ],
    )
}

#[track_caller]
fn refused(out: Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

#[test]
fn a_config_that_does_not_match_the_weights_is_refused_before_building() {
    let dir = TempDir::new("rel-arch");
    trained(&dir);
    let base = std::fs::read_to_string(dir.path("m.toml")).unwrap();
    assert!(predict(&dir, "m.toml", "a/model.safetensors")
        .status
        .success());
    // 2 x 200 000 000 x 1: 3.2 GB of weights, refused for a file of a few hundred bytes.
    dir.write(
        "big.toml",
        &base.replace("layers = [2, 4, 1]", "layers = [2, 200000000, 1]"),
    );
    let err = refused(predict(&dir, "big.toml", "a/model.safetensors"));
    assert!(
        err.contains("the model was trained with [model] layers = [2, 4, 1], the config says [2, 200000000, 1]"),
        "{err}"
    );
    for (key, from, to) in [
        (
            "activation",
            "activation = \"tanh\"",
            "activation = \"relu\"",
        ),
        ("batch_norm", "[data]", "batch_norm = true\n[data]"),
        ("dropout", "[data]", "dropout = 0.5\n[data]"),
    ] {
        dir.write("other.toml", &base.replace(from, to));
        let err = refused(predict(&dir, "other.toml", "a/model.safetensors"));
        assert!(
            err.contains(&format!("the model was trained with [model] {key} = ")),
            "{err}"
        );
        let eval = run(
            &dir,
            &[
                "eval",
                "--config",
                "other.toml",
                "--model",
                "a/model.safetensors",
                "--data",
                "xor",
            ],
        );
        assert!(refused(eval).contains(key));
    }
    // A file without the recorded keys is still checked by its shapes.
    let (state, mut meta) =
        backprop::io::safetensors::load(dir.path("a/model.safetensors")).unwrap();
    meta.remove("layers");
    backprop::io::safetensors::save(&state, dir.path("old.safetensors"), Some(&meta)).unwrap();
    let err = refused(predict(&dir, "big.toml", "old.safetensors"));
    assert!(
        err.contains("the weights hold layer sizes [2, 4, 1], the config's [model] layers are [2, 200000000, 1]"),
        "{err}"
    );
    assert!(predict(&dir, "m.toml", "old.safetensors").status.success());
}

#[test]
fn non_finite_weights_and_half_a_standardisation_are_refused() {
    use backprop::nn::StateData;
    let dir = TempDir::new("rel-nan");
    trained(&dir);
    let (mut state, meta) =
        backprop::io::safetensors::load(dir.path("a/model.safetensors")).unwrap();
    let save = |name: &str, state: &backprop::nn::StateDict, meta| {
        backprop::io::safetensors::save(state, dir.path(name), Some(meta)).unwrap()
    };
    let mut half = meta.clone();
    half.remove("standardize_std");
    save("half.safetensors", &state, &half);
    let err = refused(predict(&dir, "m.toml", "half.safetensors"));
    assert!(
        err.contains("standardize_mean but no standardize_std"),
        "{err}"
    );
    let mut w = state.get("layers.2.weight").unwrap().clone();
    if let StateData::F32(v) = &mut w.data {
        v[1] = f32::NAN;
    }
    state.insert("layers.2.weight", w);
    save("nan.safetensors", &state, &meta);
    let err = refused(predict(&dir, "m.toml", "nan.safetensors"));
    assert!(
        err.contains("tensor layers.2.weight holds a NaN or infinite value (element 1)"),
        "{err}"
    );
    assert!(!dir.path("y.csv").exists());
}

// ---- Checkpoints are checked like configs

#[test]
fn edited_checkpoints_are_refused_in_one_line() {
    use backprop::io::safetensors;
    use backprop::nn::{StateDict, StateTensor};
    let dir = TempDir::new("rel-ckpt");
    dir.write(
        "c.toml",
        "seed = 2\n[model]\nlayers = [2, 4, 1]\n[data]\ntrain = \"xor\"\n[train]\nloss = \"mse\"\n\
         optimizer = \"adam\"\nscheduler = \"step\"\nstep_size = 2\nbatch_size = 0\nepochs = 6\n",
    );
    ok(
        &dir,
        &[
            "train",
            "--config",
            "c.toml",
            "--out",
            "a",
            "--checkpoint-every",
            "3",
            "--quiet",
        ],
    );
    let (good, meta) = safetensors::load(dir.path("a/checkpoint.safetensors")).unwrap();
    let config = std::fs::read_to_string(dir.path("a/config.toml")).unwrap();
    type Edit = fn(&mut StateDict);
    let edits: [(Edit, &str); 9] = [
        (
            |s| s.insert("optimizer.param_groups.0.lr", StateTensor::f64_scalar(-0.1)),
            "checkpoint: optimizer lr -0.1 must be positive and finite",
        ),
        (
            |s| {
                s.insert(
                    "optimizer.param_groups.0.maximize",
                    StateTensor::i64_scalar(1),
                )
            },
            "optimizer maximize is 1 in the checkpoint, 0 in the config",
        ),
        (
            |s| {
                s.insert(
                    "optimizer.param_groups.0.amsgrad",
                    StateTensor::i64_scalar(1),
                )
            },
            "optimizer amsgrad is 1 in the checkpoint, 0 in the config",
        ),
        (
            |s| s.insert("epoch", StateTensor::i64_scalar(-5)),
            "checkpoint: epoch -5 is outside this run's 0..=6 epochs",
        ),
        (
            |s| s.insert("epoch", StateTensor::i64_scalar(1_000_000_000_000_000_000)),
            "checkpoint: epoch 1000000000000000000 is outside this run's 0..=6 epochs",
        ),
        (
            |s| s.insert("scheduler.last_epoch", StateTensor::i64_scalar(1)),
            "checkpoint: scheduler last_epoch 1 disagrees with epoch 6",
        ),
        (
            |s| {
                s.insert(
                    "optimizer.state.0.exp_avg",
                    StateTensor::f32(&[8], vec![0.0; 8]),
                )
            },
            "`state.0.exp_avg` has shape [8] float32, the model expects shape [4, 2]",
        ),
        (
            |s| {
                s.insert(
                    "optimizer.state.1.exp_avg_sq",
                    StateTensor::f32(&[4], vec![f32::NAN; 4]),
                )
            },
            "checkpoint: `optimizer.state.1.exp_avg_sq` holds a NaN or infinite value",
        ),
        (
            |s| {
                s.insert("epoch_steps", StateTensor::i64_scalar(1));
                s.insert("epoch_loss_sum", StateTensor::f64_scalar(0.5));
            },
            "checkpoint: epoch_steps 1 is not a step inside an epoch of 1 step",
        ),
    ];
    for (i, (edit, want)) in edits.iter().enumerate() {
        let run_dir = format!("r{i}");
        std::fs::create_dir(dir.path(&run_dir)).unwrap();
        std::fs::write(dir.path(&format!("{run_dir}/config.toml")), &config).unwrap();
        let mut state = good.clone();
        edit(&mut state);
        let ck = dir.path(&format!("{run_dir}/checkpoint.safetensors"));
        safetensors::save(&state, &ck, Some(&meta)).unwrap();
        let before = names(&dir.path(&run_dir));
        let err = fails(&dir, &["train", "--resume", &run_dir]);
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(names(&dir.path(&run_dir)), before, "{want}");
    }
    // The untouched checkpoint resumes.
    std::fs::create_dir(dir.path("ok")).unwrap();
    std::fs::write(dir.path("ok/config.toml"), &config).unwrap();
    safetensors::save(&good, dir.path("ok/checkpoint.safetensors"), Some(&meta)).unwrap();
    ok(&dir, &["train", "--resume", "ok", "--quiet"]);
}

#[test]
fn a_checkpoint_resumed_with_another_architecture_is_refused() {
    let dir = TempDir::new("rel-ck-arch");
    dir.write("q.toml", QUICK);
    ok(
        &dir,
        &[
            "train",
            "--config",
            "q.toml",
            "--out",
            "a",
            "--checkpoint-every",
            "2",
            "--quiet",
        ],
    );
    std::fs::remove_file(dir.path("a/model.safetensors")).unwrap();
    // Same shapes, so the weights alone would load: the recorded architecture decides.
    let edits = [
        (
            "[model]\n",
            "[model]\nactivation = \"tanh\"\n",
            "activation = \"relu\", the config says \"tanh\"",
        ),
        (
            "[model]\n",
            "[model]\ndropout = 0.5\n",
            "dropout = 0, the config says 0.5",
        ),
    ];
    for (i, (from, to, want)) in edits.iter().enumerate() {
        let other = format!("other{i}.toml");
        dir.write(&other, &QUICK.replace(from, to));
        let before = names(&dir.path("a"));
        let err = fails(&dir, &["train", "--config", &other, "--resume", "a"]);
        assert!(
            err.starts_with("error: checkpoint: the run was trained with [model] "),
            "{err}"
        );
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(names(&dir.path("a")), before);
    }
    ok(
        &dir,
        &["train", "--config", "q.toml", "--resume", "a", "--quiet"],
    );
    assert!(dir.path("a/model.safetensors").exists());
}

// ---- BatchNorm and one-row batches

#[test]
fn batch_norm_with_one_row_batches_speaks_for_itself() {
    let dir = TempDir::new("rel-bn");
    dir.write("d.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n");
    let cfg = "[model]\nlayers = [2, 4, 2]\nbatch_norm = true\n[data]\ntrain = \"d.csv\"\n\
               [train]\nloss = \"cross_entropy\"\nepochs = 2\nbatch_size = ";
    for size in [1, 2] {
        dir.write("bn.toml", &format!("{cfg}{size}\n"));
        let err = fails(&dir, &["train", "--config", "bn.toml", "--out", "a"]);
        assert!(
            err.contains("batch_norm needs at least two per batch"),
            "{err}"
        );
        assert!(!err.to_lowercase().contains("torch"), "{err}");
        assert!(!dir.path("a").exists());
    }
    // A trained BatchNorm model predicts one row (eval mode: running statistics).
    dir.write("bn.toml", &format!("{cfg}3\n"));
    ok(
        &dir,
        &["train", "--config", "bn.toml", "--out", "a", "--quiet"],
    );
    dir.write("x.csv", "a,b\n1,2\n");
    ok(
        &dir,
        &[
            "predict",
            "--config",
            "bn.toml",
            "--model",
            "a/model.safetensors",
            "--input",
            "x.csv",
            "--output",
            "y.csv",
        ],
    );
    let y = std::fs::read_to_string(dir.path("y.csv")).unwrap();
    assert_eq!(y.lines().count(), 2, "{y}");
}
