//! `backprop predict` and `backprop eval`: a trained model applied to new data, in eval mode
//! (BatchNorm running statistics, no dropout), with the standardisation `train` stored beside
//! the weights.

use crate::architecture;
use crate::cli::{EvalArgs, PredictArgs};
use crate::config::{Config, Source};
use crate::console::outln;
use crate::device;
use crate::output::{check_parent, create_parent, Created};
use crate::prepare::{check, load_source, standardize, standardizer_from};
use crate::train::{build_model, evaluate_at, loss_fn, metrics_summary};
use anyhow::{bail, Context, Result};
use backprop::data;
use backprop::io::safetensors;
use backprop::nn::{Mlp, Module};
use backprop::train::{argmax, predict, PREDICT_CHUNK};
use backprop::Array;
use std::collections::BTreeMap;
use std::path::Path;

/// A trained model: the config's model with the weights, and what `train` stored beside them.
struct Trained {
    model: Mlp,
    standardizer: Option<data::Standardizer>,
    /// A binary classifier's decision threshold on the probability.
    threshold: Option<f64>,
    /// The loss's class weights, as resolved for training.
    class_weight: Option<Vec<f32>>,
}

/// The config's model with the trained weights, and its stored metadata.
fn load_model(config: &Config, path: &Path) -> Result<Trained> {
    let (state, meta) = safetensors::load(path)?;
    // Before the model is built: a config far bigger than the weights allocates nothing.
    architecture::check(&config.model, &state, &meta, path)?;
    let model = build_model(config);
    model
        .load_state_dict(&state)
        .with_context(|| format!("--model {}", path.display()))?;
    Ok(Trained {
        model,
        standardizer: standardizer_from(&meta, path)?,
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

pub fn run_predict(args: &PredictArgs) -> Result<()> {
    let config = Config::from_file(&args.config)?;
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
    let Trained {
        mut model,
        standardizer: st,
        threshold,
        ..
    } = load_model(&config, &args.model)?;
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
        "csv" => data::read_csv_features(&args.input)?.0,
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
    let x = standardize(st.as_ref(), x, &args.input.display().to_string())?;
    let flops = device::forward_flops(&model, x.shape()[0].min(PREDICT_CHUNK));
    device::place(&mut model, args.device.as_deref(), &config, flops)?;
    let out = predict(&mut model, &x, PREDICT_CHUNK);
    let (rows, header): (Array, Vec<String>) = if args.classes {
        let width = out.shape()[1];
        let classes: Vec<f32> = out
            .data()
            .chunks(width.max(1))
            .map(|r| match threshold {
                // A binary classifier: class 1 when sigmoid(logit) is above the threshold.
                Some(t) if width == 1 => f32::from(1.0 / (1.0 + (-(r[0] as f64)).exp()) > t),
                _ if width == 1 => f32::from(r[0] > 0.0),
                _ => argmax(r) as f32,
            })
            .collect();
        let n = classes.len();
        (Array::new(&[n], classes), vec!["class".to_string()])
    } else {
        let header = (0..out.shape()[1]).map(|i| format!("output_{i}")).collect();
        (out, header)
    };
    let mut created = Created::default();
    create_parent(&args.output, &mut created)?;
    crate::lock::remove_stale_temps_beside(&args.output);
    let existed = args.output.exists();
    if out_kind == "npy" {
        data::write_npy(&args.output, &rows)?;
    } else {
        data::write_csv(&args.output, &header, &rows)?;
    }
    if !existed {
        created.add(&args.output);
    }
    created.keep_all();
    Ok(())
}

pub fn run_eval(args: &EvalArgs) -> Result<()> {
    let config = Config::from_file(&args.config)?;
    let Trained {
        mut model,
        standardizer: st,
        threshold,
        class_weight,
    } = load_model(&config, &args.model)?;
    let source = match args.data.as_str() {
        "xor" | "digits" | "iris" => Source::Builtin(args.data.clone()),
        p => Source::Csv(p.into()),
    };
    let ds = check(
        load_source(&source, config.data.target.as_deref())?,
        &args.data,
        &config,
    )?;
    let x = standardize(st.as_ref(), ds.x.clone(), &args.data)?;
    let flops = device::forward_flops(&model, x.shape()[0].min(PREDICT_CHUNK));
    device::place(&mut model, args.device.as_deref(), &config, flops)?;
    let loss = loss_fn(config.train.loss, class_weight.as_deref());
    let e = evaluate_at(&mut model, &loss, &x, &ds.y, config.n_classes(), threshold);
    outln!("{}", metrics_summary(&args.data, &e, ds.len()));
    if let Some(cm) = &e.confusion {
        outln!("class  precision   recall  support");
        for c in 0..cm.n_classes() {
            let support: usize = cm.counts[c].iter().sum();
            outln!(
                "{c:>5}  {:>8.2}%  {:>6.2}%  {support:>7}",
                100.0 * cm.precision(c),
                100.0 * cm.recall(c)
            );
        }
        outln!("confusion matrix:\n{cm}");
    }
    Ok(())
}
