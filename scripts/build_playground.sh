#!/usr/bin/env bash
# Rebuilds the playground's WebAssembly bundle (playground/web/playground.wasm) from the current
# sources and records their digest beside it (playground/web/SOURCES_DIGEST), which
# playground/tests/bundle.rs checks. Run it after changing the library or playground/src, and
# commit both files.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo build -p backprop-playground --target wasm32-unknown-unknown --profile wasm
cp target/wasm32-unknown-unknown/wasm/backprop_playground.wasm playground/web/playground.wasm
cargo run --release --quiet -p backprop-playground --example sources_digest > playground/web/SOURCES_DIGEST
echo "playground/web/playground.wasm: $(wc -c < playground/web/playground.wasm) bytes, sources $(cat playground/web/SOURCES_DIGEST)"
