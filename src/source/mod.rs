//! Where declarations come from: a directory on disk ([`fs`]), a git revision ([`git`]), or memory
//! ([`memory`], for tests and fuzzing).
//! A source answers questions about its files; what counts as a declarations file, and what a
//! reference may point at, is decided by [`crate::decl`].

pub mod fs;
#[cfg(feature = "adapters")]
pub mod git;
pub mod memory;

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

/// What a source holds under its root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The files the filter kept, sorted by path, as messages should name them.
    pub files: Vec<PathBuf>,
    /// Entries that could not be read while listing, and why.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Declarations files that are symlinks leading outside the root, sorted: read only
    /// when references may lead outside too.
    pub outside: Vec<PathBuf>,
}

/// Where a `@path` reference leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file to read, as messages should name it.
    pub path: PathBuf,
    /// Whether it resolves to a place outside the source's root (absolute, `..`, a symlink).
    pub outside: bool,
    /// Whether the reference itself names a symlink.
    pub symlink: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("file is {size} bytes, over the limit of {} MiB", .limit >> 20)]
    TooLarge { size: u64, limit: u64 },
    /// A FIFO, a device, a socket or a directory: reading it could block or never end.
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("{0}")]
    Io(String),
}

/// A tree of declarations files. Shared by the threads that read and parse them.
pub trait Source: Sync {
    /// The root as the user named it.
    fn root(&self) -> &Path;

    /// Whether the root is a single file rather than a directory of them.
    fn is_file(&self) -> bool;

    /// The files under the root that `keep` accepts (the root itself if it is a file), walking
    /// only into directories `descend` accepts by name. `None` if the root does not exist.
    fn list(&self, keep: &dyn Fn(&Path) -> bool, descend: &dyn Fn(&str) -> bool)
    -> Option<Listing>;

    /// The bytes of `path`, at most `limit` of them.
    fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError>;

    /// Where `reference`, relative to the folder of `from`, leads.
    fn locate(&self, from: &Path, reference: &str) -> Located;

    /// The names in the folder `path` is in, to suggest one when `path` is not there.
    fn neighbours(&self, path: &Path) -> Vec<String>;
}

/// `path` with `.` and `..` folded lexically, its root (if any) kept; `None` when a `..` climbs
/// above where it starts, the root for an absolute path. Lexical, never the filesystem: the git
/// source has none, and a boundary check must not depend on what exists.
pub fn normal(path: &Path) -> Option<PathBuf> {
    let mut root = PathBuf::new();
    let mut parts: Vec<&OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => root.push(component),
        }
    }
    Some(root.join(parts.iter().collect::<PathBuf>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal_of(path: &str) -> Option<String> {
        normal(Path::new(path)).map(|p| p.to_string_lossy().into_owned())
    }

    #[test]
    fn paths_are_folded_lexically() {
        for (path, folded) in [
            ("a/b", "a/b"),
            ("./a/./b", "a/b"),
            ("a/b/", "a/b"),
            ("a//b", "a/b"),
            ("a/../b", "b"),
            ("a/b/../../c", "c"),
            ("a/..", ""),
            (".", ""),
            ("", ""),
            ("/a/../b/", "/b"),
            ("/", "/"),
            ("/a/..", "/"),
            // A name is not a folder just because it is missing: still folded.
            ("missing/../x.txt", "x.txt"),
        ] {
            assert_eq!(normal_of(path).as_deref(), Some(folded), "{path}");
        }
    }

    #[test]
    fn climbing_above_the_start_is_none() {
        for path in [
            "..",
            "../a",
            "a/../..",
            "a/b/../../../c",
            "./..",
            "/..",
            "/a/../..",
        ] {
            assert_eq!(normal_of(path), None, "{path}");
        }
    }
}
