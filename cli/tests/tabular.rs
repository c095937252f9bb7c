//! The CSVs people have, end to end through `backprop`: columns by name (any order, extra
//! columns, the target left in), no header, `;` and tab, text labels, categorical columns, gaps,
//! an ID column, `"auto"` layer sizes, probabilities, and `eval` on a `.npy` pair. The files are
//! `cli/tests/data/` (written by `scripts/messy_csvs.py` from iris).

mod common;
use backprop::io::safetensors;
use common::{failure, ok, ok_with_stderr, tensors, TempDir};
use std::collections::BTreeMap;
use std::path::Path;

/// A folder holding the messy CSVs.
fn folder(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for e in std::fs::read_dir(data).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path(p.file_name().unwrap().to_str().unwrap())).unwrap();
    }
    dir
}

/// Runs a command that must fail with one line holding each of `want`, and leave no file.
#[track_caller]
fn fails(dir: &TempDir, args: &[&str], want: &[&str]) -> String {
    let err = failure(dir, args);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("epoch ") && !l.starts_with("warning: "))
        .collect();
    assert_eq!(lines.len(), 1, "{args:?}: {err}");
    for w in want {
        assert!(
            lines[0].contains(w),
            "{args:?}: expected `{w}` in: {}",
            lines[0]
        );
    }
    lines[0].to_string()
}

/// Trains `config` (written to c.toml) into `out`; returns (stdout, stderr).
#[track_caller]
fn train(dir: &TempDir, config: &str, out: &str) -> (String, String) {
    dir.write("c.toml", config);
    ok_with_stderr(dir, &["train", "--config", "c.toml", "--out", out])
}

/// Training `config` (written to c.toml) into `out` fails as [`fails`] says.
#[track_caller]
fn train_fails(dir: &TempDir, config: &str, out: &str, want: &[&str]) -> String {
    dir.write("c.toml", config);
    fails(dir, &["train", "--config", "c.toml", "--out", out], want)
}

/// `predict` with c.toml: `model` on `input` into `output`, then `flags`.
fn predict_args<'a>(
    model: &'a str,
    input: &'a str,
    output: &'a str,
    flags: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "predict", "--config", "c.toml", "--model", model, "--input", input, "--output", output,
    ];
    args.extend_from_slice(flags);
    args
}

/// Runs [`predict_args`], which must succeed; returns the output file.
#[track_caller]
fn predict(dir: &TempDir, model: &str, input: &str, output: &str, flags: &[&str]) -> String {
    ok(dir, &predict_args(model, input, output, flags));
    std::fs::read_to_string(dir.path(output)).unwrap()
}

/// `eval` with c.toml of run/model.safetensors on `data`, then `flags`.
fn eval_args<'a>(data: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "eval",
        "--config",
        "c.toml",
        "--model",
        "run/model.safetensors",
        "--data",
        data,
    ];
    args.extend_from_slice(flags);
    args
}

fn metadata(path: &Path) -> BTreeMap<String, String> {
    safetensors::load(path).unwrap().1
}

/// The cells of a simple CSV (no quoted commas), header first.
fn cells(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// The species column of a CSV the fixtures hold (the header names it).
fn species(text: &str, delimiter: char) -> Vec<String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(delimiter).collect();
    let col = header.iter().position(|h| *h == "species").unwrap();
    lines
        .map(|l| {
            // Only the site cell ("east, upper") holds a quoted comma, and it comes after species.
            l.split(delimiter).nth(col).unwrap().to_string()
        })
        .collect()
}

const FLOWERS: &str = "seed = 1\n[model]\nlayers = [\"auto\", 16, \"auto\"]\n[data]\ntrain = \"flowers.csv\"\ntarget = \"species\"\nimpute = \"median\"\ndrop = [\"plant id\"]\n[train]\nepochs = 60\nbatch_size = 16\n";

