//! The training report: one self-contained HTML page (pictures inline as base64 PNG, no
//! scripts, no network) with the config, the architecture, loss and accuracy curves,
//! gradient norms, the confusion matrix, the last histograms and heatmaps, and diagnostics in
//! plain words.

use super::architecture::MlpDiagram;
use super::canvas::{self, fmt_num, Figure, ImageFormat};
use super::charts::Curves;
use super::diagnostics::{
    check_dead_units, check_gradients, check_training, dead_relu_units, DeadUnits, Finding, Level,
};
use super::heatmap::Confusion;
use super::history::MetricsHistory;
use super::monitor::{GradientMonitor, Snapshot};
use crate::data::Dataset;
use crate::nn::Module;
use crate::train::{evaluate, evaluate_binary, Evaluation, LossFn};
use crate::Result;
use std::fmt::Write as _;

/// What a training run hands to [`training_report`].
pub struct ReportInput<'a> {
    /// The page's heading (`"iris"`, a run folder's name).
    pub title: &'a str,
    /// The run's configuration, shown verbatim (TOML).
    pub config: &'a str,
    /// The per-epoch numbers, as in `metrics.jsonl`: `epoch`, `loss` (the mean step loss),
    /// `lr`, `time_s`, and `{set}_loss`, `{set}_accuracy`, `{set}_r2`... for `set` = `val`,
    /// `test`. A long run's history keeps a sample of its epochs (see [`MetricsHistory`]).
    pub metrics: &'a MetricsHistory,
    /// Gradient norms and the last gradients, if recorded during training.
    pub gradients: Option<&'a GradientMonitor>,
    /// The training loss function (mean reduction).
    pub loss_fn: LossFn<'a>,
    /// The training set (dead units are looked for on it).
    pub train: &'a Dataset,
    /// Validation data, if any (judged for over-fitting first).
    pub validation: Option<&'a Dataset>,
    /// Test data, if any (its confusion matrix is shown first).
    pub test: Option<&'a Dataset>,
    /// The number of classes for a classifier; `None` for a regressor. A model with one
    /// output and `Some(2)` is a binary classifier (one logit).
    pub n_classes: Option<usize>,
    /// A binary classifier's decision threshold on the probability (`None`: 0.5).
    pub threshold: Option<f64>,
    /// Lines about the run shown under the heading (which epoch's weights were kept, say).
    pub notes: &'a [String],
    /// Where the run trained (`"cpu"`, `"cuda:0 (NVIDIA H200)"`).
    pub device: &'a str,
    /// The most GPU memory in use during training, in bytes, for a run on a GPU.
    pub gpu_memory_peak: Option<usize>,
}

/// "validation" for the metrics prefix "val".
fn set_name(prefix: &str) -> &str {
    if prefix == "val" {
        "validation"
    } else {
        prefix
    }
}

/// Minimal HTML escaping for text and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648), for `data:` URIs.
fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A figure as an inline `<img>` (PNG, base64).
fn img(figure: &impl Figure, alt: &str) -> Result<String> {
    let png = canvas::render(figure, ImageFormat::Png)?;
    let (w, h) = figure.size();
    Ok(format!(
        "<img src=\"data:image/png;base64,{}\" width=\"{w}\" height=\"{h}\" alt=\"{}\">",
        base64(&png),
        esc(alt)
    ))
}

