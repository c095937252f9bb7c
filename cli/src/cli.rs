//! Command-line flags (clap). Raw flags only: `main` turns them into validated options.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub const AFTER_HELP: &str = "\
Examples:
  backprop                                   train the default digits classifier (same as `backprop train`)
  backprop train --config mlp.toml --out runs/mine --metrics metrics.jsonl
  backprop predict --config mlp.toml --model runs/mine/model.safetensors --input x.csv --output y.csv --classes
  backprop eval --config mlp.toml --model runs/mine/model.safetensors --data test.csv
  backprop tour --section 3                  run section 3 of the MLP/backprop tutorial
  backprop playground --export site          the playground page (`backprop playground` serves it) as files

A config (TOML):
  seed = 0
  device = \"auto\"              # cpu cuda cuda:N auto (default: a GPU when there is one and the model is large enough)
  tf32 = false                 # true: TF32 tensor cores for products on a GPU (PyTorch's allow_tf32)
  [model]
  layers = [4, 16, 3]          # inputs, hidden sizes..., outputs (\"auto\" first/last: from the data)
  activation = \"relu\"          # relu sigmoid tanh leaky_relu gelu elu silu
  batch_norm = false
  dropout = 0.0
  init = \"default\"             # default xavier_uniform xavier_normal kaiming_uniform kaiming_normal
  [data]
  train = \"iris\"               # xor digits iris, a CSV path, or train_x/train_y (.npy or MNIST IDX)
  test = 0.2                   # a fraction of train (stratified for classifiers), or a file (or test_x/test_y)
  validation = 0.1             # the same, for early_stopping (optional; or validation_x/validation_y)
  target = \"label\"             # CSV target column (default: the last); text labels become classes, sorted
  # features = [\"a\", \"b\"]      # CSV feature columns by name, in the model's order (default: all but target and drop)
  drop = []                    # CSV columns left out
  # header = false             # CSV without a header row: columns are named by position, 0 1 2 ...
  # delimiter = \";\"            # , ; \\t or \"tab\" (default: detected from the first line)
  decimal = \".\"                # the decimal mark: . or , (\"5,1\" with a ; or tab delimiter)
  na_values = [\"\", \"NA\", \"NaN\", \"null\"]  # cells that are missing values
  impute = \"error\"             # error mean median most_frequent: fills a missing cell (training split's statistics)
  categorical = []             # columns one-hot encoded even when numbers (text columns always are)
  unknown_categories = \"zeros\" # zeros (one warning with a count) or error: a category training did not see
  standardize = true           # default; features scaled by the training set's mean and std
  [train]
  loss = \"cross_entropy\"       # mse cross_entropy bce_with_logits l1 smooth_l1
  optimizer = \"adam\"           # sgd adam adamw rmsprop; lr weight_decay for all, and only the optimizer's own:
                               #   sgd: momentum nesterov dampening; adam/adamw: betas eps amsgrad; rmsprop: alpha eps momentum centered
  lr = 0.01                    # default 0.01 (sgd: 0.1); the rest default to PyTorch's
  scheduler = \"none\"           # none step multistep exponential cosine plateau, and only its own keys:
                               #   step: step_size gamma; multistep: milestones gamma; exponential: gamma; cosine: t_max eta_min
                               #   plateau (ReduceLROnPlateau on the validation loss; needs validation):
                               #   factor patience threshold threshold_mode cooldown min_lr (PyTorch's defaults)
  # class_weight = \"balanced\"  # cross_entropy, bce_with_logits: \"balanced\", [w0, w1, ...] or { \"0\" = 1.0, \"1\" = 4.0 }
  # decision_threshold = 0.5   # bce_with_logits with one output (a binary classifier): class 1 when sigmoid(logit) > this
  epochs = 100                 # default 100
  batch_size = 16              # default 32; 0 = full batch
  shuffle = true
  drop_last = false            # true: skip each epoch's last batch when it is smaller (PyTorch's DataLoader)
  clip_grad_norm = 1.0         # optional
  l1 = 0.0                     # adds l1 * sum(abs(w)) over all parameters to each step's loss (and to the reported loss)
  early_stopping = 10          # optional: patience in epochs on the validation loss (needs validation); true = 10
  restore_best = true          # default; end with the best validation epoch's weights (else the last epoch's)
  min_delta = 0.0              # an improvement must lower the best validation loss by more than this

Relative paths in a config resolve against the config file's folder.";

/// `backprop train --help`'s text after the flags: what a run writes, and every `[data]` key
/// for CSV files.
pub const TRAIN_HELP: &str = "\
Example:
  backprop train --config mlp.toml --save model.safetensors --metrics metrics.jsonl

Writes model.safetensors (PyTorch's parameter names), config.toml, metrics.jsonl and report.html
(unless --no-report) into the run folder (--out DIR, or runs/<name>-<time>). --metrics writes one
JSON object per epoch: epoch, loss, lr, and validation/test metrics when there is such data
(val_loss, val_accuracy; a binary classifier's val_precision, val_recall, val_f1, val_auc; a
regressor's val_mse, val_mae, val_r2; the same with test_), then time_s (the epoch's seconds, to the
microsecond) and device. The whole config is in `backprop --help`.

Ctrl-C, SIGTERM or SIGHUP finish the step, write checkpoint.safetensors and exit with 130, 143 or
129 (continue with --resume DIR); a second signal stops at once and leaves a file INCOMPLETE saying
what the folder holds. A run folder takes one run at a time (a second one is refused).

[data] keys (a CSV read as a table; the model file stores what was learned, so predict and eval
pick the same columns by name and encode them the same way):
  train test validation    a CSV path, a built-in name (xor digits iris), or a fraction (test, validation)
  train_x train_y test_x test_y validation_x validation_y   .npy or MNIST IDX feature/target files
  target                   the target column (default: the last); text labels are class names, indexed
                           in sorted order; with header = false, a position (target = 4)
  features                 the feature columns by name, in the model's order (default: every column
                           but target and drop)
  drop                     columns left out (an ID column, a free-text note)
  header                   unset: a header row is expected, and a first row that looks like data is an
                           error; false: no header row, columns are named by position \"0\" \"1\" ...
  delimiter                \",\" \";\" \"\\t\" (or \"tab\"); default: detected from the first line
  decimal                  \".\" (default) or \",\": the decimal mark of numbers (5,1 in a ;-separated file)
  na_values                cells that are missing (default [\"\", \"NA\", \"NaN\", \"null\"])
  impute                   error (default: a missing cell stops with its line and column), mean, median,
                           most_frequent; the training split's statistics (text columns: most frequent)
  categorical              columns one-hot encoded even when they hold numbers (text columns always are,
                           with features named column=category)
  unknown_categories       zeros (default: a category training did not see gives all zeros, with one
                           warning line) or error
  standardize              features scaled by the training split's mean and std (default true)
A column that looks like a row ID (a different number or text in every row) is used, with a warning.
[model] layers may start and end with \"auto\": the inputs after encoding, the classes or targets.";

/// Train, evaluate and run multi-layer perceptrons from files, with PyTorch-compatible weights.
#[derive(Parser, Debug)]
#[command(name = "backprop", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Threads for large matrix products and elementwise passes (default: the
    /// BACKPROP_NUM_THREADS environment variable, else one per core). Results do not depend on it.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train an MLP (with no --config: the default classifier on the embedded digits dataset).
    #[command(after_help = TRAIN_HELP)]
    Train(TrainArgs),
    /// Run a trained model on inputs (eval mode: BatchNorm running statistics, no dropout).
    #[command(
        after_help = "Example:\n  backprop predict --config mlp.toml --model model.safetensors --input x.csv --output y.npy\n\n\
A model trained on a CSV reads its columns from the input CSV by name (any order; other columns,\n\
the target's among them, are ignored) and applies the stored encoding (categories, missing-value\n\
fills, standardisation); otherwise the columns are the features by position (or a 2-D .npy).\n\
Outputs are raw (no softmax), one row per input row, as CSV with a header (a regressor's column\n\
is named after its target) or as float32 .npy of shape [rows, outputs]. --classes writes the\n\
predicted class instead (its name for text labels), --class-index its index (class names in\n\
sorted order), --proba one probability column per class, named by class."
    )]
    Predict(PredictArgs),
    /// Evaluate a trained model on a dataset: loss, accuracy, per-class precision/recall and
    /// confusion matrix for classifiers; MSE, MAE and R² for regressors.
    #[command(
        after_help = "Example:\n  backprop eval --config mlp.toml --model model.safetensors --data test.csv\n\n\
--data takes what `train` takes: a CSV (the model's columns by name, text labels by class name),\n\
a built-in name, or a features file with its targets: --data x.npy --labels y.npy (or MNIST IDX)."
    )]
    Eval(EvalArgs),
    /// Run the tutorial's eight sections (or one), printing what each prints and saving its
    /// figures.
    #[command(
        after_help = "Examples:\n  backprop tour --section 7 --out figures\n  backprop tour --html --out site            the whole tour as one page, site/tour.html\n\n\
Sections: 1 architecture diagram, 2 a neuron, 3 backprop by hand, 4 an MLP from scratch,\n\
5 autograd and its graph, 6 nn + Adam on XOR, 7 gradient pictures, 8 BatchNorm/Dropout/StepLR.\n\
Figures go to --out DIR (made if missing) or a new tour/ folder; seeds are fixed, so every\n\
run prints the same numbers. The code is the library's `backprop::tour` module."
    )]
    Tour(TourArgs),
    /// Serve the playground on 127.0.0.1: a page where a small MLP trains on 2-D data in the
    /// browser (the library compiled to WebAssembly), with every neuron's output, the weights,
    /// the gradients and the backward pass of one point shown live.
    #[command(
        after_help = "Examples:\n  backprop playground --port 8000     then open the URL it prints\n  \
backprop playground --export site   write the page's files (index.html, app.js, style.css,\n  \
playground.wasm) into site/, to serve from anywhere\n\n\
The whole experiment lives in the page's URL (e.g. ?dataset=spiral&layers=8,8&activation=relu),\n\
so a link reproduces a run. The page downloads config.toml, train.csv, test.csv and\n\
model.safetensors for `backprop predict`, and loads a model.safetensors back."
    )]
    Playground(PlaygroundArgs),
}

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// The TOML config (default: the digits classifier).
    #[arg(long, value_name = "C.toml")]
    pub config: Option<PathBuf>,
    /// Start from these weights (safetensors with PyTorch's names) instead of `init`.
    #[arg(long, value_name = "W.safetensors")]
    pub init: Option<PathBuf>,
    /// Also write the final weights here.
    #[arg(long, value_name = "OUT.safetensors")]
    pub save: Option<PathBuf>,
    /// Write per-epoch metrics here as JSON lines.
    #[arg(long, value_name = "M.jsonl")]
    pub metrics: Option<PathBuf>,
    /// The run folder, made if missing (default: a new runs/<name>-<time>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a checkpoint (model, optimizer, scheduler, epoch, RNG) every N epochs.
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// Continue the run whose folder holds checkpoint.safetensors (checked against the config
    /// first: epoch, learning rate, optimizer and scheduler settings).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// No progress output (errors and the final summary only).
    #[arg(long, short)]
    pub quiet: bool,
    /// Where to run: cpu, cuda, cuda:N or auto (overrides the config's `device`).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
    /// Write no report.html (and spend no time making it).
    #[arg(long)]
    pub no_report: bool,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// The TOML config the model was trained with.
    #[arg(long, value_name = "C.toml")]
    pub config: PathBuf,
    /// The trained weights.
    #[arg(long, value_name = "W.safetensors")]
    pub model: PathBuf,
    /// Inputs: CSV with a header (feature columns only) or .npy.
    #[arg(long, value_name = "X.csv|X.npy")]
    pub input: PathBuf,
    /// Where to write outputs: .csv or .npy.
    #[arg(long, value_name = "Y.csv|Y.npy")]
    pub output: PathBuf,
    /// Write the predicted class instead of raw outputs: its name for a model trained on text
    /// labels (the number for numeric labels), in a column named after the target.
    #[arg(long)]
    pub classes: bool,
    /// Write the predicted class's index (0..K-1, class names in sorted order) instead of its
    /// name.
    #[arg(long)]
    pub class_index: bool,
    /// Write class probabilities (softmax; for one bce_with_logits output, 1 - p and p), one
    /// column per class named by the class name. With --classes, the class column comes first.
    #[arg(long)]
    pub proba: bool,
    /// Where to run: cpu, cuda, cuda:N or auto (overrides the config's `device`).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The TOML config the model was trained with.
    #[arg(long, value_name = "C.toml")]
    pub config: PathBuf,
    /// The trained weights.
    #[arg(long, value_name = "W.safetensors")]
    pub model: PathBuf,
    /// The dataset: a CSV path, a built-in name (xor, digits, iris), or a features file
    /// (.npy or MNIST IDX) with --labels.
    #[arg(long, value_name = "D")]
    pub data: String,
    /// The targets of a features file given as --data (.npy or MNIST IDX).
    #[arg(long, value_name = "Y.npy")]
    pub labels: Option<PathBuf>,
    /// Where to run: cpu, cuda, cuda:N or auto (overrides the config's `device`).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
}

#[derive(Args, Debug)]
pub struct TourArgs {
    /// Run only this section (1 to 8).
    #[arg(long, value_name = "N")]
    pub section: Option<usize>,
    /// Save figures here (made if missing; default: a new tour/ folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write one self-contained tour.html (prose, code, output and figures of each section)
    /// into --out DIR or the current folder, instead of printing.
    #[arg(long)]
    pub html: bool,
}

#[derive(Args, Debug)]
pub struct PlaygroundArgs {
    /// The port to serve on, on 127.0.0.1 (0: any free port).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 8000,
        conflicts_with = "export"
    )]
    pub port: u16,
    /// Write the page's files into DIR (made if missing) instead of serving them.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
}
