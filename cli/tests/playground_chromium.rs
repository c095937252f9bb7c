//! The playground in a real headless Chromium, served by `backprop playground`: the page's
//! automatic mode (`?autotest=1`) presses play until xor's training loss is under a threshold,
//! opens the backward pass of a training point and clicks a weight; the test reads what the page
//! wrote into its DOM and checks it against the native engine (the same experiment run by
//! `backprop_playground::Session`), then feeds the page's config.toml, test.csv and
//! model.safetensors to `backprop predict`, which must print the page's outputs. Screenshots go
//! to the target folder's `playground-screenshots/`.
//!
//! Chromium is found as in report_chromium.rs (common/chromium.rs): without one the test prints "skipped: chromium
//! not found" and passes, unless BACKPROP_REQUIRE_CHROMIUM is set (as `.ci/run` does).

mod common;
use backprop_playground::{Experiment, Session};
use common::chromium::{chromium, chromium_or_skip, dump_dom, run_with_timeout};
use common::{ok, serve_playground, without_last_column, KillOnDrop, TempDir};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const THRESHOLD: f64 = 0.05;

/// The shared headless browser at the page's size, with virtual time: the page's loading and
/// training finish before the DOM is read.
fn browser(chromium: &Path, profile: &Path) -> Command {
    let mut c = common::chromium::browser(chromium, profile);
    c.args(["--window-size=1280,1150", "--virtual-time-budget=120000"]);
    c
}

