//! IDX bytes → `Array`, both as given (a gzip stream if they start with `1f 8b`, else a plain
//! file) and gzipped here, so the decompressing reader sees well-formed gzip around every
//! mutated IDX file. The two readings must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let plain = backprop::data::parse_idx(data, "fuzz.idx");
    if let Ok(a) = &plain {
        assert_eq!(a.shape().iter().product::<usize>(), a.len());
        assert!(a.data().iter().all(|v| v.is_finite()));
    }
    if data.starts_with(&[0x1f, 0x8b]) {
        return;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    let gz = enc.finish().unwrap();
    let zipped = backprop::data::parse_idx(&gz, "fuzz.idx.gz");
    match (&plain, &zipped) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("plain {plain:?} but gzipped {zipped:?}"),
    }
});
