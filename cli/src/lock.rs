//! One run per folder: a run holds an exclusive lock on `<folder>/.backprop-lock` (which names
//! its process) while it writes there, and removes the temporary files that killed runs left.
//!
//! The lock is the operating system's file lock, so it ends with the process however the process
//! ends (even SIGKILL); a lock file left behind by a dead run is simply taken over.

use crate::output::Created;
use anyhow::{bail, Context, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside a run folder.
pub const FILE: &str = ".backprop-lock";

/// A held folder lock, released (and its file removed) on drop.
pub struct Lock {
    file: File,
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still locked, so a run waiting for it finds either the locked file or no
        // file, never a removed file it could lock (see `lock_folder`).
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Locks `dir` for this run, or says which process holds it. The lock file is remembered in
/// `created` when this run made it, so that a failed run's clean-up can remove the folder.
pub fn lock_folder(dir: &Path, flag: &str, created: &mut Created) -> Result<Lock> {
    let path = dir.join(FILE);
    for _ in 0..10 {
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("{flag}: cannot make the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let who = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!("process {pid}"),
                    Err(_) => "another process".to_string(),
                };
                bail!(
                    "{flag}: the folder is in use by {who}, which is writing a run into it ({}); \
                     wait for it to end or choose another folder",
                    path.display()
                );
            }
            // A file system without locks (some network mounts): go on unlocked.
            Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {}
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("{flag}: cannot lock {}", path.display()))
            }
        }
        // The holder before us may have removed the file between our open and our lock: then
        // the lock is on a file no one else can see, and we start again.
        if !same_file(&file, &path) {
            continue;
        }
        if !existed {
            created.add(&path);
        }
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())?;
        remove_stale_temps(dir);
        return Ok(Lock { file, path });
    }
    bail!("{flag}: cannot lock {} (it keeps changing)", path.display())
}

/// Whether the open `file` is still the one at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// Removes the temporary files (`.backprop-tmp-<pid>-...`) in `dir` whose process has ended: the
/// leftovers of a run killed while it wrote. A live process's files are left alone.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = backprop::data::temp_file_pid(&name).or_else(|| old_temp_pid(&name));
        if let Some(pid) = pid {
            if pid != std::process::id() && !process_alive(pid) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// [`remove_stale_temps`] in the folder `path` will be written into.
pub fn remove_stale_temps_beside(path: &Path) {
    match path.parent() {
        Some(d) if d.as_os_str().is_empty() => remove_stale_temps(Path::new(".")),
        Some(d) => remove_stale_temps(d),
        None => {}
    }
}

/// The pid in an earlier version's temporary name, `.<file>.<pid>.<n>.tmp`.
fn old_temp_pid(name: &std::ffi::OsStr) -> Option<u32> {
    let name = name.to_str()?.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = name.rsplitn(3, '.');
    parts.next()?.parse::<u64>().ok()?;
    let pid = parts.next()?.parse().ok()?;
    parts.next().filter(|f| !f.is_empty())?;
    Some(pid)
}

/// Whether a process with this id exists (when that cannot be told, it is assumed to).
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        return Path::new("/proc").join(pid.to_string()).exists();
    }
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_old_and_new_give_their_pid() {
        assert_eq!(
            old_temp_pid(std::ffi::OsStr::new(".checkpoint.safetensors.77.3.tmp")),
            Some(77)
        );
        assert_eq!(old_temp_pid(std::ffi::OsStr::new(".77.3.tmp")), None);
        assert_eq!(old_temp_pid(std::ffi::OsStr::new("model.tmp")), None);
        assert!(process_alive(std::process::id()));
    }
}
