//! The whole experiment as one value: what the page's controls set, what its URL holds
//! (`?dataset=xor&layers=4,2&lr=0.03...`, so a link reproduces a run), and what the CLI's TOML
//! says about it.
//!
//! ```
//! use backprop_playground::Experiment;
//! let e = Experiment::parse("dataset=circle&layers=8&activation=relu&lr=0.1").unwrap();
//! assert_eq!(e.hidden, vec![8]);
//! assert_eq!(Experiment::parse(&e.to_query()).unwrap(), e);
//! assert!(e.to_toml("train.csv", "test.csv", 5).contains("layers = [2, 8, 1]"));
//! ```

use crate::datasets::DatasetKind;
use backprop::nn::Activation;
use std::fmt::Write as _;

/// An input feature computed from the point `(x1, x2)`, as the page offers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// `x1`
    X1,
    /// `x2`
    X2,
    /// `x1²`
    X1Sq,
    /// `x2²`
    X2Sq,
    /// `x1·x2`
    X1X2,
    /// `sin x1`
    SinX1,
    /// `sin x2`
    SinX2,
}

impl Feature {
    /// Every feature, in the page's order.
    pub const ALL: [Feature; 7] = [
        Feature::X1,
        Feature::X2,
        Feature::X1Sq,
        Feature::X2Sq,
        Feature::X1X2,
        Feature::SinX1,
        Feature::SinX2,
    ];

    /// The name in URLs and CSV headers.
    pub fn name(self) -> &'static str {
        match self {
            Feature::X1 => "x1",
            Feature::X2 => "x2",
            Feature::X1Sq => "x1sq",
            Feature::X2Sq => "x2sq",
            Feature::X1X2 => "x1x2",
            Feature::SinX1 => "sinx1",
            Feature::SinX2 => "sinx2",
        }
    }

    /// The feature's value at `(x1, x2)`.
    pub fn eval(self, x1: f32, x2: f32) -> f32 {
        match self {
            Feature::X1 => x1,
            Feature::X2 => x2,
            Feature::X1Sq => x1 * x1,
            Feature::X2Sq => x2 * x2,
            Feature::X1X2 => x1 * x2,
            Feature::SinX1 => x1.sin(),
            Feature::SinX2 => x2.sin(),
        }
    }

    fn parse(s: &str) -> Result<Feature, String> {
        Feature::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!(
                    "features: unknown feature {s:?} (expected some of {})",
                    Feature::ALL.map(|f| f.name()).join(",")
                )
            })
    }
}

/// The loss; classification targets are 0 and 1, regression targets are numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// `bce_with_logits` (classification: the output is a logit).
    Bce,
    /// `mse`
    Mse,
    /// `l1`
    L1,
}

impl Loss {
    /// Every loss with its URL name and its TOML name.
    pub const ALL: [(Loss, &'static str, &'static str); 3] = [
        (Loss::Bce, "bce", "bce_with_logits"),
        (Loss::Mse, "mse", "mse"),
        (Loss::L1, "l1", "l1"),
    ];

    /// The name in URLs.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|l| l.0 == self).expect("listed").1
    }

    /// The name in the CLI's TOML.
    pub fn toml_name(self) -> &'static str {
        Self::ALL.iter().find(|l| l.0 == self).expect("listed").2
    }
}

/// The optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    /// SGD, with `momentum`.
    Sgd,
    /// Adam.
    Adam,
}

/// The most hidden layers, neurons per layer, and points the page allows (it draws every
/// neuron, so more would not fit on the screen anyway).
pub const MAX_LAYERS: usize = 6;
/// See [`MAX_LAYERS`].
pub const MAX_NEURONS: usize = 8;
/// See [`MAX_LAYERS`].
pub const MAX_POINTS: usize = 2000;

/// One experiment: data, model and training.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    /// Which dataset.
    pub dataset: DatasetKind,
    /// How many points (train and test together).
    pub points: usize,
    /// Noise, 0 to 50 (percent, as TF Playground's slider).
    pub noise: u32,
    /// Percent of the points used for training, 10 to 90.
    pub train_percent: u32,
    /// Seed of the data, the initial weights, the shuffling and dropout.
    pub seed: u64,
    /// The inputs.
    pub features: Vec<Feature>,
    /// Hidden layer sizes (the input is `features.len()`, the output 1).
    pub hidden: Vec<usize>,
    /// The activation after each hidden layer.
    pub activation: Activation,
    /// The loss.
    pub loss: Loss,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// Learning rate.
    pub lr: f64,
    /// SGD's momentum.
    pub momentum: f64,
    /// Batch size.
    pub batch_size: usize,
    /// Weight decay (L2), as the optimizer's `weight_decay`.
    pub weight_decay: f64,
    /// L1 penalty on every parameter, added to the loss.
    pub l1: f64,
    /// Dropout after each hidden activation.
    pub dropout: f64,
    /// BatchNorm1d after each hidden activation.
    pub batch_norm: bool,
}

