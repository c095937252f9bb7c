#!/usr/bin/env bash
# The GPU checks in one go, for a machine with an NVIDIA GPU, CUDA's libraries and PyTorch but no
# Rust toolchain (how the project's GPU machine is set up):
#
#   scripts/gpu.sh stage     here: build the GPU tests, the `backprop` command and the benchmark,
#                            and stage them with PyTorch's GPU benchmarks in .gpu/ (git-ignored)
#   scripts/gpu.sh run       there, from the repository root with .gpu/ beside it: the GPU tests,
#                            the command on the GPU, backprop's benchmark (GPU, TF32, and the CPU
#                            for the `auto` rule), then PyTorch's eager and CUDA-graph benchmarks,
#                            and the ratio table. Results go to $OUT (or .gpu/out).
#
# PyTorch's scripts are taken from ../shared/bench (or $TORCH_BENCH) when staging.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() {
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo '/.gpu/' >> .git/info/exclude; }
    rm -rf .gpu && mkdir -p .gpu/tests .gpu/bench
    cargo build --release -p backprop-cli
    cargo build --release -p backprop --features cuda --example cuda_bench
    cargo test --release -p backprop --features cuda --test cuda --no-run --message-format=json 2>/dev/null \
        | python3 -c 'import sys, json
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "cuda":
        print(m["executable"])' | while read -r exe; do cp "$exe" .gpu/tests/cuda; done
    tdir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import sys, json; print(json.load(sys.stdin)["target_directory"])')
    cp "$tdir/release/backprop" "$tdir/release/examples/cuda_bench" .gpu/
    strip --strip-debug .gpu/backprop .gpu/cuda_bench .gpu/tests/* 2>/dev/null || true
    bench=${TORCH_BENCH:-}
    for d in shared/bench ../shared/bench ../../shared/bench; do
        [ -z "$bench" ] && [ -f "$d/torch_cuda_bench.py" ] && bench=$d
    done
    if [ -n "$bench" ]; then cp "$bench"/*.py .gpu/bench/; else echo "PyTorch's GPU benchmarks not found: staged without them"; fi
    cp scripts/gpu.sh .gpu/
    du -sh .gpu
}

run() {
    out=${OUT:-.gpu/out}; mkdir -p "$out"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
    rc=0
    echo "== GPU tests"
    RUST_BACKTRACE=0 .gpu/tests/cuda --test-threads=1 --nocapture > "$out/tests.txt" 2>&1 || rc=1
    grep -E "^test |test result|panicked at|accuracy|‖|loss " "$out/tests.txt" || true
    echo "== the command on the GPU: the default digits job, then eval and predict"
    work=$(mktemp -d)
    .gpu/backprop train --device cuda --out "$work/gpu" --quiet > "$out/cli_gpu.txt" 2>&1 || rc=1
    .gpu/backprop train --device cpu --out "$work/cpu" --quiet > "$out/cli_cpu.txt" 2>&1 || rc=1
    grep -h "test accuracy" "$out/cli_gpu.txt" "$out/cli_cpu.txt" || true
    head -c 300 "$work/gpu/metrics.jsonl"; echo
    grep -o "Trained on [^<]*" "$work/gpu/report.html" || rc=1
    .gpu/backprop eval --config "$work/gpu/config.toml" --model "$work/gpu/model.safetensors" --data digits --device cuda | head -1 || rc=1
    echo "== backprop's benchmark (GPU fp32, TF32; CPU for the auto rule)"
    .gpu/cuda_bench --workloads overhead,xor,advanced,mnist,wide,inference,huge | tee "$out/backprop.jsonl"
    .gpu/cuda_bench --tf32 --workloads mnist,wide,inference,huge | tee -a "$out/backprop.jsonl"
    .gpu/cuda_bench --device cpu --workloads xor,advanced,mnist,inference,wide | tee -a "$out/backprop.jsonl"
    if [ -f .gpu/bench/torch_cuda_bench.py ]; then
        echo "== PyTorch (eager fp32 and TF32, then the whole step in a CUDA graph)"
        (cd .gpu/bench && python3 torch_cuda_bench.py && python3 torch_cuda_graphs.py) 2>&1 | grep '^{' | tee "$out/torch.jsonl"
        python3 - "$out/backprop.jsonl" "$out/torch.jsonl" <<'PY'
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
theirs = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
def pick(rows, w, mode, dev=None):
    for r in rows:
        if r.get("workload") == w and r.get("mode") == mode and (dev is None or r.get("device") == dev):
            return r["median_s"]
print("| workload | mode | backprop cuda | backprop cpu | PyTorch eager | PyTorch graph | eager/backprop | graph/backprop |")
print("|---|---|---|---|---|---|---|---|")
for w in ["xor", "advanced", "mnist", "wide", "inference", "huge"]:
    for mode in ["fp32", "tf32"]:
        b = pick(ours, w, mode, "cuda:0")
        if b is None: continue
        c = pick(ours, w, mode, "cpu")
        e = pick(theirs, w, mode)
        g = pick(theirs, w, "fp32+cudagraph") if mode == "fp32" else None
        f = lambda v: "–" if v is None else (f"{v*1e3:.3f} ms" if v >= 1e-3 else f"{v*1e6:.0f} µs")
        r = lambda v: "–" if v is None else f"{v/b:.2f}×"
        print(f"| {w} | {mode} | {f(b)} | {f(c)} | {f(e)} | {f(g)} | {r(e)} | {r(g)} |")
PY
    fi
    exit $rc
}

case "${1:-}" in
    stage) stage ;;
    run) run ;;
    *) echo "usage: scripts/gpu.sh stage|run" >&2; exit 2 ;;
esac
