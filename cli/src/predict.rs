//! `backprop predict` and `backprop eval`: a trained model applied to new data, in eval mode
//! (BatchNorm running statistics, no dropout), with what `train` stored beside the weights: the
//! feature columns by name and their encoding, the class names and the standardisation.

use crate::architecture;
use crate::cli::{EvalArgs, PredictArgs};
use crate::columns::{parse_json_list, targets, Encoder};
use crate::config::{Config, Loss, Source};
use crate::console::outln;
use crate::device;
use crate::output::{check_parent, create_parent, Created};
use crate::prepare::{
    check, check_targets, load_source, load_table, standardize, standardizer_from,
};
use crate::train::{build_model, evaluate_at, loss_fn, metrics_summary};
use anyhow::{bail, Context, Result};
use backprop::data::{self, Column, Dataset};
use backprop::io::safetensors;
use backprop::nn::{Mlp, Module, StateDict};
use backprop::train::{argmax, predict, PREDICT_CHUNK};
use backprop::Array;
use std::collections::BTreeMap;
use std::path::Path;

/// A trained model and what `train` stored with it.
struct Trained {
    model: Mlp,
    standardizer: Option<data::Standardizer>,
    /// The feature columns by name (models trained on a CSV).
    encoder: Option<Encoder>,
    /// Class names in index order.
    classes: Option<Vec<String>>,
    /// The target column's name.
    target: Option<String>,
    /// A binary classifier's decision threshold on the probability.
    threshold: Option<f64>,
    /// The loss's class weights, as resolved for training.
    class_weight: Option<Vec<f32>>,
}

/// The input and output sizes of the weights in `state` (its first and last Linear layers).
fn sizes_of(state: &StateDict, path: &Path) -> Result<(usize, usize)> {
    let mut linear: Vec<(usize, Vec<usize>)> = state
        .iter()
        .filter_map(|(name, t)| {
            let i = name
                .strip_prefix("layers.")?
                .strip_suffix(".weight")?
                .parse()
                .ok()?;
            let shape = t.shape.clone();
            (shape.len() == 2).then_some((i, shape))
        })
        .collect();
    linear.sort();
    match (linear.first(), linear.last()) {
        (Some((_, first)), Some((_, last))) => Ok((first[1], last[0])),
        _ => bail!(
            "{}: no layers.N.weight matrices to take the \"auto\" layer sizes from",
            path.display()
        ),
    }
}

/// The config's model with the trained weights (`"auto"` sizes taken from them), and its
/// metadata.
fn load_model(config: &mut Config, path: &Path) -> Result<Trained> {
    let (state, meta) = safetensors::load(path)?;
    if config.model.has_auto() {
        let (inputs, outputs) = sizes_of(&state, path)?;
        config.model.resolve(inputs, outputs)?;
    }
    // Before the model is built: a config far bigger than the weights allocates nothing.
    architecture::check(&config.model, &state, &meta, path)?;
    let model = build_model(config);
    model
        .load_state_dict(&state)
        .with_context(|| format!("--model {}", path.display()))?;
    let encoder = meta
        .get("columns")
        .map(|c| Encoder::from_json(c))
        .transpose()
        .with_context(|| format!("{}", path.display()))?;
    Ok(Trained {
        model,
        standardizer: standardizer_from(&meta, path)?,
        encoder,
        classes: classes_from(&meta, path)?,
        target: meta.get("target").cloned(),
        threshold: threshold_from(&meta, config, path)?,
        class_weight: class_weight_from(&meta, path)?,
    })
}

/// The decision threshold of a binary classifier: the model's (a model trained before it was
/// stored has the config's).
fn threshold_from(
    meta: &BTreeMap<String, String>,
    config: &Config,
    path: &Path,
) -> Result<Option<f64>> {
    if !config.is_binary() {
        return Ok(None);
    }
    match meta.get("decision_threshold") {
        None => Ok(Some(config.threshold())),
        Some(t) => match t.parse::<f64>() {
            Ok(t) if t > 0.0 && t < 1.0 => Ok(Some(t)),
            _ => bail!(
                "{}: decision_threshold metadata \"{t}\" is not a probability",
                path.display()
            ),
        },
    }
}

