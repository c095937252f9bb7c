//! Training diagnostics in plain words: dead ReLU units, vanishing or exploding gradients, a
//! loss that stalls or diverges, and over-fitting. Each check returns [`Finding`]s that the
//! training report lists; the thresholds are rules of thumb, stated in each message.

use super::canvas::fmt_num;
use super::monitor::GradientMonitor;
use crate::nn::{Mlp, Module, ModuleList, ReLU, Sequential};
use crate::tensor::{Array, Tensor};
use crate::train::{Evaluation, PREDICT_CHUNK};

// The thresholds of the checks: rules of thumb, each stated in the message that uses it.

/// Share of a ReLU layer's units that never fire for a problem, and for a warning.
const DEAD_PROBLEM: f64 = 0.5;
const DEAD_WARNING: f64 = 0.1;
/// First weight's gradient norm over the last's beyond which (either way) gradients vanish or
/// explode across layers.
const LAYER_RATIO: f64 = 1e2;
/// Growth of the total gradient norm from the first recorded epoch flagged as exploding, and
/// the shrinking reported as convergence or saturation.
const NORM_GROWTH: f64 = 1e2;
const NORM_SHRINK: f64 = 1e-4;
/// The loss diverged: it ended above the first epoch's by this factor.
const LOSS_DIVERGED: f64 = 1.05;
/// The loss rose again: it ended above its lowest by this factor.
const LOSS_REBOUND: f64 = 1.5;
/// The loss stalled: it fell by less than this share over the run.
const LOSS_STALLED: f64 = 0.01;
/// The loss flattened: it moved by less than this share over the last quarter of the epochs.
const LOSS_FLAT: f64 = 0.005;
/// Over-fitting: training accuracy this far above held-out accuracy; a held-out loss this many
/// times the training loss (and at least `LOSS_GAP` above it); a held-out loss this far above
/// its lowest.
const ACCURACY_GAP: f64 = 0.05;
const LOSS_RATIO: f64 = 1.5;
const LOSS_GAP: f64 = 0.05;
const HELDOUT_RISE: f64 = 1.1;
/// Chance level: an accuracy less than this many standard errors (of the majority-class share,
/// over the set's rows), and at least `CHANCE_MIN_MARGIN`, above always answering the most
/// common class.
const CHANCE_STD_ERRORS: f64 = 2.0;
const CHANCE_MIN_MARGIN: f64 = 0.02;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Looks healthy.
    Good,
    /// Worth knowing; not a fault.
    Info,
    /// Likely hurting training.
    Warning,
    /// Training is broken.
    Problem,
}

impl Level {
    /// "OK", "Note", "Warning" or "Problem".
    pub fn label(self) -> &'static str {
        match self {
            Level::Good => "OK",
            Level::Info => "Note",
            Level::Warning => "Warning",
            Level::Problem => "Problem",
        }
    }
}

/// One diagnostic, in plain words.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// How much it matters.
    pub level: Level,
    /// What was checked: "Dead ReLU units", "Gradients across layers", ...
    pub topic: &'static str,
    /// What was found, with the numbers, and what usually helps.
    pub message: String,
}

impl Finding {
    pub(crate) fn new(level: Level, topic: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            level,
            topic,
            message: message.into(),
        }
    }
}

/// The units of one ReLU layer that never fired.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadUnits {
    /// The ReLU module's name (`"layers.1"`).
    pub layer: String,
    /// Units (columns of its output).
    pub units: usize,
    /// Indices of the units whose output was 0 on every row.
    pub dead: Vec<usize>,
    /// Rows the model saw.
    pub rows: usize,
}

/// The leaves of `m` in forward order, looking inside `Mlp`, `Sequential` and `ModuleList`
/// (whose forward applies their children in order); any other module is one leaf.
fn sequential_leaves<'a>(m: &'a dyn Module, name: String, out: &mut Vec<(String, &'a dyn Module)>) {
    if m.is::<Mlp>() || m.is::<Sequential>() || m.is::<ModuleList>() {
        for (child, c) in m.children() {
            let full = if name.is_empty() {
                child
            } else {
                format!("{name}.{child}")
            };
            sequential_leaves(c, full, out);
        }
    } else {
        out.push((name, m));
    }
}

