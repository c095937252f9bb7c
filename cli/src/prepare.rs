//! Data for a run: load the configured sources, split off test/validation sets, check the data
//! against the model and the loss, and standardise with the training split's statistics.

use crate::config::{suggestion, Config, Holdout, Loss, Source};
use anyhow::{bail, Context, Result};
use backprop::data::{self, Dataset, Standardizer};
use backprop::rng::Generator;
use backprop::Array;
use std::collections::BTreeMap;
use std::path::Path;

/// The datasets of a run, ready to train on.
pub struct Prepared {
    pub train: Dataset,
    pub validation: Option<Dataset>,
    pub test: Option<Dataset>,
    pub standardizer: Option<Standardizer>,
    /// Number of classes for a classifier: the model's output count for cross-entropy, 2 for
    /// a binary classifier (`bce_with_logits` on one output).
    pub n_classes: Option<usize>,
}

/// A short name for the training data (`digits`, `train.csv`), for run-folder names.
pub fn source_name(src: &Source) -> String {
    match src {
        Source::Builtin(n) => n.clone(),
        Source::Csv(p) | Source::Pair { x: p, .. } => p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data".into()),
    }
}

/// Reads one source. CSV targets come from `target` (default: the last column); pairs are `.npy`
/// or MNIST IDX files (plain or gzipped), chosen by extension.
pub fn load_source(src: &Source, target: Option<&str>) -> Result<Dataset> {
    Ok(match src {
        Source::Builtin(name) => {
            data::by_name(name).with_context(|| format!("unknown built-in dataset \"{name}\""))?
        }
        Source::Csv(path) => {
            if !path.exists() {
                // "irs" is more likely a misspelt built-in than a file without an extension.
                let builtin = match path.file_name().and_then(|n| n.to_str()) {
                    Some(name) if !name.contains('.') => suggestion(name, &data::BUILTIN_NAMES),
                    _ => String::new(),
                };
                bail!("{}: data file not found{builtin}", path.display());
            }
            data::read_csv(path, target)?
        }
        Source::Pair { x, y } => {
            for p in [x, y] {
                if !p.exists() {
                    bail!("{}: data file not found", p.display());
                }
            }
            if is_npy(x) {
                data::read_npy_pair(x, y)?
            } else {
                data::read_idx_pair(x, y)?
            }
        }
    })
}

