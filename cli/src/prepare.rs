//! Data for a run: load the configured sources, split off test/validation sets, encode a CSV's
//! columns (learned on the training split, `columns`), set `"auto"` layer sizes, check the data
//! against the model and the loss, and standardise with the training split's statistics.

use crate::columns::{
    class_names, id_like, json_list, select, table_options, targets, Encoder, InputColumn,
};
use crate::config::{suggestion, Config, DataConfig, Holdout, Impute, Loss, Source, AUTO, IMPUTES};
use anyhow::{bail, Context, Result};
use backprop::data::{self, Dataset, Standardizer, Table};
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
    /// A CSV's feature columns and their encoding.
    pub encoder: Option<Encoder>,
    /// Class names, index order: a text label column's (sorted), else `"0"`, `"1"`, ...
    pub classes: Option<Vec<String>>,
    /// The cells read as missing.
    pub na_values: Vec<String>,
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

/// Reads one source as numbers by position. A CSV is read with `[data]`'s options (header,
/// delimiter, decimal, na_values), its target from `target` (default: the last column) and every
/// other column a feature that must hold numbers without gaps; pairs are `.npy` or MNIST IDX
/// files (plain or gzipped), chosen by extension.
pub fn load_source(src: &Source, d: &DataConfig) -> Result<Dataset> {
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
            numeric_dataset(&data::read_table(path, &table_options(d, &[]))?, d)?
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

/// A table of numbers as a dataset: the target column and every other column, by position.
fn numeric_dataset(t: &Table, d: &DataConfig) -> Result<Dataset> {
    if t.names.len() < 2 {
        bail!(
            "{}: one column only (split on {}); a feature and a target are needed",
            t.source,
            data::delimiter_name(t.delimiter)
        );
    }
    let target = match &d.target {
        Some(name) => t.find(name)?,
        None => t.names.len() - 1,
    };
    let n = t.n_rows();
    let numbers = |c: usize| -> Result<&Vec<f32>> {
        match &t.columns[c] {
            data::Column::Numbers(v) => match v.iter().position(|x| x.is_nan()) {
                Some(r) => bail!(
                    "{}:{}: column \"{}\" is missing a value (this model takes numbers by position, without gaps)",
                    t.source,
                    t.lines[r],
                    t.names[c]
                ),
                None => Ok(v),
            },
            data::Column::Text(v) => bail!(
                "{}: column \"{}\" holds text (\"{}\"); this model takes numbers by position (train on the CSV itself for text columns)",
                t.source,
                t.names[c],
                v.values().first().map(String::as_str).unwrap_or("")
            ),
        }
    };
    let y = numbers(target)?.clone();
    let features: Vec<usize> = (0..t.names.len()).filter(|&c| c != target).collect();
    let mut x = vec![0f32; n * features.len()];
    for (j, &c) in features.iter().enumerate() {
        for (r, &v) in numbers(c)?.iter().enumerate() {
            x[r * features.len() + j] = v;
        }
    }
    Ok(Dataset::new(
        Array::new(&[n, features.len()], x),
        Array::new(&[n], y),
        features.iter().map(|&c| t.names[c].clone()).collect(),
        t.names[target].clone(),
    ))
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
    if ds.is_empty() {
        bail!("{what}: no rows");
    }
    check_width(ds.n_features(), what, config)?;
    let lines: Option<Vec<usize>> =
        matches!(what_kind(what), Kind::Csv).then(|| (0..ds.len()).map(|i| i + 2).collect());
    let y = check_targets(ds.y.clone(), what, config, lines.as_deref())?;
    Ok(Dataset { y, ..ds })
}

/// Checks a feature count against the model's input size.
fn check_width(n_features: usize, what: &str, config: &Config) -> Result<()> {
    let inputs = config.model.layers[0];
    if n_features != inputs {
        bail!(
            "{what}: has {n_features} feature columns but [model] layers starts with {inputs} inputs"
        );
    }
    Ok(())
}

/// Checks targets against the loss and the model's outputs, and shapes regression targets as
/// the outputs. `lines` gives each row's line in the file, for messages.
pub fn check_targets(
    y: Array,
    what: &str,
    config: &Config,
    lines: Option<&[usize]>,
) -> Result<Array> {
    let outputs = *config.model.layers.last().expect("at least two layers");
    let loss = config.train.loss;
    if let Some(k) = config.n_classes() {
        // A binary classifier's labels as one column ([n, 1] from a .npy pair) are class indices.
        let y = match y.shape() {
            [n, 1] if config.is_binary() => {
                let n = *n;
                y.into_shape(&[n])
            }
            _ => y,
        };
        if y.ndim() != 1 {
            bail!(
                "{what}: {} needs one target column of class indices, got {} columns",
                if config.is_binary() {
                    "bce_with_logits with one output"
                } else {
                    "cross_entropy"
                },
                y.shape()[1]
            );
        }
        for (i, &v) in y.data().iter().enumerate() {
            if v.fract() != 0.0 || v < 0.0 || v >= k as f32 {
                let row = match lines {
                    Some(l) => format!("line {}", l[i]),
                    None => format!("row {i}"),
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
        return Ok(y);
    }
    let k = if y.ndim() == 1 { 1 } else { y.shape()[1] };
    if k != outputs {
        bail!("{what}: has {k} target column(s) but [model] layers ends with {outputs} outputs (loss {loss:?} compares them one to one)");
    }
    if loss == Loss::BceWithLogits {
        if let Some(i) = y.data().iter().position(|&v| !(0.0..=1.0).contains(&v)) {
            bail!(
                "{what}: target {} at row {} is outside [0, 1], as bce_with_logits needs",
                y.data()[i],
                i / k
            );
        }
    }
    let n = y.shape()[0];
    Ok(y.into_shape(&[n, k]))
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

/// The training data before splitting: a CSV read as a table, or a dataset.
enum Rows {
    Table {
        table: Table,
        features: Vec<usize>,
        target: usize,
    },
    Plain(Dataset),
}

/// A held-out set after splitting: rows of the training data, or its own source.
enum Held {
    // Boxed: a dataset is several times the size of a source.
    Rows(Box<Dataset>),
    File(Source),
}

/// Reads a CSV as a table with the config's options (`categorical`: more columns read as text).
pub fn load_table(path: &Path, d: &DataConfig, categorical: &[String]) -> Result<Table> {
    if !path.exists() {
        // "irs" is more likely a misspelt built-in than a file without an extension.
        let builtin = match path.file_name().and_then(|n| n.to_str()) {
            Some(name) if !name.contains('.') => suggestion(name, &data::BUILTIN_NAMES),
            _ => String::new(),
        };
        bail!("{}: data file not found{builtin}", path.display());
    }
    Ok(data::read_table(path, &table_options(d, categorical))?)
}

/// The model's outputs for `"auto"`: the classes, or the target columns.
fn auto_outputs(y: &Array, classes: Option<&[String]>, loss: Loss, what: &str) -> Result<usize> {
    if let Some(c) = classes {
        return Ok(if loss.is_classification() { c.len() } else { 1 });
    }
    if !loss.is_classification() {
        return Ok(if y.ndim() == 1 { 1 } else { y.shape()[1] });
    }
    let mut max = 0.0f32;
    for &v in y.data() {
        if v.fract() != 0.0 || v < 0.0 {
            bail!("{what}: label {v} is not a class index (a whole number >= 0), so [model] layers cannot end with \"auto\"");
        }
        max = max.max(v);
    }
    Ok(max as usize + 1)
}

/// Loads, checks, splits and encodes the data of `config`, and standardises it with the
/// training split's statistics. `"auto"` layer sizes are set from the data. Notes on what was
/// chosen (categorical columns, class names, sizes) print unless `quiet`; warnings always do.
pub fn prepare(config: &mut Config, quiet: bool) -> Result<Prepared> {
    let d = config.data.clone();
    let loss = config.train.loss;
    let classify = loss.is_classification();
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let what_train = describe(&d.train);
    let (rows, y, classes) = match &d.train {
        Source::Csv(path) => {
            let table = load_table(path, &d, &[])?;
            let (features, target) = select(&table, &d)?;
            let mut classes = class_names(&table, target);
            if let Some(c) = &classes {
                if loss == Loss::BceWithLogits && c.len() != 2 {
                    bail!(
                        "{what_train}: the target column \"{}\" holds {} class names; bce_with_logits takes two (use cross_entropy for more)",
                        table.names[target],
                        c.len()
                    );
                }
                if !(classify || loss == Loss::BceWithLogits) {
                    classes = None;
                }
            }
            let y = targets(&table, target, classes.as_deref(), loss)?;
            for &c in &features {
                if id_like(&table, c) {
                    let what = match table.columns[c] {
                        data::Column::Numbers(_) => "a different whole number",
                        data::Column::Text(_) => "a different text",
                    };
                    // Said at once: an error further on (a width) may be its consequence.
                    eprintln!(
                        "warning: column \"{}\" looks like a row ID ({what} in every row) and is used as a feature; leave it out with [data] drop = [\"{}\"] unless it means something",
                        table.names[c], table.names[c]
                    );
                }
            }
            (
                Rows::Table {
                    table,
                    features,
                    target,
                },
                y,
                classes,
            )
        }
        src => {
            let csv_only = [
                ("features", d.features.is_some()),
                ("drop", !d.drop.is_empty()),
                ("categorical", !d.categorical.is_empty()),
            ];
            if let Some((key, _)) = csv_only.iter().find(|(_, set)| *set) {
                bail!("[data] {key}: names CSV columns, and {what_train} is not a CSV file");
            }
            let ds = load_source(src, &d)?;
            let y = ds.y.clone();
            (Rows::Plain(ds), y, None)
        }
    };
    if y.shape()[0] == 0 {
        bail!("{what_train}: no rows");
    }
    let auto = config.model.has_auto();
    let last = config.model.layers.len() - 1;
    if config.model.layers[last] == AUTO {
        config.model.layers[last] = auto_outputs(&y, classes.as_deref(), loss, &what_train)?;
    }
    let lines = match &rows {
        Rows::Table { table, .. } => Some(table.lines.clone()),
        Rows::Plain(_) => matches!(what_kind(&what_train), Kind::Csv)
            .then(|| (0..y.shape()[0]).map(|i| i + 2).collect()),
    };
    let y = check_targets(y, &what_train, config, lines.as_deref())?;
    // The rows' indices, split as the rows would be: a split depends only on the targets.
    let n = y.shape()[0];
    let ids = Dataset::new(
        Array::new(&[n, 1], (0..n).map(|i| i as f32).collect()),
        y,
        vec!["row".into()],
        "y",
    );
    // A binary classifier (bce_with_logits on one output, or on "auto" outputs) is split by class
    // too.
    let last_layer = config.model.layers.last().copied();
    let stratify = classify
        || (loss == Loss::BceWithLogits && matches!(last_layer, Some(1) | Some(AUTO)) && {
            let y = &ids.y;
            y.ndim() == 1 || y.shape()[1] == 1
        });
    // Splits have their own stream, so changing them never changes the model's initial weights.
    let mut split_rng = Generator::new(config.seed ^ 0x5eed_5b17);
    let split = |ds: &Dataset, h: &Holdout, rng: &mut Generator| -> Result<(Dataset, Held)> {
        Ok(match h {
            Holdout::Fraction(f) => {
                let (a, b) = if stratify {
                    data::stratified_split(ds, *f, rng)?
                } else {
                    data::random_split(ds, *f, rng)?
                };
                (a, Held::Rows(Box::new(b)))
            }
            Holdout::Source(src) => (ds.clone(), Held::File(src.clone())),
        })
    };
    let (ids, test) = match &d.test {
        Some(h) => {
            let (a, b) = split(&ids, h, &mut split_rng)?;
            (a, Some(b))
        }
        None => (ids, None),
    };
    let (ids, validation) = match &d.validation {
        Some(h) => {
            let (a, b) = split(&ids, h, &mut split_rng)?;
            (a, Some(b))
        }
        None => (ids, None),
    };
    if ids.is_empty() {
        bail!("[data]: no training rows left after splitting off test/validation data");
    }
    let row_indices =
        |ids: &Dataset| -> Vec<usize> { ids.x.data().iter().map(|&v| v as usize).collect() };
    let encoder = match &rows {
        Rows::Table {
            table, features, ..
        } => Some(Encoder::fit(table, features, &row_indices(&ids), d.impute)?),
        Rows::Plain(_) => None,
    };
    if config.model.layers[0] == AUTO {
        config.model.layers[0] = match (&encoder, &rows) {
            (Some(e), _) => e.width(),
            (None, Rows::Plain(ds)) => ds.n_features(),
            (None, Rows::Table { .. }) => unreachable!("a table has an encoder"),
        };
    }
    if auto {
        let m = &mut config.model;
        let (inputs, outputs) = (m.layers[0], m.layers[last]);
        m.resolve(inputs, outputs)?;
        notes.push(format!(
            "layers: {:?} (\"auto\" sizes from the data)",
            config.model.layers
        ));
    }
    let mut unseen: Vec<(String, usize)> = Vec::new();
    // Rows of the training data, or a held-out file, as a dataset.
    let mut materialize = |part: Held, name: &str| -> Result<Dataset> {
        let ds = match (part, &rows) {
            (Held::Rows(ids), Rows::Plain(ds)) => Dataset {
                y: ids.y.clone(),
                ..ds.select(&row_indices(&ids))
            },
            (Held::Rows(ids), Rows::Table { table, target, .. }) => {
                let enc = encoder.as_ref().expect("a table has an encoder");
                check_width(enc.width(), name, config)?;
                let (x, k) =
                    enc.transform(table, Some(&row_indices(&ids)), d.unknown_categories)?;
                if k > 0 {
                    unseen.push((name.to_string(), k));
                }
                Dataset::new(x, ids.y, enc.feature_names(), table.names[*target].clone())
            }
            (Held::File(Source::Csv(path)), Rows::Table { table, target, .. }) => {
                let enc = encoder.as_ref().expect("a table has an encoder");
                check_width(enc.width(), name, config)?;
                let t = load_table(&path, &d, &enc.categorical())?;
                let tc = t.find(&table.names[*target])?;
                let y = targets(&t, tc, classes.as_deref(), loss)?;
                let y = check_targets(y, &t.source, config, Some(&t.lines))?;
                let (x, k) = enc.transform(&t, None, d.unknown_categories)?;
                if k > 0 {
                    unseen.push((t.source.clone(), k));
                }
                Dataset::new(x, y, enc.feature_names(), table.names[*target].clone())
            }
            (Held::File(src), _) => check(load_source(&src, &d)?, &describe(&src), config)?,
        };
        check_width(ds.n_features(), name, config)?;
        Ok(ds)
    };
    let train = materialize(Held::Rows(Box::new(ids)), &what_train)?;
    let test = test.map(|h| materialize(h, "test")).transpose()?;
    let validation = validation
        .map(|h| materialize(h, "validation"))
        .transpose()?;
    if let Some(enc) = &encoder {
        let cats: Vec<String> = enc
            .columns
            .iter()
            .filter_map(|c| match c {
                InputColumn::Categorical {
                    name, categories, ..
                } => Some(format!("{name} ({} categories)", categories.len())),
                InputColumn::Numeric { .. } => None,
            })
            .collect();
        if !cats.is_empty() {
            notes.push(format!(
                "categorical columns (one-hot): {}",
                cats.join(", ")
            ));
        }
        let gaps = |name: &str| match &rows {
            Rows::Table { table, .. } => table
                .find(name)
                .is_ok_and(|c| (0..table.n_rows()).any(|r| table.columns[c].is_missing(r))),
            Rows::Plain(_) => false,
        };
        let filled: Vec<String> = enc
            .columns
            .iter()
            .filter(|c| gaps(c.name()))
            .filter_map(|c| match c {
                InputColumn::Numeric {
                    name,
                    fill: Some(v),
                } => Some(format!("{name} = {v}")),
                InputColumn::Categorical {
                    name,
                    fill: Some(v),
                    ..
                } if d.impute != Impute::MostFrequent => {
                    Some(format!("{name} = {v} (most frequent: text)"))
                }
                InputColumn::Categorical {
                    name,
                    fill: Some(v),
                    ..
                } => Some(format!("{name} = {v}")),
                _ => None,
            })
            .collect();
        if !filled.is_empty() && d.impute != Impute::Error {
            notes.push(format!(
                "missing values take ({}, from the training split): {}",
                IMPUTES
                    .iter()
                    .find(|(_, i)| *i == d.impute)
                    .map_or("", |(n, _)| n),
                filled.join(", ")
            ));
        }
    }
    if let Some(c) = &classes {
        let shown: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{i} {n}"))
            .collect();
        notes.push(format!("classes (sorted): {}", shown.join(", ")));
    }
    if !unseen.is_empty() {
        let total: usize = unseen.iter().map(|(_, k)| k).sum();
        let parts: Vec<String> = unseen.iter().map(|(n, k)| format!("{n}: {k}")).collect();
        warnings.push(format!(
            "{total} categorical cell(s) held a category the training split does not have ({}); they are encoded as all zeros (unknown_categories = \"error\" to stop instead)",
            parts.join(", ")
        ));
    }
    if !quiet {
        for n in &notes {
            println!("{n}");
        }
    }
    for w in &warnings {
        eprintln!("warning: {w}");
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
    let classes = match (classes, n_classes) {
        (Some(c), _) => Some(c),
        (None, Some(k)) => Some((0..k).map(|c| c.to_string()).collect()),
        (None, None) => None,
    };
    Ok(Prepared {
        train,
        validation,
        test,
        standardizer,
        n_classes,
        encoder,
        classes,
        na_values: d.na_values.clone(),
    })
}

/// Metadata stored with a model so `predict` and `eval` apply what `train` used (the keys are
/// documented in the README, "What the model file holds").
pub fn model_metadata(p: &Prepared) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("format".into(), "backprop-mlp".into());
    if let Some(st) = &p.standardizer {
        let (mean, std) = st.to_strings();
        m.insert("standardize_mean".into(), mean);
        m.insert("standardize_std".into(), std);
    }
    if let Some(c) = &p.classes {
        m.insert("classes".into(), json_list(c));
    }
    if let Some(enc) = &p.encoder {
        m.insert("columns".into(), enc.to_json());
        m.insert("na_values".into(), json_list(&p.na_values));
    }
    m.insert("feature_names".into(), json_list(&p.train.feature_names));
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