#[test]
fn columns_by_name_any_order_extra_and_target_ignored() {
    let dir = folder("by-name");
    let (stdout, _) = train(&dir, FLOWERS, "run");
    assert!(
        stdout.contains("categorical columns (one-hot): site (3 categories)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("classes (sorted): 0 setosa, 1 versicolor, 2 virginica"),
        "{stdout}"
    );
    let meta = metadata(&dir.path("run/model.safetensors"));
    let names: Vec<String> = serde_json::from_str(&meta["feature_names"]).unwrap();
    assert_eq!(
        names,
        [
            "sepal length (cm)",
            "sepal width (cm)",
            "site=east, upper",
            "site=north",
            "site=south",
            "petal length (cm)",
            "petal width (cm)"
        ]
    );
    let classes: Vec<String> = serde_json::from_str(&meta["classes"]).unwrap();
    assert_eq!(classes, ["setosa", "versicolor", "virginica"]);
    assert_eq!(meta["target"], "species");
    let columns: serde_json::Value = serde_json::from_str(&meta["columns"]).unwrap();
    assert_eq!(columns[2]["kind"], "categorical");
    assert_eq!(columns[2]["name"], "site");
    assert!(columns[0]["fill"].as_f64().is_some(), "{columns}");

    // The training file as it is, and new rows in another order with an extra column.
    let all = predict(
        &dir,
        "run/model.safetensors",
        "flowers.csv",
        "all.csv",
        &["--classes"],
    );
    let new = predict(
        &dir,
        "run/model.safetensors",
        "flowers_new.csv",
        "new.csv",
        &["--classes"],
    );
    let (all, new) = (cells(&all), cells(&new));
    assert_eq!(
        (all[0][0].as_str(), new[0][0].as_str()),
        ("species", "species")
    );
    let truth = species(
        &std::fs::read_to_string(dir.path("flowers.csv")).unwrap(),
        ',',
    );
    let right = (0..truth.len())
        .filter(|&i| all[i + 1][0] == truth[i])
        .count();
    assert!(right >= 140, "{right}/150 right");
    // flowers_new.csv holds the first 30 rows, reordered; row 3 has a site training never saw.
    for i in (0..30).filter(|&i| i != 3) {
        assert_eq!(new[i + 1], all[i + 1], "row {i}");
    }
    // eval reads the same columns by name, with per-class figures by name.
    let report = ok(&dir, &eval_args("flowers_new.csv", &[]));
    for want in ["accuracy", "    setosa  ", "versicolor  ", " virginica  "] {
        assert!(report.contains(want), "{want}: {report}");
    }
}

#[test]
fn a_missing_column_is_one_line_naming_it_and_the_file() {
    let dir = folder("missing-col");
    train(&dir, FLOWERS, "run");
    // flowers_new.csv without its second column, "petal width (cm)".
    let text = std::fs::read_to_string(dir.path("flowers_new.csv")).unwrap();
    let short: String = text
        .lines()
        .map(|l| {
            let (first, rest) = l.split_once(',').unwrap();
            format!("{first},{}\n", rest.split_once(',').unwrap().1)
        })
        .collect();
    assert!(short.starts_with("note,site,"), "{short}");
    dir.write("short.csv", &short);
    fails(
        &dir,
        &predict_args("run/model.safetensors", "short.csv", "p.csv", &[]),
        &["short.csv", "no column named \"petal width (cm)\""],
    );
}

#[test]
fn headerless_files_need_header_false() {
    let dir = folder("noheader");
    let cfg = FLOWERS
        .replace("flowers.csv", "flowers_noheader.csv")
        .replace("target = \"species\"", "target = 3")
        .replace("drop = [\"plant id\"]", "drop = [0]");
    train_fails(
        &dir,
        &cfg,
        "run",
        &[
            "flowers_noheader.csv:1",
            "the first row looks like data",
            "header = false",
        ],
    );
    let cfg = cfg.replace("[data]\n", "[data]\nheader = false\n");
    let (stdout, _) = train(&dir, &cfg, "run");
    // All 138 rows train: none is taken as a header.
    assert!(
        stdout.contains("train accuracy") && stdout.contains("(138 rows)"),
        "{stdout}"
    );
    let out = predict(
        &dir,
        "run/model.safetensors",
        "flowers_noheader.csv",
        "p.csv",
        &["--classes"],
    );
    assert_eq!(out.lines().count(), 139, "a header and one line per row");
    let right = out
        .lines()
        .skip(1)
        .zip(
            std::fs::read_to_string(dir.path("flowers_noheader.csv"))
                .unwrap()
                .lines(),
        )
        .filter(|(p, row)| row.contains(&format!(",{p},")))
        .count();
    assert!(right >= 125, "{right}/138");
}

#[test]
fn semicolons_and_tabs_are_detected_and_train_the_same_model() {
    let dir = folder("delims");
    train(&dir, FLOWERS, "comma");
    let weights = |run: &str| tensors(&dir.path(&format!("{run}/model.safetensors")));
    for file in ["flowers_semicolon.csv", "flowers.tsv"] {
        let run = format!("run-{file}");
        train(&dir, &FLOWERS.replace("flowers.csv", file), &run);
        assert_eq!(weights(&run), weights("comma"), "{file}");
    }
    // Decimal commas, as a semicolon-separated export from many locales writes numbers.
    let semi = std::fs::read_to_string(dir.path("flowers_semicolon.csv")).unwrap();
    dir.write("comma_decimals.csv", &semi.replace('.', ","));
    train_fails(
        &dir,
        &FLOWERS.replace("flowers.csv", "comma_decimals.csv"),
        "x",
        &[
            "comma_decimals.csv:",
            "decimal comma",
            "set decimal = \",\"",
        ],
    );
    let cfg = FLOWERS
        .replace("flowers.csv", "comma_decimals.csv")
        .replace("[data]\n", "[data]\ndecimal = \",\"\n");
    train(&dir, &cfg, "decimal");
    assert_eq!(weights("decimal"), weights("comma"));
    // A delimiter set to the wrong one: the error says which was used.
    let cfg = FLOWERS.replace("[data]\n", "[data]\ndelimiter = \";\"\n");
    train_fails(&dir, &cfg, "x", &["flowers.csv", "split on semicolons"]);
    let cfg = FLOWERS
        .replace("[data]\n", "[data]\ndelimiter = \"tab\"\n")
        .replace("flowers.csv", "flowers.tsv");
    train(&dir, &cfg, "tab");
    assert_eq!(weights("tab"), weights("comma"));
    // A first line that could be either.
    dir.write("ambiguous.csv", "a,b;c;d,e\n1,2;3;4,5\n");
    train_fails(
        &dir,
        &FLOWERS.replace("flowers.csv", "ambiguous.csv"),
        "x",
        &[
            "ambiguous.csv:1",
            "cannot tell the delimiter",
            "set delimiter",
        ],
    );
}

#[test]
fn text_labels_predict_names_indices_and_probabilities() {
    let dir = folder("labels");
    train(&dir, FLOWERS, "run");
    let names = predict(
        &dir,
        "run/model.safetensors",
        "flowers_new.csv",
        "n.csv",
        &["--classes"],
    );
    let index = predict(
        &dir,
        "run/model.safetensors",
        "flowers_new.csv",
        "i.csv",
        &["--class-index"],
    );
    let proba = predict(
        &dir,
        "run/model.safetensors",
        "flowers_new.csv",
        "p.csv",
        &["--proba"],
    );
    let classes = ["setosa", "versicolor", "virginica"];
    let (names, index, proba) = (cells(&names), cells(&index), cells(&proba));
    assert_eq!(proba[0], classes);
    for r in 1..names.len() {
        let i: usize = index[r][0].parse().unwrap();
        assert_eq!(names[r][0], classes[i]);
        let p: Vec<f64> = proba[r].iter().map(|v| v.parse().unwrap()).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{p:?}");
        let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        assert_eq!(best, i);
    }
    // .npy: indices or probabilities, never both.
    ok(
        &dir,
        &predict_args(
            "run/model.safetensors",
            "flowers_new.csv",
            "p.npy",
            &["--proba"],
        ),
    );
    assert_eq!(
        backprop::data::read_npy(dir.path("p.npy")).unwrap().shape(),
        &[30, 3]
    );
    fails(
        &dir,
        &predict_args(
            "run/model.safetensors",
            "flowers_new.csv",
            "q.npy",
            &["--proba", "--classes"],
        ),
        &["q.npy", "choose --proba or --classes"],
    );
    // A regressor keeps its target's name and has no probabilities.
    let reg = "[model]\nlayers = [\"auto\", 8, \"auto\"]\n[data]\ntrain = \"flowers.csv\"\ntarget = \"petal length (cm)\"\nimpute = \"mean\"\n[train]\nloss = \"mse\"\nepochs = 5\n";
    train(&dir, reg, "reg");
    let out = predict(
        &dir,
        "reg/model.safetensors",
        "flowers_new.csv",
        "r.csv",
        &[],
    );
    assert_eq!(out.lines().next(), Some("petal length (cm)"));
    fails(
        &dir,
        &predict_args(
            "reg/model.safetensors",
            "flowers_new.csv",
            "r2.csv",
            &["--proba"],
        ),
        &["--proba", "regressor"],
    );
}

#[test]
fn categories_unknown_at_predict_time_warn_once_or_stop() {
    let dir = folder("unknown");
    train(&dir, FLOWERS, "run");
    let (_, err) = ok_with_stderr(
        &dir,
        &predict_args("run/model.safetensors", "flowers_new.csv", "p.csv", &[]),
    );
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("flowers_new.csv: 1 categorical cell"),
        "{err}"
    );
    dir.write(
        "c.toml",
        &FLOWERS.replace("[data]\n", "[data]\nunknown_categories = \"error\"\n"),
    );
    fails(
        &dir,
        &predict_args("run/model.safetensors", "flowers_new.csv", "q.csv", &[]),
        &["flowers_new.csv:5", "\"site\"", "category \"west\""],
    );
    // Numbers as categories: listed in `categorical`, a numeric column is one-hot encoded.
    let cfg = FLOWERS.replace(
        "drop = [\"plant id\"]",
        "drop = [\"plant id\"]\ncategorical = [\"sepal width (cm)\"]",
    );
    let (stdout, _) = train(&dir, &cfg, "cat");
    assert!(stdout.contains("sepal width (cm) ("), "{stdout}");
    let meta = metadata(&dir.path("cat/model.safetensors"));
    assert!(
        meta["feature_names"].contains("sepal width (cm)=3.0"),
        "{}",
        meta["feature_names"]
    );
}

