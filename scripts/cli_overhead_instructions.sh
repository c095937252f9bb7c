#!/usr/bin/env bash
# The CLI's cost per training step in instructions (valgrind's callgrind), which other processes
# on the machine do not change: for each tiny workload, the library harness
# (`bench_side_by_side --child W --repeats R`, 1000 steps a repeat) and `backprop train` on the
# same model, loss, optimizer and data (as `examples/cli_overhead.rs` configures it), each as the
# difference of two runs over the difference of their steps, so setup and the report cancel out.
# The harness here runs on the system allocator and the command on mimalloc (cli/src/main.rs).
#
#   cargo build --release --workspace --examples && scripts/cli_overhead_instructions.sh
#
# Needs valgrind. Takes a few minutes (callgrind runs about 50 times slower than native).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*refs: *//p' | tr -d ','
}
xor='[model]\nlayers = [2, 4, 4, 1]\n[train]\nloss = "mse"\noptimizer = "adam"\nlr = 0.01\nbatch_size = 0\nshuffle = false\n'
advanced='[model]\nlayers = [2, 32, 16, 1]\nbatch_norm = true\ndropout = 0.5\n[train]\nloss = "mse"\noptimizer = "adam"\nlr = 0.01\nweight_decay = 1e-5\nscheduler = "step"\nstep_size = 500\ngamma = 0.1\nclip_grad_norm = 1.0\nbatch_size = 0\nshuffle = false\n'
echo "| workload | library loop | \`backprop train\` | CLI overhead |"
echo "|---|---|---|---|"
for w in xor advanced; do
    h1=$(instructions "$bin/examples/bench_side_by_side" --child "$w" --threads 1 --repeats 1)
    h4=$(instructions "$bin/examples/bench_side_by_side" --child "$w" --threads 1 --repeats 4)
    config=$xor
    [ "$w" = advanced ] && config=$advanced
    for e in 2000 5000; do
        # Unstandardised, as the harness's data: both train the same model to the same losses.
        printf "seed = 0\n[data]\ntrain = \"xor\"\nstandardize = false\n${config}epochs = $e\n" >"$work/$w-$e.toml"
    done
    # Without the report: its curves hold every epoch of a short run but a thinned sample of a
    # long one (2000 points here, 1250 for 5000 epochs), so it would cost the shorter run more
    # and make the difference look cheaper than it is.
    c1=$(instructions "$bin/backprop" --threads 1 train --quiet --no-report --config "$work/$w-2000.toml" --out "$work/run-$w-2000")
    c2=$(instructions "$bin/backprop" --threads 1 train --quiet --no-report --config "$work/$w-5000.toml" --out "$work/run-$w-5000")
    lib=$(((h4 - h1) / 3000))
    cli=$(((c2 - c1) / 3000))
    pct=$(awk -v a="$lib" -v b="$cli" 'BEGIN { printf "%+.1f%%", 100 * (b - a) / a }')
    echo "| $w | $lib instructions/step | $cli instructions/step | $pct |"
done
