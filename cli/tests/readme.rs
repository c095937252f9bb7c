//! The front door runs as written: every shell line and the TOML config in README.md, and every
//! example in the `--help` texts (with its TOML config), run in a folder laid out as a fresh
//! clone (`data/`), with the `backprop` under test first on the PATH. The output the README
//! quotes is what the default job prints.

mod common;
use common::{repo, TempDir, BIN};
use std::path::Path;
use std::process::{Command, Output};

/// The bodies of the README's fenced blocks of language `lang`.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = vec![];
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line == format!("```{lang}") => current = Some(String::new()),
            Some(body) if line == "```" => {
                out.push(std::mem::take(body));
                current = None;
            }
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

/// A folder laid out as the repository's root: its `data/`.
fn fresh_clone(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::create_dir(dir.path("data")).unwrap();
    for e in std::fs::read_dir(repo("data")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path("data").join(p.file_name().unwrap())).unwrap();
    }
    dir
}

/// Runs a shell line in `dir` with the binary under test first on the PATH.
fn shell(dir: &TempDir, line: &str) -> Output {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let out = Command::new("sh")
        .args(["-c", line])
        .current_dir(&dir.0)
        .env("PATH", path)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{line}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The command a README line stands for: `Some(shell line)` to run, `None` for a cargo or
/// Python step this test cannot run (after checking what it names exists).
fn runnable(line: &str) -> Option<String> {
    let exists = |p: &str| assert!(repo(p).exists(), "`{line}`: {p} does not exist");
    if line == "cargo run --release" {
        return Some("backprop".into());
    }
    if let Some(rest) = line.strip_prefix("cargo run --release -- ") {
        return Some(format!("backprop {rest}"));
    }
    if let Some(rest) = line.strip_prefix("cargo run --release --example ") {
        exists(&format!(
            "examples/{}.rs",
            rest.split_whitespace().next().unwrap()
        ));
        return None;
    }
    if let Some(rest) = line.strip_prefix("cargo install --path ") {
        exists(&format!("{rest}/Cargo.toml"));
        return None;
    }
    if let Some(rest) = line.strip_prefix("python3 ") {
        exists(rest.split_whitespace().next().unwrap());
        return None;
    }
    if let Some(rest) = line.strip_prefix("cd ") {
        exists(rest);
        return None;
    }
    if line.starts_with("cargo ") || line.starts_with("pip ") {
        return None;
    }
    Some(line.to_string())
}

/// A shell block's commands: comments dropped, `\` continuations joined.
fn commands(block: &str) -> Vec<String> {
    let mut out = vec![];
    let mut pending = String::new();
    for line in block.lines() {
        let line = match line.find(" #") {
            Some(i) => &line[..i],
            None => line,
        }
        .trim();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        if !pending.is_empty() {
            out.push(std::mem::take(&mut pending));
        }
    }
    out
}

#[test]
fn readme_commands_and_config_run_as_written() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let dir = fresh_clone("readme");
    let tomls = blocks(&readme, "toml");
    assert_eq!(tomls.len(), 1, "one config in the README");
    dir.write("mlp.toml", &tomls[0]);
    let mut ran = 0;
    let mut default_job = None;
    for block in blocks(&readme, "sh") {
        for line in commands(&block) {
            if let Some(cmd) = runnable(&line) {
                let out = shell(&dir, &cmd);
                if cmd == "backprop" {
                    default_job = Some(String::from_utf8(out.stdout).unwrap());
                }
                ran += 1;
            }
        }
    }
    assert!(ran >= 6, "{ran} commands ran");
    for p in [
        "runs/mine/model.safetensors",
        "metrics.jsonl",
        "y.csv",
        "figures",
    ] {
        assert!(dir.path(p).exists(), "{p}: {:?}", dir.listing());
    }
    // predict wrote the messy CSV's class names and one probability column per class.
    let y = std::fs::read_to_string(dir.path("y.csv")).unwrap();
    assert_eq!(
        y.lines().next(),
        Some("species,setosa,versicolor,virginica")
    );
    // The quoted output of the default job, up to its `...`.
    let printed = default_job.expect("the README runs the default job");
    let text = blocks(&readme, "text");
    let quoted = text
        .iter()
        .find(|b| b.contains("test accuracy: "))
        .expect("the README quotes the default job");
    for line in quoted.lines().take_while(|l| *l != "...") {
        assert!(
            printed.lines().any(|p| p == line),
            "README quotes `{line}`; the default job prints:\n{printed}"
        );
    }
}

#[test]
fn help_examples_and_config_run_as_written() {
    let dir = fresh_clone("help");
    // The user's own files the examples name.
    std::fs::copy(dir.path("data/iris.csv"), dir.path("test.csv")).unwrap();
    shell(&dir, "cut -d, -f1-4 data/iris.csv > x.csv");
    let help = |args: &[&str]| {
        String::from_utf8(shell(&dir, &format!("backprop {} --help", args.join(" "))).stdout)
            .unwrap()
    };
    let top = help(&[]);
    // The config in `backprop --help`, as mlp.toml, with the data the examples name.
    let config: String = top
        .lines()
        .skip_while(|l| *l != "A config (TOML):")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    assert!(config.contains("[model]"), "{top}");
    dir.write("mlp.toml", &config);
    let mut examples = vec![];
    for args in [&[][..], &["train"], &["predict"], &["eval"], &["tour"]] {
        let text = help(args);
        let mut in_examples = false;
        for line in text.lines() {
            if line == "Examples:" || line == "Example:" {
                in_examples = true;
            } else if line.is_empty() {
                in_examples = false;
            } else if in_examples {
                // The command, without the description column after two or more spaces.
                let cmd = line.trim().split("  ").next().unwrap().to_string();
                assert!(cmd.starts_with("backprop"), "{line}");
                examples.push(cmd);
            }
        }
    }
    assert!(examples.len() >= 9, "{examples:?}");
    for cmd in &examples {
        shell(&dir, cmd);
    }
}

#[test]
fn readme_points_only_inside_the_repository() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    for (i, line) in readme.lines().enumerate() {
        assert!(
            !line.contains("://") && !line.contains("../"),
            "README.md:{}: points outside the repository: {line}",
            i + 1
        );
    }
    // Every repository path it names in backquotes exists.
    for quoted in readme.split('`').skip(1).step_by(2) {
        let looks_like_path = quoted.contains('/')
            && !quoted.contains(' ')
            && !quoted.contains("::")
            && [
                "src/",
                "tests/",
                "cli/",
                "examples/",
                "benches/",
                "scripts/",
                "fuzz/",
                "data/",
                ".ci/",
            ]
            .iter()
            .any(|d| quoted.starts_with(d));
        if looks_like_path {
            let path = quoted.split(['{', '*']).next().unwrap();
            assert!(
                repo(path).exists(),
                "README.md names `{quoted}`, which does not exist"
            );
        }
    }
}

/// The numbers the README's tutorial table quotes (4 decimals) are ones `backprop tour` prints.
#[test]
fn readme_tutorial_numbers_are_printed() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let dir = fresh_clone("readme-tour");
    let printed = String::from_utf8(shell(&dir, "backprop tour --out t").stdout).unwrap();
    let mut checked = 0;
    for row in readme.lines().filter(|l| l.starts_with("| `0")) {
        for token in row.split(|c: char| !c.is_ascii_digit() && c != '.') {
            let token = token.trim_matches('.');
            if token.split_once('.').is_some_and(|(_, d)| d.len() == 4) {
                assert!(
                    printed.contains(token),
                    "README quotes {token} ({row}); backprop tour prints:\n{printed}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "{checked} numbers checked");
}