/// Runs `model` in eval mode (without a graph) over the rows of `x` (`[n, in]`), watching the
/// output of every `ReLU` layer, and reports the units that never fired (output 0 on every
/// row). The model's mode is restored afterwards.
///
/// The layers are found by looking inside `Mlp`, `Sequential` and `ModuleList`; a custom
/// module's internals are not visible, and it yields no entries.
pub fn dead_relu_units(model: &mut dyn Module, x: &Array) -> Vec<DeadUnits> {
    let was_training = model.is_training();
    model.eval();
    let mut leaves = Vec::new();
    sequential_leaves(&*model, String::new(), &mut leaves);
    let n = x.shape().first().copied().unwrap_or(0);
    let f = x.shape().get(1).copied().unwrap_or(1);
    let mut alive: Vec<Option<Vec<bool>>> = vec![None; leaves.len()];
    // The rows go where the model is; each ReLU's outputs are read on the CPU.
    let device = model
        .parameters()
        .first()
        .map_or(crate::Device::Cpu, |p| p.device());
    crate::no_grad(|| {
        for start in (0..n).step_by(PREDICT_CHUNK) {
            let end = (start + PREDICT_CHUNK).min(n);
            let rows = Tensor::from_slice(&x.data()[start * f..end * f], &[end - start, f]);
            let mut h = rows.to(&device);
            for (k, (_, layer)) in leaves.iter().enumerate() {
                h = layer.forward(&h);
                if layer.is::<ReLU>() {
                    let a = h.array().clone().to_device(&crate::Device::Cpu);
                    let units = a.shape().last().copied().unwrap_or(1).max(1);
                    let seen = alive[k].get_or_insert_with(|| vec![false; units]);
                    for row in a.data().chunks(units) {
                        for (s, &v) in seen.iter_mut().zip(row) {
                            *s |= v > 0.0;
                        }
                    }
                }
            }
        }
    });
    let found = leaves
        .iter()
        .zip(alive)
        .filter(|((_, layer), _)| layer.is::<ReLU>())
        .map(|((name, _), seen)| {
            let seen = seen.unwrap_or_default();
            DeadUnits {
                layer: name.clone(),
                units: seen.len(),
                dead: (0..seen.len()).filter(|&j| !seen[j]).collect(),
                rows: n,
            }
        })
        .collect();
    if was_training {
        model.train();
    }
    found
}

/// `a/b` as a percentage with no decimals (or one, below 10%).
fn pct(a: f64, b: f64) -> String {
    let p = 100.0 * a / b.max(f64::MIN_POSITIVE);
    if p < 10.0 && p != 0.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// One finding per ReLU layer: none dead is fine; the more dead, the worse.
pub fn check_dead_units(layers: &[DeadUnits]) -> Vec<Finding> {
    const TOPIC: &str = "Dead ReLU units";
    if layers.is_empty() {
        return vec![Finding::new(
            Level::Info,
            TOPIC,
            "The model has no ReLU layers, so no unit can die (a dead unit is a ReLU that outputs 0 for every input).",
        )];
    }
    layers
        .iter()
        .map(|d| {
            let k = d.dead.len();
            if k == 0 {
                return Finding::new(
                    Level::Good,
                    TOPIC,
                    format!(
                        "{}: all {} units fire on some of the {} training rows.",
                        d.layer, d.units, d.rows
                    ),
                );
            }
            let frac = k as f64 / d.units.max(1) as f64;
            let level = if frac >= DEAD_PROBLEM {
                Level::Problem
            } else if frac >= DEAD_WARNING {
                Level::Warning
            } else {
                Level::Info
            };
            let list: Vec<String> = d.dead.iter().take(12).map(usize::to_string).collect();
            let more = if k > 12 { ", ..." } else { "" };
            Finding::new(
                level,
                TOPIC,
                format!(
                    "{}: {k} of {} units ({}) never fire on any of the {} training rows (units {}{more}). \
                     A dead unit outputs 0 for every input and passes no gradient back, so the weights feeding it stop learning. \
                     A smaller learning rate, LeakyReLU, or Kaiming initialisation usually helps.",
                    d.layer,
                    d.units,
                    pct(k as f64, d.units as f64),
                    d.rows,
                    list.join(", ")
                ),
            )
        })
        .collect()
}

/// Mean of the finite values (NaN if none).
fn mean_finite(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        f64::NAN
    } else {
        f.iter().sum::<f64>() / f.len() as f64
    }
}

