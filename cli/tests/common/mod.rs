//! What the CLI's integration tests share (`mod common;` in each file): the library's test
//! helpers ([`library`], [`TempDir`]), the `backprop` binary under test run in a test's folder, and
//! reading what it wrote. [`chromium`] finds and runs the headless browser.
//!
//! Each test file is a crate of its own and uses only some of these, so unused items are allowed
//! here once rather than item by item.
#![allow(dead_code)]

pub mod chromium;
/// The library's test helpers (its `tests/common/mod.rs`): the PyTorch fixtures and more.
#[path = "../../../tests/common/mod.rs"]
pub mod library;

pub use library::TempDir;

use backprop::io::safetensors;
use backprop::nn::StateDict;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_backprop");

/// A path in the repository (the folder above the CLI crate).
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// `backprop` to start in `dir`, without backtraces (errors print as a user sees them).
pub fn backprop(dir: &TempDir) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(&dir.0).env("RUST_BACKTRACE", "0");
    cmd
}

/// Runs `backprop args` in `dir` to the end.
pub fn run(dir: &TempDir, args: &[&str]) -> Output {
    backprop(dir).args(args).output().unwrap()
}

/// Runs a command that must succeed; returns its stdout.
#[track_caller]
pub fn ok(dir: &TempDir, args: &[&str]) -> String {
    ok_with_stderr(dir, args).0
}

/// Runs a command that must succeed; returns (stdout, stderr).
#[track_caller]
pub fn ok_with_stderr(dir: &TempDir, args: &[&str]) -> (String, String) {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs a command that must fail and leave `dir` as it was (the same files and folders); returns
/// its stderr.
#[track_caller]
pub fn failure(dir: &TempDir, args: &[&str]) -> String {
    let before = dir.listing();
    let out = run(dir, args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(dir.listing(), before, "{args:?} left files behind");
    err
}

/// The records of a metrics.jsonl.
pub fn metrics(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The tensors of a .safetensors file.
pub fn tensors(path: &Path) -> StateDict {
    safetensors::load(path).unwrap().0
}

/// A CSV without its last column (a table's label, which predict's input leaves out).
pub fn without_last_column(csv: &str) -> String {
    csv.lines()
        .map(|l| format!("{}\n", &l[..l.rfind(',').unwrap()]))
        .collect()
}

/// A child process killed when the test ends, pass or fail.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `backprop playground --port 0`; returns it and the URL it prints
/// (`http://127.0.0.1:PORT/`).
pub fn serve_playground() -> (KillOnDrop, String) {
    let mut child = Command::new(BIN)
        .args(["playground", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = KillOnDrop(child);
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    (server, url)
}
