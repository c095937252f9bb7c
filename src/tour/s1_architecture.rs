//! Section 1, "Introduction to Multi-Layer Perceptrons": the architecture diagram.

use super::say;
use crate::Result;
use std::io::Write;
use std::path::Path;

/// Draws the tutorial's `plot_mlp(input_size=4, hidden_sizes=[5, 3], output_size=2)` — neurons
/// as circles, layers as columns, every connection a line — as `01_architecture.png` and
/// `01_architecture.svg` in `dir`, and prints what the picture counts.
///
/// # Errors
/// An error writing to `out` or saving a figure.
pub fn section_1(out: &mut dyn Write, dir: &Path) -> Result<()> {
    let (input_size, hidden_sizes, output_size) = (4, [5, 3], 2);
    let mut layer_sizes = vec![input_size];
    layer_sizes.extend(hidden_sizes);
    layer_sizes.push(output_size);
    let neurons: usize = layer_sizes.iter().sum();
    let weights: usize = layer_sizes.windows(2).map(|w| w[0] * w[1]).sum();
    let biases: usize = layer_sizes[1..].iter().sum();
    say!(
        out,
        "Multi-Layer Perceptron Architecture: layer sizes {layer_sizes:?}"
    );
    say!(
        out,
        "{neurons} neurons in {} layers, {weights} connections (weights) and {biases} biases",
        layer_sizes.len()
    );
    figures(out, dir, input_size, &hidden_sizes, output_size)
}

#[cfg(feature = "viz")]
fn figures(
    out: &mut dyn Write,
    dir: &Path,
    input_size: usize,
    hidden_sizes: &[usize],
    output_size: usize,
) -> Result<()> {
    for name in ["01_architecture.png", "01_architecture.svg"] {
        crate::viz::plot_mlp(
            input_size,
            hidden_sizes,
            output_size,
            dir.join(name).as_path(),
        )?;
        super::saved(out, name)?;
    }
    Ok(())
}

#[cfg(not(feature = "viz"))]
fn figures(out: &mut dyn Write, _: &Path, _: usize, _: &[usize], _: usize) -> Result<()> {
    super::no_figures(out)
}