/// Vanishing or exploding gradients, across layers (the first weight's gradient norm against
/// the last's, over the last fifth of the recorded epochs; beyond 100× either way is flagged)
/// and over time (the total norm's growth from the first recorded epoch; beyond 100× is
/// flagged).
pub fn check_gradients(monitor: &GradientMonitor) -> Vec<Finding> {
    const ACROSS: &str = "Gradients across layers";
    const OVER_TIME: &str = "Gradients over time";
    if monitor.is_empty() {
        return vec![Finding::new(
            Level::Info,
            ACROSS,
            "No gradients were recorded, so vanishing or exploding gradients cannot be judged.",
        )];
    }
    let epochs = monitor.epochs();
    let n = epochs.len();
    let window = (n / 5).max(1);
    let mut out = Vec::new();
    let norms: Vec<(String, Vec<f64>)> = monitor
        .names()
        .iter()
        .map(|name| (name.clone(), monitor.norms(name).unwrap_or_default()))
        .collect();
    for (name, v) in &norms {
        if let Some(k) = v.iter().position(|x| x.is_infinite()) {
            out.push(Finding::new(
                Level::Problem,
                OVER_TIME,
                format!(
                    "The gradient of {name} became infinite at epoch {}: the gradients exploded. Lower the learning rate or clip the gradient norm.",
                    epochs[k]
                ),
            ));
            return out;
        }
    }
    // Weights only: biases and BatchNorm scales have far fewer entries and other scales.
    let weights: Vec<&(String, Vec<f64>)> = norms
        .iter()
        .filter(|(name, _)| {
            name.ends_with("weight") && monitor.shape(name).is_some_and(|s| s.len() == 2)
        })
        .collect();
    if weights.len() >= 2 {
        let (first, last) = (weights[0], weights[weights.len() - 1]);
        let a = mean_finite(&first.1[n - window..]);
        let b = mean_finite(&last.1[n - window..]);
        let span = if window == 1 {
            format!("at epoch {}", epochs[n - 1])
        } else {
            format!("over the last {window} recorded epochs")
        };
        if a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0 {
            let r = a / b;
            let (level, message) = if r < 1.0 / LAYER_RATIO {
                (
                    Level::Warning,
                    format!(
                        "Gradients vanish toward the input: {} has a gradient norm of {} {span}, {}× smaller than {} ({}). \
                         Layers near the input learn slowly. ReLU-family activations, BatchNorm, or Kaiming/Xavier initialisation help.",
                        first.0, fmt_num(a), fmt_num(1.0 / r), last.0, fmt_num(b)
                    ),
                )
            } else if r > LAYER_RATIO {
                (
                    Level::Warning,
                    format!(
                        "Gradients explode toward the input: {} has a gradient norm of {} {span}, {}× larger than {} ({}). \
                         Lower the learning rate, clip the gradient norm, or add BatchNorm.",
                        first.0, fmt_num(a), fmt_num(r), last.0, fmt_num(b)
                    ),
                )
            } else {
                (
                    Level::Good,
                    format!(
                        "Gradient norms are balanced across layers: {} (input side) {}, {} (output side) {} {span}, a ratio of {} (within 100× either way).",
                        first.0, fmt_num(a), last.0, fmt_num(b), fmt_num(r)
                    ),
                )
            };
            out.push(Finding::new(level, ACROSS, message));
        } else {
            out.push(Finding::new(
                Level::Warning,
                ACROSS,
                format!(
                    "{} or {} had no gradient (or a zero one) {span}: no gradient reaches that layer.",
                    first.0, last.0
                ),
            ));
        }
    }
    // The total norm per epoch: √Σ‖g‖² over parameters.
    let total: Vec<f64> = (0..n)
        .map(|k| {
            let s: f64 = norms
                .iter()
                .map(|(_, v)| v[k])
                .filter(|x| x.is_finite())
                .map(|x| x * x)
                .sum();
            s.sqrt()
        })
        .collect();
    if n >= 2 {
        let a = total[0];
        let b = mean_finite(&total[n - window..]);
        let (e0, e1) = (epochs[0], epochs[n - 1]);
        let finding = if a > 0.0 && b / a > NORM_GROWTH {
            Finding::new(
                Level::Warning,
                OVER_TIME,
                format!(
                    "The total gradient norm grew {}× from epoch {e0} ({}) to epoch {e1} ({}): gradients are exploding. Lower the learning rate or clip the gradient norm.",
                    fmt_num(b / a), fmt_num(a), fmt_num(b)
                ),
            )
        } else if a > 0.0 && b / a < NORM_SHRINK {
            Finding::new(
                Level::Info,
                OVER_TIME,
                format!(
                    "The total gradient norm shrank {}× from epoch {e0} ({}) to epoch {e1} ({}): training has converged, or the units have saturated (see the loss).",
                    fmt_num(a / b.max(f64::MIN_POSITIVE)), fmt_num(a), fmt_num(b)
                ),
            )
        } else {
            Finding::new(
                Level::Good,
                OVER_TIME,
                format!(
                    "The total gradient norm went from {} at epoch {e0} to {} at epoch {e1}: no sign of gradients exploding or vanishing over time.",
                    fmt_num(a), fmt_num(b)
                ),
            )
        };
        out.push(finding);
    }
    out
}

