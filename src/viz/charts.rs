//! Line charts of values per epoch (loss, accuracy, gradient norms) and histograms.

use super::canvas::{
    self, draw_empty, finite_range, fmt_count, fmt_num, fmt_tick, Area, DrawResult, Figure, PALETTE,
};
use crate::Result;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Line charts over epochs, one line per series, with a legend above the plot (never over
/// the lines).
pub(crate) struct Curves<'a> {
    pub title: &'a str,
    pub series: Vec<(&'a str, &'a [f64])>,
    /// The epoch of each point (shared by all series); `None`: `1..=n`.
    pub x_values: Option<&'a [f64]>,
    pub y_label: &'a str,
    /// A logarithmic y axis (gradient norms span orders of magnitude). Zeros are drawn on the
    /// axis's lowest line, labelled 0 (a dead layer's gradient is 0, and must show); negative
    /// values are skipped.
    pub log_y: bool,
    pub size: (u32, u32),
}

/// The colour of each data split, the same in every chart: training, validation, test.
pub(crate) const SPLIT_COLORS: [RGBColor; 3] = [PALETTE[0], PALETTE[1], PALETTE[2]];

/// The colour of series `i`: its split's for a data split (a name starting with `training`,
/// `train`, `validation`, `val` or `test`), else one of the palette's other colours, so that
/// nothing else looks like a split.
pub(crate) fn series_color(name: &str, i: usize) -> RGBColor {
    let others = &PALETTE[SPLIT_COLORS.len()..];
    match name.split_whitespace().next().unwrap_or("") {
        "training" | "train" => SPLIT_COLORS[0],
        "validation" | "val" => SPLIT_COLORS[1],
        "test" => SPLIT_COLORS[2],
        _ => others[i % others.len()],
    }
}

/// Histograms of values and of gradients: colours no data split uses.
pub(crate) const VALUES_COLOR: RGBColor = PALETTE[4];
pub(crate) const GRADIENT_COLOR: RGBColor = PALETTE[3];

/// Pixels: the title's band, one legend row, and the legend's left edge (the plot's).
const TITLE_BAND: u32 = 36;
const LEGEND_ROW: u32 = 18;
const LEGEND_LEFT: i32 = 76;

impl Figure for Curves<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult<DB> {
        let positive = self
            .series
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .filter(|&v| v.is_finite() && (!self.log_y || v > 0.0));
        let has_zero = self.log_y && self.series.iter().any(|(_, s)| s.contains(&0.0));
        let range = match (finite_range(positive), has_zero) {
            (Some(r), _) => r,
            (None, true) => (0.1, 1.0),
            (None, false) => return draw_empty(area, self.title, "no values to plot"),
        };
        let (lo, hi) = range;
        let n = self.series.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        let (x0, x1) = (self.x_at(0), self.x_at(n.max(1) - 1));
        let x = if x1 <= x0 {
            (x0 - 0.5)..(x0 + 0.5)
        } else {
            x0..x1
        };
        let plot = self.draw_title_and_legend(area)?;
        if self.log_y {
            // Whole decades, just widened: plotters puts ticks on the powers of ten (and their
            // multiples) from the first one *inside* the range, so a range inside one decade
            // had no label under 0.1 and small values went unlabelled.
            let (d0, d1) = (lo.log10().floor(), hi.log10().ceil());
            let (lo, hi) = (
                10f64.powf(d0) * (1.0 - 1e-9),
                10f64.powf(d1.max(d0 + 1.0)) * (1.0 + 1e-9),
            );
            // Zero sits one decade below the lowest power of ten on the axis.
            let zero = has_zero.then(|| 10f64.powf(lo.log10().floor() - 1.0));
            let lo = zero.unwrap_or(lo);
            let place = |v: f64| match zero {
                Some(z) if v == 0.0 => Some(z),
                _ => (v.is_finite() && v > 0.0).then_some(v),
            };
            // Over one or two decades, ticks at 1, 2 and 5 times each power of ten are
            // labelled (plotters then gives every multiple: the others stay grid lines).
            let decades = (hi / lo).log10().round().max(1.0) as usize;
            let label = |v: &f64| {
                let mantissa = v / 10f64.powf(v.log10().floor());
                match zero {
                    Some(z) if (v / z - 1.0).abs() < 1e-6 => "0".to_string(),
                    _ if decades > 2
                        || [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-6) =>
                    {
                        fmt_num(*v)
                    }
                    _ => String::new(),
                }
            };
            let ticks = if decades <= 2 { 10 * decades } else { 10 };
            let chart =
                self.draw_on(&plot, x.clone(), (lo..hi).log_scale(), ticks, &label, place)?;
            if let Some(z) = zero {
                // The axis starts at the zero line, where plotters puts no tick: label it.
                let (px, py) = chart.backend_coord(&(x.start, z));
                let (bx, by) = plot.get_base_pixel();
                plot.draw(&Text::new(
                    "0".to_string(),
                    (px - bx - 6, py - by),
                    canvas::text(12.0).pos(Pos::new(HPos::Right, VPos::Center)),
                ))?;
            }
            Ok(())
        } else {
            let pad = (hi - lo) * 0.05;
            let span = hi - lo;
            let label = |v: &f64| fmt_tick(*v, span);
            let place = |v: f64| v.is_finite().then_some(v);
            self.draw_on(&plot, x, (lo - pad)..(hi + pad), 10, &label, place)
                .map(|_| ())
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

    /// Draws the title and, under it, the legend (wrapped into rows); returns the area left
    /// for the plot.
    fn draw_title_and_legend<DB: DrawingBackend>(
        &self,
        area: &Area<DB>,
    ) -> std::result::Result<Area<DB>, DrawingAreaErrorKind<DB::ErrorType>> {
        let (w, _) = area.dim_in_pixel();
        area.draw(&Text::new(
            self.title.to_string(),
            (w as i32 / 2, 18),
            canvas::centered(20.0),
        ))?;
        let label_style = canvas::text(12.0).pos(Pos::new(HPos::Left, VPos::Center));
        let (mut x, mut row) = (LEGEND_LEFT, 0u32);
        let mut any = false;
        for (i, (name, _)) in self.series.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            let item = 26 + canvas::text_size(name, 12.0).0 as i32 + 18;
            if any && x + item > w as i32 - 12 {
                (x, row) = (LEGEND_LEFT, row + 1);
            }
            any = true;
            let y = (TITLE_BAND + row * LEGEND_ROW + LEGEND_ROW / 2) as i32;
            let color = series_color(name, i);
            area.draw(&PathElement::new(
                vec![(x, y), (x + 20, y)],
                color.stroke_width(2),
            ))?;
            area.draw(&Text::new(
                name.to_string(),
                (x + 26, y),
                label_style.clone(),
            ))?;
            x += item;
        }
        let top = if any {
            TITLE_BAND + (row + 1) * LEGEND_ROW + 4
        } else {
            TITLE_BAND
        };
        Ok(area.split_vertically(top).1)
    }

