//! [`GradientMonitor`]: what a training loop records after `backward()` to picture its
//! gradients — per-parameter gradient norms over the epochs (cheap: one pass over each gradient,
//! nothing copied) and, once, a snapshot of every parameter's gradient and values for
//! histograms and heatmaps.

use super::canvas::{self, draw_empty, Area, DrawResult, Figure};
use super::charts::{draw_histogram, Curves, GRADIENT_COLOR, VALUES_COLOR};
use super::heatmap::{draw_heatmap, heatmap_size, Grid};
use crate::nn::Module;
use crate::optim::sum_of_squares;
use crate::tensor::{Array, Tensor};
use crate::Result;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One parameter's gradient and value, as last recorded.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The parameter's name (`"layers.0.weight"`).
    pub name: String,
    /// Its values.
    pub value: Array,
    /// Its gradient (`None` if it had none when recorded).
    pub grad: Option<Array>,
}

/// The 2-norm of an array's values (read back from a GPU for an array there).
fn norm2(a: &Array) -> f64 {
    if a.device().is_cuda() {
        sum_of_squares(&a.to_host_vec()).sqrt()
    } else {
        sum_of_squares(a.data()).sqrt()
    }
}

impl Snapshot {
    /// Copies of every named parameter of `model` and its gradient, as they are now.
    pub fn of_model(model: &dyn Module) -> Vec<Snapshot> {
        model
            .named_parameters()
            .into_iter()
            .map(|(name, p)| Snapshot {
                // Pictures are drawn on the CPU: a model on a GPU is copied back.
                grad: p.with_grad(|g| g.map(|g| g.clone().to_device(&crate::Device::Cpu))),
                value: p.array().clone().to_device(&crate::Device::Cpu),
                name,
            })
            .collect()
    }
}

/// Records per-parameter gradient norms over training, and keeps one snapshot of the gradients
/// and values, for pictures of what happens inside the network (tutorial section 7, and the
/// training report).
///
/// Call [`record`](GradientMonitor::record) after `backward()` (before `optimizer.step()` and
/// before clipping, to see the raw gradients). Several records in one epoch are averaged, so a
/// loop over mini-batches can record a few steps per epoch. A record reads each gradient once
/// to compute its 2-norm and copies nothing, so it costs a small fraction of a training step.
/// Call [`snapshot`](GradientMonitor::snapshot) when the histograms and heatmaps should be
/// taken (typically once, at the end: it copies every parameter and gradient).
///
/// The monitor follows the parameters of the model it first records (it keeps their handles,
/// so later records skip the name lookup): use one monitor per model.
///
/// # Examples
/// ```
/// use backprop::nn::{Linear, Module, MSELoss, ReLU, Sequential};
/// use backprop::viz::GradientMonitor;
/// use backprop::Tensor;
///
/// let model = Sequential::new().add(Linear::new(2, 4)).add(ReLU).add(Linear::new(4, 1));
/// let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]);
/// let y = Tensor::from_slice(&[0., 1., 1., 0.], &[4, 1]);
/// let mut monitor = GradientMonitor::new();
/// for epoch in 1..=3 {
///     model.zero_grad();
///     MSELoss::default().forward(&model.forward(&x), &y).backward();
///     monitor.record(epoch, &model);
/// }
/// monitor.snapshot(3, &model);
/// assert_eq!(monitor.epochs(), vec![1, 2, 3]);
/// assert_eq!(monitor.names(), ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert!(monitor.norms("2.weight").unwrap().iter().all(|n| *n > 0.0));
/// assert_eq!(monitor.latest().len(), 4);
/// ```
#[derive(Clone, Debug, Default)]
pub struct GradientMonitor {
    names: Vec<String>,
    /// The handles of the parameters named in `names`, taken at the first record.
    params: Vec<Tensor>,
    /// The epochs with records, in order.
    epochs: Vec<usize>,
    /// Per recorded epoch, one sum of norms per parameter (`epochs.len() × params.len()`, flat,
    /// so that a record allocates nothing once the buffers have grown).
    sums: Vec<f64>,
    /// How many norms each sum holds.
    counts: Vec<u32>,
    latest: Vec<Snapshot>,
    latest_epoch: Option<usize>,
    /// Records go to epochs at least this far apart (doubled each time the history fills).
    stride: usize,
    /// The most epochs kept; 0 for the default, `DEFAULT_EPOCHS`.
    capacity: usize,
}