/// `[in, h1, ..., out]` from the model's 2-D `*.weight` parameters, if they chain (an MLP).
fn mlp_sizes(model: &dyn Module) -> Option<Vec<usize>> {
    let weights: Vec<Vec<usize>> = model
        .named_parameters()
        .into_iter()
        .filter(|(n, t)| n.ends_with("weight") && t.ndim() == 2)
        .map(|(_, t)| t.shape())
        .collect();
    let first = weights.first()?;
    let mut sizes = vec![first[1]];
    for w in &weights {
        if w[1] != *sizes.last()? {
            return None;
        }
        sizes.push(w[0]);
    }
    Some(sizes)
}

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; margin: 0; color: #222; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 28px; margin: 8px 0 4px; }
h2 { font-size: 21px; margin: 36px 0 12px; border-bottom: 2px solid #dde1e6; padding-bottom: 6px; }
h3 { font-size: 16px; margin: 20px 0 8px; }
p.sub { color: #555; margin: 0 0 18px; }
nav a { margin-right: 14px; color: #1f77b4; text-decoration: none; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 10px 16px; min-width: 150px; }
.card .v { font-size: 22px; font-weight: bold; }
.card .k { font-size: 13px; color: #666; }
ul.findings { list-style: none; padding: 0; margin: 0; }
ul.findings li { background: #fff; border: 1px solid #dde1e6; border-left: 6px solid #999; border-radius: 6px; padding: 10px 14px; margin: 8px 0; }
ul.findings li.good { border-left-color: #2ca02c; }
ul.findings li.info { border-left-color: #1f77b4; }
ul.findings li.warning { border-left-color: #ff7f0e; background: #fffaf3; }
ul.findings li.problem { border-left-color: #d62728; background: #fff5f5; }
.badge { display: inline-block; font-size: 12px; font-weight: bold; padding: 1px 8px; border-radius: 10px; color: #fff; margin-right: 8px; }
.good .badge { background: #2ca02c; } .info .badge { background: #1f77b4; }
.warning .badge { background: #ff7f0e; } .problem .badge { background: #d62728; }
.topic { font-weight: bold; margin-right: 6px; }
figure { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 10px; margin: 12px 0; display: inline-block; max-width: calc(100% - 22px); }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 13px; color: #555; margin-top: 6px; }
pre { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px; overflow-x: auto; font-size: 13px; }
table { border-collapse: collapse; background: #fff; margin: 8px 0; }
th, td { border: 1px solid #dde1e6; padding: 5px 10px; text-align: right; font-size: 14px; }
th { background: #eef1f4; } td:first-child, th:first-child { text-align: left; }
footer { color: #888; font-size: 12px; margin-top: 40px; }
"#;

/// Builds the HTML training report for `model` after training: evaluates it on each data set
/// (eval mode, no graph), looks for dead ReLU units on the training set, judges the loss
/// curve, the train/held-out gap and the recorded gradients, and draws every picture as an
/// inline PNG. The page needs nothing else to display: no scripts, styles or images from
/// elsewhere. The model's train/eval mode is restored.
///
/// # Errors
/// [`Error::Plot`](crate::Error::Plot) if a picture cannot be drawn.
pub fn training_report(model: &mut dyn Module, input: &ReportInput<'_>) -> Result<String> {
    let metrics = input.metrics;
    let n_epochs = metrics.epochs();
    let epochs: Vec<f64> = metrics
        .series("epoch")
        .unwrap_or_else(|| (1..=n_epochs).map(|e| e as f64).collect());
    let train_loss = metrics.series("loss").unwrap_or_default();
    let loss_fn = input.loss_fn;
    let n_classes = input.n_classes;
    let mut eval = |ds: &Dataset| match (n_classes, input.threshold) {
        (Some(2), Some(t)) => evaluate_binary(model, loss_fn, &ds.x, &ds.y, t),
        _ => evaluate(model, loss_fn, &ds.x, &ds.y, n_classes),
    };
    let train_eval = eval(input.train);
    let mut sets: Vec<(&str, Evaluation)> = Vec::new();
    if let Some(v) = input.validation {
        sets.push(("val", eval(v)));
    }
    if let Some(t) = input.test {
        sets.push(("test", eval(t)));
    }
    let dead = dead_relu_units(model, &input.train.x);

    // Diagnostics.
    let held = sets.first().map(|(n, e)| (*n, e));
    let held_losses = held
        .and_then(|(n, _)| metrics.series(&format!("{n}_loss")))
        .unwrap_or_default();
    let mut findings: Vec<Finding> = check_training(
        &train_loss,
        &train_eval,
        held.map(|(n, e)| (set_name(n), e)),
        &held_losses,
    );
    match input.gradients {
        Some(g) => findings.extend(check_gradients(g)),
        None => findings.extend(check_gradients(&GradientMonitor::new())),
    }
    findings.extend(check_dead_units(&dead));
    let findings = cap_per_topic(findings, MAX_FINDINGS_PER_TOPIC);

    let mut h = String::with_capacity(1 << 20);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Training report: {t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>Training report: {t}</h1>\n",
        t = esc(input.title)
    );
    let worst = findings
        .iter()
        .map(|f| f.level)
        .max()
        .unwrap_or(Level::Good);
    let _ = writeln!(
        h,
        "<p class=\"sub\">{n_epochs} epoch{} · {} parameters · {} training rows · diagnostics: {}</p>",
        if n_epochs == 1 { "" } else { "s" },
        model.num_parameters(),
        input.train.len(),
        match worst {
            Level::Good | Level::Info => "nothing alarming",
            Level::Warning => "see the warnings below",
            Level::Problem => "training has a problem, see below",
        }
    );
    for note in input.notes {
        let _ = writeln!(h, "<p class=\"sub\">{}</p>", esc(note));
    }
    h.push_str(
        "<nav><a href=\"#diagnostics\">Diagnostics</a><a href=\"#model\">Model</a>\
         <a href=\"#curves\">Curves</a><a href=\"#gradients\">Gradients</a>\
         <a href=\"#results\">Results</a><a href=\"#layers\">Layers</a>\
         <a href=\"#config\">Config</a></nav>\n",
    );

    // Summary cards.
    h.push_str("<div class=\"cards\" id=\"summary\">\n");
    let card = |h: &mut String, v: String, k: &str| {
        let _ = writeln!(
            h,
            "<div class=\"card\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
            esc(&v),
            esc(k)
        );
    };
    card(&mut h, n_epochs.to_string(), "epochs");
    if let Some(l) = train_loss.last() {
        card(&mut h, fmt_num(*l), "last epoch's mean step loss");
    }
    for (name, e) in
        std::iter::once(("train", &train_eval)).chain(sets.iter().map(|(n, e)| (*n, e)))
    {
        let name = if name == "train" {
            "training"
        } else {
            set_name(name)
        };
        match (e.accuracy(), e.r2) {
            (Some(a), _) => card(
                &mut h,
                format!("{:.1}%", 100.0 * a),
                &format!("{name} accuracy"),
            ),
            (None, Some(r2)) => card(&mut h, format!("{r2:.4}"), &format!("{name} R²")),
            _ => {}
        }
        if let Some(auc) = e.auc {
            // NaN: one class only, where the curve is undefined.
            let v = if auc.is_finite() {
                format!("{auc:.3}")
            } else {
                "n/a".into()
            };
            card(&mut h, v, &format!("{name} ROC AUC"));
        }
        card(&mut h, fmt_num(e.loss), &format!("{name} loss"));
    }
    if let Some(total) = metrics.total("time_s") {
        card(&mut h, format!("{total:.1} s"), "training time");
    }
    h.push_str("</div>\n");

    // Diagnostics.
    h.push_str("<h2 id=\"diagnostics\">Diagnostics</h2>\n<ul class=\"findings\">\n");
    let mut ordered: Vec<&Finding> = findings.iter().collect();
    ordered.sort_by_key(|f| std::cmp::Reverse(f.level));
    for f in ordered {
        let class = match f.level {
            Level::Good => "good",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Problem => "problem",
        };
        let _ = writeln!(
            h,
            "<li class=\"{class}\"><span class=\"badge\">{}</span><span class=\"topic\">{}:</span>{}</li>",
            f.level.label(),
            esc(f.topic),
            esc(&f.message)
        );
    }
    h.push_str("</ul>\n");

    // The model.
    h.push_str("<h2 id=\"model\">Model</h2>\n");
    if let Some(sizes) = mlp_sizes(model).filter(|s| s.len() > MAX_DIAGRAM_LAYERS + 1) {
        let _ = writeln!(
            h,
            "<p>Layer sizes {}: {} Linear layers, too many to draw (the diagram is drawn up to {MAX_DIAGRAM_LAYERS}).</p>",
            esc(&chain_text(&sizes)),
            sizes.len() - 1
        );
    } else if let Some(sizes) = mlp_sizes(model) {
        let chain = chain_text(&sizes);
        let diagram = MlpDiagram {
            title: format!("Architecture: {chain}"),
            sizes,
        };
        let _ = writeln!(
            h,
            "<figure>{}<figcaption>Layer sizes {chain}: the neurons and connections of each Linear layer (wide layers show their first and last five neurons).</figcaption></figure>",
            img(&diagram, "architecture diagram")?
        );
    }
    let _ = writeln!(
        h,
        "<pre>{}</pre>",
        esc(&cut_lines(&model.repr(), MAX_REPR_LINES))
    );

    // Curves.
    h.push_str("<h2 id=\"curves\">Training curves</h2>\n");
    if metrics.kept() < n_epochs {
        let _ = writeln!(
            h,
            "<p>The curves show {} of the {n_epochs} epochs, evenly spaced (every {}th, and the last); metrics.jsonl holds them all.</p>",
            metrics.kept(),
            metrics.stride()
        );
    }
    let mut loss_series: Vec<(String, Vec<f64>)> =
        vec![("training (mean step loss)".into(), train_loss.clone())];
    let mut acc_series: Vec<(String, Vec<f64>)> = Vec::new();
    let mut r2_series: Vec<(String, Vec<f64>)> = Vec::new();
    for prefix in ["val", "test"] {
        if let Some(v) = metrics.series(&format!("{prefix}_loss")) {
            loss_series.push((set_name(prefix).into(), v));
        }
        if let Some(v) = metrics.series(&format!("{prefix}_accuracy")) {
            acc_series.push((set_name(prefix).into(), v));
        }
        if let Some(v) = metrics.series(&format!("{prefix}_r2")) {
            r2_series.push((set_name(prefix).into(), v));
        }
    }
    let curves =
        |title: &'static str, y: &'static str, s: &'_ [(String, Vec<f64>)]| -> Result<String> {
            let fig = Curves {
                title,
                series: s.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect(),
                x_values: Some(&epochs),
                y_label: y,
                log_y: false,
                size: (860, 440),
            };
            img(&fig, title)
        };
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>The training loss is the mean over each epoch's steps (in training mode, before each update); held-out losses are measured after the epoch, in eval mode.</figcaption></figure>",
        curves("Loss", "loss", &loss_series)?
    );
    if !acc_series.is_empty() {
        let _ = writeln!(
            h,
            "<figure>{}<figcaption>Held-out accuracy after each epoch (eval mode).</figcaption></figure>",
            curves("Accuracy", "accuracy", &acc_series)?
        );
    }
    if !r2_series.is_empty() {
        let _ = writeln!(
            h,
            "<figure>{}<figcaption>Held-out R² after each epoch (1 is perfect).</figcaption></figure>",
            curves("R²", "R²", &r2_series)?
        );
    }
    if let Some(lr) = metrics.series("lr") {
        let finite: Vec<f64> = lr.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.windows(2).any(|w| w[0] != w[1]) {
            let _ = writeln!(
                h,
                "<figure>{}<figcaption>The learning rate used in each epoch (set by the scheduler).</figcaption></figure>",
                curves("Learning rate", "lr", &[("lr".to_string(), lr)])?
            );
        }
    }

    // Gradients.
    h.push_str("<h2 id=\"gradients\">Gradients</h2>\n");
    match input.gradients.filter(|g| !g.is_empty()) {
        Some(g) => {
            let (mut series, xs) = g.norm_series();
            let all = series.len();
            if all > MAX_NORM_LINES {
                let keep = spread(all, MAX_NORM_LINES);
                series = keep.iter().map(|&i| series[i].clone()).collect();
                let _ = writeln!(
                    h,
                    "<p>{MAX_NORM_LINES} of the {all} parameters are shown, evenly spaced from the input to the output.</p>"
                );
            }
            let _ = writeln!(
                h,
                "<figure>{}<figcaption>The 2-norm of each parameter's gradient, averaged over the steps sampled in each epoch (log scale). \
                 Lines far apart across layers point to vanishing or exploding gradients; a line rising over time to instability.</figcaption></figure>",
                img(&g.norms_figure(&series, &xs), "gradient norms")?
            );
            h.push_str("<table><tr><th>parameter</th><th>shape</th>");
            let first_epoch = xs.first().copied().unwrap_or(0.0);
            let last_epoch = xs.last().copied().unwrap_or(0.0);
            let _ = writeln!(
                h,
                "<th>‖grad‖ epoch {first_epoch}</th><th>‖grad‖ epoch {last_epoch}</th><th>‖value‖ at the end</th></tr>"
            );
            for (name, norms) in &series {
                let shape = g.shape(name).map(|s| format!("{s:?}")).unwrap_or_default();
                let value_norm = g.value_norm(name).map(fmt_num).unwrap_or_default();
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(name),
                    esc(&shape),
                    fmt_num(norms.first().copied().unwrap_or(f64::NAN)),
                    fmt_num(norms.last().copied().unwrap_or(f64::NAN)),
                    value_norm
                );
            }
            h.push_str("</table>\n");
        }
        None => h.push_str("<p>No gradients were recorded during training.</p>\n"),
    }

    // Results: confusion matrix and dead units.
    h.push_str("<h2 id=\"results\">Results</h2>\n");
    let shown = sets
        .iter()
        .rev()
        .map(|(n, e)| (set_name(n), e))
        .next()
        .unwrap_or(("training", &train_eval));
    if let Some(cm) = &shown.1.confusion {
        let _ = writeln!(
            h,
            "<h3>Confusion matrix ({} set)</h3>\n<figure>{}<figcaption>Rows are the true classes, columns the predicted ones; the diagonal holds the right answers.</figcaption></figure>",
            shown.0,
            img(&Confusion::new(cm), "confusion matrix")?
        );
    }
    dead_table(&mut h, &dead);

    // The last gradients and values, layer by layer: the monitor's snapshot if it took one,
    // else the model as training left it (its last step's gradients, as the optimizer used
    // them), so that the run never had to copy the model while it trained.
    h.push_str("<h2 id=\"layers\">Layers at the end of training</h2>\n");
    let at_end;
    let layers = match input.gradients.filter(|g| !g.latest().is_empty()) {
        Some(g) => g
            .latest_epoch()
            .map(|e| (g.latest(), e, "the last recorded step")),
        None => {
            at_end = Snapshot::of_model(model);
            let last_epoch = epochs.last().map_or(n_epochs, |&e| e as usize);
            let any_grad = at_end.iter().any(|s| s.grad.is_some());
            (any_grad && last_epoch > 0).then_some((
                &at_end[..],
                last_epoch,
                "the last training step, after clipping if any",
            ))
        }
    };
    match layers {
        Some((snapshots, epoch, when)) => {
            let _ = writeln!(
                h,
                "<p>Each parameter's gradient (from {when}, epoch {epoch}) and its values: histograms, then heatmaps (row 0 at the top; biases as one row).</p>"
            );
            let all = snapshots.len();
            let keep = spread(all, MAX_LAYER_FIGURES);
            if keep.len() < all {
                let _ = writeln!(
                    h,
                    "<p>{} of the {all} parameters are pictured, evenly spaced from the input to the output; the others are left out to keep this page small.</p>",
                    keep.len()
                );
            }
            for s in keep.iter().map(|&i| &snapshots[i]) {
                let _ = writeln!(
                    h,
                    "<h3>{}</h3>\n<figure>{}</figure>\n<figure>{}</figure>",
                    esc(&s.name),
                    img(
                        &GradientMonitor::histogram_figure(s, epoch),
                        &format!("{} histograms", s.name)
                    )?,
                    img(
                        &GradientMonitor::heatmap_figure(s, epoch),
                        &format!("{} heatmaps", s.name)
                    )?
                );
            }
        }
        None => h.push_str("<p>No gradients were recorded during training.</p>\n"),
    }

    let memory = input
        .gpu_memory_peak
        .map(|b| {
            format!(
                ", GPU memory at peak {:.0} MiB (the whole device, as its driver reports it)",
                b as f64 / (1 << 20) as f64
            )
        })
        .unwrap_or_default();
    let _ = write!(
        h,
        "<h2 id=\"config\">Configuration</h2>\n<p>Trained on {}{}.</p>\n<pre>{}</pre>\n\
         <footer>Written by backprop {} after training. Everything on this page is inside this file.</footer>\n\
         </main>\n</body>\n</html>\n",
        esc(input.device),
        esc(&memory),
        esc(input.config),
        env!("CARGO_PKG_VERSION")
    );
    Ok(h)
}

/// How many Linear layers the architecture diagram draws; deeper models get the sizes as text.
const MAX_DIAGRAM_LAYERS: usize = 32;
/// How many lines of the model's printout the page shows (the first and last ones).
const MAX_REPR_LINES: usize = 60;
/// How many parameters get a line in the gradient-norm chart and table.
const MAX_NORM_LINES: usize = 24;
/// How many parameters get histograms and heatmaps.
const MAX_LAYER_FIGURES: usize = 16;
/// How many layers' rows the dead-unit table shows.
const MAX_DEAD_ROWS: usize = 40;
/// How many findings of one topic (one per layer, for dead units) the diagnostics list.
const MAX_FINDINGS_PER_TOPIC: usize = 12;

/// `count` indices from `0..n`, evenly spaced, the first and last included (all of them when
/// `n <= count`).
fn spread(n: usize, count: usize) -> Vec<usize> {
    if n <= count {
        return (0..n).collect();
    }
    let mut out: Vec<usize> = (0..count)
        .map(|k| (k * (n - 1) + (count - 1) / 2) / (count - 1))
        .collect();
    out.dedup();
    out
}

/// "4 → 8 → 3", or its first and last sizes around "…" for a deep model.
fn chain_text(sizes: &[usize]) -> String {
    let part = |s: &[usize]| {
        s.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" → ")
    };
    if sizes.len() <= 2 * 8 {
        return part(sizes);
    }
    format!(
        "{} → … ({} more) … → {}",
        part(&sizes[..8]),
        sizes.len() - 16,
        part(&sizes[sizes.len() - 8..])
    )
}

/// `text`, or its first and last lines around a line saying how many were left out.
fn cut_lines(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max {
        return text.to_string();
    }
    let half = max / 2;
    format!(
        "{}\n  … {} lines left out …\n{}",
        lines[..half].join("\n"),
        lines.len() - 2 * half,
        lines[lines.len() - half..].join("\n")
    )
}

/// At most `max` findings per topic (the most serious first), and for a topic cut short one
/// more line that says how many were left out.
fn cap_per_topic(findings: Vec<Finding>, max: usize) -> Vec<Finding> {
    let mut topics: Vec<&'static str> = Vec::new();
    for f in &findings {
        if !topics.contains(&f.topic) {
            topics.push(f.topic);
        }
    }
    let mut out = Vec::new();
    for topic in topics {
        let mut of_topic: Vec<Finding> = findings
            .iter()
            .filter(|f| f.topic == topic)
            .cloned()
            .collect();
        if of_topic.len() > max {
            let left = of_topic.len() - max;
            of_topic.sort_by_key(|f| std::cmp::Reverse(f.level));
            of_topic.truncate(max);
            of_topic.push(Finding::new(
                Level::Info,
                topic,
                format!("{left} more findings on this topic are left out (one per layer)."),
            ));
        }
        out.extend(of_topic);
    }
    out
}

fn dead_table(h: &mut String, dead: &[DeadUnits]) {
    if dead.is_empty() {
        return;
    }
    h.push_str(
        "<h3>ReLU units on the training set</h3>\n<table><tr><th>layer</th><th>units</th><th>never fire</th><th>share</th></tr>\n",
    );
    let keep = spread(dead.len(), MAX_DEAD_ROWS);
    if keep.len() < dead.len() {
        let _ = writeln!(
            h,
            "<caption>{} of {} ReLU layers, evenly spaced</caption>",
            keep.len(),
            dead.len()
        );
    }
    for d in keep.iter().map(|&i| &dead[i]) {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td></tr>",
            esc(&d.layer),
            d.units,
            d.dead.len(),
            100.0 * d.dead.len() as f64 / d.units.max(1) as f64
        );
    }
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn spread_keeps_the_ends_and_spaces_evenly() {
        assert_eq!(spread(3, 5), vec![0, 1, 2]);
        assert_eq!(spread(11, 3), vec![0, 5, 10]);
        let s = spread(2004, 16);
        assert_eq!((s.len(), s[0], s[15]), (16, 0, 2003));
        assert!(s.windows(2).all(|w| w[1] > w[0]));
    }

    #[test]
    fn long_texts_are_cut_in_the_middle() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let cut = cut_lines(&text, 10);
        assert!(cut.starts_with("line 0\n") && cut.ends_with("line 99"));
        assert!(cut.contains("… 90 lines left out …"));
        assert_eq!(cut_lines("a\nb", 10), "a\nb");
        let sizes: Vec<usize> = (0..30).collect();
        assert_eq!(
            chain_text(&sizes),
            "0 → 1 → 2 → 3 → 4 → 5 → 6 → 7 → … (14 more) … → 22 → 23 → 24 → 25 → 26 → 27 → 28 → 29"
        );
    }

    #[test]
    fn report_of_a_short_iris_run() {
        use crate::data::{iris, DataLoader};
        use crate::nn::{cross_entropy, Mlp, MlpConfig, Reduction};
        use crate::optim::{Adam, AdamConfig};
        use crate::rng::Generator;
        use crate::tensor::Tensor;
        use crate::train::{train_epoch_with_hook, StepOptions};

        let _global = crate::testing::global_state();
        crate::manual_seed(3);
        let data = iris();
        let mut model = Mlp::new(&MlpConfig::new(&[4, 8, 3]));
        let loss = |o: &Tensor, y: &Tensor| cross_entropy(o, y, None, Reduction::Mean, 0.0);
        let mut opt = Adam::new(
            model.parameters(),
            AdamConfig {
                lr: 0.02,
                ..Default::default()
            },
        )
        .unwrap();
        let loader = DataLoader::new(&data, 32, true);
        let mut g = Generator::new(1);
        let mut monitor = GradientMonitor::new();
        let mut history = MetricsHistory::new();
        for epoch in 1..=4 {
            let l = train_epoch_with_hook(
                &model,
                &loss,
                &mut opt,
                &loader,
                &mut g,
                &StepOptions::default(),
                &mut |_, _| {},
                &mut |i, m| {
                    if i % 2 == 0 {
                        monitor.record(epoch, m)
                    }
                },
            );
            history.push(&[("epoch", epoch as f64), ("loss", l), ("lr", 0.02)]);
        }
        assert_eq!(monitor.epochs(), vec![1, 2, 3, 4]);
        let html = training_report(
            &mut model,
            &ReportInput {
                title: "iris <test>",
                config: "[model]\nlayers = [4, 8, 3]",
                metrics: &history,
                gradients: Some(&monitor),
                loss_fn: &loss,
                train: &data,
                validation: None,
                test: None,
                n_classes: Some(3),
                threshold: None,
                notes: &["kept the weights of epoch 3".to_string()],
                device: "cuda:0 (NVIDIA H200)",
                gpu_memory_peak: Some(640 << 20),
            },
        )
        .unwrap();
        assert!(html.contains("Trained on cuda:0 (NVIDIA H200), GPU memory at peak 640 MiB"));
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert!(html.contains("Training report: iris &lt;test&gt;"));
        assert!(html.contains("Layer sizes 4 → 8 → 3"));
        assert!(html.contains("<p class=\"sub\">kept the weights of epoch 3</p>"));
        assert!(html.contains("layers = [4, 8, 3]"));
        assert!(html.contains("Confusion matrix (training set)"));
        // No held-out data: over-fitting cannot be judged, and the report says so.
        assert!(html.contains("no validation or test data"));
        // Architecture, loss, gradient norms, confusion matrix, 4 parameters × 2.
        assert_eq!(html.matches("data:image/png;base64,").count(), 12);
        assert!(model.is_training());
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
