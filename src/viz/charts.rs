//! Line charts of values per epoch (loss, accuracy, gradient norms) and histograms.

use super::canvas::{
    self, draw_empty, finite_range, fmt_count, fmt_num, fmt_tick, Area, DrawResult, Figure, PALETTE,
};
use crate::Result;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;
use std::path::Path;

/// Line charts over epochs, one line per series, with a legend.
pub(crate) struct Curves<'a> {
    pub title: &'a str,
    pub series: Vec<(&'a str, &'a [f64])>,
    /// The epoch of each point (shared by all series); `None`: `1..=n`.
    pub x_values: Option<&'a [f64]>,
    pub y_label: &'a str,
    /// A logarithmic y axis (gradient norms span orders of magnitude); values ≤ 0 are skipped.
    pub log_y: bool,
    pub size: (u32, u32),
}

impl Figure for Curves<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult<DB> {
        let usable = |v: f64| v.is_finite() && (!self.log_y || v > 0.0);
        let values = self
            .series
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .filter(|&v| usable(v));
        let Some((lo, hi)) = finite_range(values) else {
            return draw_empty(area, self.title, "no values to plot");
        };
        let n = self.series.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        let (x0, x1) = (self.x_at(0), self.x_at(n.max(1) - 1));
        let x = if x1 <= x0 {
            (x0 - 0.5)..(x0 + 0.5)
        } else {
            x0..x1
        };
        if self.log_y {
            let (lo, hi) = if hi / lo < 10.0 {
                let mid = (lo * hi).sqrt();
                (mid / 10f64.sqrt(), mid * 10f64.sqrt())
            } else {
                (lo / 1.5, hi * 1.5)
            };
            self.draw_on(area, x, (lo..hi).log_scale(), hi, usable)
        } else {
            let pad = (hi - lo) * 0.05;
            self.draw_on(area, x, (lo - pad)..(hi + pad), hi - lo, usable)
        }
    }
}

impl Curves<'_> {
    /// The epoch of point `k`.
    fn x_at(&self, k: usize) -> f64 {
        match self.x_values {
            Some(xs) => xs.get(k).copied().unwrap_or(k as f64 + 1.0),
            None => k as f64 + 1.0,
        }
    }

    fn draw_on<DB, Y>(
        &self,
        area: &Area<DB>,
        x: std::ops::Range<f64>,
        y: Y,
        span: f64,
        usable: impl Fn(f64) -> bool,
    ) -> DrawResult<DB>
    where
        DB: DrawingBackend,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, canvas::text(20.0))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(x, y)?;
        let n = self.series.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(self.y_label)
            .x_labels(n.clamp(2, 10))
            .x_label_formatter(&|v| {
                // Epochs are whole numbers: label only the ticks that fall on one.
                if (v - v.round()).abs() < 1e-6 {
                    fmt_num(v.round())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| fmt_tick(*v, span))
            .label_style(canvas::text(12.0))
            .axis_desc_style(canvas::text(13.0))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()?;
        for (i, (name, values)) in self.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            // Non-finite values break the line instead of being drawn at an invented height.
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (k, &v) in values.iter().enumerate() {
                if usable(v) {
                    runs.last_mut()
                        .expect("never empty")
                        .push((self.x_at(k), v));
                } else if !runs.last().expect("never empty").is_empty() {
                    runs.push(Vec::new());
                }
            }
            let mut labelled = false;
            for run in runs.into_iter().filter(|r| !r.is_empty()) {
                let style = color.stroke_width(2);
                let series = if run.len() == 1 {
                    chart.draw_series(
                        run.iter()
                            .map(|&p| Circle::new(p, 3, color.filled()).into_dyn()),
                    )?
                } else {
                    chart.draw_series(std::iter::once(PathElement::new(run, style).into_dyn()))?
                };
                if !labelled {
                    series.label(*name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                    labelled = true;
                }
            }
        }
        if self.series.iter().any(|(name, _)| !name.is_empty()) {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .label_font(canvas::text(12.0))
                .draw()?;
        }
        Ok(())
    }
}

/// Plots loss or metric curves: one line per `(name, values)` series, `values[i]` at epoch
/// `i + 1`, with a legend. Non-finite values leave a gap. The format (`.svg` or `.png`) follows
/// the extension.
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for another extension, I/O errors
/// writing `path`, and [`Error::Plot`](crate::Error::Plot) if drawing fails.
///
/// # Examples
/// ```
/// # fn main() -> backprop::Result<()> {
/// let dir = std::env::temp_dir();
/// let train = [1.0, 0.6, 0.4, 0.3];
/// let val = [1.1, 0.7, 0.55, 0.5];
/// backprop::viz::plot_curves("Loss", &[("train", &train), ("val", &val)], &dir.join("loss.svg"))?;
/// # Ok(()) }
/// ```
pub fn plot_curves(title: &str, series: &[(&str, &[f64])], path: &Path) -> Result<()> {
    canvas::save(
        &Curves {
            title,
            series: series.to_vec(),
            x_values: None,
            y_label: "value",
            log_y: false,
            size: (800, 480),
        },
        path,
    )
}

/// A histogram of `values` in `bins` equal-width bins (non-finite values are counted apart).
pub(crate) struct Histogram<'a> {
    pub title: &'a str,
    pub values: &'a [f32],
    pub bins: usize,
    pub color: RGBColor,
    pub size: (u32, u32),
}

impl Figure for Histogram<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult<DB> {
        draw_histogram(area, self.title, self.values, self.bins, self.color)
    }
}