/// How many epochs a monitor keeps by default before it thins its history.
pub const DEFAULT_EPOCHS: usize = 1024;

impl GradientMonitor {
    /// An empty monitor, keeping up to `DEFAULT_EPOCHS` epochs.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty monitor keeping up to `epochs` recorded epochs (at least 2). When it is full,
    /// it drops every other recorded epoch and from then on records epochs twice as far apart,
    /// so its memory is bounded however long the run; a run with fewer epochs keeps them all.
    pub fn with_capacity(epochs: usize) -> Self {
        GradientMonitor {
            capacity: epochs.max(2),
            ..Self::default()
        }
    }

    /// Records the gradient 2-norm of every named parameter of `model` (at the first record;
    /// the same parameters afterwards). A parameter without a gradient gets a NaN norm (a gap
    /// in the curves). Nothing is copied; see [`snapshot`](GradientMonitor::snapshot) for the
    /// pictures.
    ///
    /// Once the history is full (see [`with_capacity`](GradientMonitor::with_capacity)), a
    /// record for an epoch too close to the last recorded one returns at once.
    pub fn record(&mut self, epoch: usize, model: &dyn Module) {
        if self.names.is_empty() {
            (self.names, self.params) = model.named_parameters().into_iter().unzip();
        }
        let n = self.params.len();
        if let Some(&last) = self.epochs.last() {
            if epoch != last && epoch < last + self.stride.max(1) {
                return;
            }
        }
        if self.epochs.last() != Some(&epoch) {
            let capacity = if self.capacity == 0 {
                DEFAULT_EPOCHS
            } else {
                self.capacity
            };
            if self.epochs.len() == capacity {
                self.thin(n);
                if epoch < self.epochs.last().map_or(0, |&l| l + self.stride) {
                    return;
                }
            }
            self.epochs.push(epoch);
            self.sums.resize(self.sums.len() + n, 0.0);
            self.counts.resize(self.counts.len() + n, 0);
        }
        let at = self.sums.len() - n;
        for (i, p) in self.params.iter().enumerate() {
            if let Some(norm) = p.with_grad(|g| g.map(norm2)) {
                self.sums[at + i] += norm;
                self.counts[at + i] += 1;
            }
        }
    }

    /// Drops every other recorded epoch (keeping the first) and doubles the stride.
    fn thin(&mut self, n: usize) {
        let kept = self.epochs.len().div_ceil(2);
        for k in 0..kept {
            self.epochs[k] = self.epochs[2 * k];
            for i in 0..n {
                self.sums[k * n + i] = self.sums[2 * k * n + i];
                self.counts[k * n + i] = self.counts[2 * k * n + i];
            }
        }
        self.epochs.truncate(kept);
        self.sums.truncate(kept * n);
        self.counts.truncate(kept * n);
        self.stride = self.stride.max(1) * 2;
    }

    /// Keeps a copy of every parameter of `model` and its gradient as the latest snapshot, the
    /// data of the histograms and heatmaps, labelled `epoch`.
    pub fn snapshot(&mut self, epoch: usize, model: &dyn Module) {
        self.latest = Snapshot::of_model(model);
        self.latest_epoch = Some(epoch);
    }

