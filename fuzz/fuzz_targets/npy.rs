//! `.npy` bytes → `Array`. Nothing may panic or allocate what the header claims; what is read
//! has the header's shape and only finite values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = backprop::data::parse_npy(data, "fuzz.npy") {
        assert!(matches!(a.ndim(), 1 | 2), "shape {:?}", a.shape());
        assert_eq!(a.shape().iter().product::<usize>(), a.len());
        assert!(a.data().iter().all(|v| v.is_finite()));
    }
});
