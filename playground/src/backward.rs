//! The backward pass of one training point made visible: the forward values (`z`, `a`) and the
//! backward values (`∂L/∂a`, `∂L/∂z`, `∂L/∂W`, `∂L/∂b`) of every neuron, computed by hand from
//! the chain rule, next to the engine's autograd gradients for the same point.

use crate::experiment::Loss;
use crate::session::{finite, loss, num, Session};
use backprop::nn::{Activation, BatchNorm1d, Module};
use backprop::Tensor;
use serde_json::{json, Value};

/// The forward and backward values of one point, layer by layer (`layers[l]` is the `l`-th
/// `Linear` and what follows it).
#[derive(Clone, Debug, PartialEq)]
pub struct Backward {
    /// The point's index among the training points.
    pub index: usize,
    /// The inputs (the features of the point).
    pub input: Vec<f32>,
    /// The target.
    pub target: f32,
    /// The loss of this point alone.
    pub loss: f32,
    /// Per layer.
    pub layers: Vec<BackwardLayer>,
}

/// One layer of a [`Backward`].
#[derive(Clone, Debug, PartialEq)]
pub struct BackwardLayer {
    /// `z = W a_prev + b`.
    pub z: Vec<f32>,
    /// The layer's output: the activation (then BatchNorm's affine map in eval mode) for a
    /// hidden layer, `z` itself for the output.
    pub a: Vec<f32>,
    /// `∂L/∂a`.
    pub da: Vec<f32>,
    /// `∂a/∂z` (the activation's derivative, times BatchNorm's scale).
    pub dadz: Vec<f32>,
    /// `∂L/∂z = ∂L/∂a · ∂a/∂z`.
    pub dz: Vec<f32>,
    /// `∂L/∂W[j][k] = ∂L/∂z[j] · a_prev[k]`, row-major `[out, in]`.
    pub dw: Vec<f32>,
    /// `∂L/∂b = ∂L/∂z`.
    pub db: Vec<f32>,
    /// The engine's autograd gradient of the weight, for the same point.
    pub autograd_dw: Vec<f32>,
    /// The engine's autograd gradient of the bias.
    pub autograd_db: Vec<f32>,
}

impl Backward {
    /// The largest difference between the hand-computed and the autograd gradients.
    pub fn max_abs_diff(&self) -> f32 {
        self.layers
            .iter()
            .flat_map(|l| {
                l.dw.iter()
                    .zip(&l.autograd_dw)
                    .chain(l.db.iter().zip(&l.autograd_db))
            })
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }
}

