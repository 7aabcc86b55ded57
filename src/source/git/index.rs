//! The tree of one commit, each folder listed once, on first use, and kept: looking a path up
//! is then a hash lookup per folder on its way, whatever the folder holds. (libgit2 keeps no
//! parsed tree over 4 KiB, so a folder of thousands of files was read and parsed again for
//! every path looked up in it.) Blobs are read by id, their size checked before their bytes
//! are.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use git2::{ObjectType, Oid, Repository};

use crate::source::{ReadError, normal};

/// The mode git gives a symlink.
const SYMLINK: i32 = 0o120000;
/// How many symlinks a path may go through before it counts as a loop.
const MAX_LINKS: usize = 16;
/// How deep folders are listed (deeper than declarations need): the walk recurses.
const MAX_DEPTH: usize = 1024;
/// The longest symlink target followed (Linux's `PATH_MAX`): a link's blob is untrusted too.
const MAX_LINK_BYTES: usize = 4096;

/// What a path in the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    Blob(Oid),
    Tree(Oid),
}

/// Why a path cannot be looked up in the tree.
#[derive(Debug, thiserror::Error)]
pub(super) enum FindError {
    #[error("No such file or directory")]
    Missing,
    #[error("a symlink that leads outside the repository")]
    LeadsOutside,
    #[error("not a file (a submodule?)")]
    NotAFile,
    #[error("too many symlinks (a loop?)")]
    TooManyLinks,
    #[error("a symlink whose target is not a path")]
    BadLink,
    #[error("folders nested over {MAX_DEPTH} deep")]
    TooDeep,
    #[error("{}", .0.message())]
    Git(#[from] git2::Error),
}

/// One entry of a folder.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The name, lossily UTF-8 when it is not.
    pub name: String,
    /// Whether `name` is the entry's name exactly: only such an entry can be looked up.
    pub exact: bool,
    pub id: Oid,
    mode: i32,
    kind: Option<ObjectType>,
}

impl Entry {
    pub fn is_symlink(&self) -> bool {
        self.mode == SYMLINK
    }

    pub fn is_tree(&self) -> bool {
        self.kind == Some(ObjectType::Tree)
    }
}

/// A folder's entries, in the tree's order, and where each name is.
#[derive(Debug)]
pub(super) struct Folder {
    pub entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
}

impl Folder {
    fn get(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }
}

/// The tree of a commit, read through one repository handle.
pub(super) struct TreeIndex {
    /// libgit2's repository may be used by one thread at a time.
    repo: Mutex<Repository>,
    root: Oid,
    folders: RwLock<HashMap<Oid, Arc<Folder>>>,
}

impl TreeIndex {
    pub fn new(repo: Repository, root: Oid) -> TreeIndex {
        TreeIndex {
            repo: Mutex::new(repo),
            root,
            folders: RwLock::default(),
        }
    }

    fn repo(&self) -> std::sync::MutexGuard<'_, Repository> {
        // A panic while reading leaves nothing half-changed: the repository is only read.
        self.repo.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The folder `tree`, listed on first use.
    pub fn folder(&self, tree: Oid) -> Result<Arc<Folder>, git2::Error> {
        let known = self.folders.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(folder) = known.get(&tree) {
            return Ok(folder.clone());
        }
        drop(known);
        let folder = {
            let repo = self.repo();
            let listed = repo.find_tree(tree)?;
            let entries: Vec<Entry> = listed
                .iter()
                .map(|entry| {
                    let name = entry.name();
                    Entry {
                        exact: name.is_ok(),
                        name: name.map_or_else(
                            |_| String::from_utf8_lossy(entry.name_bytes()).into_owned(),
                            str::to_string,
                        ),
                        id: entry.id(),
                        mode: entry.filemode(),
                        kind: entry.kind(),
                    }
                })
                .collect();
            let by_name = (entries.iter().enumerate())
                .filter(|(_, entry)| entry.exact)
                .map(|(i, entry)| (entry.name.clone(), i))
                .collect();
            Arc::new(Folder { entries, by_name })
        };
        let mut known = self.folders.write().unwrap_or_else(PoisonError::into_inner);
        Ok(known.entry(tree).or_insert(folder).clone())
    }

    /// The entry at `path` itself, symlinks not followed (the folders on the way must be
    /// folders); `None` for the root or what is not there.
    pub fn entry(&self, path: &Path) -> Option<Entry> {
        let mut tree = self.root;
        let mut found: Option<Entry> = None;
        for component in path.components() {
            if let Some(entry) = &found {
                tree = Some(entry.id).filter(|_| entry.is_tree())?;
            }
            let Component::Normal(name) = component else {
                return None;
            };
            found = Some(self.folder(tree).ok()?.get(name.to_str()?)?.clone());
        }
        found
    }