    /// The shape of parameter `name` (`None` for an unknown name).
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(self.params[i].shape())
    }

    /// The 2-norm of parameter `name`'s values now (`None` for an unknown name).
    pub(crate) fn value_norm(&self, name: &str) -> Option<f64> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(norm2(&self.params[i].array()))
    }

    /// The parameter names seen, in the model's order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The epochs with at least one record, in order.
    pub fn epochs(&self) -> Vec<usize> {
        self.epochs.clone()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    /// The mean gradient 2-norm of parameter `name` in each recorded epoch (NaN where it had no
    /// gradient); `None` for an unknown name.
    pub fn norms(&self, name: &str) -> Option<Vec<f64>> {
        let i = self.names.iter().position(|n| n == name)?;
        let n = self.names.len();
        Some(
            (0..self.epochs.len())
                .map(|e| match self.counts[e * n + i] {
                    0 => f64::NAN,
                    c => self.sums[e * n + i] / c as f64,
                })
                .collect(),
        )
    }

    /// The epoch of the latest snapshot.
    pub fn latest_epoch(&self) -> Option<usize> {
        self.latest_epoch
    }

    /// Every parameter's value and gradient at the latest snapshot (empty before the first).
    pub fn latest(&self) -> &[Snapshot] {
        &self.latest
    }

    /// The figure of the gradient-norm curves (log scale).
    pub(crate) fn norms_figure<'a>(
        &self,
        norms: &'a [(String, Vec<f64>)],
        epochs: &'a [f64],
    ) -> Curves<'a> {
        Curves {
            title: "Gradient norm per parameter",
            series: norms
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice()))
                .collect(),
            x_values: Some(epochs),
            y_label: "‖grad‖₂ (log scale)",
            log_y: true,
            size: (860, 480),
        }
    }

    /// `(name, norms)` for every parameter, and the recorded epochs as numbers.
    pub(crate) fn norm_series(&self) -> (Vec<(String, Vec<f64>)>, Vec<f64>) {
        let series = self
            .names
            .iter()
            .map(|n| (n.clone(), self.norms(n).unwrap_or_default()))
            .collect();
        let epochs = self.epochs.iter().map(|&e| e as f64).collect();
        (series, epochs)
    }

    /// Plots every parameter's gradient norm over the recorded epochs (log scale), one line per
    /// parameter, to an SVG or PNG file.
    ///
    /// # Errors
    /// As [`plot_curves`](super::plot_curves).
    pub fn plot_norms(&self, path: &Path) -> Result<()> {
        let (series, epochs) = self.norm_series();
        canvas::save(&self.norms_figure(&series, &epochs), path)
    }

    /// The two-panel histogram figure (gradient, values) of one snapshot.
    pub(crate) fn histogram_figure(s: &Snapshot, epoch: usize) -> Panels<'_> {
        let grad = match &s.grad {
            Some(g) => Panel::Histogram {
                title: format!("{}: gradient (epoch {epoch})", s.name),
                values: g.data(),
                color: GRADIENT_COLOR,
            },
            None => Panel::Empty {
                title: format!("{}: gradient (epoch {epoch})", s.name),
                message: "no gradient",
            },
        };
        let value = Panel::Histogram {
            title: format!("{}: values (epoch {epoch})", s.name),
            values: s.value.data(),
            color: VALUES_COLOR,
        };
        Panels {
            panels: vec![grad, value],
            size: (1120, 400),
        }
    }

    /// The two-panel heatmap figure (gradient, values) of one snapshot.
    pub(crate) fn heatmap_figure(s: &Snapshot, epoch: usize) -> Panels<'static> {
        let (w, h) = heatmap_size(&s.value);
        let grad = match &s.grad {
            Some(g) => Panel::Heatmap {
                title: format!("{}: gradient (epoch {epoch})", s.name),
                grid: Grid::new(g),
            },
            None => Panel::Empty {
                title: format!("{}: gradient (epoch {epoch})", s.name),
                message: "no gradient",
            },
        };
        let value = Panel::Heatmap {
            title: format!("{}: values (epoch {epoch})", s.name),
            grid: Grid::new(&s.value),
        };
        Panels {
            panels: vec![grad, value],
            size: (2 * w.max(420), h),
        }
    }

    /// Writes, for every parameter, one PNG with the histogram of its latest gradient beside
    /// the histogram of its values, as `DIR/hist_epoch{epoch}_{name}.png` (`epoch` names the
    /// files and titles; the data is the latest [`snapshot`](GradientMonitor::snapshot)'s, and
    /// nothing is written before one). Returns the paths written.
    ///
    /// # Errors
    /// As [`plot_curves`](super::plot_curves).
    pub fn plot_layer_histograms(&self, dir: &Path, epoch: usize) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for s in &self.latest {
            let path = dir.join(format!("hist_epoch{epoch}_{}.png", file_part(&s.name)));
            canvas::save(&Self::histogram_figure(s, epoch), &path)?;
            out.push(path);
        }
        Ok(out)
    }

    /// Writes, for every parameter, one PNG with the heatmap of its latest gradient beside the
    /// heatmap of its values (1-D parameters as one row), as
    /// `DIR/heatmap_epoch{epoch}_{name}.png`, from the latest snapshot. Returns the paths
    /// written.
    ///
    /// # Errors
    /// As [`plot_curves`](super::plot_curves).
    pub fn plot_layer_heatmaps(&self, dir: &Path, epoch: usize) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for s in &self.latest {
            let path = dir.join(format!("heatmap_epoch{epoch}_{}.png", file_part(&s.name)));
            canvas::save(&Self::heatmap_figure(s, epoch), &path)?;
            out.push(path);
        }
        Ok(out)
    }
}

