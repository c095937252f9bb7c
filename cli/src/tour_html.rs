//! `backprop tour --html`: the tutorial as one self-contained page, `tour.html`: for each
//! section a few lines of our own prose, the Rust code that runs (the section's function from
//! the library's `src/tour/`), what it prints, its figures inline (PNG as data URLs), and where
//! one fits, a link that opens the section's experiment in `backprop playground`.

use crate::cli::TourArgs;
use crate::output::{check_dir, create_dirs, write_file, Created};
use anyhow::{Context, Result};
use backprop::tour::SECTIONS;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Each section's source file, as compiled into the library.
const SOURCES: [&str; 8] = [
    include_str!("../../src/tour/s1_architecture.rs"),
    include_str!("../../src/tour/s2_neuron.rs"),
    include_str!("../../src/tour/s3_backprop.rs"),
    include_str!("../../src/tour/s4_scratch.rs"),
    include_str!("../../src/tour/s5_autograd.rs"),
    include_str!("../../src/tour/s6_training.rs"),
    include_str!("../../src/tour/s7_gradients.rs"),
    include_str!("../../src/tour/s8_advanced.rs"),
];

/// What each section is about, in a few sentences.
const PROSE: [&str; 8] = [
    "An MLP is a stack of layers: every unit of a layer takes a weighted sum of all the units \
     before it, adds a bias and passes the result through a nonlinearity. The diagram draws a \
     4-5-3-2 network: four inputs, two hidden layers, two outputs.",
    "One neuron computes σ(w·x + b). With fixed weights and inputs, the whole forward pass is \
     a dot product, an addition and a sigmoid.",
    "Training that neuron by hand: the chain rule gives ∂L/∂w = ∂L/∂y · ∂y/∂z · ∂z/∂w, one \
     factor per step of the forward pass. The gradients written out here are checked against \
     autograd's. The playground shows the same product for any weight of any network.",
    "The same idea for a whole MLP on plain matrices: a forward pass that keeps every layer's \
     output, and a backward pass that sends the error down layer by layer before any weight \
     changes. It learns XOR.",
    "Autograd records each operation on a tensor; backward() walks that graph in reverse and \
     sums each path's contribution. The graph of mean(x * y) is drawn as DOT, SVG and PNG.",
    "The nn and optim modules do what sections 3 and 4 did by hand: Linear layers, a loss, \
     zero_grad, backward and an Adam step, here on XOR.",
    "Watching training: per-layer gradient norms over time, and histograms and heatmaps of the \
     last layer's gradients and weights. Vanishing gradients show as norms that shrink towards \
     the input.",
    "Batch normalisation, dropout, Xavier initialisation, weight decay, a step learning-rate \
     schedule and gradient clipping, together in one training run.",
];

/// The playground experiment that fits a section, if any (sections 3, 6, 7 and 8).
fn playground_link(number: usize) -> Option<(&'static str, &'static str)> {
    match number {
        3 => Some((
            "dataset=gauss&layers=&activation=sigmoid&loss=bce&lr=0.1",
            "one neuron on two gaussian blobs: click a point, then a weight, for its chain rule",
        )),
        6 => Some((
            "dataset=xor&layers=4,4&activation=relu&loss=mse&optimizer=adam&lr=0.01",
            "a 2-4-4-1 ReLU MLP trained with MSE and Adam on XOR",
        )),
        7 => Some((
            "dataset=spiral&layers=8,8,8,8,8&activation=sigmoid&lr=0.3",
            "a deep sigmoid MLP on the spiral: watch the first layers' gradients vanish",
        )),
        8 => Some((
            "dataset=circle&noise=20&layers=8,8&activation=relu&bn=1&dropout=0.2&optimizer=adam&lr=0.01&wd=0.001",
            "batch norm, dropout and weight decay on a noisy circle",
        )),
        _ => None,
    }
}

/// The text of `pub fn section_N` in a section's source file.
fn section_code(source: &str, number: usize) -> &str {
    let start = source
        .find(&format!("pub fn section_{number}("))
        .unwrap_or(0);
    // Back to the doc comment above the function.
    let start = source[..start]
        .rfind("\n\n")
        .map_or(start, |i| i + 2)
        .min(start);
    let end = source[start..]
        .find("\n}\n")
        .map_or(source.len(), |i| start + i + 3);
    &source[start..end]
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The PNGs worth showing from a section's figure folder: every top-level one, and from a
/// subfolder (section 7's per-epoch pictures) the weight figures of its last epoch.
fn figures(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut top = Vec::new();
    let mut sub = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = entry?.path();
        if p.is_dir() {
            for e in std::fs::read_dir(&p)? {
                sub.push(e?.path());
            }
        } else {
            top.push(p);
        }
    }
    let png = |p: &PathBuf| p.extension().is_some_and(|e| e == "png");
    let name = |p: &PathBuf| {
        p.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    };
    top.retain(png);
    top.sort();
    sub.retain(|p| png(p) && name(p).contains("weight"));
    let last_epoch = sub
        .iter()
        .map(|p| name(p).split('_').take(2).collect::<Vec<_>>().join("_"))
        .max();
    sub.retain(|p| {
        last_epoch
            .as_deref()
            .is_some_and(|e| name(p).starts_with(e))
    });
    sub.sort();
    top.extend(sub);
    Ok(top)
}

