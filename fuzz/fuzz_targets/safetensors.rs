//! safetensors bytes → `StateDict` → `load_state_dict` into an Mlp (with BatchNorm1d) → a
//! forward pass. Nothing may panic; whatever loads must survive a save/load round trip.
#![no_main]

use backprop::io::safetensors;
use backprop::nn::{Mlp, MlpConfig, Module};
use backprop::{no_grad, Tensor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((state, meta)) = safetensors::from_bytes(data) else {
        return;
    };
    // What was read writes back and reads again as the same thing (compared as bytes, so NaN
    // payloads count too).
    let bytes = safetensors::to_bytes(&state, Some(&meta)).expect("a read state writes back");
    let (again, meta_again) = safetensors::from_bytes(&bytes).expect("written bytes read back");
    assert_eq!(meta_again, meta);
    assert_eq!(
        safetensors::to_bytes(&again, Some(&meta)).unwrap(),
        bytes,
        "round trip changed the state"
    );

    // The seeds hold this model's names, so mutations reach the shape and dtype checks.
    let mut model = Mlp::new(&MlpConfig {
        batch_norm: true,
        ..MlpConfig::new(&[2, 3, 2])
    });
    if model.load_state_dict(&state).is_ok() {
        assert_eq!(
            safetensors::to_bytes(&model.state_dict(), None).unwrap(),
            safetensors::to_bytes(&state, None).unwrap(),
            "the model holds what was loaded"
        );
        model.eval();
        let y = no_grad(|| model.forward(&Tensor::ones(&[4, 2])));
        assert_eq!(y.shape(), vec![4, 2]);
    }
});
