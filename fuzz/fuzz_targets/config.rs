//! TOML text → the CLI's validated `Config`. The CLI's config module is compiled in here from
//! its source file, unchanged, so this target fuzzes exactly the code the binary runs.
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../cli/src/config.rs"]
mod config;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = config::Config::parse(text, std::path::Path::new("/fuzz/base")) {
        assert!(c.model.layers.len() >= 2);
        assert!(c.model.layers.iter().all(|&n| n > 0));
        // What it asks to allocate is bounded (no overflow, at most 2^30 parameters).
        let params = c
            .model
            .layers
            .windows(2)
            .map(|w| (w[0] as u128 + 1) * w[1] as u128)
            .sum::<u128>();
        assert!(params <= 1 << 30, "{params} parameters");
        assert!(c.train.lr > 0.0, "lr {}", c.train.lr);
    }
});
