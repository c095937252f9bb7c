//! Matrices as pictures: heatmaps with a colour bar (weights, gradients) and the confusion
//! matrix with its counts.

use super::canvas::{
    self, draw_empty, finite_range, fmt_count, fmt_tick, Area, DrawResult, Figure,
};
use crate::tensor::Array;
use crate::train::ConfusionMatrix;
use crate::Result;
use plotters::prelude::*;
use std::path::Path;

/// Colour maps, from a value in `[0, 1]` to a colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Colormap {
    /// Matplotlib's default (dark purple → teal → yellow), perceptually uniform.
    Viridis,
    /// White → dark blue, for counts.
    Blues,
}

/// Viridis at eleven evenly spaced points (matplotlib's `_viridis_data` sampled every 0.1).
const VIRIDIS: [(u8, u8, u8); 11] = [
    (68, 1, 84),
    (72, 36, 117),
    (65, 68, 135),
    (53, 95, 141),
    (42, 120, 142),
    (33, 145, 140),
    (34, 168, 132),
    (68, 191, 112),
    (122, 209, 81),
    (189, 223, 38),
    (253, 231, 37),
];

impl Colormap {
    /// The colour at `t` (clamped to `[0, 1]`; NaN is grey).
    pub(crate) fn at(self, t: f64) -> RGBColor {
        if t.is_nan() {
            return RGBColor(190, 190, 190);
        }
        let t = t.clamp(0.0, 1.0);
        match self {
            Colormap::Viridis => {
                let x = t * (VIRIDIS.len() - 1) as f64;
                let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
                let f = x - i as f64;
                let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
                let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
                RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
            }
            Colormap::Blues => {
                let mix = |p: f64, q: f64| (p + (q - p) * t).round() as u8;
                RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
            }
        }
    }
}

/// At most this many cells are drawn per side; larger matrices are shown as block means.
const MAX_CELLS: usize = 128;

/// A matrix reduced to at most `MAX_CELLS` per side by averaging blocks (NaN-aware).
pub(crate) struct Grid {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f64>,
    /// Rows and columns of the original matrix per cell (1 when shown as is).
    pub block: (usize, usize),
}

impl Grid {
    /// The grid of a 0-, 1- or 2-D array (1-D as one row).
    ///
    /// # Panics
    /// Panics if `matrix` has more than two dimensions.
    #[track_caller]
    pub(crate) fn new(matrix: &Array) -> Grid {
        let (rows, cols) = match *matrix.shape() {
            [] => (1, 1),
            [n] => (1, n),
            [r, c] => (r, c),
            ref s => panic!("plot_heatmap: expected a 1-D or 2-D array, got shape {s:?}"),
        };
        let br = rows.div_ceil(MAX_CELLS).max(1);
        let bc = cols.div_ceil(MAX_CELLS).max(1);
        let (gr, gc) = (rows.div_ceil(br), cols.div_ceil(bc));
        let data = matrix.data();
        let mut values = vec![0.0; gr * gc];
        for (gi, row) in values.chunks_mut(gc.max(1)).enumerate() {
            for (gj, cell) in row.iter_mut().enumerate() {
                let (mut sum, mut n) = (0.0, 0usize);
                for i in gi * br..((gi + 1) * br).min(rows) {
                    for j in gj * bc..((gj + 1) * bc).min(cols) {
                        let v = data[i * cols + j] as f64;
                        if v.is_finite() {
                            sum += v;
                            n += 1;
                        }
                    }
                }
                *cell = if n == 0 { f64::NAN } else { sum / n as f64 };
            }
        }
        Grid {
            rows: gr,
            cols: gc,
            values,
            block: (br, bc),
        }
    }
}

/// A heatmap of one matrix with a colour bar.
pub(crate) struct Heatmap<'a> {
    pub title: &'a str,
    pub matrix: &'a Array,
    pub size: (u32, u32),
}

