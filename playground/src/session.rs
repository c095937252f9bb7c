//! A training session: the experiment's data, its model (an [`Mlp`] with PyTorch's names),
//! its optimizer, and everything the page draws: the losses, every neuron's output over the
//! plane, the weights and gradients of each layer, the diagnostics, and the backward pass of
//! one point, computed by hand from the chain rule and checked against autograd.
//!
//! Three seeded streams make a session repeatable: the data and the train/test split come from
//! `Generator::new(seed)`, the initial weights from `seed + 1` (each `Linear` initialised as
//! PyTorch does), the shuffling from `seed + 2`. Dropout masks come from the global generator,
//! which [`Session::new`] seeds with `seed + 3` when dropout is on.

use crate::backward::sigmoid;
use crate::datasets::{self, DatasetKind, Points};
use crate::experiment::{Experiment, Loss, OptimizerKind};
use backprop::io::safetensors;
use backprop::nn::{self, BatchNorm1d, Dropout, Linear, Mlp, Module, ModuleList, Reduction};
use backprop::optim::{l1_penalty, Adam, AdamConfig, Optimizer, SGDConfig, SGD};
use backprop::rng::Generator;
use backprop::{no_grad, Array, Tensor};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A gradient norm ratio between the first and the last layer beyond this (either way) is
/// flagged as vanishing or exploding (the training report's rule).
pub const LAYER_RATIO: f32 = 100.0;

/// One epoch's record.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// The epoch (1 for the first).
    pub epoch: usize,
    /// The loss on the training points, after the epoch, in eval mode.
    pub train_loss: f32,
    /// The loss on the test points.
    pub test_loss: f32,
    /// The mean over the epoch's steps of each layer's weight-gradient 2-norm.
    pub grad_norms: Vec<f32>,
}

/// Builds the experiment's model with the same modules (and so the same names) as the CLI's
/// `Mlp::new`, drawing the weights from `generator`.
pub fn build_model(e: &Experiment, generator: &mut Generator) -> Mlp {
    let sizes = e.sizes();
    let mut layers = ModuleList::new();
    for i in 0..sizes.len() - 1 {
        layers.push(Linear::with_generator(
            sizes[i],
            sizes[i + 1],
            true,
            generator,
        ));
        if i + 2 < sizes.len() {
            layers.push_boxed(e.activation.module());
            if e.batch_norm {
                layers.push(BatchNorm1d::new(sizes[i + 1]));
            }
            if e.dropout > 0.0 {
                layers.push(Dropout::new(e.dropout));
            }
        }
    }
    Mlp { layers }
}

/// The experiment's optimizer over `params`.
pub fn build_optimizer(e: &Experiment, params: Vec<Tensor>) -> Result<Box<dyn Optimizer>, String> {
    let opt: Box<dyn Optimizer> = match e.optimizer {
        OptimizerKind::Sgd => Box::new(
            SGD::new(
                params,
                SGDConfig {
                    lr: e.lr,
                    momentum: e.momentum,
                    weight_decay: e.weight_decay,
                    ..Default::default()
                },
            )
            .map_err(|err| err.to_string())?,
        ),
        OptimizerKind::Adam => Box::new(
            Adam::new(
                params,
                AdamConfig {
                    lr: e.lr,
                    weight_decay: e.weight_decay,
                    ..Default::default()
                },
            )
            .map_err(|err| err.to_string())?,
        ),
    };
    Ok(opt)
}

/// The experiment's loss of `(output, target)`, averaged over the rows.
pub fn loss(kind: Loss, out: &Tensor, y: &Tensor) -> Tensor {
    match kind {
        Loss::Bce => nn::binary_cross_entropy_with_logits(out, y, None, Reduction::Mean, None),
        Loss::Mse => nn::mse_loss(out, y, Reduction::Mean),
        Loss::L1 => nn::l1_loss(out, y, Reduction::Mean),
    }
}

