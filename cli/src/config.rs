//! The TOML config: parsed into typed, validated options before any work starts, so nothing
//! downstream sees strings and no library panic is reachable from a bad config.

use crate::device::DeviceChoice;
use anyhow::{anyhow, bail, Result};
use backprop::data::DEFAULT_NA_VALUES;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::Value;

/// The patience of `early_stopping = true`: epochs without a better validation loss before
/// training stops (`early_stopping = N` sets another).
pub const DEFAULT_PATIENCE: usize = 10;

pub use backprop::nn::{Activation, InitScheme as Init};
pub use backprop::optim::ThresholdMode;

/// A binary classifier's default decision threshold on the probability (`decision_threshold`).
pub const DEFAULT_THRESHOLD: f64 = 0.5;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    Mse,
    CrossEntropy,
    BceWithLogits,
    L1,
    SmoothL1,
}

impl Loss {
    /// Whether targets are class indices (accuracy and a confusion matrix make sense).
    pub fn is_classification(self) -> bool {
        matches!(self, Loss::CrossEntropy)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    Sgd,
    Adam,
    AdamW,
    RmsProp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Scheduler {
    None,
    Step {
        step_size: usize,
        gamma: f64,
    },
    MultiStep {
        milestones: Vec<usize>,
        gamma: f64,
    },
    Exponential {
        gamma: f64,
    },
    Cosine {
        t_max: usize,
        eta_min: f64,
    },
    /// ReduceLROnPlateau on the validation loss (mode "min"), with PyTorch's keys.
    Plateau {
        factor: f64,
        patience: usize,
        threshold: f64,
        threshold_mode: ThresholdMode,
        cooldown: usize,
        min_lr: f64,
    },
}

/// Class weights for the loss (`class_weight`).
#[derive(Clone, Debug, PartialEq)]
pub enum ClassWeight {
    /// scikit-learn's "balanced": `n_samples / (n_classes · count_c)` on the training split.
    Balanced,
    /// One weight per class, in class order.
    List(Vec<f64>),
    /// Weights by class name; a class not named weighs 1 (as scikit-learn's dict).
    ByName(Vec<(String, f64)>),
}

/// Where a dataset comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// `xor`, `digits` or `iris`, embedded in the binary.
    Builtin(String),
    /// A CSV file with a header row.
    Csv(PathBuf),
    /// Separate feature and target files (`.npy` or MNIST IDX).
    Pair { x: PathBuf, y: PathBuf },
}

/// A held-out set: a fraction of the training data, or its own source.
#[derive(Clone, Debug, PartialEq)]
pub enum Holdout {
    Fraction(f64),
    Source(Source),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    pub layers: Vec<usize>,
    pub activation: Activation,
    pub batch_norm: bool,
    pub dropout: f64,
    pub init: Init,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DataConfig {
    pub train: Source,
    pub test: Option<Holdout>,
    pub validation: Option<Holdout>,
    pub target: Option<String>,
    pub standardize: bool,
    /// The feature columns by name, in the model's order (default: every column but the target
    /// and `drop`).
    pub features: Option<Vec<String>>,
    /// Columns left out.
    pub drop: Vec<String>,
    /// Whether CSV files have a header row (`None`: expected, and a numeric first row is an
    /// error).
    pub header: Option<bool>,
    /// The CSV delimiter (`None`: detected).
    pub delimiter: Option<char>,
    /// The decimal mark of numbers in CSV files: '.' or ','.
    pub decimal: char,
    /// Cells that mean "missing".
    pub na_values: Vec<String>,
    /// What fills a missing cell.
    pub impute: Impute,
    /// Columns one-hot encoded even where their cells are numbers.
    pub categorical: Vec<String>,
    /// What a category unseen in training does at predict/eval time.
    pub unknown_categories: Unknown,
}

/// What fills a missing feature cell (statistics from the training split).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Impute {
    /// A missing cell is an error naming its line and column.
    Error,
    Mean,
    Median,
    MostFrequent,
}

/// What a category that training did not see does at predict/eval time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unknown {
    /// An all-zero one-hot row, and one warning line with the count.
    Zeros,
    /// An error naming the cell.
    Error,
}

pub const IMPUTES: [(&str, Impute); 4] = [
    ("error", Impute::Error),
    ("mean", Impute::Mean),
    ("median", Impute::Median),
    ("most_frequent", Impute::MostFrequent),
];
pub const UNKNOWNS: [(&str, Unknown); 2] = [("zeros", Unknown::Zeros), ("error", Unknown::Error)];

/// A `[model] layers` size that `train` chooses from the data (`"auto"`): the first (inputs after
/// encoding) or the last (classes or targets).
pub const AUTO: usize = 0;

#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub loss: Loss,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub momentum: f64,
    pub nesterov: bool,
    pub dampening: f64,
    pub weight_decay: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub alpha: f64,
    pub amsgrad: bool,
    pub centered: bool,
    pub scheduler: Scheduler,
    pub clip_grad_norm: Option<f64>,
    pub l1: f64,
    pub epochs: usize,
    pub batch_size: usize,
    pub shuffle: bool,
    pub drop_last: bool,
    pub early_stopping: Option<usize>,
    /// Early stopping: end with the best epoch's weights (default true).
    pub restore_best: bool,
    /// Early stopping: an improvement must lower the best validation loss by more than this.
    pub min_delta: f64,
    /// A binary classifier's threshold on the probability (unset: [`DEFAULT_THRESHOLD`]).
    pub decision_threshold: Option<f64>,
    pub class_weight: Option<ClassWeight>,
}

/// A whole, validated config.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub seed: u64,
    /// Where to train (and predict): `cpu`, `cuda`, `cuda:N` or `auto` (the default).
    pub device: DeviceChoice,
    /// TF32 tensor cores for a GPU's products (PyTorch's `allow_tf32`); off by default.
    pub tf32: bool,
    pub model: ModelConfig,
    pub data: DataConfig,
    pub train: TrainConfig,
}

impl Config {
    /// The default job: the embedded digits, a 64-128-64-10 ReLU MLP, Adam (lr 0.001, 30
    /// epochs), cross-entropy.
    pub fn default_digits() -> Config {
        Config {
            seed: 0,
            device: DeviceChoice::Auto,
            tf32: false,
            model: ModelConfig {
                layers: vec![64, 128, 64, 10],
                activation: Activation::Relu,
                batch_norm: false,
                dropout: 0.0,
                init: Init::Default,
            },
            data: DataConfig {
                train: Source::Builtin("digits".into()),
                test: Some(Holdout::Fraction(0.2)),
                validation: None,
                target: None,
                standardize: true,
                ..DataConfig::plain()
            },
            train: TrainConfig {
                lr: 1e-3,
                epochs: 30,
                batch_size: 32,
                ..TrainConfig::defaults(Loss::CrossEntropy, OptimizerKind::Adam)
            },
        }
    }

    /// Reads and validates a config file; relative data paths resolve against its folder.
    /// Errors start with `file:line:column:` where they have a place in the file.
    pub fn from_file(path: &Path) -> Result<Config> {
        if path.is_dir() {
            bail!("{}: is a folder, not a config file", path.display());
        }
        let text = match read_limited(path, MAX_CONFIG_BYTES) {
            Ok(Some(text)) => text,
            Ok(None) => bail!(
                "{}: larger than {MAX_CONFIG_BYTES} bytes, too large for a config",
                path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("{}: config file not found", path.display())
            }
            Err(e) => bail!("{}: cannot read the config: {e}", path.display()),
        };
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Self::parse(&text, &base).map_err(|e| {
            let msg = format!("{e:#}");
            // "3:9: ..." joins as "c.toml:3:9: ...".
            let sep = if msg.starts_with(|c: char| c.is_ascii_digit()) {
                ":"
            } else {
                ": "
            };
            anyhow!("{}{sep}{msg}", path.display())
        })
    }

