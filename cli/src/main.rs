//! The `backprop` command: train, evaluate and run MLPs from files, with no code.
//!
//! A thin layer over the library: flags and the TOML config become validated options
//! (`cli`, `config`), and the work is the library's. Every error prints one line and leaves no
//! new file behind.

mod architecture;
mod checkpoint;
mod class_weight;
mod cli;
mod columns;
mod config;
mod console;
mod device;
mod lock;
mod metrics;
mod output;
mod playground;
mod predict;
mod prepare;
mod progress;
mod signals;
mod tour;
mod tour_html;
mod train;

use clap::Parser;
use cli::{Cli, Command, TrainArgs};
use console::errln;
use std::process::ExitCode;

/// See cli/Cargo.toml: small, short-lived allocations at a cost that does not depend on the
/// heap's history.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // A panic is a bug, but it still gets one line (no backtrace noise) and a clean exit code.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        errln!("error: internal error: {}", one_line(&msg));
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
            errln!("{}", one_line(&format!("{first}{suggestion}")));
            return ExitCode::from(2);
        }
    };
    let result = std::panic::catch_unwind(|| run(cli));
    match result {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            errln!("error: {}", one_line(&message(&err)));
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
            signals::install();
            match train::run(&args)? {
                train::Outcome::Finished => Ok(ExitCode::SUCCESS),
                train::Outcome::Interrupted(dir, signal, at) => {
                    errln!(
                        "stopped by {} {at}: checkpoint saved in {}; continue with `backprop train --resume {}`",
                        signals::name(signal),
                        dir.display(),
                        dir.display()
                    );
                    Ok(ExitCode::from(signals::exit_code(signal)))
                }
            }
        }
        Command::Predict(args) => predict::run_predict(&args).map(|_| ExitCode::SUCCESS),
        Command::Eval(args) => predict::run_eval(&args).map(|_| ExitCode::SUCCESS),
        Command::Tour(args) => tour::run(&args).map(|_| ExitCode::SUCCESS),
        Command::Playground(args) => playground::run(&args).map(|_| ExitCode::SUCCESS),
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

/// Joins a multi-line message into one line, and cuts what would make it long: a value over
/// 120 characters (a 10 MB string from a config) keeps its start and end around "…", and the
/// whole line stays under about 1000 characters.
fn one_line(s: &str) -> String {
    let line = s
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<String> = line.split(' ').map(|w| cut(w, 80, 20)).collect();
    cut(&words.join(" "), 700, 200)
}

/// `s` itself if it has at most `head + tail + 20` characters, else its first `head` and last
/// `tail` characters around "…".
fn cut(s: &str, head: usize, tail: usize) -> String {
    let n = s.chars().count();
    if n <= head + tail + 20 {
        return s.to_string();
    }
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut() {
        let msg = format!(
            "c.toml:3:12: unknown value \"{}\"\nnext line",
            "x".repeat(10_000_000)
        );
        let line = one_line(&msg);
        assert!(line.len() < 200, "{}", line.len());
        assert!(
            line.starts_with("c.toml:3:12: unknown value \"xxx"),
            "{line}"
        );
        assert!(line.ends_with("xx\" next line"), "{line}");
        assert!(line.contains('…'));
        assert_eq!(one_line("short\n value"), "short value");
        let many = "word ".repeat(10_000);
        assert!(one_line(&many).chars().count() <= 901);
    }
}
