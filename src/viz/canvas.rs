//! What every picture shares: the output format, the embedded font, rendering a [`Figure`] to
//! SVG or PNG bytes, atomic saving, colours and number formatting.

use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::Once;

/// A drawing area on any plotters backend (SVG or bitmap).
pub(crate) type Area<DB> = DrawingArea<DB, Shift>;

/// The result of drawing on a backend `DB`.
pub(crate) type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The font family every picture uses; [`ensure_font`] maps it to the embedded DejaVu Sans.
pub(crate) const FONT: &str = "sans-serif";

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/`), compiled in so that text renders
/// on a machine with no fonts installed; plotters' own `ttf` feature would ask fontconfig.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font with plotters (once per process).
pub(crate) fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let ok = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok();
        assert!(
            ok,
            "viz: the embedded font assets/fonts/DejaVuSans.ttf did not parse"
        );
    });
}

/// The file format of a picture, chosen by the path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics; text stays text (the viewer's sans-serif font draws it).
    Svg,
    /// A bitmap; text is drawn with the embedded font.
    Png,
}

impl ImageFormat {
    /// The format for `path`: `.svg` or `.png` (any case).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other extension.
    pub fn from_path(path: &Path) -> Result<ImageFormat> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("svg") => Ok(ImageFormat::Svg),
            Some("png") => Ok(ImageFormat::Png),
            _ => Err(Error::invalid(format!(
                "{}: a picture's file name must end in .svg or .png",
                path.display()
            ))),
        }
    }
}

/// Something that can be drawn on any backend at a fixed size in pixels.
pub(crate) trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `area` (already filled white).
    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult<DB>;
}

/// A plotters error as the crate's.
pub(crate) fn plot_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Plot(e.to_string())
}

/// Renders `figure` to the bytes of an SVG or PNG file.
pub(crate) fn render(figure: &impl Figure, format: ImageFormat) -> Result<Vec<u8>> {
    ensure_font();
    let (w, h) = figure.size();
    match format {
        ImageFormat::Svg => {
            let mut text = String::new();
            {
                let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(plot_error)?;
                figure.draw(&root).map_err(plot_error)?;
                root.present().map_err(plot_error)?;
            }
            Ok(text.into_bytes())
        }
        ImageFormat::Png => {
            let mut rgb = vec![255u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(plot_error)?;
                figure.draw(&root).map_err(plot_error)?;
                root.present().map_err(plot_error)?;
            }
            encode_png(&rgb, w, h)
        }
    }
}

/// Writes `figure` to `path` (format from the extension) through a temporary file and a rename.
pub(crate) fn save(figure: &impl Figure, path: &Path) -> Result<()> {
    let format = ImageFormat::from_path(path)?;
    let bytes = render(figure, format)?;
    crate::data::write_atomically(path, |w| w.write_all(&bytes))
}

/// An 8-bit RGB buffer as PNG file bytes.
fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let err = |e: png::EncodingError| Error::Plot(format!("PNG encoding: {e}"));
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(rgb).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(out)
}

/// Text in the embedded font at `size` pixels.
pub(crate) fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
}

/// Text centred on its position.
pub(crate) fn centered(size: f64) -> TextStyle<'static> {
    text(size).pos(Pos::new(HPos::Center, VPos::Center))
}

/// The width and height of `s` drawn at `size` pixels.
pub(crate) fn text_size(s: &str, size: f64) -> (u32, u32) {
    ensure_font();
    (FONT, size).into_font().box_size(s).unwrap_or_else(|_| {
        // Never reached with the embedded font; a rough estimate keeps layouts sane anyway.
        ((s.chars().count() as f64 * size * 0.6) as u32, size as u32)
    })
}

/// Matplotlib's `tab10` colours, for series and layers.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A number in at most about five characters of precision: `0.0123`, `12.5`, `1.2e-5`, `1e-8`.
pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        trim_zeros(&format!("{v:.1e}"))
    } else {
        let digits = (3 - a.log10().floor() as i32).clamp(0, 4) as usize;
        trim_zeros(&format!("{v:.digits$}"))
    }
}

/// `1.500` → `1.5`, `2.0e-5` → `2e-5`, `-0.000` → `0`: trailing zeros of the fraction go.
fn trim_zeros(s: &str) -> String {
    let (mantissa, exp) = match s.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let mut m = mantissa;
    if m.contains('.') {
        m = m.trim_end_matches('0').trim_end_matches('.');
    }
    let m = if m == "-0" { "0" } else { m };
    match exp {
        Some(e) => format!("{m}e{e}"),
        None => m.to_string(),
    }
}

/// How many ticks a linear axis gets at most (plotters' default label count): labels must
/// tell apart values this far apart, a tenth of the axis.
const TICKS_PER_AXIS: f64 = 10.0;

/// A tick label on a linear axis spanning `span`: enough digits that neighbouring ticks (about
/// a tenth of the span apart) read differently — an axis from 0.00999 to 0.01 gets `0.009992`,
/// not `0.01` five times — and a value that is zero up to rounding (`6.9e-18` on an axis from
/// -0.04 to 0.06) reads `0`.
pub(crate) fn fmt_tick(v: f64, span: f64) -> String {
    let span = span.abs();
    if !v.is_finite() || !span.is_finite() || span == 0.0 {
        return fmt_num(v);
    }
    if v.abs() < span * 1e-9 {
        return "0".into();
    }
    // One digit finer than the tick spacing, as plotters may step by 2.5 × 10^k.
    let finest = (span / TICKS_PER_AXIS).log10().floor() as i32 - 1;
    if (1e-3..1e5).contains(&v.abs().max(span)) {
        let decimals = (-finest).clamp(0, 12) as usize;
        trim_zeros(&format!("{v:.decimals$}"))
    } else {
        let digits = (v.abs().log10().floor() as i32 - finest).clamp(1, 12) as usize;
        trim_zeros(&format!("{v:.digits$e}"))
    }
}

/// A tick label for a count: whole numbers only.
pub(crate) fn fmt_count(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        String::new()
    }
}

/// `(lo, hi)` of the finite values, widened when they are all equal; `None` if there are none.
pub(crate) fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return None;
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return Some((lo - pad, hi + pad));
    }
    Some((lo, hi))
}

/// Draws `message` in the middle of `area` (for a chart with nothing to show).
pub(crate) fn draw_empty<DB: DrawingBackend>(
    area: &Area<DB>,
    title: &str,
    message: &str,
) -> DrawResult<DB> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 20),
        centered(20.0),
    ))?;
    area.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        centered(15.0).color(&RGBColor(110, 110, 110)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            ImageFormat::from_path(Path::new("a/b.SVG")).unwrap(),
            ImageFormat::Svg
        );
        assert_eq!(
            ImageFormat::from_path(Path::new("b.png")).unwrap(),
            ImageFormat::Png
        );
        let err = ImageFormat::from_path(Path::new("b.jpg")).unwrap_err();
        assert!(err.to_string().contains(".svg or .png"), "{err}");
        assert!(ImageFormat::from_path(Path::new("noext")).is_err());
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(0.012345), "0.0123");
        assert_eq!(fmt_num(12.5), "12.5");
        assert_eq!(fmt_num(1234.0), "1234");
        assert_eq!(fmt_num(1.5e-5), "1.5e-5");
        assert_eq!(fmt_num(-2.0), "-2");
        assert_eq!(fmt_num(f64::NAN), "NaN");
    }

    #[test]
    fn ticks_snap_to_zero_and_counts_are_whole() {
        assert_eq!(fmt_tick(6.9e-18, 0.1), "0");
        assert_eq!(fmt_tick(1e-5, 1e-4), "1e-5");
        assert_eq!(fmt_tick(0.05, 0.35), "0.05");
        assert_eq!(fmt_tick(20000.0, 1e5), "2e4");
        assert_eq!(fmt_count(1.5), "");
        assert_eq!(fmt_count(2.0), "2");
    }

    #[test]
    fn neighbouring_ticks_read_differently() {
        // A learning rate that barely moves (cosine annealing's first epochs), a loss near
        // 1000, a tiny gradient range: ticks a tenth of the span apart stay distinct.
        for (lo, hi) in [
            (0.00999, 0.01),
            (1000.0, 1000.5),
            (1e-7, 1.2e-7),
            (-3.0, 2.0),
            (0.0, 2e5),
        ] {
            let span = hi - lo;
            let labels: Vec<String> = (0..=20)
                .map(|k| fmt_tick(lo + span * k as f64 / 20.0, span))
                .collect();
            for w in labels.windows(2) {
                assert_ne!(w[0], w[1], "axis {lo}..{hi}: {labels:?}");
            }
        }
        assert_eq!(fmt_tick(0.009992, 1e-5), "0.009992");
        assert_eq!(fmt_num(1e-5), "1e-5");
        assert_eq!(fmt_num(-0.00001234), "-1.2e-5");
    }

    #[test]
    fn ranges_skip_non_finite_values_and_widen_constants() {
        assert_eq!(
            finite_range([1.0, f64::NAN, 3.0].into_iter()),
            Some((1.0, 3.0))
        );
        assert_eq!(finite_range([2.0].into_iter()), Some((1.8, 2.2)));
        assert_eq!(finite_range([0.0].into_iter()), Some((-1.0, 1.0)));
        assert_eq!(finite_range([f64::NAN].into_iter()), None);
    }

    #[test]
    fn the_embedded_font_measures_text() {
        let (w1, h) = text_size("loss", 14.0);
        let (w2, _) = text_size("loss curve", 14.0);
        assert!(w1 > 10 && w2 > w1 && h > 5, "{w1} {w2} {h}");
    }
}
