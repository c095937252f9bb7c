//! `backprop tour`: runs the sections in order or one, saves figures into `--out DIR` or a new
//! `tour/`, and on bad input prints one line, exits non-zero and leaves no file.

mod common;
use common::{failure, TempDir};

/// `backprop tour args`, which must succeed; returns its stdout.
#[track_caller]
fn ok(dir: &TempDir, args: &[&str]) -> String {
    common::ok(dir, &[&["tour"], args].concat())
}

/// `backprop tour args`, which must fail with exactly one line on stderr, starting with
/// `prefix`, and no new files.
#[track_caller]
fn fails(dir: &TempDir, args: &[&str], prefix: &str) {
    let stderr = failure(dir, &[&["tour"], args].concat());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(prefix), "{stderr}");
}

#[test]
fn an_unknown_section_is_one_line_and_no_files() {
    let dir = TempDir::new("tour-bad-section");
    fails(
        &dir,
        &["--section", "9"],
        "error: --section 9: there is no section 9 (the tutorial has sections 1 to 8)",
    );
    fails(
        &dir,
        &["--section", "0"],
        "error: --section 0: there is no section 0",
    );
    dir.write("file", "");
    fails(
        &dir,
        &["--section", "1", "--out", "file/figs"],
        "error: --out file/figs: cannot make the folder file/figs: file is a file",
    );
}

/// `--out` folders that do not exist yet are made (the example in `tour --help`), and a run
/// that draws nothing leaves none behind.
#[test]
fn a_missing_out_folder_is_made() {
    let dir = TempDir::new("tour-missing-out");
    let out = ok(&dir, &["--section", "1", "--out", "figures/deep"]);
    assert!(out.ends_with("\nFigures are in figures/deep\n"), "{out}");
    assert_eq!(
        dir.listing(),
        [
            "figures",
            "figures/deep",
            "figures/deep/01_architecture.png",
            "figures/deep/01_architecture.svg"
        ]
    );
    ok(&dir, &["--section", "2", "--out", "empty/deep"]);
    assert!(!dir.path("empty").exists(), "{:?}", dir.listing());
}

#[test]
fn one_section_without_figures_prints_and_writes_nothing() {
    let dir = TempDir::new("tour-section-3");
    let out = ok(&dir, &["--section", "3"]);
    assert!(
        out.starts_with("== 3. Backpropagation: The Heart of Deep Learning ==\n"),
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("Epoch ")).count(),
        10,
        "{out}"
    );
    assert!(out.contains("Final output: 0.7000"), "{out}");
    assert!(dir.listing().is_empty(), "{:?}", dir.listing());
}

#[test]
fn the_whole_tour_runs_the_sections_in_order() {
    let dir = TempDir::new("tour-all");
    std::fs::create_dir(dir.0.join("figs")).unwrap();
    let out = ok(&dir, &["--out", "figs"]);
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(headers.len(), 8, "{out}");
    for (i, h) in headers.iter().enumerate() {
        assert!(h.starts_with(&format!("== {}. ", i + 1)), "{h}");
    }
    assert!(out.contains("Neuron output: "));
    assert!(out.contains("Epoch [2000/2000], Loss: "));
    let listing = dir.listing();
    assert!(
        !listing.iter().any(|p| p.contains(".backprop-tour")),
        "{listing:?}"
    );
    for name in [
        "01_architecture.png",
        "01_architecture.svg",
        "05_graph.dot",
        "05_graph.svg",
    ] {
        assert!(
            listing.contains(&format!("figs/{name}")),
            "{name}: {listing:?}"
        );
    }
    assert!(
        listing.contains(&"figs/07_gradients".to_string()),
        "{listing:?}"
    );
    assert!(out.ends_with("\nFigures are in figs\n"), "{out}");
}

/// Figures go to a new `tour/` (then `tour-2/`) when no `--out` is given.
#[test]
fn figures_go_to_a_new_tour_folder() {
    let dir = TempDir::new("tour-default-folder");
    let out = ok(&dir, &["--section", "1"]);
    assert!(out.ends_with("\nFigures are in tour\n"), "{out}");
    ok(&dir, &["--section", "1"]);
    assert_eq!(
        dir.listing(),
        [
            "tour",
            "tour-2",
            "tour-2/01_architecture.png",
            "tour-2/01_architecture.svg",
            "tour/01_architecture.png",
            "tour/01_architecture.svg"
        ]
    );
}

/// A second run into the same `--out` folder replaces its own files and keeps the others.
#[test]
fn a_rerun_replaces_figures_and_keeps_other_files() {
    let dir = TempDir::new("tour-rerun");
    let figs = dir.0.join("figs");
    std::fs::create_dir(&figs).unwrap();
    std::fs::write(figs.join("notes.txt"), "mine").unwrap();
    std::fs::write(figs.join("01_architecture.svg"), "old").unwrap();
    ok(&dir, &["--section", "1", "--out", "figs"]);
    assert_eq!(
        dir.listing(),
        [
            "figs",
            "figs/01_architecture.png",
            "figs/01_architecture.svg",
            "figs/notes.txt"
        ]
    );
    assert_ne!(
        std::fs::read_to_string(figs.join("01_architecture.svg")).unwrap(),
        "old"
    );
    assert_eq!(
        std::fs::read_to_string(figs.join("notes.txt")).unwrap(),
        "mine"
    );
}
