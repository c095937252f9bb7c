//! The TOML config: parsed into typed, validated options before any work starts, so nothing
//! downstream sees strings and no library panic is reachable from a bad config.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// The patience of `early_stopping = true`: epochs without a better validation loss before
/// training stops (`early_stopping = N` sets another).
pub const DEFAULT_PATIENCE: usize = 10;

pub use backprop::nn::{Activation, InitScheme as Init};

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
    Step { step_size: usize, gamma: f64 },
    MultiStep { milestones: Vec<usize>, gamma: f64 },
    Exponential { gamma: f64 },
    Cosine { t_max: usize, eta_min: f64 },
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
}

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
    pub early_stopping: Option<usize>,
}

/// A whole, validated config.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub seed: u64,
    pub model: ModelConfig,
    pub data: DataConfig,
    pub train: TrainConfig,
}

impl Config {
    /// The default job: the embedded digits, a 64-128-64-10 ReLU MLP, Adam, cross-entropy.
    pub fn default_digits() -> Config {
        Config {
            seed: 0,
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
            },
            train: TrainConfig {
                epochs: 30,
                batch_size: 32,
                ..TrainConfig::defaults(Loss::CrossEntropy, OptimizerKind::Adam)
            },
        }
    }

    /// Reads and validates a config file; relative data paths resolve against its folder.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Self::parse(&text, &base).with_context(|| path.display().to_string())
    }

    /// Parses config text; `base` is the folder relative paths resolve against.
    pub fn parse(text: &str, base: &Path) -> Result<Config> {
        let table: Table = text.parse().map_err(|e: toml::de::Error| {
            anyhow!(
                "invalid TOML: {}",
                e.to_string().lines().next().unwrap_or("").trim()
            )
        })?;
        let mut top = Section::new("", table);
        top.check_known(&["seed", "model", "data", "train"])?;
        let seed = top.take_uint("seed")?.unwrap_or(0);
        let model = ModelConfig::parse(
            top.take_table("model")?
                .ok_or_else(|| anyhow!("missing section [model]"))?,
        )?;
        let data = DataConfig::parse(
            top.take_table("data")?
                .ok_or_else(|| anyhow!("missing section [data]"))?,
            base,
        )?;
        let train = TrainConfig::parse(
            top.take_table("train")?
                .unwrap_or_else(|| Section::new("train", Table::new())),
        )?;
        top.finish(&["seed", "model", "data", "train"])?;
        let config = Config {
            seed,
            model,
            data,
            train,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        let out = *self.model.layers.last().expect("layers checked non-empty");
        if self.train.loss == Loss::BceWithLogits && out < 1 {
            bail!("[model] layers: the last size must be at least 1");
        }
        Ok(())
    }
}

/// The most weights and biases a config may ask for (2³⁰: 4 GiB of float32, before gradients
/// and optimizer state).
const MAX_PARAMETERS: u64 = 1 << 30;

impl ModelConfig {
    fn parse(mut s: Section) -> Result<ModelConfig> {
        let layers = s
            .take_uint_list("layers")?
            .ok_or_else(|| anyhow!("[model] layers: missing (e.g. layers = [4, 16, 3])"))?;
        if layers.len() < 2 {
            bail!("[model] layers: needs at least two sizes (inputs and outputs), got {layers:?}");
        }
        if let Some(i) = layers.iter().position(|&n| n == 0) {
            bail!("[model] layers: size {i} is 0; every layer needs at least one unit");
        }
        // The weights are allocated as soon as the model is built: refuse sizes that cannot
        // fit (or whose count overflows) here, rather than abort on the allocation.
        let params = layers.windows(2).try_fold(0u64, |acc, w| {
            w[0].checked_add(1)?.checked_mul(w[1])?.checked_add(acc)
        });
        if params.is_none_or(|p| p > MAX_PARAMETERS) {
            bail!("[model] layers: {layers:?} needs more than {MAX_PARAMETERS} parameters, the most supported");
        }
        let activation = match s.take_choice("activation", &Activation::NAMES)? {
            None => Activation::Relu,
            Some(name) => name.parse()?,
        };
        let batch_norm = s.take_bool("batch_norm")?.unwrap_or(false);
        let dropout = s.take_f64("dropout")?.unwrap_or(0.0);
        if !(0.0..1.0).contains(&dropout) {
            bail!("[model] dropout: must be in [0, 1), got {dropout}");
        }
        let init = match s.take_choice("init", &Init::NAMES)? {
            None => Init::Default,
            Some(name) => name.parse()?,
        };
        s.finish(&["layers", "activation", "batch_norm", "dropout", "init"])?;
        Ok(ModelConfig {
            layers: layers.into_iter().map(|n| n as usize).collect(),
            activation,
            batch_norm,
            dropout,
            init,
        })
    }
}

