//! Stop signals. SIGINT (Ctrl-C), SIGTERM (`timeout`, Docker, Slurm, systemd) and SIGHUP (a
//! closed terminal) all ask a training run to finish its step, save a checkpoint and exit with
//! 128 + the signal's number. A second signal stops at once; the run folder then keeps its last
//! checkpoint intact and gets a file [`MARKER`] saying what it holds.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// The file a run folder gets when a second signal stopped the run mid-epoch.
pub const MARKER: &str = "INCOMPLETE";

/// The first stop signal's number, 0 while none came.
static STOP: AtomicI32 = AtomicI32::new(0);

/// The run folder being written and the epoch of its last checkpoint, for a second signal.
#[cfg_attr(not(unix), allow(dead_code))]
static RUN: Mutex<Option<(PathBuf, Option<usize>)>> = Mutex::new(None);

/// The stop signal received, if any.
pub fn requested() -> Option<i32> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signal's usual name.
pub fn name(signal: i32) -> &'static str {
    use signal_hook::consts::*;
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        #[cfg(unix)]
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// The exit code after `signal`: 128 + its number, as a shell reports a process it stopped.
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}

/// From now on a second signal marks `dir` before stopping.
pub fn set_run_folder(dir: &Path, checkpoint: Option<usize>) {
    if let Ok(mut run) = RUN.lock() {
        *run = Some((dir.to_path_buf(), checkpoint));
    }
}

/// A checkpoint of `epoch` was written: the folder resumes from it, so an earlier marker goes.
pub fn checkpointed(dir: &Path, epoch: usize) {
    set_run_folder(dir, Some(epoch));
    remove_marker(dir);
}

/// Removes a marker left by an earlier run that was stopped (the folder now holds a checkpoint
/// or a finished run).
fn remove_marker(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(MARKER));
}

/// The run folder is complete: a second signal from now on only stops the process.
pub fn finished(dir: &Path) {
    if let Ok(mut run) = RUN.lock() {
        *run = None;
    }
    remove_marker(dir);
}

/// What a second signal does: say what the folder holds, mark it, and exit.
#[cfg_attr(not(unix), allow(dead_code))]
fn stop_now(signal: i32) -> ! {
    let name = name(signal);
    let run = RUN.lock().ok().and_then(|r| r.clone());
    let text = match run {
        None => format!("stopped by a second {name}"),
        Some((dir, Some(epoch))) => {
            let dir = dir.display();
            format!(
                "stopped by a second {name}; this run folder's checkpoint of epoch {epoch} is \
                 intact: continue with `backprop train --resume {dir}`"
            )
        }
        Some((dir, None)) => format!(
            "stopped by a second {name} before any checkpoint; the run folder {} holds no \
             model and cannot be resumed",
            dir.display()
        ),
    };
    if let Ok(Some((dir, _))) = RUN.lock().as_deref() {
        // This process's unfinished temporary files go (a checkpoint being written is lost;
        // the previous one is intact), then the lock, and the marker says what is left.
        remove_own_temps(dir);
        let _ = std::fs::remove_file(dir.join(crate::lock::FILE));
        let marker = dir.join(MARKER);
        let _ = backprop::data::write_atomically(&marker, |w| writeln!(w, "{text}"));
    }
    crate::console::error_line(&format!("error: {text}"));
    std::process::exit(i32::from(exit_code(signal)));
}

/// Removes this process's temporary files from `dir`.
#[cfg_attr(not(unix), allow(dead_code))]
fn remove_own_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if backprop::data::temp_file_pid(&entry.file_name()) == Some(std::process::id()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// What the first signal prints.
#[cfg_attr(not(unix), allow(dead_code))]
fn first(signal: i32) {
    let again = if signal == signal_hook::consts::SIGINT {
        "Ctrl-C again".to_string()
    } else {
        format!("{} again", name(signal))
    };
    crate::console::error_line(&format!(
        "{}: finishing this step, then saving a checkpoint ({again} to stop at once)",
        name(signal)
    ));
}

/// Installs the handlers for `backprop train`.
#[cfg(unix)]
pub fn install() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // Under `nohup` SIGHUP is ignored so that a run outlives its terminal: it stays ignored.
    let mut wanted = vec![SIGINT, SIGTERM];
    if !ignored(SIGHUP) {
        wanted.push(SIGHUP);
    }
    let Ok(mut signals) = signal_hook::iterator::Signals::new(wanted) else {
        return;
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if STOP
                .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                first(signal);
            } else {
                stop_now(signal);
            }
        }
    });
}

/// Whether `signal` is set to be ignored (inherited from the parent).
#[cfg(unix)]
fn ignored(signal: i32) -> bool {
    // SAFETY: with a null new action, sigaction only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Installs the handlers for `backprop train` (a second signal exits at once, unmarked).
#[cfg(not(unix))]
pub fn install() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for signal in [SIGINT, SIGTERM] {
        // SAFETY: the handler only touches an atomic and calls `_exit`, both signal-safe.
        let _ = unsafe {
            signal_hook::low_level::register(signal, move || {
                if STOP
                    .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    signal_hook::low_level::exit(i32::from(exit_code(signal)));
                }
            })
        };
    }
}
