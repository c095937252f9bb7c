//! [`Mlp`]: the multi-layer perceptron of the tutorial and the CLI, built from a list of sizes.
//!
//! Its modules sit in `layers`, a [`ModuleList`] holding, in order, `Linear`, activation,
//! [`BatchNorm1d`], [`Dropout`], `Linear`, ... (each optional module present only when enabled,
//! and nothing after the last `Linear`), so parameter names match PyTorch's
//! `self.layers = nn.ModuleList([...])`: `layers.0.weight`, `layers.0.bias`, `layers.2.weight`...

use super::{
    init, init::FanMode, BatchNorm1d, Dropout, LeakyReLU, Linear, Module, ModuleList, ReLU, SiLU,
    Sigmoid, Tanh, ELU, GELU,
};
use crate::tensor::Tensor;
use crate::Error;
use std::fmt;
use std::str::FromStr;

/// The activation after each hidden `Linear`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Activation {
    /// `ReLU()`
    #[default]
    Relu,
    /// `Sigmoid()`
    Sigmoid,
    /// `Tanh()`
    Tanh,
    /// `LeakyReLU(negative_slope=0.01)`
    LeakyRelu,
    /// `GELU(approximate='none')`
    Gelu,
    /// `ELU(alpha=1.0)`
    Elu,
    /// `SiLU()`
    Silu,
}

impl Activation {
    /// The names accepted by `from_str`, as in configs.
    pub const NAMES: [&'static str; 7] = [
        "relu",
        "sigmoid",
        "tanh",
        "leaky_relu",
        "gelu",
        "elu",
        "silu",
    ];

    /// A new module computing this activation.
    pub fn module(self) -> Box<dyn Module> {
        match self {
            Activation::Relu => Box::new(ReLU),
            Activation::Sigmoid => Box::new(Sigmoid),
            Activation::Tanh => Box::new(Tanh),
            Activation::LeakyRelu => Box::new(LeakyReLU::default()),
            Activation::Gelu => Box::new(GELU),
            Activation::Elu => Box::new(ELU::default()),
            Activation::Silu => Box::new(SiLU),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "relu" => Ok(Activation::Relu),
            "sigmoid" => Ok(Activation::Sigmoid),
            "tanh" => Ok(Activation::Tanh),
            "leaky_relu" => Ok(Activation::LeakyRelu),
            "gelu" => Ok(Activation::Gelu),
            "elu" => Ok(Activation::Elu),
            "silu" => Ok(Activation::Silu),
            _ => Err(Error::invalid(format!("unknown activation \"{s}\""))),
        }
    }
}

/// How the `Linear` weights are initialised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InitScheme {
    /// PyTorch's `nn.Linear` default: weight and bias U(±1/√fan_in).
    #[default]
    Default,
    /// `xavier_uniform_(weight)` with gain 1.
    XavierUniform,
    /// `xavier_normal_(weight)` with gain 1.
    XavierNormal,
    /// `kaiming_uniform_(weight)` with PyTorch's defaults (a = 0, fan_in, gain √2).
    KaimingUniform,
    /// `kaiming_normal_(weight)` with PyTorch's defaults.
    KaimingNormal,
}

impl InitScheme {
    /// The names accepted by `from_str`, as in configs.
    pub const NAMES: [&'static str; 5] = [
        "default",
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
    ];

    /// Re-initialises `linear.weight` with this scheme (the bias keeps PyTorch's default
    /// U(±1/√fan_in), as when a PyTorch user calls only `init.xavier_uniform_(m.weight)`).
    pub fn apply(self, linear: &Linear) {
        let w = &linear.weight;
        match self {
            InitScheme::Default => {}
            InitScheme::XavierUniform => init::xavier_uniform(w, 1.0),
            InitScheme::XavierNormal => init::xavier_normal(w, 1.0),
            InitScheme::KaimingUniform => {
                init::kaiming_uniform(w, 0.0, FanMode::FanIn, "leaky_relu")
            }
            InitScheme::KaimingNormal => init::kaiming_normal(w, 0.0, FanMode::FanIn, "leaky_relu"),
        }
    }
}

impl FromStr for InitScheme {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "default" => Ok(InitScheme::Default),
            "xavier_uniform" => Ok(InitScheme::XavierUniform),
            "xavier_normal" => Ok(InitScheme::XavierNormal),
            "kaiming_uniform" => Ok(InitScheme::KaimingUniform),
            "kaiming_normal" => Ok(InitScheme::KaimingNormal),
            _ => Err(Error::invalid(format!("unknown init \"{s}\""))),
        }
    }
}

/// The shape of an [`Mlp`].
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// `[in, h1, ..., out]`: at least two sizes.
    pub sizes: Vec<usize>,
    /// The activation after every hidden `Linear` (never after the last).
    pub activation: Activation,
    /// A `BatchNorm1d` after each hidden activation.
    pub batch_norm: bool,
    /// A `Dropout(p)` after that, when `p > 0`.
    pub dropout: f64,
    /// Weight initialisation.
    pub init: InitScheme,
}

