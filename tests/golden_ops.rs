//! Every op's forward value and gradients against PyTorch.
//!
//! Fixtures: `tests/fixtures/ops.*`, written by `scripts/gen_fixtures.py` (section "ops"): for each
//! case, PyTorch computed `out = op(in0, in1, ...)` and the gradients of `sum(out * gout)` with
//! respect to each input. Tolerance: 1e-5 relative (plus 1e-6 absolute for values near zero).

mod common;
use backprop::Tensor;
use common::{assert_close, Fixture};
use serde_json::Value;

fn run(op: &str, args: &Value, t: &[Tensor]) -> Tensor {
    let f = |k: &str| args[k].as_f64().unwrap_or_else(|| panic!("{op}: arg {k}")) as f32;
    let i = |k: &str| args[k].as_i64().unwrap_or_else(|| panic!("{op}: arg {k}")) as isize;
    match op {
        "add" => &t[0] + &t[1],
        "sub" => &t[0] - &t[1],
        "mul" => &t[0] * &t[1],
        "div" => &t[0] / &t[1],
        "add_scalar" => &t[0] + f("s"),
        "mul_scalar" => &t[0] * f("s"),
        "rdiv_scalar" => f("s") / &t[0],
        "neg" => -&t[0],
        "pow" => t[0].pow(f("p")),
        "exp" => t[0].exp(),
        "log" => t[0].log(),
        "sqrt" => t[0].sqrt(),
        "abs" => t[0].abs(),
        "clamp" => t[0].clamp(Some(f("min")), Some(f("max"))),
        "mm" => t[0].mm(&t[1]),
        "matmul" => t[0].matmul(&t[1]),
        "dot" => t[0].dot(&t[1]),
        "linear" => t[0].linear(&t[1], Some(&t[2])),
        "t" => t[0].t(),
        "transpose" => t[0].transpose(i("d0"), i("d1")),
        "reshape" => {
            let s: Vec<isize> = args["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap() as isize)
                .collect();
            t[0].reshape(&s)
        }
        "sum" => t[0].sum(),
        "sum_dim" => t[0].sum_dim(i("dim"), args["keepdim"].as_bool().unwrap()),
        "mean" => t[0].mean(),
        "mean_dim" => t[0].mean_dim(i("dim"), args["keepdim"].as_bool().unwrap()),
        "max_dim" => t[0].max_dim(i("dim"), args["keepdim"].as_bool().unwrap()).0,
        "max" => t[0].max(),
        "index_select" => {
            let idx: Vec<usize> = args["indices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            t[0].index_select(i("dim"), &idx)
        }
        "cat" => Tensor::cat(t, i("dim")),
        "stack" => Tensor::stack(t, i("dim")),
        "sigmoid" => t[0].sigmoid(),
        "tanh" => t[0].tanh(),
        "relu" => t[0].relu(),
        "leaky_relu" => t[0].leaky_relu(f("slope")),
        "gelu" => t[0].gelu(),
        "elu" => t[0].elu(f("alpha")),
        "silu" => t[0].silu(),
        "softmax" => t[0].softmax(i("dim")),
        "log_softmax" => t[0].log_softmax(i("dim")),
        other => panic!("no Rust counterpart for fixture op `{other}`"),
    }
}

#[test]
fn every_op_matches_pytorch() {
    let fx = Fixture::load("ops");
    let cases = fx.meta["cases"].as_array().expect("cases");
    assert!(
        cases.len() >= 40,
        "expected the full op list, got {}",
        cases.len()
    );
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let op = case["op"].as_str().unwrap();
        let n = case["n_inputs"].as_u64().unwrap() as usize;
        let inputs: Vec<Tensor> = (0..n)
            .map(|i| fx.get(&format!("{name}.in{i}")).set_requires_grad(true))
            .collect();
        let out = run(op, &case["args"], &inputs);
        assert_close(
            &format!("{name} forward"),
            &out,
            &fx.get(&format!("{name}.out")),
            1e-5,
            1e-6,
        );
        let gout = fx.get(&format!("{name}.gout"));
        (&out * &gout).sum().backward();
        for (i, t) in inputs.iter().enumerate() {
            let g = t
                .grad()
                .unwrap_or_else(|| panic!("{name}: no gradient for input {i}"));
            assert_close(
                &format!("{name} grad{i}"),
                &g,
                &fx.get(&format!("{name}.grad{i}")),
                1e-5,
                1e-6,
            );
        }
    }
}