/// The features of each point, `[n, features]`.
pub fn features(e: &Experiment, pts: &Points) -> Array {
    let d = e.features.len();
    let mut data = Vec::with_capacity(pts.len() * d);
    for p in &pts.x {
        data.extend(e.features.iter().map(|f| f.eval(p[0], p[1])));
    }
    Array::new(&[pts.len(), d], data)
}

fn targets(pts: &Points) -> Array {
    Array::new(&[pts.len(), 1], pts.y.clone())
}

fn rows(a: &Array, idx: &[usize]) -> Array {
    let w = a.shape()[1];
    let mut data = Vec::with_capacity(idx.len() * w);
    for &i in idx {
        data.extend_from_slice(&a.data()[i * w..(i + 1) * w]);
    }
    Array::new(&[idx.len(), w], data)
}

/// A training session.
pub struct Session {
    pub(crate) exp: Experiment,
    pub(crate) model: Mlp,
    optimizer: Box<dyn Optimizer>,
    /// The positions of the `Linear`s in `model.layers`.
    pub(crate) linears: Vec<usize>,
    pub(crate) train: Points,
    test: Points,
    pub(crate) train_x: Array,
    train_y: Array,
    test_x: Array,
    test_y: Array,
    shuffle: Generator,
    order: Vec<usize>,
    cursor: usize,
    steps: usize,
    epoch: usize,
    history: Vec<EpochRecord>,
    norm_sums: Vec<f32>,
    norm_count: usize,
    last_grads: Vec<(Vec<f32>, Vec<f32>)>,
}

impl Session {
    /// A fresh session; `uploaded` holds the points of an uploaded CSV (needed for, and only
    /// used with, dataset `csv`).
    pub fn new(exp: Experiment, uploaded: Option<&Points>) -> Result<Session, String> {
        let mut data_gen = Generator::new(exp.seed);
        let pts = match (exp.dataset, uploaded) {
            (DatasetKind::Csv, Some(p)) => p.clone(),
            (DatasetKind::Csv, None) => {
                return Err("dataset csv: upload a CSV of x1, x2, target first".into())
            }
            (kind, _) => datasets::generate(kind, exp.points, exp.noise, &mut data_gen),
        };
        if exp.loss == Loss::Bce && !pts.is_binary() {
            return Err(
                "loss bce: the targets must be 0 or 1; choose mse or l1 for numbers".into(),
            );
        }
        let (train, test) = datasets::split(&pts, exp.train_percent, &mut data_gen);
        let model = build_model(&exp, &mut Generator::new(exp.seed.wrapping_add(1)));
        if exp.dropout > 0.0 {
            backprop::manual_seed(exp.seed.wrapping_add(3));
        }
        let optimizer = build_optimizer(&exp, model.parameters())?;
        let linears = (0..model.layers.len())
            .filter(|&i| model.layers.get(i).is_some_and(|m| m.is::<Linear>()))
            .collect::<Vec<_>>();
        let n_layers = linears.len();
        Ok(Session {
            train_x: features(&exp, &train),
            train_y: targets(&train),
            test_x: features(&exp, &test),
            test_y: targets(&test),
            shuffle: Generator::new(exp.seed.wrapping_add(2)),
            exp,
            model,
            optimizer,
            linears,
            train,
            test,
            order: Vec::new(),
            cursor: 0,
            steps: 0,
            epoch: 0,
            history: Vec::new(),
            norm_sums: vec![0.0; n_layers],
            norm_count: 0,
            last_grads: Vec::new(),
        })
    }

    /// The experiment.
    pub fn experiment(&self) -> &Experiment {
        &self.exp
    }

    /// The model.
    pub fn model(&self) -> &Mlp {
        &self.model
    }