impl Session {
    /// The forward and backward pass of training point `index`, in eval mode (dropout off,
    /// BatchNorm's running statistics), with the loss of that point alone: by hand from the
    /// chain rule, and the weights' gradients also by the engine's autograd.
    pub fn backward_view(&mut self, index: usize) -> Result<Backward, String> {
        if index >= self.train.len() {
            return Err(format!(
                "point {index}: there are {} training points",
                self.train.len()
            ));
        }
        let d = self.exp.features.len();
        let input = self.train_x.data()[index * d..(index + 1) * d].to_vec();
        let target = self.train.y[index];
        let n_lin = self.linears.len();
        // Forward, by hand.
        let mut layers: Vec<BackwardLayer> = Vec::with_capacity(n_lin);
        let mut prev = input.clone();
        let mut bn_scale: Vec<Vec<f32>> = Vec::new();
        for l in 0..n_lin {
            let lin = self.linear(l);
            let w = lin.weight.to_vec();
            let b = lin.bias.as_ref().expect("bias").to_vec();
            let (out_f, in_f) = (lin.out_features, lin.in_features);
            let z: Vec<f32> = (0..out_f)
                .map(|j| b[j] + (0..in_f).map(|k| w[j * in_f + k] * prev[k]).sum::<f32>())
                .collect();
            let (a, dadz) = if l + 1 < n_lin {
                let mut a: Vec<f32> = z.iter().map(|&v| act(self.exp.activation, v)).collect();
                let mut dadz: Vec<f32> = z.iter().map(|&v| dact(self.exp.activation, v)).collect();
                let scale = self.bn_affine(l);
                if let Some((s, shift)) = &scale {
                    for j in 0..out_f {
                        a[j] = a[j] * s[j] + shift[j];
                        dadz[j] *= s[j];
                    }
                }
                bn_scale.push(scale.map(|s| s.0).unwrap_or_default());
                (a, dadz)
            } else {
                (z.clone(), vec![1.0; out_f])
            };
            prev = a.clone();
            layers.push(BackwardLayer {
                z,
                a,
                da: Vec::new(),
                dadz,
                dz: Vec::new(),
                dw: Vec::new(),
                db: Vec::new(),
                autograd_dw: Vec::new(),
                autograd_db: Vec::new(),
            });
        }
        let out = layers[n_lin - 1].z[0];
        let (point_loss, dl_dout) = match self.exp.loss {
            // log(1 + e^z) - y z, computed stably; its derivative is σ(z) - y.
            Loss::Bce => (
                out.max(0.0) - out * target + (-out.abs()).exp().ln_1p(),
                sigmoid(out) - target,
            ),
            Loss::Mse => ((out - target).powi(2), 2.0 * (out - target)),
            Loss::L1 => ((out - target).abs(), sign(out - target)),
        };
        // Backward, by hand: ∂L/∂z = ∂L/∂a · ∂a/∂z; ∂L/∂W = ∂L/∂z · a_prevᵀ; ∂L/∂a_prev = Wᵀ ∂L/∂z.
        let mut da = vec![dl_dout];
        for l in (0..n_lin).rev() {
            let lin = self.linear(l);
            let w = lin.weight.to_vec();
            let (out_f, in_f) = (lin.out_features, lin.in_features);
            let a_prev = if l == 0 {
                input.clone()
            } else {
                layers[l - 1].a.clone()
            };
            let layer = &mut layers[l];
            layer.da = da.clone();
            layer.dz = (0..out_f).map(|j| da[j] * layer.dadz[j]).collect();
            layer.db = layer.dz.clone();
            layer.dw = (0..out_f * in_f)
                .map(|i| layer.dz[i / in_f] * a_prev[i % in_f])
                .collect();
            da = (0..in_f)
                .map(|k| (0..out_f).map(|j| w[j * in_f + k] * layer.dz[j]).sum())
                .collect();
        }
        // The same point through the engine.
        let params = self.model.parameters();
        params.iter().for_each(|p| p.set_grad(None));
        self.model.set_training(false);
        let x = Tensor::from_slice(&input, &[1, d]);
        let y = Tensor::from_slice(&[target], &[1, 1]);
        let l = loss(self.exp.loss, &self.model.forward(&x), &y);
        l.backward();
        self.model.set_training(true);
        for (i, layer) in layers.iter_mut().enumerate() {
            let lin = self.linear(i);
            let g = |t: &Tensor| {
                t.grad()
                    .map(|g| g.to_vec())
                    .unwrap_or_else(|| vec![0.0; t.numel()])
            };
            layer.autograd_dw = g(&lin.weight);
            layer.autograd_db = g(lin.bias.as_ref().expect("bias"));
        }
        params.iter().for_each(|p| p.set_grad(None));
        Ok(Backward {
            index,
            input,
            target,
            loss: point_loss,
            layers,
        })
    }

    /// The eval-mode BatchNorm after hidden layer `l` as a per-neuron `(scale, shift)`.
    fn bn_affine(&self, l: usize) -> Option<(Vec<f32>, Vec<f32>)> {
        let start = self.linears[l];
        let end = self.linears.get(l + 1).copied()?;
        let bn = (start..end).find_map(|i| {
            self.model
                .layers
                .get(i)
                .and_then(|m| m.downcast_ref::<BatchNorm1d>())
        })?;
        let n = bn.num_features;
        let ones = vec![1.0; n];
        let gamma = bn.weight.as_ref().map_or(ones.clone(), |t| t.to_vec());
        let beta = bn.bias.as_ref().map_or(vec![0.0; n], |t| t.to_vec());
        let mean = bn
            .running_mean
            .as_ref()
            .map_or(vec![0.0; n], |t| t.to_vec());
        let var = bn.running_var.as_ref().map_or(ones, |t| t.to_vec());
        let scale: Vec<f32> = (0..n)
            .map(|j| gamma[j] / (var[j] + bn.eps as f32).sqrt())
            .collect();
        let shift = (0..n).map(|j| beta[j] - mean[j] * scale[j]).collect();
        Some((scale, shift))
    }
}