/// The class weights stored with a model, if it was trained with some.
fn class_weight_from(meta: &BTreeMap<String, String>, path: &Path) -> Result<Option<Vec<f32>>> {
    let Some(text) = meta.get("class_weight") else {
        return Ok(None);
    };
    text.split(',')
        .map(|v| v.parse::<f32>().ok().filter(|w| w.is_finite() && *w > 0.0))
        .collect::<Option<Vec<f32>>>()
        .map(Some)
        .with_context(|| {
            format!(
                "{}: class_weight metadata \"{text}\" is not a list of weights",
                path.display()
            )
        })
}

/// The metadata's class names (a JSON list; files from before it was one hold "0,1,2").
fn classes_from(meta: &BTreeMap<String, String>, path: &Path) -> Result<Option<Vec<String>>> {
    match meta.get("classes") {
        None => Ok(None),
        Some(c) if c.trim_start().starts_with('[') => parse_json_list(c, "classes")
            .with_context(|| format!("{}", path.display()))
            .map(Some),
        Some(c) => Ok(Some(c.split(',').map(String::from).collect())),
    }
}

/// Prints the one warning line for cells whose category training did not see.
fn warn_unseen(k: usize, what: &str) {
    if k > 0 {
        eprintln!(
            "warning: {what}: {k} categorical cell(s) held a category the model was not trained on; they are encoded as all zeros (unknown_categories = \"error\" to stop instead)"
        );
    }
}

/// A CSV of inputs as features: the model's columns by name (any order, others ignored) when it
/// was trained on a CSV, else every column by position.
fn csv_features(config: &Config, trained: &Trained, path: &Path) -> Result<Array> {
    let what = path.display().to_string();
    match &trained.encoder {
        Some(enc) => {
            let t = load_table(path, &config.data, &enc.categorical())?;
            let (x, k) = enc.transform(&t, None, config.data.unknown_categories)?;
            warn_unseen(k, &what);
            Ok(x)
        }
        None => {
            let t = load_table(path, &config.data, &[])?;
            let n = t.n_rows();
            let mut x = vec![0f32; n * t.names.len()];
            let f = t.names.len();
            for (j, c) in t.columns.iter().enumerate() {
                let Column::Numbers(v) = c else {
                    bail!(
                        "{what}: column \"{}\" holds text, but the model takes numbers only",
                        t.names[j]
                    );
                };
                for (r, &v) in v.iter().enumerate() {
                    if v.is_nan() {
                        bail!(
                            "{what}:{}: column \"{}\" is missing a value",
                            t.lines[r],
                            t.names[j]
                        );
                    }
                    x[r * f + j] = v;
                }
            }
            Ok(Array::new(&[n, f], x))
        }
    }
}

