//! Long runs hold flat memory: training for many tiny steps (the XOR MLP, through the same
//! `train_epoch` the CLI uses) must not leak. A counting global allocator tracks the live heap
//! bytes of the whole process; the resident set (`/proc/self/statm`) is checked too.
//!
//! `long_run_short` (10⁴ steps) runs with every `cargo test`; the 10⁶-step version is ignored by
//! default: `cargo test --release --test long_run -- --ignored` (about 10 s; CI runs it).

mod common;
use backprop::data::{self, DataLoader};
use backprop::nn::{CrossEntropyLoss, Mlp, MlpConfig, Module};
use backprop::optim::{Adam, AdamConfig};
use backprop::rng::Generator;
use backprop::train::{train_epoch, StepOptions};
use backprop::{manual_seed, no_grad};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Mutex;

/// Counts the live heap bytes of each thread. The training runs on the test's thread (the XOR
/// network is far too small to reach the worker pool), so that thread's count is the one to
/// watch; a process-wide count also saw the test harness's own threads allocating at times of
/// their choosing, and failed now and then on a loaded machine.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(bytes: isize) {
    // `try_with`: an allocation while a thread's locals are being torn down is not counted.
    let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
}

/// This thread's live heap bytes.
fn live() -> isize {
    LIVE.with(Cell::get)
}

// SAFETY: every call is forwarded to `System` unchanged; the bookkeeping touches a
// thread-local counter only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests measure the whole process, so they must not overlap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Resident pages × page size, from `/proc/self/statm` (Linux; `None` elsewhere).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// What the heap looked like after the warm-up and at the end, and the final training loss.
struct Run {
    live_after_warmup: isize,
    live_at_end: isize,
    rss_after_warmup: Option<u64>,
    rss_at_end: Option<u64>,
    loss: f64,
}

/// Trains the XOR MLP for `steps` steps (2 per epoch: batches of 2, shuffled), sampling memory
/// after `warmup` steps and at the end.
fn train_xor(warmup: usize, steps: usize) -> Run {
    let _global = common::global_state();
    manual_seed(0);
    let xor = data::xor();
    let model = Mlp::new(&MlpConfig::new(&[2, 8, 2]));
    let mut opt = Adam::new(
        model.parameters(),
        AdamConfig {
            lr: 0.01,
            ..Default::default()
        },
    )
    .unwrap();
    let criterion = CrossEntropyLoss::new();
    let loss_fn = |o: &_, t: &_| criterion.forward(o, t);
    let loader = DataLoader::new(&xor, 2, true);
    let mut generator = Generator::new(1);
    let epoch = |opt: &mut Adam, g: &mut Generator| {
        train_epoch(
            &model,
            &loss_fn,
            opt,
            &loader,
            g,
            &StepOptions::default(),
            &mut |_, _| {},
        )
    };
    for _ in 0..warmup / 2 {
        epoch(&mut opt, &mut generator);
    }
    let live_after_warmup = live();
    let rss_after_warmup = resident_bytes();
    for _ in warmup / 2..steps / 2 {
        epoch(&mut opt, &mut generator);
    }
    let live_at_end = live();
    let rss_at_end = resident_bytes();
    let loss = no_grad(|| {
        criterion
            .forward(&model.forward(&xor.x_tensor()), &xor.y_tensor())
            .item() as f64
    });
    Run {
        live_after_warmup,
        live_at_end,
        rss_after_warmup,
        rss_at_end,
        loss,
    }
}

#[test]
fn long_run_short() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = train_xor(1_000, 10_000);
    // Exactly flat: every step frees its graph, its gradients' temporaries and its batch.
    assert_eq!(
        run.live_at_end,
        run.live_after_warmup,
        "live heap bytes grew by {} over 9000 steps",
        run.live_at_end - run.live_after_warmup
    );
    assert!(run.loss < 0.1, "XOR not learned: loss {}", run.loss);
}

#[test]
#[ignore = "10^6 steps: about 10 s in release; run with --ignored"]
fn long_run_million_steps() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = train_xor(10_000, 1_000_000);
    assert_eq!(
        run.live_at_end,
        run.live_after_warmup,
        "live heap bytes grew by {} between step 10^4 and step 10^6",
        run.live_at_end - run.live_after_warmup
    );
    if let (Some(a), Some(b)) = (run.rss_after_warmup, run.rss_at_end) {
        // The allocator may keep a little more resident over time; a leak of even 16 bytes
        // per step would add 16 MB.
        assert!(
            b <= a + (4 << 20),
            "resident memory grew from {a} to {b} bytes"
        );
    }
    assert!(run.loss < 0.01, "XOR not learned: loss {}", run.loss);
}
