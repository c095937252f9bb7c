//! The architecture diagram of an MLP, as the tutorial's `plot_mlp`: neurons as circles, one
//! column per layer, every connection between consecutive layers drawn.

use super::canvas::{self, Area, DrawResult, Figure};
use crate::Result;
use plotters::prelude::*;
use std::path::Path;

/// Layers wider than this show their first and last few neurons around a "⋮".
const MAX_SHOWN: usize = 12;
/// How many neurons at each end a wide layer shows.
const END_SHOWN: usize = 5;

/// An MLP diagram for layer sizes `[in, hidden..., out]`.
pub(crate) struct MlpDiagram {
    pub sizes: Vec<usize>,
    pub title: String,
}

/// What a column shows in each slot, top to bottom.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Neuron,
    Ellipsis,
}

fn slots(n: usize) -> Vec<Slot> {
    if n <= MAX_SHOWN {
        vec![Slot::Neuron; n]
    } else {
        let mut s = vec![Slot::Neuron; END_SHOWN];
        s.push(Slot::Ellipsis);
        s.extend(vec![Slot::Neuron; END_SHOWN]);
        s
    }
}

impl Figure for MlpDiagram {
    fn size(&self) -> (u32, u32) {
        let w = (self.sizes.len() as u32 * 190).clamp(600, 1400);
        (w, 560)
    }

    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult<DB> {
        let (w, h) = self.size();
        let (w, h) = (w as f64, h as f64);
        area.draw(&Text::new(
            self.title.clone(),
            ((w / 2.0) as i32, 26),
            canvas::centered(22.0),
        ))?;
        let n_layers = self.sizes.len();
        let (left, right) = (90.0, w - 90.0);
        let (top, bottom) = (70.0, h - 80.0);
        let columns: Vec<Vec<Slot>> = self.sizes.iter().map(|&n| slots(n)).collect();
        let most = columns.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64;
        let spacing = ((bottom - top) / most).min(64.0);
        let radius = (spacing * 0.34).clamp(3.0, 18.0);
        let x_of = |i: usize| {
            if n_layers <= 1 {
                w / 2.0
            } else {
                left + (right - left) * i as f64 / (n_layers - 1) as f64
            }
        };
        let mid = (top + bottom) / 2.0;
        let y_of = |k: usize, len: usize| mid + (k as f64 - (len as f64 - 1.0) / 2.0) * spacing;
        // Connections first, so the circles cover their ends.
        let line = RGBColor(90, 90, 90).mix(0.25);
        for i in 0..n_layers.saturating_sub(1) {
            let (a, b) = (&columns[i], &columns[i + 1]);
            for (j, sa) in a.iter().enumerate() {
                for (k, sb) in b.iter().enumerate() {
                    if *sa == Slot::Neuron && *sb == Slot::Neuron {
                        area.draw(&PathElement::new(
                            vec![
                                (x_of(i) as i32, y_of(j, a.len()) as i32),
                                (x_of(i + 1) as i32, y_of(k, b.len()) as i32),
                            ],
                            line,
                        ))?;
                    }
                }
            }
        }
        for (i, column) in columns.iter().enumerate() {
            let fill = if i == 0 {
                RGBColor(200, 230, 201)
            } else if i + 1 == n_layers {
                RGBColor(255, 224, 178)
            } else {
                RGBColor(187, 222, 251)
            };
            let x = x_of(i) as i32;
            for (k, slot) in column.iter().enumerate() {
                let y = y_of(k, column.len()) as i32;
                match slot {
                    Slot::Neuron => {
                        area.draw(&Circle::new((x, y), radius as i32, fill.filled()))?;
                        area.draw(&Circle::new((x, y), radius as i32, BLACK.stroke_width(1)))?;
                    }
                    Slot::Ellipsis => {
                        for d in [-1, 0, 1] {
                            let dy = (d as f64 * spacing * 0.25) as i32;
                            area.draw(&Circle::new((x, y + dy), 2, BLACK.filled()))?;
                        }
                    }
                }
            }
            let name = if i == 0 {
                "Input layer".to_string()
            } else if i + 1 == n_layers {
                "Output layer".to_string()
            } else {
                format!("Hidden layer {i}")
            };
            let n = self.sizes[i];
            let count = format!("{n} neuron{}", if n == 1 { "" } else { "s" });
            area.draw(&Text::new(name, (x, h as i32 - 52), canvas::centered(14.0)))?;
            area.draw(&Text::new(
                count,
                (x, h as i32 - 32),
                canvas::centered(13.0).color(&RGBColor(90, 90, 90)),
            ))?;
        }
        Ok(())
    }
}

/// Draws an MLP with `input` inputs, the `hidden` layer sizes and `output` outputs, as the
/// tutorial's `plot_mlp`: one column of circles per layer, every connection between consecutive
/// layers, the layer names and sizes below, the title "Multi-Layer Perceptron Architecture".
/// A layer of more than 12 neurons shows its first and last five around a "⋮" (and their
/// connections). The format (`.svg` or `.png`) follows the extension.
///
/// # Errors
/// As [`plot_curves`](super::plot_curves).
///
/// # Examples
/// ```
/// # fn main() -> backprop::Result<()> {
/// let path = std::env::temp_dir().join("mlp.svg");
/// backprop::viz::plot_mlp(4, &[5, 3], 2, &path)?;
/// assert!(std::fs::read_to_string(&path).unwrap().contains("Hidden layer 2"));
/// # Ok(()) }
/// ```
pub fn plot_mlp(input: usize, hidden: &[usize], output: usize, path: &Path) -> Result<()> {
    let mut sizes = vec![input];
    sizes.extend_from_slice(hidden);
    sizes.push(output);
    canvas::save(
        &MlpDiagram {
            sizes,
            title: "Multi-Layer Perceptron Architecture".into(),
        },
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{assert_png, assert_svg, temp};

    #[test]
    fn wide_layers_are_elided() {
        assert_eq!(slots(3), vec![Slot::Neuron; 3]);
        let s = slots(128);
        assert_eq!(s.len(), 11);
        assert_eq!(s[5], Slot::Ellipsis);
    }

    #[test]
    fn diagram_draws_every_neuron_and_connection() {
        let p = temp("mlp.svg");
        plot_mlp(4, &[5, 3], 2, &p).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert_svg(
            &svg,
            &[
                "Multi-Layer Perceptron Architecture",
                "Input layer",
                "Hidden layer 1",
                "Hidden layer 2",
                "Output layer",
                "5 neurons",
            ],
        );
        // 4+5+3+2 neurons, each a filled circle and an outline.
        assert_eq!(svg.matches("<circle").count(), 2 * 14);
        // 4·5 + 5·3 + 3·2 connections.
        assert_eq!(svg.matches("<polyline").count(), 41);
        let q = temp("mlp.png");
        plot_mlp(4, &[5, 3], 2, &q).unwrap();
        let a = std::fs::read(&q).unwrap();
        assert_png(&a, (760, 560));
        plot_mlp(4, &[6, 3], 2, &q).unwrap();
        assert_ne!(a, std::fs::read(&q).unwrap());
        for f in [p, q] {
            std::fs::remove_file(f).unwrap();
        }
    }
}
