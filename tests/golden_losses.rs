//! Every loss × reduction against PyTorch: value and input gradient.
//!
//! Fixtures: `tests/fixtures/losses.*` from `scripts/gen_fixtures.py` (section "losses"): for each
//! loss and reduction, PyTorch's output and the gradient of `sum(out * gout)` wrt the input.
//! Tolerance: 1e-5 relative.

mod common;
use backprop::nn::{self, Reduction};
use backprop::Tensor;
use common::{assert_close, Fixture};
use serde_json::Value;

fn loss(kind: &str, args: &Value, x: &Tensor, t: &Tensor, r: Reduction) -> Tensor {
    let f = |k: &str| args[k].as_f64().unwrap() as f32;
    let v = |k: &str| -> Tensor {
        let data: Vec<f32> = args[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let n = data.len();
        Tensor::from_vec(data, &[n])
    };
    match kind {
        "mse" => nn::mse_loss(x, t, r),
        "l1" => nn::l1_loss(x, t, r),
        "smooth_l1" => nn::smooth_l1_loss(x, t, r, f("beta")),
        "huber" => nn::huber_loss(x, t, r, f("delta")),
        "cross_entropy" if args.get("weight").is_some() => {
            nn::cross_entropy(x, t, Some(&v("weight")), r, f("label_smoothing"))
        }
        "cross_entropy" => nn::cross_entropy(x, t, None, r, 0.0),
        "nll" => nn::nll_loss(x, t, None, r),
        "bce" => nn::binary_cross_entropy(x, t, None, r),
        "bce_with_logits" => {
            nn::binary_cross_entropy_with_logits(x, t, None, r, Some(&v("pos_weight")))
        }
        other => panic!("no Rust counterpart for fixture loss `{other}`"),
    }
}

#[test]
fn every_loss_and_reduction_matches_pytorch() {
    let fx = Fixture::load("losses");
    let cases = fx.meta["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let kind = case["loss"].as_str().unwrap();
        let target = fx.get(&format!("{name}.target"));
        for (red, r) in [
            ("mean", Reduction::Mean),
            ("sum", Reduction::Sum),
            ("none", Reduction::None),
        ] {
            let x = fx.get(&format!("{name}.input")).set_requires_grad(true);
            let out = loss(kind, &case["args"], &x, &target, r);
            let key = format!("{name}.{red}");
            assert_close(
                &format!("{key} value"),
                &out,
                &fx.get(&format!("{key}.out")),
                1e-5,
                1e-6,
            );
            (&out * &fx.get(&format!("{key}.gout"))).sum().backward();
            assert_close(
                &format!("{key} grad"),
                &x.grad().unwrap(),
                &fx.get(&format!("{key}.grad")),
                1e-5,
                1e-6,
            );
        }
    }
}
