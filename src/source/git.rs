//! Declarations at a git revision, read from the object database through libgit2: no
//! checkout, the work tree untouched. Files are named `REV:path` (git's own notation), so every
//! diagnostic says which revision it is about.

mod index;

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use super::{Listing, Located, ReadError, Source, normal};
use crate::model::Revision;
use index::{FindError, Found, TreeIndex};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path} is not in a git repository: {message}")]
    NoRepository { path: String, message: String },
    #[error("the repository {path} has no work tree, so a folder in it cannot be named")]
    Bare { path: String },
    #[error("{path} is not inside the repository at {repo}")]
    Outside { path: String, repo: String },
    #[error("unknown revision {rev}: {message}")]
    Revision {
        rev: String,
        message: String,
        /// The clone holds only part of the history (`fetch-depth: 1`).
        shallow: bool,
    },
    #[error("{one} and {two} have no common ancestor in this clone")]
    NoMergeBase {
        one: String,
        two: String,
        shallow: bool,
    },
    #[error("git: {0}")]
    Git(String),
}

impl crate::model::diag::Hint for GitError {
    fn hint(&self) -> Option<String> {
        match self {
            GitError::Revision { shallow: true, .. }
            | GitError::NoMergeBase { shallow: true, .. } => Some(SHALLOW.into()),
            GitError::Revision { .. } => Some(
                "name a commit as git does: a branch (main, origin/main), a tag, HEAD~2, a sha"
                    .into(),
            ),
            GitError::NoMergeBase { .. } => {
                Some("compare them with `A..B` (one tip against the other) instead".into())
            }
            GitError::NoRepository { .. } | GitError::Outside { .. } => {
                Some("name the repository with --repo PATH".into())
            }
            _ => None,
        }
    }
}

/// What a CI checkout of one commit needs to compare revisions.
const SHALLOW: &str = "this clone is shallow: fetch the whole history (`fetch-depth: 0` in \
    actions/checkout, `GIT_DEPTH: \"0\"` in GitLab CI, or `git fetch --unshallow`)";

/// The settings' files at one commit.
pub struct Files {
    index: TreeIndex,
    /// The named folder, from the repository's root.
    relative: PathBuf,
}

impl Files {
    /// The file at `path`, relative to the named folder (symlinks followed inside the tree),
    /// at most [`SETTINGS_LIMIT`] bytes; `None` if there is none.
    pub fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, GitError> {
        let Some(path) = normal(&self.relative.join(path)) else {
            return Ok(None);
        };
        let failed = |e: &dyn std::fmt::Display| GitError::Git(format!("{}: {e}", path.display()));
        match self.index.follow(&path).1 {
            Ok(Found::Blob(blob)) => Ok(Some(
                (self.index.blob(blob, SETTINGS_LIMIT)).map_err(|e| failed(&e))?,
            )),
            Ok(Found::Tree(_)) | Err(FindError::Missing) => Ok(None),
            Err(e) => Err(failed(&e)),
        }
    }
}

/// dispatch.toml and the templates it names are small: no more than this is read of one.
const SETTINGS_LIMIT: u64 = 1 << 20;

fn git(e: git2::Error) -> GitError {
    GitError::Git(e.message().to_string())
}

/// Two sides to compare, in git's notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range {
    /// `A..B`: A against B.
    Between(String, String),
    /// `A...B`: the merge-base of A and B against B, what a pull request from B into A changes.
    Merging(String, String),
    /// `A`: A against the work tree.
    AgainstWorkTree(String),
}

impl Range {
    /// `A..B`, `A...B` or `A`; an empty side is `HEAD`, as git reads it.
    pub fn parse(text: &str) -> Range {
        let side = |s: &str| {
            if s.is_empty() {
                "HEAD".to_string()
            } else {
                s.to_string()
            }
        };
        if let Some((a, b)) = text.split_once("...") {
            Range::Merging(side(a), side(b))
        } else if let Some((a, b)) = text.split_once("..") {
            Range::Between(side(a), side(b))
        } else {
            Range::AgainstWorkTree(side(text))
        }
    }
}

/// A repository and the folder in it the user named.
pub struct Repo {
    repo: Repository,
    /// The named path, relative to the work tree's root (empty for the root).
    relative: PathBuf,
}

impl Repo {
    /// The repository at `repo`, or the one `path` is in; `path` as seen from its root.
    pub fn open(repo: Option<&Path>, path: &Path) -> Result<Repo, GitError> {
        let found = match repo {
            Some(repo) => Repository::open(repo),
            None => Repository::discover(existing_ancestor(path)),
        }
        .map_err(|e| GitError::NoRepository {
            path: repo.unwrap_or(path).display().to_string(),
            message: e.message().to_string(),
        })?;
        let workdir = found.workdir().ok_or_else(|| GitError::Bare {
            path: found.path().display().to_string(),
        })?;
        let workdir = std::fs::canonicalize(workdir).map_err(|e| GitError::Git(e.to_string()))?;
        let absolute = absolute(path);
        let relative = absolute
            .strip_prefix(&workdir)
            .map(Path::to_path_buf)
            .map_err(|_| GitError::Outside {
                path: path.display().to_string(),
                repo: workdir.display().to_string(),
            })?;
        Ok(Repo {
            repo: found,
            relative,
        })
    }