impl Default for Experiment {
    /// xor, 250 points, noise 0, half for training, inputs x1 and x2, 2-4-2-1 tanh, BCE, SGD
    /// with lr 0.03, batches of 10.
    fn default() -> Self {
        Experiment {
            dataset: DatasetKind::Xor,
            points: 250,
            noise: 0,
            train_percent: 50,
            seed: 1,
            features: vec![Feature::X1, Feature::X2],
            hidden: vec![4, 2],
            activation: Activation::Tanh,
            loss: Loss::Bce,
            optimizer: OptimizerKind::Sgd,
            lr: 0.03,
            momentum: 0.0,
            batch_size: 10,
            weight_decay: 0.0,
            l1: 0.0,
            dropout: 0.0,
            batch_norm: false,
        }
    }
}

/// Undoes `%XX` and `+` of a URL's query.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn number<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{key}: expected a number, got {v:?}"))
}

fn finite_nonneg(key: &str, v: &str) -> Result<f64, String> {
    let x: f64 = number(key, v)?;
    if !x.is_finite() || x < 0.0 {
        return Err(format!("{key}: must be a finite number >= 0, got {v}"));
    }
    Ok(x)
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    x: T,
    lo: T,
    hi: T,
) -> Result<T, String> {
    if x < lo || x > hi {
        return Err(format!("{key}: must be between {lo} and {hi}, got {x}"));
    }
    Ok(x)
}

