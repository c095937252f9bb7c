//! `backprop train` writes report.html; a real headless Chromium loads it without errors, every
//! figure decodes, and a screenshot shows a page that is not blank.
//!
//! Needs Chromium (Debian's `chromium` package; `BACKPROP_CHROMIUM` may name another binary).
//! Without one the test prints "skipped: chromium not found" and passes, so `cargo test
//! --release` passes on a fresh machine; `.ci/run` installs Chromium and sets
//! `BACKPROP_REQUIRE_CHROMIUM=1`, which makes a missing browser a failure.

mod common;
use common::chromium::{browser, chromium_or_skip, dump_dom, run_with_timeout};
use common::{ok, TempDir};
use std::path::Path;
use std::time::Duration;

fn url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

/// RGB pixels of a PNG screenshot (alpha dropped).
fn pixels(png_path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    let px = buf[..info.buffer_size()]
        .chunks(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, px)
}

#[test]
fn report_opens_in_headless_chromium_with_its_figures() {
    let Some(browser_path) = chromium_or_skip("report_chromium") else {
        return;
    };
    let dir = TempDir::new("report");
    dir.write(
        "iris.toml",
        "seed = 5\n[model]\nlayers = [4, 16, 3]\n[data]\ntrain = \"iris\"\ntest = 0.2\nvalidation = 0.1\n\
         standardize = true\n[train]\nlr = 0.01\nepochs = 25\nbatch_size = 16\n",
    );
    let out = dir.0.to_str().unwrap();
    ok(
        &dir,
        &["train", "--config", "iris.toml", "--out", out, "--quiet"],
    );
    let report = dir.0.join("report.html");
    let html = std::fs::read_to_string(&report).expect("report.html written");

    // Self-contained: nothing is fetched from anywhere.
    for bad in ["src=\"http", "href=\"http", "url(", "<script", "<link"] {
        assert!(!html.contains(bad), "report.html contains {bad:?}");
    }
    let images = html.matches("<img src=\"data:image/png;base64,").count();
    // Architecture, loss, accuracy, gradient norms, confusion matrix, and per parameter
    // (4) one histogram and one heatmap figure.
    assert_eq!(images, 13, "figures in report.html");
    for want in [
        "Diagnostics",
        "Dead ReLU units",
        "Loss curve",
        "Over-fitting",
        "Gradients across layers",
        "Confusion matrix (test set)",
        "layers.2.weight",
        "[train]",
    ] {
        assert!(html.contains(want), "report.html lacks {want:?}");
    }

    // The DOM after load, with a probe that asks the browser whether each image decoded. The
    // probe goes into a copy; the report itself has no scripts.
    let probe = dir.0.join("probe.html");
    std::fs::write(
        &probe,
        html.replace(
            "</body>",
            "<script>window.addEventListener('load', () => { const imgs = [...document.images]; \
             document.body.dataset.images = imgs.length; \
             document.body.dataset.decoded = imgs.filter(i => i.complete && i.naturalWidth > 0).length; });\
             </script></body>",
        ),
    )
    .unwrap();
    let mut dump = browser(&browser_path, &dir.0.join("profile-dom"));
    dump.args(["--virtual-time-budget=5000", "--dump-dom"])
        .arg(url(&probe));
    let dom = dump_dom(&browser_path, dump, Duration::from_secs(120));
    assert!(
        dom.contains("data-images=\"13\"") && dom.contains("data-decoded=\"13\""),
        "not every figure decoded in Chromium: {}",
        dom.lines()
            .find(|l| l.contains("<body"))
            .unwrap_or("(no <body> line)")
    );

    // A screenshot, with the browser's console on stderr.
    let shot = dir.0.join("shot.png");
    let mut screenshot = browser(&browser_path, &dir.0.join("profile-shot"));
    screenshot
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2000",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url(&report));
    let out = run_with_timeout(screenshot, Duration::from_secs(120));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && shot.exists(),
        "screenshot failed: {log}"
    );
    for bad in [
        "Uncaught",
        "Failed to load resource",
        "Not allowed to load",
        "net::ERR_",
        "CONSOLE",
    ] {
        let line = log.lines().find(|l| l.contains(bad));
        assert!(
            line.is_none(),
            "Chromium logged {bad:?}: {}",
            line.unwrap_or("")
        );
    }
    let (w, h, px) = pixels(&shot);
    assert_eq!((w, h), (1200, 2000));
    let total = px.len();
    let drawn = px.iter().filter(|p| p.iter().any(|&c| c < 235)).count();
    // Colourful pixels: the figures (circles, curves), not dark text on a light page. The
    // first 2000 pixels hold the architecture diagram and the loss curve (about 17 000).
    let colour = px
        .iter()
        .filter(|p| {
            let (lo, hi) = (*p.iter().min().unwrap(), *p.iter().max().unwrap());
            hi - lo > 60
        })
        .count();
    eprintln!("screenshot: {drawn} of {total} pixels drawn, {colour} colourful");
    assert!(
        drawn * 40 > total,
        "screenshot is nearly blank: {drawn} of {total} pixels drawn"
    );
    assert!(
        colour > 5_000,
        "screenshot shows no figures: {colour} colourful pixels"
    );
}