fn is_npy(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Where a source's rows come from, for error messages: `iris`, `train.csv`.
fn describe(src: &Source) -> String {
    match src {
        Source::Builtin(n) => n.clone(),
        Source::Csv(p) => p.display().to_string(),
        Source::Pair { y, .. } => y.display().to_string(),
    }
}

/// Checks a dataset against the model's input width and the loss's target rules, and shapes
/// regression targets as the model's outputs (`[n]` becomes `[n, 1]`).
pub fn check(ds: Dataset, what: &str, config: &Config) -> Result<Dataset> {
    let inputs = config.model.layers[0];
    let outputs = *config.model.layers.last().expect("at least two layers");
    if ds.is_empty() {
        bail!("{what}: no rows");
    }
    if ds.n_features() != inputs {
        bail!(
            "{what}: has {} feature columns but [model] layers starts with {inputs} inputs",
            ds.n_features()
        );
    }
    let loss = config.train.loss;
    let header_offset = if matches!(what_kind(what), Kind::Csv) {
        2
    } else {
        0
    };
    if let Some(k) = config.n_classes() {
        // A binary classifier's labels as one column ([n, 1] from a .npy pair) are class indices.
        let ds = match ds.y.shape() {
            [n, 1] if config.is_binary() => {
                let n = *n;
                let y = ds.y.clone().into_shape(&[n]);
                Dataset { y, ..ds }
            }
            _ => ds,
        };
        if ds.y.ndim() != 1 {
            bail!(
                "{what}: {} needs one target column of class indices, got {} columns",
                if config.is_binary() {
                    "bce_with_logits with one output"
                } else {
                    "cross_entropy"
                },
                ds.y.shape()[1]
            );
        }
        for (i, &v) in ds.y.data().iter().enumerate() {
            if v.fract() != 0.0 || v < 0.0 || v >= k as f32 {
                let row = if header_offset > 0 {
                    format!("line {}", i + header_offset)
                } else {
                    format!("row {i}")
                };
                if config.is_binary() {
                    bail!("{what}: {row}: label {v} is not 0 or 1 (bce_with_logits on one output is a binary classifier)");
                }
                bail!(
                    "{what}: {row}: label {v} is not a class index in 0..{} (the model has {outputs} outputs)",
                    outputs - 1
                );
            }
        }
        return Ok(ds);
    }
    let k = if ds.y.ndim() == 1 { 1 } else { ds.y.shape()[1] };
    if k != outputs {
        bail!("{what}: has {k} target column(s) but [model] layers ends with {outputs} outputs (loss {loss:?} compares them one to one)");
    }
    if loss == Loss::BceWithLogits {
        if let Some(i) = ds.y.data().iter().position(|&v| !(0.0..=1.0).contains(&v)) {
            bail!(
                "{what}: target {} at row {} is outside [0, 1], as bce_with_logits needs",
                ds.y.data()[i],
                i / k
            );
        }
    }
    let n = ds.len();
    let y = ds.y.clone().into_shape(&[n, k]);
    Ok(Dataset { y, ..ds })
}

enum Kind {
    Csv,
    Other,
}

fn what_kind(what: &str) -> Kind {
    if what.to_ascii_lowercase().ends_with(".csv") {
        Kind::Csv
    } else {
        Kind::Other
    }
}

/// Loads, checks, splits and standardises the data of `config`.
pub fn prepare(config: &Config) -> Result<Prepared> {
    let d = &config.data;
    let classify = config.n_classes().is_some();
    let train = check(
        load_source(&d.train, d.target.as_deref())?,
        &describe(&d.train),
        config,
    )?;
    // Splits have their own stream, so changing them never changes the model's initial weights.
    let mut split_rng = Generator::new(config.seed ^ 0x5eed_5b17);
    let split =
        |ds: &Dataset, h: &Holdout, rng: &mut Generator| -> Result<(Dataset, Option<Dataset>)> {
            Ok(match h {
                Holdout::Fraction(f) => {
                    let (a, b) = if classify {
                        data::stratified_split(ds, *f, rng)?
                    } else {
                        data::random_split(ds, *f, rng)?
                    };
                    (a, Some(b))
                }
                Holdout::Source(src) => {
                    let held = check(
                        load_source(src, d.target.as_deref())?,
                        &describe(src),
                        config,
                    )?;
                    (ds.clone(), Some(held))
                }
            })
        };
    let (train, test) = match &d.test {
        Some(h) => split(&train, h, &mut split_rng)?,
        None => (train, None),
    };
    let (train, validation) = match &d.validation {
        Some(h) => split(&train, h, &mut split_rng)?,
        None => (train, None),
    };
    if train.is_empty() {
        bail!("[data]: no training rows left after splitting off test/validation data");
    }
    let (train, validation, test, standardizer) = if d.standardize {
        let st = Standardizer::fit(&train.x);
        let apply = |ds: Dataset| {
            let x = st.transform(&ds.x);
            ds.with_x(x)
        };
        (
            apply(train),
            validation.map(apply),
            test.map(apply),
            Some(st),
        )
    } else {
        (train, validation, test, None)
    };
    let n_classes = config.n_classes();
    Ok(Prepared {
        train,
        validation,
        test,
        standardizer,
        n_classes,
    })
}

/// Metadata stored with a model so `predict` and `eval` apply what `train` used.
pub fn model_metadata(p: &Prepared) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("format".into(), "backprop-mlp".into());
    if let Some(st) = &p.standardizer {
        let (mean, std) = st.to_strings();
        m.insert("standardize_mean".into(), mean);
        m.insert("standardize_std".into(), std);
    }
    if let Some(k) = p.n_classes {
        m.insert(
            "classes".into(),
            (0..k).map(|c| c.to_string()).collect::<Vec<_>>().join(","),
        );
    }
    m.insert("feature_names".into(), p.train.feature_names.join(","));
    m.insert("target".into(), p.train.target_name.clone());
    m
}

/// The standardiser stored in a model's metadata, if any.
pub fn standardizer_from(
    meta: &BTreeMap<String, String>,
    path: &Path,
) -> Result<Option<Standardizer>> {
    match (meta.get("standardize_mean"), meta.get("standardize_std")) {
        (Some(m), Some(s)) => Ok(Some(
            Standardizer::from_strings(m, s)
                .with_context(|| format!("{}: standardisation metadata", path.display()))?,
        )),
        _ => Ok(None),
    }
}

/// Applies a stored standardiser to inputs, checking the width.
pub fn standardize(st: Option<&Standardizer>, x: Array, what: &str) -> Result<Array> {
    match st {
        Some(st) if st.n_features() != x.shape()[1] => {
            bail!(
                "{what}: has {} feature columns, the model was trained on {}",
                x.shape()[1],
                st.n_features()
            )
        }
        Some(st) => Ok(st.transform(&x)),
        None => Ok(x),
    }
}
