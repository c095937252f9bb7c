//! Training and results end to end: a binary classifier on one logit (accuracy, precision,
//! recall, F1, ROC AUC, the decision threshold), class weights, keys an optimizer does not
//! take, early stopping that keeps the best epoch, the plateau scheduler, and `--no-report`.

mod common;
use backprop::io::safetensors;
use common::{failure, metrics, ok, ok_with_stderr, repo, tensors, TempDir};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Runs a command that must fail with one line containing `want`, leaving no new file.
#[track_caller]
fn fails(dir: &TempDir, args: &[&str], want: &str) {
    let err = failure(dir, args);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(want), "expected `{want}` in: {err}");
}

/// Trains `config` into the run folder `out`, quietly, then `flags`; returns (stdout, stderr).
#[track_caller]
fn train(dir: &TempDir, config: &str, out: &str, flags: &[&str]) -> (String, String) {
    let args = ["train", "--config", config, "--out", out, "--quiet"];
    ok_with_stderr(dir, &[&args[..], flags].concat())
}

/// `eval` of `model` (with `config`) on `data`; returns its stdout.
#[track_caller]
fn evaluate(dir: &TempDir, config: &str, model: &str, data: &str) -> String {
    ok(
        dir,
        &["eval", "--config", config, "--model", model, "--data", data],
    )
}

/// `predict` of `model` (with `config`) from `input` into `output`, then `flags`; returns the
/// output's rows.
#[track_caller]
fn predict(
    dir: &TempDir,
    config: &str,
    model: &str,
    input: &str,
    output: &str,
    flags: &[&str],
) -> Vec<Vec<f64>> {
    let args = [
        "predict", "--config", config, "--model", model, "--input", input, "--output", output,
    ];
    ok(dir, &[&args[..], flags].concat());
    read_columns(&dir.path(output))
}

/// Resumes the run folder `run`, quietly, after `from` in its config.toml (which must hold it)
/// becomes `to`; returns stderr.
#[track_caller]
fn resume_with(dir: &TempDir, run: &str, from: &str, to: &str) -> String {
    let path = dir.path(&format!("{run}/config.toml"));
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains(from), "{saved}");
    std::fs::write(&path, saved.replace(from, to)).unwrap();
    ok_with_stderr(dir, &["train", "--resume", run, "--quiet"]).1
}

/// The repository's iris.csv.
fn iris() -> String {
    std::fs::read_to_string(repo("data/iris.csv")).unwrap()
}

/// Iris as a binary problem: virginica (1) against the other two species (0), 50 against 100.
fn write_binary_iris(dir: &TempDir, name: &str) -> PathBuf {
    let text: String = iris()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                let (x, y) = l.rsplit_once(',').unwrap();
                format!("{x},{}\n", u8::from(y == "2"))
            }
        })
        .collect();
    dir.write(name, &text)
}

/// A copy of a CSV without its last (label) column, as `predict` takes it.
fn write_features(dir: &TempDir, from: &Path, name: &str) {
    let text: String = std::fs::read_to_string(from)
        .unwrap()
        .lines()
        .map(|l| format!("{}\n", l.rsplit_once(',').unwrap().0))
        .collect();
    dir.write(name, &text);
}