    /// Parses config text; `base` is the folder relative paths resolve against. Errors at a
    /// place in the text start with `line:column:`.
    pub fn parse(text: &str, base: &Path) -> Result<Config> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| anyhow!("{}", toml_error(text, &e)))?;
        Self::from_raw(raw, base).map_err(|e| located(text, e))
    }

    fn from_raw(raw: RawConfig, base: &Path) -> Result<Config> {
        let seed = field!(raw, "", seed).uint()?.unwrap_or(0);
        let device = match field!(raw, "", device).str()? {
            Some(d) => DeviceChoice::parse(&d, "device")?,
            None => DeviceChoice::Auto,
        };
        let tf32 = field!(raw, "", tf32).bool()?.unwrap_or(false);
        let model = ModelConfig::from_raw(
            raw.model
                .ok_or_else(|| anyhow!("missing section [model]"))?,
        )?;
        let data = DataConfig::from_raw(
            raw.data.ok_or_else(|| anyhow!("missing section [data]"))?,
            base,
        )?;
        let train = TrainConfig::from_raw(raw.train.unwrap_or_default())?;
        let config = Config {
            seed,
            device,
            tf32,
            model,
            data,
            train,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        let out = *self.model.layers.last().expect("layers checked non-empty");
        if self.train.loss == Loss::BceWithLogits && out < 1 && out != AUTO {
            bail!("[model] layers: the last size must be at least 1");
        }
        if self.train.decision_threshold.is_some() && !self.is_binary() {
            bail!("[train] decision_threshold: only a binary classifier (bce_with_logits with one output) takes a decision threshold; [model] layers ends with {out} outputs");
        }
        if let (Some(ClassWeight::List(w)), Some(k)) = (&self.train.class_weight, self.n_classes())
        {
            if w.len() != k {
                bail!(
                    "[train] class_weight: {} weights for {k} classes (one per class, in class order)",
                    w.len()
                );
            }
        }
        if matches!(self.train.scheduler, Scheduler::Plateau { .. })
            && self.data.validation.is_none()
        {
            bail!("[train] scheduler: \"plateau\" watches the validation loss and needs validation data ([data] validation = 0.1 or a file)");
        }
        if self.train.class_weight.is_some() && self.n_classes().is_none() {
            bail!("[train] class_weight: bce_with_logits takes class weights with one output (a binary classifier); [model] layers ends with {out} outputs");
        }
        Ok(())
    }

    /// A binary classifier: `bce_with_logits` on one output (a logit; the probability of class
    /// 1 is its sigmoid).
    pub fn is_binary(&self) -> bool {
        self.train.loss == Loss::BceWithLogits && self.model.layers.last() == Some(&1)
    }

    /// The number of classes of a classifier: the outputs for `cross_entropy`, 2 for a binary
    /// classifier ([`Config::is_binary`]); `None` for a regressor.
    pub fn n_classes(&self) -> Option<usize> {
        if self.is_binary() {
            Some(2)
        } else if self.train.loss.is_classification() {
            self.model.layers.last().copied()
        } else {
            None
        }
    }

    /// A binary classifier's decision threshold on the probability.
    pub fn threshold(&self) -> f64 {
        self.train.decision_threshold.unwrap_or(DEFAULT_THRESHOLD)
    }

    /// The config as TOML, with every path absolute and every default spelled out, so a copy
    /// stored in a run folder means the same thing from anywhere.
    pub fn to_toml(&self) -> String {
        let mut text = toml::to_string(&RawConfig::from(self)).expect("a config serializes");
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }
}

// ---- The keys, each declared once: a raw config as written, validated into `Config` below.
// Values stay `toml::Value`s here so that validation words its own errors ("expected a number,
// got string"); the field names are the keys, for parsing, for `to_toml` and for messages
// (`field!` takes a key's label from its field name).

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    seed: Option<Value>,
    device: Option<Value>,
    tf32: Option<Value>,
    model: Option<RawModel>,
    data: Option<RawData>,
    train: Option<RawTrain>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    layers: Option<Value>,
    activation: Option<Value>,
    batch_norm: Option<Value>,
    dropout: Option<Value>,
    init: Option<Value>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    train: Option<Value>,
    train_x: Option<Value>,
    train_y: Option<Value>,
    test: Option<Value>,
    test_x: Option<Value>,
    test_y: Option<Value>,
    validation: Option<Value>,
    validation_x: Option<Value>,
    validation_y: Option<Value>,
    target: Option<Value>,
    features: Option<Value>,
    drop: Option<Value>,
    categorical: Option<Value>,
    header: Option<Value>,
    delimiter: Option<Value>,
    decimal: Option<Value>,
    na_values: Option<Value>,
    impute: Option<Value>,
    unknown_categories: Option<Value>,
    standardize: Option<Value>,
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawTrain {
    loss: Option<Value>,
    optimizer: Option<Value>,
    lr: Option<Value>,
    momentum: Option<Value>,
    nesterov: Option<Value>,
    dampening: Option<Value>,
    weight_decay: Option<Value>,
    betas: Option<Value>,
    eps: Option<Value>,
    alpha: Option<Value>,
    amsgrad: Option<Value>,
    centered: Option<Value>,
    scheduler: Option<Value>,
    step_size: Option<Value>,
    milestones: Option<Value>,
    gamma: Option<Value>,
    t_max: Option<Value>,
    eta_min: Option<Value>,
    clip_grad_norm: Option<Value>,
    l1: Option<Value>,
    epochs: Option<Value>,
    batch_size: Option<Value>,
    shuffle: Option<Value>,
    drop_last: Option<Value>,
    early_stopping: Option<Value>,
    restore_best: Option<Value>,
    min_delta: Option<Value>,
    decision_threshold: Option<Value>,
    class_weight: Option<Value>,
    factor: Option<Value>,
    patience: Option<Value>,
    threshold: Option<Value>,
    threshold_mode: Option<Value>,
    cooldown: Option<Value>,
    min_lr: Option<Value>,
}

impl RawTrain {
    /// The keys given, by name (before validation takes the values).
    fn given(&self) -> Vec<&'static str> {
        let keys = [
            ("momentum", self.momentum.is_some()),
            ("dampening", self.dampening.is_some()),
            ("nesterov", self.nesterov.is_some()),
            ("betas", self.betas.is_some()),
            ("amsgrad", self.amsgrad.is_some()),
            ("eps", self.eps.is_some()),
            ("alpha", self.alpha.is_some()),
            ("centered", self.centered.is_some()),
            ("step_size", self.step_size.is_some()),
            ("milestones", self.milestones.is_some()),
            ("gamma", self.gamma.is_some()),
            ("t_max", self.t_max.is_some()),
            ("eta_min", self.eta_min.is_some()),
            ("factor", self.factor.is_some()),
            ("patience", self.patience.is_some()),
            ("threshold", self.threshold.is_some()),
            ("threshold_mode", self.threshold_mode.is_some()),
            ("cooldown", self.cooldown.is_some()),
            ("min_lr", self.min_lr.is_some()),
            ("class_weight", self.class_weight.is_some()),
            ("decision_threshold", self.decision_threshold.is_some()),
            ("restore_best", self.restore_best.is_some()),
            ("min_delta", self.min_delta.is_some()),
        ];
        keys.into_iter()
            .filter(|(_, g)| *g)
            .map(|(k, _)| k)
            .collect()
    }
}

/// Keys that only some optimizers take, with the optimizers that do.
const OPTIMIZER_KEYS: [(&str, &[OptimizerKind]); 8] = {
    use OptimizerKind::*;
    [
        ("momentum", &[Sgd, RmsProp]),
        ("dampening", &[Sgd]),
        ("nesterov", &[Sgd]),
        ("betas", &[Adam, AdamW]),
        ("amsgrad", &[Adam, AdamW]),
        ("eps", &[Adam, AdamW, RmsProp]),
        ("alpha", &[RmsProp]),
        ("centered", &[RmsProp]),
    ]
};

/// Keys that only some schedulers take, with the schedulers that do.
const SCHEDULER_KEYS: [(&str, &[&str]); 11] = [
    ("step_size", &["step"]),
    ("milestones", &["multistep"]),
    ("gamma", &["step", "multistep", "exponential"]),
    ("t_max", &["cosine"]),
    ("eta_min", &["cosine"]),
    ("factor", &["plateau"]),
    ("patience", &["plateau"]),
    ("threshold", &["plateau"]),
    ("threshold_mode", &["plateau"]),
    ("cooldown", &["plateau"]),
    ("min_lr", &["plateau"]),
];

/// Keys that only some losses take, with the losses that do.
const LOSS_KEYS: [(&str, &[Loss]); 2] = [
    ("class_weight", &[Loss::CrossEntropy, Loss::BceWithLogits]),
    ("decision_threshold", &[Loss::BceWithLogits]),
];

