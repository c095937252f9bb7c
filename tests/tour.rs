//! The tutorial's sections (`backprop::tour`): each runs, prints the structure its cell prints,
//! learns what it should, prints the same numbers every run, and (with `viz`) saves its figures.

use backprop::tour::{self, SECTIONS};
use std::path::Path;
mod common;
use common::TempDir;

/// Runs section `n` into a fresh folder; returns its output and the folder.
fn run(n: usize) -> (String, TempDir) {
    let dir = TempDir::new(&format!("s{n}"));
    // The sections seed and draw from the global generator.
    let _global = common::global_state();
    let mut out = Vec::new();
    tour::run_section(n, &mut out, &dir.0).unwrap();
    (String::from_utf8(out).unwrap(), dir)
}

/// The number after `key` on `line` (`"Loss: 0.0123, ..."` → 0.0123).
fn number_after(line: &str, key: &str) -> f32 {
    let rest = &line[line
        .find(key)
        .unwrap_or_else(|| panic!("{key:?} in {line:?}"))
        + key.len()..];
    let end = rest.find([',', ' ', '\n']).unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn lines_with<'a>(out: &'a str, prefix: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// The four `Input: [a, b], Target: t, Prediction: p` lines, checked to round to XOR.
#[track_caller]
fn assert_predicts_xor(out: &str) {
    let preds = lines_with(out, "Input: ");
    let inputs = ["[0.0, 0.0]", "[0.0, 1.0]", "[1.0, 0.0]", "[1.0, 1.0]"];
    assert_eq!(preds.len(), 4, "{out}");
    for (line, (input, target)) in preds.iter().zip(inputs.iter().zip([0.0, 1.0, 1.0, 0.0])) {
        assert!(
            line.starts_with(&format!("Input: {input}, Target: {target}")),
            "{line}"
        );
        let p = number_after(line, "Prediction: ");
        assert_eq!(p.round(), target, "{line}");
    }
}

#[cfg(feature = "viz")]
#[track_caller]
fn assert_files(dir: &Path, names: &[&str]) {
    for name in names {
        let len = std::fs::metadata(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .len();
        assert!(len > 0, "{name} is empty");
    }
}

#[test]
fn section_1_describes_the_4_5_3_2_network_and_draws_it() {
    let (out, dir) = run(1);
    assert!(out.contains("layer sizes [4, 5, 3, 2]"), "{out}");
    assert!(out.contains("14 neurons in 4 layers, 41 connections (weights) and 10 biases"));
    #[cfg(feature = "viz")]
    assert_files(&dir.0, &["01_architecture.png", "01_architecture.svg"]);
    #[cfg(not(feature = "viz"))]
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

#[test]
fn section_2_prints_one_neuron_output() {
    let (out, _dir) = run(2);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v = number_after(&out, "Neuron output: ");
    assert!(v > 0.0 && v < 1.0, "{out}");
}

#[test]
fn section_3_prints_ten_epochs_and_reaches_the_target() {
    let (out, _dir) = run(3);
    let diff = number_after(&out, "largest difference ");
    assert!(diff <= 1e-6, "{out}");
    let epochs = lines_with(&out, "Epoch ");
    assert_eq!(epochs.len(), 10, "{out}");
    for (i, line) in epochs.iter().enumerate() {
        assert!(
            line.starts_with(&format!("Epoch {}, Loss: ", i * 100)),
            "{line}"
        );
    }
    let first = number_after(epochs[0], "Loss: ");
    let last = number_after(epochs[9], "Loss: ");
    assert!(first > 0.0 && last < first, "{out}");
    let fin = lines_with(&out, "Final output: ");
    assert_eq!(fin.len(), 1);
    assert!(
        (number_after(fin[0], "Final output: ") - 0.7).abs() < 1e-3,
        "{out}"
    );
}

#[test]
fn section_4_learns_xor_from_scratch() {
    let (out, _dir) = run(4);
    let epochs = lines_with(&out, "Epoch ");
    assert_eq!(epochs.len(), 10, "{out}");
    let first = number_after(epochs[0], "Loss: ");
    let last = number_after(epochs[9], "Loss: ");
    assert!(last < first / 10.0 && last < 0.01, "{out}");
    assert!(out.contains("\nFinal predictions:\n"), "{out}");
    assert_predicts_xor(&out);
}

#[test]
fn section_5_prints_the_gradients_of_the_mean_of_x_times_y() {
    let (out, dir) = run(5);
    let want = "Gradient of x: tensor([1.3333, 1.6667, 2.0000])\n\
                Gradient of y: tensor([0.3333, 0.6667, 1.0000])\n";
    assert!(out.starts_with(want), "{out}");
    #[cfg(feature = "viz")]
    {
        assert!(out.contains("digraph"), "{out}");
        assert!(out.contains("MeanBackward0"), "{out}");
        assert_files(&dir.0, &["05_graph.dot", "05_graph.svg", "05_graph.png"]);
        let dot = std::fs::read_to_string(dir.0.join("05_graph.dot")).unwrap();
        assert!(
            out.contains(dot.trim_end()),
            "the printed DOT is the saved DOT"
        );
    }
    #[cfg(not(feature = "viz"))]
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

#[test]
fn section_6_prints_the_model_and_learns_xor_with_adam() {
    let (out, _dir) = run(6);
    let head = "PyTorchMLP(\n  (layers): ModuleList(\n    \
                (0): Linear(in_features=2, out_features=4, bias=True)\n    (1): ReLU()\n";
    assert!(out.starts_with(head), "{out}");
    let epochs = lines_with(&out, "Epoch [");
    assert_eq!(epochs.len(), 10, "{out}");
    for (i, line) in epochs.iter().enumerate() {
        assert!(
            line.starts_with(&format!("Epoch [{}/1000], Loss: ", (i + 1) * 100)),
            "{line}"
        );
    }
    let losses: Vec<f32> = epochs.iter().map(|l| number_after(l, "Loss: ")).collect();
    assert!(losses[9] < losses[0], "{out}");
    assert!(losses[9] < 0.01, "{out}");
    assert_predicts_xor(&out);
}

#[test]
fn section_7_trains_and_pictures_every_layer_every_200_epochs() {
    let (out, dir) = run(7);
    let epochs = lines_with(&out, "Epoch [");
    assert_eq!(epochs.len(), 5, "{out}");
    assert!(epochs[4].starts_with("Epoch [1000/1000], Loss: "));
    #[cfg(feature = "viz")]
    {
        assert_files(&dir.0, &["07_loss.png", "07_grad_norms.png"]);
        let sub = dir.0.join(tour::GRADIENTS_DIR);
        let mut names: Vec<String> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        // 5 epochs × 3 Linear layers × (weight: 2 histograms + 2 heatmaps, bias: 2 histograms)
        assert_eq!(names.len(), 5 * 3 * 6, "{names:?}");
        for epoch in ["0200", "1000"] {
            for layer in ["layers.0", "layers.2", "layers.4"] {
                for kind in ["grad_hist", "param_hist", "grad_heatmap", "param_heatmap"] {
                    let name = format!("epoch_{epoch}_{layer}.weight_{kind}.png");
                    assert!(names.contains(&name), "{name} missing from {names:?}");
                }
            }
        }
    }
    #[cfg(not(feature = "viz"))]
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

#[test]
fn section_8_trains_the_advanced_mlp_for_2000_epochs() {
    let (out, _dir) = run(8);
    let epochs = lines_with(&out, "Epoch [");
    assert_eq!(epochs.len(), 10, "{out}");
    assert!(epochs[9].starts_with("Epoch [2000/2000], Loss: "));
    for line in &epochs {
        assert!(number_after(line, "Loss: ").is_finite(), "{line}");
    }
    assert_predicts_xor(&out);
}

#[test]
fn sections_print_the_same_numbers_every_run() {
    for n in [2, 4, 8] {
        let (a, _d1) = run(n);
        let (b, _d2) = run(n);
        assert_eq!(a, b, "section {n}");
    }
}

#[test]
fn sections_are_numbered_1_to_8_and_others_are_errors() {
    let numbers: Vec<usize> = SECTIONS.iter().map(|s| s.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7, 8]);
    let figures: Vec<usize> = SECTIONS
        .iter()
        .filter(|s| s.has_figures)
        .map(|s| s.number)
        .collect();
    assert_eq!(figures, [1, 5, 7]);
    for bad in [0, 9] {
        let e = tour::run_section(bad, &mut Vec::new(), Path::new(".")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("there is no section {bad}: the tutorial has sections 1 to 8")
        );
    }
}
