//! The tutorial in Rust: one function per section of *PyTorch Multi-Layer Perceptrons with
//! Backpropagation*, each reading like the tutorial's cell, printing what the cell prints and
//! saving the figures the cell draws.
//!
//! The same functions run behind `cargo run --example 03_backprop` (one example per section)
//! and `backprop tour [--section N] [--out DIR]` (all sections in order), so the numbers and
//! pictures agree. Each section seeds the global generator with 42 (the tutorial's
//! `torch.manual_seed(42)`) at its start, so it prints the same numbers every run, alone or in
//! the tour. Our generator is not PyTorch's, so the numbers are not the tutorial's.
//!
//! | § | function | what it shows |
//! |---|----------|---------------|
//! | 1 | [`section_1`] | the architecture diagram of an MLP (figures) |
//! | 2 | [`section_2`] | a single neuron `sigmoid(w·x + b)` |
//! | 3 | [`section_3`] | that neuron trained by hand-written backprop |
//! | 4 | [`section_4`] | an MLP from scratch ([`crate::scratch`]) learning XOR |
//! | 5 | [`section_5`] | autograd on `mean(x * y)` and its computation graph (figures) |
//! | 6 | [`section_6`] | an `nn` MLP trained with MSELoss and Adam |
//! | 7 | [`section_7`] | gradient and parameter pictures during training (figures) |
//! | 8 | [`section_8`] | BatchNorm, Dropout, Xavier init, weight decay, StepLR, clipping |
//!
//! Figures need the `viz` feature; without it the sections print a note instead of saving them.
//! Figure files are named after their section (`01_architecture.png`, `05_graph.dot`, ...) and
//! reported on lines starting `Saved ` with their paths relative to `dir` (section 7 reports its
//! per-layer figures once per epoch, as `Saved 18 figures: 07_gradients/epoch_0200_*.png`).

mod s1_architecture;
mod s2_neuron;
mod s3_backprop;
mod s4_scratch;
mod s5_autograd;
mod s6_training;
mod s7_gradients;
mod s8_advanced;

pub use s1_architecture::section_1;
pub use s2_neuron::section_2;
pub use s3_backprop::section_3;
pub use s4_scratch::{section_4, SCRATCH_LEARNING_RATE};
pub use s5_autograd::section_5;
pub use s6_training::{section_6, PyTorchMLP};
pub use s7_gradients::{section_7, GRADIENTS_DIR};
pub use s8_advanced::section_8;

use crate::tensor::Tensor;
use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes one line to the section's output, turning an I/O error into a [`crate::Error`]
/// (the tutorial's `print(...)`).
macro_rules! say {
    ($out:expr) => {
        writeln!($out).map_err($crate::tour::output_error)?
    };
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).map_err($crate::tour::output_error)?
    };
}
pub(crate) use say;

/// The signature of every section: print to `out`, save figures into `dir` (which must exist).
pub type SectionFn = fn(&mut dyn Write, &Path) -> Result<()>;

/// One section of the tutorial.
#[derive(Clone, Copy, Debug)]
pub struct Section {
    /// 1 to 8, as in the tutorial.
    pub number: usize,
    /// A short name, used in figure and example names (`"backprop"`).
    pub slug: &'static str,
    /// The tutorial's heading.
    pub title: &'static str,
    /// Whether the section saves figures (with the `viz` feature).
    pub has_figures: bool,
    /// Runs the section.
    pub run: SectionFn,
}