    /// Draws axes (about `y_ticks` ticks up the side) and lines; `place` gives a value's
    /// height, or `None` to leave a gap.
    /// Returns the chart's coordinate mapping.
    #[allow(clippy::type_complexity)]
    fn draw_on<'b, DB, Y>(
        &self,
        area: &'b Area<DB>,
        x: std::ops::Range<f64>,
        y: Y,
        y_ticks: usize,
        y_label: &dyn Fn(&f64) -> String,
        place: impl Fn(f64) -> Option<f64>,
    ) -> std::result::Result<
        ChartContext<'b, DB, Cartesian2d<RangedCoordf64, Y::CoordDescType>>,
        DrawingAreaErrorKind<DB::ErrorType>,
    >
    where
        DB: DrawingBackend,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let y: Y::CoordDescType = y.into();
        // Room for the widest tick label and the axis name beside it.
        let widest = [y.range().start, y.range().end]
            .iter()
            .map(|v| canvas::text_size(&y_label(v), 12.0).0)
            .max()
            .unwrap_or(0);
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .margin_top(4)
            .x_label_area_size(40)
            .y_label_area_size((widest + 34).max(64))
            .build_cartesian_2d(x, y)?;
        let n = self.series.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(self.y_label)
            .x_labels(n.clamp(2, 10))
            .y_labels(y_ticks)
            // Dense ticks (a log axis's 1…9 multiples) are grid lines enough.
            .y_max_light_lines(if y_ticks > 10 { 0 } else { 10 })
            .x_label_formatter(&|v| {
                // Epochs are whole numbers: label only the ticks that fall on one, in full.
                if (v - v.round()).abs() < 1e-6 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(y_label)
            .label_style(canvas::text(12.0))
            .axis_desc_style(canvas::text(13.0))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()?;
        for (i, (name, values)) in self.series.iter().enumerate() {
            let color = series_color(name, i);
            // Non-finite values break the line instead of being drawn at an invented height.
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (k, &v) in values.iter().enumerate() {
                match place(v) {
                    Some(y) => runs
                        .last_mut()
                        .expect("never empty")
                        .push((self.x_at(k), y)),
                    None if !runs.last().expect("never empty").is_empty() => runs.push(Vec::new()),
                    None => {}
                }
            }
            let max_points = self.size.0 as usize;
            for run in runs.into_iter().filter(|r| !r.is_empty()) {
                let long = run.len() > max_points;
                let run = decimate(run, max_points);
                let style = color.stroke_width(2);
                if run.len() == 1 {
                    chart.draw_series(
                        run.iter()
                            .map(|&p| Circle::new(p, 3, color.filled()).into_dyn()),
                    )?;
                } else {
                    // A thick line is filled as one polygon, at a cost that grows with its
                    // edges times the rows they cross: a decimated (jagged) line of thousands
                    // of points took a second. Pieces of 64 points, each sharing its last point
                    // with the next, draw it at a small fraction of that. A short line stays
                    // one path, whose joins are smoother.
                    let piece = if long { 64 } else { run.len() };
                    let starts = (0..run.len() - 1).step_by(piece - 1);
                    let pieces = starts.map(|i| {
                        let end = (i + piece).min(run.len());
                        PathElement::new(run[i..end].to_vec(), style).into_dyn()
                    });
                    chart.draw_series(pieces)?;
                }
            }
        }
        Ok(chart)
    }
}

