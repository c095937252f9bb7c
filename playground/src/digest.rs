//! The digest of the sources `playground.wasm` is built from, so that a test can tell whether
//! the committed bundle (`playground/web/`) still matches them: the playground's sources and
//! manifest, the library's sources, and the entries of `Cargo.lock` for the packages the
//! bundle is built from (so a dependency added to the CLI alone does not call for a rebuild).

use std::path::{Path, PathBuf};

/// The files and folders, relative to the workspace root, whose contents the bundle depends on
/// (besides its part of `Cargo.lock`).
pub const SOURCES: [&str; 3] = ["playground/src", "playground/Cargo.toml", "src"];

/// The `[[package]]` entries of a `Cargo.lock` that `root` depends on, itself included, in the
/// file's order.
pub fn lock_entries(lock: &str, root: &str) -> String {
    let blocks: Vec<&str> = lock.split("[[package]]").skip(1).map(str::trim).collect();
    let field = |b: &str, key: &str| {
        b.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
            .map(|v| v.trim_end_matches('"').to_string())
    };
    let deps = |b: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut inside = false;
        for l in b.lines() {
            let l = l.trim();
            if l.starts_with("dependencies = [") {
                inside = true;
            } else if inside && l.starts_with(']') {
                inside = false;
            } else if inside {
                out.push(l.trim_matches(|c| c == '"' || c == ',').to_string());
            }
        }
        out
    };
    let mut keep = vec![false; blocks.len()];
    let mut todo = vec![root.to_string()];
    while let Some(dep) = todo.pop() {
        // "name", or "name version", or "name version (source)".
        let mut parts = dep.split_whitespace();
        let (name, version) = (parts.next().unwrap_or(""), parts.next());
        for (i, b) in blocks.iter().enumerate() {
            if !keep[i]
                && field(b, "name").as_deref() == Some(name)
                && version.is_none_or(|v| field(b, "version").as_deref() == Some(v))
            {
                keep[i] = true;
                todo.extend(deps(b));
            }
        }
    }
    blocks
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(b, _)| format!("{b}\n"))
        .collect()
}

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
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))?;
    fnv(
        &mut hash,
        lock_entries(&lock, "backprop-playground").as_bytes(),
    );
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
        std::fs::write(dir.join("Cargo.lock"), "").unwrap();
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

    #[test]
    fn lock_entries_follow_the_dependencies_only() {
        let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\n \"b 2.0.0\",\n \"c\",\n]\n\n\
                    [[package]]\nname = \"b\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\n\n\
                    [[package]]\nname = \"c\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"cli\"\nversion = \"0.1.0\"\ndependencies = [\n \"a\",\n]\n";
        let kept = lock_entries(lock, "a");
        assert!(kept.contains("name = \"a\""));
        assert!(kept.contains("version = \"2.0.0\""));
        assert!(
            !kept.contains("version = \"1.0.0\"\n\n") && kept.matches("name = \"b\"").count() == 1
        );
        assert!(kept.contains("name = \"c\""));
        assert!(!kept.contains("cli"));
    }
}