/// "a", "a and b", "a, b and c".
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Refuses a key that the chosen optimizer, scheduler or loss does not take (it would be
/// ignored), naming those that take it.
fn check_applicable(
    given: &[&str],
    optimizer: OptimizerKind,
    scheduler: &str,
    loss: Loss,
    early_stopping: bool,
) -> Result<()> {
    let refuse = |key: &str, chosen: String, takers: Vec<&str>| -> Result<()> {
        let verb = if takers.len() == 1 { "does" } else { "do" };
        bail!(
            "[train] {key}: {chosen} does not take {key} ({} {verb})",
            and_list(&takers)
        )
    };
    for key in given {
        if let Some((_, takers)) = OPTIMIZER_KEYS.iter().find(|(k, _)| k == key) {
            if !takers.contains(&optimizer) {
                let names = takers.iter().map(|o| name_of(&OPTIMIZERS, o)).collect();
                refuse(key, name_of(&OPTIMIZERS, &optimizer).to_string(), names)?;
            }
        }
        if let Some((_, takers)) = SCHEDULER_KEYS.iter().find(|(k, _)| k == key) {
            if !takers.contains(&scheduler) {
                let names = takers
                    .iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>();
                let chosen = format!("scheduler = \"{scheduler}\"");
                refuse(key, chosen, names.iter().map(String::as_str).collect())?;
            }
        }
        if let Some((_, takers)) = LOSS_KEYS.iter().find(|(k, _)| k == key) {
            if !takers.contains(&loss) {
                let names = takers.iter().map(|l| name_of(&LOSSES, l)).collect();
                refuse(key, format!("loss {}", name_of(&LOSSES, &loss)), names)?;
            }
        }
        if matches!(*key, "restore_best" | "min_delta") && !early_stopping {
            bail!("[train] {key}: applies to early stopping; set early_stopping = N (a patience in epochs) too");
        }
    }
    Ok(())
}

/// The value of key `$key` of the raw section `$raw` (`[$section]`), labelled for messages.
macro_rules! field {
    ($raw:ident, $section:literal, $key:ident) => {
        Field::new($section, stringify!($key), $raw.$key)
    };
}
use field;

/// The names of the losses, optimizers and schedulers, for parsing and for `to_toml`.
const LOSSES: [(&str, Loss); 5] = [
    ("mse", Loss::Mse),
    ("cross_entropy", Loss::CrossEntropy),
    ("bce_with_logits", Loss::BceWithLogits),
    ("l1", Loss::L1),
    ("smooth_l1", Loss::SmoothL1),
];
const OPTIMIZERS: [(&str, OptimizerKind); 4] = [
    ("sgd", OptimizerKind::Sgd),
    ("adam", OptimizerKind::Adam),
    ("adamw", OptimizerKind::AdamW),
    ("rmsprop", OptimizerKind::RmsProp),
];
const SCHEDULERS: [&str; 6] = [
    "none",
    "step",
    "multistep",
    "exponential",
    "cosine",
    "plateau",
];
const THRESHOLD_MODES: [(&str, ThresholdMode); 2] =
    [("rel", ThresholdMode::Rel), ("abs", ThresholdMode::Abs)];

/// A loss's name in the config (`cross_entropy`).
pub fn loss_name(loss: Loss) -> &'static str {
    name_of(&LOSSES, &loss)
}

/// The name `table` gives `value`.
fn name_of<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| v == value)
        .map(|(n, _)| *n)
        .unwrap_or("")
}

/// The largest config file read (a config is a few hundred bytes; this bounds what a device
/// such as /dev/zero given as a config could make the command allocate).
const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// The file's text, or `None` if it holds more than `limit` bytes (read no further).
fn read_limited(path: &Path, limit: u64) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(None);
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {at})"),
        )
    })
}

/// The most weights and biases a config may ask for (2³⁰: 4 GiB of float32, before gradients
/// and optimizer state).
const MAX_PARAMETERS: u64 = 1 << 30;

impl ModelConfig {
    fn from_raw(raw: RawModel) -> Result<ModelConfig> {
        let layers = layer_sizes(field!(raw, "model", layers))?
            .ok_or_else(|| anyhow!("[model] layers: missing (e.g. layers = [4, 16, 3])"))?;
        if layers.len() < 2 {
            let shown: Vec<String> = layers
                .iter()
                .map(|n| n.map_or("\"auto\"".into(), |n| n.to_string()))
                .collect();
            bail!(
                "[model] layers: needs at least two sizes (inputs and outputs), got [{}]",
                shown.join(", ")
            );
        }
        if let Some(i) = layers.iter().position(|&n| n == Some(0)) {
            bail!("[model] layers: size {i} is 0; every layer needs at least one unit");
        }
        check_parameters(&layers)?;
        let layers: Vec<u64> = layers
            .into_iter()
            .map(|n| n.unwrap_or(AUTO as u64))
            .collect();
        let activation = match field!(raw, "model", activation).choice(&Activation::NAMES)? {
            None => Activation::Relu,
            Some(name) => name.parse()?,
        };
        let batch_norm = field!(raw, "model", batch_norm).bool()?.unwrap_or(false);
        let dropout = field!(raw, "model", dropout).f64()?.unwrap_or(0.0);
        if !(0.0..1.0).contains(&dropout) {
            bail!("[model] dropout: must be in [0, 1), got {dropout}");
        }
        let init = match field!(raw, "model", init).choice(&Init::NAMES)? {
            None => Init::Default,
            Some(name) => name.parse()?,
        };
        Ok(ModelConfig {
            layers: layers.into_iter().map(|n| n as usize).collect(),
            activation,
            batch_norm,
            dropout,
            init,
        })
    }
}

/// `[model] layers`: whole numbers, and `"auto"` (`None`) for the first or the last size.
fn layer_sizes(f: Field) -> Result<Option<Vec<Option<u64>>>> {
    let Some((label, list)) = f.list()? else {
        return Ok(None);
    };
    let n = list.len();
    list.into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Integer(k) if k >= 0 => Ok(Some(k as u64)),
            Value::String(s) if s == "auto" && (i == 0 || i + 1 == n) => Ok(None),
            Value::String(s) if s == "auto" => {
                bail!("{label}: item {i} is \"auto\", which only the first (inputs) and last (outputs) sizes may be")
            }
            v => bail!("{label}: item {i} must be a whole number >= 0 (or \"auto\" first or last), got {v}"),
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Refuses sizes whose weights cannot be allocated (or whose count overflows), rather than
/// abort on the allocation when the model is built; an `"auto"` size counts as 1 until known.
fn check_parameters(layers: &[Option<u64>]) -> Result<()> {
    let params = layers.windows(2).try_fold(0u64, |acc, w| {
        w[0].unwrap_or(1)
            .checked_add(1)?
            .checked_mul(w[1].unwrap_or(1))?
            .checked_add(acc)
    });
    if params.is_none_or(|p| p > MAX_PARAMETERS) {
        let shown: Vec<String> = layers
            .iter()
            .map(|n| n.map_or("\"auto\"".to_string(), |n| n.to_string()))
            .collect();
        bail!(
            "[model] layers: [{}] needs more than {MAX_PARAMETERS} parameters, the most supported",
            shown.join(", ")
        );
    }
    Ok(())
}

impl ModelConfig {
    /// Whether the first or the last size is `"auto"`.
    pub fn has_auto(&self) -> bool {
        self.layers.contains(&AUTO)
    }

    /// Sets `"auto"` sizes to the data's `inputs` and `outputs`, checking the parameter count.
    pub fn resolve(&mut self, inputs: usize, outputs: usize) -> Result<()> {
        let last = self.layers.len() - 1;
        if self.layers[0] == AUTO {
            self.layers[0] = inputs;
        }
        if self.layers[last] == AUTO {
            self.layers[last] = outputs;
        }
        let sizes: Vec<Option<u64>> = self.layers.iter().map(|&n| Some(n as u64)).collect();
        check_parameters(&sizes)
    }
}

/// A built-in dataset's name, or a path resolved against `base`.
fn source(name: String, base: &Path) -> Source {
    if backprop::data::BUILTIN_NAMES.contains(&name.as_str()) {
        return Source::Builtin(name);
    }
    let p = Path::new(&name);
    Source::Csv(if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    })
}

/// Feature and target files, resolved against `base`.
fn pair(x: String, y: String, base: &Path) -> Source {
    let resolve = |p: String| match source(p, base) {
        Source::Csv(p) => p,
        Source::Builtin(name) => base.join(name),
        Source::Pair { x, .. } => x,
    };
    Source::Pair {
        x: resolve(x),
        y: resolve(y),
    }
}

/// A held-out set from its three keys (`test`, `test_x`, `test_y`, or the same for validation).
fn holdout(whole: Field, x: Field, y: Field, base: &Path) -> Result<Option<Holdout>> {
    let name = whole.key;
    let h = match whole.value {
        None => None,
        Some(Value::Float(f)) => Some(Holdout::Fraction(f)),
        Some(Value::String(p)) => Some(Holdout::Source(source(p, base))),
        Some(v) => bail!(
            "[data] {name}: expected a fraction (e.g. 0.2) or a file path, got {}",
            v.type_str()
        ),
    };
    if let Some(Holdout::Fraction(f)) = h {
        if !(f > 0.0 && f < 1.0) {
            bail!("[data] {name}: a split fraction must be between 0 and 1, got {f}");
        }
    }
    match (h, x.str()?, y.str()?) {
        (h, None, None) => Ok(h),
        (None, Some(x), Some(y)) => Ok(Some(Holdout::Source(pair(x, y, base)))),
        _ => bail!("[data] {name}: give either `{name}` or both `{name}_x` and `{name}_y`"),
    }
}

