//! Writing output files without harming what is already there: a regular file is replaced
//! atomically (a temporary file in the same folder, then a rename), while a device, a FIFO or a
//! symlink is written through, never replaced.

use crate::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the names of [`write_atomically`]'s temporary files begin:
/// `.backprop-tmp-<pid>-<n>-<file name>`, so that a later run can recognise (and remove) the
/// leftovers of a process that was killed mid-write (see [`temp_file_pid`]).
pub const TEMP_PREFIX: &str = ".backprop-tmp-";

/// The process id in the name of one of [`write_atomically`]'s temporary files, or `None` for
/// any other name.
///
/// # Examples
/// ```
/// use backprop::data::temp_file_pid;
/// use std::ffi::OsStr;
///
/// assert_eq!(temp_file_pid(OsStr::new(".backprop-tmp-4242-0-model.safetensors")), Some(4242));
/// assert_eq!(temp_file_pid(OsStr::new("model.safetensors")), None);
/// ```
pub fn temp_file_pid(name: &OsStr) -> Option<u32> {
    let rest = name.to_str()?.strip_prefix(TEMP_PREFIX)?;
    let (pid, rest) = rest.split_once('-')?;
    let (n, _) = rest.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Writes a file so that it is never seen half-written and nothing the path names is harmed.
///
/// - A regular file (or a path that does not exist yet) is written to a temporary file in the
///   same folder (named as [`TEMP_PREFIX`] says), synced, and renamed over `path`; the new file
///   keeps the old one's permissions. A failed write removes the temporary file and leaves the
///   old file as it was.
/// - A symlink to a regular file: its target is replaced as above; the link stays.
/// - A device (`/dev/null`), a FIFO, a socket, a symlink to one of them, or a path under
///   `/dev/` or `/proc/` is opened and written in place, as a shell's `>` would.
/// - A FIFO waits at most [`FIFO_READER_WAIT`] for a reader.
/// - `/dev/stdout` and `/dev/stderr` (also as `/dev/fd/N` and `/proc/self/fd/N`) are this
///   process's streams, written through its handles.
///
/// # Errors
/// [`Error::Io`] naming `path` if it is a folder, an existing file may not be written, the
/// folder does not exist, the temporary file cannot be written, or `write` fails.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let io_err = |e| Error::io(path, e);
    let folder = || std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder");
    let through_dev = path.starts_with("/dev") || path.starts_with("/proc");
    // This process's own stdout or stderr: written through its handle, so that the bytes land
    // where the stream is (reopening the path would start a file at offset 0 again).
    match path.to_str() {
        Some("/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1") => {
            let mut out = std::io::stdout().lock();
            return write(&mut out).and_then(|_| out.flush()).map_err(io_err);
        }
        Some("/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2") => {
            let mut out = std::io::stderr().lock();
            return write(&mut out).and_then(|_| out.flush()).map_err(io_err);
        }
        _ => {}
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Err(io_err(folder())),
        Ok(m) if m.is_file() => replace(path, Some(m.permissions()), write).map_err(io_err),
        Ok(m) if m.file_type().is_symlink() && !through_dev => match std::fs::metadata(path) {
            Ok(t) if t.is_dir() => Err(io_err(folder())),
            Ok(t) if t.is_file() => {
                let target = std::fs::canonicalize(path).map_err(io_err)?;
                replace(&target, Some(t.permissions()), write).map_err(io_err)
            }
            // A device or FIFO behind the link, or a dangling link (whose target is created,
            // as `>` would).
            _ => in_place(path, write).map_err(io_err),
        },
        Ok(_) => in_place(path, write).map_err(io_err),
        Err(_) if through_dev => in_place(path, write).map_err(io_err),
        Err(_) => replace(path, None, write).map_err(io_err),
    }
}

/// How long a FIFO output waits for a reader before the write fails (a shell's `>` would wait
/// forever; a finished run should not hang on an output nobody reads).
pub const FIFO_READER_WAIT: Duration = Duration::from_secs(30);

/// Writes into an existing special file (or through a link), without a temporary file.
fn in_place(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let file = if is_fifo(path) {
        open_fifo(path, FIFO_READER_WAIT)?
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?
    };
    let mut out = std::io::BufWriter::new(file);
    write(&mut out)?;
    out.flush()
}

fn is_fifo(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Opens a FIFO for writing, waiting at most `wait` for a reader.
#[cfg_attr(not(unix), allow(dead_code))]
fn open_fifo(path: &Path, wait: Duration) -> std::io::Result<File> {
    let (tx, rx) = std::sync::mpsc::channel();
    let target = path.to_path_buf();
    // Opening a FIFO for writing blocks until a reader opens it, so it happens on a thread.
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::OpenOptions::new().write(true).open(&target));
    });
    match rx.recv_timeout(wait) {
        Ok(opened) => opened,
        Err(_) => {
            // No reader: open the reading end here, which lets the waiting open finish, and give
            // up (nothing is written).
            let _ = File::open(path);
            let _ = rx.recv();
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("a FIFO that no process read for {} s", wait.as_secs()),
            ))
        }
    }
}

/// Writes a temporary file beside `path` and renames it over `path`.
fn replace(
    path: &Path,
    permissions: Option<std::fs::Permissions>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    if permissions.is_some() {
        // An existing file the user may not write (read-only) is refused, not replaced.
        std::fs::OpenOptions::new().write(true).open(path)?;
    }
    let mut tmp_name = OsString::from(format!(
        "{TEMP_PREFIX}{}-{}-",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    tmp_name.push(file_name);
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let result = (|| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut out = std::io::BufWriter::new(file);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the temp file may not exist if creating it was what failed.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{leftovers, temp_path};
    use super::*;

    #[test]
    fn write_atomically_leaves_nothing_on_error() {
        let path = temp_path("atomic.txt");
        let tag = path.file_name().unwrap().to_string_lossy().into_owned();
        let err = write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert!(!path.exists());
        assert!(leftovers(&tag).is_empty(), "{:?}", leftovers(&tag));

        write_atomically(&path, |w| w.write_all(b"done")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"done");
        assert_eq!(leftovers(&tag), vec![tag.clone()]);
        std::fs::remove_file(&path).unwrap();

        let missing_dir = temp_path("no-such-dir").join("out.txt");
        let err = write_atomically(&missing_dir, |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains("out.txt"), "{err}");
    }

    #[test]
    fn temp_files_name_their_process() {
        let path = temp_path("named.txt");
        let tag = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut seen = Vec::new();
        write_atomically(&path, |w| {
            seen = leftovers(&tag);
            w.write_all(b"x")
        })
        .unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(
            temp_file_pid(OsStr::new(&seen[0])),
            Some(std::process::id()),
            "{seen:?}"
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_reader_fails_instead_of_hanging() {
        let path = temp_path("lonely.fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap()
            .success());
        let err = open_fifo(&path, Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(is_fifo(&path));
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn links_and_devices_are_written_through() {
        use std::os::unix::fs::PermissionsExt;
        let target = temp_path("target.txt");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = temp_path("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, |w| w.write_all(b"new")).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        write_atomically(Path::new("/dev/null"), |w| w.write_all(b"gone")).unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(!meta.is_file());
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_file(&target).unwrap();
    }
}