pub fn run_predict(args: &PredictArgs) -> Result<()> {
    let mut config = Config::from_file(&args.config)?;
    check_parent(&args.output, "--output")?;
    let ext = |p: &Path| {
        p.extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let out_kind = ext(&args.output);
    if out_kind != "csv" && out_kind != "npy" {
        bail!(
            "--output {}: must end in .csv or .npy",
            args.output.display()
        );
    }
    if out_kind == "npy" && args.proba && (args.classes || args.class_index) {
        bail!(
            "--output {}: a .npy file holds one array; choose --proba or --classes",
            args.output.display()
        );
    }
    let mut trained = load_model(&mut config, &args.model)?;
    let loss = config.train.loss;
    if args.proba && !(loss.is_classification() || loss == Loss::BceWithLogits) {
        bail!("--proba: the model is a regressor (loss \"{}\"); probabilities need cross_entropy or bce_with_logits", crate::config::loss_name(loss));
    }
    if !args.input.exists() {
        bail!("{}: input file not found", args.input.display());
    }
    let x = match ext(&args.input).as_str() {
        "npy" => {
            let a = data::read_npy(&args.input)?;
            match a.ndim() {
                2 => a,
                1 => {
                    let n = a.len();
                    a.into_shape(&[n, 1])
                }
                _ => bail!(
                    "{}: expected a 2-D array, got shape {:?}",
                    args.input.display(),
                    a.shape()
                ),
            }
        }
        "csv" => csv_features(&config, &trained, &args.input)?,
        _ => bail!("--input {}: must end in .csv or .npy", args.input.display()),
    };
    let inputs = config.model.layers[0];
    if x.shape()[1] != inputs {
        bail!(
            "{}: has {} feature columns but the model takes {inputs}",
            args.input.display(),
            x.shape()[1]
        );
    }
    let x = standardize(
        trained.standardizer.as_ref(),
        x,
        &args.input.display().to_string(),
    )?;
    let model = &mut trained.model;
    let flops = device::forward_flops(model, x.shape()[0].min(PREDICT_CHUNK));
    device::place(model, args.device.as_deref(), &config, flops)?;
    let out = predict(model, &x, PREDICT_CHUNK);
    let (n, width) = (out.shape()[0], out.shape()[1]);
    let rows: Vec<&[f32]> = out.data().chunks(width.max(1)).collect();
    let threshold = trained.threshold;
    let class_of = |r: &[f32]| match threshold {
        // A binary classifier: class 1 when sigmoid(logit) is above the threshold.
        Some(t) if width == 1 => usize::from(1.0 / (1.0 + (-(r[0] as f64)).exp()) > t),
        _ if width == 1 => usize::from(r[0] > 0.0),
        _ => argmax(r),
    };
    // Probabilities: softmax over the outputs, or [1 - p, p] for one bce_with_logits output.
    let proba = |r: &[f32]| -> Vec<f32> {
        if width == 1 {
            let p = 1.0 / (1.0 + (-r[0] as f64).exp());
            vec![(1.0 - p) as f32, p as f32]
        } else {
            let m = r.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
            let e: Vec<f64> = r.iter().map(|&v| (v as f64 - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|v| (v / s) as f32).collect()
        }
    };
    let n_proba = if width == 1 { 2 } else { width };
    let names: Vec<String> = match &trained.classes {
        Some(c) if c.len() == n_proba => c.clone(),
        _ => (0..n_proba).map(|i| i.to_string()).collect(),
    };
    let target = trained.target.clone().unwrap_or_else(|| "class".into());
    let mut created = Created::default();
    create_parent(&args.output, &mut created)?;
    crate::lock::remove_stale_temps_beside(&args.output);
    let existed = args.output.exists();
    let want_class = args.classes || args.class_index;
    if out_kind == "npy" {
        let a = if want_class {
            Array::new(&[n], rows.iter().map(|r| class_of(r) as f32).collect())
        } else if args.proba {
            Array::new(&[n, n_proba], rows.iter().flat_map(|r| proba(r)).collect())
        } else {
            out.clone()
        };
        data::write_npy(&args.output, &a)?;
    } else if want_class || args.proba {
        let mut header = Vec::new();
        if want_class {
            header.push(target.clone());
        }
        if args.proba {
            header.extend(names.iter().cloned());
        }
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut line = Vec::new();
                if want_class {
                    let c = class_of(r);
                    line.push(if args.class_index {
                        c.to_string()
                    } else {
                        names.get(c).cloned().unwrap_or_else(|| c.to_string())
                    });
                }
                if args.proba {
                    line.extend(proba(r).iter().map(|p| p.to_string()));
                }
                line
            })
            .collect();
        data::write_csv_cells(&args.output, &header, &cells)?;
    } else {
        let header: Vec<String> =
            if width == 1 && !loss.is_classification() && loss != Loss::BceWithLogits {
                vec![target]
            } else {
                (0..width).map(|i| format!("output_{i}")).collect()
            };
        data::write_csv(&args.output, &header, &out)?;
    }
    if !existed {
        created.add(&args.output);
    }
    created.keep_all();
    Ok(())
}

