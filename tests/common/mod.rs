//! Shared helpers for integration tests: loading the PyTorch fixtures in `tests/fixtures/`.
#![allow(dead_code)]

use backprop::Tensor;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::PathBuf;

/// The fixtures folder.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fixture file's tensors (f32 only; int64 entries are converted) and its JSON metadata.
pub struct Fixture {
    pub tensors: HashMap<String, Tensor>,
    pub meta: serde_json::Value,
}

impl Fixture {
    pub fn load(name: &str) -> Fixture {
        let bytes =
            std::fs::read(fixtures().join(format!("{name}.safetensors"))).expect("fixture file");
        let st = SafeTensors::deserialize(&bytes).expect("valid safetensors");
        let mut tensors = HashMap::new();
        for (k, v) in st.tensors() {
            let data: Vec<f32> = match v.dtype() {
                Dtype::F32 => v
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
                Dtype::I64 => v
                    .data()
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32)
                    .collect(),
                d => panic!("unexpected dtype {d:?} for {k}"),
            };
            tensors.insert(k.to_string(), Tensor::from_vec(data, v.shape()));
        }
        let meta_path = fixtures().join(format!("{name}.json"));
        let meta = match std::fs::read_to_string(meta_path) {
            Ok(s) => serde_json::from_str(&s).expect("valid json"),
            Err(_) => serde_json::Value::Null,
        };
        Fixture { tensors, meta }
    }

    /// The tensor `key`, as a fresh leaf (so tests can set requires_grad on it).
    #[track_caller]
    pub fn get(&self, key: &str) -> Tensor {
        self.tensors
            .get(key)
            .unwrap_or_else(|| panic!("fixture has no `{key}`"))
            .detach()
    }

    pub fn has(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }
}

/// Asserts `|a − b| ≤ atol + rtol·|b|` elementwise, with shapes equal.
#[track_caller]
pub fn assert_close(what: &str, a: &Tensor, b: &Tensor, rtol: f32, atol: f32) {
    assert_eq!(a.shape(), b.shape(), "{what}: shape");
    for (i, (x, y)) in a.to_vec().iter().zip(b.to_vec()).enumerate() {
        assert!(
            (x - y).abs() <= atol + rtol * y.abs() || (x.is_nan() && y.is_nan()),
            "{what}: element {i}: got {x}, PyTorch {y}"
        );
    }
}

/// Asserts two f64 values agree to `rtol` relative (plus a tiny absolute floor).
#[track_caller]
pub fn assert_close_f64(what: &str, a: f64, b: f64, rtol: f64) {
    assert!(
        (a - b).abs() <= 1e-12 + rtol * b.abs(),
        "{what}: got {a}, PyTorch {b}"
    );
}