/// Counts of `values` in `bins` equal-width bins over `[lo, hi]`.
pub(crate) fn bin_counts(values: &[f32], bins: usize, lo: f64, hi: f64) -> Vec<usize> {
    let mut counts = vec![0usize; bins];
    let width = (hi - lo) / bins as f64;
    for &v in values.iter().filter(|v| v.is_finite()) {
        let i = (((v as f64 - lo) / width).floor() as isize).clamp(0, bins as isize - 1);
        counts[i as usize] += 1;
    }
    counts
}

/// Draws a histogram with its summary (n, mean, std) under the axis.
pub(crate) fn draw_histogram<DB: DrawingBackend>(
    area: &Area<DB>,
    title: &str,
    values: &[f32],
    bins: usize,
    color: RGBColor,
) -> DrawResult<DB> {
    let finite: Vec<f64> = values
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| v as f64)
        .collect();
    let Some((lo, hi)) = finite_range(finite.iter().copied()) else {
        return draw_empty(area, title, "no finite values");
    };
    let counts = bin_counts(values, bins, lo, hi);
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let std = (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut desc = format!(
        "value    (n = {}, mean = {}, std = {})",
        finite.len(),
        fmt_num(mean),
        fmt_num(std)
    );
    let bad = values.len() - finite.len();
    if bad > 0 {
        desc.push_str(&format!(", {bad} not finite"));
    }
    let mut chart = ChartBuilder::on(area)
        .caption(title, canvas::text(17.0))
        .margin(10)
        .x_label_area_size(44)
        .y_label_area_size(52)
        .build_cartesian_2d(lo..hi, 0.0..top * 1.08)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(desc)
        .y_desc("count")
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|v| fmt_tick(*v, hi - lo))
        .y_label_formatter(&|v| fmt_count(*v))
        .label_style(canvas::text(11.0))
        .axis_desc_style(canvas::text(12.0))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .draw()?;
    let width = (hi - lo) / bins as f64;
    chart.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| {
                let x0 = lo + i as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], color.filled())
            }),
    )?;
    Ok(())
}

/// Plots a histogram of `values` in `bins` equal-width bins between their smallest and largest
/// finite value; the x-axis caption gives n, mean and standard deviation. The format (`.svg` or
/// `.png`) follows the extension.
///
/// # Errors
/// As [`plot_curves`].
///
/// # Panics
/// Panics if `bins` is 0.
#[track_caller]
pub fn plot_histogram(title: &str, values: &[f32], bins: usize, path: &Path) -> Result<()> {
    assert!(bins > 0, "plot_histogram: bins must be at least 1");
    canvas::save(
        &Histogram {
            title,
            values,
            bins,
            color: PALETTE[0],
            size: (720, 440),
        },
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{assert_png, assert_svg, temp};

    #[test]
    fn bins_cover_the_range_and_keep_the_maximum() {
        let c = bin_counts(&[0.0, 0.1, 0.5, 1.0, f32::NAN], 2, 0.0, 1.0);
        assert_eq!(c, vec![2, 2]);
    }

    #[test]
    fn curves_change_with_the_data() {
        let (a, b) = ([1.0, 0.5, 0.25], [1.0, 0.9, 0.8]);
        let pa = temp("curves-a.png");
        let pb = temp("curves-b.png");
        plot_curves("Loss", &[("train", &a)], &pa).unwrap();
        plot_curves("Loss", &[("train", &b)], &pb).unwrap();
        let (ba, bb) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
        assert_png(&ba, (800, 480));
        assert_ne!(ba, bb);
        let ps = temp("curves.svg");
        plot_curves("Loss curve", &[("train", &a), ("val", &b)], &ps).unwrap();
        let svg = std::fs::read_to_string(&ps).unwrap();
        assert_svg(&svg, &["Loss curve", "train", "val", "epoch"]);
        for p in [pa, pb, ps] {
            std::fs::remove_file(p).unwrap();
        }
    }

    #[test]
    fn curves_survive_gaps_single_points_and_no_data() {
        let p = temp("curves-odd.svg");
        plot_curves(
            "odd",
            &[("a", &[f64::NAN, 1.0, f64::INFINITY, 2.0, 3.0])],
            &p,
        )
        .unwrap();
        plot_curves("one", &[("a", &[1.0])], &p).unwrap();
        plot_curves("none", &[("a", &[])], &p).unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().contains("no values"));
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn histogram_shows_its_statistics() {
        let p = temp("hist.svg");
        plot_histogram("weights", &[1.0, 2.0, 2.0, 3.0, f32::NAN], 3, &p).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert_svg(
            &svg,
            &["weights", "n = 4", "mean = 2", "1 not finite", "count"],
        );
        plot_histogram("const", &[5.0; 4], 10, &p).unwrap();
        plot_histogram("empty", &[], 10, &p).unwrap();
        assert!(std::fs::read_to_string(&p)
            .unwrap()
            .contains("no finite values"));
        let q = temp("hist.png");
        plot_histogram("h", &[0.0, 1.0, 1.0], 4, &q).unwrap();
        let a = std::fs::read(&q).unwrap();
        plot_histogram("h", &[0.0, 0.0, 1.0], 4, &q).unwrap();
        assert_ne!(a, std::fs::read(&q).unwrap());
        assert_png(&a, (720, 440));
        std::fs::remove_file(p).unwrap();
        std::fs::remove_file(q).unwrap();
    }

    #[test]
    #[should_panic(expected = "bins must be at least 1")]
    fn zero_bins_panics() {
        let _ = plot_histogram("h", &[1.0], 0, &temp("never.png"));
    }
}