/// A parameter name made safe for a file name (`layers.0.weight` stays as it is).
fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One panel of a multi-panel figure.
pub(crate) enum Panel<'a> {
    Histogram {
        title: String,
        values: &'a [f32],
        color: RGBColor,
    },
    Heatmap {
        title: String,
        grid: Grid,
    },
    Empty {
        title: String,
        message: &'static str,
    },
}

/// Panels side by side, in equal widths.
pub(crate) struct Panels<'a> {
    pub panels: Vec<Panel<'a>>,
    pub size: (u32, u32),
}

impl Figure for Panels<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult<DB> {
        let areas = area.split_evenly((1, self.panels.len().max(1)));
        for (panel, a) in self.panels.iter().zip(&areas) {
            match panel {
                Panel::Histogram {
                    title,
                    values,
                    color,
                } => draw_histogram(a, title, values, 40, *color)?,
                Panel::Heatmap { title, grid } => draw_heatmap(a, title, grid)?,
                Panel::Empty { title, message } => draw_empty(a, title, message)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Linear, MSELoss, ReLU, Sequential};
    use crate::tensor::Tensor;
    use crate::viz::testing::{assert_png, temp};

    fn xor_model() -> (Sequential, Tensor, Tensor) {
        let _global = crate::testing::global_state();
        crate::manual_seed(0);
        let model = Sequential::new()
            .add(Linear::new(2, 4))
            .add(ReLU)
            .add(Linear::new(4, 1));
        let x = Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]);
        let y = Tensor::from_slice(&[0., 1., 1., 0.], &[4, 1]);
        (model, x, y)
    }

    #[test]
    fn long_runs_keep_a_bounded_evenly_thinned_history() {
        let (model, x, y) = xor_model();
        MSELoss::default()
            .forward(&model.forward(&x), &y)
            .backward();
        let mut m = GradientMonitor::with_capacity(16);
        for epoch in 1..=100_000 {
            // Several records in an epoch, as a loop over mini-batches makes.
            m.record(epoch, &model);
            m.record(epoch, &model);
            assert!(m.epochs().len() <= 16);
        }
        let epochs = m.epochs();
        assert!(epochs.len() >= 8, "{epochs:?}");
        assert_eq!(epochs[0], 1);
        assert!(*epochs.last().unwrap() > 90_000, "{epochs:?}");
        let gaps: Vec<usize> = epochs.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == gaps[0]), "{gaps:?}");
        // Every kept epoch still averages its two records (equal norms).
        let norms = m.norms("0.weight").unwrap();
        assert_eq!(norms.len(), epochs.len());
        assert!(norms.iter().all(|&v| v == norms[0] && v > 0.0));
    }

    /// The xor model after one backward, recorded once as epoch 1.
    fn recorded_once() -> (Sequential, Tensor, Tensor, GradientMonitor) {
        let (model, x, y) = xor_model();
        let mut m = GradientMonitor::new();
        MSELoss::default()
            .forward(&model.forward(&x), &y)
            .backward();
        m.record(1, &model);
        (model, x, y, m)
    }

    #[test]
    fn norms_are_averaged_within_an_epoch() {
        let (model, x, y) = xor_model();
        let mut m = GradientMonitor::new();
        m.record(1, &model); // no gradients yet
        model.zero_grad();
        MSELoss::default()
            .forward(&model.forward(&x), &y)
            .backward();
        let g = model.named_parameters()[2].1.grad().unwrap().to_vec();
        let norm = g.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
        m.record(2, &model);
        m.record(2, &model);
        // Double the gradient: the epoch's mean norm is 1.5× the first.
        let p = &model.named_parameters()[2].1;
        let doubled = p.grad().unwrap().array().map(|v| 2.0 * v);
        p.set_grad(Some(doubled));
        m.record(3, &model);
        m.record(3, &model);
        m.record(3, &model);
        let n = m.norms("2.weight").unwrap();
        assert!(n[0].is_nan());
        assert!((n[1] - norm).abs() < 1e-9, "{n:?} vs {norm}");
        assert!((n[2] - 2.0 * norm).abs() < 1e-6, "{n:?}");
        assert_eq!(m.epochs(), vec![1, 2, 3]);
        assert_eq!(m.norms("nope"), None);
        assert_eq!(m.shape("2.weight"), Some(vec![1, 4]));
        // Records copy nothing: the pictures come from one snapshot.
        assert!(m.latest().is_empty() && m.latest_epoch().is_none());
        m.snapshot(3, &model);
        assert_eq!(m.latest_epoch(), Some(3));
        assert_eq!(m.latest().len(), 4);
        assert_eq!(
            m.latest()[2].grad.as_ref().unwrap().data(),
            p.grad().unwrap().array().data()
        );
        assert_eq!(m.latest()[2].value.data(), p.array().data());
    }

    #[test]
    fn records_follow_the_first_models_parameters() {
        let (model, _, _, mut m) = recorded_once();
        // Later records read the same parameters' new gradients.
        let p = model.named_parameters()[0].1.clone();
        p.set_grad(Some(p.grad().unwrap().array().map(|v| 3.0 * v)));
        m.record(2, &model);
        let n = m.norms("0.weight").unwrap();
        assert!((n[1] - 3.0 * n[0]).abs() < 1e-6 * n[1], "{n:?}");
        p.set_grad(None);
        m.record(3, &model);
        assert!(m.norms("0.weight").unwrap()[2].is_nan());
        assert!(m.norms("2.weight").unwrap()[2] > 0.0);
    }

    #[test]
    fn pictures_per_layer_are_written_and_change() {
        let (model, x, y, mut m) = recorded_once();
        m.snapshot(1, &model);
        let dir = temp("monitor-dir");
        std::fs::create_dir_all(&dir).unwrap();
        let hist = m.plot_layer_histograms(&dir, 200).unwrap();
        let heat = m.plot_layer_heatmaps(&dir, 200).unwrap();
        assert_eq!(hist.len(), 4);
        assert_eq!(heat.len(), 4);
        assert!(hist[0].ends_with("hist_epoch200_0.weight.png"));
        assert!(heat[3].ends_with("heatmap_epoch200_2.bias.png"));
        let first = std::fs::read(&heat[0]).unwrap();
        assert_png(
            &first,
            GradientMonitor::heatmap_figure(&m.latest()[0], 200).size,
        );
        assert_png(&std::fs::read(&hist[1]).unwrap(), (1120, 400));
        model.zero_grad();
        MSELoss::default()
            .forward(&model.forward(&x), &(&y * 3.0))
            .backward();
        m.record(2, &model);
        m.snapshot(2, &model);
        let again = m.plot_layer_heatmaps(&dir, 200).unwrap();
        assert_ne!(first, std::fs::read(&again[0]).unwrap());
        let norms = dir.join("norms.png");
        m.plot_norms(&norms).unwrap();
        assert_png(&std::fs::read(&norms).unwrap(), (860, 480));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_part("layers.0.weight"), "layers.0.weight");
        assert_eq!(file_part("a/b c"), "a_b_c");
    }
}