/// Removes the figures' scratch folder, whatever happens.
struct Scratch(PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `tour.html` into `--out DIR` (made if missing) or the current folder.
pub fn run(args: &TourArgs) -> Result<()> {
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    check_dir(&dir, &format!("--out {}", dir.display()))?;
    let mut created = Created::default();
    create_dirs(&dir, &mut created)?;
    let scratch = Scratch(dir.join(format!(".backprop-tour-html-{}", std::process::id())));
    std::fs::create_dir(&scratch.0).with_context(|| format!("creating {}", scratch.0.display()))?;
    let chosen: Vec<_> = SECTIONS
        .iter()
        .filter(|s| args.section.is_none_or(|n| n == s.number))
        .collect();
    if chosen.is_empty() {
        anyhow::bail!(
            "--section {}: there is no section {} (the tutorial has sections 1 to {})",
            args.section.unwrap_or(0),
            args.section.unwrap_or(0),
            SECTIONS.len()
        );
    }
    let mut html = String::from(HEAD);
    html.push_str("<nav><ol>");
    for s in &chosen {
        let _ = write!(
            html,
            "<li><a href=\"#s{}\">{}</a></li>",
            s.number,
            escape(s.title)
        );
    }
    html.push_str("</ol></nav>\n");
    for s in chosen {
        let figs = scratch.0.join(format!("s{}", s.number));
        std::fs::create_dir(&figs)?;
        let mut printed = Vec::new();
        (s.run)(&mut printed, &figs).with_context(|| format!("section {}", s.number))?;
        let printed = String::from_utf8_lossy(&printed);
        let i = s.number - 1;
        let _ = write!(
            html,
            "<section id=\"s{n}\">\n<h2>{n}. {title}</h2>\n<p>{prose}</p>\n",
            n = s.number,
            title = escape(s.title),
            prose = escape(PROSE[i])
        );
        if let Some((query, what)) = playground_link(s.number) {
            let _ = writeln!(
                html,
                "<p class=\"play\">In the playground: <a href=\"http://127.0.0.1:8000/?{}\">{}</a> \
                 (start it with <code>backprop playground</code>).</p>",
                escape(query),
                escape(what)
            );
        }
        let _ = write!(
            html,
            "<h3>The code (<code>src/tour/{}</code>)</h3>\n<pre class=\"code\">{}</pre>\n\
             <h3>What it prints</h3>\n<pre class=\"out\">{}</pre>\n",
            source_name(s.number),
            escape(section_code(SOURCES[i], s.number)),
            escape(printed.trim_end())
        );
        for f in figures(&figs)? {
            let bytes = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
            let name = f.file_name().unwrap_or_default().to_string_lossy();
            let _ = writeln!(
                html,
                "<figure><img alt=\"{n}\" src=\"data:image/png;base64,{}\"><figcaption>{n}</figcaption></figure>",
                base64(&bytes),
                n = escape(&name)
            );
        }
        html.push_str("</section>\n");
    }
    html.push_str("</body>\n</html>\n");
    let path = dir.join("tour.html");
    write_file(&path, html.as_bytes(), &mut created)?;
    created.keep_all();
    println!("wrote {}", path.display());
    Ok(())
}

fn source_name(number: usize) -> String {
    SECTIONS
        .get(number - 1)
        .map(|s| format!("s{number}_{}.rs", s.slug))
        .unwrap_or_default()
}

const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<title>backprop: the tutorial, section by section</title>\n<style>\n\
body { font: 15px/1.5 system-ui, sans-serif; max-width: 980px; margin: 0 auto; padding: 0 16px 48px; color: #222; }\n\
h1 { margin-top: 24px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 40px; }\n\
pre { padding: 10px 12px; border-radius: 6px; overflow-x: auto; font: 12.5px/1.45 ui-monospace, monospace; }\n\
pre.code { background: #f5f7fa; border: 1px solid #e3e7ee; } pre.out { background: #1e2430; color: #e8e8e8; }\n\
figure { display: inline-block; margin: 8px 12px 8px 0; } figure img { max-width: 460px; border: 1px solid #eee; }\n\
figcaption { font-size: 12px; color: #666; } .play { background: #fff7e0; padding: 6px 10px; border-radius: 4px; }\n\
</style>\n</head>\n<body>\n<h1>backprop: multi-layer perceptrons and backpropagation, section by section</h1>\n\
<p>Each section runs Rust code from the library's <code>backprop::tour</code> module; what it prints \
and the figures it draws were produced by this run of <code>backprop tour --html</code>.</p>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn every_section_has_its_function() {
        for (i, src) in SOURCES.iter().enumerate() {
            let code = section_code(src, i + 1);
            assert!(code.contains(&format!("pub fn section_{}(", i + 1)), "{i}");
            assert!(code.trim_end().ends_with('}'), "{i}");
        }
    }
}
