//! The `backprop` command: train, evaluate and run MLPs from files, with no code.
//!
//! A thin layer over the library: flags and the TOML config become validated options
//! (`cli`, `config`), and the work is the library's. Every error prints one line and leaves no
//! new file behind.

mod checkpoint;
mod cli;
mod columns;
mod config;
mod device;
mod output;
mod predict;
mod prepare;
mod progress;
mod tour;
mod train;

use clap::Parser;
use cli::{Cli, Command, TrainArgs};
use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic is a bug, but it still gets one line (no backtrace noise) and a clean exit code.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        eprintln!("error: internal error: {}", one_line(&msg));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print as clap prints them.
        Err(e) if !e.use_stderr() => e.exit(),
        // A usage error is one line, like every other error (clap adds usage and a hint).
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("error: invalid arguments");
            let suggestion = text
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("tip:"))
                .map(|tip| format!(" ({tip})"))
                .unwrap_or_default();
            eprintln!("{first}{suggestion}");
            return ExitCode::from(2);
        }
    };
    let result = std::panic::catch_unwind(|| run(cli));
    match result {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            eprintln!("error: {}", one_line(&message(&err)));
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::from(101),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match (cli.threads, std::env::var_os("BACKPROP_NUM_THREADS")) {
        (Some(n), _) => backprop::set_num_threads(n.into()),
        (None, Some(v)) => {
            // The library ignores a value it cannot use; the command says so instead.
            let n = v.to_str().and_then(|s| s.trim().parse::<u16>().ok());
            match n {
                Some(n) if n >= 1 => backprop::set_num_threads(n.into()),
                _ => anyhow::bail!(
                    "BACKPROP_NUM_THREADS={}: expected a number of threads from 1 to 65535",
                    v.to_string_lossy()
                ),
            }
        }
        (None, None) => {}
    }
    match cli.command.unwrap_or(Command::Train(TrainArgs::default())) {
        Command::Train(args) => {
            let _ = ctrlc::set_handler(|| {
                if train::INTERRUPTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    // A second Ctrl-C: stop now, without a checkpoint.
                    eprintln!("error: interrupted twice; stopped without a checkpoint");
                    std::process::exit(130);
                }
                eprintln!("interrupt: finishing this epoch, then saving a checkpoint (Ctrl-C again to abort)");
            });
            match train::run(&args)? {
                train::Outcome::Finished => Ok(ExitCode::SUCCESS),
                train::Outcome::Interrupted(dir) => {
                    eprintln!(
                        "interrupted: checkpoint saved in {}; continue with `backprop train --resume {}`",
                        dir.display(),
                        dir.display()
                    );
                    Ok(ExitCode::from(130))
                }
            }
        }
        Command::Predict(args) => predict::run_predict(&args).map(|_| ExitCode::SUCCESS),
        Command::Eval(args) => predict::run_eval(&args).map(|_| ExitCode::SUCCESS),
        Command::Tour(args) => tour::run(&args).map(|_| ExitCode::SUCCESS),
    }
}

/// The error and its causes, joined by ": ", leaving out a cause whose text the message already
/// holds (a library error that prints its OS error would otherwise show it twice).
fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Joins a multi-line message into one line.
fn one_line(s: &str) -> String {
    s.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
