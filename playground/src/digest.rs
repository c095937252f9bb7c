//! The digest of the sources `playground.wasm` is built from, so that a test can tell whether
//! the committed bundle (`playground/web/`) still matches them: the playground's sources and
//! manifest, the library's sources, and `Cargo.lock`.

use std::path::{Path, PathBuf};

/// The files and folders, relative to the workspace root, whose contents the bundle depends on.
pub const SOURCES: [&str; 4] = [
    "playground/src",
    "playground/Cargo.toml",
    "src",
    "Cargo.lock",
];

fn files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let full = root.join(rel);
    if full.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(&full)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for name in entries {
            files(root, &rel.join(name), out)?;
        }
    } else {
        out.push(rel.to_path_buf());
    }
    Ok(())
}

/// 64-bit FNV-1a: not cryptographic, only a guard against a forgotten rebuild.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

/// The digest (16 hex digits) of [`SOURCES`] under the workspace root `root`: every file's
/// path (with `/` separators), length and bytes, in sorted order.
pub fn sources_digest(root: &Path) -> std::io::Result<String> {
    let mut list = Vec::new();
    for s in SOURCES {
        files(root, Path::new(s), &mut list)?;
    }
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for rel in list {
        let name: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let bytes = std::fs::read(root.join(&rel))?;
        fnv(&mut hash, name.join("/").as_bytes());
        fnv(&mut hash, &[0]);
        fnv(&mut hash, &(bytes.len() as u64).to_le_bytes());
        fnv(&mut hash, &bytes);
    }
    Ok(format!("{hash:016x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_changes_with_a_byte_and_a_name() {
        let dir = std::env::temp_dir().join(format!("pg-digest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("playground/src")).unwrap();
        std::fs::write(dir.join("Cargo.lock"), "lock").unwrap();
        std::fs::write(dir.join("playground/Cargo.toml"), "toml").unwrap();
        std::fs::write(dir.join("src/a.rs"), "a").unwrap();
        let d1 = sources_digest(&dir).unwrap();
        assert_eq!(d1, sources_digest(&dir).unwrap());
        std::fs::write(dir.join("src/a.rs"), "b").unwrap();
        let d2 = sources_digest(&dir).unwrap();
        assert_ne!(d1, d2);
        std::fs::rename(dir.join("src/a.rs"), dir.join("src/c.rs")).unwrap();
        assert_ne!(d2, sources_digest(&dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