/// A loss curve (one value per epoch) that diverges, rises again, stalls, or flattens.
pub fn check_loss(losses: &[f64]) -> Finding {
    const TOPIC: &str = "Loss curve";
    let n = losses.len();
    if let Some(k) = losses.iter().position(|v| !v.is_finite()) {
        return Finding::new(
            Level::Problem,
            TOPIC,
            format!(
                "The loss became {} at epoch {}: training diverged. Lower the learning rate, standardise the inputs, or clip the gradient norm.",
                losses[k],
                k + 1
            ),
        );
    }
    if n < 3 {
        return Finding::new(
            Level::Info,
            TOPIC,
            format!("Only {n} epoch(s): too few to judge the loss curve."),
        );
    }
    let (first, last) = (losses[0], losses[n - 1]);
    let (kmin, min) = losses
        .iter()
        .copied()
        .enumerate()
        .fold(
            (0, f64::INFINITY),
            |b, (k, v)| if v < b.1 { (k, v) } else { b },
        );
    let window = (n / 4).max(2);
    let before = losses[n - window];
    if last > first * LOSS_DIVERGED && last - first > 1e-9 {
        return Finding::new(
            Level::Problem,
            TOPIC,
            format!(
                "The loss diverges: it rose from {} at epoch 1 to {} at epoch {n}. Lower the learning rate.",
                fmt_num(first),
                fmt_num(last)
            ),
        );
    }
    if kmin + 1 < n && last > min * LOSS_REBOUND && last - min > 1e-6 {
        return Finding::new(
            Level::Warning,
            TOPIC,
            format!(
                "The loss rose again: its lowest was {} at epoch {}, and it ended at {} ({} higher). The learning rate may be too high late in training; a smaller rate or a scheduler helps.",
                fmt_num(min),
                kmin + 1,
                fmt_num(last),
                pct(last - min, min)
            ),
        );
    }
    let total = (first - last) / first.abs().max(f64::MIN_POSITIVE);
    if total < LOSS_STALLED {
        return Finding::new(
            Level::Warning,
            TOPIC,
            format!(
                "The loss stalled: it barely moved, from {} to {} ({} lower) in {n} epochs. The learning rate may be too small, the units dead or saturated, or the inputs not standardised.",
                fmt_num(first),
                fmt_num(last),
                pct(first - last, first.abs())
            ),
        );
    }
    let recent = (before - last) / before.abs().max(f64::MIN_POSITIVE);
    if recent.abs() < LOSS_FLAT {
        Finding::new(
            Level::Info,
            TOPIC,
            format!(
                "The loss fell from {} to {}, then flattened: it changed by less than 0.5% over the last {window} epochs. More epochs at this learning rate will change little.",
                fmt_num(first),
                fmt_num(last)
            ),
        )
    } else {
        Finding::new(
            Level::Good,
            TOPIC,
            format!(
                "The loss fell from {} to {}, and was still falling at the end ({} lower over the last {window} epochs){MORE_EPOCHS}",
                fmt_num(first),
                fmt_num(last),
                pct(before - last, before.abs())
            ),
        )
    }
}