impl Experiment {
    /// Parses a URL query string (with or without the leading `?`); keys left out keep their
    /// defaults. Errors name the key and what is wrong with its value.
    pub fn parse(query: &str) -> Result<Experiment, String> {
        let mut e = Experiment::default();
        let mut loss_given = false;
        for pair in query.trim_start_matches('?').split('&') {
            if pair.is_empty() {
                continue;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = unescape(k);
            let v = unescape(v);
            let key = key.as_str();
            let v = v.as_str();
            match key {
                "dataset" => e.dataset = DatasetKind::parse(v)?,
                "points" => e.points = in_range(key, number(key, v)?, 4, MAX_POINTS)?,
                "noise" => e.noise = in_range(key, number(key, v)?, 0, 50)?,
                "train" => e.train_percent = in_range(key, number(key, v)?, 10, 90)?,
                "seed" => e.seed = number(key, v)?,
                "features" => {
                    let mut fs = Vec::new();
                    for f in v.split(',').filter(|s| !s.is_empty()) {
                        let f = Feature::parse(f)?;
                        if !fs.contains(&f) {
                            fs.push(f);
                        }
                    }
                    if fs.is_empty() {
                        return Err("features: choose at least one input feature".into());
                    }
                    fs.sort_by_key(|f| Feature::ALL.iter().position(|g| g == f));
                    e.features = fs;
                }
                "layers" => {
                    let mut hs = Vec::new();
                    for s in v.split(',').filter(|s| !s.is_empty()) {
                        hs.push(in_range("layers", number(key, s)?, 1, MAX_NEURONS)?);
                    }
                    if hs.len() > MAX_LAYERS {
                        return Err(format!(
                            "layers: at most {MAX_LAYERS} hidden layers, got {}",
                            hs.len()
                        ));
                    }
                    e.hidden = hs;
                }
                "activation" => {
                    e.activation = v.parse().map_err(|_| {
                        format!(
                            "activation: unknown {v:?} (expected one of {})",
                            Activation::NAMES.join(", ")
                        )
                    })?
                }
                "loss" => {
                    e.loss = Loss::ALL
                        .iter()
                        .find(|l| l.1 == v)
                        .ok_or_else(|| format!("loss: unknown {v:?} (expected bce, mse or l1)"))?
                        .0;
                    loss_given = true;
                }
                "optimizer" => {
                    e.optimizer = match v {
                        "sgd" => OptimizerKind::Sgd,
                        "adam" => OptimizerKind::Adam,
                        _ => {
                            return Err(format!("optimizer: unknown {v:?} (expected sgd or adam)"))
                        }
                    }
                }
                "lr" => {
                    e.lr = finite_nonneg(key, v)?;
                    if e.lr == 0.0 {
                        return Err("lr: the learning rate must be positive, got 0".into());
                    }
                }
                "momentum" => e.momentum = in_range(key, finite_nonneg(key, v)?, 0.0, 0.999)?,
                "batch" => e.batch_size = in_range(key, number(key, v)?, 1, MAX_POINTS)?,
                "wd" => e.weight_decay = finite_nonneg(key, v)?,
                "l1" => e.l1 = finite_nonneg(key, v)?,
                "dropout" => e.dropout = in_range(key, finite_nonneg(key, v)?, 0.0, 0.9)?,
                "bn" => {
                    e.batch_norm = match v {
                        "1" | "true" => true,
                        "0" | "false" => false,
                        _ => return Err(format!("bn: expected 0 or 1, got {v:?}")),
                    }
                }
                _ => return Err(format!("unknown key {key:?} in the experiment's URL")),
            }
        }
        if !loss_given && e.dataset.is_regression() {
            e.loss = Loss::Mse;
        }
        if e.dataset.is_regression() && e.loss == Loss::Bce {
            return Err("loss: bce needs a classification dataset; plane is a regression".into());
        }
        Ok(e)
    }

    /// The query string that [`Experiment::parse`] reads back into this experiment.
    pub fn to_query(&self) -> String {
        let join = |v: Vec<String>| v.join(",");
        format!(
            "dataset={}&points={}&noise={}&train={}&seed={}&features={}&layers={}&activation={}&loss={}&optimizer={}&lr={}&momentum={}&batch={}&wd={}&l1={}&dropout={}&bn={}",
            self.dataset.name(),
            self.points,
            self.noise,
            self.train_percent,
            self.seed,
            join(self.features.iter().map(|f| f.name().to_string()).collect()),
            join(self.hidden.iter().map(|h| h.to_string()).collect()),
            Activation::NAMES[Self::activation_index(self.activation)],
            self.loss.name(),
            match self.optimizer {
                OptimizerKind::Sgd => "sgd",
                OptimizerKind::Adam => "adam",
            },
            self.lr,
            self.momentum,
            self.batch_size,
            self.weight_decay,
            self.l1,
            self.dropout,
            u8::from(self.batch_norm),
        )
    }

    fn activation_index(a: Activation) -> usize {
        Activation::NAMES
            .iter()
            .position(|n| n.parse::<Activation>().ok() == Some(a))
            .expect("every activation has a name")
    }

    /// The layer sizes, input and output included (`[2, 4, 2, 1]` by default).
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.features.len()];
        s.extend(&self.hidden);
        s.push(1);
        s
    }

    /// The CLI's config for this experiment, training on `train_csv` and testing on
    /// `test_csv` (the CSVs the page writes: one column per feature, then `label`) for
    /// `epochs` epochs. The CLI's model has the same names and shapes, so `backprop predict`
    /// takes this config with the page's `model.safetensors`. The CLI draws its own initial
    /// weights and shuffles in its own way: a run of `backprop train` starts elsewhere than the
    /// page did.
    pub fn to_toml(&self, train_csv: &str, test_csv: &str, epochs: usize) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "# backprop playground: {}", self.to_query());
        let _ = writeln!(t, "seed = {}\n", self.seed);
        let _ = writeln!(t, "[model]");
        let sizes: Vec<String> = self.sizes().iter().map(|s| s.to_string()).collect();
        let _ = writeln!(t, "layers = [{}]", sizes.join(", "));
        let _ = writeln!(
            t,
            "activation = \"{}\"",
            Activation::NAMES[Self::activation_index(self.activation)]
        );
        let _ = writeln!(t, "batch_norm = {}", self.batch_norm);
        let _ = writeln!(t, "dropout = {}\n", toml_float(self.dropout));
        let _ = writeln!(t, "[data]");
        let _ = writeln!(t, "train = {}", toml_string(train_csv));
        let _ = writeln!(t, "test = {}", toml_string(test_csv));
        let _ = writeln!(t, "target = \"label\"");
        let _ = writeln!(t, "standardize = false\n");
        let _ = writeln!(t, "[train]");
        let _ = writeln!(t, "loss = \"{}\"", self.loss.toml_name());
        let _ = writeln!(
            t,
            "optimizer = \"{}\"",
            match self.optimizer {
                OptimizerKind::Sgd => "sgd",
                OptimizerKind::Adam => "adam",
            }
        );
        let _ = writeln!(t, "lr = {}", toml_float(self.lr));
        if self.optimizer == OptimizerKind::Sgd {
            let _ = writeln!(t, "momentum = {}", toml_float(self.momentum));
        }
        let _ = writeln!(t, "weight_decay = {}", toml_float(self.weight_decay));
        let _ = writeln!(t, "l1 = {}", toml_float(self.l1));
        let _ = writeln!(t, "batch_size = {}", self.batch_size);
        let _ = writeln!(t, "epochs = {}", epochs.max(1));
        t
    }
}

