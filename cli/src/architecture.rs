//! The model's architecture in its weights file: `train` records the `[model]` keys in the
//! safetensors metadata, and `predict`/`eval` check a config and a weights file against each
//! other before building anything, so a mismatch is one line (never a silently different model,
//! nor a huge model built for a tiny file), and weights with NaN or infinite values are refused.

use crate::config::{Activation, ModelConfig};
use anyhow::{bail, Result};
use backprop::nn::{StateData, StateDict};
use std::collections::BTreeMap;
use std::path::Path;

/// The `[model]` keys that decide what a model computes, as metadata entries.
pub fn metadata(m: &ModelConfig) -> BTreeMap<String, String> {
    let mut meta = BTreeMap::new();
    let layers: Vec<String> = m.layers.iter().map(|n| n.to_string()).collect();
    meta.insert("layers".to_string(), layers.join(","));
    meta.insert(
        "activation".to_string(),
        activation_name(m.activation).to_string(),
    );
    meta.insert("batch_norm".to_string(), m.batch_norm.to_string());
    meta.insert("dropout".to_string(), m.dropout.to_string());
    meta
}

fn activation_name(a: Activation) -> &'static str {
    Activation::NAMES
        .iter()
        .find(|n| n.parse::<Activation>().ok() == Some(a))
        .copied()
        .unwrap_or("?")
}

/// Checks the weights file at `path` (its tensors and metadata) against the config's model:
/// the recorded architecture, the linear layers' shapes, finite values, and a standardisation
/// stored whole.
pub fn check(
    m: &ModelConfig,
    state: &StateDict,
    meta: &BTreeMap<String, String>,
    path: &Path,
) -> Result<()> {
    let at = format!("--model {}", path.display());
    check_recorded(m, meta, &format!("{at}: the model"))?;
    check_linear_shapes(&m.layers, state, &at)?;
    for (name, t) in state.iter() {
        let bad = match &t.data {
            StateData::F32(v) => v.iter().position(|x| !x.is_finite()),
            StateData::F64(v) => v.iter().position(|x| !x.is_finite()),
            StateData::I64(_) => None,
        };
        if let Some(i) = bad {
            bail!("{at}: tensor {name} holds a NaN or infinite value (element {i}); the weights are unusable");
        }
    }
    match (
        meta.contains_key("standardize_mean"),
        meta.contains_key("standardize_std"),
    ) {
        (true, false) => bail!("{at}: metadata has standardize_mean but no standardize_std"),
        (false, true) => bail!("{at}: metadata has standardize_std but no standardize_mean"),
        _ => {}
    }
    Ok(())
}

/// Checks the architecture recorded in `meta` (by [`metadata`]; older files have none) against
/// the config's model; `what` starts the message ("--model m.safetensors: the model").
pub fn check_recorded(m: &ModelConfig, meta: &BTreeMap<String, String>, what: &str) -> Result<()> {
    for (key, want) in metadata(m) {
        if let Some(got) = meta.get(&key) {
            let same = match key.as_str() {
                "dropout" => got.parse::<f64>().ok() == want.parse::<f64>().ok(),
                _ => *got == want,
            };
            if !same {
                bail!(
                    "{what} was trained with [model] {key} = {}, the config says {}",
                    shown(&key, got),
                    shown(&key, &want)
                );
            }
        }
    }
    Ok(())
}

/// A metadata value as a config would write it.
fn shown(key: &str, value: &str) -> String {
    match key {
        "activation" => format!("\"{value}\""),
        "layers" => format!("[{}]", value.replace(',', ", ")),
        _ => value.to_string(),
    }
}

