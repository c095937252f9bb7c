//! Output files: a regular file is written to a temporary name and renamed into place, a device
//! or FIFO is written in place (see `backprop::data::write_atomically`), and a run that fails
//! removes what it created, so an error never leaves a new file behind and never removes one it
//! did not make.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// What this run created, removed again on drop unless [`Created::keep_all`] was called.
#[derive(Default)]
pub struct Created {
    paths: Vec<(PathBuf, Option<FileId>)>,
    keep: Vec<PathBuf>,
    done: bool,
}

/// Which file a path named when this run wrote it: a file another process has since put at the
/// same path (a new inode, since every write is a rename) is not this run's to remove.
#[derive(PartialEq)]
struct FileId(u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| FileId(m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

impl Created {
    /// Remembers a file or folder this run made.
    pub fn add(&mut self, path: &Path) {
        let id = file_id(path);
        match self.paths.iter_mut().find(|(p, _)| p == path) {
            Some(entry) => entry.1 = id,
            None => self.paths.push((path.to_path_buf(), id)),
        }
    }

    /// Keeps `path` (and the folders holding it) even if the run fails: a good checkpoint.
    pub fn keep(&mut self, path: &Path) {
        self.keep.push(path.to_path_buf());
    }

    /// The run succeeded: keep everything.
    pub fn keep_all(&mut self) {
        self.done = true;
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        for (p, id) in self.paths.iter().rev() {
            if self.keep.iter().any(|k| k.starts_with(p)) {
                continue;
            }
            if p.is_dir() {
                let _ = std::fs::remove_dir(p);
            } else if id.is_none() || file_id(p) == *id {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_file(path: &Path, bytes: &[u8], created: &mut Created) -> Result<()> {
    write_file_with(path, |w| w.write_all(bytes), created)
}

/// [`write_file`] with what `write` writes (streamed: a large file need not be in memory).
pub fn write_file_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    created: &mut Created,
) -> Result<()> {
    let existed = path.exists() || path.is_symlink();
    backprop::data::write_atomically(path, write)?;
    if !existed {
        created.add(path);
    } else if created.paths.iter().any(|(p, _)| p == path) {
        // Rewritten by this run (a checkpoint): the new file is the one to remove on failure.
        created.add(path);
    }
    Ok(())
}

/// Writes an output the run can do without (`--save`, `--metrics`): a failure is returned as a
/// message, and removes only what this write created, never the run's other files.
pub fn write_optional(
    path: &Path,
    flag: &str,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Option<String> {
    let mut created = Created::default();
    crate::lock::remove_stale_temps_beside(path);
    let result =
        create_parent(path, &mut created).and_then(|_| write_file_with(path, write, &mut created));
    match result {
        Ok(()) => {
            created.keep_all();
            None
        }
        Err(e) => Some(format!("{flag}: {}", crate::message(&e))),
    }
}

/// Checks, before any work, that `dir` is a folder or can be made one: the nearest part of it
/// that exists must be a folder.
pub fn check_dir(dir: &Path, what: &str) -> Result<()> {
    let existing = dir
        .ancestors()
        .find(|p| p.as_os_str().is_empty() || p.exists());
    match existing {
        Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => {
            if p == dir {
                bail!("{what}: {} is a file, not a folder", dir.display())
            }
            bail!(
                "{what}: cannot make the folder {}: {} is a file",
                dir.display(),
                p.display()
            )
        }
        _ => Ok(()),
    }
}

/// Checks that the folder a file will be written into exists or can be made (see
/// [`check_dir`]).
pub fn check_parent(path: &Path, flag: &str) -> Result<()> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => check_dir(p, &format!("{flag} {}", path.display())),
        _ => Ok(()),
    }
}

/// Makes `dir` and any missing folders above it, remembering each in `created` (so a failed
/// run removes them again).
pub fn create_dirs(dir: &Path, created: &mut Created) -> Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
        .collect();
    for d in missing.into_iter().rev() {
        std::fs::create_dir(d).with_context(|| format!("creating the folder {}", d.display()))?;
        created.add(d);
    }
    Ok(())
}

/// Makes the folder `path` will be written into, as [`create_dirs`].
pub fn create_parent(path: &Path, created: &mut Created) -> Result<()> {
    match path.parent() {
        Some(p) => create_dirs(p, created),
        None => Ok(()),
    }
}

/// The run folder: `--out DIR` (made if missing), or a new `runs/<name>-<UTC time>`.
pub fn run_folder(out: Option<&Path>, name: &str, created: &mut Created) -> Result<PathBuf> {
    if let Some(dir) = out {
        create_dirs(dir, created)?;
        return Ok(dir.to_path_buf());
    }
    let runs = PathBuf::from("runs");
    create_dirs(&runs, created)?;
    let stamp = utc_stamp();
    let mut dir = runs.join(format!("{name}-{stamp}"));
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = runs.join(format!("{name}-{stamp}-{n}"));
    }
    create_dirs(&dir, created)?;
    Ok(dir)
}

/// `YYYYmmdd-HHMMSS` in UTC.
fn utc_stamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_has_the_right_shape() {
        let s = utc_stamp();
        assert_eq!(s.len(), 15);
        assert!(s.starts_with("20"));
        assert_eq!(&s[8..9], "-");
    }

    #[test]
    fn created_files_are_removed_unless_kept() {
        let dir = std::env::temp_dir().join(format!("backprop-created-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        {
            let mut c = Created::default();
            c.add(&dir);
            write_file(&dir.join("a.txt"), b"x", &mut c).unwrap();
        }
        assert!(!dir.exists());
        std::fs::create_dir(&dir).unwrap();
        {
            let mut c = Created::default();
            c.add(&dir);
            write_file(&dir.join("a.txt"), b"x", &mut c).unwrap();
            write_file(&dir.join("ckpt"), b"y", &mut c).unwrap();
            c.keep(&dir.join("ckpt"));
        }
        assert!(dir.join("ckpt").exists() && !dir.join("a.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_file_another_run_put_in_place_is_not_removed() {
        let dir = std::env::temp_dir().join(format!("backprop-other-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("w.safetensors");
        {
            let mut c = Created::default();
            write_file(&path, b"mine", &mut c).unwrap();
            // Another run writes the same path (a rename: a new file) before this one fails.
            backprop::data::write_atomically(&path, |w| w.write_all(b"theirs")).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"theirs");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