#[test]
fn missing_values_are_an_error_or_imputed_from_the_training_split() {
    let dir = folder("gaps");
    let strict = FLOWERS.replace("impute = \"median\"\n", "");
    let e = train_fails(
        &dir,
        &strict,
        "x",
        &["flowers.csv:", "is missing a value", "impute"],
    );
    assert!(e.contains("column \""), "{e}");
    for (how, want) in [
        ("mean", "mean"),
        ("median", "median"),
        ("most_frequent", "most_frequent"),
    ] {
        let (stdout, _) = train(
            &dir,
            &strict.replace("[data]\n", &format!("[data]\nimpute = \"{how}\"\n")),
            how,
        );
        assert!(
            stdout.contains(&format!(
                "missing values take ({want}, from the training split)"
            )),
            "{stdout}"
        );
    }
    // The stored fill of a numeric column is the training split's statistic: here every row
    // trains, so it is the column's mean over the file's present cells.
    train(
        &dir,
        &strict.replace("[data]\n", "[data]\nimpute = \"mean\"\n"),
        "all",
    );
    let columns: serde_json::Value =
        serde_json::from_str(&metadata(&dir.path("all/model.safetensors"))["columns"]).unwrap();
    let text = std::fs::read_to_string(dir.path("flowers.csv")).unwrap();
    let present: Vec<f64> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1).and_then(|v| v.parse().ok()))
        .collect();
    let mean = present.iter().sum::<f64>() / present.len() as f64;
    assert_eq!(columns[0]["name"], "sepal length (cm)");
    assert!(
        (columns[0]["fill"].as_f64().unwrap() - mean).abs() < 1e-4,
        "{columns} vs {mean}"
    );
}

