//! A headless Chromium for the tests that open pages in one. Without a browser those tests print
//! "skipped: chromium not found" and pass, so `cargo test --release` passes on a fresh machine;
//! `.ci/run` installs Chromium and sets `BACKPROP_REQUIRE_CHROMIUM=1`, which makes a missing
//! browser a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The browser: `BACKPROP_CHROMIUM`, else `chromium` or `chromium-browser` on the PATH.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BACKPROP_CHROMIUM") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "BACKPROP_CHROMIUM={}: no such file",
            p.display()
        );
        return Some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

/// The browser, or `None` after printing "`test`: skipped: chromium not found"; a failure
/// instead where `BACKPROP_REQUIRE_CHROMIUM` is set.
#[track_caller]
pub fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("BACKPROP_REQUIRE_CHROMIUM").is_none(),
            "chromium not found on PATH and BACKPROP_REQUIRE_CHROMIUM is set: install Debian's \
             package (`apt-get install -y --no-install-recommends chromium`) or set \
             BACKPROP_CHROMIUM to a Chromium binary"
        );
        // Through the handle, not `eprintln!`, so that libtest's capture does not hide it.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{test}: skipped: chromium not found");
    }
    found
}

/// Headless Chromium with no network beyond the page's own, a fresh profile in `profile`, and no
/// first-run work.
pub fn browser(chromium: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Runs `dump` (a browser command ending in `--dump-dom PAGE`), killed after `limit`, and
/// returns the page as the browser left it; the run must succeed and print a whole page.
#[track_caller]
pub fn dump_dom(chromium: &Path, dump: Command, limit: Duration) -> String {
    let out = run_with_timeout(dump, limit);
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("</html>"),
        "{} --dump-dom failed: {}",
        chromium.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    dom
}

/// Runs `cmd` (the browser), killing it after `limit`; returns its output.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Drain the pipes on threads so a chatty browser never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}
