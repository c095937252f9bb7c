//! Pictures of a network and its training (feature `viz`): the architecture diagram, the
//! computation graph (Graphviz DOT, and drawn in-process), loss and metric curves, histograms,
//! heatmaps, the confusion matrix, per-layer gradient norms over time
//! ([`GradientMonitor`]), and a self-contained HTML training report with diagnostics.
//!
//! Every `plot_*` function writes an SVG or a PNG, chosen by the path's extension, through a
//! temporary file and a rename. Text in PNGs is drawn with DejaVu Sans, compiled into the
//! library, so pictures look the same on a machine with no fonts installed; SVGs keep their
//! text as text. Charts are drawn with `plotters`.
//!
//! ```
//! # fn main() -> backprop::Result<()> {
//! use backprop::viz;
//! let dir = std::env::temp_dir();
//! viz::plot_mlp(4, &[5, 3], 2, &dir.join("architecture.png"))?;
//! viz::plot_curves("Loss", &[("train", &[0.9, 0.5, 0.3])], &dir.join("loss.svg"))?;
//! # Ok(()) }
//! ```

mod architecture;
mod canvas;
mod charts;
pub mod diagnostics;
mod graph;
mod heatmap;
mod history;
mod monitor;
mod report;

pub use architecture::plot_mlp;
pub use canvas::ImageFormat;
pub use charts::{plot_curves, plot_histogram};
pub use diagnostics::{dead_relu_units, DeadUnits, Finding, Level};
pub use graph::{graph_dot, render_graph};
pub use heatmap::{plot_confusion, plot_heatmap};
pub use history::MetricsHistory;
pub use monitor::{GradientMonitor, Snapshot};
pub use report::{training_report, ReportInput};

#[cfg(test)]
pub(crate) mod testing {
    //! Checks that a file is a real PNG or SVG, for the tests of every picture.

    use std::path::PathBuf;

    /// A path in the temp folder unique to this process and name.
    pub fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("backprop-viz-{}-{name}", std::process::id()))
    }

    /// Asserts `bytes` is a PNG of `size` that decodes and is not one flat colour.
    #[track_caller]
    pub fn assert_png(bytes: &[u8], size: (u32, u32)) {
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "not a PNG signature"
        );
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((w, h), size);
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("PNG header decodes");
        let mut buf = vec![0; reader.output_buffer_size().expect("size fits")];
        let info = reader.next_frame(&mut buf).expect("PNG data decodes");
        let px = &buf[..info.buffer_size()];
        let non_white = px.chunks(3).filter(|p| p.iter().any(|&c| c < 250)).count();
        let total = (w * h) as usize;
        assert!(
            non_white * 200 > total,
            "PNG is nearly blank: {non_white} of {total} pixels drawn"
        );
    }

    /// The contents of every `<text>` element, trimmed.
    pub fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_string())
            })
            .collect()
    }

    /// Asserts `svg` is a whole SVG document with balanced tags containing each of `texts`.
    #[track_caller]
    pub fn assert_svg(svg: &str, texts: &[&str]) {
        let start = svg.find("<svg").expect("has an <svg> element");
        assert!(svg[..start].trim().is_empty() || svg[..start].trim().starts_with("<?xml"));
        assert!(svg.trim_end().ends_with("</svg>"), "ends with </svg>");
        let opens = svg.matches('<').count();
        let closes = svg.matches('>').count();
        assert_eq!(opens, closes, "unbalanced angle brackets");
        let open_tags = svg.matches("<text").count();
        assert_eq!(open_tags, svg.matches("</text>").count(), "unclosed <text>");
        for t in texts {
            assert!(svg.contains(t), "SVG lacks {t:?}");
        }
    }
}
