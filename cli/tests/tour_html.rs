//! `backprop tour --html`: one self-contained tour.html with each section's prose, code, output
//! and figures, and links into the playground whose experiments the playground accepts.

mod common;
use common::{failure, ok, TempDir};

#[test]
fn tour_html_is_one_self_contained_page() {
    let dir = TempDir::new("tour-html");
    let out = dir.0.join("site");
    ok(&dir, &["tour", "--html", "--out", out.to_str().unwrap()]);
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
    ok(&dir, &["tour", "--html", "--section", "3"]);
    let html = std::fs::read_to_string(dir.path("tour.html")).unwrap();
    assert!(html.contains("<section id=\"s3\">") && !html.contains("<section id=\"s4\">"));
    dir.write("file", "x");
    let err = failure(&dir, &["tour", "--html", "--out", "file/site"]);
    assert!(
        err.starts_with("error: --out") && err.trim().lines().count() == 1,
        "{err}"
    );
    let err = failure(&dir, &["tour", "--html", "--section", "9"]);
    assert!(err.contains("there is no section 9"), "{err}");
}