/// A float as TOML writes it (always with a point or exponent, so it reads back as a float).
fn toml_float(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips_through_the_query() {
        let e = Experiment::default();
        assert_eq!(e.sizes(), vec![2, 4, 2, 1]);
        assert_eq!(Experiment::parse(&e.to_query()).unwrap(), e);
        assert_eq!(Experiment::parse("").unwrap(), e);
    }

    #[test]
    fn every_key_round_trips() {
        let q = "?dataset=spiral&points=400&noise=20&train=70&seed=9&features=x1,sinx2,x1x2&layers=8,8,3&activation=relu&loss=mse&optimizer=adam&lr=0.003&momentum=0.5&batch=32&wd=0.001&l1=0.0001&dropout=0.2&bn=1";
        let e = Experiment::parse(q).unwrap();
        assert_eq!(e.dataset, DatasetKind::Spiral);
        assert_eq!(
            e.features,
            vec![Feature::X1, Feature::X1X2, Feature::SinX2],
            "sorted in the page's order"
        );
        assert_eq!(e.hidden, vec![8, 8, 3]);
        assert_eq!(e.activation, Activation::Relu);
        assert_eq!(e.optimizer, OptimizerKind::Adam);
        assert!(e.batch_norm);
        assert_eq!(e.dropout, 0.2);
        assert_eq!(Experiment::parse(&e.to_query()).unwrap(), e);
    }

    #[test]
    fn percent_escapes_are_read() {
        let e = Experiment::parse("features=x1%2Cx2%2Cx1sq").unwrap();
        assert_eq!(e.features.len(), 3);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (q, want) in [
            ("lr=abc", "lr: expected a number"),
            ("lr=-1", "lr: must be a finite number >= 0"),
            ("lr=0", "lr: the learning rate must be positive"),
            ("layers=4,99", "layers: must be between 1 and 8"),
            ("layers=1,1,1,1,1,1,1", "at most 6 hidden layers"),
            ("features=", "at least one input feature"),
            ("features=x3", "unknown feature \"x3\""),
            ("dataset=mnist", "dataset: unknown"),
            ("activation=swish", "activation: unknown"),
            ("bogus=1", "unknown key \"bogus\""),
            ("noise=80", "noise: must be between 0 and 50"),
            ("dataset=plane&loss=bce", "plane is a regression"),
            ("dropout=1", "dropout: must be between"),
            ("bn=yes", "bn: expected 0 or 1"),
        ] {
            let err = Experiment::parse(q).unwrap_err();
            assert!(err.contains(want), "{q}: {err}");
        }
    }

    #[test]
    fn plane_defaults_to_mse() {
        assert_eq!(Experiment::parse("dataset=plane").unwrap().loss, Loss::Mse);
    }

    #[test]
    fn toml_has_the_cli_keys() {
        let e =
            Experiment::parse("features=x1,x2,x1sq&layers=3&optimizer=sgd&momentum=0.9&l1=0.001")
                .unwrap();
        let t = e.to_toml("a \"b\".csv", "test.csv", 0);
        for want in [
            "seed = 1",
            "layers = [3, 3, 1]",
            "activation = \"tanh\"",
            "train = \"a \\\"b\\\".csv\"",
            "standardize = false",
            "loss = \"bce_with_logits\"",
            "momentum = 0.9",
            "l1 = 0.001",
            "lr = 0.03",
            "epochs = 1",
            "dropout = 0.0",
        ] {
            assert!(t.contains(want), "missing {want:?} in\n{t}");
        }
    }
}
