//! Elementwise ops on special values (NaN, −0, +0, ±∞) against PyTorch: outputs and gradients.
//!
//! Fixtures: `tests/fixtures/special.*`, written by `scripts/gen_fixtures.py` (section
//! "special"): for each case PyTorch computed `out = op(x)` on
//! `[NaN, −0, 0, −1, 2, 0.3, −2.5, ∞, −∞]` and the gradient of `sum(out)`. A NaN must be a NaN,
//! an infinity the same infinity, a zero a zero of the same sign; other values agree to 1e-5
//! relative plus 1e-6 absolute, as in `golden_ops.rs`.

mod common;
use backprop::{Array, Tensor};
use common::Fixture;
use serde_json::Value;

fn run(op: &str, args: &Value, x: &Tensor) -> Tensor {
    let f = |k: &str| args[k].as_f64().unwrap_or_else(|| panic!("{op}: arg {k}")) as f32;
    match op {
        "relu" => x.relu(),
        "leaky_relu" => x.leaky_relu(f("slope")),
        "elu" => x.elu(f("alpha")),
        "sigmoid" => x.sigmoid(),
        "tanh" => x.tanh(),
        "gelu" => x.gelu(),
        "silu" => x.silu(),
        "abs" => x.abs(),
        "sqrt" => x.sqrt(),
        "log" => x.log(),
        "exp" => x.exp(),
        "pow" => x.pow(f("p")),
        "clamp" => x.clamp(Some(f("min")), Some(f("max"))),
        other => panic!("no Rust counterpart for fixture op `{other}`"),
    }
}

/// Why `got` is not `want`, if it is not.
fn mismatch(got: f32, want: f32) -> Option<String> {
    let same = if want.is_nan() {
        got.is_nan()
    } else if want == 0.0 || want.is_infinite() {
        got.to_bits() == want.to_bits()
    } else {
        (got - want).abs() <= 1e-5 * want.abs() + 1e-6
    };
    (!same).then(|| format!("got {got:?}, PyTorch {want:?}"))
}

#[test]
fn special_values_match_pytorch() {
    let fx = Fixture::load("special");
    let cases = fx.meta["cases"].as_array().expect("cases");
    assert!(cases.len() >= 15, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = fx.get(&format!("{name}.in"));
        let x = Tensor::from_slice(&input.to_vec(), &input.shape()).set_requires_grad(true);
        let out = run(case["op"].as_str().unwrap(), &case["args"], &x);
        out.backward_with(Array::full(&out.shape(), 1.0), false);
        let grad = x.grad().expect("a gradient");
        let inputs = input.to_vec();
        for (what, got, want) in [
            (
                "output",
                out.to_vec(),
                fx.get(&format!("{name}.out")).to_vec(),
            ),
            (
                "gradient",
                grad.to_vec(),
                fx.get(&format!("{name}.grad")).to_vec(),
            ),
        ] {
            for ((&g, &w), &v) in got.iter().zip(&want).zip(&inputs) {
                if let Some(why) = mismatch(g, w) {
                    failures.push(format!("{name} {what} at x = {v:?}: {why}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