/// The rows of a CSV written by `predict` (after its header), as numbers.
fn read_columns(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// The labels of a CSV (last column).
fn labels(path: &Path) -> Vec<f64> {
    read_columns(path)
        .into_iter()
        .map(|r| *r.last().unwrap())
        .collect()
}

/// The number after `key ` in a line of `text` (`"ROC AUC 0.9876"`).
fn number_after(text: &str, key: &str) -> f64 {
    let rest = &text[text
        .find(key)
        .unwrap_or_else(|| panic!("no `{key}` in {text}"))
        + key.len()..];
    let num: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    num.parse().unwrap()
}

/// ROC AUC by its definition: over all (positive, negative) pairs, the share where the positive
/// scores higher, ties counting one half.
fn auc_by_pairs(scores: &[f64], labels: &[f64]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for (s_p, _) in scores.iter().zip(labels).filter(|(_, &y)| y == 1.0) {
        for (s_n, _) in scores.iter().zip(labels).filter(|(_, &y)| y == 0.0) {
            pairs += 1.0;
            wins += if s_p > s_n {
                1.0
            } else if s_p == s_n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / pairs
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

const BINARY: &str = "seed = 1\n[model]\nlayers = [4, 3, 1]\n[data]\ntrain = \"binary.csv\"\nvalidation = 0.2\ntest = 0.2\n\
    [train]\nloss = \"bce_with_logits\"\nlr = 0.01\nepochs = 8\nbatch_size = 16\nEXTRA\n";

#[test]
fn binary_classifier_on_one_logit_reports_classification_metrics() {
    let dir = TempDir::new("binary");
    let data = write_binary_iris(&dir, "binary.csv");
    write_features(&dir, &data, "x.csv");
    dir.write("b.toml", &BINARY.replace("EXTRA", ""));
    let (stdout, _) = train(&dir, "b.toml", "run", &[]);
    assert!(!stdout.contains("R²"), "{stdout}");
    assert!(stdout.contains("test accuracy: "), "{stdout}");
    for key in ["precision", "recall", "F1", "ROC AUC"] {
        assert!(stdout.contains(key), "{key}: {stdout}");
    }
    let m = metrics(&dir.path("run/metrics.jsonl"));
    assert_eq!(m.len(), 8);
    for key in [
        "val_accuracy",
        "val_precision",
        "val_recall",
        "val_f1",
        "val_auc",
        "test_auc",
    ] {
        let v = m[7][key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {}", m[7]));
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert!(m[7].get("val_r2").is_none(), "{}", m[7]);
    let report = std::fs::read_to_string(dir.path("run/report.html")).unwrap();
    for want in [
        "test accuracy",
        "test ROC AUC",
        "Confusion matrix (test set)",
        "class 1 when sigmoid(output) &gt; 0.5",
    ] {
        assert!(report.contains(want), "{want}");
    }
    assert!(!report.contains("R²"));
    let (_, meta) = safetensors::load(dir.path("run/model.safetensors")).unwrap();
    assert_eq!(meta["decision_threshold"], "0.5");

    // eval on the whole file: its AUC is the pairwise one of predict's logits, and its
    // accuracy that of the logits thresholded at probability 0.5.
    let model = "run/model.safetensors";
    let eval = evaluate(&dir, "b.toml", model, "binary.csv");
    let first = |rows: Vec<Vec<f64>>| -> Vec<f64> { rows.iter().map(|r| r[0]).collect() };
    let logits = first(predict(&dir, "b.toml", model, "x.csv", "logits.csv", &[]));
    let classes = first(predict(
        &dir,
        "b.toml",
        model,
        "x.csv",
        "classes.csv",
        &["--classes"],
    ));
    let y = labels(&data);
    assert_eq!(logits.len(), 150);
    for (l, c) in logits.iter().zip(&classes) {
        assert_eq!(*c, f64::from(u8::from(sigmoid(*l) > 0.5)), "logit {l}");
    }
    let want_auc = auc_by_pairs(&logits, &y);
    assert!(
        (number_after(&eval, "ROC AUC") - want_auc).abs() < 1e-4,
        "{eval} vs {want_auc}"
    );
    let right = classes.iter().zip(&y).filter(|(c, y)| c == y).count();
    let acc = number_after(&eval, "accuracy:");
    assert!((acc - 100.0 * right as f64 / 150.0).abs() < 0.01, "{eval}");
    assert!(eval.contains("confusion matrix"), "{eval}");

    // A higher threshold is stored in the model and used by predict --classes.
    dir.write(
        "high.toml",
        &BINARY.replace("EXTRA", "decision_threshold = 0.8"),
    );
    train(&dir, "high.toml", "high", &[]);
    let (_, meta) = safetensors::load(dir.path("high/model.safetensors")).unwrap();
    assert_eq!(meta["decision_threshold"], "0.8");
    let model = "high/model.safetensors";
    let logits = predict(&dir, "high.toml", model, "x.csv", "hl.csv", &[]);
    let classes = predict(&dir, "high.toml", model, "x.csv", "hc.csv", &["--classes"]);
    for (l, c) in logits.iter().zip(&classes) {
        assert_eq!(
            c[0],
            f64::from(u8::from(sigmoid(l[0]) > 0.8)),
            "logit {}",
            l[0]
        );
    }

    // Labels other than 0 and 1 are refused, naming the line.
    let bad = std::fs::read_to_string(&data)
        .unwrap()
        .replacen(",0\n", ",2\n", 1);
    dir.write("bad.csv", &bad);
    dir.write(
        "bad.toml",
        &BINARY.replace("EXTRA", "").replace("binary.csv", "bad.csv"),
    );
    fails(
        &dir,
        &["train", "--config", "bad.toml", "--quiet"],
        "bad.csv: line 2: label 2 is not 0 or 1",
    );
}

/// Iris with 50, 20 and 10 rows of its three classes.
fn write_imbalanced_iris(dir: &TempDir) -> PathBuf {
    let mut kept = [0usize; 3];
    let text: String = iris()
        .lines()
        .enumerate()
        .filter(|(i, l)| {
            if *i == 0 {
                return true;
            }
            let c: usize = l.rsplit(',').next().unwrap().parse().unwrap();
            kept[c] += 1;
            kept[c] <= [50, 20, 10][c]
        })
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    dir.write("imbalanced.csv", &text)
}

/// `-log softmax(row)[y]`.
fn nll(row: &[f64], y: usize) -> f64 {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    lse - row[y]
}

#[test]
fn class_weights_weigh_the_loss_as_pytorch() {
    let dir = TempDir::new("weights");
    let data = write_imbalanced_iris(&dir);
    write_features(&dir, &data, "xi.csv");
    // Balanced on 50/20/10 rows: 80 / (3 · count) = 0.5333, 1.3333, 2.6667.
    dir.write(
        "ce.toml",
        "[model]\nlayers = [4, 6, 3]\n[data]\ntrain = \"imbalanced.csv\"\n[train]\nepochs = 3\nclass_weight = \"balanced\"\n",
    );
    train(&dir, "ce.toml", "ce", &[]);
    let (_, meta) = safetensors::load(dir.path("ce/model.safetensors")).unwrap();
    let w: Vec<f64> = meta["class_weight"]
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    for (got, want) in w.iter().zip([80.0 / 150.0, 80.0 / 60.0, 80.0 / 30.0]) {
        assert!((got - want).abs() < 1e-6, "{w:?}");
    }
    // eval's loss is PyTorch's weighted mean: Σ w_y · nll / Σ w_y.
    let model = "ce/model.safetensors";
    let eval = evaluate(&dir, "ce.toml", model, "imbalanced.csv");
    let out = predict(&dir, "ce.toml", model, "xi.csv", "o.csv", &[]);
    let y = labels(&data);
    let (mut num, mut den) = (0.0, 0.0);
    for (row, &c) in out.iter().zip(&y) {
        num += w[c as usize] * nll(row, c as usize);
        den += w[c as usize];
    }
    let loss = number_after(&eval, "loss");
    assert!((loss - num / den).abs() < 1e-4, "{eval} vs {}", num / den);

    // A binary classifier's two weights: pos_weight = w₁ / w₀, a mean over rows.
    let binary = write_binary_iris(&dir, "binary.csv");
    write_features(&dir, &binary, "x.csv");
    dir.write(
        "b.toml",
        &BINARY.replace("EXTRA", "class_weight = [0.5, 1.5]"),
    );
    train(&dir, "b.toml", "b", &[]);
    let model = "b/model.safetensors";
    let eval = evaluate(&dir, "b.toml", model, "binary.csv");
    let out = predict(&dir, "b.toml", model, "x.csv", "bo.csv", &[]);
    let y = labels(&dir.path("binary.csv"));
    let pw = 1.5 / 0.5;
    let want: f64 = out
        .iter()
        .zip(&y)
        .map(|(r, &t)| {
            let x = r[0];
            // BCEWithLogitsLoss(pos_weight): −[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))].
            -(pw * t * sigmoid(x).ln() + (1.0 - t) * (1.0 - sigmoid(x)).ln())
        })
        .sum::<f64>()
        / y.len() as f64;
    let loss = number_after(&eval, "loss");
    assert!((loss - want).abs() < 1e-4, "{eval} vs {want}");

    // A weight for a class that does not exist; a regression loss.
    dir.write(
        "bad.toml",
        "[model]\nlayers = [4, 6, 3]\n[data]\ntrain = \"imbalanced.csv\"\n[train]\nclass_weight = { \"7\" = 2.0 }\n",
    );
    fails(
        &dir,
        &["train", "--config", "bad.toml"],
        "[train] class_weight: no class \"7\"; the classes are 0, 1, 2",
    );
}

#[test]
fn keys_that_do_not_apply_are_errors_naming_who_takes_them() {
    let dir = TempDir::new("keys");
    dir.write(
        "c.toml",
        "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"iris\"\n[train]\noptimizer = \"adam\"\nmomentum = 0.9\n",
    );
    fails(
        &dir,
        &["train", "--config", "c.toml"],
        "c.toml:7:12: [train] momentum: adam does not take momentum (sgd and rmsprop do)",
    );
    dir.write(
        "p.toml",
        "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"iris\"\n[train]\nscheduler = \"plateau\"\n",
    );
    fails(
        &dir,
        &["train", "--config", "p.toml"],
        "[train] scheduler: \"plateau\" watches the validation loss and needs validation data",
    );
}

const STOPPING: &str = "seed = 2\n[model]\nlayers = [4, 32, 3]\n[data]\ntrain = \"train.csv\"\nvalidation = \"val.csv\"\n\
    [train]\nlr = 0.05\nepochs = EPOCHS\nbatch_size = 8\nearly_stopping = 3\nEXTRA\n";

/// The epoch with the lowest `val_loss` (the first of equals).
fn best_epoch(m: &[Value]) -> usize {
    let mut best = (f64::INFINITY, 0);
    for e in m {
        let v = e["val_loss"].as_f64().unwrap();
        if v < best.0 {
            best = (v, e["epoch"].as_u64().unwrap() as usize);
        }
    }
    best.1
}

#[test]
fn early_stopping_keeps_the_best_epoch_and_resumes_with_it() {
    let dir = TempDir::new("stopping");
    // Validation on a file (every 5th iris row, the others train), so that eval can measure
    // the kept model.
    let rows = |keep: &dyn Fn(usize) -> bool| -> String {
        iris()
            .lines()
            .enumerate()
            .filter(|(i, _)| *i == 0 || keep(*i))
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    };
    dir.write("val.csv", &rows(&|i| i % 5 == 0));
    dir.write("train.csv", &rows(&|i| i % 5 != 0));
    dir.write(
        "s.toml",
        &STOPPING.replace("EPOCHS", "200").replace("EXTRA", ""),
    );
    let (_, err) = train(&dir, "s.toml", "whole", &[]);
    let m = metrics(&dir.path("whole/metrics.jsonl"));
    let (stopped, best) = (m.len(), best_epoch(&m));
    assert!(stopped < 200, "no early stop in 200 epochs");
    assert_eq!(stopped, best + 3, "patience 3");
    assert!(
        err.contains(&format!("early stopping at epoch {stopped}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("kept the weights of epoch {best}")),
        "{err}"
    );
    let report = std::fs::read_to_string(dir.path("whole/report.html")).unwrap();
    assert!(report.contains(&format!("kept the weights of epoch {best}")));
    // The saved model is the best epoch's: its validation loss is that epoch's.
    let eval = evaluate(&dir, "s.toml", "whole/model.safetensors", "val.csv");
    let want = m[best - 1]["val_loss"].as_f64().unwrap();
    assert!(
        (number_after(&eval, "loss") - want).abs() < 1e-4,
        "{eval} vs {want}"
    );

    // restore_best = false keeps the last epoch's weights.
    dir.write(
        "last.toml",
        &STOPPING
            .replace("EPOCHS", "200")
            .replace("EXTRA", "restore_best = false"),
    );
    let (_, err) = train(&dir, "last.toml", "last", &[]);
    assert!(!err.contains("kept the weights"), "{err}");
    let eval = evaluate(&dir, "last.toml", "last/model.safetensors", "val.csv");
    let want = m[stopped - 1]["val_loss"].as_f64().unwrap();
    assert!(
        (number_after(&eval, "loss") - want).abs() < 1e-4,
        "{eval} vs {want}"
    );

    // Stopped after the best epoch and resumed: the same stop, the same kept weights.
    dir.write(
        "half.toml",
        &STOPPING
            .replace("EPOCHS", &(best + 1).to_string())
            .replace("EXTRA", ""),
    );
    train(&dir, "half.toml", "half", &["--checkpoint-every", "1"]);
    let epochs_line = format!("epochs = {}", best + 1);
    let err = resume_with(&dir, "half", &epochs_line, "epochs = 200");
    assert!(
        err.contains(&format!("kept the weights of epoch {best}")),
        "{err}"
    );
    assert_eq!(
        tensors(&dir.path("half/model.safetensors")),
        tensors(&dir.path("whole/model.safetensors"))
    );
}

/// PyTorch's ReduceLROnPlateau (mode "min", threshold_mode "rel", cooldown 0), replayed from
/// the validation losses: the lr of each epoch.
fn plateau_lrs(lr0: f64, val: &[f64], factor: f64, patience: usize, threshold: f64) -> Vec<f64> {
    let (mut lr, mut best, mut bad) = (lr0, f64::INFINITY, 0);
    let mut out = vec![];
    for &v in val {
        out.push(lr);
        if v < best * (1.0 - threshold) {
            best = v;
            bad = 0;
        } else {
            bad += 1;
        }
        if bad > patience {
            let new = lr * factor;
            if lr - new > 1e-8 {
                lr = new;
            }
            bad = 0;
        }
    }
    out
}

#[test]
fn plateau_scheduler_lowers_the_lr_on_the_validation_loss_and_resumes() {
    let dir = TempDir::new("plateau");
    let cfg = "seed = 4\n[model]\nlayers = [4, 16, 3]\n[data]\ntrain = \"iris\"\nvalidation = 0.2\n\
        [train]\nlr = 0.05\nepochs = EPOCHS\nbatch_size = 16\nscheduler = \"plateau\"\nfactor = 0.5\npatience = 1\nthreshold = 0.01\n";
    dir.write("p.toml", &cfg.replace("EPOCHS", "30"));
    train(&dir, "p.toml", "whole", &["--no-report"]);
    assert!(!dir.path("whole/report.html").exists(), "--no-report");
    assert!(dir.path("whole/model.safetensors").exists());
    let m = metrics(&dir.path("whole/metrics.jsonl"));
    let val: Vec<f64> = m.iter().map(|e| e["val_loss"].as_f64().unwrap()).collect();
    let lrs: Vec<f64> = m.iter().map(|e| e["lr"].as_f64().unwrap()).collect();
    let want = plateau_lrs(0.05, &val, 0.5, 1, 0.01);
    for (i, (a, b)) in lrs.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * b,
            "epoch {}: lr {a}, want {b}",
            i + 1
        );
    }
    assert!(lrs.last() < lrs.first(), "the lr never dropped: {lrs:?}");
    // Resumed from epoch 12: the scheduler's state travels in the checkpoint.
    dir.write("h.toml", &cfg.replace("EPOCHS", "12"));
    train(&dir, "h.toml", "half", &["--checkpoint-every", "12"]);
    resume_with(&dir, "half", "epochs = 12", "epochs = 30");
    let resumed = metrics(&dir.path("half/metrics.jsonl"));
    for (a, b) in resumed.iter().zip(&m) {
        assert_eq!(a["lr"], b["lr"]);
    }
    assert_eq!(
        tensors(&dir.path("half/model.safetensors")),
        tensors(&dir.path("whole/model.safetensors"))
    );
}