/// How [`check_loss`] ends a loss that was still falling; [`check_training`] replaces it when
/// the held-out data says otherwise.
const MORE_EPOCHS: &str = ": more epochs may still help.";

/// The loss curve, over-fitting and chance level, judged together so that their advice agrees:
/// a training loss still falling suggests more epochs only when the held-out data shows no
/// over-fitting (which suggests early stopping). `heldout` is the first of validation and test
/// (named for the messages), `heldout_losses` its loss per epoch.
pub fn check_training(
    train_losses: &[f64],
    train: &Evaluation,
    heldout: Option<(&str, &Evaluation)>,
    heldout_losses: &[f64],
) -> Vec<Finding> {
    let mut loss = check_loss(train_losses);
    let overfitting = check_overfitting(train, heldout, heldout_losses);
    if overfitting.level >= Level::Warning && loss.message.ends_with(MORE_EPOCHS) {
        let name = heldout.map_or("held-out", |(n, _)| n);
        let kept = loss.message.len() - MORE_EPOCHS.len();
        loss.message.truncate(kept);
        loss.message.push_str(&format!(
            ", but the {name} data stopped following it (see over-fitting): more epochs would fit the training rows further, not new ones."
        ));
        loss.level = Level::Info;
    }
    let (set, eval) = heldout.unwrap_or(("training", train));
    let mut out = vec![loss, overfitting];
    out.extend(check_chance(eval, set));
    out
}

/// A classifier at chance level: its accuracy on `set` is no better than always answering the
/// set's most common class, up to the noise of that many rows. `None` for a regressor, or a
/// classifier clearly above chance.
pub fn check_chance(eval: &Evaluation, set: &str) -> Option<Finding> {
    let cm = eval.confusion.as_ref()?;
    let per_class: Vec<usize> = cm.counts.iter().map(|row| row.iter().sum()).collect();
    let rows: usize = per_class.iter().sum();
    let (class, &most) = per_class.iter().enumerate().max_by_key(|(_, &c)| c)?;
    if rows == 0 {
        return None;
    }
    let chance = most as f64 / rows as f64;
    let noise = CHANCE_STD_ERRORS * (chance * (1.0 - chance) / rows as f64).sqrt();
    let accuracy = cm.accuracy();
    if accuracy >= chance + noise.max(CHANCE_MIN_MARGIN) {
        return None;
    }
    Some(Finding::new(
        Level::Problem,
        "Chance level",
        format!(
            "The classifier is at chance level: {:.1}% accuracy on the {set} set ({rows} rows), against {:.1}% for always answering its most common class ({class}). \
             It has learned nothing useful about the classes. Check that the labels match the inputs, standardise the inputs, and try another learning rate.",
            100.0 * accuracy,
            100.0 * chance
        ),
    ))
}

