//! Shared helpers for integration tests: loading the PyTorch fixtures in `tests/fixtures/`.
//! The CLI crate's tests (`cli/tests/`) include this file too (`#[path]`).
#![allow(dead_code)]

use backprop::Tensor;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The fixtures folder (the library's `tests/fixtures`, also from the CLI crate in `cli/`).
pub fn fixtures() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = manifest.join("tests/fixtures");
    if own.is_dir() {
        own
    } else {
        manifest.join("../tests/fixtures")
    }
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

/// A fresh, empty temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("backprop-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, text).unwrap();
        p
    }
    /// Every file and folder below, relative, sorted.
    pub fn listing(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                out.push(p.strip_prefix(base).unwrap().display().to_string());
                if p.is_dir() {
                    walk(base, &p, out);
                }
            }
        }
        let mut out = vec![];
        walk(&self.0, &self.0, &mut out);
        out.sort();
        out
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Holds the process-wide state (the global generator, the thread count, flush-to-zero,
/// anomaly detection) for one test: tests run on parallel threads of one process, so a test that
/// seeds and draws, or switches a global, takes this first and no other test interleaves.
pub fn global_state() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
