//! Declarations on disk: a directory walked in sorted order, or one file.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::{Listing, Located, ReadError, Source, normal};
use crate::model::diag::io_reason;

/// A directory (or a single file) of declarations on the local filesystem.
#[derive(Debug, Clone)]
pub struct FsSource {
    root: PathBuf,
    /// The directory references must stay inside: the root, or the folder of a root file
    /// (canonical when it exists).
    boundary: PathBuf,
}

impl FsSource {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let dir = if root.is_file() {
            // `images.yaml` has the parent "", which would make every path "inside".
            root.parent()
                .filter(|parent| !parent.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        } else {
            &root
        };
        let boundary = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        FsSource { root, boundary }
    }
}

impl Source for FsSource {
    fn neighbours(&self, path: &Path) -> Vec<String> {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        let entries = std::fs::read_dir(folder.unwrap_or(Path::new(".")));
        (entries.into_iter().flatten().flatten())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect()
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn is_file(&self) -> bool {
        self.root.is_file()
    }

    fn list(
        &self,
        keep: &dyn Fn(&Path) -> bool,
        descend: &dyn Fn(&str) -> bool,
    ) -> Option<Listing> {
        if self.root.is_file() {
            return Some(Listing {
                files: vec![self.root.clone()],
                ..Listing::default()
            });
        }
        if !self.root.is_dir() {
            return None;
        }
        let mut listing = Listing::default();
        let walker = walkdir::WalkDir::new(&self.root)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0
                    || !e.file_type().is_dir()
                    || descend(&e.file_name().to_string_lossy())
            });
        for entry in walker {
            match entry {
                Ok(entry) if keep(entry.path()) && !entry.file_type().is_dir() => {
                    let path = entry.path().to_path_buf();
                    // Following a symlink, as reading will.
                    match fs::metadata(&path) {
                        Ok(meta) if meta.is_dir() => {}
                        Ok(meta) if !meta.is_file() => {
                            let reason = ReadError::NotRegular(kind(&meta.file_type()));
                            listing.unreadable.push((path, reason.to_string()));
                        }
                        Ok(_) if entry.path_is_symlink() && escapes(&self.boundary, &path) => {
                            listing.outside.push(path);
                        }
                        Ok(_) => listing.files.push(path),
                        Err(e) => listing.unreadable.push((path, io_reason(&e))),
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    let path = err.path().unwrap_or(&self.root).to_path_buf();
                    listing.unreadable.push((path, io_reason(&err)));
                }
            }
        }
        Some(listing)
    }

    /// Only a regular file is read, and never past `limit` bytes counted as they come: a FIFO
    /// would block, a device (`/dev/zero`) never end, and a file may grow while it is read.
    fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        let io = |e: std::io::Error| ReadError::Io(io_reason(&e));
        let regular = |meta: &fs::Metadata| match meta.is_file() {
            true => Ok(meta.len()),
            false => Err(ReadError::NotRegular(kind(&meta.file_type()))),
        };
        let size = regular(&fs::metadata(path).map_err(io)?)?;
        if size > limit {
            return Err(ReadError::TooLarge { size, limit });
        }
        // Non-blocking, so that a FIFO put in its place since cannot block the open; what was
        // opened is checked again.
        let mut options = fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let file = options.open(path).map_err(io)?;
        regular(&file.metadata().map_err(io)?)?;
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() as u64 > limit {
            // Grew since its size was read.
            return Err(ReadError::TooLarge {
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok(bytes)
    }

    fn locate(&self, from: &Path, reference: &str) -> Located {
        let relative = Path::new(reference);
        let path = from.parent().unwrap_or(Path::new(".")).join(relative);
        Located {
            outside: relative.is_absolute() || escapes(&self.boundary, &path),
            symlink: fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()),
            path,
        }
    }
}

/// What a file that is not a regular one is, in words.
fn kind(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Whether `target` (which may not exist) resolves to a place outside `boundary`. Symlinks
/// are followed as far as the path exists; the missing rest cannot be opened through a
/// symlink, so it is judged lexically.
fn escapes(boundary: &Path, target: &Path) -> bool {
    let components: Vec<Component> = target.components().collect();
    let existing = (0..=components.len()).rev().find_map(|n| {
        let prefix: PathBuf = components[..n].iter().collect();
        let prefix = if n == 0 { PathBuf::from(".") } else { prefix };
        fs::canonicalize(prefix)
            .ok()
            .map(|path| (path, &components[n..]))
    });
    let Some((resolved, rest)) = existing else {
        return true;
    };
    let rest: PathBuf = rest.iter().collect();
    normal(&resolved.join(rest)).is_none_or(|resolved| !resolved.starts_with(boundary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_outside_only_when_they_lead_outside() {
        let dir = tempfile::tempdir().unwrap();
        let boundary = fs::canonicalize(dir.path()).unwrap();
        assert!(!escapes(&boundary, &dir.path().join("missing/dir/x.txt")));
        assert!(!escapes(&boundary, &dir.path().join("missing/../x.txt")));
        assert!(escapes(&boundary, &dir.path().join("../x.txt")));
        assert!(escapes(&boundary, &dir.path().join("missing/../../x.txt")));
        // Climbing above `/` is outside, whatever follows (`missing/..` cannot be opened anyway).
        let depth = boundary.components().count();
        let back_in = format!(
            "missing/{}{}/x.txt",
            "../".repeat(depth + 1),
            boundary.display()
        );
        assert!(escapes(&boundary, &dir.path().join(back_in)));
    }

    #[test]
    fn a_file_named_without_a_folder_keeps_its_boundary() {
        let source = FsSource::new("Cargo.toml");
        assert_eq!(source.boundary, fs::canonicalize(".").unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_as_far_as_the_path_exists() {
        let dir = tempfile::tempdir().unwrap();
        let boundary = fs::canonicalize(dir.path()).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
        assert!(escapes(&boundary, &dir.path().join("etc/missing.txt")));
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        fs::write(&path, "12345").unwrap();
        let source = FsSource::new(dir.path());
        assert_eq!(source.read(&path, 5).unwrap(), b"12345");
        assert_eq!(
            source.read(&path, 4),
            Err(ReadError::TooLarge { size: 5, limit: 4 })
        );
        assert_eq!(
            source.read(&dir.path().join("nope"), 4),
            Err(ReadError::Io("No such file or directory".into()))
        );
    }
}
