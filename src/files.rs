//! Local files written so that a crash leaves the old content or the new, never a mix.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a temp file in `dir` (mode 0600, kept through the rename)
/// that is fsynced and renamed over it, then makes the rename itself durable. The temp file is
/// named after `path` (`.state.json.XXXXXX.tmp`), so that one a killed writer left behind can
/// be told from anything else and removed ([`remove_stale_temps`]).
pub fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

/// Writes each of `files` (path, bytes) in `dir` as [`write_atomic`] does, but all temp files
/// first: if one cannot be written, none of `files` changes. A crash between the renames may
/// still leave some replaced and the rest not.
pub fn write_all_atomic(
    dir: &Path,
    files: &[(std::path::PathBuf, Vec<u8>)],
) -> std::io::Result<()> {
    let mut temps = Vec::new();
    for (path, bytes) in files {
        let mut temp = tempfile::Builder::new()
            .prefix(&temp_prefix(path))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)?;
        temp.write_all(bytes)?;
        temp.as_file().sync_all()?;
        temps.push((temp, path));
    }
    for (temp, path) in temps {
        temp.persist(path).map_err(|e| e.error)?;
    }
    File::open(dir)?.sync_all()
}

const TEMP_SUFFIX: &str = ".tmp";

/// `.state.json.` for `dir/state.json`.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    format!(".{name}.")
}

/// Removes the temp files writers of `path` (and of the files beside it whose names start
/// with its name, such as its backup) left when they were killed. Only for a caller that
/// holds the lock under which those files are written: no writer can be running.
pub fn remove_stale_temps(path: &Path) -> std::io::Result<usize> {
    remove_temps(folder(path), &temp_prefix(path))
}

/// Removes the temp files any writer into `dir` left (their names start with `.`); under the
/// same condition as [`remove_stale_temps`].
pub fn remove_stale_temps_in(dir: &Path) -> std::io::Result<usize> {
    remove_temps(dir, ".")
}

fn remove_temps(dir: &Path, prefix: &str) -> std::io::Result<usize> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(prefix) && name.ends_with(TEMP_SUFFIX) && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The folder `path` is in, `.` for a bare file name.
pub fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_are_named_after_their_target_and_stale_ones_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(dir.path(), &path, b"{}").unwrap();
        // What killed writers of the state and of its backup left, and what is not theirs.
        for name in [
            ".state.json.a1B2c3.tmp",
            ".state.json.backup.x9Y8z7.tmp",
            ".other.tmp",
            "state.json.tmp",
        ] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        assert_eq!(remove_stale_temps(&path).unwrap(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".other.tmp", "state.json", "state.json.tmp"]);
        // In a folder of one writer's files (the catalogs), every temp file is stale.
        assert_eq!(remove_stale_temps_in(dir.path()).unwrap(), 1);
        assert_eq!(remove_stale_temps_in(&dir.path().join("none")).unwrap(), 0);
        assert!(dir.path().join("state.json.tmp").exists());
    }
}