impl DataConfig {
    fn from_raw(raw: RawData, base: &Path) -> Result<DataConfig> {
        let train = match (
            field!(raw, "data", train).str()?,
            field!(raw, "data", train_x).str()?,
            field!(raw, "data", train_y).str()?,
        ) {
            (Some(t), None, None) => source(t, base),
            (None, Some(x), Some(y)) => pair(x, y, base),
            (None, None, None) => bail!("[data] train: missing (\"digits\", \"iris\", \"xor\", a CSV path, or train_x and train_y)"),
            (Some(_), _, _) => bail!("[data] train: give either `train` or `train_x` and `train_y`, not both"),
            (None, _, _) => bail!("[data] train_x and train_y: both are needed"),
        };
        let test = holdout(
            field!(raw, "data", test),
            field!(raw, "data", test_x),
            field!(raw, "data", test_y),
            base,
        )?;
        let validation = holdout(
            field!(raw, "data", validation),
            field!(raw, "data", validation_x),
            field!(raw, "data", validation_y),
            base,
        )?;
        let target = field!(raw, "data", target).name()?;
        // On by default: features on very different scales (wine's proline against its hue) train
        // badly without it.
        let standardize = field!(raw, "data", standardize).bool()?.unwrap_or(true);
        let features = field!(raw, "data", features).names()?;
        if features.as_ref().is_some_and(|f| f.is_empty()) {
            bail!("[data] features: an empty list; name at least one column (or leave the key out for every column)");
        }
        let drop = field!(raw, "data", drop).names()?.unwrap_or_default();
        let categorical = field!(raw, "data", categorical)
            .names()?
            .unwrap_or_default();
        if let (Some(t), Some(f)) = (&target, &features) {
            if f.contains(t) {
                bail!("[data] features: lists the target column \"{t}\"");
            }
        }
        let header = field!(raw, "data", header).bool()?;
        let delimiter = match field!(raw, "data", delimiter).str()? {
            None => None,
            Some(d) if d == "tab" || d == "\t" => Some('\t'),
            Some(d) if d.chars().count() == 1 && !matches!(d.as_str(), "\"" | "\n" | "\r") => {
                d.chars().next()
            }
            Some(d) => bail!("[data] delimiter: expected one character (\",\", \";\", \"\\t\" or \"tab\"), got \"{d}\""),
        };
        let decimal = match field!(raw, "data", decimal).choice(&[".", ","])? {
            Some(",") => ',',
            _ => '.',
        };
        if delimiter == Some(decimal) {
            bail!("[data] decimal: \"{decimal}\" is also the delimiter");
        }
        let na_values = field!(raw, "data", na_values)
            .names()?
            .unwrap_or_else(|| DEFAULT_NA_VALUES.iter().map(|s| s.to_string()).collect());
        let impute = match field!(raw, "data", impute).choice(&IMPUTES.map(|(n, _)| n))? {
            None => Impute::Error,
            Some(n) => IMPUTES.iter().find(|(k, _)| *k == n).expect("listed").1,
        };
        let unknown_categories =
            match field!(raw, "data", unknown_categories).choice(&UNKNOWNS.map(|(n, _)| n))? {
                None => Unknown::Zeros,
                Some(n) => UNKNOWNS.iter().find(|(k, _)| *k == n).expect("listed").1,
            };
        Ok(DataConfig {
            train,
            test,
            validation,
            target,
            standardize,
            features,
            drop,
            header,
            delimiter,
            decimal,
            na_values,
            impute,
            categorical,
            unknown_categories,
        })
    }

    /// A data section with every CSV option at its default (and the digits as training data).
    pub fn plain() -> DataConfig {
        DataConfig {
            train: Source::Builtin("digits".into()),
            test: None,
            validation: None,
            target: None,
            standardize: true,
            features: None,
            drop: Vec::new(),
            header: None,
            delimiter: None,
            decimal: '.',
            na_values: DEFAULT_NA_VALUES.iter().map(|s| s.to_string()).collect(),
            impute: Impute::Error,
            categorical: Vec::new(),
            unknown_categories: Unknown::Zeros,
        }
    }
}

impl TrainConfig {
    /// The defaults for this loss and optimizer: PyTorch's for every hyperparameter but `lr`,
    /// and the CLI's own `lr` (0.01; 0.1 for SGD; PyTorch's Adam default of 0.001 is too slow
    /// for a run of a few hundred steps) and `epochs` (100), with which a config of only
    /// `layers` and `train` reaches over 90% on iris, wine and digits
    /// (`defaults_train_iris_wine_and_digits_past_90_percent` in `cli/tests/cli.rs`).
    pub fn defaults(loss: Loss, optimizer: OptimizerKind) -> TrainConfig {
        TrainConfig {
            loss,
            optimizer,
            lr: match optimizer {
                OptimizerKind::Sgd => 0.1,
                _ => 0.01,
            },
            momentum: 0.0,
            nesterov: false,
            dampening: 0.0,
            weight_decay: if optimizer == OptimizerKind::AdamW {
                1e-2
            } else {
                0.0
            },
            betas: (0.9, 0.999),
            eps: 1e-8,
            alpha: 0.99,
            amsgrad: false,
            centered: false,
            scheduler: Scheduler::None,
            clip_grad_norm: None,
            l1: 0.0,
            epochs: 100,
            batch_size: 32,
            shuffle: true,
            drop_last: false,
            early_stopping: None,
            restore_best: true,
            min_delta: 0.0,
            decision_threshold: None,
            class_weight: None,
        }
    }

    fn from_raw(raw: RawTrain) -> Result<TrainConfig> {
        let given = raw.given();
        let loss = match field!(raw, "train", loss).choice(&LOSSES.map(|(n, _)| n))? {
            None => Loss::CrossEntropy,
            Some(name) => {
                LOSSES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .expect("a listed name")
                    .1
            }
        };
        let optimizer = match field!(raw, "train", optimizer).choice(&OPTIMIZERS.map(|(n, _)| n))? {
            None => OptimizerKind::Adam,
            Some(name) => {
                OPTIMIZERS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .expect("a listed name")
                    .1
            }
        };
        let scheduler = field!(raw, "train", scheduler)
            .choice(&SCHEDULERS)?
            .unwrap_or("none");
        let early_stopping = match raw.early_stopping {
            None | Some(Value::Boolean(false)) => None,
            Some(Value::Boolean(true)) => Some(DEFAULT_PATIENCE),
            Some(Value::Integer(n)) if n > 0 => Some(n as usize),
            Some(v) => bail!("[train] early_stopping: expected a patience in epochs (e.g. 10) or a bool, got {v}"),
        };
        check_applicable(&given, optimizer, scheduler, loss, early_stopping.is_some())?;
        let mut t = TrainConfig::defaults(loss, optimizer);
        t.early_stopping = early_stopping;
        if let Some(lr) = field!(raw, "train", lr).f64()? {
            t.lr = lr;
        }
        if t.lr.is_nan() || t.lr <= 0.0 || !t.lr.is_finite() {
            bail!(
                "[train] lr: the learning rate must be positive, got {}",
                t.lr
            );
        }
        for (f, slot) in [
            (field!(raw, "train", momentum), &mut t.momentum),
            (field!(raw, "train", dampening), &mut t.dampening),
            (field!(raw, "train", weight_decay), &mut t.weight_decay),
            (field!(raw, "train", eps), &mut t.eps),
            (field!(raw, "train", alpha), &mut t.alpha),
            (field!(raw, "train", l1), &mut t.l1),
        ] {
            if let Some(v) = f.nonneg()? {
                *slot = v;
            }
        }
        t.nesterov = field!(raw, "train", nesterov).bool()?.unwrap_or(false);
        t.amsgrad = field!(raw, "train", amsgrad).bool()?.unwrap_or(false);
        t.centered = field!(raw, "train", centered).bool()?.unwrap_or(false);
        if t.nesterov && (t.momentum <= 0.0 || t.dampening != 0.0) {
            bail!("[train] nesterov: Nesterov momentum requires a momentum and zero dampening");
        }
        if let Some(b) = field!(raw, "train", betas).f64_list()? {
            if b.len() != 2 {
                bail!("[train] betas: expected two numbers, got {}", b.len());
            }
            for (i, &v) in b.iter().enumerate() {
                if !(0.0..1.0).contains(&v) {
                    bail!("[train] betas: Invalid beta parameter at index {i}: {v}");
                }
            }
            t.betas = (b[0], b[1]);
        }
        let step_size = field!(raw, "train", step_size).uint()?;
        let milestones = field!(raw, "train", milestones).uint_list()?;
        let gamma = field!(raw, "train", gamma).nonneg()?;
        let t_max = field!(raw, "train", t_max).uint()?;
        let eta_min = field!(raw, "train", eta_min).f64()?;
        t.scheduler = match scheduler {
            "step" => Scheduler::Step {
                step_size: match step_size {
                    Some(n) if n > 0 => n as usize,
                    Some(_) => bail!("[train] step_size: must be at least 1"),
                    None => bail!("[train] step_size: required for scheduler = \"step\""),
                },
                gamma: gamma.unwrap_or(0.1),
            },
            "multistep" => Scheduler::MultiStep {
                milestones: milestones
                    .ok_or_else(|| {
                        anyhow!("[train] milestones: required for scheduler = \"multistep\"")
                    })?
                    .into_iter()
                    .map(|m| m as usize)
                    .collect(),
                gamma: gamma.unwrap_or(0.1),
            },
            "exponential" => Scheduler::Exponential {
                gamma: gamma.ok_or_else(|| {
                    anyhow!("[train] gamma: required for scheduler = \"exponential\"")
                })?,
            },
            "cosine" => Scheduler::Cosine {
                t_max: match t_max {
                    Some(n) if n > 0 => n as usize,
                    Some(_) => bail!("[train] t_max: must be at least 1"),
                    None => bail!("[train] t_max: required for scheduler = \"cosine\""),
                },
                eta_min: eta_min.unwrap_or(0.0),
            },
            "plateau" => {
                let factor = field!(raw, "train", factor).f64()?.unwrap_or(0.1);
                if !(factor > 0.0 && factor < 1.0) {
                    bail!("[train] factor: must be between 0 and 1, got {factor}");
                }
                let threshold_mode = match field!(raw, "train", threshold_mode)
                    .choice(&THRESHOLD_MODES.map(|(n, _)| n))?
                {
                    Some("abs") => ThresholdMode::Abs,
                    _ => ThresholdMode::Rel,
                };
                Scheduler::Plateau {
                    factor,
                    patience: field!(raw, "train", patience).uint()?.unwrap_or(10) as usize,
                    threshold: field!(raw, "train", threshold).nonneg()?.unwrap_or(1e-4),
                    threshold_mode,
                    cooldown: field!(raw, "train", cooldown).uint()?.unwrap_or(0) as usize,
                    min_lr: field!(raw, "train", min_lr).nonneg()?.unwrap_or(0.0),
                }
            }
            _ => Scheduler::None,
        };
        if let Some(c) = field!(raw, "train", clip_grad_norm).f64()? {
            if c.is_nan() || c <= 0.0 {
                bail!("[train] clip_grad_norm: must be positive, got {c}");
            }
            t.clip_grad_norm = Some(c);
        }
        if let Some(e) = field!(raw, "train", epochs).uint()? {
            t.epochs = e as usize;
        }
        if let Some(b) = field!(raw, "train", batch_size).uint()? {
            t.batch_size = b as usize;
        }
        t.shuffle = field!(raw, "train", shuffle).bool()?.unwrap_or(true);
        t.drop_last = field!(raw, "train", drop_last).bool()?.unwrap_or(false);
        t.restore_best = field!(raw, "train", restore_best).bool()?.unwrap_or(true);
        t.min_delta = field!(raw, "train", min_delta).nonneg()?.unwrap_or(0.0);
        if let Some(p) = field!(raw, "train", decision_threshold).f64()? {
            if !(p > 0.0 && p < 1.0) {
                bail!("[train] decision_threshold: a probability between 0 and 1, got {p}");
            }
            t.decision_threshold = Some(p);
        }
        t.class_weight = field!(raw, "train", class_weight).class_weight()?;
        Ok(t)
    }
}

