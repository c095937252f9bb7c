//! `class_weight`: the config's class weights resolved against the classes of the data, and
//! the loss they weight (PyTorch's `weight` for cross-entropy, `pos_weight` for one logit).

use crate::config::{suggestion, ClassWeight};
use anyhow::{bail, Result};

/// The classes' names, in class-index order: today the indices themselves ("0", "1", ...),
/// as labels are class indices.
pub fn class_names(n_classes: usize) -> Vec<String> {
    (0..n_classes).map(|c| c.to_string()).collect()
}

/// One weight per class (in the order of `names`) for `spec`; `labels` are the training split's
/// class indices, counted for `"balanced"`.
pub fn resolve(spec: &ClassWeight, names: &[String], labels: &[f32]) -> Result<Vec<f32>> {
    let k = names.len();
    Ok(match spec {
        ClassWeight::Balanced => balanced(labels, names)?,
        ClassWeight::List(w) => {
            if w.len() != k {
                bail!(
                    "[train] class_weight: {} weights for {k} classes (one per class, in class order)",
                    w.len()
                );
            }
            w.iter().map(|&v| v as f32).collect()
        }
        ClassWeight::ByName(by_name) => {
            let mut w = vec![1.0f32; k];
            for (name, v) in by_name {
                match names.iter().position(|n| n == name) {
                    Some(c) => w[c] = *v as f32,
                    None => {
                        let known: Vec<&str> = names.iter().map(String::as_str).collect();
                        // A close name is suggested; a close number ("7" for "1") is no hint.
                        let hint = if name.chars().any(char::is_alphabetic) {
                            suggestion(name, &known)
                        } else {
                            String::new()
                        };
                        bail!(
                            "[train] class_weight: no class \"{name}\"{hint}; the classes are {}",
                            known.join(", ")
                        );
                    }
                }
            }
            w
        }
    })
}

/// scikit-learn's `compute_class_weight("balanced")`: `n_samples / (n_classes · count_c)`, so
/// that every class weighs as much in total.
fn balanced(labels: &[f32], names: &[String]) -> Result<Vec<f32>> {
    let k = names.len();
    let mut counts = vec![0usize; k];
    for &y in labels {
        if let Some(c) = counts.get_mut(y as usize) {
            *c += 1;
        }
    }
    if let Some(c) = counts.iter().position(|&n| n == 0) {
        bail!(
            "[train] class_weight: \"balanced\" needs every class in the training split; class {} has no rows",
            names[c]
        );
    }
    let n = labels.len() as f64;
    Ok(counts
        .iter()
        .map(|&c| (n / (k as f64 * c as f64)) as f32)
        .collect())
}

/// A binary classifier's `pos_weight` from its two class weights: `w₁ / w₀`. With 0/1 targets
/// this weighs each row's loss by `w_y / w₀`, so class 0 keeps its unweighted loss.
pub fn pos_weight(weights: &[f32]) -> f32 {
    weights[1] / weights[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_is_scikit_learns() {
        // scikit-learn 1.9.1: compute_class_weight("balanced", classes=[0, 1, 2],
        // y=[0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2]) → [1.0, 2.0, 0.6667]: 12 / (3 · count).
        let y = [0., 0., 0., 0., 1., 1., 2., 2., 2., 2., 2., 2.];
        let w = resolve(&ClassWeight::Balanced, &class_names(3), &y).unwrap();
        assert_eq!(w, vec![1.0, 2.0, 12.0 / 18.0]);
        let e = resolve(&ClassWeight::Balanced, &class_names(4), &y).unwrap_err();
        assert!(e.to_string().contains("class 3 has no rows"), "{e}");
    }

    #[test]
    fn lists_and_tables_by_class_name() {
        let names = class_names(3);
        let list = ClassWeight::List(vec![1.0, 2.0, 3.0]);
        assert_eq!(resolve(&list, &names, &[]).unwrap(), vec![1.0, 2.0, 3.0]);
        let short = ClassWeight::List(vec![1.0, 2.0]);
        assert!(resolve(&short, &names, &[]).is_err());
        let table = ClassWeight::ByName(vec![("2".into(), 5.0)]);
        assert_eq!(resolve(&table, &names, &[]).unwrap(), vec![1.0, 1.0, 5.0]);
        let text = ["setosa", "versicolor"].map(String::from);
        let table = ClassWeight::ByName(vec![("versicolour".into(), 2.0)]);
        let e = resolve(&table, &text, &[]).unwrap_err().to_string();
        assert!(
            e.contains("no class \"versicolour\" (did you mean `versicolor`?)"),
            "{e}"
        );
        assert_eq!(pos_weight(&[0.5, 2.0]), 4.0);
    }

    /// The binary loss's per-row weight `1 + (pw − 1)·y` is PyTorch's `pos_weight` for 0/1
    /// labels (the library's `pos_weight` is checked against PyTorch), value and gradient.
    #[test]
    fn binary_weights_are_pos_weight() {
        use crate::config::Loss;
        use backprop::nn::{binary_cross_entropy_with_logits, Reduction};
        use backprop::Tensor;
        let y = Tensor::from_slice(&[0.0, 1.0, 1.0, 0.0, 1.0], &[5]);
        let logits = [-1.5f32, 0.3, 2.0, 0.7, -0.2];
        let x1 = Tensor::from_slice(&logits, &[5, 1]).set_requires_grad(true);
        let ours = crate::train::loss_fn(Loss::BceWithLogits, Some(&[0.5, 2.0]));
        let a = ours(&x1, &y);
        a.backward();
        let x2 = Tensor::from_slice(&logits, &[5, 1]).set_requires_grad(true);
        let pw = Tensor::from_slice(&[4.0], &[1]);
        let b = binary_cross_entropy_with_logits(
            &x2,
            &y.reshape(&[5, 1]),
            None,
            Reduction::Mean,
            Some(&pw),
        );
        b.backward();
        assert!(
            (a.item() - b.item()).abs() < 1e-6,
            "{} vs {}",
            a.item(),
            b.item()
        );
        let (ga, gb) = (x1.grad().unwrap().to_vec(), x2.grad().unwrap().to_vec());
        for (u, v) in ga.iter().zip(&gb) {
            assert!((u - v).abs() < 1e-6, "{ga:?} vs {gb:?}");
        }
    }
}