impl MlpConfig {
    /// A plain MLP with these sizes and ReLU.
    pub fn new(sizes: &[usize]) -> Self {
        MlpConfig {
            sizes: sizes.to_vec(),
            activation: Activation::Relu,
            batch_norm: false,
            dropout: 0.0,
            init: InitScheme::Default,
        }
    }
}

/// A multi-layer perceptron whose modules live in `layers` (PyTorch's names `layers.N.*`).
///
/// # Examples
/// ```
/// use backprop::nn::{Mlp, MlpConfig, Module};
/// let mlp = Mlp::new(&MlpConfig { batch_norm: true, ..MlpConfig::new(&[2, 8, 1]) });
/// let names: Vec<String> = mlp.state_dict().keys().map(String::from).collect();
/// assert_eq!(names[..2], ["layers.0.weight", "layers.0.bias"]);
/// assert_eq!(names[2], "layers.2.weight"); // BatchNorm1d after the ReLU
/// assert_eq!(names.last().unwrap(), "layers.3.bias");
/// ```
pub struct Mlp {
    /// The modules in order.
    pub layers: ModuleList,
}

impl Mlp {
    /// Builds the MLP, drawing initial weights from the global generator layer by layer.
    ///
    /// # Panics
    /// Panics if `config.sizes` has fewer than two entries or `dropout` is outside `[0, 1]`.
    #[track_caller]
    pub fn new(config: &MlpConfig) -> Mlp {
        let sizes = &config.sizes;
        assert!(
            sizes.len() >= 2,
            "Mlp: needs at least two sizes (inputs and outputs), got {sizes:?}"
        );
        let mut layers = ModuleList::new();
        for i in 0..sizes.len() - 1 {
            let linear = Linear::new(sizes[i], sizes[i + 1]);
            config.init.apply(&linear);
            layers.push(linear);
            if i + 2 < sizes.len() {
                layers.push_boxed(config.activation.module());
                if config.batch_norm {
                    layers.push(BatchNorm1d::new(sizes[i + 1]));
                }
                if config.dropout > 0.0 {
                    layers.push(Dropout::new(config.dropout));
                }
            }
        }
        Mlp { layers }
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.layers.forward(x)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("layers".into(), &self.layers)]
    }
    fn parameters(&self) -> Vec<Tensor> {
        self.layers.parameters()
    }
    fn set_training(&mut self, training: bool) {
        self.layers.set_training(training);
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![("layers".into(), &mut self.layers)]
    }
    fn type_name(&self) -> &'static str {
        "MLP"
    }
}

impl fmt::Display for Mlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_pytorchs_module_list() {
        let mlp = Mlp::new(&MlpConfig {
            batch_norm: true,
            dropout: 0.5,
            ..MlpConfig::new(&[3, 5, 4, 2])
        });
        let keys: Vec<String> = mlp.state_dict().keys().map(String::from).collect();
        assert_eq!(
            keys,
            [
                "layers.0.weight",
                "layers.0.bias",
                "layers.2.weight",
                "layers.2.bias",
                "layers.2.running_mean",
                "layers.2.running_var",
                "layers.2.num_batches_tracked",
                "layers.4.weight",
                "layers.4.bias",
                "layers.6.weight",
                "layers.6.bias",
                "layers.6.running_mean",
                "layers.6.running_var",
                "layers.6.num_batches_tracked",
                "layers.8.weight",
                "layers.8.bias",
            ]
        );
        assert_eq!(mlp.layers.len(), 9);
        assert_eq!(mlp.forward(&Tensor::ones(&[4, 3])).shape(), vec![4, 2]);
    }

    #[test]
    fn xavier_init_respects_its_bound() {
        let _global = crate::testing::global_state();
        crate::manual_seed(3);
        let mlp = Mlp::new(&MlpConfig {
            init: InitScheme::XavierUniform,
            ..MlpConfig::new(&[30, 20, 1])
        });
        let w = mlp.layers[0]
            .downcast_ref::<Linear>()
            .unwrap()
            .weight
            .to_vec();
        let bound = (6.0f32 / 50.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= bound));
        // Default init would stay within 1/√30 ≈ 0.18; xavier reaches past it.
        assert!(w.iter().any(|v| v.abs() > 0.2));
    }

    #[test]
    fn prints_like_pytorch() {
        let mlp = Mlp::new(&MlpConfig::new(&[2, 4, 1]));
        assert_eq!(
            mlp.to_string(),
            "MLP(\n  (layers): ModuleList(\n    (0): Linear(in_features=2, out_features=4, bias=True)\n    (1): ReLU()\n    (2): Linear(in_features=4, out_features=1, bias=True)\n  )\n)"
        );
    }
}