/// The eight sections, in order.
pub const SECTIONS: [Section; 8] = [
    Section {
        number: 1,
        slug: "architecture",
        title: "Introduction to Multi-Layer Perceptrons",
        has_figures: true,
        run: section_1,
    },
    Section {
        number: 2,
        slug: "neuron",
        title: "The Mathematics of Neural Networks",
        has_figures: false,
        run: section_2,
    },
    Section {
        number: 3,
        slug: "backprop",
        title: "Backpropagation: The Heart of Deep Learning",
        has_figures: false,
        run: section_3,
    },
    Section {
        number: 4,
        slug: "scratch",
        title: "Implementing an MLP from Scratch",
        has_figures: false,
        run: section_4,
    },
    Section {
        number: 5,
        slug: "autograd",
        title: "Autograd: Automatic Differentiation",
        has_figures: true,
        run: section_5,
    },
    Section {
        number: 6,
        slug: "training",
        title: "Building and Training an MLP",
        has_figures: false,
        run: section_6,
    },
    Section {
        number: 7,
        slug: "gradients",
        title: "Visualizing Gradients and Training Dynamics",
        has_figures: true,
        run: section_7,
    },
    Section {
        number: 8,
        slug: "advanced",
        title: "Advanced Topics and Best Practices",
        has_figures: false,
        run: section_8,
    },
];

/// The section numbered `number`.
///
/// # Errors
/// [`Error::InvalidArgument`] unless `1 <= number <= 8`.
pub fn section(number: usize) -> Result<&'static Section> {
    SECTIONS.iter().find(|s| s.number == number).ok_or_else(|| {
        Error::invalid(format!(
            "there is no section {number}: the tutorial has sections 1 to {}",
            SECTIONS.len()
        ))
    })
}

/// Runs section `number`, printing to `out` and saving its figures into `dir` (which must
/// exist).
///
/// # Errors
/// An unknown section number, an error writing to `out`, or a figure that cannot be saved.
pub fn run_section(number: usize, out: &mut dyn Write, dir: &Path) -> Result<()> {
    (section(number)?.run)(out, dir)
}

/// What each example's `main` calls: runs section `number`, printing to standard output and
/// saving figures into the folder named by the first command-line argument (default `tour`,
/// created if missing, and only for a section with figures).
///
/// # Errors
/// As [`run_section`], or the folder cannot be created.
pub fn run_example(number: usize) -> Result<()> {
    let section = section(number)?;
    let dir = PathBuf::from(std::env::args_os().nth(1).unwrap_or_else(|| "tour".into()));
    if section.has_figures && cfg!(feature = "viz") {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    let stdout = std::io::stdout();
    (section.run)(&mut stdout.lock(), &dir)?;
    if section.has_figures && cfg!(feature = "viz") {
        println!("(figures are in {})", dir.display());
    }
    Ok(())
}

/// Wraps an error writing a section's output.
pub(crate) fn output_error(e: std::io::Error) -> Error {
    Error::io("<output>", e)
}

/// The four XOR inputs `[4, 2]` and targets `[4, 1]`, as the tutorial's `X` and `y`.
pub(crate) fn xor() -> (Tensor, Tensor) {
    (
        Tensor::from_slice(&[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]),
        Tensor::from_slice(&[0., 1., 1., 0.], &[4, 1]),
    )
}

/// The tutorial's closing loop: `Input: [0.0, 1.0], Target: 1, Prediction: 0.9712` per row.
pub(crate) fn print_predictions(
    out: &mut dyn Write,
    x: &Tensor,
    y: &Tensor,
    predictions: &Tensor,
) -> Result<()> {
    let cols = x.shape()[1];
    let (x, y, p) = (x.to_vec(), y.to_vec(), predictions.to_vec());
    for (i, input) in x.chunks(cols).enumerate() {
        say!(
            out,
            "Input: {input:?}, Target: {:.0}, Prediction: {:.4}",
            y[i],
            p[i]
        );
    }
    Ok(())
}

/// Reports a saved figure.
#[cfg(feature = "viz")]
pub(crate) fn saved(out: &mut dyn Write, name: &str) -> Result<()> {
    say!(out, "Saved {name}");
    Ok(())
}

/// What a section with figures prints when the crate is built without `viz`.
#[cfg(not(feature = "viz"))]
pub(crate) fn no_figures(out: &mut dyn Write) -> Result<()> {
    say!(
        out,
        "(figures skipped: backprop was built without the `viz` feature)"
    );
    Ok(())
}
