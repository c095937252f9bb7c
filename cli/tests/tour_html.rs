//! `backprop tour --html`: one self-contained tour.html with each section's prose, code, output
//! and figures, and links into the playground whose experiments the playground accepts.

#[path = "../../tests/common/mod.rs"]
mod common;
use common::TempDir;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_backprop");

#[test]
fn tour_html_is_one_self_contained_page() {
    let dir = TempDir::new("tour-html");
    let out = dir.0.join("site");
    let run = Command::new(BIN)
        .args(["tour", "--html", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Only the page: the figures' scratch folder is gone.
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["tour.html"]);
    let html = std::fs::read_to_string(out.join("tour.html")).unwrap();
    for n in 1..=8 {
        assert!(
            html.contains(&format!("<section id=\"s{n}\">")),
            "section {n}"
        );
        assert!(
            html.contains(&format!("pub fn section_{n}(")),
            "code of section {n}"
        );
    }
    // What section 2 prints, and the figures of sections 1, 5 and 7, inline.
    assert!(html.contains("Neuron output: "));
    let images = html.matches("<img alt=").count();
    assert_eq!(images, html.matches("src=\"data:image/png;base64,").count());
    assert!(images >= 5, "{images} figures");
    for bad in ["<script", "<link", "src=\"http"] {
        assert!(!html.contains(bad), "tour.html contains {bad:?}");
    }
    // Sections 3, 6, 7 and 8 open their experiment in the playground.
    let links: Vec<&str> = html
        .match_indices("href=\"http://127.0.0.1:8000/?")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(links.len(), 4);
    for q in links {
        let q = q.replace("&amp;", "&");
        backprop_playground::Experiment::parse(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
}

#[test]
fn tour_html_of_one_section_and_a_bad_folder() {
    let dir = TempDir::new("tour-html-one");
    let run = Command::new(BIN)
        .current_dir(&dir.0)
        .args(["tour", "--html", "--section", "3"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(dir.0.join("tour.html")).unwrap();
    assert!(html.contains("<section id=\"s3\">") && !html.contains("<section id=\"s4\">"));
    std::fs::write(dir.0.join("file"), "x").unwrap();
    let run = Command::new(BIN)
        .current_dir(&dir.0)
        .args(["tour", "--html", "--out", "file/site"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        err.starts_with("error: --out") && err.trim().lines().count() == 1,
        "{err}"
    );
    let run = Command::new(BIN)
        .current_dir(&dir.0)
        .args(["tour", "--html", "--section", "9"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stderr).contains("there is no section 9"));
}
