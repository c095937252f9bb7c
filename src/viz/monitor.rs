//! [`GradientMonitor`]: what a training loop records after `backward()` to picture its
//! gradients — per-parameter gradient norms over the epochs, and the latest gradients and
//! values of every parameter for histograms and heatmaps.

use super::canvas::{self, draw_empty, Area, DrawResult, Figure, PALETTE};
use super::charts::{draw_histogram, Curves};
use super::heatmap::{draw_heatmap, heatmap_size, Grid};
use crate::nn::Module;
use crate::tensor::Array;
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

/// The norms recorded during one epoch, summed, with how many samples each sum holds.
#[derive(Clone, Debug)]
struct EpochNorms {
    epoch: usize,
    sums: Vec<f64>,
    counts: Vec<usize>,
}

/// Records per-parameter gradient norms over training, and keeps the latest gradients and
/// values, for pictures of what happens inside the network (tutorial section 7, and the
/// training report).
///
/// Call [`record`](GradientMonitor::record) after `backward()` (before `optimizer.step()` and
/// before clipping, to see the raw gradients). Several records in one epoch are averaged, so a
/// loop over mini-batches can record a few steps per epoch at little cost; each record computes
/// one 2-norm per parameter and copies the parameters and gradients once.
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
/// assert_eq!(monitor.epochs(), vec![1, 2, 3]);
/// assert_eq!(monitor.names(), ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert!(monitor.norms("2.weight").unwrap().iter().all(|n| *n > 0.0));
/// ```
#[derive(Clone, Debug, Default)]
pub struct GradientMonitor {
    names: Vec<String>,
    history: Vec<EpochNorms>,
    latest: Vec<Snapshot>,
    latest_epoch: Option<usize>,
}

impl GradientMonitor {
    /// An empty monitor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the gradient norm of every named parameter of `model`, and keeps a copy of each
    /// parameter and its gradient as the latest snapshot. A parameter without a gradient gets a
    /// NaN norm (a gap in the curves).
    pub fn record(&mut self, epoch: usize, model: &dyn Module) {
        let params = model.named_parameters();
        if self.history.last().map(|h| h.epoch) != Some(epoch) {
            self.history.push(EpochNorms {
                epoch,
                sums: Vec::new(),
                counts: Vec::new(),
            });
        }
        self.latest.clear();
        for (name, p) in params {
            let i = match self.names.iter().position(|n| *n == name) {
                Some(i) => i,
                None => {
                    self.names.push(name.clone());
                    self.names.len() - 1
                }
            };
            let grad = p.with_grad(|g| g.cloned());
            let h = self.history.last_mut().expect("pushed above");
            if h.sums.len() <= i {
                h.sums.resize(i + 1, 0.0);
                h.counts.resize(i + 1, 0);
            }
            if let Some(g) = &grad {
                h.sums[i] += g
                    .data()
                    .iter()
                    .map(|&v| v as f64 * v as f64)
                    .sum::<f64>()
                    .sqrt();
                h.counts[i] += 1;
            }
            self.latest.push(Snapshot {
                name,
                value: p.array().clone(),
                grad,
            });
        }
        self.latest_epoch = Some(epoch);
    }

    /// The parameter names seen, in the model's order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The epochs with at least one record, in order.
    pub fn epochs(&self) -> Vec<usize> {
        self.history.iter().map(|h| h.epoch).collect()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// The mean gradient 2-norm of parameter `name` in each recorded epoch (NaN where it had no
    /// gradient); `None` for an unknown name.
    pub fn norms(&self, name: &str) -> Option<Vec<f64>> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(
            self.history
                .iter()
                .map(|h| match h.counts.get(i) {
                    Some(&c) if c > 0 => h.sums[i] / c as f64,
                    _ => f64::NAN,
                })
                .collect(),
        )
    }

    /// The epoch of the latest record.
    pub fn latest_epoch(&self) -> Option<usize> {
        self.latest_epoch
    }

    /// Every parameter's value and gradient at the latest record.
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
        let epochs = self.history.iter().map(|h| h.epoch as f64).collect();
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
                color: PALETTE[1],
            },
            None => Panel::Empty {
                title: format!("{}: gradient (epoch {epoch})", s.name),
                message: "no gradient",
            },
        };
        let value = Panel::Histogram {
            title: format!("{}: values (epoch {epoch})", s.name),
            values: s.value.data(),
            color: PALETTE[0],
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
    /// files and titles; the data is the latest record's). Returns the paths written.
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
    /// `DIR/heatmap_epoch{epoch}_{name}.png`. Returns the paths written.
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
        assert_eq!(m.latest_epoch(), Some(3));
        assert_eq!(m.latest().len(), 4);
        assert!(m.latest()[2].grad.is_some());
        assert_eq!(m.norms("nope"), None);
    }

    #[test]
    fn pictures_per_layer_are_written_and_change() {
        let (model, x, y) = xor_model();
        let mut m = GradientMonitor::new();
        MSELoss::default()
            .forward(&model.forward(&x), &y)
            .backward();
        m.record(1, &model);
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