#[test]
fn an_id_column_gets_one_warning_naming_it() {
    let dir = folder("id");
    let (_, err) = train(
        &dir,
        &FLOWERS.replace("drop = [\"plant id\"]\n", ""),
        "with",
    );
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("\"plant id\" looks like a row ID"),
        "{err}"
    );
    let (_, err) = train(&dir, FLOWERS, "without");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn auto_layers_are_resolved_and_the_run_folder_config_reruns() {
    let dir = folder("auto");
    let (stdout, _) = train(&dir, FLOWERS, "run");
    assert!(stdout.contains("layers: [7, 16, 3]"), "{stdout}");
    let saved = std::fs::read_to_string(dir.path("run/config.toml")).unwrap();
    assert!(saved.contains("layers = [7, 16, 3]"), "{saved}");
    ok(
        &dir,
        &[
            "train",
            "--config",
            "run/config.toml",
            "--out",
            "again",
            "--quiet",
        ],
    );
    assert_eq!(
        tensors(&dir.path("again/model.safetensors")),
        tensors(&dir.path("run/model.safetensors"))
    );
    // predict with the "auto" config takes the sizes from the weights.
    let out = predict(
        &dir,
        "run/model.safetensors",
        "flowers_new.csv",
        "p.csv",
        &["--classes"],
    );
    assert_eq!(out.lines().count(), 31);
}