/// The dataset `eval` reads: a built-in, a CSV (the model's columns by name when it was trained
/// on one), or a features/targets pair (`--labels`).
fn eval_data(args: &EvalArgs, config: &Config, trained: &Trained) -> Result<Dataset> {
    let is = |p: &str, e: &str| p.to_ascii_lowercase().ends_with(e);
    if let Some(labels) = &args.labels {
        let src = Source::Pair {
            x: args.data.clone().into(),
            y: labels.clone(),
        };
        return check(
            load_source(&src, &config.data)?,
            &labels.display().to_string(),
            config,
        );
    }
    if is(&args.data, ".npy")
        || is(&args.data, "-ubyte")
        || is(&args.data, ".gz")
        || is(&args.data, "idx3-ubyte")
    {
        bail!("--data {}: a features file needs its targets too: --labels Y.npy (or an IDX labels file)", args.data);
    }
    if let ("xor" | "digits" | "iris", _) | (_, None) = (args.data.as_str(), &trained.encoder) {
        let source = match args.data.as_str() {
            "xor" | "digits" | "iris" => Source::Builtin(args.data.clone()),
            p => Source::Csv(p.into()),
        };
        return check(load_source(&source, &config.data)?, &args.data, config);
    }
    let enc = trained.encoder.as_ref().expect("checked above");
    let t = load_table(Path::new(&args.data), &config.data, &enc.categorical())?;
    let target = match (&trained.target, &config.data.target) {
        (Some(t), _) | (None, Some(t)) => t.clone(),
        (None, None) => t.names.last().cloned().unwrap_or_default(),
    };
    let tc = t.find(&target)?;
    let text_classes = trained
        .classes
        .as_deref()
        .filter(|_| matches!(t.columns[tc], Column::Text(_)));
    let y = targets(&t, tc, text_classes, config.train.loss)?;
    let y = check_targets(y, &args.data, config, Some(&t.lines))?;
    let (x, k) = enc.transform(&t, None, config.data.unknown_categories)?;
    warn_unseen(k, &args.data);
    Ok(Dataset::new(x, y, enc.feature_names(), target))
}

pub fn run_eval(args: &EvalArgs) -> Result<()> {
    let mut config = Config::from_file(&args.config)?;
    let mut trained = load_model(&mut config, &args.model)?;
    let ds = eval_data(args, &config, &trained)?;
    let x = standardize(trained.standardizer.as_ref(), ds.x.clone(), &args.data)?;
    let model = &mut trained.model;
    let flops = device::forward_flops(model, x.shape()[0].min(PREDICT_CHUNK));
    device::place(model, args.device.as_deref(), &config, flops)?;
    let loss = loss_fn(config.train.loss, trained.class_weight.as_deref());
    let e = evaluate_at(
        model,
        &loss,
        &x,
        &ds.y,
        config.n_classes(),
        trained.threshold,
    );
    outln!("{}", metrics_summary(&args.data, &e, ds.len()));
    if let Some(cm) = &e.confusion {
        let name = |c: usize| {
            trained
                .classes
                .as_ref()
                .and_then(|n| n.get(c).cloned())
                .unwrap_or_else(|| c.to_string())
        };
        let w = (0..cm.n_classes())
            .map(|c| name(c).chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        outln!("{:>w$}  precision   recall  support", "class");
        for c in 0..cm.n_classes() {
            let support: usize = cm.counts[c].iter().sum();
            outln!(
                "{:>w$}  {:>8.2}%  {:>6.2}%  {support:>7}",
                name(c),
                100.0 * cm.precision(c),
                100.0 * cm.recall(c)
            );
        }
        outln!("confusion matrix:\n{cm}");
    }
    Ok(())
}