    /// The commit `rev` names (any rev-parse syntax).
    pub fn commit(&self, rev: &str) -> Result<Oid, GitError> {
        let unknown = |e: git2::Error| GitError::Revision {
            rev: rev.to_string(),
            message: e.message().to_string(),
            shallow: self.repo.is_shallow(),
        };
        let object = self.repo.revparse_single(rev).map_err(unknown)?;
        Ok(object.peel_to_commit().map_err(unknown)?.id())
    }

    /// The best common ancestor of two revisions (`A...B`).
    pub fn merge_base(&self, one: &str, two: &str) -> Result<Oid, GitError> {
        let found = self.repo.merge_base(self.commit(one)?, self.commit(two)?);
        found.map_err(|e| match e.code() {
            git2::ErrorCode::NotFound => GitError::NoMergeBase {
                one: one.to_string(),
                two: two.to_string(),
                shallow: self.repo.is_shallow(),
            },
            _ => git(e),
        })
    }

    /// The files at `commit` (dispatch.toml, templates), read through one index of its tree.
    pub fn files(self, commit: Oid) -> Result<Files, GitError> {
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(git)?
            .id();
        Ok(Files {
            index: TreeIndex::new(self.repo, tree),
            relative: self.relative,
        })
    }

    /// The declarations at `commit`, files named `rev:path`.
    pub fn source(self, commit: Oid, rev: &str) -> Result<GitSource, GitError> {
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(git)?
            .id();
        let index = TreeIndex::new(self.repo, tree);
        let is_file = matches!(index.follow(&self.relative).1, Ok(Found::Blob(_)));
        Ok(GitSource {
            root: PathBuf::from(format!("{rev}:{}", self.relative.display())),
            prefix: format!("{rev}:"),
            boundary: if is_file {
                self.relative
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default()
            } else {
                self.relative.clone()
            },
            relative: self.relative,
            is_file,
            index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_lose_their_credentials() {
        assert_eq!(
            without_credentials("https://ci:s3cret@git.example.invalid/team/images.git"),
            "https://git.example.invalid/team/images.git"
        );
        assert_eq!(
            without_credentials("ssh://git@git.example.invalid:22/x"),
            "ssh://git.example.invalid:22/x"
        );
        assert_eq!(
            without_credentials("git@git.example.invalid:team/x.git"),
            "git@git.example.invalid:team/x.git"
        );
    }

    #[test]
    fn ranges_read_as_git_reads_them() {
        assert_eq!(
            Range::parse("main..feature"),
            Range::Between("main".into(), "feature".into())
        );
        assert_eq!(
            Range::parse("main...feature"),
            Range::Merging("main".into(), "feature".into())
        );
        assert_eq!(Range::parse("v1.4"), Range::AgainstWorkTree("v1.4".into()));
        assert_eq!(
            Range::parse("main.."),
            Range::Between("main".into(), "HEAD".into())
        );
        assert_eq!(
            Range::parse("...feature"),
            Range::Merging("HEAD".into(), "feature".into())
        );
        assert_eq!(
            Range::parse("HEAD~2"),
            Range::AgainstWorkTree("HEAD~2".into())
        );
    }
}

/// Where declarations came from: the commit, and the repository's remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub revision: Revision,
    /// The `origin` remote's URL, without credentials.
    pub source: Option<String>,
}

impl Repo {
    /// The commit `rev` names (clean: it is read from the object database), or `HEAD` and
    /// whether the work tree under the named path differs from it.
    pub fn provenance(&self, rev: Option<&str>) -> Result<Provenance, GitError> {
        let commit = self.commit(rev.unwrap_or("HEAD"))?;
        let dirty = rev.is_none() && {
            let mut options = git2::StatusOptions::new();
            options.include_untracked(true).include_ignored(false);
            if !self.relative.as_os_str().is_empty() {
                options.pathspec(&self.relative);
            }
            !self
                .repo
                .statuses(Some(&mut options))
                .map_err(git)?
                .is_empty()
        };
        let source = self
            .repo
            .find_remote("origin")
            .ok()
            .and_then(|remote| remote.url().ok().map(without_credentials));
        Ok(Provenance {
            revision: Revision {
                commit: commit.to_string(),
                dirty,
            },
            source,
        })
    }
}

/// `https://user:token@host/repo.git` as `https://host/repo.git`: a URL fit for a label.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            if path.is_empty() {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => url.to_string(),
    }
}

