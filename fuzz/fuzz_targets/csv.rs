//! CSV text → `Dataset`, with the last column as the target and with a named one. Nothing may
//! panic; what is read is rectangular and finite.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for target in [None, Some("b")] {
        if let Ok(ds) = backprop::data::parse_csv(data, "fuzz.csv", target) {
            let n = ds.len();
            assert!(n > 0);
            assert_eq!(ds.x.shape(), &[n, ds.feature_names.len()]);
            assert_eq!(ds.y.shape(), &[n]);
            assert!(ds.x.data().iter().chain(ds.y.data()).all(|v| v.is_finite()));
        }
    }
});
