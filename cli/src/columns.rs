//! A CSV's columns as the model sees them: which columns are features (by name), how text
//! columns become one-hot features and missing cells are filled (learned on the training split),
//! and how text labels become class indices. What is learned travels in the model file's
//! metadata as JSON, so `predict` and `eval` pick the same columns by name and apply the same
//! transformation.

use crate::config::{DataConfig, Impute, Loss, Unknown};
use anyhow::{bail, Context, Result};
use backprop::data::{Column, Table, TableOptions};
use backprop::Array;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The most feature values one encoding may produce (2³⁰ float32s: 4 GiB).
pub const MAX_ENCODED: usize = 1 << 30;

/// How one column of the file becomes model features (the metadata's `columns` list).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputColumn {
    /// One feature: the number; a missing cell takes `fill` (an error when there is none).
    Numeric { name: String, fill: Option<f32> },
    /// One feature per category (`name=category`, categories sorted): 1 for the cell's category,
    /// 0 elsewhere; a category not in the list gives all zeros. A missing cell takes `fill`.
    Categorical {
        name: String,
        categories: Vec<String>,
        fill: Option<String>,
    },
}

impl InputColumn {
    pub fn name(&self) -> &str {
        match self {
            InputColumn::Numeric { name, .. } | InputColumn::Categorical { name, .. } => name,
        }
    }

    fn width(&self) -> usize {
        match self {
            InputColumn::Numeric { .. } => 1,
            InputColumn::Categorical { categories, .. } => categories.len(),
        }
    }
}

/// The feature columns a model reads and how it encodes them.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoder {
    pub columns: Vec<InputColumn>,
}

/// The reading options of `[data]`, with `categorical` added to the columns to read as text.
pub fn table_options(d: &DataConfig, categorical: &[String]) -> TableOptions {
    let mut text = d.categorical.clone();
    text.extend(categorical.iter().cloned());
    TableOptions {
        header: d.header,
        delimiter: d.delimiter,
        na_values: d.na_values.clone(),
        categorical: text,
        decimal: d.decimal,
    }
}

/// The training file's columns: the feature columns (in the model's order) and the target's.
pub fn select(t: &Table, d: &DataConfig) -> Result<(Vec<usize>, usize)> {
    if t.names.len() < 2 {
        bail!(
            "{}: one column only (split on {}); a feature and a target are needed (set delimiter if the file uses another)",
            t.source,
            backprop::data::delimiter_name(t.delimiter)
        );
    }
    let target = match &d.target {
        Some(name) => t.find(name)?,
        None => t.names.len() - 1,
    };
    for name in d.drop.iter().chain(&d.categorical) {
        t.find(name)?;
    }
    let features: Vec<usize> = match &d.features {
        Some(names) => names
            .iter()
            .map(|n| t.find(n))
            .filter(|r| !matches!(r, Ok(i) if d.drop.contains(&t.names[*i])))
            .collect::<backprop::Result<_>>()?,
        None => (0..t.names.len())
            .filter(|&i| i != target && !d.drop.contains(&t.names[i]))
            .collect(),
    };
    if features.contains(&target) {
        bail!(
            "{}: the target column \"{}\" is also a feature ([data] features)",
            t.source,
            t.names[target]
        );
    }
    if features.is_empty() {
        bail!(
            "{}: no feature columns left ([data] features / drop)",
            t.source
        );
    }
    let mut seen = BTreeSet::new();
    if let Some(&i) = features.iter().find(|&&i| !seen.insert(i)) {
        bail!("[data] features: column \"{}\" is listed twice", t.names[i]);
    }
    Ok((features, target))
}

/// Class names from a text label column: sorted (byte order), each once.
pub fn class_names(t: &Table, col: usize) -> Option<Vec<String>> {
    match &t.columns[col] {
        Column::Text(v) => Some(
            v.values()
                .iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        ),
        Column::Numbers(_) => None,
    }
}