/// `path` made absolute and normal, whether it exists or not (a folder deleted in the work
/// tree may exist at a revision).
fn absolute(path: &Path) -> PathBuf {
    if let Ok(canonical) = std::fs::canonicalize(path) {
        return canonical;
    }
    let base = std::env::current_dir().unwrap_or_default();
    let existing = existing_ancestor(path);
    let anchor = std::fs::canonicalize(base.join(&existing)).unwrap_or(base.join(&existing));
    let rest = path.strip_prefix(&existing).unwrap_or(path);
    normal(&anchor.join(rest)).unwrap_or_else(|| anchor.join(rest))
}

/// The longest leading part of `path` that exists (`.` if none does).
fn existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| !p.as_os_str().is_empty() && p.exists())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A folder (or one file) of declarations at a commit.
pub struct GitSource {
    index: TreeIndex,
    /// `REV:path`, as messages name the root.
    root: PathBuf,
    /// `REV:`, which every name starts with.
    prefix: String,
    /// The declarations' path in the tree.
    relative: PathBuf,
    /// The folder references must stay inside.
    boundary: PathBuf,
    is_file: bool,
}

impl GitSource {
    /// A path in the tree from a name this source gave out.
    fn in_tree<'p>(&self, name: &'p Path) -> &'p Path {
        let text = name.to_str().unwrap_or_default();
        Path::new(text.strip_prefix(&self.prefix).unwrap_or(text))
    }

    fn named(&self, path: &Path) -> PathBuf {
        PathBuf::from(format!("{}{}", self.prefix, path.display()))
    }
}

impl Source for GitSource {
    fn neighbours(&self, path: &Path) -> Vec<String> {
        let folder = self.in_tree(path).parent().unwrap_or(Path::new(""));
        let Ok(Found::Tree(tree)) = self.index.follow(folder).1 else {
            return Vec::new();
        };
        let Ok(folder) = self.index.folder(tree) else {
            return Vec::new();
        };
        let names = folder.entries.iter().filter(|entry| entry.exact);
        names.map(|entry| entry.name.clone()).collect()
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn is_file(&self) -> bool {
        self.is_file
    }

    fn list(
        &self,
        keep: &dyn Fn(&Path) -> bool,
        descend: &dyn Fn(&str) -> bool,
    ) -> Option<Listing> {
        let start = match self.index.follow(&self.relative).1 {
            Ok(Found::Blob(_)) => {
                return Some(Listing {
                    files: vec![self.named(&self.relative)],
                    ..Listing::default()
                });
            }
            Ok(Found::Tree(tree)) => tree,
            Err(_) => return None,
        };
        let (mut files, mut outside, mut unreadable) = (Vec::new(), Vec::new(), Vec::new());
        let mut visit = |path: PathBuf, exact: bool, entry: &index::Entry| {
            if !keep(&path) {
                return;
            }
            if !exact {
                unreadable.push((self.named(&path), "its name is not valid UTF-8".into()));
                return;
            }
            if !entry.is_symlink() {
                return files.push(path);
            }
            // Following it, as reading will.
            match self.index.follow(&path) {
                (_, Ok(Found::Tree(_))) => {}
                (_, Err(FindError::LeadsOutside)) => outside.push(path),
                (end, _) if !end.starts_with(&self.boundary) => outside.push(path),
                _ => files.push(path),
            }
        };
        (self.index)
            .files(start, &self.relative, true, descend, &mut visit)
            .ok()?;
        files.sort();
        outside.sort();
        Some(Listing {
            files: files.iter().map(|p| self.named(p)).collect(),
            unreadable,
            outside: outside.iter().map(|p| self.named(p)).collect(),
        })
    }

    fn read(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        let found = self.index.follow(self.in_tree(path)).1;
        match found.map_err(|e| ReadError::Io(e.to_string()))? {
            Found::Blob(blob) => self.index.blob(blob, limit),
            Found::Tree(_) => Err(ReadError::NotRegular("a directory")),
        }
    }

    fn locate(&self, from: &Path, reference: &str) -> Located {
        let relative = Path::new(reference);
        let dir = self.in_tree(from).parent().unwrap_or(Path::new(""));
        let joined = normal(&dir.join(relative));
        let path = self.named(joined.as_deref().unwrap_or(&dir.join(relative)));
        let symlink = (joined.as_deref())
            .and_then(|p| self.index.entry(p))
            .is_some_and(|entry| entry.is_symlink());
        // Where it leads once symlinks are followed (as far as it exists, the rest as
        // written): it must stay in the declarations' folder.
        let leads_inside = joined.as_ref().is_some_and(|p| {
            p.starts_with(&self.boundary)
                && match self.index.follow(p) {
                    (_, Err(FindError::LeadsOutside)) => false,
                    (end, _) => end.starts_with(&self.boundary),
                }
        });
        Located {
            path,
            outside: relative.is_absolute() || !leads_inside,
            symlink,
        }
    }
}