/// The weights' `layers.N.weight` matrices, in order, must be the config's layer sizes.
fn check_linear_shapes(layers: &[usize], state: &StateDict, at: &str) -> Result<()> {
    let mut found: Vec<(usize, &[usize])> = state
        .iter()
        .filter(|(_, t)| t.shape.len() == 2)
        .filter_map(|(name, t)| {
            let index = name.strip_prefix("layers.")?.strip_suffix(".weight")?;
            Some((index.parse().ok()?, &t.shape[..]))
        })
        .collect();
    found.sort_unstable_by_key(|&(i, _)| i);
    let got: Vec<&[usize]> = found.into_iter().map(|(_, s)| s).collect();
    let want: Vec<[usize; 2]> = layers.windows(2).map(|w| [w[1], w[0]]).collect();
    if got.is_empty() {
        let hint = if state.keys().any(|k| k.starts_with("model.layers.")) {
            " (this is a checkpoint; predict and eval take the run's model.safetensors)"
        } else {
            ""
        };
        bail!("{at}: holds no layers.N.weight matrices{hint}");
    }
    let matches = got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g == w);
    if !matches {
        let sizes = match got.first() {
            Some(first) if chained(&got) => {
                let mut s = vec![first[1]];
                s.extend(got.iter().map(|g| g[0]));
                format!("layer sizes {s:?}")
            }
            _ => format!("{} weight matrices of shapes {got:?}", got.len()),
        };
        bail!("{at}: the weights hold {sizes}, the config's [model] layers are {layers:?}");
    }
    Ok(())
}

/// Whether each matrix takes the previous one's outputs.
fn chained(shapes: &[&[usize]]) -> bool {
    shapes.windows(2).all(|w| w[1][1] == w[0][0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop::nn::StateTensor;

    fn model(layers: &[usize]) -> ModelConfig {
        ModelConfig {
            layers: layers.to_vec(),
            activation: Activation::Tanh,
            batch_norm: false,
            dropout: 0.0,
            init: Default::default(),
        }
    }

    fn weights(shapes: &[[usize; 2]]) -> StateDict {
        let mut s = StateDict::new();
        for (i, sh) in shapes.iter().enumerate() {
            let n = sh[0] * sh[1];
            s.insert(
                format!("layers.{}.weight", 2 * i),
                StateTensor::f32(sh, vec![0.5; n]),
            );
        }
        s
    }

    #[test]
    fn config_and_weights_must_agree() {
        let p = Path::new("m.safetensors");
        let m = model(&[4, 16, 3]);
        let st = weights(&[[16, 4], [3, 16]]);
        let meta = metadata(&m);
        assert_eq!(meta["layers"], "4,16,3");
        assert_eq!(meta["activation"], "tanh");
        check(&m, &st, &meta, p).unwrap();

        let big = model(&[4, 1 << 20, 3]);
        let e = check(&big, &st, &BTreeMap::new(), p)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--model m.safetensors: the weights hold layer sizes [4, 16, 3], the config's [model] layers are [4, 1048576, 3]"
        );

        let mut relu = m.clone();
        relu.activation = Activation::Relu;
        let e = check(&relu, &st, &meta, p).unwrap_err().to_string();
        assert!(
            e.contains("activation = \"tanh\", the config says \"relu\""),
            "{e}"
        );

        let mut nan = weights(&[[16, 4], [3, 16]]);
        nan.insert(
            "layers.2.bias",
            StateTensor::f32(&[3], vec![0.0, f32::NAN, 0.0]),
        );
        let e = check(&m, &nan, &meta, p).unwrap_err().to_string();
        assert!(e.contains("tensor layers.2.bias holds a NaN"), "{e}");

        let mut ck = StateDict::new();
        ck.extend_prefixed("model.", st.clone());
        let e = check(&m, &ck, &BTreeMap::new(), p).unwrap_err().to_string();
        assert!(e.ends_with("holds no layers.N.weight matrices (this is a checkpoint; predict and eval take the run's model.safetensors)"), "{e}");

        let mut half = meta.clone();
        half.insert("standardize_mean".into(), "0,0,0,0".into());
        let e = check(&m, &st, &half, p).unwrap_err().to_string();
        assert!(e.contains("standardize_mean but no standardize_std"), "{e}");
    }
}