/// One key's value as written, with its label for messages (`[model] dropout`).
struct Field {
    label: String,
    key: &'static str,
    value: Option<Value>,
}

impl Field {
    fn new(section: &str, key: &'static str, value: Option<Value>) -> Field {
        let label = if section.is_empty() {
            key.to_string()
        } else {
            format!("[{section}] {key}")
        };
        Field { label, key, value }
    }

    fn f64(self) -> Result<Option<f64>> {
        match self.value {
            None => Ok(None),
            Some(Value::Float(f)) => Ok(Some(f)),
            Some(Value::Integer(i)) => Ok(Some(i as f64)),
            Some(v) => bail!("{}: expected a number, got {}", self.label, v.type_str()),
        }
    }

    /// A finite number >= 0.
    fn nonneg(self) -> Result<Option<f64>> {
        let label = self.label.clone();
        match self.f64()? {
            Some(v) if v.is_nan() || v < 0.0 || !v.is_finite() => {
                bail!("{label}: must be a finite number >= 0, got {v}")
            }
            v => Ok(v),
        }
    }

    fn uint(self) -> Result<Option<u64>> {
        match self.value {
            None => Ok(None),
            Some(Value::Integer(i)) if i >= 0 => Ok(Some(i as u64)),
            Some(Value::Integer(i)) => bail!("{}: must not be negative, got {i}", self.label),
            Some(v) => bail!(
                "{}: expected a whole number, got {}",
                self.label,
                v.type_str()
            ),
        }
    }