    /// Every file and symlink under the folder `tree`, in the tree's order, each with its
    /// path under `dir` and whether all the names in that path are exact; going into the
    /// folders `descend` accepts by name.
    pub fn files(
        &self,
        tree: Oid,
        dir: &Path,
        exact: bool,
        descend: &dyn Fn(&str) -> bool,
        visit: &mut dyn FnMut(PathBuf, bool, &Entry),
    ) -> Result<(), FindError> {
        if dir.components().count() > MAX_DEPTH {
            return Err(FindError::TooDeep);
        }
        for entry in &self.folder(tree)?.entries {
            let path = dir.join(&entry.name);
            let exact = exact && entry.exact;
            match entry.kind {
                Some(ObjectType::Blob) => visit(path, exact, entry),
                Some(ObjectType::Tree) if descend(&entry.name) => {
                    self.files(entry.id, &path, exact, descend, visit)?;
                }
                // A submodule's commit is not in this repository.
                _ => {}
            }
        }
        Ok(())
    }

    /// Where `path` leads once every symlink on its way is followed, and what is there. Past a
    /// missing name the rest of the path is as written: the end still says where it points.
    pub fn follow(&self, path: &Path) -> (PathBuf, Result<Found, FindError>) {
        let mut path = path.to_path_buf();
        for _ in 0..MAX_LINKS {
            match self.step(&path) {
                Ok(Step::Found(found)) => return (path, Ok(found)),
                Ok(Step::Link(next)) => path = next,
                Err(err) => return (path, Err(err)),
            }
        }
        (path, Err(FindError::TooManyLinks))
    }

    /// What `path` is, or where it leads instead when a symlink is on its way: the first one
    /// resolved.
    fn step(&self, path: &Path) -> Result<Step, FindError> {
        let components: Vec<Component> = path.components().collect();
        let mut tree = self.root;
        let mut at = PathBuf::new();
        for (i, component) in components.iter().enumerate() {
            let Component::Normal(name) = component else {
                return Err(FindError::Missing);
            };
            let folder = self.folder(tree)?;
            let entry = (name.to_str())
                .and_then(|name| folder.get(name))
                .ok_or(FindError::Missing)?;
            if entry.is_symlink() {
                let target = self.link(entry.id)?;
                if target.is_absolute() {
                    return Err(FindError::LeadsOutside);
                }
                let rest: PathBuf = components[i + 1..].iter().collect();
                let next = normal(&at.join(target).join(rest)).ok_or(FindError::LeadsOutside)?;
                return Ok(Step::Link(next));
            }
            if i + 1 == components.len() {
                return match entry.kind {
                    Some(ObjectType::Blob) => Ok(Step::Found(Found::Blob(entry.id))),
                    Some(ObjectType::Tree) => Ok(Step::Found(Found::Tree(entry.id))),
                    _ => Err(FindError::NotAFile),
                };
            }
            if !entry.is_tree() {
                // A file is no folder: nothing is under it.
                return Err(FindError::Missing);
            }
            tree = entry.id;
            at.push(name);
        }
        Ok(Step::Found(Found::Tree(self.root)))
    }

    /// A symlink's target, within [`MAX_LINK_BYTES`].
    fn link(&self, id: Oid) -> Result<PathBuf, FindError> {
        let bytes = self
            .blob(id, MAX_LINK_BYTES as u64)
            .map_err(|_| FindError::BadLink)?;
        String::from_utf8(bytes)
            .map(PathBuf::from)
            .map_err(|_| FindError::BadLink)
    }

    /// The bytes of the blob `id`, refused unread when it is over `limit`.
    pub fn blob(&self, id: Oid, limit: u64) -> Result<Vec<u8>, ReadError> {
        let io = |e: git2::Error| ReadError::Io(e.message().to_string());
        let repo = self.repo();
        let odb = repo.odb().map_err(io)?;
        let (size, kind) = odb.read_header(id).map_err(io)?;
        // The tree's mode says blob; the object itself is what counts.
        if kind != ObjectType::Blob {
            return Err(ReadError::NotRegular("a special file"));
        }
        let too_large = |size: usize| ReadError::TooLarge {
            size: size as u64,
            limit,
        };
        if size as u64 > limit {
            return Err(too_large(size));
        }
        let object = odb.read(id).map_err(io)?;
        let bytes = object.data();
        if bytes.len() as u64 > limit {
            return Err(too_large(bytes.len()));
        }
        Ok(bytes.to_vec())
    }
}

