//! The `backprop` binary end to end: the default job, the metrics contract, PyTorch weights in
//! and out, checkpoints, and bad input (one line on stderr, non-zero exit, no new files).

mod common;
use backprop::io::safetensors;
use backprop::nn::{Mlp, MlpConfig, Module, StateDict};
use backprop::optim::{Optimizer, SGDConfig, SGD};
use backprop::Tensor;
use common::library::{assert_close, fixtures, Fixture};
use common::{backprop, failure, metrics, ok, repo, run, tensors, TempDir, BIN};
use std::path::PathBuf;
use std::process::Command;

#[test]
fn default_job_reaches_97_percent_on_digits() {
    let dir = TempDir::new("default");
    let stdout = ok(&dir, &["train"]);
    assert!(stdout.contains("test accuracy"), "{stdout}");
    assert!(stdout.contains("confusion matrix"), "{stdout}");
    let runs: Vec<String> = dir
        .listing()
        .into_iter()
        .filter(|p| p.starts_with("runs/digits-") && !p.contains("."))
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run_dir = dir.path(&runs[0]);
    for f in ["model.safetensors", "config.toml", "metrics.jsonl"] {
        assert!(run_dir.join(f).exists(), "{f}");
    }
    let m = metrics(&run_dir.join("metrics.jsonl"));
    assert_eq!(m.len(), 30);
    let acc = m.last().unwrap()["test_accuracy"].as_f64().unwrap();
    assert!(acc >= 0.97, "test accuracy {acc}");
    // The saved config reproduces the run.
    let keys: Vec<String> = tensors(&run_dir.join("model.safetensors"))
        .keys()
        .map(String::from)
        .collect();
    assert_eq!(
        keys,
        [
            "layers.0.bias",
            "layers.0.weight",
            "layers.2.bias",
            "layers.2.weight",
            "layers.4.bias",
            "layers.4.weight"
        ]
    );
}

const XOR: &str = "seed = 7\n[model]\nlayers = [2, 4, 1]\n[data]\ntrain = \"xor\"\nstandardize = false\n\
    [train]\nloss = \"mse\"\noptimizer = \"sgd\"\nlr = 0.1\nepochs = 3\nbatch_size = 3\nshuffle = false\n";

#[test]
fn metrics_are_the_mean_of_step_losses_before_each_update() {
    let dir = TempDir::new("metrics");
    let cfg = dir.write("xor.toml", XOR);
    ok(
        &dir,
        &[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            ".",
            "--metrics",
            "m.jsonl",
            "--save",
            "w.safetensors",
        ],
    );
    let m = metrics(&dir.path("m.jsonl"));
    assert_eq!(m.len(), 3);
    // The same run through the library: batches are rows 0..3 and 3..4 in file order.
    backprop::manual_seed(7);
    let model = Mlp::new(&MlpConfig::new(&[2, 4, 1]));
    let mut opt = SGD::new(
        model.parameters(),
        SGDConfig {
            lr: 0.1,
            ..Default::default()
        },
    )
    .unwrap();
    let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]);
    let y = Tensor::from_slice(&[0., 1., 1., 0.], &[4, 1]);
    for (e, line) in m.iter().enumerate() {
        let mut losses = vec![];
        for rows in [vec![0, 1, 2], vec![3]] {
            opt.zero_grad();
            let loss = backprop::nn::mse_loss(
                &model.forward(&x.index_select(0, &rows)),
                &y.index_select(0, &rows),
                Default::default(),
            );
            losses.push(loss.item() as f64);
            loss.backward();
            opt.step();
        }
        let mean = (losses[0] + losses[1]) / 2.0;
        assert_eq!(line["epoch"].as_u64(), Some(e as u64 + 1));
        assert!(
            (line["loss"].as_f64().unwrap() - mean).abs() < 1e-6,
            "epoch {}: {} vs {mean}",
            e + 1,
            line["loss"]
        );
        assert_eq!(line["lr"].as_f64(), Some(0.1));
    }
    let saved = tensors(&dir.path("w.safetensors"));
    assert_eq!(saved, model.state_dict_sorted());
}

trait Sorted {
    fn state_dict_sorted(&self) -> StateDict;
}
impl Sorted for Mlp {
    fn state_dict_sorted(&self) -> StateDict {
        let sd = self.state_dict();
        let mut keys: Vec<&str> = sd.keys().collect();
        keys.sort();
        let mut out = StateDict::new();
        for k in keys {
            out.insert(k, sd.get(k).unwrap().clone());
        }
        out
    }
}

const INTEROP: &str = "[model]\nlayers = [3, 6, 2]\nbatch_norm = true\ndropout = 0.2\n[data]\ntrain_x = \"x.npy\"\ntrain_y = \"y.npy\"\n\
    [train]\nloss = \"mse\"\nepochs = 0\n";

