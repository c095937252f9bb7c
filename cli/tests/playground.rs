//! `backprop playground`: `--export DIR` writes the committed page, and the server answers a
//! browser's requests for it over a real socket.

mod common;
use common::{failure, ok, repo, serve_playground, without_last_column, KillOnDrop, TempDir, BIN};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

const FILES: [&str; 4] = ["index.html", "app.js", "style.css", "playground.wasm"];

fn committed(name: &str) -> Vec<u8> {
    std::fs::read(repo("playground/web").join(name)).unwrap()
}

/// Starts `backprop playground --port 0`; returns it and the address from the URL it prints.
fn start() -> (KillOnDrop, String) {
    let (server, url) = serve_playground();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    (server, addr)
}

/// One GET over a fresh connection: (status line, headers, body).
fn get(addr: &str, path: &str) -> (String, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    (
        status.to_string(),
        headers.to_string(),
        all[split + 4..].to_vec(),
    )
}

#[test]
fn export_writes_the_committed_page() {
    let dir = TempDir::new("playground-export");
    let out = dir.0.join("site/nested");
    let out = out.to_str().unwrap();
    let stdout = ok(&dir, &["playground", "--export", out]);
    assert!(stdout.contains("wrote the playground to"));
    for f in FILES {
        assert_eq!(
            std::fs::read(Path::new(out).join(f)).unwrap(),
            committed(f),
            "{f}"
        );
    }
    // A file where the folder should be: one line, and nothing made.
    dir.write("file", "x");
    let err = failure(&dir, &["playground", "--export", "file/site"]);
    assert!(
        err.starts_with("error: --export") && err.trim().lines().count() == 1,
        "{err}"
    );
    let err = failure(&dir, &["playground", "--port", "9", "--export", out]);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn serves_the_page_and_the_wasm_over_a_socket() {
    let (_server, addr) = start();
    let (status, headers, body) = get(&addr, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(headers.contains("Content-Type: text/html"), "{headers}");
    assert_eq!(body, committed("index.html"));
    // The page's own URL carries the experiment: the query is ignored by the server.
    let (status, _, body) = get(&addr, "/index.html?dataset=spiral&layers=8,8");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, committed("index.html"));
    let (status, headers, body) = get(&addr, "/playground.wasm");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("Content-Type: application/wasm"),
        "{headers}"
    );
    assert_eq!(body, committed("playground.wasm"));
    let (status, _, _) = get(&addr, "/../Cargo.toml");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    // Two requests on one kept-alive connection.
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(s, "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\nHEAD /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 2, "{all}");
    let js_len = committed("app.js").len();
    assert!(
        all.ends_with("Connection: close\r\n\r\n"),
        "HEAD sends no body"
    );
    assert!(all.contains(&format!("Content-Length: {js_len}")));
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(s, "POST / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    assert!(all.starts_with("HTTP/1.1 405"), "{all}");
}

#[test]
fn a_port_in_use_is_one_line() {
    let (_server, addr) = start();
    let port = addr.rsplit(':').next().unwrap();
    let run = Command::new(BIN)
        .args(["playground", "--port", port])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        err.starts_with(&format!(
            "error: --port {port}: cannot listen on 127.0.0.1:{port}"
        )),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// The hand-off without a browser: the config, CSVs and weights a playground session writes
/// train and predict with the CLI, and the model the CLI trains loads back into a session, where
/// it gives the outputs `backprop predict` prints.
#[test]
fn session_files_train_with_the_cli_and_its_model_loads_back() {
    use backprop_playground::{Experiment, Session};
    let dir = TempDir::new("playground-handoff");
    let e = Experiment::parse(
        "dataset=circle&features=x1,x2,x1sq,x2sq&layers=5,3&bn=1&dropout=0.1&seed=3",
    )
    .unwrap();
    let mut s = Session::new(e.clone(), None).unwrap();
    s.run_epoch();
    std::fs::write(
        dir.0.join("config.toml"),
        e.to_toml("train.csv", "test.csv", 3),
    )
    .unwrap();
    std::fs::write(dir.0.join("train.csv"), s.csv(false)).unwrap();
    std::fs::write(dir.0.join("test.csv"), s.csv(true)).unwrap();
    std::fs::write(dir.0.join("page.safetensors"), s.safetensors().unwrap()).unwrap();
    // The page's weights evaluate with the CLI.
    let eval = ok(
        &dir,
        &[
            "eval",
            "--config",
            "config.toml",
            "--model",
            "page.safetensors",
            "--data",
            "test.csv",
        ],
    );
    // A classification experiment: one logit with bce_with_logits, evaluated as a binary
    // classifier.
    assert!(
        eval.contains("test.csv accuracy:") && eval.contains("ROC AUC"),
        "{eval}"
    );
    // The CLI trains the same net, and its model loads back into the page's session.
    ok(
        &dir,
        &[
            "train",
            "--config",
            "config.toml",
            "--out",
            "run",
            "--quiet",
        ],
    );
    std::fs::write(dir.0.join("x.csv"), without_last_column(&s.csv(true))).unwrap();
    ok(
        &dir,
        &[
            "predict",
            "--config",
            "config.toml",
            "--model",
            "run/model.safetensors",
            "--input",
            "x.csv",
            "--output",
            "y.csv",
        ],
    );
    let predicted: Vec<f32> = std::fs::read_to_string(dir.0.join("y.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let before = s.outputs(true);
    s.load_safetensors(&std::fs::read(dir.0.join("run/model.safetensors")).unwrap())
        .unwrap();
    let after = s.outputs(true);
    assert_ne!(before, after);
    assert_eq!(after.len(), predicted.len());
    for (i, (a, p)) in after.iter().zip(&predicted).enumerate() {
        assert!(
            (a - p).abs() <= 1e-5 + 1e-5 * p.abs(),
            "row {i}: session {a} vs predict {p}"
        );
    }
}