fn unescape_html(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The JSON the page's automatic mode wrote into `<pre id="autotest">`.
fn autotest_json(dom: &str) -> Value {
    let start = dom
        .find("<pre id=\"autotest\"")
        .unwrap_or_else(|| panic!("no autotest element in the DOM:\n{dom}"));
    let open = start + dom[start..].find('>').unwrap() + 1;
    let close = open + dom[open..].find("</pre>").unwrap();
    let text = unescape_html(&dom[open..close]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("autotest output {text:?}: {e}"))
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let clean: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= u32::from(val(c)) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn close(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    (a - b).abs() <= atol + rtol * b.abs()
}

#[test]
fn playground_trains_xor_in_chromium_and_hands_off_to_predict() {
    let Some(browser_path) = chromium_or_skip("playground_chromium") else {
        return;
    };
    let dir = TempDir::new("playground-chromium");
    let (_server, base) = serve_playground();
    let page = format!("{base}index.html?autotest=1&threshold={THRESHOLD}");

    let mut dump = browser(&browser_path, &dir.0.join("profile-dom"));
    dump.arg("--dump-dom").arg(&page);
    let dom = dump_dom(&browser_path, dump, Duration::from_secs(240));
    let r = autotest_json(&dom);
    assert_eq!(r["done"], true, "{r}");

    // Trained by pressing play, to under the threshold.
    let train_loss = r["train_loss"].as_f64().unwrap();
    assert!(train_loss < THRESHOLD, "train loss {train_loss}");
    let steps = r["steps"].as_u64().unwrap() as usize;
    assert!(r["frames"].as_u64().unwrap() > 1, "{r}");

    // The chain-rule product the page wrote out equals the engine's autograd gradient there.
    let hand = r["hand"].as_f64().unwrap();
    let auto = r["autograd"].as_f64().unwrap();
    assert!(
        hand != 0.0 && close(hand, auto, 1e-5, 1e-9),
        "hand {hand} vs autograd {auto}"
    );
    assert_eq!(r["weight"], "layers.0.weight[0][0]");

    // The same experiment natively: the same trajectory, and the same gradient for point 0.
    let query = r["query"].as_str().unwrap();
    let mut native = Session::new(Experiment::parse(query).unwrap(), None).unwrap();
    native.steps_n(steps);
    let (native_loss, _) = native.losses();
    assert!(
        close(train_loss, native_loss as f64, 1e-3, 1e-6),
        "page loss {train_loss} vs native {native_loss} after {steps} steps"
    );
    let b = native.backward_view(0).unwrap();
    let native_grad = b.layers[0].autograd_dw[0] as f64;
    assert!(
        close(auto, native_grad, 1e-3, 1e-7),
        "page gradient {auto} vs native {native_grad}"
    );

    // Hand-off: the page's config.toml, test points and model.safetensors into `backprop predict`.
    let toml = r["toml"].as_str().unwrap();
    std::fs::write(dir.0.join("config.toml"), toml).unwrap();
    std::fs::write(
        dir.0.join("model.safetensors"),
        base64_decode(r["safetensors_b64"].as_str().unwrap()),
    )
    .unwrap();
    let csv = r["test_csv"].as_str().unwrap();
    // predict reads feature columns only: drop the label.
    std::fs::write(dir.0.join("x.csv"), without_last_column(csv)).unwrap();
    ok(
        &dir,
        &[
            "predict",
            "--config",
            "config.toml",
            "--model",
            "model.safetensors",
            "--input",
            "x.csv",
            "--output",
            "y.csv",
        ],
    );
    let predicted: Vec<f64> = std::fs::read_to_string(dir.0.join("y.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let page_out: Vec<f64> = r["test_outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(predicted.len(), page_out.len());
    assert!(predicted.len() > 50);
    for (i, (p, q)) in predicted.iter().zip(&page_out).enumerate() {
        assert!(
            close(*p, *q, 1e-4, 1e-5),
            "row {i}: predict {p} vs page {q}"
        );
    }

    // Screenshots of the trained page, with the backward pass open.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("playground-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("playground.png");
    let _ = std::fs::remove_file(&png);
    let mut shot = browser(&browser_path, &dir.0.join("profile-shot"));
    shot.arg(format!("--screenshot={}", png.display()))
        .arg(&page);
    let out = run_with_timeout(shot, Duration::from_secs(240));
    assert!(
        out.status.success(),
        "screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 20_000, "{}: {size} bytes", png.display());
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "playground_chromium: screenshot {}",
        png.display()
    );
}

/// The benchmark of BENCHMARKS.md (not a timed test: it asserts nothing about speed). The
/// page's `?bench=1` mode runs 200 frames of the default net (2-4-2-1 tanh, 250 points, batch
/// 10), each one epoch plus every neuron's heatmap and every chart redrawn, then 20 000 steps
/// without drawing, and logs frames/s and steps/s to the console. Real time, so no virtual
/// time: the figures come from Chromium's log on stderr.
///
/// `cargo test --release -p backprop-cli --test playground_chromium -- --ignored --nocapture`
#[test]
#[ignore = "a benchmark; run it with --ignored"]
fn playground_benchmark_in_chromium() {
    let Some(browser_path) = chromium() else {
        println!("playground benchmark: skipped: chromium not found");
        return;
    };
    let dir = TempDir::new("playground-bench");
    let (_server, base) = serve_playground();
    let mut cmd = Command::new(&browser_path);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!(
        "--user-data-dir={}",
        dir.0.join("profile").display()
    ))
    .arg(format!("{base}index.html?bench=1"))
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(i) = line.find("playground-report ") {
                let _ = tx.send(line[i + "playground-report ".len()..].to_string());
                return;
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the page reported within 120 s");
    drop(child);
    // The console quotes the message: `"playground-report {...}", source: ...`.
    let json = &line[..line.rfind('}').unwrap() + 1];
    let r: Value = serde_json::from_str(json).unwrap();
    let fps = r["fps"].as_f64().unwrap();
    let steps = r["steps_per_s"].as_f64().unwrap();
    assert!(fps > 0.0 && steps > 0.0, "{r}");
    println!(
        "playground benchmark ({}): {fps:.0} frames/s (one epoch of {} steps and every heatmap per frame, {:.2} ms a frame), {steps:.0} steps/s without drawing",
        browser_path.display(),
        r["batches_per_epoch"],
        r["frame_ms"].as_f64().unwrap(),
    );
}