impl DataConfig {
    fn parse(mut s: Section, base: &Path) -> Result<DataConfig> {
        let resolve = |p: &str| -> PathBuf {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let train = s.take_str("train")?;
        let train_x = s.take_str("train_x")?;
        let train_y = s.take_str("train_y")?;
        let train = match (train, train_x, train_y) {
            (Some(t), None, None) => match t.as_str() {
                "xor" | "digits" | "iris" => Source::Builtin(t),
                _ => Source::Csv(resolve(&t)),
            },
            (None, Some(x), Some(y)) => Source::Pair { x: resolve(&x), y: resolve(&y) },
            (None, None, None) => bail!("[data] train: missing (\"digits\", \"iris\", \"xor\", a CSV path, or train_x and train_y)"),
            (Some(_), _, _) => bail!("[data] train: give either `train` or `train_x` and `train_y`, not both"),
            (None, _, _) => bail!("[data] train_x and train_y: both are needed"),
        };
        let mut holdout = |name: &str| -> Result<Option<Holdout>> {
            let (x, y) = (
                s.take_str(&format!("{name}_x"))?,
                s.take_str(&format!("{name}_y"))?,
            );
            let h = match s.take(name) {
                None => None,
                Some(Value::Float(f)) => Some(Holdout::Fraction(f)),
                Some(Value::String(p)) => Some(Holdout::Source(match p.as_str() {
                    "xor" | "digits" | "iris" => Source::Builtin(p),
                    _ => Source::Csv(resolve(&p)),
                })),
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
            match (h, x, y) {
                (h, None, None) => Ok(h),
                (None, Some(x), Some(y)) => Ok(Some(Holdout::Source(Source::Pair {
                    x: resolve(&x),
                    y: resolve(&y),
                }))),
                _ => bail!("[data] {name}: give either `{name}` or both `{name}_x` and `{name}_y`"),
            }
        };
        let test = holdout("test")?;
        let validation = holdout("validation")?;
        let target = s.take_str("target")?;
        let standardize = s.take_bool("standardize")?.unwrap_or(false);
        s.finish(&[
            "train",
            "train_x",
            "train_y",
            "test",
            "test_x",
            "test_y",
            "validation",
            "validation_x",
            "validation_y",
            "target",
            "standardize",
        ])?;
        Ok(DataConfig {
            train,
            test,
            validation,
            target,
            standardize,
        })
    }
}

impl TrainConfig {
    /// PyTorch's defaults for this loss and optimizer.
    pub fn defaults(loss: Loss, optimizer: OptimizerKind) -> TrainConfig {
        TrainConfig {
            loss,
            optimizer,
            lr: match optimizer {
                OptimizerKind::RmsProp => 1e-2,
                _ => 1e-3,
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
            epochs: 10,
            batch_size: 32,
            shuffle: true,
            early_stopping: None,
        }
    }

    fn parse(mut s: Section) -> Result<TrainConfig> {
        let loss = match s.take_choice(
            "loss",
            &["mse", "cross_entropy", "bce_with_logits", "l1", "smooth_l1"],
        )? {
            Some("mse") => Loss::Mse,
            None | Some("cross_entropy") => Loss::CrossEntropy,
            Some("bce_with_logits") => Loss::BceWithLogits,
            Some("l1") => Loss::L1,
            Some(_) => Loss::SmoothL1,
        };
        let optimizer = match s.take_choice("optimizer", &["sgd", "adam", "adamw", "rmsprop"])? {
            Some("sgd") => OptimizerKind::Sgd,
            None | Some("adam") => OptimizerKind::Adam,
            Some("adamw") => OptimizerKind::AdamW,
            Some(_) => OptimizerKind::RmsProp,
        };
        let mut t = TrainConfig::defaults(loss, optimizer);
        if let Some(lr) = s.take_f64("lr")? {
            t.lr = lr;
        }
        if t.lr.is_nan() || t.lr <= 0.0 || !t.lr.is_finite() {
            bail!(
                "[train] lr: the learning rate must be positive, got {}",
                t.lr
            );
        }
        let nonneg = |name: &str, v: f64| -> Result<f64> {
            if v.is_nan() || v < 0.0 || !v.is_finite() {
                bail!("[train] {name}: must be a finite number >= 0, got {v}");
            }
            Ok(v)
        };
        if let Some(v) = s.take_f64("momentum")? {
            t.momentum = nonneg("momentum", v)?;
        }
        if let Some(v) = s.take_f64("dampening")? {
            t.dampening = nonneg("dampening", v)?;
        }
        if let Some(v) = s.take_f64("weight_decay")? {
            t.weight_decay = nonneg("weight_decay", v)?;
        }
        if let Some(v) = s.take_f64("eps")? {
            t.eps = nonneg("eps", v)?;
        }
        if let Some(v) = s.take_f64("alpha")? {
            t.alpha = nonneg("alpha", v)?;
        }
        t.nesterov = s.take_bool("nesterov")?.unwrap_or(false);
        t.amsgrad = s.take_bool("amsgrad")?.unwrap_or(false);
        t.centered = s.take_bool("centered")?.unwrap_or(false);
        if t.nesterov && (t.momentum <= 0.0 || t.dampening != 0.0) {
            bail!("[train] nesterov: Nesterov momentum requires a momentum and zero dampening");
        }
        if let Some(b) = s.take_f64_list("betas")? {
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
        let step_size = s.take_uint("step_size")?;
        let milestones = s.take_uint_list("milestones")?;
        let gamma = s.take_f64("gamma")?;
        let t_max = s.take_uint("t_max")?;
        let eta_min = s.take_f64("eta_min")?;
        if let Some(g) = gamma {
            nonneg("gamma", g)?;
        }
        t.scheduler = match s.take_choice(
            "scheduler",
            &["none", "step", "multistep", "exponential", "cosine"],
        )? {
            None | Some("none") => Scheduler::None,
            Some("step") => Scheduler::Step {
                step_size: match step_size {
                    Some(n) if n > 0 => n as usize,
                    Some(_) => bail!("[train] step_size: must be at least 1"),
                    None => bail!("[train] step_size: required for scheduler = \"step\""),
                },
                gamma: gamma.unwrap_or(0.1),
            },
            Some("multistep") => Scheduler::MultiStep {
                milestones: milestones
                    .ok_or_else(|| {
                        anyhow!("[train] milestones: required for scheduler = \"multistep\"")
                    })?
                    .into_iter()
                    .map(|m| m as usize)
                    .collect(),
                gamma: gamma.unwrap_or(0.1),
            },
            Some("exponential") => Scheduler::Exponential {
                gamma: gamma.ok_or_else(|| {
                    anyhow!("[train] gamma: required for scheduler = \"exponential\"")
                })?,
            },
            Some(_) => Scheduler::Cosine {
                t_max: match t_max {
                    Some(n) if n > 0 => n as usize,
                    Some(_) => bail!("[train] t_max: must be at least 1"),
                    None => bail!("[train] t_max: required for scheduler = \"cosine\""),
                },
                eta_min: eta_min.unwrap_or(0.0),
            },
        };
        if let Some(c) = s.take_f64("clip_grad_norm")? {
            if c.is_nan() || c <= 0.0 {
                bail!("[train] clip_grad_norm: must be positive, got {c}");
            }
            t.clip_grad_norm = Some(c);
        }
        if let Some(v) = s.take_f64("l1")? {
            t.l1 = nonneg("l1", v)?;
        }
        if let Some(e) = s.take_uint("epochs")? {
            t.epochs = e as usize;
        }
        if let Some(b) = s.take_uint("batch_size")? {
            t.batch_size = b as usize;
        }
        t.shuffle = s.take_bool("shuffle")?.unwrap_or(true);
        t.early_stopping = match s.take("early_stopping") {
            None | Some(Value::Boolean(false)) => None,
            Some(Value::Boolean(true)) => Some(DEFAULT_PATIENCE),
            Some(Value::Integer(n)) if n > 0 => Some(n as usize),
            Some(v) => bail!("[train] early_stopping: expected a patience in epochs (e.g. 10) or a bool, got {v}"),
        };
        s.finish(&[
            "loss",
            "optimizer",
            "lr",
            "momentum",
            "nesterov",
            "dampening",
            "weight_decay",
            "betas",
            "eps",
            "alpha",
            "amsgrad",
            "centered",
            "scheduler",
            "step_size",
            "milestones",
            "gamma",
            "t_max",
            "eta_min",
            "clip_grad_norm",
            "l1",
            "epochs",
            "batch_size",
            "shuffle",
            "early_stopping",
        ])?;
        Ok(t)
    }
}

/// One TOML table being consumed key by key; leftovers are unknown keys.
struct Section {
    name: String,
    table: Table,
}

impl Section {
    fn new(name: &str, table: Table) -> Self {
        Section {
            name: name.to_string(),
            table,
        }
    }

    fn label(&self, key: &str) -> String {
        if self.name.is_empty() {
            key.to_string()
        } else {
            format!("[{}] {key}", self.name)
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.table.remove(key)
    }

    fn take_table(&mut self, key: &str) -> Result<Option<Section>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(Section::new(key, t))),
            Some(v) => bail!(
                "{}: expected a section, got {}",
                self.label(key),
                v.type_str()
            ),
        }
    }

    fn take_f64(&mut self, key: &str) -> Result<Option<f64>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Float(f)) => Ok(Some(f)),
            Some(Value::Integer(i)) => Ok(Some(i as f64)),
            Some(v) => bail!(
                "{}: expected a number, got {}",
                self.label(key),
                v.type_str()
            ),
        }
    }

    fn take_uint(&mut self, key: &str) -> Result<Option<u64>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Integer(i)) if i >= 0 => Ok(Some(i as u64)),
            Some(Value::Integer(i)) => bail!("{}: must not be negative, got {i}", self.label(key)),
            Some(v) => bail!(
                "{}: expected a whole number, got {}",
                self.label(key),
                v.type_str()
            ),
        }
    }

    fn take_bool(&mut self, key: &str) -> Result<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(b)),
            Some(v) => bail!(
                "{}: expected true or false, got {}",
                self.label(key),
                v.type_str()
            ),
        }
    }

    fn take_str(&mut self, key: &str) -> Result<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => bail!(
                "{}: expected a string, got {}",
                self.label(key),
                v.type_str()
            ),
        }
    }

    /// A string that must be one of `choices`; unknown values get the closest suggestion.
    fn take_choice(&mut self, key: &str, choices: &[&'static str]) -> Result<Option<&'static str>> {
        let Some(v) = self.take_str(key)? else {
            return Ok(None);
        };
        match choices.iter().find(|&&c| c == v) {
            Some(&c) => Ok(Some(c)),
            None => bail!(
                "{}: unknown value \"{v}\"{}; expected one of {}",
                self.label(key),
                suggestion(&v, choices),
                choices
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn take_list(&mut self, key: &str) -> Result<Option<Vec<Value>>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => bail!("{}: expected a list, got {}", self.label(key), v.type_str()),
        }
    }

    fn take_uint_list(&mut self, key: &str) -> Result<Option<Vec<u64>>> {
        let label = self.label(key);
        let Some(list) = self.take_list(key)? else {
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

    fn take_f64_list(&mut self, key: &str) -> Result<Option<Vec<f64>>> {
        let label = self.label(key);
        let Some(list) = self.take_list(key)? else {
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

    /// Errors on the first key not in `known`, suggesting the closest known one.
    fn check_known(&self, known: &[&str]) -> Result<()> {
        if let Some(key) = self.table.keys().find(|k| !known.contains(&k.as_str())) {
            bail!("{}: unknown key{}", self.label(key), suggestion(key, known));
        }
        Ok(())
    }

    /// Errors on the first key nobody took, suggesting the closest known one.
    fn finish(self, known: &[&str]) -> Result<()> {
        if let Some(key) = self.table.keys().next() {
            bail!("{}: unknown key{}", self.label(key), suggestion(key, known));
        }
        Ok(())
    }
}

/// " (did you mean `x`?)" for the closest candidate within a small edit distance.
fn suggestion(word: &str, candidates: &[&str]) -> String {
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
    fn minimal_config_takes_pytorch_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.model.layers, vec![2, 4, 1]);
        assert_eq!(c.train.optimizer, OptimizerKind::Adam);
        assert_eq!(c.train.lr, 1e-3);
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
        assert_eq!(e, "[train] lrr: unknown key (did you mean `lr`?)");
        let e = parse(&format!("{MINIMAL}[train]\noptimizer = \"adma\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("[train] optimizer: unknown value \"adma\" (did you mean `adam`?)"),
            "{e}"
        );
        let e = parse("[model]\nlayers = [2, 1]\nactivation = \"rleu\"\n[data]\ntrain = \"xor\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `relu`"), "{e}");
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
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("lrr", "lr"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

impl Config {
    /// The config as TOML, with every path absolute and every default spelled out, so a copy
    /// stored in a run folder means the same thing from anywhere.
    pub fn to_toml(&self) -> String {
        let mut s = format!("seed = {}\n\n[model]\n", self.seed);
        let m = &self.model;
        let act = Activation::NAMES[Activation::NAMES
            .iter()
            .position(|n| n.parse::<Activation>().ok() == Some(m.activation))
            .unwrap_or(0)];
        let init = Init::NAMES[Init::NAMES
            .iter()
            .position(|n| n.parse::<Init>().ok() == Some(m.init))
            .unwrap_or(0)];
        s += &format!(
            "layers = {:?}\nactivation = \"{act}\"\nbatch_norm = {}\ndropout = {:?}\ninit = \"{init}\"\n\n[data]\n",
            m.layers, m.batch_norm, m.dropout
        );
        let d = &self.data;
        let quote = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
        let source = |s: &mut String, key: &str, src: &Source| match src {
            Source::Builtin(name) => *s += &format!("{key} = \"{name}\"\n"),
            Source::Csv(p) => *s += &format!("{key} = {}\n", quote(p)),
            Source::Pair { x, y } => {
                *s += &format!("{key}_x = {}\n{key}_y = {}\n", quote(x), quote(y))
            }
        };
        source(&mut s, "train", &d.train);
        for (key, h) in [("test", &d.test), ("validation", &d.validation)] {
            match h {
                Some(Holdout::Fraction(f)) => s += &format!("{key} = {f:?}\n"),
                Some(Holdout::Source(src)) => source(&mut s, key, src),
                None => {}
            }
        }
        if let Some(t) = &d.target {
            s += &format!("target = {}\n", toml::Value::String(t.clone()));
        }
        s += &format!("standardize = {}\n\n[train]\n", d.standardize);
        let t = &self.train;
        let loss = match t.loss {
            Loss::Mse => "mse",
            Loss::CrossEntropy => "cross_entropy",
            Loss::BceWithLogits => "bce_with_logits",
            Loss::L1 => "l1",
            Loss::SmoothL1 => "smooth_l1",
        };
        let opt = match t.optimizer {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
            OptimizerKind::RmsProp => "rmsprop",
        };
        s += &format!(
            "loss = \"{loss}\"\noptimizer = \"{opt}\"\nlr = {:?}\nmomentum = {:?}\nnesterov = {}\ndampening = {:?}\nweight_decay = {:?}\nbetas = [{:?}, {:?}]\neps = {:?}\nalpha = {:?}\namsgrad = {}\ncentered = {}\n",
            t.lr, t.momentum, t.nesterov, t.dampening, t.weight_decay, t.betas.0, t.betas.1, t.eps, t.alpha, t.amsgrad, t.centered
        );
        match &t.scheduler {
            Scheduler::None => s += "scheduler = \"none\"\n",
            Scheduler::Step { step_size, gamma } => {
                s += &format!("scheduler = \"step\"\nstep_size = {step_size}\ngamma = {gamma:?}\n")
            }
            Scheduler::MultiStep { milestones, gamma } => {
                s += &format!(
                    "scheduler = \"multistep\"\nmilestones = {milestones:?}\ngamma = {gamma:?}\n"
                )
            }
            Scheduler::Exponential { gamma } => {
                s += &format!("scheduler = \"exponential\"\ngamma = {gamma:?}\n")
            }
            Scheduler::Cosine { t_max, eta_min } => {
                s += &format!("scheduler = \"cosine\"\nt_max = {t_max}\neta_min = {eta_min:?}\n")
            }
        }
        if let Some(c) = t.clip_grad_norm {
            s += &format!("clip_grad_norm = {c:?}\n");
        }
        s += &format!(
            "l1 = {:?}\nepochs = {}\nbatch_size = {}\nshuffle = {}\n",
            t.l1, t.epochs, t.batch_size, t.shuffle
        );
        if let Some(p) = t.early_stopping {
            s += &format!("early_stopping = {p}\n");
        }
        s
    }
}

#[cfg(test)]
mod round_trip {
    use super::*;

    #[test]
    fn to_toml_parses_back_to_the_same_config() {
        let text = "seed = 3\n[model]\nlayers = [4, 8, 3]\nactivation = \"gelu\"\nbatch_norm = true\ndropout = 0.25\ninit = \"kaiming_normal\"\n\
            [data]\ntrain = \"x/train.csv\"\ntest = 0.3\nvalidation_x = \"v.npy\"\nvalidation_y = \"vy.npy\"\ntarget = \"species\"\nstandardize = true\n\
            [train]\noptimizer = \"sgd\"\nlr = 0.05\nmomentum = 0.9\nnesterov = true\nscheduler = \"multistep\"\nmilestones = [3, 6]\nclip_grad_norm = 2.0\nearly_stopping = 4\n";
        let c = Config::parse(text, Path::new("/base")).unwrap();
        let again = Config::parse(&c.to_toml(), Path::new("/elsewhere")).unwrap();
        assert_eq!(c, again);
        assert_eq!(
            Config::parse(&Config::default_digits().to_toml(), Path::new("/")).unwrap(),
            Config::default_digits()
        );
    }
}
