//! Section 5, "Autograd: Automatic Differentiation": gradients of `mean(x * y)` and the
//! computation graph.

use super::say;
use crate::{Array, Result, Tensor};
use std::io::Write;
use std::path::Path;

/// `z = x * y`, `out = z.mean()`, `out.backward()` with `x = [1, 2, 3]`, `y = [4, 5, 6]`;
/// prints the gradients (`∂out/∂x = y/3`, `∂out/∂y = x/3`) as PyTorch prints them. Then draws
/// the graph like torchviz's `make_dot(out, params={'x': x, 'y': y})`: printed and saved as
/// Graphviz DOT (`05_graph.dot`) and rendered to `05_graph.svg` and `05_graph.png`.
///
/// # Errors
/// An error writing to `out` or saving a figure.
pub fn section_5(out: &mut dyn Write, dir: &Path) -> Result<()> {
    // Create tensors with requires_grad = true
    let x = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]).set_requires_grad(true);
    let y = Tensor::from_slice(&[4.0, 5.0, 6.0], &[3]).set_requires_grad(true);

    // Perform some operations
    let z = &x * &y;
    let mean = z.mean();

    // Compute gradients. PyTorch keeps the graph's nodes after `backward()`, which is why
    // `make_dot` can still walk it; our `backward()` frees the graph, so keep it
    // (`retain_graph`) to draw it afterwards. The seed gradient of a scalar is 1.
    mean.backward_with(Array::scalar(1.0), true);

    say!(out, "Gradient of x: {}", x.grad().expect("x requires grad"));
    say!(out, "Gradient of y: {}", y.grad().expect("y requires grad"));

    figures(out, dir, &mean, &x, &y)
}

#[cfg(feature = "viz")]
fn figures(out: &mut dyn Write, dir: &Path, root: &Tensor, x: &Tensor, y: &Tensor) -> Result<()> {
    let params: [(&str, &Tensor); 2] = [("x", x), ("y", y)];
    let dot = crate::viz::graph_dot(root, &params);
    say!(out, "\nThe computation graph (Graphviz DOT):");
    write!(out, "{dot}").map_err(super::output_error)?;
    if !dot.ends_with('\n') {
        say!(out);
    }
    let name = "05_graph.dot";
    crate::data::write_atomically(&dir.join(name), |w| w.write_all(dot.as_bytes()))?;
    super::saved(out, name)?;
    for name in ["05_graph.svg", "05_graph.png"] {
        crate::viz::render_graph(root, &params, dir.join(name).as_path())?;
        super::saved(out, name)?;
    }
    Ok(())
}

#[cfg(not(feature = "viz"))]
fn figures(out: &mut dyn Write, _: &Path, _: &Tensor, _: &Tensor, _: &Tensor) -> Result<()> {
    super::no_figures(out)
}