#[test]
fn eval_takes_a_npy_pair() {
    let dir = TempDir::new("eval-npy");
    dir.write(
        "c.toml",
        "[model]\nlayers = [\"auto\", 16, \"auto\"]\n[data]\ntrain = \"iris\"\n[train]\nepochs = 30\n",
    );
    ok(
        &dir,
        &["train", "--config", "c.toml", "--out", "run", "--quiet"],
    );
    let iris = backprop::data::iris();
    backprop::data::write_npy(dir.path("x.npy"), &iris.x).unwrap();
    backprop::data::write_npy(dir.path("y.npy"), &iris.y).unwrap();
    let npy = ok(&dir, &eval_args("x.npy", &["--labels", "y.npy"]));
    let builtin = ok(&dir, &eval_args("iris", &[]));
    assert!(npy.contains("accuracy"), "{npy}");
    // The same rows give the same figures, whatever the file.
    assert_eq!(npy.replacen("x.npy", "iris", 1), builtin);
    fails(&dir, &eval_args("x.npy", &[]), &["--labels"]);
    // A headerless CSV of the same rows: an error that names the key, then the same figures.
    let rows: String = (0..iris.len())
        .map(|r| {
            let x = &iris.x.data()[r * 4..r * 4 + 4];
            format!("{},{},{},{},{}\n", x[0], x[1], x[2], x[3], iris.y.data()[r])
        })
        .collect();
    dir.write("rows.csv", &rows);
    fails(
        &dir,
        &eval_args("rows.csv", &[]),
        &[
            "rows.csv:1",
            "the first row is all numbers",
            "header = false",
        ],
    );
    let cfg = std::fs::read_to_string(dir.path("c.toml")).unwrap();
    dir.write(
        "c.toml",
        &cfg.replace("[data]\n", "[data]\nheader = false\n"),
    );
    let csv = ok(&dir, &eval_args("rows.csv", &[]));
    assert_eq!(csv.replacen("rows.csv", "iris", 1), builtin);
}