/// The target column as numbers: class indices among `classes` for a text column, the values
/// for a numeric one. A missing target or an unknown class is an error naming the line.
pub fn targets(t: &Table, col: usize, classes: Option<&[String]>, loss: Loss) -> Result<Array> {
    let name = &t.names[col];
    let at = |row: usize| format!("{}:{}", t.source, t.lines[row]);
    let y: Vec<f32> = match (&t.columns[col], classes) {
        (Column::Numbers(v), _) => {
            if let Some(r) = v.iter().position(|x| x.is_nan()) {
                bail!("{}: the target column \"{name}\" is missing", at(r));
            }
            v.clone()
        }
        (Column::Text(v), Some(classes)) => {
            // Each distinct label looked up once.
            let class_of: Vec<Option<usize>> = v
                .values()
                .iter()
                .map(|s| classes.iter().position(|k| k == s))
                .collect();
            (0..v.len())
                .map(|r| match v.code(r) {
                    None => bail!("{}: the target column \"{name}\" is missing", at(r)),
                    Some(c) => match class_of[c] {
                        Some(i) => Ok(i as f32),
                        None => bail!(
                            "{}: label \"{}\" is not one of the model's classes ({})",
                            at(r),
                            v.values()[c],
                            shorten(classes)
                        ),
                    },
                })
                .collect::<Result<_>>()?
        }
        (Column::Text(v), None) => {
            let first = v.values().first().map(String::as_str).unwrap_or("");
            bail!(
                "{}: the target column \"{name}\" holds text (\"{first}\"), which loss = \"{}\" cannot learn; class names need cross_entropy (or bce_with_logits for two)",
                t.source,
                crate::config::loss_name(loss)
            );
        }
    };
    Ok(Array::new(&[y.len()], y))
}

fn shorten(names: &[String]) -> String {
    let mut s: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
    if names.len() > 10 {
        s.push("…");
    }
    s.join(", ")
}

/// Whether a column looks like a row ID: a different whole number, or a different text, in
/// every row (of at least 10).
pub fn id_like(t: &Table, col: usize) -> bool {
    let n = t.n_rows();
    if n < 10 {
        return false;
    }
    match &t.columns[col] {
        Column::Numbers(v) => {
            v.iter().all(|x| x.fract() == 0.0)
                && v.iter().map(|x| x.to_bits()).collect::<BTreeSet<_>>().len() == n
        }
        Column::Text(v) => v.iter().all(|c| c.is_some()) && v.values().len() == n,
    }
}

impl Encoder {
    /// Learns categories and fill values from the training rows `rows` of `t`.
    pub fn fit(t: &Table, features: &[usize], rows: &[usize], impute: Impute) -> Result<Encoder> {
        let columns = features
            .iter()
            .map(|&c| {
                let name = t.names[c].clone();
                Ok(match &t.columns[c] {
                    Column::Numbers(v) => {
                        let present: Vec<f32> = rows
                            .iter()
                            .map(|&r| v[r])
                            .filter(|x| !x.is_nan())
                            .collect();
                        let fill = match impute {
                            Impute::Error => None,
                            _ if present.is_empty() => bail!(
                                "{}: column \"{name}\" has no values in the training rows to impute from",
                                t.source
                            ),
                            Impute::Mean => Some(
                                (present.iter().map(|&x| x as f64).sum::<f64>()
                                    / present.len() as f64) as f32,
                            ),
                            Impute::Median => Some(median(present)),
                            Impute::MostFrequent => Some(f32::from_bits(most_frequent(
                                present.iter().map(|x| x.to_bits()),
                            ))),
                        };
                        InputColumn::Numeric { name, fill }
                    }
                    Column::Text(v) => {
                        // How often each distinct text occurs in the training rows.
                        let mut counts = vec![0usize; v.values().len()];
                        for &r in rows {
                            if let Some(c) = v.code(r) {
                                counts[c] += 1;
                            }
                        }
                        let seen: BTreeMap<&String, usize> = v
                            .values()
                            .iter()
                            .zip(&counts)
                            .filter(|(_, &n)| n > 0)
                            .map(|(s, &n)| (s, n))
                            .collect();
                        if seen.is_empty() {
                            bail!(
                                "{}: column \"{name}\" has no values in the training rows",
                                t.source
                            );
                        }
                        let categories: Vec<String> = seen.keys().map(|s| s.to_string()).collect();
                        // Text has no mean or median: every impute but "error" takes the most
                        // frequent category (ties: the first in sorted order).
                        let best = *seen.values().max().expect("a category");
                        let fill = match impute {
                            Impute::Error => None,
                            _ => seen
                                .iter()
                                .find(|(_, &n)| n == best)
                                .map(|(s, _)| s.to_string()),
                        };
                        InputColumn::Categorical {
                            name,
                            categories,
                            fill,
                        }
                    }
                })
            })
            .collect::<Result<_>>()?;
        Ok(Encoder { columns })
    }