impl Figure for Heatmap<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult<DB> {
        draw_heatmap(area, self.title, &Grid::new(self.matrix))
    }
}

/// A figure size that keeps a `rows × cols` grid's cells roughly square.
pub(crate) fn heatmap_size(matrix: &Array) -> (u32, u32) {
    let (rows, cols) = match *matrix.shape() {
        [] => (1, 1),
        [n] => (1, n),
        [r, c, ..] => (r, c),
    };
    let (rows, cols) = (rows.min(MAX_CELLS) as f64, cols.min(MAX_CELLS) as f64);
    let cell = (520.0 / cols).min(420.0 / rows).clamp(2.0, 60.0);
    let w = (cell * cols).clamp(160.0, 560.0) + 200.0;
    let h = (cell * rows).clamp(60.0, 460.0) + 110.0;
    (w as u32, h as u32)
}

/// Draws `grid` with a viridis colour bar on the right.
pub(crate) fn draw_heatmap<DB: DrawingBackend>(
    area: &Area<DB>,
    title: &str,
    grid: &Grid,
) -> DrawResult<DB> {
    let Some((lo, hi)) = finite_range(grid.values.iter().copied()) else {
        return draw_empty(area, title, "no finite values");
    };
    let (w, _) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(w.saturating_sub(96));
    let mut title = title.to_string();
    if grid.block != (1, 1) {
        title.push_str(&format!(
            " (means of {}×{} blocks)",
            grid.block.0, grid.block.1
        ));
    }
    let (rows, cols) = (grid.rows as f64, grid.cols as f64);
    let mut chart = ChartBuilder::on(&main)
        .caption(title, canvas::text(16.0))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(40)
        .build_cartesian_2d(-0.5..cols - 0.5, 0.5 - rows..0.5)?;
    let (bc, br) = (grid.block.1 as f64, grid.block.0 as f64);
    // Cell (r, c) is centred on (c, -r): row 0 at the top, as `imshow` draws it, and the ticks
    // at whole (round) numbers fall on cell centres.
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(grid.cols.clamp(2, 10))
        .y_labels(grid.rows.clamp(2, 10))
        .x_label_formatter(&|v| index_label(*v, bc))
        .y_label_formatter(&|v| index_label(-v, br))
        .label_style(canvas::text(11.0))
        .draw()?;
    let span = hi - lo;
    chart.draw_series((0..grid.rows).flat_map(|r| {
        (0..grid.cols).map(move |c| {
            let v = grid.values[r * grid.cols + c];
            let (x, y) = (c as f64, -(r as f64));
            Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                Colormap::Viridis.at((v - lo) / span).filled(),
            )
        })
    }))?;
    draw_colorbar(&bar, lo, hi, Colormap::Viridis)
}

/// The label of a tick at `v`: the row or column index (times the block size) when `v` is
/// a whole number, else nothing.
fn index_label(v: f64, block: f64) -> String {
    if (v - v.round()).abs() < 1e-6 && v.round() >= 0.0 {
        format!("{}", (v.round() * block) as i64)
    } else {
        String::new()
    }
}

/// A vertical colour bar from `lo` (bottom) to `hi` (top) with value ticks on its right
/// (whole numbers only for [`Colormap::Blues`], which shows counts).
fn draw_colorbar<DB: DrawingBackend>(
    area: &Area<DB>,
    lo: f64,
    hi: f64,
    cmap: Colormap,
) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(40)
        .margin_bottom(36)
        .margin_left(4)
        .margin_right(4)
        .set_label_area_size(LabelAreaPosition::Right, 56)
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&|v| {
            if cmap == Colormap::Blues {
                fmt_count(*v)
            } else {
                fmt_tick(*v, hi - lo)
            }
        })
        .label_style(canvas::text(11.0))
        .draw()?;
    let steps = 64;
    let dv = (hi - lo) / steps as f64;
    chart.draw_series((0..steps).map(|i| {
        let v0 = lo + i as f64 * dv;
        Rectangle::new(
            [(0.0, v0), (1.0, v0 + dv)],
            cmap.at((i as f64 + 0.5) / steps as f64).filled(),
        )
    }))?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, lo), (1.0, hi)],
        BLACK.stroke_width(1),
    )))?;
    Ok(())
}