/// At most about `max_points` points of `run` that draw the same line at chart resolution:
/// the points are cut into equal buckets, and each bucket keeps its first and last point and
/// its lowest and highest, in order. A long run (100 000 epochs) then costs as much to draw
/// as a short one, and no spike disappears.
fn decimate(run: Vec<(f64, f64)>, max_points: usize) -> Vec<(f64, f64)> {
    let per_bucket = 4;
    if run.len() <= max_points.max(per_bucket) {
        return run;
    }
    let bucket = run.len().div_ceil(max_points / per_bucket);
    let mut out = Vec::with_capacity(max_points + per_bucket);
    for chunk in run.chunks(bucket) {
        let lowest = (0..chunk.len()).min_by(|&a, &b| chunk[a].1.total_cmp(&chunk[b].1));
        let highest = (0..chunk.len()).max_by(|&a, &b| chunk[a].1.total_cmp(&chunk[b].1));
        let mut keep = [
            0,
            lowest.unwrap_or(0),
            highest.unwrap_or(0),
            chunk.len() - 1,
        ];
        keep.sort_unstable();
        let mut last = None;
        for k in keep {
            if last != Some(k) {
                out.push(chunk[k]);
                last = Some(k);
            }
        }
    }
    out
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
            color: VALUES_COLOR,
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
    fn long_runs_are_decimated_keeping_the_envelope() {
        let run: Vec<(f64, f64)> = (0..100_000)
            .map(|k| {
                (
                    k as f64 + 1.0,
                    ((k * 7919) % 1000) as f64 - if k == 54_321 { 1e6 } else { 0.0 },
                )
            })
            .collect();
        let short = decimate(run.clone(), 1600);
        assert!(
            short.len() <= 1600 + 4 && short.len() >= 800,
            "{}",
            short.len()
        );
        assert_eq!(short.first(), run.first());
        assert_eq!(short.last(), run.last());
        let max = |r: &[(f64, f64)]| r.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let min = |r: &[(f64, f64)]| r.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert_eq!((min(&short), max(&short)), (min(&run), max(&run)));
        assert!(
            short.windows(2).all(|w| w[0].0 < w[1].0),
            "x stays in order"
        );
        assert!(short.iter().any(|p| p.0 == 54_322.0), "the spike is kept");
        let few = run[..1000].to_vec();
        assert_eq!(decimate(few.clone(), 1600), few);
    }

    /// The y-axis labels of a log-scale chart of `values`, drawn as SVG.
    fn log_axis_svg(values: &[f64]) -> String {
        let p = temp(&format!("log-{}.svg", values.len()));
        let fig = Curves {
            title: "norms",
            series: vec![("w", values)],
            x_values: None,
            y_label: "norm",
            log_y: true,
            size: (600, 400),
        };
        canvas::save(&fig, &p).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        std::fs::remove_file(p).unwrap();
        svg
    }

    #[test]
    fn log_axes_label_small_values_and_show_zeros() {
        // Within about one decade under 0.1: ticks at 1, 2 and 5 × 10^k are labelled.
        let svg = log_axis_svg(&[0.03, 0.02, 0.06, 0.04]);
        assert_svg(&svg, &["\n0.01\n", "\n0.02\n", "\n0.05\n", "\n0.1\n"]);
        assert!(
            !svg.contains("\n0.03\n"),
            "only 1, 2 and 5 times a power of ten"
        );
        // A zero gradient sits on a line labelled 0 below the smallest decade.
        let svg = log_axis_svg(&[0.5, 0.2, 0.0, 0.0, 1e-6]);
        assert_svg(&svg, &["\n0\n", "\n1e-6\n"]);
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
