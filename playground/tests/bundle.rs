//! The committed page (`playground/web/`) is whole and its `playground.wasm` was built from the
//! current sources: `SOURCES_DIGEST` beside it matches the digest of the sources now.

use backprop_playground::digest::sources_digest;
use std::path::{Path, PathBuf};

fn web() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// The names a wasm module exports (its export section, read by hand).
fn exports(wasm: &[u8]) -> Vec<String> {
    fn leb(b: &[u8], i: &mut usize) -> usize {
        let (mut r, mut shift) = (0usize, 0);
        loop {
            let x = b[*i];
            *i += 1;
            r |= ((x & 0x7f) as usize) << shift;
            shift += 7;
            if x < 0x80 {
                return r;
            }
        }
    }
    let mut i = 8;
    let mut names = Vec::new();
    while i < wasm.len() {
        let id = wasm[i];
        i += 1;
        let size = leb(wasm, &mut i);
        if id == 7 {
            let mut j = i;
            for _ in 0..leb(wasm, &mut j) {
                let len = leb(wasm, &mut j);
                names.push(String::from_utf8_lossy(&wasm[j..j + len]).into_owned());
                j += len + 1;
                leb(wasm, &mut j);
            }
        }
        i += size;
    }
    names
}

#[test]
fn committed_wasm_was_built_from_the_current_sources() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let recorded = std::fs::read_to_string(web().join("SOURCES_DIGEST"))
        .expect("playground/web/SOURCES_DIGEST: run scripts/build_playground.sh");
    let now = sources_digest(&root).unwrap();
    assert_eq!(
        recorded.trim(),
        now,
        "playground/web/playground.wasm was built from other sources than these (the library's \
         src/, playground/src/, playground/Cargo.toml or Cargo.lock changed since): run \
         scripts/build_playground.sh and commit playground/web/"
    );
}

#[test]
fn the_page_calls_only_what_the_wasm_exports() {
    let wasm = std::fs::read(web().join("playground.wasm")).unwrap();
    assert_eq!(&wasm[..4], b"\0asm", "playground.wasm is not WebAssembly");
    let exported = exports(&wasm);
    let js = std::fs::read_to_string(web().join("app.js")).unwrap();
    let mut called: Vec<&str> = js
        .match_indices("w.pg_")
        .map(|(i, _)| {
            let rest = &js[i + 2..];
            &rest[..rest
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap()]
        })
        .collect();
    called.sort();
    called.dedup();
    assert!(called.len() > 10, "{called:?}");
    for f in called {
        assert!(
            exported.iter().any(|e| e == f),
            "app.js calls {f}, which playground.wasm does not export"
        );
    }
    let html = std::fs::read_to_string(web().join("index.html")).unwrap();
    for bad in ["http://", "https://", "//cdn"] {
        assert!(
            !html.contains(bad) && !js.contains(bad),
            "the page fetches from elsewhere ({bad})"
        );
    }
    for id in js.match_indices("$('").map(|(i, _)| {
        let rest = &js[i + 3..];
        &rest[..rest.find('\'').unwrap()]
    }) {
        if !id.starts_with("f-") {
            assert!(
                html.contains(&format!("id=\"{id}\"")),
                "app.js uses #{id}, which index.html lacks"
            );
        }
    }
}

#[test]
fn the_digest_covers_the_bundles_dependencies_not_the_clis() {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"))
        .unwrap();
    let kept = backprop_playground::digest::lock_entries(&lock, "backprop-playground");
    for want in [
        "backprop",
        "backprop-playground",
        "safetensors",
        "rand_chacha",
        "libm",
    ] {
        assert!(kept.contains(&format!("name = \"{want}\"\n")), "{want}");
    }
    // Cargo.lock does not tell dev and optional dependencies apart, so the library's benches'
    // and GPU crates count too; the CLI's own crates do not.
    for not in ["backprop-cli", "indicatif", "ctrlc", "toml"] {
        assert!(!kept.contains(&format!("name = \"{not}\"\n")), "{not}");
    }
}