/// Plots a 2-D array as a heatmap (row 0 at the top, as matplotlib's `imshow`) with a viridis
/// colour bar; a 1-D array is shown as one row. Matrices over 128 rows or columns are shown as
/// block means (the title says so). The format (`.svg` or `.png`) follows the extension.
///
/// # Errors
/// As [`plot_curves`](super::plot_curves).
///
/// # Panics
/// Panics if `matrix` has more than two dimensions.
#[track_caller]
pub fn plot_heatmap(title: &str, matrix: &Array, path: &Path) -> Result<()> {
    assert!(
        matrix.ndim() <= 2,
        "plot_heatmap: expected a 1-D or 2-D array, got shape {:?}",
        matrix.shape()
    );
    canvas::save(
        &Heatmap {
            title,
            matrix,
            size: heatmap_size(matrix),
        },
        path,
    )
}

/// A confusion matrix: counts in cells, shaded by count.
pub(crate) struct Confusion<'a> {
    pub cm: &'a ConfusionMatrix,
    pub title: String,
    pub size: (u32, u32),
}

impl<'a> Confusion<'a> {
    pub(crate) fn new(cm: &'a ConfusionMatrix) -> Self {
        let n = cm.n_classes().max(1) as u32;
        let side = (n * 56).clamp(260, 620);
        Confusion {
            cm,
            title: format!("Confusion matrix (accuracy {:.1}%)", 100.0 * cm.accuracy()),
            size: (side + 170, side + 120),
        }
    }
}

impl Figure for Confusion<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult<DB> {
        let n = self.cm.n_classes();
        if n == 0 {
            return draw_empty(area, &self.title, "no classes");
        }
        let max = self
            .cm
            .counts
            .iter()
            .flatten()
            .copied()
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let (w, _) = area.dim_in_pixel();
        let (main, bar) = area.split_horizontally(w.saturating_sub(96));
        let nf = n as f64;
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, canvas::text(17.0))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(-0.5..nf - 0.5, 0.5 - nf..0.5)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n.clamp(2, 30))
            .y_labels(n.clamp(2, 30))
            .x_desc("predicted class")
            .y_desc("true class")
            .x_label_formatter(&|v| index_label(*v, 1.0))
            .y_label_formatter(&|v| index_label(-v, 1.0))
            .label_style(canvas::text(12.0))
            .axis_desc_style(canvas::text(13.0))
            .draw()?;
        let cell_px = main.dim_in_pixel().0 as f64 / (nf + 1.5);
        let font = (cell_px * 0.32).clamp(8.0, 16.0);
        for (t, row) in self.cm.counts.iter().enumerate() {
            for (p, &c) in row.iter().enumerate() {
                let (x, y) = (p as f64, -(t as f64));
                let frac = c as f64 / max;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    Colormap::Blues.at(frac).filled(),
                )))?;
                if cell_px >= 18.0 {
                    let color = if frac > 0.55 { WHITE } else { BLACK };
                    chart.draw_series(std::iter::once(Text::new(
                        c.to_string(),
                        (x, y),
                        canvas::centered(font).color(&color),
                    )))?;
                }
            }
        }
        draw_colorbar(&bar, 0.0, max, Colormap::Blues)
    }
}

