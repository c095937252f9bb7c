//! backprop's side of the side-by-side benchmark: the workloads of
//! `../shared/bench/torch_bench.py`, timed the same way, printed as one JSON line each in the
//! same schema (`workload`, `threads`, `median_s`, `min_s`, `max_s`, `peak_rss_mib`,
//! `gflops_median`, `foreign_cpu_cores`, ...).
//!
//! ```text
//! cargo run --release --example bench_side_by_side -- --threads 2 \
//!     [--workloads xor,mnist,wide,advanced,inference] [--quick] [--flush-denormal on|off] \
//!     [--repeats N]
//! ```
//!
//! Each workload runs in its own child process (this binary, `--child NAME`), so that its peak
//! RSS is its own. Timing: after the warm-up steps, `repeats` blocks of `steps` steps are timed;
//! seconds per step of a block = block time / steps; median, min and max are over the blocks.
//! `scripts/bench_side_by_side.sh` runs both sides and prints the ratio table.

#[path = "../benches/common/workloads.rs"]
mod workloads;

use serde_json::{json, Value};
use std::process::Command;
use std::time::Instant;

/// CPU time used by other processes during a region (as benchutil.py's `Contention`): whole
/// machine busy time from /proc/stat minus this process's own user+sys time.
struct Contention {
    t0: Instant,
    busy0: f64,
    own0: f64,
    steal0: f64,
}

/// /proc reports times in USER_HZ ticks, 100 per second on Linux.
const USER_HZ: f64 = 100.0;

fn proc_stat() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 7 {
        return (0.0, 0.0);
    }
    let busy = v[0] + v[1] + v[2] + v[5] + v[6];
    let steal = v.get(7).copied().unwrap_or(0.0);
    (busy / USER_HZ, steal / USER_HZ)
}

/// This process's CPU time in seconds, with nanosecond resolution (see [`cpu_seconds`]); falls
/// back to /proc/self/stat's ticks.
fn own_cpu() -> f64 {
    let ns = cpu_seconds();
    if ns.is_finite() && ns > 0.0 {
        return ns;
    }
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime, stime, cutime, cstime are 14-17.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // `rest` starts at field 3 (state, not numeric and dropped), so field k is f[k - 4].
    if f.len() < 14 {
        return 0.0;
    }
    (f[10] + f[11] + f[12] + f[13]) / USER_HZ
}

impl Contention {
    fn start() -> Self {
        let (busy0, steal0) = proc_stat();
        Contention {
            t0: Instant::now(),
            busy0,
            own0: own_cpu(),
            steal0,
        }
    }

    fn finish(self) -> Value {
        let wall = self.t0.elapsed().as_secs_f64();
        let (busy1, steal1) = proc_stat();
        let own = own_cpu() - self.own0;
        let r = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "own_cpu_cores": r(own / wall),
            "foreign_cpu_cores": r(((busy1 - self.busy0) - own).max(0.0) / wall),
            "steal_cores": r((steal1 - self.steal0) / wall),
        })
    }
}

/// CPU time of all this process's threads in seconds, from /proc/self/task/*/schedstat
/// (nanoseconds): on a busy machine it moves far less than wall time, so it helps to compare
/// two builds when the machine is not quiet.
fn cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
}

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn run_child(name: &str, threads: usize, quick: bool, flush: bool, repeats: Option<usize>) {
    backprop::set_num_threads(threads);
    if flush {
        backprop::set_flush_denormal(true);
    }
    let rss_before_data = peak_rss_mib();
    let mut w = workloads::build(name, quick);
    if let Some(r) = repeats {
        w.repeats = r.max(1);
    }
    (w.run)(w.warmup);
    let mut per_step = Vec::with_capacity(w.repeats);
    let mut cpu_per_step = Vec::with_capacity(w.repeats);
    let mut last = f32::NAN;
    let cont = Contention::start();
    let timed = Instant::now();
    for _ in 0..w.repeats {
        let (t0, c0) = (Instant::now(), cpu_seconds());
        last = (w.run)(w.steps);
        per_step.push(t0.elapsed().as_secs_f64() / w.steps as f64);
        cpu_per_step.push((cpu_seconds() - c0) / w.steps as f64);
    }
    let timed_s = timed.elapsed().as_secs_f64();
    let cont = cont.finish();
    let med = median(&per_step);
    let min = per_step.iter().copied().fold(f64::INFINITY, f64::min);
    let max = per_step.iter().copied().fold(0.0, f64::max);
    let flops = w.flops_per_step();
    let tiny = name == "xor" || name == "advanced";
    let mut rec = json!({
        "workload": name,
        "threads": backprop::get_num_threads(),
        "median_s": med,
        "min_s": min,
        "max_s": max,
        "cpu_median_s": median(&cpu_per_step),
        // /proc/stat counts in 10 ms ticks: foreign_cpu_cores means little below ~0.5 s.
        "timed_s": timed_s,
        "blocks_s": per_step,
        "cpu_blocks_s": cpu_per_step,
        "unit": if name == "inference" { "s/call (no_grad forward)" } else { "s/train-step" },
        "repeats": w.repeats,
        "steps_per_repeat": w.steps,
        "warmup_steps": w.warmup,
        "flops_per_step": if tiny { Value::Null } else { json!(flops) },
        "gflops_median": if tiny { Value::Null } else { json!(flops / med / 1e9) },
        "gflops_best": if tiny { Value::Null } else { json!(flops / min / 1e9) },
        "last_loss_or_mean_abs_out": last,
        "peak_rss_mib": peak_rss_mib(),
        "rss_at_start_mib": rss_before_data,
        "flush_denormal": backprop::is_flush_denormal(),
        "library": "backprop",
        "quick": quick,
    });
    if let (Value::Object(r), Value::Object(c)) = (&mut rec, cont) {
        r.extend(c);
    }
    println!("{rec}");
}

fn main() {
    let mut threads = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let mut list = workloads::WORKLOADS.join(",");
    let mut quick = false;
    let mut flush = false;
    let mut child = None;
    let mut repeats = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--threads" => threads = value().parse().expect("--threads N"),
            "--workloads" => list = value(),
            "--quick" => quick = true,
            "--flush-denormal" => flush = matches!(value().as_str(), "on" | "true" | "1"),
            "--child" => child = Some(value()),
            "--repeats" => repeats = Some(value().parse().expect("--repeats N")),
            "--bench" => {} // passed by `cargo bench`; nothing to do
            _ => {
                eprintln!(
                    "usage: bench_side_by_side [--threads N] [--workloads a,b] [--quick] \
                     [--flush-denormal on|off] [--repeats N]"
                );
                std::process::exit(2);
            }
        }
    }
    if let Some(name) = child {
        run_child(&name, threads, quick, flush, repeats);
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    for name in list.split(',').filter(|s| !s.is_empty()) {
        let mut cmd = Command::new(&exe);
        cmd.args(["--child", name, "--threads", &threads.to_string()]);
        cmd.args(["--flush-denormal", if flush { "on" } else { "off" }]);
        if quick {
            cmd.arg("--quick");
        }
        if let Some(r) = repeats {
            cmd.args(["--repeats", &r.to_string()]);
        }
        let status = cmd.status().expect("spawn child");
        if !status.success() {
            eprintln!("workload {name} failed: {status}");
            std::process::exit(1);
        }
    }
}