impl Backward {
    /// As JSON for the page.
    pub fn to_json(&self) -> String {
        let layers: Vec<Value> = self
            .layers
            .iter()
            .map(|l| {
                json!({"z": finite(&l.z), "a": finite(&l.a), "da": finite(&l.da),
                       "dadz": finite(&l.dadz), "dz": finite(&l.dz), "dw": finite(&l.dw),
                       "db": finite(&l.db), "autograd_dw": finite(&l.autograd_dw),
                       "autograd_db": finite(&l.autograd_db)})
            })
            .collect();
        json!({"index": self.index, "input": finite(&self.input), "target": num(self.target),
               "loss": num(self.loss), "max_abs_diff": num(self.max_abs_diff()),
               "layers": layers})
        .to_string()
    }
}

pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The standard normal's CDF.
fn phi(x: f32) -> f32 {
    0.5 * (1.0 + libm::erff(x / std::f32::consts::SQRT_2))
}

/// The activation's value.
pub fn act(a: Activation, z: f32) -> f32 {
    match a {
        Activation::Relu => z.max(0.0),
        Activation::Sigmoid => sigmoid(z),
        Activation::Tanh => z.tanh(),
        Activation::LeakyRelu => {
            if z > 0.0 {
                z
            } else {
                0.01 * z
            }
        }
        Activation::Gelu => z * phi(z),
        Activation::Elu => {
            if z > 0.0 {
                z
            } else {
                z.exp_m1()
            }
        }
        Activation::Silu => z * sigmoid(z),
    }
}

/// The activation's derivative (at a kink, the one-sided value PyTorch uses: 0 for ReLU at 0).
pub fn dact(a: Activation, z: f32) -> f32 {
    match a {
        Activation::Relu => f32::from(z > 0.0),
        Activation::Sigmoid => {
            let s = sigmoid(z);
            s * (1.0 - s)
        }
        Activation::Tanh => 1.0 - z.tanh().powi(2),
        Activation::LeakyRelu => {
            if z > 0.0 {
                1.0
            } else {
                0.01
            }
        }
        Activation::Gelu => phi(z) + z * (-0.5 * z * z).exp() / (2.0 * std::f32::consts::PI).sqrt(),
        Activation::Elu => {
            if z > 0.0 {
                1.0
            } else {
                z.exp()
            }
        }
        Activation::Silu => {
            let s = sigmoid(z);
            s * (1.0 + z * (1.0 - s))
        }
    }
}
#[cfg(test)]
mod tests {
    use crate::{Experiment, Session};

    fn session(q: &str) -> Session {
        Session::new(Experiment::parse(q).unwrap(), None).unwrap()
    }

    #[test]
    fn hand_chain_rule_matches_autograd() {
        for q in [
            "seed=1",
            "seed=2&activation=relu&layers=6,4",
            "seed=3&activation=sigmoid&features=x1,x2,x1sq,x2sq,x1x2,sinx1,sinx2",
            "seed=4&activation=gelu&dataset=plane",
            "seed=5&activation=elu&loss=l1&dataset=plane",
            "seed=6&activation=silu&layers=3,3,3",
            "seed=7&activation=leaky_relu&bn=1",
        ] {
            let mut s = session(q);
            for _ in 0..3 {
                s.run_epoch();
            }
            for i in [0, 5, 17] {
                let b = s.backward_view(i).unwrap();
                let scale = b
                    .layers
                    .iter()
                    .flat_map(|l| l.autograd_dw.iter())
                    .fold(1e-3f32, |m, v| m.max(v.abs()));
                assert!(
                    b.max_abs_diff() <= 1e-4 * scale.max(1.0),
                    "{q} point {i}: differ by {}",
                    b.max_abs_diff()
                );
                assert!(
                    b.layers.iter().any(|l| l.dw.iter().any(|&v| v != 0.0)),
                    "{q}: all zero"
                );
                assert_eq!(b.layers.len(), s.experiment().hidden.len() + 1);
            }
        }
        let mut s = session("");
        assert!(s
            .backward_view(1000)
            .unwrap_err()
            .contains("training points"));
    }

    #[test]
    fn backward_view_leaves_training_untouched() {
        let mut a = session("seed=8");
        let mut b = session("seed=8");
        a.run_epoch();
        b.run_epoch();
        a.backward_view(3).unwrap();
        assert_eq!(a.run_epoch(), b.run_epoch());
    }
}