    /// The encoded feature names: a numeric column's name, `name=category` for one-hot ones.
    pub fn feature_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|c| match c {
                InputColumn::Numeric { name, .. } => vec![name.clone()],
                InputColumn::Categorical {
                    name, categories, ..
                } => categories.iter().map(|k| format!("{name}={k}")).collect(),
            })
            .collect()
    }

    /// The number of features after encoding.
    pub fn width(&self) -> usize {
        self.columns.iter().map(InputColumn::width).sum()
    }

    /// The names of the one-hot encoded columns.
    pub fn categorical(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| matches!(c, InputColumn::Categorical { .. }))
            .map(|c| c.name().to_string())
            .collect()
    }

    /// The features of `rows` of `t` (every row when `None`), its columns found by name. Returns
    /// them with the number of cells whose category training did not see (all-zero features),
    /// or an error for such a cell under `Unknown::Error`.
    pub fn transform(
        &self,
        t: &Table,
        rows: Option<&[usize]>,
        unknown: Unknown,
    ) -> Result<(Array, usize)> {
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..t.n_rows()).collect();
                &all
            }
        };
        let width = self.width();
        // One-hot columns multiply: a text column with a different value in every row (a name,
        // an ID) has as many categories as rows. Refuse before allocating rows × features.
        if rows
            .len()
            .checked_mul(width)
            .is_none_or(|n| n > MAX_ENCODED)
        {
            let widest = self
                .columns
                .iter()
                .max_by_key(|c| c.width())
                .expect("at least one column");
            bail!(
                "{}: {} rows × {width} features after one-hot encoding is more than {MAX_ENCODED} values; column \"{}\" alone has {} categories (leave it out with [data] drop)",
                t.source,
                rows.len(),
                widest.name(),
                widest.width()
            );
        }
        let mut x = vec![0f32; rows.len() * width];
        let mut unseen = 0;
        let mut offset = 0;
        for col in &self.columns {
            let name = col.name();
            let c = t.find(name).context("a column the model was trained on")?;
            let missing = |r: usize| -> anyhow::Error {
                anyhow::anyhow!(
                    "{}:{}: column \"{name}\" is missing a value; set [data] impute = \"mean\", \"median\" or \"most_frequent\" to fill it (statistics from the training split)",
                    t.source,
                    t.lines[r]
                )
            };
            match (col, &t.columns[c]) {
                (InputColumn::Numeric { fill, .. }, Column::Numbers(v)) => {
                    for (i, &r) in rows.iter().enumerate() {
                        let v = v[r];
                        x[i * width + offset] = if v.is_nan() {
                            fill.ok_or_else(|| missing(r))?
                        } else {
                            v
                        };
                    }
                }
                (
                    InputColumn::Categorical {
                        categories, fill, ..
                    },
                    Column::Text(v),
                ) => {
                    // Each distinct text's category, looked up once.
                    let category: Vec<Option<usize>> = v
                        .values()
                        .iter()
                        .map(|s| categories.binary_search(s).ok())
                        .collect();
                    let fill_category = fill.as_ref().map(|f| categories.binary_search(f).ok());
                    for (i, &r) in rows.iter().enumerate() {
                        let k = match (v.code(r), fill_category) {
                            (Some(c), _) => category[c],
                            (None, Some(k)) => k,
                            (None, None) => return Err(missing(r)),
                        };
                        match k {
                            Some(k) => x[i * width + offset + k] = 1.0,
                            None if unknown == Unknown::Error => bail!(
                                "{}:{}: column \"{name}\": category \"{}\" was not in the training data ({}); unknown_categories = \"error\"",
                                t.source,
                                t.lines[r],
                                v.get(r).unwrap_or_default(),
                                shorten(categories)
                            ),
                            None => unseen += 1,
                        }
                    }
                }
                (InputColumn::Numeric { .. }, Column::Text(v)) => {
                    let (r, s) = v
                        .iter()
                        .enumerate()
                        .find_map(|(r, s)| s.map(|s| (r, s)))
                        .expect("a text column holds a cell");
                    bail!(
                        "{}:{}: column \"{name}\" holds the text \"{s}\", but the model was trained on numbers there",
                        t.source,
                        t.lines[r]
                    )
                }
                (InputColumn::Categorical { .. }, Column::Numbers(_)) => {
                    unreachable!("categorical columns are read as text")
                }
            }
            offset += col.width();
        }
        Ok((Array::new(&[rows.len(), width], x), unseen))
    }

    /// The metadata's `columns`: a JSON list of [`InputColumn`]s.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.columns).expect("columns serialize")
    }

    /// Reads the metadata's `columns` back.
    pub fn from_json(text: &str) -> Result<Encoder> {
        Ok(Encoder {
            columns: serde_json::from_str(text)
                .context("the \"columns\" metadata is not a list of columns")?,
        })
    }
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        ((v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0) as f32
    }
}

