//! A source held in memory, for fast tests of loading and validation, and for fuzzing.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::{Listing, Located, ReadError, Source};

/// Files by path under the root `.`; `..` past the root leads outside.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    root: PathBuf,
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemorySource {
    pub fn new(files: &[(&str, &str)]) -> Self {
        Self::from_bytes(
            files
                .iter()
                .map(|(path, text)| (path.to_string(), text.as_bytes().to_vec())),
        )
    }

    /// Files whose bytes need not be text.
    pub fn from_bytes(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        MemorySource {
            root: PathBuf::from("."),
            files: files
                .into_iter()
                .map(|(path, bytes)| (Path::new(".").join(path), bytes))
                .collect(),
        }
    }
}

/// The key of `path`: relative to the root `.`, folded; `None` if it is absolute or climbs
/// above the root.
fn key(path: &Path) -> Option<PathBuf> {
    let folded = super::normal(path)?;
    matches!(
        folded.components().next(),
        None | Some(Component::Normal(_))
    )
    .then(|| Path::new(".").join(folded))
}

impl Source for MemorySource {
    fn neighbours(&self, path: &Path) -> Vec<String> {
        let folder = key(path).and_then(|k| k.parent().map(Path::to_path_buf));
        (self.files.keys())
            .filter(|file| file.parent() == folder.as_deref())
            .filter_map(|file| Some(file.file_name()?.to_str()?.to_string()))
            .collect()
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn is_file(&self) -> bool {
        false
    }

    fn list(
        &self,
        keep: &dyn Fn(&Path) -> bool,
        descend: &dyn Fn(&str) -> bool,
    ) -> Option<Listing> {
        let files = self
            .files
            .keys()
            .filter(|path| keep(path))
            .filter(|path| {
                let dirs = path.parent().into_iter().flat_map(Path::components);
                dirs.filter_map(|c| match c {
                    Component::Normal(name) => Some(name.to_string_lossy()),
                    _ => None,
                })
                .all(|name| descend(&name))
            })
            .cloned()
            .collect();
        Some(Listing {
            files,
            ..Listing::default()
        })
    }

    fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        let bytes = key(path)
            .and_then(|path| self.files.get(&path))
            .ok_or_else(|| ReadError::Io("No such file or directory".into()))?;
        match bytes.len() as u64 {
            size if size > limit => Err(ReadError::TooLarge { size, limit }),
            _ => Ok(bytes.clone()),
        }
    }

    fn locate(&self, from: &Path, reference: &str) -> Located {
        let path = from.parent().unwrap_or(Path::new(".")).join(reference);
        Located {
            outside: key(&path).is_none(),
            symlink: false,
            path,
        }
    }
}