fn write_csv(dir: &TempDir, name: &str, header: &str, t: &Tensor) -> PathBuf {
    let cols = t.shape()[1];
    let mut s = format!("{header}\n");
    for row in t.to_vec().chunks(cols) {
        s += &row
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(",");
        s += "\n";
    }
    dir.write(name, &s)
}

#[test]
fn pytorch_weights_train_from_init_and_predict_pytorchs_outputs() {
    let dir = TempDir::new("interop");
    let io = Fixture::load("interop_io");
    // Two-output regression data: a .npy pair.
    backprop::data::write_npy(dir.path("x.npy"), &backprop::Array::zeros(&[2, 3])).unwrap();
    backprop::data::write_npy(dir.path("y.npy"), &backprop::Array::zeros(&[2, 2])).unwrap();
    let cfg = dir.write("m.toml", INTEROP);
    let init = fixtures().join("interop_model.safetensors");
    // epochs = 0 with --init and --save writes the --init state bit for bit.
    ok(
        &dir,
        &[
            "train",
            "--config",
            "m.toml",
            "--init",
            init.to_str().unwrap(),
            "--save",
            "w.safetensors",
            "--out",
            ".",
        ],
    );
    assert_eq!(tensors(&dir.path("w.safetensors")), tensors(&init));
    // predict in eval mode gives PyTorch's outputs.
    write_csv(&dir, "x.csv", "a,b,c", &io.get("x"));
    ok(
        &dir,
        &[
            "predict",
            "--config",
            cfg.to_str().unwrap(),
            "--model",
            "w.safetensors",
            "--input",
            "x.csv",
            "--output",
            "y.csv",
        ],
    );
    let text = std::fs::read_to_string(dir.path("y.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("output_0,output_1"));
    let got: Vec<f32> = lines
        .flat_map(|l| {
            l.split(',')
                .map(|v| v.parse::<f32>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_close(
        "predict",
        &Tensor::from_vec(got, &[7, 2]),
        &io.get("y"),
        1e-5,
        1e-5,
    );
    // .npy output has shape [rows, outputs].
    ok(
        &dir,
        &[
            "predict",
            "--config",
            "m.toml",
            "--model",
            "w.safetensors",
            "--input",
            "x.csv",
            "--output",
            "y.npy",
        ],
    );
    let y = backprop::data::read_npy(dir.path("y.npy")).unwrap();
    assert_eq!(y.shape(), &[7, 2]);
}

#[test]
fn predict_classes_and_eval_report_metrics() {
    let dir = TempDir::new("eval");
    let cfg = dir.write(
        "iris.toml",
        "[model]\nlayers = [4, 16, 3]\n[data]\ntrain = \"iris\"\ntest = 0.2\nstandardize = true\n[train]\nlr = 0.01\nepochs = 60\nbatch_size = 16\n",
    );
    ok(
        &dir,
        &[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            ".",
            "--quiet",
        ],
    );
    let iris = backprop::data::iris();
    write_csv(&dir, "x.csv", "a,b,c,d", &iris.x_tensor());
    ok(
        &dir,
        &[
            "predict",
            "--config",
            "iris.toml",
            "--model",
            "model.safetensors",
            "--input",
            "x.csv",
            "--output",
            "c.csv",
            "--classes",
        ],
    );
    let text = std::fs::read_to_string(dir.path("c.csv")).unwrap();
    let preds: Vec<f32> = text.lines().skip(1).map(|l| l.parse().unwrap()).collect();
    assert_eq!(preds.len(), 150);
    let right = preds
        .iter()
        .zip(iris.y.data())
        .filter(|(p, y)| p == y)
        .count();
    assert!(
        right >= 135,
        "{right}/150 right: standardisation must travel with the model"
    );
    let report = ok(
        &dir,
        &[
            "eval",
            "--config",
            "iris.toml",
            "--model",
            "model.safetensors",
            "--data",
            "iris",
        ],
    );
    for want in ["accuracy:", "precision", "recall", "confusion matrix"] {
        assert!(report.contains(want), "{report}");
    }
    // train and eval print the same metrics line: a model trained on all of iris, evaluated
    // on all of it, reads the same but for the set's name.
    let all = cfg.to_str().unwrap().replace("iris.toml", "all.toml");
    dir.write(
        "all.toml",
        "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"iris\"\n[train]\nepochs = 5\n",
    );
    let trained = ok(
        &dir,
        &["train", "--config", &all, "--out", "all", "--quiet"],
    );
    let evaluated = ok(
        &dir,
        &[
            "eval",
            "--config",
            &all,
            "--model",
            "all/model.safetensors",
            "--data",
            "iris",
        ],
    );
    let line = trained.lines().next().unwrap();
    assert!(line.starts_with("train accuracy: "), "{trained}");
    assert_eq!(
        evaluated.lines().next().unwrap(),
        line.replacen("train", "iris", 1),
        "{evaluated}"
    );
}

#[test]
fn resume_continues_bit_for_bit() {
    let dir = TempDir::new("resume");
    let cfg = "seed = 3\n[model]\nlayers = [4, 8, 3]\nbatch_norm = true\ndropout = 0.3\n[data]\ntrain = \"iris\"\nstandardize = true\n\
        [train]\nlr = 0.01\nscheduler = \"step\"\nstep_size = 2\ngamma = 0.5\nbatch_size = 16\nepochs = EPOCHS\n";
    std::fs::create_dir(dir.path("whole")).unwrap();
    std::fs::create_dir(dir.path("half")).unwrap();
    dir.write("whole.toml", &cfg.replace("EPOCHS", "6"));
    dir.write("half.toml", &cfg.replace("EPOCHS", "3"));
    ok(
        &dir,
        &[
            "train",
            "--config",
            "whole.toml",
            "--out",
            "whole",
            "--quiet",
        ],
    );
    ok(
        &dir,
        &[
            "train",
            "--config",
            "half.toml",
            "--out",
            "half",
            "--checkpoint-every",
            "3",
            "--quiet",
        ],
    );
    // Continue the 3-epoch run to 6 epochs from its checkpoint.
    let saved = std::fs::read_to_string(dir.path("half/config.toml")).unwrap();
    std::fs::write(
        dir.path("half/config.toml"),
        saved.replace("epochs = 3", "epochs = 6"),
    )
    .unwrap();
    ok(&dir, &["train", "--resume", "half", "--quiet"]);
    assert_eq!(
        tensors(&dir.path("half/model.safetensors")),
        tensors(&dir.path("whole/model.safetensors"))
    );
    let (a, b) = (
        metrics(&dir.path("half/metrics.jsonl")),
        metrics(&dir.path("whole/metrics.jsonl")),
    );
    assert_eq!(a.len(), 6);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x["loss"], y["loss"]);
        assert_eq!(x["lr"], y["lr"]);
    }
}

#[test]
fn diverging_loss_stops_and_keeps_the_last_good_checkpoint() {
    let dir = TempDir::new("nan");
    dir.write(
        "boom.toml",
        "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"iris\"\n[train]\noptimizer = \"sgd\"\nlr = 1e30\nbatch_size = 0\nepochs = 5\n",
    );
    std::fs::create_dir(dir.path("out")).unwrap();
    let out = run(
        &dir,
        &[
            "train",
            "--config",
            "boom.toml",
            "--out",
            "out",
            "--checkpoint-every",
            "1",
            "--metrics",
            "m.jsonl",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("epoch ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("training stopped at epoch 2") && lines[0].contains("checkpoint"),
        "{err}"
    );
    // Only the config, the good checkpoint and the metrics up to it remain; no model, and no
    // --metrics copy (the run did not finish).
    assert_eq!(
        dir.listing(),
        [
            "boom.toml",
            "out",
            "out/checkpoint.safetensors",
            "out/config.toml",
            "out/metrics.jsonl"
        ]
    );
    let metrics = std::fs::read_to_string(dir.path("out/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 1, "{metrics}");
    assert!(metrics.starts_with("{\"epoch\":1,"), "{metrics}");
}

/// Runs a failing command; checks one non-empty stderr line containing `want` and no new files.
#[track_caller]
fn fails(dir: &TempDir, args: &[&str], want: &str) {
    let err = failure(dir, args);
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("epoch ")).collect();
    assert_eq!(lines.len(), 1, "{args:?}: {err}");
    assert!(
        lines[0].contains(want),
        "{args:?}: expected `{want}` in: {}",
        lines[0]
    );
    assert!(!lines[0].contains("panicked"), "{err}");
}

#[test]
fn bad_input_gives_one_line_and_leaves_no_file() {
    let dir = TempDir::new("bad");
    let base = "[model]\nlayers = [2, 4, 2]\n[data]\ntrain = \"d.csv\"\n[train]\nepochs = 2\n";
    dir.write("good.csv", "a,b,label\n0,1,0\n1,0,1\n");
    let cases: &[(&str, &str, &str)] = &[
        (
            // (A column of text only is a categorical feature; one that mixes is an error.)
            "a,b,label\n0,1,1\n0,x,1\n",
            base,
            "d.csv:3:3: column b: \"x\" is not a number",
        ),
        ("a,b,label\n0,1,1\n0,1\n", base, "d.csv:3"),
        ("", base, "empty"),
        ("a,b,label\n0,1,1\n0,1,5\n", base, "label 5"),
        (
            "a,b,label\n0,1,1\n",
            &base.replace("[train]\n", "[train]\noptimizer = \"adamm\"\n"),
            "did you mean `adam`",
        ),
        (
            "a,b,label\n0,1,1\n",
            &base.replace("[train]\n", "[train]\nloss = \"hinge\"\n"),
            "loss",
        ),
        (
            "a,b,label\n0,1,1\n",
            &base.replace(
                "layers = [2, 4, 2]",
                "layers = [2, 4, 2]\nactivaton = \"relu\"",
            ),
            "did you mean `activation`",
        ),
        (
            "a,b,label\n0,1,1\n",
            &base.replace("layers = [2, 4, 2]", "layers = [2]"),
            "at least two sizes",
        ),
        (
            "a,b,label\n0,1,1\n",
            &base.replace("[train]\n", "[train]\nlr = -0.1\n"),
            "lr",
        ),
        (
            "a,b,label\n0,1,1\n",
            &base.replace("[train]\n", "[train]\nlr = 0\n"),
            "lr",
        ),
        (
            "a,b,label\n0,1,1\n",
            &base.replace("d.csv", "missing.csv"),
            "missing.csv",
        ),
        (
            "a,b,label\n0,1,1\n",
            &base.replace("[model]\n", "[modle]\n"),
            "did you mean `model`",
        ),
    ];
    for (csv, cfg, want) in cases {
        dir.write("d.csv", csv);
        dir.write("c.toml", cfg);
        fails(&dir, &["train", "--config", "c.toml"], want);
        fails(&dir, &["train", "--config", "c.toml", "--out", "nope"], "");
    }
    dir.write("d.csv", "a,b,label\n0,1,1\n1,0,0\n");
    dir.write("c.toml", base);
    fails(
        &dir,
        &["train", "--config", "c.toml", "--out", "d.csv"],
        "--out d.csv: d.csv is a file, not a folder",
    );
    // --init: wrong shape, missing names, not safetensors, huge header.
    let other = "[model]\nlayers = [2, 3, 2]\n[data]\ntrain = \"d.csv\"\n[train]\nepochs = 0\n";
    dir.write("o.toml", other);
    ok(
        &dir,
        &[
            "train",
            "--config",
            "o.toml",
            "--out",
            ".",
            "--save",
            "o.safetensors",
            "--quiet",
        ],
    );
    let _ = std::fs::remove_file(dir.path("model.safetensors"));
    let _ = std::fs::remove_file(dir.path("metrics.jsonl"));
    let _ = std::fs::remove_file(dir.path("config.toml"));
    fails(
        &dir,
        &["train", "--config", "c.toml", "--init", "o.safetensors"],
        "layers.0.weight",
    );
    let mut partial = tensors(&dir.path("o.safetensors"));
    partial.remove("layers.2.bias");
    safetensors::save(&partial, dir.path("partial.safetensors"), None).unwrap();
    fails(
        &dir,
        &[
            "train",
            "--config",
            "o.toml",
            "--init",
            "partial.safetensors",
        ],
        "missing key `layers.2.bias`",
    );
    let mut extra = tensors(&dir.path("o.safetensors"));
    extra.insert(
        "layers.9.weight",
        backprop::nn::StateTensor::f32(&[1], vec![0.0]),
    );
    safetensors::save(&extra, dir.path("extra.safetensors"), None).unwrap();
    fails(
        &dir,
        &["train", "--config", "o.toml", "--init", "extra.safetensors"],
        "unexpected key `layers.9.weight`",
    );
    dir.write("junk.safetensors", "this is not a safetensors file");
    fails(
        &dir,
        &["train", "--config", "c.toml", "--init", "junk.safetensors"],
        "junk.safetensors",
    );
    let mut huge = (u64::MAX / 2).to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    std::fs::write(dir.path("huge.safetensors"), huge).unwrap();
    fails(
        &dir,
        &["train", "--config", "c.toml", "--init", "huge.safetensors"],
        "huge.safetensors",
    );
    // predict/eval on bad input.
    fails(
        &dir,
        &[
            "predict",
            "--config",
            "c.toml",
            "--model",
            "junk.safetensors",
            "--input",
            "d.csv",
            "--output",
            "y.csv",
        ],
        "junk",
    );
    // The model reads columns a and b by name (its target, label, may be there too).
    dir.write("ab.csv", "label,a\n1,0\n");
    fails(
        &dir,
        &[
            "predict",
            "--config",
            "o.toml",
            "--model",
            "o.safetensors",
            "--input",
            "ab.csv",
            "--output",
            "y.csv",
        ],
        "ab.csv: no column named \"b\"",
    );
    fails(
        &dir,
        &[
            "predict",
            "--config",
            "o.toml",
            "--model",
            "o.safetensors",
            "--input",
            "x.csv",
            "--output",
            "no/y.csv",
        ],
        "no",
    );
}

#[test]
fn help_documents_every_command() {
    let dir = TempDir::new("help");
    let top = ok(&dir, &["--help"]);
    for want in ["train", "predict", "eval", "Example"] {
        assert!(top.contains(want), "{top}");
    }
    for cmd in ["train", "predict", "eval"] {
        let h = ok(&dir, &[cmd, "--help"]);
        assert!(h.contains("Example"), "{cmd}: {h}");
    }
}

#[test]
fn ctrl_c_saves_a_checkpoint_and_resume_matches_an_uninterrupted_run() {
    use std::io::{BufRead, BufReader};
    let dir = TempDir::new("ctrlc");
    let cfg = "seed = 5\n[model]\nlayers = [2, 4, 1]\n[data]\ntrain = \"xor\"\n[train]\nloss = \"mse\"\nlr = 0.01\nbatch_size = 0\nepochs = 200000\n";
    dir.write("x.toml", cfg);
    for d in ["a", "b"] {
        std::fs::create_dir(dir.path(d)).unwrap();
    }
    let mut child = backprop(&dir)
        .args(["train", "--config", "x.toml", "--out", "a"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("epoch 1/"), "{line}");
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("--resume"), "{rest}");
    assert!(dir.path("a/checkpoint.safetensors").exists());
    assert!(!dir.path("a/model.safetensors").exists());
    ok(&dir, &["train", "--resume", "a", "--quiet"]);
    ok(
        &dir,
        &["train", "--config", "x.toml", "--out", "b", "--quiet"],
    );
    assert_eq!(
        tensors(&dir.path("a/model.safetensors")),
        tensors(&dir.path("b/model.safetensors"))
    );
    assert_eq!(metrics(&dir.path("a/metrics.jsonl")).len(), 200000);
}

#[test]
fn validation_split_reports_metrics_and_stops_early() {
    let dir = TempDir::new("early");
    dir.write(
        "e.toml",
        "[model]\nlayers = [4, 32, 3]\n[data]\ntrain = \"iris\"\ntest = 0.2\nvalidation = 0.2\nstandardize = true\n\
         [train]\nlr = 0.05\nepochs = 2000\nbatch_size = 8\nearly_stopping = 5\n",
    );
    ok(
        &dir,
        &["train", "--config", "e.toml", "--out", ".", "--quiet"],
    );
    let m = metrics(&dir.path("metrics.jsonl"));
    assert!(m.len() < 2000, "early stopping never triggered");
    for key in ["val_loss", "val_accuracy", "test_loss", "test_accuracy"] {
        assert!(m[0].get(key).is_some(), "missing {key} in {}", m[0]);
    }
}

#[test]
fn npy_and_idx_pairs_train() {
    let dir = TempDir::new("pairs");
    let iris = backprop::data::iris();
    backprop::data::write_npy(dir.path("x.npy"), &iris.x).unwrap();
    backprop::data::write_npy(dir.path("y.npy"), &iris.y).unwrap();
    dir.write("n.toml", "[model]\nlayers = [4, 8, 3]\n[data]\ntrain_x = \"x.npy\"\ntrain_y = \"y.npy\"\n[train]\nepochs = 2\n");
    ok(
        &dir,
        &["train", "--config", "n.toml", "--out", ".", "--quiet"],
    );
    // MNIST IDX: 3 images of 2×2 pixels, labels 0..2.
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2];
    images.extend((0..12u8).map(|v| v * 20));
    std::fs::write(dir.path("img-idx3-ubyte"), images).unwrap();
    std::fs::write(
        dir.path("lab-idx1-ubyte"),
        [0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2],
    )
    .unwrap();
    dir.write("i.toml", "[model]\nlayers = [4, 8, 3]\n[data]\ntrain_x = \"img-idx3-ubyte\"\ntrain_y = \"lab-idx1-ubyte\"\n[train]\nepochs = 2\n");
    std::fs::remove_file(dir.path("model.safetensors")).unwrap();
    ok(
        &dir,
        &["train", "--config", "i.toml", "--out", ".", "--quiet"],
    );
    assert!(dir.path("model.safetensors").exists());
}

#[test]
fn threads_flag_is_checked_and_applies_to_every_command() {
    let dir = TempDir::new("threads");
    let before = dir.listing();
    let out = run(&dir, &["train", "--threads", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.lines().count(),
        1,
        "usage errors are one line too: {err}"
    );
    assert!(
        err.contains("invalid value '0' for '--threads <N>'"),
        "{err}"
    );
    let out = run(&dir, &["train", "--confg", "x.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: unexpected argument '--confg' found (tip: a similar argument exists: '--config')\n"
    );
    assert_eq!(dir.listing(), before, "a rejected flag left files behind");
    // The environment variable is checked as strictly as the flag, which overrides it.
    let out = backprop(&dir)
        .args(["tour", "--section", "2"])
        .env("BACKPROP_NUM_THREADS", "abc")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: BACKPROP_NUM_THREADS=abc: expected a number of threads from 1 to 65535\n"
    );
    let out = backprop(&dir)
        .args(["tour", "--section", "2", "--threads", "1"])
        .env("BACKPROP_NUM_THREADS", "abc")
        .output()
        .unwrap();
    assert!(out.status.success());
    // Global: accepted before or after the command.
    ok(
        &dir,
        &["--threads", "1", "tour", "--section", "2", "--out", "."],
    );
    ok(
        &dir,
        &["tour", "--section", "2", "--out", ".", "--threads", "2"],
    );
}

// ---- Hostile configs

#[test]
fn config_asking_for_an_unallocatable_model() {
    // Layers of 4·10⁹ units would need 32 GB of weights: refused while reading the config, with
    // one line and no abort (it used to die in the allocator with a backtrace).
    let dir = TempDir::new("hostile");
    dir.write(
        "big.toml",
        "[model]\nlayers = [2, 4000000000, 2]\n[data]\ntrain = \"xor\"\n[train]\nepochs = 1\n",
    );
    let out_dir = dir.0.to_str().unwrap();
    let out = run(&dir, &["train", "--config", "big.toml", "--out", out_dir]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let listing = dir.listing();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("[model] layers: [2, 4000000000, 2] needs more than 1073741824 parameters"),
        "{stderr}"
    );
    assert_eq!(listing, ["big.toml"], "no new file");
}

/// Missing output folders (`--out`, and the folders of `--save` and `--metrics`) are made; a run
/// that fails after making them removes them again.
#[test]
fn missing_output_folders_are_made_and_removed_on_error() {
    let dir = TempDir::new("mkdirs");
    dir.write(
        "iris.toml",
        "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"iris\"\n[train]\nepochs = 1\n",
    );
    ok(
        &dir,
        &[
            "train",
            "--config",
            "iris.toml",
            "--out",
            "runs/mine",
            "--save",
            "w/deep/model.safetensors",
            "--metrics",
            "m/metrics.jsonl",
            "--quiet",
        ],
    );
    for p in [
        "runs/mine/model.safetensors",
        "runs/mine/config.toml",
        "w/deep/model.safetensors",
        "m/metrics.jsonl",
    ] {
        assert!(dir.path(p).is_file(), "{p}: {:?}", dir.listing());
    }
    dir.write(
        "boom.toml",
        "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"iris\"\n[train]\noptimizer = \"sgd\"\nlr = 1e30\nbatch_size = 0\nepochs = 5\n",
    );
    let args = ["train", "--config", "boom.toml", "--out", "new/deep"];
    fails(&dir, &args, "training stopped at epoch");
    let args = [
        &args[..],
        &["--save", "s/m.safetensors", "--metrics", "n/m.jsonl"],
    ]
    .concat();
    fails(&dir, &args, "training stopped at epoch");
    fails(
        &dir,
        &[
            "train",
            "--config",
            "iris.toml",
            "--save",
            "iris.toml/m.safetensors",
        ],
        "--save iris.toml/m.safetensors: iris.toml is a file, not a folder",
    );
}

/// The accuracy in a `<set> accuracy: 97.22% (36 rows), loss 0.1234` line.
fn accuracy(stdout: &str, set: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{set} accuracy: ")))
        .unwrap_or_else(|| panic!("no {set} accuracy in: {stdout}"));
    line[set.len() + 11..line.find('%').unwrap()]
        .parse()
        .unwrap()
}

/// A config of only `layers` and `train` trains a sensible model with the defaults (epochs,
/// lr, standardisation): over 90% on iris, wine and digits, on the training data and on a 20%
/// held-out test split.
#[test]
fn defaults_train_iris_wine_and_digits_past_90_percent() {
    let dir = TempDir::new("defaults");
    let wine = repo("data/wine.csv");
    let wine = toml::Value::String(wine.display().to_string()).to_string();
    for (name, train, layers) in [
        ("iris", "\"iris\"".to_string(), "[4, 16, 3]"),
        ("wine", wine, "[13, 16, 3]"),
        ("digits", "\"digits\"".to_string(), "[64, 32, 10]"),
    ] {
        let minimal = format!("[model]\nlayers = {layers}\n[data]\ntrain = {train}\n");
        dir.write(&format!("{name}.toml"), &minimal);
        dir.write(
            &format!("{name}-test.toml"),
            &format!("{minimal}test = 0.2\n"),
        );
        for (config, set) in [
            (name.to_string(), "train"),
            (format!("{name}-test"), "test"),
        ] {
            let out = ok(
                &dir,
                &[
                    "train",
                    "--config",
                    &format!("{config}.toml"),
                    "--out",
                    &config,
                    "--quiet",
                ],
            );
            let acc = accuracy(&out, set);
            println!("{config}: {set} accuracy {acc}%");
            assert!(acc >= 90.0, "{config}: {out}");
        }
    }
}

/// A run folder stands alone: its config.toml names data by absolute paths, so it re-runs as is
/// and `--resume DIR` works from any working folder.
#[test]
fn a_run_folder_reruns_and_resumes_from_any_folder() {
    let dir = TempDir::new("self-contained");
    std::fs::create_dir_all(dir.path("sub/data")).unwrap();
    std::fs::create_dir_all(dir.path("elsewhere")).unwrap();
    let iris = repo("data/iris.csv");
    std::fs::copy(iris, dir.path("sub/data/iris.csv")).unwrap();
    dir.write(
        "sub/c.toml",
        "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"data/iris.csv\"\n[train]\nepochs = 2\n",
    );
    let args = [
        "--config",
        "sub/c.toml",
        "--out",
        "run",
        "--checkpoint-every",
        "1",
    ];
    ok(&dir, &[&["train", "--quiet"], &args[..]].concat());
    let elsewhere = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(dir.path("elsewhere"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    elsewhere(&[
        "train",
        "--quiet",
        "--config",
        "../run/config.toml",
        "--out",
        "again",
    ]);
    elsewhere(&["train", "--quiet", "--resume", "../run"]);
    assert_eq!(
        tensors(&dir.path("run/model.safetensors")),
        tensors(&dir.path("elsewhere/again/model.safetensors"))
    );
}

/// BatchNorm1d needs two rows per training batch: a batch of one row is a one-line error that
/// names `drop_last`, and `drop_last = true` (PyTorch's DataLoader name) trains.
#[test]
fn batch_norm_with_a_one_row_batch_names_drop_last() {
    let dir = TempDir::new("drop-last");
    // iris: 150 rows; a 0.2 test split leaves 120, so batches of 7 end with one row.
    let cfg =
        "[model]\nlayers = [4, 8, 3]\nbatch_norm = true\n[data]\ntrain = \"iris\"\ntest = 0.2\n\
               [train]\nepochs = 2\nbatch_size = 7\n";
    dir.write("bn.toml", cfg);
    fails(
        &dir,
        &["train", "--config", "bn.toml"],
        "error: [train] batch_size: the last batch of 120 training rows in batches of 7 holds one row, \
         and batch_norm needs at least two per batch; set drop_last = true or another batch_size",
    );
    dir.write("one.csv", "a,b,label\n0,1,0\n");
    dir.write(
        "one.toml",
        "[model]\nlayers = [2, 4, 2]\nbatch_norm = true\n[data]\ntrain = \"one.csv\"\n",
    );
    fails(
        &dir,
        &["train", "--config", "one.toml"],
        "error: [model] batch_norm: the training set has one row, and BatchNorm1d needs at least two per batch",
    );
    dir.write(
        "big.toml",
        &cfg.replace("batch_size = 7", "batch_size = 200\ndrop_last = true"),
    );
    fails(
        &dir,
        &["train", "--config", "big.toml"],
        "error: [train] drop_last: 120 training rows in batches of 200 leave no full batch",
    );
    dir.write(
        "ok.toml",
        &cfg.replace("batch_size = 7", "batch_size = 7\ndrop_last = true"),
    );
    let out = ok(
        &dir,
        &["train", "--config", "ok.toml", "--out", "run", "--quiet"],
    );
    assert!(out.contains("test accuracy: "), "{out}");
    let lines = metrics(&dir.path("run/metrics.jsonl"));
    assert_eq!(lines.len(), 2);
    assert!(std::fs::read_to_string(dir.path("run/config.toml"))
        .unwrap()
        .contains("drop_last = true"));
}

/// Config errors name the file, line and column, on one line, in the config's words.
#[test]
fn config_errors_are_located() {
    let dir = TempDir::new("located");
    for (text, want) in [
        (
            "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = iris\n",
            "error: c.toml:4:9: strings need quotes: train = \"iris\"",
        ),
        (
            "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"iris\"\ntrain = \"xor\"\n",
            "error: c.toml:5:1: duplicate key `train`",
        ),
        (
            "[model]\nlayers = [4, 8, 3]\nactivation = \"rleu\"\n[data]\ntrain = \"iris\"\n",
            "error: c.toml:3:14: [model] activation: unknown value \"rleu\" (did you mean `relu`?)",
        ),
        (
            "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"iris\"\nstandardise = true\n",
            "error: c.toml:5:1: [data] standardise: unknown key (did you mean `standardize`?)",
        ),
    ] {
        dir.write("c.toml", text);
        fails(&dir, &["train", "--config", "c.toml"], want);
    }
    std::fs::remove_file(dir.path("c.toml")).unwrap();
    fails(
        &dir,
        &["train", "--config", "c.toml"],
        "error: c.toml: config file not found",
    );
}

/// A missing file is named once with its OS error once; a misspelt built-in dataset gets a
/// suggestion; a missing run folder is named as such.
#[test]
fn missing_files_are_said_once() {
    let dir = TempDir::new("missing");
    dir.write(
        "c.toml",
        "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"iris\"\n[train]\nepochs = 1\n",
    );
    let out = run(
        &dir,
        &["train", "--config", "c.toml", "--init", "nope.safetensors"],
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: nope.safetensors: "), "{err}");
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
    dir.write(
        "c.toml",
        "[model]\nlayers = [4, 8, 3]\n[data]\ntrain = \"irs\"\n",
    );
    fails(
        &dir,
        &["train", "--config", "c.toml"],
        "irs: data file not found (did you mean `iris`?)",
    );
    fails(
        &dir,
        &["train", "--resume", "nowhere"],
        "error: --resume nowhere: no such run folder",
    );
}

/// `device` in the config and `--device`: bad names are one-line errors with a suggestion;
/// a GPU that is not there is a one-line error that writes nothing; `auto` and `cpu` train on
/// the CPU here and say so in metrics.jsonl and the report.
#[test]
fn device_key_and_flag() {
    let dir = TempDir::new("device");
    let rows: String = (0..20)
        .map(|i| format!("{},{},{}\n", i % 2, i % 3, i % 2))
        .collect();
    dir.write("d.csv", &format!("a,b,label\n{rows}"));
    let base = "[model]\nlayers = [2, 4, 2]\n[data]\ntrain = \"d.csv\"\n[train]\nepochs = 2\n";
    dir.write("bad.toml", &format!("device = \"gpu\"\n{base}"));
    fails(
        &dir,
        &["train", "--config", "bad.toml"],
        "bad.toml:1:10: device: unknown device \"gpu\"",
    );
    dir.write("tf.toml", &format!("tf32 = \"yes\"\n{base}"));
    fails(
        &dir,
        &["train", "--config", "tf.toml"],
        "tf.toml:1:8: tf32: expected true or false, got string",
    );
    dir.write("c.toml", base);
    fails(
        &dir,
        &["train", "--config", "c.toml", "--device", "cudda"],
        "--device: unknown device \"cudda\" (did you mean `cuda`?)",
    );
    if !backprop::Device::cuda_is_available() {
        for flag in ["cuda", "cuda:1"] {
            fails(
                &dir,
                &[
                    "train", "--config", "c.toml", "--device", flag, "--out", "o",
                ],
                &format!(
                    "--device: {}: ",
                    if flag == "cuda" { "cuda:0" } else { flag }
                ),
            );
        }
        dir.write("gpu.toml", &format!("device = \"cuda\"\n{base}"));
        fails(&dir, &["train", "--config", "gpu.toml"], "device: cuda:0: ");
    }
    for (flag, want) in [("auto", "auto"), ("cpu", "cpu")] {
        let out = format!("run-{flag}");
        ok(
            &dir,
            &[
                "train", "--config", "c.toml", "--device", flag, "--out", &out, "--quiet",
            ],
        );
        // A 2-4-2 net is far below the `auto` threshold: the CPU either way, GPU or not.
        let metrics = std::fs::read_to_string(dir.path(&format!("{out}/metrics.jsonl"))).unwrap();
        assert!(
            metrics.lines().all(|l| l.ends_with(",\"device\":\"cpu\"}")),
            "{metrics}"
        );
        let config = std::fs::read_to_string(dir.path(&format!("{out}/config.toml"))).unwrap();
        assert!(
            config.starts_with(&format!("seed = 0\ndevice = \"{want}\"\n")),
            "{config}"
        );
        let report = std::fs::read_to_string(dir.path(&format!("{out}/report.html"))).unwrap();
        assert!(
            report.contains("<p>Trained on cpu.</p>"),
            "report names the device"
        );
    }
}