    /// The training and the test points.
    pub fn points(&self) -> (&Points, &Points) {
        (&self.train, &self.test)
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Epochs completed so far.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// One record per completed epoch.
    pub fn history(&self) -> &[EpochRecord] {
        &self.history
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.train
            .len()
            .div_ceil(self.exp.batch_size.min(self.train.len()).max(1))
    }

    pub(crate) fn linear(&self, l: usize) -> &Linear {
        self.model
            .layers
            .get(self.linears[l])
            .and_then(|m| m.downcast_ref::<Linear>())
            .expect("a Linear at a recorded position")
    }

    /// One optimizer step on the next batch (a new epoch draws a new permutation, as
    /// `DataLoader::iter` does); returns the batch's loss before the update.
    pub fn step(&mut self) -> f32 {
        let n = self.train.len();
        if self.cursor == 0 {
            self.order = self.shuffle.randperm(n);
        }
        let end = (self.cursor + self.exp.batch_size.max(1)).min(n);
        let idx = &self.order[self.cursor..end];
        let x = Tensor::from_array(rows(&self.train_x, idx));
        let y = Tensor::from_array(rows(&self.train_y, idx));
        self.model.set_training(true);
        self.optimizer.zero_grad();
        let out = self.model.forward(&x);
        let mut l = loss(self.exp.loss, &out, &y);
        if self.exp.l1 > 0.0 {
            l = &l + &(&l1_penalty(&self.model.parameters()) * self.exp.l1 as f32);
        }
        let value = l.item();
        l.backward();
        self.last_grads = (0..self.linears.len())
            .map(|i| {
                let lin = self.linear(i);
                let g = |t: &Tensor| {
                    t.grad()
                        .map(|g| g.to_vec())
                        .unwrap_or_else(|| vec![0.0; t.numel()])
                };
                (g(&lin.weight), g(lin.bias.as_ref().expect("bias")))
            })
            .collect();
        for (sum, (w, _)) in self.norm_sums.iter_mut().zip(&self.last_grads) {
            *sum += w.iter().map(|v| v * v).sum::<f32>().sqrt();
        }
        self.norm_count += 1;
        self.optimizer.step();
        self.steps += 1;
        self.cursor = end;
        if self.cursor >= n {
            self.cursor = 0;
            self.end_epoch();
        }
        value
    }

    fn end_epoch(&mut self) {
        self.epoch += 1;
        let grad_norms = self
            .norm_sums
            .iter()
            .map(|s| s / self.norm_count.max(1) as f32)
            .collect();
        self.norm_sums.iter_mut().for_each(|s| *s = 0.0);
        self.norm_count = 0;
        let (train_loss, test_loss) = self.losses();
        self.history.push(EpochRecord {
            epoch: self.epoch,
            train_loss,
            test_loss,
            grad_norms,
        });
    }

    /// Runs `n` steps; returns the last step's loss (NaN for `n = 0`).
    pub fn steps_n(&mut self, n: usize) -> f32 {
        let mut last = f32::NAN;
        for _ in 0..n {
            last = self.step();
        }
        last
    }

    /// Runs steps to the end of the current epoch (a whole one from an epoch's start).
    pub fn run_epoch(&mut self) -> f32 {
        let start = self.epoch;
        let mut last = f32::NAN;
        while self.epoch == start {
            last = self.step();
        }
        last
    }

    /// The model's outputs for `x`, in eval mode and without a graph.
    fn eval_forward(&mut self, x: &Array) -> Array {
        self.model.set_training(false);
        let out = no_grad(|| self.model.forward(&Tensor::from_array(x.clone())));
        self.model.set_training(true);
        let a = out.array().clone();
        a
    }

    fn set_loss(&mut self, x: &Array, y: &Array) -> f32 {
        if x.shape()[0] == 0 {
            return f32::NAN;
        }
        let out = self.eval_forward(x);
        no_grad(|| {
            loss(
                self.exp.loss,
                &Tensor::from_array(out),
                &Tensor::from_array(y.clone()),
            )
            .item()
        })
    }

    /// The current train and test losses (eval mode).
    pub fn losses(&mut self) -> (f32, f32) {
        let (tx, ty) = (self.train_x.clone(), self.train_y.clone());
        let (vx, vy) = (self.test_x.clone(), self.test_y.clone());
        (self.set_loss(&tx, &ty), self.set_loss(&vx, &vy))
    }

    /// The model's raw outputs (logits for `bce`) on the training (`test = false`) or the
    /// test points, in eval mode: what `backprop predict` prints for the CSV of [`Session::csv`].
    pub fn outputs(&mut self, test: bool) -> Vec<f32> {
        let x = if test {
            self.test_x.clone()
        } else {
            self.train_x.clone()
        };
        self.eval_forward(&x).data().to_vec()
    }

    /// Every neuron's output over a `res × res` grid of the plane [-6, 6]² (row 0 at x2 = 6,
    /// column 0 at x1 = -6, cell centres), in eval mode: the input features first, then each
    /// hidden layer's neurons (after activation, BatchNorm and dropout), then the output
    /// (through the sigmoid for `bce`). Neuron after neuron, `res²` values each.
    pub fn heatmaps(&mut self, res: usize) -> Vec<f32> {
        let res = res.clamp(2, 256);
        let mut pts = Points::default();
        for r in 0..res {
            for c in 0..res {
                let x1 = -6.0 + 12.0 * (c as f32 + 0.5) / res as f32;
                let x2 = 6.0 - 12.0 * (r as f32 + 0.5) / res as f32;
                pts.x.push([x1, x2]);
                pts.y.push(0.0);
            }
        }
        let x = features(&self.exp, &pts);
        let mut blocks: Vec<Array> = vec![x.clone()];
        self.model.set_training(false);
        no_grad(|| {
            let mut t = Tensor::from_array(x);
            let n = self.model.layers.len();
            for i in 0..n {
                let m = self.model.layers.get(i).expect("in range");
                t = m.forward(&t);
                let next_is_linear = self
                    .model
                    .layers
                    .get(i + 1)
                    .is_some_and(|m| m.is::<Linear>());
                if next_is_linear || i + 1 == n {
                    blocks.push(t.array().clone());
                }
            }
        });
        self.model.set_training(true);
        let mut out = Vec::new();
        let last = blocks.len() - 1;
        for (b, a) in blocks.iter().enumerate() {
            let w = a.shape()[1];
            for j in 0..w {
                out.extend((0..res * res).map(|p| {
                    let v = a.data()[p * w + j];
                    if b == last && self.exp.loss == Loss::Bce {
                        sigmoid(v)
                    } else {
                        v
                    }
                }));
            }
        }
        out
    }

    /// Hidden neurons that output the same value on every training point (`(layer, neuron)`;
    /// a ReLU that is 0 everywhere is the usual case: no gradient reaches its weights).
    pub fn dead_units(&mut self) -> Vec<(usize, usize)> {
        let x = self.train_x.clone();
        let mut dead = Vec::new();
        self.model.set_training(false);
        no_grad(|| {
            let mut t = Tensor::from_array(x);
            let mut layer = 0;
            let n = self.model.layers.len();
            for i in 0..n {
                let m = self.model.layers.get(i).expect("in range");
                if m.is::<Linear>() && i > 0 {
                    layer += 1;
                }
                t = m.forward(&t);
                // The activation's own output, before BatchNorm or dropout.
                let is_activation = i > 0
                    && self
                        .model
                        .layers
                        .get(i - 1)
                        .is_some_and(|p| p.is::<Linear>())
                    && i + 1 < n
                    && !m.is::<Linear>();
                if is_activation {
                    let a = t.array();
                    let w = a.shape()[1];
                    let rows = a.shape()[0];
                    for j in 0..w {
                        let first = a.data()[j];
                        if (0..rows).all(|r| (a.data()[r * w + j] - first).abs() < 1e-7) {
                            dead.push((layer, j));
                        }
                    }
                }
            }
        });
        self.model.set_training(true);
        dead
    }

    /// The first layer's weight-gradient norm over the last's, in the last epoch (`None`
    /// before an epoch or with a single layer).
    pub fn gradient_ratio(&self) -> Option<f32> {
        let last = self.history.last()?;
        if last.grad_norms.len() < 2 {
            return None;
        }
        let (a, b) = (last.grad_norms[0], *last.grad_norms.last().expect("two"));
        Some(a / b)
    }

    /// The weights as `model.safetensors` (PyTorch's names), with the metadata `backprop
    /// predict` reads and the experiment's query.
    pub fn safetensors(&self) -> Result<Vec<u8>, String> {
        let mut meta = BTreeMap::new();
        meta.insert("format".to_string(), "backprop-mlp".to_string());
        meta.insert(
            "feature_names".to_string(),
            self.exp
                .features
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(","),
        );
        meta.insert("target".to_string(), "label".to_string());
        meta.insert("playground".to_string(), self.exp.to_query());
        safetensors::to_bytes(&self.model.state_dict(), Some(&meta)).map_err(|e| e.to_string())
    }

    /// Loads weights (e.g. a `model.safetensors` that `backprop train` wrote for a config of
    /// this shape); a missing name or a wrong shape is refused and leaves the model as it was.
    pub fn load_safetensors(&mut self, bytes: &[u8]) -> Result<(), String> {
        let (state, _) =
            safetensors::from_bytes(bytes).map_err(|e| format!("model.safetensors: {e}"))?;
        self.model
            .load_state_dict(&state)
            .map_err(|e| format!("model.safetensors: {e}"))?;
        // The optimizer's state belonged to the old weights.
        self.optimizer = build_optimizer(&self.exp, self.model.parameters())?;
        Ok(())
    }

    /// A CSV of the points (`features..., label`): the training set or the test set, as the
    /// config of [`Experiment::to_toml`] reads them.
    pub fn csv(&self, test: bool) -> String {
        let (x, y) = if test {
            (&self.test_x, &self.test.y)
        } else {
            (&self.train_x, &self.train.y)
        };
        let mut s: String = self
            .exp
            .features
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(",");
        s.push_str(",label\n");
        let d = x.shape()[1];
        for (i, t) in y.iter().enumerate() {
            for v in &x.data()[i * d..(i + 1) * d] {
                s.push_str(&format!("{v:?},"));
            }
            s.push_str(&format!("{t:?}\n"));
        }
        s
    }

    /// What the page draws each frame, as JSON: counters, losses, the history from epoch
    /// `from` on, weights and last gradients per layer, diagnostics.
    pub fn state_json(&mut self, from: usize) -> String {
        let (train_loss, test_loss) = self.losses();
        let layers: Vec<Value> = (0..self.linears.len())
            .map(|l| {
                let lin = self.linear(l);
                let (gw, gb) = self.last_grads.get(l).cloned().unwrap_or_else(|| {
                    (vec![0.0; lin.weight.numel()], vec![0.0; lin.out_features])
                });
                json!({
                    "in": lin.in_features,
                    "out": lin.out_features,
                    "weight": finite(&lin.weight.to_vec()),
                    "bias": finite(&lin.bias.as_ref().expect("bias").to_vec()),
                    "grad_weight": finite(&gw),
                    "grad_bias": finite(&gb),
                })
            })
            .collect();
        let history: Vec<Value> = self
            .history
            .iter()
            .skip(from)
            .map(|r| {
                json!({"epoch": r.epoch, "train": num(r.train_loss), "test": num(r.test_loss),
                       "grad_norms": finite(&r.grad_norms)})
            })
            .collect();
        let dead = self.dead_units();
        json!({
            "steps": self.steps,
            "epoch": self.epoch,
            "batches_per_epoch": self.batches_per_epoch(),
            "train_loss": num(train_loss),
            "test_loss": num(test_loss),
            "history": history,
            "layers": layers,
            "dead": dead,
            "gradient_ratio": self.gradient_ratio().map(num),
            "regression": self.exp.loss != Loss::Bce,
        })
        .to_string()
    }

    /// The training and test points as JSON (`x1, x2, target` each).
    pub fn points_json(&self) -> String {
        let pts = |p: &Points| -> Vec<[f32; 3]> {
            p.x.iter()
                .zip(&p.y)
                .map(|(x, &y)| [x[0], x[1], y])
                .collect()
        };
        json!({"train": pts(&self.train), "test": pts(&self.test)}).to_string()
    }
}

/// A JSON number, or null for NaN and infinities (which JSON cannot hold).
pub(crate) fn num(v: f32) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

pub(crate) fn finite(v: &[f32]) -> Vec<Value> {
    v.iter().map(|&x| num(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop::data::DataLoader;
    use backprop::train::{train_epoch, StepOptions};

    fn session(q: &str) -> Session {
        Session::new(Experiment::parse(q).unwrap(), None).unwrap()
    }

    #[test]
    fn same_seed_same_trajectory_other_seed_another() {
        let mut a = session("seed=4");
        let mut b = session("seed=4");
        let mut c = session("seed=5");
        let la: Vec<f32> = (0..30).map(|_| a.step()).collect();
        let lb: Vec<f32> = (0..30).map(|_| b.step()).collect();
        let lc: Vec<f32> = (0..30).map(|_| c.step()).collect();
        assert_eq!(la, lb);
        assert_ne!(la, lc);
        assert_eq!(
            a.model().state_dict().to_string(),
            b.model().state_dict().to_string()
        );
    }

    /// The session's numbers are the library's: the same model, optimizer, data and shuffling
    /// built directly with `backprop` and trained with `train_epoch` give the same weights.
    #[test]
    fn matches_the_native_library_path() {
        for q in [
            "seed=7",
            "seed=3&optimizer=adam&lr=0.01&layers=5,3&activation=relu&l1=0.001&wd=0.01&features=x1,x2,x1x2",
            "seed=2&dataset=plane&optimizer=sgd&momentum=0.9&lr=0.01&batch=7&bn=1",
        ] {
            let e = Experiment::parse(q).unwrap();
            let mut s = Session::new(e.clone(), None).unwrap();
            for _ in 0..3 {
                s.run_epoch();
            }
            // The library path.
            let mut g = Generator::new(e.seed);
            let pts = datasets::generate(e.dataset, e.points, e.noise, &mut g);
            let (train, _) = datasets::split(&pts, e.train_percent, &mut g);
            let model = build_model(&e, &mut Generator::new(e.seed + 1));
            let mut opt = build_optimizer(&e, model.parameters()).unwrap();
            let (x, y) = (features(&e, &train), targets(&train));
            let loader = DataLoader::from_arrays(&x, &y, e.batch_size, true);
            let mut shuffle = Generator::new(e.seed + 2);
            let kind = e.loss;
            let loss_fn = move |o: &Tensor, t: &Tensor| loss(kind, o, t);
            let options = StepOptions {
                clip_grad_norm: None,
                l1: e.l1,
            };
            for _ in 0..3 {
                train_epoch(&model, &loss_fn, opt.as_mut(), &loader, &mut shuffle, &options, &mut |_, _| {});
            }
            let got = s.model().state_dict();
            let want = model.state_dict();
            for (name, t) in want.iter() {
                let (a, b) = (t.as_f32(), got.get(name).and_then(|t| t.as_f32()));
                if let (Some(a), Some(b)) = (a, b) {
                    assert_eq!(a, b, "{q}: {name}");
                }
            }
            assert_eq!(s.epoch(), 3);
            assert_eq!(s.steps(), 3 * loader.len());
        }
    }

    #[test]
    fn xor_default_learns() {
        let mut s = session("seed=1&lr=0.1");
        let (first, _) = s.losses();
        for _ in 0..150 {
            s.run_epoch();
        }
        let (last, test) = s.losses();
        assert!(
            last < 0.2 && last < first / 2.0,
            "train loss {first} -> {last}"
        );
        assert!(test < 0.3, "test loss {test}");
        assert_eq!(s.history().len(), 150);
        assert!(s.history()[149].grad_norms.iter().all(|g| g.is_finite()));
    }

    #[test]
    fn heatmaps_cover_every_neuron() {
        let mut s = session("layers=3,2&features=x1,x2,x1sq");
        let h = s.heatmaps(10);
        // 3 inputs + 3 + 2 hidden + 1 output.
        assert_eq!(h.len(), 9 * 100);
        // The x1 feature's map rises left to right; the output is a probability.
        assert!(h[0] < h[9] && (h[0] + 5.4).abs() < 1e-5);
        assert!(h[8 * 100..].iter().all(|&p| (0.0..=1.0).contains(&p)));
        // The x2 feature is 5.4 at the top row.
        assert!((h[100] - 5.4).abs() < 1e-5);
    }

    #[test]
    fn safetensors_round_trip_with_pytorch_names() {
        let mut a = session("seed=9&layers=3");
        a.run_epoch();
        let bytes = a.safetensors().unwrap();
        let (state, meta) = safetensors::from_bytes(&bytes).unwrap();
        let names: Vec<&str> = state.keys().collect();
        assert_eq!(
            names,
            [
                "layers.0.bias",
                "layers.0.weight",
                "layers.2.bias",
                "layers.2.weight"
            ]
        );
        assert_eq!(meta.get("format").map(String::as_str), Some("backprop-mlp"));
        let mut b = session("seed=10&layers=3");
        assert_ne!(a.heatmaps(4), b.heatmaps(4));
        b.load_safetensors(&bytes).unwrap();
        assert_eq!(a.heatmaps(4), b.heatmaps(4));
        let mut c = session("layers=5");
        let err = c.load_safetensors(&bytes).unwrap_err();
        assert!(err.contains("layers.0"), "{err}");
        assert!(c
            .load_safetensors(b"junk")
            .unwrap_err()
            .starts_with("model.safetensors:"));
    }

    #[test]
    fn relu_with_a_huge_learning_rate_reports_dead_units() {
        let mut s = session("activation=relu&layers=8&lr=5&seed=3");
        for _ in 0..5 {
            s.run_epoch();
        }
        let json = s.state_json(0);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert!(!s.dead_units().is_empty(), "{json}");
        assert_eq!(v["history"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn csv_and_state_json_describe_the_session() {
        let mut s = session("features=x1,x2,x1x2&points=20");
        let csv = s.csv(false);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("x1,x2,x1x2,label"));
        assert_eq!(lines.count(), 10);
        let v: Value = serde_json::from_str(&s.state_json(0)).unwrap();
        assert_eq!(v["layers"].as_array().unwrap().len(), 3);
        assert_eq!(v["layers"][0]["weight"].as_array().unwrap().len(), 12);
        assert_eq!(s.outputs(true).len(), 10);
        let p: Value = serde_json::from_str(&s.points_json()).unwrap();
        assert_eq!(p["test"].as_array().unwrap().len(), 10);
    }

    #[test]
    fn csv_dataset_needs_an_upload_and_bce_needs_binary_targets() {
        let e = Experiment::parse("dataset=csv").unwrap();
        assert!(Session::new(e.clone(), None)
            .err()
            .unwrap()
            .contains("upload"));
        let pts = Points::from_csv("a,b,y\n1,2,0.5\n2,3,1\n3,1,0\n4,4,1\n").unwrap();
        assert!(Session::new(e.clone(), Some(&pts))
            .err()
            .unwrap()
            .contains("0 or 1"));
        let e = Experiment::parse("dataset=csv&loss=mse").unwrap();
        assert!(Session::new(e, Some(&pts)).is_ok());
    }
}