/// One step of following a path.
enum Step {
    Found(Found),
    /// The path with its first symlink resolved.
    Link(PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: i32 = 0o100644;
    const FOLDER: i32 = 0o040000;
    const SUBMODULE: i32 = 0o160000;

    /// A repository to write objects into, by hand: trees as git stores them, whatever
    /// libgit2 would refuse to make.
    struct Objects {
        dir: tempfile::TempDir,
        repo: Repository,
    }

    impl Objects {
        fn new() -> Objects {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::init_bare(dir.path()).unwrap();
            Objects { dir, repo }
        }

        fn blob(&self, bytes: &[u8]) -> Oid {
            self.repo.blob(bytes).unwrap()
        }

        /// A tree of `(mode, name, id)`, given in git's order.
        fn tree(&self, entries: &[(i32, &[u8], Oid)]) -> Oid {
            let mut raw = Vec::new();
            for (mode, name, id) in entries {
                raw.extend(format!("{mode:o} ").as_bytes());
                raw.extend(*name);
                raw.push(0);
                raw.extend(id.as_bytes());
            }
            self.repo
                .odb()
                .unwrap()
                .write(ObjectType::Tree, &raw)
                .unwrap()
        }

        /// The tree `root`, read through a handle of its own (as a source has).
        fn index(&self, root: Oid) -> TreeIndex {
            TreeIndex::new(Repository::open(self.dir.path()).unwrap(), root)
        }
    }

    fn found(index: &TreeIndex, path: &str) -> Result<Found, String> {
        index.follow(Path::new(path)).1.map_err(|e| e.to_string())
    }

    fn read(index: &TreeIndex, path: &str) -> Result<Vec<u8>, String> {
        match found(index, path)? {
            Found::Blob(id) => index.blob(id, 1 << 20).map_err(|e| e.to_string()),
            Found::Tree(_) => Err("a folder".into()),
        }
    }

    #[test]
    fn a_flat_folder_is_listed_once_for_every_path_in_it() {
        let objects = Objects::new();
        let names: Vec<String> = (0..2_000).map(|i| format!("image-{i:04}.yaml")).collect();
        let blobs: Vec<Oid> = (0..2_000)
            .map(|i| objects.blob(format!("name: image-{i}\n").as_bytes()))
            .collect();
        let entries: Vec<(i32, &[u8], Oid)> = (names.iter().zip(&blobs))
            .map(|(name, &id)| (FILE, name.as_bytes(), id))
            .collect();
        let flat = objects.tree(&entries);
        let root = objects.tree(&[(FOLDER, b"decl", flat)]);
        let index = objects.index(root);
        for i in (0..2_000).rev() {
            let text = read(&index, &format!("decl/image-{i:04}.yaml")).unwrap();
            assert_eq!(text, format!("name: image-{i}\n").as_bytes());
        }
        assert_eq!(index.folders.read().unwrap().len(), 2, "the root and decl");
        let mut listed = Vec::new();
        (index.files(
            flat,
            Path::new("decl"),
            true,
            &|_| true,
            &mut |path, exact, _| {
                assert!(exact);
                listed.push(path);
            },
        ))
        .unwrap();
        assert_eq!(listed.len(), 2_000);
        assert_eq!(listed[7], Path::new("decl/image-0007.yaml"));
    }

    #[test]
    fn symlinks_are_followed_while_they_stay_in_the_tree() {
        let objects = Objects::new();
        let text = objects.blob(b"numpy\n");
        let link = |target: &[u8]| objects.blob(target);
        let app = objects.tree(&[
            (SYMLINK, b"abs.txt", link(b"/etc/passwd")),
            (SYMLINK, b"chain.txt", link(b"link.txt")),
            (SYMLINK, b"climb.txt", link(b"../../../x")),
            (SYMLINK, b"latin1.txt", link(b"caf\xe9")),
            (SYMLINK, b"link.txt", link(b"reqs.txt")),
            (SYMLINK, b"long.txt", link(&[b'a'; MAX_LINK_BYTES + 1])),
            (SYMLINK, b"loop.txt", link(b"loop.txt")),
            (SYMLINK, b"missing.txt", link(b"nowhere.txt")),
            (FILE, b"reqs.txt", text),
            (SYMLINK, b"shared", link(b"../shared")),
        ]);
        let shared = objects.tree(&[(FILE, b"common.txt", text)]);
        let root = objects.tree(&[(FOLDER, b"app", app), (FOLDER, b"shared", shared)]);
        let index = objects.index(root);
        for path in ["app/link.txt", "app/chain.txt", "app/shared/common.txt"] {
            assert_eq!(read(&index, path).unwrap(), b"numpy\n", "{path}");
        }
        for (path, error) in [
            ("app/abs.txt", "a symlink that leads outside the repository"),
            (
                "app/climb.txt",
                "a symlink that leads outside the repository",
            ),
            ("app/latin1.txt", "a symlink whose target is not a path"),
            ("app/long.txt", "a symlink whose target is not a path"),
            ("app/loop.txt", "too many symlinks (a loop?)"),
            ("app/missing.txt", "No such file or directory"),
            ("app/reqs.txt/x", "No such file or directory"),
            ("app/../app/reqs.txt", "No such file or directory"),
            ("/app/reqs.txt", "No such file or directory"),
        ] {
            assert_eq!(read(&index, path), Err(error.into()), "{path}");
        }
        // Where a path leads: past a missing name, the rest as written.
        let end = |path: &str| index.follow(Path::new(path)).0;
        assert_eq!(end("app/shared/common.txt"), Path::new("shared/common.txt"));
        assert_eq!(end("app/shared/gone/x.txt"), Path::new("shared/gone/x.txt"));
        assert_eq!(end("app/missing.txt"), Path::new("app/nowhere.txt"));
        // The entry itself, links on the way not followed.
        assert!(index.entry(Path::new("app/link.txt")).unwrap().is_symlink());
        assert!(index.entry(Path::new("app/shared/common.txt")).is_none());
        assert!(index.entry(Path::new("shared/common.txt")).is_some());
        assert!(index.entry(Path::new("")).is_none());
    }

    #[test]
    fn only_blobs_are_read_and_never_past_the_limit() {
        let objects = Objects::new();
        let text = objects.blob(b"12345");
        let folder = objects.tree(&[(FILE, b"x.txt", text)]);
        // A commit that is not in this repository, and a tree that says a folder is a file.
        let commit = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        let root = objects.tree(&[
            (FILE, b"a.txt", text),
            (FILE, b"folder.txt", folder),
            (SUBMODULE, b"module", commit),
        ]);
        let index = objects.index(root);
        assert_eq!(index.blob(text, 5).unwrap(), b"12345");
        assert_eq!(
            index.blob(text, 4),
            Err(ReadError::TooLarge { size: 5, limit: 4 })
        );
        assert_eq!(
            read(&index, "module"),
            Err("not a file (a submodule?)".into())
        );
        assert_eq!(
            read(&index, "folder.txt"),
            Err("it is a special file, not a regular file".into())
        );
        let mut listed = Vec::new();
        (index.files(root, Path::new(""), true, &|_| true, &mut |path, _, _| {
            listed.push(path);
        }))
        .unwrap();
        assert_eq!(listed, [Path::new("a.txt"), Path::new("folder.txt")]);
    }

    #[test]
    fn folders_are_listed_no_deeper_than_the_bound() {
        let objects = Objects::new();
        let mut tree = objects.tree(&[(FILE, b"a.yaml", objects.blob(b"x"))]);
        for _ in 0..MAX_DEPTH {
            tree = objects.tree(&[(FOLDER, b"d", tree)]);
        }
        let deeper = objects.tree(&[(FOLDER, b"d", tree)]);
        let index = objects.index(deeper);
        let mut listed = Vec::new();
        let mut visit = |path, _, _: &Entry| listed.push(path);
        index
            .files(tree, Path::new(""), true, &|_| true, &mut visit)
            .unwrap();
        assert_eq!(listed.len(), 1);
        let refused = index.files(deeper, Path::new(""), true, &|_| true, &mut |_, _, _| {});
        assert_eq!(
            refused.unwrap_err().to_string(),
            "folders nested over 1024 deep"
        );
    }

    #[test]
    fn names_that_are_not_utf8_are_listed_but_never_looked_up() {
        let objects = Objects::new();
        let text = objects.blob(b"x");
        let inner = objects.tree(&[(FILE, b"a.yaml", text)]);
        let root = objects.tree(&[
            (FILE, b"caf\xe9.yaml", text),
            (FOLDER, b"dir\xff", inner),
            (FILE, b"ok.yaml", text),
        ]);
        let index = objects.index(root);
        let mut listed = Vec::new();
        (index.files(
            root,
            Path::new(""),
            true,
            &|_| true,
            &mut |path, exact, _| {
                listed.push((path.display().to_string(), exact));
            },
        ))
        .unwrap();
        assert_eq!(
            listed,
            [
                ("caf\u{FFFD}.yaml".to_string(), false),
                ("dir\u{FFFD}/a.yaml".to_string(), false),
                ("ok.yaml".to_string(), true),
            ]
        );
        assert!(index.entry(Path::new("caf\u{FFFD}.yaml")).is_none());
        assert!(found(&index, "ok.yaml").is_ok());
    }
}