    fn bool(self) -> Result<Option<bool>> {
        match self.value {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(b)),
            Some(v) => bail!(
                "{}: expected true or false, got {}",
                self.label,
                v.type_str()
            ),
        }
    }

    fn str(self) -> Result<Option<String>> {
        match self.value {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => bail!("{}: expected a string, got {}", self.label, v.type_str()),
        }
    }

    /// A column name: a string, or a whole number (a position, for `header = false`).
    fn name(self) -> Result<Option<String>> {
        match self.value {
            Some(Value::Integer(i)) if i >= 0 => Ok(Some(i.to_string())),
            _ => self.str(),
        }
    }

    /// A list of column names (strings, or whole numbers for positions).
    fn names(self) -> Result<Option<Vec<String>>> {
        let Some((label, list)) = self.list()? else {
            return Ok(None);
        };
        list.into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s),
                Value::Integer(n) if n >= 0 => Ok(n.to_string()),
                v => bail!("{label}: item {i} must be a column name (a string), got {v}"),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// A string that must be one of `choices`; unknown values get the closest suggestion.
    fn choice(self, choices: &[&'static str]) -> Result<Option<&'static str>> {
        let label = self.label.clone();
        let Some(v) = self.str()? else {
            return Ok(None);
        };
        match choices.iter().find(|&&c| c == v) {
            Some(&c) => Ok(Some(c)),
            None => bail!(
                "{label}: unknown value \"{v}\"{}; expected one of {}",
                suggestion(&v, choices),
                choices
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn list(self) -> Result<Option<(String, Vec<Value>)>> {
        match self.value {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some((self.label, a))),
            Some(v) => bail!("{}: expected a list, got {}", self.label, v.type_str()),
        }
    }

    fn uint_list(self) -> Result<Option<Vec<u64>>> {
        let Some((label, list)) = self.list()? else {
            return Ok(None);
        };
        list.into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Integer(n) if n >= 0 => Ok(n as u64),
                v => bail!("{label}: item {i} must be a whole number >= 0, got {v}"),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// `"balanced"`, a list of weights, or a table of weights by class name; every weight a
    /// finite number > 0.
    fn class_weight(self) -> Result<Option<ClassWeight>> {
        let label = self.label;
        // Weights are float32 in the loss: they must stay finite and non-zero there.
        let fits = |f: f64| f > 0.0 && (f as f32).is_finite() && (f as f32) > 0.0;
        let weight = |what: String, v: Value| -> Result<f64> {
            match v {
                Value::Float(f) if fits(f) => Ok(f),
                Value::Integer(n) if fits(n as f64) => Ok(n as f64),
                v => bail!("{label}: {what} must be a finite number > 0, got {v}"),
            }
        };
        Ok(match self.value {
            None => None,
            Some(Value::String(s)) if s == "balanced" => Some(ClassWeight::Balanced),
            Some(Value::Array(a)) => Some(ClassWeight::List(
                a.into_iter()
                    .enumerate()
                    .map(|(i, v)| weight(format!("item {i}"), v))
                    .collect::<Result<_>>()?,
            )),
            Some(Value::Table(t)) => Some(ClassWeight::ByName(
                t.into_iter()
                    .map(|(k, v)| Ok((k.clone(), weight(format!("class \"{k}\""), v)?)))
                    .collect::<Result<_>>()?,
            )),
            Some(v) => bail!(
                "{label}: expected \"balanced\", a list of weights (one per class) or a table by class name, got {v}"
            ),
        })
    }

    fn f64_list(self) -> Result<Option<Vec<f64>>> {
        let Some((label, list)) = self.list()? else {
            return Ok(None);
        };
        list.into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Float(f) => Ok(f),
                Value::Integer(n) => Ok(n as f64),
                v => bail!("{label}: item {i} must be a number, got {v}"),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

/// A validated config back as written, every default spelled out and every path absolute.
impl From<&Config> for RawConfig {
    fn from(c: &Config) -> RawConfig {
        let s = |v: &str| Some(Value::String(v.to_string()));
        let f = |v: f64| Some(Value::Float(v));
        let b = |v: bool| Some(Value::Boolean(v));
        let u = |v: usize| Some(Value::Integer(v as i64));
        let us = |v: &[usize]| {
            Some(Value::Array(
                v.iter().map(|&n| Value::Integer(n as i64)).collect(),
            ))
        };
        // Absolute paths, so that the run folder's copy re-runs from any folder.
        let path = |p: &Path| {
            let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            s(&p.display().to_string())
        };
        let m = &c.model;
        let name = |names: &[&'static str], matches: &dyn Fn(&str) -> bool| {
            s(names.iter().find(|n| matches(n)).unwrap_or(&names[0]))
        };
        let model = RawModel {
            layers: Some(Value::Array(
                m.layers
                    .iter()
                    .map(|&n| match n {
                        AUTO => Value::String("auto".into()),
                        n => Value::Integer(n as i64),
                    })
                    .collect(),
            )),
            activation: name(&Activation::NAMES, &|n| {
                n.parse().ok() == Some(m.activation)
            }),
            batch_norm: b(m.batch_norm),
            dropout: f(m.dropout),
            init: name(&Init::NAMES, &|n| n.parse().ok() == Some(m.init)),
        };
        let d = &c.data;
        let strings = |v: &[String]| {
            Some(Value::Array(
                v.iter().map(|n| Value::String(n.clone())).collect(),
            ))
        };
        let mut data = RawData {
            target: d.target.as_deref().and_then(s),
            standardize: b(d.standardize),
            features: d.features.as_deref().and_then(strings),
            drop: strings(&d.drop),
            categorical: strings(&d.categorical),
            header: d.header.and_then(b),
            delimiter: d.delimiter.and_then(|c| s(&c.to_string())),
            decimal: s(&d.decimal.to_string()),
            na_values: strings(&d.na_values),
            impute: s(name_of(&IMPUTES, &d.impute)),
            unknown_categories: s(name_of(&UNKNOWNS, &d.unknown_categories)),
            ..RawData::default()
        };
        // (whole, x, y) for a source.
        let parts = |src: &Source| match src {
            Source::Builtin(n) => (s(n), None, None),
            Source::Csv(p) => (path(p), None, None),
            Source::Pair { x, y } => (None, path(x), path(y)),
        };
        (data.train, data.train_x, data.train_y) = parts(&d.train);
        let held = |h: &Option<Holdout>| match h {
            None => (None, None, None),
            Some(Holdout::Fraction(v)) => (f(*v), None, None),
            Some(Holdout::Source(src)) => parts(src),
        };
        (data.test, data.test_x, data.test_y) = held(&d.test);
        (data.validation, data.validation_x, data.validation_y) = held(&d.validation);
        let t = &c.train;
        let mut train = RawTrain {
            loss: s(name_of(&LOSSES, &t.loss)),
            optimizer: s(name_of(&OPTIMIZERS, &t.optimizer)),
            lr: f(t.lr),
            momentum: f(t.momentum),
            nesterov: b(t.nesterov),
            dampening: f(t.dampening),
            weight_decay: f(t.weight_decay),
            betas: Some(Value::Array(vec![
                Value::Float(t.betas.0),
                Value::Float(t.betas.1),
            ])),
            eps: f(t.eps),
            alpha: f(t.alpha),
            amsgrad: b(t.amsgrad),
            centered: b(t.centered),
            clip_grad_norm: t.clip_grad_norm.and_then(f),
            l1: f(t.l1),
            epochs: u(t.epochs),
            batch_size: u(t.batch_size),
            shuffle: b(t.shuffle),
            drop_last: b(t.drop_last),
            early_stopping: t.early_stopping.and_then(u),
            decision_threshold: t.decision_threshold.and_then(f),
            class_weight: t.class_weight.as_ref().map(|w| match w {
                ClassWeight::Balanced => Value::String("balanced".into()),
                ClassWeight::List(w) => Value::Array(w.iter().map(|&v| Value::Float(v)).collect()),
                ClassWeight::ByName(w) => Value::Table(
                    w.iter()
                        .map(|(k, v)| (k.clone(), Value::Float(*v)))
                        .collect(),
                ),
            }),
            ..RawTrain::default()
        };
        if t.early_stopping.is_some() {
            train.restore_best = b(t.restore_best);
            train.min_delta = f(t.min_delta);
        }
        // Only the keys the optimizer takes: the others are errors.
        let takes = |key: &str| {
            OPTIMIZER_KEYS
                .iter()
                .any(|(k, takers)| *k == key && takers.contains(&t.optimizer))
        };
        for (key, slot) in [
            ("momentum", &mut train.momentum),
            ("nesterov", &mut train.nesterov),
            ("dampening", &mut train.dampening),
            ("betas", &mut train.betas),
            ("eps", &mut train.eps),
            ("alpha", &mut train.alpha),
            ("amsgrad", &mut train.amsgrad),
            ("centered", &mut train.centered),
        ] {
            if !takes(key) {
                *slot = None;
            }
        }
        let (scheduler, step_size, milestones, gamma, t_max, eta_min) = match &t.scheduler {
            Scheduler::None => ("none", None, None, None, None, None),
            Scheduler::Step { step_size, gamma } => {
                ("step", u(*step_size), None, f(*gamma), None, None)
            }
            Scheduler::MultiStep { milestones, gamma } => {
                ("multistep", None, us(milestones), f(*gamma), None, None)
            }
            Scheduler::Exponential { gamma } => ("exponential", None, None, f(*gamma), None, None),
            Scheduler::Cosine { t_max, eta_min } => {
                ("cosine", None, None, None, u(*t_max), f(*eta_min))
            }
            Scheduler::Plateau {
                factor,
                patience,
                threshold,
                threshold_mode,
                cooldown,
                min_lr,
            } => {
                train.factor = f(*factor);
                train.patience = u(*patience);
                train.threshold = f(*threshold);
                train.threshold_mode = s(name_of(&THRESHOLD_MODES, threshold_mode));
                train.cooldown = u(*cooldown);
                train.min_lr = f(*min_lr);
                ("plateau", None, None, None, None, None)
            }
        };
        train.scheduler = s(scheduler);
        (
            train.step_size,
            train.milestones,
            train.gamma,
            train.t_max,
            train.eta_min,
        ) = (step_size, milestones, gamma, t_max, eta_min);
        RawConfig {
            seed: Some(Value::Integer(c.seed as i64)),
            device: Some(Value::String(c.device.to_string())),
            tf32: Some(Value::Boolean(c.tf32)),
            model: Some(model),
            data: Some(data),
            train: Some(train),
        }
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    (line, col)
}

/// The `[section]` line `line` (1-based) sits in; "" for the top.
fn section_at(text: &str, line: usize) -> &str {
    text.lines()
        .take(line - 1)
        .filter_map(|l| l.trim_start().strip_prefix('['))
        .last()
        .map(|h| h.split(']').next().unwrap_or("").trim())
        .unwrap_or("")
}

/// A TOML error on one line, `line:column: what is wrong`: an unknown key (with the closest
/// known one), a section that is not a table, or a syntax error.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message();
    let (line, col) = line_col(text, e.span().unwrap_or(0..0).start);
    let line_text = text.lines().nth(line.max(1) - 1).unwrap_or("").trim();
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let section = if line_text.starts_with('[') {
            ""
        } else {
            section_at(text, line)
        };
        let label = if section.is_empty() {
            key.to_string()
        } else {
            format!("[{section}] {key}")
        };
        return format!(
            "{line}:{col}: {label}: unknown key{}",
            suggestion(key, &known)
        );
    }
    if msg.contains("expected struct Raw") {
        let key = line_text.split('=').next().unwrap_or("").trim();
        return format!("{line}:{col}: {key}: expected a section ([{key}] and its keys)");
    }
    syntax_error(text, e)
}

/// A TOML syntax error on one line: `line:column: what is wrong`, in the config's words.
fn syntax_error(text: &str, e: &toml::de::Error) -> String {
    let span = e.span().unwrap_or(0..0);
    let (line, col) = line_col(text, span.start);
    let found = text.get(span.clone()).unwrap_or("");
    let line_text = text.lines().nth(line - 1).unwrap_or("").trim();
    let msg = e.message();
    let what = if msg.starts_with("duplicate key") {
        if line_text.starts_with('[') {
            format!("duplicate section [{found}]")
        } else {
            format!("duplicate key `{found}`")
        }
    } else if msg.starts_with("string values must be quoted")
        || (!found.is_empty()
            && found
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            && found.chars().any(|c| c.is_alphabetic())
            && line_text.contains('='))
    {
        // `train = iris`: a bare word where a value goes.
        let key = line_text.split('=').next().unwrap_or("").trim();
        let value = if found.is_empty() { "..." } else { found };
        format!("strings need quotes: {key} = \"{value}\"")
    } else {
        // toml's own words, first clause: "unclosed array, expected `]`".
        msg.lines()
            .next()
            .unwrap_or(msg)
            .replace("array", "list")
            .to_string()
    };
    format!("{line}:{col}: {what}")
}

/// Puts `line:column:` in front of an error about one key (`[section] key: ...` or
/// `key: ...`), pointing at its value (or, for an unknown key, at the key).
fn located(text: &str, e: anyhow::Error) -> anyhow::Error {
    let msg = format!("{e:#}");
    let (section, rest) = match msg.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((section, rest)) => (section, rest),
        None => ("", msg.as_str()),
    };
    let key = rest.split([':', ' ']).next().unwrap_or("");
    let at_key = rest.contains(": unknown key");
    match locate(text, section, key, at_key) {
        Some((line, col)) => anyhow!("{line}:{col}: {msg}"),
        None => e,
    }
}

/// Where `key = value` sits in `[section]` ("" for the top): the key's or the value's place.
fn locate(text: &str, section: &str, key: &str, at_key: bool) -> Option<(usize, usize)> {
    if key.is_empty() {
        return None;
    }
    let mut current = "";
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(header) = trimmed.strip_prefix('[') {
            current = header.split(']').next().unwrap_or("").trim();
            continue;
        }
        let Some(after) = trimmed.strip_prefix(key) else {
            continue;
        };
        let Some(value) = after.trim_start().strip_prefix('=') else {
            continue;
        };
        if current != section {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let col = if at_key {
            indent
        } else {
            line.len() - value.trim_start().len()
        };
        return Some((i + 1, line[..col].chars().count() + 1));
    }
    None
}

/// " (did you mean `x`?)" for the closest candidate within a small edit distance.
pub fn suggestion(word: &str, candidates: &[&str]) -> String {
    let best = candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, c)) if d <= 3.max(word.len() / 3) => format!(" (did you mean `{c}`?)"),
        _ => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("/cfg"))
    }

    const MINIMAL: &str = "[model]\nlayers = [2, 4, 1]\n[data]\ntrain = \"xor\"\n";

    #[test]
    fn early_stopping_true_means_the_default_patience() {
        let patience = |v: &str| {
            parse(&format!("{MINIMAL}[train]\nearly_stopping = {v}\n"))
                .unwrap()
                .train
                .early_stopping
        };
        assert_eq!(patience("true"), Some(DEFAULT_PATIENCE));
        assert_eq!(patience("false"), None);
        assert_eq!(patience("3"), Some(3));
    }

    #[test]
    fn minimal_config_takes_pytorch_defaults_but_lr_and_epochs() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.model.layers, vec![2, 4, 1]);
        assert_eq!(c.train.optimizer, OptimizerKind::Adam);
        assert_eq!((c.train.lr, c.train.epochs), (0.01, 100));
        assert!(c.data.standardize);
        assert_eq!(c.train.betas, (0.9, 0.999));
        let w = parse(&format!("{MINIMAL}[train]\noptimizer = \"adamw\"\n")).unwrap();
        assert_eq!(w.train.weight_decay, 0.01);
        let r = parse(&format!(
            "{MINIMAL}[train]\noptimizer = \"rmsprop\"\nscheduler = \"step\"\nstep_size = 3\n"
        ))
        .unwrap();
        assert_eq!((r.train.lr, r.train.alpha), (0.01, 0.99));
        assert_eq!(
            r.train.scheduler,
            Scheduler::Step {
                step_size: 3,
                gamma: 0.1
            }
        );
    }

    #[test]
    fn layers_too_big_to_allocate_are_refused() {
        for layers in [
            "[2, 4000000000, 2]",
            "[9223372036854775807, 9223372036854775807]",
        ] {
            let e = parse(&format!(
                "[model]\nlayers = {layers}\n[data]\ntrain = \"xor\"\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                e.ends_with("needs more than 1073741824 parameters, the most supported"),
                "{e}"
            );
        }
        // (1023 + 1) · 1048576 = 2³⁰ parameters exactly is accepted; one more input is not.
        let ok = "[model]\nlayers = [1023, 1048576]\n[data]\ntrain = \"xor\"\n";
        assert_eq!(parse(ok).unwrap().model.layers, vec![1023, 1048576]);
        let over = "[model]\nlayers = [1024, 1048576]\n[data]\ntrain = \"xor\"\n";
        assert!(parse(over).is_err());
    }

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let c = parse(
            "[model]\nlayers = [2, 1]\n[data]\ntrain = \"d/train.csv\"\ntest = \"/abs/t.csv\"\n",
        )
        .unwrap();
        assert_eq!(c.data.train, Source::Csv(PathBuf::from("/cfg/d/train.csv")));
        assert_eq!(
            c.data.test,
            Some(Holdout::Source(Source::Csv(PathBuf::from("/abs/t.csv"))))
        );
    }

    #[test]
    fn unknown_keys_and_values_suggest_the_closest() {
        let e = parse(&format!("{MINIMAL}[train]\nlrr = 0.1\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "6:1: [train] lrr: unknown key (did you mean `lr`?)");
        let e = parse(&format!("{MINIMAL}[train]\noptimizer = \"adma\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("6:13: [train] optimizer: unknown value \"adma\" (did you mean `adam`?)"),
            "{e}"
        );
        let e = parse("[model]\nlayers = [2, 1]\nactivation = \"rleu\"\n[data]\ntrain = \"xor\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `relu`"), "{e}");
    }

    #[test]
    fn toml_syntax_errors_are_one_line_with_line_and_column() {
        for (text, want) in [
            (
                "[data]\ntrain = iris\n",
                "2:9: strings need quotes: train = \"iris\"",
            ),
            (
                "[data]\ntrain = \"a\"\ntrain = \"b\"\n",
                "3:1: duplicate key `train`",
            ),
            ("[data]\n[data]\n", "2:2: duplicate section [data]"),
            (
                "[model]\nlayers = [4, 8, 3\n",
                "2:18: unclosed list, expected `]`",
            ),
            (
                "[data]\ntrain =\n",
                "2:8: strings need quotes: train = \"...\"",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert_eq!(e, want, "{text:?}");
        }
    }

    #[test]
    fn bad_values_are_rejected_with_the_key() {
        for (extra, want) in [
            (
                "[train]\nlr = -1.0\n",
                "[train] lr: the learning rate must be positive",
            ),
            (
                "[train]\nlr = 0\n",
                "[train] lr: the learning rate must be positive",
            ),
            (
                "[train]\nbetas = [0.9, 1.0]\n",
                "Invalid beta parameter at index 1",
            ),
            (
                "[train]\nscheduler = \"cosine\"\n",
                "[train] t_max: required",
            ),
            (
                "[train]\nepochs = -3\n",
                "[train] epochs: must not be negative",
            ),
        ] {
            let e = parse(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
            assert!(e.contains(want), "{extra:?}: {e}");
        }
        let e = parse("[model]\nlayers = [2]\n[data]\ntrain = \"xor\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs at least two sizes"), "{e}");
    }

    #[test]
    fn keys_the_optimizer_scheduler_or_loss_does_not_take_are_refused() {
        for (extra, want) in [
            (
                "[train]\nmomentum = 0.9\n",
                "6:12: [train] momentum: adam does not take momentum (sgd and rmsprop do)",
            ),
            (
                "[train]\nalpha = 1e-4\n",
                "6:9: [train] alpha: adam does not take alpha (rmsprop does)",
            ),
            (
                "[train]\noptimizer = \"sgd\"\nbetas = [0.9, 0.99]\n",
                "[train] betas: sgd does not take betas (adam and adamw do)",
            ),
            (
                "[train]\noptimizer = \"rmsprop\"\namsgrad = true\n",
                "[train] amsgrad: rmsprop does not take amsgrad (adam and adamw do)",
            ),
            (
                "[train]\noptimizer = \"adamw\"\ncentered = true\n",
                "[train] centered: adamw does not take centered (rmsprop does)",
            ),
            (
                "[train]\noptimizer = \"rmsprop\"\nnesterov = true\n",
                "[train] nesterov: rmsprop does not take nesterov (sgd does)",
            ),
            (
                "[train]\noptimizer = \"adam\"\ndampening = 0.1\n",
                "[train] dampening: adam does not take dampening (sgd does)",
            ),
            (
                "[train]\noptimizer = \"sgd\"\neps = 1e-6\n",
                "[train] eps: sgd does not take eps (adam, adamw and rmsprop do)",
            ),
            (
                "[train]\nscheduler = \"cosine\"\nt_max = 5\ngamma = 0.5\n",
                "[train] gamma: scheduler = \"cosine\" does not take gamma (\"step\", \"multistep\" and \"exponential\" do)",
            ),
            (
                "[train]\npatience = 3\n",
                "[train] patience: scheduler = \"none\" does not take patience (\"plateau\" does)",
            ),
            (
                "[train]\nloss = \"mse\"\nclass_weight = [1.0, 2.0]\n",
                "[train] class_weight: loss mse does not take class_weight (cross_entropy and bce_with_logits do)",
            ),
            (
                "[train]\ndecision_threshold = 0.3\n",
                "[train] decision_threshold: loss cross_entropy does not take decision_threshold (bce_with_logits does)",
            ),
            (
                "[train]\nmin_delta = 0.01\n",
                "[train] min_delta: applies to early stopping; set early_stopping = N",
            ),
        ] {
            let e = parse(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
            assert!(e.contains(want), "{extra:?}: {e}");
        }
        // Those that apply are taken.
        let ok = parse(&format!(
            "{MINIMAL}[train]\noptimizer = \"rmsprop\"\nmomentum = 0.9\nalpha = 0.9\ncentered = true\n"
        ))
        .unwrap();
        assert_eq!((ok.train.momentum, ok.train.alpha), (0.9, 0.9));
    }

    #[test]
    fn a_binary_classifier_takes_a_threshold_and_class_weights() {
        // MINIMAL ends in one output.
        let c = parse(&format!(
            "{MINIMAL}[train]\nloss = \"bce_with_logits\"\ndecision_threshold = 0.3\nclass_weight = \"balanced\"\n"
        ))
        .unwrap();
        assert!(c.is_binary());
        assert_eq!((c.n_classes(), c.threshold()), (Some(2), 0.3));
        assert_eq!(c.train.class_weight, Some(ClassWeight::Balanced));
        let three = "[model]\nlayers = [2, 4, 3]\n[data]\ntrain = \"xor\"\n[train]\nloss = \"bce_with_logits\"\ndecision_threshold = 0.3\n";
        let e = parse(three).unwrap_err().to_string();
        assert!(e.contains("only a binary classifier"), "{e}");
        for (value, want) in [
            ("1.5", "a probability between 0 and 1, got 1.5"),
            ("0", "a probability between 0 and 1, got 0"),
        ] {
            let e = parse(&format!(
                "{MINIMAL}[train]\nloss = \"bce_with_logits\"\ndecision_threshold = {value}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn class_weight_forms() {
        let ce = "[model]\nlayers = [2, 4, 3]\n[data]\ntrain = \"xor\"\n[train]\n";
        let weight = |v: &str| {
            parse(&format!("{ce}class_weight = {v}\n")).map(|c| c.train.class_weight.unwrap())
        };
        assert_eq!(
            weight("[1, 2.5, 3]").unwrap(),
            ClassWeight::List(vec![1.0, 2.5, 3.0])
        );
        assert_eq!(
            weight("{ \"0\" = 2.0 }").unwrap(),
            ClassWeight::ByName(vec![("0".into(), 2.0)])
        );
        for (v, want) in [
            ("[1.0, 2.0]", "2 weights for 3 classes"),
            ("[1.0, -2.0, 1.0]", "item 1 must be a finite number > 0"),
            ("[1.0, 1e300, 1.0]", "item 1 must be a finite number > 0"),
            ("[1e-300, 1.0, 1.0]", "item 0 must be a finite number > 0"),
            ("\"balance\"", "expected \"balanced\", a list of weights"),
            ("{ a = \"x\" }", "class \"a\" must be a finite number > 0"),
        ] {
            let e = weight(v).unwrap_err().to_string();
            assert!(e.contains(want), "{v}: {e}");
        }
    }

    #[test]
    fn early_stopping_and_plateau_keys() {
        let c = parse(&format!(
            "{MINIMAL}validation = 0.2\n[train]\nearly_stopping = 5\nmin_delta = 0.01\nrestore_best = false\n\
             scheduler = \"plateau\"\nfactor = 0.5\npatience = 2\nthreshold_mode = \"abs\"\n"
        ))
        .unwrap();
        assert_eq!((c.train.min_delta, c.train.restore_best), (0.01, false));
        assert_eq!(
            c.train.scheduler,
            Scheduler::Plateau {
                factor: 0.5,
                patience: 2,
                threshold: 1e-4,
                threshold_mode: ThresholdMode::Abs,
                cooldown: 0,
                min_lr: 0.0
            }
        );
        assert!(
            parse(&format!("{MINIMAL}[train]\nearly_stopping = 5\n"))
                .unwrap()
                .train
                .restore_best
        );
        let e = parse(&format!("{MINIMAL}[train]\nscheduler = \"plateau\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[train] scheduler: \"plateau\" watches the validation loss and needs validation data"),
            "{e}"
        );
        let e = parse(&format!(
            "{MINIMAL}validation = 0.2\n[train]\nscheduler = \"plateau\"\nfactor = 1.0\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("[train] factor: must be between 0 and 1"), "{e}");
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("lrr", "lr"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

#[cfg(test)]
mod round_trip {
    use super::*;

    /// Every key (the raw sections' fields) is in `backprop --help`'s config.
    #[test]
    fn every_key_is_in_the_help_text() {
        let keys = |v: serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        let help = crate::cli::AFTER_HELP;
        let words: Vec<&str> = help
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .collect();
        for key in [
            keys(serde_json::to_value(RawConfig::default()).unwrap()),
            keys(serde_json::to_value(RawModel::default()).unwrap()),
            keys(serde_json::to_value(RawData::default()).unwrap()),
            keys(serde_json::to_value(RawTrain::default()).unwrap()),
        ]
        .concat()
        {
            assert!(
                words.contains(&key.as_str()),
                "`{key}` is not in the help text"
            );
        }
    }

    /// Every `[data]` key is in `backprop train --help`.
    #[test]
    fn every_data_key_is_in_the_train_help() {
        let help = crate::cli::TRAIN_HELP;
        let words: Vec<&str> = help
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .collect();
        let data = serde_json::to_value(RawData::default()).unwrap();
        for key in data.as_object().unwrap().keys() {
            assert!(
                words.contains(&key.as_str()),
                "`{key}` is not in train --help"
            );
        }
    }

    #[test]
    fn csv_keys_and_auto_layers_round_trip() {
        let text = "[model]\nlayers = [\"auto\", 8, \"auto\"]\n[data]\ntrain = \"t.csv\"\ntarget = 2\nfeatures = [\"a\", \"b c\"]\ndrop = [\"id\"]\nheader = false\ndelimiter = \"tab\"\nna_values = [\"?\"]\ndecimal = \",\"\nimpute = \"median\"\ncategorical = [\"b c\"]\nunknown_categories = \"error\"\n";
        let c = Config::parse(text, Path::new("/base")).unwrap();
        assert_eq!(c.model.layers, [AUTO, 8, AUTO]);
        assert_eq!(c.data.target.as_deref(), Some("2"));
        assert_eq!(c.data.delimiter, Some('\t'));
        assert_eq!(
            (c.data.impute, c.data.unknown_categories),
            (Impute::Median, Unknown::Error)
        );
        assert_eq!(Config::parse(&c.to_toml(), Path::new("/x")).unwrap(), c);
        for (bad, want) in [
            (
                "layers = [4, \"auto\", 3]",
                "item 1 is \"auto\", which only the first",
            ),
            ("layers = [\"many\", 3]", "item 0 must be a whole number"),
        ] {
            let e = Config::parse(
                &text.replace("layers = [\"auto\", 8, \"auto\"]", bad),
                Path::new("/"),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains(want), "{e}");
        }
        let e = Config::parse(&text.replace("\"tab\"", "\";;\""), Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[data] delimiter: expected one character"),
            "{e}"
        );
        let e = Config::parse(
            &text.replace("impute = \"median\"", "impute = \"mode\""),
            Path::new("/"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("[data] impute: unknown value \"mode\""), "{e}");
    }

    #[test]
    fn to_toml_parses_back_to_the_same_config() {
        let text = "seed = 3\n[model]\nlayers = [4, 8, 3]\nactivation = \"gelu\"\nbatch_norm = true\ndropout = 0.25\ninit = \"kaiming_normal\"\n\
            [data]\ntrain = \"x/train.csv\"\ntest = 0.3\nvalidation_x = \"v.npy\"\nvalidation_y = \"vy.npy\"\ntarget = \"species\"\nstandardize = true\n\
            [train]\noptimizer = \"sgd\"\nlr = 0.05\nmomentum = 0.9\nnesterov = true\nscheduler = \"multistep\"\nmilestones = [3, 6]\nclip_grad_norm = 2.0\nearly_stopping = 4\n";
        let c = Config::parse(text, Path::new("/base")).unwrap();
        let again = Config::parse(&c.to_toml(), Path::new("/elsewhere")).unwrap();
        assert_eq!(c, again);
        // Every optimizer, the plateau scheduler, early stopping's and a binary classifier's keys.
        for train in [
            "optimizer = \"adam\"\namsgrad = true",
            "optimizer = \"rmsprop\"\ncentered = true\nmomentum = 0.5",
            "optimizer = \"adamw\"\nscheduler = \"plateau\"\nfactor = 0.5\ncooldown = 2\nmin_lr = 1e-5",
            "loss = \"bce_with_logits\"\ndecision_threshold = 0.25\nclass_weight = [1.0, 3.0]",
            "early_stopping = 3\nmin_delta = 0.001\nrestore_best = false\nclass_weight = { \"1\" = 2.0 }",
        ] {
            let text = format!("[model]\nlayers = [4, 8, 1]\n[data]\ntrain = \"iris\"\nvalidation = 0.2\n[train]\n{train}\n");
            let text = if train.contains("bce") {
                text
            } else {
                text.replace("8, 1]", "8, 3]")
            };
            let c = Config::parse(&text, Path::new("/base")).unwrap();
            let again = Config::parse(&c.to_toml(), Path::new("/elsewhere"))
                .unwrap_or_else(|e| panic!("{train}: {e}\n{}", c.to_toml()));
            assert_eq!(c, again, "{train}");
        }
        assert_eq!(
            Config::parse(&Config::default_digits().to_toml(), Path::new("/")).unwrap(),
            Config::default_digits()
        );
    }
}