/// The most frequent value; ties go to the smallest (as scikit-learn's SimpleImputer).
fn most_frequent<T: Ord + Clone>(values: impl Iterator<Item = T>) -> T {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let best = *counts.values().max().expect("at least one value");
    counts
        .into_iter()
        .find(|(_, c)| *c == best)
        .map(|(v, _)| v)
        .expect("a value with the highest count")
}

/// A JSON list of strings, for the metadata.
pub fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).expect("strings serialize")
}

/// Reads a metadata JSON list of strings.
pub fn parse_json_list(text: &str, key: &str) -> Result<Vec<String>> {
    serde_json::from_str(text)
        .with_context(|| format!("the \"{key}\" metadata is not a JSON list of strings"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop::data::parse_table;

    fn table(text: &str) -> Table {
        parse_table(text.as_bytes(), "t.csv", &TableOptions::default()).unwrap()
    }

    #[test]
    fn fit_learns_on_training_rows_and_transform_selects_by_name() {
        let t = table("a,color,y\n1,red,0\nNA,blue,1\n3,red,0\n100,green,1\n");
        let enc = Encoder::fit(&t, &[0, 1], &[0, 1, 2], Impute::Mean).unwrap();
        assert_eq!(enc.feature_names(), ["a", "color=blue", "color=red"]);
        // Row 3 (green, 100) is not a training row: not a category, not in the mean.
        assert_eq!(
            enc.columns[0],
            InputColumn::Numeric {
                name: "a".into(),
                fill: Some(2.0)
            }
        );
        let other = table("color,a\nblue,NA\ngreen,5\n");
        let (x, unseen) = enc.transform(&other, None, Unknown::Zeros).unwrap();
        assert_eq!(x.data(), &[2.0, 1.0, 0.0, 5.0, 0.0, 0.0]);
        assert_eq!(unseen, 1);
        let e = enc.transform(&other, None, Unknown::Error).unwrap_err();
        assert!(format!("{e:#}").starts_with("t.csv:3: column \"color\": category \"green\""));
        let back = Encoder::from_json(&enc.to_json()).unwrap();
        assert_eq!(back, enc);
        let e = enc
            .transform(&table("a\n1\n"), None, Unknown::Zeros)
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("no column named \"color\""),
            "{e:#}"
        );
    }

    #[test]
    fn impute_error_names_line_and_column() {
        let t = table("a,y\n1,0\n,1\n");
        let enc = Encoder::fit(&t, &[0], &[0, 1], Impute::Error).unwrap();
        let e = format!("{:#}", enc.transform(&t, None, Unknown::Zeros).unwrap_err());
        assert!(
            e.starts_with("t.csv:3: column \"a\" is missing a value; set [data] impute"),
            "{e}"
        );
    }

    #[test]
    fn statistics() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(most_frequent([2, 1, 2, 1, 3].into_iter()), 1);
        assert_eq!(most_frequent(["b", "a", "b"].into_iter()), "b");
    }

    #[test]
    fn text_labels_are_sorted_classes() {
        let t = table("x,species\n1,virginica\n2,setosa\n3,virginica\n");
        let classes = class_names(&t, 1).unwrap();
        assert_eq!(classes, ["setosa", "virginica"]);
        let y = targets(&t, 1, Some(&classes), Loss::CrossEntropy).unwrap();
        assert_eq!(y.data(), &[1.0, 0.0, 1.0]);
        let e = targets(&t, 1, None, Loss::Mse).unwrap_err().to_string();
        assert!(e.contains("holds text (\"virginica\")"), "{e}");
    }

    #[test]
    fn id_columns() {
        let rows: String = (0..12)
            .map(|i| format!("{},{}\n", 100 + i, i % 3))
            .collect();
        let t = table(&format!("id,v\n{rows}"));
        assert!(id_like(&t, 0));
        assert!(!id_like(&t, 1));
    }
}
