//! `backprop tour`: the tutorial's sections (the library's `backprop::tour`), in order or one.
//!
//! Figures are written into a hidden staging folder and moved into place only once every
//! section has run, so an error leaves no new file behind: with `--out DIR` the staging folder
//! sits inside DIR and its files are moved into DIR; otherwise it sits in the current folder
//! and is renamed to a new `tour/` (`tour-2/`, ... if that exists). A missing `--out DIR` is
//! made, and removed again on error. A run whose sections draw nothing creates no folder.

use crate::cli::TourArgs;
use crate::output::{check_dir, create_dirs, Created};
use anyhow::{bail, Context, Result};
use backprop::tour::{self, Section, SECTIONS};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs the tour.
pub fn run(args: &TourArgs) -> Result<()> {
    if args.html {
        return crate::tour_html::run(args);
    }
    let sections: Vec<&Section> = match args.section {
        Some(n) => match tour::section(n) {
            Ok(s) => vec![s],
            Err(_) => bail!(
                "--section {n}: there is no section {n} (the tutorial has sections 1 to {})",
                SECTIONS.len()
            ),
        },
        None => SECTIONS.iter().collect(),
    };
    // Declared before the stage, so dropped after it: a folder --out made is removed on error
    // once the stage inside it is gone.
    let mut created = Created::default();
    if let Some(dir) = &args.out {
        check_dir(dir, &format!("--out {}", dir.display()))?;
        create_dirs(dir, &mut created)?;
    }
    let stage = Stage::create(args.out.as_deref().unwrap_or(Path::new(".")))?;
    // A closed stdout (`backprop tour | head`) silences the text; the figures are still made.
    let mut out = crate::console::stdout();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            writeln!(out).context("writing output")?;
        }
        writeln!(out, "== {}. {} ==", section.number, section.title).context("writing output")?;
        (section.run)(&mut out, &stage.path)
            .with_context(|| format!("section {}", section.number))?;
    }
    if is_empty(&stage.path)? {
        return Ok(());
    }
    let dest = match &args.out {
        Some(dir) => {
            stage.move_into(dir)?;
            dir.clone()
        }
        None => stage.rename_to_new("tour")?,
    };
    created.keep_all();
    writeln!(out, "\nFigures are in {}", dest.display()).context("writing output")?;
    Ok(())
}

/// A hidden folder this run made, removed with its contents on drop unless renamed away.
struct Stage {
    path: PathBuf,
}

impl Stage {
    fn create(parent: &Path) -> Result<Stage> {
        let path = parent.join(format!(".backprop-tour-{}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Stage { path })
    }

    /// Moves every staged file into `dir` (replacing files of the same name, merging folders).
    fn move_into(&self, dir: &Path) -> Result<()> {
        let mut created = Created::default();
        move_tree(&self.path, dir, &mut created)?;
        created.keep_all();
        Ok(())
    }

    /// Renames the staging folder to `name` in its parent, or `name-2`, `name-3`, ... if taken.
    fn rename_to_new(self, name: &str) -> Result<PathBuf> {
        let parent = self.path.parent().unwrap_or(Path::new("."));
        let mut dest = parent.join(name);
        let mut n = 1;
        while dest.exists() {
            n += 1;
            dest = parent.join(format!("{name}-{n}"));
        }
        std::fs::rename(&self.path, &dest)
            .with_context(|| format!("moving the figures to {}", dest.display()))?;
        Ok(dest
            .strip_prefix(".")
            .map(Path::to_path_buf)
            .unwrap_or(dest))
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if self.path.exists() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Moves the contents of `from` into `to`, recording each new file and folder in `created`.
fn move_tree(from: &Path, to: &Path, created: &mut Created) -> Result<()> {
    let entries = std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            if !dest.is_dir() {
                std::fs::create_dir(&dest)
                    .with_context(|| format!("creating {}", dest.display()))?;
                created.add(&dest);
            }
            move_tree(&src, &dest, created)?;
        } else {
            let existed = dest.exists();
            std::fs::rename(&src, &dest).with_context(|| format!("writing {}", dest.display()))?;
            if !existed {
                created.add(&dest);
            }
        }
    }
    Ok(())
}

fn is_empty(dir: &Path) -> Result<bool> {
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .next()
        .is_none())
}