/// Over-fitting: the gap between the training set and held-out data at the end (accuracy more
/// than 5 points apart, or a held-out loss over 1.5× the training loss), and a held-out loss
/// that rose by over 10% from its lowest. `heldout_losses` is the held-out loss per epoch.
pub fn check_overfitting(
    train: &Evaluation,
    heldout: Option<(&str, &Evaluation)>,
    heldout_losses: &[f64],
) -> Finding {
    const TOPIC: &str = "Over-fitting";
    let Some((name, held)) = heldout else {
        return Finding::new(
            Level::Info,
            TOPIC,
            "There is no validation or test data, so over-fitting cannot be measured. Hold some rows out ([data] validation = 0.1 or test = 0.2).",
        );
    };
    let mut parts = Vec::new();
    let mut bad = false;
    if let (Some(a), Some(b)) = (train.accuracy(), held.accuracy()) {
        let gap = a - b;
        parts.push(format!(
            "training accuracy {:.1}% vs {name} {:.1}%",
            100.0 * a,
            100.0 * b
        ));
        bad |= gap > ACCURACY_GAP;
    }
    parts.push(format!(
        "{name} loss {} vs training loss {}",
        fmt_num(held.loss),
        fmt_num(train.loss)
    ));
    bad |= held.loss > LOSS_RATIO * train.loss && held.loss - train.loss > LOSS_GAP;
    let n = heldout_losses.len();
    let finite: Vec<(usize, f64)> = heldout_losses
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .collect();
    if let Some(&(kmin, min)) = finite.iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
        let last = heldout_losses[n - 1];
        if kmin + 2 < n && last > min * HELDOUT_RISE && last - min > 1e-3 {
            parts.push(format!(
                "the {name} loss was lowest at epoch {} ({}) and rose to {} since",
                kmin + 1,
                fmt_num(min),
                fmt_num(last)
            ));
            bad = true;
        }
    }
    let facts = parts.join("; ");
    if bad {
        Finding::new(
            Level::Warning,
            TOPIC,
            format!(
                "The model fits the training data better than unseen data: {facts}. \
                 More data, weight decay, dropout, a smaller model, or early stopping help."
            ),
        )
    } else {
        Finding::new(
            Level::Good,
            TOPIC,
            format!("No sign of over-fitting: {facts}."),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Linear, MlpConfig};
    use crate::train::ConfusionMatrix;

    #[test]
    fn dead_units_are_found_through_containers() {
        let _global = crate::testing::global_state();
        crate::manual_seed(1);
        let mut mlp = Mlp::new(&MlpConfig::new(&[2, 3, 1]));
        let lin = mlp.layers[0].downcast_ref::<Linear>().unwrap();
        // Unit 1 gets weights and bias that keep it negative for x ≥ 0; unit 0 always fires.
        lin.weight
            .assign(&Array::new(&[3, 2], vec![1.0, 1.0, -1.0, -1.0, 0.5, -0.5]));
        lin.bias
            .as_ref()
            .unwrap()
            .assign(&Array::new(&[3], vec![0.1, -0.1, 0.0]));
        mlp.train();
        let x = Array::new(&[3, 2], vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
        let found = dead_relu_units(&mut mlp, &x);
        assert_eq!(
            found,
            vec![DeadUnits {
                layer: "layers.1".into(),
                units: 3,
                dead: vec![1],
                rows: 3
            }]
        );
        assert!(mlp.is_training(), "the mode is restored");
        let f = check_dead_units(&found);
        assert_eq!(f[0].level, Level::Warning);
        assert!(
            f[0].message.contains("1 of 3 units (33%)"),
            "{}",
            f[0].message
        );
        // The same through a Sequential, by its own names.
        let seq = Sequential::new().add(Linear::new(2, 4)).add(ReLU);
        let mut seq = seq;
        assert_eq!(dead_relu_units(&mut seq, &x)[0].layer, "1");
        assert_eq!(check_dead_units(&[])[0].level, Level::Info);
        let ok = DeadUnits {
            layer: "l".into(),
            units: 4,
            dead: vec![],
            rows: 9,
        };
        assert_eq!(check_dead_units(&[ok])[0].level, Level::Good);
    }

    #[test]
    fn loss_curves_are_judged() {
        assert_eq!(
            check_loss(&[1.0, 0.5, 0.3, 0.2, 0.1, 0.05]).level,
            Level::Good
        );
        let flat = check_loss(&[1.0, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]);
        assert_eq!(flat.level, Level::Info);
        assert!(flat.message.contains("flattened"), "{}", flat.message);
        let stalled = check_loss(&[1.0, 0.999, 0.998, 0.997]);
        assert_eq!(stalled.level, Level::Warning);
        assert!(stalled.message.contains("stalled"), "{}", stalled.message);
        let up = check_loss(&[1.0, 2.0, 4.0]);
        assert_eq!(up.level, Level::Problem);
        assert!(up.message.contains("diverges"));
        let rebound = check_loss(&[1.0, 0.2, 0.1, 0.5, 0.6]);
        assert_eq!(rebound.level, Level::Warning);
        assert!(
            rebound.message.contains("lowest was 0.1 at epoch 3"),
            "{}",
            rebound.message
        );
        assert_eq!(check_loss(&[1.0, f64::NAN]).level, Level::Problem);
        assert_eq!(check_loss(&[1.0]).level, Level::Info);
    }

    fn eval(loss: f64, right: usize, of: usize) -> Evaluation {
        let truth: Vec<usize> = vec![0; of];
        let mut preds = vec![0; right];
        preds.extend(vec![1; of - right]);
        Evaluation {
            loss,
            confusion: Some(ConfusionMatrix::new(2, &truth, &preds)),
            mse: None,
            mae: None,
            r2: None,
            auc: None,
        }
    }

    #[test]
    fn overfitting_gaps_are_flagged() {
        let train = eval(0.05, 100, 100);
        let ok = check_overfitting(
            &train,
            Some(("test", &eval(0.08, 98, 100))),
            &[0.5, 0.2, 0.1, 0.08],
        );
        assert_eq!(ok.level, Level::Good, "{}", ok.message);
        assert!(
            ok.message
                .contains("training accuracy 100.0% vs test 98.0%"),
            "{}",
            ok.message
        );
        let gap = check_overfitting(&train, Some(("val", &eval(0.9, 80, 100))), &[]);
        assert_eq!(gap.level, Level::Warning);
        let rising = check_overfitting(
            &train,
            Some(("val", &eval(0.07, 99, 100))),
            &[0.5, 0.05, 0.06, 0.07, 0.08],
        );
        assert_eq!(rising.level, Level::Warning);
        assert!(
            rising.message.contains("lowest at epoch 2"),
            "{}",
            rising.message
        );
        assert_eq!(check_overfitting(&train, None, &[]).level, Level::Info);
    }

    #[test]
    fn chance_level_is_said_plainly() {
        // 100 rows, all class 0: always answering 0 scores 100%, so 60% is below chance.
        let f = check_chance(&eval(0.7, 60, 100), "test").unwrap();
        assert_eq!(f.level, Level::Problem);
        assert!(
            f.message.contains(
                "chance level: 60.0% accuracy on the test set (100 rows), against 100.0%"
            ),
            "{}",
            f.message
        );
        // Balanced classes: 52% of 200 is within noise of 50%, 80% is not.
        let balanced = |right0: usize, right1: usize| {
            let truth: Vec<usize> = (0..200).map(|i| i % 2).collect();
            let preds: Vec<usize> = (0..200)
                .map(|i| {
                    let (c, k) = (i % 2, i / 2);
                    let right = if c == 0 { k < right0 } else { k < right1 };
                    if right {
                        c
                    } else {
                        1 - c
                    }
                })
                .collect();
            Evaluation {
                loss: 0.7,
                confusion: Some(ConfusionMatrix::new(2, &truth, &preds)),
                mse: None,
                mae: None,
                r2: None,
                auc: None,
            }
        };
        assert!(check_chance(&balanced(52, 52), "validation").is_some());
        assert!(check_chance(&balanced(80, 80), "validation").is_none());
        let regressor = Evaluation {
            loss: 1.0,
            confusion: None,
            mse: Some(1.0),
            mae: Some(1.0),
            r2: Some(0.0),
            auc: None,
        };
        assert!(check_chance(&regressor, "test").is_none());
    }

    #[test]
    fn advice_agrees_between_the_loss_and_over_fitting() {
        let falling = [1.0, 0.5, 0.3, 0.2, 0.1, 0.05];
        let train = eval(0.05, 100, 100);
        // No over-fitting: a falling loss asks for more epochs.
        let ok = check_training(
            &falling,
            &train,
            Some(("val", &eval(0.06, 99, 100))),
            &falling,
        );
        assert!(
            ok[0].message.contains("more epochs may still help"),
            "{}",
            ok[0].message
        );
        assert!(
            !ok[1].message.contains("early stopping"),
            "{}",
            ok[1].message
        );
        // Over-fitting (the validation loss rose from epoch 2): no call for more epochs.
        let rising = [0.5, 0.05, 0.06, 0.07, 0.08, 0.09];
        let f = check_training(
            &falling,
            &train,
            Some(("val", &eval(0.09, 99, 100))),
            &rising,
        );
        assert_eq!(f[1].level, Level::Warning);
        assert!(f[1].message.contains("early stopping"), "{}", f[1].message);
        assert!(!f[0].message.contains("may still help"), "{}", f[0].message);
        assert!(
            f[0].message.contains("val data stopped following it"),
            "{}",
            f[0].message
        );
        // Chance level is judged on the held-out set, else on the training set.
        let f = check_training(&falling, &eval(0.7, 50, 100), None, &[]);
        assert!(f.iter().any(|x| x.topic == "Chance level"), "{f:?}");
    }

    #[test]
    fn gradient_ratios_are_judged() {
        use crate::nn::MSELoss;
        let _global = crate::testing::global_state();
        crate::manual_seed(2);
        let model = Sequential::new()
            .add(Linear::new(3, 4))
            .add(ReLU)
            .add(Linear::new(4, 2));
        let x = Tensor::randn(&[8, 3]);
        let y = Tensor::randn(&[8, 2]);
        let mut m = GradientMonitor::new();
        for epoch in 1..=5 {
            model.zero_grad();
            MSELoss::default()
                .forward(&model.forward(&x), &y)
                .backward();
            m.record(epoch, &model);
        }
        let f = check_gradients(&m);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].level, Level::Good, "{}", f[0].message);
        assert!(f[0].message.contains("0.weight") && f[0].message.contains("2.weight"));
        assert_eq!(f[1].level, Level::Good, "{}", f[1].message);
        // Shrink the first layer's gradient 1000×: vanishing toward the input.
        let w0 = model.named_parameters()[0].1.clone();
        let tiny = w0.grad().unwrap().array().map(|v| v * 1e-4);
        w0.set_grad(Some(tiny));
        let mut v = GradientMonitor::new();
        v.record(1, &model);
        let f = check_gradients(&v);
        assert_eq!(f[0].level, Level::Warning);
        assert!(f[0].message.contains("vanish"), "{}", f[0].message);
        // Grow every gradient 1000× over time: exploding.
        for p in model.parameters() {
            let big = p.grad().unwrap().array().map(|v| v * 1e7);
            p.set_grad(Some(big));
        }
        v.record(2, &model);
        let f = check_gradients(&v);
        assert!(
            f.iter()
                .any(|x| x.level == Level::Warning && x.message.contains("exploding")),
            "{f:?}"
        );
        assert_eq!(
            check_gradients(&GradientMonitor::new())[0].level,
            Level::Info
        );
    }
}