/// Plots a confusion matrix: rows are true classes, columns predicted classes, each cell shows
/// its count and is shaded by it; the title gives the accuracy. The format (`.svg` or `.png`)
/// follows the extension.
///
/// # Errors
/// As [`plot_curves`](super::plot_curves).
pub fn plot_confusion(cm: &ConfusionMatrix, path: &Path) -> Result<()> {
    canvas::save(&Confusion::new(cm), path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{assert_png, assert_svg, svg_texts, temp};

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(Colormap::Viridis.at(0.0), RGBColor(68, 1, 84));
        assert_eq!(Colormap::Viridis.at(1.0), RGBColor(253, 231, 37));
        assert_eq!(Colormap::Viridis.at(2.0), RGBColor(253, 231, 37));
        assert_eq!(Colormap::Viridis.at(f64::NAN), RGBColor(190, 190, 190));
        assert_eq!(Colormap::Blues.at(0.0), RGBColor(247, 251, 255));
    }

    #[test]
    fn large_matrices_become_block_means() {
        let a = Array::new(&[300, 2], (0..600).map(|v| v as f32).collect());
        let g = Grid::new(&a);
        assert_eq!((g.rows, g.cols, g.block), (100, 2, (3, 1)));
        // The first block holds rows 0..3 of column 0: 0, 2, 4.
        assert_eq!(g.values[0], 2.0);
        let one_row = Grid::new(&Array::new(&[3], vec![1.0, f32::NAN, 3.0]));
        assert_eq!((one_row.rows, one_row.cols), (1, 3));
        assert!(one_row.values[1].is_nan());
    }

    #[test]
    fn heatmaps_change_with_the_data() {
        let p = temp("heat.png");
        let a = Array::new(&[3, 4], (0..12).map(|v| v as f32).collect());
        plot_heatmap("W", &a, &p).unwrap();
        let first = std::fs::read(&p).unwrap();
        assert_png(&first, heatmap_size(&a));
        let b = Array::new(&[3, 4], (0..12).map(|v| (v * v) as f32).collect());
        plot_heatmap("W", &b, &p).unwrap();
        assert_ne!(first, std::fs::read(&p).unwrap());
        let s = temp("heat.svg");
        plot_heatmap(
            "bias",
            &Array::new(&[5], vec![0.5, -1.0, 2.0, 0.0, 1.0]),
            &s,
        )
        .unwrap();
        assert_svg(&std::fs::read_to_string(&s).unwrap(), &["bias", "-1"]);
        plot_heatmap("big", &Array::zeros(&[300, 300]), &s).unwrap();
        assert_svg(&std::fs::read_to_string(&s).unwrap(), &["3×3 blocks"]);
        for f in [p, s] {
            std::fs::remove_file(f).unwrap();
        }
    }

    #[test]
    #[should_panic(expected = "expected a 1-D or 2-D array, got shape [2, 2, 2]")]
    fn three_dims_panic() {
        let _ = plot_heatmap("x", &Array::zeros(&[2, 2, 2]), &temp("never.png"));
    }

    #[test]
    fn confusion_shows_counts_and_accuracy() {
        let cm = ConfusionMatrix::new(3, &[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 2, 0]);
        let p = temp("cm.svg");
        plot_confusion(&cm, &p).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert_svg(&svg, &["accuracy 66.7%", "predicted class", "true class"]);
        // The nine counts are written in their cells.
        let texts = svg_texts(&svg);
        let counts: Vec<String> = cm.counts.iter().flatten().map(|c| c.to_string()).collect();
        assert!(
            texts.windows(9).any(|w| w == counts.as_slice()),
            "{texts:?}"
        );
        // Class labels 0..2 on each axis, row 0 at the top.
        assert!(texts.windows(3).any(|w| w == ["2", "1", "0"]), "{texts:?}");
        let q = temp("cm.png");
        plot_confusion(&cm, &q).unwrap();
        let a = std::fs::read(&q).unwrap();
        assert_png(&a, Confusion::new(&cm).size);
        let other = ConfusionMatrix::new(3, &[0, 1, 2], &[0, 1, 2]);
        plot_confusion(&other, &q).unwrap();
        assert_ne!(a, std::fs::read(&q).unwrap());
        for f in [p, q] {
            std::fs::remove_file(f).unwrap();
        }
    }
}
