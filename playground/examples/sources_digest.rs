//! Prints the digest of the sources `playground.wasm` is built from (for
//! `scripts/build_playground.sh`, which stores it beside the bundle).

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match backprop_playground::digest::sources_digest(&root) {
        Ok(d) => println!("{d}"),
        Err(e) => {
            eprintln!("sources_digest: cannot read the sources: {e}");
            std::process::exit(1);
        }
    }
}