/// PyTorch, given only the model file (its weights and metadata) and the README's description
/// of the metadata, encodes the same messy rows and predicts the same probabilities
/// (`scripts/tabular_fixture.py` wrote the fixture).
#[test]
fn pytorch_applies_the_stored_transformation_and_agrees() {
    let dir = folder("torch");
    let fixtures = common::library::fixtures();
    let io: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("tabular_io.json")).unwrap())
            .unwrap();
    let config = fixtures.join("tabular.toml");
    let model = fixtures.join("tabular_model.safetensors");
    ok(
        &dir,
        &[
            "predict",
            "--config",
            config.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--input",
            "flowers_new.csv",
            "--output",
            "p.csv",
            "--proba",
        ],
    );
    let ours = cells(&std::fs::read_to_string(dir.path("p.csv")).unwrap());
    let classes: Vec<&str> = io["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(ours[0], classes);
    let theirs = io["proba"].as_array().unwrap();
    assert_eq!(ours.len() - 1, theirs.len());
    for (r, row) in theirs.iter().enumerate() {
        for (c, p) in row.as_array().unwrap().iter().enumerate() {
            let (a, b) = (ours[r + 1][c].parse::<f64>().unwrap(), p.as_f64().unwrap());
            assert!(
                (a - b).abs() < 1e-5,
                "row {r} class {c}: {a} vs PyTorch {b}"
            );
        }
    }
    // Row 3's site ("west") was never seen: all zeros on the PyTorch side too.
    let features = io["features"].as_array().unwrap();
    assert_eq!(features[3].as_array().unwrap()[2..5], [0.0, 0.0, 0.0]);
}

#[test]
fn features_pick_and_order_the_columns() {
    let dir = folder("features");
    let cfg = FLOWERS.replace(
        "drop = [\"plant id\"]",
        "features = [\"petal width (cm)\", \"site\", \"petal length (cm)\"]",
    );
    train(&dir, &cfg, "run");
    let meta = metadata(&dir.path("run/model.safetensors"));
    let names: Vec<String> = serde_json::from_str(&meta["feature_names"]).unwrap();
    assert_eq!(
        names,
        [
            "petal width (cm)",
            "site=east, upper",
            "site=north",
            "site=south",
            "petal length (cm)"
        ]
    );
    // A file holding only those columns, in yet another order, is enough to predict.
    dir.write(
        "three.csv",
        "petal length (cm),site,petal width (cm)\n1.4,north,0.2\n5.5,\"east, upper\",2.1\n",
    );
    let out = predict(
        &dir,
        "run/model.safetensors",
        "three.csv",
        "p.csv",
        &["--classes"],
    );
    assert_eq!(out, "species\nsetosa\nvirginica\n");
    // A listed column the file lacks, and the target listed as a feature.
    train_fails(
        &dir,
        &cfg.replace("\"site\"", "\"sites\""),
        "x",
        &["flowers.csv", "no column named \"sites\"", "site"],
    );
    train_fails(
        &dir,
        &cfg.replace("\"site\"", "\"species\""),
        "x",
        &["[data] features: lists the target column \"species\""],
    );
}

#[test]
fn eval_names_a_label_the_model_does_not_know() {
    let dir = folder("eval-label");
    train(&dir, FLOWERS, "run");
    let text = std::fs::read_to_string(dir.path("flowers_new.csv")).unwrap();
    dir.write("odd.csv", &text.replacen(",setosa,", ",rosa,", 1));
    fails(
        &dir,
        &eval_args("odd.csv", &[]),
        &[
            "odd.csv:",
            "label \"rosa\" is not one of the model's classes (setosa, versicolor, virginica)",
        ],
    );
}
