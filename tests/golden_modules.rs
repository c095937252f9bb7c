//! Modules against PyTorch: BatchNorm1d in train and eval mode, and a state dict written by
//! PyTorch loaded into the same architecture.
//!
//! Fixtures from `scripts/gen_fixtures.py`, sections "modules" and "interop":
//! - `modules.*`: `nn.BatchNorm1d(4)` with random affine parameters, three training steps on
//!   `randn(8, 4) * 2 + 1` (output, input/weight/bias gradients of `sum(y * gout)`, running
//!   statistics after each step), then eval mode on a new batch.
//! - `interop_model.safetensors`: `ModuleList([Linear(3,6), ReLU(), BatchNorm1d(6), Dropout(0.2),
//!   Linear(6,2)])` after five training-mode forwards, saved by `safetensors.torch.save_file`;
//!   `interop_io.*` holds an input and PyTorch's eval-mode output.

mod common;
use backprop::io::safetensors;
use backprop::nn::{BatchNorm1d, Mlp, MlpConfig, Module, StateData};
use common::{assert_close, fixtures, Fixture};

#[test]
fn batchnorm1d_train_and_eval_match_pytorch() {
    let fx = Fixture::load("modules");
    let mut bn = BatchNorm1d::new(4);
    bn.weight
        .as_ref()
        .unwrap()
        .assign(&fx.get("bn.weight0").array());
    bn.bias
        .as_ref()
        .unwrap()
        .assign(&fx.get("bn.bias0").array());
    bn.train();
    for step in 0..3 {
        let k = |s: &str| format!("bn.train{step}.{s}");
        let x = fx.get(&k("x")).set_requires_grad(true);
        bn.zero_grad();
        let y = bn.forward(&x);
        assert_close(&k("y"), &y, &fx.get(&k("y")), 1e-5, 1e-5);
        (&y * &fx.get(&k("gout"))).sum().backward();
        assert_close(&k("dx"), &x.grad().unwrap(), &fx.get(&k("dx")), 1e-4, 1e-5);
        assert_close(
            &k("dweight"),
            &bn.weight.as_ref().unwrap().grad().unwrap(),
            &fx.get(&k("dweight")),
            1e-5,
            1e-5,
        );
        assert_close(
            &k("dbias"),
            &bn.bias.as_ref().unwrap().grad().unwrap(),
            &fx.get(&k("dbias")),
            1e-5,
            1e-5,
        );
        assert_close(
            &k("running_mean"),
            bn.running_mean.as_ref().unwrap(),
            &fx.get(&k("running_mean")),
            1e-5,
            1e-6,
        );
        assert_close(
            &k("running_var"),
            bn.running_var.as_ref().unwrap(),
            &fx.get(&k("running_var")),
            1e-5,
            1e-6,
        );
    }
    let tracked = bn
        .state_dict()
        .get("num_batches_tracked")
        .unwrap()
        .scalar_value()
        .unwrap();
    assert_eq!(tracked, fx.meta["bn_num_batches_tracked"].as_f64().unwrap());
    bn.eval();
    let y = backprop::no_grad(|| bn.forward(&fx.get("bn.eval.x")));
    assert_close("bn eval", &y, &fx.get("bn.eval.y"), 1e-5, 1e-5);
}

/// `layers = ModuleList([Linear(3,6), ReLU(), BatchNorm1d(6), Dropout(0.2), Linear(6,2)])`
fn interop_model() -> Mlp {
    Mlp::new(&MlpConfig {
        batch_norm: true,
        dropout: 0.2,
        ..MlpConfig::new(&[3, 6, 2])
    })
}

#[test]
fn state_dict_written_by_pytorch_loads_and_gives_pytorchs_outputs() {
    let (state, _) = safetensors::load(fixtures().join("interop_model.safetensors")).unwrap();
    let io = Fixture::load("interop_io");
    let keys: Vec<&str> = io.meta["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let mut model = interop_model();
    // Same names as PyTorch, in PyTorch's order.
    assert_eq!(model.state_dict().keys().collect::<Vec<_>>(), keys);
    model.load_state_dict(&state).unwrap();
    model.eval();
    let y = backprop::no_grad(|| model.forward(&io.get("x")));
    assert_close("interop eval output", &y, &io.get("y"), 1e-5, 1e-6);
    // num_batches_tracked is int64 and 0-d, as PyTorch saves it.
    let nbt = state.get("layers.2.num_batches_tracked").unwrap();
    assert!(matches!(nbt.data, StateData::I64(ref v) if v == &[5]));
    assert!(nbt.shape.is_empty());
}

#[test]
fn state_dict_written_by_backprop_round_trips_bit_for_bit() {
    let (state, _) = safetensors::load(fixtures().join("interop_model.safetensors")).unwrap();
    let model = interop_model();
    model.load_state_dict(&state).unwrap();
    let dir = std::env::temp_dir().join(format!("backprop-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    safetensors::save(&model.state_dict(), &path, None).unwrap();
    let (again, _) = safetensors::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    for (k, v) in state.iter() {
        assert_eq!(again.get(k), Some(v), "{k}");
    }
    assert_eq!(again.len(), state.len());
}

/// Weights written by the backprop binary (`tests/fixtures/roundtrip.toml`, section "roundtrip"
/// of the generator), which PyTorch loaded with `load_state_dict(strict=True)`: backprop's
/// eval-mode outputs on a fixed input equal PyTorch's.
#[test]
fn weights_written_by_backprop_give_pytorchs_outputs_in_pytorch() {
    let (state, _) = safetensors::load(fixtures().join("backprop_model.safetensors")).unwrap();
    let io = Fixture::load("roundtrip_io");
    let mut model = Mlp::new(&MlpConfig {
        batch_norm: true,
        dropout: 0.1,
        ..MlpConfig::new(&[4, 8, 3])
    });
    model.load_state_dict(&state).unwrap();
    model.eval();
    let y = backprop::no_grad(|| model.forward(&io.get("x")));
    assert_close("roundtrip eval output", &y, &io.get("y"), 1e-5, 1e-6);
    let keys: Vec<&str> = io.meta["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let mut ours: Vec<&str> = state.keys().collect();
    ours.sort();
    let mut theirs = keys.clone();
    theirs.sort();
    assert_eq!(ours, theirs, "exactly PyTorch's names, nothing else");
}
